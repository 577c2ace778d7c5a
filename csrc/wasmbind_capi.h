/*
 * wasmbind's own declarations of the subset of the WebAssembly C API (wasm.h)
 * and of Wasmtime's extensions (wasmtime.h, wasi.h) that wasmbind uses.
 *
 * Written from the documented ABI of the pinned Wasmtime release; every struct
 * declared by value here is checked against the ctypes structures of the
 * `wasmtime` Python package by tests/test_abi_layout.py.
 */
#ifndef WASMBIND_CAPI_H
#define WASMBIND_CAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
#define WB_IMPORT __declspec(dllimport)
#else
#define WB_IMPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- wasm.h */

typedef uint8_t wasm_byte_t;
typedef struct wb_byte_vec { size_t size; wasm_byte_t *data; } wasm_byte_vec_t;
typedef wasm_byte_vec_t wasm_name_t;

typedef struct wasm_config_t wasm_config_t;
typedef struct wasm_engine_t wasm_engine_t;
typedef struct wasm_valtype_t wasm_valtype_t;
typedef struct wasm_functype_t wasm_functype_t;
typedef struct wasm_globaltype_t wasm_globaltype_t;
typedef struct wasm_tabletype_t wasm_tabletype_t;
typedef struct wasm_memorytype_t wasm_memorytype_t;
typedef struct wasm_tagtype_t wasm_tagtype_t;
typedef struct wasm_externtype_t wasm_externtype_t;
typedef struct wasm_importtype_t wasm_importtype_t;
typedef struct wasm_exporttype_t wasm_exporttype_t;
typedef struct wasm_frame_t wasm_frame_t;
typedef struct wasm_trap_t wasm_trap_t;

#define WB_VEC(name, elem) typedef struct { size_t size; elem *data; } name
WB_VEC(wasm_valtype_vec_t, wasm_valtype_t *);
WB_VEC(wasm_importtype_vec_t, wasm_importtype_t *);
WB_VEC(wasm_exporttype_vec_t, wasm_exporttype_t *);
WB_VEC(wasm_frame_vec_t, wasm_frame_t *);
#undef WB_VEC

typedef struct wasm_limits_t { uint32_t min; uint32_t max; } wasm_limits_t;

typedef uint8_t wasm_valkind_t;
typedef uint8_t wasm_mutability_t;
typedef uint8_t wasm_externkind_t;

/* wasm_valkind_t */
#define WB_WASM_I32 0
#define WB_WASM_I64 1
#define WB_WASM_F32 2
#define WB_WASM_F64 3
#define WB_WASM_V128 4
#define WB_WASM_EXTERNREF 128
#define WB_WASM_FUNCREF 129
/* wasm_mutability_t */
#define WB_WASM_CONST 0
#define WB_WASM_VAR 1
/* wasm_externkind_t */
#define WB_WASM_EXTERN_FUNC 0
#define WB_WASM_EXTERN_GLOBAL 1
#define WB_WASM_EXTERN_TABLE 2
#define WB_WASM_EXTERN_MEMORY 3
#define WB_WASM_EXTERN_TAG 4

WB_IMPORT void wasm_byte_vec_new(wasm_byte_vec_t *out, size_t size, const wasm_byte_t *data);
WB_IMPORT void wasm_byte_vec_new_uninitialized(wasm_byte_vec_t *out, size_t size);
WB_IMPORT void wasm_byte_vec_delete(wasm_byte_vec_t *vec);

WB_IMPORT wasm_config_t *wasm_config_new(void);
WB_IMPORT void wasm_config_delete(wasm_config_t *config);
WB_IMPORT wasm_engine_t *wasm_engine_new_with_config(wasm_config_t *config);
WB_IMPORT void wasm_engine_delete(wasm_engine_t *engine);

WB_IMPORT wasm_valtype_t *wasm_valtype_new(wasm_valkind_t kind);
WB_IMPORT wasm_valkind_t wasm_valtype_kind(const wasm_valtype_t *type);
WB_IMPORT void wasm_valtype_delete(wasm_valtype_t *type);
WB_IMPORT void wasm_valtype_vec_new(wasm_valtype_vec_t *out, size_t size, wasm_valtype_t *const data[]);
WB_IMPORT void wasm_valtype_vec_new_empty(wasm_valtype_vec_t *out);

WB_IMPORT wasm_functype_t *wasm_functype_new(wasm_valtype_vec_t *params, wasm_valtype_vec_t *results);
WB_IMPORT const wasm_valtype_vec_t *wasm_functype_params(const wasm_functype_t *type);
WB_IMPORT const wasm_valtype_vec_t *wasm_functype_results(const wasm_functype_t *type);
WB_IMPORT void wasm_functype_delete(wasm_functype_t *type);

WB_IMPORT wasm_globaltype_t *wasm_globaltype_new(wasm_valtype_t *content, wasm_mutability_t mutability);
WB_IMPORT const wasm_valtype_t *wasm_globaltype_content(const wasm_globaltype_t *type);
WB_IMPORT wasm_mutability_t wasm_globaltype_mutability(const wasm_globaltype_t *type);
WB_IMPORT void wasm_globaltype_delete(wasm_globaltype_t *type);

