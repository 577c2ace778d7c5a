# Declarations of the WASI output capture buffers (csrc/wasmbind_capture.h).

cdef extern from "wasmbind_capture.h" nogil:
    ctypedef struct wb_capture_t:
        unsigned char *data
        size_t len
        size_t limit
        int refs
        int overflowed
    wb_capture_t *wb_capture_new(size_t limit)
    void wb_capture_decref(wb_capture_t *c)
    void wb_capture_finalize(void *p)
    Py_ssize_t wb_capture_write(void *p, const unsigned char *buf, size_t n)
    int wb_capture_pipe_start(wb_capture_t *c, int *wfd)
    void wb_capture_lock(wb_capture_t *c)
    void wb_capture_unlock(wb_capture_t *c)
    void wb_capture_settle(wb_capture_t *c)
    void wb_capture_release(wb_capture_t *c)
