"""Hostile inputs: bad names, paths and sizes; Func.map and call arguments
whose conversion hooks (__index__, __float__, __array__) close the store or
raise; memory views that outlive close()."""

import pytest
from adv import attack

pytestmark = pytest.mark.timeout(120)

SETUP = """
e = Engine(); s = Store(e); inst, ex = full(s)
"""


def test_bad_names():
    out = attack(SETUP, """
    ln = Linker(e)
    for name in ("a\\0b", "\\ud800", 5, None, b"x"):
        print(outcome(lambda: ln.define(s, name, "f", host(s))),
              outcome(lambda: ex[name]), outcome(lambda: ln.get(s, "m", name)))
    print(outcome(lambda: ln.define(s, "m" * 10**6, "f" * 10**6, host(s))))
    print(outcome(lambda: Instance(s, Module(e, WAT), {"m\\ud800": {"f": host(s)}})))
    """)
    # a NUL is a valid Wasm name character; lone surrogates are ValueErrors, wrong
    # types TypeErrors; unknown export names KeyErrors; an import name no module has: LinkError
    assert out[:15] == (["ok", "KeyError", "KeyError", "ValueError", "KeyError", "ValueError"]
                        + ["TypeError", "KeyError", "TypeError"] * 3), out
    assert out[15:] == ["ok", "LinkError"], out


def test_bad_paths():
    out = attack("""
    import tempfile
    d = tempfile.mkdtemp()
    for p in ("a\\0b", d, os.path.join(d, "missing.wasm"), "\\udcff", 3.5):
        print(outcome(lambda: Module.from_file(Engine(), p)))
    for host_dir in ("a\\0b", os.path.join(d, "missing")):
        print(outcome(lambda: run_wasi("(module (func (export \\"_start\\")))", dirs=[(host_dir, "/x")])))
    print(outcome(lambda: run_wasi("(module (func (export \\"_start\\")))", dirs=[(d, "/x\\0")])))
    """)
    assert out == ["ValueError", "IsADirectoryError", "FileNotFoundError", "FileNotFoundError", "TypeError",
                   "ValueError", "FileNotFoundError", "ValueError"], out


def test_bad_sizes():
    out = attack(SETUP, """
    m = ex.mem
    for act in (lambda: m.grow(-1), lambda: m.grow(2**64), lambda: m.grow(10**6), lambda: m.read(-1, 1),
                lambda: m.read(0, 2**63), lambda: m.read(65535, 2), lambda: m.write(65535, b"ab"),
                lambda: m[70000], lambda: ex.tab.grow(2**33), lambda: ex.tab.grow(-1), lambda: ex.tab[2**40],
                lambda: MemoryType(2**40), lambda: TableType("funcref", 2**40), lambda: MemoryType(5, 1),
                lambda: Table(s, TableType("funcref", 2**32 - 1)), lambda: ex.add(2**64, 0)):
        print(outcome(act))
    print(len(m), len(ex.tab))
    """)
    assert "ok" not in out[:-2] and len(out) == 18, out
    assert out[-2:] == ["65536", "2"], out
    assert all(x.endswith("Error") for x in out[:-2]), out


def test_call_argument_hooks_close_the_store():
    out = attack(SETUP, """
    class Closer:
        def __index__(self):
            s.close(); return 1
        def __float__(self):
            s.close(); return 1.0
    class Raiser:
        def __index__(self):
            raise ZeroDivisionError
    print(outcome(lambda: ex.add(Raiser(), 1)), ex.add(1, 1))
    print(outcome(lambda: ex.add(Closer(), 1)), s.closed, outcome(lambda: ex.add(1, 1)))
    """)
    assert out[:2] == ["ZeroDivisionError", "2"], out
    assert out[2:] == [out[2], "True", "StoreClosedError"] and out[2] in ("ok", "StoreClosedError"), out


