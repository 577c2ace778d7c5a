# Linkers: imports resolved by name.

import weakref as _weakref
from wasmbind.errors import LinkError, WasmError


cdef class Linker:
    """Resolves imports by name: define items, then instantiate modules.

    ``Linker(engine=None, *, allow_shadowing=False)``. Host functions
    (:meth:`define_func`, :meth:`define_wasi`) serve every store of the
    engine. An item of a store (:meth:`define`, :meth:`define_instance`,
    :meth:`define_module`) is usable only with that store: a name defined
    from one store raises ValueError when another store needs it, until it is
    defined again (with ``allow_shadowing``) from that store or as a host function.
    """

    def __cinit__(self):
        self._owners = {}

    def __init__(self, engine=None, *, bint allow_shadowing=False):
        cdef Engine e
        cdef wasmtime_linker_t *p
        if self._ptr != NULL:
            raise WasmError("Linker is already initialized")
        e = _engine_arg(engine)
        p = wasmtime_linker_new(e._engine())
        if p == NULL:
            raise MemoryError("the engine could not create a linker")
        self.engine = e
        self._ptr = p
        self.allow_shadowing = allow_shadowing

    def __dealloc__(self):
        if self._ptr != NULL:
            wasmtime_linker_delete(self._ptr)
            self._ptr = NULL

    cdef wasmtime_linker_t *_linker(self) except NULL:
        if self._ptr == NULL:
            raise WasmError("Linker was not initialized")
        if self._aio_users:
            _aio_linker_busy()
        return self._ptr

    @property
    def allow_shadowing(self):
        """Whether a later definition may replace an earlier one of the same name."""
        return self._shadowing

    @allow_shadowing.setter
    def allow_shadowing(self, bint allow):
        wasmtime_linker_allow_shadowing(self._linker(), allow)
        self._shadowing = allow

    def __reduce__(self):
        _refuse_pickle(self)

    # -- ownership: what the engine would abort on, refused before it sees it --

    cdef int _check_store(self, Store store) except -1:
        store._context()
        if store.engine is not self.engine:
            raise ValueError("the Store uses a different Engine than the Linker")
        return 0

    cdef int _check_module(self, Module module) except -1:
        module._module()
        if module.engine is not self.engine:
            raise ValueError("the Module was compiled by a different Engine than the Linker's")
        return 0

    cdef int _check_owners(self, Store store, object keys) except -1:
        """Refuses ``store`` the names in ``keys`` whose items belong to another store."""
        if not self._owners:
            return 0
        for key in keys:
            owner = self._owners.get(key)
            if owner is not None and (owner is _MIXED or owner() is not store):
                raise ValueError("%s::%s is defined in the Linker as an item of another Store, "
                                 "usable only with that Store (define it again from this one, "
                                 "or use a Linker per Store)" % key)
        return 0

    cdef int _set_owners(self, Store store, object keys, bint replace) except -1:
        """Records that the items at ``keys`` are ``store``'s (None: no store's,
        as host functions are). Without ``replace`` the earlier owner may still
        hold a name (a definition about to be made, or one that failed part
        way), and a name two stores may hold is refused to both."""
        ref = None if store is None else _weakref.ref(store)
        for key in keys:
            old = self._owners.get(key)
            if ref is None:
                if replace:
                    self._owners.pop(key, None)
            elif replace or old is None:
                self._owners[key] = ref
            elif old is not _MIXED and old() is not store:
                self._owners[key] = _MIXED
        return 0

    # -- definitions ---------------------------------------------------------

    def define(self, Store store not None, str module not None, str name not None, item):
        """Define ``module::name`` as an extern (Func, Memory, Global, Table) of ``store``."""
        cdef wasmtime_extern_t ext
        cdef wasmtime_linker_t *linker = self._linker()
        self._check_store(store)
        _as_extern(store, item, &ext)
        m = _name_bytes(module, "module name")
        n = _name_bytes(name, "name")
        key = (module, name)
        saved = self._owners.get(key)
        self._set_owners(store, (key,), False)
        err = wasmtime_linker_define(linker, store._context(), m, len(m), n, len(n), &ext)
        if err != NULL:
            if saved is None:
                self._owners.pop(key, None)
            else:
                self._owners[key] = saved
            _raise_error(err, LinkError)
        self._set_owners(store, (key,), True)

    def define_func(self, str module not None, str name not None, functype, fn, *,
                    bint access_caller=False):
        """Define ``module::name`` as a Python function usable from any store."""
        cdef wasmtime_linker_t *linker = self._linker()
        cdef _HostFunc hf = _HostFunc._wrap(fn, functype, access_caller)
        if hf.is_async:
            _aio_need_async(self.engine, "async def host functions")
        cdef wasm_functype_t *ft = _functype_new(functype)
        m = _name_bytes(module, "module name")
        n = _name_bytes(name, "name")
        # The linker's functions can outlive the linker (stores keep them), so the
        # engine owns a reference to the environment and drops it when done.
        Py_INCREF(hf)
        try:
            if hf.is_async:
                err = _aio_linker_define(linker, m, n, ft, hf)
            elif hf.has_refs or self.engine._exceptions:  # only this kind can throw
                err = wasmtime_linker_define_func(linker, m, len(m), n, len(n), ft,
                                                  wb_host_entry_val, <void *>hf, wb_decref_finalizer)
            else:
                err = wasmtime_linker_define_func_unchecked(linker, m, len(m), n, len(n), ft,
                                                            wb_host_entry_raw, <void *>hf,
                                                            wb_decref_finalizer)
        finally:
            wasm_functype_delete(ft)
        if err != NULL:
            _raise_error(err, LinkError)
        self._set_owners(None, ((module, name),), True)

    def define_instance(self, Store store not None, str name not None, Instance instance not None):
        """Define every export of ``instance`` under the module name ``name``."""
        cdef wasmtime_linker_t *linker = self._linker()
        self._check_store(store)
        _check_owner(instance, store)
        keys = [(name, export) for export in instance.exports]
        n = _name_bytes(name, "name")
        self._set_owners(store, keys, False)
        err = wasmtime_linker_define_instance(linker, store._context(), n, len(n), &instance._instance)
        if err != NULL:
            _raise_error(err, LinkError)
        self._set_owners(store, keys, True)

    def define_module(self, Store store not None, str name not None, Module module not None):
        """Define ``module``'s exports under ``name`` (commands get a fresh instance per call).

        A reactor is instantiated in ``store`` now, with this linker's definitions.
        """
        cdef wasmtime_linker_t *linker = self._linker()
        cdef wasmtime_context_t *ctx
        cdef wasmtime_module_t *mod
        self._check_store(store)
        if store._state.async_yield:
            _aio_refuse_sync("Linker.define_module", "Linker.define_instance with an instance of "
                             "await linker.instantiate_async(store, module)")
        self._check_module(module)
        mod = module._module()
        # instantiated with the linker's definitions, in this store (a
        # command's functions instantiate it again in the store calling them)
        self._check_owners(store, [(d.module, d.name) for d in module.imports])
        keys = [(name, e.name) for e in module.exports]
        n = _name_bytes(name, "name")
        self._set_owners(store, keys, False)
        ctx = store._context()
        if wb_state_enter(&store._state):  # a reactor runs its initializer: a call
            _stack_refused(store)
        err = wasmtime_linker_module(linker, ctx, n, len(n), mod)
        wb_state_leave(&store._state)
        if err != NULL:
            if store._pending is not None or store._state.interrupted:
                _raise_call_failure(store, err, NULL)
            _raise_error(err, LinkError)
        self._set_owners(store, keys, True)

    def define_wasi(self):
        """Define the WASI preview-1 functions; give each store a config with ``Store.set_wasi``."""
        err = wasmtime_linker_define_wasi(self._linker())
        if err != NULL:
            _raise_error(err, LinkError)

    def define_unknown_imports_as_traps(self, Module module not None):
        """Define every import of ``module`` not yet defined as a function that traps."""
        cdef wasmtime_linker_t *linker = self._linker()
        self._check_module(module)
        err = wasmtime_linker_define_unknown_imports_as_traps(linker, module._module())
        if err != NULL:
            _raise_error(err, LinkError)

    # -- use -----------------------------------------------------------------

    def instantiate(self, Store store not None, Module module not None):
        """Instantiate ``module`` in ``store`` with this linker's definitions."""
        cdef wasmtime_linker_t *linker = self._linker()
        cdef wasmtime_context_t *ctx
        cdef wasmtime_module_t *mod
        cdef wasmtime_instance_t inst
        cdef wasm_trap_t *trap = NULL
        cdef wasmtime_error_t *err
        self._check_store(store)
        if store._state.async_yield:
            _aio_refuse_sync("Linker.instantiate", "await linker.instantiate_async(store, module)")
        self._check_module(module)
        mod = module._module()
        self._check_owners(store, [(d.module, d.name) for d in module.imports])
        ctx = store._context()
        if wb_state_enter(&store._state):
            _stack_refused(store)
        if store._state.release_gil:  # a start function runs like a call
            with nogil:
                err = wasmtime_linker_instantiate(linker, ctx, mod, &inst, &trap)
        else:
            err = wasmtime_linker_instantiate(linker, ctx, mod, &inst, &trap)
        wb_state_leave(&store._state)
        if err != NULL or trap != NULL:
            _link_failure(store, err, trap)
        return Instance._wrap(store, module, &inst)

    def instantiate_async(self, Store store not None, Module module not None):
        """``await linker.instantiate_async(store, module)``: :meth:`instantiate` on an
        async store, the start function awaited like a call."""
        self._check_store(store)
        return _aio_linker_instantiate(self, store, module)

    def get(self, Store store not None, str module not None, str name not None):
        """The extern defined as ``module::name``; KeyError if none."""
        cdef wasmtime_linker_t *linker = self._linker()
        cdef wasmtime_extern_t item
        self._check_store(store)
        self._check_owners(store, ((module, name),))
        m = _name_bytes(module, "module name")
        n = _name_bytes(name, "name")
        if not wasmtime_linker_get(linker, store._context(), m, len(m), n, len(n), &item):
            raise KeyError("nothing defined as %s::%s" % (module, name))
        return _wrap_extern(store, &item, name)

    def get_default(self, Store store not None, str name not None):
        """The default export (``_start`` or the unnamed one) of module ``name``.

        As in Wasmtime, a name with no definitions gives a function that does
        nothing; use :meth:`get` to look an export up strictly.
        """
        cdef wasmtime_linker_t *linker = self._linker()
        cdef wasmtime_func_t f
        self._check_store(store)
        self._check_owners(store, ((name, ""), (name, "_start")))
        n = _name_bytes(name, "name")
        err = wasmtime_linker_get_default(linker, store._context(), n, len(n), &f)
        if err != NULL:
            _raise_error(err, LinkError)
        return Func._wrap(store, &f, name)
