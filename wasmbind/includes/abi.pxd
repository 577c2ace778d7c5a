# Declarations of build facts (csrc/wasmbind_abi.h): the engine version built
# in, and the struct-layout probe checked by tests/test_abi_layout.py.

cdef extern from "wasmbind_abi.h":
    const char *WASMBIND_WASMTIME_VERSION
    object wb_abi_layout()
