"""Property-based tests: random modules, values and memory accesses give a
result or a clean Python exception, never a crash."""

import math
import os
import struct

import pytest

from wasmbind import CompileError, Engine, Instance, Memory, MemoryType, Module, Store

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

HEADER = b"\0asm\x01\0\0\0"
# WASMBIND_FUZZ_EXAMPLES=5000 for a longer run by hand
FAST = settings(max_examples=int(os.environ.get("WASMBIND_FUZZ_EXAMPLES", "300")), deadline=None,
                database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ENGINE = Engine()
IDENTITY = Module(ENGINE, """(module
  (func (export "i32") (param i32) (result i32) local.get 0)
  (func (export "i64") (param i64) (result i64) local.get 0)
  (func (export "f32") (param f32) (result f32) local.get 0)
  (func (export "f64") (param f64) (result f64) local.get 0)
  (func (export "v128") (param v128) (result v128) local.get 0))""")
EX = Instance(Store(ENGINE), IDENTITY).exports


@FAST
@given(st.binary(max_size=300))
def test_random_bytes_after_the_header_compile_or_raise_compile_error(tail):
    try:
        Module(ENGINE, HEADER + tail)
    except CompileError:
        pass


@FAST
@given(st.binary(min_size=1, max_size=200))
def test_random_bytes_compile_or_raise_compile_error(data):
    try:
        Module(ENGINE, data)
    except CompileError:
        pass


@FAST
@given(st.text(max_size=200))
def test_random_text_as_wat_compiles_or_raises_compile_error(text):
    try:
        Module(ENGINE, "(module " + text + ")")
    except CompileError:
        pass


def _signed(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


@FAST
@given(st.integers(min_value=-(2**80), max_value=2**80))
def test_integers_round_trip_or_overflow(v):
    for name, bits in (("i32", 32), ("i64", 64)):
        f = getattr(EX, name)
        if -(2 ** (bits - 1)) <= v < 2**bits:
            assert f(v) == _signed(v, bits)
        else:
            with pytest.raises(OverflowError):
                f(v)


@FAST
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_round_trip(x):
    r64 = EX.f64(x)
    assert r64 == x or (math.isnan(x) and math.isnan(r64))
    expected32 = struct.unpack("f", struct.pack("f", x))[0] if abs(x) < 3.5e38 or not math.isfinite(x) else None
    r32 = EX.f32(x)
    if expected32 is None:
        assert math.isinf(r32)
    else:
        assert r32 == expected32 or (math.isnan(expected32) and math.isnan(r32))


@FAST
@given(st.integers(min_value=-(2**130), max_value=2**130))
def test_v128_round_trip_or_overflow(v):
    if 0 <= v < 2**128:
        assert EX.v128(v) == v
    else:
        with pytest.raises(OverflowError):
            EX.v128(v)


@FAST
@given(st.lists(st.tuples(st.integers(-(2**20), 2**20), st.integers(-(2**10), 2**18), st.booleans()),
                max_size=40))
def test_memory_access_matches_a_bytearray_model(ops):
    store = Store(ENGINE)
    mem = Memory(store, MemoryType(1, 4))
    model = bytearray(mem.data_len)
    for offset, length, write in ops:
        if write:
            length = abs(length)  # a write's length is that of its data
        in_bounds = 0 <= offset and 0 <= length and offset + length <= len(model)
        if write:
            data = bytes((offset + i) & 0xFF for i in range(length))
            if in_bounds:
                mem.write(offset, data)
                model[offset:offset + length] = data
            else:
                with pytest.raises(IndexError):
                    mem.write(offset, data)
        else:
            if in_bounds:
                assert mem.read(offset, length) == bytes(model[offset:offset + length])
            else:
                with pytest.raises(IndexError):
                    mem.read(offset, length)
    assert bytes(memoryview(mem)) == bytes(model)
    store.close()
