"""The component model on async stores: awaited component calls (values,
keywords, results and errors), async def host functions of component
linkers (awaiting other tasks, mixed with sync ones, their exceptions),
async instantiation, WASI preview 2 on an async linker, traps, deadlines,
fuel and cancellation, and the sync API refused (and the reverse)."""

import asyncio

import pytest
from component_build import Blob, compile_cached, kitchen_host
from test_component_linker import LOGGER

import wasmbind
from wasmbind import Store, Trap, TrapCode, WasiConfig, WasmError
from wasmbind.component import Component, ComponentError, Linker, Record

from support import assert_clean, run_py

pytestmark = pytest.mark.timeout(240)

# LOGGER imports log(u32) and calls it twice from run(n): with n, then n + 1
# the same, calling log once: the guest returns right after it
LOG_ONCE = LOGGER.replace(" (call $log (i32.add (local.get 0) (i32.const 1)))", "")
assert LOG_ONCE != LOGGER

# imports get(u32) -> u32 and tick(); run(n) returns get(n) + get(n + 1), ticking between
TWO_IMPORTS = """
(component
  (import "get" (func $get (param "x" u32) (result u32)))
  (import "tick" (func $tick))
  (core func $get-core (canon lower (func $get)))
  (core func $tick-core (canon lower (func $tick)))
  (core module $m
    (import "host" "get" (func $get (param i32) (result i32)))
    (import "host" "tick" (func $tick))
    (func (export "run") (param i32) (result i32)
      (call $get (local.get 0))
      (call $tick)
      (call $get (i32.add (local.get 0) (i32.const 1)))
      i32.add))
  (core instance $i (instantiate $m (with "host" (instance (export "get" (func $get-core))
                                                           (export "tick" (func $tick-core))))))
  (func (export "run") (param "n" u32) (result u32) (canon lift (core func $i "run")))
)
"""


@pytest.fixture(scope="module")
def aecho(aengine, echo_wasm):
    return Component(aengine, echo_wasm)


async def _echo(engine, component, store=None):
    store = store or Store(engine)
    inst = await Linker(engine).instantiate_async(store, component)
    return store, inst.exports


@pytest.fixture(scope="module")
def akitchen(aengine, kitchen_wasm):
    return compile_cached(aengine, kitchen_wasm, ".async")


async def _kitchen(engine, component, store=None, linker=None):
    """(the kitchen's api, its store) on an async store, WASI p2 on the async linker."""
    store = store or Store(engine)
    if linker is None:
        linker = Linker(engine)
        linker.add_wasip2()
        kitchen_host(linker)
    inst = await linker.instantiate_async(store, component)
    return inst.exports["demo:kitchen/api"], store


# ---------------------------------------------------------------- calls


def test_awaited_calls_convert_values_as_sync_calls(aengine, aecho, engine, echo):
    async def main():
        _, ex = await _echo(aengine, aecho)
        for _ in range(3):  # again and again: each call's post-return has run
            assert await ex.add.call_async(2, 3) == echo.add(2, 3) == 5
            assert await ex.echo_string.call_async("héllo") == "héllo"
            assert await ex["echo-bytes"].call_async(b"\x00\xff") == b"\x00\xff"
            assert await ex.echo_u32s.call_async([1, 2, 2**32 - 1]) == [1, 2, 2**32 - 1]
            p = Record(a=1, b=2, c=3, d=4)
            assert await ex.echo_point.call_async(p) == echo.echo_point(p)
        assert await ex.add.call_async(b=1, a=2) == 3  # keywords, as in sync calls
        with pytest.raises(OverflowError):
            ex.add.call_async(-1, 0)  # checked when made, before anything runs
        with pytest.raises(TypeError, match="argument"):
            ex.echo_string.call_async(5)
        with pytest.raises(TypeError):
            ex.add.call_async(1)
        assert await ex.add.call_async(40, 2) == 42  # the store is fine after those

    asyncio.run(main())


def test_traps_deadlines_fuel_and_cancellation(aengine, afuel, aecho, echo_wasm):
    async def main():
        # (a component instance that trapped may not be entered again: a
        # fresh one per case)
        _, ex = await _echo(aengine, aecho)
        with pytest.raises(Trap) as info:
            await ex.trap.call_async()
        assert info.value.code == TrapCode.UNREACHABLE
        store, ex = await _echo(aengine, aecho)
        store.set_timeout(0.05)
        with pytest.raises(Trap) as info:
            await ex.spin.call_async()
        assert info.value.code == TrapCode.INTERRUPT
        # cancelled mid-spin: the guest stops at its next yield
        _, ex = await _echo(aengine, aecho)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ex.spin.call_async(), 0.05)
        _, ex = await _echo(aengine, aecho)
        task = asyncio.ensure_future(ex.spin.call_async())
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        fstore = Store(afuel)
        fstore.set_fuel(100_000)
        _, fex = await _echo(afuel, Component(afuel, echo_wasm), fstore)
        with pytest.raises(Trap) as info:
            await fex.spin.call_async()
        assert info.value.code == TrapCode.OUT_OF_FUEL

    asyncio.run(main())


