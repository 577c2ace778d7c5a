"""Linker: define*, instantiate, shadowing, get, get_default."""

import pytest

import wasmbind
from wasmbind import (Engine, Func, FuncType, Global, GlobalType, Instance, LinkError, Linker, Memory,
                      MemoryType, Module, Store)

USER = """(module
  (import "env" "double" (func $d (param i32) (result i32)))
  (import "env" "g" (global $g i32))
  (func (export "run") (param i32) (result i32) (i32.add (call $d (local.get 0)) (global.get $g)))
)"""


def test_define_and_instantiate(store, engine):
    linker = Linker(engine)
    linker.define(store, "env", "double", Func(store, FuncType(["i32"], ["i32"]), lambda x: 2 * x))
    linker.define(store, "env", "g", Global(store, GlobalType("i32", False), 100))
    inst = linker.instantiate(store, Module(engine, USER))
    assert inst.exports.run(4) == 108
    assert inst.store is store


def test_define_func_usable_in_many_stores(engine):
    linker = Linker(engine, allow_shadowing=True)  # env::g is redefined per store
    calls = []
    linker.define_func("env", "double", FuncType(["i32"], ["i32"]), lambda x: calls.append(x) or 3 * x)
    m = Module(engine, USER)
    results = []
    for value in (1, 2):
        s = Store(engine)
        linker.define(s, "env", "g", Global(s, GlobalType("i32", False), value))
        results.append(linker.instantiate(s, m).exports.run(10))
    assert results == [31, 32]
    assert calls == [10, 10]


def test_define_func_access_caller_and_refs(engine, store):
    linker = Linker(engine)
    seen = []
    linker.define_func("env", "h", FuncType(["externref"], ["externref"]),
                       lambda caller, x: seen.append(caller["memory"].size) or x, access_caller=True)
    m = Module(engine, '(module (import "env" "h" (func $h (param externref) (result externref)))'
                       ' (memory (export "memory") 3)'
                       ' (func (export "f") (param externref) (result externref) local.get 0 call $h))')
    o = object()
    assert linker.instantiate(store, m).exports.f(o) is o
    assert seen == [3]


def test_define_func_exception_propagates(engine, store):
    linker = Linker(engine)
    err = OSError("host")

    def h():
        raise err

    linker.define_func("env", "h", FuncType([], []), h)
    m = Module(engine, '(module (import "env" "h" (func $h)) (func (export "f") call $h))')
    with pytest.raises(OSError) as info:
        linker.instantiate(store, m).exports.f()
    assert info.value is err


def test_define_instance(store, engine):
    lib = Instance(store, Module(engine, '(module (func (export "double") (param i32) (result i32)'
                                         ' local.get 0 i32.const 2 i32.mul)'
                                         ' (global (export "g") i32 (i32.const 1)))'))
    linker = Linker(engine)
    linker.define_instance(store, "env", lib)
    assert linker.instantiate(store, Module(engine, USER)).exports.run(5) == 11
    assert isinstance(linker.get(store, "env", "double"), Func)
    other = Store(engine)
    with pytest.raises(ValueError):
        linker.define_instance(other, "env2", lib)


def test_define_module_and_get_default(store, engine):
    linker = Linker(engine)
    lib = Module(engine, '(module (func (export "double") (param i32) (result i32)'
                         ' local.get 0 i32.const 2 i32.mul) (global (export "g") i32 (i32.const 7))'
                         ' (func (export "") (result i32) i32.const 123))')
    linker.define_module(store, "env", lib)
    assert linker.instantiate(store, Module(engine, USER)).exports.run(1) == 9
    assert linker.get_default(store, "env")() == 123


def test_command_module_start_default(store, engine):
    linker = Linker(engine)
    cmd = Module(engine, '(module (global $c (mut i32) (i32.const 0))'
                         ' (func (export "_start") global.get $c i32.const 1 i32.add global.set $c))')
    linker.define_module(store, "cmd", cmd)
    start = linker.get_default(store, "cmd")
    assert isinstance(start, Func)
    assert start() is None


def test_shadowing(store, engine):
    f1 = Func(store, FuncType([], ["i32"]), lambda: 1)
    f2 = Func(store, FuncType([], ["i32"]), lambda: 2)
    linker = Linker(engine)
    assert linker.allow_shadowing is False
    linker.define(store, "m", "f", f1)
    with pytest.raises(LinkError):
        linker.define(store, "m", "f", f2)
    with pytest.raises(LinkError):
        linker.define_func("m", "f", FuncType([], ["i32"]), lambda: 3)
    assert linker.get(store, "m", "f")() == 1
    linker.allow_shadowing = True
    assert linker.allow_shadowing is True
    linker.define(store, "m", "f", f2)
    assert linker.get(store, "m", "f")() == 2
    linker2 = Linker(engine, allow_shadowing=True)
    linker2.define(store, "m", "f", f1)
    linker2.define(store, "m", "f", f2)
    assert linker2.get(store, "m", "f")() == 2


