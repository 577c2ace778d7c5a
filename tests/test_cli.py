"""The command line, end to end: ``python -m wasmbind run|inspect|bench``.

Each test starts a child interpreter with a timeout; programs that could run
away get --fuel or --timeout as well.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from wasmbind import cli

from support import python_env
from wasi_build import FILES_EXIT, big_pattern, build_wasi, have_wasi_toolchain, wasi_toolchain_problem

ENV = python_env()


def wb(*args, stdin=None, timeout=60, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "wasmbind", *map(str, args)],
                          input=stdin if stdin is not None else b"", capture_output=True,
                          timeout=timeout, env=dict(ENV, **(env or {})), cwd=cwd)


def one_line_error(p):
    """A user mistake: one line on stderr, no traceback."""
    err = p.stderr.decode()
    assert "Traceback" not in err, err
    assert err.startswith("wasmbind: error: "), err
    assert err.count("\n") == 1, err
    return err


@pytest.fixture(scope="module")
def w():
    if not have_wasi_toolchain():
        pytest.skip("no WASI toolchain: %s" % wasi_toolchain_problem())
    return build_wasi


ADD_WAT = """(module
  (func (export "add") (param i32 i64) (result i64)
    (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1)))
  (func (export "pair") (param f64) (result f64 i32) (local.get 0) (i32.const 7))
  (func (export "nothing"))
  (memory (export "memory") 1 3)
  (global (export "g") (mut i32) (i32.const 0))
  (table (export "t") 2 funcref))
