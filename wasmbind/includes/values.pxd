# Declarations of the value fast paths of the call path (csrc/wasmbind_values.h).
from cpython.object cimport PyObject
from libc.stdint cimport uint8_t, uint32_t
from wasmbind.includes.wasmtime cimport wasmtime_val_raw_t

cdef extern from "wasmbind_values.h":
    double wb_f32_bits_to_double(uint32_t b) noexcept nogil
    uint32_t wb_double_to_f32_bits(double x) noexcept nogil
    int wb_to_raw_fast(uint8_t kind, PyObject *v, wasmtime_val_raw_t *out) noexcept
    Py_ssize_t wb_args_to_raw(const uint8_t *kinds, PyObject **args, Py_ssize_t i, Py_ssize_t n,
                              wasmtime_val_raw_t *raw) noexcept
    object wb_raw_to_object(uint8_t kind, const wasmtime_val_raw_t *r)
    # the same, as a new reference the caller manages (NULL: an exception is set)
    PyObject *wb_raw_to_new "wb_raw_to_object"(uint8_t kind, const wasmtime_val_raw_t *r) noexcept
    object wb_raw_results_tuple(const uint8_t *kinds, const wasmtime_val_raw_t *raw, Py_ssize_t n)
