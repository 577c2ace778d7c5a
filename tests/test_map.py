"""Func.map: element-wise calls over arrays, looped in C."""

import array

import pytest

from wasmbind import Engine, Instance, Module, Store, StoreClosedError, Trap, TrapCode

from support import run_py

np = pytest.importorskip("numpy")

WAT = """(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
  (func (export "scale32") (param f32) (result f32) local.get 0 f32.const 0.5 f32.mul)
  (func (export "fma") (param f64 f64 f64) (result f64)
    local.get 0 local.get 1 f64.mul local.get 2 f64.add)
  (func (export "divmod") (param i32 i32) (result i32 i32)
    (i32.div_s (local.get 0) (local.get 1)) (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "recip") (param i32) (result i32) i32.const 1000 local.get 0 i32.div_s)
  (global $sum (mut i64) (i64.const 0))
  (func (export "acc") (param i64) global.get $sum local.get 0 i64.add global.set $sum)
  (func (export "total") (result i64) global.get $sum)
  (func (export "ref") (param externref) (result i32) i32.const 1)
  (func (export "vec") (param v128) (result i32) i32.const 1)
)"""


@pytest.fixture
def ex():
    store = Store(Engine())
    yield Instance(store, Module(store.engine, WAT)).exports
    store.close()


def test_i32_arrays(ex):
    xs = np.arange(-5000, 5000, dtype=np.int32)
    ys = np.arange(10000, dtype=np.int32)[::-1].copy()
    out = ex.add.map(xs, ys)
    assert out.dtype == np.int32 and out.shape == xs.shape
    assert (out == xs + ys).all()


def test_i32_wraps_like_wasm(ex):
    xs = np.array([2**31 - 1, -(2**31)], dtype=np.int32)
    assert ex.add.map(xs, np.array([1, -1], dtype=np.int32)).tolist() == [-(2**31), 2**31 - 1]


def test_unsigned_buffers_are_reinterpreted(ex):
    xs = np.array([0xFFFFFFFF, 1], dtype=np.uint32)
    assert ex.add.map(xs, 1).tolist() == [0, 2]


def test_i64_and_f32_and_f64(ex):
    a = np.array([2**40, -3], dtype=np.int64)
    assert ex.add64.map(a, a).tolist() == [2**41, -6]
    f = np.array([1.0, 3.0, -8.0], dtype=np.float32)
    assert ex.scale32.map(f).tolist() == [0.5, 1.5, -4.0]
    x = np.linspace(0, 1, 1001)
    assert np.array_equal(ex.fma.map(x, x, 1.0), x * x + 1.0)


def test_scalars_broadcast(ex):
    xs = np.arange(10, dtype=np.int32)
    assert (ex.add.map(xs, 100) == xs + 100).all()
    assert (ex.add.map(7, xs) == xs + 7).all()
    with pytest.raises(TypeError, match="at least one array"):
        ex.add.map(1, 2)


def test_out_is_filled_and_returned(ex):
    xs = np.arange(100, dtype=np.int32)
    out = np.zeros(100, dtype=np.int32)
    assert ex.add.map(xs, xs, out=out) is out
    assert (out == 2 * xs).all()


def test_several_results_give_several_arrays(ex):
    q, r = ex.divmod.map(np.array([17, -17, 9], dtype=np.int32), np.array([5, 5, 3], dtype=np.int32))
    assert q.tolist() == [3, -3, 3] and r.tolist() == [2, -2, 0]
    outs = (np.empty(1, dtype=np.int32), np.empty(1, dtype=np.int32))
    got = ex.divmod.map(np.array([7], dtype=np.int32), 2, out=outs)
    assert got[0] is outs[0] and got[1] is outs[1] and (outs[0][0], outs[1][0]) == (3, 1)


def test_no_results_runs_for_side_effects(ex):
    assert ex.acc.map(np.arange(1, 101, dtype=np.int64)) is None
    assert ex.total() == 5050


def test_other_inputs_are_converted(ex):
    assert ex.add.map([1, 2, 3], (10, 20, 30)).tolist() == [11, 22, 33]
    assert ex.fma.map(np.arange(3, dtype=np.int16), 2, 0.5).tolist() == [0.5, 2.5, 4.5]
    assert ex.add.map(array.array("i", [1, 2]), array.array("i", [3, 4])).tolist() == [4, 6]


def test_strided_inputs_are_copied_contiguous(ex):
    xs = np.arange(20, dtype=np.int32)[::2]
    assert ex.add.map(xs, xs).tolist() == [2 * v for v in range(0, 20, 2)]


def test_multidimensional_contiguous_arrays_are_flat(ex):
    m = np.arange(12, dtype=np.int32).reshape(3, 4)
    assert ex.add.map(m, 1).tolist() == list(range(1, 13))


def test_bad_arguments_raise(ex):
    xs = np.arange(4, dtype=np.int32)
    with pytest.raises(TypeError, match="takes 2 array arguments"):
        ex.add.map(xs)
    with pytest.raises(ValueError, match="differ in length"):
        ex.add.map(xs, np.arange(5, dtype=np.int32))
    with pytest.raises(TypeError):
        ex.add.map(xs, ["a", "b", "c", "d"])
    with pytest.raises(OverflowError):
        ex.add.map(xs, 2**40)
    with pytest.raises(TypeError, match="writable"):
        ex.add.map(xs, xs, out=np.empty(4, dtype=np.float64))
    with pytest.raises(ValueError, match="elements"):
        ex.add.map(xs, xs, out=np.empty(3, dtype=np.int32))
    ro = np.empty(4, dtype=np.int32)
    ro.flags.writeable = False
    with pytest.raises(TypeError, match="writable"):
        ex.add.map(xs, xs, out=ro)
    with pytest.raises(TypeError, match="tuple of 2"):
        ex.divmod.map(xs, 1, out=np.empty(4, dtype=np.int32))


def test_non_numeric_signatures_are_refused(ex):
    with pytest.raises(TypeError, match="numeric signature"):
        ex.ref.map(np.arange(3, dtype=np.int32))
    with pytest.raises(TypeError, match="numeric signature"):
        ex.vec.map(np.arange(3, dtype=np.int32))


def test_trap_stops_the_loop_and_keeps_earlier_results(ex):
    xs = np.array([1, 2, 0, 4], dtype=np.int32)
    out = np.full(4, -1, dtype=np.int32)
    with pytest.raises(Trap) as info:
        ex.recip.map(xs, out=out)
    assert info.value.code == TrapCode.INTEGER_DIVISION_BY_ZERO
    assert out.tolist() == [1000, 500, -1, -1]
    assert ex.recip(8) == 125  # the store is still usable


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


def test_without_numpy_outputs_are_array_array():
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
        add = wasmbind.instantiate('(module (func (export "add") (param i32 i32) (result i32)'
                                   ' local.get 0 local.get 1 i32.add))').exports.add
        out = add.map(array.array("i", [1, 2, 3]), 1)
        assert isinstance(out, array.array) and out.tolist() == [2, 3, 4], out
        try:
            add.map([1, 2, 3], 1)
        except TypeError as exc:
            assert "install NumPy" in str(exc), exc
        else:
            raise AssertionError("a list needs NumPy to convert")
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr
