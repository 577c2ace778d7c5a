# Functions: Func, its signature, and the call path into Wasm.

@cython.final
cdef class Func(_StoreObject):
    """A WebAssembly function: an export, or a Python callable made callable from Wasm.

    ``Func(store, functype, callable, *, access_caller=False)`` wraps a Python
    callable; with ``access_caller=True`` it receives a :class:`Caller` first.
    Calling a Func converts the arguments by its signature and returns None, the
    value, or a tuple of values. A trap raises :class:`Trap`; an exception raised
    by a host function comes out as the same object.
    """

    def __init__(self, Store store not None, functype, fn, *, bint access_caller=False):
        cdef wasmtime_context_t *ctx
        cdef _HostFunc hf
        cdef wasm_functype_t *ft
        self._claim()
        store._context()
        hf = _HostFunc._wrap(fn, functype, access_caller)
        ft = _functype_new(functype)
        try:
            ctx = store._context()  # the lines above ran Python code
            # The store owns the environment: it is released when the store is.
            store._hostfuncs.append(hf)
            if hf.is_async:
                _aio_func_new(store, ctx, ft, hf, &self._func)
            elif hf.has_refs or store.engine._exceptions:  # only this kind can throw
                wasmtime_func_new(ctx, ft, wb_host_entry_val, <void *>hf, NULL, &self._func)
            else:
                wasmtime_func_new_unchecked(ctx, ft, wb_host_entry_raw, <void *>hf, NULL, &self._func)
        finally:
            wasm_functype_delete(ft)
        self.store = store
        self._type = functype
        self._name = getattr(fn, "__name__", None)

    def __dealloc__(self):
        PyMem_Free(self._kinds)

    @staticmethod
    cdef Func _wrap(Store store, wasmtime_func_t *func, object name):
        cdef Func self = Func.__new__(Func)
        _bind(self, store)
        self._func = func[0]
        self._name = name
        return self

    cdef int _load_sig(self, wasmtime_context_t *ctx) except -1:
        cdef wasm_functype_t *ft
        if self._type is None:
            ft = wasmtime_func_type(ctx, &self._func)
            try:
                self._type = _functype_py(ft)
            finally:
                wasm_functype_delete(ft)
        self._kinds = _kinds_of(self._type, &self._has_refs)
        self._nparams = len(self._type.params)
        self._nresults = len(self._type.results)
        self._fast = not self._has_refs and max(self._nparams, self._nresults) <= SMALL
        self._sig_loaded = True
        return 0

    @property
    def type(self):
        """The function's FuncType."""
        if self._type is None:
            self._load_sig(self._context())
        return self._type

    @property
    def name(self):
        return self._name

    cdef str _label(self):
        return "%s%s" % (self._name or "wasm function", self._type.signature())

    cdef int _arity_error(self, Py_ssize_t given) except -1:
        raise TypeError("%s takes %d argument%s (%d given)" % (
            self._label(), self._nparams, "" if self._nparams == 1 else "s", given))

    cdef int _arg_error(self, Py_ssize_t i, object exc) except -1:
        raise type(exc)("%s argument %d: %s" % (self._label(), i + 1, exc)) from None

    def __cinit__(self):
        self._vectorcall = <vectorcallfunc><void *>_func_vectorcall

    def __call__(self, *args):
        # calls come through the vectorcall slot: only tp_call reaches this,
        # and it takes the path with every check
        return _invoke_checked(self, PySequence_Fast_ITEMS(args), PyTuple_GET_SIZE(args))

    def call_async(self, *args):
        """``await func.call_async(*args)``: the call on an async store
        (``Config(async_support=True)``), converting arguments and results as a
        call does. Running Wasm yields to the event loop at epoch ticks and while
        ``async def`` host functions await; cancelling the awaiting task stops
        it (see docs/asyncio.md)."""
        return _aio_call_func(self, args)

    def map(self, *arrays, out=None):
        """Apply the function element-wise over arrays, without Python per element.

        ``func.map(xs, ys, out=None)`` takes one argument per parameter and
        gives what calling ``func`` on every element would give: the results
        are equal, and where one of those calls would raise, map raises too.
        Numeric signatures only (i32, i64, f32, f64).

        Arguments. A scalar (int, float, bool, a NumPy scalar, a 0-d array) is
        converted once, exactly as a call converts it, and broadcast. Anything
        else is an array: a buffer (NumPy array, array.array, memoryview...)
        of the parameter's type (int32 or uint32 for i32, int64 or uint64 for
        i64, float32, float64) is read in place, at any strides and read-only
        or not. Other arrays are converted with NumPy (a copy) by NumPy's
        "same_kind" casting, made as strict as a call: bool and integer arrays
        convert to any type (bool as 0 and 1; ints for an f32 are rounded to
        float64 first, as a call rounds); float arrays only to f32/f64 (never
        to an int, as a call refuses 2.0); complex, string, date and
        structured arrays raise TypeError, masked arrays too. 8-byte ints for
        an i32 must all be in a call's range [-2**31, 2**32), else
        OverflowError naming the first bad index: they are never wrapped.
        Lists, tuples and object arrays are converted element by element as a
        call converts. Without NumPy only buffers of the exact type work.

        Shapes broadcast by NumPy's rules (ValueError if they cannot); the
        results have the broadcast shape, C-contiguous: new NumPy arrays
        (1-d array.array without NumPy). With no element, nothing is called.

        ``out`` is an array (a tuple of them for several results) of exactly
        the result's type (int32, int64, float32, float64: signed, native
        order) and the broadcast shape, writable; it is written in place at
        any strides, never through a copy, else TypeError or ValueError. An
        ``out`` may share memory with an input: the result is as with separate
        arrays (the input is copied first, unless both are the very same
        elements, as in ``f.map(x, out=x)``). Several ``out`` arrays sharing
        an element raise ValueError. Returns ``out`` (``None`` without
        results).

        A trap or an exception in the function stops the loop and raises;
        the elements before it (in C order) are written; the store stays usable.

        Where the loop runs. From 32 elements over one dimension (contiguous
        or at one stride), inside the engine: a small generated Wasm module
        (compiled once per signature and engine, one instance per function in
        each store) imports the function and calls it on every element, a
        Wasm-to-Wasm call of a few ns. Contiguous arrays that are views of a
        memory of the function's store (``numpy.frombuffer(memory, ...)``) are
        used in place; the others are copied through a 256 KiB staging memory
        of the store, block by block. That loop is Wasm code: it uses a little
        fuel of its own per element, and deadlines and Ctrl-C stop it as any
        call. Everything else takes one C loop of calls (each element one call
        from C into the engine): shorter arrays, N-d arrays that do not merge
        into one dimension, strided views of the store's memories, a map
        started by a host function inside another map of the same store, and
        stores with ``set_limits(instances=...)`` or ``memories=...`` (the
        loop's instance and memory would use up that budget) or a memory limit
        below the staging memory. Both loops give the same results, bit for
        bit, and stop at the same element.
        """
        self._context()
        return _map(self, arrays, out)

    cdef object _call_vals(self, tuple args):
        """The call path for signatures with reference types (rooting needed)."""
        cdef Store store = self.store
        cdef Py_ssize_t np = self._nparams, nr = self._nresults, i
        cdef wasmtime_context_t *ctx = store._context()
        cdef wasmtime_val_t *vals
        cdef wasmtime_error_t *err
        cdef wasm_trap_t *trap = NULL
        cdef bint ok = False
        # The store is held as in a call from here to the last result: the
        # conversions run Python code (__index__, a GC's __del__) that could
        # otherwise close it, or let another thread into it, between the
        # engine operations that use this context.
        if wb_state_enter(&store._state):
            _stack_refused(store)
        try:
            vals = <wasmtime_val_t *>PyMem_Malloc((np + nr + 1) * sizeof(wasmtime_val_t))
            if vals == NULL:
                raise MemoryError()
            memset(vals, 0, (np + nr + 1) * sizeof(wasmtime_val_t))
            try:
                for i in range(np):
                    try:
                        _to_val(store, ctx, self._kinds[i], args[i], &vals[i])
                    except (TypeError, OverflowError, ValueError) as exc:
                        self._arg_error(i, exc)
                wb_state_enter(&store._state)
                if store._state.release_gil:
                    with nogil:
                        err = wasmtime_func_call(ctx, &self._func, vals, np, vals + np, nr, &trap)
                else:
                    err = wasmtime_func_call(ctx, &self._func, vals, np, vals + np, nr, &trap)
                wb_state_leave(&store._state)
                if err != NULL or trap != NULL:
                    _raise_call_failure(store, err, trap)
                ok = True
                results = tuple([_from_val(store, ctx, &vals[np + i]) for i in range(nr)])
            finally:
                _unroot_vals(vals, np)
                if ok:
                    _unroot_vals(vals + np, nr)
                PyMem_Free(vals)
        finally:
            wb_state_leave(&store._state)
        _release_dead(store)
        if nr == 0:
            return None
        if nr == 1:
            return results[0]
        return results

    def __repr__(self):
        if self._type is None and _unusable(self) is None and not self.store._state.depth:
            self._load_sig(self.store._ctx)
        sig = self._type.signature() if self._type is not None else "(?)"
        if self.store is None:
            return "<wasmbind.Func (uninitialized)>"
        return "<wasmbind.Func %s%s>" % (self._name or "", sig)


