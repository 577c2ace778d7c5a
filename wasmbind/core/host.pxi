# Host functions: Python callables called from Wasm. The trampolines (entered
# from csrc/wasmbind_calls.h), the per-store exception slot, and Caller.

from wasmbind.errors import WasmError, WasmException
from wasmbind.types import FuncType


# auto_pickle(False): the generated pickling read ``kinds`` as a C string and
# its __setstate__ could point it anywhere.
@cython.final
@cython.auto_pickle(False)
cdef class _HostFunc:
    """What a host function's trampoline needs: the callable and its signature."""
    cdef object fn
    cdef object functype
    cdef bint access_caller
    cdef bint has_refs
    cdef bint is_async  # an async def: its trampolines are in aio/hostfuncs.pxi
    cdef Py_ssize_t nparams
    cdef Py_ssize_t nresults
    cdef uint8_t *kinds

    def __dealloc__(self):
        PyMem_Free(self.kinds)

    @staticmethod
    cdef _HostFunc _wrap(object fn, object functype, bint access_caller):
        if not callable(fn):
            raise TypeError("a host function must be callable, got %s" % type(fn).__name__)
        if not isinstance(functype, FuncType):
            raise TypeError("expected a FuncType, got %s" % type(functype).__name__)
        cdef _HostFunc hf = _HostFunc.__new__(_HostFunc)
        hf.fn = fn
        hf.functype = functype
        hf.access_caller = access_caller
        hf.nparams = len(functype.params)
        hf.nresults = len(functype.results)
        hf.kinds = _kinds_of(functype, &hf.has_refs)
        hf.is_async = _aio_is_coroutine_function(fn)
        return hf


cdef int _store_host_exception(Store store, object exc) except -1:
    # keep the first exception: a later one would only be about the unwinding
    if store._pending is None:
        store._pending = exc
    return 0


cdef tuple _host_results(_HostFunc hf, object result):
    """Normalizes a host function's return value to a tuple of nresults values."""
    if hf.nresults == 0:
        return ()
    if hf.nresults == 1:
        return (result,)
    if not isinstance(result, (tuple, list)) or len(result) != hf.nresults:
        raise TypeError("host function %r must return a tuple of %d values for %s, got %r"
                        % (hf.fn, hf.nresults, hf.functype.signature(), result))
    return tuple(result)


cdef wasmtime_error_t *_host_raw_body(void *env, wb_store_state_t *st, wasmtime_caller_t *caller,
                                      wasmtime_val_raw_t *vals, size_t n) noexcept:
    """Trampoline of host functions with numeric signatures (the fast path):
    the values to Python and back with no Python-level work and no exception
    state saved unless something fails. A Caller, several results or a long
    signature take _host_raw_general."""
    cdef _HostFunc hf = <_HostFunc>env
    cdef PyObject *argv[SMALL]
    cdef PyObject *result
    cdef Py_ssize_t np = hf.nparams, i
    if hf.access_caller or np > SMALL or hf.nresults > 1:
        return _host_raw_general(hf, st, caller, vals)
    for i in range(np):
        argv[i] = wb_raw_to_new(hf.kinds[i], &vals[i])
        if argv[i] == NULL:
            while i > 0:
                i -= 1
                Py_DECREF(<object>argv[i])
            return _host_raw_failed(st)
    result = wb_vectorcall(<PyObject *>hf.fn, argv, np, NULL)
    for i in range(np):
        Py_DECREF(<object>argv[i])
    if result == NULL:
        return _host_raw_failed(st)
    if hf.nresults == 1 and wb_to_raw_fast(hf.kinds[np], result, vals):
        return _host_raw_result(hf, st, result, vals)
    Py_DECREF(<object>result)
    return NULL


cdef int _error_is_set() except -1:
    return -1  # a C API call failed with an exception set: propagate it


cdef wasmtime_error_t *_host_raw_failed(wb_store_state_t *st) noexcept:
    """The exception set by the host function (or by making its arguments):
    kept in the store for the call to raise."""
    try:
        _error_is_set()
    except BaseException as exc:
        _store_host_exception(<Store>st.store, exc)
    return wasmtime_error_new(b"a Python host function raised an exception")


cdef wasmtime_error_t *_host_raw_result(_HostFunc hf, wb_store_state_t *st, PyObject *result,
                                        wasmtime_val_raw_t *vals) noexcept:
    """A result the fast conversion did not take (int subclasses, NumPy
    scalars, wrong types...); takes the reference to ``result``."""
    cdef object r = <object>result
    Py_DECREF(r)  # r holds its own reference now
    try:
        _to_raw(hf.kinds[hf.nparams], r, vals)
    except BaseException as exc:
        _store_host_exception(<Store>st.store, exc)
        return wasmtime_error_new(b"a Python host function raised an exception")
    return NULL


