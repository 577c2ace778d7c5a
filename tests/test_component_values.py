"""Component values both ways: every WIT kind into a component and back out
(the kitchen component's echoes, written in Python and built by
componentize-py; the echo component's string / bytes / record paths), and
every bad value refused with an error naming where it is."""

import array
import math
import struct

import pytest

from wasmbind import Trap
from wasmbind.component import ComponentError, Err, Ok, Record, Some, Variant

np = pytest.importorskip("numpy")


INTS = [("s8", -128, 127), ("u8", 0, 255), ("s16", -2**15, 2**15 - 1), ("u16", 0, 2**16 - 1),
        ("s32", -2**31, 2**31 - 1), ("u32", 0, 2**32 - 1), ("s64", -2**63, 2**63 - 1), ("u64", 0, 2**64 - 1)]


def test_ints_at_their_edges(kitchen):
    api, _, _ = kitchen
    for name, lo, hi in INTS:
        f = api["echo-" + name]
        for v in (lo, hi, 0, lo + 1, hi - 1):
            assert f(v) == v and type(f(v)) is int
        assert f(np.int64(1) if name != "u64" else np.uint64(hi)) in (1, hi)
        with pytest.raises(OverflowError, match=r"argument 'x': expected %s in range \[%d, %d\], got %d"
                           % (name, lo, hi, hi + 1)):
            f(hi + 1)
        with pytest.raises(OverflowError, match="expected %s" % name):
            f(lo - 1)
        for bad in ("1", 1.0, None, True, [1]):
            with pytest.raises(TypeError, match="expected %s, got %s" % (name, type(bad).__name__)):
                f(bad)


def test_bool_floats_char(kitchen):
    api, _, _ = kitchen
    assert api.echo_bool(True) is True and api.echo_bool(False) is False
    with pytest.raises(TypeError, match="expected bool, got int"):
        api.echo_bool(1)
    assert api.echo_f64(1.5) == 1.5 and api.echo_f64(3) == 3.0
    assert api.echo_f64(math.inf) == math.inf
    assert api.echo_f32(0.1) == struct.unpack("f", struct.pack("f", 0.1))[0]
    assert math.isnan(api.echo_f64(math.nan))
    with pytest.raises(TypeError, match="expected f64, got str"):
        api.echo_f64("1.0")
    for c in ("a", "é", "\U0001F600", "\0"):
        assert api.echo_char(c) == c
    with pytest.raises(TypeError, match="one-character"):
        api.echo_char("ab")
    with pytest.raises(TypeError, match="char"):
        api.echo_char(97)
    with pytest.raises(ValueError, match="surrogate"):
        api.echo_char("\ud800")


def test_nan_bits_kept_f64(echo):
    # a NaN payload through list<u32>-free path: echo-u32s carries bit patterns exactly
    assert echo.echo_u32s([0x7FC00001, 0xFFFFFFFF]) == [0x7FC00001, 0xFFFFFFFF]


def test_strings(kitchen, echo):
    api, _, _ = kitchen
    for s in ("", "hello", "héllo wörld", "\U0001F600" * 100, "a\0b", "x" * 100000):
        assert api.echo_string(s) == s
        assert echo.echo_string(s) == s
    with pytest.raises(ValueError, match=r"argument 'x'.*lone surrogate"):
        api.echo_string("ab\udc80")
    with pytest.raises(TypeError, match="expected string .*got bytes"):
        api.echo_string(b"abc")


def test_bytes_any_bytes_like(kitchen, echo):
    api, _, _ = kitchen
    data = bytes(range(256))
    for src in (data, bytearray(data), memoryview(data), array.array("B", data), np.frombuffer(data, np.uint8),
                list(data)):
        assert api.echo_bytes(src) == data
        assert echo.echo_bytes(src) == data
    assert api.echo_bytes(b"") == b""
    assert type(api.echo_bytes(b"x")) is bytes
    with pytest.raises(OverflowError, match=r"\[1\]: expected u8"):
        api.echo_bytes([1, 256])
    with pytest.raises(TypeError, match=r"list<u8>.*got str"):
        api.echo_bytes("abc")


def test_numeric_lists_from_buffers(kitchen, echo):
    api, _, _ = kitchen
    xs = [1, -2, 2**31 - 1, -2**31]
    assert api.echo_list(xs) == xs
    assert api.echo_list(tuple(xs)) == xs
    assert api.echo_list(np.array(xs, dtype=np.int32)) == xs
    assert api.echo_list(array.array("i", xs)) == xs
    assert api.echo_list(np.array(xs, dtype=np.int64)) == xs        # another dtype: element by element
    assert api.echo_list(np.array(xs, dtype=np.int32)[::2]) == xs[::2]   # strided: element by element
    fs = [0.5, -1e300, math.inf]
    assert api.echo_f64s(np.array(fs)) == fs
    assert echo.echo_u32s(np.arange(10, dtype=np.uint32)) == list(range(10))
    with pytest.raises(OverflowError, match=r"\[2\]: expected s32"):
        api.echo_list([1, 2, 2**31])
    with pytest.raises(OverflowError, match=r"\[0\]"):
        api.echo_list(np.array([2**40], dtype=np.int64))
    with pytest.raises(TypeError, match=r"\[1\]: expected s32, got str"):
        api.echo_list([1, "2"])
    with pytest.raises(TypeError, match="sequence"):
        api.echo_list(5)
    assert api.echo_strings(["a", "", "ü"]) == ["a", "", "ü"]
    with pytest.raises(TypeError, match=r"\[1\]: expected string"):
        api.echo_strings(["a", 1])


