# Async host functions: an `async def` (any callable detected as a coroutine
# function) called from Wasm on an async store.
#
# The engine calls the entry with the arguments; the entry calls the Python
# function, which makes a coroutine and runs none of it, and hands the engine a
# continuation. The engine then calls the continuation at every poll of the
# call until it says done; each time it steps the coroutine once. So the
# coroutine's code runs inside polls, while the guest is stopped in this host
# call: the store is the host function's own then and its Caller valid. What
# the coroutine yields (the future it awaits, or None for a bare yield) goes to
# the task awaiting the call (aio/future.pxi), which sleeps until that future
# is done and polls again. A cancellation of that task is thrown into the
# coroutine at its await. If the call is dropped, the coroutine is closed.
#
# The call future owns the host call (its `host`), not the engine: the
# engine's continuation only borrows it, until its finalizer. So a task that
# is abandoned while the host awaits (task -> call future -> host call ->
# coroutine -> awaited future -> task) is a cycle the garbage collector sees
# whole, and frees.

import types as _types

cdef object _inspect = None  # imported on first use (it takes a while)
cdef int _CO_COROUTINE = 0x80  # code flag of `async def` functions

cdef bytes _HOST_RAISED = b"a Python host function raised an exception"


cdef bint _aio_is_coroutine_function(object fn):
    """Whether host functions made of ``fn`` are async: coroutine functions,
    methods and partials of them, and objects with an ``async def __call__``."""
    global _inspect
    if type(fn) is _types.FunctionType and "_is_coroutine_marker" not in fn.__dict__:
        return fn.__code__.co_flags & _CO_COROUTINE  # the common cases, without inspect
    if type(fn) is _types.BuiltinFunctionType:
        return False
    if _inspect is None:
        import inspect
        _inspect = inspect
    if _inspect.iscoroutinefunction(fn):
        return True
    if isinstance(fn, type) or _inspect.isroutine(fn):
        return False
    return _inspect.iscoroutinefunction(getattr(type(fn), "__call__", None))


@cython.no_gc_clear  # the engine may still call it while a cycle is being freed
cdef class _AsyncHostCall:
    """One call of an async host function, from the entry until the engine
    drops its continuation; owned by the call future meanwhile. The
    component model's (aio/component.pxi) writes its results its own way."""
    cdef _HostFunc hf
    cdef Store store
    cdef object coro            # stepped with send/throw; None once finished
    cdef object value           # the result, when the function returned no awaitable
    cdef bint has_value
    cdef bint finished
    cdef object pending_throw   # to throw into the coroutine at the next step
    cdef Caller caller          # access_caller: valid only while the coroutine runs
    cdef wasmtime_caller_t *caller_ptr
    cdef wasmtime_val_t *results
    cdef size_t nresults
    cdef wasm_trap_t **trap_ret

    cdef bint step(self) noexcept:
        """The continuation: True once the host call is done (results written,
        or a trap set); False when the coroutine awaits."""
        cdef _EngineFuture call
        if self.finished:
            return True
        if self.has_value:
            return self._finish(self.value)
        if self.caller is not None:
            self.caller._ptr = self.caller_ptr
        try:
            exc = self.pending_throw
            if exc is not None:
                self.pending_throw = None
                y = self.coro.throw(exc)
            else:
                y = self.coro.send(None)
        except StopIteration as stop:
            return self._finish(stop.value)
        except BaseException as exc:
            return self._fail(exc)
        finally:
            if self.caller is not None:
                self.caller._ptr = NULL
        if self.store._aio_call == NULL:  # cannot happen: polls come from a call future
            return self._fail(WasmError("an async host function ran outside an async call"))
        (<_EngineFuture>self.store._aio_call).yielded = y
        return False

    cdef bint _finish(self, object value) noexcept:
        cdef _HostFunc hf = self.hf
        cdef wasmtime_context_t *ctx = wasmtime_caller_context(self.caller_ptr)
        cdef size_t i
        try:
            outs = _host_results(hf, value)
            for i in range(self.nresults):
                _to_val(self.store, ctx, hf.kinds[hf.nparams + i], outs[i], &self.results[i])
        except BaseException as exc:
            return self._fail(exc)
        self._end()
        return True

    cdef bint _fail(self, object exc) noexcept:
        _store_host_exception(self.store, exc)
        if self.trap_ret[0] == NULL:
            self.trap_ret[0] = wasmtime_trap_new(_HOST_RAISED, len(_HOST_RAISED))
        self._end()
        return True

    cdef void _end(self) noexcept:
        self.finished = True
        self.coro = None
        self.value = None

    cdef void close(self) noexcept:
        """The engine dropped the call unfinished: close the coroutine (its
        finally blocks run; an exception from them is reported as unraisable)."""
        coro = self.coro
        if self.caller is not None:
            self.caller._ptr = NULL
        self._end()
        if coro is not None:
            coro.close()