WB_IMPORT wasm_tabletype_t *wasm_tabletype_new(wasm_valtype_t *element, const wasm_limits_t *limits);
WB_IMPORT const wasm_valtype_t *wasm_tabletype_element(const wasm_tabletype_t *type);
WB_IMPORT const wasm_limits_t *wasm_tabletype_limits(const wasm_tabletype_t *type);
WB_IMPORT void wasm_tabletype_delete(wasm_tabletype_t *type);

WB_IMPORT void wasm_memorytype_delete(wasm_memorytype_t *type);

WB_IMPORT const wasm_functype_t *wasm_tagtype_functype(const wasm_tagtype_t *type);

WB_IMPORT wasm_externkind_t wasm_externtype_kind(const wasm_externtype_t *type);
WB_IMPORT const wasm_functype_t *wasm_externtype_as_functype_const(const wasm_externtype_t *type);
WB_IMPORT const wasm_globaltype_t *wasm_externtype_as_globaltype_const(const wasm_externtype_t *type);
WB_IMPORT const wasm_tabletype_t *wasm_externtype_as_tabletype_const(const wasm_externtype_t *type);
WB_IMPORT const wasm_memorytype_t *wasm_externtype_as_memorytype_const(const wasm_externtype_t *type);
WB_IMPORT const wasm_tagtype_t *wasm_externtype_as_tagtype_const(const wasm_externtype_t *type);
WB_IMPORT void wasm_externtype_delete(wasm_externtype_t *type);

WB_IMPORT const wasm_name_t *wasm_importtype_module(const wasm_importtype_t *type);
WB_IMPORT const wasm_name_t *wasm_importtype_name(const wasm_importtype_t *type);
WB_IMPORT const wasm_externtype_t *wasm_importtype_type(const wasm_importtype_t *type);
WB_IMPORT void wasm_importtype_vec_delete(wasm_importtype_vec_t *vec);
WB_IMPORT const wasm_name_t *wasm_exporttype_name(const wasm_exporttype_t *type);
WB_IMPORT const wasm_externtype_t *wasm_exporttype_type(const wasm_exporttype_t *type);
WB_IMPORT void wasm_exporttype_vec_delete(wasm_exporttype_vec_t *vec);

WB_IMPORT uint32_t wasm_frame_func_index(const wasm_frame_t *frame);
WB_IMPORT size_t wasm_frame_func_offset(const wasm_frame_t *frame);
WB_IMPORT size_t wasm_frame_module_offset(const wasm_frame_t *frame);
WB_IMPORT void wasm_frame_vec_delete(wasm_frame_vec_t *vec);

WB_IMPORT void wasm_trap_message(const wasm_trap_t *trap, wasm_name_t *out);
WB_IMPORT void wasm_trap_trace(const wasm_trap_t *trap, wasm_frame_vec_t *out);
WB_IMPORT void wasm_trap_delete(wasm_trap_t *trap);

/* ------------------------------------------------------------ wasmtime.h */

typedef struct wasmtime_error wasmtime_error_t;
typedef struct wasmtime_module wasmtime_module_t;
typedef struct wasmtime_store wasmtime_store_t;
typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasmtime_caller wasmtime_caller_t;
typedef struct wasmtime_linker wasmtime_linker_t;
typedef struct wasmtime_sharedmemory wasmtime_sharedmemory_t;
typedef struct wasi_config_t wasi_config_t;

typedef uint8_t wasmtime_valkind_t;
typedef uint8_t wasmtime_extern_kind_t;
typedef uint8_t wasmtime_trap_code_t;
typedef uint8_t wasmtime_opt_level_t;
typedef uint8_t wasmtime_update_deadline_kind_t;

/* wasmtime_valkind_t */
#define WB_I32 0
#define WB_I64 1
#define WB_F32 2
#define WB_F64 3
#define WB_V128 4
#define WB_FUNCREF 5
#define WB_EXTERNREF 6
#define WB_ANYREF 7
#define WB_EXNREF 8
/* wasmtime_extern_kind_t */
#define WB_EXTERN_FUNC 0
#define WB_EXTERN_GLOBAL 1
#define WB_EXTERN_TABLE 2
#define WB_EXTERN_MEMORY 3
#define WB_EXTERN_SHAREDMEMORY 4
#define WB_EXTERN_TAG 5
/* wasmtime_update_deadline_kind_t */
#define WB_UPDATE_DEADLINE_CONTINUE 0
#define WB_UPDATE_DEADLINE_YIELD 1

/* Store-bound handles: a store id plus private indices. */
typedef struct wasmtime_func { uint64_t store_id; void *private_; } wasmtime_func_t;
typedef struct wb_store_index { uint64_t store_id; uint32_t private1; } wb_store_index_t;
typedef struct wasmtime_table { wb_store_index_t head; uint32_t private2; } wasmtime_table_t;
typedef struct wasmtime_memory { wb_store_index_t head; uint32_t private2; } wasmtime_memory_t;
typedef struct wasmtime_tag { wb_store_index_t head; uint32_t private2; } wasmtime_tag_t;
typedef struct wasmtime_global {
    uint64_t store_id; uint32_t private1; uint32_t private2; uint32_t private3;
} wasmtime_global_t;
typedef struct wasmtime_instance { uint64_t store_id; size_t private_; } wasmtime_instance_t;

