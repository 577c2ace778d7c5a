# Values: Python objects <-> Wasm values. Raw numbers first (a leaf; the
# call path's fast cases are in csrc/wasmbind_values.h), then tagged values,
# which may hold references into a store (externref, funcref).

from wasmbind.errors import WasmError
from wasmbind.types import ValType


cdef str _kind_name(uint8_t kind):
    if kind <= WB_VT_LAST:
        return ValType(kind).name
    return "unsupported type %d" % kind


cdef inline object _index(object v, uint8_t kind):
    if PyLong_Check(v):
        return v
    if PyIndex_Check(v):
        return PyNumber_Index(v)
    raise TypeError("expected an int for %s, got %s" % (_kind_name(kind), type(v).__name__))


cdef inline int32_t _as_i32(object v) except? -1:
    cdef long long x
    cdef int overflow = 0
    if not PyLong_CheckExact(v):
        v = _index(v, WB_I32)
    x = PyLong_AsLongLongAndOverflow(v, &overflow)
    if overflow or x < -0x80000000 or x > 0xFFFFFFFF:
        raise OverflowError("%r out of range for i32 [-2**31, 2**32)" % (v,))
    return <int32_t><uint32_t>x


cdef inline int64_t _as_i64(object v) except? -1:
    cdef int overflow = 0
    cdef long long x
    if not PyLong_CheckExact(v):
        v = _index(v, WB_I64)
    x = PyLong_AsLongLongAndOverflow(v, &overflow)
    if overflow == 0:
        return x
    if overflow > 0 and v <= 0xFFFFFFFFFFFFFFFF:
        return <int64_t>PyLong_AsUnsignedLongLong(v)
    raise OverflowError("%r out of range for i64 [-2**63, 2**64)" % (v,))


cdef inline double _as_double(object v, uint8_t kind) except? -1.0:
    if PyFloat_CheckExact(v):
        return PyFloat_AS_DOUBLE(v)
    if PyLong_Check(v):
        return PyLong_AsDouble(v)
    if isinstance(v, (str, bytes, bytearray, complex)) or v is None:
        raise TypeError("expected a float for %s, got %s" % (_kind_name(kind), type(v).__name__))
    try:
        return PyFloat_AsDouble(v)
    except TypeError:
        raise TypeError("expected a float for %s, got %s" % (_kind_name(kind), type(v).__name__)) from None


cdef int _as_v128(object v, uint8_t *out) except -1:
    v = _index(v, WB_V128)
    if not 0 <= v < (1 << 128):
        raise OverflowError("%r out of range for v128 [0, 2**128)" % (v,))
    data = (<object>v).to_bytes(16, "little")
    memcpy(out, PyBytes_AS_STRING(data), 16)
    return 0


cdef inline int _to_raw(uint8_t kind, object v, wasmtime_val_raw_t *out) except -1:
    if kind == WB_I32:
        out.i32 = _as_i32(v)
    elif kind == WB_I64:
        out.i64 = _as_i64(v)
    elif kind == WB_F64:
        out.f64 = _as_double(v, kind)
    elif kind == WB_F32:
        out.i32 = <int32_t>wb_double_to_f32_bits(_as_double(v, kind))
    elif kind == WB_V128:
        _as_v128(v, out.v128)
    else:
        raise TypeError("cannot pass %s as a raw value" % _kind_name(kind))
    return 0


# ---- tagged values: what may hold a reference into a store ----------------

cdef int _to_val(Store store, wasmtime_context_t *ctx, uint8_t kind, object v,
                 wasmtime_val_t *out) except -1:
    """Converts to an engine value. On success an externref made here is rooted:
    the caller unroots ``out`` (``_unroot_vals``) once the engine has it. On
    error ``out.kind`` is never a rooted kind, so unrooting it is harmless."""
    cdef Func f
    cdef wb_extref_t *entry
    out.kind = _engine_kind(kind)
    if out.kind == WB_EXTERNREF:
        memset(&out.of, 0, sizeof(out.of))
        if v is None:
            return 0
        out.kind = WB_I32  # nothing to unroot until the engine made it
        if kind == WB_VT_NULLEXTERNREF:
            raise TypeError("expected None for nullexternref, got %s" % type(v).__name__)
        if isinstance(v, ExternRef):  # an externref the engine made, back as it was
            return _ref_clone(<_Ref>v, store, out)
        entry = wb_extref_new(&store._state)
        # filed before the engine sees the entry: its finalizer (which the
        # engine may run even when it fails to make the externref) finds it
        try:
            store._refs[<object>entry.key] = v
        except BaseException:
            wb_extref_free(entry)
            raise
        if not wasmtime_externref_new(ctx, <void *>entry, wb_extref_finalizer, &out.of.externref):
            # the entry stays filed (until the store closes) unless the
            # finalizer ran: never freed twice
            raise MemoryError("the engine could not allocate an externref")
        out.kind = WB_EXTERNREF
        return 0
    if out.kind == WB_FUNCREF:
        memset(&out.of, 0, sizeof(out.of))
        if v is None:
            return 0
        if kind == WB_VT_NULLFUNCREF:
            out.kind = WB_I32
            raise TypeError("expected None for nullfuncref, got %s" % type(v).__name__)
        if not isinstance(v, Func):
            raise TypeError("expected a Func or None for funcref, got %s" % type(v).__name__)
        f = <Func>v
        _check_owner(f, store)
        out.of.funcref = f._func
        return 0
    if out.kind == WB_ANYREF or out.kind == WB_EXNREF:
        return _gc_to_val(store, ctx, kind, v, out)
    return _to_raw(kind, v, <wasmtime_val_raw_t *>&out.of)


cdef object _from_val(Store store, wasmtime_context_t *ctx, wasmtime_val_t *val):
    cdef void *data
    if val.kind == WB_EXTERNREF:
        if val.of.externref.store_id == 0:
            return None
        data = wasmtime_externref_data(ctx, &val.of.externref)
        if data == NULL:  # an externref the engine made (extern.convert_any)
            return _ref_wrap(ExternRef, store, val)
        v = store._refs.get(<object>(<wb_extref_t *>data).key, _MISSING)
        if v is _MISSING:
            raise WasmError("the Store no longer holds this externref's payload")
        return v
    if val.kind == WB_FUNCREF:
        if val.of.funcref.store_id == 0:
            return None
        return Func._wrap(store, &val.of.funcref, None)
    if val.kind == WB_ANYREF or val.kind == WB_EXNREF:
        return _gc_from_val(store, ctx, val)
    return wb_raw_to_object(val.kind, <wasmtime_val_raw_t *>&val.of)


cdef void _extref_release(PyObject *store, PyObject *key) noexcept:
    """The engine dropped an externref (a GC inside a call or Store.gc): its
    payload moves to the store's _dead list. It is not released here: that
    could run its __del__ inside the engine, which must not be re-entered."""
    cdef Store s = <Store>store
    try:
        v = s._refs.get(<object>key, _MISSING)
        if v is not _MISSING:
            s._dead.append(v)
            del s._refs[<object>key]
    except BaseException:
        pass  # out of memory: the payload stays filed until the store closes


cdef inline int _release_dead(Store store) except -1:
    """Releases the payloads of externrefs the engine dropped. Only where
    Python code may run anyway (their __del__ does), outside the engine."""
    if store._dead:
        store._dead.clear()
    return 0


cdef inline void _unroot_vals(wasmtime_val_t *vals, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i
    for i in range(n):
        if vals[i].kind == WB_EXTERNREF or vals[i].kind == WB_ANYREF or vals[i].kind == WB_EXNREF:
            wasmtime_val_unroot(&vals[i])
