/*
 * Small C helpers for wasmbind's Cython core: things that must run without the
 * GIL or outside Python altogether.
 *
 *  - the epoch ticker: one native thread that increments the epoch of every
 *    registered engine at a fixed interval, so deadlines, Ctrl-C and GIL
 *    yielding work while Wasm runs and holds the GIL;
 *  - output capture buffers for WASI stdout/stderr (written by the engine
 *    from the thread running Wasm, read by Python afterwards);
 *  - entry points for host callbacks that take the GIL only when the calling
 *    thread does not already hold it.
 */
#ifndef WASMBIND_HELPERS_H
#define WASMBIND_HELPERS_H

#include <Python.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wasmbind_capi.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#include <time.h>
#endif

/* ------------------------------------------------------------ epoch ticker */

#define WB_TICK_MS 5
#define WB_MAX_ENGINES 4096

typedef struct {
#ifdef _WIN32
    SRWLOCK lock;
    CONDITION_VARIABLE wake;
#else
    pthread_mutex_t lock;
    pthread_cond_t wake;
#endif
    int started;
    size_t count;
    wasm_engine_t *engines[WB_MAX_ENGINES];
} wb_ticker_t;

#ifdef _WIN32
static wb_ticker_t wb_ticker = {SRWLOCK_INIT, CONDITION_VARIABLE_INIT, 0, 0, {0}};
#define WB_LOCK() AcquireSRWLockExclusive(&wb_ticker.lock)
#define WB_UNLOCK() ReleaseSRWLockExclusive(&wb_ticker.lock)
#else
static wb_ticker_t wb_ticker = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, {0}};
#define WB_LOCK() pthread_mutex_lock(&wb_ticker.lock)
#define WB_UNLOCK() pthread_mutex_unlock(&wb_ticker.lock)
#endif

/* Sleeps one tick, or until an engine is registered when there are none. */
static void wb_ticker_wait_locked(void) {
#ifdef _WIN32
    SleepConditionVariableSRW(&wb_ticker.wake, &wb_ticker.lock,
                              wb_ticker.count ? WB_TICK_MS : INFINITE, 0);
#else
    if (wb_ticker.count == 0) {
        pthread_cond_wait(&wb_ticker.wake, &wb_ticker.lock);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += WB_TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec += 1;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&wb_ticker.wake, &wb_ticker.lock, &ts);
    }
#endif
}

#ifdef _WIN32
static DWORD WINAPI wb_ticker_main(LPVOID arg)
#else
static void *wb_ticker_main(void *arg)
#endif
{
    (void)arg;
    WB_LOCK();
    for (;;) {
        wb_ticker_wait_locked();
        for (size_t i = 0; i < wb_ticker.count; i++)
            wasmtime_engine_increment_epoch(wb_ticker.engines[i]);
    }
    /* not reached: the thread lives as long as the process */
    WB_UNLOCK();
    return 0;
}

/* Registers an engine with the ticker (starting it on first use). 0 on success. */
static int wb_ticker_add(wasm_engine_t *engine) {
    int rc = 0;
    WB_LOCK();
    if (wb_ticker.count >= WB_MAX_ENGINES) {
        rc = -1;
    } else {
        wb_ticker.engines[wb_ticker.count++] = engine;
        if (!wb_ticker.started) {
#ifdef _WIN32
            HANDLE h = CreateThread(NULL, 64 * 1024, wb_ticker_main, NULL, 0, NULL);
            if (h == NULL) {
                wb_ticker.count--;
                rc = -1;
            } else {
                CloseHandle(h);
                wb_ticker.started = 1;
            }
#else
            pthread_t tid;
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            pthread_attr_setstacksize(&attr, 256 * 1024);
            if (pthread_create(&tid, &attr, wb_ticker_main, NULL) != 0) {
                wb_ticker.count--;
                rc = -1;
            } else {
                wb_ticker.started = 1;
            }
            pthread_attr_destroy(&attr);
#endif
        }
#ifdef _WIN32
        WakeConditionVariable(&wb_ticker.wake);
#else
        pthread_cond_signal(&wb_ticker.wake);
#endif
    }
    WB_UNLOCK();
    return rc;
}

/* Unregisters an engine; after this returns the ticker never touches it again. */
static void wb_ticker_remove(wasm_engine_t *engine) {
    WB_LOCK();
    for (size_t i = 0; i < wb_ticker.count; i++) {
        if (wb_ticker.engines[i] == engine) {
            wb_ticker.engines[i] = wb_ticker.engines[--wb_ticker.count];
            break;
        }
    }
    WB_UNLOCK();
}