typedef union wasmtime_extern_union {
    wasmtime_func_t func;
    wasmtime_global_t global;
    wasmtime_table_t table;
    wasmtime_memory_t memory;
    wasmtime_sharedmemory_t *sharedmemory;
    wasmtime_tag_t tag;
} wasmtime_extern_union_t;

typedef struct wasmtime_extern {
    wasmtime_extern_kind_t kind;
    wasmtime_extern_union_t of;
} wasmtime_extern_t;

/* Wasmtime's full value types (wasm_valtype_kind of the standard API cannot
 * express v128 and aborts on it, so types are read through these). */
#define WB_VALTYPE_I32 0
#define WB_VALTYPE_I64 1
#define WB_VALTYPE_F32 2
#define WB_VALTYPE_F64 3
#define WB_VALTYPE_V128 4
#define WB_VALTYPE_REF 5
#define WB_HEAPTYPE_EXTERN 0
#define WB_HEAPTYPE_NOEXTERN 1
#define WB_HEAPTYPE_FUNC 2
#define WB_HEAPTYPE_CONCRETE_FUNC 3
#define WB_HEAPTYPE_NOFUNC 4
typedef struct wasmtime_heaptype { uint8_t kind; void *of; } wasmtime_heaptype_t;
typedef struct wasmtime_reftype { bool nullable; wasmtime_heaptype_t heaptype; } wasmtime_reftype_t;
typedef struct wasmtime_valtype { uint8_t kind; wasmtime_reftype_t reftype; } wasmtime_valtype_t;
WB_IMPORT void wasmtime_valtype_new(const wasm_valtype_t *ty, wasmtime_valtype_t *out);
WB_IMPORT void wasmtime_valtype_delete(wasmtime_valtype_t *ty);
WB_IMPORT wasm_valtype_t *wasmtime_wasm_valtype_v128(void);

/* GC references are rooted handles. */
typedef struct wasmtime_externref {
    uint64_t store_id; uint32_t private1; uint32_t private2; void *private3;
} wasmtime_externref_t;
typedef wasmtime_externref_t wasmtime_anyref_t;
typedef wasmtime_externref_t wasmtime_exnref_t;

typedef uint8_t wasmtime_v128[16];

typedef union wasmtime_valunion {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    wasmtime_anyref_t anyref;
    wasmtime_externref_t externref;
    wasmtime_exnref_t exnref;
    wasmtime_func_t funcref;
    wasmtime_v128 v128;
} wasmtime_valunion_t;

typedef struct wasmtime_val {
    wasmtime_valkind_t kind;
    wasmtime_valunion_t of;
} wasmtime_val_t;

typedef union wasmtime_val_raw {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    wasmtime_v128 v128;
    uint32_t anyref;
    uint32_t externref;
    uint32_t exnref;
    void *funcref;
} wasmtime_val_raw_t;

typedef void (*wb_finalizer_t)(void *);
typedef wasm_trap_t *(*wasmtime_func_callback_t)(
    void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args, size_t nargs,
    wasmtime_val_t *results, size_t nresults);
typedef wasmtime_error_t *(*wasmtime_func_unchecked_callback_t)(
    void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args_and_results,
    size_t num_args_and_results);
typedef wasmtime_error_t *(*wb_epoch_callback_t)(
    wasmtime_context_t *context, void *data, uint64_t *epoch_deadline_delta,
    wasmtime_update_deadline_kind_t *update_kind);

/* errors and traps */
WB_IMPORT wasmtime_error_t *wasmtime_error_new(const char *message);
WB_IMPORT void wasmtime_error_delete(wasmtime_error_t *error);
WB_IMPORT void wasmtime_error_message(const wasmtime_error_t *error, wasm_name_t *out);
WB_IMPORT bool wasmtime_error_exit_status(const wasmtime_error_t *error, int *status);
WB_IMPORT void wasmtime_error_wasm_trace(const wasmtime_error_t *error, wasm_frame_vec_t *out);
WB_IMPORT wasm_trap_t *wasmtime_trap_new(const char *message, size_t len);
WB_IMPORT bool wasmtime_trap_code(const wasm_trap_t *trap, wasmtime_trap_code_t *code);
WB_IMPORT const wasm_name_t *wasmtime_frame_func_name(const wasm_frame_t *frame);
WB_IMPORT const wasm_name_t *wasmtime_frame_module_name(const wasm_frame_t *frame);

