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
#else
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#define WB_CAPTURE_PIPE 1
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
    /* Pipe mode (WASI preview 2, whose engine passes only the first 8 KiB of
     * one write to a custom stream): the engine writes the pipe as a file, a
     * thread of ours drains it into `data`, and `lock` guards data/len/
     * overflowed/rfd between that thread and Python. rfd is -1 otherwise. */
    int rfd;
#ifdef WB_CAPTURE_PIPE
    pthread_mutex_t lock;
    pthread_cond_t closed;  /* the thread closed rfd */
    int locked_init;
    void *prev, *next;  /* in wb_pipes, while locked_init */
#endif
} wb_capture_t;

#ifdef WB_CAPTURE_PIPE
/* The buffers in pipe mode, for the child of a fork to give new threads. */
static struct {
    pthread_mutex_t lock;
    wb_capture_t *head;
} wb_pipes = {PTHREAD_MUTEX_INITIALIZER, NULL};
#endif

static wb_capture_t *wb_capture_new(size_t limit) {
    wb_capture_t *c = (wb_capture_t *)calloc(1, sizeof(wb_capture_t));
    if (c) {
        c->limit = limit;
        c->refs = 1;
        c->rfd = -1;
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
#ifdef WB_CAPTURE_PIPE
    if (c->rfd >= 0)
        close(c->rfd);
    if (c->locked_init) {
        pthread_mutex_lock(&wb_pipes.lock);
        if (c->prev)
            ((wb_capture_t *)c->prev)->next = c->next;
        else
            wb_pipes.head = (wb_capture_t *)c->next;
        if (c->next)
            ((wb_capture_t *)c->next)->prev = c->prev;
        pthread_mutex_unlock(&wb_pipes.lock);
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->closed);
    }
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

/* Keeps what fits under the limit of `n` more bytes; the rest is dropped and
 * marked. 0, or -ENOMEM (nothing kept). */
static int wb_capture_keep(wb_capture_t *c, const unsigned char *buf, size_t n) {
    if (n > c->limit - c->len) {
        c->overflowed = 1;
        n = c->limit - c->len;
    }
    if (n == 0)
        return 0;
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
    return 0;
}

/* Keeps the first `limit` bytes: a write that crosses the limit stores what
 * fits and reports a short write; the next one fails with EIO in the guest. */
static ptrdiff_t wb_capture_write(void *p, const unsigned char *buf, size_t n) {
    wb_capture_t *c = (wb_capture_t *)p;
    size_t room = c->limit - c->len;
    if (n > room && room == 0) {
        c->overflowed = 1;
        return -EIO;
    }
    if (wb_capture_keep(c, buf, n) != 0)
        return -ENOMEM;
    return (ptrdiff_t)(n > room ? room : n);
}

#ifdef WB_CAPTURE_PIPE

/* Reads what the pipe holds now into the buffer (lock held, rfd >= 0).
 * Returns 1 at end of stream (every write end closed: the engine dropped its
 * WASI context) or on an error; else 0 (nothing more now). Only the thread
 * closes rfd (it may be waiting in poll on it). */
static int wb_capture_drain_locked(wb_capture_t *c) {
    unsigned char buf[16384];
    for (;;) {
        ssize_t n = read(c->rfd, buf, sizeof buf);
        if (n > 0) {
            if (wb_capture_keep(c, buf, (size_t)n) != 0)
                c->overflowed = 1;  /* out of memory: dropped, and said so */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return 1;
    }
}

static void *wb_capture_thread(void *p) {
    wb_capture_t *c = (wb_capture_t *)p;
    struct pollfd pfd;
    int done;
    pfd.fd = c->rfd;  /* set before the thread started, closed only below */
    for (;;) {
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            break;
        pthread_mutex_lock(&c->lock);
        done = wb_capture_drain_locked(c);
        if (done) {
            close(c->rfd);
            c->rfd = -1;
            pthread_cond_broadcast(&c->closed);
        }
        pthread_mutex_unlock(&c->lock);
        if (done)
            break;
    }
    wb_capture_decref(c);
    return NULL;
}

/* Starts the thread that drains c->rfd; 0 or an error number. */
static int wb_capture_spawn(wb_capture_t *c) {
    pthread_t th;
    pthread_attr_t attr;
    sigset_t all, old;
    int err = pthread_attr_init(&attr);
    if (err != 0)
        return err;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024 + 16384);
    /* no signals for the thread: Python's handlers run in the main one */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&th, &attr, wb_capture_thread, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return err;
}

/* Puts `c` (fresh, unshared) in pipe mode: makes the pipe, starts the thread
 * that drains it (it holds a reference of its own) and returns the write end
 * in *wfd, for the engine to open as a file; the caller closes it once the
 * engine has its own. 0, or a negative errno (c unchanged but for rfd). */
static int wb_capture_pipe_start(wb_capture_t *c, int *wfd) {
    int fds[2];
    int err;
    if (pipe(fds) != 0)
        return -errno;
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0
        || fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
        err = -errno;
        close(fds[0]);
        close(fds[1]);
        return err;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        close(fds[0]);
        close(fds[1]);
        return -ENOMEM;
    }
    if (pthread_cond_init(&c->closed, NULL) != 0) {
        pthread_mutex_destroy(&c->lock);
        close(fds[0]);
        close(fds[1]);
        return -ENOMEM;
    }
    c->rfd = fds[0];
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);  /* the thread's */
    err = wb_capture_spawn(c);
    if (err != 0) {
        __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->closed);
        close(fds[0]);
        close(fds[1]);
        c->rfd = -1;
        return -err;
    }
    c->locked_init = 1;
    pthread_mutex_lock(&wb_pipes.lock);
    c->prev = NULL;
    c->next = wb_pipes.head;
    if (wb_pipes.head)
        wb_pipes.head->prev = c;
    wb_pipes.head = c;
    pthread_mutex_unlock(&wb_pipes.lock);
    *wfd = fds[1];
    return 0;
}

