"""Instance: imports (sequence and mapping), link errors, start traps, exports."""

import pytest

import wasmbind
from wasmbind import (
    Func,
    FuncType,
    Global,
    GlobalType,
    Instance,
    LinkError,
    Memory,
    MemoryType,
    Module,
    Store,
    Table,
    TableType,
    Trap,
    TrapCode,
)

from support import assert_clean, run_py

IMPORTS = """(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (import "env" "mem" (memory 1))
  (import "env" "g" (global $g i32))
  (import "env" "t" (table 1 funcref))
  (func (export "run") (param i32) (result i32)
    (call $add (local.get 0) (global.get $g)))
  (func (export "peek") (result i32) (i32.load8_u (i32.const 10)))
)"""


def _externs(store):
    add = Func(store, FuncType(["i32", "i32"], ["i32"]), lambda a, b: a + b)
    mem = Memory(store, MemoryType(1))
    g = Global(store, GlobalType("i32", False), 100)
    t = Table(store, TableType("funcref", 1))
    return add, mem, g, t


def test_imports_as_sequence(store, engine):
    add, mem, g, t = _externs(store)
    mem[10] = 77
    inst = Instance(store, Module(engine, IMPORTS), [add, mem, g, t])
    assert inst.exports.run(5) == 105
    assert inst.exports.peek() == 77
    assert inst.store is store
    assert isinstance(inst.module, Module)


def test_imports_as_mapping_with_plain_callable(store, engine):
    _, mem, g, t = _externs(store)
    calls = []

    def add(a, b):
        calls.append((a, b))
        return a * 1000 + b

    inst = Instance(store, Module(engine, IMPORTS), {"env": {"add": add, "mem": mem, "g": g, "t": t}})
    assert inst.exports.run(3) == 3100
    assert calls == [(3, 100)]


def test_plain_callable_typed_from_declaration(store, engine):
    m = Module(engine, '(module (import "m" "f" (func $f (param i64 f64) (result f32)))'
                       ' (func (export "go") (result f32) (call $f (i64.const -5) (f64.const 2.5))))')
    got = []
    inst = Instance(store, m, [lambda a, b: got.append((a, b)) or 1.25])
    assert inst.exports.go() == 1.25
    assert got == [(-5, 2.5)]
    assert type(got[0][0]) is int and type(got[0][1]) is float


def test_plain_callable_in_sequence(store, engine):
    m = Module(engine, '(module (import "" "f" (func $f (result i32))) (func (export "g") (result i32) call $f))')
    assert Instance(store, m, (lambda: 9,)).exports.g() == 9


def test_missing_import_mapping(store, engine):
    add, mem, g, t = _externs(store)
    with pytest.raises(LinkError, match="env::g"):
        Instance(store, Module(engine, IMPORTS), {"env": {"add": add, "mem": mem, "t": t}})
    with pytest.raises(LinkError, match="env"):
        Instance(store, Module(engine, IMPORTS), {})


def test_wrong_import_count(store, engine):
    add, mem, g, t = _externs(store)
    with pytest.raises(LinkError, match="4 import"):
        Instance(store, Module(engine, IMPORTS), [add, mem])
    with pytest.raises(LinkError):
        Instance(store, Module(engine, IMPORTS), [add, mem, g, t, g])
    with pytest.raises(LinkError):
        Instance(store, Module(engine, IMPORTS))


def test_mismatched_import_types(store, engine):
    add, mem, g, t = _externs(store)
    # memory where the function should be
    with pytest.raises(LinkError):
        Instance(store, Module(engine, IMPORTS), [mem, mem, g, t])
    # function of the wrong signature
    wrong = Func(store, FuncType(["i32"], ["i32"]), lambda a: a)
    with pytest.raises(LinkError):
        Instance(store, Module(engine, IMPORTS), [wrong, mem, g, t])
    # global of the wrong type
    g64 = Global(store, GlobalType("i64", False), 1)
    with pytest.raises(LinkError):
        Instance(store, Module(engine, IMPORTS), [add, mem, g64, t])
    # callable for a non-function import
    with pytest.raises(LinkError):
        Instance(store, Module(engine, IMPORTS), [add, lambda: 0, g, t])


#: The engine version whose link error wording wasmbind's LinkError relies on
#: (_ENGINE_LINK_ERRORS in core/store.pxi): read it again when this changes.
LINK_WORDING_ENGINE = "50.0.1"


