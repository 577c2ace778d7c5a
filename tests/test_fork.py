"""Processes: os.fork() children, multiprocessing pools and process pools with
every start method. Each case runs in a subprocess with a timeout: a child
that hangs is a failing test, not a hung test run."""

import multiprocessing
import os
import textwrap

import pytest

from support import assert_clean, run_py

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

# The module the workers use: one export to call, one to stop with a deadline.
WORKER = '''
import os
import wasmbind

WAT = """(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "spin") (loop $l br $l)))"""


def work(n):
    """instantiate (compiling on the default engine), call, and a deadline
    that fires: what a pool worker does."""
    engine = wasmbind.shared_engine(wasmbind.Config.sandbox())
    inst = wasmbind.Instance(wasmbind.Store(engine), wasmbind.Module(engine, WAT))
    total = inst.exports.add(n, 1)
    inst.store.set_timeout(0.05)
    try:
        inst.exports.spin()
        stopped = None
    except wasmbind.Trap as exc:
        stopped = exc.code.name
    return total, stopped, os.getpid()
'''

# In the parent: compile first, which starts the engine's compile threads
# (the ones a forked child does not have) and the epoch ticker.
POOL_RUN = '''
import multiprocessing, os, sys
sys.path.insert(0, {dir!r})
import wasmbind, fork_worker
inst = wasmbind.instantiate(fork_worker.WAT)
assert inst.exports.add(1, 2) == 3
fork_worker.work(0)  # the sandbox engine and the ticker started here too
{body}
assert [r[:2] for r in results] == [(n + 1, "INTERRUPT") for n in range(4)], results
assert all(r[2] != os.getpid() for r in results)
print("ok")
'''

START_METHODS = multiprocessing.get_all_start_methods()


@pytest.fixture
def worker_dir(tmp_path):
    (tmp_path / "fork_worker.py").write_text(WORKER)
    return str(tmp_path)


POOLS = {
    "Pool": """
with ctx.Pool(2) as pool:
    results = pool.map_async(fork_worker.work, range(4)).get(60)
""",
    "ProcessPoolExecutor": """
from concurrent.futures import ProcessPoolExecutor
with ProcessPoolExecutor(2, mp_context=ctx) as ex:
    results = list(ex.map(fork_worker.work, range(4), timeout=60))
""",
}


@pytest.mark.parametrize("pool", sorted(POOLS))
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_process_pools(worker_dir, pool, method):
    if method not in START_METHODS:
        pytest.skip("no %s start method here" % method)
    body = "ctx = multiprocessing.get_context(%r)\n%s" % (method, POOLS[pool])
    proc = run_py(POOL_RUN.format(dir=worker_dir, body=body), timeout=120)
    assert_clean(proc, "ok")


# A forked child, by hand: `child()` runs in it and reports through a pipe;
# the parent prints what the child said and its exit status.
FORK = '''
import os, signal, sys, threading, time
import wasmbind
from wasmbind import Config, Engine, Instance, Module, Store, Trap, TrapCode

WAT = """(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "spin") (loop $l br $l)))"""

def spins_until_deadline(engine, module=None):
    s = Store(engine)
    inst = Instance(s, module or Module(engine, WAT))
    s.set_timeout(0.05)
    try:
        inst.exports.spin()
    except Trap as exc:
        return exc.code == TrapCode.INTERRUPT
    return False

{setup}

def child():
{child}

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    try:
        out = repr(child())
    except BaseException as exc:
        out = "child raised %r" % (exc,)
    os.write(w, out.encode())
    os._exit(0)
os.close(w)
data = b""
while True:
    chunk = os.read(r, 65536)
    if not chunk:
        break
    data += chunk
_, status = os.waitpid(pid, 0)
print(data.decode(), os.waitstatus_to_exitcode(status))
'''


def _fork_case(setup, child, timeout=60):
    code = FORK.format(setup=textwrap.dedent(setup),
                       child=textwrap.indent(textwrap.dedent(child), "    "))
    return run_py(code, timeout=timeout)


