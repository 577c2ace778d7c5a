"""Helpers shared by the tests (fixtures live in conftest.py): how to start
Python subprocesses that import the same wasmbind as this test run (the source
tree after an in-place build, or the installed package when the tests run
against a wheel), and how to check that such a subprocess ended cleanly."""

import os
import struct
import subprocess
import sys
import textwrap

import pytest

import wasmbind
from wasmbind import Instance, Module, Store

from wasi_build import build_wasi, have_wasi_toolchain, wasi_toolchain_problem

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


#: The module of the limit tests (test_fuel, test_deadlines, test_store_limits):
#: loops to stop, a recursion to overflow, memory and a table to grow.
LIMITS_WAT = """
(module
  (memory (export "mem") 1)
  (table (export "tab") 2 funcref)
  (func (export "loop") (loop (br 0)))
  (func (export "count") (param i32) (result i32)
    (local i32)
    (block (loop
      (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br 0)))
    (local.get 1))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func $rec (export "rec") (param i32) (result i32)
    (call $rec (i32.add (local.get 0) (i32.const 1))))
  (func $depth (export "depth") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $depth (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "tgrow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))
"""


def limits_instance(engine, store=None):
    """``(store, exports)`` of LIMITS_WAT instantiated in ``store`` (a new one by default)."""
    store = store or Store(engine)
    return store, Instance(store, Module(engine, LIMITS_WAT)).exports


def wasi_prog(name):
    """The path of tests/wasi_programs/<name>.c compiled to WASI; skips without the toolchain."""
    if not have_wasi_toolchain():
        pytest.skip("no WASI toolchain: %s" % wasi_toolchain_problem())
    return build_wasi(name)


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


# The memory and allocator of a test component's core module: memory 0, a
# `$bump` pointer, and a `cabi_realloc` that bumps it and grows memory as
# needed (freeing nothing; a post-return function may reset `$bump`).
BUMP_REALLOC_WAT = """
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $bump (i32.add (local.get $p) (local.get 3)))
      (block $ok
        (br_if $ok (i32.le_u (global.get $bump) (i32.mul (memory.size) (i32.const 65536))))
        (drop (memory.grow (i32.add (i32.div_u (i32.sub (global.get $bump) (i32.mul (memory.size) (i32.const 65536)))
                                               (i32.const 65536)) (i32.const 1)))))
      (local.get $p))
"""


#: f32 bit patterns that a conversion through a C cast would change or lose:
#: signalling NaNs (0x7FA00000, the smallest 0x7F800001), NaNs with payloads
#: and signs, infinities, denormals, signed zeros, and a plain number.
F32_BITS = (0x7FA00000, 0xFFA00001, 0x7F800001, 0x7FC00000, 0xFFC00123, 0x7FFFFFFF, 0xFFFFFFFF,
            0x7F800000, 0xFF800000, 0x00000001, 0x807FFFFF, 0x80000000, 0x00000000, 0x3F800000)


def f32_float(bits):
    """The Python float wasmbind gives for an f32 of these bits: the number
    itself, or for a NaN the f64 NaN of the same sign whose payload's top 23
    bits are the f32 payload (so every f32 NaN survives the round trip)."""
    if (bits & 0x7F800000) == 0x7F800000 and bits & 0x7FFFFF:
        d = ((bits >> 31) << 63) | (0x7FF << 52) | ((bits & 0x7FFFFF) << 29)
        return struct.unpack("<d", struct.pack("<Q", d))[0]
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def float_bits(x):
    """The 64 bits of a Python float."""
    return struct.unpack("<Q", struct.pack("<d", x))[0]
