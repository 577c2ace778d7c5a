/*
 * The bulk paths of component values (wasmbind/component/values.pxi):
 *
 * - an argument arena: the engine only reads the arguments of a component call
 *   (it converts them to its own values before the call), so their storage is
 *   ours. Lists, records, names and boxes of one call's arguments are carved
 *   out of one arena (a stack block first, then heap blocks) instead of one
 *   engine allocation each, and freed together after the call. The only
 *   engine objects inside argument values are resource handles, released by
 *   wb_cval_release_handles.
 * - one C pass from a typed buffer (any integer or float item type, any
 *   stride) into tagged numeric values, with the range check of the target
 *   type; and one C pass from tagged numeric values into a Python list.
 *
 * Included by exactly one translation unit, wasmbind's _core extension.
 */
#ifndef WASMBIND_COMPONENT_VALUES_H
#define WASMBIND_COMPONENT_VALUES_H

#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wasmbind_component.h"
#include "wasmbind_values.h"  /* the bit-exact f32 <-> double moves */

/* ------------------------------------------------------------ the arena */

#define WB_ARENA_INLINE 1024   /* bytes on the C stack before the first heap block */
#define WB_ARENA_BLOCK 16384   /* the smallest heap block; larger requests get their own */

typedef struct wb_arena_block {
    struct wb_arena_block *next;
    size_t used, cap;
    /* 16-aligned data follows */
} wb_arena_block_t;

typedef struct wb_arena {
    wb_arena_block_t *blocks;   /* heap blocks, newest first */
    size_t used;                /* of inline_ */
    _Alignas(16) unsigned char inline_[WB_ARENA_INLINE];
} wb_arena_t;

/* A non-null, aligned address for empty vectors (the engine builds slices
 * from the pointer even when the size is 0). */
static _Alignas(16) unsigned char wb_arena_empty[16];

static inline void wb_arena_init(wb_arena_t *a) {
    a->blocks = NULL;
    a->used = 0;
}

#define WB_ARENA_HDR ((sizeof(wb_arena_block_t) + 15) & ~(size_t)15)

/* n bytes, 16-aligned, zero-filled when `zero`; NULL when out of memory.
 * A request of 0 bytes gets the shared empty address. */
static void *wb_arena_alloc(wb_arena_t *a, size_t n, int zero) {
    void *p;
    size_t need;
    if (n == 0)
        return wb_arena_empty;
    need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    if (WB_ARENA_INLINE - a->used >= need) {
        p = a->inline_ + a->used;
        a->used += need;
    } else if (a->blocks != NULL && a->blocks->cap - a->blocks->used >= need) {
        p = (unsigned char *)a->blocks + WB_ARENA_HDR + a->blocks->used;
        a->blocks->used += need;
    } else {
        size_t cap = need > WB_ARENA_BLOCK ? need : WB_ARENA_BLOCK;
        wb_arena_block_t *b;
        if (cap > SIZE_MAX - WB_ARENA_HDR)
            return NULL;
        b = (wb_arena_block_t *)malloc(WB_ARENA_HDR + cap);
        if (b == NULL)
            return NULL;
        b->cap = cap;
        b->used = need;
        if (need > WB_ARENA_BLOCK / 2 && a->blocks != NULL) {
            /* a big request gets a block of its own, behind the current one */
            b->next = a->blocks->next;
            a->blocks->next = b;
        } else {
            b->next = a->blocks;
            a->blocks = b;
        }
        p = (unsigned char *)b + WB_ARENA_HDR;
    }
    if (zero)
        memset(p, 0, n);
    return p;
}

static void wb_arena_free(wb_arena_t *a) {
    wb_arena_block_t *b = a->blocks, *next;
    while (b != NULL) {
        next = b->next;
        free(b);
        b = next;
    }
    a->blocks = NULL;
    a->used = 0;
}

/* Releases the engine objects inside a value whose storage is an arena's:
 * the resource handles (nothing else in an argument belongs to the engine).
 * A value being built is always walkable: containers are zero-filled (zero is
 * the kind bool) before their items are converted. The items of a list all
 * have one type, so a list whose first item holds no handle (a number, a
 * char, a string) holds none. */
