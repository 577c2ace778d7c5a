/*
 * Ending atomic waits: a guest blocked in memory.atomic.wait32/64 on a shared
 * memory runs no code, so it meets no epoch check, and neither its store's
 * deadline nor Ctrl-C can stop it. This registry lists the pairs (store,
 * shared memory) wasmbind has seen (a SharedMemory passed as an import, a
 * shared memory an instance exports), each with a notifier: a function in a
 * private store that notifies every address of the memory. The ticker thread
 * runs wb_wake_tick after every tick; for a store whose call is running past
 * its deadline, or any running store after a SIGINT, it wakes every waiter of
 * that store's shared memories (spurious wake-ups for the other waiters of
 * the memory: the spec allows a wait to return "ok" only on a notify, and
 * guests that wait in a loop, as they must for any futex, then re-check).
 * The woken guest reaches its loop's epoch check, where the deadline traps
 * and Python's signal handlers run.
 *
 * Included by exactly one translation unit, wasmbind's _core extension.
 */
#ifndef WASMBIND_WAKE_H
#define WASMBIND_WAKE_H

#include <signal.h>
#include "wasmbind_calls.h"
#include "wasmbind_ticker.h"

/* at most one wake-up per entry in this many seconds */
#define WB_WAKE_INTERVAL 0.1

typedef struct {
    wb_store_state_t *st;          /* the store that can reach the memory */
    const void *data;              /* the memory's first byte: its identity */
    wasmtime_sharedmemory_t *mem;  /* a handle of it, owned by the entry's notifier */
    wasmtime_context_t *ctx;       /* the notifier's private store (only the ticker calls it) */
    wasmtime_func_t wake_all;      /* (param i32 byte_len) (result i32 woken) */
    double next;                   /* no wake-up before this time */
} wb_wake_entry_t;

typedef struct {
#ifdef _WIN32
    SRWLOCK lock;
#else
    pthread_mutex_t lock;
#endif
    size_t count, cap;
    wb_wake_entry_t *entries;
} wb_wake_t;

#ifdef _WIN32
static wb_wake_t wb_wake = {SRWLOCK_INIT, 0, 0, NULL};
#define WB_WAKE_LOCK() AcquireSRWLockExclusive(&wb_wake.lock)
#define WB_WAKE_UNLOCK() ReleaseSRWLockExclusive(&wb_wake.lock)
#else
static wb_wake_t wb_wake = {PTHREAD_MUTEX_INITIALIZER, 0, 0, NULL};
#define WB_WAKE_LOCK() pthread_mutex_lock(&wb_wake.lock)
#define WB_WAKE_UNLOCK() pthread_mutex_unlock(&wb_wake.lock)
#endif

/* ---- SIGINT seen while Wasm runs: chained in front of Python's handler */

static volatile sig_atomic_t wb_sigint_seen;
static PyOS_sighandler_t wb_sigint_next;

static void wb_sigint_handler(int sig) {
    wb_sigint_seen = 1;
    if (wb_sigint_next != NULL && wb_sigint_next != SIG_DFL && wb_sigint_next != SIG_IGN)
        wb_sigint_next(sig);
}

/* With the GIL. Puts wb_sigint_handler in front of the SIGINT handler that is
 * Python's (not when SIGINT is ignored or default, nor twice). A later
 * signal.signal(SIGINT, ...) puts Python's own back: Ctrl-C then ends such
 * waits again after the next shared memory is seen. */
static void wb_sigint_chain(void) {
#ifndef _WIN32
    PyOS_sighandler_t cur = PyOS_getsig(SIGINT);
    if (cur == wb_sigint_handler || cur == SIG_DFL || cur == SIG_IGN || cur == NULL)
        return;
    wb_sigint_next = cur;
    PyOS_setsig(SIGINT, wb_sigint_handler);
#endif
}

/* ---- the registry */

/* Whether (st, data) is listed. Lock held. */
static int wb_wake_has_locked(wb_store_state_t *st, const void *data) {
    for (size_t i = 0; i < wb_wake.count; i++)
        if (wb_wake.entries[i].st == st && wb_wake.entries[i].data == data)
            return 1;
    return 0;
}

