/*
 * Calls into a store and back out of it: the store's state as the engine's
 * callbacks see it, entering and leaving a call, the identity of the thread
 * that owns a running call, the GIL-aware entries of host functions and of
 * the epoch callback, and the finalizer of engine-owned Python references.
 *
 * Included by exactly one translation unit, wasmbind's _core extension.
 */
#ifndef WASMBIND_CALLS_H
#define WASMBIND_CALLS_H

#include <Python.h>
#include <stdlib.h>

#include "wasmbind_capi.h"
#include "wasmbind_ticker.h"
#include "wasmbind_values.h"

#include <stdint.h>
#if !defined(_WIN32)
#include <pthread.h>
#endif

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


/* ------------------------------------------------ native stack headroom */

/* Wasm runs on the calling thread's stack and may use max_wasm_stack bytes
 * of it below the point where it enters: a thread with less room than that
 * (plus a margin for host functions and the engine's own frames) would crash
 * on deep recursion instead of trapping, so calls there are refused. */
#define WB_STACK_MARGIN (128 * 1024)

#if defined(_MSC_VER)
#define WB_THREAD_LOCAL __declspec(thread)
#else
#define WB_THREAD_LOCAL __thread
#endif

/* The lowest address of this thread's stack, looked up once per thread: 0
 * for not yet, 1 where it is unknown (then every call may run). */
static WB_THREAD_LOCAL uintptr_t wb_stack_low;

static uintptr_t wb_stack_low_lookup(void) {
#if defined(_WIN32)
    ULONG_PTR low = 0, high = 0;
    GetCurrentThreadStackLimits(&low, &high);
    return low ? (uintptr_t)low : 1;
#elif defined(__APPLE__)
    pthread_t self = pthread_self();
    return (uintptr_t)pthread_get_stackaddr_np(self) - (uintptr_t)pthread_get_stacksize_np(self);
#elif defined(__linux__)
    pthread_attr_t attr;
    void *addr = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return 1;
    if (pthread_attr_getstack(&attr, &addr, &size) != 0 || addr == NULL)
        addr = (void *)1;
    pthread_attr_destroy(&attr);
    return (uintptr_t)addr;
#else
    return 1;
#endif
}

/* Bytes of stack left below the caller (huge when the caller runs on a
 * stack other than the thread's own, which it cannot know about). */
static inline size_t wb_stack_left(void) {
    char here;
    uintptr_t low = wb_stack_low;
    if (low == 0)
        low = wb_stack_low = wb_stack_low_lookup();
    return (size_t)((uintptr_t)&here - low);
}

/* The thread-local above costs a call into the C library per read in a
 * shared library (__tls_get_addr), on every call into Wasm. So each store
 * also keeps the lowest stack address of the last thread that entered it,
 * with that thread's wb_thread_id(): a plain compare then finds it again.
 * A thread identifier can come back for a new thread (with another stack)
 * once its thread is gone; every such reuse is preceded by a bump of
 * wb_stack_epoch, which the store's copy must match: a thread that looked
 * up its stack bumps it when it exits (a pthread key's destructor), and a
 * fork's child bumps it (the parent's other threads are gone there). Where
 * that cannot be arranged (no pthreads, no key), stores keep no copy. */
#if !defined(_WIN32)
static unsigned long wb_stack_epoch = 1;  /* 0 in a store: no copy */
static pthread_key_t wb_stack_key;
static int wb_stack_key_ok;                   /* the key exists */
static WB_THREAD_LOCAL int wb_stack_armed;    /* this thread's exit bumps the epoch */
static pthread_once_t wb_stack_once = PTHREAD_ONCE_INIT;

static void wb_stack_epoch_bump(void) {
    __atomic_add_fetch(&wb_stack_epoch, 1, __ATOMIC_SEQ_CST);
}

static void wb_stack_thread_exit(void *unused) {
    (void)unused;
    wb_stack_armed = 0; /* anything this thread still runs keeps no copy */
    wb_stack_epoch_bump();
}

static void wb_stack_key_create(void) {
    if (pthread_key_create(&wb_stack_key, wb_stack_thread_exit) == 0 &&
        pthread_atfork(NULL, NULL, wb_stack_epoch_bump) == 0)
        wb_stack_key_ok = 1;
}

