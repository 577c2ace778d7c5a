# Declarations of calls into a store and back (csrc/wasmbind_calls.h): the
# store's state, call entry and exit, the GIL-aware callback entries.
from cpython.object cimport PyObject
from libc.stdint cimport uint8_t, uint64_t
from wasmbind.includes.wasm cimport wasm_trap_t
from wasmbind.includes.wasmtime cimport (wasmtime_caller_t, wasmtime_context_t, wasmtime_error_t,
                                         wasmtime_func_t,
                                         wasmtime_update_deadline_kind_t, wasmtime_val_raw_t,
                                         wasmtime_val_t)

cdef extern from "wasmbind_calls.h" nogil:
    unsigned long wb_thread_id()

    ctypedef struct wb_store_state_t:
        PyObject *store
        double deadline
        int interrupted
        int release_gil
        int depth
        unsigned long owner
        int async_yield
        size_t stack_need
    unsigned long wb_main_thread
    int WB_STACK_MARGIN
    size_t wb_stack_left()
    int wb_state_enter(wb_store_state_t *st)
    void wb_state_leave(wb_store_state_t *st)

    # the Cython bodies the C entries call with the GIL, set at module init
    ctypedef wasmtime_error_t *(*wb_raw_body_t)(void *, wb_store_state_t *, wasmtime_caller_t *,
                                                wasmtime_val_raw_t *, size_t)
    ctypedef wasm_trap_t *(*wb_val_body_t)(void *, wasmtime_caller_t *, const wasmtime_val_t *, size_t,
                                           wasmtime_val_t *, size_t)
    ctypedef wasmtime_error_t *(*wb_epoch_body_t)(wasmtime_context_t *, void *, uint64_t *,
                                                  wasmtime_update_deadline_kind_t *)
    wb_raw_body_t wb_raw_body
    wb_val_body_t wb_val_body
    wb_epoch_body_t wb_epoch_body
    wasmtime_error_t *wb_host_entry_raw(void *, wasmtime_caller_t *, wasmtime_val_raw_t *, size_t)
    wasm_trap_t *wb_host_entry_val(void *, wasmtime_caller_t *, const wasmtime_val_t *, size_t,
                                   wasmtime_val_t *, size_t)
    wasmtime_error_t *wb_epoch_entry(wasmtime_context_t *, void *, uint64_t *,
                                     wasmtime_update_deadline_kind_t *)
    void wb_decref_finalizer(void *obj)

    # externref payloads: the engine's host data and its finalizer
    ctypedef struct wb_extref_t:
        wb_store_state_t *state
        PyObject *key
    ctypedef void (*wb_extref_release_t)(PyObject *store, PyObject *key)
    wb_extref_release_t wb_extref_release
    wb_extref_t *wb_extref_new(wb_store_state_t *state) except NULL
    void wb_extref_free(wb_extref_t *e)
    void wb_extref_finalizer(void *p)


cdef extern from "wasmbind_calls.h":
    # the fast call: arguments, enter, call, leave, results in one C function
    enum:
        WB_FAST_ARG
        WB_FAST_STACK
        WB_FAST_FAILED
        WB_FAST_ERROR
    ctypedef struct wb_fast_out_t:
        Py_ssize_t stop
        wasmtime_error_t *err
        wasm_trap_t *trap
        int status
    PyObject *wb_call_fast(wb_store_state_t *st, wasmtime_context_t *ctx,
                           const wasmtime_func_t *func, const uint8_t *kinds, PyObject **args,
                           Py_ssize_t i, Py_ssize_t nargs, Py_ssize_t nresults,
                           wasmtime_val_raw_t *raw, size_t n, wb_fast_out_t *out) noexcept
    # a new reference (or NULL with an exception set) handed to Cython as an object
    object _steal "(PyObject *)"(PyObject *o)