/* config and engine */
WB_IMPORT void wasmtime_config_consume_fuel_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_epoch_interruption_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_max_wasm_stack_set(wasm_config_t *c, size_t v);
WB_IMPORT void wasmtime_config_async_stack_size_set(wasm_config_t *c, size_t v);
WB_IMPORT void wasmtime_config_debug_info_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_wasm_threads_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_shared_memory_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_wasm_tail_call_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_wasm_reference_types_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_wasm_component_model_async_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_wasm_function_references_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_wasm_gc_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_wasm_simd_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_wasm_relaxed_simd_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_wasm_bulk_memory_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_wasm_multi_value_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_wasm_multi_memory_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_wasm_memory64_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_wasm_exceptions_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_cranelift_opt_level_set(wasm_config_t *c, wasmtime_opt_level_t v);
WB_IMPORT void wasmtime_config_parallel_compilation_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_memory_may_move_set(wasm_config_t *c, bool v);
WB_IMPORT void wasmtime_config_memory_reservation_set(wasm_config_t *c, uint64_t v);
WB_IMPORT void wasmtime_config_memory_guard_size_set(wasm_config_t *c, uint64_t v);
WB_IMPORT wasmtime_error_t *wasmtime_config_cache_config_load(wasm_config_t *c, const char *path);
WB_IMPORT void wasmtime_engine_increment_epoch(wasm_engine_t *engine);

/* modules */
WB_IMPORT wasmtime_error_t *wasmtime_wat2wasm(const char *wat, size_t len, wasm_byte_vec_t *out);
WB_IMPORT wasmtime_error_t *wasmtime_module_new(wasm_engine_t *e, const uint8_t *wasm, size_t len, wasmtime_module_t **out);
WB_IMPORT wasmtime_error_t *wasmtime_module_validate(wasm_engine_t *e, const uint8_t *wasm, size_t len);
WB_IMPORT void wasmtime_module_delete(wasmtime_module_t *m);
WB_IMPORT void wasmtime_module_imports(const wasmtime_module_t *m, wasm_importtype_vec_t *out);
WB_IMPORT void wasmtime_module_exports(const wasmtime_module_t *m, wasm_exporttype_vec_t *out);
WB_IMPORT wasmtime_error_t *wasmtime_module_serialize(wasmtime_module_t *m, wasm_byte_vec_t *out);
WB_IMPORT wasmtime_error_t *wasmtime_module_deserialize(wasm_engine_t *e, const uint8_t *bytes, size_t len, wasmtime_module_t **out);

/* stores */
WB_IMPORT wasmtime_store_t *wasmtime_store_new(wasm_engine_t *e, void *data, wb_finalizer_t finalizer);
WB_IMPORT wasmtime_context_t *wasmtime_store_context(wasmtime_store_t *store);
WB_IMPORT void wasmtime_store_delete(wasmtime_store_t *store);
WB_IMPORT void wasmtime_store_limiter(wasmtime_store_t *store, int64_t memory_size, int64_t table_elements,
                                      int64_t instances, int64_t tables, int64_t memories);
WB_IMPORT void *wasmtime_context_get_data(const wasmtime_context_t *context);
WB_IMPORT wasmtime_error_t *wasmtime_context_gc(wasmtime_context_t *context);
WB_IMPORT wasmtime_error_t *wasmtime_context_set_fuel(wasmtime_context_t *context, uint64_t fuel);
WB_IMPORT wasmtime_error_t *wasmtime_context_get_fuel(const wasmtime_context_t *context, uint64_t *fuel);
WB_IMPORT wasmtime_error_t *wasmtime_context_set_wasi(wasmtime_context_t *context, wasi_config_t *wasi);
WB_IMPORT void wasmtime_context_set_epoch_deadline(wasmtime_context_t *context, uint64_t ticks_beyond_current);
WB_IMPORT void wasmtime_store_epoch_deadline_callback(wasmtime_store_t *store, wb_epoch_callback_t func,
                                                      void *data, wb_finalizer_t finalizer);

/* functions */
WB_IMPORT void wasmtime_func_new(wasmtime_context_t *store, const wasm_functype_t *type,
                                 wasmtime_func_callback_t callback, void *env, wb_finalizer_t finalizer,
                                 wasmtime_func_t *ret);
WB_IMPORT void wasmtime_func_new_unchecked(wasmtime_context_t *store, const wasm_functype_t *type,
                                           wasmtime_func_unchecked_callback_t callback, void *env,
                                           wb_finalizer_t finalizer, wasmtime_func_t *ret);
WB_IMPORT wasm_functype_t *wasmtime_func_type(const wasmtime_context_t *store, const wasmtime_func_t *func);
WB_IMPORT wasmtime_error_t *wasmtime_func_call(wasmtime_context_t *store, const wasmtime_func_t *func,
                                               const wasmtime_val_t *args, size_t nargs,
                                               wasmtime_val_t *results, size_t nresults, wasm_trap_t **trap);
WB_IMPORT wasmtime_error_t *wasmtime_func_call_unchecked(wasmtime_context_t *store, const wasmtime_func_t *func,
                                                         wasmtime_val_raw_t *args_and_results,
                                                         size_t args_and_results_len, wasm_trap_t **trap);
WB_IMPORT bool wasmtime_caller_export_get(wasmtime_caller_t *caller, const char *name, size_t name_len,
                                          wasmtime_extern_t *item);
WB_IMPORT wasmtime_context_t *wasmtime_caller_context(wasmtime_caller_t *caller);
WB_IMPORT void wasmtime_func_from_raw(wasmtime_context_t *context, void *raw, wasmtime_func_t *ret);
WB_IMPORT void *wasmtime_func_to_raw(wasmtime_context_t *context, const wasmtime_func_t *func);

/* values */
WB_IMPORT bool wasmtime_externref_new(wasmtime_context_t *context, void *data, wb_finalizer_t finalizer,
                                      wasmtime_externref_t *out);
