"""Limits on untrusted code: fuel, wall-clock deadlines, Ctrl-C, store limits
(memory, tables, instances, memory count), stack overflow and max_wasm_stack,
and that the store stays usable after each.

Every runaway loop here has fuel or a deadline; an autouse guard kills the
test process if a test hangs anyway, and the Ctrl-C tests run in a child
interpreter with a timeout.
"""

import os
import subprocess
import sys
import textwrap
import time

import pytest

from support import python_env
from wasmbind import (Config, Engine, Instance, Module, Store, Trap, TrapCode, WasmError,
                      run_wasi)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wasi_build import build_wasi, have_wasi_toolchain, wasi_toolchain_problem  # noqa: E402


WAT = """
(module
  (memory (export "mem") 1)
  (table (export "tab") 2 funcref)
  (func (export "loop") (loop (br 0)))
  (func (export "count") (param i32) (result i32)
    (local i32)
    (block (loop
      (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br 0)))
    (local.get 1))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func $rec (export "rec") (param i32) (result i32)
    (call $rec (i32.add (local.get 0) (i32.const 1))))
  (func $depth (export "depth") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $depth (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "tgrow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))
"""

PAGE = 65536


pytestmark = pytest.mark.hang_guard(60)


@pytest.fixture(scope="module")
def fuel_engine():
    return Engine(Config(consume_fuel=True))


@pytest.fixture(scope="module")
def plain_engine():
    return Engine()


def instance(engine, store=None):
    store = store or Store(engine)
    return store, Instance(store, Module(engine, WAT)).exports


def wasi_prog(name):
    if not have_wasi_toolchain():
        pytest.skip("no WASI toolchain: %s" % wasi_toolchain_problem())
    return build_wasi(name)


# ---------------------------------------------------------------- fuel

def test_out_of_fuel_traps_and_store_is_reusable(fuel_engine):
    store, ex = instance(fuel_engine)
    store.set_fuel(100_000)
    store.set_timeout(20)  # belt and braces: a fuel bug must not hang the suite
    with pytest.raises(Trap) as info:
        ex.loop()
    assert info.value.code == TrapCode.OUT_OF_FUEL
    assert store.get_fuel() == 0 and store.fuel == 0
    with pytest.raises(Trap):
        ex.add(1, 2)  # still empty
    store.fuel = 1000
    assert ex.add(2, 3) == 5
    assert 0 < store.fuel < 1000


def test_fuel_consumption_is_readable_and_deterministic(fuel_engine):
    used = []
    for _ in range(2):
        store, ex = instance(fuel_engine)
        store.set_fuel(10**9)
        assert ex.count(10_000) == 10_000
        used.append(10**9 - store.get_fuel())
    assert used[0] == used[1] and used[0] > 10_000
    store, ex = instance(fuel_engine)
    store.set_fuel(10**9)
    ex.count(20_000)
    assert 10**9 - store.get_fuel() > used[0]


def test_fuel_api_errors(plain_engine, fuel_engine):
    with pytest.raises(WasmError):
        Store(plain_engine).set_fuel(10)
    with pytest.raises(WasmError):
        Store(plain_engine).get_fuel()
    s = Store(fuel_engine)
    assert s.get_fuel() == 0
    with pytest.raises(TypeError):
        s.set_fuel(1.5)
    with pytest.raises(OverflowError):
        s.set_fuel(-1)
    s.set_fuel(2**64 - 1)
    assert s.fuel == 2**64 - 1


def test_run_wasi_fuel():
    path = wasi_prog("spin")
    r = run_wasi(path, ["spin"], fuel=5_000_000, timeout=20)
    assert r.out_of_fuel and r.trap.code == TrapCode.OUT_OF_FUEL and r.returncode is None
    assert r.fuel_consumed == 5_000_000
    assert r.stdout == b"spinning\n"
    r = run_wasi(path, ["spin", "1000"], fuel=10**9, timeout=20)
    assert r.returncode == 0 and r.stdout.startswith(b"spinning\ndone 1000 ")
    small = r.fuel_consumed
    r = run_wasi(path, ["spin", "100000"], fuel=10**9, timeout=20)
    assert r.returncode == 0 and r.fuel_consumed > small > 0