def test_link_errors_carry_the_engines_words_pinned_to_its_version(store, engine):
    """LinkError is told from other instantiation failures by the engine's
    wording only: every kind of mismatch is pinned here, message and all."""
    assert wasmbind.WASMTIME_VERSION == LINK_WORDING_ENGINE, (
        "engine upgraded: check the link error wording (_ENGINE_LINK_ERRORS) and update this pin")
    add, mem, g, t = _externs(store)
    module = Module(engine, IMPORTS)
    cases = {
        "env::add": ([mem, mem, g, t], "expected func, but found memory"),
        "env::mem": ([add, Memory(store, MemoryType(0)), g, t], "memory types incompatible"),
        "env::g": ([add, mem, Global(store, GlobalType("i64", False), 1), t], "global types incompatible"),
        "env::t": ([add, mem, g, Table(store, TableType("externref", 1))], "table types incompatible"),
    }
    for name, (imports, cause) in cases.items():
        with pytest.raises(LinkError) as info:
            Instance(store, module, imports)
        text = str(info.value)
        assert text.startswith("incompatible import type for `%s`" % name) and cause in text, text
    linker = wasmbind.Linker(engine)
    with pytest.raises(LinkError) as info:
        linker.instantiate(store, module)
    assert str(info.value).startswith("unknown import: `env::add`"), str(info.value)


def test_other_instantiation_failures_are_not_link_errors(engine):
    """A resource limit hit while instantiating is the engine's error as it
    is, not a LinkError, though the module has imports."""
    store = Store(engine)
    store.set_limits(memory_size=65536)
    m = Module(engine, '(module (import "env" "f" (func)) (memory 2))')
    with pytest.raises(wasmbind.WasmError) as info:
        Instance(store, m, [Func(store, FuncType([], []), lambda: None)])
    assert not isinstance(info.value, LinkError), info.value
    assert "memory" in str(info.value)
    store.close()


def test_bad_import_values(store, engine):
    add, mem, g, t = _externs(store)
    with pytest.raises(TypeError):
        Instance(store, Module(engine, IMPORTS), [add, mem, 5, t])
    with pytest.raises(TypeError):
        Instance(store, Module(engine, IMPORTS), "abcd")


def test_imports_must_be_a_sequence_or_mapping(store, engine):
    m = Module(engine, IMPORTS)
    for bad in (5, 2.5, object(), b"ab", bytearray(b"ab")):
        with pytest.raises(TypeError, match="imports must be a sequence of externs or a mapping"):
            Instance(store, m, bad)
    with pytest.raises(TypeError, match=r"imports\['env'\] must be a mapping"):
        Instance(store, m, {"env": list(_externs(store))})
    # any iterable is a sequence of externs
    assert Instance(store, m, iter(_externs(store))).exports.run(1) == 101


def test_uninitialized_objects_as_imports(store, engine):
    add, mem, g, t = _externs(store)
    for i, blank in enumerate((Func.__new__(Func), Memory.__new__(Memory), Global.__new__(Global),
                               Table.__new__(Table))):
        items = [add, mem, g, t]
        items[i] = blank
        with pytest.raises(wasmbind.WasmError, match="not initialized"):
            Instance(store, Module(engine, IMPORTS), items)
    with pytest.raises(wasmbind.WasmError, match="not initialized"):
        Instance(store, Module.__new__(Module))


def test_import_resolution_closing_the_store():
    # Python code run while resolving imports closes the store: the engine must
    # not be handed the freed store afterwards
    proc = run_py("""
    from wasmbind import *
    s = Store()
    m = Module(None, '(module (import "m" "f" (func)) (import "m" "g" (func)))')
    def imports():
        yield lambda: None
        s.close()
        yield lambda: None
    try:
        Instance(s, m, imports())
    except StoreClosedError:
        print("closed")
    """)
    assert_clean(proc, "closed")


def test_import_from_other_store(store, engine):
    other = Store(engine)
    add, mem, g, t = _externs(other)
    with pytest.raises(ValueError):
        Instance(store, Module(engine, IMPORTS), [add, mem, g, t])


def test_start_function_trap(store, engine):
    m = Module(engine, '(module (func $s unreachable) (start $s))')
    with pytest.raises(Trap) as info:
        Instance(store, m)
    assert info.value.code == TrapCode.UNREACHABLE
    assert not isinstance(info.value, LinkError)


def test_start_function_host_exception(store, engine):
    m = Module(engine, '(module (import "m" "h" (func $h)) (start $h))')
    err = RuntimeError("from start")

    def h():
        raise err

    with pytest.raises(RuntimeError) as info:
        Instance(store, m, [h])
    assert info.value is err


def test_start_function_runs(store, engine):
    m = Module(engine, '(module (global $g (export "g") (mut i32) (i32.const 0))'
                       ' (func $s (global.set $g (i32.const 42))) (start $s))')
    assert Instance(store, m).exports.g.value == 42


EXPORTS = """(module
  (func (export "f") (result i32) i32.const 1)
  (memory (export "memory") 1)
  (global (export "g") i32 (i32.const 2))
  (table (export "t") 1 funcref)
)"""