WB_IMPORT void *wasmtime_externref_data(wasmtime_context_t *context, const wasmtime_externref_t *data);
WB_IMPORT void wasmtime_externref_unroot(wasmtime_externref_t *ref);
WB_IMPORT void wasmtime_externref_from_raw(wasmtime_context_t *context, uint32_t raw, wasmtime_externref_t *out);
WB_IMPORT uint32_t wasmtime_externref_to_raw(wasmtime_context_t *context, const wasmtime_externref_t *ref);
WB_IMPORT void wasmtime_val_unroot(wasmtime_val_t *val);

/* instances */
WB_IMPORT wasmtime_error_t *wasmtime_instance_new(wasmtime_context_t *store, const wasmtime_module_t *module,
                                                  const wasmtime_extern_t *imports, size_t nimports,
                                                  wasmtime_instance_t *instance, wasm_trap_t **trap);
WB_IMPORT bool wasmtime_instance_export_get(wasmtime_context_t *store, const wasmtime_instance_t *instance,
                                            const char *name, size_t name_len, wasmtime_extern_t *item);
WB_IMPORT void wasmtime_extern_delete(wasmtime_extern_t *val);
WB_IMPORT wasm_externtype_t *wasmtime_extern_type(wasmtime_context_t *context, wasmtime_extern_t *val);

/* memories */
WB_IMPORT wasmtime_error_t *wasmtime_memorytype_new(uint64_t min, bool max_present, uint64_t max,
                                                    bool is_64, bool shared, uint8_t page_size_log2,
                                                    wasm_memorytype_t **out);
WB_IMPORT uint64_t wasmtime_memorytype_minimum(const wasm_memorytype_t *type);
WB_IMPORT bool wasmtime_memorytype_maximum(const wasm_memorytype_t *type, uint64_t *max);
WB_IMPORT bool wasmtime_memorytype_is64(const wasm_memorytype_t *type);
WB_IMPORT bool wasmtime_memorytype_isshared(const wasm_memorytype_t *type);
WB_IMPORT uint64_t wasmtime_memorytype_page_size(const wasm_memorytype_t *type);
WB_IMPORT wasmtime_error_t *wasmtime_memory_new(wasmtime_context_t *store, const wasm_memorytype_t *type,
                                                wasmtime_memory_t *ret);
WB_IMPORT wasm_memorytype_t *wasmtime_memory_type(const wasmtime_context_t *store, const wasmtime_memory_t *m);
WB_IMPORT uint8_t *wasmtime_memory_data(const wasmtime_context_t *store, const wasmtime_memory_t *m);
WB_IMPORT size_t wasmtime_memory_data_size(const wasmtime_context_t *store, const wasmtime_memory_t *m);
WB_IMPORT uint64_t wasmtime_memory_size(const wasmtime_context_t *store, const wasmtime_memory_t *m);
WB_IMPORT wasmtime_error_t *wasmtime_memory_grow(wasmtime_context_t *store, const wasmtime_memory_t *m,
                                                 uint64_t delta, uint64_t *prev_size);

/* globals */
WB_IMPORT wasmtime_error_t *wasmtime_global_new(wasmtime_context_t *store, const wasm_globaltype_t *type,
                                                const wasmtime_val_t *val, wasmtime_global_t *ret);
WB_IMPORT wasm_globaltype_t *wasmtime_global_type(const wasmtime_context_t *store, const wasmtime_global_t *g);
WB_IMPORT void wasmtime_global_get(wasmtime_context_t *store, const wasmtime_global_t *g, wasmtime_val_t *out);
WB_IMPORT wasmtime_error_t *wasmtime_global_set(wasmtime_context_t *store, const wasmtime_global_t *g,
                                                const wasmtime_val_t *val);

/* tables */
WB_IMPORT wasmtime_error_t *wasmtime_table_new(wasmtime_context_t *store, const wasm_tabletype_t *type,
                                               const wasmtime_val_t *init, wasmtime_table_t *table);
WB_IMPORT wasm_tabletype_t *wasmtime_table_type(const wasmtime_context_t *store, const wasmtime_table_t *t);
WB_IMPORT bool wasmtime_table_get(wasmtime_context_t *store, const wasmtime_table_t *t, uint64_t index,
                                  wasmtime_val_t *val);
WB_IMPORT wasmtime_error_t *wasmtime_table_set(wasmtime_context_t *store, const wasmtime_table_t *t,
                                               uint64_t index, const wasmtime_val_t *value);
WB_IMPORT uint64_t wasmtime_table_size(const wasmtime_context_t *store, const wasmtime_table_t *t);
WB_IMPORT wasmtime_error_t *wasmtime_table_grow(wasmtime_context_t *store, const wasmtime_table_t *t,
                                                uint64_t delta, const wasmtime_val_t *init, uint64_t *prev_size);

/* linkers */
WB_IMPORT wasmtime_linker_t *wasmtime_linker_new(wasm_engine_t *engine);
WB_IMPORT void wasmtime_linker_delete(wasmtime_linker_t *linker);
WB_IMPORT void wasmtime_linker_allow_shadowing(wasmtime_linker_t *linker, bool allow);
WB_IMPORT wasmtime_error_t *wasmtime_linker_define(wasmtime_linker_t *linker, wasmtime_context_t *store,
                                                   const char *module, size_t module_len,
                                                   const char *name, size_t name_len,
                                                   const wasmtime_extern_t *item);
