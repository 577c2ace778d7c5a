/*
 * Build facts: the engine version built in (setup.py defines it), and the
 * sizes, alignments and field offsets of every struct wasmbind declares by
 * value, as this compiler lays them out from csrc/wasmbind_capi.h. The tests
 * compare them with an independent description of the engine's ABI (the
 * ctypes structures of the `wasmtime` Python package).
 */
#ifndef WASMBIND_ABI_H
#define WASMBIND_ABI_H

#include <Python.h>
#include <stddef.h>

#include "wasmbind_capi.h"
#include "wasmbind_component.h"

#ifndef WASMBIND_WASMTIME_VERSION
#define WASMBIND_WASMTIME_VERSION "unknown"
#endif

#if defined(_MSC_VER)
#define WB_ALIGNOF(T) __alignof(T)
#else
#define WB_ALIGNOF(T) __alignof__(T)
#endif

static int wb_abi_add(PyObject *out, const char *name, size_t size, size_t align, PyObject *fields) {
    if (fields == NULL)
        return -1;
    PyObject *entry = Py_BuildValue("{s:n,s:n,s:O}", "size", (Py_ssize_t)size, "align", (Py_ssize_t)align,
                                    "fields", fields);
    Py_DECREF(fields);
    if (entry == NULL)
        return -1;
    int rc = PyDict_SetItemString(out, name, entry);
    Py_DECREF(entry);
    return rc;
}