# ---------------------------------------------------------------- call path
#
# Calling an export is the hot path: vectorcall straight into wb_call_fast, no
# tuple; arguments converted by a noexcept fast path for exact ints and floats
# into a stack array of raw values; the unchecked call; results converted
# back. Anything unusual (int subclasses, numpy scalars, errors, reference
# types, long signatures) leaves the fast path.

cdef int _to_raw_slow(Func f, Py_ssize_t i, object v, wasmtime_val_raw_t *out) except -1:
    try:
        _to_raw(f._kinds[i], v, out)
    except (TypeError, OverflowError, ValueError) as exc:
        f._arg_error(i, exc)
    # The conversion ran Python code (__index__, __float__): it may have
    # closed the store or let another thread into it. The store cannot be
    # opened again, so the caller's context is still right if this passes.
    f.store._context()
    return 0


cdef object _func_vectorcall(Func self, PyObject **args, size_t nargsf, PyObject *kwnames):
    # The vectorcall slot of every Func (self: the Func called). The common
    # call is one C function, here: a loaded signature without reference
    # types, the right arity, an open store with no call running (a pointer
    # compare and flags; self.store is set whenever the signature is loaded).
    # Anything else, and whatever wb_call_fast cannot finish, goes below.
    cdef wasmtime_val_raw_t small[SMALL]
    cdef wb_fast_out_t out
    cdef PyObject *r
    cdef Py_ssize_t n, nargs = PyVectorcall_NARGS(nargsf)
    if kwnames != NULL and PyTuple_GET_SIZE(<object>kwnames):
        raise TypeError("WebAssembly functions take no keyword arguments")
    if (self._fast and nargs == self._nparams and self.store._ctx != NULL
            and not self.store._state.depth and not self.store._state.async_yield):
        n = self._nparams if self._nparams > self._nresults else self._nresults
        r = wb_call_fast(&self.store._state, self.store._ctx, &self._func, self._kinds, args, 0,
                         nargs, self._nresults, small, n, &out)
        if r != NULL:
            return _steal(r)
        return _invoke_rest(self, self.store._ctx, args, nargs, small, n, &out)
    return _invoke_checked(self, args, nargs)


