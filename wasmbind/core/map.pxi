# Batch calls: Func.map applies a function element-wise over arrays, in one C
# loop of unchecked calls.
#
# The rules (the user's view of them is the Func.map docstring):
# - a scalar argument (int, float, bool, a NumPy scalar, a 0-d array) is
#   converted once, by the scalar call's own rules (_to_raw);
# - an array of exactly the parameter's type is read in place, whatever its
#   strides; any other array is converted by NumPy with "same_kind" casting made
#   as strict as the scalar call: no floats for ints, no complex, strings or
#   dates; 8-byte ints for an i32 are range-checked, never wrapped; ints for an
#   f32 go through float64 as the scalar call does; objects (lists, object
#   arrays) go element by element through _to_raw;
# - the arrays broadcast by NumPy's rules (computed here: no NumPy needed);
# - out= is written as given, never through a copy; an input whose bytes
#   overlap an out (other than the very same elements) is copied first;
# - the loop runs over the broadcast shape in C order, dimensions merged where
#   every operand allows it, so contiguous arrays are one flat loop.

import sys as _sys


from cpython.buffer cimport PyBUF_RECORDS, PyBUF_RECORDS_RO
from cpython.float cimport PyFloat_Check

cdef enum:
    MAP_MAX_DIMS = 64  # the buffer protocol's limit (and NumPy's)

import sys as _sys


cdef dict _NP_DTYPE = {WB_I32: "int32", WB_I64: "int64", WB_F32: "float32", WB_F64: "float64"}
cdef dict _ARRAY_CODE = {WB_I32: "i", WB_I64: "q", WB_F32: "f", WB_F64: "d"}
cdef bint _LITTLE_ENDIAN = _sys.byteorder == "little"
cdef object _numpy = None
cdef dict _MODULES = _sys.modules


cdef object _numpy_module():
    """NumPy, or None when it cannot be imported (a failure is not cached)."""
    global _numpy
    if _numpy is None:
        try:
            import numpy
        except ImportError:
            return None
        _numpy = numpy
    return _numpy


cdef inline Py_ssize_t _kind_size(uint8_t kind) noexcept nogil:
    return 4 if kind == WB_I32 or kind == WB_F32 else 8


cdef bint _format_ok(const char *fmt, Py_ssize_t itemsize, uint8_t kind, bint signed_only):
    """Whether a buffer format holds exactly the values of ``kind``: an i32 input
    may be int32 or uint32 (the scalar call takes [-2**31, 2**32)), an i32
    result only int32 (the call returns signed ints)."""
    if fmt == NULL:
        fmt = b"B"
    if fmt[0] in (b"@", b"=", b"<") and fmt[1] != 0:
        if fmt[0] == b"<" and not _LITTLE_ENDIAN:
            return False
        fmt += 1
    if fmt[1] != 0:
        return False
    if kind == WB_F32:
        return fmt[0] == b"f" and itemsize == 4
    if kind == WB_F64:
        return fmt[0] == b"d" and itemsize == 8
    if fmt[0] not in (b"bhilqn" if signed_only else b"bBhHiIlLqQnN"):
        return False
    return itemsize == _kind_size(kind)


cdef inline void _load(uint8_t kind, const char *p, wasmtime_val_raw_t *v) noexcept nogil:
    if kind == WB_I32:
        v.i32 = (<const int32_t *>p)[0]
    elif kind == WB_F64:
        v.f64 = (<const double *>p)[0]
    elif kind == WB_I64:
        v.i64 = (<const int64_t *>p)[0]
    else:  # f32 as bits: never through a float register (which could quiet a NaN)
        v.i32 = (<const int32_t *>p)[0]


cdef inline void _store(uint8_t kind, char *p, const wasmtime_val_raw_t *v) noexcept nogil:
    if kind == WB_I32:
        (<int32_t *>p)[0] = v.i32
    elif kind == WB_F64:
        (<double *>p)[0] = v.f64
    elif kind == WB_I64:
        (<int64_t *>p)[0] = v.i64
    else:
        (<int32_t *>p)[0] = v.i32


