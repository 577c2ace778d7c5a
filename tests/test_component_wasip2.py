"""WASI preview 2 for components: the same WasiConfig as preview 1 (captured
output, environment), an empty sandbox for stores without one (never the
engine's abort), and WASI p2 running inside the kitchen component (CPython
compiled to WebAssembly by componentize-py)."""

from pathlib import Path

import pytest
from component_build import kitchen_host

import wasmbind
from wasmbind import Store, WasiConfig
from wasmbind.component import Linker

from support import assert_clean, run_py


def _api(engine, component, store):
    linker = Linker(engine)
    linker.add_wasip2()
    assert linker.wasip2 and "wasip2" in repr(linker)
    kitchen_host(linker)
    return linker.instantiate(store, component).exports["demo:kitchen/api"]


def test_stdout_captured_and_env(engine, kitchen_component):
    store = Store(engine)
    store.set_wasi(WasiConfig(capture_stdout=True, env={"GREETING": "hi"}))
    api = _api(engine, kitchen_component, store)
    api.print_hello("world")
    assert api.env_var("GREETING") == "hi"
    assert api.env_var("NOPE") is None
    assert b"hello, world" in store.wasi_stdout


def test_store_without_wasi_config_gets_a_sandbox(engine, kitchen_component):
    store = Store(engine)
    api = _api(engine, kitchen_component, store)
    api.print_hello("nobody")            # output discarded, no crash
    assert api.env_var("HOME") is None    # no host environment
    assert store.wasi_stdout is None


def test_no_wasi_config_never_aborts_in_a_child(kitchen_wasm):
    proc = run_py("""
        import sys
        sys.path.insert(0, %r)
        import wasmbind
        from wasmbind.component import Component, Linker
        from component_build import kitchen_host
        e = wasmbind.Engine()
        c = Component.from_file(e, %r)
        l = Linker(e)
        l.add_wasip2()
        kitchen_host(l)
        api = l.instantiate(wasmbind.Store(e), c).exports["demo:kitchen/api"]
        api.print_hello("x")
        print("ok")
    """ % (str(Path(__file__).parent), str(kitchen_wasm)), timeout=240)
    assert_clean(proc, "ok")


def test_guest_exception_is_a_trap(engine, kitchen_component):
    store = Store(engine)
    store.set_wasi(WasiConfig(capture_stderr=True))
    api = _api(engine, kitchen_component, store)
    with pytest.raises(wasmbind.Trap):
        api.trap()
    assert b"the guest gave up" in store.wasi_stderr
