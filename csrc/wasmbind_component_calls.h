/*
 * Calls from a component back into Python: the GIL-aware entries of host
 * functions and of host-defined resource destructors registered with a
 * component linker (the bodies are Cython functions, set at module init),
 * in the manner of the core entries in wasmbind_calls.h.
 *
 * Included by exactly one translation unit, wasmbind's _core extension.
 */
#ifndef WASMBIND_COMPONENT_CALLS_H
#define WASMBIND_COMPONENT_CALLS_H

#include <Python.h>

#include "wasmbind_calls.h"
#include "wasmbind_component.h"

typedef wasmtime_error_t *(*wb_cfunc_body_t)(void *, wasmtime_context_t *, const wasmtime_component_func_type_t *,
                                             wasmtime_component_val_t *, size_t, wasmtime_component_val_t *,
                                             size_t);
typedef wasmtime_error_t *(*wb_cdtor_body_t)(void *, wasmtime_context_t *, uint32_t);

static wb_cfunc_body_t wb_cfunc_body;
static wb_cdtor_body_t wb_cdtor_body;

static inline int wb_context_has_gil(wasmtime_context_t *ctx) {
    return wb_state_has_gil((wb_store_state_t *)wasmtime_context_get_data(ctx));
}

static wasmtime_error_t *wb_cfunc_entry(void *env, wasmtime_context_t *ctx, const wasmtime_component_func_type_t *ty,
                                        wasmtime_component_val_t *args, size_t nargs,
                                        wasmtime_component_val_t *results, size_t nresults) {
    if (wb_context_has_gil(ctx))
        return wb_cfunc_body(env, ctx, ty, args, nargs, results, nresults);
    PyGILState_STATE st = PyGILState_Ensure();
    wasmtime_error_t *r = wb_cfunc_body(env, ctx, ty, args, nargs, results, nresults);
    PyGILState_Release(st);
    return r;
}

static wasmtime_error_t *wb_cdtor_entry(void *env, wasmtime_context_t *ctx, uint32_t rep) {
    if (wb_context_has_gil(ctx))
        return wb_cdtor_body(env, ctx, rep);
    PyGILState_STATE st = PyGILState_Ensure();
    wasmtime_error_t *r = wb_cdtor_body(env, ctx, rep);
    PyGILState_Release(st);
    return r;
}

#endif /* WASMBIND_COMPONENT_CALLS_H */