# ---------------------------------------------------------------- deadlines

@pytest.mark.parametrize("seconds", [0.05, 0.2])
def test_deadline_interrupts_within_tens_of_ms(plain_engine, seconds):
    store, ex = instance(plain_engine)
    store.set_timeout(seconds)
    t0 = time.perf_counter()
    with pytest.raises(Trap) as info:
        ex.loop()
    elapsed = time.perf_counter() - t0
    print("deadline %.3fs fired after %.1f ms" % (seconds, elapsed * 1000))
    assert info.value.code == TrapCode.INTERRUPT
    assert seconds - 0.005 <= elapsed < seconds + 0.08


def test_deadline_persists_until_cleared(plain_engine):
    store, ex = instance(plain_engine)
    store.set_timeout(0.05)
    assert 0 < store.timeout <= 0.05
    with pytest.raises(Trap):
        ex.loop()
    assert store.timeout == 0.0
    with pytest.raises(Trap) as info:  # the deadline has passed: every call stops
        ex.count(10**9)
    assert info.value.code == TrapCode.INTERRUPT
    store.set_timeout(None)
    assert store.timeout is None
    assert ex.add(1, 2) == 3
    assert ex.count(100_000) == 100_000
    store.set_timeout(30)
    assert ex.count(100_000) == 100_000  # a far deadline does not disturb


def test_deadline_context_manager(plain_engine):
    store, ex = instance(plain_engine)
    with store.deadline(0.05):
        with pytest.raises(Trap) as info:
            ex.loop()
    assert info.value.code == TrapCode.INTERRUPT
    assert store.timeout is None
    assert ex.add(4, 5) == 9
    store.set_timeout(30)
    with store.deadline(0.02):
        with pytest.raises(Trap):
            ex.loop()
    assert 29 < store.timeout <= 30  # the outer deadline comes back
    store.set_timeout(None)


def test_zero_timeout_and_bad_values(plain_engine):
    store, ex = instance(plain_engine)
    store.set_timeout(0)
    with pytest.raises(Trap) as info:
        ex.loop()
    assert info.value.code == TrapCode.INTERRUPT
    with pytest.raises(ValueError):
        store.set_timeout(-1)
    with pytest.raises(ValueError):
        store.set_timeout(float("nan"))
    no_epoch = Engine(Config(epoch_interruption=False))
    with pytest.raises(WasmError):
        Store(no_epoch).set_timeout(1)


def test_deadline_with_fuel_engine(fuel_engine):
    store, ex = instance(fuel_engine)
    store.set_fuel(2**63)
    store.set_timeout(0.05)
    with pytest.raises(Trap) as info:
        ex.loop()
    assert info.value.code == TrapCode.INTERRUPT
    store.set_timeout(None)
    assert ex.add(1, 1) == 2


def test_run_wasi_timeout():
    r = run_wasi(wasi_prog("spin"), ["spin"], timeout=0.2)
    print("run_wasi timeout 0.2 s: elapsed %.1f ms" % (r.elapsed * 1000))
    assert r.timed_out and r.trap.code == TrapCode.INTERRUPT and r.returncode is None
    assert r.stdout == b"spinning\n"
    assert 0.19 <= r.elapsed < 0.5


def test_deadline_interrupts_instantiation(plain_engine):
    wat = '(module (func $s (loop (br 0))) (start $s))'
    store = Store(plain_engine)
    store.set_timeout(0.05)
    with pytest.raises(Trap) as info:
        Instance(store, Module(plain_engine, wat))
    assert info.value.code == TrapCode.INTERRUPT
    store.set_timeout(None)
    _, ex = instance(plain_engine, store)
    assert ex.add(1, 2) == 3


# ---------------------------------------------------------------- Ctrl-C

