"""Wasm exceptions crossing the boundary: escaping to Python as WasmException
(tag and payload), thrown from Python host functions into the guest."""

import math
import pickle

import pytest

from wasmbind import (
    Func,
    FuncType,
    Instance,
    Linker,
    Module,
    Store,
    Tag,
    TagType,
    ValType,
    WasmError,
    WasmException,
)

from support import assert_clean, run_py

i32, i64, f32, f64 = ValType.i32, ValType.i64, ValType.f32, ValType.f64

GUEST = """(module
  (import "m" "t" (tag $t (param i32 f64)))
  (import "m" "host" (func $host (param i32)))
  (tag $own (export "own") (param i64))
  (func (export "throw") (param i32 f64) (throw $t (local.get 0) (local.get 1)))
  (func (export "throw_own") (param i64) (throw $own (local.get 0)))
  ;; calls the host; returns -1 if nothing was thrown, else what $t carried
  (func (export "catch_host") (param i32) (result i32 f64)
    (block $h (result i32 f64)
      (try_table (catch $t $h)
        (call $host (local.get 0)))
      (return (i32.const -1) (f64.const 0)))
    return)
  (func (export "catch_all_host") (param i32) (result i32)
    (block $h
      (try_table (catch_all $h)
        (call $host (local.get 0)))
      (return (i32.const 0)))
    (i32.const 1)))"""


def make(engine, host=None, tag=None):
    s = Store(engine)
    tag = tag or Tag(s, TagType([i32, f64]))
    inst = Instance(s, Module(engine, GUEST), {"m": {"t": tag, "host": host or (lambda x: None)}})
    return s, tag, inst


def test_exception_escaping_carries_tag_and_payload(exn_engine):
    s, tag, inst = make(exn_engine)
    with pytest.raises(WasmException) as info:
        inst.exports.throw(7, 2.5)
    e = info.value
    assert isinstance(e, WasmError)
    assert e.tag == tag and e.payload == (7, 2.5)
    assert "uncaught WebAssembly exception" in str(e)
    with pytest.raises(WasmException) as info:
        inst.exports.throw_own(-2**63)
    assert info.value.tag == inst.exports["own"] and info.value.payload == (-2**63,)
    # the store stays usable, and nothing is left pending in it
    assert inst.exports.catch_host(1) == (-1, 0.0)
    with pytest.raises(WasmException):
        inst.exports.throw(1, math.inf)


def test_host_function_throws_into_the_guest(exn_engine):
    box = {}

    def host(x):
        if x:
            raise WasmException(box["tag"], x * 10, 0.5)

    s = Store(exn_engine)
    box["tag"] = Tag(s, TagType([i32, f64]))
    inst = Instance(s, Module(exn_engine, GUEST), {"m": {"t": box["tag"], "host": host}})
    assert inst.exports.catch_host(0) == (-1, 0.0)
    assert inst.exports.catch_host(4) == (40, 0.5)
    assert inst.exports.catch_all_host(3) == 1 and inst.exports.catch_all_host(0) == 0
    for _ in range(3):  # repeatable
        assert inst.exports.catch_host(-1) == (-10, 0.5)


def test_host_exception_of_another_tag_escapes_to_python(exn_engine):
    box = {}

    def host(x):
        raise WasmException(box["other"], 99)

    s = Store(exn_engine)
    box["other"] = Tag(s, TagType([i64]))
    inst = Instance(s, Module(exn_engine, GUEST),
                    {"m": {"t": Tag(s, TagType([i32, f64])), "host": host}})
    with pytest.raises(WasmException) as info:
        inst.exports.catch_host(1)  # try_table catches $t only
    assert info.value.tag == box["other"] and info.value.payload == (99,)
    assert inst.exports.catch_all_host(1) == 1


@pytest.mark.parametrize("payload, match", [
    ((1,), "2 value"),
    ((1, 2.0, 3), "2 value"),
    (("x", 1.0), "payload value 0"),
    ((1, "y"), "payload value 1"),
    ((2**40, 1.0), "payload value 0"),
    ((None, 1.0), "payload value 0"),
])
def test_wrong_payload_is_a_type_error_not_a_throw(exn_engine, payload, match):
    box = {}

    def host(x):
        if x:
            raise WasmException(box["tag"], *payload)

    s = Store(exn_engine)
    box["tag"] = Tag(s, TagType([i32, f64]))
    inst = Instance(s, Module(exn_engine, GUEST), {"m": {"t": box["tag"], "host": host}})
    with pytest.raises((TypeError, OverflowError), match=match):
        inst.exports.catch_host(1)
    with pytest.raises((TypeError, OverflowError), match=match):
        inst.exports.catch_all_host(1)  # not thrown at all: catch_all does not see it
    box["tag"] = Tag(s, TagType([i32, f64]))
    assert inst.exports.catch_host(0) == (-1, 0.0)  # the store stays usable


