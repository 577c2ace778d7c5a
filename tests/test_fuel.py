"""Fuel: running out traps, consumption is readable and deterministic, the
store stays usable afterwards, and run_wasi's fuel budget.

Every runaway loop here has fuel or a deadline; a 60 s timeout (pytest-timeout)
kills the test process if a test hangs anyway.
"""

import pytest

from wasmbind import Store, Trap, TrapCode, WasmError, run_wasi

from support import limits_instance as instance
from support import wasi_prog

pytestmark = pytest.mark.timeout(60)


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
