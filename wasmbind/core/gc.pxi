# GC references as Python values: anyref (and eqref, i31ref, structref,
# arrayref, nullref below it), exnref, and externrefs the engine made itself.
#
# In Python: None is null; an i31 is an int in [-2**30, 2**30); a struct is a
# StructRef, an array an ArrayRef, anything else below any an AnyRef; an
# exception an ExnRef; an externref made inside the guest (extern.convert_any)
# an ExternRef. A handle holds its own root of the value (a clone), so the
# object lives as long as the handle; it unroots the value when it dies (the
# engine's unroot needs no store: safe after the store closed). A handle
# belongs to its store: passing it to another store is refused. The engine
# checks every value it is given against the exact declared type (concrete
# types, nullability) and says what it expected.

from wasmbind.errors import WasmError


cdef inline bint _is_null_ref(const wasmtime_val_t *val) noexcept:
    # anyref, externref and exnref share their layout (a store id, 0 for null)
    return val.of.anyref.store_id == 0


cdef object _ref_wrap(type cls, Store store, const wasmtime_val_t *val):
    """A new handle of class ``cls`` holding its own root of ``val``."""
    cdef _Ref h = <_Ref>cls.__new__(cls)
    wasmtime_val_clone(val, &h._val)
    return _bind(h, store)


cdef int _ref_clone(_Ref h, Store store, wasmtime_val_t *out) except -1:
    """``out`` = a new root of the handle's value (the caller unroots it)."""
    if h.store is None:
        raise WasmError("the %s was not initialized" % type(h).__name__)
    if h.store is not store:
        raise ValueError("the %s belongs to a different Store" % type(h).__name__)
    wasmtime_val_clone(&h._val, out)
    return 0


cdef object _gc_from_val(Store store, wasmtime_context_t *ctx, const wasmtime_val_t *val):
    """An anyref or exnref value as a Python object (a new root if a handle)."""
    cdef int32_t i31
    cdef StructRef s
    cdef ArrayRef a
    if _is_null_ref(val):
        return None
    if val.kind == WB_EXNREF:
        return _ref_wrap(ExnRef, store, val)
    if wasmtime_anyref_i31_get_s(ctx, &val.of.anyref, &i31):
        return i31
    if wasmtime_anyref_is_struct(ctx, &val.of.anyref):
        s = StructRef.__new__(StructRef)
        if wasmtime_anyref_as_struct(ctx, &val.of.anyref, &s._sref):
            wasmtime_val_clone(val, &s._val)
            return _bind(s, store)
    elif wasmtime_anyref_is_array(ctx, &val.of.anyref):
        a = ArrayRef.__new__(ArrayRef)
        if wasmtime_anyref_as_array(ctx, &val.of.anyref, &a._aref):
            wasmtime_val_clone(val, &a._val)
            return _bind(a, store)
    return _ref_wrap(AnyRef, store, val)


cdef str _gc_expected(uint8_t kind):
    if kind == WB_ANYREF:
        return "an int (i31), an AnyRef or None"
    if kind == WB_VT_EQREF:
        return "an int (i31), a StructRef, an ArrayRef or None"
    if kind == WB_VT_I31REF:
        return "an int (i31) or None"
    if kind == WB_VT_STRUCTREF:
        return "a StructRef or None"
    if kind == WB_VT_ARRAYREF:
        return "an ArrayRef or None"
    if kind == WB_EXNREF:
        return "an ExnRef or None"
    return "None"


cdef int _gc_to_val(Store store, wasmtime_context_t *ctx, uint8_t kind, object v,
                    wasmtime_val_t *out) except -1:
    """``v`` as a value of ValType ``kind`` (engine kind anyref or exnref);
    rooted on success (the caller unroots), never a rooted kind on error."""
    cdef uint8_t ekind = out.kind
    cdef bint ok
    cdef uint32_t bits
    memset(&out.of, 0, sizeof(out.of))
    out.kind = WB_I32  # nothing to unroot until the end
    if v is None:
        out.kind = ekind  # null (store id 0): nothing to unroot
        return 0
    if isinstance(v, _Ref):
        if kind == WB_EXNREF:
            ok = isinstance(v, ExnRef)
        elif kind == WB_ANYREF:
            ok = isinstance(v, AnyRef)
        elif kind == WB_VT_EQREF:
            ok = isinstance(v, (StructRef, ArrayRef))
        elif kind == WB_VT_STRUCTREF:
            ok = isinstance(v, StructRef)
        elif kind == WB_VT_ARRAYREF:
            ok = isinstance(v, ArrayRef)
        else:
            ok = False
        if not ok:
            raise TypeError("expected %s for %s, got %s"
                            % (_gc_expected(kind), _kind_name(kind), type(v).__name__))
        return _ref_clone(<_Ref>v, store, out)
    if (kind == WB_ANYREF or kind == WB_VT_EQREF or kind == WB_VT_I31REF) and not isinstance(v, bool) \
            and (PyLong_Check(v) or PyIndex_Check(v)):
        v = _index(v, kind)
        if not -0x40000000 <= v < 0x40000000:
            raise OverflowError("%r out of range for i31 [-2**30, 2**30)" % (v,))
        bits = <uint32_t>(<int32_t>v) & 0x7FFFFFFF
        ctx = store._context()  # __index__ may have run Python code
        wasmtime_anyref_from_i31(ctx, bits, &out.of.anyref)
        out.kind = WB_ANYREF
        return 0
    raise TypeError("expected %s for %s, got %s" % (_gc_expected(kind), _kind_name(kind), type(v).__name__))


cdef int _gc_check(wasmtime_error_t *err) except -1:
    if err != NULL:
        _raise_error(err)
    return 0


