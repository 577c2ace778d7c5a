"""Group ``scaleout``: module pickles, and work on 1 vs 2 local Dask workers.

``measure(mode)`` returns the rows as plain dicts (``Row.to_json``'s shape);
``run(report, peers)`` adds them to the suite's report:

* pickle and unpickle of the ``kernels`` benchmark module and of a large
  generated module: ``pickle.dumps``, then ``pickle.loads`` in a process
  whose module cache is empty, loading the artifact (the default) against
  recompiling the Wasm binary (``wasmbind.pickling.artifacts = False``);
* a chunked ``wasmbind.dask.map_blocks`` kernel and 1,000 small WASI jobs
  (``wasmbind.dask.run_wasi_many``) on a ``distributed.LocalCluster`` of 1
  and of 2 worker processes (one thread each): seconds per run, with the
  scaling ratio (1 worker ÷ 2 workers) as an extra column.

Every result is checked (the kernel against NumPy, each job's exit code)
before it is timed; a wrong one raises. Needs ``wasmbind[dask]`` for the
cluster rows (they are left out, with a note, without it). Modes: ``smoke``
(tiny, for the tests), ``quick``, ``full``.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import pickle
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import wasmbind
from wasmbind import Config, Module, pickling
from wasmbind.bench import kernels
from wasmbind.bench.report import Column, Report, Row

__all__ = ["measure", "run", "GROUP"]

GROUP = "scaleout"
ARTIFACT = "artifact"
RECOMPILE = "recompile"
ONE = "1 worker"
TWO = "2 workers"

_SIZES = {
    #        rounds, large-module funcs, map elements, map chunk, jobs
    "smoke": (1, 200, 20_000, 5_000, 40),
    "quick": (3, 3_000, 2_000_000, 125_000, 1_000),
    "full": (5, 12_000, 10_000_000, 500_000, 1_000),
}

# 64 steps of the logistic map x <- 3.7 x (1 - x): compute-bound per element
_STEPS = 64
_LOGISTIC = """(module
  (func (export "logistic") (param f64) (result f64) (local i32)
    (loop $l
      (local.set 0 (f64.mul (f64.mul (f64.const 3.7) (local.get 0))
                            (f64.sub (f64.const 1) (local.get 0))))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 1) (i32.const %d))))
    local.get 0))""" % _STEPS

_EXIT = ('(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))'
         ' (memory (export "memory") 1) (func (export "_start") i32.const 7 call $exit))')


def _row(name: str, base_label: str, times: Dict[str, float], notes: Optional[Dict[str, str]] = None,
         extra: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    return {"group": GROUP, "name": name, "base_seconds": times.get(base_label), "base": base_label,
            "seconds": dict(times), "notes": dict(notes or {}), "extra": dict(extra or {})}


def _best(fn: Callable[[], Any], rounds: int) -> float:
    best = float("inf")
    gc.collect()
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def large_module_wat(funcs: int) -> str:
    """A module of ``funcs`` distinct functions with some arithmetic each: large
    to compile, like a real program's many functions."""
    body = []
    for i in range(funcs):
        body.append('(func (export "f%d") (param i32 i32) (result i32) (local i32)'
                    ' (local.set 2 (i32.mul (local.get 0) (i32.const %d)))'
                    ' (if (i32.gt_s (local.get 2) (local.get 1))'
                    ' (then (local.set 2 (i32.xor (local.get 2) (i32.const %d)))))'
                    ' (i32.add (i32.rotl (local.get 2) (i32.const %d)) (local.get 1)))'
                    % (i, i * 7 + 3, i * 13 + 1, i % 31))
    return "(module %s)" % " ".join(body)


def _pickle_rows(label: str, module: Module, rounds: int) -> List[Dict[str, Any]]:
    artifact_size = len(module.serialize())
    saved = pickling.artifacts
    try:
        pickling.artifacts = True
        with_artifact = pickle.dumps(module)
        pickling.artifacts = False
        source_only = pickle.dumps(module)
    finally:
        pickling.artifacts = saved

    def loads(data: bytes) -> None:
        pickling.cache_clear()  # as a process that has not seen the module
        m = pickle.loads(data)
        if [e.name for e in m.exports] != [e.name for e in module.exports]:
            raise RuntimeError("%s: the unpickled module differs" % label)

    dumps = {ARTIFACT: _best(lambda: pickle.dumps(module), rounds)}
    pickling.artifacts = False
    try:
        dumps[RECOMPILE] = _best(lambda: pickle.dumps(module), rounds)
    finally:
        pickling.artifacts = saved
    load_times = {ARTIFACT: _best(lambda: loads(with_artifact), rounds),
                  RECOMPILE: _best(lambda: loads(source_only), rounds)}
    pickling.cache_clear()
    sizes = ("pickle %d bytes with the artifact (%d of them), %d without; the artifact is "
             "serialized by the first dumps and kept" % (len(with_artifact), artifact_size,
                                                          len(source_only)))
    speedup = load_times[RECOMPILE] / load_times[ARTIFACT]
    return [
        _row("pickle.dumps %s" % label, RECOMPILE, dumps, notes={ARTIFACT: sizes}),
        _row("pickle.loads %s (empty module cache)" % label, RECOMPILE, load_times,
             extra={"recompile ÷ artifact": "%.1f" % speedup}),
    ]