def test_func_map_with_hostile_inputs():
    out = attack(SETUP, """
    import numpy as np
    class Raiser:
        def __index__(self):
            raise ZeroDivisionError
    class BadArray:
        def __array__(self, *a, **k):
            raise ZeroDivisionError
    class Liar:
        def __len__(self):
            return 10**12
        def __getitem__(self, i):
            raise IndexError
    for args in (([Raiser()] * 3, [1, 2, 3]), (BadArray(), 1), (Liar(), 1), ([1, 2], [1, 2, 3]),
                 (np.ones((2, 2), dtype=object), 1), ([2**40], 1), ([1.5], 1), ("abc", 1), (None, 1)):
        print(outcome(lambda: ex.add.map(*args)))
    print(outcome(lambda: ex.add.map([1, 2], [3, 4], out=np.empty(1, dtype=np.int32))))
    print(outcome(lambda: ex.add.map([1, 2], [3, 4], out=np.empty(2, dtype=np.int32)[::-1])))
    print(list(ex.add.map([1, 2], [3, 4])))
    """)
    assert out[:9] == ["ZeroDivisionError", "ZeroDivisionError", "MemoryError", "ValueError",
                       "ok",  # an object array of ints converts
                       "OverflowError", "TypeError", "TypeError", "TypeError"], out
    assert out[9:11] == ["ValueError", "ok"], out  # a wrong-sized out; a reversed view is fine
    assert out[11:] == ["[np.int32(4),", "np.int32(6)]"], out


def test_func_map_index_hook_closes_the_store():
    out = attack(SETUP, """
    class Closer:
        def __index__(self):
            s.close(); return 1
    print(outcome(lambda: ex.add.map([1, Closer(), 3], [1, 1, 1])), s.closed)
    print(outcome(lambda: ex.add.map([1], [1])))
    s2 = Store(e)
    def f(x):
        print("close-in-map", outcome(s2.close)); return x
    i2, ex2 = full(s2, f)
    print(outcome(lambda: ex2.call_f.map([1, 2])), s2.closed)
    """)
    assert out[:2] == [out[0], "True"] and out[0] in ("ok", "StoreClosedError"), out
    assert out[2] == "StoreClosedError", out
    # close() from a host function inside map() refuses like inside a call
    assert out[3:] == ["close-in-map", "WasmError"] * 2 + ["ok", "False"], out


def test_memory_views_outlive_close():
    out = attack(SETUP, """
    import numpy as np
    v = memoryview(ex.mem); a = np.frombuffer(ex.mem, dtype=np.uint8)
    print(outcome(s.close), outcome(lambda: ex.mem.grow(1)), s.closed)
    v[100] = 7  # a view stays valid across growth (the memory does not move)
    print(ex.mem[100], a[100], len(ex.mem))
    del a
    print(outcome(s.close))
    v.release()
    print(outcome(s.close), s.closed, outcome(lambda: ex.mem.read(0, 1)), outcome(lambda: memoryview(ex.mem)))
    s2 = Store(e); i2, ex2 = full(s2)
    with memoryview(ex2.mem) as v2:
        sub = v2[10:20]
    print(outcome(s2.close), outcome(sub.tobytes))  # a slice holds the export
    sub.release()
    print(outcome(s2.close))
    """)
    assert out[:6] == ["BufferError", "ok", "False", "7", "7", "131072"], out
    assert out[6] == "BufferError", out
    assert out[7:11] == ["ok", "True", "StoreClosedError", "StoreClosedError"], out
    assert out[11:] == ["BufferError", "ok", "ok"], out


def test_out_of_bounds_message_names_the_true_end():
    # the end of [offset, offset + length) is computed without C overflow (found by UBSan)
    out = attack(SETUP, """
    try:
        ex.mem.read(2**62, 2**62)
    except IndexError as exc:
        print(str(exc).replace(",", " ").replace(")", " ").replace("[", " "))
    """)
    assert str(2**63) in out and "4611686018427387904" in out, out
