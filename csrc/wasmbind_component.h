/*
 * wasmbind's own declarations of the subset of Wasmtime's component-model
 * C API (wasmtime/component/*.h) that wasmbind uses: components and their
 * types, typed values, functions, instances, resources, the component linker
 * and WASI preview 2.
 *
 * Written from the documented ABI of the pinned Wasmtime release; every struct
 * declared by value here is checked against the ctypes structures of the
 * `wasmtime` Python package by tests/test_abi_layout.py.
 *
 * Two numberings with look-alike names: WB_CV_... are value kinds
 * (wasmtime_component_valkind_t, the tag of a value) and WB_CT_... are type
 * kinds (wasmtime_component_valtype_kind_t, the tag of a type); they order
 * the integers differently.
 */
#ifndef WASMBIND_COMPONENT_H
#define WASMBIND_COMPONENT_H

#include "wasmbind_capi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------ opaque handles */

typedef struct wasmtime_component_t wasmtime_component_t;
typedef struct wasmtime_component_type_t wasmtime_component_type_t;
typedef struct wasmtime_component_instance_type wasmtime_component_instance_type_t;
typedef struct wasmtime_module_type wasmtime_module_type_t;
typedef struct wasmtime_component_func_type_t wasmtime_component_func_type_t;
typedef struct wasmtime_component_extern_t wasmtime_component_extern_t;
typedef struct wasmtime_component_export_index_t wasmtime_component_export_index_t;
typedef struct wasmtime_component_resource_type wasmtime_component_resource_type_t;
typedef struct wasmtime_component_resource_any wasmtime_component_resource_any_t;
typedef struct wasmtime_component_resource_host wasmtime_component_resource_host_t;
typedef struct wasmtime_component_linker_t wasmtime_component_linker_t;
typedef struct wasmtime_component_linker_instance_t wasmtime_component_linker_instance_t;

typedef struct wasmtime_component_list_type wasmtime_component_list_type_t;
typedef struct wasmtime_component_record_type wasmtime_component_record_type_t;
typedef struct wasmtime_component_tuple_type wasmtime_component_tuple_type_t;
typedef struct wasmtime_component_variant_type wasmtime_component_variant_type_t;
typedef struct wasmtime_component_enum_type wasmtime_component_enum_type_t;
typedef struct wasmtime_component_option_type wasmtime_component_option_type_t;
typedef struct wasmtime_component_result_type wasmtime_component_result_type_t;
typedef struct wasmtime_component_flags_type wasmtime_component_flags_type_t;
typedef struct wasmtime_component_future_type wasmtime_component_future_type_t;
typedef struct wasmtime_component_stream_type wasmtime_component_stream_type_t;
typedef struct wasmtime_component_map_type wasmtime_component_map_type_t;

/* ---------------------------------------------------------------- types */

/* wasmtime_component_valtype_kind_t */
#define WB_CT_BOOL 0
#define WB_CT_S8 1
#define WB_CT_S16 2
#define WB_CT_S32 3
#define WB_CT_S64 4
#define WB_CT_U8 5
#define WB_CT_U16 6
#define WB_CT_U32 7
#define WB_CT_U64 8
#define WB_CT_F32 9
#define WB_CT_F64 10
#define WB_CT_CHAR 11
#define WB_CT_STRING 12
#define WB_CT_LIST 13
#define WB_CT_RECORD 14
#define WB_CT_TUPLE 15
#define WB_CT_VARIANT 16
#define WB_CT_ENUM 17
#define WB_CT_OPTION 18
#define WB_CT_RESULT 19
#define WB_CT_FLAGS 20
#define WB_CT_OWN 21
#define WB_CT_BORROW 22
#define WB_CT_FUTURE 23
#define WB_CT_STREAM 24
#define WB_CT_ERROR_CONTEXT 25