def test_get_missing(store, engine):
    linker = Linker(engine)
    with pytest.raises(KeyError, match="m::x"):
        linker.get(store, "m", "x")


def test_get_kinds(store, engine):
    linker = Linker(engine)
    mem = Memory(store, MemoryType(1))
    linker.define(store, "m", "mem", mem)
    got = linker.get(store, "m", "mem")
    assert isinstance(got, Memory) and got.size == 1


def test_missing_definition_is_link_error(store, engine):
    with pytest.raises(LinkError):
        Linker(engine).instantiate(store, Module(engine, USER))


def test_mismatched_definition_is_link_error(store, engine):
    linker = Linker(engine)
    linker.define(store, "env", "double", Func(store, FuncType([], []), lambda: None))
    linker.define(store, "env", "g", Global(store, GlobalType("i32", False), 1))
    with pytest.raises(LinkError):
        linker.instantiate(store, Module(engine, USER))


def test_unknown_imports_as_traps(store, engine):
    linker = Linker(engine)
    m = Module(engine, '(module (import "x" "y" (func $y)) (func (export "f") call $y))')
    linker.define_unknown_imports_as_traps(m)
    inst = linker.instantiate(store, m)
    with pytest.raises(wasmbind.Trap):
        inst.exports.f()


def test_start_trap_via_linker(store, engine):
    with pytest.raises(wasmbind.Trap):
        Linker(engine).instantiate(store, Module(engine, "(module (func $s unreachable) (start $s))"))


def test_engine_mismatch(store):
    other = Engine()
    linker = Linker(other)
    with pytest.raises(ValueError, match="different Engine"):
        linker.define(store, "m", "f", Func(store, FuncType([], []), lambda: None))
    with pytest.raises(ValueError):
        linker.instantiate(store, Module(other, "(module)"))


def test_argument_types(store, engine):
    linker = Linker(engine)
    with pytest.raises(TypeError):
        linker.define(store, "m", "f", 42)
    with pytest.raises(TypeError):
        linker.define(store, b"m", "f", Func(store, FuncType([], []), lambda: None))
    with pytest.raises(TypeError):
        linker.define_func("m", "f", FuncType([], []), "not callable")
    with pytest.raises(TypeError):
        linker.instantiate(None, Module(engine, "(module)"))


def test_names_with_nul_bytes_are_exact(store, engine):
    linker = Linker(engine)
    f0 = Func(store, FuncType([], ["i32"]), lambda: 0)
    f1 = Func(store, FuncType([], ["i32"]), lambda: 1)
    linker.define(store, "m", "f", f0)
    linker.define(store, "m", "f\0", f1)
    assert linker.get(store, "m", "f")() == 0
    assert linker.get(store, "m", "f\0")() == 1
    with pytest.raises(KeyError):
        linker.get(store, "m\0", "f")
    inst = linker.instantiate(store, Module(engine, r"""(module
      (import "m" "f\00" (func $f (result i32)))
      (func (export "run") (result i32) call $f))"""))
    assert inst.exports.run() == 1


@pytest.mark.parametrize("name", ["\ud800", "x\udfff"])
def test_names_without_utf8_form_raise_value_error(store, engine, name):
    linker = Linker(engine)
    f = Func(store, FuncType([], []), lambda: None)
    with pytest.raises(ValueError, match="no UTF-8 form"):
        linker.define(store, "m", name, f)
    with pytest.raises(ValueError, match="no UTF-8 form"):
        linker.define(store, name, "f", f)
    with pytest.raises(ValueError, match="no UTF-8 form"):
        linker.define_func("m", name, FuncType([], []), lambda: None)
    with pytest.raises(ValueError, match="no UTF-8 form"):
        linker.get(store, "m", name)


def test_surrogate_escaped_names_are_not_utf8_for_the_engine(store, engine):
    # "\udcff" stands for the byte 0xff (as os.fsdecode makes it): not a Wasm name
    linker = Linker(engine)
    with pytest.raises(LinkError, match="utf-8"):
        linker.define(store, "m", "\udcff", Func(store, FuncType([], []), lambda: None))
    with pytest.raises(KeyError):
        linker.get(store, "m", "\udcff")
