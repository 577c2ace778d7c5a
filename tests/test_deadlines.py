"""Wall-clock deadlines (set_timeout, the deadline() context manager, run_wasi's
timeout) and Ctrl-C, which interrupts Wasm through the same epoch mechanism.

Every runaway loop here has a deadline; a 60 s timeout (pytest-timeout) kills
the test process if a test hangs anyway, and the Ctrl-C tests run in a child
interpreter with a timeout.
"""

import textwrap
import time

import pytest

import wasmbind
from wasmbind import Config, Engine, Instance, Module, Store, Trap, TrapCode, WasmError, run_wasi

from support import limits_instance as instance
from support import run_py, wasi_prog

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("seconds", [0.05, 0.2])
def test_deadline_interrupts_within_tens_of_ms(sandbox_engine, seconds):
    store, ex = instance(sandbox_engine)
    store.set_timeout(seconds)
    t0 = time.perf_counter()
    with pytest.raises(Trap) as info:
        ex.loop()
    elapsed = time.perf_counter() - t0
    print("deadline %.3fs fired after %.1f ms" % (seconds, elapsed * 1000))
    assert info.value.code == TrapCode.INTERRUPT
    assert seconds - 0.005 <= elapsed < seconds + 0.08


def test_deadline_persists_until_cleared(sandbox_engine):
    store, ex = instance(sandbox_engine)
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


def test_deadline_context_manager(sandbox_engine):
    store, ex = instance(sandbox_engine)
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


def test_zero_timeout_and_bad_values(sandbox_engine):
    store, ex = instance(sandbox_engine)
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


def test_deadline_interrupts_instantiation(sandbox_engine):
    wat = '(module (func $s (loop (br 0))) (start $s))'
    store = Store(sandbox_engine)
    store.set_timeout(0.05)
    with pytest.raises(Trap) as info:
        Instance(store, Module(sandbox_engine, wat))
    assert info.value.code == TrapCode.INTERRUPT
    store.set_timeout(None)
    _, ex = instance(sandbox_engine, store)
    assert ex.add(1, 2) == 3


# ---------------------------------------------------------------- Ctrl-C

# A child that sends itself SIGINT 0.3 s from now; ``sent[0]`` is when.
SIGINT_SOON = """
import os, signal, threading, time
import wasmbind
sent = []
def fire():
    sent.append(time.perf_counter())
    os.kill(os.getpid(), signal.SIGINT)
threading.Timer(0.3, fire).start()
"""

CTRL_C = SIGINT_SOON + """
wat = '(module (func (export "loop") (loop (br 0))) (func (export "one") (result i32) i32.const 1))'
engine = wasmbind.Engine(wasmbind.Config.sandbox())
store = wasmbind.Store(engine)
ex = wasmbind.Instance(store, wasmbind.Module(engine, wat)).exports
store.set_timeout(20)   # never hang, whatever happens
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
"""


@pytest.mark.parametrize("release_gil", [False, True])
def test_ctrl_c_interrupts_wasm_quickly(release_gil):
    code = CTRL_C.replace("wasmbind.Store(engine)", "wasmbind.Store(engine, release_gil=%s)" % release_gil)
    p = run_py(code)
    assert p.returncode == 0, p.stderr
    result = [line for line in p.stdout.splitlines() if line.startswith("RESULT")]
    assert result and result[0].startswith("RESULT KeyboardInterrupt"), p.stdout + p.stderr
    latency = float(result[0].split()[2])
    print("Ctrl-C latency (release_gil=%s): %.1f ms" % (release_gil, latency * 1000))
    assert latency < 0.1
    assert "AFTER 1" in p.stdout  # the store still works


def test_ctrl_c_interrupts_run_wasi():
    path = wasi_prog("spin")
    code = SIGINT_SOON + textwrap.dedent("""
        try:
            wasmbind.run_wasi(%r, ["spin"], timeout=20)
            print("RESULT none")
        except KeyboardInterrupt:
            print("RESULT KeyboardInterrupt %%.6f" %% (time.perf_counter() - sent[0]))
        r = wasmbind.run_wasi(%r, ["spin", "10"], timeout=20)
        print("AFTER", r.returncode)
    """ % (str(path), str(path)))
    p = run_py(code)
    assert p.returncode == 0, p.stderr
    assert "RESULT KeyboardInterrupt" in p.stdout, p.stdout + p.stderr
    latency = float(p.stdout.split("RESULT KeyboardInterrupt")[1].split()[0])
    print("Ctrl-C latency in run_wasi: %.1f ms" % (latency * 1000))
    assert latency < 0.1
    assert "AFTER 0" in p.stdout


# ---------------------------------------------------------------- the default is fast

def test_default_engine_is_fast_and_refuses_deadlines_clearly():
    """The out-of-the-box engine compiles no epoch checks; asking it for a
    deadline says which Config can give one, never a silent no-op."""
    for engine in (wasmbind.default_engine(), Engine(), Engine(Config.fast()),
                   wasmbind.instantiate(SPIN_WAT).store.engine):
        assert engine.config.epoch_interruption is False
        store = Store(engine)
        with pytest.raises(WasmError, match=r"Config\.sandbox\(\)"):
            store.set_timeout(1)
        with pytest.raises(WasmError, match=r"Config\.sandbox\(\)"):
            with store.deadline(1):
                pass
        store.set_timeout(None)  # clearing a deadline is always fine
    with pytest.raises(ValueError, match=r"Config\.sandbox\(\)"):
        run_wasi(wasi_prog("hello"), engine=Engine())
    with pytest.raises(ValueError, match=r"Config\.sandbox\(\)"):
        run_wasi(Module(None, SPIN_WAT))


def test_profiles():
    assert Config() == Config.fast()
    assert Config.sandbox().epoch_interruption is True
    assert Config.fast(epoch_interruption=True).epoch_interruption is False
    assert Config.sandbox(consume_fuel=True).options() == dict(
        Config().options(), epoch_interruption=True, consume_fuel=True)
    with pytest.raises(AttributeError):
        Config.sandbox(no_such_option=1)


def test_sandbox_paths_turn_epochs_on():
    from wasmbind.wasi import sandbox_engine
    assert sandbox_engine().config.epoch_interruption is True
    assert sandbox_engine(Config.fast()).config.epoch_interruption is True
    assert sandbox_engine(fuel=True).config.consume_fuel is True
    r = run_wasi(wasi_prog("spin"), ["spin"], timeout=0.05)
    assert r.timed_out


SPIN_WAT = '(module (func (export "loop") (loop (br 0))))'


SIGNAL_REENTRY = """
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
engine = wasmbind.Engine(wasmbind.Config.sandbox())
store = wasmbind.Store(engine, release_gil=RELEASE)
ex = wasmbind.Instance(store, wasmbind.Module(engine, wat)).exports
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
"""


@pytest.mark.parametrize("release_gil", [False, True])
def test_signal_handler_calling_back_into_the_interrupted_store(release_gil):
    # the engine takes the epoch callback out of the store while it runs: the
    # handler's calls met none and trapped with INTERRUPT
    p = run_py(SIGNAL_REENTRY.replace("RELEASE", str(release_gil)))
    assert p.returncode == 0, p.stderr
    result = [line for line in p.stdout.splitlines() if line.startswith("RESULT")]
    expected = "RESULT KeyboardInterrupt from the handler [5, %d]" % (50_000_000 * 50_000_001 // 2)
    assert result == [expected], p.stdout + p.stderr
    assert "AFTER 2" in p.stdout