typedef union wasmtime_component_valtype_union {
    wasmtime_component_list_type_t *list;
    wasmtime_component_record_type_t *record;
    wasmtime_component_tuple_type_t *tuple;
    wasmtime_component_variant_type_t *variant;
    wasmtime_component_enum_type_t *enum_;
    wasmtime_component_option_type_t *option;
    wasmtime_component_result_type_t *result;
    wasmtime_component_flags_type_t *flags;
    wasmtime_component_resource_type_t *own;
    wasmtime_component_resource_type_t *borrow;
    wasmtime_component_future_type_t *future;
    wasmtime_component_stream_type_t *stream;
    wasmtime_component_map_type_t *map;
} wasmtime_component_valtype_union_t;

typedef struct wasmtime_component_valtype_t {
    uint8_t kind;
    wasmtime_component_valtype_union_t of;
} wasmtime_component_valtype_t;

WB_IMPORT void wasmtime_component_valtype_delete(wasmtime_component_valtype_t *ty);

WB_IMPORT void wasmtime_component_list_type_element(const wasmtime_component_list_type_t *ty,
                                                    wasmtime_component_valtype_t *out);
WB_IMPORT size_t wasmtime_component_record_type_field_count(const wasmtime_component_record_type_t *ty);
WB_IMPORT bool wasmtime_component_record_type_field_nth(const wasmtime_component_record_type_t *ty, size_t nth,
                                                        const char **name, size_t *name_len,
                                                        wasmtime_component_valtype_t *out);
WB_IMPORT size_t wasmtime_component_tuple_type_types_count(const wasmtime_component_tuple_type_t *ty);
WB_IMPORT bool wasmtime_component_tuple_type_types_nth(const wasmtime_component_tuple_type_t *ty, size_t nth,
                                                       wasmtime_component_valtype_t *out);
WB_IMPORT size_t wasmtime_component_variant_type_case_count(const wasmtime_component_variant_type_t *ty);
WB_IMPORT bool wasmtime_component_variant_type_case_nth(const wasmtime_component_variant_type_t *ty, size_t nth,
                                                        const char **name, size_t *name_len,
                                                        bool *has_payload, wasmtime_component_valtype_t *payload);
WB_IMPORT size_t wasmtime_component_enum_type_names_count(const wasmtime_component_enum_type_t *ty);
WB_IMPORT bool wasmtime_component_enum_type_names_nth(const wasmtime_component_enum_type_t *ty, size_t nth,
                                                      const char **name, size_t *name_len);
WB_IMPORT void wasmtime_component_option_type_ty(const wasmtime_component_option_type_t *ty,
                                                 wasmtime_component_valtype_t *out);
WB_IMPORT bool wasmtime_component_result_type_ok(const wasmtime_component_result_type_t *ty,
                                                 wasmtime_component_valtype_t *out);
WB_IMPORT bool wasmtime_component_result_type_err(const wasmtime_component_result_type_t *ty,
                                                  wasmtime_component_valtype_t *out);
WB_IMPORT size_t wasmtime_component_flags_type_names_count(const wasmtime_component_flags_type_t *ty);
WB_IMPORT bool wasmtime_component_flags_type_names_nth(const wasmtime_component_flags_type_t *ty, size_t nth,
                                                       const char **name, size_t *name_len);

WB_IMPORT wasmtime_component_resource_type_t *wasmtime_component_resource_type_new_host(uint32_t ty);
WB_IMPORT wasmtime_component_resource_type_t *wasmtime_component_resource_type_clone(
    const wasmtime_component_resource_type_t *ty);
WB_IMPORT bool wasmtime_component_resource_type_equal(const wasmtime_component_resource_type_t *a,
                                                      const wasmtime_component_resource_type_t *b);
WB_IMPORT void wasmtime_component_resource_type_delete(wasmtime_component_resource_type_t *ty);

WB_IMPORT void wasmtime_component_func_type_delete(wasmtime_component_func_type_t *ty);
WB_IMPORT bool wasmtime_component_func_type_async(const wasmtime_component_func_type_t *ty);
WB_IMPORT size_t wasmtime_component_func_type_param_count(const wasmtime_component_func_type_t *ty);
WB_IMPORT bool wasmtime_component_func_type_param_nth(const wasmtime_component_func_type_t *ty, size_t nth,
                                                      const char **name, size_t *name_len,
                                                      wasmtime_component_valtype_t *out);
