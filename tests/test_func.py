"""Calling Wasm functions: argument and result conversion."""

import math
import struct

import pytest

import wasmbind
from wasmbind import Func, FuncType, ValType

from support import F32_BITS, FAILING, assert_clean, f32_float, float_bits, run_py

WAT = """(module
  (func (export "id32") (param i32) (result i32) local.get 0)
  (func (export "id64") (param i64) (result i64) local.get 0)
  (func (export "idf32") (param f32) (result f32) local.get 0)
  (func (export "idf64") (param f64) (result f64) local.get 0)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "nothing"))
  (func (export "multi") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
    local.get 3 local.get 2 local.get 1 local.get 0)
  (func (export "ext") (param externref) (result externref) local.get 0)
  (func (export "isnull") (param externref) (result i32) local.get 0 ref.is_null)
  (func (export "fr") (param funcref) (result funcref) local.get 0)
  (func (export "mixed") (param i32 externref f64) (result externref i32) local.get 1 local.get 0)
  (func (export "u32") (param i32) (result i64) local.get 0 i64.extend_i32_u)
  (func (export "many") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (result i32)
    local.get 0 local.get 19 i32.add)
)"""


@pytest.fixture
def ex(make):
    return make(WAT).exports


def test_simple_calls(ex):
    assert ex.add(2, 3) == 5
    assert ex.add(-1, 1) == 0
    assert ex.add(0x7FFFFFFF, 1) == -0x80000000  # wraps, returned signed
    assert ex.nothing() is None


@pytest.mark.parametrize("value, expected", [
    (0, 0), (1, 1), (-1, -1), (-2**31, -2**31), (2**31 - 1, 2**31 - 1),
    (2**31, -2**31), (2**32 - 1, -1), (0xDEADBEEF, 0xDEADBEEF - 2**32),
])
def test_i32_range(ex, value, expected):
    assert ex.id32(value) == expected


def test_i32_unsigned_view(ex):
    assert ex.u32(2**32 - 1) == 2**32 - 1
    assert ex.u32(-1) == 2**32 - 1


@pytest.mark.parametrize("value", [2**32, -2**31 - 1, 2**64, -2**100])
def test_i32_overflow(ex, value):
    with pytest.raises(OverflowError):
        ex.id32(value)


@pytest.mark.parametrize("value, expected", [
    (0, 0), (-1, -1), (-2**63, -2**63), (2**63 - 1, 2**63 - 1),
    (2**63, -2**63), (2**64 - 1, -1), (2**40, 2**40),
])
def test_i64_range(ex, value, expected):
    assert ex.id64(value) == expected


@pytest.mark.parametrize("value", [2**64, -2**63 - 1, 2**200])
def test_i64_overflow(ex, value):
    with pytest.raises(OverflowError):
        ex.id64(value)


def test_int_subclasses_and_index(ex):
    class MyInt(int):
        pass

    class Idx:
        def __index__(self):
            return 12

    assert ex.id32(MyInt(5)) == 5
    assert ex.id64(Idx()) == 12
    assert ex.id32(True) == 1


class _Int(int):
    pass


class _Index:
    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value


# (fast, general) argument of each param of `multi`, and what each gives back
MULTI_ARGS = [(7, _Int(-7)), (2**40, _Index(-5)), (1.5, 3), (2.25, _Int(4))]
MULTI_WANT = [(7, -7), (2**40, -5), (1.5, 3.0), (2.25, 4.0)]


@pytest.mark.parametrize("call", [lambda f, *a: f(*a), Func.__call__], ids=["vectorcall", "tp_call"])
@pytest.mark.parametrize("mask", range(16))
def test_fast_and_general_arguments_mixed(ex, call, mask):
    # any argument may leave the fast conversion, and the next ones go back
    # to it: every value lands in its own slot, on both call entries
    pick = [(mask >> i) & 1 for i in range(4)]
    args = [MULTI_ARGS[i][p] for i, p in enumerate(pick)]
    want = tuple(MULTI_WANT[i][p] for i, p in enumerate(pick))[::-1]
    got = call(ex.multi, *args)
    assert got == want
    assert [type(v) for v in got] == [float, float, int, int]
    # an argument the general path refuses, after one it converted
    bad = list(args)
    bad[3] = "x"
    with pytest.raises(TypeError, match="argument 4"):
        call(ex.multi, *bad)
    assert call(ex.multi, *args) == want  # the store is fine afterwards


