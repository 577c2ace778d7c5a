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

from support import BUMP_REALLOC_WAT, F32_BITS, f32_float, float_bits

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


# ---- the bulk paths: buffers in, numeric lists out ------------------------------

_NUMERIC = ("u8", "s8", "u16", "s16", "u32", "s32", "u64", "s64", "f32", "f64")
_DTYPE = {"u8": np.uint8, "s8": np.int8, "u16": np.uint16, "s16": np.int16, "u32": np.uint32,
          "s32": np.int32, "u64": np.uint64, "s64": np.int64, "f32": np.float32, "f64": np.float64}


def _lists_component_text():
    """A component echoing list<T> for every numeric T (the core function
    returns the (pointer, length) it got: the canonical ABI reads it back as
    the same list), plus a record holding a list and a string, and an
    option<list<u8>>, over a bump allocator that grows memory."""
    funcs = "".join(
        '(func (export "echo-%s") (param "xs" (list %s)) (result (list %s))\n'
        '  (canon lift (core func $i "echo-ptr") (memory (core memory $mem)) (realloc (core func $realloc))\n'
        '              (post-return (core func $i "post"))))\n' % (t, t, t) for t in _NUMERIC)
    return """
(component
  (core module $m
    %s
    (func (export "echo-ptr") (param i32 i32) (result i32)
      (i32.store (i32.const 0) (local.get 0))
      (i32.store (i32.const 4) (local.get 1))
      (i32.const 0))
    (func (export "echo-rec") (param i32 i32 i32 i32 i32) (result i32)
      (i32.store (i32.const 16) (local.get 0))
      (i32.store (i32.const 20) (local.get 1))
      (i32.store (i32.const 24) (local.get 2))
      (i32.store (i32.const 28) (local.get 3))
      (i32.store (i32.const 32) (local.get 4))
      (i32.const 16))
    (func (export "echo-opt") (param i32 i32 i32) (result i32)
      (i32.store (i32.const 48) (local.get 0))
      (i32.store (i32.const 52) (local.get 1))
      (i32.store (i32.const 56) (local.get 2))
      (i32.const 48))
    (func (export "post") (param i32) (global.set $bump (i32.const 1024)))
  )
  (core instance $i (instantiate $m))
  (alias core export $i "memory" (core memory $mem))
  (alias core export $i "cabi_realloc" (core func $realloc))
  (type $blob0 (record (field "tag" u32) (field "data" (list u8)) (field "name" string)))
  (export $blob "blob" (type $blob0))
  %s
  (func (export "echo-blob") (param "b" $blob) (result $blob)
    (canon lift (core func $i "echo-rec") (memory (core memory $mem)) (realloc (core func $realloc))
                string-encoding=utf8 (post-return (core func $i "post"))))
  (func (export "echo-opt") (param "b" (option (list u8))) (result (option (list u8)))
    (canon lift (core func $i "echo-opt") (memory (core memory $mem)) (realloc (core func $realloc))
                (post-return (core func $i "post"))))
)""" % (BUMP_REALLOC_WAT, funcs)


@pytest.fixture(scope="module")
def lists_component(engine):
    from wasmbind.component import Component
    return Component(engine, _lists_component_text())


@pytest.fixture
def lists(engine, lists_component):
    import wasmbind
    from wasmbind.component import Linker
    store = wasmbind.Store(engine)
    yield Linker(engine).instantiate(store, lists_component).exports
    store.close()


def test_every_numeric_list_from_every_dtype(lists):
    """Each numeric list from a NumPy array of its own dtype and of every
    other dtype whose values fit: the same Python list as from a list of ints."""
    for t in _NUMERIC:
        f = lists["echo-" + t]
        want = [0, 1, 2, 3, 100, 7, 0, 1]
        if t.startswith("f"):
            want = [float(x) for x in want]
        elif t == "u8":
            want = bytes(want)
        assert f(list(want)) == want
        for dt in _DTYPE.values():
            if t == "u8" and np.dtype(dt).itemsize != 1:
                continue     # list<u8> takes the raw bytes of other contiguous buffers (below)
            arr = np.array([0, 1, 2, 3, 100, 7, 0, 1], dtype=dt)
            if not t.startswith("f") and np.issubdtype(dt, np.floating):
                with pytest.raises(TypeError, match=r"\[0\]: expected %s, got float" % t):
                    f(arr)
                continue
            got = f(arr)
            assert got == want and type(got) is type(want), (t, dt)
        assert f([]) == ([] if t != "u8" else b"") and f(np.zeros(0, dtype=_DTYPE[t])) in ([], b"")


