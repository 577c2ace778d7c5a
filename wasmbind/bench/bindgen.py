"""Group ``bindgen``: calls through the typed wrappers ``python -m wasmbind
bindgen`` generates (kernels/echo_component.wat) against the same calls
through ``instance.exports``, timed in the same rounds."""

from __future__ import annotations

import importlib
import sys
import tempfile
from typing import Any

import wasmbind
from wasmbind.bench import kernels
from wasmbind.bench.contestants import Peers
from wasmbind.bench.report import Column, Report, Row, Target
from wasmbind.bench.timing import call_timer, fmt_time, measure

GROUP = "bindgen"
BASE = "instance.exports (ratio 1)"
PACKAGE = "wasmbind_bench_echo"


def run(report: Report, peers: Peers) -> None:
    from wasmbind.component import Component, Linker, Record
    from wasmbind.component.codegen import bindgen
    report.section(GROUP, [Column.WB], (
        "Component calls through the generated typed bindings (`python -m wasmbind bindgen` of "
        "kernels/echo_component.wat: a method per export, records as frozen dataclasses), per "
        "call. Ratios: to the same call through `instance.exports` in the same rounds."), extra=[BASE])
    engine = wasmbind.Engine()
    component = Component(engine, (kernels.KERNELS_DIR / "echo_component.wat").read_text())
    with tempfile.TemporaryDirectory(prefix="wasmbind-bindgen-") as d:
        bindgen(component, d, name=PACKAGE)
        sys.path.insert(0, d)
        try:
            mod: Any = importlib.import_module(PACKAGE)
        finally:
            sys.path.remove(d)
            sys.modules.pop(PACKAGE, None)
    root = mod.Root(wasmbind.Store(engine), component)
    raw = Linker(engine).instantiate(wasmbind.Store(engine), component).exports
    point = mod.Point(1, 2, 3, 4)
    cases = (
        ("add(u32, u32) -> u32", root.add, raw.add, (1, 2), (1, 2), 3),
        ("echo(string), 1 KiB", root.echo_string, raw.echo_string, ("x" * 1024,), ("x" * 1024,), "x" * 1024),
        ("echo(record of four u32)", root.echo_point, raw.echo_point, (point,), (Record(a=1, b=2, c=3, d=4),),
         point),
    )
    for label, typed, plain, args, raw_args, want in cases:
        report.check_equal("bindgen %s" % label, typed(*args), want)
        row = Row(GROUP, label, "instance.exports")
        per = measure({Column.WB: call_timer(typed, *args), "ref": call_timer(plain, *raw_args)},
                      report.settings)
        row.base = per.pop("ref")
        row.times.update(per)
        row.extra[BASE] = fmt_time(row.base)
        report.add(row)
        report.targets.append(Target("bindgen %s (generated wrapper / instance.exports)" % label,
                                     row.ratio(), 1.3))
