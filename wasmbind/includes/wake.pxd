# Declarations of the registry that ends atomic waits (csrc/wasmbind_wake.h).
from wasmbind.includes.calls cimport wb_store_state_t
from wasmbind.includes.wasmtime cimport wasmtime_context_t, wasmtime_func_t, wasmtime_sharedmemory_t

cdef extern from "wasmbind_wake.h" nogil:
    int wb_wake_has(wb_store_state_t *st, const void *data)
    int wb_wake_add(wb_store_state_t *st, wasmtime_sharedmemory_t *mem, wasmtime_context_t *ctx,
                    const wasmtime_func_t *wake_all)
    void wb_wake_forget(wb_store_state_t *st)
    void wb_sigint_chain()
