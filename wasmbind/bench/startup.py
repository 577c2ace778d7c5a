"""Group ``startup``: compile, deserialize, new Store + Instance."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import wasmbind
from wasmbind.bench import kernels
from wasmbind.bench.contestants import Contestant, Peers
from wasmbind.bench.report import Column, Report, Row, Target
from wasmbind.bench.timing import measure

GROUP = "startup"


def run(report: Report, peers: Peers) -> None:
    report.section(GROUP, [Column.WB, Column.WT, Column.W3], (
        "Start-up costs. Both engines configured alike (no epoch checks, memory never "
        "moves); ratios: to wasmtime-py. pywasm3 interprets, so it only parses; its "
        "instantiation is parse + new runtime + load (a wasm3 module loads once)."))
    engine = wasmbind.Engine()
    contestants: List[Contestant] = [peers.wasmbind(engine)]
    contestants += [c for c in (peers.wasmtime(), peers.wasm3()) if c is not None]
    sequential: List[Contestant] = []
    wt_seq = peers.wasmtime(parallel_compilation=False)
    if wt_seq is not None:
        sequential = [peers.wasmbind(wasmbind.Engine(wasmbind.Config(parallel_compilation=False))),
                      wt_seq]
    for name in ("calls", "kernels"):
        data = kernels.read_bytes(name)
        module = wasmbind.Module(engine, data)
        _row(report, contestants, "compile %s.wasm (%d bytes)" % (name, len(data)),
             lambda c, data=data: c.compile_timer(data))
        # Both make the same one C call (wasmtime_module_new) with the same options,
        # and the engine does the same work (callgrind: 7.31M and 7.32M instructions
        # for calls.wasm). The row above scatters around 1 with the scheduling of the
        # engine's compiler threads on a busy machine; with one thread it does not.
        if sequential:
            row = _row(report, sequential, "compile %s.wasm, one compiler thread" % name,
                       lambda c, data=data: c.compile_timer(data))
            report.targets.append(Target("compile %s.wasm, one compiler thread "
                                         "(wasmbind / wasmtime-py)" % name, row.ratio(), 1.0))
        report.check("startup deserialize %s wasmbind" % name,
                     [e.name for e in wasmbind.Module.deserialize(engine, module.serialize())
                      .exports] == [e.name for e in module.exports])
        _row(report, contestants, "deserialize %s (Module.deserialize)" % name,
             lambda c, data=data: c.deserialize_timer(data))
        report.check("startup instantiate %s wasmbind" % name,
                     "memory" in wasmbind.Instance(wasmbind.Store(engine), module).exports)
        row = _row(report, contestants, "new Store + Instance (%s.wasm)" % name,
                   lambda c, data=data: c.instantiate_timer(data))
        if Column.WT in row.times:
            report.targets.append(Target("instantiate %s.wasm (wasmbind / wasmtime-py)" % name,
                                         row.ratio(), 0.5))


def _row(report: Report, contestants: List[Contestant], label: str,
         make: Callable[[Contestant], Optional[Any]]) -> Row:
    """Times the step ``make`` gives a Timer for, for every contestant that has it."""
    row = Row(GROUP, label, Column.WT.value)
    timers: Dict[Any, Any] = {}
    for c in contestants:
        t = make(c)
        if t is not None:
            timers[c.column] = t
    row.times.update(measure(timers, report.settings))
    row.base = row.times.get(Column.WT)
    report.add(row)
    return row
