"""Tables: len/get/set/grow, bounds, funcref and externref tables."""

import pytest

import wasmbind
from wasmbind import Func, FuncType, Table, TableType, Trap, TrapCode

WAT = """(module
  (type $t (func (result i32)))
  (table $tab (export "tab") 2 10 funcref)
  (table $ext (export "ext") 1 externref)
  (func $one (result i32) i32.const 1)
  (elem (table $tab) (i32.const 0) func $one)
  (func (export "call") (param i32) (result i32) local.get 0 call_indirect $tab (type $t))
  (func (export "getext") (param i32) (result externref) local.get 0 table.get $ext)
)"""


@pytest.fixture
def ex(make):
    return make(WAT).exports


def test_funcref_table(ex, store):
    tab = ex.tab
    assert len(tab) == 2
    assert tab.type == TableType("funcref", 2, 10)
    assert isinstance(tab[0], Func) and tab[0]() == 1
    assert tab[1] is None
    assert tab[-2]() == 1
    tab[1] = Func(store, FuncType([], ["i32"]), lambda: 55)
    assert ex.call(1) == 55
    tab[1] = None
    with pytest.raises(Trap) as info:
        ex.call(1)
    assert info.value.code == TrapCode.INDIRECT_CALL_TO_NULL
    tab[1] = Func(store, FuncType(["i32"], []), lambda x: None)
    with pytest.raises(Trap) as info:
        ex.call(1)
    assert info.value.code == TrapCode.BAD_SIGNATURE
    with pytest.raises(Trap) as info:
        ex.call(5)
    assert info.value.code == TrapCode.TABLE_OUT_OF_BOUNDS
    assert "2 elements" in repr(tab)


def test_table_grow(ex, store):
    tab = ex.tab
    f = Func(store, FuncType([], ["i32"]), lambda: 7)
    assert tab.grow(3, f) == 2
    assert len(tab) == 5
    assert tab[4]() == 7 and ex.call(3) == 7
    assert tab.grow(0) == 5
    with pytest.raises(wasmbind.WasmError):
        tab.grow(6)  # max 10
    assert len(tab) == 5
    with pytest.raises(ValueError):
        tab.grow(-1)
    with pytest.raises(TypeError):
        tab.grow("1")


@pytest.mark.parametrize("index", [2, 3, 2**32, 2**64, -3, -2**70])
def test_out_of_range(ex, index):
    with pytest.raises(IndexError):
        ex.tab[index]
    with pytest.raises(IndexError):
        ex.tab[index] = None


def test_bad_index_and_value(ex):
    with pytest.raises(TypeError):
        ex.tab["0"]
    with pytest.raises(TypeError):
        ex.tab[True]
    with pytest.raises(TypeError):
        ex.tab[0] = lambda: 1
    with pytest.raises(TypeError):
        ex.tab.grow(1, "x")


def test_externref_table(ex):
    t = ex.ext
    assert len(t) == 1 and t[0] is None
    o = object()
    t[0] = o
    assert t[0] is o
    assert ex.getext(0) is o
    assert t.grow(2, "init") == 1
    assert t[1] == "init" and t[2] is t[1]
    t[2] = None
    assert t[2] is None


def test_host_tables(store):
    t = Table(store, TableType("externref", 3), "x")
    assert len(t) == 3 and [t[i] for i in range(3)] == ["x"] * 3
    f = Func(store, FuncType([], []), lambda: None)
    t2 = Table(store, TableType("funcref", 1, 2), f)
    assert t2.type == TableType("funcref", 1, 2)
    assert isinstance(t2[0], Func)
    other = wasmbind.Store(store.engine)
    with pytest.raises(ValueError):
        t2[0] = Func(other, FuncType([], []), lambda: None)
    with pytest.raises(TypeError):
        TableType("i32", 1)
    with pytest.raises(TypeError):
        Table(store, "table")


def test_table_from_other_store_rejected(engine, store):
    other = wasmbind.Store(engine)
    t = Table(other, TableType("funcref", 1))
    m = wasmbind.Module(engine, '(module (import "e" "t" (table 1 funcref)))')
    with pytest.raises(ValueError):
        wasmbind.Instance(store, m, [t])


def test_table_constructed_once(store):
    t = Table(store, TableType("funcref", 1))
    with pytest.raises(wasmbind.WasmError, match="already initialized"):
        t.__init__(wasmbind.Store(store.engine), TableType("externref", 5))
    assert len(t) == 1 and t.store is store
    blank = Table.__new__(Table)
    for action in (len, lambda t: t[0], lambda t: t.__setitem__(0, None), lambda t: t.grow(1),
                   lambda t: t.type):
        with pytest.raises(wasmbind.WasmError, match="not initialized"):
            action(blank)
    assert "uninitialized" in repr(blank)


