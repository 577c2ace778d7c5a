"""Group ``aio``: asyncio. The overhead of an awaited call, the event loop's lag
while guests spin on it, and many guests awaiting an async import on one
loop against the same number of threads with sync stores."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from typing import Any, Dict, List, Tuple

import wasmbind
from wasmbind.bench.report import Column, Report, Row, Target
from wasmbind.bench.timing import fmt_time

GROUP = "aio"

WAT = """(module
  (import "env" "f" (func $f (param i32) (result i32)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "nop"))
  (func (export "spin") (param i32) (result i32) (local i32)
    (block (loop (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br 0)))
    (local.get 1))
  (func (export "awaits") (param i32) (result i32) (local i32 i32)
    (block (loop (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
      (local.set 2 (i32.add (local.get 2) (call $f (local.get 1))))
      (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br 0)))
    (local.get 2)))
"""

#          full        quick      smoke
_SIZES: Dict[str, Tuple[int, float, int]] = {
    # awaited calls per sample, seconds the lag is watched, guests of the throughput case
    "full": (100_000, 2.0, 1000),
    "quick": (20_000, 0.5, 300),
    "smoke": (300, 0.05, 10),
}
SPINNERS = 100    # guests spinning while the loop's lag is measured
AWAITS = 100      # awaits of the import per guest in the throughput case


async def _one(x: int) -> int:
    return x


async def _sleep0(x: int) -> int:
    await asyncio.sleep(0)
    return 1


def _exports(engine: wasmbind.Engine, module: wasmbind.Module, f: Any) -> Any:
    store = wasmbind.Store(engine)
    if engine.config.async_support:
        coro = wasmbind.Instance.create_async(store, module, {"env": {"f": f}})
        return store, coro
    return store, wasmbind.Instance(store, module, {"env": {"f": f}}).exports


def run(report: Report, peers: Any) -> None:
    st = report.settings
    n, lag_seconds, guests = _SIZES[st.mode]
    report.section(GROUP, [Column.WB], (
        "asyncio: `Config(async_support=True)` stores, awaited on one event loop (no other "
        "Python Wasm host awaits calls). Call rows: per call, ratio to awaiting a trivial "
        "coroutine (`async def f(x): return x`), timed in the same rounds; the sync call of "
        "the same function on a `Config()` store is given beside it. Lag rows: how late a "
        "1 ms `asyncio.sleep` wakes up (median; worst, and the loop thread's CPU time over the "
        "wait, which leaves out what a loaded machine gives other processes, beside it). Throughput: per host call "
        "when every guest awaits an `asyncio.sleep(0)` import %d times, ratio to one thread "
        "per guest with a sync `Config.sandbox()` store whose import calls `time.sleep(0)`."
        % AWAITS), extra=["reference", "beside"])
    aengine = wasmbind.shared_engine(wasmbind.Config(async_support=True))
    amodule = wasmbind.Module(aengine, WAT)
    asyncio.run(_calls(report, aengine, amodule, n))
    asyncio.run(_lag(report, aengine, amodule, lag_seconds))
    _throughput(report, aengine, amodule, guests)


async def _calls(report: Report, engine: wasmbind.Engine, module: wasmbind.Module, n: int) -> None:
    store, coro = _exports(engine, module, _one)
    ex = (await coro).exports
    add, nop = ex.add, ex.nop
    sengine = wasmbind.shared_engine(wasmbind.Config())
    _, sync_ex = _exports(sengine, wasmbind.Module(sengine, WAT), lambda x: x)
    sadd, snop = sync_ex.add, sync_ex.nop
    report.check_equal("aio add", [await add.call_async(i, 1) for i in range(3)], [1, 2, 3])
    report.check_equal("aio nop", await nop.call_async(), None)
    best: Dict[str, float] = {k: float("inf") for k in ("add", "nop", "coro", "sadd", "snop")}
    for _ in range(report.settings.rounds):
        t0 = time.perf_counter()
        for i in range(n):
            await add.call_async(i, 1)
        t1 = time.perf_counter()
        for _ in range(n):
            await nop.call_async()
        t2 = time.perf_counter()
        for i in range(n):
            await _one(i)
        t3 = time.perf_counter()
        for i in range(n):
            sadd(i, 1)
        t4 = time.perf_counter()
        for _ in range(n):
            snop()
        t5 = time.perf_counter()
        for k, dt in zip(best, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            best[k] = min(best[k], dt / n)
    for name, key, sync_key in (("await f.call_async(i, 1): add (i32, i32) -> i32", "add", "sadd"),
                                ("await f.call_async(): nop () -> ()", "nop", "snop")):
        row = Row(GROUP, name, "await of a trivial coroutine", base=best["coro"])
        row.times[Column.WB] = best[key]
        row.extra["reference"] = "await coroutine: %s" % fmt_time(best["coro"])
        row.extra["beside"] = "sync call: %s (%.1fx)" % (fmt_time(best[sync_key]),
                                                         best[key] / best[sync_key])
        report.add(row)
        report.targets.append(Target("awaited %s call (wasmbind / await of a trivial coroutine)" % key,
                                     row.ratio(), 2.0))


async def _heartbeat(seconds: float) -> Tuple[List[float], List[float]]:
    """How late a 1 ms sleep wakes up, again and again for ``seconds``: in wall
    time, and in the loop thread's CPU time (what the loop did meanwhile, not
    counting the time a loaded machine gave to other processes)."""
    wall, cpu = [], []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t, c = time.perf_counter(), time.thread_time()
        await asyncio.sleep(0.001)
        wall.append(time.perf_counter() - t - 0.001)
        cpu.append(time.thread_time() - c)
    return wall, cpu


async def _lag(report: Report, engine: wasmbind.Engine, module: wasmbind.Module, seconds: float) -> None:
    idle, _ = await _heartbeat(seconds)
    spinners = []
    for _ in range(SPINNERS):
        _, coro = _exports(engine, module, _one)
        spinners.append((await coro).exports.spin)
    tasks = [asyncio.ensure_future(s.call_async(2**31 - 1)) for s in spinners]
    await asyncio.sleep(0)
    busy, busy_cpu = await _heartbeat(seconds)
    running = sum(not t.done() for t in tasks)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    report.check_equal("aio spinners kept running while the lag was measured", running, SPINNERS)
    row = Row(GROUP, "event-loop lag while %d guests spin" % SPINNERS, "idle loop")
    row.times[Column.WB] = statistics.median(busy)
    row.extra["reference"] = "idle loop: %s median, %s worst" % (fmt_time(statistics.median(idle)),
                                                                  fmt_time(max(idle)))
    row.extra["beside"] = "worst: %s over %d wake-ups; in loop CPU time median %s, worst %s" % (
        fmt_time(max(busy)), len(busy), fmt_time(statistics.median(busy_cpu)), fmt_time(max(busy_cpu)))
    report.add(row)
    report.targets.append(Target("event-loop lag in loop CPU time, worst, while %d guests spin" % SPINNERS,
                                 max(busy_cpu) * 1e3, 20.0, unit="ms"))


def _throughput(report: Report, engine: wasmbind.Engine, module: wasmbind.Module, guests: int) -> None:
    async def on_one_loop() -> Tuple[float, List[int]]:
        funcs = []
        for _ in range(guests):
            _, coro = _exports(engine, module, _sleep0)
            funcs.append((await coro).exports.awaits)
        t0 = time.perf_counter()
        results = await asyncio.gather(*[f.call_async(AWAITS) for f in funcs])
        return time.perf_counter() - t0, results

    loop_time, results = asyncio.run(on_one_loop())
    report.check_equal("aio guests on one loop", results, [AWAITS] * guests)

    sengine = wasmbind.shared_engine(wasmbind.Config.sandbox())
    smodule = wasmbind.Module(sengine, WAT)

    def sleep0(x: int) -> int:
        time.sleep(0)
        return 1

    funcs = [_exports(sengine, smodule, sleep0)[1].awaits for _ in range(guests)]
    out: List[Any] = [None] * guests

    def work(i: int) -> None:
        out[i] = funcs[i](AWAITS)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(guests)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    thread_time = time.perf_counter() - t0
    report.check_equal("aio guests in threads", out, [AWAITS] * guests)
    calls = guests * AWAITS
    row = Row(GROUP, "%d guests x %d awaits of an `asyncio.sleep(0)` import" % (guests, AWAITS),
              "a thread per guest", base=thread_time / calls)
    row.times[Column.WB] = loop_time / calls
    row.extra["reference"] = "%d threads: %s per call, %.2f s in all" % (guests, fmt_time(thread_time / calls),
                                                                      thread_time)
    row.extra["beside"] = "one loop: %.2f s in all" % loop_time
    report.add(row)