def test_numeric_lists_at_their_edges_from_arrays(lists):
    """The range check of the C pass: the edges go through exactly, one past
    an edge is an OverflowError naming the first bad item, from any dtype,
    and floats for an integer list are a TypeError as from Python floats."""
    for name, lo, hi in INTS:
        f = lists["echo-" + name]
        edges = np.array([lo, hi, 0], dtype=_DTYPE[name])
        got = f(edges)
        assert list(got) == [lo, hi, 0]
        wide = np.int64 if lo < 0 or hi < 2**63 else np.uint64

        def items(xs, dtype, strided=(name == "u8")):
            # list<u8> reads contiguous buffers as raw bytes: give it a strided view
            a = np.array([x for x in xs for _ in (0, 1)], dtype=dtype)
            return a[::2] if strided else a[::2].copy()
        if hi < 2**63 - 1:
            with pytest.raises(OverflowError, match=r"argument 'xs'\[2\]: expected %s in range \[%d, %d\], got %d"
                               % (name, lo, hi, hi + 1)):
                f(items([0, 1, hi + 1, hi + 2], wide))
        if lo == 0:
            with pytest.raises(OverflowError, match=r"\[1\]: expected %s.*got -1" % name):
                f(items([0, -1], np.int8))
        else:
            with pytest.raises(OverflowError, match=r"\[0\]: expected %s" % name):
                f(items([2**64 - 1], np.uint64))
        with pytest.raises(TypeError, match=r"\[0\]: expected %s, got float" % name):
            f(items([1.0, 2.0], np.float64))
        with pytest.raises(TypeError, match=r"\[0\]: expected %s" % name):
            f(items([True, False], np.bool_))


def test_f32_bits_exact_scalars_and_lists(engine, lists):
    """Every f32 (signalling NaNs, payloads, denormals, signed zeros) crosses a
    component call bit for bit, as in core calls: a scalar both ways, a list
    from Python floats, from a float32 buffer, and a float32 buffer given for
    list<f64> (its items become the Python floats of those f32s)."""
    import wasmbind
    from wasmbind.component import Component, Linker
    text = """(component
      (core module $m (func (export "id") (param f32) (result f32) local.get 0))
      (core instance $i (instantiate $m))
      (func (export "echo-f32") (param "x" f32) (result f32) (canon lift (core func $i "id"))))"""
    scalar = Linker(engine).instantiate(wasmbind.Store(engine), Component(engine, text)).exports
    want = [float_bits(f32_float(b)) for b in F32_BITS]
    assert [float_bits(scalar.echo_f32(f32_float(b))) for b in F32_BITS] == want
    assert [float_bits(x) for x in lists.echo_f32([f32_float(b) for b in F32_BITS])] == want
    arr = np.array(F32_BITS, dtype=np.uint32).view(np.float32)
    assert [float_bits(x) for x in lists.echo_f32(arr)] == want
    assert [float_bits(x) for x in lists.echo_f64(arr)] == want


def test_float_lists_keep_bits_and_convert_ints(lists):
    bits = np.array([0x7FC00001, 0xFFC12345, 0x3F800000], dtype=np.uint32).view(np.float32)
    assert np.array(lists.echo_f32(bits), dtype=np.float32).view(np.uint32).tolist() == \
        [0x7FC00001, 0xFFC12345, 0x3F800000]
    dbits = np.array([0x7FF8000000000001, 0x3FF0000000000000], dtype=np.uint64).view(np.float64)
    assert np.array(lists.echo_f64(dbits)).view(np.uint64).tolist() == [0x7FF8000000000001, 0x3FF0000000000000]
    assert lists.echo_f64(np.array([2**53 + 1], dtype=np.int64)) == [float(2**53 + 1)]
    assert lists.echo_f32(np.array([0.1])) == [struct.unpack("f", struct.pack("f", 0.1))[0]]
    assert lists.echo_f64(array.array("f", [0.5, 1.5])) == [0.5, 1.5]


def test_strided_and_shaped_buffers(lists):
    """One-dimensional views of any stride are read item by item in C; a
    C-contiguous buffer of any shape is flattened; other shapes are refused."""
    a = np.arange(40, dtype=np.int64)
    assert lists.echo_s64(a[::3]) == list(range(0, 40, 3))
    assert lists.echo_s64(a[::-1]) == list(range(39, -1, -1))
    assert lists.echo_u16(a[5:25:4]) == list(range(5, 25, 4))
    assert lists.echo_u32(memoryview(array.array("I", range(12)))[1::2]) == list(range(1, 12, 2))
    data = bytes(range(256))
    for view in (memoryview(data)[::2], memoryview(data)[::-1], np.frombuffer(data, np.uint8)[1::3]):
        assert lists.echo_u8(view) == bytes(view)
    m = np.arange(12, dtype=np.int32).reshape(3, 4)
    assert lists.echo_s32(m) == list(range(12))
    with pytest.raises(TypeError, match=r"argument 'xs'"):
        lists.echo_s32(m[:, ::2])          # two-dimensional, not contiguous
    with pytest.raises(TypeError, match=r"argument 'xs'"):
        lists.echo_u8(memoryview(bytes(16)).cast("B", (4, 4))[::2])
    with pytest.raises(TypeError, match=r"argument 'xs'"):
        lists.echo_s32(np.int32(5))        # a zero-dimensional array is not a list