static void wb_cval_release_handles(wasmtime_component_val_t *v) {
    size_t i;
    switch (v->kind) {
    case WB_CV_LIST:
        if (v->of.list.size == 0 || v->of.list.data[0].kind <= WB_CV_STRING)
            return;
        for (i = 0; i < v->of.list.size; i++)
            wb_cval_release_handles(&v->of.list.data[i]);
        return;
    case WB_CV_TUPLE:
        for (i = 0; i < v->of.tuple.size; i++)
            wb_cval_release_handles(&v->of.tuple.data[i]);
        return;
    case WB_CV_RECORD:
        for (i = 0; i < v->of.record.size; i++)
            wb_cval_release_handles(&v->of.record.data[i].val);
        return;
    case WB_CV_VARIANT:
        if (v->of.variant.val != NULL)
            wb_cval_release_handles(v->of.variant.val);
        return;
    case WB_CV_OPTION:
        if (v->of.option != NULL)
            wb_cval_release_handles(v->of.option);
        return;
    case WB_CV_RESULT:
        if (v->of.result.val != NULL)
            wb_cval_release_handles(v->of.result.val);
        return;
    case WB_CV_RESOURCE:
        if (v->of.resource != NULL) {
            wasmtime_component_resource_any_delete(v->of.resource);
            v->of.resource = NULL;
        }
        return;
    default:
        return;
    }
}

/* ------------------------------------------- typed buffers -> values */

/* Item types of a source buffer. */
enum { WB_SRC_NONE = -1, WB_SRC_SIGNED = 0, WB_SRC_UNSIGNED = 1, WB_SRC_FLOAT = 2 };

/* The class of a buffer's items (struct-module format, native byte order
 * only) and their size: WB_SRC_NONE for what the fast path does not read
 * (bool '?', half floats, big-endian, structs, ...). */
static int wb_src_class(const char *fmt, Py_ssize_t itemsize) {
    if (fmt == NULL)
        return itemsize == 1 ? WB_SRC_UNSIGNED : WB_SRC_NONE;
    if (*fmt == '@' || *fmt == '=')
        fmt++;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    else if (*fmt == '<')
        fmt++;
#endif
    if (fmt[0] == '\0' || fmt[1] != '\0')
        return WB_SRC_NONE;
    switch (fmt[0]) {
    case 'b': case 'h': case 'i': case 'l': case 'q': case 'n':
        return (itemsize == 1 || itemsize == 2 || itemsize == 4 || itemsize == 8) ? WB_SRC_SIGNED : WB_SRC_NONE;
    case 'B': case 'c': case 'H': case 'I': case 'L': case 'Q': case 'N':
        return (itemsize == 1 || itemsize == 2 || itemsize == 4 || itemsize == 8) ? WB_SRC_UNSIGNED : WB_SRC_NONE;
    case 'f':
        return itemsize == 4 ? WB_SRC_FLOAT : WB_SRC_NONE;
    case 'd':
        return itemsize == 8 ? WB_SRC_FLOAT : WB_SRC_NONE;
    default:
        return WB_SRC_NONE;
    }
}

static inline int64_t wb_read_signed(const char *p, Py_ssize_t size) {
    switch (size) {
    case 1: return *(const int8_t *)p;
    case 2: { int16_t x; memcpy(&x, p, 2); return x; }
    case 4: { int32_t x; memcpy(&x, p, 4); return x; }
    default: { int64_t x; memcpy(&x, p, 8); return x; }
    }
}

static inline uint64_t wb_read_unsigned(const char *p, Py_ssize_t size) {
    switch (size) {
    case 1: return *(const uint8_t *)p;
    case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
    case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
    default: { uint64_t x; memcpy(&x, p, 8); return x; }
    }
}

/* A float item as a double: an f32 by its bits (a cast would quiet a
 * signalling NaN), as everywhere an f32 becomes a Python float. */
static inline double wb_read_float(const char *p, Py_ssize_t size) {
    if (size == 4) { uint32_t b; memcpy(&b, p, 4); return wb_f32_bits_to_double(b); }
    { double x; memcpy(&x, p, 8); return x; }
}

