"""Async host functions: `async def` imports on async stores. The guest waits
while the coroutine awaits; results, exceptions both ways, cancellation at
the host's await, the Caller across awaits, start functions, and host
functions on the call's own stack (deep recursion, no crash)."""

import asyncio
import functools
import gc
import sys

import pytest

import wasmbind
from wasmbind import (
    Caller,
    Func,
    FuncType,
    Instance,
    Linker,
    Memory,
    Module,
    Store,
    StoreBusyError,
    Trap,
    TrapCode,
    ValType,
    WasmError,
)

from support import assert_clean, run_py

# a guest that never yields, or a call that never wakes, fails instead of hanging
pytestmark = pytest.mark.timeout(120)

I32 = ValType.i32
UNARY = FuncType([I32], [I32])

# run(x) = f(x) + 1, through the import env.f
CALLS_F = """(module (import "env" "f" (func $f (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (param i32) (result i32) (i32.add (call $f (local.get 0)) (i32.const 1))))"""

# run(n) calls env.a then env.b n times, summing their results
TWO_IMPORTS = """(module
  (import "env" "a" (func $a (param i32) (result i32)))
  (import "env" "b" (func $b (param i32) (result i32)))
  (func (export "run") (param i32) (result i32) (local i32 i32)
    (block (loop (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
      (local.set 2 (i32.add (local.get 2) (call $a (local.get 1))))
      (local.set 2 (i32.add (local.get 2) (call $b (local.get 1))))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br 0)))
    (local.get 2)))"""


def run(coro):
    return asyncio.run(coro)


async def with_f(engine, f, wat=CALLS_F, store=None):
    store = store or Store(engine)
    inst = await Instance.create_async(store, Module(engine, wat), {"env": {"f": f}})
    return store, inst.exports


# ---------------------------------------------------------------- awaiting


def test_an_async_import_awaits_asyncio_sleep(aengine):
    async def f(x):
        await asyncio.sleep(0.01)
        await asyncio.sleep(0)
        return x * 2

    async def main():
        store, ex = await with_f(aengine, f)
        assert await ex.run.call_async(20) == 41
        # while it sleeps, the loop runs other tasks and other guests
        results = await asyncio.gather(*[(await with_f(aengine, f))[1].run.call_async(i) for i in range(50)])
        assert results == [2 * i + 1 for i in range(50)]

    run(main())


def test_an_async_import_awaits_another_tasks_result(aengine):
    async def main():
        queue = asyncio.Queue()
        done = asyncio.get_running_loop().create_future()

        async def f(x):
            item = await queue.get()  # given by the producer task, later
            return item + x

        async def producer():
            await asyncio.sleep(0.01)
            await queue.put(100)
            done.set_result(None)

        store, ex = await with_f(aengine, f)
        prod = asyncio.ensure_future(producer())
        assert await ex.run.call_async(5) == 106
        await done
        await prod

        # and a future another task completes
        fut = asyncio.get_running_loop().create_future()

        async def g(x):
            return await fut

        store, ex = await with_f(aengine, g)
        asyncio.get_running_loop().call_later(0.01, fut.set_result, 41)
        assert await ex.run.call_async(0) == 42

    run(main())


def test_async_and_sync_host_functions_mixed(aengine):
    seen = []

    def a(i):
        seen.append(("a", i))
        return i

    async def b(i):
        seen.append(("b", i))
        if i % 2:
            await asyncio.sleep(0)
        return 10 * i

    async def main():
        store = Store(aengine)
        inst = await Instance.create_async(store, Module(aengine, TWO_IMPORTS), {"env": {"a": a, "b": b}})
        assert await inst.exports.run.call_async(10) == sum(11 * i for i in range(10))
        assert seen == [(k, i) for i in range(10) for k in "ab"]
        # the same, defined in a linker and as Funcs
        linker = Linker(aengine)
        linker.define_func("env", "a", UNARY, b)
        linker.define(store, "env", "b", Func(store, UNARY, a))
        inst = await linker.instantiate_async(store, Module(aengine, TWO_IMPORTS))
        assert await inst.exports.run.call_async(4) == sum(11 * i for i in range(4))

    run(main())


def test_kinds_of_async_callables(aengine):
    class Doubler:
        async def __call__(self, x):
            await asyncio.sleep(0)
            return 2 * x

        async def method(self, x):
            return 3 * x

    async def scaled(k, x):
        await asyncio.sleep(0)
        return k * x

    async def no_await(x):
        return x

    async def main():
        for f, want in [(Doubler(), 2 * 7 + 1), (Doubler().method, 3 * 7 + 1),
                        (functools.partial(scaled, 5), 5 * 7 + 1), (no_await, 8)]:
            store, ex = await with_f(aengine, f)
            assert await ex.run.call_async(7) == want, f

    run(main())


