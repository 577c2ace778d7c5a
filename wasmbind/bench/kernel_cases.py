"""Group ``kernels``: the compute kernels of kernels.c, one :class:`KernelCase` each.

To add a kernel: write it in ``kernels/kernels.c`` and list its export in
``kernels/__init__.py``, rebuild (``scripts/build_kernels.py``), write its
pure-Python twin in ``kernels/reference.py``, and add its record to ``CASES``.
(This module is not called ``kernels.py``: the package ``kernels/`` would hide it.)
"""

from __future__ import annotations

import array
import functools
import random
import struct
import sys
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Optional, Tuple

import wasmbind
from wasmbind.bench.contestants import Contestant, Peers, Ptr, time_checked
from wasmbind.bench.kernels import reference as ref
from wasmbind.bench.report import Column, Report, Row, Target
from wasmbind.bench.timing import Settings, call_timer, measure

GROUP = "kernels"
RATIO_WT = "wasmbind ÷ wasmtime-py, as they come"
RATIO_WT_ALIKE = "wasmbind ÷ wasmtime-py, both with epochs"
RATIO_EPOCH = "sandbox ÷ fast"


@dataclass(frozen=True)
class KernelCase:
    """One kernel: its inputs and how every contestant calls it.

    The pure-Python ``reference.<export>`` gives the expected result and the
    *Python* column. The Wasm builds and the native build of kernels.c take the
    same arguments, ``wasm(inputs)``, in which each :class:`Ptr` becomes a
    pointer to a copy of its bytes in the contestant's memory.
    """

    export: str
    label: str  # the row's name, formatted with the inputs' fields
    inputs: Callable[[Settings, random.Random], SimpleNamespace]
    python: Callable[[Any], Tuple[Any, ...]]  # inputs -> arguments of reference.<export>
    wasm: Callable[[Any], Tuple[Any, ...]]    # inputs -> arguments of the export
    numpy: Optional[Callable[[Any, Any], Callable[[], Any]]] = None  # (numpy, inputs) -> a call
    result: Optional[int] = None  # the kernel works in place: its result is this Ptr's bytes
    simd: bool = False            # a second row runs kernels_simd.wasm
    # why NumPy's result may differ in the last bits, if it may: it is then
    # checked to a relative 1e-9, and the report's notes say why
    numpy_differs: str = ""


def _f64(xs: List[float]) -> bytes:
    return struct.pack("<%dd" % len(xs), *xs)


def _u32(xs: "array.array[int]") -> bytes:
    le = array.array("I", xs)
    if sys.byteorder != "little":
        le.byteswap()
    return le.tobytes()


def _dot_inputs(st: Settings, rng: random.Random) -> SimpleNamespace:
    n = st.vec_n
    return SimpleNamespace(n=n, a=[rng.uniform(-1e3, 1e3) for _ in range(n)],
                           b=[rng.uniform(-1, 1) for _ in range(n)])


def _saxpy_inputs(st: Settings, rng: random.Random) -> SimpleNamespace:
    n = st.saxpy_n
    x = array.array("f", (rng.uniform(-10, 10) for _ in range(n)))
    y = array.array("f", (rng.uniform(-10, 10) for _ in range(n)))
    return SimpleNamespace(n=n, a=1.7, x=x, y=y)


# NumPy doing the same work: (numpy, inputs) -> a call returning the result

def _numpy_dot(np: Any, d: Any) -> Callable[[], Any]:
    a, b = np.array(d.a), np.array(d.b)
    return lambda: np.dot(a, b)


def _numpy_sum(np: Any, d: Any) -> Callable[[], Any]:
    x = np.frombuffer(_u32(d.v), "<u4")
    return lambda: x.sum(dtype=np.uint64)


def _numpy_count(np: Any, d: Any) -> Callable[[], Any]:
    x = np.frombuffer(d.data, np.uint8)
    return lambda: np.count_nonzero(x == 3)


def _numpy_saxpy(np: Any, d: Any) -> Callable[[], Any]:
    x, y, a = np.array(d.x, np.float32), np.array(d.y, np.float32), np.float32(d.a)
    return lambda: np.add(y, a * x, out=y)


CASES = [
    KernelCase(
        "fib", "fib({n})",
        inputs=lambda st, rng: SimpleNamespace(n=st.fib_n),
        python=lambda d: (d.n,), wasm=lambda d: (d.n,)),
    KernelCase(
        "mandelbrot", "mandelbrot({w}, {h}, {it})",
        inputs=lambda st, rng: SimpleNamespace(w=st.mandel[0], h=st.mandel[1], it=st.mandel[2]),
        python=lambda d: (d.w, d.h, d.it), wasm=lambda d: (d.w, d.h, d.it)),
    KernelCase(
        "dot_f64", "dot_f64, {n} f64", inputs=_dot_inputs,
        python=lambda d: (d.a, d.b),
        wasm=lambda d: (Ptr(_f64(d.a)), Ptr(_f64(d.b)), d.n),
        numpy=_numpy_dot,
        numpy_differs="`dot` sums in a different order (pairwise/SIMD)"),
    KernelCase(
        "sum_u32", "sum_u32, {n} u32",
        inputs=lambda st, rng: SimpleNamespace(n=st.u32_n,
                                               v=array.array("I", rng.randbytes(4 * st.u32_n))),
        python=lambda d: (d.v,),
        wasm=lambda d: (Ptr(_u32(d.v)), d.n),
        numpy=_numpy_sum),
    KernelCase(
        "count_u8", "count_u8, {n} bytes",
        inputs=lambda st, rng: SimpleNamespace(n=st.bytes_n, data=rng.randbytes(st.bytes_n)
                                               .translate(bytes(i & 7 for i in range(256)))),
        python=lambda d: (d.data, 3),
        wasm=lambda d: (Ptr(d.data), d.n, 3),
        numpy=_numpy_count,
        simd=True),
    KernelCase(
        "saxpy_f32", "saxpy_f32, {n} f32", inputs=_saxpy_inputs,
        python=lambda d: (d.a, d.x, array.array("f", d.y)),  # a copy: y is updated in place
        wasm=lambda d: (d.a, Ptr(d.x.tobytes()), Ptr(d.y.tobytes()), d.n),
        numpy=_numpy_saxpy, result=2, simd=True),
]


