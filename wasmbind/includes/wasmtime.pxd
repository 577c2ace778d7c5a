# Declarations of Wasmtime's extensions to the C API (wasmtime.h) used by wasmbind.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int32_t, int64_t
from wasmbind.includes.wasm cimport *

cdef extern from "wasmbind_capi.h" nogil:
    ctypedef struct wasmtime_error_t
    ctypedef struct wasmtime_module_t
    ctypedef struct wasmtime_store_t
    ctypedef struct wasmtime_context_t
    ctypedef struct wasmtime_caller_t
    ctypedef struct wasmtime_linker_t
    ctypedef struct wasmtime_sharedmemory_t

    ctypedef uint8_t wasmtime_valkind_t
    ctypedef uint8_t wasmtime_extern_kind_t
    ctypedef uint8_t wasmtime_trap_code_t
    ctypedef uint8_t wasmtime_opt_level_t
    ctypedef uint8_t wasmtime_update_deadline_kind_t
    # how the engine drops a pointer it was given (host data, externref payloads)
    ctypedef void (*wb_finalizer_t)(void *)

    # Three numbering families with look-alike names (each as its own header
    # numbers them): WB_I32... are wasmtime_valkind_t, the kinds of values and
    # of wasmbind.ValType; WB_WASM_... (wasm.pxd) are wasm.h's wasm_valkind_t,
    # where externref is 128; WB_VALTYPE_... are wasmtime_valtype_t kinds.
    enum:
        WB_I32
        WB_I64
        WB_F32
        WB_F64
        WB_V128
        WB_FUNCREF
        WB_EXTERNREF
        WB_ANYREF
        WB_EXTERN_FUNC
        WB_EXTERN_GLOBAL
        WB_EXTERN_TABLE
        WB_EXTERN_MEMORY
        WB_EXTERN_SHAREDMEMORY
        WB_EXTERN_TAG
        WB_EXNREF

    ctypedef struct wasmtime_func_t:
        uint64_t store_id
    ctypedef struct wasmtime_table_t:
        pass
    ctypedef struct wasmtime_memory_t:
        pass
    ctypedef struct wb_store_index_t:
        uint64_t store_id
        uint32_t private1
    ctypedef struct wasmtime_tag_t:
        wb_store_index_t head
        uint32_t private2
    ctypedef struct wasmtime_global_t:
        uint64_t store_id
    ctypedef struct wasmtime_instance_t:
        uint64_t store_id

    ctypedef union wasmtime_extern_union_t:
        wasmtime_func_t func
        wasmtime_global_t global_ "global"
        wasmtime_table_t table
        wasmtime_memory_t memory
        wasmtime_sharedmemory_t *sharedmemory
        wasmtime_tag_t tag
    ctypedef struct wasmtime_extern_t:
        wasmtime_extern_kind_t kind
        wasmtime_extern_union_t of

    enum:
        WB_VALTYPE_V128
        WB_VALTYPE_REF
        WB_HEAPTYPE_EXTERN
        WB_HEAPTYPE_NOEXTERN
        WB_HEAPTYPE_FUNC
        WB_HEAPTYPE_CONCRETE_FUNC
        WB_HEAPTYPE_NOFUNC
    ctypedef struct wasmtime_heaptype_t:
        uint8_t kind
    ctypedef struct wasmtime_reftype_t:
        bint nullable
        wasmtime_heaptype_t heaptype
    ctypedef struct wasmtime_valtype_t:
        uint8_t kind
        wasmtime_reftype_t reftype
    void wasmtime_valtype_new(const wasm_valtype_t *ty, wasmtime_valtype_t *out)
    void wasmtime_valtype_delete(wasmtime_valtype_t *ty)
    wasm_valtype_t *wasmtime_wasm_valtype_v128()

    ctypedef struct wasmtime_externref_t:
        uint64_t store_id
    ctypedef wasmtime_externref_t wasmtime_exnref_t
    ctypedef uint8_t wasmtime_v128[16]
    ctypedef union wasmtime_valunion_t:
        int32_t i32
        int64_t i64
        float f32
        double f64
        wasmtime_externref_t anyref
        wasmtime_externref_t externref
        wasmtime_exnref_t exnref
        wasmtime_func_t funcref
        wasmtime_v128 v128
    ctypedef struct wasmtime_val_t:
        wasmtime_valkind_t kind
        wasmtime_valunion_t of
    ctypedef union wasmtime_val_raw_t:
        int32_t i32
        int64_t i64
        float f32
        double f64
        wasmtime_v128 v128
        uint32_t anyref
        uint32_t externref
        void *funcref

    ctypedef wasm_trap_t *(*wasmtime_func_callback_t)(
        void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args, size_t nargs,
        wasmtime_val_t *results, size_t nresults)
    ctypedef wasmtime_error_t *(*wasmtime_func_unchecked_callback_t)(
        void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args_and_results, size_t n)
    ctypedef wasmtime_error_t *(*wb_epoch_callback_t)(
        wasmtime_context_t *context, void *data, uint64_t *delta,
        wasmtime_update_deadline_kind_t *kind)

    # errors and traps
    wasmtime_error_t *wasmtime_error_new(const char *message)
    void wasmtime_error_delete(wasmtime_error_t *error)
    void wasmtime_error_message(const wasmtime_error_t *error, wasm_name_t *out)
    bint wasmtime_error_exit_status(const wasmtime_error_t *error, int *status)
    void wasmtime_error_wasm_trace(const wasmtime_error_t *error, wasm_frame_vec_t *out)
    wasm_trap_t *wasmtime_trap_new(const char *message, size_t len)
    bint wasmtime_trap_code(const wasm_trap_t *trap, wasmtime_trap_code_t *code)
    const wasm_name_t *wasmtime_frame_func_name(const wasm_frame_t *frame)
    const wasm_name_t *wasmtime_frame_module_name(const wasm_frame_t *frame)

    # config and engine
    void wasmtime_config_consume_fuel_set(wasm_config_t *c, bint v)
    void wasmtime_config_epoch_interruption_set(wasm_config_t *c, bint v)
    void wasmtime_config_max_wasm_stack_set(wasm_config_t *c, size_t v)
    void wasmtime_config_async_stack_size_set(wasm_config_t *c, size_t v)
    void wasmtime_config_debug_info_set(wasm_config_t *c, bint v)
    void wasmtime_config_wasm_threads_set(wasm_config_t *c, bint v)
    void wasmtime_config_shared_memory_set(wasm_config_t *c, bint v)
    void wasmtime_config_wasm_tail_call_set(wasm_config_t *c, bint v)
    void wasmtime_config_wasm_reference_types_set(wasm_config_t *c, bint v)
    void wasmtime_config_wasm_component_model_async_set(wasm_config_t *c, bint v)
    void wasmtime_config_wasm_function_references_set(wasm_config_t *c, bint v)
    void wasmtime_config_wasm_gc_set(wasm_config_t *c, bint v)
    void wasmtime_config_wasm_simd_set(wasm_config_t *c, bint v)
    void wasmtime_config_wasm_relaxed_simd_set(wasm_config_t *c, bint v)
    void wasmtime_config_wasm_bulk_memory_set(wasm_config_t *c, bint v)
    void wasmtime_config_wasm_multi_value_set(wasm_config_t *c, bint v)
    void wasmtime_config_wasm_multi_memory_set(wasm_config_t *c, bint v)
    void wasmtime_config_wasm_memory64_set(wasm_config_t *c, bint v)
    void wasmtime_config_wasm_exceptions_set(wasm_config_t *c, bint v)
    void wasmtime_config_cranelift_opt_level_set(wasm_config_t *c, wasmtime_opt_level_t v)
    void wasmtime_config_parallel_compilation_set(wasm_config_t *c, bint v)
    void wasmtime_config_memory_may_move_set(wasm_config_t *c, bint v)
    void wasmtime_config_memory_reservation_set(wasm_config_t *c, uint64_t v)
    void wasmtime_config_memory_guard_size_set(wasm_config_t *c, uint64_t v)
    wasmtime_error_t *wasmtime_config_cache_config_load(wasm_config_t *c, const char *path)
    void wasmtime_engine_increment_epoch(wasm_engine_t *engine)

    # modules
    wasmtime_error_t *wasmtime_wat2wasm(const char *wat, size_t len, wasm_byte_vec_t *out)
    wasmtime_error_t *wasmtime_module_new(wasm_engine_t *e, const uint8_t *wasm, size_t len,
                                          wasmtime_module_t **out)
    wasmtime_error_t *wasmtime_module_validate(wasm_engine_t *e, const uint8_t *wasm, size_t len)
    void wasmtime_module_delete(wasmtime_module_t *m)
    void wasmtime_module_imports(const wasmtime_module_t *m, wasm_importtype_vec_t *out)
    void wasmtime_module_exports(const wasmtime_module_t *m, wasm_exporttype_vec_t *out)
    wasmtime_error_t *wasmtime_module_serialize(wasmtime_module_t *m, wasm_byte_vec_t *out)
    wasmtime_error_t *wasmtime_module_deserialize(wasm_engine_t *e, const uint8_t *b, size_t n,
                                                  wasmtime_module_t **out)

    # stores
    wasmtime_store_t *wasmtime_store_new(wasm_engine_t *e, void *data, wb_finalizer_t finalizer)
    wasmtime_context_t *wasmtime_store_context(wasmtime_store_t *store)
    void wasmtime_store_delete(wasmtime_store_t *store)
    void wasmtime_store_limiter(wasmtime_store_t *store, int64_t memory_size, int64_t table_elements,
                                int64_t instances, int64_t tables, int64_t memories)
    void *wasmtime_context_get_data(const wasmtime_context_t *context)
    wasmtime_error_t *wasmtime_context_gc(wasmtime_context_t *context)
    wasmtime_error_t *wasmtime_context_set_fuel(wasmtime_context_t *context, uint64_t fuel)
    wasmtime_error_t *wasmtime_context_get_fuel(const wasmtime_context_t *context, uint64_t *fuel)
    void wasmtime_context_set_epoch_deadline(wasmtime_context_t *context, uint64_t ticks)
    void wasmtime_store_epoch_deadline_callback(wasmtime_store_t *store, wb_epoch_callback_t func,
                                                void *data, wb_finalizer_t finalizer)

    # functions
    void wasmtime_func_new(wasmtime_context_t *store, const wasm_functype_t *type,
                           wasmtime_func_callback_t callback, void *env, wb_finalizer_t finalizer,
                           wasmtime_func_t *ret)
    void wasmtime_func_new_unchecked(wasmtime_context_t *store, const wasm_functype_t *type,
                                     wasmtime_func_unchecked_callback_t callback, void *env,
                                     wb_finalizer_t finalizer, wasmtime_func_t *ret)
    wasm_functype_t *wasmtime_func_type(const wasmtime_context_t *store, const wasmtime_func_t *func)
    wasmtime_error_t *wasmtime_func_call(wasmtime_context_t *store, const wasmtime_func_t *func,
                                         const wasmtime_val_t *args, size_t nargs,
                                         wasmtime_val_t *results, size_t nresults, wasm_trap_t **trap)
    wasmtime_error_t *wasmtime_func_call_unchecked(wasmtime_context_t *store, const wasmtime_func_t *func,
                                                   wasmtime_val_raw_t *args_and_results, size_t n,
                                                   wasm_trap_t **trap)
    bint wasmtime_caller_export_get(wasmtime_caller_t *caller, const char *name, size_t name_len,
                                    wasmtime_extern_t *item)
    wasmtime_context_t *wasmtime_caller_context(wasmtime_caller_t *caller)

    # values
    bint wasmtime_externref_new(wasmtime_context_t *context, void *data, wb_finalizer_t finalizer,
                                wasmtime_externref_t *out)
    void *wasmtime_externref_data(wasmtime_context_t *context, const wasmtime_externref_t *data)
    void wasmtime_val_unroot(wasmtime_val_t *val)

    # instances
    wasmtime_error_t *wasmtime_instance_new(wasmtime_context_t *store, const wasmtime_module_t *module,
                                            const wasmtime_extern_t *imports, size_t nimports,
                                            wasmtime_instance_t *instance, wasm_trap_t **trap)
    bint wasmtime_instance_export_get(wasmtime_context_t *store, const wasmtime_instance_t *instance,
                                      const char *name, size_t name_len, wasmtime_extern_t *item)
    void wasmtime_extern_delete(wasmtime_extern_t *val)

    # memories
    wasmtime_error_t *wasmtime_memorytype_new(uint64_t min, bint max_present, uint64_t max, bint is_64,
                                              bint shared, uint8_t page_size_log2, wasm_memorytype_t **out)
    uint64_t wasmtime_memorytype_minimum(const wasm_memorytype_t *type)
    bint wasmtime_memorytype_maximum(const wasm_memorytype_t *type, uint64_t *max)
    bint wasmtime_memorytype_is64(const wasm_memorytype_t *type)
    bint wasmtime_memorytype_isshared(const wasm_memorytype_t *type)
    wasmtime_error_t *wasmtime_memory_new(wasmtime_context_t *store, const wasm_memorytype_t *type,
                                          wasmtime_memory_t *ret)
    wasm_memorytype_t *wasmtime_memory_type(const wasmtime_context_t *store, const wasmtime_memory_t *m)
    uint8_t *wasmtime_memory_data(const wasmtime_context_t *store, const wasmtime_memory_t *m)
    size_t wasmtime_memory_data_size(const wasmtime_context_t *store, const wasmtime_memory_t *m)
    uint64_t wasmtime_memory_size(const wasmtime_context_t *store, const wasmtime_memory_t *m)
    wasmtime_error_t *wasmtime_memory_grow(wasmtime_context_t *store, const wasmtime_memory_t *m,
                                           uint64_t delta, uint64_t *prev_size)

    # globals
    wasmtime_error_t *wasmtime_global_new(wasmtime_context_t *store, const wasm_globaltype_t *type,
                                          const wasmtime_val_t *val, wasmtime_global_t *ret)
    wasm_globaltype_t *wasmtime_global_type(const wasmtime_context_t *store, const wasmtime_global_t *g)
    void wasmtime_global_get(wasmtime_context_t *store, const wasmtime_global_t *g, wasmtime_val_t *out)
    wasmtime_error_t *wasmtime_global_set(wasmtime_context_t *store, const wasmtime_global_t *g,
                                          const wasmtime_val_t *val)

    # tables
    wasmtime_error_t *wasmtime_table_new(wasmtime_context_t *store, const wasm_tabletype_t *type,
                                         const wasmtime_val_t *init, wasmtime_table_t *table)
    wasm_tabletype_t *wasmtime_table_type(const wasmtime_context_t *store, const wasmtime_table_t *t)
    bint wasmtime_table_get(wasmtime_context_t *store, const wasmtime_table_t *t, uint64_t index,
                            wasmtime_val_t *val)
    wasmtime_error_t *wasmtime_table_set(wasmtime_context_t *store, const wasmtime_table_t *t,
                                         uint64_t index, const wasmtime_val_t *value)
    uint64_t wasmtime_table_size(const wasmtime_context_t *store, const wasmtime_table_t *t)
    wasmtime_error_t *wasmtime_table_grow(wasmtime_context_t *store, const wasmtime_table_t *t,
                                          uint64_t delta, const wasmtime_val_t *init, uint64_t *prev)

    # linkers
    wasmtime_linker_t *wasmtime_linker_new(wasm_engine_t *engine)
    void wasmtime_linker_delete(wasmtime_linker_t *linker)
    void wasmtime_linker_allow_shadowing(wasmtime_linker_t *linker, bint allow)
    wasmtime_error_t *wasmtime_linker_define(wasmtime_linker_t *linker, wasmtime_context_t *store,
                                             const char *module, size_t module_len,
                                             const char *name, size_t name_len,
                                             const wasmtime_extern_t *item)
    wasmtime_error_t *wasmtime_linker_define_func(wasmtime_linker_t *linker,
                                                  const char *module, size_t module_len,
                                                  const char *name, size_t name_len,
                                                  const wasm_functype_t *ty, wasmtime_func_callback_t cb,
                                                  void *data, wb_finalizer_t finalizer)
    wasmtime_error_t *wasmtime_linker_define_func_unchecked(wasmtime_linker_t *linker,
                                                            const char *module, size_t module_len,
                                                            const char *name, size_t name_len,
                                                            const wasm_functype_t *ty,
                                                            wasmtime_func_unchecked_callback_t cb,
                                                            void *data, wb_finalizer_t finalizer)
    wasmtime_error_t *wasmtime_linker_define_instance(wasmtime_linker_t *linker, wasmtime_context_t *store,
                                                      const char *name, size_t name_len,
                                                      const wasmtime_instance_t *instance)
    wasmtime_error_t *wasmtime_linker_instantiate(const wasmtime_linker_t *linker, wasmtime_context_t *store,
                                                  const wasmtime_module_t *module,
                                                  wasmtime_instance_t *instance, wasm_trap_t **trap)
    wasmtime_error_t *wasmtime_linker_module(wasmtime_linker_t *linker, wasmtime_context_t *store,
                                             const char *name, size_t name_len,
                                             const wasmtime_module_t *module)
    wasmtime_error_t *wasmtime_linker_get_default(const wasmtime_linker_t *linker, wasmtime_context_t *store,
                                                  const char *name, size_t name_len, wasmtime_func_t *func)
    bint wasmtime_linker_get(const wasmtime_linker_t *linker, wasmtime_context_t *store,
                             const char *module, size_t module_len, const char *name, size_t name_len,
                             wasmtime_extern_t *item)
    wasmtime_error_t *wasmtime_linker_define_unknown_imports_as_traps(wasmtime_linker_t *linker,
                                                                      const wasmtime_module_t *module)

    # GC references (wasmtime/gc.h)
    enum:
        WB_EXNREF
        WB_HEAPTYPE_ANY
        WB_HEAPTYPE_NONE
        WB_HEAPTYPE_EQ
        WB_HEAPTYPE_I31
        WB_HEAPTYPE_ARRAY
        WB_HEAPTYPE_CONCRETE_ARRAY
        WB_HEAPTYPE_STRUCT
        WB_HEAPTYPE_CONCRETE_STRUCT
        WB_HEAPTYPE_EXN
        WB_HEAPTYPE_CONCRETE_EXN
        WB_HEAPTYPE_NOEXN
    ctypedef struct wasmtime_struct_type_t
    ctypedef wasmtime_externref_t wasmtime_anyref_t
    ctypedef wasmtime_externref_t wasmtime_structref_t
    ctypedef wasmtime_externref_t wasmtime_arrayref_t
    wasm_valtype_t *wasmtime_valtype_to_wasm(const wasm_engine_t *engine, const wasmtime_valtype_t *ty)
    void wasmtime_val_clone(const wasmtime_val_t *src, wasmtime_val_t *dst)
    void wasmtime_anyref_from_i31(wasmtime_context_t *context, uint32_t i31val, wasmtime_anyref_t *out)
    bint wasmtime_anyref_is_i31(wasmtime_context_t *context, const wasmtime_anyref_t *anyref)
    bint wasmtime_anyref_i31_get_s(wasmtime_context_t *context, const wasmtime_anyref_t *anyref, int32_t *dst)
    bint wasmtime_anyref_is_struct(wasmtime_context_t *context, const wasmtime_anyref_t *anyref)
    bint wasmtime_anyref_is_array(wasmtime_context_t *context, const wasmtime_anyref_t *anyref)
    bint wasmtime_anyref_as_struct(wasmtime_context_t *context, const wasmtime_anyref_t *anyref,
                                   wasmtime_structref_t *out)
    bint wasmtime_anyref_as_array(wasmtime_context_t *context, const wasmtime_anyref_t *anyref,
                                  wasmtime_arrayref_t *out)
    void wasmtime_structref_unroot(wasmtime_structref_t *ref)
    void wasmtime_arrayref_unroot(wasmtime_arrayref_t *ref)
    wasmtime_struct_type_t *wasmtime_structref_type(wasmtime_context_t *context, const wasmtime_structref_t *ref)
    void wasmtime_struct_type_delete(wasmtime_struct_type_t *ty)
    size_t wasmtime_struct_type_num_fields(const wasmtime_struct_type_t *ty)
    wasmtime_error_t *wasmtime_structref_field(wasmtime_context_t *context, const wasmtime_structref_t *ref,
                                               size_t index, wasmtime_val_t *out)
    wasmtime_error_t *wasmtime_structref_set_field(wasmtime_context_t *context, const wasmtime_structref_t *ref,
                                                   size_t index, const wasmtime_val_t *val)
    wasmtime_error_t *wasmtime_arrayref_len(wasmtime_context_t *context, const wasmtime_arrayref_t *ref,
                                            uint32_t *out)
    wasmtime_error_t *wasmtime_arrayref_get(wasmtime_context_t *context, const wasmtime_arrayref_t *ref,
                                            uint32_t index, wasmtime_val_t *out)
    wasmtime_error_t *wasmtime_arrayref_set(wasmtime_context_t *context, const wasmtime_arrayref_t *ref,
                                            uint32_t index, const wasmtime_val_t *val)

    # tags and exceptions (see the note in wasmbind_capi.h)
    wasm_tagtype_t *wasm_tagtype_new(wasm_functype_t *functype)
    void wasm_tagtype_delete(wasm_tagtype_t *type)
    wasmtime_error_t *wasmtime_tag_new(wasmtime_context_t *store, const wasm_tagtype_t *type,
                                       wasmtime_tag_t *ret)
    wasm_tagtype_t *wasmtime_tag_type(const wasmtime_context_t *store, const wasmtime_tag_t *tag)
    bint wasmtime_tag_eq(const wasmtime_context_t *store, const wasmtime_tag_t *a, const wasmtime_tag_t *b)
    wasmtime_error_t *wasmtime_exnref_new(wasmtime_context_t *store, const wasmtime_tag_t *tag,
                                          const wasmtime_val_t *fields, size_t nfields,
                                          wasmtime_exnref_t *exn_ret)
    void wasmtime_exnref_unroot(wasmtime_exnref_t *ref)
    wasmtime_error_t *wasmtime_exnref_tag(wasmtime_context_t *store, const wasmtime_exnref_t *exn,
                                          wasmtime_tag_t *tag_ret)
    size_t wasmtime_exnref_field_count(wasmtime_context_t *store, const wasmtime_exnref_t *exn)
    wasmtime_error_t *wasmtime_exnref_field(wasmtime_context_t *store, const wasmtime_exnref_t *exn,
                                            size_t index, wasmtime_val_t *val_ret)
    wasm_trap_t *wasmtime_context_set_exception(wasmtime_context_t *store, const wasmtime_exnref_t *exn)
    bint wasmtime_context_take_exception(wasmtime_context_t *store, wasmtime_exnref_t *exn_ret)
    bint wasmtime_context_has_exception(wasmtime_context_t *store)

    # shared memories (engine-owned; each handle deleted once)
    wasmtime_error_t *wasmtime_sharedmemory_new(const wasm_engine_t *engine, const wasm_memorytype_t *ty,
                                                wasmtime_sharedmemory_t **ret)
    void wasmtime_sharedmemory_delete(wasmtime_sharedmemory_t *memory)
    wasmtime_sharedmemory_t *wasmtime_sharedmemory_clone(const wasmtime_sharedmemory_t *memory)
    wasm_memorytype_t *wasmtime_sharedmemory_type(const wasmtime_sharedmemory_t *memory)
    uint8_t *wasmtime_sharedmemory_data(const wasmtime_sharedmemory_t *memory)
    size_t wasmtime_sharedmemory_data_size(const wasmtime_sharedmemory_t *memory)
    uint64_t wasmtime_sharedmemory_size(const wasmtime_sharedmemory_t *memory)
    wasmtime_error_t *wasmtime_sharedmemory_grow(const wasmtime_sharedmemory_t *memory, uint64_t delta,
                                                 uint64_t *prev_size)
