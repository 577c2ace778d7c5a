# Declarations of wasmbind's own C helpers (csrc/wasmbind_helpers.h).
from cpython.object cimport PyObject
from libc.stdint cimport uint8_t, uint64_t
from wasmbind.includes.wasm cimport wasm_engine_t, wasm_trap_t
from wasmbind.includes.wasmtime cimport *
from wasmbind.includes.wasi cimport wb_finalizer_t, wb_wasi_output_t

cdef extern from "wasmbind_helpers.h" nogil:
    int WB_TICK_MS
    int wb_ticker_add(wasm_engine_t *engine)
    void wb_ticker_remove(wasm_engine_t *engine)
    double wb_monotonic()
    unsigned long wb_thread_id()
    int wb_compact_long(object v, long long *out) noexcept
    int wb_to_raw_fast(uint8_t kind, PyObject *v, wasmtime_val_raw_t *out) noexcept
    object wb_raw_to_object(uint8_t kind, const wasmtime_val_raw_t *r)
    object wb_raw_results_tuple(const uint8_t *kinds, const wasmtime_val_raw_t *raw, Py_ssize_t n)

    ctypedef struct wb_capture_t:
        unsigned char *data
        size_t len
        size_t limit
        int refs
        int overflowed
    wb_capture_t *wb_capture_new(size_t limit)
    void wb_capture_decref(wb_capture_t *c)
    void wb_capture_finalize(void *p)
    Py_ssize_t wb_capture_write(void *p, const unsigned char *buf, size_t n)

    ctypedef struct wb_store_state_t:
        PyObject *store
        double deadline
        int interrupted
        int release_gil
        double next_signal_check
        int depth
        int released_depth
        unsigned long owner
    unsigned long wb_main_thread
    void wb_state_enter(wb_store_state_t *st)
    void wb_state_leave(wb_store_state_t *st)

    ctypedef wasmtime_error_t *(*wb_raw_body_t)(void *, wasmtime_caller_t *, wasmtime_val_raw_t *, size_t)
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
