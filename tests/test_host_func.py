"""Host functions: Python callables called from Wasm, Caller, exceptions."""

import traceback

import pytest

import wasmbind
from wasmbind import Caller, Func, FuncType, Instance, Module, Trap, ValType

from support import F32_BITS, f32_float, float_bits

GREET = """(module
  (import "env" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from wasm")
  (func (export "run") (result i32) (call $log (i32.const 16) (i32.const 15)))
)"""


def test_caller_reads_guest_string(store, engine):
    seen = []

    def log(caller, ptr, length):
        assert isinstance(caller, Caller)
        assert caller.store is store
        mem = caller["memory"]
        assert mem is not None
        seen.append(mem.read(ptr, length).decode())
        seen.append(bytes(caller.exports.memory[ptr:ptr + 5]))
        assert "memory" in caller and "nope" not in caller
        assert caller.get("nope") is None
        return length * 2

    f = Func(store, FuncType(["i32", "i32"], ["i32"]), log, access_caller=True)
    inst = Instance(store, Module(engine, GREET), [f])
    assert inst.exports.run() == 30
    assert seen == ["hello from wasm", b"hello"]


def test_caller_missing_export_and_expiry(store, engine):
    kept = []

    def log(caller, ptr, length):
        kept.append(caller)
        with pytest.raises(KeyError, match="nope"):
            caller["nope"]
        with pytest.raises(AttributeError, match="nope"):
            caller.exports.nope
        with pytest.raises(TypeError):
            caller.get(5)
        return 0

    inst = Instance(store, Module(engine, GREET),
                    [Func(store, FuncType(["i32", "i32"], ["i32"]), log, access_caller=True)])
    inst.exports.run()
    assert "expired" in repr(kept[0])
    with pytest.raises(wasmbind.WasmError):
        kept[0].get("memory")
    with pytest.raises(TypeError):
        Caller()


def test_caller_with_ref_signature(store, engine):
    got = []

    def host(caller, ref):
        got.append((caller["memory"].size, ref))
        return ref

    m = Module(engine, '(module (import "m" "h" (func $h (param externref) (result externref)))'
                       ' (memory (export "memory") 2)'
                       ' (func (export "f") (param externref) (result externref) local.get 0 call $h))')
    f = Func(store, FuncType(["externref"], ["externref"]), host, access_caller=True)
    inst = Instance(store, m, [f])
    o = object()
    assert inst.exports.f(o) is o
    assert got == [(2, o)]


def test_host_receives_values(store, engine):
    got = []
    m = Module(engine, '(module (import "m" "h" (func $h (param i32 i64 f32 f64)))'
                       ' (func (export "f") (call $h (i32.const -1) (i64.const -9) (f32.const 1.5) (f64.const 2.5))))')
    Instance(store, m, [lambda *a: got.append(a)]).exports.f()
    assert got == [(-1, -9, 1.5, 2.5)]


def test_host_multi_results(store, engine):
    m = Module(engine, '(module (import "m" "h" (func $h (result i32 f64)))'
                       ' (func (export "f") (result i32 f64) call $h))')
    f = Instance(store, m, [lambda: (3, 4.5)]).exports.f
    assert f() == (3, 4.5)
    f2 = Instance(store, m, [lambda: [5, 6]]).exports.f
    assert f2() == (5, 6.0)


def test_direct_call_of_host_func(store):
    f = Func(store, FuncType(["i32", "i32"], ["i32"]), lambda a, b: a - b)
    assert f(10, 3) == 7
    assert f.type == FuncType(["i32", "i32"], ["i32"])
    assert f.name == "<lambda>"
    g = Func(store, FuncType(["externref"], ["externref"]), lambda x: x)
    o = object()
    assert g(o) is o


def _call_raises(store, engine, fn, sig=FuncType([], [])):
    m = Module(engine, '(module (import "m" "h" (func $h)) (func (export "f") call $h))')
    inst = Instance(store, m, [Func(store, sig, fn)])
    return inst.exports.f


@pytest.mark.parametrize("exc", [ValueError("boom"), KeyboardInterrupt(), SystemExit(3), GeneratorExit()])
def test_exception_comes_out_as_same_object(store, engine, exc):
    def raiser():
        raise exc

    f = _call_raises(store, engine, raiser)
    with pytest.raises(BaseException) as info:
        f()
    assert info.value is exc
    tb = "".join(traceback.format_tb(info.value.__traceback__))
    assert "raiser" in tb  # the host function's frame is in the traceback
    # the store is usable afterwards, and the exception is not raised again
    with pytest.raises(BaseException) as again:
        f()
    assert again.value is exc


