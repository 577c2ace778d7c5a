# Declarations of Wasmtime's async C API (wasmtime/async.h, in csrc/wasmbind_capi.h):
# call futures, async host functions and instantiation, yielding; and of
# csrc/wasmbind_aio.h, the call futures' am_send slot.
from cpython.object cimport PyObject
from libc.stdint cimport uint64_t
from wasmbind.includes.wasm cimport wasm_functype_t, wasm_trap_t
from wasmbind.includes.wasmtime cimport (wasmtime_caller_t, wasmtime_context_t, wasmtime_error_t,
                                         wasmtime_func_t, wasmtime_instance_t, wasmtime_linker_t,
                                         wasmtime_module_t, wasmtime_val_t, wb_finalizer_t)

# The callbacks run inside polls, which wasmbind makes holding the GIL: their
# types are declared without nogil, so Cython functions that need it fit.
cdef extern from "wasmbind_capi.h":
    ctypedef bint (*wb_async_continuation_callback_t)(void *env)
    ctypedef struct wasmtime_async_continuation_t:
        wb_async_continuation_callback_t callback
        void *env
        wb_finalizer_t finalizer
    ctypedef void (*wasmtime_func_async_callback_t)(
        void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args, size_t nargs,
        wasmtime_val_t *results, size_t nresults, wasm_trap_t **trap_ret,
        wasmtime_async_continuation_t *continuation_ret)

cdef extern from "wasmbind_capi.h" nogil:
    ctypedef struct wasmtime_call_future_t

    enum:
        WB_UPDATE_DEADLINE_YIELD

    wasmtime_error_t *wasmtime_context_fuel_async_yield_interval(wasmtime_context_t *context,
                                                                 uint64_t interval)
    void wasmtime_context_epoch_deadline_async_yield_and_update(wasmtime_context_t *context, uint64_t delta)
    bint wasmtime_call_future_poll(wasmtime_call_future_t *future)
    void wasmtime_call_future_delete(wasmtime_call_future_t *future)
    wasmtime_call_future_t *wasmtime_func_call_async(wasmtime_context_t *context, const wasmtime_func_t *func,
                                                     const wasmtime_val_t *args, size_t nargs,
                                                     wasmtime_val_t *results, size_t nresults,
                                                     wasm_trap_t **trap_ret, wasmtime_error_t **error_ret)
    wasmtime_error_t *wasmtime_linker_define_async_func(wasmtime_linker_t *linker,
                                                        const char *module, size_t module_len,
                                                        const char *name, size_t name_len,
                                                        const wasm_functype_t *ty,
                                                        wasmtime_func_async_callback_t cb, void *data,
                                                        wb_finalizer_t finalizer)
    wasmtime_call_future_t *wasmtime_linker_instantiate_async(const wasmtime_linker_t *linker,
                                                              wasmtime_context_t *store,
                                                              const wasmtime_module_t *module,
                                                              wasmtime_instance_t *instance,
                                                              wasm_trap_t **trap_ret,
                                                              wasmtime_error_t **error_ret)


cdef extern from "wasmbind_aio.h":
    ctypedef int (*wb_am_send_t)(PyObject *iter, PyObject *arg, PyObject **result) except -1
    int wb_set_am_send(object type, wb_am_send_t send)
