# Component values: the Python classes of WIT values (Record, Variant, Ok,
# Err, Some) and the converters between Python objects and the engine's
# tagged values. Conversion is table driven: one lowering function (Python ->
# engine) and one lifting function (engine -> Python) per WIT type kind,
# chosen by indexing _LOWER / _LIFT with the kind read from the WitType, so a
# call does no Python-level dispatch on type names.
#
# Ownership: every value handed to the engine is built with the engine's own
# allocators (wasm_byte_vec_new, wasmtime_component_*_new_uninit,
# wasmtime_component_val_new), since the engine frees what it is given. A
# value being built is always in a state the engine can delete: vectors are
# zero-filled (a zero value is the bool false) before their elements are
# converted, so a failure anywhere leaves something wasmtime_component_val_delete
# frees cleanly, and nothing half-converted is ever passed to a call.

from collections.abc import Mapping as _Mapping
from wasmbind.errors import WasmError


from cpython.unicode cimport PyUnicode_DecodeUTF8

cdef extern from "Python.h":
    const char *PyUnicode_AsUTF8AndSize(object s, Py_ssize_t *size) except NULL
    Py_ssize_t PyBytes_GET_SIZE(object b)
    int PyBuffer_IsContiguous(const Py_buffer *view, char order)
    enum:
        PyBUF_STRIDES
        PY_SSIZE_T_MAX
    object PyUnicode_FromOrdinal(int ordinal)

cdef extern from "wasmbind_values.h":
    int wb_exact_long(PyObject *v, long long *x) noexcept


# ---- value classes -----------------------------------------------------------

@cython.final
cdef class Record:
    """A WIT record: ``Record(x=1, y=2)``; fields by attribute (``r.x``, kebab-case
    names also as snake_case: ``r.first_name``) or item (``r["first-name"]``).
    Records compare equal when their fields are; ``repr`` lists the fields."""
    cdef tuple _names
    cdef tuple _values
    cdef dict _index

    def __init__(self, *args, **fields):
        if args:
            if len(args) != 1 or fields:
                raise TypeError("Record() takes one mapping or keyword arguments")
            fields = dict(args[0])
        names = tuple(fields)
        self._names = names
        self._values = tuple(fields.values())
        self._index = _name_index(names)

    @staticmethod
    cdef Record _make(WitType t, tuple values):
        cdef Record r = Record.__new__(Record)
        r._names = t._names
        r._values = values
        r._index = t._index
        return r

    def __getattr__(self, name):
        i = self._index.get(name)
        if i is None:
            raise AttributeError("record has no field %r (fields: %s)" % (name, ", ".join(self._names)))
        return self._values[i]

    def __getitem__(self, name):
        i = self._index.get(name) if isinstance(name, str) else None
        if i is None:
            raise KeyError(name)
        return self._values[i]

    def __contains__(self, name):
        return name in self._index

    def __setattr__(self, name, value):
        raise AttributeError("Record objects are immutable; use replace()")

    def replace(self, **changes):
        """A copy with some fields changed."""
        d = self._asdict()
        for k, v in changes.items():
            i = self._index.get(k)
            if i is None:
                raise TypeError("record has no field %r" % (k,))
            d[self._names[i]] = v
        return Record(d)

    def _asdict(self):
        """The fields as a dict (WIT names, in order)."""
        return dict(zip(self._names, self._values))

    def keys(self):
        return list(self._names)

    def values(self):
        return list(self._values)

    def items(self):
        return list(zip(self._names, self._values))

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)

    def __eq__(self, other):
        if not isinstance(other, Record):
            return NotImplemented
        return self._asdict() == (<Record>other)._asdict()

    __hash__ = None

    def __dir__(self):
        return [_snake(n) for n in self._names] + ["replace", "keys", "values", "items"]

    def __reduce__(self):
        return (Record, (self._asdict(),))

    def __repr__(self):
        parts = []
        for n, v in zip(self._names, self._values):
            key = _snake(n)
            parts.append("%s=%r" % (key if key.isidentifier() else repr(n), v))
        return "Record(%s)" % ", ".join(parts)


cdef dict _name_index(tuple names):
    cdef dict index = {}
    for i, n in enumerate(names):
        index[n] = i
    for i, n in enumerate(names):
        index.setdefault(_snake(n), i)
    return index


class Variant:
    """A WIT variant value: ``Variant(case, value=None)``."""
    __slots__ = ("case", "value")

    def __init__(self, case, value=None):
        if not isinstance(case, str):
            raise TypeError("a variant case is a str, not %s" % type(case).__name__)
        object.__setattr__(self, "case", case)
        object.__setattr__(self, "value", value)

    def __setattr__(self, name, value):
        raise AttributeError("Variant objects are immutable")

    def __eq__(self, other):
        if not isinstance(other, Variant):
            return NotImplemented
        return self.case == other.case and self.value == other.value

    def __hash__(self):
        return hash((Variant, self.case, self.value))

    def __reduce__(self):
        return (Variant, (self.case, self.value))

    def __repr__(self):
        if self.value is None:
            return "Variant(%r)" % (self.case,)
        return "Variant(%r, %r)" % (self.case, self.value)


