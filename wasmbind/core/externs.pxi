# Externs: what a store holds (functions, memories, globals, tables). The base
# class of store-bound objects, wrapping the engine's externs as Python
# objects and back, and handing one Python value to the engine.

from wasmbind.errors import WasmError


# auto_pickle(False): Cython's generated __setstate__, callable on any
# subclass through this base, would re-bind an object to another store.
@cython.auto_pickle(False)
cdef class _StoreObject:
    """Base of everything that lives in a store (see _core.pxd)."""

    cdef wasmtime_context_t *_context(self) except NULL:
        if self.store is None:
            raise WasmError("%s was not initialized" % type(self).__name__)
        return self.store._context()

    cdef int _claim(self) except -1:
        # An object bound to one store, then re-bound by a second __init__,
        # would hand the engine handles of one store with another (or move a
        # memory out from under its views): construction happens once, and a
        # failed one leaves an object that only raises.
        if self._claimed:
            raise WasmError("%s is already initialized" % type(self).__name__)
        self._claimed = True
        return 0

    def __reduce__(self):
        _refuse_pickle(self)


cdef inline _StoreObject _bind(_StoreObject obj, Store store):
    """Binds an object made by wasmbind (not by __init__) to its store."""
    obj._claimed = True
    obj.store = store
    return obj


cdef str _unusable(_StoreObject obj):
    """Why ``obj`` cannot reach its store from this thread now (for reprs), or None."""
    cdef Store store = obj.store
    if store is None:
        return "uninitialized"
    if store._ctx == NULL:
        return "closed store"
    if store._state.depth and store._state.owner != wb_thread_id():
        return "store busy in another thread"
    return None


cdef int _refuse_pickle(object obj) except -1:
    """The one refusal of everything that lives in one process's memory."""
    name = type(obj).__name__.lstrip("_")
    if isinstance(obj, Linker):
        what = "its definitions are this process's functions and store items"
        then = "define a Linker on the other side"
    else:
        if isinstance(obj, Store):
            what = "it is this process's memory (its instances, linear memories, functions)"
        else:
            what = "it lives in a Store, in this process's memory only"
        then = "instantiate it in a new Store on the other side: Store(module.engine)"
    raise TypeError("cannot pickle a wasmbind.%s: %s. Send the Module instead (Modules pickle) "
                    "and %s" % (name, what, then))


cdef enum _ValueSink:
    _GLOBAL_NEW
    _GLOBAL_SET
    _TABLE_NEW
    _TABLE_SET
    _TABLE_GROW


cdef uint64_t _give_value(Store store, object valtype, object value, _ValueSink sink, void *target,
                          const void *type_, uint64_t arg) except? 0xFFFFFFFFFFFFFFFF:
    """Converts ``value`` to ``valtype`` and hands it to one engine operation;
    returns what ``table.grow`` returns (the previous size), else 0.

    The invariant kept here for every such operation: an externref made by the
    conversion is rooted, and must be unrooted exactly once after the engine
    has taken its own reference, whether the operation failed or not. The kind
    is read before converting, so a failure there leaves nothing to unroot.
    The context is taken again after converting: that can run Python code
    (``__index__``...) that closes the store or hands it to another thread.
    """
    cdef uint8_t kind = <int>valtype
    cdef wasmtime_val_t val
    cdef wasmtime_context_t *ctx
    cdef wasmtime_error_t *err = NULL
    cdef uint64_t prev = 0
    _release_dead(store)
    _to_val(store, store._context(), kind, value, &val)
    try:
        ctx = store._context()
        if sink == _GLOBAL_NEW:
            err = wasmtime_global_new(ctx, <const wasm_globaltype_t *>type_, &val,
                                      <wasmtime_global_t *>target)
        elif sink == _GLOBAL_SET:
            err = wasmtime_global_set(ctx, <const wasmtime_global_t *>target, &val)
        elif sink == _TABLE_NEW:
            err = wasmtime_table_new(ctx, <const wasm_tabletype_t *>type_, &val,
                                     <wasmtime_table_t *>target)
        elif sink == _TABLE_SET:
            err = wasmtime_table_set(ctx, <const wasmtime_table_t *>target, arg, &val)
        else:
            err = wasmtime_table_grow(ctx, <const wasmtime_table_t *>target, arg, &val, &prev)
    finally:
        _unroot_vals(&val, 1)
    if err != NULL:
        _raise_error(err)
    return prev


