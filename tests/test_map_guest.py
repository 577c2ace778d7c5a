"""Func.map inside the guest: the generated Wasm loop against the C loop."""

import contextlib
import threading

import pytest

import wasmbind
from wasmbind import (
    Config,
    Engine,
    Func,
    FuncType,
    Instance,
    Memory,
    MemoryType,
    Module,
    Store,
    Trap,
    TrapCode,
    ValType,
    _core,
)

from support import assert_clean, run_py

np = pytest.importorskip("numpy")

WAT = """(module
  (memory (export "memory") 64)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
  (func (export "id32") (param f32) (result f32) local.get 0)
  (func (export "neg32") (param f32) (result f32) local.get 0 f32.neg)
  (func (export "id64") (param f64) (result f64) local.get 0)
  (func (export "mul64") (param f64 f64) (result f64) local.get 0 local.get 1 f64.mul)
  (func (export "mixed") (param i32 f64 i64 f32) (result f32 i64 f64 i32)
    local.get 3 local.get 2 local.get 1 local.get 0)
  (func (export "divmod") (param i32 i32) (result i32 i32)
    (i32.div_s (local.get 0) (local.get 1)) (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "recip") (param i32) (result i32) i32.const 1000000 local.get 0 i32.div_s)
  (func (export "sum10") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i64)
    local.get 0 local.get 1 i32.add local.get 2 i32.add local.get 3 i32.add local.get 4 i32.add
    local.get 5 i32.add local.get 6 i32.add local.get 7 i32.add local.get 8 i32.add
    local.get 9 i32.add i64.extend_i32_s)
  (global $sum (mut i64) (i64.const 0))
  (func (export "acc") (param i64) global.get $sum local.get 0 i64.add global.set $sum)
  (func (export "total") (result i64) global.get $sum)
  ;; spins for its argument's count of iterations, then returns it
  (func (export "spin") (param i32) (result i32) (local i32)
    (block (loop
      (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br 0)))
    local.get 0)
)"""

BIG = 70_001  # more than one block of the staging memory for every signature here


@pytest.fixture
def ex(engine):
    store = Store(engine)
    yield Instance(store, Module(engine, WAT)).exports
    store.close()


def guest_runs():
    return _core._map_guest_settings()[1]


@contextlib.contextmanager
def c_loop_only():
    prev, _ = _core._map_guest_settings(2**62)
    try:
        yield
    finally:
        _core._map_guest_settings(prev)


@contextlib.contextmanager
def guest_always():
    prev, _ = _core._map_guest_settings(1)
    try:
        yield
    finally:
        _core._map_guest_settings(prev)


def both(f, *arrays, **kw):
    """(guest-loop result, C-loop result), checking that each path ran."""
    before = guest_runs()
    with guest_always():
        g = f.map(*arrays, **kw)
    assert guest_runs() == before + 1, "the guest loop did not run"
    with c_loop_only():
        c = f.map(*arrays, **kw)
    assert guest_runs() == before + 1
    return g, c


def random_bits(dtype, n, seed=0):
    """n values of dtype from random bits: NaNs with payloads, infinities, denormals."""
    rng = np.random.default_rng(seed)
    return np.frombuffer(rng.bytes(n * np.dtype(dtype).itemsize), dtype=dtype).copy()


def same_bits(a, b):
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


# ---- every value kind, bit for bit ----------------------------------------------

@pytest.mark.parametrize("export, dtype, arity", [
    ("add", np.int32, 2), ("add64", np.int64, 2), ("id32", np.float32, 1), ("neg32", np.float32, 1),
    ("id64", np.float64, 1), ("mul64", np.float64, 2)])
def test_every_kind_is_bit_exact(ex, export, dtype, arity):
    arrays = [random_bits(dtype, BIG, seed) for seed in range(arity)]
    g, c = both(ex[export], *arrays)
    assert same_bits(g, c)
    if export.startswith("id"):
        assert same_bits(g, arrays[0])  # NaN payloads and signs come back untouched
    if dtype == np.float32 or dtype == np.float64:
        assert np.isnan(arrays[0]).any()  # the inputs did have NaNs