def test_fork_child_compiles_and_runs_on_engines_from_before_and_after():
    proc = _fork_case("""
        old = Engine(Config.sandbox())                      # parallel compilation: the default
        old_module = Module(old, WAT)       # starts the compile threads
        serial = Engine(Config.sandbox(parallel_compilation=False))
        wasmbind.instantiate(WAT)           # and the default engine
    """, """
        new = Engine(Config.sandbox())
        checks = [
            Instance(Store(old), Module(old, WAT)).exports.add(2, 3) == 5,   # compile, old engine
            Instance(Store(old), old_module).exports.add(1, 1) == 2,         # the parent's module
            Instance(Store(new), Module(new, WAT)).exports.add(2, 2) == 4,   # new engine
            Instance(Store(serial), Module(serial, WAT)).exports.add(0, 1) == 1,
            wasmbind.instantiate(WAT).exports.add(3, 3) == 6,                # default engine
            wasmbind.default_engine() is wasmbind.shared_engine(),
            wasmbind.shared_engine(Config(consume_fuel=True)).config.consume_fuel,
            spins_until_deadline(old, old_module),                           # deadlines
            spins_until_deadline(new),
            spins_until_deadline(wasmbind.shared_engine(Config.sandbox())),
        ]
        Module.validate(old, WAT)
        Module.validate(new, WAT)
        # a module compiled in the child links with the parent's in one store
        s = Store(old)
        Instance(s, old_module)
        Instance(s, Module(old, WAT))
        return checks
    """)
    assert_clean(proc, "%r 0" % ([True] * 10,))


def test_fork_child_big_module_compiles():
    # big enough to compile without the GIL and on several compile threads
    proc = _fork_case("""
        FUNCS = "".join('(func (export "f%d") (result i32) i32.const %d)' % (i, i) for i in range(3000))
        BIG = "(module %s)" % FUNCS
        e = Engine(Config.sandbox())
        Module(e, BIG)
    """, """
        m = Module(e, BIG)
        inst = Instance(Store(e), m)
        return inst.exports.f2999(), len(Module.deserialize(e, m.serialize()).exports)
    """)
    assert_clean(proc, "(2999, 3000) 0")


def test_fork_child_ctrl_c_interrupts_wasm():
    proc = _fork_case("""
        e = Engine(Config.sandbox())
        m = Module(e, WAT)
    """, """
        inst = Instance(Store(e), m)
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            inst.exports.spin()
        except KeyboardInterrupt:
            return "interrupted"
        return "not interrupted"
    """)
    assert_clean(proc, "'interrupted' 0")


def test_fork_from_a_thread_child_still_handles_ctrl_c():
    # the thread that forks is the child's main thread: signals are run there
    code = """
    import os, signal, threading
    import wasmbind
    WAT = '(module (func (export "spin") (loop $l br $l)))'
    engine = wasmbind.Engine(wasmbind.Config.sandbox())
    inst = wasmbind.Instance(wasmbind.Store(engine), wasmbind.Module(engine, WAT))
    result = {}
    def forker():
        pid = os.fork()
        if pid == 0:
            i = wasmbind.Instance(wasmbind.Store(engine), wasmbind.Module(engine, WAT))
            threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
            try:
                i.exports.spin()
            except KeyboardInterrupt:
                os._exit(7)
            os._exit(1)
        result["status"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    t = threading.Thread(target=forker)
    t.start()
    t.join(50)
    print(result)
    """
    assert_clean(run_py(code), "{'status': 7}")


def test_grandchild_compiles():
    proc = _fork_case("""
        e = Engine(Config.sandbox())
        Module(e, WAT)
    """, """
        Module(e, WAT)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            ok = Instance(Store(e), Module(e, WAT)).exports.add(4, 4) == 8 and spins_until_deadline(e)
            os._exit(0 if ok else 3)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    """)
    assert_clean(proc, "0 0")


def test_fork_while_another_thread_compiles():
    # the fork waits for a compile running without the GIL in another thread
    # (it holds the engine's locks), so the child finds them free
    proc = _fork_case("""
        FUNCS = "".join('(func (export "f%d") (result i32) i32.const %d)' % (i, i) for i in range(20000))
        BIG = wasmbind.wat2wasm("(module %s)" % FUNCS)
        e = Engine(Config.sandbox())
        Module(e, WAT)
        done = []
        def compile_big():
            for _ in range(3):
                done.append(len(Module(e, BIG).exports))
        t = threading.Thread(target=compile_big)
        t.start()
        time.sleep(0.05)
    """, """
        return Instance(Store(e), Module(e, WAT)).exports.add(1, 2), spins_until_deadline(e)
    """)
    assert_clean(proc, "(3, True) 0")


def test_fork_with_shared_engine_lock_held_elsewhere():
    # another thread inside shared_engine() at the moment of the fork: the
    # child gets a fresh lock instead of one nobody will release
    proc = _fork_case("""
        from wasmbind import _core
        entered, release = threading.Event(), threading.Event()
        def hold():
            with _core._shared_engines_lock:
                entered.set()
                release.wait(30)
        t = threading.Thread(target=hold, daemon=True)
        t.start()
        entered.wait(10)
    """, """
        return wasmbind.shared_engine(Config(consume_fuel=True)).config.consume_fuel
    """)
    assert_clean(proc, "True 0")