def test_exports_access(make):
    ex = make(EXPORTS).exports
    assert isinstance(ex.f, Func)
    assert isinstance(ex["memory"], Memory)
    assert isinstance(ex.g, Global)
    assert isinstance(ex["t"], Table)
    assert ex.f is ex["f"]
    assert "f" in ex and "nope" not in ex
    assert list(ex) == ["f", "memory", "g", "t"]
    assert len(ex) == 4
    assert ex.keys() == ["f", "memory", "g", "t"]
    assert [type(v) for v in ex.values()] == [Func, Memory, Global, Table]
    assert ex.items()[0] == ("f", ex.f)
    assert ex.get("nope") is None and ex.get("nope", 3) == 3
    assert "memory" in dir(ex)
    assert ex.f.name == "f"
    assert ex.f() == 1
    assert "f" in repr(ex)


def test_missing_export_names_it(make):
    ex = make(EXPORTS).exports
    with pytest.raises(KeyError) as info:
        ex["nope"]
    assert "nope" in str(info.value)
    with pytest.raises(AttributeError) as info2:
        ex.nope
    assert "nope" in str(info2.value)
    assert not hasattr(ex, "missing_thing")


def test_no_exports(make):
    ex = make("(module)").exports
    assert len(ex) == 0 and list(ex) == []
    with pytest.raises(KeyError, match="none"):
        ex["x"]


def test_instantiate_helper():
    inst = wasmbind.instantiate('(module (import "a" "b" (func $b (result i32)))'
                                ' (func (export "c") (result i32) call $b))', {"a": {"b": lambda: 11}})
    assert inst.exports.c() == 11
    m = Module(None, '(module (func (export "x") (result i32) i32.const 4))')
    assert wasmbind.instantiate(m).exports.x() == 4


def test_instance_repr_and_reinit(make, store):
    inst = make(EXPORTS)
    assert "memory" in repr(inst)
    with pytest.raises(wasmbind.WasmError):
        inst.__init__(store, inst.module)
    with pytest.raises(wasmbind.WasmError, match="already initialized"):
        inst.__init__(Store(store.engine), inst.module)
    # construction happens once, even after a failed first one
    failed = Instance.__new__(Instance)
    with pytest.raises(LinkError):
        failed.__init__(store, Module(store.engine, IMPORTS))
    with pytest.raises(wasmbind.WasmError, match="already initialized"):
        failed.__init__(store, Module(store.engine, "(module)"))
    assert failed.store is None and failed.exports is None


def test_uninitialized_instance_and_exports():
    inst = Instance.__new__(Instance)
    assert "uninitialized" in repr(inst)
    assert inst.exports is None and inst.module is None and inst.store is None
    with pytest.raises(TypeError, match="made by wasmbind"):
        type(Instance(Store(), Module(None, EXPORTS)).exports)()
    ex = wasmbind.Exports.__new__(wasmbind.Exports)
    assert len(ex) == 0 and list(ex) == [] and "x" not in ex and ex.get("x") is None
    assert isinstance(repr(ex), str)
    with pytest.raises(KeyError):
        ex["x"]


def test_unicode_names(make):
    inst = make('(module (func (export "héllo✓") (result i32) i32.const 5))')
    assert inst.exports["héllo✓"]() == 5


def test_exports_named_like_methods(make):
    ex = make('(module (func (export "get") (result i32) i32.const 1)'
              ' (func (export "items") (result i32) i32.const 2))').exports
    assert ex["get"]() == 1
    assert ex["items"]() == 2
    assert "get" in ex and list(ex) == ["get", "items"]


def test_export_names_with_nul_bytes_are_reached_exactly(make):
    ex = make(r"""(module
      (func (export "a\00") (result i32) i32.const 1)
      (func (export "a") (result i32) i32.const 2)
      (func (export "a\00\00") (result i32) i32.const 3)
      (func (export "\00") (result i32) i32.const 4))""").exports
    assert list(ex) == ["a\0", "a", "a\0\0", "\0"]
    assert [ex[n]() for n in ex] == [1, 2, 3, 4]
    assert ex.get("a\0")() == 1 and ex["a"]() == 2
    assert "a\0" in ex and "a\0\0\0" not in ex and "\0\0" not in ex
    for missing in ("a\0\0\0", "\0\0", "b\0"):
        with pytest.raises(KeyError, match="no export named"):
            ex[missing]
        assert ex.get(missing) is None


@pytest.mark.parametrize("name", ["\ud800", "\udcff", "a\udfff"])
def test_names_without_utf8_form_are_missing_not_errors(make, name):
    ex = make('(module (func (export "f")))').exports
    assert name not in ex and ex.get(name) is None
    with pytest.raises(KeyError):
        ex[name]
    with pytest.raises(AttributeError):
        getattr(ex, name)


@pytest.mark.parametrize("name", [5, None, b"f", ("f",)])
def test_non_str_export_names_are_missing(make, name):
    ex = make('(module (func (export "f")))').exports
    assert name not in ex and ex.get(name, "no") == "no"
    with pytest.raises(KeyError):
        ex[name]