cdef int _map_arg_error(Func f, Py_ssize_t j, object exc_type, str msg) except -1:
    raise exc_type("%s.map() argument %d%s" % (f._label(), j + 1, msg)) from None


cdef bint _try_buffer(object obj, Py_buffer *view, int flags) except -1:
    if not PyObject_CheckBuffer(obj):
        return False
    try:
        PyObject_GetBuffer(obj, view, flags)
    except (BufferError, ValueError, TypeError):
        return False
    if view.ndim > 0 and view.shape == NULL:  # not a usable N-d buffer
        PyBuffer_Release(view)
        return False
    return True


# ---- inputs ------------------------------------------------------------------

cdef int _map_scalar(Func f, Py_ssize_t j, object a, wasmtime_val_raw_t *out) except -1:
    try:
        _to_raw(f._kinds[j], a, out)
    except (TypeError, OverflowError, ValueError) as exc:
        _map_arg_error(f, j, type(exc), ": %s" % (exc,))
    return 0


cdef int _get_input(Func f, Py_ssize_t j, object a, Py_buffer *view,
                    wasmtime_val_raw_t *scalar) except -1:
    """1 when ``view`` holds an array of exactly the parameter's type with at
    least one dimension; 0 when ``a`` is a scalar, converted into ``scalar``."""
    cdef bint zero_d
    if PyLong_Check(a) or PyFloat_Check(a):
        _map_scalar(f, j, a, scalar)
        return 0
    # getattr: another thread may be importing numpy.ma (in sys.modules, not
    # yet filled); no masked array exists before its class does
    masked = getattr(_MODULES.get("numpy.ma"), "MaskedArray", None)
    if masked is not None and isinstance(a, masked):
        _map_arg_error(f, j, TypeError, ": a masked array (its mask would be ignored); "
                       "pass a.filled(value) or a.data")
    if _try_buffer(a, view, PyBUF_RECORDS_RO):
        if view.ndim > 0 and _format_ok(view.format, view.itemsize, f._kinds[j], False):
            return 1
        zero_d = view.ndim == 0
        PyBuffer_Release(view)
        if zero_d:
            _map_scalar(f, j, a, scalar)
            return 0
    converted = _convert(f, j, a)
    if converted is None:
        _map_scalar(f, j, a, scalar)
        return 0
    PyObject_GetBuffer(converted, view, PyBUF_RECORDS_RO)
    return 1


cdef object _convert(Func f, Py_ssize_t j, object a):
    """``a`` as a C-contiguous NumPy array of the parameter's type, or None when
    it is 0-d (a scalar). Refuses what the scalar call would refuse."""
    cdef uint8_t kind = f._kinds[j]
    numpy = _numpy_module()
    if numpy is None:
        _map_arg_error(f, j, TypeError, ": expected a buffer of %s, got %s (install NumPy to "
                       "convert other inputs)" % (_NP_DTYPE[kind], type(a).__name__))
    try:
        arr = numpy.array(a, dtype=object) if isinstance(a, (list, tuple)) else numpy.asarray(a)
    except (TypeError, ValueError, OverflowError) as exc:
        _map_arg_error(f, j, TypeError, ": cannot make an array of %s: %s" % (type(a).__name__, exc))
    if arr.ndim == 0:
        return None
    dt = arr.dtype
    c = dt.kind
    if c == "O":
        return _convert_objects(f, j, arr)
    if c == "f" and (kind == WB_I32 or kind == WB_I64):
        _map_arg_error(f, j, TypeError, ": cannot pass a %s array as %s: floats are not ints "
                       "(the call refuses 2.0 too); round or truncate it first" % (dt, _kind_name(kind)))
    if c == "c":
        _map_arg_error(f, j, TypeError, ": cannot pass a %s array as %s: complex numbers are not "
                       "real (pass .real explicitly)" % (dt, _kind_name(kind)))
    if c not in ("b", "i", "u", "f"):
        _map_arg_error(f, j, TypeError, ": cannot pass a %s array as %s: only bool, integer and "
                       "float arrays are converted" % (dt, _kind_name(kind)))
    if kind == WB_I32 and c != "b" and dt.itemsize > 4:
        _check_i32_range(f, j, arr, numpy)
    if kind == WB_F32 and c != "b" and not (c == "f" and dt.itemsize <= 4):
        arr = arr.astype(numpy.float64)  # the scalar call's rounding: to double, then to float
        return _f64_to_f32(arr, numpy)
    with numpy.errstate(over="ignore", invalid="ignore"):
        return numpy.ascontiguousarray(arr, dtype=_NP_DTYPE[kind])


