"""Func.map: element-wise calls over arrays, looped in C.

The rule under test: ``f.map(*args)`` gives what NumPy-style broadcasting of the
scalar call gives (``f(*elements)`` for every element, each array element as
its Python value ``.item()``, scalars as they are), or raises where the scalar
call would raise, or refuses a whole dtype the call never accepts.
"""

import array
import decimal
import fractions
import re

import pytest

from wasmbind import Engine, Instance, Module, Store, StoreClosedError, Trap, TrapCode

from support import F32_BITS, f32_float, float_bits, run_py

np = pytest.importorskip("numpy")

WAT = """(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
  (func (export "scale32") (param f32) (result f32) local.get 0 f32.const 0.5 f32.mul)
  (func (export "fma") (param f64 f64 f64) (result f64)
    local.get 0 local.get 1 f64.mul local.get 2 f64.add)
  (func (export "neg64") (param f64) (result f64) local.get 0 f64.neg)
  (func (export "divmod") (param i32 i32) (result i32 i32)
    (i32.div_s (local.get 0) (local.get 1)) (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "recip") (param i32) (result i32) i32.const 1000 local.get 0 i32.div_s)
  (func (export "id_i32") (param i32) (result i32) local.get 0)
  (func (export "id_i64") (param i64) (result i64) local.get 0)
  (func (export "id_f32") (param f32) (result f32) local.get 0)
  (func (export "id_f64") (param f64) (result f64) local.get 0)
  (func (export "pair_i32") (param i32 i32) (result i32 i32) local.get 0 local.get 1)
  (func (export "pair_i64") (param i64 i64) (result i64 i64) local.get 0 local.get 1)
  (func (export "pair_f32") (param f32 f32) (result f32 f32) local.get 0 local.get 1)
  (func (export "pair_f64") (param f64 f64) (result f64 f64) local.get 0 local.get 1)
  (func (export "bits32") (param f32) (result i32) local.get 0 i32.reinterpret_f32)
  (func (export "wrap") (param i64) (result i32) local.get 0 i32.wrap_i64)
  (func (export "mix") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
    local.get 3 local.get 2 local.get 1 local.get 0)
  (global $sum (mut i64) (i64.const 0))
  (func (export "acc") (param i64) global.get $sum local.get 0 i64.add global.set $sum)
  (func (export "total") (result i64) global.get $sum)
  (func (export "ref") (param externref) (result i32) i32.const 1)
  (func (export "vec") (param v128) (result i32) i32.const 1)
)"""

KINDS = ("i32", "i64", "f32", "f64")
DTYPE = {"i32": np.int32, "i64": np.int64, "f32": np.float32, "f64": np.float64}
BITS = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}


@pytest.fixture
def ex():
    store = Store(Engine())
    yield Instance(store, Module(store.engine, WAT)).exports
    store.close()


# ---- the reference: the scalar call, element by element ------------------------

def is_array(a):
    """What map treats as an array (anything else is a scalar)."""
    return isinstance(a, (list, tuple)) or np.ndim(a) > 0


def scalar_reference(f, args, dtypes):
    """``f`` called on every element of the broadcast arguments, as map promises:
    array elements as Python values (object elements as they are), scalars as
    given. Returns the result arrays, or raises the first element's error."""
    arrays = [np.array(a, dtype=object) if isinstance(a, (list, tuple)) else np.asarray(a)
              for a in args if is_array(a)]
    shape = np.broadcast_shapes(*[a.shape for a in arrays])
    it = iter(arrays)
    cols = [(np.broadcast_to(next(it), shape),) if is_array(a) else a for a in args]
    outs = [np.empty(shape, d) for d in dtypes]
    for idx in np.ndindex(*shape):
        vals = []
        for c in cols:
            if isinstance(c, tuple):  # an array: its element
                v = c[0][idx]
                vals.append(v if c[0].dtype == object else v.item())
            else:
                vals.append(c)
        r = f(*vals)
        r = r if isinstance(r, tuple) else (r,)
        for o, v in zip(outs, r):
            o[idx] = v
    return outs