static double wb_monotonic(void) {
#ifdef _WIN32
    return (double)GetTickCount64() / 1000.0;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
#endif
}

/* ------------------------------------------------------- output capture */

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

/* ----------------------------------------------------- thread identity */

/* An identifier of the calling thread, unique among live threads, for the
 * store's "which thread is running a call" check on every call: the thread
 * pointer itself where the compiler can read it (what pthread_self() returns on
 * glibc and musl), else Python's thread ident. */
static inline unsigned long wb_thread_id(void) {
#if defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && \
    (defined(__x86_64__) || defined(__aarch64__)) && __GNUC__ >= 11
    return (unsigned long)__builtin_thread_pointer();
#else
    return PyThread_get_thread_ident();
#endif
}

/* ----------------------------------------------------- fast int access */

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

/* Converts an exact int or float argument to a raw value of `kind` (a
 * wasmtime_valkind_t) without touching reference counts: 0 when done, 1 when
 * the caller must take the general path (other types, out of range, errors). */
/* An exact int that fits in a long long: 1 with the value, else 0 (no error set). */
static inline int wb_exact_long(PyObject *v, long long *x) {
    int overflow = 0;
    if (!PyLong_CheckExact(v))
        return 0;
    if (wb_compact_long(v, x))
        return 1;
    *x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || (*x == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

static inline int wb_to_raw_fast(uint8_t kind, PyObject *v, wasmtime_val_raw_t *out) {
    long long x;
    switch (kind) {
    case 0: /* i32: [-2**31, 2**32) */
        if (!wb_exact_long(v, &x) || x < -0x80000000LL || x > 0xFFFFFFFFLL)
            return 1;
        out->i32 = (int32_t)(uint32_t)x;
        return 0;
    case 1: /* i64 */
        if (!wb_exact_long(v, &x))
            return 1;
        out->i64 = x;
        return 0;
    case 2: /* f32 */
        if (!PyFloat_CheckExact(v))
            return 1;
        out->f32 = (float)PyFloat_AS_DOUBLE(v);
        return 0;
    case 3: /* f64 */
        if (!PyFloat_CheckExact(v))
            return 1;
        out->f64 = PyFloat_AS_DOUBLE(v);
        return 0;
    default:
        return 1;
    }
}

/* A raw result of `kind` (numeric or v128) as a new Python object, NULL with
 * an exception set on failure or for a kind that is not a number. */
static PyObject *wb_raw_to_object(uint8_t kind, const wasmtime_val_raw_t *r) {
    switch (kind) {
    case 0:
        return PyLong_FromLong(r->i32);
    case 1:
        return PyLong_FromLongLong(r->i64);
    case 2:
        return PyFloat_FromDouble(r->f32);
    case 3:
        return PyFloat_FromDouble(r->f64);
    case 4: { /* v128: little-endian 128-bit unsigned */
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
    default:
        PyErr_Format(PyExc_TypeError, "cannot read value kind %d as a raw value", (int)kind);
        return NULL;
    }
}

/* The results of a call as a new tuple. */
static PyObject *wb_raw_results_tuple(const uint8_t *kinds, const wasmtime_val_raw_t *raw, Py_ssize_t n) {
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

/* --------------------------------------------- GIL-aware callback entries */

/* The bodies are Cython functions that need the GIL; these entries take it
 * only when the calling thread does not hold it already (stores that release
 * the GIL during calls), so a host call on the default path pays nothing. */
typedef wasmtime_error_t *(*wb_raw_body_t)(void *, wasmtime_caller_t *, wasmtime_val_raw_t *, size_t);
typedef wasm_trap_t *(*wb_val_body_t)(void *, wasmtime_caller_t *, const wasmtime_val_t *, size_t,
                                      wasmtime_val_t *, size_t);
typedef wasmtime_error_t *(*wb_epoch_body_t)(wasmtime_context_t *, void *, uint64_t *,
                                             wasmtime_update_deadline_kind_t *);

/* Per-store state the engine hands back to wasmbind's callbacks (the store's
 * data pointer): readable without the GIL. */
typedef struct {
    PyObject *store;          /* borrowed: the Store object owns this struct */
    double deadline;          /* wb_monotonic() time at which calls stop; 0 for none */
    int interrupted;          /* the last call was stopped by the deadline */
    int release_gil;          /* calls in this store run without the GIL */
    double next_signal_check; /* calls without the GIL: next time to run signal handlers */
    int depth;                /* calls into this store now running (nested through host calls) */
    unsigned long owner;      /* wb_thread_id() of the thread running them */
    int released_depth;       /* depth of the call that let go of the GIL at an epoch tick; 0: none */
    PyThreadState *saved_ts;  /* that call's thread state, taken back when it returns */
} wb_store_state_t;

/* Identity of the main thread, the only one where Python runs signal handlers. */
static unsigned long wb_main_thread;

static wb_raw_body_t wb_raw_body;
static wb_val_body_t wb_val_body;
static wb_epoch_body_t wb_epoch_body;

/* Whether the call running in this store holds the GIL: not in release_gil
 * stores, and not once a long call has let go of it at an epoch tick. */
static inline int wb_state_has_gil(const wb_store_state_t *st) {
    return !st->release_gil && st->released_depth == 0;
}

static inline int wb_caller_has_gil(wasmtime_caller_t *caller) {
    return wb_state_has_gil((wb_store_state_t *)wasmtime_context_get_data(wasmtime_caller_context(caller)));
}

static wasmtime_error_t *wb_host_entry_raw(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *v,
                                           size_t n) {
    if (wb_caller_has_gil(caller))
        return wb_raw_body(env, caller, v, n);
    PyGILState_STATE st = PyGILState_Ensure();
    wasmtime_error_t *r = wb_raw_body(env, caller, v, n);
    PyGILState_Release(st);
    return r;
}

static wasm_trap_t *wb_host_entry_val(void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args,
                                      size_t nargs, wasmtime_val_t *results, size_t nresults) {
    if (wb_caller_has_gil(caller))
        return wb_val_body(env, caller, args, nargs, results, nresults);
    PyGILState_STATE st = PyGILState_Ensure();
    wasm_trap_t *r = wb_val_body(env, caller, args, nargs, results, nresults);
    PyGILState_Release(st);
    return r;
}

#define WB_SIGNAL_CHECK_SECONDS 0.05

/* Runs at every epoch tick while Wasm runs in a store. The deadline is checked
 * here, without the GIL. A call still holding the GIL runs signal handlers
 * (the body), then lets go of the GIL for the rest of the call: short calls
 * never get here, long ones stop holding up other threads (the call path takes
 * the GIL back when the call returns, host calls take it while they run).
 * Calls without the GIL take it only on the main thread, the one where signal
 * handlers run, and at most every WB_SIGNAL_CHECK_SECONDS: elsewhere Wasm
 * never waits for the GIL. */
static wasmtime_error_t *wb_epoch_entry(wasmtime_context_t *ctx, void *data, uint64_t *delta,
                                        wasmtime_update_deadline_kind_t *kind) {
    wb_store_state_t *st = (wb_store_state_t *)data;
    *delta = 1;
    *kind = WB_UPDATE_DEADLINE_CONTINUE;
    if (st->deadline != 0 && wb_monotonic() >= st->deadline) {
        st->interrupted = 1;
        return wasmtime_error_new("wasm execution interrupted: deadline passed");
    }
    if (wb_state_has_gil(st)) {
        wasmtime_error_t *r = wb_epoch_body(ctx, st->store, delta, kind);
        if (r == NULL) {
            st->released_depth = st->depth;
            st->saved_ts = PyEval_SaveThread();
            st->next_signal_check = wb_monotonic() + WB_SIGNAL_CHECK_SECONDS;
        }
        return r;
    }
    if (PyThread_get_thread_ident() != wb_main_thread)
        return NULL;
    double now = wb_monotonic();
    if (now < st->next_signal_check)
        return NULL;
    st->next_signal_check = now + WB_SIGNAL_CHECK_SECONDS;
    PyGILState_STATE g = PyGILState_Ensure();
    wasmtime_error_t *r = wb_epoch_body(ctx, st->store, delta, kind);
    PyGILState_Release(g);
    return r;
}

/* Before a call into the store (the store's context already checked). */
static inline void wb_state_enter(wb_store_state_t *st) {
    if (st->depth == 0)
        st->owner = wb_thread_id();
    st->depth += 1;
}

/* After a call into the store returns (with the GIL or without it): takes the
 * GIL back if this call let go of it at an epoch tick. */
static inline void wb_state_leave(wb_store_state_t *st) {
    if (st->released_depth != 0 && st->released_depth == st->depth) {
        st->released_depth = 0;
        PyEval_RestoreThread(st->saved_ts);
        st->saved_ts = NULL;
    }
    st->depth -= 1;
}

/* Finalizer for host-function environments and externref payloads owned by
 * the engine: drops one reference to a Python object. */
static void wb_decref_finalizer(void *obj) {
    if (!Py_IsInitialized())
        return;
    PyGILState_STATE st = PyGILState_Ensure();
    Py_DECREF((PyObject *)obj);
    PyGILState_Release(st);
}

#endif /* WASMBIND_HELPERS_H */