cdef object _f64_to_f32(object arr, object numpy):
    """A float64 array as float32, as the scalar call converts: NumPy's cast
    rounds numbers the same way, but quiets signalling NaNs; NaNs are then
    moved by their bits (wb_double_to_f32_bits)."""
    with numpy.errstate(over="ignore", invalid="ignore"):
        out = numpy.ascontiguousarray(arr, dtype=numpy.float32)
    nan = numpy.isnan(arr)
    if nan.any():
        d = numpy.ascontiguousarray(arr).view(numpy.uint64)[nan]
        payload = (d >> numpy.uint64(29)) & numpy.uint64(0x7FFFFF)
        payload[payload == 0] = 0x400000
        bits = ((d >> numpy.uint64(32)) & numpy.uint64(0x80000000)) | numpy.uint64(0x7F800000) | payload
        out.view(numpy.uint32)[nan] = bits.astype(numpy.uint32)
    return out


cdef int _check_i32_range(Func f, Py_ssize_t j, object arr, object numpy) except -1:
    """8-byte ints for an i32 must all be in the scalar call's range [-2**31, 2**32)."""
    if arr.size == 0 or (int(arr.min()) >= -0x80000000 and int(arr.max()) <= 0xFFFFFFFF):
        return 0
    bad = arr > 0xFFFFFFFF
    if arr.dtype.kind == "i":
        bad |= arr < -0x80000000
    where = tuple([int(i) for i in numpy.unravel_index(int(numpy.flatnonzero(bad)[0]), arr.shape)])
    _map_arg_error(f, j, OverflowError, " at index %s: %r out of range for i32 [-2**31, 2**32)"
                   % (where, arr[where].item()))


cdef object _convert_objects(Func f, Py_ssize_t j, object arr):
    """An object array converted element by element, as the scalar call converts."""
    cdef uint8_t kind = f._kinds[j]
    cdef Py_ssize_t size = _kind_size(kind), i = 0
    cdef wasmtime_val_raw_t v
    cdef Py_buffer view
    cdef char *p
    numpy = _numpy
    items = arr.ravel().tolist()
    dst = numpy.empty(arr.shape, dtype=_NP_DTYPE[kind])
    PyObject_GetBuffer(dst, &view, PyBUF_RECORDS)
    try:
        p = <char *>view.buf
        for x in items:
            try:
                _to_raw(kind, x, &v)
            except (TypeError, OverflowError, ValueError) as exc:
                where = tuple([int(k) for k in numpy.unravel_index(i, arr.shape)])
                _map_arg_error(f, j, type(exc), " at index %s: %s" % (where, exc))
            _store(kind, p + i * size, &v)
            i += 1
    finally:
        PyBuffer_Release(&view)
    return dst


# ---- shapes and strides --------------------------------------------------------

cdef void _align_strides(Py_ssize_t ndim, const Py_ssize_t *own_shape, const Py_ssize_t *own_strides,
                         Py_ssize_t itemsize, Py_ssize_t nd, Py_ssize_t *out) noexcept nogil:
    """An operand's byte strides over the broadcast shape's ``nd`` dimensions:
    0 where it is broadcast (missing leading dimensions, dimensions of 1).
    NULL ``own_strides`` means C-contiguous."""
    cdef Py_ssize_t d, off = nd - ndim, step = itemsize
    for d in range(off):
        out[d] = 0
    for d in range(ndim - 1, -1, -1):
        out[off + d] = 0 if own_shape[d] == 1 else own_strides[d] if own_strides != NULL else step
        step *= own_shape[d]


