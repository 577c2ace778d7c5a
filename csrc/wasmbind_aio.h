/*
 * The C side of wasmbind's asyncio support (wasmbind/aio/): the am_send slot
 * of the call future types, through which `await` and asyncio's tasks step
 * an awaitable without a StopIteration per finished call (Python 3.10+;
 * older versions use its __next__ and send methods).
 *
 * Included by exactly one translation unit, wasmbind's _core extension.
 */
#ifndef WASMBIND_AIO_H
#define WASMBIND_AIO_H

#include <Python.h>

/* The shape of am_send: returns 0 (PYGEN_RETURN), 1 (PYGEN_NEXT) or -1 (PYGEN_ERROR). */
typedef int (*wb_am_send_t)(PyObject *iter, PyObject *arg, PyObject **result);

/* Gives a ready type (one that has async slots: it defines __await__) an
 * am_send slot. 0 on success, -1 when the type has no async slots. */
static int wb_set_am_send(PyObject *type, wb_am_send_t send) {
#if PY_VERSION_HEX >= 0x030A0000
    PyTypeObject *t = (PyTypeObject *)type;
    if (t->tp_as_async == NULL)
        return -1;
    t->tp_as_async->am_send = (sendfunc)send;
#ifdef Py_TPFLAGS_HAVE_AM_SEND
    t->tp_flags |= Py_TPFLAGS_HAVE_AM_SEND;
#endif
    PyType_Modified(t);
#else
    (void)type;
    (void)send;
#endif
    return 0;
}

#endif /* WASMBIND_AIO_H */