/* Range of each integer type kind (WB_CT_S8..WB_CT_U64): signed lo/hi. */
static inline int wb_int_target(uint8_t k, int *is_signed, int64_t *lo, int64_t *hi, uint64_t *uhi) {
    *is_signed = 1; *uhi = 0;
    switch (k) {
    case WB_CT_S8: *lo = INT8_MIN; *hi = INT8_MAX; return 1;
    case WB_CT_S16: *lo = INT16_MIN; *hi = INT16_MAX; return 1;
    case WB_CT_S32: *lo = INT32_MIN; *hi = INT32_MAX; return 1;
    case WB_CT_S64: *lo = INT64_MIN; *hi = INT64_MAX; return 1;
    case WB_CT_U8: *is_signed = 0; *uhi = UINT8_MAX; return 1;
    case WB_CT_U16: *is_signed = 0; *uhi = UINT16_MAX; return 1;
    case WB_CT_U32: *is_signed = 0; *uhi = UINT32_MAX; return 1;
    case WB_CT_U64: *is_signed = 0; *uhi = UINT64_MAX; return 1;
    default: return 0;
    }
}

static inline void wb_store_int(uint8_t k, wasmtime_component_val_t *d, uint64_t bits) {
    switch (k) {
    case WB_CT_S8: d->kind = WB_CV_S8; d->of.s8 = (int8_t)bits; break;
    case WB_CT_S16: d->kind = WB_CV_S16; d->of.s16 = (int16_t)bits; break;
    case WB_CT_S32: d->kind = WB_CV_S32; d->of.s32 = (int32_t)bits; break;
    case WB_CT_S64: d->kind = WB_CV_S64; d->of.s64 = (int64_t)bits; break;
    case WB_CT_U8: d->kind = WB_CV_U8; d->of.u8 = (uint8_t)bits; break;
    case WB_CT_U16: d->kind = WB_CV_U16; d->of.u16 = (uint16_t)bits; break;
    case WB_CT_U32: d->kind = WB_CV_U32; d->of.u32 = (uint32_t)bits; break;
    default: d->kind = WB_CV_U64; d->of.u64 = bits; break;
    }
}

/* Checks n items of a source buffer (`stride` bytes apart, class `src`,
 * `size` bytes each) against the target type kind k (a numeric WB_CT_*):
 * -1 when all fit, else the index of the first item out of the range of k
 * (its value in *bad_s or *bad_u by the source class). -2 when the source
 * cannot be read as k at all (floats for an integer type). Reads only. */
static Py_ssize_t wb_buffer_check(uint8_t k, int src, const char *buf, Py_ssize_t stride, Py_ssize_t size,
                                  Py_ssize_t n, int64_t *bad_s, uint64_t *bad_u) {
    int is_signed;
    int64_t lo = 0, hi = 0;
    uint64_t uhi = 0;
    Py_ssize_t i;
    if (k == WB_CT_F32 || k == WB_CT_F64)
        return -1;
    if (!wb_int_target(k, &is_signed, &lo, &hi, &uhi) || src == WB_SRC_FLOAT)
        return -2;
    if (src == WB_SRC_SIGNED) {
        for (i = 0; i < n; i++) {
            int64_t x = wb_read_signed(buf + i * stride, size);
            if (is_signed ? (x < lo || x > hi) : (x < 0 || (uint64_t)x > uhi)) {
                *bad_s = x;
                return i;
            }
        }
    } else {
        for (i = 0; i < n; i++) {
            uint64_t x = wb_read_unsigned(buf + i * stride, size);
            if (is_signed ? x > (uint64_t)hi : x > uhi) {
                *bad_u = x;
                return i;
            }
        }
    }
    return -1;
}

/* Fills n tagged values of type kind k from a source buffer already checked
 * by wb_buffer_check. */
static void wb_buffer_fill(uint8_t k, int src, const char *buf, Py_ssize_t stride, Py_ssize_t size,
                           Py_ssize_t n, wasmtime_component_val_t *dst) {
    Py_ssize_t i;
    if (k == WB_CT_U8 && src == WB_SRC_UNSIGNED && size == 1 && stride == 1) {
        const uint8_t *p = (const uint8_t *)buf;
        for (i = 0; i < n; i++) {
            dst[i].kind = WB_CV_U8;
            dst[i].of.u8 = p[i];
        }
        return;
    }
    if (k == WB_CT_F32 || k == WB_CT_F64) {
        for (i = 0; i < n; i++) {
            const char *p = buf + i * stride;
            double x = src == WB_SRC_FLOAT ? wb_read_float(p, size)
                     : src == WB_SRC_SIGNED ? (double)wb_read_signed(p, size)
                     : (double)wb_read_unsigned(p, size);
            if (k == WB_CT_F32) {
                dst[i].kind = WB_CV_F32;
                /* a float source of the same width keeps its bits (NaN payloads) */
                uint32_t b;
                if (src == WB_SRC_FLOAT && size == 4)
                    memcpy(&b, p, 4);
                else
                    b = wb_double_to_f32_bits(x);
                memcpy(&dst[i].of.f32, &b, 4);
            } else {
                dst[i].kind = WB_CV_F64;
                if (src == WB_SRC_FLOAT && size == 8)
                    memcpy(&dst[i].of.f64, p, 8);
                else
                    dst[i].of.f64 = x;
            }
        }
        return;
    }
    if (src == WB_SRC_SIGNED) {
        for (i = 0; i < n; i++)
            wb_store_int(k, &dst[i], (uint64_t)wb_read_signed(buf + i * stride, size));
    } else {
        for (i = 0; i < n; i++)
            wb_store_int(k, &dst[i], wb_read_unsigned(buf + i * stride, size));
    }
}

