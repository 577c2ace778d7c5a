# Engines: a Config turned into the engine's config, Engine, and the shared
# engines used where none is given.

import os as _os
import threading
from wasmbind import config as _config_module
from wasmbind.config import Config
from wasmbind.errors import WasmError


# the engine's compile threads after a fork: see "os.fork()" below
cdef bint _pool_started = False  # this process may have started the compile threads
cdef bint _pool_lost = False     # an ancestor did: they do not exist here


_ENGINE_MAX_WASM_STACK = 512 * 1024  # the engine's max_wasm_stack when none is given


cdef wasm_config_t *_build_config(object config) except NULL:
    cdef wasm_config_t *c
    config.validate()
    c = wasm_config_new()
    if c == NULL:
        raise MemoryError("the engine could not allocate a config")
    try:
        wasmtime_config_memory_may_move_set(c, False)
        wasmtime_config_cranelift_opt_level_set(
            c, _config_module._OPT_LEVELS.index(config.cranelift_opt_level))
        wasmtime_config_consume_fuel_set(c, config.consume_fuel)
        wasmtime_config_epoch_interruption_set(c, config.epoch_interruption)
        if config.async_support:
            # async calls run on stacks of the engine's: Wasm's part, plus room
            # for the Python host functions that run on them (aio/store.pxi)
            wasmtime_config_async_stack_size_set(c, _aio_stack_size(config.max_wasm_stack))
        if config.max_wasm_stack is not None:
            # the engine refuses (aborting) a Wasm stack larger than its async stack
            if config.max_wasm_stack > 2 * 1024 * 1024 and not config.async_support:
                wasmtime_config_async_stack_size_set(c, config.max_wasm_stack + 64 * 1024)
            wasmtime_config_max_wasm_stack_set(c, config.max_wasm_stack)
        if config.parallel_compilation is not None:
            wasmtime_config_parallel_compilation_set(c, config.parallel_compilation)
        if _pool_lost:
            wasmtime_config_parallel_compilation_set(c, False)
        if config.debug_info is not None:
            wasmtime_config_debug_info_set(c, config.debug_info)
        if config.memory_reservation is not None:
            wasmtime_config_memory_reservation_set(c, config.memory_reservation)
        if config.memory_guard_size is not None:
            wasmtime_config_memory_guard_size_set(c, config.memory_guard_size)
        _set_proposals(c, config)
        if config.cache is not False:
            path = None if config.cache is True else str(config.cache).encode()
            err = wasmtime_config_cache_config_load(c, NULL if path is None else <const char *>path)
            if err != NULL:
                _raise_error(err, ValueError)
    except BaseException:
        wasm_config_delete(c)
        raise
    return c


cdef int _set_proposals(wasm_config_t *c, object config) except -1:
    # dependencies first so that turning one on never meets a disabled prerequisite
    if config.wasm_bulk_memory is not None:
        wasmtime_config_wasm_bulk_memory_set(c, config.wasm_bulk_memory)
    if config.wasm_simd is not None:
        wasmtime_config_wasm_simd_set(c, config.wasm_simd)
    if config.wasm_relaxed_simd is not None:
        wasmtime_config_wasm_relaxed_simd_set(c, config.wasm_relaxed_simd)
    if config.wasm_threads is not None:
        wasmtime_config_wasm_threads_set(c, config.wasm_threads)
        wasmtime_config_shared_memory_set(c, config.wasm_threads)
    if config.wasm_reference_types is not None:
        wasmtime_config_wasm_reference_types_set(c, config.wasm_reference_types)
        if not config.wasm_reference_types:
            # the engine's component-model-async (on by default, unused here)
            # needs reference types: without this the engine aborts
            wasmtime_config_wasm_component_model_async_set(c, False)
    if config.wasm_function_references is not None:
        wasmtime_config_wasm_function_references_set(c, config.wasm_function_references)
    if config.wasm_gc is not None:
        wasmtime_config_wasm_gc_set(c, config.wasm_gc)
    if config.wasm_multi_value is not None:
        wasmtime_config_wasm_multi_value_set(c, config.wasm_multi_value)
    if config.wasm_multi_memory is not None:
        wasmtime_config_wasm_multi_memory_set(c, config.wasm_multi_memory)
    if config.wasm_memory64 is not None:
        wasmtime_config_wasm_memory64_set(c, config.wasm_memory64)
    if config.wasm_tail_call is not None:
        wasmtime_config_wasm_tail_call_set(c, config.wasm_tail_call)
    if config.wasm_exceptions is not None:
        wasmtime_config_wasm_exceptions_set(c, config.wasm_exceptions)
    return 0


