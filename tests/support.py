"""Shared by the tests: how to start Python subprocesses that import the same
wasmbind as this test run (the source tree after an in-place build, or the
installed package when the tests run against a wheel)."""

import os

import wasmbind

#: The directory that holds the imported ``wasmbind`` package.
PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(wasmbind.__file__)))


def python_env(**extra):
    """``os.environ`` for a child Python that imports this run's wasmbind first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PKG_PARENT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


#: Code for a child process (``run_py``) defining ``failing(actions, exc_type,
#: text)``: the indices of the callables in ``actions`` that do not raise
#: ``exc_type`` with ``text`` in its message (``[]`` when all do).
FAILING = '''
def failing(actions, exc_type, text=""):
    bad = []
    for i, action in enumerate(actions):
        try:
            action()
        except exc_type as exc:
            if text not in str(exc):
                bad.append((i, str(exc)))
        else:
            bad.append(i)
    return bad
'''
