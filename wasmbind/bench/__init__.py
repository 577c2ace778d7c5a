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

Methodology: within one run, contestants are timed interleaved (round-robin,
several rounds) and the best round is kept; every figure is also given as a
ratio to a reference measured in the same run, since only ratios carry over
between machines. Output: a markdown table (stdout and ``DIR/wasmbind-bench.md``)
and a chart (``DIR/wasmbind-bench.png``, needs matplotlib: ``pip install
wasmbind[bench]``). Progress goes to stderr, one line per benchmark.
"""

from __future__ import annotations

import argparse
import array
import ctypes
import gc
import json
import operator
import os
import pathlib
import platform
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import wasmbind
from wasmbind.bench import kernels
from wasmbind.bench.kernels import reference as ref

__all__ = ["main", "GROUPS", "run"]

GROUPS = ("calls", "host", "memory", "batch", "startup", "kernels", "gil")

# column names
PY = "Python"
WB = "wasmbind"
WB_NOEPOCH = "wasmbind, epoch off"
WT = "wasmtime-py"
W3 = "pywasm3"
CT = "C via ctypes"
NP = "NumPy"


# ---------------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------------

class Settings:
    """Sizes and repeat counts of one mode (full, --quick, --smoke)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        full = mode == "full"
        quick = mode == "quick"
        # timing: each sample runs for at least sample_s; best of `rounds`
        self.sample_s = 0.01 if full else 0.005 if quick else 0.0005
        self.rounds = 11 if full else 4 if quick else 1
        self.py_rounds = 3 if full else 2 if quick else 1  # slow pure-Python kernels
        self.host_n = 20000 if full else 5000 if quick else 200
        self.copy_bytes = 1 << 20
        self.big_memory = 256 << 20 if not mode == "smoke" else 8 << 20
        self.map_n = 1_000_000 if full else 200_000 if quick else 1000
        self.gil_seconds = 2.0 if full else 0.5 if quick else 0.1
        self.gil_repeats = 5 if full else 3 if quick else 1
        if full:
            self.fib_n, self.mandel = 27, (160, 120, 255)
            self.vec_n, self.u32_n, self.bytes_n, self.saxpy_n = 500_000, 2_000_000, 4_000_000, 200_000
        elif quick:
            self.fib_n, self.mandel = 23, (64, 48, 255)
            self.vec_n, self.u32_n, self.bytes_n, self.saxpy_n = 100_000, 400_000, 800_000, 40_000
        else:
            self.fib_n, self.mandel = 12, (12, 9, 50)
            self.vec_n, self.u32_n, self.bytes_n, self.saxpy_n = 500, 1000, 2000, 300


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------

class Row:
    """One benchmark: a time (seconds per operation) per contestant."""

    def __init__(self, group: str, name: str, base: Optional[float], base_label: str,
                 speedup: bool = False) -> None:
        self.group = group
        self.name = name
        self.base = base                # the time the ratios refer to
        self.base_label = base_label
        self.speedup = speedup          # show base/t ("x faster") instead of t/base
        self.times: Dict[str, float] = {}
        self.notes: Dict[str, str] = {}
        self.extra: Dict[str, str] = {}  # extra columns (already formatted)

    def to_json(self) -> Dict[str, Any]:
        return {"group": self.group, "name": self.name, "base_seconds": self.base,
                "base": self.base_label, "seconds": dict(self.times),
                "notes": dict(self.notes), "extra": dict(self.extra)}


class Target:
    def __init__(self, what: str, value: Optional[float], limit: float, unit: str = "x",
                 note: str = "") -> None:
        self.what, self.value, self.limit, self.unit, self.note = what, value, limit, unit, note

    @property
    def met(self) -> Optional[bool]:
        return None if self.value is None else self.value <= self.limit

    def to_json(self) -> Dict[str, Any]:
        return {"what": self.what, "value": self.value, "limit": self.limit,
                "unit": self.unit, "met": self.met, "note": self.note}


class Report:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rows: List[Row] = []
        self.columns: Dict[str, List[str]] = {}
        self.captions: Dict[str, str] = {}
        self.extra_columns: Dict[str, List[str]] = {}
        self.targets: List[Target] = []
        self.checks: List[Tuple[str, bool, str]] = []
        self.notes: List[str] = []
        self.gil: Dict[str, Any] = {}
        self.skipped: Dict[str, str] = {}

    def check(self, what: str, ok: bool, detail: str = "") -> bool:
        self.checks.append((what, bool(ok), detail))
        if not ok:
            progress("  CHECK FAILED: %s %s" % (what, detail))
        return bool(ok)

    def check_equal(self, what: str, got: Any, want: Any) -> bool:
        return self.check(what, got == want, "" if got == want else "got %r, want %r" % (got, want))

    @property
    def failed_checks(self) -> List[Tuple[str, bool, str]]:
        return [c for c in self.checks if not c[1]]


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------

def _timer(stmt: str, **names: Any) -> timeit.Timer:
    """A Timer running ``stmt`` with ``names`` bound as fast locals."""
    setup = "; ".join("%s = _g_%s" % (k, k) for k in names) or "pass"
    return timeit.Timer(stmt, setup=setup, globals={"_g_" + k: v for k, v in names.items()})


def _call_timer(fn: Callable[[], Any]) -> timeit.Timer:
    return _timer("f()", f=fn)


def _calibrate(t: timeit.Timer, sample_s: float) -> int:
    n = 1
    while True:
        dt = t.timeit(n)
        if dt >= sample_s or n >= 1 << 30:
            return n
        n = max(n * 2, int(n * sample_s / max(dt, 1e-9) * 1.2))


def measure(timers: Dict[str, timeit.Timer], st: Settings,
            slow: Sequence[str] = ()) -> Dict[str, float]:
    """Best seconds per execution of each timer, timed round-robin.

    Timers in ``slow`` (pure-Python kernels) run once per round and for
    ``st.py_rounds`` rounds only.
    """
    numbers = {}
    for k, t in timers.items():
        numbers[k] = 1 if k in slow else _calibrate(t, st.sample_s)
    best = {k: float("inf") for k in timers}
    gc_was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for r in range(st.rounds):
            for k, t in timers.items():
                if k in slow and r >= st.py_rounds:
                    continue
                best[k] = min(best[k], t.timeit(numbers[k]) / numbers[k])
    finally:
        if gc_was:
            gc.enable()
    return best


def fmt_time(s: Optional[float]) -> str:
    if s is None:
        return "-"
    if s < 1e-6:
        return "%.0f ns" % (s * 1e9) if s >= 1e-8 else "%.1f ns" % (s * 1e9)
    if s < 1e-3:
        return "%.3g µs" % (s * 1e6)
    if s < 1:
        return "%.3g ms" % (s * 1e3)
    return "%.3g s" % s


def fmt_ratio(x: float) -> str:
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    return "%.2f" % x


# ---------------------------------------------------------------------------
# peers
# ---------------------------------------------------------------------------

def _import(name: str):
    try:
        return __import__(name)
    except Exception:
        return None


