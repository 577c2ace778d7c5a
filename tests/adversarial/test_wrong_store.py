"""Objects of one store (or engine) handed to another through every API that
takes them: each gives a clear exception, in a child process."""

import pytest
from adv import attack

pytestmark = pytest.mark.timeout(120)

SETUP = """
e = Engine(); s1 = Store(e); s2 = Store(e)
inst1, ex1 = full(s1)
inst2, ex2 = full(s2)
other = Store(Engine())
"""


def test_linker_define_with_another_stores_objects():
    out = attack(SETUP, """
    ln = Linker(e)
    for item in (ex2.mem, ex2.tab, ex2.g, ex2.add, host(s2)):
        print(outcome(lambda: ln.define(s1, "m", "x", item)))
    print(outcome(lambda: ln.define_instance(s1, "i", inst2)))
    print(outcome(lambda: Linker(Engine()).define(s1, "m", "f", host(s1))))
    """)
    assert out == ["ValueError"] * 7, out


def test_linker_instantiate_and_get_across_stores_and_engines():
    out = attack(SETUP, """
    ln = Linker(e)
    ln.define(s1, "m", "f", host(s1))
    print(outcome(lambda: ln.instantiate(s2, Module(e, WAT))))
    print(outcome(lambda: ln.instantiate(other, Module(e, WAT))))
    print(outcome(lambda: ln.instantiate(s1, Module(Engine(), WAT))))
    print(outcome(lambda: ln.get(s2, "m", "f")))
    print(ln.instantiate(s1, Module(e, WAT)).exports.call_f(5))
    """)
    assert out == ["ValueError"] * 4 + ["5"], out


def test_instance_imports_from_another_store_or_engine():
    out = attack(SETUP, """
    m = Module(e, WAT)
    print(outcome(lambda: Instance(s1, m, [host(s2)])))
    print(outcome(lambda: Instance(s1, m, {"m": {"f": ex2.add}})))
    print(outcome(lambda: Instance(s1, Module(Engine(), WAT), [host(s1)])))
    print(outcome(lambda: Instance(other, m, [host(other)])))
    print(Instance(s1, m, [host(s1)]).exports.call_f(7))
    """)
    assert out == ["ValueError"] * 4 + ["7"], out


def test_table_values_from_another_store():
    out = attack(SETUP, """
    print(outcome(lambda: ex1.tab.__setitem__(0, ex2.add)))
    print(outcome(lambda: ex1.tab.grow(1, ex2.add)))
    print(outcome(lambda: Table(s1, TableType("funcref", 1), ex2.add)))
    print(outcome(lambda: ex1.tab.__setitem__(0, ex1.add)))
    print(ex1.tab[0] is not None, len(ex1.tab))
    """)
    assert out == ["ValueError"] * 3 + ["ok", "True", "2"], out


def test_global_values_from_another_store():
    out = attack(SETUP, """
    print(outcome(lambda: setattr(ex1.g, "value", ex2.add)))
    print(outcome(lambda: Global(s1, GlobalType("funcref", True), host(s2))))
    print(outcome(lambda: setattr(ex1.g, "value", host(other))))
    print(ex1.g.value is None)
    """)
    assert out == ["ValueError"] * 3 + ["True"], out


def test_call_arguments_from_another_store():
    out = attack(SETUP, """
    fr = Instance(s1, Module(e, '(module (func (export "f") (param funcref) (result i32) i32.const 1))')).exports.f
    print(outcome(lambda: fr(ex2.add)))
    print(outcome(lambda: fr(host(other))))
    print(fr(ex1.add), fr(None))
    """)
    assert out == ["ValueError"] * 2 + ["1", "1"], out


def test_a_closed_stores_objects_everywhere():
    out = attack(SETUP, """
    s2.close()
    ln = Linker(e)
    for act in (lambda: ln.define(s1, "m", "x", ex2.mem), lambda: ex1.tab.__setitem__(0, ex2.add),
                lambda: setattr(ex1.g, "value", ex2.add), lambda: Instance(s1, Module(e, WAT), [ex2.add]),
                lambda: ln.define(s2, "m", "f", host(s1)), lambda: Instance(s2, Module(e, WAT), [host(s1)])):
        print(outcome(act))
    """)
    assert out == ["StoreClosedError"] * 6, out