cdef object _invoke_checked(Func self, PyObject **args, Py_ssize_t nargs):
    """A call that is not known to be on the fast path: every check."""
    # self.store, not a local: a local would take a reference per call (self,
    # built once, holds its store for the whole call)
    cdef wasmtime_context_t *ctx
    cdef wasmtime_val_raw_t small[SMALL]
    cdef Py_ssize_t n
    if self.store is None:  # made with Func.__new__ (a pointer compare): raises
        self._context()
    ctx = self.store._ctx
    if ctx == NULL or self.store._state.depth or self.store._state.async_yield:
        ctx = self.store._context()
        if self.store._state.async_yield:
            _aio_refuse_sync("calling a Func", "await func.call_async(...)")
    if not self._sig_loaded:
        self._load_sig(ctx)
        ctx = self.store._context()  # loading ran Python code
    if nargs != self._nparams:
        self._arity_error(nargs)
    if self._has_refs:
        return self._call_vals(tuple([<object>args[i] for i in range(nargs)]))
    n = self._nparams if self._nparams > self._nresults else self._nresults
    if n <= SMALL:
        return _invoke_raw(self, ctx, args, nargs, small, n)
    return _invoke_heap(self, ctx, args, nargs, n)


cdef object _invoke_heap(Func self, wasmtime_context_t *ctx, PyObject **args, Py_ssize_t nargs,
                         Py_ssize_t n):
    """_invoke_raw with the raw values on the heap (long signatures)."""
    cdef wasmtime_val_raw_t *raw = <wasmtime_val_raw_t *>PyMem_Malloc(n * sizeof(wasmtime_val_raw_t))
    if raw == NULL:
        raise MemoryError()
    try:
        return _invoke_raw(self, ctx, args, nargs, raw, n)
    finally:
        PyMem_Free(raw)