cdef Py_ssize_t _broadcast(Func f, Py_buffer *views, int *viewof, Py_ssize_t np,
                           Py_ssize_t *shape) except -1:
    """Fills ``shape`` with the inputs' broadcast shape (NumPy's rules); its ndim."""
    cdef Py_ssize_t j, d, od, s, nd = 0
    cdef int setter[MAP_MAX_DIMS]
    cdef Py_buffer *v
    for j in range(np):
        if viewof[j] >= 0 and views[viewof[j]].ndim > nd:
            nd = views[viewof[j]].ndim
    for d in range(nd):
        shape[d] = 1
        setter[d] = -1
    for j in range(np):
        if viewof[j] < 0:
            continue
        v = &views[viewof[j]]
        for d in range(v.ndim):
            od = nd - v.ndim + d
            s = v.shape[d]
            if shape[od] == 1:
                shape[od] = s
                setter[od] = j
            elif s != 1 and s != shape[od]:
                raise ValueError("%s.map(): argument %d of shape %s and argument %d of shape %s "
                                 "cannot be broadcast together"
                                 % (f._label(), setter[od] + 1, _shape_of(&views[viewof[setter[od]]]),
                                    j + 1, _shape_of(v)))
    return nd


cdef tuple _shape_of(Py_buffer *v):
    return tuple([v.shape[d] for d in range(v.ndim)])


cdef Py_ssize_t _collapse(Py_ssize_t nd, Py_ssize_t *shape, Py_ssize_t *strides,
                          Py_ssize_t nops) noexcept nogil:
    """Drops dimensions of 1 and merges neighbours that every operand walks as
    one (C order), in place; rows of ``strides`` stay ``nd`` long. The new ndim."""
    cdef Py_ssize_t d, k, cn = 0
    cdef bint merge
    for d in range(nd):
        if shape[d] == 1:
            continue
        merge = cn > 0
        k = 0
        while merge and k < nops:
            merge = strides[k * nd + cn - 1] == strides[k * nd + d] * shape[d]
            k += 1
        if merge:
            shape[cn - 1] *= shape[d]
        else:
            shape[cn] = shape[d]
            cn += 1
        for k in range(nops):
            strides[k * nd + cn - 1] = strides[k * nd + d]
    if cn == 0:
        shape[0] = 1
        for k in range(nops):
            strides[k * nd] = 0
        cn = 1
    return cn


cdef void _extent(const char *base, Py_ssize_t nd, const Py_ssize_t *shape, const Py_ssize_t *strides,
                  Py_ssize_t itemsize, const char **lo, const char **hi) noexcept nogil:
    """The bytes an operand touches over a non-empty broadcast shape: [lo, hi)."""
    cdef Py_ssize_t d, span, low = 0, high = 0
    for d in range(nd):
        span = (shape[d] - 1) * strides[d]
        if span < 0:
            low += span
        else:
            high += span
    lo[0] = base + low
    hi[0] = base + high + itemsize


cdef char *_gather(char *dst, const char *src, Py_ssize_t ndim, const Py_ssize_t *shape,
                   const Py_ssize_t *strides, Py_ssize_t itemsize) noexcept nogil:
    """Copies a strided buffer to ``dst`` in C order; returns the end of the copy."""
    cdef Py_ssize_t i, n = itemsize
    if strides == NULL:  # C-contiguous
        for i in range(ndim):
            n *= shape[i]
        memcpy(dst, src, n)
        return dst + n
    if ndim == 0:
        memcpy(dst, src, itemsize)
        return dst + itemsize
    for i in range(shape[0]):
        dst = _gather(dst, src + i * strides[0], ndim - 1, shape + 1, strides + 1, itemsize)
    return dst


# ---- outputs -------------------------------------------------------------------