WB_IMPORT bool wasmtime_component_func_type_result(const wasmtime_component_func_type_t *ty,
                                                   wasmtime_component_valtype_t *out);

/* wasmtime_component_item_kind_t */
#define WB_CI_COMPONENT 0
#define WB_CI_COMPONENT_INSTANCE 1
#define WB_CI_MODULE 2
#define WB_CI_COMPONENT_FUNC 3
#define WB_CI_RESOURCE 4
#define WB_CI_CORE_FUNC 5
#define WB_CI_TYPE 6

typedef union wasmtime_component_item_union {
    wasmtime_component_type_t *component;
    wasmtime_component_instance_type_t *component_instance;
    wasmtime_module_type_t *module;
    wasmtime_component_func_type_t *component_func;
    wasmtime_component_resource_type_t *resource;
    wasm_functype_t *core_func;
    wasmtime_component_valtype_t type;
} wasmtime_component_item_union_t;

typedef struct wasmtime_component_item_t {
    uint8_t kind;
    wasmtime_component_item_union_t of;
} wasmtime_component_item_t;

WB_IMPORT void wasmtime_component_item_delete(wasmtime_component_item_t *item);
WB_IMPORT void wasmtime_component_extern_type(const wasmtime_component_extern_t *e, wasmtime_component_item_t *out);
WB_IMPORT void wasmtime_component_extern_delete(wasmtime_component_extern_t *e);

WB_IMPORT void wasmtime_component_type_delete(wasmtime_component_type_t *ty);
WB_IMPORT size_t wasmtime_component_type_import_count(const wasmtime_component_type_t *ty, const wasm_engine_t *e);
WB_IMPORT bool wasmtime_component_type_import_nth(const wasmtime_component_type_t *ty, const wasm_engine_t *e,
                                                  size_t nth, const char **name, size_t *name_len,
                                                  wasmtime_component_extern_t **out);
WB_IMPORT size_t wasmtime_component_type_export_count(const wasmtime_component_type_t *ty, const wasm_engine_t *e);
WB_IMPORT bool wasmtime_component_type_export_nth(const wasmtime_component_type_t *ty, const wasm_engine_t *e,
                                                  size_t nth, const char **name, size_t *name_len,
                                                  wasmtime_component_extern_t **out);
WB_IMPORT void wasmtime_component_instance_type_delete(wasmtime_component_instance_type_t *ty);
WB_IMPORT size_t wasmtime_component_instance_type_export_count(const wasmtime_component_instance_type_t *ty,
                                                               const wasm_engine_t *e);
WB_IMPORT bool wasmtime_component_instance_type_export_nth(const wasmtime_component_instance_type_t *ty,
                                                           const wasm_engine_t *e, size_t nth,
                                                           const char **name, size_t *name_len,
                                                           wasmtime_component_extern_t **out);

/* ----------------------------------------------------------- components */

WB_IMPORT wasmtime_error_t *wasmtime_component_new(const wasm_engine_t *e, const uint8_t *buf, size_t len,
                                                   wasmtime_component_t **out);
WB_IMPORT wasmtime_error_t *wasmtime_component_serialize(const wasmtime_component_t *c, wasm_byte_vec_t *out);
WB_IMPORT wasmtime_error_t *wasmtime_component_deserialize(const wasm_engine_t *e, const uint8_t *buf, size_t len,
                                                           wasmtime_component_t **out);
WB_IMPORT wasmtime_component_type_t *wasmtime_component_type(const wasmtime_component_t *c);
WB_IMPORT void wasmtime_component_delete(wasmtime_component_t *c);
WB_IMPORT wasmtime_component_export_index_t *wasmtime_component_get_export_index(
    const wasmtime_component_t *c, const wasmtime_component_export_index_t *instance,
    const char *name, size_t name_len);
WB_IMPORT void wasmtime_component_export_index_delete(wasmtime_component_export_index_t *index);

/* --------------------------------------------------------------- values */