cdef wasmtime_error_t *_host_raw_general(_HostFunc hf, wb_store_state_t *st, wasmtime_caller_t *caller,
                                         wasmtime_val_raw_t *vals) noexcept:
    """_host_raw_body for a Caller, several results or a long signature."""
    cdef Store store = <Store>st.store
    cdef PyObject *small[SMALL + 1]
    cdef PyObject **argv = small
    cdef Py_ssize_t np = hf.nparams, i, off = 1 if hf.access_caller else 0, made = 0
    cdef Caller c = None
    cdef object results
    try:
        if np + off > SMALL + 1:
            argv = <PyObject **>PyMem_Malloc((np + off) * sizeof(PyObject *))
            if argv == NULL:
                raise MemoryError()
        try:
            if off:
                c = Caller._wrap(store, caller)
                Py_INCREF(c)
                argv[0] = <PyObject *>c
                made = 1
            for i in range(np):
                v = wb_raw_to_object(hf.kinds[i], &vals[i])
                Py_INCREF(v)
                argv[off + i] = <PyObject *>v
                made += 1
            result = PyObject_Vectorcall(hf.fn, argv, np + off, NULL)
        finally:
            for i in range(made):
                Py_DECREF(<object>argv[i])
            if argv != small:
                PyMem_Free(argv)
            if c is not None:
                c._ptr = NULL
        if hf.nresults == 1:
            _to_raw(hf.kinds[np], result, vals)
        elif hf.nresults > 1:
            results = _host_results(hf, result)
            for i in range(hf.nresults):
                _to_raw(hf.kinds[np + i], results[i], &vals[i])
    except BaseException as exc:
        _store_host_exception(store, exc)
        return wasmtime_error_new(b"a Python host function raised an exception")
    return NULL


cdef wasm_trap_t *_host_val_body(void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args,
                                 size_t nargs, wasmtime_val_t *results, size_t nresults) noexcept:
    """Trampoline of host functions whose signatures have reference types."""
    cdef _HostFunc hf = <_HostFunc>env
    cdef wasmtime_context_t *ctx = wasmtime_caller_context(caller)
    cdef Store store = <Store>(<wb_store_state_t *>wasmtime_context_get_data(ctx)).store
    cdef Caller c = None
    cdef object outs
    cdef size_t i
    try:
        _release_dead(store)  # a host call is a point where Python code runs anyway
        pyargs = [_from_val(store, ctx, <wasmtime_val_t *>&args[i]) for i in range(nargs)]
        if hf.access_caller:
            c = Caller._wrap(store, caller)
            pyargs.insert(0, c)
        try:
            result = hf.fn(*pyargs)
        finally:
            if c is not None:
                c._ptr = NULL
        outs = _host_results(hf, result)
        for i in range(nresults):
            _to_val(store, ctx, hf.kinds[hf.nparams + i], outs[i], &results[i])
    except BaseException as exc:
        return _host_val_failed(store, ctx, exc)
    return NULL


cdef wasm_trap_t *_host_val_failed(Store store, wasmtime_context_t *ctx, object exc) noexcept:
    """What a host function of the checked kind returns when it raised: the
    engine's trap of a WasmException thrown into the guest, else a trap that
    leaves the exception (or why the WasmException could not be thrown) in
    the store for the call to raise."""
    if isinstance(exc, WasmException) and store._pending is None:
        try:
            return _throw_into_guest(store, ctx, exc)
        except BaseException as why:
            _store_host_exception(store, why)
            return wasmtime_trap_new(b"a Python host function raised an exception", 42)
    try:
        _store_host_exception(store, exc)
    except BaseException:
        pass
    return wasmtime_trap_new(b"a Python host function raised an exception", 42)


@cython.final
cdef class Caller:
    """Passed first to host functions made with ``access_caller=True``.

    Reaches the calling instance's exports (``caller["memory"]``,
    ``caller.get("memory")``, ``caller.exports.memory``) and its store. Valid only
    while the host function runs.
    """
    cdef wasmtime_caller_t *_ptr
    cdef readonly Store store

    @staticmethod
    cdef Caller _wrap(Store store, wasmtime_caller_t *ptr):
        cdef Caller c = Caller.__new__(Caller)
        c._ptr = ptr
        c.store = store
        return c

    def __init__(self):
        raise TypeError("Caller objects are made by wasmbind for host functions")

    def get(self, name, default=None):
        """The calling instance's export ``name``, or ``default``."""
        cdef wasmtime_extern_t item
        if self._ptr == NULL:
            raise WasmError("a Caller is only valid while its host function runs")
        if not isinstance(name, str):
            raise TypeError("export names are str, not %s" % type(name).__name__)
        b = _name_bytes(name, "export name")
        self.store._check_thread()  # a Caller handed to another thread
        if not wasmtime_caller_export_get(self._ptr, <const char *>b, len(b), &item):
            return default
        return _wrap_extern(self.store, &item, name)

    def __getitem__(self, name):
        v = self.get(name, _MISSING)
        if v is _MISSING:
            raise KeyError("the calling instance has no export named %r" % (name,))
        return v

    def __contains__(self, name):
        return self.get(name, _MISSING) is not _MISSING

    @property
    def exports(self):
        """The calling instance's exports, by item or attribute access."""
        return _CallerExports(self)

    def __repr__(self):
        return "<wasmbind.Caller %s>" % ("active" if self._ptr != NULL else "expired")

    def __reduce__(self):
        _refuse_pickle(self)


cdef class _CallerExports:
    cdef Caller caller

    def __cinit__(self, Caller caller not None):
        self.caller = caller

    def __getitem__(self, name):
        return self.caller[name]

    def __getattr__(self, name):
        v = self.caller.get(name, _MISSING)
        if v is _MISSING:
            raise AttributeError("the calling instance has no export named %r" % (name,))
        return v

    def __contains__(self, name):
        return name in self.caller

    def get(self, name, default=None):
        return self.caller.get(name, default)

    def __reduce__(self):
        _refuse_pickle(self)
