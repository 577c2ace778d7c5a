# The component model on async stores: ComponentFunc.call_async, async def
# host functions of component linkers, ComponentLinker.instantiate_async. The
# engine's component futures are polled by the same call future as core calls
# (aio/future.pxi), and component host calls are stepped as core ones are
# (aio/hostfuncs.pxi); what differs is the values (component/values.pxi) and
# that failures arrive as errors, never as traps.

from wasmbind.errors import ComponentError, WasmError


@cython.final
cdef class _ComponentCallFuture(_EngineFuture):
    """``func.call_async(*args)`` of a component function: arguments lowered
    when it is made, the result lifted when it is done."""
    cdef ComponentFunc func
    cdef wasmtime_component_val_t *vals   # the arguments, then the result
    cdef Py_ssize_t nargs
    cdef Py_ssize_t made                  # arguments lowered (to delete)
    cdef size_t nres
    cdef bint called
    cdef list moved                       # own<R> handles passed in, expired once called

    cdef int _start(self, wasmtime_context_t *ctx) except -1:
        self.fut = wasmtime_component_func_call_async(&self.func._func, ctx, self.vals, self.nargs,
                                                      self.vals + self.nargs, self.nres, &self.err)
        if self.fut == NULL:
            raise MemoryError("the engine could not start the call")
        self.called = True
        return 0

    cdef object _result(self):
        _aio_host_failed(self.store)
        return _call_result(self.func, self.vals + self.nargs, self.store)

    cdef int _fail(self, wasmtime_error_t *err, wasm_trap_t *trap) except -1:
        return _component_failure(self.store, err)

    cdef void _free_values(self) noexcept:
        cdef Py_ssize_t i
        cdef ResourceHandle h
        if self.vals != NULL:
            for i in range(self.made):
                wasmtime_component_val_delete(&self.vals[i])
            wasmtime_component_val_delete(&self.vals[self.nargs])
            PyMem_Free(self.vals)
            self.vals = NULL
        moved = self.moved
        self.moved = None
        if moved and self.called:
            for h in moved:
                h._expire("was moved into the component by a call (it owns it now)")

    def __dealloc__(self):
        # the engine future borrows the values: drop it first
        self._drop_raw()
        self._free_values()


cdef object _aio_component_call(ComponentFunc f, tuple args, dict kwargs):
    """ComponentFunc.call_async: check and convert now, run when awaited."""
    cdef Store store = f.store
    cdef wasmtime_context_t *ctx
    cdef _ComponentCallFuture call
    cdef _ComponentState cs
    cdef void *outer_arena
    if store is None:
        raise WasmError("the component function was not initialized")
    ctx = store._context()
    if not store._state.async_yield:
        raise WasmError("call_async needs a store of an async engine (Config(async_support=True)); "
                        "on this sync store call the function directly")
    if not f._loaded:
        f._load(ctx)
    if kwargs:
        args = f._bind(args, kwargs)
    _check_call(f, PyTuple_GET_SIZE(args))
    call = _ComponentCallFuture.__new__(_ComponentCallFuture)
    call.store = store
    call.func = f
    call.nargs = PyTuple_GET_SIZE(args)
    call.nres = 1 if f._result is not None else 0
    call.vals = <wasmtime_component_val_t *>PyMem_Malloc((call.nargs + 1) * sizeof(wasmtime_component_val_t))
    if call.vals == NULL:
        raise MemoryError()
    memset(call.vals, 0, (call.nargs + 1) * sizeof(wasmtime_component_val_t))
    outer_arena = store._carena  # set while a sync call lowers (this call made by it)
    try:
        _lower_args(f, args, call.vals, store, &call.made, NULL)
    finally:
        store._carena = outer_arena
        # the handles this call moves are its own: other calls may be made
        # (and lowered) before it is awaited
        if store._component is not None and (<_ComponentState>store._component).moved:
            cs = <_ComponentState>store._component
            call.moved = cs.moved
            cs.moved = []
    return call


@cython.final
cdef class _ComponentInstantiateFuture(_EngineFuture):
    cdef ComponentLinker linker
    cdef Component component
    cdef wasmtime_component_instance_t inst
    cdef bint reading     # counted in linker._aio_users: the linker must not change

    cdef int _start(self, wasmtime_context_t *ctx) except -1:
        self.fut = wasmtime_component_linker_instantiate_async(self.linker._ptr, ctx,
                                                               self.component._component(),
                                                               &self.inst, &self.err)
        if self.fut == NULL:
            raise MemoryError("the engine could not start the instantiation")
        self.linker._aio_users += 1
        self.reading = True
        return 0

    cdef object _result(self):
        _aio_host_failed(self.store)
        return ComponentInstance._wrap(self.store, self.component, &self.inst)

    cdef int _fail(self, wasmtime_error_t *err, wasm_trap_t *trap) except -1:
        return _component_link_failure(self.store, err)

    cdef void _free_values(self) noexcept:
        if self.reading:
            self.reading = False
            self.linker._aio_users -= 1

    def __dealloc__(self):
        self._drop_raw()
        self._free_values()


