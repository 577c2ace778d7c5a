"""Group ``components``: component-model calls (kernels/echo_component.wat),
wasmbind.component against wasmtime-py's ``wasmtime.component``, each on its
default engine, in the same rounds."""

from __future__ import annotations

import timeit
from typing import Any, Callable, Dict, Tuple

import wasmbind
from wasmbind.bench import kernels
from wasmbind.bench.contestants import Peers
from wasmbind.bench.report import Column, Report, Row, Target
from wasmbind.bench.timing import call_timer, fmt_time, measure

GROUP = "components"
BASE = "reference (ratio 1)"


def _wasmbind(wat: str) -> Dict[str, Callable[..., Any]]:
    from wasmbind.component import Component, Linker
    engine = wasmbind.Engine()
    ex = Linker(engine).instantiate(wasmbind.Store(engine), Component(engine, wat)).exports
    return {"add": ex.add, "echo-string": ex.echo_string, "echo-bytes": ex.echo_bytes,
            "echo-point": ex.echo_point, "echo-u32s": ex.echo_u32s}


def _wasmtime(wt: Any, wat: str) -> Dict[str, Callable[..., Any]]:
    from wasmtime import component as wc
    engine = wt.Engine()
    store = wt.Store(engine)
    inst = wc.Linker(engine).instantiate(store, wc.Component(engine, wat))

    def call(name: str) -> Callable[..., Any]:
        f = inst.get_func(store, name)

        def go(*args: Any) -> Any:
            out = f(store, *args)
            f.post_return(store)
            return out
        return go
    return {name: call(name) for name in ("add", "echo-string", "echo-bytes", "echo-point", "echo-u32s")}


def _wt_point(wt: Any, **fields: int) -> Any:
    from wasmtime import component as wc
    r = wc.Record()
    for k, v in fields.items():
        setattr(r, k, v)
    return r


def run(report: Report, peers: Peers) -> None:
    st = report.settings
    n = st.list_bytes
    report.section(GROUP, [Column.WB, Column.WT], (
        "Component calls (kernels/echo_component.wat, component text compiled by each "
        "runtime), per call, each library on its default engine. Ratios: to the reference "
        "named in the last column, timed in the same rounds: `operator.add(1, 2)` for "
        "scalar calls, a plain copy of the same bytes (`bytes(bytearray(data))`) for "
        "`list<u8>`, making the result list (`array.tolist()`) for `list<u32>`."), extra=[BASE])
    wat = (kernels.KERNELS_DIR / "echo_component.wat").read_text()
    ours = _wasmbind(wat)
    theirs = None
    if peers.wt is not None:
        try:
            theirs = _wasmtime(peers.wt, wat)
        except Exception as exc:  # an older wasmtime-py without components
            report.notes.append("wasmtime-py could not run the component: %s" % exc)
    from wasmbind.component import Record
    data = bytes(range(256)) * (n // 256)
    point = dict(a=1, b=2, c=3, d=4)
    cases: Tuple[Tuple[str, str, Tuple[Any, ...], Tuple[Any, ...], Any, timeit.Timer, float], ...] = (
        ("add(u32, u32) -> u32", "add", (1, 2), (1, 2), 3, call_timer(lambda a, b: a + b, 1, 2), 1e-6),
        ("echo(string), 1 KiB", "echo-string", ("x" * 1024,), ("x" * 1024,), "x" * 1024,
         call_timer(str, "x" * 1024), 2e-6),
        ("echo(list<u8>), %s" % _size(n), "echo-bytes", (data,), (data,), data,
         call_timer(lambda d: bytes(bytearray(d)), data), None),
        ("echo(record of four u32)", "echo-point", (Record(**point),),
         (_wt_point(peers.wt, **point),) if theirs is not None else (), Record(**point),
         call_timer(lambda a, b: a + b, 1, 2), 2e-6),
    )
    if peers.np is not None:
        # a numeric list from a NumPy array (wasmbind reads the buffer in C;
        # wasmtime-py takes a list); the reference makes the result list
        items = peers.np.arange(n // 4, dtype=peers.np.uint32)
        cases += (("echo(list<u32>) from a NumPy array, %d items" % (n // 4), "echo-u32s", (items,),
                   (items.tolist(),), items.tolist(), call_timer(items.tolist), None),)
    for label, name, args, wt_args, want, ref, limit in cases:
        row = Row(GROUP, label, "reference")
        got = ours[name](*args)
        report.check_equal("components %s wasmbind" % name, got, want)
        timers: Dict[Any, timeit.Timer] = {Column.WB: call_timer(ours[name], *args), "ref": ref}
        if theirs is not None:
            timers[Column.WT] = call_timer(theirs[name], *wt_args)
        per = measure(timers, st, slow=(Column.WT,) if name in ("echo-bytes", "echo-u32s") else ())
        row.base = per.pop("ref")
        row.times.update(per)
        row.extra[BASE] = fmt_time(row.base)
        report.add(row)
        peer = ""
        if row.times.get(Column.WT):
            peer = "; wasmtime-py %s, %.0fx wasmbind's time" % (
                fmt_time(row.times[Column.WT]), row.times[Column.WT] / row.times[Column.WB])
        if limit is not None:
            report.targets.append(Target("component %s (wasmbind, per call%s)" % (label, peer),
                                         row.times[Column.WB] * 1e9, limit * 1e9, unit="ns"))
        elif name == "echo-bytes":
            report.targets.append(Target("component %s (wasmbind / a plain copy%s)" % (label, peer),
                                         row.ratio(), 3.0))


def _size(n: int) -> str:
    return "%d MiB" % (n >> 20) if n >= 1 << 20 else "%d KiB" % (n >> 10)