def assert_same(got, want):
    """Equal arrays of the same dtype and shape; floats bit for bit (a Python
    float carries every f32 NaN: the scalar call keeps their bits too)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, (got, want)
    if got.dtype in BITS:
        gb, wb = got.view(BITS[got.dtype]), want.view(BITS[got.dtype])
        assert (gb == wb).all(), (got, want)
    else:
        assert (got == want).all(), (got, want)


def outcome(fn):
    try:
        return fn(), None
    except (TypeError, OverflowError, ValueError, Trap) as exc:
        return None, exc


def check_against_reference(f, args, dtypes):
    """map(*args) and the scalar reference: both raise (the same type), or both
    give the same results. A 0-size broadcast calls nothing, so there map may
    still refuse a dtype (TypeError) where the reference has nothing to raise."""
    got, gerr = outcome(lambda: f.map(*args))
    want, werr = outcome(lambda: scalar_reference(f, args, dtypes))
    if want is not None and want[0].size == 0:
        assert gerr is None or isinstance(gerr, TypeError), gerr
        if gerr is None:
            got = got if isinstance(got, tuple) else (got,)
            assert [g.shape for g in got] == [w.shape for w in want]
        return gerr
    if werr is not None:
        assert gerr is not None, "map() gave %r where the scalar call raises %r" % (got, werr)
        return gerr
    assert gerr is None, "map() raised %r where the scalar call gives %r" % (gerr, want)
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, want):
        assert_same(g, w)
    return None


# ---- the four value kinds against NumPy's own arithmetic ------------------------

def test_i32_arrays(ex):
    rng = np.random.default_rng(0)
    xs = rng.integers(-2**31, 2**31, 10000).astype(np.int32)
    ys = rng.integers(-2**31, 2**31, 10000).astype(np.int32)
    out = ex.add.map(xs, ys)
    assert out.dtype == np.int32 and out.shape == xs.shape
    assert_same(out, xs + ys)  # both wrap modulo 2**32


def test_i32_wraps_like_wasm(ex):
    xs = np.array([2**31 - 1, -(2**31)], dtype=np.int32)
    assert ex.add.map(xs, np.array([1, -1], dtype=np.int32)).tolist() == [-(2**31), 2**31 - 1]


def test_i64_arrays(ex):
    rng = np.random.default_rng(1)
    a = rng.integers(-2**63, 2**63, 5000, dtype=np.int64)
    b = rng.integers(-2**63, 2**63, 5000, dtype=np.int64)
    assert_same(ex.add64.map(a, b), a + b)
    assert ex.add64.map(np.array([2**40, -3], dtype=np.int64), 2**40).tolist() == [2**41, 2**40 - 3]


def test_f32_and_f64_arrays_bit_exact(ex):
    rng = np.random.default_rng(2)
    f = rng.standard_normal(5000).astype(np.float32)
    assert_same(ex.scale32.map(f), f * np.float32(0.5))
    x, y, z = rng.standard_normal((3, 5000))
    assert_same(ex.fma.map(x, y, z), x * y + z)
    assert_same(ex.fma.map(x, x, 1.0), x * x + 1.0)


def test_f64_nan_payloads_and_signed_zeros_are_kept(ex):
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2**64, 4000, dtype=np.uint64, endpoint=False)
    bits[:6] = [0x7FF0000000000001, 0xFFF4000000000000, 0x7FF8DEADBEEF0001, 0x8000000000000000,
                0x7FF0000000000000, 0]
    bits[6::7] |= np.uint64(0x7FF0000000000000)  # many NaNs and infinities, signalling ones too
    x = bits.view(np.float64)
    assert (ex.id_f64.map(x).view(np.uint64) == bits).all()
    assert (ex.neg64.map(x).view(np.uint64) == np.negative(x).view(np.uint64)).all()
    assert (ex.neg64.map(x).view(np.uint64) == bits ^ np.uint64(1 << 63)).all()


def test_f32_nan_payloads_are_kept(ex):
    bits = np.array(F32_BITS, dtype=np.uint32)
    assert (ex.id_f32.map(bits.view(np.float32)).view(np.uint32) == bits).all()
    # a float64 array for an f32 converts as the scalar call does, NaN payloads and all
    wide = np.array([f32_float(int(b)) for b in bits])
    assert (ex.id_f32.map(wide).view(np.uint32) == bits).all()
    assert [float_bits(ex.id_f32(float(x))) for x in wide] == [float_bits(x) for x in wide]
    # object arrays, by the scalar call's conversion
    assert (ex.id_f32.map(wide.tolist()).view(np.uint32) == bits).all()


def test_unsigned_buffers_are_the_scalar_calls_unsigned_range(ex):
    assert ex.add.map(np.array([0xFFFFFFFF, 1], dtype=np.uint32), 1).tolist() == [0, 2]
    assert ex.id_i64.map(np.array([2**64 - 1, 2**63], dtype=np.uint64)).tolist() == [-1, -2**63]
    assert ex.id_i32(0xFFFFFFFF) == -1 and ex.id_i64(2**63) == -2**63


def test_several_kinds_in_one_signature(ex):
    a = np.array([1, -2], dtype=np.int32)
    b = np.array([2**40, -1], dtype=np.int64)
    c = np.array([0.5, -0.25], dtype=np.float32)
    d = np.array([1e300, -0.0])
    w, x, y, z = ex.mix.map(a, b, c, d)
    assert_same(w, d) and assert_same(x, c) and assert_same(y, b) and assert_same(z, a)
    check_against_reference(ex.mix, (a[:, None], b, 1.5, np.float32(2.5)),
                            (np.float64, np.float32, np.int64, np.int32))


# ---- casting: NumPy's "same_kind", as strict as the scalar call ----------------------

ALL_DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
              np.uint64, np.float16, np.float32, np.float64, np.longdouble, np.complex64,
              np.complex128]


def sample_values(dtype):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return np.array([True, False, True], dtype=dt)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        vals = [info.min, info.min + 1, 0, 1, 7, info.max - 1, info.max]
        if dt.itemsize == 8:
            vals += [-2**31 - 1, -2**31, 2**31, 2**32 - 1, 2**32]
        return np.array([v for v in vals if info.min <= v <= info.max], dtype=dt)
    if dt.kind == "f":
        return np.array([-np.inf, -1.5, -0.0, 0.0, 2.0, 1e-40, np.finfo(dt).max, np.nan, np.inf], dtype=dt)
    return np.array([1 + 2j, 3.0, np.nan], dtype=dt)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_dtype_converts_like_the_scalar_call(ex, kind, dtype):
    f = ex["id_" + kind]
    values = sample_values(dtype)
    c = np.dtype(dtype).kind
    refused = c == "c" or (c == "f" and kind in ("i32", "i64"))
    with np.errstate(all="ignore"):
        err = check_against_reference(f, (values,), (DTYPE[kind],))
    if refused:
        # refused by dtype, even for values the call would take (2.0) and for no values
        assert isinstance(err, TypeError), err
        with pytest.raises(TypeError, match="cannot pass a"):
            f.map(np.zeros(3, dtype=dtype))
        with pytest.raises(TypeError, match="cannot pass a"):
            f.map(np.zeros(0, dtype=dtype))
    elif kind == "i32" and np.dtype(dtype).itemsize == 8 and c != "f":
        assert isinstance(err, OverflowError) and "out of range for i32" in str(err), err
    else:
        assert err is None


def test_wide_ints_for_i32_are_range_checked_not_wrapped(ex):
    ok = np.array([-2**31, -1, 0, 2**31, 2**32 - 1], dtype=np.int64)
    assert ex.id_i32.map(ok).tolist() == [ex.id_i32(v) for v in ok.tolist()] == [-2**31, -1, 0, -2**31, -1]
    for bad, where in ((np.array([0, 2**32], dtype=np.int64), "(1,)"),
                       (np.array([[0, 0], [-2**31 - 1, 0]], dtype=np.int64), "(1, 0)"),
                       (np.array([2**63, 1], dtype=np.uint64), "(0,)")):
        with pytest.raises(OverflowError, match=r"at index %s: .* out of range for i32" % re.escape(where)):
            ex.id_i32.map(bad)
    assert ex.id_i32.map(np.zeros((0, 2), dtype=np.uint64)).shape == (0, 2)


def test_uint64_above_2_63(ex):
    u = np.array([2**63, 2**64 - 1, 2**63 + 2**11 + 1], dtype=np.uint64)
    assert ex.id_i64.map(u).tolist() == [ex.id_i64(v) for v in u.tolist()]
    assert_same(ex.id_f64.map(u), np.array([ex.id_f64(v) for v in u.tolist()]))
    assert_same(ex.id_f32.map(u), np.array([ex.id_f32(v) for v in u.tolist()], dtype=np.float32))
    with pytest.raises(OverflowError):
        ex.id_i32.map(u)


def test_ints_for_f32_round_like_the_scalar_call(ex):
    # rounding to double first, then to float (the scalar call) differs here from
    # NumPy's direct int64 -> float32 cast: map follows the scalar call
    v = 2**60 + 2**36 + 1
    a = np.array([v], dtype=np.int64)
    assert a.astype(np.float32)[0] != np.float32(float(v))
    assert ex.id_f32.map(a)[0] == np.float32(ex.id_f32(v)) == np.float32(float(v))
    assert ex.id_f32.map([v])[0] == np.float32(ex.id_f32(v))


def test_bool_arrays_are_ints_zero_and_one(ex):
    b = np.array([True, False])
    for kind in KINDS:
        got = ex["id_" + kind].map(b)
        assert got.dtype == DTYPE[kind] and got.tolist() == [1, 0]
        assert got.tolist() == [ex["id_" + kind](v) for v in b.tolist()]


def test_other_dtypes_are_refused(ex):
    for a in (np.array(["1", "2"]), np.array([b"1"]), np.array(["2020-01-01"], dtype="M8[D]"),
              np.array([1], dtype="m8[s]"), np.zeros(2, dtype=[("x", "i4")])):
        for kind in KINDS:
            with pytest.raises(TypeError, match="cannot pass a"):
                ex["id_" + kind].map(a)


def test_object_arrays_and_lists_go_element_by_element(ex):
    objs = np.array([1, True, np.int64(3), 2**64 - 1, np.uint8(4)], dtype=object)
    check_against_reference(ex.id_i64, (objs,), (np.int64,))
    assert ex.id_i64.map(objs).tolist() == [1, 1, 3, -1, 4]
    floats = np.array([1, 2.5, decimal.Decimal("0.5"), fractions.Fraction(1, 4), np.float32(0.1)], dtype=object)
    check_against_reference(ex.id_f64, (floats,), (np.float64,))
    assert ex.id_f64.map(floats).tolist() == [1.0, 2.5, 0.5, 0.25, float(np.float32(0.1))]
    with pytest.raises(TypeError, match=r"argument 1 at index \(2,\): expected an int for i64, got Fraction"):
        ex.id_i64.map(np.array([1, 2, fractions.Fraction(4)], dtype=object))
    # a list NumPy would turn into float64 (losing 2**63) is converted value by value
    assert np.asarray([-1, 2**63]).dtype == np.float64
    assert ex.id_i64.map([-1, 2**63]).tolist() == [-1, -2**63]
    assert ex.add.map([1, 2, 3], (10, 20, 30)).tolist() == [11, 22, 33]
    assert ex.add.map([[1], [2]], [10, 20, 30]).tolist() == [[11, 21, 31], [12, 22, 32]]
    for bad, exc, where in (([1, 2.5], TypeError, "(1,)"), ([1, 2**32], OverflowError, "(1,)"),
                            ([[1, 2], [3]], TypeError, "(0,)"), ([1, "2"], TypeError, "(1,)"),
                            (np.array([[1, None]], dtype=object), TypeError, "(0, 1)")):
        with pytest.raises(exc, match=r"argument 1 at index %s" % where.replace("(", r"\(").replace(")", r"\)")):
            ex.add.map(bad, 1)


def test_masked_arrays_are_refused(ex):
    m = np.ma.masked_array(np.arange(3, dtype=np.int32), mask=[0, 1, 0])
    with pytest.raises(TypeError, match="masked"):
        ex.add.map(m, 1)
    assert ex.add.map(m.filled(0), 1).tolist() == [1, 1, 3]


SCALARS = [0, 7, -1, 2**31, 2**32 - 1, 2**32, -2**31 - 1, 2**63, 2**64, -2**63 - 1, 10**400,
           True, False, 1.5, -0.0, float("nan"), float("inf"), 1e300, 2.0,
           np.int8(-3), np.uint8(200), np.int32(-5), np.uint32(2**32 - 1), np.int64(-2**40),
           np.uint64(2**64 - 1), np.float16(1.5), np.float32(0.1), np.float64(2.0), np.True_,
           np.longdouble(0.5), np.array(3), np.array(2.5), np.array(True), np.array(2**40),
           np.complex128(1), 1j, "1", b"1", None, decimal.Decimal("1.5"), fractions.Fraction(1, 3)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("scalar", SCALARS, ids=repr)
def test_scalars_broadcast_as_the_scalar_call_converts_them(ex, kind, scalar):
    f = ex["pair_" + kind]
    xs = np.zeros(3, dtype=DTYPE[kind])
    got, gerr = outcome(lambda: f.map(xs, scalar))
    want, werr = outcome(lambda: f(0, scalar))
    if werr is not None:
        assert type(gerr) is type(werr), (gerr, werr)
        assert str(werr).split(": ", 1)[1] in str(gerr)  # the same explanation
    else:
        assert gerr is None, gerr
        assert_same(got[1], np.full(3, want[1], dtype=DTYPE[kind]))

def test_half_imported_numpy_modules_are_not_an_error(ex, monkeypatch):
    """While another thread imports numpy.ma (or numpy), sys.modules holds the
    module before its classes: map must go on as if it were not there yet
    (seen: a Dask worker's map raised AttributeError for MaskedArray)."""
    import sys
    import types
    xs = np.arange(5, dtype=np.int32)
    monkeypatch.setitem(sys.modules, "numpy.ma", types.ModuleType("numpy.ma"))
    assert ex.add.map(xs, xs).tolist() == [0, 2, 4, 6, 8]
    monkeypatch.setitem(sys.modules, "numpy", types.ModuleType("numpy"))
    assert ex.add.map(xs, xs).tolist() == [0, 2, 4, 6, 8]



def test_scalars_broadcast(ex):
    xs = np.arange(10, dtype=np.int32)
    assert (ex.add.map(xs, 100) == xs + 100).all()
    assert (ex.add.map(7, xs) == xs + 7).all()
    assert (ex.add.map(np.int32(7), xs) == xs + 7).all()
    assert (ex.add.map(np.array(7), xs.reshape(2, 5)) == xs.reshape(2, 5) + 7).all()
    for scalars in ((1, 2), (np.int32(1), np.array(2))):
        with pytest.raises(TypeError, match="at least one array"):
            ex.add.map(*scalars)


# ---- shapes: NumPy's broadcasting -------------------------------------------------------

SHAPE_PAIRS = [((5,), (5,)), ((5,), (1,)), ((1,), (5,)), ((3, 1), (4,)), ((2, 3, 4), (3, 1)),
               ((1, 1, 4), (2, 3, 1)), ((0,), (1,)), ((0, 3), (3,)), ((2, 0), (1, 0)), ((1,), (0,)),
               ((1, 1), (1,)), ((5,), (4,)), ((3, 4), (4, 3)), ((2, 0), (3, 0)), ((0,), (2,))]


@pytest.mark.parametrize("sa,sb", SHAPE_PAIRS)
def test_shapes_broadcast_like_numpy(ex, sa, sb):
    a = np.arange(int(np.prod(sa)), dtype=np.int32).reshape(sa)
    b = (np.arange(int(np.prod(sb)), dtype=np.int32) * 100).reshape(sb)
    try:
        shape = np.broadcast_shapes(sa, sb)
    except ValueError:
        with pytest.raises(ValueError, match="cannot be broadcast together"):
            ex.add.map(a, b)
        return
    out = ex.add.map(a, b)
    assert out.shape == shape and out.flags.c_contiguous
    assert_same(out, a + b)
    q, r = ex.divmod.map(a, b + 7)
    assert_same(q, np.vectorize(lambda x, y: ex.divmod(x, y)[0], otypes=[np.int32])(a, b + 7))
    assert q.shape == r.shape == shape


def test_broadcast_error_names_the_arguments(ex):
    with pytest.raises(ValueError, match=r"argument 1 of shape \(2, 3\) and argument 3 of shape \(4,\)"):
        ex.fma.map(np.zeros((2, 3)), 1.0, np.zeros(4))


def test_empty_inputs_call_nothing(ex):
    before = ex.total()
    assert ex.acc.map(np.zeros((0, 4), dtype=np.int64)) is None
    assert ex.acc.map(np.ones((2, 0, 3), dtype=np.int64)[:, :, :1]) is None
    assert ex.total() == before
    out = ex.recip.map(np.zeros((3, 0), dtype=np.int32))  # recip(0) would trap
    assert out.shape == (3, 0) and out.dtype == np.int32
    given = np.empty((3, 0), dtype=np.int32)
    assert ex.recip.map(np.zeros((3, 0), dtype=np.int32), out=given) is given
    q, r = ex.divmod.map(np.zeros((0, 1), dtype=np.int32), np.zeros(5, dtype=np.int32))
    assert q.shape == r.shape == (0, 5)


def test_multidimensional_arrays_keep_their_shape(ex):
    m = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    out = ex.add.map(m, 1)
    assert out.shape == (2, 3, 4) and out.flags.c_contiguous
    assert_same(out, m + 1)


@pytest.mark.parametrize("make", [
    lambda a: a[::2], lambda a: a[::-1], lambda a: a[1::3], lambda a: a.reshape(4, 6).T,
    lambda a: a.reshape(4, 6)[:, ::-2], lambda a: a.reshape(2, 3, 4).transpose(1, 2, 0)[::2],
    lambda a: np.broadcast_to(a[:6], (3, 6)), lambda a: a.reshape(4, 6)[1:3, 2:5],
    lambda a: np.asfortranarray(a.reshape(4, 6)),
], ids=["step2", "reversed", "offset-step3", "transposed", "neg-step-2d", "3d-permuted",
        "broadcast-view", "window", "fortran"])
def test_strided_inputs(ex, make):
    base = np.arange(24, dtype=np.int32) * 7 - 50
    x = make(base)
    for dt, f in ((np.int32, ex.add), (np.float64, ex["pair_f64"])):
        xs = x if dt is np.int32 else make(base.astype(dt))
        got = f.map(xs, xs)
        got = got[0] if isinstance(got, tuple) else got
        want = xs + xs if dt is np.int32 else xs
        assert got.shape == xs.shape and got.flags.c_contiguous
        assert_same(got, np.ascontiguousarray(want))


def test_read_only_inputs(ex):
    x = np.arange(5, dtype=np.int32)
    x.flags.writeable = False
    assert ex.add.map(x, x).tolist() == [0, 2, 4, 6, 8]
    assert ex.add.map(memoryview(b"\x01\x00\x00\x00\x02\x00\x00\x00").cast("i"), 1).tolist() == [2, 3]


def test_other_buffers(ex):
    assert ex.add.map(array.array("i", [1, 2]), array.array("i", [3, 4])).tolist() == [4, 6]
    assert ex.add.map(array.array("h", [1, -2]), 1).tolist() == [2, -1]  # converted
    assert ex.add.map(bytearray(b"\x01\x02"), 1).tolist() == [2, 3]        # uint8
    mv = memoryview(array.array("i", range(6))).cast("B").cast("i", [2, 3])
    assert ex.add.map(mv, 1).tolist() == [[1, 2, 3], [4, 5, 6]]
    big = np.arange(4, dtype=">i4")
    assert ex.add.map(big, 1).tolist() == [1, 2, 3, 4]
    assert ex.add.map(np.array([2**32 - 1, 5], dtype=">u4"), 1).tolist() == [0, 6]
    assert_same(ex.id_f64.map(np.array([0.1, -2.5], dtype=">f8")), np.array([0.1, -2.5]))
    with pytest.raises(TypeError, match="got bytes"):
        ex.add.map(b"\x01\x00\x00\x00", 1)  # bytes are a string, not an array


# ---- out= --------------------------------------------------------------------------

def test_out_is_filled_and_returned(ex):
    xs = np.arange(100, dtype=np.int32)
    out = np.zeros(100, dtype=np.int32)
    assert ex.add.map(xs, xs, out=out) is out
    assert (out == 2 * xs).all()
    out2 = np.zeros((4, 100), dtype=np.int32)
    assert ex.add.map(xs, np.arange(4, dtype=np.int32)[:, None], out=out2) is out2
    assert_same(out2, xs + np.arange(4, dtype=np.int32)[:, None])


def test_strided_out_is_written_in_place(ex):
    big = np.full(20, -1, dtype=np.int32)
    xs = np.arange(10, dtype=np.int32)
    assert ex.add.map(xs, 1, out=big[::2]).base is big
    assert big[::2].tolist() == list(range(1, 11)) and (big[1::2] == -1).all()
    grid = np.full((4, 6), -1, dtype=np.float64)
    out = grid[::-2, 1:4].T
    ex.fma.map(np.ones((3, 2)), 2.0, 0.5, out=out)
    assert (grid[::-2, 1:4] == 2.5).all() and (grid[::2] == -1).all() and (grid[:, [0, 4, 5]] == -1).all()


def test_several_results_give_several_arrays(ex):
    q, r = ex.divmod.map(np.array([17, -17, 9], dtype=np.int32), np.array([5, 5, 3], dtype=np.int32))
    assert q.tolist() == [3, -3, 3] and r.tolist() == [2, -2, 0]
    outs = (np.empty(1, dtype=np.int32), np.empty(1, dtype=np.int32))
    got = ex.divmod.map(np.array([7], dtype=np.int32), 2, out=outs)
    assert got[0] is outs[0] and got[1] is outs[1] and (outs[0][0], outs[1][0]) == (3, 1)


def test_no_results_runs_for_side_effects(ex):
    before = ex.total()
    assert ex.acc.map(np.arange(1, 101, dtype=np.int64)) is None
    assert ex.acc.map(np.ones((2, 3), dtype=np.int64)) is None
    assert ex.total() - before == 5056


def test_bad_out_is_refused_never_copied(ex):
    xs = np.arange(4, dtype=np.int32)
    with pytest.raises(TypeError, match="need an array of int32 for the i32 result, got float64"):
        ex.add.map(xs, xs, out=np.empty(4, dtype=np.float64))
    with pytest.raises(TypeError, match="got uint32"):  # results are signed: view it as int32
        ex.add.map(xs, xs, out=np.empty(4, dtype=np.uint32))
    with pytest.raises(TypeError, match="got int64"):
        ex.add.map(xs, xs, out=np.empty(4, dtype=np.int64))
    with pytest.raises(TypeError, match="got >i4"):
        ex.add.map(xs, xs, out=np.empty(4, dtype=">i4"))
    with pytest.raises(ValueError, match=r"out has shape \(3,\), the inputs broadcast to \(4,\)"):
        ex.add.map(xs, xs, out=np.empty(3, dtype=np.int32))
    with pytest.raises(ValueError, match=r"out has shape \(2, 2\), the inputs broadcast to \(4,\)"):
        ex.add.map(xs, xs, out=np.empty((2, 2), dtype=np.int32))
    with pytest.raises(ValueError, match=r"out has shape \(4,\), the inputs broadcast to \(1, 4\)"):
        ex.add.map(xs[None], xs, out=np.empty(4, dtype=np.int32))
    ro = np.zeros(4, dtype=np.int32)
    ro.flags.writeable = False
    with pytest.raises(TypeError, match="read-only"):
        ex.add.map(xs, xs, out=ro)
    assert (ro == 0).all()
    with pytest.raises(TypeError, match="read-only"):
        ex.add.map(xs, xs, out=np.broadcast_to(np.int32(0), (4,)))
    with pytest.raises(TypeError, match="need a writable array of int32, got list"):
        ex.add.map(xs, xs, out=[0, 0, 0, 0])
    with pytest.raises(TypeError, match="tuple of 2"):
        ex.divmod.map(xs, 1, out=np.empty(4, dtype=np.int32))
    with pytest.raises(TypeError, match=r"out\[1\]: need an array of int32"):
        ex.divmod.map(xs, 1, out=(np.empty(4, dtype=np.int32), np.empty(4)))
    z = np.lib.stride_tricks.as_strided(np.zeros(1, dtype=np.int32), shape=(4,), strides=(0,))
    with pytest.raises(ValueError, match="zero stride"):
        ex.add.map(xs, xs, out=z)


def test_bad_arguments_raise(ex):
    xs = np.arange(4, dtype=np.int32)
    with pytest.raises(TypeError, match="takes 2 array arguments"):
        ex.add.map(xs)
    with pytest.raises(OverflowError, match="argument 2: 1099511627776 out of range"):
        ex.add.map(xs, 2**40)
    with pytest.raises(TypeError, match="argument 2: expected an int for i32, got float"):
        ex.add.map(xs, 2.0)


def test_non_numeric_signatures_are_refused(ex):
    with pytest.raises(TypeError, match="numeric signature"):
        ex.ref.map(np.arange(3, dtype=np.int32))
    with pytest.raises(TypeError, match="numeric signature"):
        ex.vec.map(np.arange(3, dtype=np.int32))


# ---- out= sharing memory with an input ------------------------------------------------

def separate(f, *args):
    return f.map(*[np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args])


@pytest.mark.parametrize("views", [
    lambda b: (b, b),                    # in place: the very same elements
    lambda b: (b[:-1], b[1:]),           # out one element ahead of the input
    lambda b: (b[1:], b[:-1]),           # out one element behind
    lambda b: (b, b[::-1]),              # reversed
    lambda b: (b[::2], b[:10]),          # interleaved with a step
    lambda b: (b[:1], b),                # a broadcast input the out overwrites first
    lambda b: (b.reshape(4, 5)[:, :1], b.reshape(4, 5)),  # broadcast along a dimension
    lambda b: (b.reshape(4, 5).T, b.reshape(5, 4)),       # same bytes, another order
], ids=["same", "ahead", "behind", "reversed", "step", "broadcast", "broadcast-col", "transposed"])
def test_out_overlapping_an_input_gives_the_separate_result(ex, views):
    base = np.arange(20, dtype=np.int32) * 3 + 1
    x, out = views(base.copy())
    ys = np.arange(out.size, dtype=np.int32).reshape(out.shape) * 1000
    want = ex.add.map(np.array(x, copy=True), ys)
    assert not (want == x + 0 * ys).all()
    b = base.copy()
    x, out = views(b)
    assert ex.add.map(x, ys, out=out) is out
    assert_same(out, want)


def test_overlap_across_results(ex):
    d = np.arange(8, dtype=np.int32)
    e = np.empty(8, dtype=np.int32)
    # out[0] is input 2 element for element (in place), and input 1 reversed
    assert ex.pair_i32.map(d[::-1], d, out=(d, e))[0] is d
    assert d.tolist() == list(range(8))[::-1] and e.tolist() == list(range(8))


def test_overlap_across_dtypes(ex):
    g = np.arange(8, dtype=np.int32) * 3
    ex.bits32.map(g.view(np.float32), out=g)  # the same bytes read as f32: in place
    assert g.tolist() == [3 * i for i in range(8)]
    ex.bits32.map(g.view(np.float32)[::-1], out=g)
    assert g.tolist() == [3 * i for i in range(8)][::-1]
    # 8-byte inputs over the bytes a 4-byte out writes: the out overtakes the input
    h = np.arange(8, dtype=np.int32)
    want = ex.wrap.map(h.view(np.int64).copy())
    assert want.tolist() == [0, 2, 4, 6]
    ex.wrap.map(h.view(np.int64), out=h[4:])
    assert h.tolist() == [0, 1, 2, 3, 0, 2, 4, 6]


def test_results_sharing_memory_are_refused(ex):
    a = np.empty(4, dtype=np.int32)
    with pytest.raises(ValueError, match="share memory"):
        ex.divmod.map(np.arange(4, dtype=np.int32), 2, out=(a, a))
    b = np.empty(8, dtype=np.int32)
    with pytest.raises(ValueError, match="share memory"):
        ex.divmod.map(np.arange(4, dtype=np.int32), 2, out=(b[:4], b[3:7]))
    # interleaved but disjoint results are fine
    q, r = ex.divmod.map(np.arange(4, dtype=np.int32) + 7, 2, out=(b[::2], b[1::2]))
    assert b.tolist() == [3, 1, 4, 0, 4, 1, 5, 0]


def test_arrays_in_wasm_memory():
    store = Store(Engine())
    ex = Instance(store, Module(store.engine, """(module (memory (export "memory") 1)
      (func (export "inc") (param i32) (result i32) local.get 0 i32.const 1 i32.add))""")).exports
    view = np.frombuffer(ex.memory, dtype=np.int32)
    view[:8] = np.arange(8) * 10
    ex.inc.map(view[:7], out=view[1:8])  # input and out overlap inside the Wasm memory
    assert view[:8].tolist() == [0, 1, 11, 21, 31, 41, 51, 61]
    assert ex.inc.map(view[:4][::-1]).tolist() == [22, 12, 2, 1]
    del view
    store.close()


# ---- errors -------------------------------------------------------------------------

def test_trap_stops_the_loop_and_keeps_earlier_results(ex):
    xs = np.array([1, 2, 0, 4], dtype=np.int32)
    out = np.full(4, -1, dtype=np.int32)
    with pytest.raises(Trap) as info:
        ex.recip.map(xs, out=out)
    assert info.value.code == TrapCode.INTEGER_DIVISION_BY_ZERO
    assert out.tolist() == [1000, 500, -1, -1]
    assert ex.recip(8) == 125  # the store is still usable


def test_trap_in_c_order_over_a_broadcast(ex):
    out = np.full((2, 3), -1, dtype=np.int32)
    with pytest.raises(Trap):
        ex.divmod.map(np.array([[6], [7]], dtype=np.int32), np.array([[1, 2, 3], [1, 0, 1]], dtype=np.int32),
                      out=(out, np.empty((2, 3), dtype=np.int32)))
    assert out.tolist() == [[6, 3, 2], [7, -1, -1]]
    assert ex.add.map(np.arange(3, dtype=np.int32), 1).tolist() == [1, 2, 3]


def test_trap_with_an_overlapping_out(ex):
    b = np.array([5, 2, 1, 0, 8], dtype=np.int32)
    with pytest.raises(Trap):
        ex.recip.map(b[:-1], out=b[1:])  # the input is copied before the loop
    assert b.tolist() == [5, 200, 500, 1000, 8]


def test_closed_store(ex):
    add = ex.add
    add.store.close()
    with pytest.raises(StoreClosedError):
        add.map(np.arange(3, dtype=np.int32), 1)


def test_release_gil_store():
    store = Store(Engine(), release_gil=True)
    add = Instance(store, Module(store.engine, WAT)).exports.add
    xs = np.arange(100000, dtype=np.int32)
    assert (add.map(xs, xs) == 2 * xs).all()
    assert (add.map(xs.reshape(100, 1000)[::-1], 1) == xs.reshape(100, 1000)[::-1] + 1).all()


def test_hostile_inputs_in_a_child_process():
    # conversions run Python code (__index__); none of it may crash the process
    proc = run_py("""
        import numpy as np
        import wasmbind
        from wasmbind import StoreClosedError
        wat = ('(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)'
               ' (func (export "id") (param i32) (result i32) local.get 0))')
        store = wasmbind.Store()
        ex = wasmbind.Instance(store, wasmbind.Module(store.engine, wat)).exports

        class Closer:
            def __index__(self):
                store.close()
                return 1
        try:
            ex.add.map(np.arange(3, dtype=np.int32), [1, Closer(), 2])
        except StoreClosedError:
            pass
        else:
            raise AssertionError("the store closed during conversion")

        store = wasmbind.Store()
        ex = wasmbind.Instance(store, wasmbind.Module(store.engine, wat)).exports
        out = np.zeros(3, dtype=np.int32)
        class Resizer:
            def __index__(self):
                try:
                    out.resize(10**6, refcheck=False)
                except ValueError:
                    pass
                return 1
        try:
            ex.add.map(np.arange(3, dtype=np.int32), [1, Resizer(), 1], out=out)
        except ValueError as exc:  # resized before map took hold of it
            assert "shape (1000000,)" in str(exc), exc

        # huge broadcast shapes: refused, never allocated or walked
        a = np.broadcast_to(np.int32(1), (2**40, 1))
        b = np.broadcast_to(np.int32(1), (1, 2**40))
        try:
            ex.add.map(a, b)
        except (ValueError, MemoryError):
            pass
        else:
            raise AssertionError("2**80 elements")
        try:
            ex.id.map(np.broadcast_to(np.int32(1), (2**62,)))
        except (ValueError, MemoryError):
            pass
        # an out overlapping a huge broadcast input: the copy fails cleanly
        o = np.zeros(4, dtype=np.int32)
        ex.add.map(o, np.lib.stride_tricks.as_strided(o, shape=(4,), strides=(0,)), out=o)
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr


def test_without_numpy():
    # a fresh interpreter where NumPy cannot be imported
    proc = run_py("""
        import sys

        class NoNumpy:
            def find_spec(self, name, path=None, target=None):
                if name == "numpy" or name.startswith("numpy."):
                    raise ImportError("numpy is blocked here")

        sys.meta_path.insert(0, NoNumpy())
        import array
        import wasmbind
        ex = wasmbind.instantiate('(module (func (export "add") (param i32 i32) (result i32)'
                                  ' local.get 0 local.get 1 i32.add)'
                                  ' (func (export "addf") (param f64 f64) (result f64)'
                                  ' local.get 0 local.get 1 f64.add))').exports
        add = ex.add
        out = add.map(array.array("i", [1, 2, 3]), 1)
        assert isinstance(out, array.array) and out.tolist() == [2, 3, 4], out
        assert ex.addf.map(array.array("d", [0.5]), 1).tolist() == [1.5]
        assert add.map(memoryview(array.array("i", [1, 2, 3, 4]))[::-2], 1).tolist() == [5, 3]
        # N-d buffers broadcast without NumPy; N-d results need out=
        m = memoryview(array.array("i", range(6))).cast("B").cast("i", [2, 3])
        row = array.array("i", [10, 20, 30])
        o = memoryview(array.array("i", bytes(24))).cast("B").cast("i", [2, 3])
        assert add.map(m, row, out=o) is o and o.tolist() == [[10, 21, 32], [13, 24, 35]]
        try:
            add.map(m, 1)
        except TypeError as exc:
            assert "only with NumPy" in str(exc), exc
        else:
            raise AssertionError("N-d results without NumPy need out=")
        for bad in ([1, 2, 3], array.array("h", [1]), array.array("d", [1.0])):
            try:
                add.map(bad, 1)
            except TypeError as exc:
                assert "install NumPy" in str(exc), exc
            else:
                raise AssertionError("%r needs NumPy to convert" % (bad,))
        try:
            add.map(array.array("i", [1, 2]), array.array("i", [1, 2, 3]))
        except ValueError as exc:
            assert "cannot be broadcast" in str(exc), exc
        else:
            raise AssertionError("shapes (2,) and (3,)")
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr


# ---- properties: random shapes, dtypes, layouts and scalars -------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

PROP_DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
               np.uint64, np.float16, np.float32, np.float64, np.complex128, object]
PY_VALUES = st.one_of(st.integers(-2**65, 2**65), st.integers(-5, 5), st.floats(), st.booleans())
SCALAR_VALUES = st.one_of(
    PY_VALUES,
    st.integers(-2**31, 2**31 - 1).map(np.int32), st.integers(0, 2**64 - 1).map(np.uint64),
    st.integers(-2**63, 2**63 - 1).map(np.array), st.floats(width=32).map(np.float32),
    st.floats().map(np.float64), st.booleans().map(np.bool_), st.just(1j), st.just("1"))


@st.composite
def argument(draw, shape):
    if draw(st.integers(0, 5)) == 0:
        return draw(SCALAR_VALUES)
    dtype = np.dtype(draw(st.sampled_from(PROP_DTYPES)))
    layout = draw(st.sampled_from(["c", "reversed", "step", "list"]))
    full = shape[:-1] + (2 * shape[-1],) if layout == "step" and shape else shape
    elements = PY_VALUES if dtype.kind == "O" else None
    if dtype.kind in "iu" and draw(st.booleans()):
        info = np.iinfo(dtype)  # small values often: wide ints that fit an i32
        elements = st.integers(max(info.min, -2**31 - 2), min(info.max, 2**32 + 1))
    a = draw(hnp.arrays(dtype, full, elements=elements))
    if layout == "step" and shape:
        a = a[..., ::2]
    elif layout == "reversed" and a.ndim:
        a = a[::-1]
    elif layout == "list" and a.ndim and dtype.kind != "O":
        return a.tolist()
    return a


@st.composite
def map_case(draw):
    kind = draw(st.sampled_from(KINDS))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4))
    return kind, (draw(argument(shapes.input_shapes[0])), draw(argument(shapes.input_shapes[1])))