def test_exception_with_ref_signature(store, engine):
    err = LookupError("x")

    def h(ref):
        raise err

    m = Module(engine, '(module (import "m" "h" (func $h (param externref)))'
                       ' (func (export "f") (param externref) local.get 0 call $h))')
    inst = Instance(store, m, [Func(store, FuncType(["externref"], []), h)])
    with pytest.raises(LookupError) as info:
        inst.exports.f(None)
    assert info.value is err


def test_store_usable_after_host_exception(store, engine):
    m = Module(engine, '(module (import "m" "h" (func $h (param i32) (result i32)))'
                       ' (func (export "f") (param i32) (result i32) local.get 0 call $h))')

    def h(x):
        if x < 0:
            raise ValueError(x)
        return x + 1

    f = Instance(store, m, [h]).exports.f
    with pytest.raises(ValueError):
        f(-1)
    assert f(1) == 2
    with pytest.raises(ValueError):
        f(-2)
    assert f(5) == 6


NESTED = """(module
  (import "m" "host" (func $host (param i32) (result i32)))
  (func (export "down") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub call $host i32.const 1 i32.add end)
)"""


def test_nested_wasm_host_wasm(store, engine):
    depth = []
    holder = {}

    def host(n):
        depth.append(n)
        return holder["down"](n)

    inst = Instance(store, Module(engine, NESTED), [host])
    holder["down"] = inst.exports.down
    assert inst.exports.down(10) == 10
    assert depth == list(range(9, -1, -1))


def test_nested_exception_propagates_through_all_levels(store, engine):
    holder = {}
    err = ArithmeticError("deep")

    def host(n):
        if n == 3:
            raise err
        return holder["down"](n)

    inst = Instance(store, Module(engine, NESTED), [host])
    holder["down"] = inst.exports.down
    with pytest.raises(ArithmeticError) as info:
        inst.exports.down(8)
    assert info.value is err
    assert inst.exports.down(2) == 2  # store still fine


def test_nested_trap_inside_host_call(store, engine):
    m = Module(engine, '(module (import "m" "h" (func $h))'
                       ' (func (export "bad") unreachable)'
                       ' (func (export "f") call $h))')
    holder = {}

    def h():
        holder["bad"]()

    inst = Instance(store, m, [h])
    holder["bad"] = inst.exports.bad
    with pytest.raises(Trap) as info:
        inst.exports.f()
    assert info.value.code == wasmbind.TrapCode.UNREACHABLE


@pytest.mark.parametrize("result, exc", [
    ("str", TypeError), (None, TypeError), (2**40, OverflowError), (1.5, TypeError),
])
def test_host_returns_wrong_type(store, engine, result, exc):
    m = Module(engine, '(module (import "m" "h" (func $h (result i32))) (func (export "f") (result i32) call $h))')
    f = Instance(store, m, [lambda: result]).exports.f
    with pytest.raises(exc):
        f()
    assert Instance(store, m, [lambda: 1]).exports.f() == 1


@pytest.mark.parametrize("result", [(1,), (1, 2, 3), 5, None, "ab"])
def test_host_returns_wrong_arity(store, engine, result):
    m = Module(engine, '(module (import "m" "h" (func $h (result i32 i32)))'
                       ' (func (export "f") (result i32 i32) call $h))')
    f = Instance(store, m, [lambda: result]).exports.f
    with pytest.raises(TypeError, match="tuple of 2"):
        f()


def test_host_wrong_ref_result(store, engine):
    m = Module(engine, '(module (import "m" "h" (func $h (result funcref)))'
                       ' (func (export "f") (result funcref) call $h))')
    f = Instance(store, m, [lambda: "not a func"]).exports.f
    with pytest.raises(TypeError, match="funcref"):
        f()


def test_host_called_with_wrong_python_arity(store, engine):
    m = Module(engine, '(module (import "m" "h" (func $h (param i32))) (func (export "f") (call $h (i32.const 1))))')
    f = Instance(store, m, [lambda: None]).exports.f
    with pytest.raises(TypeError):
        f()


def test_host_result_ignored_when_no_results(store, engine):
    m = Module(engine, '(module (import "m" "h" (func $h)) (func (export "f") call $h))')
    assert Instance(store, m, [lambda: "ignored"]).exports.f() is None