@pytest.mark.parametrize("bad", [1.5, "1", None, b"1", [1], 1j, object()])
def test_int_wrong_types(ex, bad):
    with pytest.raises(TypeError) as info:
        ex.id32(bad)
    assert "i32" in str(info.value)
    with pytest.raises(TypeError):
        ex.id64(bad)


def test_floats(ex):
    assert ex.idf64(1.5) == 1.5
    assert ex.idf64(3) == 3.0 and type(ex.idf64(3)) is float
    assert ex.idf64(2**53) == float(2**53)
    assert ex.idf32(0.1) == pytest.approx(0.1, rel=1e-7) and ex.idf32(0.1) != 0.1
    assert ex.idf32(7) == 7.0 and type(ex.idf32(7)) is float
    assert math.isnan(ex.idf64(float("nan")))
    assert ex.idf64(float("-inf")) == float("-inf")
    assert ex.idf32(1e300) == float("inf")  # f32 rounding
    assert ex.idf64(-0.0) == 0.0 and math.copysign(1, ex.idf64(-0.0)) == -1

    class F:
        def __float__(self):
            return 2.25

    assert ex.idf64(F()) == 2.25


@pytest.mark.parametrize("bad", ["1.0", None, b"x", 1j, [1.0]])
def test_float_wrong_types(ex, bad):
    with pytest.raises(TypeError) as info:
        ex.idf64(bad)
    assert "f64" in str(info.value)
    with pytest.raises(TypeError):
        ex.idf32(bad)


def test_float_int_too_big(ex):
    with pytest.raises(OverflowError):
        ex.idf64(10**400)


def test_wrong_arg_count_names_signature(ex):
    with pytest.raises(TypeError) as info:
        ex.add(1)
    msg = str(info.value)
    assert "add" in msg and "(i32, i32) -> i32" in msg and "1 given" in msg
    with pytest.raises(TypeError, match="0 given"):
        ex.add()
    with pytest.raises(TypeError, match="3 given"):
        ex.add(1, 2, 3)
    with pytest.raises(TypeError):
        ex.nothing(1)


def test_wrong_arg_type_names_position(ex):
    with pytest.raises(TypeError) as info:
        ex.add(1, "x")
    assert "argument 2" in str(info.value)
    assert "(i32, i32) -> i32" in str(info.value)
    with pytest.raises(OverflowError, match="argument 1"):
        ex.add(2**40, 1)


def test_no_keywords(ex):
    with pytest.raises(TypeError):
        ex.add(1, b=2)


def test_multi_value(ex):
    r = ex.multi(1, -2, 3.5, 4.25)
    assert r == (4.25, 3.5, -2, 1)
    assert type(r) is tuple
    assert [type(x) for x in r] == [float, float, int, int]


def test_results_tuples_kept_by_the_caller_never_change(ex):
    # the call path fills its last results tuple again once nobody holds it
    kept = [ex.multi(i, i, float(i), float(i)) for i in range(50)]
    assert kept == [(float(i), float(i), i, i) for i in range(50)]
    assert len({id(t) for t in kept}) == 50
    first = ex.multi(1, 2, 3.0, 4.0)
    second = ex.multi(5, 6, 7.0, 8.0)
    assert first == (4.0, 3.0, 2, 1) and second == (8.0, 7.0, 6, 5) and first is not second
    q, r = ex.multi(9, 10, 11.0, 12.0)[2:]
    assert (q, r) == (10, 9)
    inner = [ex.multi(1, 1, 1.0, 1.0)]
    nested = (inner, ex.multi(2, 2, 2.0, 2.0))
    assert inner[0] == (1.0, 1.0, 1, 1) and nested[1] == (2.0, 2.0, 2, 2)


def test_results_tuples_hold_no_cycles():
    import gc
    wat = '(module (func (export "two") (param i64) (result i64 i64) local.get 0 local.get 0))'
    two = wasmbind.instantiate(wat).exports.two
    t = two(2**62)
    assert t == (2**62, 2**62) and not gc.is_tracked(t)
    del t
    assert two(-1) == (-1, -1)


def test_many_params(ex):
    args = list(range(20))
    assert ex.many(*args) == 19
    with pytest.raises(TypeError, match="20 arguments"):
        ex.many(*args[:19])


