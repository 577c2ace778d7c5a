# Batch calls: Func.map applies a function element-wise over buffers, in one C
# loop of unchecked calls.

cdef dict _NP_DTYPE = {WB_I32: "int32", WB_I64: "int64", WB_F32: "float32", WB_F64: "float64"}
cdef dict _ARRAY_CODE = {WB_I32: "i", WB_I64: "q", WB_F32: "f", WB_F64: "d"}


cdef bint _format_ok(const char *fmt, Py_ssize_t itemsize, uint8_t kind):
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
    if fmt[0] not in b"bBhHiIlLqQnN":
        return False
    return itemsize == (4 if kind == WB_I32 else 8)


cdef bint _LITTLE_ENDIAN = _sys.byteorder == "little"


cdef int _get_map_buffer(object obj, uint8_t kind, Py_buffer *view, bint writable) except -1:
    """1 if ``obj`` gave a buffer of the right type, 0 if it must be converted."""
    cdef int flags = PyBUF_FORMAT | PyBUF_C_CONTIGUOUS
    if writable:
        flags |= PyBUF_WRITABLE
    if not PyObject_CheckBuffer(obj):
        return 0
    try:
        PyObject_GetBuffer(obj, view, flags)
    except (BufferError, ValueError, TypeError):
        return 0  # not C-contiguous, read-only...: convert (inputs) or refuse (out)
    if _format_ok(view.format, view.itemsize, kind):
        return 1
    PyBuffer_Release(view)
    return 0


cdef object _map(Func f, tuple arrays, object out):
    cdef Store store = f.store
    cdef wasmtime_context_t *ctx = store._context()
    cdef Py_ssize_t np, nr, n = -1, i, j, count, nbuf = 0
    cdef Py_buffer views[MAP_MAX]
    cdef char *ptrs[MAP_MAX]
    cdef uint8_t kinds[MAP_MAX]
    cdef wasmtime_val_raw_t scalars[MAP_MAX]
    cdef wasmtime_val_raw_t raw[MAP_MAX]
    cdef wasmtime_error_t *err = NULL
    cdef wasm_trap_t *trap = NULL
    cdef Py_ssize_t failed_at = -1
    if not f._sig_loaded:
        f._load_sig(ctx)
    np = f._nparams
    nr = f._nresults
    if f._has_refs or any(f._kinds[i] == WB_V128 for i in range(np + nr)):
        raise TypeError("map() needs a numeric signature (i32, i64, f32, f64), not %s" % f._label())
    if np + nr > MAP_MAX:
        raise ValueError("map() supports at most %d parameters and results" % MAP_MAX)
    if len(arrays) != np:
        raise TypeError("%s.map() takes %d array argument%s (%d given)"
                        % (f._label(), np, "" if np == 1 else "s", len(arrays)))
    keep = []
    try:
        # inputs: buffers of the parameter type, or scalars to broadcast
        for j in range(np):
            kinds[j] = f._kinds[j]
            a = arrays[j]
            ptrs[j] = NULL
            if isinstance(a, (int, float)) and not isinstance(a, bool):
                try:
                    _to_raw(kinds[j], a, &scalars[j])
                except (TypeError, OverflowError, ValueError) as exc:
                    f._arg_error(j, exc)
                continue
            if not _get_map_buffer(a, kinds[j], &views[nbuf], False):
                a = _np_convert(a, kinds[j], j, f)
                keep.append(a)
                if not _get_map_buffer(a, kinds[j], &views[nbuf], False):
                    raise TypeError("map() argument %d: cannot use %s" % (j + 1, type(arrays[j]).__name__))
            count = views[nbuf].len // views[nbuf].itemsize
            ptrs[j] = <char *>views[nbuf].buf
            nbuf += 1
            if n == -1:
                n = count
            elif count != n:
                raise ValueError("map() arrays differ in length (%d and %d)" % (n, count))
        if n == -1:
            raise TypeError("map() needs at least one array argument (all were scalars)")
        # outputs
        outs = _map_outputs(f, out, n, nr)
        for j in range(nr):
            kinds[np + j] = f._kinds[np + j]
            if not _get_map_buffer(outs[j], kinds[np + j], &views[nbuf], True):
                raise TypeError("map() out: need a writable C-contiguous %s buffer"
                                % _NP_DTYPE[kinds[np + j]])
            if views[nbuf].len // views[nbuf].itemsize != n:
                nbuf += 1
                raise ValueError("map() out has %d elements, the inputs %d"
                                 % (views[nbuf - 1].len // views[nbuf - 1].itemsize, n))
            ptrs[np + j] = <char *>views[nbuf].buf
            nbuf += 1
        # the loop
        if wb_state_enter(&store._state):
            _stack_refused(store)
        if store._state.release_gil:
            with nogil:
                failed_at = _map_loop(ctx, &f._func, np, nr, n, kinds, ptrs, scalars, raw, &err, &trap)
        else:
            failed_at = _map_loop(ctx, &f._func, np, nr, n, kinds, ptrs, scalars, raw, &err, &trap)
        wb_state_leave(&store._state)
        if failed_at >= 0:
            _raise_call_failure(store, err, trap)
    finally:
        for i in range(nbuf):
            PyBuffer_Release(&views[i])
    if nr == 0:
        return None
    return outs[0] if nr == 1 else tuple(outs)


cdef Py_ssize_t _map_loop(wasmtime_context_t *ctx, wasmtime_func_t *func, Py_ssize_t np,
                          Py_ssize_t nr, Py_ssize_t n, uint8_t *kinds, char **ptrs,
                          wasmtime_val_raw_t *scalars, wasmtime_val_raw_t *raw,
                          wasmtime_error_t **err, wasm_trap_t **trap) noexcept nogil:
    """Calls ``func`` on every element; -1 when done, else the failing index."""
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
            else:
                raw[j].f32 = (<float *>p)[i]
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
                (<float *>p)[i] = raw[j].f32
    return -1


cdef object _np_convert(object a, uint8_t kind, Py_ssize_t j, Func f):
    try:
        import numpy
    except ImportError:
        raise TypeError("map() argument %d: expected a C-contiguous %s buffer, got %s "
                        "(install NumPy to convert other inputs)"
                        % (j + 1, _NP_DTYPE[kind], type(a).__name__)) from None
    try:
        return numpy.ascontiguousarray(a, dtype=_NP_DTYPE[kind])
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError("%s.map() argument %d: %s" % (f._label(), j + 1, exc)) from None


cdef list _map_outputs(Func f, object out, Py_ssize_t n, Py_ssize_t nr):
    cdef Py_ssize_t np = f._nparams
    if out is not None:
        outs = [out] if nr == 1 else list(out) if isinstance(out, (tuple, list)) else None
        if outs is None or len(outs) != nr:
            raise TypeError("map() out must be %s" % ("one buffer" if nr == 1 else "a tuple of %d buffers" % nr))
        return outs
    try:
        import numpy
    except ImportError:
        import array
        return [array.array(_ARRAY_CODE[f._kinds[np + j]], bytes(n * (4 if f._kinds[np + j] in (WB_I32, WB_F32) else 8)))
                for j in range(nr)]
    return [numpy.empty(n, dtype=_NP_DTYPE[f._kinds[np + j]]) for j in range(nr)]