def test_funcref_of_another_store_refused(store, engine):
    other = wasmbind.Store(engine)
    f = Func(other, FuncType([], []), lambda: None)
    with pytest.raises(ValueError, match="different Store"):
        Table(store, TableType("funcref", 1), f)
    t = Table(store, TableType("funcref", 1))
    with pytest.raises(ValueError, match="different Store"):
        t[0] = f
    with pytest.raises(ValueError, match="different Store"):
        t.grow(2, f)
    assert len(t) == 1 and t[0] is None


def test_index_check_closing_the_store():
    # an int subclass's comparison runs between the store check and the engine
    from support import assert_clean, run_py
    proc = run_py("""
    from wasmbind import *
    s = Store()
    t = Table(s, TableType("externref", 2))
    class Index(int):
        def __lt__(self, other):
            s.close()
            return int(self) < other
    for action in (lambda: t.__setitem__(Index(0), object()), lambda: t[Index(0)]):
        try:
            action()
        except StoreClosedError:
            print("raised")
        s = Store()
        t = Table(s, TableType("externref", 2))
    """)
    assert_clean(proc)
    assert proc.stdout.split() == ["raised", "raised"]


@pytest.mark.parametrize("index", [2, -3, -70000, 2**64, -2**70])
def test_index_error_names_the_index_given(ex, index):
    for op in (lambda: ex.tab[index], lambda: ex.tab.__setitem__(index, None)):
        with pytest.raises(IndexError) as e:
            op()
        assert str(e.value) == "table index %d out of range (table has 2 elements)" % index


def test_negative_indices_within_the_size(ex):
    assert ex.tab[-2]() == 1          # element 0
    assert ex.tab[-1] is None
    ex.tab[-2] = None
    assert ex.tab[0] is None


@pytest.mark.parametrize("key", [True, False, 0.0, "0", None, slice(0, 1), [0]])
def test_non_int_indices_are_type_errors(ex, key):
    with pytest.raises(TypeError, match="table index must be an int"):
        ex.tab[key]
    with pytest.raises(TypeError, match="table index must be an int"):
        ex.tab[key] = None


@pytest.mark.parametrize("delta, exc", [(True, TypeError), (1.0, TypeError), (None, TypeError),
                                        (-1, ValueError), (2**32, ValueError), (2**70, ValueError)])
def test_grow_delta_checked(ex, delta, exc):
    with pytest.raises(exc, match="delta"):
        ex.tab.grow(delta)
    assert len(ex.tab) == 2


# ---- table64: tables with 64-bit indices (memory64 proposal) -----------------

T64_WAT = """(module
  (import "m" "imp" (table $i i64 1 externref))
  (table $t (export "t") i64 3 10 funcref)
  (table $x (export "x") 2 externref)
  (func $one (result i32) (i32.const 1))
  (elem (table $t) (i64.const 0) func $one)
  (func (export "size") (result i64) (table.size $t))
  (func (export "grow") (param i64) (result i64) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "get_imp") (param i64) (result externref) (table.get $i (local.get 0)))
  (func (export "set_imp") (param i64 externref) (table.set $i (local.get 0) (local.get 1)))
  (func (export "call") (param i64) (result i32) (call_indirect $t (result i32) (local.get 0))))"""


@pytest.fixture(scope="module")
def m64_engine():
    return wasmbind.Engine(wasmbind.Config(wasm_memory64=True))


def test_tabletype_table64():
    t = TableType("funcref", 1, 5, table64=True)
    assert t.table64 and t != TableType("funcref", 1, 5)
    assert repr(t) == "TableType(funcref, 1, 5, table64=True)"
    assert hash(t) == hash(TableType(wasmbind.ValType.funcref, 1, 5, table64=True))
    import pickle
    assert pickle.loads(pickle.dumps(t)) == t
    with pytest.raises(ValueError):
        TableType("funcref", 0, 2**32, table64=True)


