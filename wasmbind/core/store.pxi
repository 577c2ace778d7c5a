# Stores: Store with its fuel, deadlines and limits; the epoch callback's body;
# the choke point that turns a failed call into the right exception.

from wasmbind.errors import (
    LinkError,
    StoreBusyError,
    StoreClosedError,
    Trap,
    TrapCode,
    WasiExit,
    WasmError,
)


_NEEDS_EPOCHS = ("%s need an engine that can interrupt running Wasm: make it with "
                 "Engine(Config.sandbox()) (epoch_interruption=True); this one was made "
                 "with Config.fast() for full speed")

# Why calls into a store run without the GIL (bits of wb_store_state_t.release_gil)
cdef enum:
    _GIL_ASKED = 1     # Store(release_gil=True)
    _GIL_BLOCKING = 2  # a call can block inside the engine (WASI, shared memories)


cdef Engine _engine_arg(object engine):
    if engine is None:
        return default_engine()
    if isinstance(engine, Engine):
        return <Engine>engine
    if isinstance(engine, Store):
        if (<Store>engine).engine is None:
            raise WasmError("Store was not initialized")
        return (<Store>engine).engine
    raise TypeError("expected an Engine, got %s" % type(engine).__name__)


@cython.no_gc_clear
cdef class Store:
    """Holds all runtime state: instances, memories, functions, fuel, limits.

    ``Store(engine=None, *, release_gil=False)``. A store belongs to one thread
    at a time: using it from a second thread while a call runs in the first
    raises :class:`StoreBusyError`. A call holds the GIL (short calls pay
    nothing for it). On an engine made with ``Config.sandbox()`` a long call
    lets go of it at its first epoch tick (a few milliseconds) and takes it
    back when it returns, so other threads run on and stores in different
    threads run Wasm in parallel; on a ``Config.fast()`` engine (the default)
    it keeps it. ``release_gil=True`` releases the GIL for the whole of every
    call instead, on either, and so do stores whose calls can block inside
    the engine: stores given WASI (a guest can wait for input or sleep) and
    stores of engines with ``Config(wasm_threads=True)`` (``memory.atomic.wait``).
    Use as a context manager or call :meth:`close`; closing twice is harmless.
    A Store is initialized once: it cannot be opened again after ``close()``.
    """

    def __cinit__(self):
        self._hostfuncs = []
        self._limits = None
        self._refs = {}
        self._dead = []

    def __init__(self, engine=None, *, bint release_gil=False):
        cdef Engine e
        cdef wasmtime_store_t *st
        # Once only, even after close(): objects of the old engine store would
        # otherwise be used with the new one (the engine aborts on that).
        if self.engine is not None:
            raise WasmError("Store is already initialized")
        e = _engine_arg(engine)
        if release_gil and e._async:
            raise WasmError(_AIO_NO_RELEASE_GIL)
        st = wasmtime_store_new(e._engine(), <void *>&self._state, NULL)
        if st == NULL:
            raise WasmError("the engine could not create a store")
        self.engine = e
        self._state.store = <PyObject *>self
        self._state.release_gil = _GIL_ASKED if release_gil else 0
        if e._shared_memory:
            self._state.release_gil |= _GIL_BLOCKING
        # an async store's calls run on stacks of the engine's (aio/store.pxi),
        # not on the thread's: they need none of it
        self._state.stack_need = 0 if e._async else e._stack_need
        self._state.async_yield = e._async
        self._store = st
        self._ctx = wasmtime_store_context(st)
        if e._epoch:
            wasmtime_context_set_epoch_deadline(self._ctx, 1)
            if e._async:
                _aio_store_init(self)  # before the callback: it replaces the engine's yielding
            wasmtime_store_epoch_deadline_callback(st, wb_epoch_entry, <void *>&self._state, NULL)

    def __dealloc__(self):
        # No Python code can reach this object any more (Cython cleared its
        # weak references first); the engine's finalizers see state.store
        # cleared and touch nothing of Python's (see wb_extref_finalizer).
        cdef wasmtime_store_t *st = self._store
        if st != NULL:
            _wake_forget(self)
        self._store = NULL
        self._ctx = NULL
        self._state.store = NULL
        if st != NULL:
            wasmtime_store_delete(st)
        wb_capture_release(self._stdout)  # the engine's side is gone: pipes closed now
        wb_capture_release(self._stderr)
        self._stdout = self._stderr = NULL

    cdef wasmtime_context_t *_context(self) except NULL:
        if self._ctx == NULL:
            if self.engine is None:
                raise WasmError("Store was not initialized")
            raise StoreClosedError("the Store is closed")
        if self._aio_call != NULL and not self._state.depth:
            _aio_busy(self)
        self._check_thread()
        return self._ctx

    cdef int _check_thread(self) except -1:
        """The ownership rule of calls, for everything that reads or writes the
        store's state: refused while a call runs in another thread."""
        if self._state.depth and self._state.owner != wb_thread_id():
            raise StoreBusyError("the Store is running a call in another thread; "
                                 "a Store belongs to one thread at a time")
        return 0

    @property
    def release_gil(self):
        """Whether calls into this store release the GIL for their whole duration:
        asked for, or always for stores with WASI or on engines with
        ``Config(wasm_threads=True)`` (their calls can block inside the engine)."""
        self._check_thread()
        return self._state.release_gil != 0

    @release_gil.setter
    def release_gil(self, bint value):
        self._check_thread()
        if value and self.engine._async:
            raise WasmError(_AIO_NO_RELEASE_GIL)
        if self._state.depth:
            raise WasmError("cannot change release_gil while a call into the store is running")
        self._state.release_gil = (self._state.release_gil & _GIL_BLOCKING) | (_GIL_ASKED if value else 0)

    def close(self):
        """Free the store and everything in it. Idempotent.

        Any later use of its objects raises StoreClosedError. Raises BufferError
        while views of its memories are alive, and WasmError during a call.
        """
        cdef wasmtime_store_t *st = self._store
        if st == NULL:
            return
        self._context()
        if self._state.depth:
            raise WasmError("cannot close a Store while a call into it is running")
        if self._buffer_views:
            raise BufferError("cannot close the Store: %d view(s) of its memories are still alive"
                              % self._buffer_views)
        # Tear-down order: the store reads as closed before the engine drops
        # anything, so Python code run meanwhile (the finalizer of a host
        # function's environment) gets StoreClosedError instead of a store
        # half deleted; what the store kept for Python (externref payloads,
        # host functions) is released only after the engine is done with it.
        _wake_forget(self)
        self._store = NULL
        self._ctx = NULL
        self._state.store = NULL
        wasmtime_store_delete(st)
        wb_capture_settle(self._stdout)  # kept for reading; their pipes closed now
        wb_capture_settle(self._stderr)
        kept = (self._refs, self._dead, self._hostfuncs)
        self._refs = {}
        self._dead = []
        self._hostfuncs = []
        del kept

    @property
    def closed(self):
        return self._store == NULL

    def __enter__(self):
        self._context()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def gc(self):
        """Run the engine's garbage collector for reference values in this store."""
        err = wasmtime_context_gc(self._context())
        try:
            _release_dead(self)  # the payloads of what it freed, outside the engine
        finally:
            if err != NULL:
                _raise_error(err)

    # -- fuel ------------------------------------------------------------

    def set_fuel(self, fuel):
        """Set the fuel left for Wasm in this store (needs ``Config(consume_fuel=True)``)."""
        self._context()
        if not self.engine._fuel:
            raise WasmError("fuel needs an Engine with Config(consume_fuel=True)")
        if not isinstance(fuel, int) or isinstance(fuel, bool):
            raise TypeError("fuel must be an int, got %s" % type(fuel).__name__)
        if not 0 <= fuel < 2**64:
            raise OverflowError("fuel must be in [0, 2**64)")
        err = wasmtime_context_set_fuel(self._context(), fuel)
        if err != NULL:
            _raise_error(err)

    def get_fuel(self):
        """The fuel left for Wasm in this store."""
        cdef uint64_t fuel = 0
        self._context()
        if not self.engine._fuel:
            raise WasmError("fuel needs an Engine with Config(consume_fuel=True)")
        err = wasmtime_context_get_fuel(self._context(), &fuel)
        if err != NULL:
            _raise_error(err)
        return fuel

    @property
    def fuel(self):
        """Fuel left (read and assign); running out traps with TrapCode.OUT_OF_FUEL."""
        return self.get_fuel()

    @fuel.setter
    def fuel(self, value):
        self.set_fuel(value)

    @property
    def fuel_async_yield_interval(self):
        """Async stores: running Wasm also yields to the event loop every this many
        units of fuel (deterministic slices); 0 or None: only at epoch ticks."""
        return self._fuel_yield_interval

    @fuel_async_yield_interval.setter
    def fuel_async_yield_interval(self, n):
        _aio_set_fuel_interval(self, 0 if n is None else n)

    # -- deadlines -------------------------------------------------------

    def set_timeout(self, seconds):
        """Interrupt Wasm running in this store ``seconds`` from now (None: no deadline).

        The deadline covers every call until it is changed; when it passes, the
        running call raises Trap with TrapCode.INTERRUPT. Needs an engine
        made with ``Config.sandbox()`` (``epoch_interruption=True``).
        """
        cdef double s
        cdef wasmtime_context_t *ctx
        self._context()
        if seconds is None:
            self._state.deadline = 0
            return
        if not self.engine._epoch:
            raise WasmError(_NEEDS_EPOCHS % "deadlines")
        s = float(seconds)
        if not s >= 0:
            raise ValueError("timeout must be a non-negative number of seconds")
        # float() may have run Python code: take the context again
        ctx = self._context()
        self._state.deadline = wb_monotonic() + s
        if self._state.deadline == 0:
            self._state.deadline = 1e-9
        # check at the next epoch check instead of the next tick: a deadline that
        # has already passed then stops even a call shorter than one tick
        wasmtime_context_set_epoch_deadline(ctx, 0)

    @property
    def timeout(self):
        """Seconds left before the deadline, or None."""
        self._check_thread()
        if self._state.deadline == 0:
            return None
        return max(0.0, self._state.deadline - wb_monotonic())

    def deadline(self, seconds):
        """``with store.deadline(seconds):`` sets a deadline for the block only."""
        return _Deadline(self, seconds)

    # -- limits ----------------------------------------------------------

    def set_limits(self, memory_size=None, table_elements=None, instances=None, tables=None,
                   memories=None):
        """Cap what Wasm in this store may allocate; None leaves a limit at the default.

        ``memory_size`` is in bytes per linear memory. Growth past a limit fails
        the way the guest expects (``memory.grow`` returns -1); growing from the
        host raises WasmError. Instantiating past ``instances``, ``tables`` or
        ``memories`` raises WasmError.
        """
        values = []
        for name, v in (("memory_size", memory_size), ("table_elements", table_elements),
                        ("instances", instances), ("tables", tables), ("memories", memories)):
            if v is None:
                values.append(-1)
                continue
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError("%s must be an int or None" % name)
            if not 0 <= v < 2**63:
                raise ValueError("%s out of range: %d" % (name, v))
            values.append(v)
        self._context()
        wasmtime_store_limiter(self._store, values[0], values[1], values[2], values[3], values[4])
        self._limits = dict(memory_size=memory_size, table_elements=table_elements,
                            instances=instances, tables=tables, memories=memories)

    @property
    def limits(self):
        """The limits given to :meth:`set_limits`, or None."""
        self._check_thread()
        return None if self._limits is None else dict(self._limits)

    # -- WASI ------------------------------------------------------------

    def set_wasi(self, config):
        """Give WASI programs in this store the environment described by ``config``."""
        if not isinstance(config, WasiConfig):
            raise TypeError("expected a WasiConfig, got %s" % type(config).__name__)
        self._apply_wasi(config, self._wasi_pipe)

    cdef int _apply_wasi(self, object config, bint pipe) except -1:
        """set_wasi; ``pipe``: captured output through a pipe, for components
        (see _output). A capturing config applied without it is kept (as a
        copy) in ``_wasi_redo``, for the first component instance to apply
        again with it."""
        cdef wasmtime_context_t *ctx
        ctx = self._context()
        # Applying runs Python code (paths, encodings) before the engine takes
        # the config: hold the store as a call does meanwhile, so that code can
        # neither close it nor let another thread into it.
        if wb_state_enter(&self._state):
            _stack_refused(self)
        try:
            new_out, new_err = (<WasiConfig>config)._apply(ctx, pipe)
        finally:
            wb_state_leave(&self._state)
        redo = None
        if not pipe and (new_out is not None or new_err is not None):
            fn, args = config.__reduce__()  # checked by _apply: the copy is too
            try:
                redo = fn(*args)
            except Exception:  # changed meanwhile (a preopen gone): components keep this one
                redo = None
        # WASI calls can wait (stdin, poll_oneoff): never with the GIL held;
        # except in async stores, whose calls keep it (see docs/asyncio.md)
        if not self.engine._async:
            self._state.release_gil |= _GIL_BLOCKING
        wb_capture_release(self._stdout)  # the engine's side is gone: pipes closed now
        wb_capture_release(self._stderr)
        self._stdout = (<_CapturePtr>new_out).take() if new_out is not None else NULL
        self._stderr = (<_CapturePtr>new_err).take() if new_err is not None else NULL
        self._wasi_set = True
        self._wasi_redo = redo
        return 0

    @property
    def wasi_stdout(self):
        """What WASI programs wrote to stdout, when the WasiConfig captures it; else None."""
        self._check_thread()  # the guest may be writing it
        return _capture_bytes(self._stdout)

    @property
    def wasi_stderr(self):
        """What WASI programs wrote to stderr, when the WasiConfig captures it; else None."""
        self._check_thread()
        return _capture_bytes(self._stderr)

    @property
    def wasi_output_truncated(self):
        """``(stdout, stderr)``: whether a captured stream hit ``WasiConfig.max_output``.

        The first ``max_output`` bytes are kept; for preview 1 the write
        crossing the limit is cut short and later writes fail in the guest
        with EIO; a component's writes succeed and the bytes past it are dropped.
        """
        self._check_thread()
        return (_capture_cut(self._stdout), _capture_cut(self._stderr))

    def __repr__(self):
        state = "closed" if self._store == NULL else "open"
        return "<wasmbind.Store %s>" % state

    def __reduce__(self):
        _refuse_pickle(self)


