"""Lifetimes: parents kept alive by children, use after close, cycles, leaks."""

import gc
import os
import tracemalloc
import weakref

import pytest

from wasmbind import (
    Engine,
    Func,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Linker,
    Memory,
    MemoryType,
    Module,
    Store,
    StoreClosedError,
    Table,
    TableType,
)

from support import assert_clean, run_py

WAT = """(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (memory (export "memory") 1)
  (global (export "g") (mut i32) (i32.const 3))
  (table (export "t") 2 funcref)
  (func (export "f") (param i32) (result i32) local.get 0 call $h)
  (func (export "ref") (param externref) (result externref) local.get 0)
)"""


def _build(engine=None):
    e = engine or Engine()
    s = Store(e)
    m = Module(e, WAT)
    inst = Instance(s, m, [lambda x: x + 1])
    return e, s, m, inst


def test_parents_dropped_before_children():
    e, s, m, inst = _build()
    f, mem, g, t = inst.exports.f, inst.exports.memory, inst.exports.g, inst.exports.t
    wr = weakref.ref(s)
    del e, s, m, inst
    gc.collect()
    assert wr() is not None  # children keep the store alive
    assert f(41) == 42
    mem[0] = 9
    assert mem[0] == 9 and mem.grow(1) == 1
    assert g.value == 3
    t[0] = f
    assert t[0](1) == 2
    assert f.store.engine is not None


def test_only_a_memory_view_left():
    e, s, m, inst = _build()
    view = memoryview(inst.exports.memory)
    del e, s, m, inst
    gc.collect()
    view[5] = 1
    assert view[5] == 1
    view.release()


def test_module_outlives_engine_reference():
    m = Module(Engine(), '(module (func (export "f") (result i32) i32.const 5))')
    gc.collect()
    assert Instance(Store(m.engine), m).exports.f() == 5


def test_store_freed_when_unreferenced():
    e, s, m, inst = _build()
    wr = weakref.ref(s)
    del s, inst
    gc.collect()
    assert wr() is None


def _closed_objects(engine):
    s = Store(engine)
    inst = Instance(s, Module(engine, WAT), [lambda x: x])
    objs = dict(f=inst.exports.f, mem=inst.exports.memory, g=inst.exports.g, t=inst.exports.t,
                host=Func(s, FuncType([], []), lambda: None), ref=inst.exports.ref)
    s.close()
    return s, inst, objs


@pytest.mark.parametrize("action", [
    lambda o: o["f"](1),
    lambda o: o["ref"](None),
    lambda o: o["host"](),
    lambda o: o["mem"].size,
    lambda o: o["mem"].data_len,
    lambda o: o["mem"].data_ptr,
    lambda o: len(o["mem"]),
    lambda o: o["mem"].grow(1),
    lambda o: o["mem"].read(0, 1),
    lambda o: o["mem"].write(0, b"x"),
    lambda o: o["mem"][0],
    lambda o: o["mem"][0:2],
    lambda o: o["mem"].__setitem__(0, 1),
    lambda o: memoryview(o["mem"]),
    lambda o: o["mem"].type,
    lambda o: o["g"].value,
    lambda o: setattr(o["g"], "value", 1),
    lambda o: o["g"].type,
    lambda o: len(o["t"]),
    lambda o: o["t"][0],
    lambda o: o["t"].__setitem__(0, None),
    lambda o: o["t"].grow(1),
    lambda o: o["t"].type,
], ids=["func", "func-ref", "host-func", "mem.size", "mem.data_len", "mem.data_ptr", "len(mem)",
        "mem.grow", "mem.read", "mem.write", "mem[i]", "mem[a:b]", "mem[i]=", "memoryview", "mem.type",
        "global.value", "global.value=", "global.type", "len(table)", "table[i]", "table[i]=",
        "table.grow", "table.type"])
def test_use_after_close(engine, action):
    s, inst, objs = _closed_objects(engine)
    with pytest.raises(StoreClosedError):
        action(objs)