cdef object _wrap_extern(Store store, wasmtime_extern_t *item, object name):
    cdef Memory m
    cdef Global g
    cdef Table t
    if item.kind == WB_EXTERN_FUNC:
        return Func._wrap(store, &item.of.func, name)
    if item.kind == WB_EXTERN_MEMORY:
        m = Memory.__new__(Memory)
        m._mem = item.of.memory
        return _bind(m, store)
    if item.kind == WB_EXTERN_GLOBAL:
        g = Global.__new__(Global)
        g._global = item.of.global_
        return _bind(g, store)
    if item.kind == WB_EXTERN_TABLE:
        t = Table.__new__(Table)
        t._table = item.of.table
        return _bind(t, store)
    if item.kind == WB_EXTERN_TAG:
        return Tag._wrap(store, &item.of.tag)
    if item.kind == WB_EXTERN_SHAREDMEMORY:
        sm = SharedMemory._wrap(store.engine, item.of.sharedmemory)  # takes the handle
        _wake_register(store, sm)
        return sm
    kind = item.kind
    wasmtime_extern_delete(item)
    return _Unsupported(name, "kind %d" % kind)


class _Unsupported:
    """An export of a kind wasmbind does not know (a newer engine's)."""

    def __init__(self, name, kind):
        self.name = name
        self.kind = kind

    def __repr__(self):
        return "<wasmbind unsupported %s export %r>" % (self.kind, self.name)


cdef int _check_owner(_StoreObject obj, Store store) except -1:
    """The one ownership rule: an object of one store never reaches the engine
    with another (the engine aborts the process on it)."""
    if obj.store is not store:
        if obj.store is None:
            raise WasmError("the %s was not initialized" % type(obj).__name__)
        raise ValueError("the %s belongs to a different Store" % type(obj).__name__)
    return 0


cdef int _as_extern(Store store, object obj, wasmtime_extern_t *out) except -1:
    if isinstance(obj, Func):
        _check_owner(<Func>obj, store)
        out.kind = WB_EXTERN_FUNC
        out.of.func = (<Func>obj)._func
    elif isinstance(obj, Memory):
        _check_owner(<Memory>obj, store)
        out.kind = WB_EXTERN_MEMORY
        out.of.memory = (<Memory>obj)._mem
    elif isinstance(obj, Global):
        _check_owner(<Global>obj, store)
        out.kind = WB_EXTERN_GLOBAL
        out.of.global_ = (<Global>obj)._global
    elif isinstance(obj, Table):
        _check_owner(<Table>obj, store)
        out.kind = WB_EXTERN_TABLE
        out.of.table = (<Table>obj)._table
    elif isinstance(obj, SharedMemory):
        if (<SharedMemory>obj).engine is not store.engine:
            raise ValueError("the SharedMemory belongs to a different Engine than the Store's")
        _wake_register(store, <SharedMemory>obj)
        out.kind = WB_EXTERN_SHAREDMEMORY
        out.of.sharedmemory = (<SharedMemory>obj)._mem()
    elif isinstance(obj, Tag):
        _check_owner(<Tag>obj, store)
        out.kind = WB_EXTERN_TAG
        out.of.tag = (<Tag>obj)._tag
    else:
        raise TypeError("expected a Func, Memory, SharedMemory, Global, Table or Tag, got %s" % type(obj).__name__)
    return 0


cdef object _as_index(object v, str what):
    """``v`` as a Python int for an index, offset, size or count: ints and
    objects with __index__ (NumPy integers), not bools (a bool where a number
    is meant is a mistake, not 0 or 1)."""
    if isinstance(v, bool) or not (PyLong_Check(v) or PyIndex_Check(v)):
        raise TypeError("%s must be an int, not %s" % (what, type(v).__name__))
    return v if PyLong_Check(v) else PyNumber_Index(v)


cdef inline Py_ssize_t _offset(object v, str what) except -1:
    v = _as_index(v, what)
    if v < 0:
        raise IndexError("%s %d is negative" % (what, v))
    if v > 2**62:
        raise IndexError("%s %d is out of bounds" % (what, v))
    return v
