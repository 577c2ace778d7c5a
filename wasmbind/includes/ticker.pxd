# Declarations of the epoch ticker (csrc/wasmbind_ticker.h).
from wasmbind.includes.wasm cimport wasm_engine_t

cdef extern from "wasmbind_ticker.h" nogil:
    int WB_TICK_MS
    int WB_MAX_ENGINES
    int WB_TICKER_FULL
    int wb_ticker_add(wasm_engine_t *engine)
    void wb_ticker_remove(wasm_engine_t *engine)
    double wb_monotonic()