def test_u8_lists_take_raw_bytes_of_contiguous_buffers(lists):
    """list<u8> reads a C-contiguous buffer as its bytes, as bytes(v) does."""
    a = array.array("I", [1, 0x01020304])
    assert lists.echo_u8(a) == bytes(a)
    assert lists.echo_u8(bytearray(b"abc")) == b"abc"
    assert lists.echo_u8(np.arange(6, dtype=np.uint16)) == np.arange(6, dtype=np.uint16).tobytes()


def test_large_lists_round_trip_exactly(lists):
    rng = np.random.default_rng(5)
    data = rng.integers(0, 256, 5 << 19, dtype=np.uint8).tobytes()
    assert lists.echo_u8(data) == data
    assert lists.echo_u8(bytearray(data)) == data
    xs = rng.integers(-2**62, 2**62, 1 << 19, dtype=np.int64)
    assert lists.echo_s64(xs) == xs.tolist()
    fs = rng.standard_normal(1 << 18)
    assert lists.echo_f64(fs) == fs.tolist()


def test_a_list_beyond_the_engine_budget_is_an_error(engine, lists_component):
    """The engine limits the data one call may copy with its typed values
    (its "hostcall fuel", some 3 million list items per call): beyond it the
    call fails with a WasmError, the instance refuses further calls, and the
    store and the process are fine."""
    import wasmbind
    from wasmbind.component import Linker
    store = wasmbind.Store(engine)
    ex = Linker(engine).instantiate(store, lists_component).exports
    with pytest.raises(wasmbind.WasmError, match="hostcall"):
        ex.echo_u8(bytes(6 << 20))
    again = Linker(engine).instantiate(wasmbind.Store(engine), lists_component).exports
    assert again.echo_u8(b"ok") == b"ok"


def test_lists_inside_other_values(lists):
    """A list and a string inside a record, a list inside an option: built in
    the call's argument storage, out exactly, nothing left behind."""
    from wasmbind.component import Record
    big = bytes(range(256)) * 4096
    for data in (b"", b"x", big, bytearray(big), np.frombuffer(big, np.uint8)[::2]):
        r = lists.echo_blob(Record(tag=7, data=data, name="né" * 300))
        assert r == Record(tag=7, data=bytes(data), name="né" * 300)
        assert lists.echo_opt(data) == bytes(data)
    assert lists.echo_blob({"tag": 1, "data": [1, 2], "name": ""}).data == b"\x01\x02"
    assert lists.echo_opt(None) is None
    with pytest.raises(OverflowError, match=r"argument 'b'\.data\[1\]: expected u8"):
        lists.echo_blob({"tag": 1, "data": [1, 256], "name": "x"})
    with pytest.raises(ValueError, match=r"argument 'b'\.name.*surrogate"):
        lists.echo_blob({"tag": 1, "data": big, "name": "\udc80"})
    with pytest.raises(OverflowError, match=r"argument 'b'\?\[0\]"):
        lists.echo_opt([-1])


def test_many_calls_reuse_nothing_stale(lists):
    """Arguments of one call never leak into the next (the per-call storage is
    fresh each time), including after a failed conversion."""
    for i in range(200):
        xs = list(range(i, i + (i % 17)))
        assert lists.echo_u32(xs) == xs
        with pytest.raises(OverflowError):
            lists.echo_u32(xs + [-1])
        assert lists.echo_blob({"tag": i, "data": bytes([i % 256]) * i, "name": str(i)}).name == str(i)


def test_calls_made_while_arguments_are_converted(lists):
    """Python code run by a conversion (an item's __index__, a record field's
    property) may call the same store's functions: each call keeps its own
    argument storage, and the outer call's values come through intact."""
    seen = []

    class Sneaky:
        def __init__(self, v):
            self.v = v

        def __index__(self):
            seen.append(lists.echo_u32([self.v, self.v + 1]))
            return self.v

    class Blob:
        tag = 9

        @property
        def data(self):
            seen.append(lists.echo_blob({"tag": 1, "data": b"inner" * 100, "name": "inner"}).name)
            return b"outer" * 100

        @property
        def name(self):
            return "outer"

    assert lists.echo_u32([1, Sneaky(7), 3, Sneaky(8)]) == [1, 7, 3, 8]
    assert lists.echo_blob(Blob()) == Record(tag=9, data=b"outer" * 100, name="outer")
    assert seen == [[7, 8], [8, 9], "inner"]