class _Wrapper:
    __slots__ = ("value",)

    def __init__(self, value=None):
        object.__setattr__(self, "value", value)

    def __setattr__(self, name, value):
        raise AttributeError("%s objects are immutable" % type(self).__name__)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.value == other.value

    def __hash__(self):
        return hash((type(self), self.value))

    def __reduce__(self):
        return (type(self), (self.value,))

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self.value)


class Ok(_Wrapper):
    """The success case of a WIT ``result`` nested inside another value."""
    __slots__ = ()


class Err(_Wrapper):
    """The error case of a WIT ``result`` nested inside another value."""
    __slots__ = ()


class Some(_Wrapper):
    """A present value of the outer level of a nested ``option<option<T>>``."""
    __slots__ = ()


# ---- paths in conversion errors ----------------------------------------------

cdef int _add_path(object exc, str segment) except -1:
    """Remembers on ``exc`` (innermost first) where in a value it happened."""
    try:
        path = exc._wb_path
    except AttributeError:
        path = exc._wb_path = []
    path.append(segment)
    return 0


cdef str _path_of(object exc):
    try:
        return "".join(reversed(exc._wb_path))
    except AttributeError:
        return ""


cdef object _with_path(object exc, str where):
    """A new exception of the same class whose message names the full path."""
    cls = type(exc)
    if issubclass(cls, UnicodeError):
        cls = ValueError
    msg = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
    return cls("%s%s: %s" % (where, _path_of(exc), msg))


cdef str _got(object v):
    return type(v).__name__


# ---- lowering: Python -> engine values ---------------------------------------

