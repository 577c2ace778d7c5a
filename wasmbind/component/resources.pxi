# Resources: handles to guest-owned resources (ResourceHandle, with drop()
# and use as a context manager), host-defined resource classes registered with
# Linker.add_resource, the per-store table of host objects lent to guests, and
# the converters of own<R> / borrow<R> values.

import itertools as _itertools
from wasmbind.errors import WasmError


_HOST_TYPE_IDS = _itertools.count(1)


@cython.final
cdef class _HostResource:
    """A Python class registered as a host-defined resource type."""
    cdef readonly object cls
    cdef readonly str name
    cdef uint32_t type_id
    cdef wasmtime_component_resource_type_t *_ptr

    def __dealloc__(self):
        if self._ptr != NULL:
            wasmtime_component_resource_type_delete(self._ptr)
            self._ptr = NULL


# type id -> _HostResource; lives as long as the process (types are few)
_HOST_RESOURCES = {}


cdef _HostResource _host_resource_new(object cls, str name):
    cdef _HostResource h = _HostResource.__new__(_HostResource)
    h.cls = cls
    h.name = name
    h.type_id = next(_HOST_TYPE_IDS) & 0xFFFFFFFF
    h._ptr = wasmtime_component_resource_type_new_host(h.type_id)
    _HOST_RESOURCES[h.type_id] = h
    return h


cdef object _host_of(WitResourceType r):
    """The host class registration behind a resource type, or None (guest-defined)."""
    cdef _HostResource h
    if r._host_checked:
        return r._host
    r._host_checked = True
    for h in _HOST_RESOURCES.values():
        if wasmtime_component_resource_type_equal(h._ptr, r._ptr):
            r._host = h
            break
    return r._host


@cython.final
cdef class _ComponentState:
    """What the component model keeps per store: host objects lent to guests
    (by rep), and handles moved into the guest by the call being converted."""
    cdef dict objects     # rep -> host object
    cdef dict reps        # id(host object) -> rep
    cdef uint32_t next_rep
    cdef list moved       # ResourceHandles given as own<R> arguments of the current call

    def __cinit__(self):
        self.objects = {}
        self.reps = {}
        self.next_rep = 1
        self.moved = []


cdef _ComponentState _cstate(Store store):
    if store._component is None:
        store._component = _ComponentState()
    return <_ComponentState>store._component


@cython.final
cdef class ResourceHandle(_StoreObject):
    """A handle to a resource (``own<R>`` or ``borrow<R>``) defined by a component.

    ``handle.drop()`` (or leaving ``with handle:``) releases it, running the
    component's destructor; ``owned`` tells own from borrow; ``type`` is the
    resource type. A dropped handle, or an owned one passed to the component
    (which then owns it), refuses further use with a clear error. Borrowed
    handles given to a host function are valid only while it runs.
    """

    def __dealloc__(self):
        if self._ptr != NULL:
            wasmtime_component_resource_any_delete(self._ptr)
            self._ptr = NULL

    def __init__(self):
        raise TypeError("resource handles are made by wasmbind when a component returns one")

    @staticmethod
    cdef ResourceHandle _wrap(Store store, wasmtime_component_resource_any_t *ptr, WitResourceType rtype):
        cdef ResourceHandle h = ResourceHandle.__new__(ResourceHandle)
        h.store = store
        h._ptr = ptr
        h._owned = wasmtime_component_resource_any_owned(ptr)
        h.type = rtype
        return h

    cdef int _check(self) except -1:
        if self._ptr == NULL:
            raise WasmError("this resource handle %s" % (self._gone or "is not valid"))
        return 0

    cdef int _expire(self, str why):
        if self._ptr != NULL:
            wasmtime_component_resource_any_delete(self._ptr)
            self._ptr = NULL
        self._gone = why
        return 0

    @property
    def owned(self):
        return self._owned

    @property
    def dropped(self):
        return self._ptr == NULL

    def drop(self):
        """Release the resource (runs the component's destructor for an owned
        handle). Afterwards the handle refuses use; dropping twice raises."""
        self._check()
        cdef wasmtime_context_t *ctx = self._context()
        cdef Store store = self.store
        cdef wasmtime_error_t *err
        if store._state.async_yield:
            # the engine has no async form of it (see docs/asyncio.md)
            raise WasmError("ResourceHandle.drop() runs the component's destructor synchronously, which "
                            "a store of an async engine refuses: pass the handle back to the component "
                            "(an own<R> argument moves it there), or leave it to the store")
        if wb_state_enter(&store._state):
            _stack_refused(store)
        if store._state.release_gil:
            with nogil:
                err = wasmtime_component_resource_any_drop(ctx, self._ptr)
        else:
            err = wasmtime_component_resource_any_drop(ctx, self._ptr)
        wb_state_leave(&store._state)
        self._expire("was dropped")
        if err != NULL:
            _component_failure(store, err)

    def __enter__(self):
        self._check()
        return self

    def __exit__(self, *exc):
        if self._ptr != NULL:
            self.drop()
        return False

    def __repr__(self):
        state = "dropped" if self._ptr == NULL else ("own" if self._owned else "borrow")
        name = self.type.name if self.type is not None and self.type.name else "resource"
        return "<wasmbind.component.ResourceHandle %s %s>" % (state, name)


