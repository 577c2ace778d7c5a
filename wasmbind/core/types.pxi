# Types: engine type objects <-> wasmbind.types (ValType, FuncType, ...).

from wasmbind.errors import WasmError
from wasmbind.types import FuncType, GlobalType, MemoryType, TableType, TagType, ValType


# wasmbind.ValType's numbers past the engine's value kinds (WB_I32..WB_EXNREF
# are both): the other abstract heap types, each a value of kind WB_ANYREF,
# WB_FUNCREF, WB_EXTERNREF or WB_EXNREF (_engine_kind).
cdef enum:
    WB_VT_EQREF = 9
    WB_VT_I31REF = 10
    WB_VT_STRUCTREF = 11
    WB_VT_ARRAYREF = 12
    WB_VT_NULLREF = 13
    WB_VT_NULLFUNCREF = 14
    WB_VT_NULLEXTERNREF = 15
    WB_VT_NULLEXNREF = 16
    WB_VT_LAST = 16


cdef inline uint8_t _engine_kind(uint8_t kind) noexcept:
    """The engine's value kind (wasmtime_valkind_t) of a ValType number."""
    if kind <= WB_EXNREF:
        return kind
    if kind <= WB_VT_NULLREF:
        return WB_ANYREF
    if kind == WB_VT_NULLFUNCREF:
        return WB_FUNCREF
    if kind == WB_VT_NULLEXTERNREF:
        return WB_EXTERNREF
    return WB_EXNREF


# heap type (wasmtime_heaptype_t.kind) -> ValType number; abstract heap types
# for building engine types from ValTypes (the inverse, nullable)
cdef uint8_t[16] _HEAP_KIND = [
    WB_EXTERNREF, WB_VT_NULLEXTERNREF, WB_FUNCREF, WB_FUNCREF, WB_VT_NULLFUNCREF,
    WB_ANYREF, WB_VT_NULLREF, WB_VT_EQREF, WB_VT_I31REF, WB_VT_ARRAYREF, WB_VT_ARRAYREF,
    WB_VT_STRUCTREF, WB_VT_STRUCTREF, WB_EXNREF, WB_EXNREF, WB_VT_NULLEXNREF]


cdef uint8_t _kind_of(const wasm_valtype_t *vt) noexcept:
    """A value type's kind as wasmbind numbers them (ValType), 254 if unsupported.

    Read through Wasmtime's own value types: the standard wasm_valtype_kind()
    of the pinned engine aborts the process on v128 and on every GC type. A
    reference type reads as its abstract heap type (concrete types as the
    abstract type above them), nullable or not.
    """
    cdef wasmtime_valtype_t t
    cdef uint8_t k = 254
    wasmtime_valtype_new(vt, &t)
    if t.kind <= WB_VALTYPE_V128:
        k = t.kind
    elif t.kind == WB_VALTYPE_REF and t.reftype.heaptype.kind < 16:
        k = _HEAP_KIND[t.reftype.heaptype.kind]
    wasmtime_valtype_delete(&t)
    return k


cdef object _valtype_py(const wasm_valtype_t *vt):
    cdef uint8_t k = _kind_of(vt)
    if k == 254:
        raise WasmError("unsupported value type (a heap type newer than this wasmbind)")
    return ValType(k)


cdef tuple _valtypes_py(const wasm_valtype_vec_t *vec):
    return tuple([_valtype_py(vec.data[i]) for i in range(vec.size)])


cdef object _functype_py(const wasm_functype_t *ft):
    return FuncType(_valtypes_py(wasm_functype_params(ft)), _valtypes_py(wasm_functype_results(ft)))


cdef object _memorytype_py(const wasm_memorytype_t *mt):
    cdef uint64_t mx
    maximum = mx if wasmtime_memorytype_maximum(mt, &mx) else None
    return MemoryType(wasmtime_memorytype_minimum(mt), maximum,
                      memory64=wasmtime_memorytype_is64(mt), shared=wasmtime_memorytype_isshared(mt))


cdef object _globaltype_py(const wasm_globaltype_t *gt):
    return GlobalType(_valtype_py(wasm_globaltype_content(gt)),
                      wasm_globaltype_mutability(gt) == WB_WASM_VAR)


cdef object _tabletype_py(const wasm_tabletype_t *tt):
    cdef const wasm_limits_t *lim = wasm_tabletype_limits(tt)
    maximum = None if lim.max == 0xFFFFFFFF else lim.max
    return TableType(_valtype_py(wasm_tabletype_element(tt)), lim.min, maximum)


cdef object _externtype_py(const wasm_externtype_t *et):
    cdef wasm_externkind_t k = wasm_externtype_kind(et)
    if k == WB_WASM_EXTERN_FUNC:
        return _functype_py(wasm_externtype_as_functype_const(et))
    if k == WB_WASM_EXTERN_MEMORY:
        return _memorytype_py(wasm_externtype_as_memorytype_const(et))
    if k == WB_WASM_EXTERN_GLOBAL:
        return _globaltype_py(wasm_externtype_as_globaltype_const(et))
    if k == WB_WASM_EXTERN_TABLE:
        return _tabletype_py(wasm_externtype_as_tabletype_const(et))
    if k == WB_WASM_EXTERN_TAG:
        return TagType(_functype_py(wasm_tagtype_functype(wasm_externtype_as_tagtype_const(et))))
    raise WasmError("unknown extern kind %d" % k)


