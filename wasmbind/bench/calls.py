"""Group ``calls``: Python -> Wasm call overhead, by signature (calls.wasm)."""

from __future__ import annotations

import operator
from typing import Any, Callable, List, Tuple

import wasmbind
from wasmbind.bench.contestants import Peers, call_checked
from wasmbind.bench.kernels import reference as ref
from wasmbind.bench.report import Column, Report, Row, Target
from wasmbind.bench.timing import call_timer, fmt_time, measure

GROUP = "calls"
BASE = "operator.add (ratio 1)"
CAPTION = (
    "Python -> Wasm call overhead (calls.wasm), per call. Ratios: to `operator.add(1, 2)` "
    "(a call to a C builtin), timed in the same rounds as each row: %s. *Python* is a "
    "`def` doing the same work.")

CASES: List[Tuple[str, Tuple[Any, ...], Callable[..., Any], str]] = [
    # export, args, Python twin, label
    ("nop", (), lambda: None, "nop() -> ()"),
    ("add", (1, 2), lambda a, b: a + b, "add(i32, i32) -> i32"),
    ("add_i64", (1, 2), lambda a, b: a + b, "add_i64(i64, i64) -> i64"),
    ("add_f32", (1.5, 2.25), lambda a, b: a + b, "add_f32(f32, f32) -> f32"),
    ("add_f64", (1.5, 2.25), lambda a, b: a + b, "add_f64(f64, f64) -> f64"),
    ("swap", (1, 2), lambda a, b: (b, a), "swap(i32, i32) -> (i32, i32)"),
    ("sum8_i32", (1, 2, 3, 4, 5, 6, 7, 8), lambda *a: sum(a), "sum8_i32(8 x i32) -> i32"),
]


def run(report: Report, peers: Peers) -> None:
    st = report.settings
    report.section(GROUP, [Column.PY, Column.WB, Column.WT, Column.W3, Column.CT], CAPTION % "?",
                   extra=[BASE])
    op_add = call_timer(operator.add, 1, 2)
    contestants = [peers.wasmbind()] + peers.others()
    bases: List[float] = []

    def finish(row: Row, timers: Any) -> None:
        times = measure(timers, st)
        row.base = times.pop("operator.add")
        row.extra[BASE] = fmt_time(row.base)
        row.times.update(times)
        bases.append(row.base)
        report.add(row)

    for export, args, twin, label in CASES:
        row = Row(GROUP, label, "operator.add")
        want = getattr(ref, export)(*args)
        timers = {"operator.add": op_add, Column.PY: call_timer(twin, *args)}
        for c in contestants:
            call_checked(report, row, timers, c, "calls", export, args, want,
                         "calls %s" % export)
        finish(row, timers)
        limit = 3.0 if export == "add" else 3.5 if export in ("swap", "sum8_i32") else 4.0
        report.targets.append(Target("call `%s` (wasmbind / operator.add)" % label,
                                     row.ratio(), limit))

    # the same call with the GIL released, and on an interruptible engine
    sandbox = wasmbind.Engine(wasmbind.Config.sandbox())
    variants = [("add(i32, i32) -> i32, Store(release_gil=True)",
                 peers.wasmbind(release_gil=True)),
                ("add(i32, i32) -> i32, Config.sandbox()",
                 peers.wasmbind(sandbox))]
    for label, wb in variants:
        row = Row(GROUP, label, "operator.add")
        inst = wb.instance("calls")
        report.check_equal("calls %s" % label, inst.call("add", 1, 2), 3)
        finish(row, {"operator.add": op_add, Column.WB: inst.timer("add", 1, 2)})
    report.captions[GROUP] = CAPTION % ("%s to %s in this run" % (
        fmt_time(min(bases)), fmt_time(max(bases))) if bases else "?")