/* wasmtime_component_valkind_t */
#define WB_CV_BOOL 0
#define WB_CV_S8 1
#define WB_CV_U8 2
#define WB_CV_S16 3
#define WB_CV_U16 4
#define WB_CV_S32 5
#define WB_CV_U32 6
#define WB_CV_S64 7
#define WB_CV_U64 8
#define WB_CV_F32 9
#define WB_CV_F64 10
#define WB_CV_CHAR 11
#define WB_CV_STRING 12
#define WB_CV_LIST 13
#define WB_CV_RECORD 14
#define WB_CV_TUPLE 15
#define WB_CV_VARIANT 16
#define WB_CV_ENUM 17
#define WB_CV_OPTION 18
#define WB_CV_RESULT 19
#define WB_CV_FLAGS 20
#define WB_CV_RESOURCE 21

struct wasmtime_component_val;
struct wasmtime_component_valrecord_entry;
struct wasmtime_component_valmap_entry;

typedef struct wasmtime_component_vallist {
    size_t size; struct wasmtime_component_val *data;
} wasmtime_component_vallist_t;
typedef struct wasmtime_component_valrecord {
    size_t size; struct wasmtime_component_valrecord_entry *data;
} wasmtime_component_valrecord_t;
typedef struct wasmtime_component_valtuple {
    size_t size; struct wasmtime_component_val *data;
} wasmtime_component_valtuple_t;
typedef struct wasmtime_component_valflags {
    size_t size; wasm_name_t *data;
} wasmtime_component_valflags_t;
typedef struct wasmtime_component_valmap {
    size_t size; struct wasmtime_component_valmap_entry *data;
} wasmtime_component_valmap_t;
typedef struct wasmtime_component_valvariant {
    wasm_name_t discriminant; struct wasmtime_component_val *val;
} wasmtime_component_valvariant_t;
typedef struct wasmtime_component_valresult {
    bool is_ok; struct wasmtime_component_val *val;
} wasmtime_component_valresult_t;

typedef union wasmtime_component_valunion {
    bool boolean;
    int8_t s8;
    uint8_t u8;
    int16_t s16;
    uint16_t u16;
    int32_t s32;
    uint32_t u32;
    int64_t s64;
    uint64_t u64;
    float f32;
    double f64;
    uint32_t character;
    wasm_name_t string;
    wasmtime_component_vallist_t list;
    wasmtime_component_valrecord_t record;
    wasmtime_component_valtuple_t tuple;
    wasmtime_component_valvariant_t variant;
    wasm_name_t enumeration;
    struct wasmtime_component_val *option;
    wasmtime_component_valresult_t result;
    wasmtime_component_valflags_t flags;
    wasmtime_component_valmap_t map;
    wasmtime_component_resource_any_t *resource;
} wasmtime_component_valunion_t;

typedef struct wasmtime_component_val {
    uint8_t kind;
    wasmtime_component_valunion_t of;
} wasmtime_component_val_t;

typedef struct wasmtime_component_valrecord_entry {
    wasm_name_t name;
    wasmtime_component_val_t val;
} wasmtime_component_valrecord_entry_t;

typedef struct wasmtime_component_valmap_entry {
    wasmtime_component_val_t key;
    wasmtime_component_val_t value;
} wasmtime_component_valmap_entry_t;

/* Vectors and boxes allocated by the engine (the engine frees them with its
 * own allocator when a value is deleted). */
WB_IMPORT void wasmtime_component_vallist_new_uninit(wasmtime_component_vallist_t *out, size_t size);
WB_IMPORT void wasmtime_component_valrecord_new_uninit(wasmtime_component_valrecord_t *out, size_t size);
WB_IMPORT void wasmtime_component_valtuple_new_uninit(wasmtime_component_valtuple_t *out, size_t size);
WB_IMPORT void wasmtime_component_valflags_new_uninit(wasmtime_component_valflags_t *out, size_t size);
WB_IMPORT wasmtime_component_val_t *wasmtime_component_val_new(const wasmtime_component_val_t *val);
WB_IMPORT void wasmtime_component_val_delete(wasmtime_component_val_t *val);

