# Async instantiation: Linker.instantiate_async and Instance.create_async. The
# start function runs like an awaited call (it yields, its async host
# functions await). The engine instantiates asynchronously only through a
# linker, so Instance.create_async defines the given imports in a linker of
# its own, by name.

from collections.abc import Mapping as _Mapping
from wasmbind.errors import LinkError, WasmError


@cython.final
cdef class _InstantiateFuture(_EngineFuture):
    cdef Linker linker
    cdef Module module
    cdef wasmtime_instance_t instance
    cdef object keep      # the imports (Funcs made for callables), until done
    cdef bint reading     # counted in linker._aio_users: the linker must not change

    cdef int _start(self, wasmtime_context_t *ctx) except -1:
        self.fut = wasmtime_linker_instantiate_async(self.linker._ptr, ctx, self.module._module(),
                                                     &self.instance, &self.trap, &self.err)
        if self.fut == NULL:
            raise MemoryError("the engine could not start the instantiation")
        self.linker._aio_users += 1
        self.reading = True
        return 0

    cdef object _result(self):
        return Instance._wrap(self.store, self.module, &self.instance)

    cdef int _fail(self, wasmtime_error_t *err, wasm_trap_t *trap) except -1:
        return _link_failure(self.store, err, trap)

    cdef void _free_values(self) noexcept:
        if self.reading:
            self.reading = False
            self.linker._aio_users -= 1
        self.keep = None

    def __dealloc__(self):
        self._drop_raw()
        self._free_values()


cdef int _aio_linker_busy() except -1:
    raise WasmError("the Linker is in use by an async instantiation in progress: "
                    "change or use it once that is done")


cdef int _aio_check_instantiate(Store store, Module module, str what, str instead) except -1:
    store._context()
    if not store._state.async_yield:
        raise WasmError("%s needs a store of an async engine (Config(async_support=True)); "
                        "on this sync store use %s" % (what, instead))
    if module.engine is not store.engine:
        raise ValueError("the Module was compiled by a different Engine than the Store's")
    module._module()
    return 0


cdef _InstantiateFuture _aio_instantiation(Store store, Linker linker, Module module, object keep):
    cdef _InstantiateFuture f = _InstantiateFuture.__new__(_InstantiateFuture)
    f.store = store
    f.linker = linker
    f.module = module
    f.keep = keep
    return f


cdef object _aio_linker_instantiate(Linker linker, Store store, Module module):
    """Linker.instantiate_async."""
    _aio_check_instantiate(store, module, "instantiate_async", "Linker.instantiate")
    linker._linker()
    linker._check_module(module)
    # the items of other stores are refused, as by Linker.instantiate
    linker._check_owners(store, [(d.module, d.name) for d in module.imports])
    return _aio_instantiation(store, linker, module, None)


cdef object _aio_instantiate(Store store, Module module, object imports):
    """Instance.create_async: the imports resolved as for Instance(...), then
    defined by name in a linker of the call's own."""
    cdef wasmtime_context_t *ctx
    cdef wasmtime_extern_t ext
    cdef wasmtime_error_t *err
    cdef Linker linker
    _aio_check_instantiate(store, module, "Instance.create_async", "Instance(...)")
    ctx = store._context()
    decls = module.imports
    items = _resolve_imports(store, decls, imports)
    by_name = isinstance(imports, _Mapping)
    linker = Linker(store.engine)
    defined = {}
    for decl, item in zip(decls, items):
        key = (decl.module, decl.name)
        if key in defined:
            # a mapping gives one value per name; a sequence may give two
            if by_name or defined[key] is item:
                continue
            raise LinkError("the module imports %s::%s twice: Instance.create_async links imports by "
                            "name, so give both the same item (or use a mapping)" % key)
        defined[key] = item
        _as_extern(store, item, &ext)
        m = _name_bytes(decl.module, "module name")
        n = _name_bytes(decl.name, "name")
        err = wasmtime_linker_define(linker._ptr, ctx, m, len(m), n, len(n), &ext)
        if err != NULL:
            _raise_error(err, LinkError)
    return _aio_instantiation(store, linker, module, items)
