# Declarations of Wasmtime's component-model C API (csrc/wasmbind_component.h)
# and of the component call entries (csrc/wasmbind_component_calls.h).
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from wasmbind.includes.wasm cimport wasm_byte_vec_t, wasm_engine_t, wasm_functype_t, wasm_name_t
from wasmbind.includes.wasmtime cimport (wasmtime_context_t, wasmtime_error_t, wasmtime_module_t,
                                         wb_finalizer_t)
from wasmbind.includes.aio cimport wasmtime_async_continuation_t, wasmtime_call_future_t

cdef extern from "wasmbind_component.h" nogil:
    ctypedef struct wasmtime_component_t
    ctypedef struct wasmtime_component_type_t
    ctypedef struct wasmtime_component_instance_type_t
    ctypedef struct wasmtime_module_type_t
    ctypedef struct wasmtime_component_func_type_t
    ctypedef struct wasmtime_component_extern_t
    ctypedef struct wasmtime_component_export_index_t
    ctypedef struct wasmtime_component_resource_type_t
    ctypedef struct wasmtime_component_resource_any_t
    ctypedef struct wasmtime_component_resource_host_t
    ctypedef struct wasmtime_component_linker_t
    ctypedef struct wasmtime_component_linker_instance_t
    ctypedef struct wasmtime_component_list_type_t
    ctypedef struct wasmtime_component_record_type_t
    ctypedef struct wasmtime_component_tuple_type_t
    ctypedef struct wasmtime_component_variant_type_t
    ctypedef struct wasmtime_component_enum_type_t
    ctypedef struct wasmtime_component_option_type_t
    ctypedef struct wasmtime_component_result_type_t
    ctypedef struct wasmtime_component_flags_type_t

    # type kinds (wasmtime_component_valtype_kind_t)
    enum:
        WB_CT_BOOL
        WB_CT_S8
        WB_CT_S16
        WB_CT_S32
        WB_CT_S64
        WB_CT_U8
        WB_CT_U16
        WB_CT_U32
        WB_CT_U64
        WB_CT_F32
        WB_CT_F64
        WB_CT_CHAR
        WB_CT_STRING
        WB_CT_LIST
        WB_CT_RECORD
        WB_CT_TUPLE
        WB_CT_VARIANT
        WB_CT_ENUM
        WB_CT_OPTION
        WB_CT_RESULT
        WB_CT_FLAGS
        WB_CT_OWN
        WB_CT_BORROW
        WB_CT_FUTURE
        WB_CT_STREAM
        WB_CT_ERROR_CONTEXT

    ctypedef union wasmtime_component_valtype_union_t:
        wasmtime_component_list_type_t *list
        wasmtime_component_record_type_t *record
        wasmtime_component_tuple_type_t *tuple
        wasmtime_component_variant_type_t *variant
        wasmtime_component_enum_type_t *enum_
        wasmtime_component_option_type_t *option
        wasmtime_component_result_type_t *result
        wasmtime_component_flags_type_t *flags
        wasmtime_component_resource_type_t *own
        wasmtime_component_resource_type_t *borrow
    ctypedef struct wasmtime_component_valtype_t:
        uint8_t kind
        wasmtime_component_valtype_union_t of

    void wasmtime_component_valtype_delete(wasmtime_component_valtype_t *ty)
    void wasmtime_component_list_type_element(const wasmtime_component_list_type_t *ty,
                                              wasmtime_component_valtype_t *out)
    size_t wasmtime_component_record_type_field_count(const wasmtime_component_record_type_t *ty)
    bint wasmtime_component_record_type_field_nth(const wasmtime_component_record_type_t *ty, size_t nth,
                                                  const char **name, size_t *name_len,
                                                  wasmtime_component_valtype_t *out)
    size_t wasmtime_component_tuple_type_types_count(const wasmtime_component_tuple_type_t *ty)
    bint wasmtime_component_tuple_type_types_nth(const wasmtime_component_tuple_type_t *ty, size_t nth,
                                                 wasmtime_component_valtype_t *out)
    size_t wasmtime_component_variant_type_case_count(const wasmtime_component_variant_type_t *ty)
    bint wasmtime_component_variant_type_case_nth(const wasmtime_component_variant_type_t *ty, size_t nth,
                                                  const char **name, size_t *name_len, bint *has_payload,
                                                  wasmtime_component_valtype_t *payload)
    size_t wasmtime_component_enum_type_names_count(const wasmtime_component_enum_type_t *ty)
    bint wasmtime_component_enum_type_names_nth(const wasmtime_component_enum_type_t *ty, size_t nth,
                                                const char **name, size_t *name_len)
    void wasmtime_component_option_type_ty(const wasmtime_component_option_type_t *ty,
                                           wasmtime_component_valtype_t *out)
    bint wasmtime_component_result_type_ok(const wasmtime_component_result_type_t *ty,
                                           wasmtime_component_valtype_t *out)
    bint wasmtime_component_result_type_err(const wasmtime_component_result_type_t *ty,
                                            wasmtime_component_valtype_t *out)
    size_t wasmtime_component_flags_type_names_count(const wasmtime_component_flags_type_t *ty)
    bint wasmtime_component_flags_type_names_nth(const wasmtime_component_flags_type_t *ty, size_t nth,
                                                 const char **name, size_t *name_len)

    wasmtime_component_resource_type_t *wasmtime_component_resource_type_new_host(uint32_t ty)
    wasmtime_component_resource_type_t *wasmtime_component_resource_type_clone(
        const wasmtime_component_resource_type_t *ty)
    bint wasmtime_component_resource_type_equal(const wasmtime_component_resource_type_t *a,
                                                const wasmtime_component_resource_type_t *b)
    void wasmtime_component_resource_type_delete(wasmtime_component_resource_type_t *ty)

    void wasmtime_component_func_type_delete(wasmtime_component_func_type_t *ty)
    bint wasmtime_component_func_type_async(const wasmtime_component_func_type_t *ty)
    size_t wasmtime_component_func_type_param_count(const wasmtime_component_func_type_t *ty)
    bint wasmtime_component_func_type_param_nth(const wasmtime_component_func_type_t *ty, size_t nth,
                                                const char **name, size_t *name_len,
                                                wasmtime_component_valtype_t *out)
    bint wasmtime_component_func_type_result(const wasmtime_component_func_type_t *ty,
                                             wasmtime_component_valtype_t *out)

    # item kinds (wasmtime_component_item_kind_t)
    enum:
        WB_CI_COMPONENT
        WB_CI_COMPONENT_INSTANCE
        WB_CI_MODULE
        WB_CI_COMPONENT_FUNC
        WB_CI_RESOURCE
        WB_CI_CORE_FUNC
        WB_CI_TYPE
    ctypedef union wasmtime_component_item_union_t:
        wasmtime_component_type_t *component
        wasmtime_component_instance_type_t *component_instance
        wasmtime_module_type_t *module
        wasmtime_component_func_type_t *component_func
        wasmtime_component_resource_type_t *resource
        wasm_functype_t *core_func
        wasmtime_component_valtype_t type
    ctypedef struct wasmtime_component_item_t:
        uint8_t kind
        wasmtime_component_item_union_t of

    void wasmtime_component_item_delete(wasmtime_component_item_t *item)
    void wasmtime_component_extern_type(const wasmtime_component_extern_t *e, wasmtime_component_item_t *out)
    void wasmtime_component_extern_delete(wasmtime_component_extern_t *e)
    void wasmtime_component_type_delete(wasmtime_component_type_t *ty)
    size_t wasmtime_component_type_import_count(const wasmtime_component_type_t *ty, const wasm_engine_t *e)
    bint wasmtime_component_type_import_nth(const wasmtime_component_type_t *ty, const wasm_engine_t *e,
                                            size_t nth, const char **name, size_t *name_len,
                                            wasmtime_component_extern_t **out)
    size_t wasmtime_component_type_export_count(const wasmtime_component_type_t *ty, const wasm_engine_t *e)
    bint wasmtime_component_type_export_nth(const wasmtime_component_type_t *ty, const wasm_engine_t *e,
                                            size_t nth, const char **name, size_t *name_len,
                                            wasmtime_component_extern_t **out)
    void wasmtime_component_instance_type_delete(wasmtime_component_instance_type_t *ty)
    size_t wasmtime_component_instance_type_export_count(const wasmtime_component_instance_type_t *ty,
                                                         const wasm_engine_t *e)
    bint wasmtime_component_instance_type_export_nth(const wasmtime_component_instance_type_t *ty,
                                                     const wasm_engine_t *e, size_t nth,
                                                     const char **name, size_t *name_len,
                                                     wasmtime_component_extern_t **out)

    # components
    wasmtime_error_t *wasmtime_component_new(const wasm_engine_t *e, const uint8_t *buf, size_t len,
                                             wasmtime_component_t **out)
    wasmtime_error_t *wasmtime_component_serialize(const wasmtime_component_t *c, wasm_byte_vec_t *out)
    wasmtime_error_t *wasmtime_component_deserialize(const wasm_engine_t *e, const uint8_t *buf, size_t len,
                                                     wasmtime_component_t **out)
    wasmtime_component_type_t *wasmtime_component_type(const wasmtime_component_t *c)
    void wasmtime_component_delete(wasmtime_component_t *c)
    void wasmtime_component_export_index_delete(wasmtime_component_export_index_t *index)

    # value kinds (wasmtime_component_valkind_t)
    enum:
        WB_CV_BOOL
        WB_CV_S8
        WB_CV_U8
        WB_CV_S16
        WB_CV_U16
        WB_CV_S32
        WB_CV_U32
        WB_CV_S64
        WB_CV_U64
        WB_CV_F32
        WB_CV_F64
        WB_CV_CHAR
        WB_CV_STRING
        WB_CV_LIST
        WB_CV_RECORD
        WB_CV_TUPLE
        WB_CV_VARIANT
        WB_CV_ENUM
        WB_CV_OPTION
        WB_CV_RESULT
        WB_CV_FLAGS
        WB_CV_RESOURCE

    ctypedef struct wasmtime_component_val_t
    ctypedef struct wasmtime_component_valrecord_entry_t
    ctypedef struct wasmtime_component_vallist_t:
        size_t size
        wasmtime_component_val_t *data
    ctypedef struct wasmtime_component_valrecord_t:
        size_t size
        wasmtime_component_valrecord_entry_t *data
    ctypedef struct wasmtime_component_valtuple_t:
        size_t size
        wasmtime_component_val_t *data
    ctypedef struct wasmtime_component_valflags_t:
        size_t size
        wasm_name_t *data
    ctypedef struct wasmtime_component_valvariant_t:
        wasm_name_t discriminant
        wasmtime_component_val_t *val
    ctypedef struct wasmtime_component_valresult_t:
        bint is_ok
        wasmtime_component_val_t *val
    ctypedef union wasmtime_component_valunion_t:
        bint boolean
        int8_t s8
        uint8_t u8
        int16_t s16
        uint16_t u16
        int32_t s32
        uint32_t u32
        int64_t s64
        uint64_t u64
        float f32
        double f64
        uint32_t character
        wasm_name_t string
        wasmtime_component_vallist_t list
        wasmtime_component_valrecord_t record
        wasmtime_component_valtuple_t tuple
        wasmtime_component_valvariant_t variant
        wasm_name_t enumeration
        wasmtime_component_val_t *option
        wasmtime_component_valresult_t result
        wasmtime_component_valflags_t flags
        wasmtime_component_resource_any_t *resource
    ctypedef struct wasmtime_component_val_t:
        uint8_t kind
        wasmtime_component_valunion_t of
    ctypedef struct wasmtime_component_valrecord_entry_t:
        wasm_name_t name
        wasmtime_component_val_t val

    void wasmtime_component_vallist_new_uninit(wasmtime_component_vallist_t *out, size_t size)
    void wasmtime_component_valrecord_new_uninit(wasmtime_component_valrecord_t *out, size_t size)
    void wasmtime_component_valtuple_new_uninit(wasmtime_component_valtuple_t *out, size_t size)
    void wasmtime_component_valflags_new_uninit(wasmtime_component_valflags_t *out, size_t size)
    wasmtime_component_val_t *wasmtime_component_val_new(const wasmtime_component_val_t *val)
    void wasmtime_component_val_delete(wasmtime_component_val_t *val)

    # resources
    const wasmtime_component_resource_type_t *wasmtime_component_resource_any_type(
        const wasmtime_component_resource_any_t *r)
    wasmtime_component_resource_any_t *wasmtime_component_resource_any_clone(
        const wasmtime_component_resource_any_t *r)
    bint wasmtime_component_resource_any_owned(const wasmtime_component_resource_any_t *r)
    wasmtime_error_t *wasmtime_component_resource_any_drop(wasmtime_context_t *ctx,
                                                           const wasmtime_component_resource_any_t *r)
    void wasmtime_component_resource_any_delete(wasmtime_component_resource_any_t *r)
    wasmtime_component_resource_host_t *wasmtime_component_resource_host_new(bint owned, uint32_t rep,
                                                                             uint32_t ty)
    uint32_t wasmtime_component_resource_host_rep(const wasmtime_component_resource_host_t *r)
    uint32_t wasmtime_component_resource_host_type(const wasmtime_component_resource_host_t *r)
    bint wasmtime_component_resource_host_owned(const wasmtime_component_resource_host_t *r)
    void wasmtime_component_resource_host_delete(wasmtime_component_resource_host_t *r)
    wasmtime_error_t *wasmtime_component_resource_any_to_host(wasmtime_context_t *ctx,
                                                              const wasmtime_component_resource_any_t *r,
                                                              wasmtime_component_resource_host_t **out)
    wasmtime_error_t *wasmtime_component_resource_host_to_any(wasmtime_context_t *ctx,
                                                              const wasmtime_component_resource_host_t *r,
                                                              wasmtime_component_resource_any_t **out)

    # functions and instances
    ctypedef struct wasmtime_component_func_t:
        pass
    ctypedef struct wasmtime_component_instance_t:
        uint64_t store_id
    wasmtime_component_func_type_t *wasmtime_component_func_type(const wasmtime_component_func_t *f,
                                                                 wasmtime_context_t *ctx)
    wasmtime_error_t *wasmtime_component_func_call(const wasmtime_component_func_t *f, wasmtime_context_t *ctx,
                                                   const wasmtime_component_val_t *args, size_t nargs,
                                                   wasmtime_component_val_t *results, size_t nresults)
    wasmtime_error_t *wasmtime_component_func_post_return(const wasmtime_component_func_t *f,
                                                          wasmtime_context_t *ctx)
    wasmtime_component_export_index_t *wasmtime_component_instance_get_export_index(
        const wasmtime_component_instance_t *inst, wasmtime_context_t *ctx,
        const wasmtime_component_export_index_t *instance, const char *name, size_t name_len)
    bint wasmtime_component_instance_get_func(const wasmtime_component_instance_t *inst,
                                              wasmtime_context_t *ctx,
                                              const wasmtime_component_export_index_t *index,
                                              wasmtime_component_func_t *out)

    # the linker
    ctypedef wasmtime_error_t *(*wasmtime_component_func_callback_t)(
        void *env, wasmtime_context_t *ctx, const wasmtime_component_func_type_t *ty,
        wasmtime_component_val_t *args, size_t nargs, wasmtime_component_val_t *results, size_t nresults)
    ctypedef wasmtime_error_t *(*wasmtime_component_resource_destructor_t)(void *env, wasmtime_context_t *ctx,
                                                                           uint32_t rep)
    wasmtime_component_linker_t *wasmtime_component_linker_new(const wasm_engine_t *e)
    void wasmtime_component_linker_allow_shadowing(wasmtime_component_linker_t *l, bint allow)
    wasmtime_component_linker_instance_t *wasmtime_component_linker_root(wasmtime_component_linker_t *l)
    wasmtime_error_t *wasmtime_component_linker_instantiate(const wasmtime_component_linker_t *l,
                                                            wasmtime_context_t *ctx,
                                                            const wasmtime_component_t *c,
                                                            wasmtime_component_instance_t *out)
    wasmtime_error_t *wasmtime_component_linker_define_unknown_imports_as_traps(
        wasmtime_component_linker_t *l, const wasmtime_component_t *c)
    void wasmtime_component_linker_delete(wasmtime_component_linker_t *l)
    wasmtime_error_t *wasmtime_component_linker_add_wasip2(wasmtime_component_linker_t *l)
    wasmtime_error_t *wasmtime_component_linker_instance_add_instance(
        wasmtime_component_linker_instance_t *li, const char *name, size_t name_len,
        wasmtime_component_linker_instance_t **out)
    wasmtime_error_t *wasmtime_component_linker_instance_add_module(
        wasmtime_component_linker_instance_t *li, const char *name, size_t name_len,
        const wasmtime_module_t *m)
    wasmtime_error_t *wasmtime_component_linker_instance_add_func(
        wasmtime_component_linker_instance_t *li, const char *name, size_t name_len,
        wasmtime_component_func_callback_t cb, void *env, wb_finalizer_t finalizer)
    wasmtime_error_t *wasmtime_component_linker_instance_add_resource(
        wasmtime_component_linker_instance_t *li, const char *name, size_t name_len,
        const wasmtime_component_resource_type_t *ty, wasmtime_component_resource_destructor_t dtor,
        void *env, wb_finalizer_t finalizer)
    void wasmtime_component_linker_instance_delete(wasmtime_component_linker_instance_t *li)


