"""Group ``memory``: zero-copy views of linear memory and bulk copies."""

from __future__ import annotations

import random
from typing import Any, Callable, Dict, List, Tuple, cast

from wasmbind.bench.contestants import Contestant, Instance, Peers, WasmbindInstance
from wasmbind.bench.report import Column, Report, Row, Target
from wasmbind.bench.timing import measure, timer

GROUP = "memory"
SMALL = "64 KiB"  # calls.wasm's one page


def run(report: Report, peers: Peers) -> None:
    st = report.settings
    np = peers.np
    nbytes = st.copy_bytes
    report.section(GROUP, [Column.PY, Column.WB, Column.WT, Column.W3], (
        "Linear memory access. *Python* is the same operation on a `bytearray` (the "
        "reference of the ratios). Views must take constant time whatever the memory size; "
        "wasmtime-py has no buffer protocol, its column uses `mem.get_buffer_ptr(store)` "
        "(a ctypes array) instead."))
    small = bytearray(65536)
    big_ba = bytearray(nbytes)
    src = bytes(random.Random(7).getrandbits(8) for _ in range(4096)) * (nbytes // 4096)

    # size -> column -> an instance whose memory has that size: calls.wasm's,
    # and kernels.wasm's grown to st.big_memory
    big = "%d MiB" % (st.big_memory >> 20)
    sized: Dict[str, Dict[Column, Instance]] = {SMALL: {}, big: {}}
    contestants: List[Contestant] = [peers.wasmbind()]
    wt = peers.wasmtime()
    if wt is not None:
        contestants.append(wt)
    for c in contestants:
        sized[SMALL][c.column] = c.instance("calls")
        sized[big][c.column] = grown = c.instance("kernels")
        grown.grow_to(st.big_memory)
    # pywasm3 has no call to grow a memory: its kernels.wasm memory (2 MiB) is
    # measured in the small numpy.frombuffer row (with a note) and in the copies
    w3 = peers.wasm3()
    fixed = w3.instance("kernels") if w3 is not None else None

    for size, insts in sized.items():
        mem = cast(WasmbindInstance, insts[Column.WB]).memory
        report.check("memory view %s wasmbind" % size, memoryview(mem).nbytes == len(mem))
        row = Row(GROUP, "memoryview(mem), %s" % size, "memoryview(bytearray)")
        _view_row(report, row, insts, small, "mv(%s)", mv=memoryview)
        report.targets.append(Target("memoryview(mem) %s (wasmbind / memoryview(bytearray))"
                                     % size, row.ratio(), 1.5))
        if np is None:
            continue
        report.check("numpy.frombuffer %s wasmbind" % size,
                     np.frombuffer(mem, np.uint8).size == len(mem))
        row = Row(GROUP, "numpy.frombuffer(mem, uint8), %s" % size,
                  "numpy.frombuffer(bytearray)")
        views = dict(insts)
        if fixed is not None and size == SMALL:
            views[Column.W3] = fixed
            row.notes[Column.W3] = "2 MiB memory"
        _view_row(report, row, views, small, "fb(%s, u8)", fb=np.frombuffer, u8=np.uint8)
        report.targets.append(Target(
            "numpy.frombuffer(mem) %s (wasmbind / numpy.frombuffer(bytearray))" % size,
            row.ratio(), 1.5))

    # bulk copies, 1 MiB, on the large memories
    copiers = dict(sized[big])
    for col, inst in copiers.items():
        inst.write(0, src)
        report.check("memory write/read 1 MiB %s" % col.check_name, inst.read(0, nbytes) == src)
    if fixed is not None:
        copiers[Column.W3] = fixed
    copies: List[Tuple[str, str, str, Any, Callable[[Instance], Any]]] = [
        # what, label, base label, Python's timer, each instance's timer
        ("mem.read", "mem.read(0, 1 MiB) -> bytes", "bytearray slice copy",
         timer("b[0:%d]" % nbytes, b=big_ba), lambda inst: inst.read_timer(nbytes)),
        ("mem.write", "mem.write(0, 1 MiB of bytes)", "bytearray slice assignment",
         timer("b[0:%d] = src" % nbytes, b=big_ba, src=src), lambda inst: inst.write_timer(src)),
    ]
    for what, label, base_label, py, make in copies:
        row = Row(GROUP, label, base_label)
        timers: Dict[Any, Any] = {Column.PY: py}
        timers.update((col, make(inst)) for col, inst in copiers.items())
        _finish(report, row, timers)
        report.targets.append(Target("%s 1 MiB (wasmbind / bytearray copy)" % what,
                                     row.ratio(), 1.2))


def _view_row(report: Report, row: Row, insts: Dict[Column, Instance], ref: bytearray,
              wrap: str, **names: Any) -> None:
    """Times ``wrap % buffer`` over ``ref`` (Python) and over each instance's memory."""
    timers: Dict[Any, Any] = {Column.PY: timer(wrap % "b", b=ref, **names)}
    for col, inst in insts.items():
        expr, own = inst.buffer_expr()
        timers[col] = timer(wrap % expr, **names, **own)
    _finish(report, row, timers)


def _finish(report: Report, row: Row, timers: Dict[Any, Any]) -> None:
    row.times.update(measure(timers, report.settings))
    row.base = row.times[Column.PY]
    report.add(row)