def test_records(kitchen, echo):
    api, _, _ = kitchen
    p = api.echo_point(Record(x=1, y=-2))
    assert p == Record(x=1, y=-2) and p.x == 1 and p["y"] == -2
    assert repr(p) == "Record(x=1, y=-2)"
    assert api.echo_point({"x": 3, "y": 4}) == Record(x=3, y=4)

    class P:
        def __init__(self):
            self.x, self.y = 5, 6
    assert api.echo_point(P()) == Record(x=5, y=6)
    import dataclasses

    @dataclasses.dataclass
    class D:
        x: int
        y: int
    assert api.echo_point(D(7, 8)) == Record(x=7, y=8)
    assert api.echo_points([{"x": 1, "y": 2}, Record(x=3, y=4)]) == [Record(x=1, y=2), Record(x=3, y=4)]
    with pytest.raises(TypeError, match=r"argument 'p'\.y: expected s32, got str"):
        api.echo_point({"x": 1, "y": "2"})
    with pytest.raises(TypeError, match=r"\[1\]\.x: expected s32, got NoneType"):
        api.echo_points([{"x": 1, "y": 2}, {"x": None, "y": 2}])
    with pytest.raises(TypeError, match="missing field 'y'"):
        api.echo_point({"x": 1})
    with pytest.raises(TypeError, match="expected record"):
        api.echo_point(5)
    r = echo.echo_point(Record(a=1, b=2, c=3, d=4))
    assert r._asdict() == {"a": 1, "b": 2, "c": 3, "d": 4}
    with pytest.raises(AttributeError):
        r.a = 5
    assert r.replace(a=9) == Record(a=9, b=2, c=3, d=4)


def test_variants_enums_flags(kitchen):
    api, _, _ = kitchen
    assert api.echo_shape(Variant("circle", 1.5)) == Variant("circle", 1.5)
    assert api.echo_shape(Variant("rect", {"x": 1, "y": 2})) == Variant("rect", Record(x=1, y=2))
    assert api.echo_shape(Variant("empty")) == Variant("empty")
    assert api.echo_shape("empty") == Variant("empty")
    with pytest.raises(ValueError, match="'square' is not a case"):
        api.echo_shape(Variant("square", 1))
    with pytest.raises(TypeError, match=r"argument 's'\(rect\)\.y: expected s32"):
        api.echo_shape(Variant("rect", {"x": 1, "y": 1.5}))
    with pytest.raises(TypeError, match="no payload"):
        api.echo_shape(Variant("empty", 3))
    assert api.echo_color("green") == "green"
    with pytest.raises(ValueError, match="'purple' is not a case"):
        api.echo_color("purple")
    with pytest.raises(TypeError):
        api.echo_color(1)
    assert api.echo_perms({"read", "exec"}) == frozenset({"read", "exec"})
    assert api.echo_perms([]) == frozenset()
    assert api.echo_perms(("write", "write")) == frozenset({"write"})
    with pytest.raises(ValueError, match="'delete' is not a flag"):
        api.echo_perms({"delete"})
    with pytest.raises(TypeError, match="set of flag names"):
        api.echo_perms("read")


def test_options_tuples_results(kitchen):
    api, _, _ = kitchen
    assert api.echo_opt(None) is None and api.echo_opt(5) == 5 and api.echo_opt(Some(6)) == 6
    assert api.echo_opt2(None) is None
    assert api.echo_opt2(Some(None)) == Some(None)
    assert api.echo_opt2(Some(7)) == Some(7)
    assert api.echo_opt2(7) == Some(7)
    with pytest.raises(OverflowError, match=r"argument 'x'\?: expected u32"):
        api.echo_opt(-1)
    assert api.echo_tuple((1, "a", True)) == (1, "a", True)
    assert api.echo_tuple([2, "b", False]) == (2, "b", False)
    with pytest.raises(TypeError, match=r"\[2\]: expected bool"):
        api.echo_tuple((1, "a", 1))
    with pytest.raises(TypeError, match="3 items"):
        api.echo_tuple((1, "a"))
    assert api.echo_result(Ok(5)) == 5
    with pytest.raises(ComponentError) as info:
        api.echo_result(Err("bad"))
    assert info.value.value == "bad"
    assert api.divide(7, 2) == 3
    with pytest.raises(ComponentError, match="division by zero"):
        api.divide(1, 0)
    rs = [Ok(1), Err("x"), Ok(2)]
    assert api.echo_results(rs) == rs
    with pytest.raises(TypeError, match=r"\[0\]: expected result"):
        api.echo_results([1])


def test_keyword_and_arity(kitchen):
    api, _, _ = kitchen
    assert api.divide(a=9, b=3) == 3 and api.divide(9, b=3) == 3
    with pytest.raises(TypeError, match="takes 2 arguments"):
        api.divide(1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        api.divide(1, c=2)
    assert str(api.divide.type) == "func(a: s32, b: s32) -> result<s32, string>"


def test_nothing_half_converted_reaches_the_guest(kitchen):
    """A bad value late in an argument list fails before any call: the guest's
    state (a counter) does not move."""
    api, store, log = kitchen
    with pytest.raises(OverflowError, match=r"argument 'b'\[2\]"):
        api.via_host_misc("red", {"read"}, (True, "c", 1.0), [1, 2, 300])
    assert log == []


def test_traps_and_exports_namespaces(kitchen, echo):
    api, store, _ = kitchen
    with pytest.raises(Trap):
        api.trap()
    assert "echo-string" in api and "echo_string" in api
    with pytest.raises(AttributeError, match="no export named 'nope'"):
        api.nope
    with pytest.raises(KeyError):
        echo["nope"]
    assert "add" in dir(echo)