@pytest.mark.parametrize("action", [
    lambda s, e: Instance(s, Module(e, "(module)")),
    lambda s, e: Func(s, FuncType([], []), lambda: None),
    lambda s, e: Memory(s, MemoryType(1)),
    lambda s, e: Global(s, GlobalType("i32", True), 0),
    lambda s, e: Table(s, TableType("funcref", 1)),
    lambda s, e: Linker(e).instantiate(s, Module(e, "(module)")),
    lambda s, e: Linker(e).define(s, "m", "n", None),
    lambda s, e: Linker(e).get(s, "m", "n"),
    lambda s, e: Linker(e).get_default(s, "m"),
    lambda s, e: Linker(e).define_module(s, "m", Module(e, "(module)")),
    lambda s, e: s.gc(),
    lambda s, e: s.set_timeout(1),
    lambda s, e: s.set_limits(memory_size=1 << 20),
    lambda s, e: s.__enter__(),
], ids=["Instance", "Func", "Memory", "Global", "Table", "linker.instantiate", "linker.define",
        "linker.get", "linker.get_default", "linker.define_module", "gc", "set_timeout", "set_limits",
        "enter"])
def test_store_methods_after_close(engine, action):
    s = Store(engine)
    s.close()
    with pytest.raises(StoreClosedError):
        action(s, engine)


def test_reprs_after_close(engine):
    s, inst, objs = _closed_objects(engine)
    for o in list(objs.values()) + [s, inst, inst.exports]:
        assert isinstance(repr(o), str)
    assert "closed" in repr(objs["mem"]) and "closed" in repr(objs["g"]) and "closed" in repr(objs["t"])


def test_exports_mapping_survives_close(engine):
    s, inst, objs = _closed_objects(engine)
    assert "f" in inst.exports and len(inst.exports) == 5
    with pytest.raises(StoreClosedError):
        inst.exports.f(1)


def test_close_idempotent_and_context_manager(engine):
    s = Store(engine)
    s.close()
    s.close()
    with Store(engine) as s2:
        f = Func(s2, FuncType([], ["i32"]), lambda: 1)
        assert f() == 1
    s2.close()
    with pytest.raises(StoreClosedError):
        f()


def test_host_closure_cycle_is_collected(engine):
    refs = []
    for _ in range(3):
        s = Store(engine)
        m = Module(engine, '(module (import "e" "h" (func $h (result i32))) (func (export "f") (result i32) call $h))')

        def host(s=s):  # the closure references its own store
            return 1 if s is not None else 0

        inst = Instance(s, m, [host])
        inst.exports.f()
        f = inst.exports.f
        host.f = f  # and the func, which references the store again
        refs.append((weakref.ref(s), weakref.ref(host)))
        del s, m, inst, host, f
    gc.collect()
    assert [r() for r, _ in refs] == [None, None, None]
    assert [h() for _, h in refs] == [None, None, None]


def test_externref_payloads_released_on_close(engine):
    class Payload:
        pass

    s = Store(engine)
    inst = Instance(s, Module(engine, WAT), [lambda x: x])
    g = Global(s, GlobalType("externref", True), None)
    t = Table(s, TableType("externref", 4), None)
    wrs = []
    for i in range(4):
        p = Payload()
        wrs.append(weakref.ref(p))
        assert inst.exports.ref(p) is p
        t[i] = p
    g.value = Payload()
    wrs.append(weakref.ref(g.value))
    del p
    gc.collect()
    assert all(w() is not None for w in wrs)  # the store holds them
    s.close()
    gc.collect()
    assert [w() for w in wrs] == [None] * len(wrs)


def test_externref_passed_through_calls_not_leaked(engine):
    class Payload:
        pass

    s = Store(engine)
    inst = Instance(s, Module(engine, WAT), [lambda x: x])
    wrs = []
    for _ in range(50):
        p = Payload()
        wrs.append(weakref.ref(p))
        inst.exports.ref(p)
    held = Global(s, GlobalType("externref", True), p)
    del p
    s.gc()
    gc.collect()
    # temporaries are unrooted after each call: the engine's GC frees them
    # (their payloads are released once it is done); what Wasm holds stays
    assert [w() is None for w in wrs] == [True] * 49 + [False]
    assert held.value is wrs[-1]()