cdef object _aio_component_instantiate(ComponentLinker linker, Store store, object component):
    """ComponentLinker.instantiate_async."""
    cdef _ComponentInstantiateFuture f
    store._context()
    if not store._state.async_yield:
        raise WasmError("instantiate_async needs a store of an async engine (Config(async_support=True)); "
                        "on this sync store use Linker.instantiate")
    linker._linker()
    c = linker._prepare(store, component)
    f = _ComponentInstantiateFuture.__new__(_ComponentInstantiateFuture)
    f.store = store
    f.linker = linker
    f.component = c
    return f


# ---- async def host functions of component linkers --------------------------
#
# The engine reads a component host function's error only when its entry
# returns: its continuation can finish, never fail (and the error pointer is
# gone by then). A function that fails after it awaited therefore keeps its
# exception in the store, as every host failure does, and the guest is
# stopped at its next epoch check (core/store.pxi, _epoch_body: a kept
# exception ends the call); a guest that returns before one fails its call
# all the same (_aio_host_failed), and so does a result never written (the
# engine refuses the placeholder it holds).


cdef int _aio_host_failed(Store store) except -1:
    """A call that finished although a host function failed in it: raise
    that failure."""
    if store._pending is not None:
        _raise_call_failure(store, NULL, NULL)
    return 0


@cython.no_gc_clear  # the engine may still step it while a cycle is being freed
cdef class _AsyncComponentHostCall(_AsyncHostCall):
    """One call of an async component host function: results are component
    values, and a failure is an error (a ComponentError of a ``result<T, E>``
    function being its E)."""
    cdef _ComponentHostFunc chf
    cdef wasmtime_component_val_t *cresults
    cdef wasmtime_error_t **error_ret   # valid only in the entry (NULL after)
    cdef list borrowed

    cdef bint _finish(self, object value) noexcept:
        try:
            _host_lower_result(self.chf, value, self.cresults, self.store)
        except BaseException as exc:
            return self._fail(exc)
        self._end()
        return True

    cdef bint _fail(self, object exc) noexcept:
        if isinstance(exc, ComponentError) and _host_returns_result(self.chf) and not self.finished:
            return self._finish(Err(exc.value))
        _store_host_exception(self.store, exc)
        if self.error_ret != NULL:  # still in the entry: the engine reads this
            if self.error_ret[0] == NULL:
                self.error_ret[0] = wasmtime_error_new(_HOST_RAISED)
        elif self.store._ctx != NULL:
            wasmtime_context_set_epoch_deadline(self.store._ctx, 0)  # stop at the next check
        self._end()
        return True

    cdef void _end(self) noexcept:
        _AsyncHostCall._end(self)
        borrowed = self.borrowed
        self.borrowed = None
        if borrowed:
            _expire_borrowed(borrowed)


cdef void _aio_chost_entry(void *env, wasmtime_context_t *ctx, const wasmtime_component_func_type_t *ty,
                           wasmtime_component_val_t *args, size_t nargs,
                           wasmtime_component_val_t *results, size_t nresults,
                           wasmtime_error_t **error_ret, wasmtime_async_continuation_t *cont) noexcept:
    """The engine's entry into an async component host function (on the
    call's stack), as _aio_host_entry is for core ones."""
    cdef _ComponentHostFunc hf = <_ComponentHostFunc>env
    cdef Store store = <Store>(<wb_store_state_t *>wasmtime_context_get_data(ctx)).store
    cdef _AsyncComponentHostCall hc = None
    # until the call is set up: a continuation that is done at once
    cont.callback = _aio_host_done
    cont.env = NULL
    cont.finalizer = NULL
    if store._pending is not None:
        # an earlier host call of this call failed after it awaited, and the
        # guest ran on to here: this one fails at once (the failure stays)
        error_ret[0] = wasmtime_error_new(_HOST_RAISED)
        return
    try:
        if store._aio_call == NULL:  # cannot happen: the engine calls it inside polls
            raise WasmError("an async host function ran outside an async call")
        hc = _AsyncComponentHostCall.__new__(_AsyncComponentHostCall)
        hc.store = store
        hc.chf = hf
        hc.cresults = results
        hc.error_ret = error_ret
        hc.borrowed = []
        r = hf.fn(*_host_args(hf, ty, args, nargs, nresults, store, hc.borrowed))
        if isinstance(r, _types.CoroutineType):
            hc.coro = r
        elif hasattr(type(r), "__await__"):
            hc.coro = r.__await__()
        else:
            hc.value = r
            hc.has_value = True
    except BaseException as exc:
        if hc is not None:
            hc._fail(exc)  # its ComponentError may be the function's E
            hc.error_ret = NULL
        else:
            _store_host_exception(store, exc)
            error_ret[0] = wasmtime_error_new(_HOST_RAISED)
        return
    hc.error_ret = NULL
    (<_EngineFuture>store._aio_call).host = hc  # owns it; the continuation borrows it
    cont.env = <void *>hc
    cont.callback = _aio_host_step
    cont.finalizer = _aio_host_drop


cdef wasmtime_error_t *_aio_component_add_func(wasmtime_component_linker_instance_t *li, bytes name,
                                               _ComponentHostFunc hf) noexcept:
    """LinkerInstance.add_func with an async function (the caller gave the
    engine its reference to ``hf`` and checked the engine is async)."""
    return wasmtime_component_linker_instance_add_func_async(li, name, len(name), _aio_chost_entry,
                                                             <void *>hf, wb_decref_finalizer)
