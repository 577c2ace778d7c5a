# Globals.

@cython.final
cdef class Global(_StoreObject):
    """A global variable. ``Global(store, globaltype, value)``; read and assign ``.value``."""

    def __init__(self, Store store not None, globaltype, value):
        cdef wasm_globaltype_t *gt
        self._claim()
        store._context()
        gt = _globaltype_new(globaltype)
        try:
            _give_value(store, globaltype.content, value, _GLOBAL_NEW, &self._global, gt, 0)
        finally:
            wasm_globaltype_delete(gt)
        self.store = store

    @property
    def type(self):
        cdef wasm_globaltype_t *gt = wasmtime_global_type(self._context(), &self._global)
        try:
            return _globaltype_py(gt)
        finally:
            wasm_globaltype_delete(gt)

    @property
    def value(self):
        cdef wasmtime_context_t *ctx = self._context()
        cdef wasmtime_val_t val
        wasmtime_global_get(ctx, &self._global, &val)
        try:
            return _from_val(self.store, ctx, &val)
        finally:
            _unroot_vals(&val, 1)

    @value.setter
    def value(self, v):
        ty = self.type
        if not ty.mutable:
            raise AttributeError("cannot assign an immutable global (%r)" % (ty,))
        _give_value(self.store, ty.content, v, _GLOBAL_SET, &self._global, NULL, 0)

    def __repr__(self):
        why = _unusable(self)
        if why is not None:
            return "<wasmbind.Global (%s)>" % why
        return "<wasmbind.Global %r = %r>" % (self.type, self.value)