def test_nan_payloads_through_neg(ex):
    xs = np.array([0x7FC00001, 0x7F800001, 0xFFBFFFFF, 0x00000001], dtype=np.uint32).view(np.float32)
    xs = np.tile(xs, 16)
    g, c = both(ex.neg32, xs)
    assert same_bits(g, c)
    assert same_bits(g.view(np.uint32), xs.view(np.uint32) ^ np.uint32(0x80000000))


def test_mixed_kinds_and_several_results(ex):
    n = BIG
    a, b = random_bits(np.int32, n, 1), random_bits(np.float64, n, 2)
    c_, d = random_bits(np.int64, n, 3), random_bits(np.float32, n, 4)
    g, c = both(ex.mixed, a, b, c_, d)
    for x, y, want in zip(g, c, (d, c_, b, a)):
        assert same_bits(x, y) and same_bits(x, want)


def test_many_parameters_and_scalars(ex):
    xs = np.arange(BIG, dtype=np.int32)
    args = [xs, 1, xs, 2, xs, 3, xs, 4, xs, 5]
    g, c = both(ex.sum10, *args)
    assert same_bits(g, c) and (g == 5 * xs.astype(np.int64) + 15).all()
    g, c = both(ex.mul64, 2.5, np.linspace(0, 1, BIG))
    assert same_bits(g, c)


def test_unsigned_and_signed_views(ex):
    xs = np.array([0xFFFFFFFF, 1, 2**31] * 20, dtype=np.uint32)
    g, c = both(ex.add, xs, 1)
    assert same_bits(g, c) and g.view(np.uint32).tolist()[:3] == [0, 2, 2**31 + 1]


def test_no_results(ex):
    with guest_always():
        before = guest_runs()
        assert ex.acc.map(np.arange(1, BIG + 1, dtype=np.int64)) is None
        assert guest_runs() == before + 1
    assert ex.total() == BIG * (BIG + 1) // 2


# ---- traps, fuel, deadlines ---------------------------------------------------------

