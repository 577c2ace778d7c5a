"""wasmbind.dask on a real cluster: distributed.LocalCluster with two worker
processes (one thread each), started once for the file and shut down after.

Kernels over chunked Dask arrays against NumPy; batches of WASI jobs whose
programs exit, trap, run out of fuel or time, checked one by one, with no
worker dying; workers killed in the middle of a job: the job is run again or
reported, never lost. Loops only a limit can stop are bounded (seconds), so a
limit that fails shows as a wrong result, not a hang.
"""

import logging
import os
import signal
import sys
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
np = pytest.importorskip("numpy")
import dask  # noqa: E402

import wasmbind.dask as wd  # noqa: E402
from wasmbind import (  # noqa: E402
    CompileError,
    Config,
    Engine,
    LinkError,
    Module,
    Trap,
    TrapCode,
    WasiExit,
    WasiResult,
    pickling,
    shared_engine,
)

from support import KERNEL_WAT, LONG_LOOP, WASI_EXIT3, WASI_LONG, WASI_TRAP, wasi_wat  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wasi_build import build_wasi, have_wasi_toolchain, wasi_toolchain_problem  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def client():
    # a job whose worker dies is run again once; the second death reports it
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                           dashboard_address=None, silence_logs=logging.CRITICAL)
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture
def healthy(client):
    """Two workers before the test; after it, the same two (none died)."""
    client.wait_for_workers(2, timeout=60)
    before = client.run(os.getpid)
    yield before
    assert client.run(os.getpid) == before, "a worker died or was replaced"


@pytest.fixture(scope="module")
def kernel():
    return Module(shared_engine(Config.sandbox(consume_fuel=True)), KERNEL_WAT)


def worker_caches(client):
    return list(client.run(pickling.cache_info).values())


# ---------------------------------------------------------------- map_blocks

def test_map_blocks_matches_numpy(client, kernel, healthy):
    xs = np.linspace(-50, 50, 100_003)
    x = da.from_array(xs, chunks=7_000)
    got = wd.map_blocks(kernel, "poly", x, 1.25)
    assert isinstance(got, da.Array) and got.dtype == np.float64 and got.chunks == x.chunks
    np.testing.assert_array_equal(got.compute(), xs * xs + 1.25)
    # two arrays, i32 wrapping like NumPy's int32
    a = da.arange(-2**31, -2**31 + 2**20 * 37, 37, chunks=100_000, dtype=np.int64)
    b = da.full(a.shape, 2**31 - 1, chunks=100_000, dtype=np.int64)
    got = wd.map_blocks(kernel, "add", a, b).compute()
    assert got.dtype == np.int32 and got.shape == (2**20,)
    np.testing.assert_array_equal(got, a.compute().astype(np.int32) + (2**31 - 1))


def test_map_blocks_two_dimensions_and_broadcasting(client, kernel, healthy):
    m = np.arange(600, dtype=np.float64).reshape(20, 30)
    row = np.linspace(0, 1, 30)
    got = wd.map_blocks(kernel, "poly", da.from_array(m, chunks=(7, 11)),
                        da.from_array(row, chunks=11))
    assert got.shape == (20, 30)
    np.testing.assert_array_equal(got.compute(), m * m + row)
    # inputs of another type are converted to the parameter types
    ints = da.arange(1000, chunks=300)
    np.testing.assert_array_equal(wd.map_blocks(kernel, "poly", ints, np.float32(2)).compute(),
                                  np.arange(1000.0) ** 2 + 2)


def test_map_blocks_result_is_a_plain_array(kernel):
    # a block as a worker computes it: an array of its own, the store closed
    # behind it (closing a store fails while views of its memory live)
    out = wd._apply_block(kernel, "poly", ("float64", "float64"), None, None,
                          np.arange(12.0).reshape(3, 4), 1.0)
    base = out
    while base.base is not None:
        base = base.base
    assert isinstance(base, np.ndarray) and base.flags.owndata and out.flags.writeable
    np.testing.assert_array_equal(out, np.arange(12.0).reshape(3, 4) ** 2 + 1)