def test_many_guests_awaiting_an_import_many_times(aengine):
    module = Module(aengine, TWO_IMPORTS)

    async def yield_once(i):
        await asyncio.sleep(0)
        return 1

    async def guest():
        store = Store(aengine)
        inst = await Instance.create_async(store, module, {"env": {"a": yield_once, "b": yield_once}})
        return await inst.exports.run.call_async(50)

    async def main():
        return await asyncio.gather(*[guest() for _ in range(200)])

    assert run(main()) == [100] * 200


def test_results_and_arguments_of_every_kind(aengine):
    wat = """(module
      (import "env" "f" (func $f (param i64 f32 f64 externref) (result f64 i64 externref)))
      (func (export "run") (param i64 f32 f64 externref) (result f64 i64 externref)
        (call $f (local.get 0) (local.get 1) (local.get 2) (local.get 3))))"""
    payload = object()

    async def f(a, b, c, d):
        await asyncio.sleep(0)
        assert d is payload
        return c + b, a - 1, [d]

    async def main():
        store, ex = await with_f(aengine, f, wat)
        x, y, z = await ex.run.call_async(2**40, 0.5, 2.0, payload)
        assert (x, y, z[0]) == (2.5, 2**40 - 1, payload)

    run(main())


# ---------------------------------------------------------------- exceptions


def test_exceptions_from_async_imports_are_the_same_object(aengine):
    class Custom(Exception):
        pass

    raised = []

    async def before_await(x):
        raised.append(Custom("before"))
        raise raised[-1]

    async def after_await(x):
        await asyncio.sleep(0)
        raised.append(Custom("after"))
        raise raised[-1]

    async def base(x):
        await asyncio.sleep(0)
        raised.append(SystemExit(3))
        raise raised[-1]

    def sync(x):
        raised.append(Custom("sync"))
        raise raised[-1]

    async def main():
        for f, cls in [(before_await, Custom), (after_await, Custom), (base, SystemExit), (sync, Custom)]:
            store, ex = await with_f(aengine, f)
            with pytest.raises(cls) as info:
                await ex.run.call_async(1)
            assert info.value is raised[-1]
            assert await (await with_f(aengine, lambda x: x, store=store))[1].run.call_async(1) == 2

    run(main())


def test_wrong_results_from_async_imports(aengine):
    async def not_an_int(x):
        await asyncio.sleep(0)
        return "no"

    async def too_many(x):
        return (1, 2)

    wat2 = """(module (import "env" "f" (func $f (param i32) (result i32 i32)))
      (func (export "run") (param i32) (result i32 i32) (call $f (local.get 0))))"""

    async def main():
        store, ex = await with_f(aengine, not_an_int)
        with pytest.raises(TypeError, match="expected an int"):
            await ex.run.call_async(1)
        store, ex = await with_f(aengine, too_many)
        with pytest.raises(TypeError, match="expected an int for i32, got tuple"):
            await ex.run.call_async(1)
        store, ex = await with_f(aengine, not_an_int, wat2)
        with pytest.raises(TypeError, match="must return a tuple of 2"):
            await ex.run.call_async(1)

    run(main())


def test_traps_reach_the_host_coroutine_and_back(aengine):
    # guest -> host: an async import awaits a call into another store that traps,
    # handles the Trap, and the first guest goes on with what it returned
    boom = Module(aengine, '(module (func (export "boom") (param i32) (result i32) unreachable))')

    async def main():
        other = Store(aengine)
        inner = (await Instance.create_async(other, boom)).exports.boom

        async def f(x):
            try:
                return await inner.call_async(x)
            except Trap as trap:
                assert trap.code == TrapCode.UNREACHABLE
                return -100

        store, ex = await with_f(aengine, f)
        assert await ex.run.call_async(1) == -99

    run(main())


def test_an_import_cannot_await_its_own_store(aengine):
    async def main():
        holder = {}

        async def f(x):
            return await holder["run"].call_async(x)

        store, ex = await with_f(aengine, f)
        holder["run"] = ex.run
        with pytest.raises(StoreBusyError, match="cannot await another call into its own Store"):
            await ex.run.call_async(1)
        assert (await with_f(aengine, lambda x: x, store=store))[1].run  # the store goes on

    run(main())


