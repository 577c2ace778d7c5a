"""wasmbind's benchmark suite: ``python -m wasmbind bench``.

Times the shipped kernels (``wasmbind.bench.kernels``) and the binding's overheads
against pure Python, wasmtime-py, pywasm3 (when installed), the same C built
natively and called through ctypes (when a C compiler is found) and NumPy
where it has an equivalent. Every contestant's result is checked against the
pure-Python reference (``wasmbind.bench.kernels.reference``) before it is timed; a
wrong result makes the run fail (exit status 1).

Groups (``--only`` takes a comma-separated list of them):

``calls``    Python -> Wasm call overhead, by signature
``host``     Wasm -> Python (imported host function) call overhead
``memory``   zero-copy views (memoryview, numpy.frombuffer) and bulk copies
``batch``    ``Func.map`` over NumPy arrays
``startup``  compile, deserialize, new Store + Instance
``kernels``  mandelbrot, recursive fib, f64 dot product, u32 sum, SIMD kernels
``gil``      other Python threads while Wasm runs; parallel stores
``components`` component-model calls: scalars, strings, lists, records
``bindgen``  the same through generated typed bindings, against ``instance.exports``
``scaleout`` module pickles; Dask work on 1 vs 2 local worker processes
``aio``      asyncio: awaited calls, the loop's lag while guests spin, guests vs threads

Methodology: within one run, contestants are timed interleaved (round-robin,
many short samples of a millisecond or less, so that the scheduler of a loaded
machine spares some) and the best sample is kept; every figure is also given as a
ratio to a reference measured in the same run, since only ratios carry over
between machines. Output: a markdown table (stdout and ``DIR/wasmbind-bench.md``)
and a chart (``DIR/wasmbind-bench.png``, needs matplotlib: ``pip install
wasmbind[bench]``), with the data in ``DIR/wasmbind-bench.json``. Progress goes
to stderr, one line per benchmark.

The package: ``timing`` (modes, measurement), ``report`` (rows, targets,
checks), ``contestants`` (wasmbind and each peer behind one interface), one
module per group (``kernel_cases`` for ``kernels``), ``render`` (the outputs),
and ``kernels/`` (the modules it runs, their sources and Python references).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tempfile
import time
import traceback
from typing import Callable, Dict, List, Optional, Sequence

from wasmbind.bench import (
    aio,
    batch,
    bindgen,
    calls,
    components,
    gil,
    host,
    kernel_cases,
    memory,
    render,
    scaleout,
    startup,
)
from wasmbind.bench.contestants import Peers
from wasmbind.bench.report import Report, progress
from wasmbind.bench.timing import Settings

__all__ = ["main", "GROUPS", "run"]

# group -> its runner, in the order of the report
_RUNNERS: Dict[str, Callable[[Report, Peers], None]] = {
    "calls": calls.run,
    "host": host.run,
    "memory": memory.run,
    "batch": batch.run,
    "startup": startup.run,
    "kernels": kernel_cases.run,
    "gil": gil.run,
    "components": components.run,
    "bindgen": bindgen.run,
    "scaleout": scaleout.run,
    "aio": aio.run,
}
GROUPS = tuple(_RUNNERS)


def run(groups: Sequence[str], mode: str = "full") -> Report:
    """Runs the given groups; returns the Report (rows, targets, checks)."""
    report = Report(Settings.of(mode))
    with tempfile.TemporaryDirectory(prefix="wasmbind-bench-") as tmp:
        peers = Peers(report, pathlib.Path(tmp))
        for g in groups:
            t0 = time.perf_counter()
            try:
                _RUNNERS[g](report, peers)
            except Exception as exc:
                report.check("group %s ran" % g, False, "%s: %s" % (type(exc).__name__, exc))
                traceback.print_exc()
            progress("[%s] done in %.1f s" % (g, time.perf_counter() - t0))
    return report


def _parse_groups(text: Optional[str]) -> List[str]:
    if not text:
        return list(GROUPS)
    groups = [g.strip() for g in text.split(",") if g.strip()]
    bad = [g for g in groups if g not in GROUPS]
    if bad:
        raise argparse.ArgumentTypeError("unknown group(s) %s; choose from %s"
                                         % (", ".join(bad), ", ".join(GROUPS)))
    return groups


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m wasmbind bench",
        description="Benchmark wasmbind's kernels and overheads against pure Python and the "
                    "installed peers (wasmtime-py, pywasm3, C via ctypes, NumPy).")
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds (~30 s)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes, one round: checks that everything runs (for tests)")
    ap.add_argument("--only", metavar="GROUP[,GROUP]", type=_parse_groups, default=None,
                    help="run only these groups: " + ", ".join(GROUPS))
    ap.add_argument("--out", metavar="DIR", type=pathlib.Path, default=pathlib.Path("."),
                    help="where to write wasmbind-bench.md and wasmbind-bench.png "
                         "(default: the current directory)")
    ap.add_argument("--json", action="store_true",
                    help="print the results as JSON on stdout instead of the markdown table "
                         "(also written to DIR/wasmbind-bench.json)")
    args = ap.parse_args(argv)
    groups = args.only or list(GROUPS)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    progress("wasmbind bench (%s mode): %s" % (mode, ", ".join(groups)))
    t0 = time.perf_counter()
    report = run(groups, mode)
    elapsed = time.perf_counter() - t0
    info = render.machine_info()
    md = render.markdown(report, info, elapsed, GROUPS)
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path = out_dir / "wasmbind-bench.md"
    md_path.write_text(md, encoding="utf-8")
    png_path = out_dir / "wasmbind-bench.png"
    skipped = render.chart(report, png_path)
    data = render.to_json(report, info, elapsed, None if skipped else png_path)
    json_path = out_dir / "wasmbind-bench.json"
    json_path.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    if args.json:
        print(json.dumps(data, indent=1, default=str))
    else:
        print(md)
    progress("wrote %s" % md_path)
    progress("wrote %s" % json_path)
    if skipped:
        progress("note: %s" % skipped)
    else:
        progress("wrote %s" % png_path)
    failed = report.failed_checks
    if failed:
        progress("error: %d result check(s) failed" % len(failed))
        return 1
    return 0