def _cluster_rows(sizes: Tuple[int, ...]) -> List[Dict[str, Any]]:
    import dask.array as da
    import distributed
    import numpy as np

    import wasmbind.dask as wd

    rounds, _, n, chunk, njobs = sizes
    module = Module(wasmbind.shared_engine(Config()), _LOGISTIC)
    xs = da.arange(n, chunks=chunk, dtype=np.float64) / n
    expect = None
    jobs = [{"argv": ["job", str(i)]} for i in range(njobs)]
    exit_module = Module(wasmbind.wasi.sandbox_engine(), _EXIT)
    map_times: Dict[str, float] = {}
    job_times: Dict[str, float] = {}
    for label, workers in ((ONE, 1), (TWO, 2)):
        cluster = distributed.LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR)
        with cluster, distributed.Client(cluster) as client:  # type: ignore[no-untyped-call]
            client.wait_for_workers(workers)
            y = wd.map_blocks(module, "logistic", xs)
            got = y.compute()  # warm: the module reaches every worker
            if expect is None:
                expect = np.arange(n, dtype=np.float64) / n
                for _ in range(_STEPS):
                    expect = 3.7 * expect * (1 - expect)
            if not np.array_equal(got, expect):
                raise RuntimeError("map_blocks logistic differs from NumPy on %s" % label)
            total = y.sum()  # timed: the blocks stay on the workers, a number comes back
            map_times[label] = _best(total.compute, rounds)

            def batch(label: str = label) -> None:
                out = wd.run_wasi_many(client, jobs, program=exit_module)
                if [getattr(r, "returncode", r) for r in out] != [7] * njobs:
                    raise RuntimeError("a WASI job did not exit with 7 on %s" % label)
            batch()
            job_times[label] = _best(batch, max(1, rounds // 2))
    chunks = "%d chunks of %d" % (-(-n // chunk), chunk)
    return [
        _row("map_blocks logistic map (%d steps) over %d f64, %s, summed" % (_STEPS, n, chunks),
             ONE, map_times,
             extra={"scaling (1 ÷ 2 workers)": "%.2f" % (map_times[ONE] / map_times[TWO])}),
        _row("run_wasi_many: %d small WASI jobs" % njobs, ONE, job_times,
             extra={"scaling (1 ÷ 2 workers)": "%.2f" % (job_times[ONE] / job_times[TWO]),
                    "jobs/s on 2 workers": "%.0f" % (njobs / job_times[TWO])}),
    ]


def measure(mode: str = "quick") -> List[Dict[str, Any]]:
    """Run the scale-out benchmarks; the rows (see the module docstring).

    Rows that need Dask are replaced by one row without times whose note
    says so when ``dask[distributed]`` is not installed.
    """
    if mode not in _SIZES:
        raise ValueError("mode must be one of %s, got %r" % (", ".join(_SIZES), mode))
    sizes = _SIZES[mode]
    rounds, funcs = sizes[0], sizes[1]
    rows: List[Dict[str, Any]] = []
    rows += _pickle_rows("kernels.wasm", Module(None, kernels.read_bytes("kernels")), rounds)
    large = Module(None, large_module_wat(funcs))
    rows += _pickle_rows("a large module (%d functions, %d bytes)"
                         % (funcs, len(wasmbind.wat2wasm(large_module_wat(funcs)))),
                         large, max(1, rounds // 2))
    if importlib.util.find_spec("distributed") and importlib.util.find_spec("dask.array"):
        rows += _cluster_rows(sizes)
    else:
        rows.append(_row("Dask cluster rows", ONE, {},
                         notes={ONE: "skipped: pip install wasmbind[dask]"}))
    return rows


_COLUMNS = {ARTIFACT: Column.ARTIFACT, RECOMPILE: Column.RECOMPILE, ONE: Column.ONE_WORKER,
            TWO: Column.TWO_WORKERS}


def run(report: Report, peers: Any) -> None:
    report.section(GROUP, list(_COLUMNS.values()), (
        "Scale-out. Pickling: `pickle.dumps` of a Module, and `pickle.loads` in a process "
        "whose module cache is empty, loading the shipped artifact (the default) against "
        "recompiling the Wasm binary (`wasmbind.pickling.artifacts = False`). Cluster: a "
        "chunked `wasmbind.dask.map_blocks` kernel and small WASI jobs "
        "(`wasmbind.dask.run_wasi_many`) on a `distributed.LocalCluster` of 1 and of 2 "
        "worker processes; every result is checked before it is timed."),
        extra=["scaling (1 ÷ 2 workers)"])
    for r in measure(report.settings.mode):
        row = Row(GROUP, r["name"], r["base"], base=r["base_seconds"])
        row.times = {_COLUMNS[k]: v for k, v in r["seconds"].items()}
        row.notes = {_COLUMNS[k]: v for k, v in r["notes"].items()}
        row.extra = dict(r["extra"])
        if row.times:
            report.add(row)
        else:
            report.notes.extend(row.notes.values())
