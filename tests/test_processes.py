"""Work spread over processes: multiprocessing pools and ProcessPoolExecutor
with the fork, spawn and forkserver start methods, sending Modules by pickle
and getting results and exceptions (whole, by pickle) back, with fuel and
deadlines working in the workers.

Each scenario is a script run in its own interpreter and process group
(SCENARIO below): it runs every item through a pool of two workers and prints
one JSON line per item. A worker that hangs or dies shows as an item without
a result; the script is killed, whole group, when it overruns. Loops that
only a deadline can stop are bounded (a few seconds), so a deadline that does
not fire is a wrong result, not a hang.

Stores made before a fork: a forked child either uses them correctly (calls,
fuel, deadlines) or refuses with a clear WasmError (test_parent_store_*).
"""

import json
import os
import signal
import subprocess
import sys

import pytest

from support import python_env

pytestmark = pytest.mark.timeout(600)

METHODS = ("fork", "spawn", "forkserver")
KINDS = ("pool", "executor")
SCENARIO_TIMEOUT = 240
HERE = os.path.dirname(os.path.abspath(__file__))

SCENARIO = r'''
import json, multiprocessing as mp, os, pickle, sys, time
import concurrent.futures as cf

import wasmbind
from wasmbind import (Config, Instance, Module, Store, Trap, WasiExit, WasmError, pickling,
                      run_wasi, shared_engine)

from support import KERNEL_WAT as KERNEL, LONG_LOOP as LONG, WASI_EXIT3, WASI_LONG, WASI_TRAP, wasi_wat

# seconds for every item to be answered (a few are needed when all is well)
BUDGET = 60

PARENT = {}  # fork only: a store made in the parent before the pool

def call(module, name, args, fuel=None, timeout=None):
    with Store(module.engine) as store:
        if module.engine.config.consume_fuel:
            store.set_fuel(2**64 - 1 if fuel is None else fuel)
        if timeout is not None:
            store.set_timeout(timeout)
        return Instance(store, module).exports[name](*args)

def wasi_job(module, **kw):
    return run_wasi(module, **kw)

def identity(module):
    return os.getpid(), id(module), module.engine is shared_engine(module.engine.config)

def from_bytes(data, name, args):
    return call(pickle.loads(data), name, args)

def compile_here(wat, name, args):
    return call(Module(None, wat), name, args)

def parent_store(name, args, timeout=None):
    store, inst = PARENT["store"], PARENT["inst"]
    try:
        if timeout is not None:
            store.set_timeout(timeout)
        return ["value", inst.exports[name](*args)]
    except Trap:
        raise
    except WasmError as exc:
        return ["refused", type(exc).__name__, str(exc)]

def describe(value):
    if isinstance(value, BaseException):
        d = {"exception": type(value).__name__, "message": str(value)}
        for k in ("code", "frames", "result"):
            if hasattr(value, k):
                v = getattr(value, k)
                d[k] = (None if v is None else getattr(v, "name", v) if k == "code" else
                        [list(f) for f in v] if k == "frames" else describe(v))
        return d
    if isinstance(value, wasmbind.WasiResult):
        return {"returncode": value.returncode, "stdout": value.stdout.decode(),
                "trap": None if value.trap is None else value.trap.code.name,
                "timed_out": value.timed_out, "out_of_fuel": value.out_of_fuel,
                "fuel_consumed": value.fuel_consumed}
    return value

def main(method, kind):
    ctx = mp.get_context(method)
    engine = shared_engine(Config.sandbox(consume_fuel=True))
    kernel = Module(engine, KERNEL)
    exit3, trap, spin = (Module(engine, wasi_wat(b)) for b in (WASI_EXIT3, WASI_TRAP, WASI_LONG))
    pickling.artifacts = False
    source_only = pickle.dumps(Module(None, KERNEL.replace('"add"', '"plus"')))
    pickling.artifacts = True
    if method == "fork":
        store = Store(engine)
        PARENT["store"], PARENT["inst"] = store, Instance(store, kernel)
        store.set_fuel(2**64 - 1)
    items = [
        ("call", call, (kernel, "add", (2, 3)), {}),
        ("trap", call, (kernel, "div", (1, 0)), {}),
        ("fuel", call, (kernel, "count", (LONG,)), {"fuel": 10_000}),
        ("wasi_exit", wasi_job, (exit3,), {}),
        ("wasi_trap", wasi_job, (trap,), {}),
        ("wasi_check", wasi_job, (exit3,), {"check": True}),
        ("wasi_fuel", wasi_job, (spin,), {"fuel": 10_000}),
        ("deadline", call, (kernel, "count", (LONG,)), {"timeout": 0.25}),
        ("wasi_deadline", wasi_job, (spin,), {"timeout": 0.25}),
    ]
    items += [("identity%d" % i, identity, (kernel,), {}) for i in range(8)]
    if method == "fork":
        items += [("parent_store", parent_store, ("add", (2, 3)), {}),
                  ("parent_store_deadline", parent_store, ("count", (LONG,)), {"timeout": 0.25})]
    items += [("compile_in_worker", compile_here, (KERNEL, "add", (20, 22)), {}),
              ("source_only", from_bytes, (source_only, "plus", (40, 2)), {})]

    if kind == "pool":
        pool = ctx.Pool(2)
        submit = lambda fn, args, kw: pool.apply_async(fn, args, kw)
        result = lambda fut, t: fut.get(t)
        timeout_error = mp.TimeoutError
    else:
        pool = cf.ProcessPoolExecutor(2, mp_context=ctx)
        submit = lambda fn, args, kw: pool.submit(fn, *args, **kw)
        result = lambda fut, t: fut.result(t)
        timeout_error = cf.TimeoutError
    futures = [(name, submit(fn, args, kw)) for name, fn, args, kw in items]
    deadline = time.monotonic() + BUDGET
    for name, fut in futures:
        line = {"item": name}
        try:
            line["value"] = describe(result(fut, max(0.1, deadline - time.monotonic())))
        except timeout_error:
            line["timeout"] = True
        except BaseException as exc:
            line["raised"] = describe(exc)
        print(json.dumps(line), flush=True)
    if kind == "pool":
        pool.terminate()
    else:
        pool.shutdown(wait=False, cancel_futures=True)
    for p in mp.active_children():
        p.kill()
    print(json.dumps({"item": "done"}), flush=True)

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
'''