CTRL_C = textwrap.dedent("""
    import os, signal, threading, time
    import wasmbind
    wat = '(module (func (export "loop") (loop (br 0))) (func (export "one") (result i32) i32.const 1))'
    store = wasmbind.Store()
    ex = wasmbind.Instance(store, wasmbind.Module(None, wat)).exports
    store.set_timeout(20)   # never hang, whatever happens
    sent = []
    def fire():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Timer(0.3, fire).start()
    try:
        ex.loop()
        print("RESULT no-interrupt")
    except KeyboardInterrupt:
        latency = time.perf_counter() - sent[0]
        print("RESULT KeyboardInterrupt %.6f" % latency)
    except BaseException as e:
        print("RESULT other", type(e).__name__, e)
    store.set_timeout(None)
    print("AFTER", ex.one())
""")


def _run_child(code, timeout=60):
    env = python_env()
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("release_gil", [False, True])
def test_ctrl_c_interrupts_wasm_quickly(release_gil):
    code = CTRL_C.replace("wasmbind.Store()", "wasmbind.Store(release_gil=%s)" % release_gil)
    p = _run_child(code)
    assert p.returncode == 0, p.stderr
    result = [line for line in p.stdout.splitlines() if line.startswith("RESULT")]
    assert result and result[0].startswith("RESULT KeyboardInterrupt"), p.stdout + p.stderr
    latency = float(result[0].split()[2])
    print("Ctrl-C latency (release_gil=%s): %.1f ms" % (release_gil, latency * 1000))
    assert latency < 0.1
    assert "AFTER 1" in p.stdout  # the store still works


SIGNAL_REENTRY = textwrap.dedent("""
    import os, signal, threading
    import wasmbind
    wat = '''(module (func (export "loop") (loop (br 0)))
      (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
      (func (export "spin") (param i64) (result i64) (local $acc i64)
        (loop $l
          (local.set $acc (i64.add (local.get $acc) (local.get 0)))
          (local.set 0 (i64.sub (local.get 0) (i64.const 1)))
          (br_if $l (i64.ne (local.get 0) (i64.const 0))))
        local.get $acc))'''
    store = wasmbind.Store(release_gil=RELEASE)
    ex = wasmbind.Instance(store, wasmbind.Module(None, wat)).exports
    store.set_timeout(20)   # never hang, whatever happens
    seen = []
    def handler(signum, frame):
        # calls back into the store its signal interrupted, for longer than an
        # epoch tick, then raises what the user wants the call to raise
        seen.append(ex.add(2, 3))
        seen.append(ex.spin(50_000_000))
        raise KeyboardInterrupt("from the handler")
    signal.signal(signal.SIGUSR1, handler)
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGUSR1)).start()
    try:
        ex.loop()
        print("RESULT no-interrupt")
    except KeyboardInterrupt as exc:
        print("RESULT KeyboardInterrupt", exc, seen)
    except BaseException as exc:
        print("RESULT other", type(exc).__name__, exc, seen)
    store.set_timeout(None)
    print("AFTER", ex.add(1, 1))
""")