/* The epoch the calling thread may file its copy under, 0 for none. */
static unsigned long wb_stack_epoch_for_copy(void) {
    unsigned long epoch = __atomic_load_n(&wb_stack_epoch, __ATOMIC_ACQUIRE);
    if (!wb_stack_armed) {
        pthread_once(&wb_stack_once, wb_stack_key_create);
        if (!wb_stack_key_ok || pthread_setspecific(wb_stack_key, (void *)1) != 0)
            return 0;
        wb_stack_armed = 1;
    }
    return epoch;
}

static inline unsigned long wb_stack_epoch_now(void) {
    return __atomic_load_n(&wb_stack_epoch, __ATOMIC_ACQUIRE);
}
#else
static unsigned long wb_stack_epoch_for_copy(void) { return 0; }
static inline unsigned long wb_stack_epoch_now(void) { return 1; }
#endif


/* --------------------------------------------- GIL-aware callback entries */

/* The bodies are Cython functions that need the GIL; these entries take it
 * only when the calling thread does not hold it already (stores that release
 * the GIL during calls), so a host call on the default path pays nothing. */
typedef struct wb_store_state wb_store_state_t;
typedef wasmtime_error_t *(*wb_raw_body_t)(void *, wb_store_state_t *, wasmtime_caller_t *,
                                           wasmtime_val_raw_t *, size_t);
typedef wasm_trap_t *(*wb_val_body_t)(void *, wasmtime_caller_t *, const wasmtime_val_t *, size_t,
                                      wasmtime_val_t *, size_t);
typedef wasmtime_error_t *(*wb_epoch_body_t)(wasmtime_context_t *, void *, uint64_t *,
                                             wasmtime_update_deadline_kind_t *);

/* Per-store state the engine hands back to wasmbind's callbacks (the store's
 * data pointer): readable without the GIL. */
struct wb_store_state {
    PyObject *store;          /* borrowed: the Store object owns this struct */
    double deadline;          /* wb_monotonic() time at which calls stop; 0 for none */
    int interrupted;          /* the last call was stopped by the deadline */
    int release_gil;          /* calls in this store run without the GIL */
    double next_signal_check; /* calls without the GIL: next time to run signal handlers */
    int depth;                /* calls into this store now running (nested through host calls) */
    unsigned long owner;      /* wb_thread_id() of the thread running them */
    int released_depth;       /* depth of the call that let go of the GIL at an epoch tick; 0: none */
    PyThreadState *saved_ts;  /* that call's thread state, taken back when it returns */
    size_t stack_need;        /* native stack a call needs: max_wasm_stack + WB_STACK_MARGIN */
    int async_yield;          /* an async store (aio/): Wasm yields to its poller at every tick */
    unsigned long stack_thread; /* wb_thread_id() of the last thread that entered, and */
    uintptr_t stack_low;        /* its stack's lowest address, valid while */
    unsigned long stack_epoch;  /* this is wb_stack_epoch (0: no copy) */
};

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

static inline wb_store_state_t *wb_caller_state(wasmtime_caller_t *caller) {
    return (wb_store_state_t *)wasmtime_context_get_data(wasmtime_caller_context(caller));
}

/* A host function called without the GIL takes it for its run. Calls into
 * the store it makes then start holding the GIL, like any call, and may let
 * go of it at their own epoch ticks: the calling call's "let go at a tick"
 * state is set aside meanwhile, and back when the host function returns. */
typedef struct {
    PyGILState_STATE gil;
    int released_depth;
    PyThreadState *saved_ts;
} wb_host_gil_t;

static inline void wb_host_take_gil(wb_store_state_t *st, wb_host_gil_t *h) {
    h->gil = PyGILState_Ensure();
    h->released_depth = st->released_depth;
    h->saved_ts = st->saved_ts;
    st->released_depth = 0;
    st->saved_ts = NULL;
}

static inline void wb_host_drop_gil(wb_store_state_t *st, wb_host_gil_t *h) {
    st->released_depth = h->released_depth;
    st->saved_ts = h->saved_ts;
    PyGILState_Release(h->gil);
}

