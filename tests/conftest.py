"""Shared fixtures for wasmbind's tests (helpers that are not fixtures live in support.py)."""

import pytest

import wasmbind


@pytest.fixture(scope="session")
def engine():
    """One engine for the whole session (engines are meant to be shared)."""
    return wasmbind.Engine()


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