def test_linker_define_func_env_released():
    class Host:
        def __call__(self):
            return 1

    e = Engine()
    h = Host()
    wr = weakref.ref(h)
    linker = Linker(e)
    linker.define_func("m", "f", FuncType([], ["i32"]), h)
    s = Store(e)
    inst = linker.instantiate(s, Module(e, '(module (import "m" "f" (func $f (result i32)))'
                                           ' (func (export "g") (result i32) call $f))'))
    assert inst.exports.g() == 1
    del h, linker
    gc.collect()
    assert wr() is not None  # the store's instance still uses it
    assert inst.exports.g() == 1
    s.close()
    del s, inst
    gc.collect()
    assert wr() is None


def _rss_kb():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:  # pragma: no cover
        pytest.skip("no /proc")


_PAGE_OF_ONES = b"\x01" * 65536


def _churn(engine, module, n):
    for i in range(n):
        s = Store(engine)
        fn = Func(s, FuncType(["externref"], ["externref"]), lambda x: x)
        inst = Instance(s, module, {"env": {"h": lambda x: x + i}})  # noqa: B023 (called in this iteration)
        assert inst.exports.f(1) == 1 + i
        payload = [i]
        assert inst.exports.ref(payload) is payload
        assert fn(payload) is payload
        g = Global(s, GlobalType("externref", True), payload)
        inst.exports.memory.write(0, _PAGE_OF_ONES)  # touch the whole page: RSS sees a leak
        if i % 2:
            s.close()
        del s, fn, inst, g, payload


def test_no_python_leak_in_store_churn(engine):
    module = Module(engine, WAT)
    _churn(engine, module, 50)  # warm up caches
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        _churn(engine, module, 300)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(st.size_diff for st in after.compare_to(before, "filename") if st.size_diff > 0)
    # one leaked host-func env, closure or externref list per iteration would be >= 300 * 56 bytes
    assert grown < 16 * 1024, "\n".join(str(st) for st in after.compare_to(before, "lineno")[:10])


def test_no_native_leak_in_store_churn(engine):
    module = Module(engine, WAT)
    _churn(engine, module, 200)
    gc.collect()
    start = _rss_kb()
    _churn(engine, module, 1500)
    gc.collect()
    grown = _rss_kb() - start
    # a leaked store (with its 64 KiB touched memory page) per iteration would be about 75 MiB
    assert grown < 16 * 1024, "RSS grew by %d KiB" % grown


# ---- externref payloads that hold their own store -----------------------------
# The engine's references are invisible to Python's GC: the store keeps every
# payload it hands the engine where the GC sees it, so such cycles collect.

_HOLDER = """(module
  (global $g (export "g") (mut externref) (ref.null extern))
  (table $t (export "t") 1 externref)
  (func (export "keep") (param externref) local.get 0 global.set $g)
  (func (export "id") (param externref) (result externref) local.get 0))"""


@pytest.mark.parametrize("how", ["global", "table", "wasm-global", "host-arg", "host-result"])
def test_externref_holding_its_store_is_collected(engine, how):
    module = Module(engine, _HOLDER)
    refs = []
    for _ in range(20):
        s = Store(engine)
        payload = [s]
        if how == "global":
            g = Global(s, GlobalType("externref", True), payload)
        elif how == "table":
            g = Table(s, TableType("externref", 2), payload)
        elif how == "wasm-global":
            g = Instance(s, module)
            g.exports.keep(payload)
        elif how == "host-arg":  # the store's host function keeps it alive too
            g = Func(s, FuncType(["externref"], []), lambda x, keep=[]: keep.append(x))
            g(payload)
        else:
            g = Func(s, FuncType([], ["externref"]), lambda p=payload: p)
            Instance(s, module).exports.keep(g())
        payload.append(g)
        refs.append(weakref.ref(s))
        del s, g, payload
    gc.collect()
    assert [r() for r in refs] == [None] * 20


def test_self_holding_stores_in_bounded_memory(engine):
    # 117 MB per 10,000 stores when these cycles leaked; the GC's own
    # collections must now keep the loop flat
    module = Module(engine, _HOLDER)

    def churn(n):
        for _ in range(n):
            s = Store(engine)
            inst = Instance(s, module)
            inst.exports.keep([s, inst])
            del s, inst

    churn(300)
    gc.collect()
    start = _rss_kb()
    churn(3000)
    gc.collect()
    grown = _rss_kb() - start
    assert grown < 12 * 1024, "RSS grew by %d KiB" % grown