cdef list _map_outputs(Func f, object out, Py_ssize_t nd, const Py_ssize_t *cshape, Py_ssize_t nr):
    cdef Py_ssize_t np = f._nparams, k
    if out is not None:
        outs = [out] if nr == 1 else list(out) if isinstance(out, (tuple, list)) else None
        if outs is None or len(outs) != nr:
            raise TypeError("map() out must be %s" % ("one array" if nr == 1 else "a tuple of %d arrays" % nr))
        return outs
    if nr == 0:
        return []
    shape = tuple([cshape[k] for k in range(nd)])
    numpy = _numpy_module()
    if numpy is not None:
        return [numpy.empty(shape, dtype=_NP_DTYPE[f._kinds[np + k]]) for k in range(nr)]
    if len(shape) != 1:
        raise TypeError("map() makes %d-d results only with NumPy: install it, or pass out= "
                        "(writable buffers of shape %s)" % (len(shape), shape))
    import array
    return [array.array(_ARRAY_CODE[f._kinds[np + k]], bytes(shape[0] * _kind_size(f._kinds[np + k])))
            for k in range(nr)]


cdef str _format_name(Py_buffer *view):
    return "B" if view.format == NULL else (<bytes>view.format).decode("ascii", "replace")


cdef int _check_output(Func f, Py_ssize_t k, object o, Py_buffer *view, Py_ssize_t nd,
                       const Py_ssize_t *shape) except -1:
    """Raises unless ``view`` (of ``o``) is an array of exactly the result's
    type and the broadcast shape, with no element twice."""
    cdef uint8_t kind = f._kinds[f._nparams + k]
    cdef Py_ssize_t d
    cdef bint same = view.ndim == nd
    name = "out" if f._nresults == 1 else "out[%d]" % k
    if not _format_ok(view.format, view.itemsize, kind, True):
        raise TypeError("map() %s: need an array of %s for the %s result, got %s"
                        % (name, _NP_DTYPE[kind], _kind_name(kind),
                           getattr(o, "dtype", None) or "format %r" % _format_name(view)))
    for d in range(nd if same else 0):
        same = same and view.shape[d] == shape[d]
    if not same:
        raise ValueError("map() %s has shape %s, the inputs broadcast to %s"
                         % (name, _shape_of(view), tuple([shape[d] for d in range(nd)])))
    for d in range(nd):
        if view.shape[d] == 0:  # no elements: nothing is written
            return 0
    for d in range(nd):
        if view.shape[d] > 1 and view.strides != NULL and view.strides[d] == 0:
            raise ValueError("map() %s holds one element several times (a zero stride)" % name)
    return 0


# ---- the call ------------------------------------------------------------------