static int wb_wake_has(wb_store_state_t *st, const void *data) {
    WB_WAKE_LOCK();
    int r = wb_wake_has_locked(st, data);
    WB_WAKE_UNLOCK();
    return r;
}

static void wb_wake_tick(void);

#ifndef _WIN32
/* In the child of a fork: a fresh lock (the ticker may have held it). */
static void wb_wake_after_fork_child(void) {
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    wb_wake.lock = fresh;
}
#endif

/* Lists a pair: 0 done (or already listed), -1 out of memory. With the GIL. */
static int wb_wake_add(wb_store_state_t *st, wasmtime_sharedmemory_t *mem, wasmtime_context_t *ctx,
                       const wasmtime_func_t *wake_all) {
    int rc = 0;
    const void *data = wasmtime_sharedmemory_data(mem);
    WB_WAKE_LOCK();
    if (!wb_wake_has_locked(st, data)) {
        if (wb_wake.count == wb_wake.cap) {
            size_t cap = wb_wake.cap ? wb_wake.cap * 2 : 16;
            wb_wake_entry_t *e = (wb_wake_entry_t *)realloc(wb_wake.entries, cap * sizeof(*e));
            if (e == NULL) {
                rc = -1;
                goto done;
            }
            wb_wake.entries = e;
            wb_wake.cap = cap;
        }
        wb_wake_entry_t *e = &wb_wake.entries[wb_wake.count++];
        e->st = st;
        e->data = data;
        e->mem = mem;
        e->ctx = ctx;
        e->wake_all = *wake_all;
        e->next = 0;
    }
    if (wb_ticker_hook == NULL) {
#ifndef _WIN32
        wb_ticker_child_hook = wb_wake_after_fork_child;
#endif
        wb_ticker_hook = wb_wake_tick;
    }
done:
    WB_WAKE_UNLOCK();
    return rc;
}

/* Unlists every pair of a store (closed or freed): after this returns the
 * ticker never reads st again. The notifiers are the caller's to free. */
static void wb_wake_forget(wb_store_state_t *st) {
    WB_WAKE_LOCK();
    for (size_t i = 0; i < wb_wake.count;) {
        if (wb_wake.entries[i].st == st)
            wb_wake.entries[i] = wb_wake.entries[--wb_wake.count];
        else
            i++;
    }
    WB_WAKE_UNLOCK();
}

/* The ticker's hook, after every tick, without the GIL. */
static void wb_wake_tick(void) {
    int sigint = wb_sigint_seen;
    double now = 0;
    wb_sigint_seen = 0;
    WB_WAKE_LOCK();
    for (size_t i = 0; i < wb_wake.count; i++) {
        wb_wake_entry_t *e = &wb_wake.entries[i];
        /* read without the store's thread: a call starting or ending at this
         * moment only makes the wake-up one tick early or late */
        volatile wb_store_state_t *st = e->st;
        if (st->depth <= 0)
            continue;
        if (!sigint && (st->deadline == 0 || (now = wb_monotonic()) < st->deadline || now < e->next))
            continue;
        if (now == 0)
            now = wb_monotonic();
        e->next = now + WB_WAKE_INTERVAL;
        size_t len = wasmtime_sharedmemory_data_size(e->mem);
        wasmtime_val_t arg, res;
        wasm_trap_t *trap = NULL;
        arg.kind = WB_I32;
        arg.of.i32 = (int32_t)(len > 0xFFFFFFF0u ? 0xFFFFFFF0u : len);
        wasmtime_error_t *err = wasmtime_func_call(e->ctx, &e->wake_all, &arg, 1, &res, 1, &trap);
        if (err != NULL)
            wasmtime_error_delete(err);
        if (trap != NULL)
            wasm_trap_delete(trap);
    }
    WB_WAKE_UNLOCK();
}

#endif /* WASMBIND_WAKE_H */