cdef int _lo_resource(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    cdef ResourceHandle h
    cdef wasmtime_context_t *ctx
    cdef _HostResource hr
    cdef wasmtime_component_resource_host_t *host
    cdef wasmtime_component_resource_any_t *anyp = NULL
    cdef uint32_t rep
    cdef bint own = t._k == WB_CT_OWN
    r = t._resource
    if isinstance(v, ResourceHandle):
        h = <ResourceHandle>v
        h._check()
        if h.store is not store:
            raise ValueError("the resource handle belongs to a different Store")
        if r is not None and h.type is not None and not wasmtime_component_resource_type_equal(
                (<WitResourceType>r)._ptr, (<WitResourceType>h.type)._ptr):
            raise TypeError("expected %s, got a handle to %s" % (t, h.type))
        if own and not h._owned:
            raise TypeError("expected %s, got a borrowed handle (only an owned handle can be given away)" % t)
        out.of.resource = wasmtime_component_resource_any_clone(h._ptr)
        out.kind = WB_CV_RESOURCE
        if own:
            _cstate(store).moved.append(h)
        return 0
    hr = _host_of(r) if r is not None else None
    if hr is None or not isinstance(v, hr.cls):
        expected = ("an instance of %s" % hr.cls.__name__) if hr is not None else "a ResourceHandle"
        raise TypeError("expected %s (%s), got %s" % (t, expected, _got(v)))
    cs = _cstate(store)
    key = id(v)
    rep_obj = cs.reps.get(key)
    if rep_obj is None or cs.objects.get(rep_obj) is not v:
        rep = cs.next_rep
        cs.next_rep += 1
        cs.objects[rep] = v
        cs.reps[key] = rep
    else:
        rep = rep_obj
    ctx = store._context()
    host = wasmtime_component_resource_host_new(own, rep, hr.type_id)
    err = wasmtime_component_resource_host_to_any(ctx, host, &anyp)
    wasmtime_component_resource_host_delete(host)
    if err != NULL:
        _raise_error(err)
    out.of.resource = anyp
    out.kind = WB_CV_RESOURCE
    return 0


cdef object _li_resource(WitType t, const wasmtime_component_val_t *v, Store store):
    cdef wasmtime_component_resource_host_t *host = NULL
    r = t._resource
    if v.of.resource == NULL:
        raise WasmError("the engine returned an empty resource")
    hr = _host_of(r) if r is not None else None
    if hr is not None:
        err = wasmtime_component_resource_any_to_host(store._context(), v.of.resource, &host)
        if err != NULL:
            _raise_error(err)
        rep = wasmtime_component_resource_host_rep(host)
        wasmtime_component_resource_host_delete(host)
        obj = _cstate(store).objects.get(rep, _MISSING)
        if obj is _MISSING:
            raise WasmError("the component used a host resource that no longer exists (rep %d)" % rep)
        return obj
    return ResourceHandle._wrap(store, wasmtime_component_resource_any_clone(v.of.resource), r)


cdef wasmtime_error_t *_host_dtor_body(void *env, wasmtime_context_t *ctx, uint32_t rep) noexcept:
    """The guest dropped its last handle to a host object: forget it, and call
    its ``close()`` when it has one."""
    cdef Store store = <Store>(<wb_store_state_t *>wasmtime_context_get_data(ctx)).store
    try:
        cs = _cstate(store)
        obj = cs.objects.pop(rep, None)
        if obj is not None:
            cs.reps.pop(id(obj), None)
            close = getattr(obj, "close", None)
            if callable(close):
                close()
    except BaseException as exc:
        _store_host_exception(store, exc)
        return wasmtime_error_new(b"a Python resource destructor raised an exception")
    return NULL
