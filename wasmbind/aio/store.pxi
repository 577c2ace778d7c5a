# Async stores: what an engine made with Config(async_support=True) changes
# about its stores. Their set-up (they yield at epoch ticks), the refusal of
# the sync API, the one-call-at-a-time rule, fuel slicing, the stack size.

from wasmbind.errors import StoreBusyError, WasmError


# Async calls run on stacks the engine allocates (a stack per running call,
# kept while it is suspended). Python host functions run on them too: beyond
# the Wasm part (max_wasm_stack) they get this much, measured to hold the
# deepest C recursion Python 3.11 allows at the default recursion limit with
# room to spare. Stacks are reserved address space; only the pages used count.
_AIO_HOST_STACK = 4 * 1024 * 1024
_ENGINE_MAX_WASM_STACK = 512 * 1024  # the engine's default max_wasm_stack

_AIO_NO_RELEASE_GIL = ("release_gil=True is for sync stores: an async store runs Wasm on the "
                       "thread of its event loop, which keeps the GIL and yields to the loop")


cdef size_t _aio_stack_size(object max_wasm_stack):
    """The async stack size for an engine: Wasm's share plus the host's."""
    return (_ENGINE_MAX_WASM_STACK if max_wasm_stack is None else max_wasm_stack) + _AIO_HOST_STACK


cdef int _aio_store_init(Store store) except -1:
    """Marks a new store of an async engine async-only: from now on the engine
    itself refuses its sync entry points with an error (wasmbind refuses them
    first, with a clearer one). The yield-at-every-tick behaviour set here is
    replaced by wasmbind's epoch callback, which yields too (csrc/wasmbind_calls.h)
    and also checks deadlines and runs signal handlers."""
    wasmtime_context_epoch_deadline_async_yield_and_update(store._ctx, 1)
    return 0


cdef int _aio_need_async(Engine engine, str what) except -1:
    if not engine._async:
        raise WasmError("%s need an async engine: Engine(Config(async_support=True)); this one "
                        "is sync (%r)" % (what, engine.config))
    return 0


cdef int _aio_refuse_sync(str what, str instead) except -1:
    raise WasmError("%s runs Wasm synchronously, which a store of an async engine "
                    "(Config(async_support=True)) refuses: use %s" % (what, instead))


cdef int _aio_busy(Store store) except -1:
    raise StoreBusyError("the Store is held by an async call that is suspended (at an epoch tick "
                         "or while a host function awaits): a Store belongs to one task at a time; "
                         "await that call first, or share the Store behind an asyncio.Lock")


cdef int _aio_set_fuel_interval(Store store, object n) except -1:
    if not store.engine._async:
        raise WasmError("fuel_async_yield_interval is for async stores: Engine(Config(async_support=True, "
                        "consume_fuel=True))")
    if not store.engine._fuel:
        raise WasmError("fuel needs an Engine with Config(consume_fuel=True)")
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError("fuel_async_yield_interval must be an int or None, got %s" % type(n).__name__)
    if not 0 <= n < 2**64:
        raise OverflowError("fuel_async_yield_interval must be in [0, 2**64)")
    err = wasmtime_context_fuel_async_yield_interval(store._context(), n)
    if err != NULL:
        _raise_error(err)
    store._fuel_yield_interval = n
    return 0
