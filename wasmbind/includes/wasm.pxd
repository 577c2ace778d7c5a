# Declarations of the standard WebAssembly C API subset (wasm.h) used by wasmbind.
# Only `cdef extern` here; the C side is csrc/wasmbind_capi.h.
from libc.stdint cimport uint8_t, uint32_t

cdef extern from "wasmbind_capi.h" nogil:
    ctypedef uint8_t wasm_byte_t
    ctypedef struct wasm_byte_vec_t:
        size_t size
        wasm_byte_t *data
    ctypedef wasm_byte_vec_t wasm_name_t

    ctypedef struct wasm_config_t
    ctypedef struct wasm_engine_t
    ctypedef struct wasm_valtype_t
    ctypedef struct wasm_functype_t
    ctypedef struct wasm_globaltype_t
    ctypedef struct wasm_tabletype_t
    ctypedef struct wasm_memorytype_t
    ctypedef struct wasm_tagtype_t
    ctypedef struct wasm_externtype_t
    ctypedef struct wasm_importtype_t
    ctypedef struct wasm_exporttype_t
    ctypedef struct wasm_frame_t
    ctypedef struct wasm_trap_t

    ctypedef struct wasm_valtype_vec_t:
        size_t size
        wasm_valtype_t **data
    ctypedef struct wasm_importtype_vec_t:
        size_t size
        wasm_importtype_t **data
    ctypedef struct wasm_exporttype_vec_t:
        size_t size
        wasm_exporttype_t **data
    ctypedef struct wasm_frame_vec_t:
        size_t size
        wasm_frame_t **data

    ctypedef struct wasm_limits_t:
        uint32_t min
        uint32_t max

    ctypedef uint8_t wasm_valkind_t
    ctypedef uint8_t wasm_mutability_t
    ctypedef uint8_t wasm_externkind_t

    enum:
        WB_WASM_EXTERNREF
        WB_WASM_FUNCREF
        WB_WASM_CONST
        WB_WASM_VAR
        WB_WASM_EXTERN_FUNC
        WB_WASM_EXTERN_GLOBAL
        WB_WASM_EXTERN_TABLE
        WB_WASM_EXTERN_MEMORY
        WB_WASM_EXTERN_TAG

    void wasm_byte_vec_new(wasm_byte_vec_t *out, size_t size, const wasm_byte_t *data)
    void wasm_byte_vec_delete(wasm_byte_vec_t *vec)

    wasm_config_t *wasm_config_new()
    void wasm_config_delete(wasm_config_t *config)
    wasm_engine_t *wasm_engine_new_with_config(wasm_config_t *config)
    void wasm_engine_delete(wasm_engine_t *engine)

    wasm_valtype_t *wasm_valtype_new(wasm_valkind_t kind)
    void wasm_valtype_vec_new(wasm_valtype_vec_t *out, size_t size, wasm_valtype_t **data)
    void wasm_valtype_vec_new_empty(wasm_valtype_vec_t *out)

    wasm_functype_t *wasm_functype_new(wasm_valtype_vec_t *params, wasm_valtype_vec_t *results)
    const wasm_valtype_vec_t *wasm_functype_params(const wasm_functype_t *type)
    const wasm_valtype_vec_t *wasm_functype_results(const wasm_functype_t *type)
    void wasm_functype_delete(wasm_functype_t *type)

    wasm_globaltype_t *wasm_globaltype_new(wasm_valtype_t *content, wasm_mutability_t mutability)
    const wasm_valtype_t *wasm_globaltype_content(const wasm_globaltype_t *type)
    wasm_mutability_t wasm_globaltype_mutability(const wasm_globaltype_t *type)
    void wasm_globaltype_delete(wasm_globaltype_t *type)

    wasm_tabletype_t *wasm_tabletype_new(wasm_valtype_t *element, const wasm_limits_t *limits)
    const wasm_valtype_t *wasm_tabletype_element(const wasm_tabletype_t *type)
    const wasm_limits_t *wasm_tabletype_limits(const wasm_tabletype_t *type)
    void wasm_tabletype_delete(wasm_tabletype_t *type)

    void wasm_memorytype_delete(wasm_memorytype_t *type)
    const wasm_functype_t *wasm_tagtype_functype(const wasm_tagtype_t *type)

    wasm_externkind_t wasm_externtype_kind(const wasm_externtype_t *type)
    const wasm_functype_t *wasm_externtype_as_functype_const(const wasm_externtype_t *type)
    const wasm_globaltype_t *wasm_externtype_as_globaltype_const(const wasm_externtype_t *type)
    const wasm_tabletype_t *wasm_externtype_as_tabletype_const(const wasm_externtype_t *type)
    const wasm_memorytype_t *wasm_externtype_as_memorytype_const(const wasm_externtype_t *type)
    const wasm_tagtype_t *wasm_externtype_as_tagtype_const(const wasm_externtype_t *type)

    const wasm_name_t *wasm_importtype_module(const wasm_importtype_t *type)
    const wasm_name_t *wasm_importtype_name(const wasm_importtype_t *type)
    const wasm_externtype_t *wasm_importtype_type(const wasm_importtype_t *type)
    void wasm_importtype_vec_delete(wasm_importtype_vec_t *vec)
    const wasm_name_t *wasm_exporttype_name(const wasm_exporttype_t *type)
    const wasm_externtype_t *wasm_exporttype_type(const wasm_exporttype_t *type)
    void wasm_exporttype_vec_delete(wasm_exporttype_vec_t *vec)

    uint32_t wasm_frame_func_index(const wasm_frame_t *frame)
    size_t wasm_frame_func_offset(const wasm_frame_t *frame)
    size_t wasm_frame_module_offset(const wasm_frame_t *frame)
    void wasm_frame_vec_delete(wasm_frame_vec_t *vec)

    void wasm_trap_message(const wasm_trap_t *trap, wasm_name_t *out)
    void wasm_trap_trace(const wasm_trap_t *trap, wasm_frame_vec_t *out)
    void wasm_trap_delete(wasm_trap_t *trap)