cdef class _Deadline:
    cdef Store store
    cdef object seconds
    cdef double saved

    def __cinit__(self, Store store not None, seconds):
        self.store = store
        self.seconds = seconds

    def __enter__(self):
        self.store._context()
        self.saved = self.store._state.deadline
        self.store.set_timeout(self.seconds)
        return self.store

    def __exit__(self, *exc):
        self.store._check_thread()
        self.store._state.deadline = self.saved
        return False


cdef wasmtime_error_t *_epoch_body(wasmtime_context_t *ctx, void *data, uint64_t *delta,
                                   wasmtime_update_deadline_kind_t *kind) noexcept:
    """At epoch ticks, with the GIL (see wb_epoch_entry): run signal handlers."""
    cdef Store store = <Store>data
    if store._pending is not None and store._state.async_yield:
        # an exception kept while the guest runs on (an async component host
        # function that failed after it awaited, aio/component.pxi) ends the call
        return wasmtime_error_new(b"a Python host function raised an exception")
    # The engine takes this callback out of the store while it runs: a signal
    # handler calling back into the store would meet none and trap with
    # INTERRUPT at the first epoch check. Put it back for the handlers; the
    # engine puts its own back when this returns.
    wasmtime_store_epoch_deadline_callback(store._store, wb_epoch_entry, <void *>&store._state, NULL)
    try:
        PyErr_CheckSignals()
    except BaseException as exc:
        store._pending = exc
        return wasmtime_error_new(b"wasm execution interrupted by a Python signal handler")
    return NULL


