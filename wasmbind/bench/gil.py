"""Group ``gil``: other Python threads while Wasm runs; parallel stores."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, List, Tuple

import wasmbind
from wasmbind.bench.contestants import Contestant, Peers, Wasmbind
from wasmbind.bench.kernels import reference as ref
from wasmbind.bench.report import Report, progress

GROUP = "gil"
WIDTH, HEIGHT = 64, 48  # of the mandelbrot image every case computes


def _count_during(work: Callable[[], Any]) -> Tuple[float, float, Any]:
    """Runs ``work`` in this thread while a second thread counts; returns
    (counts per second, seconds work took, work's result)."""
    started = threading.Event()
    state: Dict[str, Any] = {"run": True, "n": 0}

    def counter() -> None:
        n = 0
        started.set()
        while state["run"]:
            n += 1
        state["n"] = n

    t = threading.Thread(target=counter, daemon=True)
    t.start()
    started.wait()
    t0 = time.perf_counter()
    result = work()
    dt = time.perf_counter() - t0
    state["run"] = False
    t.join()
    return state["n"] / dt, dt, result


def _mandelbrot(c: Contestant, it: int) -> Callable[[], Any]:
    inst = c.instantiate("kernels")
    return lambda: inst.call("mandelbrot", WIDTH, HEIGHT, it)


def run(report: Report, peers: Peers) -> None:
    st = report.settings
    secs = st.gil_seconds
    report.columns[GROUP] = []
    epoch_on = wasmbind.Engine(wasmbind.Config.sandbox())
    epoch_off = wasmbind.Engine(wasmbind.Config.fast())
    # size a mandelbrot call to last about `secs`: the points inside the set run
    # max_iter iterations each, so the time grows about linearly with max_iter
    it0 = 100
    probe = _mandelbrot(peers.wasmbind(epoch_on), it0)
    probe()
    t0 = time.perf_counter()
    probe()
    dt = max(time.perf_counter() - t0, 1e-6)
    it = max(it0, int(it0 * secs / dt))
    report.gil.update({"seconds_target": secs, "mandelbrot_args": [WIDTH, HEIGHT, it]})

    cases: List[Tuple[str, Contestant]] = [
        ("wasmbind, Config.sandbox() (GIL let go at the first epoch tick)", peers.wasmbind(epoch_on)),
        ("wasmbind, Store(release_gil=True)", peers.wasmbind(epoch_on, release_gil=True)),
        ("wasmbind, Config.fast() (the default: the call keeps the GIL)", peers.wasmbind(epoch_off))]
    wt = peers.wasmtime()
    if wt is not None:
        cases.append(("wasmtime-py (ctypes releases the GIL)", wt))
    calls = [(label, _mandelbrot(c, it)) for label, c in cases]
    report.gil["progress"] = _progress(report, calls, secs, it)
    # parallel stores: two threads, each with its own Store, each running a call
    # of about secs/4
    report.gil["parallel"] = [_parallel(report, peers.wasmbind(epoch_on, release_gil=r),
                                        max(1, it // 4)) for r in (True, False)]


def _progress(report: Report, cases: List[Tuple[str, Callable[[], Any]]], secs: float,
              it: int) -> List[Dict[str, Any]]:
    """How fast a busy Python thread runs while each case's call runs."""
    found = []
    results = {}
    for label, work in cases:
        # the counter alone just before (the machine's load may change during the run)
        alone, _, _ = _count_during(lambda: time.sleep(secs / 2))
        t0 = time.perf_counter()
        work()
        solo = time.perf_counter() - t0
        rate, dt, results[label] = _count_during(work)
        found.append({"case": label, "call_alone_seconds": solo, "call_seconds": dt,
                      "counter_per_s": rate, "counter_alone_per_s": alone,
                      "ratio": rate / alone})
        progress("[gil] %s: the call took %.2f s alone, %.2f s beside the busy thread, which "
                 "ran at %.0f%% of its speed alone (%.3g loops/s)"
                 % (label, solo, dt, 100 * rate / alone, alone))
    report.check("gil mandelbrot results agree", len(set(results.values())) == 1, repr(results))
    if WIDTH * HEIGHT * it < 2_000_000:  # small enough to check against Python
        report.check_equal("gil mandelbrot vs reference", results[cases[0][0]],
                           ref.mandelbrot(WIDTH, HEIGHT, it))
    return found


def _parallel(report: Report, wb: Wasmbind, it: int) -> Dict[str, Any]:
    """Two threads, each calling its own instance (and Store): concurrently vs
    one after the other, alternating, best of each."""
    release = wb.release_gil
    calls = [_mandelbrot(wb, it) for _ in range(2)]
    seq = conc = float("inf")
    out: List[Any] = [None, None]
    r_seq: List[Any] = []
    for _ in range(report.settings.gil_repeats):
        t0 = time.perf_counter()
        r_seq = [c() for c in calls]
        seq = min(seq, time.perf_counter() - t0)

        def run(i: int) -> None:
            out[i] = calls[i]()
        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        conc = min(conc, time.perf_counter() - t0)
    report.check("gil parallel results (release_gil=%s)" % release,
                 out == r_seq and r_seq[0] == r_seq[1], repr((out, r_seq)))
    progress("[gil] two threads, two stores, release_gil=%s: sequential %.2f s, "
             "concurrent %.2f s (x%.2f)" % (release, seq, conc, seq / conc))
    return {"release_gil": release, "sequential_s": seq, "concurrent_s": conc,
            "speedup": seq / conc}
