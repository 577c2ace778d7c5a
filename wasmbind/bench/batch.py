"""Group ``batch``: ``Func.map`` over NumPy arrays, against calls in a loop."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple, cast

from wasmbind import _core
from wasmbind.bench.contestants import Instance, Peers, WasmbindInstance
from wasmbind.bench.report import Column, Report, Row, Target
from wasmbind.bench.timing import measure, timer

GROUP = "batch"


def _c_loop(fmap: Any, *args: Any, **kw: Any) -> Any:
    """``fmap(*args, **kw)`` in Func.map's C loop (one call from C per
    element), the loop it takes where the guest loop does not apply."""
    prev, _ = _core._map_guest_settings(2**62)
    try:
        return fmap(*args, **kw)
    finally:
        _core._map_guest_settings(prev)


def _loop_timer(call: Tuple[str, Dict[str, Any]], xs: List[Any], ys: List[Any]) -> Any:
    """A Timer making ``call`` (of ``a`` and ``b``) once per pair of xs, ys."""
    stmt, names = call
    return timer("[%s for a, b in zip(xs, ys)]" % stmt, xs=xs, ys=ys, **names)


def run(report: Report, peers: Peers) -> None:
    st = report.settings
    np = peers.np
    if np is None:
        report.skipped[GROUP] = "needs NumPy"
        return
    n = st.map_n
    report.section(GROUP, [Column.PY, Column.WB_MAP, Column.WB_MAP_C, Column.WB_LOOP,
                           Column.WT_LOOP, Column.NP], (
        "Element-wise calls over NumPy arrays of %d elements, per element. *Python* is a "
        "list comprehension over `lambda a, b: a + b`; *Func.map* loops inside the engine "
        "(a generated Wasm loop), *Func.map, C loop* is its loop for what the guest loop does "
        "not take (one call from C per element); the loops call the export once per "
        "element; ratios: to Func.map." % n))
    wb = cast(WasmbindInstance, peers.wasmbind().instance("calls"))
    wt = peers.wasmtime()
    loopers: Dict[Column, Instance] = {Column.WB_LOOP: wb}
    if wt is not None:
        loopers[Column.WT_LOOP] = wt.instance("calls")
    rng = np.random.default_rng(1)
    for export, dtype, label in (("add", np.int32, "add(i32, i32) -> i32"),
                                 ("add_f64", np.float64, "add_f64(f64, f64) -> f64")):
        if dtype is np.int32:
            xs = rng.integers(-2**31, 2**31, n, dtype=np.int64).astype(np.int32)
            ys = rng.integers(-2**31, 2**31, n, dtype=np.int64).astype(np.int32)
        else:
            xs = rng.standard_normal(n)
            ys = rng.standard_normal(n)
        with np.errstate(over="ignore"):
            want = xs + ys
        f = wb.exports[export]
        row = Row(GROUP, "%s.map(xs, ys)" % label, "Func.map")
        report.check("batch %s Func.map" % export, np.array_equal(np.asarray(f.map(xs, ys)), want))
        out = np.empty_like(want)
        f.map(xs, ys, out=out)
        report.check("batch %s Func.map(out=)" % export, np.array_equal(out, want))
        out[:] = 0
        _c_loop(f.map, xs, ys, out=out)
        report.check("batch %s Func.map(out=), C loop" % export, np.array_equal(out, want))
        # the loops run over a slice: `small` elements, `tiny` for wasmtime-py,
        # whose calls are the slowest (see the calls group)
        small = max(min(n // 20, 20000), 1)
        tiny = max(min(small, 500), 1)
        lx, ly = xs[:small].tolist(), ys[:small].tolist()
        elements = {Column.PY: small, Column.WB_LOOP: small, Column.WT_LOOP: tiny}
        timers = {Column.WB_MAP: timer("f(xs, ys, out=o)", f=f.map, xs=xs, ys=ys, o=out),
                  Column.WB_MAP_C: timer("c(f, xs, ys, out=o)", c=_c_loop, f=f.map, xs=xs, ys=ys,
                                         o=out),
                  Column.NP: timer("add(xs, ys)", add=np.add, xs=xs, ys=ys),
                  Column.PY: _loop_timer(("f(a, b)", {"f": lambda a, b: a + b}), lx, ly)}
        for col, inst in loopers.items():
            timers[col] = _loop_timer(inst.call_expr(export, ["a", "b"]),
                                      lx[:elements[col]], ly[:elements[col]])
        for col, t in measure(timers, st).items():
            row.times[col] = t / elements.get(col, n)
        row.base = row.times[Column.WB_MAP]
        report.add(row)
        report.targets.append(Target("Func.map %s over %d elements, ns per element"
                                     % (label, n), row.base * 1e9, 5.0, unit="ns"))