def test_host_func_returning_funcref(store, engine):
    m = Module(engine, '(module (import "m" "h" (func $h (result funcref)))'
                       ' (type $t (func (result i32)))'
                       ' (table 1 funcref)'
                       ' (func (export "f") (result i32) i32.const 0 call $h table.set'
                       '   i32.const 0 call_indirect (type $t)))')
    target = Func(store, FuncType([], ["i32"]), lambda: 99)
    assert Instance(store, m, [lambda: target]).exports.f() == 99


def _returning(store, engine, kind, fn):
    m = Module(engine, '(module (import "m" "h" (func $h (result %s)))'
                       ' (func (export "f") (result %s) call $h))' % (kind, kind))
    return Instance(store, m, [fn]).exports.f


@pytest.mark.parametrize("kind, result, want", [
    ("i32", True, 1), ("i32", 2**32 - 1, -1), ("i32", -(2**31), -(2**31)), ("i64", 2**64 - 1, -1),
    ("i64", False, 0), ("f32", 3, 3.0), ("f64", 2**70, float(2**70)), ("f64", True, 1.0),
])
def test_host_results_past_the_fast_conversion(store, engine, kind, result, want):
    # not an exact int or float, or out of the fast range: the general conversion
    assert _returning(store, engine, kind, lambda: result)() == want


def test_host_results_of_int_subclasses_and_index(store, engine):
    np = pytest.importorskip("numpy")

    class MyInt(int):
        pass

    assert _returning(store, engine, "i32", lambda: MyInt(7))() == 7
    assert _returning(store, engine, "i64", lambda: np.int64(-5))() == -5
    assert _returning(store, engine, "f64", lambda: np.float32(0.5))() == 0.5


def test_host_arguments_and_results_keep_their_references(store, engine):
    import sys
    kept = []
    big = 10**30
    result = 2**40 + 3

    def h(a, b):
        kept.append((a, b))
        return result

    m = Module(engine, '(module (import "m" "h" (func $h (param i64 f64) (result i64)))'
                       ' (func (export "f") (param i64 f64) (result i64) local.get 0 local.get 1 call $h))')
    f = Instance(store, m, [h]).exports.f
    before = sys.getrefcount(result)
    for i in range(1000):
        assert f(2**40 + i, i + 0.5) == result
    assert sys.getrefcount(result) == before  # neither leaked nor freed early
    assert kept == [(2**40 + i, i + 0.5) for i in range(1000)]
    assert big == 10**30


def test_host_long_signature_and_caller_paths(store, engine):
    params = " ".join(["i32"] * 20)
    gets = " ".join("(local.get %d)" % i for i in range(20))
    m = Module(engine, '(module (import "m" "h" (func $h (param %s) (result i32)))'
                       ' (func (export "f") (param %s) (result i32) %s call $h))' % (params, params, gets))
    f = Instance(store, m, [lambda *a: sum(a)]).exports.f
    assert f(*range(20)) == sum(range(20))
    seen = []

    def with_caller(caller, x):
        seen.append(caller.get("nothing"))
        return x * 2

    hf = Func(store, FuncType(["i32"], ["i32"]), with_caller, access_caller=True)
    m2 = Module(engine, '(module (import "m" "h" (func $h (param i32) (result i32)))'
                        ' (func (export "f") (param i32) (result i32) local.get 0 call $h))')
    assert Instance(store, m2, [hf]).exports.f(21) == 42 and seen == [None]



@pytest.mark.parametrize("bits", F32_BITS, ids=hex)
@pytest.mark.parametrize("refs", [False, True], ids=["raw", "tagged"])
def test_f32_host_params_and_results_keep_every_bit(store, engine, bits, refs):
    """Both trampolines (numbers only; with references) move f32 bits unchanged."""
    extra = " externref" if refs else ""
    module = Module(engine, """(module
      (import "" "h" (func $h (param f32%s) (result f32)))
      (func (export "run") (param i32) (result i32)
        local.get 0 f32.reinterpret_i32 %s call $h i32.reinterpret_f32))"""
                    % (extra, "ref.null extern" if refs else ""))
    seen = []

    def h(x, *rest):
        seen.append(float_bits(x))
        return x

    params = [ValType.f32] + ([ValType.externref] if refs else [])
    inst = Instance(store, module, [Func(store, FuncType(params, [ValType.f32]), h)])
    assert inst.exports.run(bits) & 0xFFFFFFFF == bits
    assert seen == [float_bits(f32_float(bits))]
