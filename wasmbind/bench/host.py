"""Group ``host``: Wasm -> Python host call overhead (callbacks.wasm)."""

from __future__ import annotations

import timeit
from typing import Any, Callable, Dict, List, Tuple

from wasmbind.bench.contestants import Peers, call_checked
from wasmbind.bench.kernels import reference as ref
from wasmbind.bench.report import Column, Report, Row, Target
from wasmbind.bench.timing import call_timer, fmt_time, measure

GROUP = "host"
BASE = "direct call (ratio 1)"


# env.<field> -> the host function, as short as users write them
IMPORTS: Dict[str, Callable[..., Any]] = {"host_add": lambda a, b: a + b,
                                          "host_nop": lambda: None}

CASES: List[Tuple[str, str, Tuple[Any, ...], str]] = [
    # export, the import it calls, arguments of a direct call, label
    ("call_add", "host_add", (0, 1), "call_add: Wasm calls `lambda a, b: a + b`"),
    ("call_nop", "host_nop", (), "call_nop: Wasm calls `lambda: None`"),
]


def run(report: Report, peers: Peers) -> None:
    st = report.settings
    n = st.host_n
    report.section(GROUP, [Column.PY, Column.WB, Column.WT, Column.W3, Column.CT], (
        "Wasm -> Python host calls (callbacks.wasm looping %d times), per host call. "
        "Ratios: to calling the same Python function directly from Python (`f(0, 1)`, "
        "`f()`), timed in the same rounds as each row. *Python* runs the same loop in Python."
        % n), extra=[BASE])
    contestants = [peers.wasmbind()] + peers.others()
    for export, field, direct_args, label in CASES:
        fn = IMPORTS[field]
        row = Row(GROUP, label, "direct call")
        twin = getattr(ref, export)  # the same loop in Python
        want = twin(n, fn)
        timers: Dict[Any, timeit.Timer] = {Column.PY: call_timer(twin, n, fn)}
        for c in contestants:
            call_checked(report, row, timers, c, "callbacks", export, (n,), want,
                         "host %s" % export, IMPORTS)
        per = measure(dict(timers, direct=call_timer(fn, *direct_args)), st)
        row.base = per.pop("direct")
        row.times.update({k: v / n for k, v in per.items()})
        row.extra[BASE] = fmt_time(row.base)
        report.add(row)
        report.targets.append(Target("host call, %s (wasmbind / direct Python call)" % field,
                                     row.ratio(), 3.0 if field == "host_add" else 5.0))
