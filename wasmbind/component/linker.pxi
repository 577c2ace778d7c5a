# The component linker: ComponentLinker, the scopes it defines names in
# (the root, and instances named like "ns:pkg/iface@1.0.0", nested), Python
# host functions implementing a component's imports (their trampoline), host
# resources, and instantiate().
#
# The engine's linker hands out one scope at a time and must not be used
# while a scope is open, so wasmbind's scopes are paths: each definition opens
# the root, walks down to its instance, defines, and closes them again.

from wasmbind.errors import ComponentError, LinkError, WasmError


@cython.final
cdef class _ComponentHostFunc:
    """A Python callable implementing an imported component function. Its
    parameter and result types are read from the engine's type of the call
    the first time, and again only when a call's type differs."""
    cdef object fn
    cdef str name
    cdef object functype        # WitFuncType of the last call
    cdef tuple params
    cdef object result


cdef list _open_path(ComponentLinker linker, tuple path):
    """Opens the root and the instances along ``path``; the caller deletes them
    (last first) with _close_path."""
    cdef wasmtime_component_linker_instance_t *li = wasmtime_component_linker_root(linker._linker())
    cdef wasmtime_component_linker_instance_t *sub
    opened = [<size_t>li]
    try:
        for name in path:
            b = (<str>name).encode("utf-8")
            sub = NULL
            err = wasmtime_component_linker_instance_add_instance(li, b, len(b), &sub)
            if err != NULL:
                _raise_error(err, LinkError)
            li = sub
            opened.append(<size_t>li)
    except BaseException:
        _close_path(opened)
        raise
    return opened


cdef int _close_path(list opened) except -1:
    for p in reversed(opened):
        wasmtime_component_linker_instance_delete(<wasmtime_component_linker_instance_t *><size_t>p)
    return 0


cdef int _check_name(object name, str what) except -1:
    if not isinstance(name, str):
        raise TypeError("%s names are str, not %s" % (what, type(name).__name__))
    if not name:
        raise ValueError("%s name must not be empty" % what)
    try:
        (<str>name).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("%s name %r is not valid Unicode" % (what, name)) from None
    return 0