def test_keyboard_interrupt_from_an_async_import():
    code = """
    import asyncio
    from wasmbind import Config, Engine, Instance, Module, Store
    eng = Engine(Config(async_support=True))
    mod = Module(eng, '(module (import "env" "f" (func $f (param i32) (result i32)))'
                      '(func (export "run") (param i32) (result i32) (call $f (local.get 0))))')
    state = {}

    async def f(x):
        await asyncio.sleep(0)
        raise KeyboardInterrupt

    async def main(host):
        state["store"] = store = state.get("store") or Store(eng)
        inst = await Instance.create_async(store, mod, {"env": {"f": host}})
        return await inst.exports.run.call_async(41)

    try:
        asyncio.run(main(f))
    except KeyboardInterrupt:
        print("interrupted")

    async def ok(x):
        return x + 1

    print(asyncio.run(main(ok)))
    """
    assert_clean(run_py(code, timeout=60), "interrupted\n42")


# ---------------------------------------------------------------- cancellation


async def _cancelled_while_awaiting(engine, f, arg):
    """Starts run(arg) with import f, cancels it while f awaits: (store, exports,
    the task, awaited)."""
    store, ex = await with_f(engine, f)
    task = asyncio.ensure_future(ex.run.call_async(arg))
    await asyncio.sleep(0.01)
    task.cancel()
    return store, ex, task


def test_cancellation_while_the_import_awaits(aengine):
    events = []

    async def f(x):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            events.append("cancelled at the await")
            raise
        finally:
            events.append("finally")
        return x

    async def main():
        store, ex, task = await _cancelled_while_awaiting(aengine, f, 1)
        with pytest.raises(asyncio.CancelledError):
            await task
        assert events == ["cancelled at the await", "finally"]
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ex.run.call_async(2), 0.01)
        # the store is usable again
        ex2 = (await with_f(aengine, lambda x: x * 3, store=store))[1]
        assert await ex2.run.call_async(2) == 7

    run(main())


def test_an_import_may_handle_the_cancellation(aengine):
    async def f(x):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return -1  # swallowed: the guest goes on with this, the task finishes
        return x

    async def main():
        store, ex, task = await _cancelled_while_awaiting(aengine, f, 1)
        assert await task == 0

    run(main())


def test_abandoned_calls_close_the_import_coroutine(aengine):
    events = []

    async def f(x):
        try:
            await asyncio.sleep(30)
        finally:
            events.append("closed")
        return x

    async def main():
        store, ex = await with_f(aengine, f)
        call = ex.run.call_async(1)
        task = asyncio.ensure_future(call)
        await asyncio.sleep(0.01)
        return store, ex, task

    loop = asyncio.new_event_loop()
    store, ex, task = loop.run_until_complete(main())
    loop.close()  # the task stays pending forever
    del task, loop
    gc.collect()
    assert events == ["closed"]
    assert run(with_f(aengine, lambda x: x, store=store))[0] is store


# ---------------------------------------------------------------- Caller


def test_the_caller_is_valid_across_awaits(aengine):
    kept = []

    async def f(caller, x):
        mem = caller["memory"]
        mem[0] = x
        await asyncio.sleep(0.001)
        mem[1] = mem[0] + 1  # still the guest's memory, still valid
        kept.append(caller)
        return mem[1]

    async def main():
        store = Store(aengine)
        linker = Linker(aengine)
        linker.define_func("env", "f", UNARY, f, access_caller=True)
        inst = await linker.instantiate_async(store, Module(aengine, CALLS_F))
        assert await inst.exports.run.call_async(9) == 11
        assert inst.exports.memory[0:2] == bytes([9, 10])
        with pytest.raises(WasmError, match="only valid while its host function runs"):
            kept[0].get("memory")

    run(main())


def test_the_caller_is_not_for_other_tasks(aengine):
    # between the coroutine's steps the guest is suspended: its Caller is not usable
    async def main():
        got = asyncio.get_running_loop().create_future()
        release = asyncio.get_running_loop().create_future()

        async def f(caller, x):
            got.set_result(caller)
            await release
            return x

        store = Store(aengine)
        func = Func(store, UNARY, f, access_caller=True)
        inst = await Instance.create_async(store, Module(aengine, CALLS_F), [func])
        task = asyncio.ensure_future(inst.exports.run.call_async(1))
        caller = await got
        with pytest.raises(WasmError, match="only valid while"):
            caller.get("memory")
        with pytest.raises(StoreBusyError):
            inst.exports.memory[0]
        release.set_result(None)
        assert await task == 2

    run(main())


# ---------------------------------------------------------------- instantiation


