# Declarations of Wasmtime's WASI preview-1 configuration API (wasi.h) used by wasmbind.
from wasmbind.includes.wasm cimport wasm_byte_vec_t
from wasmbind.includes.wasmtime cimport (wasmtime_context_t, wasmtime_error_t, wasmtime_linker_t,
                                         wb_finalizer_t)

cdef extern from "wasmbind_capi.h" nogil:
    ctypedef struct wasi_config_t
    ctypedef Py_ssize_t (*wb_wasi_output_t)(void *data, const unsigned char *buf, size_t len)

    # not declared: wasi_config_inherit_argv/_env, which abort the process when the
    # host's arguments or environment are not UTF-8 (WasiConfig copies them itself)
    wasi_config_t *wasi_config_new()
    void wasi_config_delete(wasi_config_t *config)
    bint wasi_config_set_argv(wasi_config_t *config, size_t argc, const char **argv)
    bint wasi_config_set_env(wasi_config_t *config, size_t envc, const char **names, const char **values)
    bint wasi_config_set_stdin_file(wasi_config_t *config, const char *path)
    void wasi_config_set_stdin_bytes(wasi_config_t *config, wasm_byte_vec_t *binary)
    void wasi_config_inherit_stdin(wasi_config_t *config)
    bint wasi_config_set_stdout_file(wasi_config_t *config, const char *path)
    void wasi_config_inherit_stdout(wasi_config_t *config)
    bint wasi_config_set_stderr_file(wasi_config_t *config, const char *path)
    void wasi_config_inherit_stderr(wasi_config_t *config)
    void wasi_config_set_stdout_custom(wasi_config_t *config, wb_wasi_output_t cb, void *data,
                                       wb_finalizer_t finalizer)
    void wasi_config_set_stderr_custom(wasi_config_t *config, wb_wasi_output_t cb, void *data,
                                       wb_finalizer_t finalizer)
    bint wasi_config_preopen_dir(wasi_config_t *config, const char *host_path, const char *guest_path,
                                 bint fs_mutable)

    # Wasmtime's side: a store's WASI context, the linker's WASI functions
    wasmtime_error_t *wasmtime_context_set_wasi(wasmtime_context_t *context, wasi_config_t *wasi)
    wasmtime_error_t *wasmtime_linker_define_wasi(wasmtime_linker_t *linker)
