"""Threads: store ownership, sharing engines and modules, releasing the GIL."""

import threading
import time

import pytest

from wasmbind import Config, Engine, Func, FuncType, Instance, Module, Store, StoreBusyError

from support import assert_clean, run_py

SPIN = """(module
  (import "env" "h" (func $h))
  (func (export "callh") call $h)
  (func (export "spin") (param i64) (result i64) (local $acc i64)
    (loop $l
      (local.set $acc (i64.add (local.get $acc) (i64.mul (local.get 0) (i64.const 3))))
      (local.set 0 (i64.sub (local.get 0) (i64.const 1)))
      (br_if $l (i64.ne (local.get 0) (i64.const 0))))
    local.get $acc)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
)"""


def _run_in_thread(fn):
    out = {}

    def body():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: B902 - reported to the test
            out["error"] = exc

    t = threading.Thread(target=body)
    t.start()
    return t, out


@pytest.mark.parametrize("release_gil", [False, True])
def test_second_thread_gets_store_busy(engine, release_gil):
    s = Store(engine, release_gil=release_gil)
    entered, leave = threading.Event(), threading.Event()

    def h():
        entered.set()
        assert leave.wait(10)

    inst = Instance(s, Module(engine, SPIN), [h])
    t, out = _run_in_thread(inst.exports.callh)
    try:
        assert entered.wait(10)
        # while thread 1 is inside a call, the store is refused to thread 2
        with pytest.raises(StoreBusyError):
            inst.exports.add(1, 2)
        with pytest.raises(StoreBusyError):
            inst.exports.spin(1)
        with pytest.raises(StoreBusyError):
            Func(s, FuncType([], []), lambda: None)
        with pytest.raises(StoreBusyError):
            s.close()
    finally:
        leave.set()
        t.join(10)
    assert not t.is_alive()
    assert out == {"value": None}
    # after the call the store belongs to whoever uses it next
    assert inst.exports.add(1, 2) == 3
    t2, out2 = _run_in_thread(lambda: inst.exports.add(2, 3))
    t2.join(10)
    assert out2 == {"value": 5}
    assert issubclass(StoreBusyError, RuntimeError)


def test_reentrant_calls_on_owner_thread_allowed(engine):
    s = Store(engine)
    holder = {}
    inst = Instance(s, Module(engine, SPIN), [lambda: holder.setdefault("r", inst.exports.add(4, 5))])
    inst.exports.callh()
    assert holder["r"] == 9


