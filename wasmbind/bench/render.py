"""The report's outputs: markdown, JSON and a chart, with the machine they ran on."""

from __future__ import annotations

import os
import pathlib
import platform
import sys
from typing import Any, Dict, List, Optional, Sequence

import wasmbind
from wasmbind.bench.report import Column, Report, Row
from wasmbind.bench.timing import fmt_ratio, fmt_time


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


def _cell(row: Row, col: Column) -> str:
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


def markdown(report: Report, info: Dict[str, str], elapsed: float,
             groups: Sequence[str]) -> str:
    """The report as markdown, one section per group in the order of ``groups``."""
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
    for group in groups:
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
            v = "-" if t.value is None else ("%.2fx" % t.value if t.unit == "x"
                                             else "%.1f %s" % (t.value, t.unit))
            lim = "%.2fx" % t.limit if t.unit == "x" else "%.0f %s" % (t.limit, t.unit)
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
    st = report.settings
    out.append("- Times: the best of interleaved short samples (%g ms each, at least %d rounds and "
               "%g s per contestant); ratios are to the reference named in each section, "
               "measured in the same run. Total run time %.0f s." % (
                   st.sample_s * 1e3, st.rounds, st.budget_s, elapsed))
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


def chart(report: Report, path: pathlib.Path) -> Optional[str]:
    """Writes the PNG; returns None or the reason it was skipped."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return ("matplotlib is not installed: chart skipped "
                "(`pip install wasmbind[bench]` or `pip install matplotlib`)")
    C = Column
    panels = []
    krows = [r for r in report.rows if r.group == "kernels"]
    if krows:
        panels.append(("Kernels: speed-up over pure Python (higher is better)", krows,
                       [C.WB, C.WT, C.WB_SANDBOX, C.WT_EPOCH, C.W3, C.CT, C.NP], lambda r, t: r.base / t))
    crows = [r for r in report.rows if r.group in ("calls", "host") and C.PY in r.times]
    if crows:
        panels.append(("Call overhead: ns per call (lower is better)", crows,
                       [C.PY, C.WB, C.WT, C.W3, C.CT], lambda r, t: t * 1e9))
    srows = [r for r in report.rows if r.group == "startup"]
    if srows:
        panels.append(("Start-up: µs (lower is better)", srows, [C.WB, C.WT, C.W3],
                       lambda r, t: t * 1e6))
    if not panels:
        return "no group with a chart was run"
    colors = {C.PY: "#999999", C.WB: "#1f77b4", C.WB_SANDBOX: "#6baed6", C.WT: "#ff7f0e",
              C.WT_EPOCH: "#fdae6b",
              C.W3: "#2ca02c", C.CT: "#9467bd", C.NP: "#8c564b"}
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
            ax.barh(ys, xs, height=height, label=str(c), color=colors.get(c))
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



def to_json(report: Report, info: Dict[str, str], elapsed: float,
            chart_path: Optional[pathlib.Path]) -> Dict[str, Any]:
    """The report as JSON-ready data (``wasmbind-bench.json``)."""
    return {
        "mode": report.settings.mode,
        "machine": info,
        "seconds": elapsed,
        "rows": [r.to_json() for r in report.rows],
        "targets": [t.to_json() for t in report.targets],
        "checks": [{"what": c.what, "ok": c.ok, "detail": c.detail} for c in report.checks],
        "gil": report.gil,
        "skipped": report.skipped,
        "notes": report.notes,
        "chart": None if chart_path is None else str(chart_path),
    }