#define WB_F(T, f) #f, (Py_ssize_t)offsetof(T, f)
#define WB_ADD(T, fields) \
    if (wb_abi_add(out, #T, sizeof(T), WB_ALIGNOF(T), fields) < 0) goto fail

static PyObject *wb_abi_layout(void) {
    PyObject *out = PyDict_New();
    if (out == NULL)
        return NULL;
    WB_ADD(wasm_byte_vec_t, Py_BuildValue("{s:n,s:n}", WB_F(wasm_byte_vec_t, size), WB_F(wasm_byte_vec_t, data)));
    WB_ADD(wasm_valtype_vec_t, Py_BuildValue("{s:n,s:n}", WB_F(wasm_valtype_vec_t, size), WB_F(wasm_valtype_vec_t, data)));
    WB_ADD(wasm_importtype_vec_t, Py_BuildValue("{s:n,s:n}", WB_F(wasm_importtype_vec_t, size), WB_F(wasm_importtype_vec_t, data)));
    WB_ADD(wasm_exporttype_vec_t, Py_BuildValue("{s:n,s:n}", WB_F(wasm_exporttype_vec_t, size), WB_F(wasm_exporttype_vec_t, data)));
    WB_ADD(wasm_frame_vec_t, Py_BuildValue("{s:n,s:n}", WB_F(wasm_frame_vec_t, size), WB_F(wasm_frame_vec_t, data)));
    WB_ADD(wasm_limits_t, Py_BuildValue("{s:n,s:n}", WB_F(wasm_limits_t, min), WB_F(wasm_limits_t, max)));
    WB_ADD(wasmtime_func_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_func_t, store_id), "__private", (Py_ssize_t)offsetof(wasmtime_func_t, private_)));
    WB_ADD(wasmtime_table_t, Py_BuildValue("{s:n,s:n}", "_anon_1", (Py_ssize_t)offsetof(wasmtime_table_t, head), "__private2", (Py_ssize_t)offsetof(wasmtime_table_t, private2)));
    WB_ADD(wasmtime_memory_t, Py_BuildValue("{s:n,s:n}", "_anon_1", (Py_ssize_t)offsetof(wasmtime_memory_t, head), "__private2", (Py_ssize_t)offsetof(wasmtime_memory_t, private2)));
    WB_ADD(wasmtime_tag_t, Py_BuildValue("{s:n,s:n}", "_anon_1", (Py_ssize_t)offsetof(wasmtime_tag_t, head), "__private2", (Py_ssize_t)offsetof(wasmtime_tag_t, private2)));
    WB_ADD(wasmtime_global_t, Py_BuildValue("{s:n,s:n,s:n,s:n}", WB_F(wasmtime_global_t, store_id),
                                            "__private1", (Py_ssize_t)offsetof(wasmtime_global_t, private1),
                                            "__private2", (Py_ssize_t)offsetof(wasmtime_global_t, private2),
                                            "__private3", (Py_ssize_t)offsetof(wasmtime_global_t, private3)));
    WB_ADD(wasmtime_instance_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_instance_t, store_id), "__private", (Py_ssize_t)offsetof(wasmtime_instance_t, private_)));
    WB_ADD(wasmtime_extern_union_t, Py_BuildValue("{s:n,s:n,s:n,s:n,s:n,s:n}", WB_F(wasmtime_extern_union_t, func),
                                                  "global_", (Py_ssize_t)offsetof(wasmtime_extern_union_t, global),
                                                  WB_F(wasmtime_extern_union_t, table), WB_F(wasmtime_extern_union_t, memory),
                                                  WB_F(wasmtime_extern_union_t, sharedmemory), WB_F(wasmtime_extern_union_t, tag)));
    WB_ADD(wasmtime_extern_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_extern_t, kind), WB_F(wasmtime_extern_t, of)));
    WB_ADD(wasmtime_externref_t, Py_BuildValue("{s:n,s:n,s:n,s:n}", WB_F(wasmtime_externref_t, store_id),
                                               "__private1", (Py_ssize_t)offsetof(wasmtime_externref_t, private1),
                                               "__private2", (Py_ssize_t)offsetof(wasmtime_externref_t, private2),
                                               "__private3", (Py_ssize_t)offsetof(wasmtime_externref_t, private3)));
    WB_ADD(wasmtime_valunion_t, Py_BuildValue("{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n}", WB_F(wasmtime_valunion_t, i32),
                                              WB_F(wasmtime_valunion_t, i64), WB_F(wasmtime_valunion_t, f32),
                                              WB_F(wasmtime_valunion_t, f64), WB_F(wasmtime_valunion_t, anyref),
                                              WB_F(wasmtime_valunion_t, externref), WB_F(wasmtime_valunion_t, exnref),
                                              WB_F(wasmtime_valunion_t, funcref), WB_F(wasmtime_valunion_t, v128)));
    WB_ADD(wasmtime_val_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_val_t, kind), WB_F(wasmtime_val_t, of)));
    WB_ADD(wasmtime_val_raw_t, Py_BuildValue("{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n}", WB_F(wasmtime_val_raw_t, i32),
                                             WB_F(wasmtime_val_raw_t, i64), WB_F(wasmtime_val_raw_t, f32),
                                             WB_F(wasmtime_val_raw_t, f64), WB_F(wasmtime_val_raw_t, v128),
                                             WB_F(wasmtime_val_raw_t, anyref), WB_F(wasmtime_val_raw_t, externref),
                                             WB_F(wasmtime_val_raw_t, exnref), WB_F(wasmtime_val_raw_t, funcref)));
    WB_ADD(wasmtime_heaptype_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_heaptype_t, kind), WB_F(wasmtime_heaptype_t, of)));
    WB_ADD(wasmtime_reftype_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_reftype_t, nullable), WB_F(wasmtime_reftype_t, heaptype)));
    WB_ADD(wasmtime_valtype_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_valtype_t, kind), WB_F(wasmtime_valtype_t, reftype)));
    /* the component model (csrc/wasmbind_component.h) */
    WB_ADD(wasmtime_component_valtype_union_t, Py_BuildValue("{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n}",
        WB_F(wasmtime_component_valtype_union_t, list), WB_F(wasmtime_component_valtype_union_t, record),
        WB_F(wasmtime_component_valtype_union_t, tuple), WB_F(wasmtime_component_valtype_union_t, variant),
        WB_F(wasmtime_component_valtype_union_t, enum_), WB_F(wasmtime_component_valtype_union_t, option),
        WB_F(wasmtime_component_valtype_union_t, result), WB_F(wasmtime_component_valtype_union_t, flags),
        WB_F(wasmtime_component_valtype_union_t, own), WB_F(wasmtime_component_valtype_union_t, borrow),
        WB_F(wasmtime_component_valtype_union_t, future), WB_F(wasmtime_component_valtype_union_t, stream),
        WB_F(wasmtime_component_valtype_union_t, map)));
    WB_ADD(wasmtime_component_valtype_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_component_valtype_t, kind),
                                                       WB_F(wasmtime_component_valtype_t, of)));
    WB_ADD(wasmtime_component_item_union_t, Py_BuildValue("{s:n,s:n,s:n,s:n,s:n,s:n,s:n}",
        WB_F(wasmtime_component_item_union_t, component), WB_F(wasmtime_component_item_union_t, component_instance),
        WB_F(wasmtime_component_item_union_t, module), WB_F(wasmtime_component_item_union_t, component_func),
        WB_F(wasmtime_component_item_union_t, resource), WB_F(wasmtime_component_item_union_t, core_func),
        WB_F(wasmtime_component_item_union_t, type)));
    WB_ADD(wasmtime_component_item_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_component_item_t, kind),
                                                    WB_F(wasmtime_component_item_t, of)));
    WB_ADD(wasmtime_component_vallist_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_component_vallist_t, size),
                                                       WB_F(wasmtime_component_vallist_t, data)));
    WB_ADD(wasmtime_component_valrecord_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_component_valrecord_t, size),
                                                         WB_F(wasmtime_component_valrecord_t, data)));
    WB_ADD(wasmtime_component_valtuple_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_component_valtuple_t, size),
                                                        WB_F(wasmtime_component_valtuple_t, data)));
    WB_ADD(wasmtime_component_valflags_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_component_valflags_t, size),
                                                        WB_F(wasmtime_component_valflags_t, data)));
    WB_ADD(wasmtime_component_valmap_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_component_valmap_t, size),
                                                      WB_F(wasmtime_component_valmap_t, data)));
    WB_ADD(wasmtime_component_valvariant_t, Py_BuildValue("{s:n,s:n}",
        WB_F(wasmtime_component_valvariant_t, discriminant), WB_F(wasmtime_component_valvariant_t, val)));
    WB_ADD(wasmtime_component_valresult_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_component_valresult_t, is_ok),
                                                         WB_F(wasmtime_component_valresult_t, val)));
    WB_ADD(wasmtime_component_valunion_t, Py_BuildValue(
        "{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n}",
        WB_F(wasmtime_component_valunion_t, boolean), WB_F(wasmtime_component_valunion_t, s8),
        WB_F(wasmtime_component_valunion_t, u8), WB_F(wasmtime_component_valunion_t, s16),
        WB_F(wasmtime_component_valunion_t, u16), WB_F(wasmtime_component_valunion_t, s32),
        WB_F(wasmtime_component_valunion_t, u32), WB_F(wasmtime_component_valunion_t, s64),
        WB_F(wasmtime_component_valunion_t, u64), WB_F(wasmtime_component_valunion_t, f32),
        WB_F(wasmtime_component_valunion_t, f64), WB_F(wasmtime_component_valunion_t, character),
        WB_F(wasmtime_component_valunion_t, string), WB_F(wasmtime_component_valunion_t, list),
        WB_F(wasmtime_component_valunion_t, record), WB_F(wasmtime_component_valunion_t, tuple),
        WB_F(wasmtime_component_valunion_t, variant), WB_F(wasmtime_component_valunion_t, enumeration),
        WB_F(wasmtime_component_valunion_t, option), WB_F(wasmtime_component_valunion_t, result),
        WB_F(wasmtime_component_valunion_t, flags), WB_F(wasmtime_component_valunion_t, map),
        WB_F(wasmtime_component_valunion_t, resource)));
    WB_ADD(wasmtime_component_val_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_component_val_t, kind),
                                                   WB_F(wasmtime_component_val_t, of)));
    WB_ADD(wasmtime_component_valrecord_entry_t, Py_BuildValue("{s:n,s:n}",
        WB_F(wasmtime_component_valrecord_entry_t, name), WB_F(wasmtime_component_valrecord_entry_t, val)));
    WB_ADD(wasmtime_component_valmap_entry_t, Py_BuildValue("{s:n,s:n}",
        WB_F(wasmtime_component_valmap_entry_t, key), WB_F(wasmtime_component_valmap_entry_t, value)));
    WB_ADD(wasmtime_component_func_t, Py_BuildValue("{s:n,s:n,s:n}",
        "_anon_1", (Py_ssize_t)offsetof(wasmtime_component_func_t, head),
        "__private2", (Py_ssize_t)offsetof(wasmtime_component_func_t, private2),
        "__private3", (Py_ssize_t)offsetof(wasmtime_component_func_t, private3)));
    WB_ADD(wasmtime_component_instance_t, Py_BuildValue("{s:n,s:n}", WB_F(wasmtime_component_instance_t, store_id),
        "__private", (Py_ssize_t)offsetof(wasmtime_component_instance_t, private_)));
    WB_ADD(wasmtime_async_continuation_t, Py_BuildValue("{s:n,s:n,s:n}", WB_F(wasmtime_async_continuation_t, callback),
                                                        WB_F(wasmtime_async_continuation_t, env),
                                                        WB_F(wasmtime_async_continuation_t, finalizer)));
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

#endif /* WASMBIND_ABI_H */
