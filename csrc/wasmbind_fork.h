/*
 * Process forks (os.fork, multiprocessing's "fork" start method): the engine
 * work a fork waits for, and what the child starts again.
 *
 * A fork copies one thread. Engine work running in another thread without the
 * GIL at that moment (a compile: it takes the engine's locks) would leave
 * those locks held forever in the child, so the parent's fork waits for it:
 * wb_unlocked_begin() (GIL held) and wb_unlocked_end() (GIL released) bracket
 * such work, and wb_fork_prepare() (GIL held, from os.register_at_fork's
 * "before") waits until none runs. New work cannot start meanwhile: starting
 * needs the GIL, which the forking thread keeps until the fork is done.
 *
 * Included by exactly one translation unit, wasmbind's _core extension.
 */
#ifndef WASMBIND_FORK_H
#define WASMBIND_FORK_H

#include "wasmbind_capture.h"
#include "wasmbind_ticker.h"

#ifdef _WIN32
/* no fork on Windows: nothing to wait for */
static inline void wb_unlocked_begin(void) {}
static inline void wb_unlocked_end(void) {}
static inline void wb_fork_prepare(void) {}
static inline void wb_fork_child(void) {}
#else
#include <pthread.h>

static struct {
    pthread_mutex_t lock;
    pthread_cond_t idle;
    long running; /* engine calls running without the GIL */
} wb_unlocked = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static inline void wb_unlocked_begin(void) {
    pthread_mutex_lock(&wb_unlocked.lock);
    wb_unlocked.running++;
    pthread_mutex_unlock(&wb_unlocked.lock);
}

static inline void wb_unlocked_end(void) {
    pthread_mutex_lock(&wb_unlocked.lock);
    if (--wb_unlocked.running == 0)
        pthread_cond_broadcast(&wb_unlocked.idle);
    pthread_mutex_unlock(&wb_unlocked.lock);
}

static void wb_fork_prepare(void) {
    pthread_mutex_lock(&wb_unlocked.lock);
    while (wb_unlocked.running > 0)
        pthread_cond_wait(&wb_unlocked.idle, &wb_unlocked.lock);
    pthread_mutex_unlock(&wb_unlocked.lock);
}

/* In the child: fresh synchronisation objects (no other thread exists to
 * hold them) and the epoch ticker running again. */
static void wb_fork_child(void) {
    wb_sync_reset(&wb_unlocked.lock, &wb_unlocked.idle);
    wb_unlocked.running = 0;
    wb_ticker_after_fork_child();
    wb_capture_after_fork_child();
}
#endif

#endif /* WASMBIND_FORK_H */