def test_bad_tags_in_a_raised_wasm_exception(exn_engine):
    box = {}

    def host(x):
        if x:
            raise WasmException(box["tag"], 1, 1.0)

    s = Store(exn_engine)
    inst = Instance(s, Module(exn_engine, GUEST),
                    {"m": {"t": Tag(s, TagType([i32, f64])), "host": host}})
    for bad, err, match in (("not a tag", TypeError, "must be a wasmbind.Tag"),
                            (Tag(Store(exn_engine), TagType([i32, f64])), ValueError, "different Store")):
        box["tag"] = bad
        with pytest.raises(err, match=match):
            inst.exports.catch_host(1)
    assert inst.exports.catch_host(0) == (-1, 0.0)


def test_exceptions_through_linker_host_functions(exn_engine):
    box = {}
    linker = Linker(exn_engine)
    linker.define_func("m", "host", FuncType([i32], []),
                       lambda x: (_ for _ in ()).throw(WasmException(box["tag"], x, 1.5)))
    s = Store(exn_engine)
    box["tag"] = Tag(s, TagType([i32, f64]))
    linker.define(s, "m", "t", box["tag"])
    inst = linker.instantiate(s, Module(exn_engine, GUEST))
    assert inst.exports.catch_host(5) == (5, 1.5)


def test_func_with_references_throws_too(exn_engine):
    wat = """(module
      (import "m" "t" (tag $t (param externref)))
      (import "m" "h" (func $h (param externref)))
      (func (export "go") (param externref) (result externref)
        (block $c (result externref)
          (try_table (catch $t $c) (call $h (local.get 0)))
          (return (ref.null extern)))))"""
    s = Store(exn_engine)
    tag = Tag(s, TagType([ValType.externref]))
    payload = object()

    def h(x):
        raise WasmException(tag, [x, payload])

    inst = Instance(s, Module(exn_engine, wat), [tag, Func(s, FuncType([ValType.externref], []), h)])
    out = inst.exports.go("hello")
    assert out == ["hello", payload] and out[1] is payload


def test_start_function_exception_escapes_instantiation(exn_engine):
    wat = """(module (tag $t (param i32)) (func $s (throw $t (i32.const 3))) (start $s))"""
    s = Store(exn_engine)
    with pytest.raises(WasmException) as info:
        Instance(s, Module(exn_engine, wat))
    assert info.value.payload == (3,)
    assert info.value.tag.type == TagType([i32])


def test_python_exceptions_other_than_wasm_exception_are_not_catchable(exn_engine):
    class Boom(Exception):
        pass

    def host(x):
        raise Boom()

    s, tag, inst = make(exn_engine, host)
    with pytest.raises(Boom):
        inst.exports.catch_all_host(1)  # a host failure is a trap, not a Wasm exception


def test_wasm_exception_is_a_plain_python_exception_too():
    e = WasmException("t", 1, 2)
    assert e.tag == "t" and e.payload == (1, 2)
    back = pickle.loads(pickle.dumps(e))
    assert back.tag == "t" and back.payload == (1, 2)


def test_uncaught_exception_in_a_child_process_is_clean():
    proc = run_py('''
from wasmbind import Config, Engine, Instance, Module, Store, WasmException
e = Engine(Config(wasm_exceptions=True))
s = Store(e)
inst = Instance(s, Module(e, """(module (tag $t (param f32 i64))
  (func (export "f") (throw $t (f32.const 1.5) (i64.const -1))))"""))
for _ in range(200):
    try:
        inst.exports.f()
    except WasmException as exc:
        assert exc.payload == (1.5, -1), exc.payload
s.close()
print("ok")
''')
    assert_clean(proc, "ok")


# ---- the exception object itself: WasmException.exnref, ExnRef -------------

EXN_WAT = """(module
  (import "m" "host" (func $host))
  (tag $t (export "t") (param i32 i64))
  (func (export "throw") (param i32 i64) (throw $t (local.get 0) (local.get 1)))
  ;; catches what the host throws as an exnref and hands it back
  (func (export "catch_ref") (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (call $host))
      (ref.null exn)))
  (func (export "rethrow") (param exnref) (throw_ref (local.get 0)))
  ;; the payload of a $t the host throws, or (-1, -1)
  (func (export "catch_t") (result i32 i64)
    (block $h (result i32 i64)
      (try_table (catch $t $h) (call $host))
      (return (i32.const -1) (i64.const -1)))))"""