WB_IMPORT wasmtime_error_t *wasmtime_linker_define_func(wasmtime_linker_t *linker,
                                                        const char *module, size_t module_len,
                                                        const char *name, size_t name_len,
                                                        const wasm_functype_t *ty,
                                                        wasmtime_func_callback_t cb, void *data,
                                                        wb_finalizer_t finalizer);
WB_IMPORT wasmtime_error_t *wasmtime_linker_define_func_unchecked(wasmtime_linker_t *linker,
                                                                  const char *module, size_t module_len,
                                                                  const char *name, size_t name_len,
                                                                  const wasm_functype_t *ty,
                                                                  wasmtime_func_unchecked_callback_t cb,
                                                                  void *data, wb_finalizer_t finalizer);
WB_IMPORT wasmtime_error_t *wasmtime_linker_define_wasi(wasmtime_linker_t *linker);
WB_IMPORT wasmtime_error_t *wasmtime_linker_define_instance(wasmtime_linker_t *linker, wasmtime_context_t *store,
                                                            const char *name, size_t name_len,
                                                            const wasmtime_instance_t *instance);
WB_IMPORT wasmtime_error_t *wasmtime_linker_instantiate(const wasmtime_linker_t *linker, wasmtime_context_t *store,
                                                        const wasmtime_module_t *module,
                                                        wasmtime_instance_t *instance, wasm_trap_t **trap);
WB_IMPORT wasmtime_error_t *wasmtime_linker_module(wasmtime_linker_t *linker, wasmtime_context_t *store,
                                                   const char *name, size_t name_len,
                                                   const wasmtime_module_t *module);
WB_IMPORT wasmtime_error_t *wasmtime_linker_get_default(const wasmtime_linker_t *linker, wasmtime_context_t *store,
                                                        const char *name, size_t name_len, wasmtime_func_t *func);
WB_IMPORT bool wasmtime_linker_get(const wasmtime_linker_t *linker, wasmtime_context_t *store,
                                   const char *module, size_t module_len, const char *name, size_t name_len,
                                   wasmtime_extern_t *item);
WB_IMPORT wasmtime_error_t *wasmtime_linker_define_unknown_imports_as_traps(wasmtime_linker_t *linker,
                                                                            const wasmtime_module_t *module);

/* --------------------------------------------------- wasmtime/async.h */

/* Calls that can suspend: the engine runs the Wasm on a stack of its own and
 * hands back a future; each poll runs it until it finishes (true) or yields
 * (false: an epoch tick or fuel interval, or an async host function not done).
 * Everything passed to a call that returns a future must stay alive and
 * unchanged until the future is deleted, and a store may have one future at a
 * time. The engine of this release has no async switch in its config: a store
 * becomes async-only once it is set up to yield (or links async functions). */
typedef struct wasmtime_call_future wasmtime_call_future_t;

/* An async host function's progress: the engine calls `callback(env)` at every
 * poll until it returns true; `finalizer(env)` runs when the engine drops it
 * (done, or the call abandoned). */
typedef bool (*wb_async_continuation_callback_t)(void *env);
typedef struct wasmtime_async_continuation {
    wb_async_continuation_callback_t callback;
    void *env;
    wb_finalizer_t finalizer;
} wasmtime_async_continuation_t;

/* An async host function: fills in the continuation (and may set *trap_ret,
 * read only once the continuation reports true). args, results, caller and
 * trap_ret stay valid until then. */
typedef void (*wasmtime_func_async_callback_t)(
    void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args, size_t nargs,
    wasmtime_val_t *results, size_t nresults, wasm_trap_t **trap_ret,
    wasmtime_async_continuation_t *continuation_ret);

WB_IMPORT wasmtime_error_t *wasmtime_context_fuel_async_yield_interval(wasmtime_context_t *context,
                                                                       uint64_t interval);
/* Returns nothing in the pinned release (its header, and wasmtime-py's
 * bindings, claim an error pointer; the library leaves the register unset). */
WB_IMPORT void wasmtime_context_epoch_deadline_async_yield_and_update(wasmtime_context_t *context,
                                                                      uint64_t delta);
WB_IMPORT bool wasmtime_call_future_poll(wasmtime_call_future_t *future);
WB_IMPORT void wasmtime_call_future_delete(wasmtime_call_future_t *future);
WB_IMPORT wasmtime_call_future_t *wasmtime_func_call_async(wasmtime_context_t *context, const wasmtime_func_t *func,
                                                           const wasmtime_val_t *args, size_t nargs,
                                                           wasmtime_val_t *results, size_t nresults,
                                                           wasm_trap_t **trap_ret, wasmtime_error_t **error_ret);
WB_IMPORT wasmtime_error_t *wasmtime_linker_define_async_func(wasmtime_linker_t *linker,
                                                              const char *module, size_t module_len,
                                                              const char *name, size_t name_len,
                                                              const wasm_functype_t *ty,
                                                              wasmtime_func_async_callback_t cb, void *data,
                                                              wb_finalizer_t finalizer);
