/*
 * Output capture buffers for WASI stdout/stderr: written by the engine from
 * the thread running Wasm (or its own worker threads), read by Python after.
 *
 * Included by exactly one translation unit, wasmbind's _core extension.
 */
#ifndef WASMBIND_CAPTURE_H
#define WASMBIND_CAPTURE_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#endif

/* A growable byte buffer shared by Python (one reference) and the engine's
 * WASI context (one reference, dropped by the finalizer). The engine writes
 * and finalizes from its own threads (tokio workers), possibly after the
 * interpreter has shut down, so nothing here touches Python: the reference
 * count is atomic. */
typedef struct {
    unsigned char *data;
    size_t len;
    size_t cap;
    size_t limit;     /* bytes kept at most; writes past it fail with EIO */
    int refs;
    int overflowed;
} wb_capture_t;

static wb_capture_t *wb_capture_new(size_t limit) {
    wb_capture_t *c = (wb_capture_t *)calloc(1, sizeof(wb_capture_t));
    if (c) {
        c->limit = limit;
        c->refs = 1;
    }
    return c;
}

static void wb_capture_decref(wb_capture_t *c) {
    if (c == NULL)
        return;
#ifdef _WIN32
    if (InterlockedDecrement((volatile LONG *)&c->refs) != 0)
        return;
#else
    if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
#endif
    free(c->data);
    free(c);
}

/* Called by the engine when its WASI context drops the stream: from any
 * thread, with or without a live interpreter. Must not take the GIL (a
 * PyGILState_Ensure after finalization kills the engine's thread). */
static void wb_capture_finalize(void *p) {
    wb_capture_decref((wb_capture_t *)p);
}

/* Keeps the first `limit` bytes: a write that crosses the limit stores what
 * fits and reports a short write; the next one fails with EIO in the guest. */
static ptrdiff_t wb_capture_write(void *p, const unsigned char *buf, size_t n) {
    wb_capture_t *c = (wb_capture_t *)p;
    if (n > c->limit - c->len) {
        c->overflowed = 1;
        n = c->limit - c->len;
        if (n == 0)
            return -EIO;
    }
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n)
            cap *= 2;
        if (cap > c->limit)
            cap = c->limit;
        unsigned char *d = (unsigned char *)realloc(c->data, cap);
        if (!d)
            return -ENOMEM;
        c->data = d;
        c->cap = cap;
    }
    memcpy(c->data + c->len, buf, n);
    c->len += n;
    return (ptrdiff_t)n;
}

#endif /* WASMBIND_CAPTURE_H */
