"""Linker: define*, instantiate, shadowing, get, get_default."""

import pytest

import wasmbind
from wasmbind import (
    Engine,
    Func,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Linker,
    LinkError,
    Memory,
    MemoryType,
    Module,
    Store,
)

from support import FAILING, assert_clean, run_py

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


# ---- ownership: items of one store, modules of one engine -------------------
# Before these checks the engine aborted the process (object used with the
# wrong store), so each runs in a child process.

_LIB = """(module (func (export "f") (result i32) i32.const 7) (memory (export "m") 1)
  (global (export "g") i32 (i32.const 1)) (table (export "t") 1 funcref)
  (func (export "") (result i32) i32.const 9))"""


def _child(code):
    proc = run_py(FAILING + "import wasmbind\nfrom wasmbind import *\nLIB = %r\n" % _LIB + code)
    assert_clean(proc)
    return proc.stdout.split()


# defined in the child: refused(fn) is "refused" when fn raises the ownership ValueError
_REFUSED = """
def refused(fn):
    try:
        fn()
    except ValueError as exc:
        assert "another Store" in str(exc) or "different" in str(exc), exc
        return "refused"
    return "ALLOWED"
"""


@pytest.mark.parametrize("how", ["define_instance", "define", "define_module"])
def test_items_of_one_store_refused_to_another(how):
    out = _child(_REFUSED + """
e = Engine()
a, b = Store(e), Store(e)
inst = Instance(a, Module(e, LIB))
linker = Linker(e)
how = %r
if how == "define_instance":
    linker.define_instance(a, "a", inst)
elif how == "define":
    for name in ("f", "m", "g", "t"):
        linker.define(a, "a", name, inst.exports[name])
else:
    linker.define_module(a, "a", Module(e, LIB))
user = Module(e, '(module (import "a" "f" (func (result i32))))')
print(refused(lambda: linker.get(b, "a", "f")()))
print(refused(lambda: linker.get(b, "a", "m").size))
print(refused(lambda: linker.instantiate(b, user)))
print(refused(lambda: linker.define_module(b, "user", user)))
if how != "define":
    print(refused(lambda: linker.get_default(b, "a")()))
# the owner goes on using them
print(linker.get(a, "a", "f")(), linker.instantiate(a, user) is not None)
""" % how)
    assert out[-2:] == ["7", "True"]
    assert set(out[:-2]) == {"refused"}


def test_redefinition_from_another_store_moves_ownership():
    out = _child(_REFUSED + """
e = Engine()
a, b = Store(e), Store(e)
linker = Linker(e, allow_shadowing=True)
user = Module(e, '(module (import "env" "g" (global i32)) (func (export "v") (result i32) global.get 0))')
linker.define(a, "env", "g", Global(a, GlobalType("i32", False), 1))
print(linker.instantiate(a, user).exports.v())
linker.define(b, "env", "g", Global(b, GlobalType("i32", False), 2))
print(linker.instantiate(b, user).exports.v())
print(refused(lambda: linker.instantiate(a, user)))   # env::g is b's now
# a host function is no store's: every store may use it
linker.define_func("env", "g2", FuncType([], ["i32"]), lambda: 5)
linker.define(a, "env", "h", Func(a, FuncType([], ["i32"]), lambda: 6))
linker.define_func("env", "h", FuncType([], ["i32"]), lambda: 8)
print(linker.get(b, "env", "h")(), linker.get(a, "env", "g2")())
""")
    assert out == ["1", "2", "refused", "8", "5"]


def test_failed_definition_keeps_the_owner():
    out = _child(_REFUSED + """
e = Engine()
a, b = Store(e), Store(e)
linker = Linker(e)   # no shadowing: defining env::f again fails
linker.define(a, "env", "f", Func(a, FuncType([], ["i32"]), lambda: 1))
try:
    linker.define(b, "env", "f", Func(b, FuncType([], ["i32"]), lambda: 2))
except LinkError:
    print("link-error")
print(linker.get(a, "env", "f")())
print(refused(lambda: linker.get(b, "env", "f")()))
# a definition that fails part way may have defined some names: none is
# given to a store that might not own it
lib = Instance(a, Module(e, '(module (func (export "x") (result i32) i32.const 3)'
                            ' (func (export "f") (result i32) i32.const 4))'))
linker.define(b, "lib", "f", Func(b, FuncType([], ["i32"]), lambda: 5))
try:
    linker.define_instance(a, "lib", lib)
except LinkError:
    print("link-error")
print(refused(lambda: linker.get(b, "lib", "f")()), refused(lambda: linker.get(a, "lib", "f")()))
""")
    assert out == ["link-error", "1", "refused", "link-error", "refused", "refused"]


def test_modules_of_another_engine_refused():
    out = _child(_REFUSED + """
e, other = Engine(), Engine()
s = Store(e)
linker = Linker(e)
foreign = Module(other, '(module (import "x" "y" (func)) (func (export "f")))')
print(refused(lambda: linker.define_unknown_imports_as_traps(foreign)))
print(refused(lambda: linker.instantiate(s, foreign)))
print(refused(lambda: linker.define_module(s, "m", foreign)))
print(refused(lambda: linker.define(Store(other), "m", "f", None)))
""")
    assert out == ["refused"] * 4


def test_uninitialized_linker_and_module_raise():
    out = _child("""
e = Engine()
store = Store(e)
blank = Linker.__new__(Linker)
actions = [lambda: blank.define(store, "m", "f", Func(store, FuncType([], []), lambda: None)),
           lambda: blank.define_func("m", "f", FuncType([], []), lambda: None),
           lambda: blank.instantiate(store, Module(e, "(module)")),
           lambda: blank.get(store, "m", "f"), lambda: blank.define_wasi(),
           lambda: setattr(blank, "allow_shadowing", True),
           lambda: Linker(e).instantiate(store, Module.__new__(Module)),
           lambda: Linker(e).define_unknown_imports_as_traps(Module.__new__(Module)),
           lambda: Linker(e).define_instance(store, "x", Instance.__new__(Instance)),
           lambda: Linker(Store.__new__(Store))]
assert failing(actions, WasmError, "not initialized") == []
live = Linker(e)
try:
    live.__init__(Engine())
except WasmError as exc:
    assert "already initialized" in str(exc)
print(len(actions), live.engine is e)
""")
    assert out == ["10", "True"]


def test_define_module_reactor_host_exception_is_raised():
    # the reactor's initializer is a call into the store: it ran outside one
    # (the GIL could be let go for good at an epoch tick) and left the host
    # function's exception behind for a later call
    out = _child("""
import time
e = Engine()
store = Store(e)
time.sleep(0.05)   # an epoch tick is due at the first check
err = OSError("from _initialize")
def boom():
    raise err
linker = Linker(e)
linker.define_func("env", "boom", FuncType([], []), boom)
reactor = Module(e, '(module (import "env" "boom" (func $b))'
                    ' (func (export "_initialize") call $b) (func (export "f")))')
try:
    linker.define_module(store, "r", reactor)
except OSError as exc:
    print(exc is err)
ok = Instance(store, Module(e, '(module (func (export "f") (result i32) i32.const 1))'))
print(ok.exports.f())
""")
    assert out == ["True", "1"]


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
