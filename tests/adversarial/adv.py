"""Helpers for the adversarial tests (imported as ``adv``): every attack runs in a child interpreter
(``support.run_py``), so a crash, an abort or a hang fails one test instead of
ending the test run."""

import textwrap

from support import assert_clean, run_py

#: Code every attack starts with: wasmbind's names, a small module, and
#: ``outcome(fn)``: the name of the exception ``fn()`` raised, or ``"ok"``.
PRELUDE = '''
import gc, os, sys, threading
from wasmbind import *
import wasmbind

WAT = """(module
  (import "m" "f" (func $f (param i32) (result i32)))
  (memory (export "mem") 1 100)
  (table (export "tab") 2 100 funcref)
  (global (export "g") (mut funcref) (ref.null func))
  (global (export "ge") (mut externref) (ref.null extern))
  (func (export "call_f") (param i32) (result i32) local.get 0 call $f)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "ref") (param externref) (result externref) local.get 0)
  (func $depth (export "depth") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $depth (i32.sub (local.get 0) (i32.const 1))))))))
"""
ADD = """(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (memory (export "mem") 1 100))"""
I32 = FuncType(["i32"], ["i32"])

def outcome(fn):
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - the class name is the result
        return type(exc).__name__
    return "ok"

def host(store, fn=lambda x: x):
    return Func(store, I32, fn)

def full(store, fn=lambda x: x):
    """(instance, exports) of WAT in ``store``, its import served by ``fn``."""
    inst = Instance(store, Module(store.engine, WAT), [host(store, fn)])
    return inst, inst.exports
'''


def attack(*parts, timeout=60, env=None):
    """Runs PRELUDE + ``parts`` (each dedented) in a child; asserts a clean
    exit; returns the words it printed."""
    code = PRELUDE + "".join(textwrap.dedent(p) for p in parts)
    proc = run_py(code, timeout=timeout, env=env)
    assert_clean(proc)
    print(proc.stdout)  # shown by pytest when the test fails
    return proc.stdout.split()

