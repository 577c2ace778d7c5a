# Component instances: ComponentInstance, its exports as nested namespaces
# (functions, and interfaces holding functions), and ComponentFunc with the
# component call path.
#
# The call path: arguments are converted (values.pxi) into a stack array of
# tagged values whose storage is one arena of the call (the engine only reads
# them), all of them before the engine sees any; then the call, with
# the same store entry and exit as core calls (deadlines, Ctrl-C, fuel, the
# GIL hand-off, one owner thread); then the result is converted back and every
# engine value is freed. A `result<T, E>` result is returned as T or raised as
# ComponentError(E). Post-return functions are run by the engine inside the call.

from wasmbind.errors import ComponentError, Trap, TrapCode, WasmError


cdef enum:
    _SMALL_ARGS = 8   # tagged argument values on the C stack; more go to the heap


@cython.final
cdef class ComponentFunc(_StoreObject):
    """A function exported by a component instance: call it with Python values.

    Arguments are checked and converted by the function's WIT type (see
    :class:`WitType`); a wrong value raises TypeError (OverflowError for
    out-of-range ints, ValueError for bad strings or names) naming where in the
    value it is, and nothing reaches the component. A trap raises Trap; an
    exception raised by a Python import comes out as the same object. A
    function returning ``result<T, E>`` returns T or raises ComponentError whose
    ``value`` is E.
    """

    def __init__(self):
        raise TypeError("component functions are reached through an instance's exports")

    @staticmethod
    cdef ComponentFunc _wrap(Store store, wasmtime_component_func_t *f, str name, object owner):
        cdef ComponentFunc self = ComponentFunc.__new__(ComponentFunc)
        self.store = store
        self._func = f[0]
        self._name = name
        self._owner = owner
        return self

    cdef int _load(self, wasmtime_context_t *ctx) except -1:
        cdef wasmtime_component_func_type_t *ft = wasmtime_component_func_type(&self._func, ctx)
        if ft == NULL:
            raise WasmError("the engine gave no type for %s" % self._name)
        try:
            self._type = _read_functype(ft, _TypeScope())
        finally:
            wasmtime_component_func_type_delete(ft)
        for pname, ptype in self._type.params:
            if _unsupported_type(<WitType>ptype):
                self._unsupported = "parameter %s has type %s" % (pname, ptype)
        if self._type.result is not None and _unsupported_type(<WitType>self._type.result):
            self._unsupported = "its result has type %s" % self._type.result
        self._params = tuple([p[1] for p in self._type.params])
        self._pnames = tuple([p[0] for p in self._type.params])
        self._nparams = len(self._params)
        self._result = self._type.result
        self._loaded = True
        return 0

    @property
    def type(self):
        """The function's :class:`FuncType` (params with WIT types, result)."""
        if not self._loaded:
            self._load(self._context())
        return self._type

    @property
    def name(self):
        return self._name

    def __call__(self, *args, **kwargs):
        cdef Store store = self.store
        cdef wasmtime_context_t *ctx = store._ctx
        if ctx == NULL or store._state.depth or store._state.async_yield:
            ctx = store._context()
            if store._state.async_yield:
                _aio_refuse_sync("calling a component function", "await func.call_async(...)")
        if not self._loaded:
            self._load(ctx)
        if kwargs:
            args = self._bind(args, kwargs)
        return _component_call(self, store, ctx, args)

    def call_async(self, *args, **kwargs):
        """``await func.call_async(*args, **kwargs)``: the call on an async store
        (``Config(async_support=True)``), converting arguments and results as a
        call does; the component yields to the event loop at epoch ticks and
        while ``async def`` imports await (see docs/asyncio.md)."""
        return _aio_component_call(self, args, kwargs)

    cdef tuple _bind(self, tuple args, dict kwargs):
        """Positional plus keyword arguments (by WIT or snake_case parameter name)."""
        out = list(args) + [_MISSING] * (self._nparams - len(args))
        if len(out) > self._nparams:
            self._arity_error(len(args) + len(kwargs))
        for k, v in kwargs.items():
            for i in range(self._nparams):
                if self._pnames[i] == k or _snake(self._pnames[i]) == k:
                    break
            else:
                raise TypeError("%s() got an unexpected keyword argument %r" % (self._name, k))
            if out[i] is not _MISSING:
                raise TypeError("%s() got multiple values for argument %r" % (self._name, k))
            out[i] = v
        for i in range(self._nparams):
            if out[i] is _MISSING:
                raise TypeError("%s() missing argument %r" % (self._name, self._pnames[i]))
        return tuple(out)

    cdef int _arity_error(self, Py_ssize_t given) except -1:
        raise TypeError("%s%s takes %d argument%s (%d given)" % (
            self._name, self._type, self._nparams, "" if self._nparams == 1 else "s", given))

    def __repr__(self):
        sig = ""
        if self._loaded:
            sig = str(self._type)
        elif self.store._ctx != NULL and not self.store._state.depth:
            self._load(self.store._ctx)
            sig = str(self._type)
        return "<wasmbind.component.Func %s: %s>" % (self._name, sig or "func(?)")