def _plain(v: Any) -> Any:
    """A result as the checks compare it: bytes for arrays, Python numbers."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, array.array):
        return v.tobytes()
    if hasattr(v, "ndim"):  # NumPy
        return v.tobytes() if v.ndim else v.item()
    return v


def _first_call(c: Contestant, module: str, case: KernelCase, d: Any) -> Tuple[Any, Any]:
    """Loads the inputs into ``c``'s instance of ``module`` and calls the kernel:
    (its result, its timer)."""
    inst = c.instance(module)
    inst.reset()
    args = case.wasm(d)
    loaded = [inst.load(a.data) if isinstance(a, Ptr) else a for a in args]
    got = inst.call(case.export, *loaded)
    if case.result is not None:
        got = inst.read(loaded[case.result], len(args[case.result].data))
    return _plain(got), inst.timer(case.export, *loaded)


def _add_numpy(report: Report, row: Row, timers: Dict[Any, Any], np: Any, case: KernelCase,
               d: Any, want: Any) -> None:
    if case.numpy is None:
        row.notes[Column.NP] = "n/a"
        return
    call = case.numpy(np, d)
    got = _plain(call())
    what = "kernels %s numpy" % row.name
    if case.numpy_differs:
        ok = abs(got - want) <= 1e-9 * max(1.0, abs(want))
        report.check(what, ok, "" if ok else "got %r, want %r" % (got, want))
    else:
        report.check_equal(what, got, want)
    timers[Column.NP] = call_timer(call)


def run(report: Report, peers: Peers) -> None:
    st = report.settings
    np = peers.np
    report.section(GROUP, [Column.PY, Column.WB, Column.WT, Column.WB_SANDBOX, Column.WT_EPOCH,
                           Column.W3, Column.CT, Column.NP], (
        "Compute kernels (kernels.c built with clang -O3; *[SIMD]* rows run kernels_simd.wasm, "
        "built with -msimd128), time per call and speed-up over pure Python, the same .wasm "
        "for every engine. First each library as it comes: *wasmbind* is `Engine()` "
        "(`Config.fast()`), *wasmtime-py* is `wasmtime.Engine()`. Then configured alike with "
        "epoch checks compiled in, what deadlines and Ctrl-C need: *wasmbind, "
        "Config.sandbox()* against *wasmtime-py, epochs on* (memory never moves, its epoch "
        "deadline never reached). Times include each binding's call overhead (see *calls*). "
        "pywasm3 has no SIMD."),
        extra=[RATIO_WT, RATIO_WT_ALIKE, RATIO_EPOCH])
    contestants: List[Contestant] = [
        peers.wasmbind(wasmbind.Engine()),
        peers.wasmbind(wasmbind.Engine(wasmbind.Config.sandbox()), Column.WB_SANDBOX)]
    contestants += [c for c in (peers.wasmtime(as_it_comes=True), peers.wasmtime(epochs=True),
                                peers.wasm3(), peers.native()) if c is not None]
    for case in CASES:
        d = case.inputs(st, random.Random(42))
        python = getattr(ref, case.export)
        want = _plain(python(*case.python(d)))
        name = case.label.format(**vars(d))
        for module in ("kernels", "kernels_simd") if case.simd else ("kernels",):
            simd = module == "kernels_simd"
            row = Row(GROUP, name + " [SIMD]" if simd else name, Column.PY.value, speedup=True)
            timers = {Column.PY: call_timer(python, *case.python(d))}
            for c in contestants:
                time_checked(report, row, timers, c, module, case.export,
                             "kernels %s" % row.name, want,
                             functools.partial(_first_call, c, module, case, d))
            if np is not None and not simd:
                _add_numpy(report, row, timers, np, case, d, want)
            row.times.update(measure(timers, st, slow=(Column.PY,)))
            row.base = row.times[Column.PY]
            for ratio, ours, theirs, what in (
                    (RATIO_WT, Column.WB, Column.WT, "as they come"),
                    (RATIO_WT_ALIKE, Column.WB_SANDBOX, Column.WT_EPOCH, "both with epochs")):
                if theirs in row.times:
                    r = row.times[ours] / row.times[theirs]
                    row.extra[ratio] = "%.3f" % r
                    report.targets.append(Target("kernel %s (wasmbind / wasmtime-py, %s)"
                                                 % (row.name, what), r, 1.05))
            row.extra[RATIO_EPOCH] = "%.3f" % (row.times[Column.WB_SANDBOX] / row.times[Column.WB])
            report.add(row)
    if np is not None:
        report.notes.extend(
            "NumPy's %s, so its `%s` result is checked to a relative 1e-9 instead of bit for "
            "bit." % (case.numpy_differs, case.export) for case in CASES if case.numpy_differs)
