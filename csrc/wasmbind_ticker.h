/*
 * The epoch ticker: one native thread that increments the epoch of every
 * registered engine at a fixed interval, so deadlines, Ctrl-C and the GIL
 * hand-off of long calls work while Wasm runs (see wasmbind_calls.h for what
 * happens at each tick). Also the monotonic clock deadlines are measured on.
 *
 * Included by exactly one translation unit, wasmbind's _core extension.
 */
#ifndef WASMBIND_TICKER_H
#define WASMBIND_TICKER_H

#include "wasmbind_capi.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#include <time.h>
#endif

#define WB_TICK_MS 5
#define WB_MAX_ENGINES 4096
#define WB_TICKER_FULL (-1)
#define WB_TICKER_NO_THREAD (-2)

/* Run by the ticker thread after every tick, without its lock (set once, by
 * wasmbind_wake.h), and in the child of a fork before the thread restarts. */
static void (*volatile wb_ticker_hook)(void);
static void (*wb_ticker_child_hook)(void);

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
        if (wb_ticker_hook != NULL) {
            WB_UNLOCK();
            wb_ticker_hook();
            WB_LOCK();
        }
    }
    /* not reached: the thread lives as long as the process */
    WB_UNLOCK();
    return 0;
}

/* Starts the ticker thread (wb_ticker.lock held). 0 on success. */
static int wb_ticker_start_locked(void) {
#ifdef _WIN32
    HANDLE h = CreateThread(NULL, 64 * 1024, wb_ticker_main, NULL, 0, NULL);
    if (h == NULL)
        return -1;
    CloseHandle(h);
#else
    pthread_t tid;
    pthread_attr_t attr;
    int rc;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    rc = pthread_create(&tid, &attr, wb_ticker_main, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -1;
#endif
    wb_ticker.started = 1;
    return 0;
}

/* Registers an engine with the ticker (starting it on first use). 0 on success,
 * WB_TICKER_FULL with WB_MAX_ENGINES registered, WB_TICKER_NO_THREAD when the
 * thread could not be started. */
static int wb_ticker_add(wasm_engine_t *engine) {
    int rc = 0;
    WB_LOCK();
    if (wb_ticker.count >= WB_MAX_ENGINES) {
        rc = WB_TICKER_FULL;
    } else {
        wb_ticker.engines[wb_ticker.count++] = engine;
        if (!wb_ticker.started && wb_ticker_start_locked() != 0) {
            wb_ticker.count--;
            rc = WB_TICKER_NO_THREAD;
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

#ifndef _WIN32
/* A lock and condition variable as new, in the child of a fork: the copies
 * may be held by, or count as waiting, threads the child does not have. */
static void wb_sync_reset(pthread_mutex_t *lock, pthread_cond_t *cond) {
    pthread_mutex_t fresh_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;
    *lock = fresh_lock;
    *cond = fresh_cond;
}

/* In the child of a fork, which has no ticker thread: the thread starts
 * again for the engines the child inherited (or with the next one). */
static void wb_ticker_after_fork_child(void) {
    wb_sync_reset(&wb_ticker.lock, &wb_ticker.wake);
    wb_ticker.started = 0;
    if (wb_ticker_child_hook != NULL)
        wb_ticker_child_hook();
    WB_LOCK();
    if (wb_ticker.count > 0)
        wb_ticker_start_locked();
    WB_UNLOCK();
}
#endif

static double wb_monotonic(void) {
#ifdef _WIN32
    return (double)GetTickCount64() / 1000.0;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
#endif
}

#endif /* WASMBIND_TICKER_H */