def test_externref_identity(ex):
    for obj in (object(), [1, 2], "text", 12345678901234567890, ex, None):
        assert ex.ext(obj) is obj
    assert ex.isnull(None) == 1
    assert ex.isnull(0) == 0  # 0 is a Python object, not null


def test_externref_many_roundtrips(ex):
    objs = [object() for _ in range(200)]
    for o in objs:
        assert ex.ext(o) is o


def test_mixed_refs_and_numbers(ex):
    o = {"k": 1}
    r = ex.mixed(7, o, 1.0)
    assert r[0] is o and r[1] == 7
    with pytest.raises(TypeError, match="argument 3"):
        ex.mixed(7, o, "x")
    with pytest.raises(OverflowError, match="argument 1"):
        ex.mixed(2**33, o, 1.0)


def test_funcref(ex):
    f = ex.fr(ex.add)
    assert isinstance(f, Func)
    assert f(20, 22) == 42
    assert f.type == FuncType([ValType.i32, ValType.i32], [ValType.i32])
    assert ex.fr(None) is None
    with pytest.raises(TypeError, match="funcref"):
        ex.fr(lambda: 0)
    with pytest.raises(TypeError):
        ex.fr(1)


def test_funcref_other_store(ex, engine):
    other = wasmbind.Store(engine)
    f = Func(other, FuncType([], []), lambda: None)
    with pytest.raises(ValueError, match="different Store"):
        ex.fr(f)


def test_func_type_and_name(ex):
    assert ex.multi.type == FuncType(["i32", "i64", "f32", "f64"], ["f64", "f32", "i64", "i32"])
    assert ex.add.name == "add"
    assert "add" in repr(ex.add) and "(i32, i32) -> i32" in repr(ex.add)


def test_func_is_reusable_and_fast_path_consistent(ex):
    total = 0
    for i in range(1000):
        total = ex.add(total, i)
    assert total == sum(range(1000))


def test_func_constructor_validation(store):
    with pytest.raises(TypeError):
        Func(store, FuncType([], []), 42)
    with pytest.raises(TypeError):
        Func(store, "() -> ()", lambda: None)
    with pytest.raises(TypeError):
        Func(None, FuncType([], []), lambda: None)


