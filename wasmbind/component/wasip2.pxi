# WASI preview 2 for components: the sandbox a store gets when a component
# linked with WASI p2 is instantiated in a store without a WasiConfig (the
# engine would otherwise abort at the first WASI call), and finding a
# command's wasi:cli/run export.

cdef int _default_wasip2(Store store) except -1:
    """An empty sandbox: no arguments, environment, preopens; stdin empty,
    stdout and stderr discarded; no network."""
    store.set_wasi(WasiConfig())
    return 0


cdef int _pipe_capture_wasip2(Store store) except -1:
    """Applies the store's capturing WasiConfig again with pipe capture, the
    one that keeps every byte of a preview-2 write (the engine's custom stream
    keeps only the first 8 KiB of each); done once, before the store's first
    component instance, so the program starts from the config as it was set."""
    store._apply_wasi(store._wasi_redo, True)
    return 0


def _wasi_run_export(instance):
    """The ``run`` function of a component's ``wasi:cli/run`` export, or None."""
    exports = instance.exports
    for name in exports:
        if name.startswith("wasi:cli/run@0.2") or name == "wasi:cli/run":
            iface = exports[name]
            if "run" in iface:
                return iface["run"]
    return None
