# Instances: Exports, Instance, matching given imports to a module's, and
# instantiate().

from collections.abc import Mapping as _Mapping
from wasmbind.errors import LinkError
from wasmbind.types import FuncType


cdef class Exports:
    """An instance's exports: ``exports.add``, ``exports["add"]``, ``"add" in exports``,
    iteration over names (in the module's order), ``len``. A missing name raises
    KeyError / AttributeError naming it. Items are looked up in the engine on
    first use and kept, so ``exports.add`` is the same Func every time. An export
    named like a method (``get``, ``keys``, ``values``, ``items``) is reached by
    item access: ``exports["get"]``."""
    cdef Store _store
    cdef wasmtime_instance_t _instance
    cdef tuple _names
    cdef dict _items

    def __cinit__(self):
        self._items = {}
        self._names = ()  # made with Exports.__new__: no exports

    def __init__(self, *args, **kwargs):
        raise TypeError("Exports objects are made by wasmbind (Instance.exports)")

    cdef object _lookup(self, object name, object missing):
        cdef wasmtime_extern_t item
        try:
            return self._items[name]
        except (KeyError, TypeError):
            pass
        if not isinstance(name, str) or name not in self._names:
            return missing
        b = _name_bytes(name, "export name")
        if not wasmtime_instance_export_get(self._store._context(), &self._instance, b, len(b), &item):
            return missing
        v = _wrap_extern(self._store, &item, name)
        self._items[name] = v
        return v

    cdef str _missing(self, name):
        return "no export named %r (exports: %s)" % (name, ", ".join(self._names) or "none")

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
        return name in self._names

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)

    def get(self, name, default=None):
        return self._lookup(name, default)

    def keys(self):
        return list(self._names)

    def values(self):
        return [self[n] for n in self._names]

    def items(self):
        return [(n, self[n]) for n in self._names]

    def __dir__(self):
        return list(self._names) + ["get", "keys", "values", "items"]

    def __repr__(self):
        return "<wasmbind.Exports %s>" % ", ".join(self._names)

    def __reduce__(self):
        _refuse_pickle(self)


cdef Exports _collect_exports(Store store, Module module, wasmtime_instance_t *inst):
    cdef Exports ex = Exports.__new__(Exports)
    if module._export_names is None:
        module._export_names = tuple([e.name for e in module.exports])
    ex._store = store
    ex._instance = inst[0]
    ex._names = module._export_names
    if store.engine._epoch and store.engine._shared_memory:
        _wake_exports(store, module, ex)
    return ex


cdef class Instance(_StoreObject):
    """An instantiated module. ``Instance(store, module, imports=())``.

    ``imports`` is a sequence of externs in the module's import order, or a
    mapping ``{module_name: {name: extern_or_callable}}``; a plain callable takes
    its type from the module's import declaration. Missing or mismatched imports
    raise LinkError; a trap in the start function raises Trap.
    """

    def __init__(self, Store store not None, Module module not None, imports=()):
        cdef wasmtime_context_t *ctx
        cdef wasmtime_module_t *mod
        cdef list decls, items
        cdef Py_ssize_t n, i
        cdef wasmtime_extern_t *ext = NULL
        cdef wasmtime_error_t *err
        cdef wasm_trap_t *trap = NULL
        self._claim()
        store._context()
        if store._state.async_yield:
            _aio_refuse_sync("Instance(...)", "await Instance.create_async(store, module, imports)")
        mod = module._module()
        if module.engine is not store.engine:
            raise ValueError("the Module was compiled by a different Engine than the Store's")
        decls = module.imports
        items = _resolve_imports(store, decls, imports)
        n = len(items)
        if n:
            ext = <wasmtime_extern_t *>PyMem_Malloc(n * sizeof(wasmtime_extern_t))
            if ext == NULL:
                raise MemoryError()
        try:
            for i in range(n):
                _as_extern(store, items[i], &ext[i])
            ctx = store._context()  # resolving the imports ran Python code
            if wb_state_enter(&store._state):
                _stack_refused(store)
            if store._state.release_gil:  # a start function runs like a call
                with nogil:
                    err = wasmtime_instance_new(ctx, mod, ext, n, &self._instance, &trap)
            else:
                err = wasmtime_instance_new(ctx, mod, ext, n, &self._instance, &trap)
            wb_state_leave(&store._state)
            if err != NULL or trap != NULL:
                _link_failure(store, err, trap)
        finally:
            PyMem_Free(ext)
        self.store = store
        self.module = module
        self.exports = _collect_exports(store, module, &self._instance)

    @staticmethod
    def create_async(Store store not None, Module module not None, imports=()):
        """``await Instance.create_async(store, module, imports=())``: instantiate on
        an async store, the start function awaited like a call; ``imports`` as
        for ``Instance(...)``, ``async def`` functions included."""
        return _aio_instantiate(store, module, imports)

    @staticmethod
    cdef Instance _wrap(Store store, Module module, wasmtime_instance_t *inst):
        cdef Instance self = Instance.__new__(Instance)
        _bind(self, store)
        self.module = module
        self._instance = inst[0]
        self.exports = _collect_exports(store, module, inst)
        return self

    def __repr__(self):
        if self.exports is None:
            return "<wasmbind.Instance (uninitialized)>"
        return "<wasmbind.Instance exports: %s>" % ", ".join(self.exports)


cdef list _resolve_imports(Store store, list decls, object imports):
    """Matches the given imports to the module's declarations, in order."""
    cdef list out = []
    if imports is None:
        imports = ()
    if isinstance(imports, _Mapping):
        for decl in decls:
            group = imports.get(decl.module)
            if group is not None and not isinstance(group, _Mapping):
                raise TypeError("imports[%r] must be a mapping of names to externs, got %s"
                                % (decl.module, type(group).__name__))
            if group is None or decl.name not in group:
                raise LinkError("missing import %s::%s (%r)" % (decl.module, decl.name, decl.type))
            out.append(_import_value(store, decl, group[decl.name]))
        return out
    try:
        if isinstance(imports, (str, bytes, bytearray)):
            raise TypeError
        given = iter(imports)
    except TypeError:
        raise TypeError("imports must be a sequence of externs or a mapping of mappings, got %s"
                        % type(imports).__name__) from None
    given = list(given)
    if len(given) != len(decls):
        raise LinkError("the module declares %d import(s) but %d were given%s" % (
            len(decls), len(given),
            "" if not decls else ": " + ", ".join("%s::%s" % (d.module, d.name) for d in decls)))
    for decl, v in zip(decls, given):
        out.append(_import_value(store, decl, v))
    return out


cdef object _import_value(Store store, object decl, object v):
    if isinstance(v, (Func, Memory, SharedMemory, Global, Table, Tag)):
        return v
    if callable(v):
        if not isinstance(decl.type, FuncType):
            raise LinkError("import %s::%s is a %s, not a function" % (decl.module, decl.name,
                                                                       type(decl.type).__name__))
        return Func(store, decl.type, v)
    raise TypeError("import %s::%s must be an extern or a callable, got %s"
                    % (decl.module, decl.name, type(v).__name__))


def instantiate(source, imports=None):
    """Compile ``source`` on the default engine and instantiate it in a fresh Store."""
    module = source if isinstance(source, Module) else Module(None, source)
    return Instance(Store((<Module>module).engine), module, imports)