@cython.final
cdef class ComponentLinkerInstance:
    """A scope of a component Linker: ``linker.root`` or
    ``linker.instance("ns:pkg/iface@1.0.0")`` (nested: ``scope.instance(name)``).
    Define what the component imports there: ``add_func(name, callable)``,
    ``add_resource(name, cls)``, ``add_module(name, module)``."""

    def __init__(self):
        raise TypeError("linker scopes come from Linker.root and Linker.instance()")

    @staticmethod
    cdef ComponentLinkerInstance _make(ComponentLinker linker, tuple path):
        cdef ComponentLinkerInstance s = ComponentLinkerInstance.__new__(ComponentLinkerInstance)
        s.linker = linker
        s.path = path
        return s

    def instance(self, name):
        """The scope of the instance ``name`` inside this one (made if needed)."""
        _check_name(name, "instance")
        path = self.path + (name,)
        _close_path(_open_path(self.linker, path))
        return ComponentLinkerInstance._make(self.linker, path)

    def add_func(self, name, fn):
        """Implement the imported function ``name`` with the Python callable
        ``fn``. Arguments arrive converted by the import's WIT type, and the
        return value is converted back by it; for a ``result<T, E>`` result,
        return T (or ``Ok``/``Err``), or raise ComponentError(E). Any other
        exception makes the component call fail, and comes out of it as the
        same object. Returns ``fn``, so this works as a decorator factory too.
        """
        cdef _ComponentHostFunc hf
        cdef wasmtime_component_linker_instance_t *li
        _check_name(name, "function")
        if not callable(fn):
            raise TypeError("a host function must be callable, got %s" % type(fn).__name__)
        is_async = _aio_is_coroutine_function(fn)
        if is_async:
            _aio_need_async(self.linker.engine, "async def host functions")
        hf = _ComponentHostFunc.__new__(_ComponentHostFunc)
        hf.fn = fn
        hf.name = ("/".join(self.path) + "#" if self.path else "") + name
        opened = _open_path(self.linker, self.path)
        try:
            b = (<str>name).encode("utf-8")
            li = <wasmtime_component_linker_instance_t *><size_t>opened[len(opened) - 1]
            Py_INCREF(hf)   # the engine owns this reference (dropped by wb_decref_finalizer)
            if is_async:
                err = _aio_component_add_func(li, b, hf)
            else:
                err = wasmtime_component_linker_instance_add_func(li, b, len(b), wb_cfunc_entry, <void *>hf,
                                                                  wb_decref_finalizer)
            if err != NULL:
                _raise_error(err, LinkError)
        finally:
            _close_path(opened)
        self.linker._defined.add(self.path + (name,))
        return fn

    def func(self, name=None):
        """Decorator form of :meth:`add_func`: ``@scope.func("name")``; without a
        name, the function's own name with ``_`` as ``-``."""
        def deco(fn):
            self.add_func(name if name is not None else fn.__name__.replace("_", "-"), fn)
            return fn
        return deco

    def add_resource(self, name, cls):
        """Define the resource type ``name`` as host-defined, its values being
        instances of the Python class ``cls``. Also defines, where the class has
        them, ``[constructor]name`` (calling ``cls``), ``[method]name.m``
        (calling the method ``m``, with ``-`` as ``_``) and ``[static]name.s``
        (static and class methods). When the component drops its last handle
        to an object, wasmbind forgets it and calls its ``close()`` if any."""
        cdef _HostResource hr
        _check_name(name, "resource")
        if not isinstance(cls, type):
            raise TypeError("add_resource() takes a class, got %s" % type(cls).__name__)
        hr = _host_resource_new(cls, name)
        opened = _open_path(self.linker, self.path)
        try:
            b = (<str>name).encode("utf-8")
            err = wasmtime_component_linker_instance_add_resource(
                <wasmtime_component_linker_instance_t *><size_t>opened[len(opened) - 1], b, len(b),
                hr._ptr, wb_cdtor_entry, NULL, NULL)
            if err != NULL:
                _raise_error(err, LinkError)
        finally:
            _close_path(opened)
        self.add_func("[constructor]%s" % name, cls)
        for attr in dir(cls):
            if attr.startswith("_") or attr == "close":
                continue
            raw = inspect_getattr_static(cls, attr)
            kebab = attr.replace("_", "-")
            if isinstance(raw, (staticmethod, classmethod)):
                self.add_func("[static]%s.%s" % (name, kebab), getattr(cls, attr))
            elif callable(raw):
                self.add_func("[method]%s.%s" % (name, kebab),
                              _method_caller(attr, _aio_is_coroutine_function(raw)))
        return cls

    def add_module(self, name, module):
        """Define a core module import (``core module`` items of a component)."""
        _check_name(name, "module")
        if not isinstance(module, Module):
            raise TypeError("expected a wasmbind.Module, got %s" % type(module).__name__)
        opened = _open_path(self.linker, self.path)
        try:
            b = (<str>name).encode("utf-8")
            err = wasmtime_component_linker_instance_add_module(
                <wasmtime_component_linker_instance_t *><size_t>opened[len(opened) - 1], b, len(b),
                (<Module>module)._module())
            if err != NULL:
                _raise_error(err, LinkError)
        finally:
            _close_path(opened)

    def __repr__(self):
        return "<wasmbind.component.LinkerInstance %s>" % ("/".join(self.path) or "root")


from inspect import getattr_static as inspect_getattr_static


def _method_caller(str attr, bint is_async=False):
    if is_async:
        async def call_async(self, *args):
            return await getattr(self, attr)(*args)
        return call_async

    def call(self, *args):
        return getattr(self, attr)(*args)
    return call


