"""GC and exception references (Wasm 3.0): types, instantiation, values.

anyref, eqref, i31ref, structref, arrayref, exnref and the null types as
arguments, results, globals, table elements and host function values; the
handles (AnyRef, StructRef, ArrayRef, ExnRef, ExternRef) that keep their
objects alive. Modules are built by wasm-tools (Debian's wabt cannot parse
Wasm 3.0 text).
"""

import pickle

import pytest
from component_build import need_wasm_tools, parse

import wasmbind as wb
from wasmbind import AnyRef, ArrayRef, ExnRef, ExternRef, StructRef, Trap, TrapCode, ValType, WasmError

from support import assert_clean, run_py

V = ValType

GC_WAT = r"""(module
  (type $s (struct (field (mut i32)) (field f64) (field (mut anyref)) (field (mut i8))))
  (type $t (struct (field i64)))
  (type $a (array (mut i32)))
  (type $ia (array i32))
  (tag $e (param i32))
  (global $g (export "g") (mut anyref) (ref.null any))
  (global (export "gs") (mut (ref null $s)) (ref.null $s))
  (global (export "gi") (mut i31ref) (ref.i31 (i32.const 7)))
  (table (export "t") 4 anyref)
  (func (export "mk") (param i32) (result (ref $s))
    (struct.new $s (local.get 0) (f64.const 2.5) (ref.null any) (i32.const 7)))
  (func (export "mkt") (result (ref $t)) (struct.new $t (i64.const 1)))
  (func (export "mka") (param i32 i32) (result (ref $a)) (array.new $a (local.get 1) (local.get 0)))
  (func (export "mkia") (result (ref $ia)) (array.new_fixed $ia 2 (i32.const 1) (i32.const 2)))
  (func (export "get0") (param (ref $s)) (result i32) (struct.get $s 0 (local.get 0)))
  (func (export "id") (param anyref) (result anyref) (local.get 0))
  (func (export "ideq") (param eqref) (result eqref) (local.get 0))
  (func (export "idi31") (param i31ref) (result i31ref) (local.get 0))
  (func (export "idstruct") (param structref) (result structref) (local.get 0))
  (func (export "idarray") (param arrayref) (result arrayref) (local.get 0))
  (func (export "idnull") (param nullref) (result nullref) (local.get 0))
  (func (export "idnullfunc") (param nullfuncref) (result nullfuncref) (local.get 0))
  (func (export "idnullextern") (param nullexternref) (result nullexternref) (local.get 0))
  (func (export "nn") (param (ref any)) (result i32) (i32.const 1))
  (func (export "i31") (param i32) (result i31ref) (ref.i31 (local.get 0)))
  (func (export "ext") (param anyref) (result externref) (extern.convert_any (local.get 0)))
  (func (export "int") (param externref) (result anyref) (any.convert_extern (local.get 0)))
  (func (export "isnull") (param externref) (result i32) (ref.is_null (local.get 0)))
  (func (export "eq") (param eqref eqref) (result i32) (ref.eq (local.get 0) (local.get 1)))
  (func (export "exn") (param i32) (result exnref) (local $x exnref)
    (block $h (result i32 exnref)
      (try_table (catch_ref $e $h) (throw $e (local.get 0)))
      (unreachable))
    (local.set $x) (drop) (local.get $x))
  (func (export "exn_null") (param exnref) (result i32) (ref.is_null (local.get 0)))
  (func (export "idexn") (param exnref) (result exnref) (local.get 0))
  (func (export "null_get") (param (ref null $s)) (result i32) (struct.get $s 0 (local.get 0)))
  (func (export "cast") (param anyref) (result i32) (struct.get $s 0 (ref.cast (ref $s) (local.get 0))))
  (func (export "aget") (param (ref $a) i32) (result i32) (array.get $a (local.get 0) (local.get 1)))
)"""


@pytest.fixture(scope="module")
def gc_engine():
    return wb.Engine(wb.Config(wasm_gc=True, wasm_function_references=True, wasm_exceptions=True))


