# Linkers: imports resolved by name.

cdef class Linker:
    """Resolves imports by name: define items, then instantiate modules.

    ``Linker(engine=None, *, allow_shadowing=False)``.
    """

    def __init__(self, engine=None, *, bint allow_shadowing=False):
        if self._ptr != NULL:
            raise WasmError("Linker is already initialized")
        self.engine = _engine_arg(engine)
        self._ptr = wasmtime_linker_new(self.engine._engine())
        if self._ptr == NULL:
            raise MemoryError("the engine could not create a linker")
        self.allow_shadowing = allow_shadowing

    def __dealloc__(self):
        if self._ptr != NULL:
            wasmtime_linker_delete(self._ptr)
            self._ptr = NULL

    cdef wasmtime_linker_t *_linker(self) except NULL:
        if self._ptr == NULL:
            raise WasmError("Linker was not initialized")
        return self._ptr

    @property
    def allow_shadowing(self):
        """Whether a later definition may replace an earlier one of the same name."""
        return self._shadowing

    @allow_shadowing.setter
    def allow_shadowing(self, bint allow):
        wasmtime_linker_allow_shadowing(self._linker(), allow)
        self._shadowing = allow

    cdef int _check_store(self, Store store) except -1:
        if store.engine is not self.engine:
            raise ValueError("the Store uses a different Engine than the Linker")
        return 0

    def define(self, Store store not None, str module not None, str name not None, item):
        """Define ``module::name`` as an extern (Func, Memory, Global, Table) of ``store``."""
        cdef wasmtime_extern_t ext
        cdef wasmtime_context_t *ctx = store._context()
        self._check_store(store)
        _as_extern(store, item, &ext)
        m = module.encode("utf-8")
        n = name.encode("utf-8")
        err = wasmtime_linker_define(self._linker(), ctx, m, len(m), n, len(n), &ext)
        if err != NULL:
            _raise_error(err, LinkError)

    def define_func(self, str module not None, str name not None, functype, fn, *,
                    bint access_caller=False):
        """Define ``module::name`` as a Python function usable from any store."""
        cdef _HostFunc hf = _HostFunc._wrap(fn, functype, access_caller)
        cdef wasm_functype_t *ft = _functype_new(functype)
        m = module.encode("utf-8")
        n = name.encode("utf-8")
        # The linker's functions can outlive the linker (stores keep them), so the
        # engine owns a reference to the environment and drops it when done.
        Py_INCREF(hf)
        try:
            if hf.has_refs:
                err = wasmtime_linker_define_func(self._linker(), m, len(m), n, len(n), ft,
                                                  wb_host_entry_val, <void *>hf, wb_decref_finalizer)
            else:
                err = wasmtime_linker_define_func_unchecked(self._linker(), m, len(m), n, len(n), ft,
                                                            wb_host_entry_raw, <void *>hf,
                                                            wb_decref_finalizer)
        finally:
            wasm_functype_delete(ft)
        if err != NULL:
            _raise_error(err, LinkError)

    def define_instance(self, Store store not None, str name not None, Instance instance not None):
        """Define every export of ``instance`` under the module name ``name``."""
        cdef wasmtime_context_t *ctx = store._context()
        self._check_store(store)
        if instance.store is not store:
            raise ValueError("the Instance belongs to a different Store")
        n = name.encode("utf-8")
        err = wasmtime_linker_define_instance(self._linker(), ctx, n, len(n), &instance._instance)
        if err != NULL:
            _raise_error(err, LinkError)

    def define_module(self, Store store not None, str name not None, Module module not None):
        """Define ``module``'s exports under ``name`` (commands get a fresh instance per call)."""
        cdef wasmtime_context_t *ctx = store._context()
        self._check_store(store)
        n = name.encode("utf-8")
        err = wasmtime_linker_module(self._linker(), ctx, n, len(n), module._module())
        if err != NULL:
            _raise_error(err, LinkError)

    def define_wasi(self):
        """Define the WASI preview-1 functions; give each store a config with ``Store.set_wasi``."""
        err = wasmtime_linker_define_wasi(self._linker())
        if err != NULL:
            _raise_error(err, LinkError)

    def define_unknown_imports_as_traps(self, Module module not None):
        """Define every import of ``module`` not yet defined as a function that traps."""
        err = wasmtime_linker_define_unknown_imports_as_traps(self._linker(), module._module())
        if err != NULL:
            _raise_error(err, LinkError)

    def instantiate(self, Store store not None, Module module not None):
        """Instantiate ``module`` in ``store`` with this linker's definitions."""
        cdef wasmtime_context_t *ctx = store._context()
        cdef wasmtime_instance_t inst
        cdef wasm_trap_t *trap = NULL
        cdef wasmtime_error_t *err
        cdef wasmtime_linker_t *linker = self._linker()
        cdef wasmtime_module_t *mod = module._module()
        self._check_store(store)
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

    def get(self, Store store not None, str module not None, str name not None):
        """The extern defined as ``module::name``; KeyError if none."""
        cdef wasmtime_context_t *ctx = store._context()
        cdef wasmtime_extern_t item
        self._check_store(store)
        m = module.encode("utf-8")
        n = name.encode("utf-8")
        if not wasmtime_linker_get(self._linker(), ctx, m, len(m), n, len(n), &item):
            raise KeyError("nothing defined as %s::%s" % (module, name))
        return _wrap_extern(store, &item, name)

    def get_default(self, Store store not None, str name not None):
        """The default export (``_start`` or the unnamed one) of module ``name``.

        As in Wasmtime, a name with no definitions gives a function that does
        nothing; use :meth:`get` to look an export up strictly.
        """
        cdef wasmtime_context_t *ctx = store._context()
        cdef wasmtime_func_t f
        self._check_store(store)
        n = name.encode("utf-8")
        err = wasmtime_linker_get_default(self._linker(), ctx, n, len(n), &f)
        if err != NULL:
            _raise_error(err, LinkError)
        return Func._wrap(store, &f, name)