"""


@pytest.fixture
def add_wat(tmp_path):
    f = tmp_path / "add.wat"
    f.write_text(ADD_WAT)
    return f


# ---------------------------------------------------------------- run

def test_run_hello_args_env(w):
    p = wb("run", w("hello"), "--env", "FOO=bar baz", "--", "a", "--x", "-y")
    assert p.returncode == 0, p.stderr
    name = w("hello").name
    assert p.stdout == ("hello from wasi\nARGC=4\nARGV[0]=%s\nARGV[1]=a\nARGV[2]=--x\n"
                        "ARGV[3]=-y\nENV FOO=bar baz\nENVC=1\nbye\n" % name).encode()
    assert p.stderr == b"hello stderr\n"


def test_run_env_from_host(w):
    env_name = "WASMBIND_CLI_TEST"
    p = wb("run", w("hello"), "--env", env_name, "--", "--env", env_name,
           env={env_name: "from-host"})
    assert b"ENV WASMBIND_CLI_TEST=from-host\n" in p.stdout


def test_run_forwards_exit_code(w):
    for code in (0, 3, 42, 125):
        assert wb("run", w("exit"), "--", code).returncode == code
    assert wb("run", w("hello"), "--", "--exit", "9").returncode == 9


def test_run_stdin_and_large_stdout(w):
    data = bytes(range(256)) * 1000
    p = wb("run", w("cat"), stdin=data)
    assert p.returncode == 0 and p.stdout == data
    p = wb("run", w("cat"), "--", "big", 5_000_000)
    assert p.returncode == 0 and p.stdout == big_pattern(5_000_000)


def test_run_limits_exit_codes(w):
    p = wb("run", w("spin"), "--fuel", 1_000_000)
    assert p.returncode == cli.EXIT_OUT_OF_FUEL
    assert p.stdout == b"spinning\n"
    assert "fuel" in one_line_error(p)
    t0 = time.perf_counter()
    p = wb("run", w("spin"), "--timeout", "0.3")
    assert time.perf_counter() - t0 < 20
    assert p.returncode == cli.EXIT_TIMEOUT
    assert "timeout" in one_line_error(p)
    p = wb("run", w("exit"), "--timeout", 20, "--", 1, "trap")
    assert p.returncode == cli.EXIT_TRAP
    assert "UNREACHABLE" in one_line_error(p)
    p = wb("run", w("recurse"), "--timeout", 20)
    assert p.returncode == cli.EXIT_TRAP and "STACK_OVERFLOW" in one_line_error(p)
    p = wb("run", w("exit"), "--", 200)  # outside the engine's exit-status range
    assert p.returncode == cli.EXIT_TRAP and "exit status" in one_line_error(p)


def test_run_max_memory(w):
    p = wb("run", w("bomb"), "--max-memory", "4M", "--timeout", 20, "--", "grow")
    assert p.returncode == 0
    pages = int(p.stdout.decode().split("pages=")[-1].split()[0])
    assert pages * 65536 <= 4 << 20
    p = wb("run", w("bomb"), "--max-memory", "64K", "--timeout", 20, "--", "size")
    assert p.returncode == cli.EXIT_FAILURE  # the program's own 2 pages do not fit
    one_line_error(p)


def test_run_max_wasm_stack(w):
    p = wb("run", w("recurse"), "--max-wasm-stack", "16K", "--", "depth", 2000)
    assert p.returncode == cli.EXIT_TRAP and "STACK_OVERFLOW" in one_line_error(p)
    p = wb("run", w("recurse"), "--max-wasm-stack", "1M", "--", "depth", 2000)
    assert p.returncode == 0 and p.stdout.startswith(b"DEPTH 2000 ok")
    p = wb("run", w("recurse"), "--max-wasm-stack", "1K")
    assert p.returncode == cli.EXIT_USAGE
    one_line_error(p)


def test_run_dirs(w, tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "in.txt").write_bytes(b"input\n")
    p = wb("run", w("files"), "--dir", "%s::/data:ro" % d, "--", "read", "/data/in.txt")
    assert p.returncode == 0 and p.stdout == b"input\n"
    p = wb("run", w("files"), "--dir", "%s::/data:ro" % d, "--", "write", "/data/x", "y")
    assert p.returncode == FILES_EXIT["EPERM"] and not (d / "x").exists()
    p = wb("run", w("files"), "--dir", "%s::/data" % d, "--", "write", "/data/x", "y")
    assert p.returncode == 0 and (d / "x").read_bytes() == b"y\n"
    p = wb("run", w("files"), "--dir", "%s::/data" % d, "--", "escape")
    assert p.returncode == 0 and p.stdout.count(b" denied ") == 3
    # HOST alone maps to the same path; relative to the working directory
    p = wb("run", w("files"), "--dir", ".", "--", "read", "in.txt", cwd=d)
    assert p.returncode == 0 and p.stdout == b"input\n"


def test_run_wat_and_invoke(add_wat, tmp_path):
    p = wb("run", add_wat, "--invoke", "add", "--", "-5", "0x10")
    assert p.returncode == 0 and p.stdout == b"11\n", p.stderr
    p = wb("run", add_wat, "--invoke", "pair", "--", "2.5")
    assert p.returncode == 0 and p.stdout == b"2.5\n7\n"
    p = wb("run", add_wat, "--invoke", "nothing")
    assert p.returncode == 0 and p.stdout == b""
    cmd = tmp_path / "cmd.wat"
    cmd.write_text('(module (import "wasi_snapshot_preview1" "proc_exit" (func $e (param i32)))'
                   ' (memory (export "memory") 1) (func (export "_start") (call $e (i32.const 5))))')
    assert wb("run", cmd).returncode == 5


@pytest.mark.parametrize("args,expected_code,needle", [
    (["run", "nonexistent.wasm"], 2, "no such file"),
    (["run", "{add}", "--max-memory", "12Q"], 2, "bad size"),
    (["run", "{add}", "--dir", "/definitely/not/here"], 2, "not a directory"),
    (["run", "{add}", "--env", "=x"], 2, "--env"),
    (["run", "{add}", "--fuel", "lots"], 2, "invalid int"),
    (["run", "{add}", "--bogus"], 2, "unrecognized"),
    (["run", "{add}"], 1, "_start"),
    (["run", "{add}", "--invoke", "nope"], 2, "no exported function"),
    (["run", "{add}", "--invoke", "add", "--", "1"], 2, "takes 2 argument"),
    (["run", "{add}", "--invoke", "add", "--", "x", "1"], 2, "not a valid i32"),
    (["run", "{junk}"], 1, "not a WebAssembly module"),
    (["run", "{badwat}"], 1, "cannot compile"),
    (["inspect", "nonexistent.wasm"], 2, "no such file"),
    (["frobnicate"], 2, "invalid choice"),
])
def test_user_errors_are_one_line(add_wat, tmp_path, args, expected_code, needle):
    junk = tmp_path / "junk.wasm"
    junk.write_bytes(b"\x7fELF" + bytes(100))
    badwat = tmp_path / "bad.wat"
    badwat.write_text("(module (func i32.add))")
    args = [a.format(add=add_wat, junk=junk, badwat=badwat) for a in args]
    p = wb(*args)
    assert p.returncode == expected_code, p.stderr
    assert needle in one_line_error(p)


def test_no_command_prints_usage():
    p = wb()
    assert p.returncode == 2 and b"usage:" in p.stderr and b"Traceback" not in p.stderr


def test_link_error_is_one_line(tmp_path):
    f = tmp_path / "needs.wat"
    f.write_text('(module (import "env" "host_fn" (func)) (func (export "_start")))')
    p = wb("run", f)
    assert p.returncode == 1
    assert "host_fn" in one_line_error(p)


def test_ctrl_c_exits_130(w):
    proc = subprocess.Popen([sys.executable, "-m", "wasmbind", "run", str(w("spin")),
                             "--timeout", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=ENV)
    try:
        assert proc.stdout.readline() == b"spinning\n"  # it is inside the loop now
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        elapsed = time.perf_counter() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    print("CLI Ctrl-C to exit: %.1f ms" % (elapsed * 1000))
    assert proc.returncode == cli.EXIT_INTERRUPTED
    assert err == b"wasmbind: error: interrupted\n"
    assert elapsed < 5


# ---------------------------------------------------------------- inspect

def test_inspect_text(add_wat):
    p = wb("inspect", add_wat)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode() == (
        "imports (0):\n"
        "exports (6):\n"
        "  add: func (i32, i64) -> i64\n"
        "  pair: func (f64) -> (f64, i32)\n"
        "  nothing: func ()\n"
        "  memory: memory pages: min 1 max 3\n"
        "  g: global mut i32\n"
        "  t: table funcref: min 2\n")


def test_inspect_wasi_program_json(w):
    p = wb("inspect", w("hello"), "--json")
    assert p.returncode == 0
    doc = json.loads(p.stdout)
    imports = {(i["module"], i["name"]): i["type"] for i in doc["imports"]}
    assert imports[("wasi_snapshot_preview1", "fd_write")] == {
        "kind": "func", "params": ["i32"] * 4, "results": ["i32"]}
    assert imports[("wasi_snapshot_preview1", "proc_exit")]["results"] == []
    exports = {e["name"]: e["type"] for e in doc["exports"]}
    assert exports["_start"] == {"kind": "func", "params": [], "results": []}
    assert exports["memory"]["kind"] == "memory"


# ---------------------------------------------------------------- components (WASI p2 commands)

@pytest.fixture(scope="module")
def command(tmp_path_factory):
    """tests/components/command: a WASI preview 2 command component (see command.wat)."""
    from component_build import command_wasm
    path = tmp_path_factory.mktemp("p2") / "command.wasm"
    path.write_bytes(command_wasm())
    return path


def test_run_component_output_and_exit_codes(command):
    p = wb("run", command, "--", "hello")
    assert (p.returncode, p.stdout, p.stderr) == (0, b"hello from p2\n", b"")
    p = wb("run", command)                     # no argument: hello as well
    assert (p.returncode, p.stdout) == (0, b"hello from p2\n")
    for mode in ("fail", "xit"):              # run returns err / wasi:cli/exit(err)
        p = wb("run", command, "--", mode)
        assert (p.returncode, p.stdout, p.stderr) == (1, b"", b"")
    p = wb("run", command, "--", "zero-exit")
    assert (p.returncode, p.stdout) == (0, b"")


def test_run_component_limits(command):
    p = wb("run", command, "--timeout", "0.2", "--", "spin", timeout=60)
    assert p.returncode == cli.EXIT_TIMEOUT and p.stdout == b"spinning\n"
    assert one_line_error(p) == "wasmbind: error: the program ran past its --timeout of 0.2s\n"
    p = wb("run", command, "--fuel", "100000", "--", "spin", timeout=60)
    assert p.returncode == cli.EXIT_OUT_OF_FUEL
    assert "ran out of fuel" in one_line_error(p)
    p = wb("run", command, "--max-memory", "1M", "--", "memory")
    assert (p.returncode, p.stdout) == (1, b"grow failed\n")
    p = wb("run", command, "--", "trap")
    assert p.returncode == cli.EXIT_TRAP and "unreachable" in one_line_error(p)
    p = wb("run", command, "--max-instances", "0")
    assert p.returncode == cli.EXIT_FAILURE and "--max-instances" in one_line_error(p)


def test_run_component_ctrl_c_exits_130(command):
    proc = subprocess.Popen([sys.executable, "-m", "wasmbind", "run", str(command),
                             "--timeout", "60", "--", "spin"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=ENV)
    try:
        assert proc.stdout.readline() == b"spinning\n"  # it is inside the loop now
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == cli.EXIT_INTERRUPTED
    assert err == b"wasmbind: error: interrupted\n"


def test_run_component_refusals(command, tmp_path):
    p = wb("run", command, "--invoke", "run")
    assert p.returncode == cli.EXIT_USAGE and "only for core modules" in one_line_error(p)
    bad = tmp_path / "broken.wasm"
    bad.write_bytes(b"\0asm\x0d\x00\x01\x00" + b"\xff" * 64)
    p = wb("run", bad)
    assert p.returncode == cli.EXIT_FAILURE and "cannot compile" in one_line_error(p)
    empty = tmp_path / "empty.wasm"
    empty.write_bytes(b"\0asm\x0d\x00\x01\x00")     # a valid component that runs nothing
    p = wb("run", empty)
    assert p.returncode == cli.EXIT_FAILURE
    assert "not a WASI command: the component exports no wasi:cli/run" in one_line_error(p)


def test_inspect_component_prints_wit(command):
    p = wb("inspect", command)
    assert p.returncode == 0, p.stderr
    text = p.stdout.decode()
    assert text.startswith("world {\n") and text.endswith("}\n")
    assert "  import wasi:cli/environment@0.2.0: interface {\n" \
           "    get-arguments: func() -> list<string>;\n  }\n" in text
    assert "  export wasi:cli/run@0.2.0: interface {\n    run: func() -> result;\n  }\n" in text
    p = wb("inspect", command, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["kind"] == "component"
    assert list(doc["exports"]) == ["wasi:cli/run@0.2.0"]
    assert "wasi:cli/exit@0.2.0" in doc["imports"]
    assert doc["exports"]["wasi:cli/run@0.2.0"] == "interface {\n  run: func() -> result;\n}"
    assert doc["wit"] == text.rstrip("\n")


# ---------------------------------------------------------------- bench (in process)

def test_bench_dispatches_to_wasmbind_bench(monkeypatch):
    import types
    seen = []
    fake = types.ModuleType("wasmbind.bench")
    fake.main = lambda argv: seen.append(argv) or 3
    monkeypatch.setitem(sys.modules, "wasmbind.bench", fake)
    import wasmbind
    monkeypatch.setattr(wasmbind, "bench", fake, raising=False)
    assert cli.main(["bench", "--quick", "calls"]) == 3
    assert seen == [["--quick", "calls"]]


def test_console_entry_point():
    from wasmbind.__main__ import main
    with pytest.raises(SystemExit) as info:
        sys_argv = sys.argv
        sys.argv = ["wasmbind", "inspect", "--json", "/nonexistent.wasm"]
        try:
            main()
        finally:
            sys.argv = sys_argv
    assert info.value.code == 2


def test_cli_notations(tmp_path):
    """HOST[::GUEST][:ro] and sizes like 64M are the CLI's own notations."""
    d = str(tmp_path)
    assert cli._parse_dir(d) == (d, d, False)
    assert cli._parse_dir(d + "::/x") == (d, "/x", False)
    assert cli._parse_dir(d + "::/x:ro") == (d, "/x", True)
    assert cli._parse_dir(d + "::/x:rw") == (d, "/x", False)
    for bad in ("::/x", d + "::", str(tmp_path / "missing")):
        with pytest.raises(cli.UsageError):
            cli._parse_dir(bad)
    size = lambda text: cli._parse_size("--max-memory", text)  # noqa: E731
    assert size("65536") == 65536
    assert size("64K") == size("64KiB") == size("64kb") == 65536
    assert size("16M") == 16 << 20
    assert size("1.5G") == 3 << 29
    assert size("1e3") == 1000
    for bad in ("", "12Q", "-1", "M", "1.2.3K", "1.0e999", "nan", "inf", "99999999999T"):
        with pytest.raises(cli.UsageError):
            size(bad)