/* The body gets the store's state too: looked up once per host call. */
static wasmtime_error_t *wb_host_entry_raw(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *v,
                                           size_t n) {
    wb_store_state_t *st = wb_caller_state(caller);
    wb_host_gil_t h;
    if (wb_state_has_gil(st))
        return wb_raw_body(env, st, caller, v, n);
    wb_host_take_gil(st, &h);
    wasmtime_error_t *r = wb_raw_body(env, st, caller, v, n);
    wb_host_drop_gil(st, &h);
    return r;
}

static wasm_trap_t *wb_host_entry_val(void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args,
                                      size_t nargs, wasmtime_val_t *results, size_t nresults) {
    wb_store_state_t *st = wb_caller_state(caller);
    wb_host_gil_t h;
    if (wb_state_has_gil(st))
        return wb_val_body(env, caller, args, nargs, results, nresults);
    wb_host_take_gil(st, &h);
    wasm_trap_t *r = wb_val_body(env, caller, args, nargs, results, nresults);
    wb_host_drop_gil(st, &h);
    return r;
}

#define WB_SIGNAL_CHECK_SECONDS 0.05

/* Runs at every epoch tick while Wasm runs in a store. The deadline is checked
 * here, without the GIL. A call still holding the GIL runs signal handlers
 * (the body), then lets go of the GIL for the rest of the call: short calls
 * never get here, long ones stop holding up other threads (the call path takes
 * the GIL back when the call returns, host calls take it while they run).
 * A call of an async store yields to its poller instead (wasmbind/aio/).
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
    if (st->async_yield) {
        /* polled with the GIL on the event loop's thread: run signal handlers,
         * then hand control back to the poller instead of letting go of the GIL */
        wasmtime_error_t *r = wb_epoch_body(ctx, st->store, delta, kind);
        if (r == NULL)
            *kind = WB_UPDATE_DEADLINE_YIELD;
        return r;
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

/* wb_state_enter for a thread the store has no copy of the stack for: looks
 * it up and keeps the copy (a function call, the slow path). */
static int wb_state_enter_new_thread(wb_store_state_t *st, unsigned long me) {
    unsigned long epoch = wb_stack_epoch_for_copy();
    size_t left = wb_stack_left();
    st->stack_thread = me;
    st->stack_low = wb_stack_low;
    st->stack_epoch = epoch;
    return left < st->stack_need ? -1 : 0;
}

/* Before a call into the store (the store's context already checked): 0, or
 * -1 (no call entered) when the thread's stack has too little room left. Only
 * the outermost call into a store is checked: the engine keeps the stack
 * limit it set then for calls nested in it. */