def test_busy_during_long_wasm_call_with_gil_release(engine):
    s = Store(engine, release_gil=True)
    inst = Instance(s, Module(engine, SPIN), [lambda: None])
    n = 300_000_000
    t, out = _run_in_thread(lambda: inst.exports.spin(n))
    try:
        deadline = time.monotonic() + 5
        saw_busy = False
        while t.is_alive() and time.monotonic() < deadline and not saw_busy:
            try:
                inst.exports.add(1, 1)
            except StoreBusyError:
                saw_busy = True
            time.sleep(0.001)
    finally:
        t.join(60)
    assert saw_busy or "value" in out
    expected = (3 * n * (n + 1) // 2) % 2**64  # i64 arithmetic wraps
    assert out["value"] == (expected - 2**64 if expected >= 2**63 else expected)


def test_shared_engine_and_module_one_store_per_thread():
    engine = Engine()
    module = Module(engine, SPIN)
    results, errors = [], []

    def worker(k):
        try:
            s = Store(engine)
            calls = []
            inst = Instance(s, module, [lambda: calls.append(k)])
            for i in range(2000):
                assert inst.exports.add(i, k) == i + k
            inst.exports.callh()
            results.append((k, inst.exports.spin(1000), calls))
            s.close()
        except BaseException as exc:  # noqa: B902
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(r[0] for r in results) == list(range(8))
    assert all(r[1] == 3 * 1000 * 1001 // 2 and r[2] == [r[0]] for r in results)


def test_module_compiled_in_threads():
    engine = Engine()
    modules, errors = [], []

    def worker(k):
        try:
            modules.append(Module(engine, '(module (func (export "k") (result i32) i32.const %d))' % k))
        except BaseException as exc:  # noqa: B902
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    s = Store(engine)
    assert sorted(Instance(s, m).exports.k() for m in modules) == list(range(6))


COUNTER = """(module
  (memory (export "memory") 1)
  (func (export "count")
    (loop $l
      (i64.store (i32.const 8) (i64.add (i64.load (i32.const 8)) (i64.const 1)))
      (br_if $l (i32.eqz (i32.load (i32.const 0))))))
)"""


def _progress_with_gil_free_and_held(release_gil):
    """How far Wasm counts in another thread during 0.2 s with the GIL free
    (this thread sleeps) and during 0.2 s with this thread holding the GIL."""
    import ctypes
    s = Store(Engine(Config.sandbox()), release_gil=release_gil)
    s.set_timeout(20)  # never hang the suite
    inst = Instance(s, Module(s.engine, COUNTER))
    base = inst.exports.memory.data_ptr
    flag = ctypes.c_int32.from_address(base)
    counter = ctypes.c_int64.from_address(base + 8)
    t, out = _run_in_thread(inst.exports.count)
    try:
        deadline = time.monotonic() + 10
        while counter.value == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert counter.value > 0
        time.sleep(0.05)  # past the call's first epoch ticks
        before = counter.value
        time.sleep(0.2)  # the GIL is free
        free = counter.value - before
        before = counter.value
        ctypes.PyDLL(None).usleep(200_000)  # PyDLL: the GIL stays held for 0.2 s
        held = counter.value - before
    finally:
        flag.value = 1
        t.join(30)
    assert out == {"value": None}
    return free, held


@pytest.mark.parametrize("release_gil", [True, False])
def test_long_calls_run_on_while_another_thread_holds_the_gil(release_gil):
    # release_gil=True calls never hold the GIL; a default call lets go of it at
    # its first epoch tick, so both keep running while another thread holds the
    # GIL. (A call that kept the GIL, or took it at every tick, would stop there
    # and count ~2% of its free-running progress.)
    free, held = _progress_with_gil_free_and_held(release_gil)
    assert free > 0
    assert held > free / 4, (
        "Wasm (release_gil=%s) counted %d steps while another thread held the GIL, "
        "%d while the GIL was free" % (release_gil, held, free))


def test_two_release_gil_threads_both_progress(sandbox_engine):
    module = Module(sandbox_engine, COUNTER)
    insts = [Instance(Store(sandbox_engine, release_gil=True), module) for _ in range(2)]
    import ctypes
    for inst in insts:
        inst.store.set_timeout(20)
    ptrs = [inst.exports.memory.data_ptr for inst in insts]
    runs = [_run_in_thread(inst.exports.count) for inst in insts]
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(ctypes.c_int64.from_address(p + 8).value > 1000
                                                      for p in ptrs):
            time.sleep(0.005)
        assert all(ctypes.c_int64.from_address(p + 8).value > 1000 for p in ptrs)
        # both calls are inside Wasm at the same time, and the GIL is free
        assert all(t.is_alive() for t, _ in runs)
    finally:
        for p in ptrs:
            ctypes.c_int32.from_address(p).value = 1
        for t, _ in runs:
            t.join(30)
    assert [out for _, out in runs] == [{"value": None}] * 2


def test_gil_handed_off_during_long_call(sandbox_engine):
    # release_gil=False: on a sandbox engine the epoch ticker lets other Python threads run
    s = Store(sandbox_engine)
    inst = Instance(s, Module(sandbox_engine, SPIN), [lambda: None])
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        time.sleep(0.01)
        before = len(ticks)
        inst.exports.spin(200_000_000)
        during = len(ticks) - before
    finally:
        stop.set()
        t.join(5)
    assert during >= 5


# ---- the store's state, not only its calls, belongs to the calling thread ----

_WRITER = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "env" "h" (func $h))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\\n")
  (func (export "run")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    call $h
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"""


@pytest.mark.parametrize("release_gil", [False, True])
def test_store_state_refused_to_another_thread_during_a_call(release_gil):
    import wasmbind
    from wasmbind import Config, Linker, WasiConfig

    engine = Engine(Config(consume_fuel=True))
    s = Store(engine, release_gil=release_gil)
    s.set_fuel(10**9)
    s.set_wasi(WasiConfig(capture_stdout=True, capture_stderr=True))
    entered, leave = threading.Event(), threading.Event()
    callers = []

    def h(caller):
        callers.append(caller)
        entered.set()
        assert leave.wait(10)

    linker = Linker(engine)
    linker.define_wasi()
    linker.define_func("env", "h", FuncType([], []), h, access_caller=True)
    inst = linker.instantiate(s, Module(engine, _WRITER))
    mem = inst.exports.memory
    t, out = _run_in_thread(inst.exports.run)
    refused = []
    try:
        assert entered.wait(10)
        actions = {
            "wasi_stdout": lambda: s.wasi_stdout, "wasi_stderr": lambda: s.wasi_stderr,
            "wasi_output_truncated": lambda: s.wasi_output_truncated,
            "fuel": lambda: s.fuel, "set_fuel": lambda: s.set_fuel(5), "timeout": lambda: s.timeout,
            "set_timeout": lambda: s.set_timeout(5), "deadline": lambda: s.deadline(5).__enter__(),
            "limits": lambda: s.limits, "set_limits": lambda: s.set_limits(memory_size=1 << 20),
            "set_wasi": lambda: s.set_wasi(WasiConfig()), "gc": s.gc, "close": s.close,
            "enter": s.__enter__, "release_gil": lambda: s.release_gil,
            "set_release_gil": lambda: setattr(s, "release_gil", not release_gil),
            "caller": lambda: callers[0]["memory"], "memory": lambda: mem.size,
            "linker.get": lambda: linker.get(s, "env", "h"), "linker.instantiate":
            lambda: linker.instantiate(s, Module(engine, "(module)")),
        }
        for name, action in actions.items():
            try:
                action()
            except StoreBusyError:
                refused.append(name)
        # reprs never raise
        assert "busy" in repr(mem) and isinstance(repr(s), str)
    finally:
        leave.set()
        t.join(10)
    assert out == {"value": None}
    assert refused == list(actions)
    # nothing was changed by the refused calls
    assert s.wasi_stdout == b"hello\nhello\n" and s.limits is None and s.timeout is None
    assert s.release_gil is True and not s.closed  # a store given WASI calls without the GIL
    assert isinstance(wasmbind.StoreBusyError(), RuntimeError)


def _python_progress_ratio(long_op):
    """How fast a Python thread counts while this thread runs ``long_op()``,
    as a fraction of how fast it counts while this thread sleeps (measured
    here too). A long operation that keeps the GIL gives about 0."""
    count = [0]
    stop = threading.Event()

    def counter():
        while not stop.is_set():
            count[0] += 1

    def rate(fn):
        t = threading.Thread(target=counter)
        count[0] = 0
        stop.clear()
        t.start()
        time.sleep(0.02)  # the thread is counting
        before, start = count[0], time.perf_counter()
        fn()
        done, elapsed = count[0] - before, time.perf_counter() - start
        stop.set()
        t.join(10)
        return done / elapsed

    free = rate(lambda: time.sleep(0.3))
    return rate(long_op) / free


NESTED = """(module
  (import "env" "host" (func $host))
  (func $work (param $n i64)
    (loop $l
      (local.set $n (i64.sub (local.get $n) (i64.const 1)))
      (br_if $l (i64.ne (local.get $n) (i64.const 0)))))
  (func (export "outer") (param i64)
    (call $work (i64.const 1000000))   ;; long enough for the first epoch ticks
    (call $host))
  (func (export "inner") (param i64) (call $work (local.get 0)))
)"""


def _loop_count_for(inner, seconds):
    """Loop iterations of ``inner`` that take about ``seconds`` here."""
    n = 1_000_000
    while True:
        start = time.perf_counter()
        inner(n)
        if time.perf_counter() - start > 0.05:
            return int(n * seconds / (time.perf_counter() - start))
        n *= 4


@pytest.mark.parametrize("outer_runs_long", [True, False])
def test_nested_call_lets_go_of_the_gil(sandbox_engine, outer_runs_long):
    engine = sandbox_engine
    # Wasm -> host -> Wasm: the inner call runs long. Whether or not the outer
    # call had already let go of the GIL (and the host function taken it
    # back), the inner one lets go of it at its own ticks.
    s = Store(engine)
    s.set_timeout(30)  # never hang the suite
    holder = {}
    inst = Instance(s, Module(engine, NESTED), [lambda: holder["inner"](holder["n"])])
    holder["inner"] = inst.exports.inner
    holder["n"] = _loop_count_for(inst.exports.inner, 0.4)
    if outer_runs_long:
        long_op = lambda: inst.exports.outer(0)  # noqa: E731
    else:
        # a short Wasm call into the host first: the outer call never ticks
        short = Instance(s, Module(engine, NESTED), [lambda: None])
        long_op = lambda: (short.exports.outer(0), holder["inner"](holder["n"]))  # noqa: E731
    ratio = _python_progress_ratio(long_op)
    assert ratio > 0.2, "another thread ran at %.0f%% of its speed" % (100 * ratio)
    # the GIL is back where it belongs: Python works in this thread after it
    assert inst.exports.outer(0) is None and threading.current_thread().is_alive()


def test_nested_call_host_function_deep_in_release_chain(sandbox_engine):
    engine = sandbox_engine
    # outer (lets go at a tick) -> host -> inner (lets go again) -> host -> Python:
    # every host function runs with the GIL, every Wasm stretch without it
    s = Store(engine)
    s.set_timeout(30)
    seen = []
    inner_mod = """(module
      (import "env" "leaf" (func $leaf (result i32)))
      (func (export "mid") (result i32) (local $n i64)
        (local.set $n (i64.const 3000000))
        (loop $l
          (local.set $n (i64.sub (local.get $n) (i64.const 1)))
          (br_if $l (i64.ne (local.get $n) (i64.const 0))))
        (call $leaf)))"""

    def leaf():
        import sys
        seen.append(sys._getframe() is not None)
        return 41

    mid = Instance(s, Module(engine, inner_mod), [leaf]).exports.mid
    outer = Instance(s, Module(engine, NESTED), [lambda: seen.append(mid())])
    for _ in range(3):
        outer.exports.outer(0)
    assert seen == [True, 41] * 3


def test_compile_and_wat2wasm_let_go_of_the_gil():
    # large inputs compile (and translate from WAT) without the GIL; one
    # compile thread, so the counting thread has a core of its own
    from wasmbind import Config, wat2wasm
    engine = Engine(Config(parallel_compilation=False))
    body = "".join("(local.set 0 (i64.add (local.get 0) (i64.const %d)))" % i for i in range(5))
    funcs = "".join('(func (export "f%d") (param i64) (result i64) %s local.get 0)' % (i, body)
                    for i in range(600))
    wasm = wat2wasm("(module %s)" % funcs)
    ratio = _python_progress_ratio(lambda: Module(engine, wasm))
    assert ratio > 0.2, "compile: another thread ran at %.0f%% of its speed" % (100 * ratio)
    big_text = "(module %s)" % "".join("(func (export \"g%d\") (result i32) i32.const %d)" % (i, i)
                                       for i in range(100_000))
    ratio = _python_progress_ratio(lambda: wat2wasm(big_text))
    assert ratio > 0.2, "wat2wasm: another thread ran at %.0f%% of its speed" % (100 * ratio)


SMALL_STACK = r'''
import threading
import numpy
import wasmbind
from wasmbind import Config, Engine, Instance, Linker, Module, Store, Trap, TrapCode, WasmError

REC = """(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (func $r (export "r") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add call $r)
  (func (export "id") (param i32) (result i32) local.get 0)
  (func (export "via_host") (param i32) (result i32) local.get 0 call $h))"""
START = '(module (func $s (drop (i32.const 1))) (start $s))'

def outcome(fn):
    try:
        fn()
        return "ran"
    except Trap as exc:
        return exc.code.name
    except WasmError as exc:
        assert "not enough native stack" in str(exc) and "max_wasm_stack" in str(exc), exc
        return "refused"

def on_thread(stack_kib, fn):
    threading.stack_size(stack_kib * 1024)
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join(60)
    threading.stack_size(0)
    return out[0]

def entry_points(engine):
    # each way into Wasm on an engine, to try on another thread
    other = Engine(Config(max_wasm_stack=64 * 1024))
    small = Instance(Store(other), Module(other, REC), [lambda x: x])
    def reenter(x):  # host -> Wasm in another store (a fresh stack limit)
        return inst.exports.id(x)
    s = Store(engine)
    inst = Instance(s, Module(engine, REC), [lambda x: x])
    linker = Linker(engine)
    return {
        "call": lambda: inst.exports.r(0),
        "map": lambda: inst.exports.id.map(numpy.arange(3, dtype="int32")),
        "start": lambda: Instance(Store(engine), Module(engine, START)),
        "linker": lambda: linker.instantiate(Store(engine), Module(engine, START)),
        "reentry": lambda: Instance(Store(other), Module(other, REC), [reenter]).exports.via_host(1),
        "run_wasi": lambda: wasmbind.run_wasi(START, invoke="x", engine=engine),
    }
'''


def test_small_thread_stack_refused_at_every_entry_point():
    # a thread with a 256 KiB stack cannot hold the engine's default 512 KiB
    # Wasm stack: deep recursion used to segfault; now no entry into Wasm
    # runs there, and each raises a clear WasmError
    code = SMALL_STACK + r'''
eps = entry_points(Engine(Config.sandbox()))  # instances made here, used on the small thread
print(sorted(on_thread(256, lambda: {n: outcome(f) for n, f in eps.items()}).items()))
'''
    proc = run_py(code)
    assert_clean(proc)
    got = dict(eval(proc.stdout))
    assert got == {"call": "refused", "map": "refused", "start": "refused", "linker": "refused",
                   "reentry": "refused", "run_wasi": "refused"}, got


def test_small_thread_stack_with_small_wasm_stack_traps_cleanly():
    code = SMALL_STACK + r'''
small = Engine(Config(max_wasm_stack=64 * 1024))
def deep():
    s = Store(small)
    inner = {}
    inst = Instance(s, Module(small, REC), [lambda x: inner["r"](x)])
    inner["r"] = inst.exports.r
    return [outcome(lambda: inst.exports.r(0)),          # plain recursion
            outcome(lambda: inst.exports.via_host(0)),   # Wasm -> host -> Wasm, same store
            inst.exports.id(5) == 5]
print(on_thread(256, deep))
# the default engine on a thread with room for it: a trap, as on the main thread
print(on_thread(2048, lambda: outcome(lambda: wasmbind.instantiate(REC, {"env": {"h": abs}}).exports.r(0))))
print(outcome(lambda: wasmbind.instantiate(REC, {"env": {"h": abs}}).exports.r(0)))
'''
    proc = run_py(code)
    assert_clean(proc, "['STACK_OVERFLOW', 'STACK_OVERFLOW', True]\nSTACK_OVERFLOW\nSTACK_OVERFLOW")


def test_store_stack_bound_never_carries_over_to_another_thread():
    # A store remembers the stack bound of the last thread that called it. One
    # store is called from threads of sizes on both sides of what the engine
    # needs (640 KiB), each ended before the next starts, so that a new thread
    # can reuse an old one's identity and stack: every outcome must be what a
    # fresh store (nothing remembered) gives on that thread, never a run on a
    # stack too small for it (that would be a crash).
    code = SMALL_STACK + r'''
eng = Engine()
rec = Module(eng, REC)
shared = Instance(Store(eng), rec, [lambda x: x])
def both():
    fresh = outcome(lambda: Instance(Store(eng), rec, [lambda x: x]).exports.r(0))
    return fresh, outcome(lambda: shared.exports.r(0))
res = [("main",) + both()]
for kib in [300, 1024, 300, 2048, 300, 1024, 1024, 300, 300, 700, 512] * 3:
    res.append((kib,) + on_thread(kib, both))
res.append(("main",) + both())
print([r for r in res if r[1] != r[2]], sorted({r[2] for r in res}))
'''
    proc = run_py(code)
    assert_clean(proc, "[] ['STACK_OVERFLOW', 'refused']")


SLEEP = """(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    ;; one subscription: a relative clock (monotonic) of 0.5 s
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 500000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"""


def test_wasi_sleep_lets_go_of_the_gil():
    # a WASI call that waits (here poll_oneoff sleeping, as for stdin) ran in
    # the engine with the GIL held: every thread stopped. WASI stores always
    # call without the GIL.
    from wasmbind import Linker, WasiConfig, run_wasi
    ratio = _python_progress_ratio(lambda: run_wasi(SLEEP).check_returncode())
    assert ratio > 0.5, "run_wasi: another thread ran at %.0f%% of its speed" % (100 * ratio)
    engine = Engine()
    linker = Linker(engine)
    linker.define_wasi()
    module = Module(engine, SLEEP)
    s = Store(engine)
    assert not s.release_gil
    s.set_wasi(WasiConfig())
    assert s.release_gil
    s.release_gil = False  # asking cannot make WASI calls hold the GIL
    assert s.release_gil
    start = linker.instantiate(s, module).exports["_start"]
    ratio = _python_progress_ratio(start)
    assert ratio > 0.5, "Store with WASI: another thread ran at %.0f%% of its speed" % (100 * ratio)


def test_blocking_wait_on_shared_memory_does_not_freeze_other_threads():
    # Config(wasm_threads=True): a guest can wait forever in
    # memory.atomic.wait (nothing can end it), but never with the GIL, in a
    # call or in a start function; the child exits with the waits still blocked
    code = r'''
import os, threading, time
import wasmbind
from wasmbind import Config, Engine, Instance, Module, Store
WAIT = """(module (memory 1 1 shared)
  (func $w (export "w") (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  %s)"""
e = Engine(Config(wasm_threads=True))
assert Store(e).release_gil and Store(e, release_gil=False).release_gil

def python_rate():
    n, end = 0, time.perf_counter() + 0.3
    while time.perf_counter() < end:
        n += 1
    return n

free = python_rate()
module = Module(e, WAIT % "")
calls = [lambda: Instance(Store(e), module).exports.w(),
         lambda: Instance(Store(e), Module(e, WAIT % "(start $w)")),
         lambda: wasmbind.Linker(e).instantiate(Store(e), Module(e, WAIT % "(start $w)"))]
for call in calls:
    threading.Thread(target=call, daemon=True).start()
time.sleep(0.2)
print(python_rate() / free > 0.3, flush=True)
os._exit(0)
'''
    proc = run_py(code, timeout=60)
    assert_clean(proc, "True")