/* In the child of a fork, which has none of the draining threads: each pipe
 * still open gets a new pipe of its own in place of the engine's write end
 * (found as the other descriptor of the same pipe; the parent keeps the old
 * one) and a new thread, which takes over the reference of the parent's
 * thread. Without it, a child's guest writing more than the pipe holds
 * would wait for ever, or the parent's thread would take its output. */
static void wb_capture_after_fork_child(void) {
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;
    wb_capture_t *c, *next;
    wb_pipes.lock = fresh;
    for (c = wb_pipes.head; c != NULL; c = next) {
        struct stat rst, st;
        int fds[2];
        DIR *d;
        struct dirent *e;
        next = (wb_capture_t *)c->next;
        c->lock = fresh;
        c->closed = fresh_cond;
        if (c->rfd < 0 || fstat(c->rfd, &rst) != 0)
            continue;
        if (pipe(fds) == 0) {
            fcntl(fds[0], F_SETFD, FD_CLOEXEC);
            fcntl(fds[0], F_SETFL, O_NONBLOCK);
            d = opendir("/proc/self/fd");
            while (d != NULL && (e = readdir(d)) != NULL) {
                int fd = atoi(e->d_name);
                if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == c->rfd || fd == fds[0]
                    || fd == fds[1] || fd == dirfd(d))
                    continue;
                if (fstat(fd, &st) == 0 && st.st_dev == rst.st_dev && st.st_ino == rst.st_ino)
                    dup3(fds[1], fd, O_CLOEXEC);
            }
            if (d != NULL)
                closedir(d);
            close(fds[1]);
            close(c->rfd);
            c->rfd = fds[0];
        }
        if (wb_capture_spawn(c) != 0)
            wb_capture_decref(c);  /* the parent's thread's reference */
    }
}

/* Before Python reads the buffer: takes the lock, and in pipe mode first
 * drains what the pipe holds (a finished call's writes are all in it: the
 * engine writes a file synchronously, so nothing is left in flight). */
static void wb_capture_lock(wb_capture_t *c) {
    if (!c->locked_init)
        return;
    pthread_mutex_lock(&c->lock);
    if (c->rfd >= 0)
        wb_capture_drain_locked(c);
}

static void wb_capture_unlock(wb_capture_t *c) {
    if (c->locked_init)
        pthread_mutex_unlock(&c->lock);
}

/* Once the engine has dropped the WASI context that wrote the pipe: reads
 * what is left and, the pipe being then at its end, waits (briefly: the end
 * wakes the thread at once) for the thread to close it, so the store's
 * descriptors are gone when the store is. A write end held elsewhere (a
 * process forked behind Python's back) means no end yet: no wait. */
static void wb_capture_settle(wb_capture_t *c) {
    if (c != NULL && c->locked_init) {
        pthread_mutex_lock(&c->lock);
        if (c->rfd >= 0 && wb_capture_drain_locked(c)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 2;
            while (c->rfd >= 0)
                if (pthread_cond_timedwait(&c->closed, &c->lock, &until) == ETIMEDOUT)
                    break;
        }
        pthread_mutex_unlock(&c->lock);
    }
}

/* Drops the store's reference after wb_capture_settle. */
static void wb_capture_release(wb_capture_t *c) {
    wb_capture_settle(c);
    wb_capture_decref(c);
}

#else  /* no pipe mode: the custom stream only */

static int wb_capture_pipe_start(wb_capture_t *c, int *wfd) {
    (void)c;
    (void)wfd;
    return -ENOSYS;
}
static void wb_capture_lock(wb_capture_t *c) { (void)c; }
static void wb_capture_unlock(wb_capture_t *c) { (void)c; }
static void wb_capture_after_fork_child(void) {}
static void wb_capture_settle(wb_capture_t *c) { (void)c; }
static void wb_capture_release(wb_capture_t *c) { wb_capture_decref(c); }

#endif

#endif /* WASMBIND_CAPTURE_H */