# ---- the choke point after calls into Wasm ------------------------------------

cdef int _stack_refused(Store store) except -1:
    """wb_state_enter refused a call: this thread's stack is too small for it."""
    raise WasmError(
        "not enough native stack on this thread to run Wasm safely: %d KiB left, the engine "
        "lets Wasm use %d KiB (max_wasm_stack) and host functions need %d KiB more; run it "
        "on a thread with a larger stack (threading.stack_size) or use an Engine with a "
        "smaller Config(max_wasm_stack=...)"
        % (wb_stack_left() // 1024, (store._state.stack_need - WB_STACK_MARGIN) // 1024,
           WB_STACK_MARGIN // 1024))


cdef int _raise_call_failure(Store store, wasmtime_error_t *err, wasm_trap_t *trap,
                             object error_cls=None) except -1:
    """The choke point after any call into Wasm that failed.

    Order: an exception kept from a host callback or a signal handler is raised
    again as the same object; then a deadline interrupt; then the engine's trap;
    then a WASI exit; then the engine's error message.
    """
    cdef int status
    cdef wasm_frame_vec_t trace
    pending = store._pending
    interrupted = store._state.interrupted
    store._pending = None
    store._state.interrupted = 0
    if pending is not None:
        if trap != NULL:
            wasm_trap_delete(trap)
        if err != NULL:
            wasmtime_error_delete(err)
        raise pending
    try:
        thrown = _take_exception(store)  # a Wasm exception no Wasm code caught
    except BaseException as why:  # it could not be read: say why, free the rest
        thrown = why
    if thrown is not None:
        if trap != NULL:
            wasm_trap_delete(trap)
        if err != NULL:
            wasmtime_error_delete(err)
        raise thrown
    if trap != NULL:
        exc = _trap_exception(trap)
        if err != NULL:
            wasmtime_error_delete(err)
        raise exc
    if err == NULL:
        return 0
    try:
        if wasmtime_error_exit_status(err, &status):
            raise WasiExit(status)
        message = _clean_message(_error_message(err))
        wasmtime_error_wasm_trace(err, &trace)
        frames = _frames(&trace)
    finally:
        wasmtime_error_delete(err)
    if interrupted:
        raise Trap("wasm execution interrupted: the store's deadline passed", TrapCode.INTERRUPT, frames)
    if error_cls is not None:
        raise error_cls(message)
    if frames:
        raise Trap(message, None, frames)
    raise WasmError(message)


# How the pinned engine (WASMTIME_VERSION) begins the message of an import
# that does not match its declaration (Instance) or that is not defined
# (Linker). It has no error kinds to tell these from other instantiation
# failures (resource limits...): the wording is the only sign, so
# tests/test_instance.py pins it, one case per extern kind, to the engine
# version it was read from; an engine upgrade fails that test until the
# wording is read again.
_ENGINE_LINK_ERRORS = ("incompatible import type for ", "unknown import: ")


cdef int _link_failure(Store store, wasmtime_error_t *err, wasm_trap_t *trap) except -1:
    """Instantiation failed: a trap in the start function, or a link error."""
    cdef int status
    if (store._pending is not None or trap != NULL or store._state.interrupted
            or (store._ctx != NULL and wasmtime_context_has_exception(store._ctx))):
        return _raise_call_failure(store, err, trap)
    if wasmtime_error_exit_status(err, &status):
        return _raise_call_failure(store, err, trap)
    message = _error_message(err)
    wasmtime_error_delete(err)
    if message.startswith(_ENGINE_LINK_ERRORS):
        raise LinkError(message)
    if "shared memory support is disabled" in message:
        raise WasmError("the module has a shared memory: that needs an Engine with "
                        "Config(wasm_threads=True)")
    raise WasmError(message)