@pytest.mark.parametrize("where", [0, 1, 5000, BIG - 1])
def test_trap_mid_array_keeps_earlier_elements(ex, where):
    xs = np.arange(1, BIG + 1, dtype=np.int32)
    xs[where] = 0
    outs = []
    for ctx in (guest_always, c_loop_only):
        out = np.full(BIG, -7, dtype=np.int32)
        with ctx(), pytest.raises(Trap) as info:
            ex.recip.map(xs, out=out)
        assert info.value.code == TrapCode.INTEGER_DIVISION_BY_ZERO
        outs.append(out)
    assert same_bits(outs[0], outs[1])
    assert (outs[0][:where] == 1000000 // xs[:where]).all() and (outs[0][where:] == -7).all()
    # the store is usable afterwards, by both paths
    g, c = both(ex.recip, np.arange(1, BIG + 1, dtype=np.int32))
    assert same_bits(g, c)


def test_trap_with_several_results(ex):
    ys = np.ones(BIG, dtype=np.int32)
    ys[40000] = 0
    q, r = np.full(BIG, 9, np.int32), np.full(BIG, 9, np.int32)
    with guest_always(), pytest.raises(Trap):
        ex.divmod.map(np.arange(BIG, dtype=np.int32), ys, out=(q, r))
    assert (q[:40000] == np.arange(40000)).all() and (r[:40000] == 0).all()
    assert (q[40000:] == 9).all() and (r[40000:] == 9).all()


def test_trap_frames_are_the_functions_not_the_loops(ex):
    xs = np.zeros(100, dtype=np.int32)
    traps = []
    for ctx in (guest_always, c_loop_only):
        with ctx(), pytest.raises(Trap) as info:
            ex.recip.map(xs)
        traps.append(info.value)
    assert [f.func_name for f in traps[0].frames] == [f.func_name for f in traps[1].frames]
    assert all(f.module_name != "wasmbind.map" for f in traps[0].frames)
    assert "map_loop" not in str(traps[0])


def test_fuel_runs_out_mid_map(fuel_engine):
    store = Store(fuel_engine)
    ex = Instance(store, Module(fuel_engine, WAT)).exports
    xs = np.arange(BIG, dtype=np.int32)
    out = np.full(BIG, -1, dtype=np.int32)
    store.set_fuel(200_000)
    with guest_always(), pytest.raises(Trap) as info:
        ex.add.map(xs, xs, out=out)
    assert info.value.code == TrapCode.OUT_OF_FUEL
    done = int(np.argmax(out == -1))
    assert 0 < done < BIG and (out[:done] == 2 * xs[:done]).all() and (out[done:] == -1).all()
    # the store is usable afterwards
    store.set_fuel(10**9)
    g, c = both(ex.add, xs, xs)
    assert (g == 2 * xs).all() and same_bits(g, c)
    # no fuel at all: nothing is written
    store.set_fuel(0)
    out[:] = -1
    with guest_always(), pytest.raises(Trap) as info:
        ex.add.map(xs, xs, out=out)
    assert info.value.code == TrapCode.OUT_OF_FUEL and (out == -1).all()


def test_deadline_interrupts_mid_map(sandbox_engine):
    store = Store(sandbox_engine)
    ex = Instance(store, Module(sandbox_engine, WAT)).exports
    xs = np.full(200_000, 20_000, dtype=np.int32)  # about 4e9 iterations: minutes
    out = np.full(xs.size, -1, dtype=np.int32)
    with guest_always(), store.deadline(0.2), pytest.raises(Trap) as info:
        ex.spin.map(xs, out=out)
    assert info.value.code == TrapCode.INTERRUPT
    done = int(np.argmax(out == -1))
    assert (out[:done] == 20_000).all() and (out[done:] == -1).all()
    with guest_always():
        assert (ex.spin.map(np.full(100, 3, dtype=np.int32)) == 3).all()


def test_ctrl_c_stops_a_guest_map():
    proc = run_py("""
        import os, signal, threading
        import numpy as np, wasmbind
        from wasmbind import _core
        _core._map_guest_settings(1)
        engine = wasmbind.Engine(wasmbind.Config.sandbox())
        store = wasmbind.Store(engine)
        store.set_timeout(20)  # never hang, whatever happens
        spin = wasmbind.Instance(store, wasmbind.Module(engine, %r)).exports.spin
        out = np.full(200_000, -1, dtype=np.int32)
        runs = _core._map_guest_settings()[1]
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            spin.map(np.full(200_000, 20_000, dtype=np.int32), out=out)
        except KeyboardInterrupt:
            done = int(np.argmax(out == -1))
            assert 0 < done and (out[:done] == 20_000).all() and (out[done:] == -1).all(), done
            assert _core._map_guest_settings()[1] == runs + 1
            print("interrupted", spin.map(np.full(100, 3, dtype=np.int32)).tolist() == [3] * 100)
    """ % WAT)
    assert_clean(proc, "interrupted True")


def test_small_thread_stack_refused():
    # the guest loop is a call into Wasm: refused on a thread whose stack cannot
    # hold the engine's Wasm stack, as the C loop's calls are (a crash otherwise)
    proc = run_py("""
        import threading
        import numpy as np, wasmbind
        from wasmbind import _core
        _core._map_guest_settings(1)
        ex = wasmbind.instantiate(%r).exports
        xs = np.arange(1000, dtype=np.int32)
        ex.add.map(xs, 1)  # the loop instance exists before the small thread
        out = []
        def on_small_stack():
            try:
                ex.add.map(xs, 1)
                out.append("ran")
            except wasmbind.WasmError as exc:
                out.append("refused" if "not enough native stack" in str(exc) else str(exc))
        threading.stack_size(256 * 1024)
        t = threading.Thread(target=on_small_stack)
        t.start()
        t.join(60)
        threading.stack_size(0)
        print(out[0], (ex.add.map(xs, 1) == xs + 1).all())
    """ % WAT)
    assert_clean(proc, "refused True")


def test_a_long_map_hands_the_gil_to_other_threads(sandbox_engine):
    # the guest loop is one long call: the epoch ticks let go of the GIL in it
    store = Store(sandbox_engine)
    ex = Instance(store, Module(sandbox_engine, WAT)).exports
    counted = []
    done = threading.Event()

    def count_while_waiting():
        while not done.wait(0.005):
            counted.append(1)

    t = threading.Thread(target=count_while_waiting)
    t.start()
    try:
        with guest_always():
            ex.spin.map(np.full(2000, 100_000, dtype=np.int32))  # 2e8 iterations
    finally:
        done.set()
        t.join()
    assert len(counted) > 3


# ---- buffers: out=, strided, read-only, aliasing, sizes ------------------------------

def test_out_arrays(ex):
    xs = np.arange(BIG, dtype=np.int32)
    out = np.zeros(BIG, dtype=np.int32)
    with guest_always():
        assert ex.add.map(xs, xs, out=out) is out
    assert (out == 2 * xs).all()
    q, r = np.empty(BIG, np.int32), np.empty(BIG, np.int32)
    with guest_always():
        got = ex.divmod.map(xs, 7, out=(q, r))
    assert got[0] is q and got[1] is r and (q == xs // 7).all() and (r == xs % 7).all()


def test_in_place(ex):
    xs = np.arange(BIG, dtype=np.int32)
    with guest_always():
        ex.add.map(xs, 5, out=xs)
    assert (xs == np.arange(BIG) + 5).all()


def test_partly_overlapping_out(ex):
    # map.pxi copies an input that overlaps an out: the result is NumPy's
    mem = np.frombuffer(ex.memory, dtype=np.int32)
    for where in ("outside", "in memory"):
        results = []
        for ctx in (guest_always, c_loop_only):
            buf = np.zeros(BIG + 1, dtype=np.int32) if where == "outside" else mem[:BIG + 1]
            buf[:] = 0
            before = guest_runs()
            with ctx():
                ex.add.map(buf[:-1], 1, out=buf[1:])
            assert guest_runs() == before + (ctx is guest_always)
            results.append(buf.copy())
        assert same_bits(results[0], results[1]) and (results[0][1:] == 1).all()
    del mem, buf


def test_strided_and_read_only_inputs(ex):
    base = np.arange(2 * BIG, dtype=np.float64)
    ro = np.linspace(-1, 1, BIG)
    ro.flags.writeable = False
    for strided in (base[::2], base[::-2], base.reshape(BIG, 2)[:, 1]):
        g, c = both(ex.mul64, strided, ro)
        assert same_bits(g, c) and same_bits(g, strided * ro)


def test_strided_outputs_and_broadcast_inputs(ex):
    xs = np.arange(BIG, dtype=np.int32)
    for ctx in (guest_always, c_loop_only):
        out = np.full(3 * BIG, -1, dtype=np.int32)
        with ctx():
            ex.add.map(xs, np.broadcast_to(np.int32(7), (BIG,)), out=out[::3])
        assert (out[::3] == xs + 7).all() and (out[1::3] == -1).all() and (out[2::3] == -1).all()
    q, r = np.empty(2 * BIG, np.int32), np.empty(2 * BIG, np.int32)
    with guest_always():
        ex.divmod.map(xs, 5, out=(q[::-2], r[1::2]))
    assert (q[::-2] == xs // 5).all() and (r[1::2] == xs % 5).all()


def test_n_d_arrays(ex):
    m = np.arange(6 * 4000, dtype=np.int32).reshape(6, 4000)
    g, c = both(ex.add, m, 1)        # C-contiguous: one dimension
    assert g.shape == m.shape and same_bits(g, c) and (g == m + 1).all()
    before = guest_runs()
    t = ex.add.map(m.T, 1)           # does not merge into one dimension: the C loop
    assert guest_runs() == before and (t == m.T + 1).all()
    g, c = both(ex.add, m, np.arange(4000, dtype=np.int32)[None, :].repeat(6, 0))
    assert same_bits(g, c)


@pytest.mark.parametrize("n", [1, 31, 32, 33, 8191, 8192, 8193, 65536, 1_000_003])
def test_lengths_around_the_block_size(ex, n):
    xs = np.arange(n, dtype=np.float64)
    g, c = both(ex.mul64, xs, xs)
    assert same_bits(g, c) and same_bits(g, xs * xs)


def test_short_arrays_take_the_c_loop(ex):
    before = guest_runs()
    ex.add.map(np.arange(4, dtype=np.int32), 1)
    assert guest_runs() == before
    ex.add.map(np.arange(100_000, dtype=np.int32), 1)
    assert guest_runs() == before + 1


# ---- zero copy: arrays in the instance's memory --------------------------------------

def test_zero_copy_from_the_instances_memory(ex):
    mem = ex.memory
    view = np.frombuffer(mem, dtype=np.float64)
    n = BIG
    xs, ys, out = view[:n], view[n:2 * n], view[2 * n:3 * n]
    xs[:] = np.linspace(0, 1, n)
    ys[:] = 3.0
    with guest_always():
        before = guest_runs()
        assert ex.mul64.map(xs, ys, out=out) is out
        assert guest_runs() == before + 1
    assert same_bits(out, xs * 3.0)
    # inputs in memory, the output outside it (and the other way round)
    g, c = both(ex.mul64, xs, ys)
    assert same_bits(g, c) and same_bits(g, xs * 3.0)
    out2 = view[3 * n:4 * n]
    with guest_always():
        ex.mul64.map(np.full(n, 2.0), 2.0, out=out2)
    assert (out2 == 4.0).all()
    del view, xs, ys, out, out2


def test_zero_copy_sees_writes_of_the_function(engine):
    # f(x) writes 0 at index x + 1: with the inputs read in place (x = the
    # index, for the even ones), every odd element is 0 by the time it is read
    wat = """(module (memory (export "memory") 4)
      (func (export "f") (param i32) (result i32)
        (i32.store (i32.add (i32.mul (local.get 0) (i32.const 4)) (i32.const 4)) (i32.const 0))
        local.get 0))"""
    store = Store(engine)
    ex = Instance(store, Module(engine, wat)).exports
    view = np.frombuffer(ex.memory, dtype=np.int32)
    outs = []
    for ctx in (guest_always, c_loop_only):
        view[:200] = np.arange(200)
        outs.append(np.empty(100, np.int32))
        with ctx():
            ex.f.map(view[:100], out=outs[-1])
    want = np.where(np.arange(100) % 2 == 0, np.arange(100), 0)
    assert same_bits(outs[0], outs[1]) and (outs[0] == want).all()
    del view


def test_memory64_zero_copy():
    engine = Engine(Config(wasm_memory64=True))
    store = Store(engine)
    ex = Instance(store, Module(engine, """(module (memory (export "memory") i64 4)
      (func (export "twice") (param f64) (result f64) local.get 0 local.get 0 f64.add))""")).exports
    view = np.frombuffer(ex.memory, dtype=np.float64)
    view[:1000] = np.arange(1000)
    with guest_always():
        before = guest_runs()
        ex.twice.map(view[:1000], out=view[1000:2000])
        assert guest_runs() == before + 1
    assert (view[1000:2000] == 2 * np.arange(1000)).all()
    del view


def test_without_multi_memory_everything_is_staged():
    engine = Engine(Config(wasm_multi_memory=False))
    store = Store(engine)
    ex = Instance(store, Module(engine, WAT)).exports
    view = np.frombuffer(ex.memory, dtype=np.float64)
    view[:BIG] = np.linspace(0, 1, BIG)
    g, c = both(ex.mul64, view[:BIG], 2.0)
    assert same_bits(g, c)
    with guest_always():
        ex.mul64.map(view[:BIG], 2.0, out=view[BIG:2 * BIG])
    assert same_bits(view[BIG:2 * BIG], g)
    del view


def test_memory_of_another_store_is_copied(engine, ex):
    other = Store(engine)
    mem = Memory(other, MemoryType(4))
    view = np.frombuffer(mem, dtype=np.int32)
    view[:1000] = np.arange(1000)
    g, c = both(ex.add, view[:1000], 1)
    assert same_bits(g, c) and (g == np.arange(1, 1001)).all()
    del view


# ---- host functions, nesting, stores -------------------------------------------------

def test_host_function(store):
    f64 = ValType.f64
    hf = Func(store, FuncType([f64, f64], [f64]), lambda a, b: a * b + 1)
    xs = np.linspace(0, 1, 5000)
    g, c = both(hf, xs, 2.0)
    assert same_bits(g, c) and same_bits(g, xs * 2.0 + 1)


def test_host_function_raising_mid_map(store):
    i32 = ValType.i32
    err = ValueError("element 300")

    def h(x):
        if x == 300:
            raise err
        return x + 1

    hf = Func(store, FuncType([i32], [i32]), h)
    for ctx in (guest_always, c_loop_only):
        out = np.full(1000, -1, np.int32)
        with ctx(), pytest.raises(ValueError) as info:
            hf.map(np.arange(1000, dtype=np.int32), out=out)
        assert info.value is err
        assert (out[:300] == np.arange(1, 301)).all() and (out[300:] == -1).all()


def test_nested_map_from_a_host_function(engine):
    store = Store(engine)
    ex = Instance(store, Module(engine, WAT)).exports
    inner = np.arange(500, dtype=np.int32)

    def h(x):
        return int(ex.add.map(inner, x).sum() % 1000)

    hf = Func(store, FuncType([ValType.i32], [ValType.i32]), h)
    with guest_always():
        before = guest_runs()
        got = hf.map(np.arange(100, dtype=np.int32))
        assert guest_runs() == before + 1  # the inner maps took the C loop
    assert got.tolist() == [int((inner + x).sum() % 1000) for x in range(100)]


def test_caller_sees_no_instance(store):
    seen = []

    def h(caller, x):
        seen.append((caller.get("memory"), caller.get("run")))
        return x

    hf = Func(store, FuncType([ValType.i32], [ValType.i32]), h, access_caller=True)
    for ctx in (guest_always, c_loop_only):
        with ctx():
            hf.map(np.arange(3, dtype=np.int32))
    assert set(seen) == {(None, None)}


def test_release_gil_store(engine):
    store = Store(engine, release_gil=True)
    ex = Instance(store, Module(engine, WAT)).exports
    xs = np.arange(BIG, dtype=np.int32)
    g, c = both(ex.add, xs, xs)
    assert same_bits(g, c) and (g == 2 * xs).all()


def test_stores_with_count_limits_keep_the_c_loop(engine):
    store = Store(engine)
    ex = Instance(store, Module(engine, WAT)).exports
    store.set_limits(instances=2)
    before = guest_runs()
    with guest_always():
        out = ex.add.map(np.arange(1000, dtype=np.int32), 1)
    assert guest_runs() == before and (out == np.arange(1, 1001)).all()
    Instance(store, Module(engine, WAT))  # the budget is intact


def test_memory_limit_below_the_staging_memory_falls_back(engine):
    store = Store(engine)
    store.set_limits(memory_size=2 * 65536)  # less than the staging memory
    ex = Instance(store, Module(engine, """(module (memory (export "memory") 1)
      (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))""")).exports
    before = guest_runs()
    with guest_always():
        out = ex.add.map(np.arange(1000, dtype=np.int32), 1)
        out2 = ex.add.map(np.arange(1000, dtype=np.int32), 2)
    assert guest_runs() == before
    assert (out == np.arange(1, 1001)).all() and (out2 == np.arange(2, 1002)).all()
    assert ex.memory.grow(1) == 1  # the limit's budget is intact


def test_many_functions_and_stores(engine):
    module = Module(engine, WAT)
    xs = np.arange(1000, dtype=np.int32)
    for _ in range(20):
        store = Store(engine)
        a = Instance(store, module).exports
        b = Instance(store, module).exports
        with guest_always():
            assert (a.add.map(xs, 1) == xs + 1).all()
            assert (b.add.map(xs, 2) == xs + 2).all()
            assert (a.recip.map(xs + 1) == 1000000 // (xs + 1)).all()
        store.close()
    # a store opened after the others were freed starts afresh
    store = Store(engine)
    with guest_always():
        assert (Instance(store, module).exports.add.map(xs, 3) == xs + 3).all()


def test_closed_store_then_gc(engine):
    import gc
    store = Store(engine)
    add = Instance(store, Module(engine, WAT)).exports.add
    with guest_always():
        add.map(np.arange(100, dtype=np.int32), 1)
    store.close()
    with pytest.raises(wasmbind.StoreClosedError):
        add.map(np.arange(100, dtype=np.int32), 1)
    del add, store
    gc.collect()