@cython.no_gc_clear
cdef class ComponentLinker:
    """Resolves a component's imports: WASI preview 2 (:meth:`add_wasip2`),
    Python functions and resources (``linker.root`` and
    ``linker.instance("ns:pkg/iface@1.0.0")`` scopes), core modules; then
    :meth:`instantiate` makes an instance in a store.

    ``Linker(engine=None, *, allow_shadowing=False)``.
    """

    def __cinit__(self):
        self._defined = set()

    def __init__(self, engine=None, *, bint allow_shadowing=False):
        if self._ptr != NULL:
            raise WasmError("Linker is already initialized")
        self.engine = _engine_arg(engine)
        self._ptr = wasmtime_component_linker_new(self.engine._engine())
        if self._ptr == NULL:
            raise WasmError("the engine could not create a component linker")
        self._shadowing = allow_shadowing
        wasmtime_component_linker_allow_shadowing(self._ptr, allow_shadowing)

    def __dealloc__(self):
        if self._ptr != NULL:
            wasmtime_component_linker_delete(self._ptr)
            self._ptr = NULL

    cdef wasmtime_component_linker_t *_linker(self) except NULL:
        if self._ptr == NULL:
            raise WasmError("Linker was not initialized")
        if self._aio_users:
            _aio_linker_busy()
        return self._ptr

    @property
    def allow_shadowing(self):
        return self._shadowing

    @allow_shadowing.setter
    def allow_shadowing(self, bint value):
        wasmtime_component_linker_allow_shadowing(self._linker(), value)
        self._shadowing = value

    @property
    def root(self):
        """The root scope: names a component imports directly (``import f: func()``)."""
        self._linker()
        return ComponentLinkerInstance._make(self, ())

    def instance(self, name):
        """The scope of the imported instance (interface) ``name``, e.g.
        ``"ns:pkg/iface@1.0.0"``; made if needed."""
        return self.root.instance(name)

    def add_wasip2(self):
        """Define WASI preview 2 (wasi:cli, wasi:io, wasi:filesystem, wasi:clocks,
        wasi:random, wasi:sockets). Stores instantiating through this linker use
        their ``Store.set_wasi(WasiConfig(...))`` environment; a store with none
        gets an empty sandbox (no arguments, environment, files, or output).
        Network access stays off: sockets are refused by the sandbox."""
        if self._wasip2:
            return
        if self.engine._async:  # an async store's WASI awaits its I/O instead of blocking
            err = wasmtime_component_linker_add_wasip2_async(self._linker())
        else:
            err = wasmtime_component_linker_add_wasip2(self._linker())
        if err != NULL:
            _raise_error(err, LinkError)
        self._wasip2 = True

    @property
    def wasip2(self):
        """Whether :meth:`add_wasip2` was called."""
        return self._wasip2

    def define_unknown_imports_as_traps(self, component):
        """Define every import of ``component`` not defined yet as a function
        that traps when called."""
        if not isinstance(component, Component):
            raise TypeError("expected a Component, got %s" % type(component).__name__)
        err = wasmtime_component_linker_define_unknown_imports_as_traps(
            self._linker(), (<Component>component)._component())
        if err != NULL:
            _raise_error(err, LinkError)

    cdef Component _prepare(self, Store store, object component):
        """The checks of instantiate and instantiate_async, and the default
        WASI p2 sandbox of a store without a WasiConfig."""
        if not isinstance(component, Component):
            if isinstance(component, Module):
                raise TypeError("expected a Component, got a core Module (use wasmbind.Linker for modules)")
            raise TypeError("expected a Component, got %s" % type(component).__name__)
        cdef Component c = <Component>component
        store._context()
        if store.engine is not self.engine or c.engine is not self.engine:
            raise ValueError("the Linker, Store and Component must share one Engine")
        if self._wasip2 and not store._wasi_set:
            _default_wasip2(store)
        elif self._wasip2 and store._wasi_redo is not None:
            _pipe_capture_wasip2(store)
        if self._wasip2:
            store._wasi_pipe = True
        _check_imports(self, c)
        return c

    def instantiate(self, Store store not None, component):
        """Instantiate ``component`` in ``store``; raises LinkError for imports
        the linker lacks (or of the wrong type), Trap if its start traps."""
        cdef wasmtime_component_instance_t inst
        cdef wasmtime_error_t *err
        if store._state.async_yield:
            store._context()
            _aio_refuse_sync("Linker.instantiate", "await linker.instantiate_async(store, component)")
        cdef Component c = self._prepare(store, component)
        cdef wasmtime_context_t *ctx = store._context()
        cdef const wasmtime_component_t *cp = c._component()
        if wb_state_enter(&store._state):
            _stack_refused(store)
        if store._state.release_gil:
            with nogil:
                err = wasmtime_component_linker_instantiate(self._ptr, ctx, cp, &inst)
        else:
            err = wasmtime_component_linker_instantiate(self._ptr, ctx, cp, &inst)
        wb_state_leave(&store._state)
        if err != NULL:
            _component_link_failure(store, err)
        return ComponentInstance._wrap(store, c, &inst)

    def instantiate_async(self, Store store not None, component):
        """``await linker.instantiate_async(store, component)``: :meth:`instantiate`
        on an async store, the component's start awaited like a call."""
        return _aio_component_instantiate(self, store, component)

    def __repr__(self):
        return "<wasmbind.component.Linker%s>" % (" +wasip2" if self._wasip2 else "")


cdef int _check_imports(ComponentLinker linker, Component c) except -1:
    """Refuses, before anything runs, Python functions bound to imports whose
    types wasmbind cannot convert (the engine would abort on them)."""
    for name, t in c._read_type().imports.items():
        _check_import_item(linker, (name,), t)
    return 0


cdef int _check_import_item(ComponentLinker linker, tuple path, object t) except -1:
    if isinstance(t, WitInstanceType):
        for n, sub in t.items():
            _check_import_item(linker, path + (n,), sub)
    elif isinstance(t, WitFuncType) and path in linker._defined:
        for pname, pt in t.params:
            if _unsupported_type(<WitType>pt):
                raise LinkError("import %s: parameter %s has type %s, which Python functions cannot take yet"
                                % ("/".join(path), pname, pt))
        if t.result is not None and _unsupported_type(<WitType>t.result):
            raise LinkError("import %s: result type %s is not supported for Python functions yet"
                            % ("/".join(path), t.result))
    return 0


