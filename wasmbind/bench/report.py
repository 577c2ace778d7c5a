"""What a run produces: rows of times per contestant, targets, result checks."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from wasmbind.bench.timing import Settings, fmt_time


class Column(str, Enum):
    """A contestant's column in the tables (the value is its heading)."""

    PY = "Python"
    WB = "wasmbind"
    WB_SANDBOX = "wasmbind, Config.sandbox()"
    WB_MAP = "wasmbind Func.map"
    WB_MAP_C = "wasmbind Func.map, C loop"
    WB_LOOP = "wasmbind loop"
    WT = "wasmtime-py"
    WT_EPOCH = "wasmtime-py, epochs on"
    WT_LOOP = "wasmtime-py loop"
    W3 = "pywasm3"
    CT = "C via ctypes"
    NP = "NumPy"
    ARTIFACT = "artifact"
    RECOMPILE = "recompile"
    ONE_WORKER = "1 worker"
    TWO_WORKERS = "2 workers"

    def __str__(self) -> str:
        return self.value

    @property
    def check_name(self) -> str:
        """How the result checks name this contestant."""
        return {Column.CT: "ctypes", Column.NP: "numpy"}.get(self, self.value)


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Row:
    """One benchmark: a time (seconds per operation) per contestant."""

    group: str
    name: str
    base_label: str                 # what the ratios refer to
    base: Optional[float] = None    # its time
    speedup: bool = False           # show base/t ("x faster") instead of t/base
    times: Dict[Column, float] = field(default_factory=dict)
    notes: Dict[Column, str] = field(default_factory=dict)
    extra: Dict[str, str] = field(default_factory=dict)  # extra columns, already formatted

    def ratio(self, col: Column = Column.WB) -> float:
        """``col``'s time over the base time."""
        assert self.base is not None
        return self.times[col] / self.base

    def to_json(self) -> Dict[str, Any]:
        return {"group": self.group, "name": self.name, "base_seconds": self.base,
                "base": self.base_label, "seconds": {str(k): v for k, v in self.times.items()},
                "notes": {str(k): v for k, v in self.notes.items()}, "extra": dict(self.extra)}


@dataclass
class Target:
    """A speed wasmbind aims for: ``value`` (a ratio, or ns) at most ``limit``."""

    what: str
    value: Optional[float]
    limit: float
    unit: str = "x"
    note: str = ""

    @property
    def met(self) -> Optional[bool]:
        return None if self.value is None else self.value <= self.limit

    def to_json(self) -> Dict[str, Any]:
        return {"what": self.what, "value": self.value, "limit": self.limit,
                "unit": self.unit, "met": self.met, "note": self.note}


class Check(NamedTuple):
    what: str
    ok: bool
    detail: str


@dataclass
class Report:
    settings: Settings
    rows: List[Row] = field(default_factory=list)
    columns: Dict[str, List[Column]] = field(default_factory=dict)
    captions: Dict[str, str] = field(default_factory=dict)
    extra_columns: Dict[str, List[str]] = field(default_factory=dict)
    targets: List[Target] = field(default_factory=list)
    checks: List[Check] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    gil: Dict[str, Any] = field(default_factory=dict)
    skipped: Dict[str, str] = field(default_factory=dict)

    def section(self, group: str, columns: Sequence[Column], caption: str,
                extra: Sequence[str] = ()) -> None:
        """Declares a group's table: its contestant columns, caption and extra columns."""
        self.columns[group] = list(columns)
        self.captions[group] = caption
        if extra:
            self.extra_columns[group] = list(extra)

    def add(self, row: Row) -> None:
        """Adds a finished row and prints its times."""
        self.rows.append(row)
        parts = ["%s %s" % (col, fmt_time(row.times[col]))
                 for col in self.columns[row.group] if col in row.times]
        progress("[%s] %s: %s" % (row.group, row.name, ", ".join(parts)))

    def check(self, what: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(what, bool(ok), detail))
        if not ok:
            progress("  CHECK FAILED: %s %s" % (what, detail))
        return bool(ok)

    def check_equal(self, what: str, got: Any, want: Any) -> bool:
        return self.check(what, got == want, "" if got == want else "got %r, want %r" % (got, want))

    def attempt(self, row: Row, col: Column, fn: Callable[[], Any],
                required: bool = False) -> Tuple[bool, Any]:
        """Runs a contestant's setup: (True, its result), or (False, None) with the
        error noted in the row. A ``required`` contestant's error propagates."""
        try:
            return True, fn()
        except Exception as exc:
            if required:
                raise
            row.notes[col] = "error: %s" % (str(exc).splitlines() or [type(exc).__name__])[0][:80]
            progress("  %s: %s failed: %r" % (row.name, col, exc))
            return False, None

    @property
    def failed_checks(self) -> List[Check]:
        return [c for c in self.checks if not c.ok]
