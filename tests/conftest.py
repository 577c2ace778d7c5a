"""Shared fixtures and helpers for wasmbind's tests."""

import faulthandler
import subprocess
import sys
import textwrap

import pytest

import wasmbind
from support import PKG_PARENT, python_env



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


def run_py(code, timeout=60, env=None):
    """Runs ``code`` in a fresh interpreter with wasmbind importable.

    Returns the CompletedProcess; use it for anything that could crash or
    abort the process (a crash must fail the test, not the test run).
    """
    full_env = python_env(**(env or {}))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=PKG_PARENT,
    )


def assert_clean(proc, expect_stdout=None):
    """The subprocess exited with status 0 (not killed by a signal or abort)."""
    detail = "exit %s\nstdout:\n%s\nstderr:\n%s" % (proc.returncode, proc.stdout, proc.stderr[-3000:])
    assert proc.returncode == 0, detail
    if expect_stdout is not None:
        assert proc.stdout.strip() == expect_stdout, detail


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