/* ------------------------------------------------------------ resources */

WB_IMPORT const wasmtime_component_resource_type_t *wasmtime_component_resource_any_type(
    const wasmtime_component_resource_any_t *r);
WB_IMPORT wasmtime_component_resource_any_t *wasmtime_component_resource_any_clone(
    const wasmtime_component_resource_any_t *r);
WB_IMPORT bool wasmtime_component_resource_any_owned(const wasmtime_component_resource_any_t *r);
WB_IMPORT wasmtime_error_t *wasmtime_component_resource_any_drop(wasmtime_context_t *ctx,
                                                                 const wasmtime_component_resource_any_t *r);
WB_IMPORT void wasmtime_component_resource_any_delete(wasmtime_component_resource_any_t *r);
WB_IMPORT wasmtime_component_resource_host_t *wasmtime_component_resource_host_new(bool owned, uint32_t rep,
                                                                                   uint32_t ty);
WB_IMPORT uint32_t wasmtime_component_resource_host_rep(const wasmtime_component_resource_host_t *r);
WB_IMPORT uint32_t wasmtime_component_resource_host_type(const wasmtime_component_resource_host_t *r);
WB_IMPORT bool wasmtime_component_resource_host_owned(const wasmtime_component_resource_host_t *r);
WB_IMPORT void wasmtime_component_resource_host_delete(wasmtime_component_resource_host_t *r);
WB_IMPORT wasmtime_error_t *wasmtime_component_resource_any_to_host(wasmtime_context_t *ctx,
                                                                    const wasmtime_component_resource_any_t *r,
                                                                    wasmtime_component_resource_host_t **out);
WB_IMPORT wasmtime_error_t *wasmtime_component_resource_host_to_any(wasmtime_context_t *ctx,
                                                                    const wasmtime_component_resource_host_t *r,
                                                                    wasmtime_component_resource_any_t **out);

/* ------------------------------------------------- functions, instances */

/* Store-bound handles: a store id plus private indices. */
typedef struct wb_component_func_head { uint64_t store_id; uint32_t private1; } wb_component_func_head_t;
typedef struct wasmtime_component_func {
    wb_component_func_head_t head; uint32_t private2; void *private3;
} wasmtime_component_func_t;
typedef struct wasmtime_component_instance { uint64_t store_id; uint32_t private_; } wasmtime_component_instance_t;

WB_IMPORT wasmtime_component_func_type_t *wasmtime_component_func_type(const wasmtime_component_func_t *f,
                                                                       wasmtime_context_t *ctx);
WB_IMPORT wasmtime_error_t *wasmtime_component_func_call(const wasmtime_component_func_t *f, wasmtime_context_t *ctx,
                                                         const wasmtime_component_val_t *args, size_t nargs,
                                                         wasmtime_component_val_t *results, size_t nresults);
WB_IMPORT wasmtime_error_t *wasmtime_component_func_post_return(const wasmtime_component_func_t *f,
                                                                wasmtime_context_t *ctx);
WB_IMPORT wasmtime_component_export_index_t *wasmtime_component_instance_get_export_index(
    const wasmtime_component_instance_t *inst, wasmtime_context_t *ctx,
    const wasmtime_component_export_index_t *instance, const char *name, size_t name_len);
WB_IMPORT bool wasmtime_component_instance_get_func(const wasmtime_component_instance_t *inst,
                                                    wasmtime_context_t *ctx,
                                                    const wasmtime_component_export_index_t *index,
                                                    wasmtime_component_func_t *out);

/* --------------------------------------------------------------- linker */

typedef wasmtime_error_t *(*wasmtime_component_func_callback_t)(
    void *env, wasmtime_context_t *ctx, const wasmtime_component_func_type_t *ty,
    wasmtime_component_val_t *args, size_t nargs, wasmtime_component_val_t *results, size_t nresults);
typedef wasmtime_error_t *(*wasmtime_component_resource_destructor_t)(void *env, wasmtime_context_t *ctx,
                                                                      uint32_t rep);