WB_IMPORT wasmtime_call_future_t *wasmtime_linker_instantiate_async(const wasmtime_linker_t *linker,
                                                                    wasmtime_context_t *store,
                                                                    const wasmtime_module_t *module,
                                                                    wasmtime_instance_t *instance,
                                                                    wasm_trap_t **trap_ret,
                                                                    wasmtime_error_t **error_ret);

/* ------------------------------------------- GC references (wasmtime/gc.h) */

/* the heap types past NOFUNC (wasmtime_heaptype_t.kind) */
#define WB_HEAPTYPE_ANY 5
#define WB_HEAPTYPE_NONE 6
#define WB_HEAPTYPE_EQ 7
#define WB_HEAPTYPE_I31 8
#define WB_HEAPTYPE_ARRAY 9
#define WB_HEAPTYPE_CONCRETE_ARRAY 10
#define WB_HEAPTYPE_STRUCT 11
#define WB_HEAPTYPE_CONCRETE_STRUCT 12
#define WB_HEAPTYPE_EXN 13
#define WB_HEAPTYPE_CONCRETE_EXN 14
#define WB_HEAPTYPE_NOEXN 15
typedef struct wasmtime_struct_type wasmtime_struct_type_t;
/* engine may be NULL for abstract heap types (only concrete ones need it) */
WB_IMPORT wasm_valtype_t *wasmtime_valtype_to_wasm(const wasm_engine_t *engine, const wasmtime_valtype_t *ty);
/* a new rooted copy of a value (the copy is unrooted by wasmtime_val_unroot) */
WB_IMPORT void wasmtime_val_clone(const wasmtime_val_t *src, wasmtime_val_t *dst);
WB_IMPORT void wasmtime_anyref_from_i31(wasmtime_context_t *context, uint32_t i31val, wasmtime_anyref_t *out);
WB_IMPORT bool wasmtime_anyref_is_i31(wasmtime_context_t *context, const wasmtime_anyref_t *anyref);
WB_IMPORT bool wasmtime_anyref_i31_get_s(wasmtime_context_t *context, const wasmtime_anyref_t *anyref, int32_t *dst);
WB_IMPORT bool wasmtime_anyref_is_struct(wasmtime_context_t *context, const wasmtime_anyref_t *anyref);
WB_IMPORT bool wasmtime_anyref_is_array(wasmtime_context_t *context, const wasmtime_anyref_t *anyref);
/* struct and array refs share the anyref layout; as_* make a new root */
typedef wasmtime_externref_t wasmtime_structref_t;
typedef wasmtime_externref_t wasmtime_arrayref_t;
WB_IMPORT bool wasmtime_anyref_as_struct(wasmtime_context_t *context, const wasmtime_anyref_t *anyref,
                                         wasmtime_structref_t *out);
WB_IMPORT bool wasmtime_anyref_as_array(wasmtime_context_t *context, const wasmtime_anyref_t *anyref,
                                        wasmtime_arrayref_t *out);
WB_IMPORT void wasmtime_structref_unroot(wasmtime_structref_t *ref);
WB_IMPORT void wasmtime_arrayref_unroot(wasmtime_arrayref_t *ref);
WB_IMPORT wasmtime_struct_type_t *wasmtime_structref_type(wasmtime_context_t *context,
                                                          const wasmtime_structref_t *ref);
WB_IMPORT void wasmtime_struct_type_delete(wasmtime_struct_type_t *ty);
WB_IMPORT size_t wasmtime_struct_type_num_fields(const wasmtime_struct_type_t *ty);
WB_IMPORT wasmtime_error_t *wasmtime_structref_field(wasmtime_context_t *context, const wasmtime_structref_t *ref,
                                                     size_t index, wasmtime_val_t *out);
WB_IMPORT wasmtime_error_t *wasmtime_structref_set_field(wasmtime_context_t *context, const wasmtime_structref_t *ref,
                                                         size_t index, const wasmtime_val_t *val);
WB_IMPORT wasmtime_error_t *wasmtime_arrayref_len(wasmtime_context_t *context, const wasmtime_arrayref_t *ref,
                                                  uint32_t *out);
WB_IMPORT wasmtime_error_t *wasmtime_arrayref_get(wasmtime_context_t *context, const wasmtime_arrayref_t *ref,
                                                  uint32_t index, wasmtime_val_t *out);
WB_IMPORT wasmtime_error_t *wasmtime_arrayref_set(wasmtime_context_t *context, const wasmtime_arrayref_t *ref,
                                                  uint32_t index, const wasmtime_val_t *val);

/* tags and exceptions (exception-handling proposal). An exception thrown by
 * a host function is set on the store, and the trap returned with it is what
 * the host callback returns; a checked (wasm_trap_t returning) callback is the
 * only kind that can throw one: the C API has no way to make a wasmtime_error_t
 * carry a thrown exception for an unchecked callback. */
WB_IMPORT wasm_tagtype_t *wasm_tagtype_new(wasm_functype_t *functype); /* takes the functype */
WB_IMPORT void wasm_tagtype_delete(wasm_tagtype_t *type);
WB_IMPORT wasmtime_error_t *wasmtime_tag_new(wasmtime_context_t *store, const wasm_tagtype_t *type,
                                             wasmtime_tag_t *ret);