def test_map_blocks_trap_comes_back_whole(client, kernel, healthy):
    num = da.from_array(np.arange(1, 101, dtype=np.int32), chunks=10)
    den = da.from_array(np.r_[np.ones(57, np.int32), [0], np.ones(42, np.int32)], chunks=10)
    with pytest.raises(Trap) as ei:
        wd.map_blocks(kernel, "div", num, den).compute()
    assert ei.value.code is TrapCode.INTEGER_DIVISION_BY_ZERO
    assert len(ei.value.frames) == 2 and "divide by zero" in ei.value.message
    np.testing.assert_array_equal(wd.map_blocks(kernel, "div", num, 3).compute(),
                                  np.arange(1, 101) // 3)


def test_map_blocks_limits_per_block(client, kernel, healthy):
    n = da.full(8, LONG_LOOP, dtype=np.int64, chunks=2)
    with pytest.raises(Trap) as ei:
        wd.map_blocks(kernel, "count", n, fuel=100_000).compute()
    assert ei.value.code is TrapCode.OUT_OF_FUEL
    with pytest.raises(Trap) as ei:
        wd.map_blocks(kernel, "count", n, timeout=0.2).compute()
    assert ei.value.code is TrapCode.INTERRUPT
    # the limit is per block: each block has all of it
    small = da.full(8, 1000, dtype=np.int64, chunks=2)
    np.testing.assert_array_equal(wd.map_blocks(kernel, "count", small, fuel=100_000).compute(),
                                  np.full(8, 1000))


def test_map_blocks_sends_the_module_once_per_worker(client, healthy):
    client.run(pickling.cache_clear)
    m = Module(None, KERNEL_WAT.replace('"poly"', '"poly2"'))
    x = da.arange(40_000, chunks=1_000, dtype=np.float64)  # 40 blocks
    np.testing.assert_array_equal(wd.map_blocks(m, "poly2", x, 0.0).compute(),
                                  np.arange(40_000.0) ** 2)
    caches = worker_caches(client)
    assert sum(c["misses"] for c in caches) <= 2, caches  # at most one load per worker
    assert sum(c["compiled"] for c in caches) == 0, caches  # the artifact, not a compile
    assert sum(c["deserialized"] for c in caches) >= 1, caches


def test_map_blocks_checks_arguments_here(kernel):
    x = da.ones(10, chunks=5)
    with pytest.raises(KeyError, match="no export named 'nope'"):
        wd.map_blocks(kernel, "nope", x)
    with pytest.raises(TypeError, match="takes 2 array arguments"):
        wd.map_blocks(kernel, "poly", x)
    with pytest.raises(TypeError, match="at least one Dask array"):
        wd.map_blocks(kernel, "poly", 1.0, 2.0)
    with pytest.raises(TypeError, match="Dask array or a number"):
        wd.map_blocks(kernel, "poly", x, np.ones(10))
    with pytest.raises(TypeError, match="Module"):
        wd.map_blocks(KERNEL_WAT, "poly", x, 1.0)
    multi = Module(None, '(module (func (export "two") (param i32) (result i32 i32) local.get 0 local.get 0)'
                         ' (memory (export "mem") 1))')
    with pytest.raises(TypeError, match="one result"):
        wd.map_blocks(multi, "two", x)
    with pytest.raises(TypeError, match="not a function"):
        wd.map_blocks(multi, "mem", x)
    imports = Module(None, '(module (import "env" "f" (func (param f64) (result f64)))'
                           ' (func (export "g") (param f64) (result f64) local.get 0 call 0))')
    with pytest.raises(ValueError, match="no imports"):
        wd.map_blocks(imports, "g", x)
    plain = Module(Engine(Config(consume_fuel=False)), KERNEL_WAT)
    with pytest.raises(ValueError, match="consume_fuel"):
        wd.map_blocks(plain, "poly", x, 1.0, fuel=10)
    no_epoch = Module(Engine(Config(epoch_interruption=False)), KERNEL_WAT)
    with pytest.raises(ValueError, match="epoch_interruption"):
        wd.map_blocks(no_epoch, "poly", x, 1.0, timeout=1)


# ---------------------------------------------------------------- run_wasi_many

def test_wasi_batch_every_ending(client, healthy):
    ok = wasi_wat("")
    jobs = [
        {"program": ok},
        {"program": wasi_wat(WASI_EXIT3)},
        {"program": wasi_wat(WASI_TRAP)},
        {"program": wasi_wat(WASI_LONG), "fuel": 50_000},
        {"program": wasi_wat(WASI_LONG), "timeout": 0.2},
        {"program": wasi_wat(WASI_EXIT3), "check": True},
        {"program": ok, "invoke": "no_such_export"},
        {"program": ok, "text": True, "argv": ["prog", "x"]},
    ]
    out = wd.run_wasi_many(client, jobs)
    assert len(out) == len(jobs)
    r = out[0]
    assert isinstance(r, WasiResult) and r.returncode == 0 and r.stdout == b"hello\n" and r.trap is None
    assert out[1].returncode == 3 and out[1].stdout == b"hello\n"
    assert out[2].returncode is None and out[2].trap.code is TrapCode.UNREACHABLE
    assert out[2].trap.frames and out[2].stdout == b"hello\n"
    assert out[3].out_of_fuel and out[3].fuel_consumed == 50_000 and out[3].returncode is None
    assert out[4].timed_out and out[4].trap.code is TrapCode.INTERRUPT
    assert isinstance(out[5], WasiExit) and out[5].code == 3 and out[5].result.stdout == b"hello\n"
    assert isinstance(out[6], LinkError) and "no_such_export" in str(out[6])
    assert out[7].stdout == "hello\n" and out[7].args == ["prog", "x"]
    with pytest.raises(WasiExit) as ei:
        wd.run_wasi_many(client, jobs[:2] + jobs[5:6], errors="raise")
    assert ei.value.code == 3


def test_wasi_batch_of_c_programs(client, healthy):
    if not have_wasi_toolchain():
        pytest.skip("no WASI toolchain: %s" % wasi_toolchain_problem())
    hello, cat, ex, spin = (build_wasi(n) for n in ("hello", "cat", "exit", "spin"))
    jobs = ([{"program": cat, "stdin": b"job %d\n" % i} for i in range(20)]
            + [{"program": hello, "argv": ["hello", "--env", "FOO"], "env": {"FOO": "bar"}},
               {"program": ex, "argv": ["exit", "7"]},
               {"program": ex, "argv": ["exit", "0", "trap"]},
               {"program": spin, "argv": ["spin", str(LONG_LOOP)], "fuel": 1_000_000},
               {"program": spin, "argv": ["spin", str(LONG_LOOP)], "timeout": 0.3}])
    out = wd.run_wasi_many(client, jobs)
    assert [r.stdout for r in out[:20]] == [b"job %d\n" % i for i in range(20)]
    assert all(r.returncode == 0 for r in out[:20])
    assert b"ENV FOO=bar" in out[20].stdout and out[20].returncode == 0
    assert out[21].returncode == 7 and b"exiting with 7" in out[21].stdout
    assert out[22].trap.code is TrapCode.UNREACHABLE
    assert out[23].out_of_fuel and out[24].timed_out


def test_wasi_batch_defaults_and_argv_lists(client, healthy):
    out = wd.run_wasi_many(client, [["a"], ["b", "c"], {"argv": ["d"], "fuel": 10}],
                           program=wasi_wat(WASI_LONG), fuel=5_000)
    assert [r.args for r in out] == [["a"], ["b", "c"], ["d"]]
    assert [r.fuel_consumed for r in out] == [5_000, 5_000, 10] and all(r.out_of_fuel for r in out)


def test_wasi_batch_sends_each_program_once_per_worker(client, healthy):
    client.run(pickling.cache_clear)
    prog = wasi_wat("i32.const 4 call $exit")
    out = wd.run_wasi_many(client, [{}] * 200, program=prog)
    assert [r.returncode for r in out] == [4] * 200
    caches = worker_caches(client)
    assert sum(c["misses"] for c in caches) <= 2 and sum(c["compiled"] for c in caches) == 0, caches


def test_wasi_batch_checks_arguments_here(client):
    prog = wasi_wat("")
    with pytest.raises(TypeError, match="not a run_wasi keyword"):
        wd.run_wasi_many(client, [{"program": prog, "fule": 10}])
    with pytest.raises(ValueError, match="whole batch"):
        wd.run_wasi_many(client, [{"program": prog, "config": Config()}])
    with pytest.raises(ValueError, match="no program"):
        wd.run_wasi_many(client, [{"argv": ["x"]}])
    with pytest.raises(TypeError, match="argv list"):
        wd.run_wasi_many(client, ["not a job"], program=prog)
    with pytest.raises(CompileError):
        wd.run_wasi_many(client, [{"program": "(module (func (result i32)))"}])
    with pytest.raises(ValueError, match="consume_fuel"):
        wd.run_wasi_many(client, [{"fuel": 10}], program=Module(Engine(Config()), prog))
    with pytest.raises(ValueError, match="errors"):
        wd.run_wasi_many(client, [], program=prog, errors="ignore")
    assert wd.run_wasi_many(client, [], program=prog) == []


# ---------------------------------------------------------------- the worker plugin

def test_warm_modules_plugin(client, healthy):
    m = Module(shared_engine(Config.sandbox(consume_fuel=True)), wasi_wat("i32.const 5 call $exit"))
    client.run(pickling.cache_clear)
    plugin = wd.WarmModules([m])
    assert isinstance(plugin, distributed.WorkerPlugin)
    client.register_plugin(plugin)
    warmed = worker_caches(client)
    assert all(c["size"] == 1 and c["deserialized"] == 1 for c in warmed), warmed
    out = wd.run_wasi_many(client, [{}] * 20, program=m)
    assert [r.returncode for r in out] == [5] * 20
    after = worker_caches(client)
    # every arrival of the module was found loaded
    assert [c["misses"] for c in after] == [1, 1] and all(c["hits"] >= 1 for c in after), after
    with pytest.raises(TypeError, match="Module"):
        wd.WarmModules(["not a module"])


def test_warm_modules_on_restarted_workers(client):
    m = Module(shared_engine(Config.sandbox()), wasi_wat("i32.const 6 call $exit"))
    client.register_plugin(wd.WarmModules([m], name="wasmbind-test-restart"))
    old = client.run(os.getpid)
    client.restart()
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()).isdisjoint(old.values())  # new processes
    # each new worker loaded the module from the plugin, before any task
    for c in worker_caches(client):
        assert c["size"] >= 1 and c["deserialized"] >= 1 and c["hits"] == 0, c
    before = worker_caches(client)
    assert [r.returncode for r in wd.run_wasi_many(client, [{}] * 6, program=m)] == [6] * 6
    after = worker_caches(client)
    assert [a["misses"] - b["misses"] for a, b in zip(after, before)] == [0, 0], (before, after)


