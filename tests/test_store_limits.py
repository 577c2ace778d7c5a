"""Store limits (memory, tables, instances, memory count), stack overflow and
max_wasm_stack, and one store that survives every limit in turn.

Every runaway loop here has fuel or a deadline; a 60 s timeout (pytest-timeout)
kills the test process if a test hangs anyway.
"""

import pytest

from wasmbind import Config, Engine, Instance, Module, Store, Trap, TrapCode, WasmError, run_wasi

from support import limits_instance as instance
from support import wasi_prog

PAGE = 65536


pytestmark = pytest.mark.timeout(60)


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

def test_stack_overflow_traps_and_store_is_reusable(sandbox_engine):
    store, ex = instance(sandbox_engine)
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