def test_v128_values():
    # v128 params/results are ints in [0, 2**128) (run out of process: the
    # pinned engine's C API aborts when asked about v128 types)
    proc = run_py("""
    import wasmbind
    inst = wasmbind.instantiate('(module (func (export "v") (param v128) (result v128) local.get 0)'
                                ' (func (export "lane") (param v128) (result i32) local.get 0 i32x4.extract_lane 1))')
    v = inst.exports.v
    assert v(0) == 0
    assert v(2**128 - 1) == 2**128 - 1
    assert v(1 << 100) == 1 << 100
    assert inst.exports.lane(7 << 32) == 7
    for bad in (-1, 2**128):
        try:
            v(bad)
        except OverflowError:
            pass
        else:
            raise AssertionError(bad)
    try:
        v(1.0)
    except TypeError:
        pass
    else:
        raise AssertionError("float accepted")
    h = wasmbind.Func(inst.store, wasmbind.FuncType(["v128"], ["v128"]), lambda x: x ^ (2**128 - 1))
    assert h(5) == 2**128 - 1 - 5
    print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


# ---- once-only construction; conversions that run Python code ---------------


def test_uninitialized_func_raises():
    # Func.__new__ without __init__: every way in raises (it used to segfault)
    proc = run_py(FAILING + """
from wasmbind import *
s = Store()
f = Func.__new__(Func)
inst = Instance(s, Module(None, '(module (func (export "fr") (param funcref) (result funcref) local.get 0)'
                                ' (table (export "t") 1 funcref))'))
actions = [lambda: f(), lambda: f(*()), lambda: Func.__call__(f), lambda: f(1, 2),
           lambda: f.map([1.0]), lambda: f.type, lambda: inst.exports.fr(f),
           lambda: inst.exports.t.__setitem__(0, f), lambda: Global(s, GlobalType("funcref", True), f),
           lambda: Linker(s).define(s, "m", "f", f)]
assert "uninitialized" in repr(f) and f.name is None
print(len(actions), failing(actions, WasmError, "not initialized"))
""")
    assert_clean(proc, "10 []")


def test_func_constructed_once(store):
    f = Func(store, FuncType([], ["i32"]), lambda: 1)
    with pytest.raises(wasmbind.WasmError, match="already initialized"):
        f.__init__(wasmbind.Store(store.engine), FuncType(["i64"], []), lambda x: None)
    assert f() == 1 and f.type == FuncType([], ["i32"])
    failed = Func.__new__(Func)
    with pytest.raises(TypeError):
        failed.__init__(store, FuncType([], []), 42)
    with pytest.raises(wasmbind.WasmError, match="already initialized"):
        failed.__init__(store, FuncType([], []), lambda: None)
    with pytest.raises(wasmbind.WasmError, match="not initialized"):
        failed()


def test_argument_conversion_closing_the_store():
    # __index__ runs Python code between the store check and the call: closing
    # the store there must not let the call use the freed store
    proc = run_py("""
    from wasmbind import *
    s = Store()
    inst = Instance(s, Module(None, '(module (func (export "id") (param i32) (result i32) local.get 0)'
                                    ' (func (export "mixed") (param i32 externref) (result externref) local.get 1))'))
    id_, mixed = inst.exports.id, inst.exports.mixed
    class Closes:
        def __index__(self):
            try:
                s.close()
                print("closed")
            except WasmError as exc:
                print("refused")
            return 7
    # the reference-type path holds the store while converting: close is refused
    o = object()
    assert mixed(Closes(), o) is o
    # the raw path checks the store again after converting
    try:
        id_(Closes())
    except StoreClosedError:
        print("raised")
    """)
    assert_clean(proc)
    assert proc.stdout.split() == ["refused", "closed", "raised"]


# ---- f32 bits: every f32 value, NaN payloads included, crosses unchanged ----

F32_WAT = """(module
  (func (export "mk") (param i32) (result f32) local.get 0 f32.reinterpret_i32)
  (func (export "bits") (param f32) (result i32) local.get 0 i32.reinterpret_f32)
  (func (export "mk2") (param i32 i32) (result f32 i32 f32)
    local.get 0 f32.reinterpret_i32 local.get 1 local.get 1 f32.reinterpret_i32)
  (func (export "bits_ref") (param externref f32) (result i32) local.get 1 i32.reinterpret_f32)
  (func (export "mk_ref") (param i32) (result f32 externref)
    local.get 0 f32.reinterpret_i32 ref.null extern)
  (func (export "id") (param f32) (result f32) local.get 0)
)"""


@pytest.fixture
def f32(make):
    return make(F32_WAT).exports


@pytest.mark.parametrize("bits", F32_BITS, ids=hex)
def test_f32_results_and_arguments_keep_every_bit(f32, bits):
    x = f32.mk(bits)
    assert float_bits(x) == float_bits(f32_float(bits))  # the documented widening
    assert f32.bits(x) & 0xFFFFFFFF == bits  # and back: the fast path of exact floats
    assert f32.bits(x) & 0xFFFFFFFF == bits
    assert float_bits(f32.id(x)) == float_bits(x)


@pytest.mark.parametrize("bits", F32_BITS, ids=hex)
def test_f32_bits_on_the_slow_and_tagged_paths(f32, bits):
    x = f32_float(bits)

    class F(float):
        pass

    assert f32.bits(F(x)) & 0xFFFFFFFF == bits  # a float subclass: the general conversion
    assert f32.bits_ref(None, x) & 0xFFFFFFFF == bits  # a signature with references
    a, b, c = f32.mk2(bits, bits)  # several results (the kept results tuple)
    assert float_bits(a) == float_bits(c) == float_bits(x) and b & 0xFFFFFFFF == bits
    v, r = f32.mk_ref(bits)
    assert float_bits(v) == float_bits(x) and r is None


def test_f64_nans_without_an_f32_payload_become_a_quiet_nan_of_their_sign(f32):
    # a NaN whose payload is only in the low 29 bits has no f32 form: the quiet NaN, sign kept
    low = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000001))[0]
    neg = struct.unpack("<d", struct.pack("<Q", 0xFFF0000000000001))[0]
    assert f32.bits(low) & 0xFFFFFFFF == 0x7FC00000
    assert f32.bits(neg) & 0xFFFFFFFF == 0xFFC00000
    assert f32.bits(float("nan")) & 0xFFFFFFFF == 0x7FC00000
    # numbers still round to nearest, as a C cast does
    assert f32.bits(1e300) & 0xFFFFFFFF == 0x7F800000
    assert f32.bits(1.0000000001) & 0xFFFFFFFF == 0x3F800000
    assert f32.bits(1e-46) & 0xFFFFFFFF == 0