@pytest.fixture(scope="module")
def gc_module(gc_engine):
    need_wasm_tools()
    return wb.Module(gc_engine, parse(GC_WAT))


@pytest.fixture
def gstore(gc_engine):
    s = wb.Store(gc_engine)
    yield s
    s.close()


@pytest.fixture
def gx(gstore, gc_module):
    return wb.Instance(gstore, gc_module).exports


def expect(exc_type, text, fn, *args):
    with pytest.raises(exc_type) as info:
        fn(*args)
    assert text in str(info.value), str(info.value)
    return info.value


# ---- types and instantiation -------------------------------------------------

def test_every_gc_and_exception_type_reads_as_a_valtype(gc_module):
    types = {e.name: e.type for e in gc_module.exports}
    assert types["g"] == wb.GlobalType(V.anyref, True)
    assert types["gs"] == wb.GlobalType(V.structref, True)  # a concrete type reads as its abstract one
    assert types["gi"] == wb.GlobalType(V.i31ref, True)
    assert types["t"] == wb.TableType(V.anyref, 4)
    assert types["mk"] == wb.FuncType([V.i32], [V.structref])
    assert types["mka"] == wb.FuncType([V.i32, V.i32], [V.arrayref])
    assert types["ideq"] == wb.FuncType([V.eqref], [V.eqref])
    assert types["idnull"] == wb.FuncType([V.nullref], [V.nullref])
    assert types["idnullfunc"] == wb.FuncType([V.nullfuncref], [V.nullfuncref])
    assert types["idnullextern"] == wb.FuncType([V.nullexternref], [V.nullexternref])
    assert types["exn"] == wb.FuncType([V.i32], [V.exnref])
    assert all(t.is_ref for t in V if t >= V.funcref) and not V.v128.is_ref


def test_a_module_with_gc_imports_and_exports_instantiates_once(gc_engine):
    """Imports and exports of every reference type, a start function: the
    instance is made (the start function ran once) and every export reachable."""
    need_wasm_tools()
    wat = r"""(module
      (type $s (struct (field i32)))
      (import "m" "g" (global $ig (mut anyref)))
      (import "m" "f" (func $if (param eqref) (result structref)))
      (import "m" "t" (table 1 arrayref))
      (global $runs (export "runs") (mut i32) (i32.const 0))
      (global (export "gexn") (mut exnref) (ref.null exn))
      (global (export "gnull") (mut nullref) (ref.null none))
      (global (export "gnoexn") (mut (ref null noexn)) (ref.null noexn))
      (table (export "ts") 1 (ref null $s))
      (tag (export "tag") (param anyref))
      (func $start (global.set $runs (i32.add (global.get $runs) (i32.const 1))))
      (func (export "f") (param (ref null $s) (ref i31) exnref) (result (ref eq)) (ref.i31 (i32.const 0)))
      (start $start))"""
    store = wb.Store(gc_engine)
    module = wb.Module(gc_engine, parse(wat))
    assert [i.type for i in module.imports] == [wb.GlobalType(V.anyref, True), wb.FuncType([V.eqref], [V.structref]),
                                                wb.TableType(V.arrayref, 1)]
    g = wb.Global(store, wb.GlobalType(V.anyref, True), None)
    f = wb.Func(store, wb.FuncType([V.eqref], [V.structref]), lambda x: None)
    t = wb.Table(store, wb.TableType(V.arrayref, 1))
    inst = wb.Instance(store, module, {"m": {"g": g, "f": f, "t": t}})
    assert inst.exports.runs.value == 1
    names = [e.name for e in module.exports]
    for name in names:
        assert inst.exports[name] is not None
    assert inst.exports.gexn.type == wb.GlobalType(V.exnref, True) and inst.exports.gexn.value is None
    assert inst.exports.gnull.value is None and inst.exports.gnoexn.type.content == V.nullexnref
    assert inst.exports.ts.type == wb.TableType(V.structref, 1)
    assert inst.exports.f.type == wb.FuncType([V.structref, V.i31ref, V.exnref], [V.eqref])
    # through a Linker too
    linker = wb.Linker(gc_engine)
    linker.define(store, "m", "g", g)
    linker.define(store, "m", "f", f)
    linker.define(store, "m", "t", t)
    inst2 = linker.instantiate(store, module)
    assert inst2.exports.runs.value == 1 and inst2.exports.f(None, 3, None) == 0
    store.close()


