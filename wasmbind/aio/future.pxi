# The call future and its poll loop: an awaitable over one engine call future
# (a call, or an instantiation), driven by the task that awaits it, on that
# task's event loop and thread.
#
# It speaks the coroutine protocol itself (send, throw, close, __await__), so
# `await`, asyncio.create_task, gather and wait_for all take it, and a poll
# costs no Python frame. Each send() polls the guest once (when the loop's
# scheduler gives it a turn, aio/scheduler.pxi) and yields to the task:
# None after an epoch tick or fuel interval (the task runs again on the next
# turn of the loop), or the future an `async def` host function awaits (the
# task sleeps until it is done; aio/hostfuncs.pxi). throw() delivers a
# cancellation: to the host function's coroutine when one is awaiting, else by
# dropping the engine future, which unwinds the guest where it yielded.

import collections.abc as _collections_abc
from wasmbind.errors import StoreBusyError, WasmError


cdef class _AsyncHostCall  # aio/hostfuncs.pxi


cdef enum _FutureState:
    _F_NEW       # made, not yet awaited: holds nothing of the store's
    _F_RUNNING   # holds the store (Store._aio_call) and an engine future
    _F_DONE      # finished, failed or cancelled


@cython.no_gc_clear  # keeps its Store for the engine future's sake until freed
cdef class _EngineFuture:
    """An awaited call into an async store (see the comment above)."""
    cdef Store store
    cdef wasmtime_call_future_t *fut
    cdef wasm_trap_t *trap
    cdef wasmtime_error_t *err
    cdef _FutureState state
    cdef _LoopScheduler sched   # None when no event loop runs (driven by hand)
    cdef object turn            # the scheduler's future this call waits on, or None
    cdef object yielded         # what a host coroutine yielded in the last poll
    cdef _AsyncHostCall host    # the async host call in progress (owned), or None
    cdef object value           # the result, from _complete until handed over
    cdef object __weakref__

    def __init__(self):
        raise TypeError("call futures are made by Func.call_async, Instance.create_async "
                        "and Linker.instantiate_async")

    # -- what each kind of call does (overridden) -------------------------

    cdef int _start(self, wasmtime_context_t *ctx) except -1:
        raise NotImplementedError

    cdef object _result(self):
        return None

    cdef int _fail(self, wasmtime_error_t *err, wasm_trap_t *trap) except -1:
        return _raise_call_failure(self.store, err, trap)

    cdef void _free_values(self) noexcept:
        pass

    # -- the coroutine protocol -------------------------------------------

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def send(self, value):
        r = self._step()
        if r is _FINISHED:
            raise StopIteration(self._take_value())
        return r

    def throw(self, typ, val=None, tb=None):
        if val is None:
            exc = typ if isinstance(typ, BaseException) else typ()
        else:
            exc = val if isinstance(val, BaseException) else typ(val)
        if self.state != _F_RUNNING:
            self.state = _F_DONE
            self._free_values()
            raise exc
        self._give_up_turn()
        host = self.host
        if host is not None and not host.finished:
            # the guest waits in an async host function: the exception goes to
            # its coroutine, which may handle it (the guest then goes on) or not
            # (the guest traps, and the call raises this same exception)
            host.pending_throw = exc
            try:
                r = self._poll_once()
            except BaseException:
                self._abandon_on_error()
                raise
            if r is _FINISHED:
                raise StopIteration(self._take_value())
            return r
        self._drop()
        raise exc

    def close(self):
        if self.state == _F_RUNNING:
            self._give_up_turn()
            self._drop()
        self.state = _F_DONE
        self._free_values()

    def __dealloc__(self):
        self._drop_raw()
        if self.trap != NULL:
            wasm_trap_delete(self.trap)
        if self.err != NULL:
            wasmtime_error_delete(self.err)

    def __repr__(self):
        return "<wasmbind call future %s>" % ("new", "running", "done")[<int>self.state]

    # -- the poll loop ------------------------------------------------------

    cdef int _begin(self) except -1:
        cdef Store store = self.store
        cdef wasmtime_context_t *ctx = store._context()
        if store._aio_call != NULL:
            # only reached inside a host function of this store's own call
            raise StoreBusyError("the Store is running an async call already: a host function "
                                 "cannot await another call into its own Store")
        loop = _running_loop()
        self.sched = None if loop is None else _scheduler_of(loop)
        # a full tick from now before the first yield (the deadline left by the
        # last call has likely passed), unless the store's deadline has passed:
        # then at the first epoch check, as in sync calls
        if store._state.deadline != 0 and wb_monotonic() >= store._state.deadline:
            wasmtime_context_set_epoch_deadline(ctx, 0)
        else:
            wasmtime_context_set_epoch_deadline(ctx, 1)
        self._start(ctx)
        store._aio_call = <PyObject *>self
        self.state = _F_RUNNING
        return 0

    cdef object _step(self):
        """One step of the awaiting task: what to yield to it, or _FINISHED
        with the result in self.value; the call's failure is raised."""
        if self.state == _F_DONE:
            raise RuntimeError("cannot reuse an async wasm call that has finished")
        try:
            if self.state == _F_NEW:
                self._begin()
            return self._resume()
        except BaseException:
            self._abandon_on_error()
            raise

    cdef void _abandon_on_error(self):
        """An exception leaves a step (say a KeyboardInterrupt from a signal
        handler that ran in the loop's bookkeeping): like a coroutine that
        raised, the call is over, so its guest is stopped and its store freed."""
        if self.state == _F_RUNNING:
            self._give_up_turn()
            self._drop()
        elif self.state == _F_NEW:
            self.state = _F_DONE
            self._free_values()

    cdef object _take_value(self):
        v = self.value
        self.value = None
        return v

    cdef object _resume(self):
        turn = self.turn
        if turn is not None:
            if not turn.done():
                turn._asyncio_future_blocking = True
                return turn  # resumed early (by hand): keep waiting
            self.turn = None  # woken: this call holds the turn
        elif self.sched is not None and not self.sched.may_run():
            turn = self.turn = self.sched.wait_turn()
            turn._asyncio_future_blocking = True
            return turn
        return self._poll_once()

    cdef object _poll_once(self):
        cdef Store store = self.store
        cdef _LoopScheduler sched = self.sched
        cdef bint done
        cdef double t0 = wb_monotonic()
        # (an async store's calls run on the engine's stacks: its stack_need is
        # 0 and entering is refused only for a store that is not async)
        if wb_state_enter(&store._state):
            _stack_refused(store)
        if sched is not None:
            sched.polling += 1
        done = wasmtime_call_future_poll(self.fut)
        wb_state_leave(&store._state)
        if sched is not None:
            sched.polling -= 1
            if not sched.polling:
                sched.spent(wb_monotonic() - t0)
        if done:
            return self._complete()
        y = self.yielded
        self.yielded = None
        return y

    cdef object _complete(self):
        """The engine future is ready: the call's result, or its failure raised."""
        cdef wasmtime_error_t *err = self.err
        cdef wasm_trap_t *trap = self.trap
        self._drop_raw()
        self.state = _F_DONE
        self.err = NULL
        self.trap = NULL
        try:
            if err != NULL or trap != NULL:
                self._fail(err, trap)
            self.value = self._result()
        finally:
            self._free_values()
        _release_dead(self.store)  # externrefs the engine dropped meanwhile
        return _FINISHED

    cdef void _give_up_turn(self):
        """A call that stops waiting for its turn: leave the queue, or pass on
        a turn it was given and has not used."""
        turn = self.turn
        self.turn = None
        if turn is None:
            return
        if turn.done() and not turn.cancelled():
            self.sched.pass_on()
        else:
            turn.cancel()

    cdef void _drop(self):
        """Abandon the call: the engine unwinds the guest at the point where it
        yielded (host coroutines in progress are closed), and the store is free
        for the next call. What the call did to the store's state so far stays."""
        cdef Store store = self.store
        self._drop_raw()
        self.state = _F_DONE
        # whatever the unwinding left behind is not this call's failure
        store._pending = None
        store._state.interrupted = 0
        self._free_values()

    cdef void _drop_raw(self) noexcept:
        """Deletes the engine future and gives the store back. Also from
        __dealloc__: the store forgets this call first, so that the engine's
        finalizers (aio/hostfuncs.pxi) never reach an object being freed; the
        host call in progress stays owned here until they are done."""
        cdef Store store = self.store
        cdef wasmtime_call_future_t *fut = self.fut
        cdef bint entered
        if store is not None and store._aio_call == <PyObject *>self:
            store._aio_call = NULL
        if fut != NULL:
            self.fut = NULL
            # held while the engine unwinds the guest (its finalizers may run
            # Python code); entering an async store never fails (stack_need 0)
            entered = wb_state_enter(&store._state) == 0
            wasmtime_call_future_delete(fut)
            if entered:
                wb_state_leave(&store._state)
        self.host = None