cdef object _map(Func f, tuple arrays, object out):
    cdef Store store = f.store
    cdef wasmtime_context_t *ctx = store._context()
    cdef Py_ssize_t np, nr, nops, nd, cn, n = 1, i, j, k, d, nbuf = 0, ncopy = 0
    cdef Py_ssize_t big = <Py_ssize_t>((<size_t>-1) >> 1)
    cdef Py_buffer views[MAP_MAX]
    cdef int viewof[MAP_MAX]
    cdef char *base[MAP_MAX]
    cdef char *copies[MAP_MAX]
    cdef uint8_t kinds[MAP_MAX]
    cdef wasmtime_val_raw_t scalars[MAP_MAX]
    cdef wasmtime_val_raw_t raw[MAP_MAX]
    cdef Py_ssize_t shape[MAP_MAX_DIMS]
    cdef Py_ssize_t *strides = NULL
    cdef const char *lo1
    cdef const char *hi1
    cdef const char *lo2
    cdef const char *hi2
    cdef Py_buffer *v
    cdef wasmtime_error_t *err = NULL
    cdef wasm_trap_t *trap = NULL
    cdef Py_ssize_t failed_at = -1
    cdef bint flat
    if store._state.async_yield:
        _aio_refuse_sync("Func.map", "await func.call_async(...) per element")
    if not f._sig_loaded:
        f._load_sig(ctx)
    np = f._nparams
    nr = f._nresults
    nops = np + nr
    if nops > MAP_MAX:
        raise ValueError("map() supports at most %d parameters and results" % MAP_MAX)
    for i in range(nops):
        if f._kinds[i] not in (WB_I32, WB_I64, WB_F32, WB_F64):
            raise TypeError("map() needs a numeric signature (i32, i64, f32, f64), not %s" % f._label())
        kinds[i] = f._kinds[i]
    if len(arrays) != np:
        raise TypeError("%s.map() takes %d array argument%s (%d given)"
                        % (f._label(), np, "" if np == 1 else "s", len(arrays)))
    try:
        # inputs: arrays of the parameter type (read in place or converted), or scalars
        for j in range(np):
            viewof[j] = -1
            if _get_input(f, j, arrays[j], &views[nbuf], &scalars[j]):
                viewof[j] = nbuf
                nbuf += 1
        nd = _broadcast(f, views, viewof, np, shape)
        if nd == 0:
            raise TypeError("map() needs at least one array argument (all were scalars)")
        for d in range(nd):
            if shape[d] == 0:
                n = 0
            elif n and n > big // shape[d]:
                raise ValueError("map(): the broadcast shape has too many elements")
            else:
                n *= shape[d]
        # outputs: as given (checked, never copied) or new
        outs = _map_outputs(f, out, nd, shape, nr)
        for k in range(nr):
            o = outs[k]
            if not _try_buffer(o, &views[nbuf], PyBUF_RECORDS):
                name = "out" if nr == 1 else "out[%d]" % k
                if _try_buffer(o, &views[nbuf], PyBUF_RECORDS_RO):
                    PyBuffer_Release(&views[nbuf])
                    raise TypeError("map() %s is read-only: need a writable array of %s"
                                    % (name, _NP_DTYPE[kinds[np + k]]))
                raise TypeError("map() %s: need a writable array of %s, got %s"
                                % (name, _NP_DTYPE[kinds[np + k]], type(o).__name__))
            viewof[np + k] = nbuf
            nbuf += 1
            _check_output(f, k, o, &views[nbuf - 1], nd, shape)
        # every operand's start and byte strides over the broadcast shape
        strides = <Py_ssize_t *>PyMem_Malloc(nops * nd * sizeof(Py_ssize_t))
        if strides == NULL:
            raise MemoryError()
        for k in range(nops):
            if viewof[k] < 0:
                base[k] = <char *>&scalars[k]
                for d in range(nd):
                    strides[k * nd + d] = 0
            else:
                v = &views[viewof[k]]
                base[k] = <char *>v.buf
                _align_strides(v.ndim, v.shape, v.strides, v.itemsize, nd, strides + k * nd)
        # out= sharing memory with an input: copy the input, unless both walk the
        # very same elements (in place: each element is read before it is written)
        if out is not None and n > 0:
            for k in range(np, nops):
                _extent(base[k], nd, shape, strides + k * nd, _kind_size(kinds[k]), &lo1, &hi1)
                for j in range(np):
                    if viewof[j] < 0:
                        continue
                    _extent(base[j], nd, shape, strides + j * nd, _kind_size(kinds[j]), &lo2, &hi2)
                    if not (lo1 < hi2 and lo2 < hi1) or _same_elements(base, strides, kinds, shape, nd, j, k):
                        continue
                    v = &views[viewof[j]]
                    copies[ncopy] = <char *>PyMem_Malloc(v.len if v.len > 0 else 1)
                    if copies[ncopy] == NULL:
                        raise MemoryError()
                    ncopy += 1
                    _gather(copies[ncopy - 1], <char *>v.buf, v.ndim, v.shape, v.strides, v.itemsize)
                    base[j] = copies[ncopy - 1]
                    _align_strides(v.ndim, v.shape, NULL, v.itemsize, nd, strides + j * nd)
                for j in range(np, k):
                    _extent(base[j], nd, shape, strides + j * nd, _kind_size(kinds[j]), &lo2, &hi2)
                    if lo1 < hi2 and lo2 < hi1 and _share_memory(outs[j - np], outs[k - np]):
                        raise ValueError("map() out[%d] and out[%d] share memory" % (j - np, k - np))
        # the loop (conversions ran Python code: the store may have closed since)
        if n > 0:
            cn = _collapse(nd, shape, strides, nops)
            flat = cn == 1 and _flat_operands(np, nr, shape[0], base, strides, nd, kinds, scalars)
            ctx = store._context()
            # one dimension: inside the guest where it applies (core/map_guest.pxi)
            if cn == 1 and _map_guest(f, store, ctx, np, nr, n, kinds, base, strides, nd, scalars, views, nbuf):
                return None if nr == 0 else outs[0] if nr == 1 else tuple(outs)
            if wb_state_enter(&store._state):
                _stack_refused(store)
            if store._state.release_gil:
                with nogil:
                    if flat:
                        failed_at = _map_flat(ctx, &f._func, np, nr, n, kinds, base, scalars, raw, &err, &trap)
                    else:
                        failed_at = _map_loop(ctx, &f._func, np, nr, cn, nd, shape, base, strides,
                                              kinds, raw, &err, &trap)
            elif flat:
                failed_at = _map_flat(ctx, &f._func, np, nr, n, kinds, base, scalars, raw, &err, &trap)
            else:
                failed_at = _map_loop(ctx, &f._func, np, nr, cn, nd, shape, base, strides, kinds,
                                      raw, &err, &trap)
            wb_state_leave(&store._state)
            if failed_at >= 0:
                _raise_call_failure(store, err, trap)
    finally:
        for i in range(nbuf):
            PyBuffer_Release(&views[i])
        for i in range(ncopy):
            PyMem_Free(copies[i])
        PyMem_Free(strides)
    if nr == 0:
        return None
    return outs[0] if nr == 1 else tuple(outs)