cdef class Engine:
    """A compilation environment; share one across stores and threads.

    ``Engine(config=None)``: ``Config()`` is ``Config.fast()``, kernels at the
    engine's full speed. Engines made with ``Config.sandbox()``
    (``epoch_interruption``) are ticked by wasmbind's own background thread
    every few milliseconds, which drives deadlines, Ctrl-C and GIL hand-offs.
    An Engine pickles as its options and unpickles to the receiving process's
    :func:`shared_engine` for them.
    """

    def __init__(self, config=None):
        cdef wasm_config_t *c
        if self._ptr != NULL:
            raise WasmError("Engine is already initialized")
        if config is None:
            config = Config()
        elif not isinstance(config, Config):
            raise TypeError("config must be a wasmbind.Config, got %s" % type(config).__name__)
        c = _build_config(config)
        if self._ptr != NULL:  # initialized meanwhile, by code run to validate the config
            wasm_config_delete(c)
            raise WasmError("Engine is already initialized")
        self._ptr = wasm_engine_new_with_config(c)
        if self._ptr == NULL:
            raise WasmError("the engine could not be created")
        self.config = config
        self._epoch = config.epoch_interruption
        self._fuel = config.consume_fuel
        self._async = config.async_support
        self._parallel = config.parallel_compilation is not False and not _pool_lost
        self._shared_memory = config.wasm_threads is True
        self._exceptions = config.wasm_exceptions is True
        self._stack_need = (config.max_wasm_stack or _ENGINE_MAX_WASM_STACK) + WB_STACK_MARGIN
        rc = wb_ticker_add(self._ptr) if self._epoch else 0
        if rc != 0:
            wasm_engine_delete(self._ptr)
            self._ptr = NULL
            if rc == WB_TICKER_FULL:
                raise WasmError("too many engines with epoch_interruption alive at once (at most %d): "
                                "share engines (wasmbind.shared_engine) instead of making one per use"
                                % WB_MAX_ENGINES)
            raise WasmError("could not start the epoch ticker thread")

    def __dealloc__(self):
        if self._ptr != NULL:
            if self._epoch:
                wb_ticker_remove(self._ptr)
            wasm_engine_delete(self._ptr)
            self._ptr = NULL
        if self._serial != NULL:
            wasm_engine_delete(self._serial)
            self._serial = NULL

    cdef wasm_engine_t *_engine(self) except NULL:
        if self._ptr == NULL:
            raise WasmError("Engine was not initialized")
        return self._ptr

    cdef wasm_engine_t *_compile_engine(self) except NULL:
        """The engine to compile and validate for this one with: itself, or,
        in the child of a fork whose parent had started the engine's compile
        threads (which the child does not have: a parallel compile would wait
        for them forever), a twin made without them. Code compiled by the twin
        is moved to this engine (_rehome)."""
        global _pool_started
        cdef wasm_engine_t *e = self._engine()
        if not self._parallel:
            return e
        if not _pool_lost:
            _pool_started = True
            return e
        if self._serial == NULL:
            self._serial = wasm_engine_new_with_config(_build_config(self.config))
            if self._serial == NULL:
                raise WasmError("the engine could not be created")
        return self._serial

    def increment_epoch(self):
        """Advance the engine's epoch by one tick (wasmbind's ticker does this itself)."""
        wasmtime_engine_increment_epoch(self._engine())

    @property
    def tick_seconds(self):
        """Interval of wasmbind's epoch ticker, in seconds."""
        return WB_TICK_MS / 1000.0

    def __repr__(self):
        return "<wasmbind.Engine %r>" % (self.config,)

    def __reduce__(self):
        # as its options: the receiving process's shared engine for them
        return (shared_engine, (self.config,))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


# ---- os.fork(): what the child needs started again --------------------------
#
# The engine compiles in parallel on a process-wide thread pool, started by
# the first such compile; a forked child has none of its threads. Engines
# made in such a child compile serially; older ones compile through a serial
# twin (Engine._compile_engine). The epoch ticker thread starts again in the
# child (wb_fork_child), and the parent's fork waits for compiles running in
# other threads without the GIL (wb_fork_prepare).

def _before_fork():
    wb_fork_prepare()


def _after_fork_in_child():
    global _pool_lost, _shared_engines_lock, wb_main_thread
    _pool_lost = _pool_lost or _pool_started
    wb_fork_child()
    wb_main_thread = threading.get_ident()  # the forking thread is the child's main thread
    _shared_engines_lock = threading.Lock()  # another thread may have held it


if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


# One engine per distinct set of options, for every caller that does not bring
# its own (the default engine, run_wasi, the CLI): engines are costly to make
# and each one with epoch interruption is a slot of the ticker. Bounded: the
# least recently asked-for engine leaves the cache (it lives on while anything
# made with it does); the default engine never does.
_SHARED_ENGINES_MAX = 32
_shared_engines = {}
_shared_engines_lock = threading.Lock()
_default_engine = None


def shared_engine(config=None):
    """The process's shared Engine for ``config`` (None: ``Config()``).

    Equal configs give the same Engine, so modules compiled for one caller can
    be used in the stores of another. ``default_engine()`` is ``shared_engine()``.
    """
    global _default_engine
    if config is None:
        config = Config()
    elif not isinstance(config, Config):
        raise TypeError("config must be a wasmbind.Config, got %s" % type(config).__name__)
    options = config.options()
    key = tuple(sorted(options.items()))
    with _shared_engines_lock:
        engine = _shared_engines.pop(key, None)
        if engine is None:
            engine = Engine(Config(**options))
            if len(_shared_engines) >= _SHARED_ENGINES_MAX:
                for old in _shared_engines:
                    if _shared_engines[old] is not _default_engine:
                        del _shared_engines[old]
                        break
        _shared_engines[key] = engine  # the most recently used last
        if _default_engine is None and options == _config_module._OPTIONS:
            _default_engine = engine
        return engine


def default_engine():
    """The shared Engine used where none is given: ``shared_engine(Config())``."""
    return _default_engine if _default_engine is not None else shared_engine()