# ---------------------------------------------------------------- names in other encodings

def test_run_a_program_whose_file_name_is_not_utf8(w, tmp_path):
    prog = tmp_path / os.fsdecode(b"h\xffllo.wasm")
    prog.write_bytes(w("hello").read_bytes())
    p = wb("run", prog, "--", "a")
    assert p.returncode == 0, p.stderr
    # argv[0] is the file name, its undecodable byte shown as U+FFFD (WASI carries UTF-8)
    assert "ARGC=2\nARGV[0]=h\ufffdllo.wasm\nARGV[1]=a\n".encode() in p.stdout
    p = wb("inspect", prog)
    assert p.returncode == 0 and b"_start: func ()" in p.stdout
    wat = tmp_path / os.fsdecode(b"x\xfe.wat")
    wat.write_text('(module (memory (export "memory") 1) (func (export "_start")))')
    assert wb("run", wat).returncode == 0


def test_run_dir_whose_host_path_is_not_utf8(w, tmp_path):
    d = tmp_path / os.fsdecode(b"d\xfe")
    d.mkdir()
    (d / "in.txt").write_bytes(b"input\n")
    p = wb("run", w("files"), "--dir", "%s::/data" % d, "--", "read", "/data/in.txt",
           "write", "/data/out.txt", "z")
    assert p.returncode == 0 and p.stdout == b"input\nWROTE /data/out.txt 2\n", p.stderr
    assert (d / "out.txt").read_bytes() == b"z\n"
    # without ::GUEST the guest path would be the host's, which is not UTF-8
    p = wb("run", w("files"), "--dir", str(d), "--", "read", "in.txt")
    assert p.returncode == cli.EXIT_USAGE and "name one: HOST::GUEST" in one_line_error(p)