_collections_abc.Coroutine.register(_EngineFuture)

# what _step returns when the call is done (its result is in .value)
cdef object _FINISHED = object()


cdef int _efut_am_send(PyObject *self, PyObject *arg, PyObject **result) except -1:
    """The type's am_send slot (Python 3.10+), how `await` and asyncio's tasks
    step it: a finished call returns its result without a StopIteration."""
    cdef _EngineFuture f = <_EngineFuture>self
    result[0] = NULL
    r = f._step()
    if r is _FINISHED:
        r = f._take_value()
        Py_INCREF(r)
        result[0] = <PyObject *>r
        return 0  # PYGEN_RETURN
    Py_INCREF(r)
    result[0] = <PyObject *>r
    return 1  # PYGEN_NEXT


cdef int _aio_enable_am_send() except -1:
    for t in (_EngineFuture, _CallFuture, _InstantiateFuture):
        if wb_set_am_send(t, _efut_am_send) != 0:
            raise SystemError("no async slots on %s" % t)
    return 0


@cython.final
cdef class _CallFuture(_EngineFuture):
    """``func.call_async(*args)``: arguments converted when it is made."""
    cdef Func func
    cdef wasmtime_val_t *vals   # the params, then the results
    cdef Py_ssize_t nparams
    cdef Py_ssize_t nresults

    cdef int _start(self, wasmtime_context_t *ctx) except -1:
        self.fut = wasmtime_func_call_async(ctx, &self.func._func, self.vals, self.nparams,
                                            self.vals + self.nparams, self.nresults,
                                            &self.trap, &self.err)
        if self.fut == NULL:
            raise MemoryError("the engine could not start the call")
        return 0

    cdef object _result(self):
        cdef Store store = self.store
        cdef Py_ssize_t nr = self.nresults, i
        cdef wasmtime_val_t *res = self.vals + self.nparams
        try:
            results = [_from_val(store, store._ctx, &res[i]) for i in range(nr)]
        finally:
            _unroot_vals(res, nr)
            memset(res, 0, nr * sizeof(wasmtime_val_t))
        if nr == 0:
            return None
        if nr == 1:
            return results[0]
        return tuple(results)

    cdef void _free_values(self) noexcept:
        if self.vals != NULL:
            _unroot_vals(self.vals, self.nparams)
            PyMem_Free(self.vals)
            self.vals = NULL

    def __dealloc__(self):
        # the engine future borrows the values: drop it first
        self._drop_raw()
        self._free_values()


