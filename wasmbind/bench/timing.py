"""How the benchmarks are timed: the sizes of each mode, interleaved best-of-N
measurement, and the formatting of times and ratios."""

from __future__ import annotations

import gc
import timeit
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

MODES = ("full", "quick", "smoke")

# Every size and repeat count, one column per mode (in the order of MODES).
_TABLE: Dict[str, Tuple[Any, Any, Any]] = {
    #               full              quick            smoke
    "sample_s":    (0.001,            0.0005,          0.0005),  # a sample runs this long at least
    "rounds":      (11,               4,               1),       # best of at least this many rounds
    "budget_s":    (0.15,             0.04,            0.0),     # ... and until a timer ran this long
    "py_rounds":   (3,                2,               1),       # the same, pure-Python kernels
    "host_n":      (20000,            5000,            200),     # host calls per Wasm call
    "copy_bytes":  (1 << 20,          1 << 20,         1 << 20),
    "big_memory":  (256 << 20,        256 << 20,       8 << 20),
    "map_n":       (1_000_000,        200_000,         1000),
    "gil_seconds": (2.0,              0.5,             0.1),
    "gil_repeats": (5,                3,               1),
    "fib_n":       (27,               23,              12),
    "mandel":      ((160, 120, 255),  (64, 48, 255),   (12, 9, 50)),
    "vec_n":       (500_000,          100_000,         500),
    "u32_n":       (2_000_000,        400_000,         1000),
    "bytes_n":     (4_000_000,        800_000,         2000),
    "saxpy_n":     (200_000,          40_000,          300),
    "list_bytes":  (1 << 20,          64 << 10,        1 << 10),  # component list<u8> echo
}


@dataclass(frozen=True)
class Settings:
    """Sizes and repeat counts of one mode; ``Settings.of("quick")``."""

    mode: str
    sample_s: float
    rounds: int
    budget_s: float
    py_rounds: int
    host_n: int
    copy_bytes: int
    big_memory: int
    map_n: int
    gil_seconds: float
    gil_repeats: int
    fib_n: int
    mandel: Tuple[int, int, int]
    vec_n: int
    u32_n: int
    bytes_n: int
    saxpy_n: int
    list_bytes: int

    @classmethod
    def of(cls, mode: str) -> Settings:
        i = MODES.index(mode)
        return cls(mode, **{name: values[i] for name, values in _TABLE.items()})


def timer(stmt: str, **names: Any) -> timeit.Timer:
    """A Timer running ``stmt`` with ``names`` bound as fast locals."""
    setup = "; ".join("%s = _g_%s" % (k, k) for k in names) or "pass"
    return timeit.Timer(stmt, setup=setup, globals={"_g_" + k: v for k, v in names.items()})


def arguments(args: Sequence[Any], first: int = 0) -> Tuple[List[str], Dict[str, Any]]:
    """Source text for passing ``args`` in a timed statement: numbers as
    literals (as a caller would write them), anything else as a bound name."""
    texts: List[str] = []
    names: Dict[str, Any] = {}
    for i, a in enumerate(args, first):
        if type(a) in (int, float):
            texts.append(repr(a))
        else:
            names["a%d" % i] = a
            texts.append("a%d" % i)
    return texts, names


def call_timer(fn: Callable[..., Any], *args: Any) -> timeit.Timer:
    """A Timer for ``fn(*args)``."""
    texts, names = arguments(args)
    return timer("f(%s)" % ", ".join(texts), f=fn, **names)


_MAX_ROUNDS = 5000  # bounds measure() whatever the timers do


def _calibrate(t: timeit.Timer, sample_s: float) -> int:
    n = 1
    while True:
        dt = t.timeit(n)
        if dt >= sample_s or n >= 1 << 30:
            return n
        n = max(n * 2, int(n * sample_s / max(dt, 1e-9) * 1.2))


def measure(timers: Dict[Any, timeit.Timer], st: Settings,
            slow: Sequence[Any] = ()) -> Dict[Any, float]:
    """Best seconds per execution of each timer, timed round-robin.

    Samples are short (``st.sample_s``, a millisecond or less) and many: each
    timer runs at least ``st.rounds`` rounds and until its samples add up to
    ``st.budget_s``. On a loaded machine a sample of several milliseconds is
    nearly always cut by the scheduler; the best of many short ones is not,
    so the ratios between contestants stay put from run to run.
    Timers in ``slow`` (pure-Python kernels) run once per round and for
    ``st.py_rounds`` rounds only.
    """
    numbers = {k: 1 if k in slow else _calibrate(t, st.sample_s) for k, t in timers.items()}
    best = {k: float("inf") for k in timers}
    spent = {k: 0.0 for k in timers}
    gc_was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        r = 0
        while True:
            due = [k for k in timers if (r < st.py_rounds if k in slow else
                                         r < st.rounds or spent[k] < st.budget_s)]
            if not due or r >= _MAX_ROUNDS:
                break
            for k in due:
                dt = timers[k].timeit(numbers[k])
                spent[k] += dt
                best[k] = min(best[k], dt / numbers[k])
            r += 1
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