@pytest.mark.parametrize("release_gil", [False, True])
def test_signal_handler_calling_back_into_the_interrupted_store(release_gil):
    # the engine takes the epoch callback out of the store while it runs: the
    # handler's calls met none and trapped with INTERRUPT
    p = _run_child(SIGNAL_REENTRY.replace("RELEASE", str(release_gil)))
    assert p.returncode == 0, p.stderr
    result = [line for line in p.stdout.splitlines() if line.startswith("RESULT")]
    expected = "RESULT KeyboardInterrupt from the handler [5, %d]" % (50_000_000 * 50_000_001 // 2)
    assert result == [expected], p.stdout + p.stderr
    assert "AFTER 2" in p.stdout


def test_ctrl_c_interrupts_run_wasi():
    path = wasi_prog("spin")
    code = textwrap.dedent("""
        import os, signal, threading, time
        import wasmbind
        sent = []
        def fire():
            sent.append(time.perf_counter())
            os.kill(os.getpid(), signal.SIGINT)
        threading.Timer(0.3, fire).start()
        try:
            wasmbind.run_wasi(%r, ["spin"], timeout=20)
            print("RESULT none")
        except KeyboardInterrupt:
            print("RESULT KeyboardInterrupt %%.6f" %% (time.perf_counter() - sent[0]))
        r = wasmbind.run_wasi(%r, ["spin", "10"], timeout=20)
        print("AFTER", r.returncode)
    """ % (str(path), str(path)))
    p = _run_child(code)
    assert p.returncode == 0, p.stderr
    assert "RESULT KeyboardInterrupt" in p.stdout, p.stdout + p.stderr
    latency = float(p.stdout.split("RESULT KeyboardInterrupt")[1].split()[0])
    print("Ctrl-C latency in run_wasi: %.1f ms" % (latency * 1000))
    assert latency < 0.1
    assert "AFTER 0" in p.stdout


# ---------------------------------------------------------------- memory and table limits

def test_memory_limit_guest_and_host_growth(plain_engine):
    store = Store(plain_engine)
    store.set_limits(memory_size=4 * PAGE)
    assert store.limits["memory_size"] == 4 * PAGE
    _, ex = instance(plain_engine, store)
    assert ex.grow(2) == 1            # 1 -> 3 pages
    assert ex.grow(2) == -1           # 5 pages > limit: the guest sees -1
    assert ex.mem.size == 3
    assert ex.grow(1) == 3            # exactly at the limit is fine
    assert ex.grow(1) == -1
    with pytest.raises(WasmError):    # the host sees an exception
        ex.mem.grow(1)
    assert ex.mem.size == 4 and len(ex.mem) == 4 * PAGE
    assert ex.mem.grow(0) == 4
    # and everything still works
    assert ex.add(2, 3) == 5
    ex.mem[4 * PAGE - 1] = 7
    assert ex.mem[4 * PAGE - 1] == 7


def test_memory_minimum_above_limit_fails_instantiation(plain_engine):
    store = Store(plain_engine)
    store.set_limits(memory_size=PAGE)
    with pytest.raises(WasmError):
        Instance(store, Module(plain_engine, "(module (memory 2))"))
    Instance(store, Module(plain_engine, "(module (memory 1))"))


def test_table_limit(plain_engine):
    store = Store(plain_engine)
    store.set_limits(table_elements=5)
    _, ex = instance(plain_engine, store)
    assert ex.tgrow(3) == 2
    assert ex.tgrow(1) == -1
    with pytest.raises(WasmError):
        ex.tab.grow(1)
    assert len(ex.tab) == 5
    assert ex.add(1, 1) == 2
    with pytest.raises(WasmError):
        Instance(store, Module(plain_engine, "(module (table 6 funcref))"))


@pytest.mark.parametrize("kind,limit,wat", [
    ("instances", 2, "(module)"),
    ("memories", 1, "(module (memory 1))"),
    ("tables", 1, "(module (table 1 funcref))"),
])
def test_count_limits(plain_engine, kind, limit, wat):
    store = Store(plain_engine)
    store.set_limits(**{kind: limit})
    module = Module(plain_engine, wat)
    for _ in range(limit):
        Instance(store, module)
    with pytest.raises(WasmError) as info:
        Instance(store, module)
    assert "limit" in str(info.value) or "exceed" in str(info.value)
    # the store is fine; lifting the limit lets it go on
    store.set_limits(**{kind: limit + 1})
    Instance(store, module)


def test_set_limits_validation(plain_engine):
    s = Store(plain_engine)
    assert s.limits is None
    with pytest.raises(TypeError):
        s.set_limits(memory_size="1M")
    with pytest.raises(ValueError):
        s.set_limits(memory_size=-1)


@pytest.mark.parametrize("mode,limit", [("malloc", 16 << 20), ("grow", 8 << 20)])
def test_memory_bomb_stopped_by_limit(mode, limit):
    path = wasi_prog("bomb")
    cap = limit
    r = run_wasi(path, ["bomb", mode], max_memory=limit, timeout=20, fuel=None)
    assert r.returncode == 0, r
    line = r.stdout.decode().splitlines()[-1]
    assert line.startswith("BOMB %s " % mode)
    pages = int(line.split("pages=")[1].split()[0])
    assert pages * PAGE <= cap
    assert pages * PAGE > cap - (2 << 20)  # it did get close: the limit stopped it
    if mode == "malloc":
        got = int(line.split("got=")[1].split()[0])
        assert 0 < got <= cap


def test_bomb_grow_once():
    path = wasi_prog("bomb")
    r = run_wasi(path, ["bomb", "grow-once", "100"], max_memory=1 << 20, timeout=20)
    assert r.returncode == 1 and b"GROW 100 failed" in r.stdout
    r = run_wasi(path, ["bomb", "grow-once", "10"], max_memory=1 << 20, timeout=20)
    assert r.returncode == 0 and b"GROW 10 ok" in r.stdout


# ---------------------------------------------------------------- stack

def test_stack_overflow_traps_and_store_is_reusable(plain_engine):
    store, ex = instance(plain_engine)
    store.set_timeout(20)
    with pytest.raises(Trap) as info:
        ex.rec(0)
    assert info.value.code == TrapCode.STACK_OVERFLOW
    assert ex.depth(1000) == 1000
    with pytest.raises(Trap) as info:
        ex.rec(0)
    assert info.value.code == TrapCode.STACK_OVERFLOW
    assert ex.add(1, 2) == 3


def test_max_wasm_stack_is_configurable():
    small = Engine(Config(max_wasm_stack=64 * 1024))
    big = Engine(Config(max_wasm_stack=4 * 1024 * 1024))
    _, ex_small = instance(small)
    _, ex_big = instance(big)
    n = 20_000
    with pytest.raises(Trap) as info:
        ex_small.depth(n)
    assert info.value.code == TrapCode.STACK_OVERFLOW
    assert ex_big.depth(n) == n
    assert ex_small.depth(100) == 100
    for bad in (1024, 64 * 1024 * 1024):
        with pytest.raises(ValueError):
            Config(max_wasm_stack=bad)


def test_run_wasi_recursion():
    path = wasi_prog("recurse")
    r = run_wasi(path, ["recurse", "native"], timeout=20)
    assert r.trap.code == TrapCode.STACK_OVERFLOW and r.stdout == b"recursing native\n"
    r = run_wasi(path, ["recurse", "shadow"], timeout=20)
    assert r.trap.code == TrapCode.MEMORY_OUT_OF_BOUNDS
    r = run_wasi(path, ["recurse", "depth", "2000"], timeout=20, max_wasm_stack=16 * 1024)
    assert r.trap is not None and r.trap.code == TrapCode.STACK_OVERFLOW
    r = run_wasi(path, ["recurse", "depth", "2000"], timeout=20, max_wasm_stack=1024 * 1024)
    assert r.returncode == 0 and r.stdout.startswith(b"DEPTH 2000 ok ")


# ---------------------------------------------------------------- all together

def test_one_store_survives_everything(fuel_engine):
    store, ex = instance(fuel_engine)
    store.set_limits(memory_size=2 * PAGE)
    store.set_fuel(50_000)
    with pytest.raises(Trap) as info:
        ex.loop()
    assert info.value.code == TrapCode.OUT_OF_FUEL
    store.set_fuel(2**62)
    store.set_timeout(0.03)
    with pytest.raises(Trap) as info:
        ex.loop()
    assert info.value.code == TrapCode.INTERRUPT
    store.set_timeout(20)
    with pytest.raises(Trap) as info:
        ex.rec(0)
    assert info.value.code == TrapCode.STACK_OVERFLOW
    assert ex.grow(5) == -1
    with pytest.raises(WasmError):
        ex.mem.grow(5)
    assert ex.grow(1) == 1
    assert ex.add(20, 22) == 42
    assert ex.count(1000) == 1000
    store.close()
