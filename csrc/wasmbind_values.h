/*
 * Value fast paths of the call path: exact Python ints and floats to raw
 * Wasm values and back, without reference-count traffic or function calls
 * where CPython allows it.
 *
 * Included by exactly one translation unit, wasmbind's _core extension.
 */
#ifndef WASMBIND_VALUES_H
#define WASMBIND_VALUES_H

#include <Python.h>
#include <string.h>

#include "wasmbind_capi.h"

/* Reads a Python int that fits in one internal digit (|v| < 2**30) without a
 * function call; returns 0 when the caller must take the general path. */
static inline int wb_compact_long(PyObject *v, long long *out) {
#if defined(Py_LIMITED_API)
    (void)v; (void)out;
    return 0;
#elif PY_VERSION_HEX >= 0x030C0000
    if (PyUnstable_Long_IsCompact((PyLongObject *)v)) {
        *out = (long long)PyUnstable_Long_CompactValue((PyLongObject *)v);
        return 1;
    }
    return 0;
#else
    Py_ssize_t size = Py_SIZE(v);
    if (size == 0) { *out = 0; return 1; }
    if (size == 1) { *out = (long long)((PyLongObject *)v)->ob_digit[0]; return 1; }
    if (size == -1) { *out = -(long long)((PyLongObject *)v)->ob_digit[0]; return 1; }
    return 0;
#endif
}

/* An exact int that is not compact, if it fits in a long long: 1 with the
 * value, else 0 (no error set). */
