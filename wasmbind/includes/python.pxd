# Declarations from Python.h that Cython's own cpython/*.pxd do not provide.
from cpython.object cimport PyObject

cdef extern from "Python.h":
    ctypedef PyObject *(*vectorcallfunc)(PyObject *callable, PyObject **args, size_t nargsf,
                                         PyObject *kwnames)
    object PyObject_Vectorcall(object callable, PyObject **args, size_t nargsf, PyObject *kwnames)
    # the same, returning the new reference (NULL: an exception is set) for code
    # that manages references itself
    PyObject *wb_vectorcall "PyObject_Vectorcall"(PyObject *callable, PyObject **args, size_t nargsf,
                                                  PyObject *kwnames) noexcept
    Py_ssize_t PyVectorcall_NARGS(size_t nargsf)
    int PyIndex_Check(object o)
    object PyNumber_Index(object o)

    # the two type-object fields that give Func instances a vectorcall slot
    ctypedef struct PyTypeObject_vectorcall "PyTypeObject":
        Py_ssize_t tp_vectorcall_offset
        unsigned long tp_flags
    unsigned long Py_TPFLAGS_HAVE_VECTORCALL
