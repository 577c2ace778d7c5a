"""Helpers shared by the tests (fixtures live in conftest.py): how to start
Python subprocesses that import the same wasmbind as this test run (the source
tree after an in-place build, or the installed package when the tests run
against a wheel), and how to check that such a subprocess ended cleanly."""

import os
import subprocess
import sys
import textwrap

import wasmbind

#: The directory that holds the imported ``wasmbind`` package.
PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(wasmbind.__file__)))


def python_env(**extra):
    """``os.environ`` for a child Python that imports this run's wasmbind first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PKG_PARENT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


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
