"""run_wasi_async: run_wasi's arguments and results, awaited on an async engine."""

import asyncio
import inspect

import pytest

import wasmbind
from wasmbind import Config, Engine, Module, TrapCode, run_wasi, run_wasi_async

from wasi_build import build_wasi, have_wasi_toolchain, wasi_toolchain_problem

pytestmark = pytest.mark.timeout(120)

# writes "hi from wat\n", exits 3; exports twice(x) and spin(n)
WAT_CMD = r"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi from wat\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 12))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $exit (i32.const 3)))
  (func (export "twice") (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
  (func (export "spin") (param i32) (result i32) (local i32)
    (block (loop (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br 0)))
    (local.get 1))
  (func (export "forever") (loop (br 0))))
"""


def _fields(r):
    return (r.args, r.returncode, r.stdout, r.stderr, r.trap.code if r.trap else None, r.value,
            r.stdout_truncated, r.stderr_truncated, r.fuel_consumed is None)


@pytest.mark.parametrize("kw", [
    {},
    {"argv": ["prog", "x"], "env": {"A": "1"}},
    {"invoke": "twice", "invoke_args": (21,)},
    {"invoke": "spin", "invoke_args": (5_000_000,), "fuel": 10**9},
    {"invoke": "forever", "timeout": 0.05},
    {"invoke": "forever", "fuel": 100_000},
    {"text": True, "max_output": 4},
])
def test_same_results_as_run_wasi(kw):
    want = run_wasi(WAT_CMD, **kw)
    got = asyncio.run(run_wasi_async(WAT_CMD, **kw))
    assert _fields(got) == _fields(want)
    if kw.get("fuel") and got.trap is None:
        assert got.fuel_consumed == want.fuel_consumed
    if kw.get("invoke") == "forever":
        assert got.trap.code == (TrapCode.INTERRUPT if "timeout" in kw else TrapCode.OUT_OF_FUEL)


def test_same_errors_as_run_wasi():
    async def main():
        with pytest.raises(wasmbind.LinkError):
            await run_wasi_async(WAT_CMD, invoke="nope")
        with pytest.raises(wasmbind.CompileError):
            await run_wasi_async('(module (func (export "_start") i32.add))')
        with pytest.raises(ValueError, match="fuel"):
            await run_wasi_async(WAT_CMD, fuel=-1)
        with pytest.raises(TypeError):
            await run_wasi_async(WAT_CMD, no_such_option=1)
        with pytest.raises(wasmbind.WasiExit) as info:
            await run_wasi_async(WAT_CMD, check=True)
        assert info.value.code == 3

    asyncio.run(main())


def test_the_signature_is_run_wasis():
    params = inspect.signature(run_wasi).parameters
    assert list(params)[:2] == ["program", "argv"]
    with pytest.raises(TypeError):
        asyncio.run(run_wasi_async(WAT_CMD, None, None))


def test_engines_must_be_of_the_right_kind():
    sync = Engine(Config.sandbox())
    aeng = Engine(Config(async_support=True))

    async def main():
        with pytest.raises(ValueError, match="needs an async engine"):
            await run_wasi_async(WAT_CMD, engine=sync)
        with pytest.raises(ValueError, match="needs an async engine"):
            await run_wasi_async(Module(sync, WAT_CMD))
        r = await run_wasi_async(Module(aeng, WAT_CMD))
        assert r.returncode == 3

    asyncio.run(main())
    with pytest.raises(ValueError, match="use run_wasi_async"):
        run_wasi(WAT_CMD, engine=aeng)


def test_many_programs_on_one_loop_and_cancellation():
    async def main():
        results = await asyncio.gather(*[run_wasi_async(WAT_CMD, invoke="spin", invoke_args=(2_000_000 + i,))
                                         for i in range(50)])
        assert [r.value for r in results] == [2_000_000 + i for i in range(50)]
        task = asyncio.ensure_future(run_wasi_async(WAT_CMD, invoke="forever"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(run_wasi_async(WAT_CMD, invoke="forever"), 0.05)

    asyncio.run(main())


def test_a_c_program_gives_the_same_output():
    if not have_wasi_toolchain():
        pytest.skip("no WASI toolchain: %s" % wasi_toolchain_problem())
    path = build_wasi("hello")
    want = run_wasi(path, ["hello", "a b"], env={"FOO": "bar"})
    got = asyncio.run(run_wasi_async(path, ["hello", "a b"], env={"FOO": "bar"}))
    assert _fields(got) == _fields(want)
    assert got.returncode == 0 and b"hello from wasi" in got.stdout


def test_a_component_command_gives_run_wasis_results_and_shares_the_loop():
    """A WASI preview 2 command component, awaited: the same results as
    run_wasi for every way it ends, and a spinning one times out while a
    heartbeat on the same loop keeps beating."""
    from component_build import command_wasm

    wasm = command_wasm()
    for mode in ("hello", "zero-exit", "fail", "xit", "trap", "memory"):
        sync = run_wasi(wasm, ["cmd", mode], max_memory=1 << 20)
        awaited = asyncio.run(run_wasi_async(wasm, ["cmd", mode], max_memory=1 << 20))
        assert _fields(awaited) == _fields(sync), mode

    async def main():
        beats = []

        async def heartbeat():
            while True:
                beats.append(1)
                await asyncio.sleep(0.01)

        hb = asyncio.ensure_future(heartbeat())
        r = await run_wasi_async(wasm, ["cmd", "spin"], timeout=1.0)
        hb.cancel()
        return r, len(beats)

    r, beats = asyncio.run(main())
    assert r.timed_out and r.returncode is None and r.stdout == b"spinning\n", r
    # the loop ran while the guest spun (a blocking run would allow one beat,
    # before the run starts; a loaded machine may give far fewer than 100)
    assert beats >= 3