WB_IMPORT wasm_tagtype_t *wasmtime_tag_type(const wasmtime_context_t *store, const wasmtime_tag_t *tag);
/* both tags must belong to the store */
WB_IMPORT bool wasmtime_tag_eq(const wasmtime_context_t *store, const wasmtime_tag_t *a,
                               const wasmtime_tag_t *b);
WB_IMPORT wasmtime_error_t *wasmtime_exnref_new(wasmtime_context_t *store, const wasmtime_tag_t *tag,
                                                const wasmtime_val_t *fields, size_t nfields,
                                                wasmtime_exnref_t *exn_ret);
WB_IMPORT void wasmtime_exnref_unroot(wasmtime_exnref_t *ref);
WB_IMPORT wasmtime_error_t *wasmtime_exnref_tag(wasmtime_context_t *store, const wasmtime_exnref_t *exn,
                                                wasmtime_tag_t *tag_ret);
WB_IMPORT size_t wasmtime_exnref_field_count(wasmtime_context_t *store, const wasmtime_exnref_t *exn);
WB_IMPORT wasmtime_error_t *wasmtime_exnref_field(wasmtime_context_t *store, const wasmtime_exnref_t *exn,
                                                  size_t index, wasmtime_val_t *val_ret);
/* the store roots its own copy: the caller still unroots ``exn`` */
WB_IMPORT wasm_trap_t *wasmtime_context_set_exception(wasmtime_context_t *store, const wasmtime_exnref_t *exn);
WB_IMPORT bool wasmtime_context_take_exception(wasmtime_context_t *store, wasmtime_exnref_t *exn_ret);
WB_IMPORT bool wasmtime_context_has_exception(wasmtime_context_t *store);

/* shared memories (threads proposal): owned by the engine, not a store; each
 * handle is released with wasmtime_sharedmemory_delete */
WB_IMPORT wasmtime_error_t *wasmtime_sharedmemory_new(const wasm_engine_t *engine, const wasm_memorytype_t *ty,
                                                      wasmtime_sharedmemory_t **ret);
WB_IMPORT void wasmtime_sharedmemory_delete(wasmtime_sharedmemory_t *memory);
WB_IMPORT wasmtime_sharedmemory_t *wasmtime_sharedmemory_clone(const wasmtime_sharedmemory_t *memory);
WB_IMPORT wasm_memorytype_t *wasmtime_sharedmemory_type(const wasmtime_sharedmemory_t *memory);
WB_IMPORT uint8_t *wasmtime_sharedmemory_data(const wasmtime_sharedmemory_t *memory);
WB_IMPORT size_t wasmtime_sharedmemory_data_size(const wasmtime_sharedmemory_t *memory);
WB_IMPORT uint64_t wasmtime_sharedmemory_size(const wasmtime_sharedmemory_t *memory);
WB_IMPORT wasmtime_error_t *wasmtime_sharedmemory_grow(const wasmtime_sharedmemory_t *memory, uint64_t delta,
                                                       uint64_t *prev_size);

/* ---------------------------------------------------------------- wasi.h */

/* Not declared: wasi_config_inherit_argv and wasi_config_inherit_env, which
 * abort the process when a host argument or variable is not UTF-8. */
WB_IMPORT wasi_config_t *wasi_config_new(void);
WB_IMPORT void wasi_config_delete(wasi_config_t *config);
WB_IMPORT bool wasi_config_set_argv(wasi_config_t *config, size_t argc, const char *argv[]);
WB_IMPORT bool wasi_config_set_env(wasi_config_t *config, size_t envc, const char *names[], const char *values[]);
WB_IMPORT bool wasi_config_set_stdin_file(wasi_config_t *config, const char *path);
WB_IMPORT void wasi_config_set_stdin_bytes(wasi_config_t *config, wasm_byte_vec_t *binary);
WB_IMPORT void wasi_config_inherit_stdin(wasi_config_t *config);
WB_IMPORT bool wasi_config_set_stdout_file(wasi_config_t *config, const char *path);
WB_IMPORT void wasi_config_inherit_stdout(wasi_config_t *config);
WB_IMPORT bool wasi_config_set_stderr_file(wasi_config_t *config, const char *path);
WB_IMPORT void wasi_config_inherit_stderr(wasi_config_t *config);
typedef ptrdiff_t (*wb_wasi_output_t)(void *data, const unsigned char *buf, size_t len);
WB_IMPORT void wasi_config_set_stdout_custom(wasi_config_t *config, wb_wasi_output_t cb, void *data,
                                             wb_finalizer_t finalizer);
WB_IMPORT void wasi_config_set_stderr_custom(wasi_config_t *config, wb_wasi_output_t cb, void *data,
                                             wb_finalizer_t finalizer);
/* fs_mutable: false gives a read-only view of the directory */
WB_IMPORT bool wasi_config_preopen_dir(wasi_config_t *config, const char *host_path, const char *guest_path,
                                       bool fs_mutable);

#ifdef __cplusplus
}
#endif

#endif /* WASMBIND_CAPI_H */