cdef int _component_link_failure(Store store, wasmtime_error_t *err) except -1:
    if store._pending is not None or store._state.interrupted:
        return _raise_call_failure(store, err, NULL)
    cdef int status
    if wasmtime_error_exit_status(err, &status):
        return _raise_call_failure(store, err, NULL)
    message = _error_message(err) or ""
    if "wasm trap: " in message or "wasm backtrace" in message:
        return _component_failure(store, err)
    wasmtime_error_delete(err)
    head = message.split("\n", 1)[0].strip()
    if "Caused by:" in message:
        head = "%s: %s" % (head, _clean_message(message))
    raise LinkError(head)


# ---- the trampoline of Python host functions ---------------------------------

cdef int _host_types(_ComponentHostFunc hf, const wasmtime_component_func_type_t *ty) except -1:
    """Loads the host function's WIT types from the call's type, unless the
    last call's type was the same."""
    cdef WitFuncType ft = _read_functype(ty, _TypeScope())
    if hf.functype is not None and hf.functype == ft:
        return 0
    hf.functype = ft
    hf.params = tuple([p[1] for p in ft.params])
    hf.result = ft.result
    return 0


cdef list _host_args(_ComponentHostFunc hf, const wasmtime_component_func_type_t *ty,
                     wasmtime_component_val_t *args, size_t nargs, size_t nresults, Store store,
                     list borrowed):
    """A host call's arguments as Python values; the borrowed handles among
    them are added to ``borrowed`` (to expire when the call returns)."""
    cdef size_t i
    _host_types(hf, ty)
    if nargs != <size_t>len(hf.params) or nresults != (1 if hf.result is not None else 0):
        raise WasmError("host function %s: the engine passed %d arguments and %d results for %s"
                        % (hf.name, nargs, nresults, hf.functype))
    pyargs = []
    for i in range(nargs):
        v = _lift(<WitType>hf.params[i], &args[i], store)
        if isinstance(v, ResourceHandle) and not (<ResourceHandle>v)._owned:
            borrowed.append(v)
        pyargs.append(v)
    return pyargs


cdef inline bint _host_returns_result(_ComponentHostFunc hf):
    """Whether the function returns ``result<T, E>`` (a ComponentError is its E)."""
    return hf.result is not None and (<WitType>hf.result)._k == WB_CT_RESULT


cdef int _host_lower_result(_ComponentHostFunc hf, object result, wasmtime_component_val_t *results,
                            Store store) except -1:
    """What the Python function returned, checked and converted into the
    call's result (T of a ``result<T, E>`` stands for Ok(T))."""
    if _host_returns_result(hf) and not isinstance(result, (Ok, Err)):
        result = Ok(result)
    if hf.result is None:
        if result is not None:
            raise TypeError("host function %s returns nothing (%s), but returned %s"
                            % (hf.name, hf.functype, _got(result)))
        return 0
    try:
        _lower(<WitType>hf.result, result, &results[0], store)
    except (TypeError, OverflowError, ValueError) as exc:
        raise _with_path(exc, "host function %s returned a bad value: result" % hf.name) from None
    return 0


cdef int _expire_borrowed(list borrowed) noexcept:
    cdef ResourceHandle h
    for h in borrowed:
        h._expire("was borrowed for a host call that has returned")
    return 0


cdef wasmtime_error_t *_host_cfunc_body(void *env, wasmtime_context_t *ctx,
                                        const wasmtime_component_func_type_t *ty,
                                        wasmtime_component_val_t *args, size_t nargs,
                                        wasmtime_component_val_t *results, size_t nresults) noexcept:
    cdef _ComponentHostFunc hf = <_ComponentHostFunc>env
    cdef Store store = <Store>(<wb_store_state_t *>wasmtime_context_get_data(ctx)).store
    if store._state.async_yield and store._pending is not None:
        # an async host function of this call failed after it awaited, and
        # the guest ran on to here (aio/component.pxi): fail at once
        return wasmtime_error_new(b"a Python host function raised an exception")
    borrowed = []
    try:
        pyargs = _host_args(hf, ty, args, nargs, nresults, store, borrowed)
        try:
            result = hf.fn(*pyargs)
        except ComponentError as exc:
            if not _host_returns_result(hf):
                raise
            result = Err(exc.value)
        _host_lower_result(hf, result, results, store)
    except BaseException as exc:
        _store_host_exception(store, exc)
        return wasmtime_error_new(b"a Python host function raised an exception")
    finally:
        _expire_borrowed(borrowed)
    return NULL