cdef object _invoke_raw(Func self, wasmtime_context_t *ctx, PyObject **args, Py_ssize_t nargs,
                        wasmtime_val_raw_t *raw, Py_ssize_t n):
    cdef wb_fast_out_t out
    cdef PyObject *r = wb_call_fast(&self.store._state, ctx, &self._func, self._kinds, args, 0,
                                    nargs, self._nresults, raw, n, &out)
    if r != NULL:
        return _steal(r)
    return _invoke_rest(self, ctx, args, nargs, raw, n, &out)


cdef object _invoke_rest(Func self, wasmtime_context_t *ctx, PyObject **args, Py_ssize_t nargs,
                         wasmtime_val_raw_t *raw, Py_ssize_t n, wb_fast_out_t *out):
    """A call wb_call_fast came back from without a result (out says why):
    arguments it could not convert are converted here, one at a time, and it
    goes on from the next; the call's failures are raised here."""
    cdef PyObject *r = NULL
    while out.status == WB_FAST_ARG:
        _to_raw_slow(self, out.stop, <object>args[out.stop], &raw[out.stop])
        r = wb_call_fast(&self.store._state, ctx, &self._func, self._kinds, args, out.stop + 1,
                         nargs, self._nresults, raw, n, out)
        if r != NULL:
            return _steal(r)
    if out.status == WB_FAST_STACK:
        _stack_refused(self.store)
    if out.status == WB_FAST_FAILED:
        _raise_call_failure(self.store, out.err, out.trap)
    return _steal(r)  # NULL: converting a result raised


# Give Func instances a vectorcall slot (Cython gives extension types' __call__
# only tp_call, which builds an argument tuple per call).
cdef int _enable_func_vectorcall() except -1:
    cdef Func probe = Func.__new__(Func)
    cdef Py_ssize_t offset = <char *>&probe._vectorcall - <char *><PyObject *>probe
    (<PyTypeObject_vectorcall *>Func).tp_vectorcall_offset = offset
    (<PyTypeObject_vectorcall *>Func).tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL
    return 0