class Peers:
    def __init__(self, report: Report, tmpdir: pathlib.Path) -> None:
        self.np = _import("numpy")
        self.wt = _import("wasmtime")
        self.w3 = _import("wasm3")
        self.report = report
        self.tmpdir = tmpdir
        self._native = None
        self._native_tried = False
        if self.wt is None:
            report.notes.append("wasmtime-py is not installed: its column is empty "
                                "(`pip install wasmbind[bench]`).")
        if self.w3 is None:
            report.notes.append("pywasm3 is not installed: its column is empty "
                                "(`pip install pywasm3`).")
        if self.np is None:
            report.notes.append("NumPy is not installed: its column and the memory views "
                                "through numpy.frombuffer are skipped.")

    # -- wasmtime-py, configured as wasmbind configures its engine ----------
    def wt_engine(self, epoch: bool = True):
        cfg = self.wt.Config()
        cfg.epoch_interruption = epoch
        cfg.memory_may_move = False
        return self.wt.Engine(cfg)

    def wt_store(self, engine, epoch: bool = True):
        store = self.wt.Store(engine)
        if epoch:
            store.set_epoch_deadline(1 << 62)
        return store

    # -- native build of kernels.c + the call-overhead functions -----------
    def native(self):
        if self._native_tried:
            return self._native
        self._native_tried = True
        cc = os.environ.get("CC", "cc")
        if shutil.which(cc) is None:
            self.report.notes.append("no C compiler (`%s`) found: the C-via-ctypes column is "
                                     "empty." % cc)
            return None
        src = self.tmpdir / "calls_native.c"
        src.write_text(_NATIVE_CALLS_C)
        shutil.copy(kernels.source("kernels"), self.tmpdir / "kernels.c")
        out = self.tmpdir / ("libwbbench" + (".dylib" if sys.platform == "darwin" else ".so"))
        cmd = [cc, "-O3", "-ffp-contract=off", "-shared", "-fPIC", "-o", str(out),
               "kernels.c", "calls_native.c"]
        try:
            r = subprocess.run(cmd, cwd=str(self.tmpdir), capture_output=True, text=True,
                               timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            r = None
            err = str(exc)
        else:
            err = r.stderr.strip()[-300:]
        if r is None or r.returncode != 0:
            self.report.notes.append("building kernels.c natively failed (`%s`): the "
                                     "C-via-ctypes column is empty. %s" % (" ".join(cmd), err))
            return None
        lib = ctypes.CDLL(str(out))
        c = ctypes
        sigs = {
            "nop": ([], None), "add": ([c.c_int32] * 2, c.c_int32),
            "add_i64": ([c.c_int64] * 2, c.c_int64), "add_f32": ([c.c_float] * 2, c.c_float),
            "add_f64": ([c.c_double] * 2, c.c_double), "sum8_i32": ([c.c_int32] * 8, c.c_int32),
            "fib": ([c.c_int32], c.c_int32), "mandelbrot": ([c.c_int32] * 3, c.c_int32),
            "dot_f64": ([c.c_void_p, c.c_void_p, c.c_int32], c.c_double),
            "sum_u32": ([c.c_void_p, c.c_int32], c.c_int64),
            "count_u8": ([c.c_void_p, c.c_int32, c.c_int32], c.c_int32),
            "saxpy_f32": ([c.c_float, c.c_void_p, c.c_void_p, c.c_int32], None),
            "call_add": ([HOST_ADD_C, c.c_int32], c.c_int32),
            "call_nop": ([HOST_NOP_C, c.c_int32], None),
        }
        for name, (args, res) in sigs.items():
            f = getattr(lib, name)
            f.argtypes = args
            f.restype = res
        self.report.notes.append("C via ctypes: `%s` (the same kernels.c, -O3, called "
                                 "through ctypes; the GIL is released for each call)."
                                 % _cc_version(cc))
        self._native = lib
        return lib


HOST_ADD_C = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int32, ctypes.c_int32)
HOST_NOP_C = ctypes.CFUNCTYPE(None)

_NATIVE_CALLS_C = r"""
#include <stdint.h>
/* Native twins of calls.wat / callbacks.wat for the ctypes column. */
void nop(void) {}
int32_t add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
int64_t add_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
float add_f32(float a, float b) { return a + b; }
double add_f64(double a, double b) { return a + b; }
int32_t sum8_i32(int32_t a, int32_t b, int32_t c, int32_t d,
                 int32_t e, int32_t f, int32_t g, int32_t h) {
    return (int32_t)((uint32_t)a + (uint32_t)b + (uint32_t)c + (uint32_t)d
                     + (uint32_t)e + (uint32_t)f + (uint32_t)g + (uint32_t)h);
}
int32_t call_add(int32_t (*host_add)(int32_t, int32_t), int32_t n) {
    int32_t acc = 0;
    for (int32_t i = 0; i < n; i++) acc = host_add(acc, 1);
    return acc;
}
void call_nop(void (*host_nop)(void), int32_t n) {
    for (int32_t i = 0; i < n; i++) host_nop();
}
"""