@cython.auto_pickle(False)
cdef class _Ref(_StoreObject):
    """Base of the GC reference handles: holds a root of one value."""

    def __init__(self, *args, **kwargs):
        raise TypeError("%s handles are made by wasmbind (values a call, global or table gives)"
                        % type(self).__name__)

    def __dealloc__(self):
        # the handle's own root (of.anyref, .externref and .exnref share a layout)
        if self._val.kind >= WB_EXTERNREF and self._val.of.anyref.store_id != 0:
            wasmtime_val_unroot(&self._val)

    def __repr__(self):
        why = _unusable(self)
        return "<wasmbind.%s%s>" % (type(self).__name__, " (%s)" % why if why else "")


cdef class AnyRef(_Ref):
    """A non-null reference below ``any`` that is neither an i31 (an int) nor
    a struct or array (e.g. an externref converted by ``any.convert_extern``)."""


cdef class ExnRef(_Ref):
    """A non-null exception reference (``exnref``): the exception object
    itself. ``e.tag`` is the :class:`Tag` it was thrown with, ``e.payload``
    the tuple of its values (read from the object each time). The
    ``exnref`` of a :class:`WasmException` that escaped a call; a host
    function raising ``WasmException(e)`` throws this same object again."""

    @property
    def tag(self):
        """The :class:`Tag` the exception was thrown with."""
        cdef wasmtime_tag_t tag
        _gc_check(wasmtime_exnref_tag(self._context(), &self._val.of.exnref, &tag))
        return Tag._wrap(self.store, &tag)

    @property
    def payload(self):
        """The exception's values, as a tuple (converted like call results)."""
        cdef wasmtime_context_t *ctx = self._context()
        cdef wasmtime_val_t val
        cdef size_t i, n = wasmtime_exnref_field_count(ctx, &self._val.of.exnref)
        out = []
        for i in range(n):
            _gc_check(wasmtime_exnref_field(ctx, &self._val.of.exnref, i, &val))
            try:
                out.append(_from_val(self.store, ctx, &val))
            finally:
                _unroot_vals(&val, 1)
        return tuple(out)


cdef class ExternRef(_Ref):
    """A non-null externref the guest made from an internal value
    (``extern.convert_any``); passed back as an externref it is the same
    reference."""


cdef Py_ssize_t _gc_index(object i, Py_ssize_t n, str what) except -1:
    index = _as_index(i, what)
    if not -n <= index < n:
        raise IndexError("%s %d out of range (%d)" % (what, index, n))
    return index + n if index < 0 else index


cdef class StructRef(AnyRef):
    """A struct: ``len(s)`` fields, ``s[i]`` reads one, ``s[i] = v`` writes a
    mutable one (packed i8/i16 fields read zero-extended, written truncated)."""

    def __dealloc__(self):
        if self._sref.store_id != 0:
            wasmtime_structref_unroot(&self._sref)

    def __len__(self):
        cdef wasmtime_struct_type_t *ty = wasmtime_structref_type(self._context(), &self._sref)
        cdef size_t n
        if ty == NULL:
            raise WasmError("the engine has no type for this struct")
        n = wasmtime_struct_type_num_fields(ty)
        wasmtime_struct_type_delete(ty)
        return n

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, i):
        cdef size_t idx = _gc_index(i, len(self), "struct field")
        cdef wasmtime_context_t *ctx = self._context()
        cdef wasmtime_val_t val
        _gc_check(wasmtime_structref_field(ctx, &self._sref, idx, &val))
        try:
            return _from_val(self.store, ctx, &val)
        finally:
            _unroot_vals(&val, 1)

    def __setitem__(self, i, value):
        cdef size_t idx = _gc_index(i, len(self), "struct field")
        cdef wasmtime_val_t cur, val
        _gc_check(wasmtime_structref_field(self._context(), &self._sref, idx, &cur))
        _unroot_vals(&cur, 1)
        # converted as the field's kind of value (its engine kind is a ValType
        # number too); the engine checks the field's exact type and mutability
        _to_val(self.store, self._context(), cur.kind, value, &val)
        try:
            _gc_check(wasmtime_structref_set_field(self._context(), &self._sref, idx, &val))
        finally:
            _unroot_vals(&val, 1)


cdef class ArrayRef(AnyRef):
    """An array: ``len(a)`` elements, ``a[i]`` reads one, ``a[i] = v`` writes
    one of a mutable array (packed i8/i16 elements read zero-extended)."""

    def __dealloc__(self):
        if self._aref.store_id != 0:
            wasmtime_arrayref_unroot(&self._aref)

    def __len__(self):
        cdef uint32_t n
        _gc_check(wasmtime_arrayref_len(self._context(), &self._aref, &n))
        return n

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, i):
        cdef uint32_t idx = _gc_index(i, len(self), "array index")
        cdef wasmtime_context_t *ctx = self._context()
        cdef wasmtime_val_t val
        _gc_check(wasmtime_arrayref_get(ctx, &self._aref, idx, &val))
        try:
            return _from_val(self.store, ctx, &val)
        finally:
            _unroot_vals(&val, 1)

    def __setitem__(self, i, value):
        cdef uint32_t idx = _gc_index(i, len(self), "array index")
        cdef wasmtime_val_t cur, val
        _gc_check(wasmtime_arrayref_get(self._context(), &self._aref, idx, &cur))
        _unroot_vals(&cur, 1)
        _to_val(self.store, self._context(), cur.kind, value, &val)
        try:
            _gc_check(wasmtime_arrayref_set(self._context(), &self._aref, idx, &val))
        finally:
            _unroot_vals(&val, 1)
