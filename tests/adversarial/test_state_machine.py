"""A property-based state machine: random sequences of API calls (stores,
instances, calls, memory and table growth, close, gc, memory views, calls from
a second thread) against a small model of what must happen. Run in a child
process, so a crash fails the test instead of the run."""

import pytest

from support import assert_clean, run_py

pytest.importorskip("hypothesis")

MACHINE = r'''
import threading
from hypothesis import settings, HealthCheck, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, Bundle, rule, invariant, precondition
from wasmbind import Engine, Store, Module, Instance, StoreClosedError, FuncType, Func

ENGINE = Engine()
MODULE = Module(ENGINE, """(module
  (import "m" "f" (func $f (param i32) (result i32)))
  (memory (export "mem") 1 8)
  (table (export "tab") 1 16 funcref)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "call_f") (param i32) (result i32) local.get 0 call $f)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))""")
I32 = FuncType(["i32"], ["i32"])


class Model:
    """One store: what the machine expects of it."""
    def __init__(self):
        self.store = Store(ENGINE)
        self.closed = False
        self.instances = []  # [exports, pages, table length]
        self.views = []


class Machine(RuleBasedStateMachine):
    stores = Bundle("stores")
    instances = Bundle("instances")

    @rule(target=stores)
    def new_store(self):
        return Model()

    @rule(target=instances, m=stores)
    def instantiate(self, m):
        if m.closed:
            try:
                Instance(m.store, MODULE, [Func(m.store, I32, lambda x: x)])
            except StoreClosedError:
                pass
            else:
                raise AssertionError("instantiated in a closed store")
            return None
        ex = Instance(m.store, MODULE, [Func(m.store, I32, lambda x: x + 1)]).exports
        rec = [m, ex, 1, 1]
        m.instances.append(rec)
        return rec

    def _expect_closed(self, fn):
        try:
            fn()
        except StoreClosedError:
            return
        raise AssertionError("closed store did not raise")

    def _open(self, rec, act):
        """The exports of ``rec`` when its store is open; else checks that
        ``act(exports)`` raises StoreClosedError and gives None."""
        if rec is None:
            return None
        if rec[0].closed:
            self._expect_closed(lambda: act(rec[1]))
            return None
        return rec[1]

    @rule(rec=instances, a=st.integers(-2**31, 2**31 - 1), b=st.integers(-2**31, 2**31 - 1))
    def call(self, rec, a, b):
        ex = self._open(rec, lambda ex: ex.add(a, b))
        if ex is None:
            return
        want = (a + b + 2**31) % 2**32 - 2**31
        assert ex.add(a, b) == want
        assert ex.call_f(5) == 6

    @rule(rec=instances, n=st.integers(0, 4), from_wasm=st.booleans())
    def grow_memory(self, rec, n, from_wasm):
        ex = self._open(rec, lambda ex: ex.mem.grow(n))
        if ex is None:
            return
        fits = rec[2] + n <= 8
        if from_wasm:
            got = ex.grow(n)
            assert got == (rec[2] if fits else -1), (got, rec[2], n)
        else:
            try:
                got = ex.mem.grow(n)
            except Exception as exc:  # noqa: BLE001
                assert not fits, exc
            else:
                assert fits and got == rec[2]
        if fits:
            rec[2] += n
        assert ex.mem.size == rec[2] and len(ex.mem) == rec[2] * 65536

    @rule(rec=instances, n=st.integers(0, 10))
    def grow_table(self, rec, n):
        ex = self._open(rec, lambda ex: ex.tab.grow(n))
        if ex is None:
            return
        fits = rec[3] + n <= 16
        try:
            ex.tab.grow(n)
        except Exception as exc:  # noqa: BLE001
            assert not fits, exc
        else:
            assert fits
            rec[3] += n
        assert len(ex.tab) == rec[3]

    @rule(rec=instances)
    def take_view(self, rec):
        if rec is None or rec[0].closed:
            return
        rec[0].views.append(memoryview(rec[1].mem))

    @rule(m=stores)
    def release_views(self, m):
        for v in m.views:
            v.release()
        m.views.clear()

    @rule(m=stores)
    def close(self, m):
        try:
            m.store.close()
        except BufferError:
            assert m.views and not m.closed
        else:
            assert not m.views or m.closed
            m.closed = True
        assert m.store.closed == m.closed

    @rule(m=stores)
    def gc(self, m):
        if m.closed:
            self._expect_closed(m.store.gc)
        else:
            m.store.gc()

    @rule(rec=instances, a=st.integers(0, 1000))
    def call_from_thread(self, rec, a):
        if rec is None:
            return
        m, ex = rec[0], rec[1]
        box = []
        def run():
            try:
                box.append(ex.add(a, 1))
            except StoreClosedError:
                box.append("closed")
        t = threading.Thread(target=run); t.start(); t.join(30)
        assert box == (["closed"] if m.closed else [a + 1]), box

    def teardown(self):
        import gc
        gc.collect()


Machine.TestCase.settings = settings(max_examples=MAX, stateful_step_count=30, deadline=None, database=None,
                                     suppress_health_check=list(HealthCheck))
Machine.TestCase().runTest()
print("machine-ok")
'''


@pytest.mark.timeout(300)
def test_state_machine_of_stores_instances_and_views():
    proc = run_py("MAX = 60\n" + MACHINE, timeout=240)
    assert_clean(proc, expect_stdout="machine-ok")