/* ------------------------------------------------ values -> Python */

/* A list of Python numbers from n tagged values of numeric type kind k
 * (checking each tag against the value kind of k): NULL with an
 * exception set on failure; None with *mismatch set when a tag does not
 * match, for the caller to report. */
static PyObject *wb_numeric_list(uint8_t k, const wasmtime_component_val_t *v, size_t n, int *mismatch) {
    size_t i;
    PyObject *out, *x;
    uint8_t cv;
    switch (k) {
    case WB_CT_S8: cv = WB_CV_S8; break;
    case WB_CT_S16: cv = WB_CV_S16; break;
    case WB_CT_S32: cv = WB_CV_S32; break;
    case WB_CT_S64: cv = WB_CV_S64; break;
    case WB_CT_U8: cv = WB_CV_U8; break;
    case WB_CT_U16: cv = WB_CV_U16; break;
    case WB_CT_U32: cv = WB_CV_U32; break;
    case WB_CT_U64: cv = WB_CV_U64; break;
    case WB_CT_F32: cv = WB_CV_F32; break;
    case WB_CT_F64: cv = WB_CV_F64; break;
    default: *mismatch = 1; Py_INCREF(Py_None); return Py_None;
    }
    *mismatch = 0;
    if (n > (size_t)PY_SSIZE_T_MAX)
        return PyErr_NoMemory();
    out = PyList_New((Py_ssize_t)n);
    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        if (v[i].kind != cv) {
            *mismatch = 1;
            Py_DECREF(out);
            Py_INCREF(Py_None);
            return Py_None;
        }
        switch (k) {
        case WB_CT_S8: x = PyLong_FromLong(v[i].of.s8); break;
        case WB_CT_S16: x = PyLong_FromLong(v[i].of.s16); break;
        case WB_CT_S32: x = PyLong_FromLong(v[i].of.s32); break;
        case WB_CT_S64: x = PyLong_FromLongLong(v[i].of.s64); break;
        case WB_CT_U8: x = PyLong_FromLong(v[i].of.u8); break;
        case WB_CT_U16: x = PyLong_FromLong(v[i].of.u16); break;
        case WB_CT_U32: x = PyLong_FromUnsignedLong(v[i].of.u32); break;
        case WB_CT_U64: x = PyLong_FromUnsignedLongLong(v[i].of.u64); break;
        case WB_CT_F32: {
            uint32_t b;
            memcpy(&b, &v[i].of.f32, 4);
            x = PyFloat_FromDouble(wb_f32_bits_to_double(b));
            break;
        }
        default: x = PyFloat_FromDouble(v[i].of.f64); break;
        }
        if (x == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)i, x);
    }
    return out;
}

/* The bytes of n tagged u8 values: NULL with an exception set; None with
 * *mismatch set when a tag is not u8. */
static PyObject *wb_u8_bytes(const wasmtime_component_val_t *v, size_t n, int *mismatch) {
    size_t i;
    PyObject *out;
    char *p;
    *mismatch = 0;
    if (n > (size_t)PY_SSIZE_T_MAX)
        return PyErr_NoMemory();
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
    if (out == NULL)
        return NULL;
    p = PyBytes_AS_STRING(out);
    for (i = 0; i < n; i++) {
        if (v[i].kind != WB_CV_U8) {
            *mismatch = 1;
            Py_DECREF(out);
            Py_INCREF(Py_None);
            return Py_None;
        }
        p[i] = (char)v[i].of.u8;
    }
    return out;
}

#endif /* WASMBIND_COMPONENT_VALUES_H */