static inline int wb_big_long(PyObject *v, long long *x) {
    int overflow = 0;
    *x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || (*x == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* An exact int that fits in a long long: 1 with the value, else 0 (no error set). */
static inline int wb_exact_long(PyObject *v, long long *x) {
    if (!PyLong_CheckExact(v))
        return 0;
    return wb_compact_long(v, x) || wb_big_long(v, x);
}

/* f32 <-> Python float (a double), bit-exact for every f32 value. A C cast
 * between float and double is exact for numbers, infinities and denormals,
 * but the hardware quiets a signalling NaN on the way (x86: cvtss2sd sets the
 * quiet bit): NaNs are moved by hand, sign and payload in place (the f32
 * payload becomes the top 23 bits of the f64 payload, and back). A double NaN
 * whose payload lies only in the low 29 bits (none made here) has no f32
 * payload: it becomes the canonical quiet NaN of its sign. The raw value is
 * written and read as bits (i32), never through a float register. */
static inline double wb_f32_bits_to_double(uint32_t b) {
    if ((b & 0x7F800000u) == 0x7F800000u && (b & 0x007FFFFFu)) {
        uint64_t d = ((uint64_t)(b & 0x80000000u) << 32) | 0x7FF0000000000000ull
                     | ((uint64_t)(b & 0x007FFFFFu) << 29);
        double out;
        memcpy(&out, &d, 8);
        return out;
    }
    float f;
    memcpy(&f, &b, 4);
    return (double)f;
}

static inline uint32_t wb_double_to_f32_bits(double x) {
    uint64_t d;
    uint32_t b;
    memcpy(&d, &x, 8);
    if ((d & 0x7FF0000000000000ull) == 0x7FF0000000000000ull && (d & 0x000FFFFFFFFFFFFFull)) {
        uint32_t payload = (uint32_t)((d >> 29) & 0x007FFFFFu);
        return (uint32_t)(d >> 32 & 0x80000000u) | 0x7F800000u | (payload ? payload : 0x00400000u);
    }
    float f = (float)x;
    memcpy(&b, &f, 4);
    return b;
}

/* Converts an exact int or float argument to a raw value of `kind` (a
 * wasmtime_valkind_t) without touching reference counts: 0 when done, 1 when
 * the caller must take the general path (other types, out of range, errors). */
static inline int wb_to_raw_fast(uint8_t kind, PyObject *v, wasmtime_val_raw_t *out) {
    long long x;
    switch (kind) {
    case WB_I32: /* [-2**31, 2**32): signed or unsigned */
        if (!PyLong_CheckExact(v))
            return 1;
        if (wb_compact_long(v, &x)) { /* |x| < 2**30: in range */
            out->i32 = (int32_t)x;
            return 0;
        }
        if (!wb_big_long(v, &x) || x < -0x80000000LL || x > 0xFFFFFFFFLL)
            return 1;
        out->i32 = (int32_t)(uint32_t)x;
        return 0;
    case WB_I64:
        if (!wb_exact_long(v, &x))
            return 1;
        out->i64 = x;
        return 0;
    case WB_F32:
        if (!PyFloat_CheckExact(v))
            return 1;
        out->i32 = (int32_t)wb_double_to_f32_bits(PyFloat_AS_DOUBLE(v));
        return 0;
    case WB_F64:
        if (!PyFloat_CheckExact(v))
            return 1;
        out->f64 = PyFloat_AS_DOUBLE(v);
        return 0;
    default:
        return 1;
    }
}

/* Converts args[i..n) by wb_to_raw_fast into raw[i..n): the index of the
 * first argument that needs the general path, or n when all are done. */
static Py_ssize_t wb_args_to_raw_any(const uint8_t *kinds, PyObject *const *args, Py_ssize_t i,
                                     Py_ssize_t n, wasmtime_val_raw_t *raw) {
    for (; i < n; i++)
        if (wb_to_raw_fast(kinds[i], args[i], &raw[i]))
            break;
    return i;
}

/* The same. The commonest argument, a small int for an i32, is read in line
 * (no switch, one type check, no function call); the first other one hands
 * the rest to wb_args_to_raw_any. */
static inline Py_ssize_t wb_args_to_raw(const uint8_t *kinds, PyObject *const *args, Py_ssize_t i,
                                        Py_ssize_t n, wasmtime_val_raw_t *raw) {
    PyTypeObject *const int_type = &PyLong_Type;
    for (; i < n; i++) {
        PyObject *v = args[i];
        long long x;
        if (kinds[i] != WB_I32 || Py_TYPE(v) != int_type || !wb_compact_long(v, &x))
            return wb_args_to_raw_any(kinds, args, i, n, raw);
        raw[i].i32 = (int32_t)x;
    }
    return i;
}

/* A v128 value (little-endian 128-bit unsigned) as a new Python int. */
static PyObject *wb_v128_to_object(const wasmtime_val_raw_t *r) {
    uint64_t lo, hi;
    memcpy(&lo, r->v128, 8);
    memcpy(&hi, r->v128 + 8, 8);
    PyObject *h = PyLong_FromUnsignedLongLong(hi);
    PyObject *l = PyLong_FromUnsignedLongLong(lo);
    PyObject *sh = PyLong_FromLong(64);
    PyObject *hs = (h && sh) ? PyNumber_Lshift(h, sh) : NULL;
    PyObject *res = (hs && l) ? PyNumber_Or(hs, l) : NULL;
    Py_XDECREF(h);
    Py_XDECREF(l);
    Py_XDECREF(sh);
    Py_XDECREF(hs);
    return res;
}

/* A raw result of `kind` (numeric or v128) as a new Python object, NULL with
 * an exception set on failure or for a kind that is not a number. Inline:
 * the numbers are one call into CPython each. */
static inline PyObject *wb_raw_to_object(uint8_t kind, const wasmtime_val_raw_t *r) {
    switch (kind) {
    case WB_I32:
        return PyLong_FromLong(r->i32);
    case WB_I64:
        return PyLong_FromLongLong(r->i64);
    case WB_F32:
        return PyFloat_FromDouble(wb_f32_bits_to_double((uint32_t)r->i32));
    case WB_F64:
        return PyFloat_FromDouble(r->f64);
    case WB_V128:
        return wb_v128_to_object(r);
    default:
        PyErr_Format(PyExc_TypeError, "cannot read value kind %d as a raw value", (int)kind);
        return NULL;
    }
}

/* The results of a call as a tuple (a new reference).
 *
 * A tuple of numbers holds no reference cycle, so it is not tracked by the
 * garbage collector; and the last tuple of each length is kept and filled
 * again when nobody else holds it any more (its only reference is the one
 * kept here), as CPython's zip() and dict.items() iterators do: the usual
 * `q, r = f(a, b)` then allocates and frees no tuple. Not in free-threaded
 * builds, where the reference count alone does not prove that no other
 * thread can see the tuple (the extension loads into one interpreter only). */
#define WB_RESULTS_KEPT 8
#if !defined(Py_GIL_DISABLED)
static PyObject *wb_results_kept[WB_RESULTS_KEPT + 1];

static PyObject *wb_kept_results_tuple(const uint8_t *kinds, const wasmtime_val_raw_t *raw, Py_ssize_t n) {
    PyObject *items[WB_RESULTS_KEPT];
    PyObject *t = wb_results_kept[n];
    Py_ssize_t i;
    for (i = 0; i < n; i++) {
        items[i] = wb_raw_to_object(kinds[i], &raw[i]);
        if (items[i] == NULL) {
            while (i > 0)
                Py_DECREF(items[--i]);
            return NULL;
        }
    }
    if (t != NULL && Py_REFCNT(t) == 1) {
        for (i = 0; i < n; i++) {
            PyObject *old = PyTuple_GET_ITEM(t, i);
            PyTuple_SET_ITEM(t, i, items[i]);
            Py_DECREF(old);
        }
    } else {
        t = PyTuple_New(n);
        if (t == NULL) {
            for (i = 0; i < n; i++)
                Py_DECREF(items[i]);
            return NULL;
        }
        for (i = 0; i < n; i++)
            PyTuple_SET_ITEM(t, i, items[i]);
        PyObject_GC_UnTrack(t);
        Py_XSETREF(wb_results_kept[n], t);
    }
    Py_INCREF(t);
    return t;
}
#endif

static PyObject *wb_raw_results_tuple(const uint8_t *kinds, const wasmtime_val_raw_t *raw, Py_ssize_t n) {
#if !defined(Py_GIL_DISABLED)
    if (n <= WB_RESULTS_KEPT)
        return wb_kept_results_tuple(kinds, raw, n);
#endif
    PyObject *t = PyTuple_New(n);
    if (t == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = wb_raw_to_object(kinds[i], &raw[i]);
        if (v == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

#endif /* WASMBIND_VALUES_H */