def test_spinning_components_share_the_loop(aengine, aecho):
    """Guests spinning at once all make progress, and a heartbeat on the same
    loop keeps beating: each is stopped by its own deadline."""
    async def guest(i):
        store, ex = await _echo(aengine, aecho)
        store.set_timeout(0.1 + i * 0.005)
        with pytest.raises(Trap) as info:
            await ex.spin.call_async()
        return info.value.code

    async def main():
        beats = []

        async def heartbeat():
            while True:
                beats.append(asyncio.get_running_loop().time())
                await asyncio.sleep(0.005)
        hb = asyncio.ensure_future(heartbeat())
        codes = await asyncio.gather(*[guest(i) for i in range(20)])
        hb.cancel()
        return codes, beats

    codes, beats = asyncio.run(main())
    assert codes == [TrapCode.INTERRUPT] * 20
    assert len(beats) > 10  # a design that blocks the loop gets one or two


# ---------------------------------------------------------------- host functions


def test_async_and_sync_host_functions_mixed(aengine):
    async def main():
        other = asyncio.get_running_loop().create_future()
        ticks = []

        async def get(x):
            await asyncio.sleep(0.001)
            if x == 11:
                return await other  # another task's result
            return x * 10

        linker = Linker(aengine)
        linker.root.add_func("get", get)
        linker.root.add_func("tick", lambda: ticks.append(1))  # a sync one beside it
        inst = await linker.instantiate_async(Store(aengine), Component(aengine, TWO_IMPORTS))
        assert await inst.exports.run.call_async(3) == 70
        asyncio.get_running_loop().call_later(0.01, other.set_result, 5)
        assert await inst.exports.run.call_async(10) == 105
        assert ticks == [1, 1]

    asyncio.run(main())


def test_async_host_exceptions_come_out_unchanged(aengine):
    c = Component(aengine, LOGGER)
    boom = KeyError("the same object")

    async def raises(n):
        await asyncio.sleep(0)
        raise boom

    async def interrupts(n):
        await asyncio.sleep(0)
        raise KeyboardInterrupt

    async def returns_a_value(n):
        return 5  # log returns nothing

    async def get(x):
        await asyncio.sleep(0)
        raise boom

    async def main():
        # (after an await the engine gives the function no way to fail the
        # call: the exception still comes out of it, whether the guest calls
        # another import, returns at once, or waits for a result)
        once = Component(aengine, LOG_ONCE)
        for comp, fn, exc_type in ((c, raises, KeyError), (once, raises, KeyError),
                                   (c, interrupts, KeyboardInterrupt), (once, interrupts, KeyboardInterrupt),
                                   (c, returns_a_value, TypeError)):
            linker = Linker(aengine)
            linker.root.add_func("log", fn)
            store = Store(aengine)
            inst = await linker.instantiate_async(store, comp)
            with pytest.raises(exc_type) as info:
                await inst.exports.run.call_async(1)
            if fn is raises:
                assert info.value is boom
        linker = Linker(aengine)
        linker.root.add_func("get", get)
        linker.root.add_func("tick", lambda: None)
        inst = await linker.instantiate_async(Store(aengine), Component(aengine, TWO_IMPORTS))
        with pytest.raises(KeyError) as info:
            await inst.exports.run.call_async(1)
        assert info.value is boom

    asyncio.run(main())


def test_an_awaited_import_is_cancelled_with_its_caller(aengine):
    c = Component(aengine, LOGGER)
    state = []

    async def log(n):
        try:
            await asyncio.sleep(10)
        finally:
            state.append("finally ran")

    async def main():
        linker = Linker(aengine)
        linker.root.add_func("log", log)
        store = Store(aengine)
        inst = await linker.instantiate_async(store, c)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(inst.exports.run.call_async(1), 0.05)
        # the guest went no further: its second log call was refused at once
        assert state == ["finally ran"]

    asyncio.run(main())


def test_async_host_functions_need_an_async_engine(engine):
    async def log(n):
        pass
    with pytest.raises(WasmError, match="async engine"):
        Linker(engine).root.add_func("log", log)


# ---------------------------------------------------------------- sync and async refused


def test_sync_api_refused_on_async_store_and_the_reverse(aengine, aecho, engine, echo_component, echo):
    store = Store(aengine)
    with pytest.raises(WasmError, match="instantiate_async"):
        Linker(aengine).instantiate(store, aecho)

    async def main():
        _, ex = await _echo(aengine, aecho, store)
        with pytest.raises(WasmError, match="call_async"):
            ex.add(1, 2)

    asyncio.run(main())
    with pytest.raises(WasmError, match="async engine"):
        echo.add.call_async(1, 2)
    with pytest.raises(WasmError, match="async engine"):
        Linker(engine).instantiate_async(Store(engine), echo_component)