def test_host_types_of_every_reference_kind_build(gstore):
    for t in V:
        if t.is_ref:
            f = wb.Func(gstore, wb.FuncType([t], [t]), lambda x: x)
            assert f.type == wb.FuncType([t], [t])
            assert f(None) is None
            assert wb.Global(gstore, wb.GlobalType(t, True), None).type == wb.GlobalType(t, True)
            assert wb.Table(gstore, wb.TableType(t, 1)).type == wb.TableType(t, 1)


# ---- i31 ---------------------------------------------------------------------

def test_i31_is_an_int(gx):
    for v in (0, 1, -1, 2**30 - 1, -2**30, 12345):
        assert gx.id(v) == v and gx.ideq(v) == v and gx.idi31(v) == v
    assert gx.i31(-1) == -1 and gx.i31(0x7FFFFFFF) == -1 and gx.i31(0x40000000) == -2**30  # i31.get_s
    assert gx.gi.value == 7
    gx.gi.value = -5
    assert gx.gi.value == -5


def test_i31_out_of_range_and_non_ints_are_refused(gx):
    for bad in (2**30, -2**30 - 1, 2**31, 2**64):
        expect(OverflowError, "out of range for i31", gx.id, bad)
        expect(OverflowError, "out of range for i31", gx.idi31, bad)
    expect(OverflowError, "out of range for i31", setattr, gx.gi, "value", 2**30)
    for bad in (True, 1.0, "1", object()):
        with pytest.raises(TypeError):
            gx.idi31(bad)
    assert gx.gi.value == 7  # nothing changed


# ---- structs and arrays --------------------------------------------------------

def test_struct_fields_read_and_write(gx):
    s = gx.mk(5)
    assert isinstance(s, StructRef) and isinstance(s, AnyRef)
    assert len(s) == 4 and list(s) == [5, 2.5, None, 7]
    assert s[-4] == 5 and s[-1] == 7
    s[0] = 11
    assert gx.get0(s) == 11 and s[0] == 11
    s[2] = gx.mkt()
    assert isinstance(s[2], StructRef) and s[2][0] == 1
    s[2] = 3
    assert s[2] == 3
    s[3] = 0x1FF  # a packed i8 field: truncated as struct.set does, read zero-extended
    assert s[3] == 0xFF
    s[3] = -1
    assert s[3] == 0xFF
    expect(WasmError, "not mutable", s.__setitem__, 1, 1.0)
    expect(TypeError, "expected an int for i32", s.__setitem__, 0, "x")
    expect(IndexError, "out of range", s.__getitem__, 4)
    expect(IndexError, "out of range", s.__setitem__, -5, 1)
    expect(TypeError, "must be an int", s.__getitem__, "0")
    assert list(s)[:2] == [11, 2.5]


def test_array_elements_read_and_write(gx):
    a = gx.mka(3, 9)
    assert isinstance(a, ArrayRef) and len(a) == 3 and list(a) == [9, 9, 9]
    a[1] = -4
    a[-1] = 2**32 - 1
    assert list(a) == [9, -4, -1]
    expect(IndexError, "out of range", a.__getitem__, 3)
    expect(TypeError, "expected an int", a.__setitem__, 0, None)
    assert len(gx.mka(0, 0)) == 0
    ia = gx.mkia()
    assert list(ia) == [1, 2]
    with pytest.raises(WasmError):  # an immutable array
        ia[0] = 5
    assert list(ia) == [1, 2]


