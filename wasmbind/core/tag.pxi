# Tags (exception handling): the externs a Wasm exception is thrown with, and
# exceptions crossing the boundary both ways (WasmException).

from wasmbind.errors import WasmError, WasmException
from wasmbind.types import FuncType, TagType


cdef wasm_tagtype_t *_tagtype_new(object tt) except NULL:
    if not isinstance(tt, TagType):
        raise TypeError("expected a TagType, got %s" % type(tt).__name__)
    return wasm_tagtype_new(_functype_new(tt.functype))  # takes the functype


@cython.final
cdef class Tag(_StoreObject):
    """An exception tag. ``Tag(store, TagType([ValType.i32, ValType.f64]))``.

    Tags are compared by identity: two handles of the same tag (an export read
    twice, a tag imported and exported again) are equal and hash equal; two
    tags of the same type are not. Pass a Tag as an import (in a sequence or a
    mapping, or with ``Linker.define``) and raise ``WasmException(tag, *payload)``
    from a host function to throw it into the guest. Needs an Engine with
    ``Config(wasm_exceptions=True)``.
    """

    def __init__(self, Store store not None, tagtype):
        cdef wasm_tagtype_t *tt
        cdef wasmtime_error_t *err
        self._claim()
        store._context()
        tt = _tagtype_new(tagtype)
        try:
            err = wasmtime_tag_new(store._context(), tt, &self._tag)
        finally:
            wasm_tagtype_delete(tt)
        if err != NULL:
            _raise_error(err)
        self.store = store

    @staticmethod
    cdef Tag _wrap(Store store, wasmtime_tag_t *tag):
        cdef Tag self = Tag.__new__(Tag)
        _bind(self, store)
        self._tag = tag[0]
        return self

    @property
    def type(self):
        """The tag's :class:`TagType` (its payload types)."""
        if self._functype is None:
            tt = wasmtime_tag_type(self._context(), &self._tag)
            try:
                self._functype = _functype_py(wasm_tagtype_functype(tt))
            finally:
                wasm_tagtype_delete(tt)
        return TagType(self._functype)

    def __eq__(self, other):
        cdef Tag o
        if not isinstance(other, Tag):
            return NotImplemented
        o = <Tag>other
        if o.store is not self.store or self.store is None:
            return False
        if self.store._ctx == NULL:  # a closed store: the handles' own fields
            return _tag_key(self) == _tag_key(o)
        return wasmtime_tag_eq(self._context(), &self._tag, &o._tag)

    def __hash__(self):
        return hash((id(self.store), _tag_key(self)))

    def __repr__(self):
        why = _unusable(self)
        if why is not None:
            return "<wasmbind.Tag (%s)>" % why
        return "<wasmbind.Tag %r>" % (self.type,)


cdef tuple _tag_key(Tag t):
    return (t._tag.head.store_id, t._tag.head.private1, t._tag.private2)


# ---- exceptions crossing the boundary ----------------------------------------

cdef object _take_exception(Store store):
    """The exception a call left pending in the store, as a WasmException
    (its tag and payload read out, its exnref an ExnRef handle that holds the
    store's root), or None."""
    cdef wasmtime_context_t *ctx = store._ctx
    cdef ExnRef h
    if ctx == NULL or not wasmtime_context_has_exception(ctx):
        return None
    h = ExnRef.__new__(ExnRef)
    if not wasmtime_context_take_exception(ctx, &h._val.of.exnref):
        return None
    h._val.kind = WB_EXNREF  # the handle owns the root from here on
    _bind(h, store)
    return WasmException(h)


cdef wasm_trap_t *_throw_into_guest(Store store, wasmtime_context_t *ctx, object exc) except NULL:
    """A WasmException raised by a host function, set as the store's pending
    exception; returns the trap the host callback returns with it. Raises
    (TypeError, ValueError...) when the exception cannot be thrown as given."""
    cdef Tag tag
    cdef wasmtime_val_t small[SMALL]
    cdef wasmtime_val_t *vals = small
    cdef wasmtime_exnref_t exn
    cdef wasmtime_error_t *err
    cdef wasm_trap_t *trap
    cdef Py_ssize_t n, i, made = 0
    exnref = getattr(exc, "exnref", None)
    if exnref is not None:  # an existing exception object, thrown again as itself
        if not isinstance(exnref, ExnRef):
            raise TypeError("WasmException.exnref must be a wasmbind.ExnRef, got %s"
                            % type(exnref).__name__)
        _check_owner(exnref, store)
        trap = wasmtime_context_set_exception(ctx, &(<ExnRef>exnref)._val.of.exnref)
        if trap == NULL:
            raise WasmError("the engine refused to throw the exception")
        return trap
    if not isinstance(exc.tag, Tag):
        raise TypeError("WasmException(tag, *payload): tag must be a wasmbind.Tag, got %s"
                        % type(exc.tag).__name__)
    tag = <Tag>exc.tag
    _check_owner(tag, store)
    params = tag.type.functype.params
    payload = exc.payload
    n = len(params)
    if len(payload) != n:
        raise TypeError("the tag's payload is (%s): %d value(s), got %d"
                        % (", ".join(p.name for p in params), n, len(payload)))
    if n > SMALL:
        vals = <wasmtime_val_t *>PyMem_Malloc(n * sizeof(wasmtime_val_t))
        if vals == NULL:
            raise MemoryError()
    try:
        for i in range(n):
            try:
                _to_val(store, ctx, <int>params[i], payload[i], &vals[i])
            except (TypeError, OverflowError) as e:
                raise type(e)("WasmException payload value %d (%s): %s" % (i, params[i].name, e)) from None
            made += 1
        err = wasmtime_exnref_new(ctx, &tag._tag, vals, n, &exn)
    finally:
        _unroot_vals(vals, made)
        if vals != small:
            PyMem_Free(vals)
    if err != NULL:
        _raise_error(err)
    trap = wasmtime_context_set_exception(ctx, &exn)
    wasmtime_exnref_unroot(&exn)
    if trap == NULL:
        raise WasmError("the engine refused to throw the exception")
    return trap