@pytest.fixture(scope="module", params=[(m, k) for m in METHODS for k in KINDS],
                ids=lambda p: "%s-%s" % p)
def scenario(request, tmp_path_factory):
    method, kind = request.param
    script = tmp_path_factory.mktemp("procs") / "scenario.py"
    script.write_text(SCENARIO)
    env = python_env()
    env["PYTHONPATH"] = HERE + os.pathsep + env["PYTHONPATH"]  # for support.py
    proc = subprocess.Popen([sys.executable, str(script), method, kind], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=SCENARIO_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the workers too
        out, err = proc.communicate()
        err += "\n[the scenario overran %d s and was killed]" % SCENARIO_TIMEOUT
    else:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # any worker left behind
        except ProcessLookupError:
            pass
    items = {}
    for line in out.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            items[d.pop("item")] = d
    return {"method": method, "kind": kind, "items": items, "stderr": err,
            "returncode": proc.returncode}


def item(scenario, name):
    """The item's outcome: {"value": ...}, {"raised": ...} or a failure that
    says the worker hung or the scenario died."""
    got = scenario["items"].get(name)
    detail = "scenario %s-%s, exit %s, stderr:\n%s" % (
        scenario["method"], scenario["kind"], scenario["returncode"], scenario["stderr"][-3000:])
    assert got is not None, "no outcome for %r (the scenario died first)\n%s" % (name, detail)
    assert not got.get("timeout"), "%r: no answer from the worker in time (hung)\n%s" % (name, detail)
    return got


def value(scenario, name):
    got = item(scenario, name)
    assert "value" in got, "%r raised %r" % (name, got.get("raised"))
    return got["value"]


def raised(scenario, name):
    got = item(scenario, name)
    assert "raised" in got, "%r returned %r instead of raising" % (name, got.get("value"))
    return got["raised"]


def test_scenario_completes(scenario):
    assert "done" in scenario["items"], scenario["stderr"][-3000:]
    assert scenario["returncode"] == 0, scenario["stderr"][-3000:]


def test_result_comes_back(scenario):
    assert value(scenario, "call") == 5


def test_trap_comes_back_whole(scenario):
    exc = raised(scenario, "trap")
    assert exc["exception"] == "Trap" and exc["code"] == "INTEGER_DIVISION_BY_ZERO"
    assert len(exc["frames"]) == 2 and "divide by zero" in exc["message"]


def test_fuel_in_worker(scenario):
    exc = raised(scenario, "fuel")
    assert exc["exception"] == "Trap" and exc["code"] == "OUT_OF_FUEL"


def test_deadline_in_worker(scenario):
    exc = raised(scenario, "deadline")
    assert exc["exception"] == "Trap" and exc["code"] == "INTERRUPT", exc


def test_wasi_results_in_worker(scenario):
    r = value(scenario, "wasi_exit")
    assert r["returncode"] == 3 and r["stdout"] == "hello\n" and r["trap"] is None
    r = value(scenario, "wasi_trap")
    assert r["returncode"] is None and r["trap"] == "UNREACHABLE" and r["stdout"] == "hello\n"
    r = value(scenario, "wasi_fuel")
    assert r["out_of_fuel"] and r["fuel_consumed"] == 10_000


def test_wasi_deadline_in_worker(scenario):
    r = value(scenario, "wasi_deadline")
    assert r["timed_out"] and r["trap"] == "INTERRUPT" and r["returncode"] is None


def test_wasi_check_raises_with_its_result(scenario):
    exc = raised(scenario, "wasi_check")
    assert exc["exception"] == "WasiExit" and exc["code"] == 3
    assert "exited with code 3" in exc["message"]
    assert exc["result"]["returncode"] == 3 and exc["result"]["stdout"] == "hello\n"


def test_module_loaded_once_per_worker(scenario):
    seen = {}
    for i in range(8):
        pid, module_id, on_shared_engine = value(scenario, "identity%d" % i)
        assert on_shared_engine
        seen.setdefault(pid, set()).add(module_id)
    assert seen and all(len(ids) == 1 for ids in seen.values()), seen


def test_compile_in_worker(scenario):
    assert value(scenario, "compile_in_worker") == 42


def test_source_only_module_compiles_in_worker(scenario):
    assert value(scenario, "source_only") == 42


def test_parent_store_in_fork_child(scenario):
    if scenario["method"] != "fork":
        pytest.skip("only a forked child inherits the parent's stores")
    got = value(scenario, "parent_store")
    assert got == ["value", 5] or (got[0] == "refused" and "fork" in got[2]), got


def test_parent_store_deadline_in_fork_child(scenario):
    if scenario["method"] != "fork":
        pytest.skip("only a forked child inherits the parent's stores")
    got = item(scenario, "parent_store_deadline")
    if "value" in got:  # refused clearly, or it ran (and then the deadline must have stopped it)
        assert got["value"][0] == "refused" and "fork" in got["value"][2], got
    else:
        assert got["raised"]["exception"] == "Trap" and got["raised"]["code"] == "INTERRUPT", got