def test_a_sync_call_on_an_async_store_never_reaches_the_engine():
    proc = run_py("""
        import asyncio, sys
        sys.path.insert(0, %r)
        from test_component_linker import LOGGER
        import wasmbind
        from wasmbind.component import Component, Linker
        e = wasmbind.Engine(wasmbind.Config(async_support=True))
        c = Component(e, LOGGER)
        l = Linker(e)
        l.root.add_func("log", print)
        store = wasmbind.Store(e)
        try:
            l.instantiate(store, c)
        except wasmbind.WasmError as exc:
            print("refused:", exc)
        inst = asyncio.run(l.instantiate_async(store, c))
        try:
            inst.exports.run(1)
        except wasmbind.WasmError as exc:
            print("refused:", exc)
        print("ok")
    """ % __import__("os").path.dirname(__file__), timeout=120)
    assert_clean(proc)
    assert proc.stdout.split()[-1:] == ["ok"] and proc.stdout.count("refused:") == 2


# a core start function that spins: instantiating it never finishes by itself
SPIN_AT_START = """
(component
  (core module $m (func $spin (loop $l (br $l))) (start $spin))
  (core instance $i (instantiate $m))
)
"""


def test_instantiation_yields_and_the_linker_waits_for_it(aengine):
    linker = Linker(aengine)
    c = Component(aengine, SPIN_AT_START)

    async def main():
        beats = []

        async def heartbeat():
            for _ in range(5):
                beats.append(1)
                await asyncio.sleep(0.005)
        store = Store(aengine)
        task = asyncio.ensure_future(linker.instantiate_async(store, c))
        await heartbeat()  # the start function yields to the loop
        assert not task.done() and len(beats) == 5
        with pytest.raises(WasmError, match="in use by an async instantiation"):
            linker.root.add_func("f", print)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        linker.root.add_func("f", print)  # usable again once it is over
        store.set_timeout(0.05)
        with pytest.raises(Trap) as info:
            await linker.instantiate_async(store, c)
        assert info.value.code == TrapCode.INTERRUPT

    asyncio.run(main())


# ---------------------------------------------------------------- the kitchen (CPython in a component)


def test_kitchen_values_and_host_functions(aengine, akitchen):
    async def main():
        linker = Linker(aengine, allow_shadowing=True)
        linker.add_wasip2()
        kitchen_host(linker)
        host = linker.instance("demo:kitchen/host")

        async def add(a, b):
            await asyncio.sleep(0.001)
            return (a + b) & 0xFFFFFFFF

        async def fails(x):
            await asyncio.sleep(0)
            if x % 2:
                raise ComponentError("odd: %d" % x)
            return x // 2
        host.add_func("add", add)
        host.add_func("fails", fails)
        api, _ = await _kitchen(aengine, akitchen, linker=linker)
        assert await api.echo_string.call_async("ünï") == "ünï"
        assert await api.echo_points.call_async([Record(x=1, y=-2)]) == [Record(x=1, y=-2)]
        assert await api.echo_result.call_async(wasmbind.component.Ok(3)) == 3
        with pytest.raises(ComponentError) as info:
            await api.divide.call_async(1, 0)
        assert isinstance(info.value.value, str)
        assert await api.via_host_add.call_async(2, 3) == 5
        assert await api.via_host_point.call_async(Record(x=1, y=2)) == Record(x=1, y=2)
        assert await api.via_host_fails.call_async(4) == "ok:2"
        assert await api.via_host_fails.call_async(3) == "err:odd: 3"
        # own handles move into the component when the call is made
        counter = await api["[constructor]counter"].call_async(10)
        assert await api["[method]counter.inc"].call_async(counter) == 11
        assert await api.peek_counter.call_async(counter) == 11
        with pytest.raises(WasmError, match="async engine"):
            counter.drop()  # the engine has no async drop: refused, not aborted
        assert await api.take_counter.call_async(counter) == 11
        with pytest.raises(WasmError, match="moved"):
            await api.peek_counter.call_async(counter)
        # a host-defined resource, dropped by the guest inside an awaited call
        Blob.closed.clear()
        assert await api.via_host_blob.call_async(b"abcd") == (4, 4)
        assert Blob.closed == [b"abcd"]

    asyncio.run(main())


def test_wasip2_on_an_async_linker(aengine, akitchen):
    async def main():
        store = Store(aengine)
        store.set_wasi(WasiConfig(capture_stdout=True, env={"GREETING": "hi"}))
        api, _ = await _kitchen(aengine, akitchen, store)
        await api.print_hello.call_async("world")
        assert await api.env_var.call_async("GREETING") == "hi"
        assert b"hello, world" in store.wasi_stdout
        # a store without a WasiConfig gets the empty sandbox, as in sync stores
        api2, store2 = await _kitchen(aengine, akitchen)
        await api2.print_hello.call_async("nobody")
        assert await api2.env_var.call_async("HOME") is None
        assert store2.wasi_stdout is None
        # many guests on one loop, each with its own WASI environment
        stores = [Store(aengine) for _ in range(4)]
        for i, s in enumerate(stores):
            s.set_wasi(WasiConfig(env={"N": str(i)}))
        apis = [(await _kitchen(aengine, akitchen, s))[0] for s in stores]
        got = await asyncio.gather(*[a.env_var.call_async("N") for a in apis])
        assert got == ["0", "1", "2", "3"]
        with pytest.raises(Trap):
            await api.trap.call_async()

    asyncio.run(main())