cdef int _check_call(ComponentFunc f, Py_ssize_t n) except -1:
    if n != f._nparams:
        f._arity_error(n)
    if f._unsupported is not None:
        raise TypeError("%s cannot be called from Python yet: %s" % (f._name, f._unsupported))
    return 0


cdef int _lower_args(ComponentFunc f, tuple args, wasmtime_component_val_t *vals, Store store,
                     Py_ssize_t *made, wb_arena_t *arena) except -1:
    """The arguments into ``vals``; ``made`` counts the values to delete.
    With an ``arena`` (a sync call: the engine only reads the arguments) they
    are built in it, else with the engine's allocators (an async call's values
    outlive this frame). Python code run by a conversion may make a call of
    its own, with its own arena, so the store's arena is set here and is none
    after: none while the engine runs (host functions build results the engine
    owns). The caller puts back the arena it found."""
    cdef Py_ssize_t i
    store._carena = arena
    try:
        for i in range(PyTuple_GET_SIZE(args)):
            made[0] = i + 1
            try:
                _lower(<WitType>f._params[i], <object>PyTuple_GET_ITEM(args, i), &vals[i], store)
            except (TypeError, OverflowError, ValueError) as exc:
                raise _with_path(exc, "%s() argument %r" % (f._name, f._pnames[i])) from None
    finally:
        store._carena = NULL
    return 0


cdef object _call_result(ComponentFunc f, wasmtime_component_val_t *res, Store store):
    """The result of a finished call: None, the value, or for ``result<T, E>``
    T (an E raised as ComponentError)."""
    if f._result is None:
        return None
    if (<WitType>f._result)._k == WB_CT_RESULT:
        r = _lift(<WitType>f._result, res, store)
        if isinstance(r, Err):
            raise ComponentError(r.value)
        return r.value
    return _lift(<WitType>f._result, res, store)