ctypedef int (*_lower_fn)(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1
ctypedef object (*_lift_fn)(WitType t, const wasmtime_component_val_t *v, Store store)

cdef _lower_fn _LOWER[_CT_COUNT]
cdef _lift_fn _LIFT[_CT_COUNT]

# value kind of each type kind (WB_CT_* -> WB_CV_*)
cdef uint8_t _CV_OF[_CT_COUNT]


cdef inline int _lower(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    if t._k >= _CT_COUNT:
        raise TypeError("values of WIT type %s are not supported yet" % t.kind)
    return _LOWER[t._k](t, v, out, store)


cdef inline object _lift(WitType t, const wasmtime_component_val_t *v, Store store):
    if t._k >= _CT_COUNT:
        raise TypeError("values of WIT type %s are not supported yet" % t.kind)
    return _LIFT[t._k](t, v, store)


cdef object _wit_int(WitType t, object v):
    if PyLong_Check(v) and not isinstance(v, bool):
        return v
    if not isinstance(v, bool) and PyIndex_Check(v):
        return PyNumber_Index(v)
    raise TypeError("expected %s, got %s" % (t.kind, _got(v)))


cdef int _range_error(WitType t, object v, object lo, object hi) except -1:
    raise OverflowError("expected %s in range [%d, %d], got %d" % (t.kind, lo, hi, v))


cdef inline long long _signed(WitType t, object v, long long lo, long long hi) except? -1:
    cdef long long x
    cdef int overflow = 0
    if wb_exact_long(<PyObject *>v, &x):
        if lo <= x <= hi:
            return x
        _range_error(t, v, lo, hi)
    v = _wit_int(t, v)
    x = PyLong_AsLongLongAndOverflow(v, &overflow)
    if overflow or x < lo or x > hi:
        _range_error(t, v, lo, hi)
    return x


cdef inline unsigned long long _unsigned(WitType t, object v, unsigned long long hi) except? 0xFFFFFFFFFFFFFFFF:
    cdef long long x
    if wb_exact_long(<PyObject *>v, &x):
        if 0 <= x and <unsigned long long>x <= hi:
            return <unsigned long long>x
        if x < 0:
            _range_error(t, v, 0, hi)
    v = _wit_int(t, v)
    if v < 0 or v > hi:
        _range_error(t, v, 0, hi)
    return PyLong_AsUnsignedLongLong(v)


cdef inline double _float(WitType t, object v) except? -1.0:
    if PyFloat_CheckExact(v):
        return PyFloat_AS_DOUBLE(v)
    if isinstance(v, (bool, str, bytes, bytearray, complex)) or v is None:
        raise TypeError("expected %s, got %s" % (t.kind, _got(v)))
    if PyLong_Check(v):
        return PyLong_AsDouble(v)
    try:
        return PyFloat_AsDouble(v)
    except TypeError:
        raise TypeError("expected %s, got %s" % (t.kind, _got(v))) from None


cdef int _lo_bool(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    if v is True:
        out.of.boolean = True
    elif v is False:
        out.of.boolean = False
    else:
        raise TypeError("expected bool, got %s" % _got(v))
    out.kind = WB_CV_BOOL
    return 0


cdef int _lo_s8(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    out.of.s8 = <int8_t>_signed(t, v, -0x80, 0x7F)
    out.kind = WB_CV_S8
    return 0


cdef int _lo_s16(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    out.of.s16 = <int16_t>_signed(t, v, -0x8000, 0x7FFF)
    out.kind = WB_CV_S16
    return 0


cdef int _lo_s32(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    out.of.s32 = <int32_t>_signed(t, v, -0x80000000, 0x7FFFFFFF)
    out.kind = WB_CV_S32
    return 0


cdef int _lo_s64(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    out.of.s64 = <int64_t>_signed(t, v, -0x8000000000000000, 0x7FFFFFFFFFFFFFFF)
    out.kind = WB_CV_S64
    return 0


cdef int _lo_u8(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    out.of.u8 = <uint8_t>_unsigned(t, v, 0xFF)
    out.kind = WB_CV_U8
    return 0


cdef int _lo_u16(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    out.of.u16 = <uint16_t>_unsigned(t, v, 0xFFFF)
    out.kind = WB_CV_U16
    return 0


cdef int _lo_u32(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    out.of.u32 = <uint32_t>_unsigned(t, v, 0xFFFFFFFF)
    out.kind = WB_CV_U32
    return 0


cdef int _lo_u64(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    out.of.u64 = <uint64_t>_unsigned(t, v, 0xFFFFFFFFFFFFFFFF)
    out.kind = WB_CV_U64
    return 0


cdef int _lo_f32(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    cdef uint32_t b = wb_double_to_f32_bits(_float(t, v))  # NaN bits kept
    memcpy(&out.of.f32, &b, 4)
    out.kind = WB_CV_F32
    return 0


cdef int _lo_f64(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    out.of.f64 = _float(t, v)
    out.kind = WB_CV_F64
    return 0


cdef int _lo_char(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    if not isinstance(v, str):
        raise TypeError("expected char (a one-character str), got %s" % _got(v))
    if len(<str>v) != 1:
        raise TypeError("expected char (a one-character str), got a str of length %d" % len(<str>v))
    c = ord(<str>v)
    if 0xD800 <= c <= 0xDFFF:
        raise ValueError("expected char, got the lone surrogate %r (not a Unicode scalar value)" % (v,))
    out.of.character = c
    out.kind = WB_CV_CHAR
    return 0


cdef inline void *_arena_alloc(Store store, size_t n, bint zero) except NULL:
    """n bytes of the argument arena (store._carena is set)."""
    cdef void *p = wb_arena_alloc(<wb_arena_t *>store._carena, n, zero)
    if p == NULL:
        raise MemoryError()
    return p


cdef int _set_name(Store store, wasm_name_t *out, object s) except -1:
    """Copies a str as UTF-8 into an argument-arena or engine-allocated
    buffer (refusing lone surrogates)."""
    cdef Py_ssize_t n
    cdef const char *p
    try:
        p = PyUnicode_AsUTF8AndSize(s, &n)
    except UnicodeEncodeError as exc:
        raise ValueError("string is not valid Unicode (it has a lone surrogate at index %d)" % exc.start) from None
    if store._carena != NULL:
        out.data = <wasm_byte_t *>_arena_alloc(store, n, False)
        if n:
            memcpy(out.data, p, n)
        out.size = n
    else:
        wasm_byte_vec_new(out, n, <const wasm_byte_t *>p)
    return 0


cdef inline int _set_bytes_name(Store store, wasm_name_t *out, bytes b) except -1:
    """A WIT name (a field, case or flag name of a type). Argument values point
    at the type's own bytes, which the function's type keeps alive through
    the call; other values get an engine-allocated copy."""
    if store._carena != NULL:
        out.data = <wasm_byte_t *>PyBytes_AS_STRING(b)
        out.size = PyBytes_GET_SIZE(b)
    else:
        wasm_byte_vec_new(out, PyBytes_GET_SIZE(b), <const wasm_byte_t *>PyBytes_AS_STRING(b))
    return 0


cdef int _lo_string(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    if not isinstance(v, str):
        raise TypeError("expected string (a str), got %s" % _got(v))
    _set_name(store, &out.of.string, v)
    out.kind = WB_CV_STRING
    return 0


cdef int _new_vals(Store store, wasmtime_component_val_t *out, uint8_t kind, size_t n, bint zero,
                   wasmtime_component_val_t **items) except -1:
    """Gives ``out`` a vector of ``n`` values (list or tuple), from the argument
    arena or the engine, zero-filled unless the caller fills every value at
    once (``zero`` false)."""
    cdef wasmtime_component_vallist_t vec
    if store._carena != NULL:
        if n > (<size_t>PY_SSIZE_T_MAX) // sizeof(wasmtime_component_val_t):
            raise MemoryError()
        vec.data = <wasmtime_component_val_t *>_arena_alloc(store, n * sizeof(wasmtime_component_val_t), zero)
        vec.size = n
    else:
        wasmtime_component_vallist_new_uninit(&vec, n)
        if n and zero:
            memset(vec.data, 0, n * sizeof(wasmtime_component_val_t))
    out.kind = kind
    if kind == WB_CV_LIST:
        out.of.list = vec
    else:
        out.of.tuple.size = vec.size
        out.of.tuple.data = vec.data
    items[0] = vec.data
    return 0


cdef dict _INT_RANGE = {
    WB_CT_S8: (-0x80, 0x7F), WB_CT_S16: (-0x8000, 0x7FFF),
    WB_CT_S32: (-0x80000000, 0x7FFFFFFF), WB_CT_S64: (-0x8000000000000000, 0x7FFFFFFFFFFFFFFF),
    WB_CT_U8: (0, 0xFF), WB_CT_U16: (0, 0xFFFF), WB_CT_U32: (0, 0xFFFFFFFF), WB_CT_U64: (0, 0xFFFFFFFFFFFFFFFF),
}


cdef int _lo_list_buffer(WitType e, object v, wasmtime_component_val_t *out, Store store) except -1:
    """The list fast path: a buffer of numbers (bytes, bytearray, memoryview,
    array.array, a NumPy array, ...) in C, without a Python object per item.
    list<u8> takes any C-contiguous buffer as its raw bytes, as ``bytes(v)``
    does; other numeric lists (and list<u8> from other buffers) take the
    buffer's items, of any integer or float item type, one-dimensional with
    any stride or C-contiguous of any shape (flattened), each checked against
    the range of the element type (OverflowError naming the first item out of
    range). 1 when done; 0 when the buffer is not one this path reads (the
    caller then goes item by item, which also gives the errors for floats
    given for integers)."""
    cdef Py_buffer view
    cdef uint8_t k = e._k
    cdef int src
    cdef Py_ssize_t n, stride, size, bad
    cdef int64_t bad_s = 0
    cdef uint64_t bad_u = 0
    cdef wasmtime_component_val_t *items
    try:
        PyObject_GetBuffer(v, &view, PyBUF_STRIDES | PyBUF_FORMAT)
    except (BufferError, ValueError):
        return 0
    try:
        if view.ndim == 0 or view.itemsize <= 0:
            return 0
        if k == WB_CT_U8 and PyBuffer_IsContiguous(&view, b"C"):
            src, size, stride, n = WB_SRC_UNSIGNED, 1, 1, view.len
        else:
            size = view.itemsize
            src = wb_src_class(view.format, size)
            if src == WB_SRC_NONE:
                return 0
            if view.ndim == 1:
                n = view.shape[0]
                stride = view.strides[0] if view.strides != NULL else size
            elif PyBuffer_IsContiguous(&view, b"C"):
                n = view.len // size
                stride = size
            else:
                return 0
        # check and fill with the GIL held, so no Python thread changes the
        # items between the two passes
        bad = wb_buffer_check(k, src, <const char *>view.buf, stride, size, n, &bad_s, &bad_u)
        if bad == -2:
            return 0
        if bad >= 0:
            lo, hi = _INT_RANGE[k]
            try:
                _range_error(e, bad_s if src == WB_SRC_SIGNED else bad_u, lo, hi)
            except OverflowError as exc:
                _add_path(exc, "[%d]" % bad)
                raise
        _new_vals(store, out, WB_CV_LIST, n, False, &items)
        wb_buffer_fill(k, src, <const char *>view.buf, stride, size, n, items)
        return 1
    finally:
        PyBuffer_Release(&view)


cdef int _lo_list(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    cdef WitType e = <WitType>t._elems[0]
    cdef wasmtime_component_val_t *items
    cdef Py_ssize_t i, n
    cdef PyObject **seq
    if e._k <= WB_CT_F64 and e._k != WB_CT_BOOL and PyObject_CheckBuffer(v) and not isinstance(v, str):
        if _lo_list_buffer(e, v, out, store):
            return 0
    if isinstance(v, (str, bytes, bytearray, memoryview)) or v is None or isinstance(v, _Mapping):
        raise TypeError("expected %s (a sequence), got %s" % (t, _got(v)))
    try:
        items_obj = PySequence_Fast(v, "")
    except TypeError:
        raise TypeError("expected %s (a sequence), got %s" % (t, _got(v))) from None
    n = PySequence_Fast_GET_SIZE(items_obj)
    seq = PySequence_Fast_ITEMS(items_obj)
    _new_vals(store, out, WB_CV_LIST, n, True, &items)
    cdef _lower_fn fn = _LOWER[e._k] if e._k < _CT_COUNT else NULL
    if fn == NULL:
        raise TypeError("values of WIT type %s are not supported yet" % e.kind)
    for i in range(n):
        try:
            fn(e, <object>seq[i], &items[i], store)
        except (TypeError, OverflowError, ValueError) as exc:
            _add_path(exc, "[%d]" % i)
            raise
    return 0


cdef int _lo_tuple(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    cdef Py_ssize_t i, n = len(t._elems)
    cdef wasmtime_component_val_t *items
    if isinstance(v, (str, bytes, bytearray)) or v is None or isinstance(v, _Mapping):
        raise TypeError("expected %s, got %s" % (t, _got(v)))
    try:
        items_obj = PySequence_Fast(v, "")
    except TypeError:
        raise TypeError("expected %s, got %s" % (t, _got(v))) from None
    if PySequence_Fast_GET_SIZE(items_obj) != n:
        raise TypeError("expected %s (%d items), got %d items" % (t, n, PySequence_Fast_GET_SIZE(items_obj)))
    _new_vals(store, out, WB_CV_TUPLE, n, True, &items)
    for i in range(n):
        try:
            _lower(<WitType>t._elems[i], <object>PySequence_Fast_ITEMS(items_obj)[i], &items[i], store)
        except (TypeError, OverflowError, ValueError) as exc:
            _add_path(exc, "[%d]" % i)
            raise
    return 0


cdef object _field_of(WitType t, object v, Py_ssize_t i):
    """Field i of a record given as a Record, a mapping or an object with attributes."""
    name = t._names[i]
    if isinstance(v, Record):
        j = (<Record>v)._index.get(name)
        if j is None:
            j = (<Record>v)._index.get(t._snames[i])
        if j is None:
            raise TypeError("missing field %r" % (name,))
        return (<Record>v)._values[j]
    if isinstance(v, dict) or isinstance(v, _Mapping):
        try:
            return v[name]
        except KeyError:
            pass
        try:
            return v[t._snames[i]]
        except KeyError:
            raise TypeError("missing field %r" % (name,)) from None
    r = getattr(v, t._snames[i], _MISSING)
    if r is _MISSING:
        r = getattr(v, name, _MISSING)
    if r is _MISSING:
        raise TypeError("missing field %r" % (name,))
    return r


cdef int _lo_record(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    cdef Py_ssize_t i, n = len(t._names)
    cdef wasmtime_component_valrecord_t rec
    if v is None or isinstance(v, (int, float, str, bytes, bytearray, list, tuple)):
        raise TypeError("expected %s, got %s" % (t, _got(v)))
    values = None
    if t._py is not None and hasattr(v, "__dataclass_fields__"):   # bindgen's dataclasses: by attribute
        values = [getattr(v, s, _MISSING) for s in t._snames]
        if _MISSING in values:
            values = None
    if values is None:
        if isinstance(v, Record) and (<Record>v)._names == t._names:
            values = (<Record>v)._values      # the fields in the type's order already
        else:
            values = [_field_of(t, v, i) for i in range(n)]
    if store._carena != NULL:
        rec.data = <wasmtime_component_valrecord_entry_t *>_arena_alloc(
            store, n * sizeof(wasmtime_component_valrecord_entry_t), True)
        rec.size = n
    else:
        wasmtime_component_valrecord_new_uninit(&rec, n)
        if n:
            memset(rec.data, 0, n * sizeof(wasmtime_component_valrecord_entry_t))
    out.kind = WB_CV_RECORD
    out.of.record = rec
    for i in range(n):
        _set_bytes_name(store, &rec.data[i].name, <bytes>t._bnames[i])
    for i in range(n):
        try:
            _lower(<WitType>t._elems[i], values[i], &rec.data[i].val, store)
        except (TypeError, OverflowError, ValueError) as exc:
            _add_path(exc, "." + t._names[i])
            raise
    return 0


cdef Py_ssize_t _case_index(WitType t, object name, str what) except -1:
    if not isinstance(name, str):
        raise TypeError("expected a %s case name (str), got %s" % (what, _got(name)))
    i = t._index.get(name)
    if i is None:
        raise ValueError("%r is not a case of %s" % (name, t))
    return i


cdef wasmtime_component_val_t *_new_box(Store store) except NULL:
    """A zero value in its own box (the payload of a variant, option or result)."""
    cdef wasmtime_component_val_t zero
    if store._carena != NULL:
        return <wasmtime_component_val_t *>_arena_alloc(store, sizeof(wasmtime_component_val_t), True)
    memset(&zero, 0, sizeof(zero))
    return wasmtime_component_val_new(&zero)


cdef int _lo_variant(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    if isinstance(v, Variant):
        case, payload = v.case, v.value
    elif isinstance(v, str):
        case, payload = v, None
    else:
        raise TypeError("expected %s (a Variant), got %s" % (t, _got(v)))
    cdef Py_ssize_t i = _case_index(t, case, "variant")
    cdef WitType pt = t._elems[i]
    out.kind = WB_CV_VARIANT
    out.of.variant.val = NULL
    _set_bytes_name(store, &out.of.variant.discriminant, <bytes>t._bnames[i])
    if pt is None:
        if payload is not None:
            raise TypeError("case %r of %s has no payload, got %s" % (t._names[i], t, _got(payload)))
        return 0
    out.of.variant.val = _new_box(store)
    try:
        _lower(pt, payload, out.of.variant.val, store)
    except (TypeError, OverflowError, ValueError) as exc:
        _add_path(exc, "(%s)" % t._names[i])
        raise
    return 0


cdef int _lo_enum(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    if not isinstance(v, str):
        raise TypeError("expected %s (a case name), got %s" % (t, _got(v)))
    i = t._index.get(v)
    if i is None:
        raise ValueError("%r is not a case of %s" % (v, t))
    out.kind = WB_CV_ENUM
    _set_bytes_name(store, &out.of.enumeration, <bytes>t._bnames[i])
    return 0


cdef int _lo_option(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    out.kind = WB_CV_OPTION
    out.of.option = NULL
    if v is None:
        return 0
    if isinstance(v, Some):
        v = v.value
    out.of.option = _new_box(store)
    try:
        _lower(<WitType>t._elems[0], v, out.of.option, store)
    except (TypeError, OverflowError, ValueError) as exc:
        _add_path(exc, "?")
        raise
    return 0


cdef int _lo_result(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    if isinstance(v, Ok):
        is_ok = True
    elif isinstance(v, Err):
        is_ok = False
    else:
        raise TypeError("expected %s (Ok(...) or Err(...)), got %s" % (t, _got(v)))
    cdef WitType pt = t._elems[0 if is_ok else 1]
    out.kind = WB_CV_RESULT
    out.of.result.is_ok = is_ok
    out.of.result.val = NULL
    payload = v.value
    if pt is None:
        if payload is not None:
            raise TypeError("%s of %s has no payload, got %s" % ("ok" if is_ok else "err", t, _got(payload)))
        return 0
    out.of.result.val = _new_box(store)
    try:
        _lower(pt, payload, out.of.result.val, store)
    except (TypeError, OverflowError, ValueError) as exc:
        _add_path(exc, ".ok" if is_ok else ".err")
        raise
    return 0


cdef int _lo_flags(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    cdef wasmtime_component_valflags_t fl
    cdef Py_ssize_t i, n
    if isinstance(v, (str, bytes)) or v is None:
        raise TypeError("expected %s (a set of flag names), got %s" % (t, _got(v)))
    if t._py is not None and isinstance(v, t._py):   # a bindgen flag class: bit i is flag i
        bits = v.value
        v = [t._names[i] for i in range(len(t._names)) if bits >> i & 1]
    try:
        given = set(v)
    except TypeError:
        raise TypeError("expected %s (a set of flag names), got %s" % (t, _got(v))) from None
    idx = []
    for name in given:
        if not isinstance(name, str):
            raise TypeError("expected flag names (str) for %s, got %s" % (t, _got(name)))
        j = t._index.get(name)
        if j is None:
            raise ValueError("%r is not a flag of %s" % (name, t))
        idx.append(j)
    idx = sorted(set(idx))
    n = len(idx)
    if store._carena != NULL:
        fl.data = <wasm_name_t *>_arena_alloc(store, n * sizeof(wasm_name_t), True)
        fl.size = n
    else:
        wasmtime_component_valflags_new_uninit(&fl, n)
        if n:
            memset(fl.data, 0, n * sizeof(wasm_name_t))
    out.kind = WB_CV_FLAGS
    out.of.flags = fl
    for i in range(n):
        _set_bytes_name(store, &fl.data[i], <bytes>t._bnames[<Py_ssize_t>idx[i]])
    return 0


def _bind_type(WitType t, hook):
    """The bindgen hook (wasmbind.component.binding): values of ``t`` come
    back built by ``hook`` instead of as Record / Variant / str / frozenset.
    A record's hook is called with the field values in order; a variant's is
    a tuple of one class per case (called with the payload, or with nothing);
    an enum's a tuple of the values per case; a flags type's a class called
    with an int (bit i set: flag i), whose instances are also accepted as
    arguments. None removes the hook."""
    if hook is not None:
        k = t._k
        if k == WB_CT_VARIANT or k == WB_CT_ENUM:
            if not isinstance(hook, tuple) or len(<tuple>hook) != len(t._names):
                raise TypeError("the hook of %s is a tuple of %d items" % (t, len(t._names)))
        elif k == WB_CT_RECORD or k == WB_CT_FLAGS:
            if not callable(hook) or (k == WB_CT_FLAGS and not isinstance(hook, type)):
                raise TypeError("the hook of %s is a %s" % (t, "class" if k == WB_CT_FLAGS else "callable"))
        else:
            raise TypeError("only records, variants, enums and flags take a hook, not %s" % t.kind)
    t._py = hook


cdef int _lo_unsupported(WitType t, object v, wasmtime_component_val_t *out, Store store) except -1:
    raise TypeError("values of WIT type %s are not supported yet" % t.kind)


# ---- lifting: engine values -> Python ----------------------------------------

cdef int _kind_mismatch(WitType t, const wasmtime_component_val_t *v) except -1:
    raise WasmError("the engine returned a value of kind %d for WIT type %s" % (v.kind, t))


cdef object _li_bool(WitType t, const wasmtime_component_val_t *v, Store store):
    return True if v.of.boolean else False


cdef object _li_s8(WitType t, const wasmtime_component_val_t *v, Store store):
    return v.of.s8


cdef object _li_s16(WitType t, const wasmtime_component_val_t *v, Store store):
    return v.of.s16


cdef object _li_s32(WitType t, const wasmtime_component_val_t *v, Store store):
    return v.of.s32


cdef object _li_s64(WitType t, const wasmtime_component_val_t *v, Store store):
    return v.of.s64


cdef object _li_u8(WitType t, const wasmtime_component_val_t *v, Store store):
    return v.of.u8


cdef object _li_u16(WitType t, const wasmtime_component_val_t *v, Store store):
    return v.of.u16


cdef object _li_u32(WitType t, const wasmtime_component_val_t *v, Store store):
    return v.of.u32


cdef object _li_u64(WitType t, const wasmtime_component_val_t *v, Store store):
    return v.of.u64


cdef object _li_f32(WitType t, const wasmtime_component_val_t *v, Store store):
    cdef uint32_t b
    memcpy(&b, &v.of.f32, 4)
    return wb_f32_bits_to_double(b)  # NaN bits kept


cdef object _li_f64(WitType t, const wasmtime_component_val_t *v, Store store):
    return v.of.f64


cdef object _li_char(WitType t, const wasmtime_component_val_t *v, Store store):
    return PyUnicode_FromOrdinal(v.of.character)


cdef inline str _name_str(const wasm_name_t *n):
    if n.size == 0:
        return ""
    return PyUnicode_DecodeUTF8(<const char *>n.data, n.size, NULL)


cdef object _li_string(WitType t, const wasmtime_component_val_t *v, Store store):
    return _name_str(&v.of.string)


cdef object _li_list(WitType t, const wasmtime_component_val_t *v, Store store):
    cdef WitType e = <WitType>t._elems[0]
    cdef size_t i, n = v.of.list.size
    cdef const wasmtime_component_val_t *items = v.of.list.data
    cdef int mismatch = 0
    cdef _lift_fn fn
    cdef list out
    if e._k == WB_CT_U8:
        r = wb_u8_bytes(items, n, &mismatch)
    elif e._k <= WB_CT_F64 and e._k != WB_CT_BOOL:
        r = wb_numeric_list(e._k, items, n, &mismatch)
    else:
        if e._k >= _CT_COUNT:
            raise TypeError("values of WIT type %s are not supported yet" % e.kind)
        fn = _LIFT[e._k]
        out = [None] * n
        for i in range(n):
            out[i] = fn(e, &items[i], store)
        return out
    if mismatch:
        raise WasmError("the engine returned a list of another kind for WIT type %s" % t)
    return r


cdef object _li_tuple(WitType t, const wasmtime_component_val_t *v, Store store):
    cdef size_t i, n = v.of.tuple.size
    if n != <size_t>len(t._elems):
        _kind_mismatch(t, v)
    return tuple([_lift(<WitType>t._elems[i], &v.of.tuple.data[i], store) for i in range(n)])


cdef object _li_record(WitType t, const wasmtime_component_val_t *v, Store store):
    cdef size_t i, n = v.of.record.size
    if n != <size_t>len(t._elems):
        _kind_mismatch(t, v)
    values = tuple([_lift(<WitType>t._elems[i], &v.of.record.data[i].val, store) for i in range(n)])
    if t._py is not None:
        return t._py(*values)
    return Record._make(t, values)


cdef Py_ssize_t _lift_case(WitType t, const wasm_name_t *name) except -1:
    s = _name_str(name)
    i = t._index.get(s)
    if i is None:
        raise WasmError("the engine returned an unknown case %r of %s" % (s, t))
    return i


cdef object _li_variant(WitType t, const wasmtime_component_val_t *v, Store store):
    cdef Py_ssize_t i = _lift_case(t, &v.of.variant.discriminant)
    pt = t._elems[i]
    if pt is None or v.of.variant.val == NULL:
        return Variant(t._names[i]) if t._py is None else (<tuple>t._py)[i]()
    if t._py is not None:
        return (<tuple>t._py)[i](_lift(<WitType>pt, v.of.variant.val, store))
    return Variant(t._names[i], _lift(<WitType>pt, v.of.variant.val, store))


cdef object _li_enum(WitType t, const wasmtime_component_val_t *v, Store store):
    if t._py is not None:
        return (<tuple>t._py)[_lift_case(t, &v.of.enumeration)]
    return t._names[_lift_case(t, &v.of.enumeration)]


cdef object _li_option(WitType t, const wasmtime_component_val_t *v, Store store):
    if v.of.option == NULL:
        return None
    cdef WitType e = <WitType>t._elems[0]
    inner = _lift(e, v.of.option, store)
    if e._k == WB_CT_OPTION:
        return Some(inner)
    return inner


cdef object _li_result(WitType t, const wasmtime_component_val_t *v, Store store):
    pt = t._elems[0 if v.of.result.is_ok else 1]
    payload = None
    if pt is not None and v.of.result.val != NULL:
        payload = _lift(<WitType>pt, v.of.result.val, store)
    return Ok(payload) if v.of.result.is_ok else Err(payload)


cdef object _li_flags(WitType t, const wasmtime_component_val_t *v, Store store):
    cdef size_t i
    if t._py is not None:
        bits = 0
        for i in range(v.of.flags.size):
            bits |= 1 << _lift_case(t, &v.of.flags.data[i])
        return t._py(bits)
    names = []
    for i in range(v.of.flags.size):
        names.append(t._names[_lift_case(t, &v.of.flags.data[i])])
    return frozenset(names)


cdef object _li_unsupported(WitType t, const wasmtime_component_val_t *v, Store store):
    raise TypeError("values of WIT type %s are not supported yet" % t.kind)


cdef int _init_converters() except -1:
    cdef int i
    for i in range(_CT_COUNT):
        _LOWER[i] = _lo_unsupported
        _LIFT[i] = _li_unsupported
        _CV_OF[i] = 0
    _LOWER[WB_CT_BOOL] = _lo_bool
    _LIFT[WB_CT_BOOL] = _li_bool
    _LOWER[WB_CT_S8] = _lo_s8
    _LIFT[WB_CT_S8] = _li_s8
    _LOWER[WB_CT_S16] = _lo_s16
    _LIFT[WB_CT_S16] = _li_s16
    _LOWER[WB_CT_S32] = _lo_s32
    _LIFT[WB_CT_S32] = _li_s32
    _LOWER[WB_CT_S64] = _lo_s64
    _LIFT[WB_CT_S64] = _li_s64
    _LOWER[WB_CT_U8] = _lo_u8
    _LIFT[WB_CT_U8] = _li_u8
    _LOWER[WB_CT_U16] = _lo_u16
    _LIFT[WB_CT_U16] = _li_u16
    _LOWER[WB_CT_U32] = _lo_u32
    _LIFT[WB_CT_U32] = _li_u32
    _LOWER[WB_CT_U64] = _lo_u64
    _LIFT[WB_CT_U64] = _li_u64
    _LOWER[WB_CT_F32] = _lo_f32
    _LIFT[WB_CT_F32] = _li_f32
    _LOWER[WB_CT_F64] = _lo_f64
    _LIFT[WB_CT_F64] = _li_f64
    _LOWER[WB_CT_CHAR] = _lo_char
    _LIFT[WB_CT_CHAR] = _li_char
    _LOWER[WB_CT_STRING] = _lo_string
    _LIFT[WB_CT_STRING] = _li_string
    _LOWER[WB_CT_LIST] = _lo_list
    _LIFT[WB_CT_LIST] = _li_list
    _LOWER[WB_CT_RECORD] = _lo_record
    _LIFT[WB_CT_RECORD] = _li_record
    _LOWER[WB_CT_TUPLE] = _lo_tuple
    _LIFT[WB_CT_TUPLE] = _li_tuple
    _LOWER[WB_CT_VARIANT] = _lo_variant
    _LIFT[WB_CT_VARIANT] = _li_variant
    _LOWER[WB_CT_ENUM] = _lo_enum
    _LIFT[WB_CT_ENUM] = _li_enum
    _LOWER[WB_CT_OPTION] = _lo_option
    _LIFT[WB_CT_OPTION] = _li_option
    _LOWER[WB_CT_RESULT] = _lo_result
    _LIFT[WB_CT_RESULT] = _li_result
    _LOWER[WB_CT_FLAGS] = _lo_flags
    _LIFT[WB_CT_FLAGS] = _li_flags
    _LOWER[WB_CT_OWN] = _lo_resource
    _LIFT[WB_CT_OWN] = _li_resource
    _LOWER[WB_CT_BORROW] = _lo_resource
    _LIFT[WB_CT_BORROW] = _li_resource
    return 0