# the async forms (aio/component.pxi); the callback runs inside polls, which
# hold the GIL: declared without nogil, as in aio.pxd
cdef extern from "wasmbind_component.h":
    ctypedef void (*wasmtime_component_func_async_callback_t)(
        void *env, wasmtime_context_t *ctx, const wasmtime_component_func_type_t *ty,
        wasmtime_component_val_t *args, size_t nargs, wasmtime_component_val_t *results, size_t nresults,
        wasmtime_error_t **error_ret, wasmtime_async_continuation_t *continuation_ret)
    wasmtime_call_future_t *wasmtime_component_func_call_async(
        const wasmtime_component_func_t *f, wasmtime_context_t *ctx, const wasmtime_component_val_t *args,
        size_t nargs, wasmtime_component_val_t *results, size_t nresults, wasmtime_error_t **error_ret)
    wasmtime_call_future_t *wasmtime_component_linker_instantiate_async(
        const wasmtime_component_linker_t *l, wasmtime_context_t *ctx, const wasmtime_component_t *c,
        wasmtime_component_instance_t *out, wasmtime_error_t **error_ret)
    wasmtime_error_t *wasmtime_component_linker_instance_add_func_async(
        wasmtime_component_linker_instance_t *li, const char *name, size_t name_len,
        wasmtime_component_func_async_callback_t cb, void *env, wb_finalizer_t finalizer)
    wasmtime_error_t *wasmtime_component_linker_add_wasip2_async(wasmtime_component_linker_t *l)


cdef extern from "wasmbind_component_calls.h":
    ctypedef wasmtime_error_t *(*wb_cfunc_body_t)(void *, wasmtime_context_t *,
                                                  const wasmtime_component_func_type_t *,
                                                  wasmtime_component_val_t *, size_t,
                                                  wasmtime_component_val_t *, size_t)
    ctypedef wasmtime_error_t *(*wb_cdtor_body_t)(void *, wasmtime_context_t *, uint32_t)
    wb_cfunc_body_t wb_cfunc_body
    wb_cdtor_body_t wb_cdtor_body
    wasmtime_error_t *wb_cfunc_entry(void *, wasmtime_context_t *, const wasmtime_component_func_type_t *,
                                     wasmtime_component_val_t *, size_t, wasmtime_component_val_t *,
                                     size_t) noexcept nogil
    wasmtime_error_t *wb_cdtor_entry(void *, wasmtime_context_t *, uint32_t) noexcept nogil