cdef object _component_call(ComponentFunc f, Store store, wasmtime_context_t *ctx, tuple args):
    cdef Py_ssize_t n = PyTuple_GET_SIZE(args), i, made = 0
    cdef wasmtime_component_val_t small[_SMALL_ARGS + 1]
    cdef wasmtime_component_val_t *vals = small
    cdef wasmtime_component_val_t *res
    cdef wasmtime_error_t *err
    cdef size_t nres = 1 if f._result is not None else 0
    cdef bint called = False
    cdef wb_arena_t arena
    cdef void *outer_arena = store._carena
    _check_call(f, n)
    if n + 1 > _SMALL_ARGS + 1:
        vals = <wasmtime_component_val_t *>PyMem_Malloc((n + 1) * sizeof(wasmtime_component_val_t))
        if vals == NULL:
            raise MemoryError()
    memset(vals, 0, (n + 1) * sizeof(wasmtime_component_val_t))
    res = vals + n
    cs = store._component
    wb_arena_init(&arena)
    try:
        _lower_args(f, args, vals, store, &made, &arena)
        if wb_state_enter(&store._state):
            _stack_refused(store)
        called = True
        if store._state.release_gil:
            with nogil:
                err = wasmtime_component_func_call(&f._func, ctx, vals, n, res, nres)
        else:
            err = wasmtime_component_func_call(&f._func, ctx, vals, n, res, nres)
        wb_state_leave(&store._state)
        if err != NULL:
            _component_failure(store, err)
        return _call_result(f, res, store)
    finally:
        store._carena = outer_arena
        for i in range(made):
            wb_cval_release_handles(&vals[i])
        wb_arena_free(&arena)
        wasmtime_component_val_delete(res)
        if vals != small:
            PyMem_Free(vals)
        if store._component is not None and (<_ComponentState>store._component).moved:
            _settle_moved(<_ComponentState>store._component, called)


# the engine reports component traps as errors "wasm trap: <text>": their codes by text
_TRAP_TEXTS = (
    ("unreachable", TrapCode.UNREACHABLE),
    ("out of bounds memory access", TrapCode.MEMORY_OUT_OF_BOUNDS),
    ("integer divide by zero", TrapCode.INTEGER_DIVISION_BY_ZERO),
    ("integer overflow", TrapCode.INTEGER_OVERFLOW),
    ("call stack exhausted", TrapCode.STACK_OVERFLOW),
    ("all fuel consumed", TrapCode.OUT_OF_FUEL),
    ("cannot enter component instance", TrapCode.CANNOT_ENTER_COMPONENT),
    ("interrupt", TrapCode.INTERRUPT),
    ("undefined element", TrapCode.TABLE_OUT_OF_BOUNDS),
    ("out of bounds table access", TrapCode.TABLE_OUT_OF_BOUNDS),
    ("indirect call type mismatch", TrapCode.BAD_SIGNATURE),
    ("invalid conversion to integer", TrapCode.BAD_CONVERSION_TO_INTEGER),
    ("misaligned", TrapCode.HEAP_MISALIGNED),
)


cdef int _component_failure(Store store, wasmtime_error_t *err) except -1:
    """The choke point after a failed call into a component: what the core
    choke point does (host exceptions, deadlines, WASI exits), plus the
    engine's component traps, which arrive as errors, turned into Trap with
    their TrapCode."""
    cdef int status
    cdef wasm_frame_vec_t trace
    if store._pending is not None or store._state.interrupted or wasmtime_error_exit_status(err, &status):
        return _raise_call_failure(store, err, NULL)
    try:
        message = _error_message(err) or ""
        wasmtime_error_wasm_trace(err, &trace)
        frames = _frames(&trace)
    finally:
        wasmtime_error_delete(err)
    at = message.find("wasm trap: ")
    if at >= 0:
        text = message[at + len("wasm trap: "):].split("\n", 1)[0].strip()
        for needle, code in _TRAP_TEXTS:
            if needle in text:
                raise Trap(text, code, frames)
        raise Trap(text, None, frames)
    message = _clean_message(message)
    if frames:
        raise Trap(message, None, frames)
    raise WasmError(message)


cdef int _settle_moved(_ComponentState cs, bint called) except -1:
    """Owned handles passed as arguments: once the call was made they belong to
    the component, so the Python handles stop working."""
    cdef ResourceHandle h
    moved = cs.moved
    cs.moved = []
    if called:
        for h in moved:
            h._expire("was moved into the component by a call (it owns it now)")
    return 0