def test_handles_pass_back_by_identity(gx):
    s, a = gx.mk(1), gx.mka(1, 1)
    assert gx.eq(s, s) == 1 and gx.eq(gx.id(s), s) == 1 and gx.eq(s, gx.mk(1)) == 0
    assert gx.eq(a, gx.idarray(a)) == 1 and gx.eq(3, 3) == 1 and gx.eq(None, None) == 1
    assert isinstance(gx.idstruct(s), StructRef) and isinstance(gx.ideq(a), ArrayRef)


# ---- type checks ----------------------------------------------------------------

def test_wrong_reference_kinds_are_type_errors(gx):
    s, a = gx.mk(1), gx.mka(1, 1)
    cases = [(gx.idstruct, a), (gx.idstruct, 1), (gx.idarray, s), (gx.idi31, s), (gx.idnull, 0),
             (gx.idnull, s), (gx.ideq, object()), (gx.id, "str"), (gx.idexn, s), (gx.id, gx.exn(1)),
             (gx.idnullfunc, gx.id), (gx.idnullextern, "x"), (gx.get0, a)]
    for fn, v in cases:
        with pytest.raises(TypeError) as info:
            fn(v)
        assert fn.type.params[0].name in str(info.value), str(info.value)
    expect(TypeError, "expected a StructRef or None", setattr, gx.gs, "value", a)
    expect(TypeError, "expected an int (i31), an AnyRef or None", gx.t.__setitem__, 0, 1.5)
    assert gx.idnull(None) is None and gx.idnullfunc(None) is None and gx.idnullextern(None) is None


def test_the_engine_checks_exact_types_and_says_what_it_expected(gx):
    """Nullability and concrete types are checked by the engine, before the call."""
    e = expect(WasmError, "type mismatch", gx.nn, None)
    assert "ref any" in str(e)
    expect(WasmError, "type mismatch", gx.get0, None)
    expect(WasmError, "type mismatch", gx.get0, gx.mkt())  # a struct of another type
    expect(WasmError, "type mismatch", setattr, gx.gs, "value", gx.mkt())
    assert gx.nn(gx.mk(0)) == 1 and gx.nn(5) == 1


def test_a_handle_of_another_store_is_refused(gx, gc_engine, gc_module):
    s, a = gx.mk(1), gx.mka(1, 1)
    other = wb.Store(gc_engine)
    ox = wb.Instance(other, gc_module).exports
    for fn, v in ((ox.id, s), (ox.idarray, a), (ox.get0, s), (ox.idexn, gx.exn(1))):
        expect(ValueError, "different Store", fn, v)
    expect(ValueError, "different Store", setattr, ox.g, "value", s)
    expect(ValueError, "different Store", ox.t.__setitem__, 0, s)
    t = ox.mk(2)
    expect(ValueError, "different Store", s.__setitem__, 2, t)
    assert s[0] == 1 and ox.g.value is None
    other.close()


def test_handles_are_made_by_wasmbind_only(gx):
    for cls in (AnyRef, StructRef, ArrayRef, ExnRef, ExternRef):
        with pytest.raises(TypeError):
            cls()
    with pytest.raises(TypeError, match="cannot pickle"):
        pickle.dumps(gx.mk(1))


def test_gc_traps_have_the_engines_codes_and_words(gx):
    cases = [(gx.null_get, (None,), TrapCode.NULL_REFERENCE), (gx.cast, (5,), TrapCode.CAST_FAILURE),
             (gx.cast, (gx.mkt(),), TrapCode.CAST_FAILURE), (gx.aget, (gx.mka(2, 0), 2), TrapCode.ARRAY_OUT_OF_BOUNDS)]
    for fn, args, code in cases:
        with pytest.raises(Trap) as info:
            fn(*args)
        assert info.value.code == code, info.value
        assert str(info.value).strip(), info.value  # the engine's message, not empty
    assert gx.cast(gx.mk(3)) == 3 and gx.aget(gx.mka(2, 4), 1) == 4


