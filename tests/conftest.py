"""Shared fixtures for wasmbind's tests (helpers that are not fixtures live in support.py)."""

import faulthandler

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


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "hang_guard(seconds): kill the test process with a traceback if a test runs longer")


@pytest.fixture(autouse=True)
def _hang_guard(request):
    """With ``pytestmark = pytest.mark.hang_guard(N)``, a test still running after N
    seconds kills the test process with a traceback instead of hanging CI."""
    marker = request.node.get_closest_marker("hang_guard")
    if marker is None:
        yield
        return
    faulthandler.dump_traceback_later(marker.args[0], exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()