cdef object _aio_call_func(Func f, tuple args):
    """Func.call_async: check and convert now, run when awaited."""
    cdef Store store = f.store
    cdef wasmtime_context_t *ctx
    cdef Py_ssize_t i, n
    cdef _CallFuture call
    if store is None:
        raise WasmError("Func was not initialized")
    ctx = store._context()
    if not store._state.async_yield:
        raise WasmError("call_async needs a store of an async engine (Config(async_support=True)); "
                        "on this sync store call the Func directly")
    if not f._sig_loaded:
        f._load_sig(ctx)
    if len(args) != f._nparams:
        f._arity_error(len(args))
    call = _CallFuture.__new__(_CallFuture)
    call.store = store
    call.func = f
    call.nparams = f._nparams
    call.nresults = f._nresults
    n = f._nparams + f._nresults + 1
    call.vals = <wasmtime_val_t *>PyMem_Malloc(n * sizeof(wasmtime_val_t))
    if call.vals == NULL:
        raise MemoryError()
    memset(call.vals, 0, n * sizeof(wasmtime_val_t))
    for i in range(f._nparams):
        try:
            _to_val(store, ctx, f._kinds[i], args[i], &call.vals[i])
        except (TypeError, OverflowError, ValueError) as exc:
            f._arg_error(i, exc)
    return call