# ---- globals, tables, host functions ---------------------------------------------

def test_globals_and_tables_hold_gc_values(gx, gstore):
    s = gx.mk(4)
    gx.g.value = s
    assert gx.g.value[0] == 4
    gx.g.value = 17
    assert gx.g.value == 17
    gx.gs.value = s
    assert gx.gs.value[0] == 4
    gx.gs.value = None
    assert gx.gs.value is None
    gx.t[0] = s
    gx.t[1] = 5
    gx.t[2] = gx.mka(2, 3)
    assert gx.t[0][0] == 4 and gx.t[1] == 5 and list(gx.t[2]) == [3, 3] and gx.t[3] is None
    assert gx.t.grow(2, 9) == 4 and gx.t[5] == 9
    host = wb.Table(gstore, wb.TableType(V.eqref, 2), 3)
    assert host[0] == 3
    host[1] = s
    assert host[1][0] == 4
    with pytest.raises(TypeError):
        host[0] = gx.int("not eq")
    g = wb.Global(gstore, wb.GlobalType(V.structref, True), s)
    assert g.value[0] == 4
    with pytest.raises(TypeError):
        wb.Global(gstore, wb.GlobalType(V.structref, True), 1)


def test_host_functions_take_and_return_gc_values(gstore, gc_engine):
    need_wasm_tools()
    module = wb.Module(gc_engine, parse(r"""(module
      (type $s (struct (field i32)))
      (import "" "f" (func $f (param anyref) (result anyref)))
      (import "" "g" (func $g (param structref) (result structref)))
      (func (export "run") (result anyref) (call $f (struct.new $s (i32.const 4))))
      (func (export "run_i31") (result anyref) (call $f (ref.i31 (i32.const -12))))
      (func (export "run_struct") (result i32)
        (struct.get $s 0 (ref.cast (ref $s) (call $g (struct.new $s (i32.const 8)))))))"""))
    seen = []

    def f(x):
        seen.append(x)
        return x

    fa = wb.Func(gstore, wb.FuncType([V.anyref], [V.anyref]), f)
    fs = wb.Func(gstore, wb.FuncType([V.structref], [V.structref]), f)
    inst = wb.Instance(gstore, module, [fa, fs])
    r = inst.exports.run()
    assert isinstance(seen[0], StructRef) and seen[0][0] == 4 and r[0] == 4
    assert inst.exports.run_i31() == -12 and seen[-1] == -12
    assert inst.exports.run_struct() == 8
    assert seen[0][0] == 4  # still alive after the call
    # a host result of the wrong kind is the host function's TypeError, raised to the caller
    bad = wb.Func(gstore, wb.FuncType([V.structref], [V.structref]), lambda x: 5)
    inst2 = wb.Instance(gstore, module, [fa, bad])
    with pytest.raises(TypeError, match="structref"):
        inst2.exports.run_struct()
    bad2 = wb.Func(gstore, wb.FuncType([V.anyref], [V.anyref]), lambda x: 2**40)
    inst3 = wb.Instance(gstore, module, [bad2, fs])
    with pytest.raises(OverflowError, match="i31"):
        inst3.exports.run()


# ---- externref and exnref ------------------------------------------------------------

def test_an_externref_made_by_the_guest_is_not_none(gx):
    s = gx.mk(6)
    x = gx.ext(s)
    assert isinstance(x, ExternRef) and gx.isnull(x) == 0
    back = gx.int(x)  # the very same reference, converted back
    assert isinstance(back, StructRef) and back[0] == 6 and gx.eq(back, s) == 1
    assert gx.int(gx.ext(5)) == 5
    assert gx.ext(None) is None
    assert gx.int(None) is None
    h = gx.int("payload")  # a host externref inside the guest: an AnyRef
    assert type(h) is AnyRef and gx.ext(h) == "payload"