@pytest.fixture(scope="module")
def shared():
    store = Store(Engine())
    yield Instance(store, Module(store.engine, WAT)).exports
    store.close()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=map_case())
def test_property_map_is_the_scalar_call_broadcast(shared, case):
    kind, args = case
    f = shared["pair_" + kind]
    if not any(is_array(a) for a in args):
        with pytest.raises((TypeError, OverflowError)):  # "at least one array", or a bad scalar
            f.map(*args)
        return
    with np.errstate(all="ignore"):
        check_against_reference(f, args, (DTYPE[kind], DTYPE[kind]))


@settings(max_examples=200, deadline=None)
@given(shapes=st.lists(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3), min_size=3, max_size=3),
       data=st.data())
def test_property_shapes_match_numpy(shared, shapes, data):
    args = [data.draw(hnp.arrays(np.float64, s, elements=st.floats(-4, 4, width=16))) for s in shapes]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        with pytest.raises(ValueError, match="cannot be broadcast"):
            shared.fma.map(*args)
        return
    if shape == ():
        with pytest.raises(TypeError, match="at least one array"):
            shared.fma.map(*args)
        return
    got = shared.fma.map(*args)
    assert got.shape == shape and got.flags.c_contiguous
    assert_same(got, args[0] * args[1] + args[2])


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 12), data=st.data())
def test_property_overlap_is_invisible(shared, n, data):
    def view(b):
        start = data.draw(st.integers(0, len(b) - 1))
        v = b[start::data.draw(st.sampled_from([1, 2, 3, -1, -2]))]
        return v[:n] if len(v) >= n else None

    b = np.arange(3 * n, dtype=np.int32) * 7 - 5
    x, y, o1, o2 = view(b), view(b), view(b), view(b)
    hypothesis.assume(all(v is not None for v in (x, y, o1, o2)))
    want = shared.pair_i32.map(x.copy(), y.copy())
    if np.shares_memory(o1, o2):
        with pytest.raises(ValueError, match="share memory"):
            shared.pair_i32.map(x, y, out=(o1, o2))
        return
    shared.pair_i32.map(x, y, out=(o1, o2))
    assert_same(o1, want[0]) and assert_same(o2, want[1])