def _cc_version(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
        return out.splitlines()[0].strip() if out else cc
    except Exception:
        return cc


# -- instance helpers ---------------------------------------------------------

def wb_instance(name: str, engine=None, imports=(), release_gil: bool = False):
    engine = engine or wasmbind.default_engine()
    store = wasmbind.Store(engine, release_gil=release_gil)
    module = wasmbind.Module(engine, kernels.read_bytes(name))
    return store, wasmbind.Instance(store, module, imports).exports


def wt_instance(peers: Peers, name: str, engine, imports=(), epoch: bool = True):
    wt = peers.wt
    store = peers.wt_store(engine, epoch)
    module = wt.Module(engine, kernels.read_bytes(name))
    inst = wt.Instance(store, module, list(imports))
    return store, inst.exports(store)


def w3_instance(peers: Peers, name: str, host: Optional[Dict[str, Tuple[str, Callable]]] = None):
    env = peers.w3.Environment()
    rt = env.new_runtime(1 << 20)
    mod = env.parse_module(kernels.read_bytes(name))
    rt.load(mod)
    for field, (sig, fn) in (host or {}).items():
        mod.link_function("env", field, sig, fn)
    return env, rt, mod


def _attempt(report: Report, row: Row, col: str, fn: Callable[[], Any]) -> Any:
    """Runs a contestant's setup; on failure notes it in the row, returns None."""
    try:
        return fn()
    except Exception as exc:  # a peer that cannot run this benchmark
        row.notes[col] = "error: %s" % (str(exc).splitlines() or [type(exc).__name__])[0][:80]
        progress("  %s: %s failed: %r" % (row.name, col, exc))
        return None


# ---------------------------------------------------------------------------
# group: calls
# ---------------------------------------------------------------------------

_CALL_CASES = [
    # export, args, Python twin, label
    ("nop", (), lambda: None, "nop() -> ()"),
    ("add", (1, 2), lambda a, b: a + b, "add(i32, i32) -> i32"),
    ("add_i64", (1, 2), lambda a, b: a + b, "add_i64(i64, i64) -> i64"),
    ("add_f32", (1.5, 2.25), lambda a, b: a + b, "add_f32(f32, f32) -> f32"),
    ("add_f64", (1.5, 2.25), lambda a, b: a + b, "add_f64(f64, f64) -> f64"),
    ("swap", (1, 2), lambda a, b: (b, a), "swap(i32, i32) -> (i32, i32)"),
    ("sum8_i32", (1, 2, 3, 4, 5, 6, 7, 8), lambda *a: sum(a), "sum8_i32(8 x i32) -> i32"),
]


def _args_src(args: Sequence[Any], prefix: str = "") -> str:
    return "f(" + ", ".join(([prefix] if prefix else []) + [repr(a) for a in args]) + ")"


def group_calls(report: Report, peers: Peers) -> None:
    st = report.settings
    report.columns["calls"] = [PY, WB, WT, W3, CT]
    report.extra_columns["calls"] = ["operator.add (ratio 1)"]
    op_add = _timer("f(1, 2)", f=operator.add)
    caption = (
        "Python -> Wasm call overhead (calls.wasm), per call. Ratios: to `operator.add(1, 2)` "
        "(a call to a C builtin), timed in the same rounds as each row: %s. *Python* is a "
        "`def` doing the same work.")
    report.captions["calls"] = caption % "?"
    _, ex = wb_instance("calls")
    wt_store = wt_ex = w3_rt = lib = None
    if peers.wt:
        wt_store, wt_ex = wt_instance(peers, "calls", peers.wt_engine())
    if peers.w3:
        _, w3_rt, _ = w3_instance(peers, "calls")
    lib = peers.native()
    bases: List[float] = []
    for export, args, twin, label in _CALL_CASES:
        row = Row("calls", label, None, "operator.add")
        want = getattr(ref, export)(*args)
        timers = {"operator.add": op_add, PY: _timer(_args_src(args), f=twin)}
        f = ex[export]
        report.check_equal("calls %s wasmbind" % export, f(*args), want)
        timers[WB] = _timer(_args_src(args), f=f)
        if wt_ex is not None:
            g = wt_ex[export]
            got = g(wt_store, *args)
            report.check_equal("calls %s wasmtime-py" % export,
                               tuple(got) if isinstance(got, list) else got, want)
            timers[WT] = _timer(_args_src(args, "s"), f=g, s=wt_store)
        if w3_rt is not None:
            h = _attempt(report, row, W3, lambda: w3_rt.find_function(export))
            if h is not None:
                got = _attempt(report, row, W3, lambda: h(*args))
                if W3 not in row.notes:
                    report.check_equal("calls %s pywasm3" % export, got, want)
                    timers[W3] = _timer(_args_src(args), f=h)
        if lib is not None:
            if export == "swap":
                row.notes[CT] = "n/a (C has no multi-value)"
            else:
                c = getattr(lib, export)
                report.check_equal("calls %s ctypes" % export, c(*args), want)
                timers[CT] = _timer(_args_src(args), f=c)
        times = measure(timers, st)
        row.base = base = times.pop("operator.add")
        row.extra["operator.add (ratio 1)"] = fmt_time(base)
        row.times.update(times)
        bases.append(base)
        _finish(report, row)
        limit = 3.0 if export == "add" else 4.0
        report.targets.append(Target("call `%s` (wasmbind / operator.add)" % label,
                                     row.times[WB] / base, limit))

    # the same call with the GIL released, and without epoch checks
    variants = [("add(i32, i32) -> i32, Store(release_gil=True)",
                 lambda: wb_instance("calls", release_gil=True)),
                ("add(i32, i32) -> i32, Config(epoch_interruption=False)",
                 lambda: wb_instance("calls", wasmbind.Engine(
                     wasmbind.Config(epoch_interruption=False))))]
    for label, make in variants:
        row = Row("calls", label, None, "operator.add")
        _, vex = make()
        report.check_equal("calls %s" % label, vex.add(1, 2), 3)
        times = measure({"operator.add": op_add, WB: _timer("f(1, 2)", f=vex.add)}, st)
        row.base = times.pop("operator.add")
        row.extra["operator.add (ratio 1)"] = fmt_time(row.base)
        row.times.update(times)
        bases.append(row.base)
        _finish(report, row)
    report.captions["calls"] = caption % ("%s to %s in this run" % (
        fmt_time(min(bases)), fmt_time(max(bases))) if bases else "?")


def _finish(report: Report, row: Row) -> None:
    report.rows.append(row)
    parts = []
    for col in report.columns[row.group]:
        if col in row.times:
            parts.append("%s %s" % (col, fmt_time(row.times[col])))
    progress("[%s] %s: %s" % (row.group, row.name, ", ".join(parts)))


# ---------------------------------------------------------------------------
# group: host
# ---------------------------------------------------------------------------

def group_host(report: Report, peers: Peers) -> None:
    st = report.settings
    n = st.host_n
    report.columns["host"] = [PY, WB, WT, W3, CT]
    report.extra_columns["host"] = ["direct call (ratio 1)"]

    def host_add(a, b):
        return a + b

    host_add_l = lambda a, b: a + b  # noqa: E731  (host functions as short as users write them)
    host_nop = lambda: None  # noqa: E731
    cases: List[Tuple[Any, ...]] = [("call_add", host_add_l, "i(ii)", "host_add", (0, 1), n,
              "call_add: Wasm calls `lambda a, b: a + b`"),
             ("call_nop", host_nop, "v()", "host_nop", (), None,
              "call_nop: Wasm calls `lambda: None`")]
    direct = {"add": _timer("f(0, 1)", f=host_add_l), "nop": _timer("f()", f=host_nop)}
    report.captions["host"] = (
        "Wasm -> Python host calls (callbacks.wasm looping %d times), per host call. "
        "Ratios: to calling the same Python function directly from Python (`f(0, 1)`, "
        "`f()`), timed in the same rounds as each row. *Python* runs the same loop in Python."
        % n)
    del host_add
    imports = {"env": {"host_add": host_add_l, "host_nop": host_nop}}
    _, ex = wb_instance("callbacks", imports=imports)
    wt_store = wt_ex = w3_rt = None
    if peers.wt:
        wt = peers.wt
        eng = peers.wt_engine()
        i32 = wt.ValType.i32()
        wstore = peers.wt_store(eng)
        fa = wt.Func(wstore, wt.FuncType([i32, i32], [i32]), host_add_l)
        fn = wt.Func(wstore, wt.FuncType([], []), host_nop)
        mod = wt.Module(eng, kernels.read_bytes("callbacks"))
        wt_ex = wt.Instance(wstore, mod, [fa, fn]).exports(wstore)
        wt_store = wstore
    if peers.w3:
        _, w3_rt, _ = w3_instance(peers, "callbacks", {"host_add": ("i(ii)", host_add_l),
                                                       "host_nop": ("v()", host_nop)})
    lib = peers.native()
    for export, fn, _sig, field, _args, want, label in cases:
        key = "add" if field == "host_add" else "nop"
        row = Row("host", label, None, "direct call")
        timers = {}
        if export == "call_add":
            timers[PY] = _timer("f(%d, h)" % n, f=ref.call_add, h=fn)
        else:
            timers[PY] = _timer("f(%d, h)" % n, f=ref.call_nop, h=fn)
        report.check_equal("host %s wasmbind" % export, ex[export](n), want)
        timers[WB] = _timer("f(%d)" % n, f=ex[export])
        if wt_ex is not None:
            report.check_equal("host %s wasmtime-py" % export, wt_ex[export](wt_store, n), want)
            timers[WT] = _timer("f(s, %d)" % n, f=wt_ex[export], s=wt_store)
        if w3_rt is not None:
            h = w3_rt.find_function(export)
            got = _attempt(report, row, W3, lambda: h(n))
            if W3 not in row.notes:
                report.check_equal("host %s pywasm3" % export, got, want)
                timers[W3] = _timer("f(%d)" % n, f=h)
        if lib is not None:
            cb: Any = HOST_ADD_C(fn) if export == "call_add" else HOST_NOP_C(fn)
            c = getattr(lib, export)
            report.check_equal("host %s ctypes" % export, c(cb, n), want)
            timers[CT] = _timer("f(cb, %d)" % n, f=c, cb=cb)
        per = measure(dict(timers, direct=direct[key]), st)
        row.base = per.pop("direct")
        row.times.update({k: v / n for k, v in per.items()})
        row.extra["direct call (ratio 1)"] = fmt_time(row.base)
        _finish(report, row)
        report.targets.append(Target("host call, %s (wasmbind / direct Python call)" % field,
                                     row.times[WB] / row.base, 5.0))


# ---------------------------------------------------------------------------
# group: memory
# ---------------------------------------------------------------------------

def group_memory(report: Report, peers: Peers) -> None:
    st = report.settings
    np = peers.np
    report.columns["memory"] = [PY, WB, WT, W3]
    nbytes = st.copy_bytes
    report.captions["memory"] = (
        "Linear memory access. *Python* is the same operation on a `bytearray` (the "
        "reference of the ratios). Views must take constant time whatever the memory size; "
        "wasmtime-py has no buffer protocol, its column uses `mem.get_buffer_ptr(store)` "
        "(a ctypes array) instead.")
    small = bytearray(65536)
    big_ba = bytearray(nbytes)
    src = bytes(random.Random(7).getrandbits(8) for _ in range(4096)) * (nbytes // 4096)
    # wasmbind: a 1-page memory (calls.wasm) and a large one (kernels.wasm, grown)
    _, cex = wb_instance("calls")
    _, kex = wb_instance("kernels")
    big = kex.memory
    big.grow((st.big_memory - len(big)) // 65536)
    mems = {"64 KiB": cex.memory, "%d MiB" % (st.big_memory >> 20): big}
    wt_mems = {}
    if peers.wt:
        eng = peers.wt_engine()
        s1, e1 = wt_instance(peers, "calls", eng)
        s2, e2 = wt_instance(peers, "kernels", eng)
        m2 = e2["memory"]
        m2.grow(s2, (st.big_memory - m2.data_len(s2)) // 65536)
        wt_mems = {"64 KiB": (s1, e1["memory"]), "%d MiB" % (st.big_memory >> 20): (s2, m2)}
    w3_mem = None
    if peers.w3:
        _, rt, _ = w3_instance(peers, "kernels")
        w3_mem = rt
    for size, mem in mems.items():
        report.check("memory view %s wasmbind" % size, memoryview(mem).nbytes == len(mem))
        row = Row("memory", "memoryview(mem), %s" % size, None, "memoryview(bytearray)")
        timers = {PY: _timer("mv(b)", mv=memoryview, b=small),
                  WB: _timer("mv(m)", mv=memoryview, m=mem)}
        if size in wt_mems:
            s, m = wt_mems[size]
            timers[WT] = _timer("mv(m.get_buffer_ptr(s))", mv=memoryview, m=m, s=s)
        row.times.update(measure(timers, st))
        row.base = row.times[PY]
        _finish(report, row)
        report.targets.append(Target("memoryview(mem) %s (wasmbind / memoryview(bytearray))"
                                     % size, row.times[WB] / row.base, 1.5))
        if np is not None:
            a = np.frombuffer(mem, np.uint8)
            report.check("numpy.frombuffer %s wasmbind" % size, a.size == len(mem))
            del a
            row = Row("memory", "numpy.frombuffer(mem, uint8), %s" % size, None,
                      "numpy.frombuffer(bytearray)")
            timers = {PY: _timer("fb(b, u8)", fb=np.frombuffer, b=small, u8=np.uint8),
                      WB: _timer("fb(m, u8)", fb=np.frombuffer, m=mem, u8=np.uint8)}
            if size in wt_mems:
                s, m = wt_mems[size]
                timers[WT] = _timer("fb(m.get_buffer_ptr(s), u8)", fb=np.frombuffer, m=m, s=s,
                                    u8=np.uint8)
            if w3_mem is not None and size == "64 KiB":
                timers[W3] = _timer("fb(rt.get_memory(0), u8)", fb=np.frombuffer, rt=w3_mem,
                                    u8=np.uint8)
                row.notes[W3] = "2 MiB memory"
            row.times.update(measure(timers, st))
            row.base = row.times[PY]
            _finish(report, row)
            report.targets.append(Target(
                "numpy.frombuffer(mem) %s (wasmbind / numpy.frombuffer(bytearray))" % size,
                row.times[WB] / row.base, 1.5))
    # bulk copies, 1 MiB, on the large memory
    mem = big
    mem.write(0, src)
    report.check("memory write/read 1 MiB wasmbind", mem.read(0, nbytes) == src)
    row = Row("memory", "mem.read(0, 1 MiB) -> bytes", None, "bytearray slice copy")
    timers = {PY: _timer("b[0:%d]" % nbytes, b=big_ba), WB: _timer("r(0, %d)" % nbytes, r=mem.read)}
    if wt_mems:
        s, m = list(wt_mems.values())[1]
        m.write(s, src, 0)
        report.check("memory write/read 1 MiB wasmtime-py", bytes(m.read(s, 0, nbytes)) == src)
        timers[WT] = _timer("r(s, 0, %d)" % nbytes, r=m.read, s=s)
    if w3_mem is not None:
        timers[W3] = _timer("bytes(rt.get_memory(0)[0:%d])" % nbytes, rt=w3_mem)
    row.times.update(measure(timers, st))
    row.base = row.times[PY]
    _finish(report, row)
    report.targets.append(Target("mem.read 1 MiB (wasmbind / bytearray copy)",
                                 row.times[WB] / row.base, 1.2))
    row = Row("memory", "mem.write(0, 1 MiB of bytes)", None, "bytearray slice assignment")
    timers = {PY: _timer("b[0:%d] = src" % nbytes, b=big_ba, src=src),
              WB: _timer("w(0, src)", w=mem.write, src=src)}
    if wt_mems:
        s, m = list(wt_mems.values())[1]
        timers[WT] = _timer("w(s, src, 0)", w=m.write, s=s, src=src)
    if w3_mem is not None:
        timers[W3] = _timer("rt.get_memory(0)[0:%d] = src" % nbytes, rt=w3_mem, src=src)
    row.times.update(measure(timers, st))
    row.base = row.times[PY]
    _finish(report, row)
    report.targets.append(Target("mem.write 1 MiB (wasmbind / bytearray copy)",
                                 row.times[WB] / row.base, 1.2))


# ---------------------------------------------------------------------------
# group: batch (Func.map)
# ---------------------------------------------------------------------------

def group_batch(report: Report, peers: Peers) -> None:
    st = report.settings
    np = peers.np
    if np is None:
        report.skipped["batch"] = "needs NumPy"
        return
    n = st.map_n
    report.columns["batch"] = [PY, WB + " Func.map", WB + " loop", WT + " loop", NP]
    report.captions["batch"] = (
        "Element-wise calls over NumPy arrays of %d elements, per element. *Python* is a "
        "list comprehension over `lambda a, b: a + b`; the loops call the export once per "
        "element; ratios: to Func.map." % n)
    _, ex = wb_instance("calls")
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
        f = ex[export]
        row = Row("batch", "%s.map(xs, ys)" % label, None, "Func.map")
        got = _attempt(report, row, WB + " Func.map", lambda: f.map(xs, ys))
        if got is None:
            _finish(report, row)
            continue
        report.check("batch %s Func.map" % export, np.array_equal(np.asarray(got), want))
        out = np.empty_like(want)
        got2 = _attempt(report, row, WB + " Func.map", lambda: f.map(xs, ys, out=out))
        if got2 is not None:
            report.check("batch %s Func.map(out=)" % export, np.array_equal(out, want))
        small = max(min(n // 20, 20000), 1)
        tiny = max(min(small, 500), 1)  # for wasmtime-py, the slowest caller (see calls)
        lx, ly = xs[:small].tolist(), ys[:small].tolist()
        timers = {WB + " Func.map": _timer("f(xs, ys)", f=f.map, xs=xs, ys=ys),
                  NP: _timer("add(xs, ys)", add=np.add, xs=xs, ys=ys)}
        if got2 is not None:
            timers[WB + " Func.map"] = _timer("f(xs, ys, out=o)", f=f.map, xs=xs, ys=ys, o=out)
        loops = {PY: _timer("[f(a, b) for a, b in zip(xs, ys)]", f=lambda a, b: a + b,
                            xs=lx, ys=ly),
                 WB + " loop": _timer("[f(a, b) for a, b in zip(xs, ys)]", f=f, xs=lx, ys=ly)}
        if peers.wt:
            s, wex = wt_instance(peers, "calls", peers.wt_engine())
            loops[WT + " loop"] = _timer("[f(s, a, b) for a, b in zip(xs, ys)]", f=wex[export],
                                         s=s, xs=lx[:tiny], ys=ly[:tiny])
        per = measure(dict(timers, **loops), st)
        for k, v in per.items():
            row.times[k] = v / (tiny if k == WT + " loop" else small if k in loops else n)
        row.base = row.times[WB + " Func.map"]
        _finish(report, row)
        if export == "add":
            report.targets.append(Target("Func.map add, ns per element", row.base * 1e9, 30.0,
                                         unit="ns"))


# ---------------------------------------------------------------------------
# group: startup
# ---------------------------------------------------------------------------

def group_startup(report: Report, peers: Peers) -> None:
    report.columns["startup"] = [WB, WT, W3]
    report.captions["startup"] = (
        "Start-up costs. Both engines configured alike (epoch interruption on, memory never "
        "moves); ratios: to wasmtime-py. pywasm3 interprets, so it only parses; its "
        "instantiation is parse + new runtime + load (a wasm3 module loads once).")
    eng = wasmbind.Engine()
    weng = peers.wt_engine() if peers.wt else None
    for name in ("calls", "kernels"):
        data = kernels.read_bytes(name)
        # compile
        row = Row("startup", "compile %s.wasm (%d bytes)" % (name, len(data)), None, WT)
        timers = {WB: _timer("M(e, d)", M=wasmbind.Module, e=eng, d=data)}
        if weng is not None:
            timers[WT] = _timer("M(e, d)", M=peers.wt.Module, e=weng, d=data)
        if peers.w3:
            timers[W3] = _timer("E().parse_module(d)", E=peers.w3.Environment, d=data)
        _run_startup(report, row, timers)
        # deserialize
        module = wasmbind.Module(eng, data)
        ser = module.serialize()
        report.check("startup deserialize %s wasmbind" % name,
                     [e.name for e in wasmbind.Module.deserialize(eng, ser).exports]
                     == [e.name for e in module.exports])
        row = Row("startup", "deserialize %s (Module.deserialize)" % name, None, WT)
        timers = {WB: _timer("D(e, d)", D=wasmbind.Module.deserialize, e=eng, d=ser)}
        if weng is not None:
            wser = peers.wt.Module(weng, data).serialize()
            timers[WT] = _timer("D(e, d)", D=peers.wt.Module.deserialize, e=weng, d=wser)
        _run_startup(report, row, timers)
        # instantiate
        row = Row("startup", "new Store + Instance (%s.wasm)" % name, None, WT)
        timers = {WB: _timer("I(S(e), m)", I=wasmbind.Instance, S=wasmbind.Store, e=eng,
                             m=module)}
        inst = wasmbind.Instance(wasmbind.Store(eng), module)
        report.check("startup instantiate %s wasmbind" % name, "memory" in inst.exports)
        if weng is not None:
            wmod = peers.wt.Module(weng, data)
            wt = peers.wt

            def wt_inst(wt=wt, weng=weng, wmod=wmod):
                s = wt.Store(weng)
                s.set_epoch_deadline(1 << 62)
                return wt.Instance(s, wmod, [])
            timers[WT] = _timer("f()", f=wt_inst)
        if peers.w3:
            w3 = peers.w3

            def w3_inst(w3=w3, data=data):
                env = w3.Environment()
                rt = env.new_runtime(64 * 1024)
                rt.load(env.parse_module(data))
                return rt
            timers[W3] = _timer("f()", f=w3_inst)
        _run_startup(report, row, timers)
        if WT in row.times:
            report.targets.append(Target("instantiate %s.wasm (wasmbind / wasmtime-py)" % name,
                                         row.times[WB] / row.times[WT], 0.5))


def _run_startup(report: Report, row: Row, timers: Dict[str, timeit.Timer]) -> None:
    row.times.update(measure(timers, report.settings))
    row.base = row.times.get(WT)
    _finish(report, row)


# ---------------------------------------------------------------------------
# group: kernels
# ---------------------------------------------------------------------------

class _KernelSide:
    """One wasm engine's instance of kernels(.wasm|_simd.wasm) with helpers."""

    def __init__(self, call, alloc_write, read, reset) -> None:
        self.call = call              # call(name, *args)
        self.alloc_write = alloc_write  # bytes -> ptr
        self.read = read              # (ptr, n) -> bytes
        self.reset = reset


def _wb_side(module_name: str, engine) -> _KernelSide:
    _, ex = wb_instance(module_name, engine)
    mem = ex.memory

    def alloc_write(data: bytes) -> int:
        p = ex.alloc(len(data))
        assert p
        mem.write(p, data)
        return p

    return _KernelSide(lambda name: ex[name], alloc_write, mem.read, ex.heap_reset)


def _wt_side(peers: Peers, module_name: str, engine) -> _KernelSide:
    store, ex = wt_instance(peers, module_name, engine)
    mem = ex["memory"]

    def bind(name):
        f = ex[name]
        return lambda *a: f(store, *a)

    def alloc_write(data: bytes) -> int:
        p = ex["alloc"](store, len(data))
        assert p
        mem.write(store, data, p)
        return p

    return _KernelSide(bind, alloc_write, lambda p, n: bytes(mem.read(store, p, p + n)),
                       lambda: ex["heap_reset"](store))


def _w3_side(peers: Peers, module_name: str) -> _KernelSide:
    _, rt, _ = w3_instance(peers, module_name)
    fns = {}

    def bind(name):
        if name not in fns:
            fns[name] = rt.find_function(name)
        return fns[name]

    def alloc_write(data: bytes) -> int:
        p = bind("alloc")(len(data))
        assert p
        rt.get_memory(0)[p:p + len(data)] = data
        return p

    return _KernelSide(bind, alloc_write, lambda p, n: bytes(rt.get_memory(0)[p:p + n]),
                       lambda: bind("heap_reset")())


def group_kernels(report: Report, peers: Peers) -> None:
    st = report.settings
    np = peers.np
    cols = [PY, WB, WB_NOEPOCH, WT, W3, CT, NP]
    report.columns["kernels"] = cols
    report.extra_columns["kernels"] = ["wasmbind ÷ wasmtime-py", "epoch on ÷ off"]
    report.captions["kernels"] = (
        "Compute kernels (kernels.c built with clang -O3; *[SIMD]* rows run kernels_simd.wasm, "
        "built with -msimd128), time per call and speed-up over pure Python. wasmbind and "
        "wasmtime-py run the same .wasm on engines configured alike (epoch interruption on, "
        "memory never moves; wasmtime-py's epoch deadline is never reached); *wasmbind, epoch "
        "off* uses `Config(epoch_interruption=False)`. Times include each binding's call "
        "overhead (wasmtime-py: about 25 µs a call, see *calls*). pywasm3 has no SIMD.")
    eng_on = wasmbind.Engine(wasmbind.Config(epoch_interruption=True))
    eng_off = wasmbind.Engine(wasmbind.Config(epoch_interruption=False))
    weng = peers.wt_engine() if peers.wt else None
    lib = peers.native()
    rng = random.Random(42)

    w, h, it = st.mandel
    nv, nu, nb, ns = st.vec_n, st.u32_n, st.bytes_n, st.saxpy_n
    va = [rng.uniform(-1e3, 1e3) for _ in range(nv)]
    vb = [rng.uniform(-1, 1) for _ in range(nv)]
    u32 = array.array("I", rng.randbytes(4 * nu))
    u8 = rng.randbytes(nb).translate(bytes(i & 7 for i in range(256)))
    sx = array.array("f", (rng.uniform(-10, 10) for _ in range(ns)))
    sy = array.array("f", (rng.uniform(-10, 10) for _ in range(ns)))
    a_saxpy = 1.7
    ba = struct.pack("<%dd" % nv, *va)
    bb = struct.pack("<%dd" % nv, *vb)
    ule = array.array("I", u32)
    if sys.byteorder != "little":
        ule.byteswap()
    bu = ule.tobytes()
    del ule

    # kernel name, label, simd, python thunk maker, wasm thunk maker, result reader
    specs = [
        ("fib", "fib(%d)" % st.fib_n, False),
        ("mandelbrot", "mandelbrot(%d, %d, %d)" % (w, h, it), False),
        ("dot_f64", "dot_f64, %d f64" % nv, False),
        ("sum_u32", "sum_u32, %d u32" % nu, False),
        ("count_u8", "count_u8, %d bytes" % nb, False),
        ("count_u8", "count_u8, %d bytes [SIMD]" % nb, True),
        ("saxpy_f32", "saxpy_f32, %d f32" % ns, False),
        ("saxpy_f32", "saxpy_f32, %d f32 [SIMD]" % ns, True),
    ]
    wants = {}

    def want(kernel):
        if kernel not in wants:
            wants[kernel] = {
                "fib": lambda: ref.fib(st.fib_n),
                "mandelbrot": lambda: ref.mandelbrot(w, h, it),
                "dot_f64": lambda: ref.dot_f64(va, vb),
                "sum_u32": lambda: ref.sum_u32(u32),
                "count_u8": lambda: ref.count_u8(u8, 3),
                "saxpy_f32": lambda: ref.saxpy_f32(a_saxpy, sx, array.array("f", sy)).tobytes(),
            }[kernel]()
        return wants[kernel]

    def py_thunk(kernel):
        if kernel == "fib":
            return lambda: ref.fib(st.fib_n)
        if kernel == "mandelbrot":
            return lambda: ref.mandelbrot(w, h, it)
        if kernel == "dot_f64":
            return lambda: ref.dot_f64(va, vb)
        if kernel == "sum_u32":
            return lambda: ref.sum_u32(u32)
        if kernel == "count_u8":
            return lambda: ref.count_u8(u8, 3)
        y = array.array("f", sy)
        return lambda: ref.saxpy_f32(a_saxpy, sx, y)

    def wasm_case(side: _KernelSide, kernel):
        """(thunk, first result) for a wasm engine side."""
        side.reset()
        f = side.call(kernel)
        if kernel == "fib":
            return (lambda: f(st.fib_n)), f(st.fib_n)
        if kernel == "mandelbrot":
            return (lambda: f(w, h, it)), f(w, h, it)
        if kernel == "dot_f64":
            pa, pb = side.alloc_write(ba), side.alloc_write(bb)
            return (lambda: f(pa, pb, nv)), f(pa, pb, nv)
        if kernel == "sum_u32":
            p = side.alloc_write(bu)
            return (lambda: f(p, nu)), f(p, nu)
        if kernel == "count_u8":
            p = side.alloc_write(u8)
            return (lambda: f(p, nb, 3)), f(p, nb, 3)
        px, py = side.alloc_write(sx.tobytes()), side.alloc_write(sy.tobytes())
        f(a_saxpy, px, py, ns)
        return (lambda: f(a_saxpy, px, py, ns)), side.read(py, 4 * ns)

    def native_case(kernel):
        c = getattr(lib, kernel)
        if kernel == "fib":
            return (lambda: c(st.fib_n)), c(st.fib_n)
        if kernel == "mandelbrot":
            return (lambda: c(w, h, it)), c(w, h, it)
        if kernel == "dot_f64":
            xa = ctypes.create_string_buffer(ba, len(ba))
            xb = ctypes.create_string_buffer(bb, len(bb))
            return (lambda: c(xa, xb, nv)), c(xa, xb, nv)
        if kernel == "sum_u32":
            xu = ctypes.create_string_buffer(bu, len(bu))
            return (lambda: c(xu, nu)), c(xu, nu)
        if kernel == "count_u8":
            x8 = ctypes.create_string_buffer(u8, len(u8))
            return (lambda: c(x8, nb, 3)), c(x8, nb, 3)
        xx = ctypes.create_string_buffer(sx.tobytes(), 4 * ns)
        xy = ctypes.create_string_buffer(sy.tobytes(), 4 * ns)
        c(a_saxpy, xx, xy, ns)
        return (lambda: c(a_saxpy, xx, xy, ns)), xy.raw[:4 * ns]

    def numpy_case(kernel):
        if kernel == "dot_f64":
            x, y = np.frombuffer(ba, "<f8"), np.frombuffer(bb, "<f8")
            return (lambda: np.dot(x, y)), float(np.dot(x, y))
        if kernel == "sum_u32":
            x = np.frombuffer(bu, "<u4")
            return (lambda: x.sum(dtype=np.uint64)), int(x.sum(dtype=np.uint64))
        if kernel == "count_u8":
            x = np.frombuffer(u8, np.uint8)
            return (lambda: np.count_nonzero(x == 3)), int(np.count_nonzero(x == 3))
        if kernel == "saxpy_f32":
            x = np.array(sx, np.float32)
            y = np.array(sy, np.float32)
            a32 = np.float32(a_saxpy)

            def saxpy():
                y.__iadd__(a32 * x)
            saxpy()
            return saxpy, y.astype("<f4").tobytes()
        return None

    sides: Dict[Tuple[str, bool], _KernelSide] = {}

    def side(col, simd):
        key = (col, simd)
        if key not in sides:
            modname = "kernels_simd" if simd else "kernels"
            if col == WB:
                sides[key] = _wb_side(modname, eng_on)
            elif col == WB_NOEPOCH:
                sides[key] = _wb_side(modname, eng_off)
            elif col == WT:
                sides[key] = _wt_side(peers, modname, weng)
            else:
                sides[key] = _w3_side(peers, modname)
        return sides[key]

    for kernel, label, simd in specs:
        row = Row("kernels", label, None, PY, speedup=True)
        expected = want(kernel)
        timers = {PY: _call_timer(py_thunk(kernel))}
        present = [WB, WB_NOEPOCH] + ([WT] if peers.wt else []) + ([W3] if peers.w3 else [])
        for col in present:
            if col == W3 and simd:
                row.notes[W3] = "n/a (no SIMD)"
                continue
            res = _attempt(report, row, col, lambda: wasm_case(side(col, simd), kernel))
            if res is None:
                continue
            thunk, got = res
            _check_kernel(report, "kernels %s %s" % (label, col), kernel, got, expected)
            timers[col] = _call_timer(thunk)
        if lib is not None:
            if simd:
                row.notes[CT] = "(same as scalar row)"
            else:
                thunk, got = native_case(kernel)
                _check_kernel(report, "kernels %s ctypes" % label, kernel, got, expected)
                timers[CT] = _call_timer(thunk)
        if np is not None and not simd:
            res = numpy_case(kernel)
            if res is None:
                row.notes[NP] = "n/a"
            else:
                thunk, got = res
                _check_kernel(report, "kernels %s numpy" % label, kernel, got, expected,
                              approx=kernel == "dot_f64")
                timers[NP] = _call_timer(thunk)
        row.times.update(measure(timers, st, slow=(PY,)))
        row.base = row.times[PY]
        if WT in row.times:
            row.extra["wasmbind ÷ wasmtime-py"] = "%.3f" % (row.times[WB] / row.times[WT])
            report.targets.append(Target("kernel %s (wasmbind / wasmtime-py)" % label,
                                         row.times[WB] / row.times[WT], 1.05))
        row.extra["epoch on ÷ off"] = "%.3f" % (row.times[WB] / row.times[WB_NOEPOCH])
        _finish(report, row)
    if np is not None:
        report.notes.append("NumPy's `dot` sums in a different order (pairwise/SIMD), so its "
                            "`dot_f64` result is checked to a relative 1e-9 instead of bit for "
                            "bit.")


def _check_kernel(report: Report, what: str, kernel: str, got, expected, approx=False) -> None:
    if approx:
        ok = abs(got - expected) <= 1e-9 * max(1.0, abs(expected))
        report.check(what, ok, "" if ok else "got %r, want %r" % (got, expected))
    else:
        if isinstance(got, (bytearray, memoryview)):
            got = bytes(got)
        report.check_equal(what, got, expected)


# ---------------------------------------------------------------------------
# group: gil
# ---------------------------------------------------------------------------

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


def group_gil(report: Report, peers: Peers) -> None:
    st = report.settings
    secs = st.gil_seconds
    report.columns["gil"] = []
    eng_on = wasmbind.Engine(wasmbind.Config(epoch_interruption=True))
    eng_off = wasmbind.Engine(wasmbind.Config(epoch_interruption=False))
    _, ex = wb_instance("kernels", eng_on)
    # size a mandelbrot call to last about `secs`: the points inside the set run
    # max_iter iterations each, so the time grows about linearly with max_iter
    width, height, it0 = 64, 48, 100
    ex.mandelbrot(width, height, it0)
    t0 = time.perf_counter()
    ex.mandelbrot(width, height, it0)
    dt = max(time.perf_counter() - t0, 1e-6)
    it = max(it0, int(it0 * secs / dt))
    results = {}
    gil: Dict[str, Any] = {"seconds_target": secs, "mandelbrot_args": [width, height, it]}

    def wb_call(engine, release):
        _, e = wb_instance("kernels", engine, release_gil=release)
        return lambda: e.mandelbrot(width, height, it)

    cases = [("wasmbind default (GIL let go at the first epoch tick)", wb_call(eng_on, False)),
             ("wasmbind, Store(release_gil=True)", wb_call(eng_on, True)),
             ("wasmbind, Config(epoch_interruption=False)", wb_call(eng_off, False))]
    if peers.wt:
        weng = peers.wt_engine()
        ws, wex = wt_instance(peers, "kernels", weng)
        f = wex["mandelbrot"]
        cases.append(("wasmtime-py (ctypes releases the GIL)",
                      lambda: f(ws, width, height, it)))
    gil["progress"] = []
    for label, work in cases:
        # the counter alone just before (the machine's load may change during the run)
        alone, _, _ = _count_during(lambda: time.sleep(secs / 2))
        t0 = time.perf_counter()
        work()
        solo = time.perf_counter() - t0
        rate, dt, res = _count_during(work)
        results[label] = res
        gil["progress"].append({"case": label, "call_alone_seconds": solo, "call_seconds": dt,
                                "counter_per_s": rate, "counter_alone_per_s": alone,
                                "ratio": rate / alone})
        progress("[gil] %s: the call took %.2f s alone, %.2f s beside the busy thread, which "
                 "ran at %.0f%% of its speed alone (%.3g loops/s)"
                 % (label, solo, dt, 100 * rate / alone, alone))
    vals = set(results.values())
    report.check("gil mandelbrot results agree", len(vals) == 1, repr(results))
    if width * height * it < 2_000_000:  # small enough to check against Python
        report.check_equal("gil mandelbrot vs reference", results[cases[0][0]],
                           ref.mandelbrot(width, height, it))

    # parallel stores: two threads, each with its own Store, each running a call of
    # about secs/4; concurrently vs one after the other, alternating, best of each
    half = max(1, it // 4)
    gil["parallel"] = []
    for release in (True, False):
        calls = []
        for _ in range(2):
            _, e = wb_instance("kernels", eng_on, release_gil=release)
            calls.append(lambda e=e: e.mandelbrot(width, height, half))
        seq = conc = float("inf")
        for _ in range(st.gil_repeats):  # alternate, keep the best of each
            t0 = time.perf_counter()
            r_seq = [c() for c in calls]
            seq = min(seq, time.perf_counter() - t0)
            out: List[Any] = [None, None]

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
        gil["parallel"].append({"release_gil": release, "sequential_s": seq,
                                "concurrent_s": conc, "speedup": seq / conc})
        progress("[gil] two threads, two stores, release_gil=%s: sequential %.2f s, "
                 "concurrent %.2f s (x%.2f)" % (release, seq, conc, seq / conc))
    report.gil.update(gil)


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------

def machine_info() -> Dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cpus": str(os.cpu_count()),
        "os": platform.platform(),
        "python": "%s %s" % (platform.python_implementation(), platform.python_version()),
        "wasmbind": wasmbind.__version__,
        "engine": "Wasmtime %s" % wasmbind.WASMTIME_VERSION,
    }
    if hasattr(os, "getloadavg"):
        info["load"] = "%.2f" % os.getloadavg()[0]
    for mod, key, dist in (("wasmtime", "wasmtime-py", "wasmtime"), ("wasm3", "pywasm3", "pywasm3"),
                           ("numpy", "numpy", "numpy")):
        m = sys.modules.get(mod)
        if m is not None:
            info[key] = _dist_version(dist) or getattr(m, "__version__", None) or "?"
    return info


def _dist_version(name: str) -> Optional[str]:
    try:
        import importlib.metadata as md
        return md.version(name)
    except Exception:
        return None


def _cell(row: Row, col: str) -> str:
    if col not in row.times:
        return row.notes.get(col, "-")
    t = row.times[col]
    s = fmt_time(t)
    if row.base:
        if row.speedup:
            s += " (%s×)" % fmt_ratio(row.base / t)
        else:
            s += " (%s)" % fmt_ratio(t / row.base)
    if col in row.notes:
        s += " " + row.notes[col]
    return s


def render_markdown(report: Report, info: Dict[str, str], elapsed: float) -> str:
    out = []
    out.append("## wasmbind benchmarks (%s mode)" % report.settings.mode)
    out.append("")
    out.append("Machine: %s, %s CPUs%s; %s; %s; %s; %s." % (
        info["cpu"], info["cpus"],
        " (load average %s at the end)" % info["load"] if "load" in info else "",
        info["os"], info["python"], "wasmbind %s" % info["wasmbind"], info["engine"]))
    peers = ", ".join("%s %s" % (k, info[k]) for k in ("wasmtime-py", "pywasm3", "numpy")
                      if k in info)
    if peers:
        out.append("Peers: %s." % peers)
    out.append("")
    for group in GROUPS:
        rows = [r for r in report.rows if r.group == group]
        if group == "gil" and report.gil.get("progress"):
            out.extend(_render_gil(report))
            continue
        if not rows:
            if group in report.skipped:
                out.append("### %s\n\nSkipped: %s.\n" % (group, report.skipped[group]))
            continue
        cols = [c for c in report.columns[group]
                if any(c in r.times or c in r.notes for r in rows)]
        extra = report.extra_columns.get(group, [])
        out.append("### %s" % group)
        out.append("")
        out.append(report.captions.get(group, ""))
        out.append("")
        out.append("| benchmark | " + " | ".join(cols + extra) + " |")
        out.append("|---|" + "---:|" * (len(cols) + len(extra)))
        for r in rows:
            out.append("| %s | %s |" % (r.name, " | ".join(
                [_cell(r, c) for c in cols] + [r.extra.get(e, "-") for e in extra])))
        out.append("")
    if report.targets:
        out.append("### targets (the speeds wasmbind aims for)")
        out.append("")
        out.append("| target | measured | limit | met |")
        out.append("|---|---:|---:|:---:|")
        for t in report.targets:
            v = "-" if t.value is None else ("%.1f ns" % t.value if t.unit == "ns"
                                             else "%.2fx" % t.value)
            lim = "%.0f ns" % t.limit if t.unit == "ns" else "%.2fx" % t.limit
            out.append("| %s | %s | %s | %s |" % (t.what, v, lim,
                                                  {True: "yes", False: "**no**",
                                                   None: "-"}[t.met]))
        out.append("")
    failed = report.failed_checks
    if failed:
        out.append("**%d of %d result checks FAILED:** %s" % (
            len(failed), len(report.checks), "; ".join("%s (%s)" % (w, d) for w, _, d in failed)))
    else:
        out.append("Result checks: all %d passed (every result equals the pure-Python "
                   "reference)." % len(report.checks))
    out.append("")
    for note in report.notes:
        out.append("- " + note)
    out.append("- Times: best of %d interleaved rounds; ratios are to the reference named in "
               "each section, measured in the same run. Total run time %.0f s." % (
                   report.settings.rounds, elapsed))
    out.append("")
    return "\n".join(out)


def _render_gil(report: Report) -> List[str]:
    g = report.gil
    out = ["### gil", ""]
    out.append("A second Python thread counts in a loop while this thread makes one "
               "`mandelbrot(%d, %d, %d)` call (about %.1f s with the default engine); its "
               "speed relative to running alone (measured just before each case):"
               % (tuple(g["mandelbrot_args"]) + (g["seconds_target"],)))
    out.append("")
    out.append("| while Wasm runs in | call alone | call beside the busy thread | "
               "other thread's progress |")
    out.append("|---|---:|---:|---:|")
    for p in g["progress"]:
        out.append("| %s | %.2f s | %.2f s | %.0f%% |" % (
            p["case"], p["call_alone_seconds"], p["call_seconds"], 100 * p["ratio"]))
    out.append("")
    if g.get("parallel"):
        out.append("Two threads, each with its own Store, each running `mandelbrot` for about "
                   "%.1f s:" % (g["seconds_target"] / 4))
        out.append("")
        out.append("(best of %d alternating runs)" % report.settings.gil_repeats)
        out.append("")
        out.append("| stores | sequential | concurrent | speed-up |")
        out.append("|---|---:|---:|---:|")
        for p in g["parallel"]:
            out.append("| release_gil=%s | %.2f s | %.2f s | %.2fx |" % (
                p["release_gil"], p["sequential_s"], p["concurrent_s"], p["speedup"]))
        out.append("")
    return out


def render_chart(report: Report, path: pathlib.Path) -> Optional[str]:
    """Writes the PNG; returns None or the reason it was skipped."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return ("matplotlib is not installed: chart skipped "
                "(`pip install wasmbind[bench]` or `pip install matplotlib`)")
    panels = []
    krows = [r for r in report.rows if r.group == "kernels"]
    if krows:
        panels.append(("Kernels: speed-up over pure Python (higher is better)", krows,
                       [WB, WB_NOEPOCH, WT, W3, CT, NP], lambda r, t: r.base / t))
    crows = [r for r in report.rows if r.group in ("calls", "host") and PY in r.times]
    if crows:
        panels.append(("Call overhead: ns per call (lower is better)", crows,
                       [PY, WB, WT, W3, CT], lambda r, t: t * 1e9))
    srows = [r for r in report.rows if r.group == "startup"]
    if srows:
        panels.append(("Start-up: µs (lower is better)", srows, [WB, WT, W3],
                       lambda r, t: t * 1e6))
    if not panels:
        return "no group with a chart was run"
    colors = {PY: "#999999", WB: "#1f77b4", WB_NOEPOCH: "#6baed6", WT: "#ff7f0e",
              W3: "#2ca02c", CT: "#9467bd", NP: "#8c564b"}
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 4.2 * len(panels)), squeeze=False)
    for ax, (title, rows, cols, value) in zip(axes[:, 0], panels):
        cols = [c for c in cols if any(c in r.times for r in rows)]
        nb = len(cols)
        height = 0.8 / max(nb, 1)
        for j, c in enumerate(cols):
            ys, xs = [], []
            for i, r in enumerate(rows):
                if c in r.times:
                    ys.append(i + (j - (nb - 1) / 2) * height)
                    xs.append(value(r, r.times[c]))
            ax.barh(ys, xs, height=height, label=c, color=colors.get(c))
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([r.name for r in rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle("wasmbind %s (Wasmtime %s), %s mode" % (
        wasmbind.__version__, wasmbind.WASMTIME_VERSION, report.settings.mode), fontsize=11)
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
    plt.close(fig)
    return None


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

_RUNNERS = {
    "calls": group_calls,
    "host": group_host,
    "memory": group_memory,
    "batch": group_batch,
    "startup": group_startup,
    "kernels": group_kernels,
    "gil": group_gil,
}


def run(groups: Sequence[str], mode: str = "full") -> Report:
    """Runs the given groups; returns the Report (rows, targets, checks)."""
    report = Report(Settings(mode))
    with tempfile.TemporaryDirectory(prefix="wasmbind-bench-") as tmp:
        peers = Peers(report, pathlib.Path(tmp))
        for g in groups:
            t0 = time.perf_counter()
            try:
                _RUNNERS[g](report, peers)
            except Exception as exc:
                report.check("group %s ran" % g, False, "%s: %s" % (type(exc).__name__, exc))
                import traceback
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
    info = machine_info()
    md = render_markdown(report, info, elapsed)
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path = out_dir / "wasmbind-bench.md"
    md_path.write_text(md, encoding="utf-8")
    png_path = out_dir / "wasmbind-bench.png"
    skipped = render_chart(report, png_path)
    data = {
        "mode": mode,
        "machine": info,
        "seconds": elapsed,
        "rows": [r.to_json() for r in report.rows],
        "targets": [t.to_json() for t in report.targets],
        "checks": [{"what": w, "ok": ok, "detail": d} for w, ok, d in report.checks],
        "gil": report.gil,
        "skipped": report.skipped,
        "notes": report.notes,
        "chart": None if skipped else str(png_path),
    }
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


if __name__ == "__main__":
    sys.exit(main())