# ---- finalizers that re-enter the store ----------------------------------------

_REENTER = """
import gc, sys
from wasmbind import *
s = Store()
inst = Instance(s, Module(None, '(module (memory (export "mem") 1)'
    ' (global (export "g") (mut externref) (ref.null extern))'
    ' (func (export "f") (result i32) i32.const 7)'
    ' (func (export "keep") (param externref) local.get 0 global.set 0))'))
mem, f, keep = inst.exports.mem, inst.exports.f, inst.exports.keep
seen = []

class Reenters:
    # holds its store (a cycle through the engine), and uses it when finalized
    def __init__(self):
        self.s, self.mem, self.f = s, mem, f

    def __del__(self):
        s, mem = self.s, self.mem
        for name, action in (("view", lambda: memoryview(mem).release()), ("call", self.f),
                             ("read", lambda: mem.read(0, 1)), ("gc", s.gc),
                             ("new", lambda: Global(s, GlobalType("externref", True), object())),
                             ("close", s.close)):
            try:
                action()
                seen.append(name)
            except StoreClosedError:
                seen.append(name + ":closed")
"""


def test_finalizer_reentering_during_close():
    proc = run_py(_REENTER + """
keep(Reenters())
s.close()
print(" ".join(seen))
""")
    assert_clean(proc)
    assert proc.stdout.split() == ["view:closed", "call:closed", "read:closed", "gc:closed", "new:closed",
                                   "close"]


def test_finalizer_reentering_after_gc():
    # dropped by the engine's GC: released once the GC is done, with the store open
    proc = run_py(_REENTER + """
keep(Reenters())
keep(None)
s.gc()
print(" ".join(seen), s.closed)
""")
    assert_clean(proc)
    assert proc.stdout.split() == ["view", "call", "read", "gc", "new", "close", "True"]


def test_finalizer_when_the_store_is_collected():
    # the GC finalizes the payload while the store is still whole and open
    # (its __del__ may even close it), then frees the store
    proc = run_py(_REENTER + """
import weakref
keep(Reenters())
wr = weakref.ref(s)
del s, inst, mem, f, keep
gc.collect()
print(" ".join(seen), wr() is None)
""")
    assert_clean(proc)
    assert proc.stdout.split() == ["view", "call", "read", "gc", "new", "close", "True"]


@pytest.mark.parametrize("drop", ["refcount", "exit"])
def test_finalizers_when_the_store_is_freed(drop):
    # freed by its last reference or at interpreter exit, with payloads whose
    # __del__ runs Python code (and calls into another store)
    proc = run_py("""
import gc
from wasmbind import *
e = Engine()
other = Store(e)
f = Func(other, FuncType([], ["i32"]), lambda: 1)
seen = []
class Busy:
    def __del__(self):
        gc.collect()
        seen.append(f())
s = Store(e)
inst = Instance(s, Module(e, '(module (table (export "t") 4 externref)'
                             ' (func (export "id") (param externref) (result externref) local.get 0))'))
for i in range(4):
    inst.exports.t[i] = Busy()
inst.exports.id(Busy())
if %r == "refcount":
    del s, inst
    print(seen)
""" % drop)
    assert_clean(proc)
    if drop == "refcount":
        assert proc.stdout.split() == ["[1,", "1,", "1,", "1,", "1]"]


def test_host_function_environment_finalizer_during_close():
    # a Linker's host function environment is dropped by the engine inside
    # close(): its __del__ finds the store closed, not half deleted
    proc = run_py("""
import gc
from wasmbind import *
e = Engine()
s = Store(e)
seen = []
class Host:
    def __call__(self):
        return 1
    def __del__(self):
        for action in (lambda: f(), lambda: s.gc(), s.close):
            try:
                action()
                seen.append("ok")
            except StoreClosedError:
                seen.append("closed")
linker = Linker(e)
linker.define_func("m", "h", FuncType([], ["i32"]), Host())
f = linker.instantiate(s, Module(e, '(module (import "m" "h" (func $h (result i32)))'
                                    ' (func (export "f") (result i32) call $h))')).exports.f
assert f() == 1
del linker
gc.collect()
s.close()
print(" ".join(seen))
""")
    assert_clean(proc, "closed closed ok")