cdef uint8_t[17] _ABSTRACT_HEAP = [
    0, 0, 0, 0, 0, WB_HEAPTYPE_FUNC, WB_HEAPTYPE_EXTERN, WB_HEAPTYPE_ANY, WB_HEAPTYPE_EXN,
    WB_HEAPTYPE_EQ, WB_HEAPTYPE_I31, WB_HEAPTYPE_STRUCT, WB_HEAPTYPE_ARRAY, WB_HEAPTYPE_NONE,
    WB_HEAPTYPE_NOFUNC, WB_HEAPTYPE_NOEXTERN, WB_HEAPTYPE_NOEXN]


cdef wasm_valtype_t *_valtype_new(object vt) except NULL:
    """A new engine value type for a ValType (v128 and the GC reference types,
    nullable, through Wasmtime's constructors)."""
    cdef int k = <int>ValType(vt)
    cdef wasmtime_valtype_t t
    if k > WB_EXTERNREF:
        memset(&t, 0, sizeof(t))
        t.kind = WB_VALTYPE_REF
        t.reftype.nullable = True
        t.reftype.heaptype.kind = _ABSTRACT_HEAP[k]
        return wasmtime_valtype_to_wasm(NULL, &t)  # abstract: no engine needed
    if k == WB_V128:
        return wasmtime_wasm_valtype_v128()
    if k == WB_FUNCREF:
        return wasm_valtype_new(WB_WASM_FUNCREF)
    if k == WB_EXTERNREF:
        return wasm_valtype_new(WB_WASM_EXTERNREF)
    return wasm_valtype_new(k)


cdef int _valtype_vec(object types, wasm_valtype_vec_t *out) except -1:
    cdef Py_ssize_t n = len(types), i
    cdef wasm_valtype_t **buf
    if n == 0:
        wasm_valtype_vec_new_empty(out)
        return 0
    buf = <wasm_valtype_t **>PyMem_Malloc(n * sizeof(wasm_valtype_t *))
    if buf == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            buf[i] = _valtype_new(types[i])
        wasm_valtype_vec_new(out, n, buf)  # takes the valtypes
    finally:
        PyMem_Free(buf)
    return 0


cdef wasm_functype_t *_functype_new(object ft) except NULL:
    cdef wasm_valtype_vec_t params, results
    if not isinstance(ft, FuncType):
        raise TypeError("expected a FuncType, got %s" % type(ft).__name__)
    if len(ft.params) > MAX_PARAMS or len(ft.results) > MAX_PARAMS:
        raise ValueError("too many parameters or results (at most %d)" % MAX_PARAMS)
    _valtype_vec(ft.params, &params)
    _valtype_vec(ft.results, &results)
    return wasm_functype_new(&params, &results)


cdef wasm_memorytype_t *_memorytype_new(object mt) except NULL:
    cdef wasm_memorytype_t *out = NULL
    if not isinstance(mt, MemoryType):
        raise TypeError("expected a MemoryType, got %s" % type(mt).__name__)
    err = wasmtime_memorytype_new(mt.minimum, mt.maximum is not None,
                                  mt.maximum if mt.maximum is not None else 0,
                                  mt.memory64, mt.shared, 16, &out)
    if err != NULL:
        _raise_error(err, ValueError)
    return out


cdef wasm_globaltype_t *_globaltype_new(object gt) except NULL:
    if not isinstance(gt, GlobalType):
        raise TypeError("expected a GlobalType, got %s" % type(gt).__name__)
    return wasm_globaltype_new(_valtype_new(gt.content),
                               WB_WASM_VAR if gt.mutable else WB_WASM_CONST)


cdef wasm_tabletype_t *_tabletype_new(object tt) except NULL:
    cdef wasm_limits_t lim
    if not isinstance(tt, TableType):
        raise TypeError("expected a TableType, got %s" % type(tt).__name__)
    lim.min = tt.minimum
    lim.max = 0xFFFFFFFF if tt.maximum is None else tt.maximum
    return wasm_tabletype_new(_valtype_new(tt.element), &lim)

cdef uint8_t *_kinds_of(object ft, bint *has_refs) except NULL:
    """A PyMem block of value kinds: the params, then the results."""
    cdef Py_ssize_t np = len(ft.params), nr = len(ft.results), i
    cdef uint8_t *kinds = <uint8_t *>PyMem_Malloc(np + nr + 1)
    if kinds == NULL:
        raise MemoryError()
    has_refs[0] = False
    for i, t in enumerate(ft.params + ft.results):
        kinds[i] = <int>t
        if kinds[i] >= WB_FUNCREF:
            has_refs[0] = True
    return kinds