cdef bint _share_memory(object a, object b):
    """Whether two outputs whose byte ranges overlap share an element (interleaved
    ones need not). Without NumPy, or when that is too hard to tell: True."""
    numpy = _numpy_module()
    if numpy is None:
        return True
    try:
        return numpy.shares_memory(a, b, max_work=100000)
    except Exception:  # TooHardError, or an object NumPy cannot view
        return True


cdef bint _same_elements(char **base, const Py_ssize_t *strides, const uint8_t *kinds,
                         const Py_ssize_t *shape, Py_ssize_t nd, Py_ssize_t j, Py_ssize_t k) noexcept:
    """Whether operands ``j`` and ``k`` put every element at the same address."""
    cdef Py_ssize_t d
    if base[j] != base[k] or _kind_size(kinds[j]) != _kind_size(kinds[k]):
        return False
    for d in range(nd):
        if shape[d] > 1 and strides[j * nd + d] != strides[k * nd + d]:
            return False
    return True


cdef bint _flat_operands(Py_ssize_t np, Py_ssize_t nr, Py_ssize_t n, char **base,
                         const Py_ssize_t *strides, Py_ssize_t rs, const uint8_t *kinds,
                         wasmtime_val_raw_t *scalars) noexcept:
    """Whether one flat run over contiguous operands does (the common case, and
    the fastest loop): ``n`` elements, one dimension (``strides`` rows are ``rs``
    long). If so, sets every broadcast input's ``base`` to NULL and its value in
    ``scalars``."""
    cdef Py_ssize_t k, st
    for k in range(np + nr):
        st = strides[k * rs]
        if st != _kind_size(kinds[k]) and not (st == 0 and (k < np or n == 1)):
            return False
    for k in range(np):
        if strides[k * rs] == 0:
            _load(kinds[k], base[k], &scalars[k])
            base[k] = NULL
    return True


