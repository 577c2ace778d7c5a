"""Shared fixtures for wasmbind's tests (helpers that are not fixtures live in support.py)."""

import pytest
from component_build import COMPONENTS, compile_cached, componentize, kitchen_host, parse

import wasmbind
from wasmbind.component import Component


@pytest.fixture(scope="session")
def engine():
    """One engine for the whole session (engines are meant to be shared)."""
    return wasmbind.Engine()


@pytest.fixture(scope="session")
def exn_engine():
    """An engine with the exception-handling proposal (tags, WasmException)."""
    return wasmbind.Engine(wasmbind.Config(wasm_exceptions=True))


@pytest.fixture
def store(engine):
    """A fresh store, closed after the test (views must be released by then)."""
    s = wasmbind.Store(engine)
    yield s
    try:
        s.close()
    except BufferError:  # a test kept a view alive on purpose; let GC free it
        pass


@pytest.fixture
def make(store):
    """``make(wat, imports=())`` compiles WAT and instantiates it in ``store``."""

    def _make(wat, imports=()):
        return wasmbind.Instance(store, wasmbind.Module(store.engine, wat), imports)

    return _make


@pytest.fixture(scope="module")
def aengine():
    """An async engine (Config(async_support=True)), one per test module."""
    return wasmbind.Engine(wasmbind.Config(async_support=True))


@pytest.fixture(scope="module")
def afuel():
    """An async engine that also counts fuel, one per test module."""
    return wasmbind.Engine(wasmbind.Config(async_support=True, consume_fuel=True))


@pytest.fixture(scope="module")
def fuel_engine():
    """A sandbox engine that also counts fuel, one per test module."""
    return wasmbind.Engine(wasmbind.Config.sandbox(consume_fuel=True))


@pytest.fixture(scope="module")
def sandbox_engine():
    """An interruptible engine (deadlines, Ctrl-C, GIL hand-off), one per test module."""
    return wasmbind.Engine(wasmbind.Config.sandbox())


@pytest.fixture(scope="module")
def plain_engine():
    """An engine with the default configuration (Config.fast()), one per test module."""
    return wasmbind.Engine()


# ---- components (built by component_build.py) ---------------------------------

@pytest.fixture(scope="session")
def echo_wasm():
    """tests/components/echo.wat (component text: add, string / bytes / list /
    record echoes over a bump allocator, a trap, a spin) as a binary."""
    return parse((COMPONENTS / "echo.wat").read_text())


@pytest.fixture(scope="session")
def echo_component(engine, echo_wasm):
    return Component(engine, echo_wasm)


@pytest.fixture
def echo(engine, echo_component):
    """The echo component's exports, instantiated in a fresh store."""
    store = wasmbind.Store(engine)
    inst = wasmbind.component.Linker(engine).instantiate(store, echo_component)
    yield inst.exports
    store.close()


@pytest.fixture(scope="session")
def kitchen_wasm():
    return componentize(COMPONENTS / "kitchen", "kitchen")


@pytest.fixture(scope="session")
def kitchen_component(engine, kitchen_wasm):
    """The kitchen component compiled once per session (the compile is the
    slow part; later loads deserialize)."""
    return compile_cached(engine, kitchen_wasm)


@pytest.fixture
def kitchen(engine, kitchen_component):
    """(exports of the kitchen's `demo:kitchen/api`, store, log of host `log` calls)."""
    store = wasmbind.Store(engine)
    linker = wasmbind.component.Linker(engine)
    linker.add_wasip2()
    log = []
    kitchen_host(linker, log)
    inst = linker.instantiate(store, kitchen_component)
    yield inst.exports["demo:kitchen/api"], store, log
    store.close()