def test_a_start_function_awaits_a_host_coroutine(aengine):
    wat = """(module (import "env" "f" (func $f (param i32) (result i32)))
      (global $g (export "g") (mut i32) (i32.const 0))
      (func $start (global.set $g (call $f (i32.const 20))))
      (start $start))"""

    async def f(x):
        await asyncio.sleep(0.01)
        return x + 1

    async def main():
        store = Store(aengine)
        inst = await Instance.create_async(store, Module(aengine, wat), {"env": {"f": f}})
        assert inst.exports.g.value == 21
        linker = Linker(aengine)
        linker.define_func("env", "f", UNARY, f)
        inst = await linker.instantiate_async(store, Module(aengine, wat))
        assert inst.exports.g.value == 21

        async def fails(x):
            await asyncio.sleep(0)
            raise LookupError("in the start function")

        with pytest.raises(LookupError, match="in the start function"):
            await Instance.create_async(store, Module(aengine, wat), {"env": {"f": fails}})

    run(main())


# ---------------------------------------------------------------- refused


def test_async_imports_need_an_async_engine(plain_engine, sandbox_engine):
    async def f(x):
        return x

    for engine in (plain_engine, sandbox_engine):
        store = Store(engine)
        with pytest.raises(WasmError, match="async def host functions need an async engine"):
            Func(store, UNARY, f)
        with pytest.raises(WasmError, match="need an async engine"):
            Linker(engine).define_func("env", "f", UNARY, f)
        with pytest.raises(WasmError, match="need an async engine"):
            Instance(store, Module(engine, CALLS_F), {"env": {"f": f}})
    refs = sys.getrefcount(f)
    for _ in range(100):
        with pytest.raises(WasmError):
            Linker(plain_engine).define_func("env", "f", UNARY, f)
    assert sys.getrefcount(f) <= refs + 1


# ---------------------------------------------------------------- the call's own stack


def test_deep_recursion_in_host_functions_on_the_calls_stack():
    # host functions of async stores run on the engine's stack for the call:
    # Python's own recursion limit stops them before it runs out
    code = """
    import asyncio, json
    from wasmbind import Config, Engine, Instance, Module, Store
    eng = Engine(Config(async_support=True))
    mod = Module(eng, '(module (import "env" "f" (func $f (param i32) (result i32)))'
                      '(func (export "run") (param i32) (result i32) (call $f (local.get 0))))')

    def rec(n):
        return rec(n + 1)

    nested = []
    for _ in range(100000):
        nested = [nested]

    def c_recursion(x):
        return len(json.dumps(nested))

    async def async_rec(x):
        await asyncio.sleep(0)
        return rec(x)

    async def main():
        out = []
        for host in (rec, c_recursion, async_rec, lambda x: len(repr(nested))):
            store = Store(eng)
            inst = await Instance.create_async(store, mod, {"env": {"f": host}})
            try:
                await inst.exports.run.call_async(0)
            except RecursionError:
                out.append("RecursionError")
        return out

    print(" ".join(asyncio.run(main())))
    """
    proc = run_py(code, timeout=120)
    assert_clean(proc, " ".join(["RecursionError"] * 4))


def test_host_memory_views_from_async_imports(aengine):
    async def f(caller, n):
        mem = caller["memory"]
        view = memoryview(mem)
        try:
            view[0:4] = b"wasm"
            await asyncio.sleep(0)
            return view[0]
        finally:
            view.release()

    async def main():
        store = Store(aengine)
        inst = await Instance.create_async(store, Module(aengine, CALLS_F),
                                           [Func(store, UNARY, f, access_caller=True)])
        assert await inst.exports.run.call_async(0) == ord("w") + 1
        assert inst.exports.memory[0:4] == b"wasm"
        store.close()

    run(main())


def test_func_type_and_repr_of_async_imports(aengine):
    async def f(x):
        return x

    store = Store(aengine)
    func = Func(store, UNARY, f)
    assert func.type == UNARY and func.name == "f"
    assert "f" in repr(func)
    with pytest.raises(WasmError, match="call_async"):
        func(1)
    assert run(func.call_async(5)) == 5
    mem = Memory(store, wasmbind.MemoryType(1))
    assert len(mem) == 65536
    assert isinstance(Caller, type)


def test_an_import_awaiting_a_spinning_guest_while_others_queue(aengine):
    # the inner call runs within the outer call's turns on the loop: it never
    # waits in the loop's queue behind the outer call it serves
    spin = Module(aengine, """(module (func (export "count") (param i32) (result i32) (local i32)
      (block (loop (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
        (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br 0))) (local.get 1)))""")

    async def main():
        inner = (await Instance.create_async(Store(aengine), spin)).exports.count

        async def f(x):
            total = 0
            for _ in range(3):
                total += await inner.call_async(x)
            return total

        others = [(await Instance.create_async(Store(aengine), spin)).exports.count for _ in range(8)]
        store, ex = await with_f(aengine, f)
        results = await asyncio.gather(ex.run.call_async(10_000_000),
                                       *[o.call_async(20_000_000) for o in others])
        assert results == [30_000_001] + [20_000_000] * 8

    run(main())