cdef bint _aio_host_done(void *env) noexcept:
    return True


cdef bint _aio_host_step(void *env) noexcept:
    return (<_AsyncHostCall>env).step()


cdef void _aio_host_drop(void *env) noexcept with gil:
    """The engine is done with the continuation: close the coroutine if it did
    not finish, and let the call future let go of the host call."""
    cdef _AsyncHostCall hc = <_AsyncHostCall>env
    cdef _EngineFuture call
    if not hc.finished:
        hc.close()
    if hc.store._aio_call != NULL:
        call = <_EngineFuture>hc.store._aio_call
        if call.host is hc:
            call.host = None


cdef void _aio_host_entry(void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args, size_t nargs,
                          wasmtime_val_t *results, size_t nresults, wasm_trap_t **trap_ret,
                          wasmtime_async_continuation_t *cont) noexcept:
    """The engine's entry into an async host function (on the call's stack)."""
    cdef _HostFunc hf = <_HostFunc>env
    cdef wasmtime_context_t *ctx = wasmtime_caller_context(caller)
    cdef Store store = <Store>(<wb_store_state_t *>wasmtime_context_get_data(ctx)).store
    cdef _AsyncHostCall hc
    cdef size_t i
    # until the call is set up: a continuation that is done at once
    cont.callback = _aio_host_done
    cont.env = NULL
    cont.finalizer = NULL
    try:
        if store._aio_call == NULL:  # cannot happen: the engine calls it inside polls
            raise WasmError("an async host function ran outside an async call")
        hc = _AsyncHostCall.__new__(_AsyncHostCall)
        hc.hf = hf
        hc.store = store
        hc.caller_ptr = caller
        hc.results = results
        hc.nresults = nresults
        hc.trap_ret = trap_ret
        pyargs = [_from_val(store, ctx, <wasmtime_val_t *>&args[i]) for i in range(nargs)]
        if hf.access_caller:
            hc.caller = Caller._wrap(store, caller)
            pyargs.insert(0, hc.caller)
        try:
            r = hf.fn(*pyargs)
        finally:
            if hc.caller is not None:
                hc.caller._ptr = NULL
        if isinstance(r, _types.CoroutineType):
            hc.coro = r
        elif hasattr(type(r), "__await__"):
            hc.coro = r.__await__()
        else:
            hc.value = r
            hc.has_value = True
    except BaseException as exc:
        _store_host_exception(store, exc)
        trap_ret[0] = wasmtime_trap_new(_HOST_RAISED, len(_HOST_RAISED))
        return
    (<_EngineFuture>store._aio_call).host = hc  # owns it; the continuation borrows it
    cont.env = <void *>hc
    cont.callback = _aio_host_step
    cont.finalizer = _aio_host_drop


cdef int _aio_func_new(Store store, wasmtime_context_t *ctx, wasm_functype_t *ft, _HostFunc hf,
                       wasmtime_func_t *out) except -1:
    """Func(store, functype, async_fn): the engine makes async host functions
    only in linkers, so define it in a linker of its own and take it out into
    the store (the store then keeps it; the engine owns a reference to ``hf``)."""
    cdef wasmtime_linker_t *linker
    cdef wasmtime_extern_t item
    cdef wasmtime_error_t *err
    cdef bint found
    _aio_need_async(store.engine, "async def host functions")
    linker = wasmtime_linker_new(store.engine._engine())
    if linker == NULL:
        raise MemoryError("the engine could not create a linker")
    try:
        Py_INCREF(hf)
        err = wasmtime_linker_define_async_func(linker, b"", 0, b"", 0, ft, _aio_host_entry,
                                                <void *>hf, wb_decref_finalizer)
        if err != NULL:  # the engine has dropped its reference already
            _raise_error(err)
        found = wasmtime_linker_get(linker, ctx, b"", 0, b"", 0, &item)
    finally:
        wasmtime_linker_delete(linker)
    if not found or item.kind != WB_EXTERN_FUNC:
        raise WasmError("the engine did not make the async host function")
    out[0] = item.of.func
    return 0


cdef wasmtime_error_t *_aio_linker_define(wasmtime_linker_t *linker, bytes module, bytes name,
                                          wasm_functype_t *ft, _HostFunc hf) noexcept:
    """Linker.define_func with an async function (the caller gave the engine its
    reference to ``hf`` and checked the engine is async)."""
    return wasmtime_linker_define_async_func(linker, module, len(module), name, len(name), ft,
                                             _aio_host_entry, <void *>hf, wb_decref_finalizer)
