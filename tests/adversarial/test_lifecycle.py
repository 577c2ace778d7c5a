"""Objects used outside their normal life: __init__ run twice, __new__ without
__init__, finalizers that re-enter the store while it closes or collects."""

import pytest
from adv import attack

pytestmark = pytest.mark.timeout(120)

#: Every public class, with arguments for a second __init__ of a live object.
OBJECTS = """
e = Engine(); s = Store(e)
inst, ex = full(s)
m = Module(e, WAT)
live = {
    Engine: (e, ()), Store: (s, (e,)), Module: (m, (e, ADD)),
    Instance: (inst, (s, Module(e, ADD))), Linker: (Linker(e), (e,)),
    Func: (ex.add, (s, I32, lambda x: x)), Memory: (ex.mem, (s, MemoryType(1))),
    Global: (ex.g, (s, GlobalType("i32", True), 1)), Table: (ex.tab, (s, TableType("funcref", 1))),
    WasiConfig: (WasiConfig(), ()), Caller: (None, ()),
}
"""


def test_reinit_of_every_live_object_raises_and_keeps_it_working():
    out = attack(OBJECTS, """
    for cls, (obj, args) in live.items():
        if obj is not None:
            print(cls.__name__, outcome(lambda: obj.__init__(*args)))
    print("after", ex.add(2, 3), len(ex.mem), len(ex.tab), ex.call_f(4))
    """)
    results = dict(zip(out[:20:2], out[1:20:2]))
    # a second __init__ of a core object refuses; WasiConfig (plain settings) may be re-set
    assert results == dict({c: "WasmError" for c in ("Engine", "Store", "Module", "Instance", "Linker",
                                                      "Func", "Memory", "Global", "Table")},
                           WasiConfig="ok"), out
    assert out[20:] == ["after", "5", "65536", "2", "4"], out


def test_new_only_objects_of_every_class_raise_on_use():
    out = attack(OBJECTS, """
    uses = ["close", "gc", "grow", "read", "write", "__len__", "__call__", "type", "store",
            "exports", "engine", "value", "instantiate", "define", "get", "serialize", "imports",
            "__getitem__", "size", "map", "increment_epoch", "fuel", "module"]
    for cls in live:
        try:
            obj = cls.__new__(cls)
        except TypeError:
            print(cls.__name__, "refused"); continue
        names = set()
        for u in uses:
            attr = getattr(type(obj), u, None)
            if attr is None:
                continue
            if isinstance(attr, property):
                names.add(outcome(lambda: getattr(obj, u)))
            else:
                for args in ((), (0,), (0, 0), (s, "a", "b")):
                    names.add(outcome(lambda: getattr(obj, u)(*args)))
        print(cls.__name__, "-".join(sorted(names)))
        del obj
    gc.collect()
    print("done")
    """)
    assert out[-1] == "done" and len(out) == 23, out
    for cls, names in zip(out[:-1:2], out[1:-1:2]):
        # an unset object raises a clear error (WasmError: not initialised), nothing else
        assert set(names.split("-")) <= {"AttributeError", "TypeError", "WasmError", "ok", "refused"}, cls


def test_payload_finalizer_closes_the_store_during_close():
    out = attack("""
    s = Store(Engine()); inst, ex = full(s)
    class P:
        def __del__(self):
            print("del", outcome(s.close), outcome(s.gc), outcome(lambda: ex.add(1, 2)))
    ex.ge.value = P()
    t = Table(s, TableType("externref", 3), P())
    print("close", outcome(s.close), s.closed)
    """)
    # the payloads die during close(): closing again is a no-op, the rest is closed
    assert out == ["del", "ok", "StoreClosedError", "StoreClosedError"] * 2 + ["close", "ok", "True"], out


def test_payload_finalizer_reenters_during_gc():
    out = attack("""
    s = Store(Engine()); inst, ex = full(s)
    class P:
        def __del__(self):
            print("del", outcome(s.gc), outcome(lambda: ex.ref(P2())), outcome(s.close))
    class P2:
        pass
    for i in range(50):
        ex.ref(P())
    print("gc", outcome(s.gc))
    print("after", outcome(lambda: ex.add(1, 2)), s.closed)
    """)
    # the first finalizer closes the store in the middle of gc(); the others find it closed
    assert out[:4] == ["del", "ok", "ok", "ok"], out
    assert out[4:-5] == ["del", "StoreClosedError", "StoreClosedError", "ok"] * 49, out
    assert out[-5:] == ["gc", "ok", "after", "StoreClosedError", "True"], out


def test_payload_holding_its_store_in_a_cycle_is_collected():
    out = attack("""
    import weakref
    refs = []
    for i in range(200):
        s = Store(Engine() if i % 50 == 0 else wasmbind.default_engine()); inst, ex = full(s)
        class P:
            pass
        p = P(); p.store = s; p.ex = ex
        ex.ge.value = p
        refs.append(weakref.ref(p))
        del s, inst, ex, p
    gc.collect(); gc.collect()
    print(sum(r() is not None for r in refs))
    """)
    assert out == ["0"], out


def test_host_function_finalizer_and_closure_cycle_close_during_call():
    out = attack("""
    s = Store(Engine())
    box = {}
    def f(x):
        box["r"] = outcome(s.close)
        return x
    inst, ex = full(s, f)
    print(outcome(lambda: ex.call_f(3)), box["r"], outcome(s.close), s.closed)
    """)
    # close() inside a call into the store refuses ("while a call into it is running")
    assert out == ["ok", "WasmError", "ok", "True"], out