cdef Py_ssize_t _map_flat(wasmtime_context_t *ctx, wasmtime_func_t *func, Py_ssize_t np,
                          Py_ssize_t nr, Py_ssize_t n, uint8_t *kinds, char **ptrs,
                          wasmtime_val_raw_t *scalars, wasmtime_val_raw_t *raw,
                          wasmtime_error_t **err, wasm_trap_t **trap) noexcept nogil:
    """Calls ``func`` on ``n`` contiguous elements (a NULL input: ``scalars``);
    -1 when done, else the failing index."""
    cdef Py_ssize_t i, j
    cdef Py_ssize_t nraw = np if np > nr else nr
    cdef char *p
    for i in range(n):
        for j in range(np):
            p = ptrs[j]
            if p == NULL:
                raw[j] = scalars[j]
            elif kinds[j] == WB_I32:
                raw[j].i32 = (<int32_t *>p)[i]
            elif kinds[j] == WB_F64:
                raw[j].f64 = (<double *>p)[i]
            elif kinds[j] == WB_I64:
                raw[j].i64 = (<int64_t *>p)[i]
            else:  # f32, as bits
                raw[j].i32 = (<int32_t *>p)[i]
        err[0] = wasmtime_func_call_unchecked(ctx, func, raw, nraw, trap)
        if err[0] != NULL or trap[0] != NULL:
            return i
        for j in range(nr):
            p = ptrs[np + j]
            if kinds[np + j] == WB_I32:
                (<int32_t *>p)[i] = raw[j].i32
            elif kinds[np + j] == WB_F64:
                (<double *>p)[i] = raw[j].f64
            elif kinds[np + j] == WB_I64:
                (<int64_t *>p)[i] = raw[j].i64
            else:
                (<int32_t *>p)[i] = raw[j].i32
    return -1


cdef Py_ssize_t _map_loop(wasmtime_context_t *ctx, wasmtime_func_t *func, Py_ssize_t np,
                          Py_ssize_t nr, Py_ssize_t nd, Py_ssize_t rs, const Py_ssize_t *shape,
                          char **base, const Py_ssize_t *strides, const uint8_t *kinds,
                          wasmtime_val_raw_t *raw, wasmtime_error_t **err,
                          wasm_trap_t **trap) noexcept nogil:
    """Calls ``func`` on every element in C order: an outer walk over the first
    ``nd - 1`` dimensions, a flat run over the last (``strides`` rows are ``rs``
    long). -1 when done, else the index of the failing element."""
    cdef char *p[MAP_MAX]
    cdef Py_ssize_t st[MAP_MAX]
    cdef Py_ssize_t idx[MAP_MAX_DIMS]
    cdef Py_ssize_t nops = np + nr, inner = shape[nd - 1], done = 0, k, d, r
    for k in range(nops):
        st[k] = strides[k * rs + nd - 1]
    for d in range(nd):
        idx[d] = 0
    while True:
        for k in range(nops):
            p[k] = base[k]
            for d in range(nd - 1):
                p[k] += idx[d] * strides[k * rs + d]
        r = _map_run(ctx, func, np, nr, inner, kinds, p, st, raw, err, trap)
        if r >= 0:
            return done + r
        done += inner
        d = nd - 2
        while d >= 0:
            idx[d] += 1
            if idx[d] < shape[d]:
                break
            idx[d] = 0
            d -= 1
        if d < 0:
            return -1


cdef Py_ssize_t _map_run(wasmtime_context_t *ctx, wasmtime_func_t *func, Py_ssize_t np,
                         Py_ssize_t nr, Py_ssize_t n, const uint8_t *kinds, char **p,
                         const Py_ssize_t *st, wasmtime_val_raw_t *raw, wasmtime_error_t **err,
                         wasm_trap_t **trap) noexcept nogil:
    """``n`` calls, each operand ``k`` read or written at ``p[k]`` and moved on by
    ``st[k]`` bytes. -1 when done, else the index of the failing call."""
    cdef Py_ssize_t i, j
    cdef Py_ssize_t nraw = np if np > nr else nr
    for i in range(n):
        for j in range(np):
            _load(kinds[j], p[j], &raw[j])
            p[j] += st[j]
        err[0] = wasmtime_func_call_unchecked(ctx, func, raw, nraw, trap)
        if err[0] != NULL or trap[0] != NULL:
            return i
        for j in range(nr):
            _store(kinds[np + j], p[np + j], &raw[j])
            p[np + j] += st[np + j]
    return -1