@cython.final
cdef class ComponentExports:
    """A component instance's exports, or an exported interface's members:
    ``exports["add"]``, ``exports.add`` (kebab-case names also as snake_case),
    ``exports["ns:pkg/iface"]["f"]`` or ``exports["ns:pkg/iface"].f``; ``in``,
    iteration over names, ``len``. A missing name raises KeyError /
    AttributeError naming it."""

    def __cinit__(self):
        self._items = {}

    @staticmethod
    cdef ComponentExports _make(ComponentInstance inst, object members, str prefix,
                                wasmtime_component_export_index_t *parent):
        cdef ComponentExports ex = ComponentExports.__new__(ComponentExports)
        ex._inst = inst
        ex._members = members          # name -> item type
        ex._prefix = prefix
        ex._parent = parent
        ex._aliases = {}
        for name in members:
            ex._aliases.setdefault(_snake(name), name)
        return ex

    def __dealloc__(self):
        if self._parent != NULL:
            wasmtime_component_export_index_delete(self._parent)
            self._parent = NULL

    cdef object _lookup(self, object name, object missing):
        cdef wasmtime_component_export_index_t *idx
        cdef wasmtime_component_func_t f
        cdef Store store = self._inst.store
        try:
            return self._items[name]
        except (KeyError, TypeError):
            pass
        if not isinstance(name, str):
            return missing
        real = name if name in self._members else self._aliases.get(name)
        if real is None:
            return missing
        t = self._members[real]
        ctx = store._context()
        b = (<str>real).encode("utf-8")
        idx = wasmtime_component_instance_get_export_index(&self._inst._inst, ctx, self._parent, b, len(b))
        if idx == NULL:
            return missing
        if isinstance(t, WitFuncType):
            try:
                if not wasmtime_component_instance_get_func(&self._inst._inst, ctx, idx, &f):
                    return missing
            finally:
                wasmtime_component_export_index_delete(idx)
            v = ComponentFunc._wrap(store, &f, self._prefix + real, self._inst)
            (<ComponentFunc>v)._type = t
            (<ComponentFunc>v)._load(ctx)
        elif isinstance(t, WitInstanceType):
            v = ComponentExports._make(self._inst, t, self._prefix + real + "#", idx)
        else:
            wasmtime_component_export_index_delete(idx)
            v = t     # a type or resource type: what it is is all there is
        self._items[name] = v
        self._items[real] = v
        return v

    cdef str _missing(self, name):
        return "no export named %r (exports: %s)" % (name, ", ".join(self._members) or "none")

    def __getitem__(self, name):
        v = self._lookup(name, _MISSING)
        if v is _MISSING:
            raise KeyError(self._missing(name))
        return v

    def __getattr__(self, name):
        v = self._lookup(name, _MISSING)
        if v is _MISSING:
            raise AttributeError(self._missing(name))
        return v

    def __contains__(self, name):
        return name in self._members or name in self._aliases

    def __iter__(self):
        return iter(self._members)

    def __len__(self):
        return len(self._members)

    def get(self, name, default=None):
        return self._lookup(name, default)

    def keys(self):
        return list(self._members)

    def __dir__(self):
        return sorted(set(self._aliases) | set(n for n in self._members if n.isidentifier()))

    def __repr__(self):
        return "<wasmbind.component.Exports %s>" % ", ".join(self._members)


@cython.final
cdef class ComponentInstance(_StoreObject):
    """An instantiated component: ``exports`` reaches its functions and interfaces."""

    def __init__(self):
        raise TypeError("component instances are made by Linker.instantiate()")

    @staticmethod
    cdef ComponentInstance _wrap(Store store, Component component, wasmtime_component_instance_t *inst):
        cdef ComponentInstance self = ComponentInstance.__new__(ComponentInstance)
        self.store = store
        self.component = component
        self._inst = inst[0]
        self.exports = ComponentExports._make(self, component._read_type().exports, "", NULL)
        return self

    def __repr__(self):
        return "<wasmbind.component.Instance exports=[%s]>" % ", ".join(self.exports.keys())