def test_table64_from_python_get_set_grow(m64_engine):
    s = wasmbind.Store(m64_engine)
    obj = object()
    t = Table(s, TableType("externref", 2, 8, table64=True), obj)
    assert t.type == TableType("externref", 2, 8, table64=True)
    assert len(t) == 2 and t[0] is obj and t[1] is obj
    t[1] = "x"
    assert t[1] == "x" and t[-1] == "x"
    assert t.grow(3, "g") == 2 and len(t) == 5 and t[4] == "g"
    with pytest.raises(IndexError, match="out of range"):
        t[5]
    with pytest.raises(IndexError, match="out of range"):
        t[2**40] = None
    with pytest.raises(wasmbind.WasmError):
        t.grow(4)  # past the maximum
    assert len(t) == 5
    f = Table(s, TableType("funcref", 0, None, table64=True))
    assert len(f) == 0 and f.type == TableType("funcref", 0, None, table64=True)
    with pytest.raises(TypeError):
        Table(s, TableType("funcref", 1, table64=True), "not a func")


def test_table64_exported_imported_and_used_by_the_guest(m64_engine):
    s = wasmbind.Store(m64_engine)
    imp = Table(s, TableType("externref", 1, table64=True))
    m = wasmbind.Module(m64_engine, T64_WAT)
    types = {e.name: e.type for e in m.exports}
    assert types["t"] == TableType("funcref", 3, 10, table64=True)
    assert types["x"] == TableType("externref", 2, None)
    assert m.imports[0].type == TableType("externref", 1, None, table64=True)
    inst = wasmbind.Instance(s, m, {"m": {"imp": imp}})
    t = inst.exports.t
    assert t.type == TableType("funcref", 3, 10, table64=True)
    assert inst.exports.x.type == TableType("externref", 2, None)
    assert inst.exports.size() == 3 and inst.exports.call(0) == 1
    t.grow(2)
    assert inst.exports.size() == 5
    assert inst.exports.grow(100) == -1  # past the maximum, from the guest
    t[4] = t[0]
    assert inst.exports.call(4) == 1
    with pytest.raises(Trap) as e:
        inst.exports.call(2**33)
    assert e.value.code == TrapCode.TABLE_OUT_OF_BOUNDS
    imp[0] = "hello"
    assert inst.exports.get_imp(0) == "hello"
    inst.exports.set_imp(0, "back")
    assert imp[0] == "back"
    with pytest.raises(Trap):
        inst.exports.get_imp(1)
    # the exported table64 goes on as an import; a 32-bit table is refused for it
    again = wasmbind.Instance(s, m, [imp])
    assert again.exports.get_imp(0) == "back"
    with pytest.raises(wasmbind.LinkError):
        wasmbind.Instance(s, m, [Table(s, TableType("externref", 1))])
    linker = wasmbind.Linker(m64_engine)
    linker.define(s, "m", "imp", imp)
    assert linker.instantiate(s, m).exports.get_imp(0) == "back"
    assert linker.get(s, "m", "imp").type.table64


def test_table64_needs_memory64(store):
    with pytest.raises(wasmbind.WasmError, match="wasm_memory64=True"):
        Table(store, TableType("funcref", 1, table64=True))


@pytest.mark.parametrize("decl", [
    '(table (export "t") i64 2 0x100000000 funcref)',
    '(table i64 0x100000000 funcref)',
    '(import "a" "b" (table i64 0 0xffffffffffffffff externref))',
    '(table i64 1 0x1_0000_0001 funcref (ref.null func))',
])
def test_table64_limits_beyond_u32_are_refused_not_a_crash(decl):
    # Wasmtime's C API aborts the process reading such a table type: the
    # module is refused before anything can read it, in a child to be sure
    from support import assert_clean, run_py
    proc = run_py('''
import wasmbind
e = wasmbind.Engine(wasmbind.Config(wasm_memory64=True))
try:
    m = wasmbind.Module(e, """(module %s)""")
    print(m.imports, m.exports)
except wasmbind.CompileError as exc:
    assert "2**32-1" in str(exc), exc
    print("refused")
''' % decl)
    assert_clean(proc, "refused")


def test_table64_scanner_reads_tables_with_initializers_and_gc_types():
    e = wasmbind.Engine(wasmbind.Config(wasm_memory64=True, wasm_gc=True, wasm_function_references=True))
    m = wasmbind.Module(e, """(module
      (type $s (struct (field i32)))
      (global $g i32 (i32.const 1))
      (table $a (export "a") i64 1 2 funcref (ref.null func))
      (table $b (export "b") 4 externref)
      (table $c (export "c") i64 0 externref (ref.null extern))
      (memory (export "m") i64 1))""")
    types = {x.name: x.type for x in m.exports}
    assert types["a"] == TableType("funcref", 1, 2, table64=True)
    assert types["b"] == TableType("externref", 4, None)
    assert types["c"] == TableType("externref", 0, None, table64=True)
