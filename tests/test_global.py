"""Globals: host-made and exported, get/set, mutability, types."""

import pytest

import wasmbind
from wasmbind import Func, FuncType, Global, GlobalType, ValType

from support import F32_BITS, f32_float, float_bits


def test_exported_globals(make):
    inst = make("""(module
      (global $m (export "m") (mut i32) (i32.const 5))
      (global (export "c") f64 (f64.const 2.5))
      (func (export "read") (result i32) global.get $m))""")
    m, c = inst.exports.m, inst.exports.c
    assert m.value == 5 and c.value == 2.5
    assert m.type == GlobalType(ValType.i32, True)
    assert c.type == GlobalType("f64", False)
    m.value = -7
    assert inst.exports.read() == -7
    m.value = 2**32 - 1
    assert m.value == -1
    assert "mutable=True" in repr(m)


def test_immutable_assign_raises(make):
    c = make('(module (global (export "c") i64 (i64.const 1)))').exports.c
    with pytest.raises(AttributeError, match="immutable"):
        c.value = 2
    assert c.value == 1


@pytest.mark.parametrize("content, value, back", [
    ("i32", -5, -5), ("i64", 2**63, -2**63), ("f32", 1, 1.0), ("f64", 0.5, 0.5),
])
def test_host_globals(store, content, value, back):
    g = Global(store, GlobalType(content, True), value)
    assert g.value == back
    g.value = 3
    assert g.value == 3


def test_host_global_type_errors(store):
    with pytest.raises(TypeError):
        Global(store, GlobalType("i32", False), "x")
    with pytest.raises(OverflowError):
        Global(store, GlobalType("i32", False), 2**32)
    g = Global(store, GlobalType("i32", True), 0)
    with pytest.raises(TypeError):
        g.value = 1.5
    with pytest.raises(OverflowError):
        g.value = -2**31 - 1
    assert g.value == 0
    with pytest.raises(TypeError):
        Global(store, "i32", 0)
    with pytest.raises(TypeError):
        GlobalType("i128", True)


def test_externref_global_identity(store):
    o = object()
    g = Global(store, GlobalType("externref", True), o)
    assert g.value is o
    g.value = None
    assert g.value is None
    o2 = [1]
    g.value = o2
    assert g.value is o2


def test_funcref_global(store):
    f = Func(store, FuncType([], ["i32"]), lambda: 4)
    g = Global(store, GlobalType("funcref", True), f)
    assert g.value() == 4
    g.value = None
    assert g.value is None
    with pytest.raises(TypeError):
        g.value = 3


def test_imported_global_shared_with_guest(store, engine):
    g = Global(store, GlobalType("i32", True), 10)
    m = wasmbind.Module(engine, '(module (import "e" "g" (global $g (mut i32)))'
                                ' (func (export "inc") global.get $g i32.const 1 i32.add global.set $g))')
    inst = wasmbind.Instance(store, m, [g])
    inst.exports.inc()
    inst.exports.inc()
    assert g.value == 12


def test_v128_global():
    from support import run_py
    proc = run_py("""
    import wasmbind
    s = wasmbind.Store()
    g = wasmbind.Global(s, wasmbind.GlobalType("v128", True), 2**128 - 1)
    assert g.value == 2**128 - 1, g.value
    g.value = 1 << 64
    assert g.type == wasmbind.GlobalType("v128", True)
    print(g.value == 1 << 64)
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "True", proc.stderr[-1000:]


def test_global_constructed_once(store):
    g = Global(store, GlobalType("i32", True), 1)
    with pytest.raises(wasmbind.WasmError, match="already initialized"):
        g.__init__(wasmbind.Store(store.engine), GlobalType("i64", True), 2)
    assert g.value == 1 and g.store is store
    failed = Global.__new__(Global)
    with pytest.raises(OverflowError):
        failed.__init__(store, GlobalType("i32", True), 2**40)
    with pytest.raises(wasmbind.WasmError, match="already initialized"):
        failed.__init__(store, GlobalType("i32", True), 1)
    for action in (lambda: failed.value, lambda: setattr(failed, "value", 1), lambda: failed.type):
        with pytest.raises(wasmbind.WasmError, match="not initialized"):
            action()
    assert "uninitialized" in repr(failed)


def test_funcref_of_another_store_refused(store, engine):
    other = wasmbind.Store(engine)
    f = Func(other, FuncType([], []), lambda: None)
    with pytest.raises(ValueError, match="different Store"):
        Global(store, GlobalType("funcref", True), f)
    g = Global(store, GlobalType("funcref", True), None)
    with pytest.raises(ValueError, match="different Store"):
        g.value = f
    assert g.value is None


def test_conversion_closing_the_store():
    # __index__ runs between the store check and the engine's global.set
    from support import assert_clean, run_py
    proc = run_py("""
    from wasmbind import *
    s = Store()
    g = Global(s, GlobalType("i32", True), 0)
    class Closes:
        def __index__(self):
            s.close()
            return 1
    for action in (lambda: setattr(g, "value", Closes()),
                   lambda: Global(s, GlobalType("i64", True), Closes())):
        try:
            action()
        except StoreClosedError:
            print("raised")
        s = Store()
        g = Global(s, GlobalType("i32", True), 0)
    """)
    assert_clean(proc)
    assert proc.stdout.split() == ["raised", "raised"]


@pytest.mark.parametrize("bits", F32_BITS, ids=hex)
def test_f32_globals_keep_every_bit(make, store, bits):
    inst = make("""(module
      (global $g (export "g") (mut f32) (f32.const 0))
      (func (export "set") (param i32) local.get 0 f32.reinterpret_i32 global.set $g)
      (func (export "bits") (result i32) global.get $g i32.reinterpret_f32))""")
    g = inst.exports.g
    inst.exports.set(bits)  # set by the guest, read by Python
    assert float_bits(g.value) == float_bits(f32_float(bits))
    g.value = 0.0
    g.value = f32_float(bits)  # set by Python, read by the guest
    assert inst.exports.bits() & 0xFFFFFFFF == bits
    host = Global(store, GlobalType(ValType.f32, False), f32_float(bits))  # host-made
    assert float_bits(host.value) == float_bits(f32_float(bits))
