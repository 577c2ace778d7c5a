# Declarations of the bulk paths of component values
# (csrc/wasmbind_component_values.h): the argument arena, typed buffers to
# tagged values, tagged numeric values to Python.
from libc.stdint cimport int64_t, uint8_t, uint64_t
from wasmbind.includes.component cimport wasmtime_component_val_t

cdef extern from "wasmbind_component_values.h":
    ctypedef struct wb_arena_t:
        pass
    void wb_arena_init(wb_arena_t *a) noexcept nogil
    void *wb_arena_alloc(wb_arena_t *a, size_t n, int zero) noexcept nogil
    void wb_arena_free(wb_arena_t *a) noexcept nogil
    void wb_cval_release_handles(wasmtime_component_val_t *v) noexcept nogil

    enum:
        WB_SRC_NONE
        WB_SRC_SIGNED
        WB_SRC_UNSIGNED
        WB_SRC_FLOAT
    int wb_src_class(const char *fmt, Py_ssize_t itemsize) noexcept nogil
    Py_ssize_t wb_buffer_check(uint8_t k, int src, const char *buf, Py_ssize_t stride, Py_ssize_t size,
                               Py_ssize_t n, int64_t *bad_s, uint64_t *bad_u) noexcept nogil
    void wb_buffer_fill(uint8_t k, int src, const char *buf, Py_ssize_t stride, Py_ssize_t size,
                        Py_ssize_t n, wasmtime_component_val_t *dst) noexcept nogil

    object wb_numeric_list(uint8_t k, const wasmtime_component_val_t *v, size_t n, int *mismatch)
    object wb_u8_bytes(const wasmtime_component_val_t *v, size_t n, int *mismatch)
