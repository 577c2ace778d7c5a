"""Threads and processes against one store: another thread touching a store
while a call runs in it, small thread stacks with deep recursion, fork then
compile or a deadline."""

import os

import pytest
from adv import attack

pytestmark = pytest.mark.timeout(120)

#: A call blocked in a host function until ``go`` is set; ``inside`` is set
#: once the call is running.
BLOCKED = """
e = Engine(); s = Store(e)
inside = threading.Event(); go = threading.Event()
def slow(x):
    inside.set(); go.wait(30); return x
inst, ex = full(s, slow)
t = threading.Thread(target=lambda: print("call", ex.call_f(9)))
t.start(); inside.wait(30)
"""


def test_other_thread_uses_the_store_during_a_call():
    out = attack(BLOCKED, """
    res = [outcome(lambda: ex.add(1, 2)), outcome(lambda: ex.mem.grow(1)), outcome(lambda: ex.g.value),
           outcome(lambda: ex.tab.grow(1)), outcome(s.gc), outcome(s.close),
           outcome(lambda: Instance(s, Module(e, ADD)))]
    go.set(); t.join()
    print(*res)
    print("after", ex.add(1, 2), outcome(s.close), s.closed)
    """)
    assert out[:2] == ["call", "9"], out
    assert out[2:9] == ["StoreBusyError"] * 7, out
    assert out[9:] == ["after", "3", "ok", "True"], out


def test_other_thread_reads_a_memory_view_during_a_call():
    out = attack(BLOCKED, """
    r1 = outcome(lambda: bytes(memoryview(ex.mem)[:4]))
    r2 = outcome(lambda: ex.mem.read(0, 4))
    go.set(); t.join()
    print(r1, r2, outcome(s.close))
    """)
    assert out[:2] == ["call", "9"] and len(out) == 5 and out[4] == "ok", out
    assert set(out[2:4]) <= {"ok", "StoreBusyError"}, out


@pytest.mark.parametrize("stack, depth, expect", [
    (None, 1000, "WasmError"),  # the default max_wasm_stack does not fit: the stack check refuses
    (64 * 1024, 1000, "ok"),
    (64 * 1024, 10**5, "Trap"),  # the engine's stack limit stops it
    (64 * 1024, 10**7, "Trap"),
])
def test_small_thread_stack_and_deep_wasm_recursion(stack, depth, expect):
    out = attack("""
    threading.stack_size(256 * 1024)
    s = Store(Engine(Config() if %r is None else Config(max_wasm_stack=%r))); inst, ex = full(s)
    res = []
    t = threading.Thread(target=lambda: res.append(outcome(lambda: ex.depth(%d))))
    t.start(); t.join()
    print(res[0], ex.depth(10))
    """ % (stack, stack, depth))
    assert out == [expect, "10"], out


def test_small_thread_stack_and_deep_host_recursion():
    out = attack("""
    threading.stack_size(256 * 1024)
    sys.setrecursionlimit(10**6)
    s = Store(Engine())
    box = {}
    def f(x):
        return box["ex"].call_f(x - 1) if x > 0 else 0
    inst, ex = full(s, f)
    box["ex"] = ex
    res = []
    t = threading.Thread(target=lambda: res.append(outcome(lambda: ex.call_f(100000))))
    t.start(); t.join()
    print(res[0], ex.call_f(3))
    """)
    assert out[1] == "0" and out[0] in ("Trap", "RecursionError", "RuntimeError", "WasmError"), out


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_fork_then_compile_call_and_deadline():
    out = attack("""
    import warnings; warnings.simplefilter("ignore")
    e = Engine(Config.sandbox()); s = Store(e); inst, ex = full(s)
    ex.add(1, 2)
    busy = threading.Thread(target=lambda: Module(e, WAT)); busy.start()
    pid = os.fork()
    if pid == 0:
        try:
            s2 = Store(e); i2, ex2 = full(s2)
            loop = Instance(s2, Module(e, '(module (func (export "l") (loop (br 0))))')).exports.l
            with s2.deadline(0.2):
                r = outcome(loop)
            code = 0 if (ex2.add(2, 3), r, ex.add(1, 1)) == (5, "Trap", 2) else 3
        except BaseException as exc:
            print("child", type(exc).__name__, exc); code = 4
        os._exit(code)
    busy.join()
    _, status = os.waitpid(pid, 0)
    print("status", status, ex.add(2, 2))
    """)
    assert out == ["status", "0", "4"], out
