"""Traps: codes, frames, messages."""

import pickle

import pytest

import wasmbind
from wasmbind import Frame, Trap, TrapCode

WAT = """(module $m
  (memory 1)
  (func $f (export "unreachable") unreachable)
  (func $outer (export "outer") call $f)
  (func $div (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func $oob (export "oob") (param i32) (result i32) local.get 0 i32.load)
  (func $rec (export "rec") (param i32) (result i32) local.get 0 i32.const 1 i32.add call $rec)
  (func $ovf (export "ovf") (result i32) i32.const 0x80000000 i32.const -1 i32.div_s)
  (func $cvt (export "cvt") (result i32) f64.const nan i32.trunc_f64_s)
  (func (export "anon") unreachable)
)"""


@pytest.fixture
def ex(make):
    return make(WAT).exports


def _trap(fn, *args):
    with pytest.raises(Trap) as info:
        fn(*args)
    return info.value


def test_unreachable(ex):
    t = _trap(ex.unreachable)
    assert t.code is TrapCode.UNREACHABLE
    assert "unreachable" in t.message
    assert isinstance(t, wasmbind.WasmError)


def test_codes(ex):
    assert _trap(ex.div, 1, 0).code is TrapCode.INTEGER_DIVISION_BY_ZERO
    assert _trap(ex.oob, 65536).code is TrapCode.MEMORY_OUT_OF_BOUNDS
    assert _trap(ex.oob, -1).code is TrapCode.MEMORY_OUT_OF_BOUNDS
    assert _trap(ex.ovf).code is TrapCode.INTEGER_OVERFLOW
    assert _trap(ex.cvt).code is TrapCode.BAD_CONVERSION_TO_INTEGER


def test_stack_overflow(ex):
    t = _trap(ex.rec, 0)
    assert t.code is TrapCode.STACK_OVERFLOW
    assert len(t.frames) >= 10
    assert all(f.func_name == "rec" for f in t.frames)
    # the store works after a stack overflow
    assert ex.div(9, 3) == 3


def test_frames(ex):
    t = _trap(ex.outer)
    assert [f.func_name for f in t.frames] == ["f", "outer"]
    assert [f.module_name for f in t.frames] == ["m", "m"]
    assert [f.func_index for f in t.frames] == [0, 1]
    assert all(isinstance(f, Frame) for f in t.frames)
    assert t.frames[0].module_offset > 0
    anon = _trap(ex.anon).frames[0]
    assert anon.func_name is None and anon.func_index == 7


def test_str_shows_backtrace(ex):
    text = str(_trap(ex.outer))
    assert "wasm backtrace" in text
    assert "m!f" in text and "m!outer" in text
    assert text.index("m!f") < text.index("m!outer")
    anon = str(_trap(ex.anon))
    assert "<wasm function 7>" in anon


def test_message_is_clean(ex):
    t = _trap(ex.div, 1, 0)
    assert "divide by zero" in t.message
    assert "wasm backtrace" not in t.message  # frames are rendered by Trap itself


def test_trap_through_host_frames(store, engine):
    m = wasmbind.Module(engine, '(module $outer (import "h" "h" (func $h))'
                                ' (func $go (export "go") call $h))')
    inner_wat = '(module $inner (func $boom (export "boom") unreachable))'
    inner = wasmbind.Instance(store, wasmbind.Module(engine, inner_wat))
    inst = wasmbind.Instance(store, m, [lambda: inner.exports.boom()])
    t = _trap(inst.exports.go)
    assert t.code is TrapCode.UNREACHABLE
    assert t.frames[0].module_name == "inner" and t.frames[0].func_name == "boom"


def test_trap_pickles():
    t = Trap("msg", TrapCode.UNREACHABLE, [Frame(1, "f", "m", 2, 3)])
    t2 = pickle.loads(pickle.dumps(t))
    assert t2.code is TrapCode.UNREACHABLE and t2.frames == t.frames and t2.message == "msg"
    assert str(t2) == str(t)


def test_trap_without_frames_str():
    assert str(Trap("plain")) == "plain"
    assert Trap("plain").code is None and Trap("plain").frames == ()


def test_frame_str():
    assert str(Frame(3, None, None, 0, 16)) == "0x10 - <unknown>!<wasm function 3>"
    assert str(Frame(3, "f", "m", 0, 255)) == "0xff - m!f"


def test_trap_code_from_engine():
    assert TrapCode._from_engine(9) is TrapCode.UNREACHABLE
    assert TrapCode._from_engine(999) is None