def test_run_arguments_and_env_that_are_not_utf8(w):
    p = wb("run", w("hello"), "--", "ok", os.fsdecode(b"b\xffd"))
    assert p.returncode == cli.EXIT_USAGE
    assert "program argument 2 (b'b\\xffd') is not valid UTF-8" in one_line_error(p)
    p = wb("run", w("hello"), "--env", os.fsdecode(b"K=v\xff"))
    assert p.returncode == cli.EXIT_USAGE and "not valid UTF-8" in one_line_error(p)
    env = {"WASMBIND_BAD": os.fsdecode(b"\xfe")}
    p = wb("run", w("hello"), "--env", "WASMBIND_BAD", env=env)
    assert p.returncode == cli.EXIT_USAGE and "not valid UTF-8" in one_line_error(p)
    # --inherit-env with such a variable in the host: an error, not an abort
    p = wb("run", w("hello"), "--inherit-env", env=env)
    assert p.returncode == cli.EXIT_USAGE and "WASMBIND_BAD" in one_line_error(p)
    p = wb("run", w("hello"), "--inherit-env", "--", "--env", "WASMBIND_OK",
           env={"WASMBIND_OK": "yes"})
    assert p.returncode == 0 and b"ENV WASMBIND_OK=yes\n" in p.stdout


def test_wat_file_that_is_not_utf8(tmp_path):
    bad = tmp_path / "bad.wat"
    bad.write_bytes(b'(module (func (export "\xff")))')
    for cmd in ("run", "inspect"):
        p = wb(cmd, bad)
        assert p.returncode == cli.EXIT_FAILURE
        assert "WAT text is not valid UTF-8" in one_line_error(p)