def test_exnrefs_are_handles(gx):
    e = gx.exn(3)
    assert isinstance(e, ExnRef) and gx.exn_null(e) == 0 and gx.exn_null(None) == 1
    assert isinstance(gx.idexn(e), ExnRef)
    with pytest.raises(TypeError):
        gx.id(e)


# ---- lifetimes (in child processes: a wrong root would crash) -------------------------

LIFE_PRELUDE = """
import gc, sys
sys.path.insert(0, %r)
from component_build import parse
from wasmbind import *
eng = Engine(Config(wasm_gc=True, wasm_function_references=True, wasm_exceptions=True))
WAT = %r
""" % (__import__("os").path.dirname(__file__), GC_WAT)

#: ... and a store with the module's instance: ``store``, its exports ``x``
LIFE_INSTANCE = LIFE_PRELUDE + """
store = Store(eng)
x = Instance(store, Module(eng, parse(WAT))).exports
"""


def test_handles_keep_their_objects_alive_across_engine_gcs():
    need_wasm_tools()
    proc = run_py(LIFE_INSTANCE + """
keep = [x.mk(i) for i in range(50)]
arrays = [x.mka(10, i) for i in range(50)]
ext = x.ext(x.mk(-1))
for round in range(5):
    for i in range(2000):
        x.mk(i); x.mka(8, i)  # garbage for the collector
    store.gc()
    gc.collect()
assert [s[0] for s in keep] == list(range(50))
assert [a[9] for a in arrays] == list(range(50))
assert x.int(ext)[0] == -1
del keep[::2]
store.gc()
assert [s[0] for s in keep] == list(range(1, 50, 2))
print("ok")
""", timeout=120)
    assert_clean(proc, "ok")


def test_handles_outlive_their_store():
    need_wasm_tools()
    proc = run_py(LIFE_INSTANCE + """
s, a, e, xr = x.mk(1), x.mka(2, 3), x.exn(1), x.ext(x.mk(2))
store.close()
for op in (lambda: s[0], lambda: len(a), lambda: a.__setitem__(0, 1)):
    try:
        op()
    except StoreClosedError:
        pass
    else:
        raise SystemExit("no error")
assert "closed store" in repr(s)
del s, a, e, xr, x
gc.collect()
store2 = Store(eng)
x2 = Instance(store2, Module(eng, parse(WAT))).exports
s2 = x2.mk(9)
del store2, x2
gc.collect()
assert s2[0] == 9  # the handle holds its store
del s2
gc.collect()
print("ok")
""")
    assert_clean(proc, "ok")


def test_gc_types_in_an_engine_without_gc_fail_cleanly():
    need_wasm_tools()
    proc = run_py(LIFE_PRELUDE + """
plain = Engine(Config(wasm_gc=False, wasm_function_references=False, wasm_exceptions=False))
try:
    Module(plain, parse(WAT))
except CompileError as exc:
    print("refused")
store = Store(plain)
for t in ValType:
    if t.is_ref:
        try:
            f = Func(store, FuncType([t], [t]), lambda v: v)
            assert f(None) is None
            assert Global(store, GlobalType(t, True), None).value is None
            assert Table(store, TableType(t, 1))[0] is None
        except WasmError:
            pass
assert Func(store, FuncType([ValType.anyref], [ValType.i31ref]), lambda v: v)(5) == 5
print("ok")
""")
    assert_clean(proc)
    assert proc.stdout.split() == ["refused", "ok"], proc.stdout


def test_handles_dropped_in_another_thread_while_the_store_runs():
    """Unrooting needs no store: a handle may die in any thread at any time."""
    need_wasm_tools()
    proc = run_py(LIFE_INSTANCE + """
import threading
handles = [x.mk(i) for i in range(3000)]
def drop():
    while handles:
        handles.pop()
t = threading.Thread(target=drop)
t.start()
for i in range(3000):
    s = x.mk(i)
    assert x.get0(s) == i
    if i % 500 == 0:
        store.gc()
t.join()
store.gc()
print("ok")
""", timeout=120)
    assert_clean(proc, "ok")