WB_IMPORT wasmtime_component_linker_t *wasmtime_component_linker_new(const wasm_engine_t *e);
WB_IMPORT void wasmtime_component_linker_allow_shadowing(wasmtime_component_linker_t *l, bool allow);
WB_IMPORT wasmtime_component_linker_instance_t *wasmtime_component_linker_root(wasmtime_component_linker_t *l);
WB_IMPORT wasmtime_error_t *wasmtime_component_linker_instantiate(const wasmtime_component_linker_t *l,
                                                                  wasmtime_context_t *ctx,
                                                                  const wasmtime_component_t *c,
                                                                  wasmtime_component_instance_t *out);
WB_IMPORT wasmtime_error_t *wasmtime_component_linker_define_unknown_imports_as_traps(
    wasmtime_component_linker_t *l, const wasmtime_component_t *c);
WB_IMPORT void wasmtime_component_linker_delete(wasmtime_component_linker_t *l);
WB_IMPORT wasmtime_error_t *wasmtime_component_linker_add_wasip2(wasmtime_component_linker_t *l);

WB_IMPORT wasmtime_error_t *wasmtime_component_linker_instance_add_instance(
    wasmtime_component_linker_instance_t *li, const char *name, size_t name_len,
    wasmtime_component_linker_instance_t **out);
WB_IMPORT wasmtime_error_t *wasmtime_component_linker_instance_add_module(
    wasmtime_component_linker_instance_t *li, const char *name, size_t name_len, const wasmtime_module_t *m);
WB_IMPORT wasmtime_error_t *wasmtime_component_linker_instance_add_func(
    wasmtime_component_linker_instance_t *li, const char *name, size_t name_len,
    wasmtime_component_func_callback_t cb, void *env, wb_finalizer_t finalizer);
WB_IMPORT wasmtime_error_t *wasmtime_component_linker_instance_add_resource(
    wasmtime_component_linker_instance_t *li, const char *name, size_t name_len,
    const wasmtime_component_resource_type_t *ty, wasmtime_component_resource_destructor_t dtor,
    void *env, wb_finalizer_t finalizer);
WB_IMPORT void wasmtime_component_linker_instance_delete(wasmtime_component_linker_instance_t *li);

/* ------------------------------------------------------------------ async */

/* The async forms, for stores of async engines (wasmbind/aio/component.pxi):
 * futures polled as core ones are (wasmtime_call_future_t, in
 * wasmbind_capi.h), with everything passed alive until the future is
 * deleted. A component's async host function fills in the continuation (and
 * may set *error_ret, read once the continuation reports true); args,
 * results and error_ret stay valid until then. The async WASI p2 functions
 * serve only async stores. */
typedef void (*wasmtime_component_func_async_callback_t)(
    void *env, wasmtime_context_t *ctx, const wasmtime_component_func_type_t *ty,
    wasmtime_component_val_t *args, size_t nargs, wasmtime_component_val_t *results, size_t nresults,
    wasmtime_error_t **error_ret, wasmtime_async_continuation_t *continuation_ret);

WB_IMPORT wasmtime_call_future_t *wasmtime_component_func_call_async(
    const wasmtime_component_func_t *f, wasmtime_context_t *ctx, const wasmtime_component_val_t *args,
    size_t nargs, wasmtime_component_val_t *results, size_t nresults, wasmtime_error_t **error_ret);
WB_IMPORT wasmtime_call_future_t *wasmtime_component_linker_instantiate_async(
    const wasmtime_component_linker_t *l, wasmtime_context_t *ctx, const wasmtime_component_t *c,
    wasmtime_component_instance_t *out, wasmtime_error_t **error_ret);
WB_IMPORT wasmtime_error_t *wasmtime_component_linker_instance_add_func_async(
    wasmtime_component_linker_instance_t *li, const char *name, size_t name_len,
    wasmtime_component_func_async_callback_t cb, void *env, wb_finalizer_t finalizer);
WB_IMPORT wasmtime_error_t *wasmtime_component_linker_add_wasip2_async(wasmtime_component_linker_t *l);

#ifdef __cplusplus
}
#endif

#endif /* WASMBIND_COMPONENT_H */