# ---------------------------------------------------------------- workers that die

def _kill_worker_running(client, prefix, pids, deadline):
    """SIGKILLs the worker process running a task whose key starts with
    ``prefix``; returns its address."""
    while time.monotonic() < deadline:
        for addr, keys in client.processing().items():
            if any(str(k).startswith(prefix) for k in keys) and addr in pids:
                os.kill(pids[addr], signal.SIGKILL)
                return addr
        time.sleep(0.05)
    raise AssertionError("no worker ran a %s task in time" % prefix)


def _run_in_thread(fn):
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # pragma: no cover - reported by the test
            box["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    return t, box


def test_worker_killed_mid_job_runs_it_again(client):
    client.wait_for_workers(2, timeout=60)
    pids = client.run(os.getpid)
    t, box = _run_in_thread(lambda: wd.run_wasi_many(client, [{"timeout": 2.0}],
                                                     program=wasi_wat(WASI_LONG)))
    _kill_worker_running(client, "_run_job", pids, time.monotonic() + 60)
    t.join(120)
    assert not t.is_alive() and "error" not in box, box
    [r] = box["value"]
    # run again, in full, on a live worker: stopped by its own deadline
    assert isinstance(r, WasiResult) and r.timed_out, r
    client.wait_for_workers(2, timeout=60)  # the nanny started a new worker
    assert len(client.run(os.getpid)) == 2


def test_job_that_keeps_killing_workers_is_reported(client):
    client.wait_for_workers(2, timeout=60)
    t, box = _run_in_thread(lambda: wd.run_wasi_many(client, [{"timeout": 20.0}],
                                                     program=wasi_wat(WASI_LONG)))
    deadline = time.monotonic() + 90
    for _ in range(2):  # allowed-failures is 1: the second death reports it
        pids = client.run(os.getpid)
        killed = _kill_worker_running(client, "_run_job", pids, deadline)
        while killed in client.scheduler_info()["workers"] and time.monotonic() < deadline:
            time.sleep(0.05)  # until the scheduler has seen it go
        client.wait_for_workers(2, timeout=60)
    t.join(120)
    assert not t.is_alive() and "error" not in box, box
    [r] = box["value"]
    assert isinstance(r, distributed.KilledWorker), r
    # and the cluster goes on
    out = wd.run_wasi_many(client, [{}] * 4, program=wasi_wat(WASI_EXIT3))
    assert [r.returncode for r in out] == [3] * 4
