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


# ---- WebAssembly shared by the scale-out tests (pickling, processes, Dask)

#: Scalar kernels: ``add`` (i32, wrapping), ``div`` (i32, traps on 0, through
#: an inner function, so its trap has two frames), ``poly`` (f64: x*x + y) and
#: ``count`` (i64: a loop of n steps, returns n; only fuel or a deadline stops
#: it early).
KERNEL_WAT = """(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func $inner (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 call $inner)
  (func (export "poly") (param f64 f64) (result f64) local.get 0 local.get 0 f64.mul local.get 1 f64.add)
  (func (export "count") (param i64) (result i64) (local i64)
    (loop $l (local.set 1 (i64.add (local.get 1) (i64.const 1)))
             (br_if $l (i64.lt_u (local.get 1) (local.get 0))))
    local.get 1))"""

#: Steps of a loop a deadline must cut short: seconds of work, never endless,
#: so a deadline that does not fire gives a wrong result instead of a hang.
LONG_LOOP = 6_000_000_000


def wasi_wat(body):
    """A WASI command that writes ``hello\\n`` to stdout, then runs ``body``
    (WAT instructions; ``$exit`` is proc_exit, local 0 an i64)."""
    return ('(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))'
            ' (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))'
            ' (memory (export "memory") 1) (data (i32.const 16) "hello\\n")'
            ' (func (export "_start") (local i64) (i32.store (i32.const 0) (i32.const 16))'
            ' (i32.store (i32.const 4) (i32.const 6))'
            ' (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) %s))' % body)


#: Bodies for :func:`wasi_wat`.
WASI_EXIT3 = "i32.const 3 call $exit"
WASI_TRAP = "unreachable"
WASI_LONG = ("(loop $l (local.set 0 (i64.add (local.get 0) (i64.const 1)))"
             " (br_if $l (i64.lt_u (local.get 0) (i64.const %d))))" % LONG_LOOP)