static inline int wb_state_enter(wb_store_state_t *st) {
    if (st->depth == 0) {
        char here;
        unsigned long me = wb_thread_id();
        if (me != st->stack_thread || st->stack_epoch != wb_stack_epoch_now()) {
            if (wb_state_enter_new_thread(st, me))
                return -1;
        } else if ((size_t)((uintptr_t)&here - st->stack_low) < st->stack_need) {
            return -1;
        }
        st->owner = me;
    }
    st->depth += 1;
    return 0;
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

/* ------------------------------------------------------ the fast call */

/* How wb_call_fast ended when it returns no result. */
enum {
    WB_FAST_ARG = 1,    /* argument `stop` needs the general conversion: nothing entered */
    WB_FAST_STACK = 2,  /* too little stack left: the call was refused, nothing entered */
    WB_FAST_FAILED = 3, /* the call ended in `err` or `trap` (the store left again) */
    WB_FAST_ERROR = 4   /* a result could not be made: a Python exception is set */
};

typedef struct {
    Py_ssize_t stop;
    wasmtime_error_t *err;
    wasm_trap_t *trap;
    int status;
} wb_fast_out_t;

/* The whole call of a function without reference types, in one C function:
 * converts args[i..nargs) by wb_args_to_raw into raw (raw[0..i) already
 * done), enters the store, calls (without the GIL in release_gil stores),
 * leaves, and converts the results: None, the value, or a tuple (a new
 * reference). NULL otherwise, with out->status saying why. `kinds` are the
 * params' kinds followed by the results'; raw holds n >= max(nargs,
 * nresults) values. With the GIL, the store's context checked. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline PyObject *wb_call_fast(wb_store_state_t *st, wasmtime_context_t *ctx,
                                     const wasmtime_func_t *func, const uint8_t *kinds,
                                     PyObject *const *args, Py_ssize_t i, Py_ssize_t nargs,
                                     Py_ssize_t nresults, wasmtime_val_raw_t *raw, size_t n,
                                     wb_fast_out_t *out) {
    wasmtime_error_t *err;
    wasm_trap_t *trap = NULL;
    PyObject *r;
    i = wb_args_to_raw(kinds, args, i, nargs, raw);
    if (i < nargs) {
        out->stop = i;
        out->status = WB_FAST_ARG;
        return NULL;
    }
    if (wb_state_enter(st)) {
        out->status = WB_FAST_STACK;
        return NULL;
    }
    if (st->release_gil) {
        PyThreadState *ts = PyEval_SaveThread();
        err = wasmtime_func_call_unchecked(ctx, func, raw, n, &trap);
        PyEval_RestoreThread(ts);
    } else {
        err = wasmtime_func_call_unchecked(ctx, func, raw, n, &trap);
    }
    wb_state_leave(st);
    if (err != NULL || trap != NULL) {
        out->err = err;
        out->trap = trap;
        out->status = WB_FAST_FAILED;
        return NULL;
    }
    if (nresults == 1)
        r = wb_raw_to_object(kinds[nargs], raw);
    else if (nresults == 0) {
        Py_INCREF(Py_None);
        r = Py_None;
    }
    else
        r = wb_raw_results_tuple(kinds + nargs, raw, nresults);
    if (r == NULL)
        out->status = WB_FAST_ERROR;
    return r;
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

/* ------------------------------------------------- externref payloads */

/* The host data of an externref wasmbind made: the store it was made in, and
 * the key (an int, made once) under which the payload is filed in that
 * Store's `_refs` dict. The payload itself is not here but there, where
 * Python's GC sees it (a payload that holds its own store is then an
 * ordinary collectable cycle); an int key holds nothing the GC must see.
 * The entry lives until the engine's finalizer; the Store object, and so
 * `state`, outlives every finalizer: the engine runs them only inside calls
 * into the store, its GC, and store deletion. */
typedef struct {
    wb_store_state_t *state;
    PyObject *key;
} wb_extref_t;

/* The Cython body, set at module init: moves the payload filed under `key`
 * from the store's `_refs` to its `_dead` list (released later, outside the
 * engine). With the GIL; never runs Python code. */
typedef void (*wb_extref_release_t)(PyObject *store, PyObject *key);
static wb_extref_release_t wb_extref_release;

/* With the GIL. NULL (with MemoryError set) when out of memory. */
static wb_extref_t *wb_extref_new(wb_store_state_t *state) {
    wb_extref_t *e = (wb_extref_t *)malloc(sizeof(wb_extref_t));
    if (e == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    e->state = state;
    e->key = PyLong_FromVoidPtr(e);
    if (e->key == NULL) {
        free(e);
        return NULL;
    }
    return e;
}

/* With the GIL: an entry the engine never took. */
static void wb_extref_free(wb_extref_t *e) {
    Py_DECREF(e->key);
    free(e);
}

/* The engine dropped the externref. While the store is torn down (the Store
 * has cleared state->store first, in close() or its dealloc, both with the
 * GIL) this only frees the entry and its int key: no Python code runs, and
 * the Store releases the payloads itself after the engine is done. After
 * the interpreter's end the key is left alone. */
static void wb_extref_finalizer(void *p) {
    wb_extref_t *e = (wb_extref_t *)p;
    PyObject *store = e->state->store;
    if (Py_IsInitialized()) {
        if (store != NULL) {
            PyGILState_STATE g = PyGILState_Ensure();
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);
            wb_extref_release(store, e->key);
            PyErr_Restore(type, value, tb);
            Py_DECREF(e->key);
            PyGILState_Release(g);
        } else if (PyGILState_Check()) {
            Py_DECREF(e->key);
        }
    }
    free(e);
}

#endif /* WASMBIND_CALLS_H */