def exn_instance(engine, host=lambda: None):
    s = Store(engine)
    return s, Instance(s, Module(engine, EXN_WAT), {"m": {"host": host}})


def test_escaping_exception_carries_its_exnref(exn_engine):
    from wasmbind import ExnRef

    s, inst = exn_instance(exn_engine)
    with pytest.raises(WasmException) as info:
        inst.exports.throw(5, -7)
    e = info.value
    assert isinstance(e.exnref, ExnRef) and e.exnref.store is s
    assert e.exnref.tag == e.tag == inst.exports["t"]
    assert e.exnref.payload == e.payload == (5, -7)
    # the handle keeps the object alive: thrown back into the guest it is the same one
    with pytest.raises(WasmException) as again:
        inst.exports.rethrow(e.exnref)
    assert again.value.payload == (5, -7) and again.value.tag == e.tag


def test_exnref_of_a_null_rethrow_is_a_trap(exn_engine):
    from wasmbind import Trap

    s, inst = exn_instance(exn_engine)
    with pytest.raises(Trap) as info:
        inst.exports.rethrow(None)
    assert not isinstance(info.value, WasmException)


def test_host_throws_an_existing_exnref_again(exn_engine):
    box = {}

    def host():
        raise WasmException(box["exn"])

    s, inst = exn_instance(exn_engine, host)
    with pytest.raises(WasmException) as info:
        inst.exports.throw(1, 2)
    box["exn"] = info.value.exnref
    # caught by the guest as the same exception: its tag and payload
    assert inst.exports.catch_t() == (1, 2)
    caught = inst.exports.catch_ref()
    assert caught.tag == inst.exports["t"] and caught.payload == (1, 2)
    # re-raising a caught WasmException throws its exnref again too
    def host2():
        raise box["err"]

    s2, inst2 = exn_instance(exn_engine, host2)
    with pytest.raises(WasmException) as info:
        inst2.exports.throw(9, 10)
    box["err"] = info.value
    assert inst2.exports.catch_t() == (9, 10)


def test_exnref_made_by_the_host_from_a_tag(exn_engine):
    box = {}

    def host():
        raise WasmException(box["tag"], 3, 4)

    s, inst = exn_instance(exn_engine, host)
    box["tag"] = inst.exports["t"]
    e = inst.exports.catch_ref()
    assert e.tag == box["tag"] and e.payload == (3, 4)
    box["tag"] = Tag(s, TagType([i32, i64]))  # another tag of the same type: not $t
    with pytest.raises(WasmException) as info:
        inst.exports.catch_t()  # not caught by (catch $t): escapes
    assert info.value.tag == box["tag"] and info.value.exnref.tag == box["tag"]
    assert inst.exports.catch_ref().tag == box["tag"]


def test_bad_exnrefs_in_a_raised_wasm_exception(exn_engine):
    box = {}

    def host():
        raise box["exc"]

    s, inst = exn_instance(exn_engine, host)
    other_s, other = exn_instance(exn_engine)
    with pytest.raises(WasmException) as info:
        other.exports.throw(1, 1)
    box["exc"] = WasmException(info.value.exnref)  # an exnref of another store
    with pytest.raises(ValueError, match="different Store"):
        inst.exports.catch_t()
    with pytest.raises(TypeError, match="takes no payload"):
        WasmException(info.value.exnref, 1)
    exc = WasmException(inst.exports["t"], 1, 2)
    exc.exnref = "not an exnref"
    box["exc"] = exc
    with pytest.raises(TypeError, match="must be a wasmbind.ExnRef"):
        inst.exports.catch_t()
    # the store is still usable after each refusal
    with pytest.raises(WasmException):
        inst.exports.throw(2, 2)


def test_exnref_handle_outlives_its_store_cleanly():
    proc = run_py('''
import gc
from wasmbind import Config, Engine, Instance, Module, Store, WasmException, WasmError
e = Engine(Config(wasm_exceptions=True))
s = Store(e)
inst = Instance(s, Module(e, """(module (tag $t (param i32))
  (func (export "f") (param i32) (throw $t (local.get 0))))"""))
kept = []
for i in range(300):
    try:
        inst.exports.f(i)
    except WasmException as exc:
        kept.append(exc.exnref)
assert [k.payload[0] for k in kept[:3]] == [0, 1, 2]
del kept[::2]
gc.collect()
assert kept[0].payload == (1,)
s.close()
try:
    kept[0].payload
except WasmError as why:
    assert "closed" in str(why), why
kept = None
gc.collect()
print("ok")
''')
    assert_clean(proc, "ok")
