"""WASI preview 1: WasiConfig, Store.set_wasi + Linker.define_wasi, and run_wasi.

The programs are the C files in tests/wasi_programs, compiled with clang and
wasi-libc by tests/wasi_build.py (skipped when that toolchain is missing).
Nothing here can run away: every program that could loop is given fuel or a
deadline, and a 60 s timeout (pytest-timeout) kills the test process if a test hangs.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import wasmbind
from wasmbind import (
    CompileError,
    Config,
    Engine,
    Linker,
    LinkError,
    Module,
    Store,
    Trap,
    TrapCode,
    WasiConfig,
    WasiExit,
    WasiResult,
    run_wasi,
)
from wasmbind.wasi import CAPTURE, DEVNULL

from support import python_env
from wasi_build import (
    FILES_EXIT,
    USAGE_EXIT,
    big_pattern,
    build_wasi,
    cat_stat_line,
    have_wasi_toolchain,
    wasi_toolchain_problem,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def engine():
    return Engine(Config.sandbox())


@pytest.fixture(scope="module")
def prog(engine):
    """``prog(name)`` -> the compiled Module of tests/wasi_programs/<name>.c."""
    if not have_wasi_toolchain():
        pytest.skip("no WASI toolchain: %s" % wasi_toolchain_problem())
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = Module(engine, build_wasi(name).read_bytes())
        return cache[name]

    return get


@pytest.fixture(scope="module")
def wasm_path():
    if not have_wasi_toolchain():
        pytest.skip("no WASI toolchain: %s" % wasi_toolchain_problem())
    return build_wasi


def run(prog, name, *args, **kw):
    """run_wasi of program ``name`` with argv [name, *args]; a timeout by default."""
    kw.setdefault("timeout", 20)
    return run_wasi(prog(name), [name, *args], **kw)


# ---------------------------------------------------------------- stdio, argv, env

def test_hello_exact_output(prog):
    r = run(prog, "hello", "a b", "", "ü")
    assert isinstance(r, WasiResult)
    assert r.returncode == 0 and r.trap is None and r.ok
    assert r.stdout == ("hello from wasi\nARGC=4\nARGV[0]=hello\nARGV[1]=a b\nARGV[2]=\n"
                        "ARGV[3]=ü\nENV FOO unset\nENVC=0\nbye\n").encode()
    assert r.stderr == b"hello stderr\n"
    assert r.args == ["hello", "a b", "", "ü"]
    assert not r.stdout_truncated and not r.stderr_truncated


def test_environment_is_empty_unless_given(prog, monkeypatch):
    monkeypatch.setenv("WASMBIND_TEST_SECRET", "s3cret")
    r = run(prog, "hello", "--env", "WASMBIND_TEST_SECRET", "--all-env")
    assert b"ENV WASMBIND_TEST_SECRET unset\nENVC=0\n" in r.stdout
    r = run(prog, "hello", "--all-env", env={"FOO": "bar", "X": "1=2"})
    assert b"ENV FOO=bar\nENVC=2\nENV* FOO=bar\nENV* X=1=2\n" in r.stdout


def test_inherit_env(prog, monkeypatch):
    monkeypatch.setenv("WASMBIND_TEST_SECRET", "s3cret")
    r = run(prog, "hello", "--env", "WASMBIND_TEST_SECRET", inherit_env=True)
    assert b"ENV WASMBIND_TEST_SECRET=s3cret\n" in r.stdout


def test_text_mode(prog):
    r = run(prog, "hello", "ü", text=True)
    assert isinstance(r.stdout, str) and "ARGV[1]=ü\n" in r.stdout
    assert r.stderr == "hello stderr\n"


@pytest.mark.parametrize("data", [b"", b"abc", b"a\0b\0\xff\xfe" * 1000, bytes(range(256)) * 4096])
def test_stdin_bytes_round_trip(prog, data):
    r = run(prog, "cat", stdin=data)
    assert r.returncode == 0
    assert r.stdout == data
    assert r.stderr == b"cat: %d bytes\n" % len(data)


def test_stdin_str_and_file(prog, tmp_path):
    assert run(prog, "cat", stdin="héllo").stdout == "héllo".encode()
    data = os.urandom(300_000)
    f = tmp_path / "in.bin"
    f.write_bytes(data)
    r = run(prog, "cat", "stat", stdin=f)
    assert r.stdout == cat_stat_line(data).encode()
    with pytest.raises(FileNotFoundError):
        run(prog, "cat", stdin=tmp_path / "missing")


def test_no_stdin_is_empty(prog):
    r = run(prog, "cat", "stat")
    assert r.stdout == cat_stat_line(b"").encode()


@pytest.mark.parametrize("n", [0, 1, 4095, 4096, 65537, 10 * 1024 * 1024])
def test_large_stdout_exact(prog, n):
    r = run(prog, "cat", "big", str(n))
    assert r.returncode == 0
    assert len(r.stdout) == n
    assert r.stdout == big_pattern(n)


def test_large_stderr_exact(prog):
    n = 3 * 1024 * 1024 + 7
    r = run(prog, "cat", "bigerr", str(n))
    assert r.returncode == 0 and r.stdout == b""
    assert r.stderr == big_pattern(n)


def test_max_output_keeps_prefix_and_fails_later_writes(prog):
    r = run(prog, "cat", "big", "100000", max_output=1000)
    assert r.stdout == big_pattern(1000)
    assert r.stdout_truncated and not r.stderr_truncated
    assert r.returncode == 1  # cat checks write(2): the write past the limit failed
    # stdio ignores the error: the program goes on and exits normally
    r = run(prog, "hello", max_output=5)
    assert r.returncode == 0
    assert r.stdout == b"hello" and r.stdout_truncated
    assert r.stderr == b"hello"
    # exactly at the limit is not truncation
    r = run(prog, "cat", "big", "1000", max_output=1000)
    assert r.returncode == 0 and r.stdout == big_pattern(1000) and not r.stdout_truncated
    r = run(prog, "cat", "big", "10", max_output=0)
    assert r.stdout == b"" and r.stdout_truncated and r.returncode == 1


def test_output_to_files_and_devnull(prog, tmp_path):
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    r = run(prog, "hello", "x", stdout=out, stderr=str(err))
    assert r.stdout is None and r.stderr is None
    assert out.read_bytes().startswith(b"hello from wasi\nARGC=2\n")
    assert err.read_bytes() == b"hello stderr\n"
    r = run(prog, "hello", stdout=DEVNULL, stderr=None)
    assert r.returncode == 0 and r.stdout is None and r.stderr is None
    big = tmp_path / "big.bin"
    run(prog, "cat", "big", "2000000", stdout=big)
    assert big.read_bytes() == big_pattern(2_000_000)


def test_bad_stream_arguments(prog):
    with pytest.raises(TypeError):
        run(prog, "hello", stdout=123)
    with pytest.raises(TypeError):
        run(prog, "hello", stdin=1.5)


# ---------------------------------------------------------------- exit codes and traps

@pytest.mark.parametrize("code", [0, 1, 2, 42, 64, 125])
@pytest.mark.parametrize("mode", ["exit", "_Exit", "return"])
def test_exit_codes(prog, code, mode):
    r = run(prog, "exit", str(code), mode)
    assert r.returncode == code and r.trap is None
    expected = {
        "exit": "exiting with %d\natexit handler ran\n" % code,
        "_Exit": "raw exit %d\n" % code,
        "return": "returning %d\natexit handler ran\n" % code,
    }[mode]
    assert r.stdout == expected.encode()


def test_hello_exit_option(prog):
    assert run(prog, "hello", "--exit", "17").returncode == 17


@pytest.mark.parametrize("code", [126, 127, 255, 256, 1000])
def test_exit_code_outside_engine_range_is_a_trap(prog, code):
    # wasmtime accepts proc_exit statuses 0..125 only; more is an error, not an exit
    r = run(prog, "exit", str(code))
    assert r.returncode is None
    assert isinstance(r.trap, Trap)
    assert "exit status" in r.trap.message
    assert r.stdout == b"exiting with %d\natexit handler ran\n" % code


def test_trap_is_reported_with_output(prog):
    r = run(prog, "exit", "3", "trap")
    assert r.returncode is None and not r.ok
    assert r.trap.code == TrapCode.UNREACHABLE
    assert r.trap.frames  # a wasm backtrace
    assert r.stdout == b"trapping\n"
    assert not r.timed_out and not r.out_of_fuel


def test_check_raises_with_result(prog):
    with pytest.raises(Trap) as info:
        run(prog, "exit", "3", "trap", check=True)
    assert info.value.result.stdout == b"trapping\n"
    with pytest.raises(WasiExit) as info:
        run(prog, "exit", "9", check=True)
    assert info.value.code == 9 and info.value.result.returncode == 9
    assert run(prog, "exit", "0", check=True).returncode == 0


def test_usage_error_exit(prog):
    assert run(prog, "cat", "nonsense").returncode == USAGE_EXIT


# ---------------------------------------------------------------- the lower-level API

def test_store_set_wasi_and_linker(engine, prog):
    store = Store(engine)
    linker = Linker(engine)
    linker.define_wasi()
    store.set_wasi(WasiConfig(argv=["hello", "z"], env={"FOO": "f"}, capture_stdout=True,
                              capture_stderr=True))
    inst = linker.instantiate(store, prog("hello"))
    store.set_timeout(20)
    inst.exports["_start"]()
    assert store.wasi_stdout == (b"hello from wasi\nARGC=2\nARGV[0]=hello\nARGV[1]=z\n"
                                 b"ENV FOO=f\nENVC=1\nbye\n")
    assert store.wasi_stderr == b"hello stderr\n"
    assert store.wasi_output_truncated == (False, False)
    store.close()


def test_proc_exit_raises_wasi_exit_from_a_direct_call(engine, prog):
    store = Store(engine)
    linker = Linker(engine)
    linker.define_wasi()
    store.set_wasi(WasiConfig(argv=["exit", "42"], capture_stdout=True))
    linker.define_module(store, "prog", prog("exit"))
    start = linker.get_default(store, "prog")
    with pytest.raises(WasiExit) as info:
        start()
    assert info.value.code == 42
    assert store.wasi_stdout == b"exiting with 42\natexit handler ran\n"


def test_uncaptured_store_output_is_none(engine, prog):
    store = Store(engine)
    linker = Linker(engine)
    linker.define_wasi()
    store.set_wasi(WasiConfig(argv=["hello"]))
    linker.instantiate(store, prog("hello")).exports["_start"]()
    assert store.wasi_stdout is None and store.wasi_stderr is None


def test_wasi_config_validation(tmp_path):
    with pytest.raises(ValueError):
        Store().set_wasi(WasiConfig(capture_stdout=True, stdout_file=str(tmp_path / "x")))
    with pytest.raises(ValueError):
        Store().set_wasi(WasiConfig(stdin_bytes=b"x", inherit_stdin=True))
    with pytest.raises(ValueError):
        Store().set_wasi(WasiConfig(argv=["a\0b"]))
    with pytest.raises(TypeError):
        Store().set_wasi(WasiConfig(argv=[1]))
    with pytest.raises(ValueError):
        Store().set_wasi(WasiConfig(env={"A=B": "c"}))
    with pytest.raises(ValueError):
        Store().set_wasi(WasiConfig(max_output=-1))
    with pytest.raises(FileNotFoundError):
        WasiConfig().preopen_dir(tmp_path / "missing", "/x")
    with pytest.raises(ValueError):
        WasiConfig().preopen_dir(str(tmp_path) + "\0/etc", "/x")
    with pytest.raises(TypeError):
        Store().set_wasi("not a config")


def test_wasi_without_define_wasi_is_a_link_error(engine, prog):
    with pytest.raises(LinkError):
        Linker(engine).instantiate(Store(engine), prog("hello"))


# ---------------------------------------------------------------- program sources

def test_program_sources(wasm_path, tmp_path):
    path = wasm_path("hello")
    for source in (path, str(path), path.read_bytes(), bytearray(path.read_bytes())):
        r = run_wasi(source, ["hello"], timeout=20)
        assert r.returncode == 0 and r.stdout.startswith(b"hello from wasi\n")
    assert run_wasi(path).args == [path.name]


WAT_CMD = """
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi from wat\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 12))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $exit (i32.const 3)))
  (func (export "twice") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))
"""


def test_wat_sources_and_invoke(tmp_path):
    r = run_wasi(WAT_CMD)
    assert (r.returncode, r.stdout, r.args) == (3, b"hi from wat\n", ["main.wasm"])
    f = tmp_path / "cmd.wat"
    f.write_text(WAT_CMD)
    assert run_wasi(f).returncode == 3
    assert run_wasi(WAT_CMD.encode()).returncode == 3
    r = run_wasi(WAT_CMD, invoke="twice", invoke_args=(21,))
    assert r.returncode == 0 and r.value == 42 and r.stdout == b""
    with pytest.raises(LinkError):
        run_wasi(WAT_CMD, invoke="nope")
    with pytest.raises(LinkError):
        run_wasi('(module (func (export "f")))')
    with pytest.raises(CompileError):
        run_wasi("(module (func (export \"_start\") i32.add))")
    junk = tmp_path / "junk.wasm"
    junk.write_bytes(b"\x7fELF\x02\x01")
    with pytest.raises(CompileError):
        run_wasi(junk)
    with pytest.raises(FileNotFoundError):
        run_wasi(tmp_path / "nope.wasm")
    with pytest.raises(TypeError):
        run_wasi(12345)


def test_module_engine_must_match_options(engine, prog):
    with pytest.raises(ValueError):
        run_wasi(prog("hello"), fuel=1000)  # the module's engine does not count fuel
    with pytest.raises(ValueError):
        run_wasi(prog("hello"), max_wasm_stack=65536)
    with pytest.raises(ValueError):
        run_wasi(prog("hello"), engine=Engine())


def test_preopen_specs(prog, sandbox):
    # (host, guest) and (host, guest, read_only); host may be a Path
    assert run(prog, "files", "read", "/sb/a.txt", dirs=[(Path(sandbox), "/sb")]).ok
    assert run(prog, "files", "read", "/sb/a.txt", dirs=[[str(sandbox), "/sb", 1]]).ok
    # the CLI's HOST::GUEST notation is the CLI's, not run_wasi's
    for bad, exc in (("%s::/sb" % sandbox, TypeError), (str(sandbox), TypeError),
                     ((str(sandbox),), ValueError), ((str(sandbox), "/sb", True, 1), ValueError),
                     ((str(sandbox), b"/sb"), TypeError)):
        with pytest.raises(exc):
            run(prog, "files", "read", "/sb/a.txt", dirs=[bad])
    # max_memory is a number of bytes, not the CLI's "16M"
    for bad in ("16M", 1.5, True):
        with pytest.raises(TypeError, match="max_memory"):
            run(prog, "hello", max_memory=bad)
    assert repr(CAPTURE) == "wasmbind.wasi.CAPTURE"


def test_exported_from_package():
    assert wasmbind.run_wasi is run_wasi
    assert "run_wasi" in wasmbind.__all__ and "WasiResult" in wasmbind.__all__


# ---------------------------------------------------------------- the file system sandbox

@pytest.fixture
def sandbox(tmp_path):
    root = tmp_path / "sb"
    root.mkdir()
    (root / "a.txt").write_bytes(b"AAA\n")
    (root / "sub").mkdir()
    (root / "sub" / "deep.txt").write_bytes(b"deep\n")
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"SECRET\n")
    return root


def test_read_write_preopen(prog, sandbox):
    r = run(prog, "files", "read", "/sb/a.txt", "write", "/sb/new.txt", "hello",
            "append", "/sb/new.txt", "more", "mkdir", "/sb/made", "ls", "/sb",
            "stat", "/sb/sub", "rm", "/sb/a.txt", dirs=[(sandbox, "/sb")])
    assert r.returncode == FILES_EXIT["OK"], r.stderr
    assert r.stdout == (b"AAA\nWROTE /sb/new.txt 6\nWROTE /sb/new.txt 5\nMKDIR /sb/made\n"
                        b"ENTRY a.txt\nENTRY made\nENTRY new.txt\nENTRY sub\n"
                        b"STAT /sb/sub size=%d type=dir\nRM /sb/a.txt\n"
                        % os.stat(sandbox / "sub").st_size)
    assert (sandbox / "new.txt").read_bytes() == b"hello\nmore\n"
    assert (sandbox / "made").is_dir()
    assert not (sandbox / "a.txt").exists()


@pytest.mark.parametrize("op", [
    ("write", "/sb/new.txt", "x"),
    ("append", "/sb/a.txt", "x"),
    ("mkdir", "/sb/newdir"),
    ("rm", "/sb/a.txt"),
    ("write", "/sb/sub/deep.txt", "x"),
])
def test_read_only_preopen_refuses_writes(prog, sandbox, op):
    before = sorted(p.relative_to(sandbox) for p in sandbox.rglob("*"))
    r = run(prog, "files", *op, dirs=[(sandbox, "/sb", True)])
    assert r.returncode == FILES_EXIT["EPERM"], (r.stdout, r.stderr)
    assert r.stderr.startswith(b"ERR %s " % op[0].encode())
    assert sorted(p.relative_to(sandbox) for p in sandbox.rglob("*")) == before
    assert (sandbox / "a.txt").read_bytes() == b"AAA\n"
    assert (sandbox / "sub" / "deep.txt").read_bytes() == b"deep\n"


def test_read_only_preopen_still_reads(prog, sandbox):
    r = run(prog, "files", "read", "/sb/sub/deep.txt", "ls", "/sb", "open", "/sb/a.txt",
            dirs=[(sandbox, "/sb", True)])
    assert r.returncode == 0
    assert r.stdout == b"deep\nENTRY a.txt\nENTRY sub\nOPENED /sb/a.txt\n"


def test_paths_outside_preopens_are_refused(prog, sandbox):
    escapes = ["/etc/passwd", "../x", "../../etc/passwd", "/sb/../outside.txt",
               "/sb/../../etc/passwd", "/sb/sub/../../outside.txt", "/outside.txt",
               str(sandbox.parent / "outside.txt")]
    r = run(prog, "files", "escape", *escapes, dirs=[(sandbox, "/sb")])
    assert r.returncode == 0, r.stdout
    lines = r.stdout.decode().splitlines()
    assert len(lines) == len(escapes)
    assert all(" denied errno=" in line for line in lines), lines
    assert b"SECRET" not in r.stdout


def test_symlink_out_of_the_sandbox_is_refused(prog, sandbox):
    (sandbox / "link").symlink_to(sandbox.parent / "outside.txt")
    (sandbox / "dirlink").symlink_to("/etc")
    r = run(prog, "files", "read", "/sb/link", dirs=[(sandbox, "/sb")])
    assert r.returncode != 0 and b"SECRET" not in r.stdout
    r = run(prog, "files", "read", "/sb/dirlink/passwd", dirs=[(sandbox, "/sb")])
    assert r.returncode != 0 and r.stdout == b""


def test_no_preopens_no_files(prog):
    r = run(prog, "files", "read", "/etc/passwd")
    assert r.returncode in (FILES_EXIT["ENOTCAPABLE"], FILES_EXIT["ENOENT"])
    assert r.stdout == b""
    r = run(prog, "files", "escape")
    assert r.returncode == 0 and r.stdout.count(b" denied ") == 3


def test_dot_preopen_confines_relative_paths(prog, sandbox):
    r = run(prog, "files", "read", "a.txt", "escape", "../x", "../../etc/passwd",
            dirs=[(sandbox, ".")])
    assert r.returncode == 0
    assert r.stdout.startswith(b"AAA\n") and r.stdout.count(b" denied ") == 2


def test_two_preopens_different_modes(prog, sandbox, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    r = run(prog, "files", "read", "/in/a.txt", "write", "/out/copy.txt", "AAA",
            dirs=[(sandbox, "/in", True), (out, "/out")])
    assert r.returncode == 0, r.stderr
    assert (out / "copy.txt").read_bytes() == b"AAA\n"
    r = run(prog, "files", "write", "/in/copy.txt", "x",
            dirs=[(sandbox, "/in", True), (out, "/out")])
    assert r.returncode == FILES_EXIT["EPERM"]


# ---------------------------------------------------------------- process health

def test_process_exits_cleanly_after_captured_runs(wasm_path):
    """Regression: the capture buffer's finalizer took the GIL from the engine's
    tokio thread, sometimes after interpreter shutdown: a Rust panic ("panic in
    a function that cannot unwind") at exit."""
    code = textwrap.dedent("""
        import wasmbind
        for i in range(4):
            r = wasmbind.run_wasi(%r, ["hello"], timeout=20)
            assert r.stdout.startswith(b"hello from wasi"), r
        print("ok")
    """ % str(wasm_path("hello")))
    env = python_env()
    for _ in range(3):
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60, env=env)
        assert p.returncode == 0, p.stderr
        assert p.stdout == "ok\n"
        assert "panic" not in p.stderr, p.stderr


# ---------------------------------------------------------------- argv and env: str or bytes

def test_argv_items_str_or_bytes_reach_the_program_as_given(prog):
    r = run_wasi(prog("hello"), [b"hello", b"raw \xc3\xbc", "str ü", b""], timeout=20)
    assert r.args == [b"hello", b"raw \xc3\xbc", "str ü", b""]
    assert b"ARGC=4\nARGV[0]=hello\nARGV[1]=raw \xc3\xbc\nARGV[2]=str \xc3\xbc\nARGV[3]=\n" in r.stdout
    wc = WasiConfig(argv=(b"hello", "x"), capture_stdout=True)
    assert wc.argv == [b"hello", "x"]


def test_env_names_and_values_str_or_bytes(prog):
    r = run(prog, "hello", "--all-env", env={b"FOO": b"b\xc3\xa4r", "X": b"1", b"Y": "\u00e4"})
    assert b"ENV FOO=b\xc3\xa4r\nENVC=3\n" in r.stdout
    assert b"ENV* X=1\nENV* Y=\xc3\xa4\n" in r.stdout


BAD_TEXT = [  # (value, exception) for one argv item, env name or env value
    (1, TypeError), (None, TypeError), (1.5, TypeError), (bytearray(b"x"), TypeError),
    (["x"], TypeError), (b"\xff", ValueError), ("a\udcff", ValueError), ("\ud800", ValueError),
    ("a\0b", ValueError), (b"a\0", ValueError),
]


@pytest.mark.parametrize("value, exc", BAD_TEXT)
def test_bad_argv_items(prog, value, exc):
    with pytest.raises(exc, match="argv"):
        run_wasi(prog("hello"), ["hello", value])
    with pytest.raises(exc, match="argv"):
        WasiConfig(argv=["hello", value])
    wc = WasiConfig()
    wc.argv = ["hello", value]
    with pytest.raises(exc, match="argv"):
        Store().set_wasi(wc)


@pytest.mark.parametrize("value, exc", BAD_TEXT)
def test_bad_env_names_and_values(prog, value, exc):
    for env in ({value: "v"}, {"K": value}) if value.__hash__ else ({"K": value},):
        with pytest.raises(exc, match="environment variable"):
            run(prog, "hello", env=env)
        with pytest.raises(exc, match="environment variable"):
            WasiConfig(env=env)


@pytest.mark.parametrize("argv", ["hello", b"hello", 5, None.__class__])
def test_argv_must_be_a_list(prog, argv):
    with pytest.raises(TypeError, match="argv must be a list"):
        run_wasi(prog("hello"), argv)
    with pytest.raises(TypeError, match="argv must be a list"):
        WasiConfig(argv=argv)


@pytest.mark.parametrize("env, exc", [([("A", "B")], TypeError), ("A=B", TypeError),
                                      ({"": "x"}, ValueError), ({"A=B": "x"}, ValueError),
                                      ({b"A=B": "x"}, ValueError)])
def test_env_must_be_a_mapping_of_names(prog, env, exc):
    with pytest.raises(exc):
        run(prog, "hello", env=env)
    with pytest.raises(exc):
        WasiConfig(env=env)


# ---------------------------------------------------------------- every WasiConfig attribute is checked

@pytest.fixture
def bad_attrs(tmp_path):
    d = str(tmp_path)
    return [  # attribute, value, exception: the constructor and a later assignment agree
        ("argv", [1], TypeError), ("argv", "abc", TypeError), ("argv", None, TypeError),
        ("argv", [b"\xff"], ValueError),
        ("env", {"A": 1}, TypeError), ("env", None, TypeError), ("env", {"A=": "x"}, ValueError),
        ("preopens", [(d + "/missing", "/x")], FileNotFoundError),
        ("preopens", [(d, "/a\0b")], ValueError), ("preopens", [(d + "\0/etc", "/x")], ValueError),
        ("preopens", [(d, b"/x")], TypeError), ("preopens", [(d, "")], ValueError),
        ("preopens", [(d, "/x", "yes")], TypeError), ("preopens", [(d,)], TypeError),
        ("preopens", d, TypeError), ("preopens", [(5, "/x")], TypeError),
        ("inherit_env", "no", TypeError), ("inherit_argv", None, TypeError),
        ("capture_stdout", 2, TypeError), ("inherit_stdin", 1.0, TypeError),
        ("max_output", 1.5, TypeError), ("max_output", True, TypeError),
        ("max_output", -1, ValueError), ("max_output", 2**64, ValueError),
        ("stdin_bytes", "text", TypeError), ("stdin_bytes", 5, TypeError),
        ("stdin_file", 3, TypeError), ("stdin_file", "", ValueError),
        ("stdout_file", d + "/a\0b", ValueError), ("stderr_file", 1.5, TypeError),
    ]


def test_wasi_config_attributes_checked_at_construction_and_apply(bad_attrs):
    for name, value, exc in bad_attrs:
        if value is not None:  # to the constructor, None is the default (no argv, no env)
            with pytest.raises(exc):
                WasiConfig(**{name: value})
        wc = WasiConfig()
        setattr(wc, name, value)  # set directly: the same check when applied
        store = Store()
        with pytest.raises(exc):
            store.set_wasi(wc)
        store.set_wasi(WasiConfig(argv=["ok"]))  # the store is fine after the refusal


def test_wasi_config_lists_changed_in_place_are_checked(tmp_path):
    wc = WasiConfig(argv=["a"], env={"A": "1"})
    wc.argv.append(2)
    with pytest.raises(TypeError, match=r"argv"):
        Store().set_wasi(wc)
    wc = WasiConfig()
    wc.preopens.append((str(tmp_path), "/x\0y", False))
    with pytest.raises(ValueError, match="NUL"):
        Store().set_wasi(wc)
    wc = WasiConfig()
    wc.env["B"] = None
    with pytest.raises(TypeError, match="environment variable 'B'"):
        Store().set_wasi(wc)


def test_wasi_config_flags_take_bools_and_0_1(tmp_path):
    wc = WasiConfig(capture_stdout=1, inherit_env=0)
    wc.preopen_dir(tmp_path, "/t", 1)
    assert wc.preopens == [(str(tmp_path), "/t", True)]
    Store().set_wasi(wc)


# ---------------------------------------------------------------- the host's argv and environment

def test_inherit_env_with_a_non_utf8_host_variable_raises_not_aborts(wasm_path):
    # the engine's own inherit_env aborted the process here (a Rust panic)
    code = """
        import sys
        from wasmbind import Linker, Module, Store, WasiConfig
        try:
            Store().set_wasi(WasiConfig(inherit_env=True))
        except ValueError as exc:
            print("ValueError", "WASMBIND_BAD" in str(exc))
        store = Store()
        store.set_wasi(WasiConfig(inherit_env=False, env={"OK": "1"}))
        print("still fine")
    """
    env = python_env(WASMBIND_BAD=os.fsdecode(b"\xff\xfe"))
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "ValueError True\nstill fine\n"


def test_inherit_argv_copies_the_host_argv(wasm_path):
    code = """
        import sys
        from wasmbind import Linker, Module, Store, WasiConfig
        store = Store()
        linker = Linker(store.engine)
        linker.define_wasi()
        store.set_wasi(WasiConfig(inherit_argv=True, capture_stdout=True))
        try:
            linker.instantiate(store, Module.from_file(None, sys.argv[1])).exports._start()
        except Exception as exc:
            print(type(exc).__name__)
        sys.stdout.write(store.wasi_stdout.decode())
    """
    hello = str(wasm_path("hello"))
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code), hello, "ü x"],
                       capture_output=True, text=True, timeout=60, env=python_env())
    assert p.returncode == 0, p.stderr
    # python -c CODE hello.wasm "ü x": what the process was started with
    assert "ARGC=5\nARGV[0]=%s\nARGV[1]=-c\n" % sys.executable in p.stdout
    assert "ARGV[3]=%s\nARGV[4]=ü x\n" % hello in p.stdout
    # a host argument that is not UTF-8: a ValueError, not an abort
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code), hello,
                        os.fsdecode(b"bad\xff")], capture_output=True, text=True, timeout=60,
                       env=python_env())
    assert p.returncode == 1 and "ValueError" in p.stderr and "argv" in p.stderr, p.stderr
    assert "panicked" not in p.stderr


# ---------------------------------------------------------------- host paths in any encoding

@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def _o_path_fds():
    """This process's descriptors opened with O_PATH (read from /proc)."""
    found = set()
    for fd in os.listdir("/proc/self/fdinfo"):
        try:
            with open("/proc/self/fdinfo/" + fd) as f:
                flags = int(f.readline().split()[1], 8)
        except (OSError, ValueError, IndexError):
            continue
        if flags & getattr(os, "O_PATH", 0):
            found.add(int(fd))
    return found


def test_host_paths_that_are_not_utf8(prog, tmp_path):
    root = os.fsencode(tmp_path)
    sb = root + b"/sb\xfe"
    os.mkdir(sb)
    with open(sb + b"/a.txt", "wb") as f:
        f.write(b"AAA\n")
    with open(root + b"/in\xff", "wb") as f:
        f.write(b"input bytes")
    for host in (sb, os.fsdecode(sb), Path(os.fsdecode(sb))):
        r = run(prog, "files", "read", "/sb/a.txt", "write", "/sb/new.txt", "hi", dirs=[(host, "/sb")])
        assert r.returncode == 0 and r.stdout == b"AAA\nWROTE /sb/new.txt 3\n", r.stderr
    assert open(sb + b"/new.txt", "rb").read() == b"hi\n"
    r = run(prog, "cat", stdin=Path(os.fsdecode(root + b"/in\xff")))
    assert r.stdout == b"input bytes"
    out, err = root + b"/out\xff", root + b"/err\xfe"
    with open(err, "wb") as f:
        f.write(b"old contents, longer than the new ones")
    r = run(prog, "hello", stdout=Path(os.fsdecode(out)), stderr=err)
    assert r.returncode == 0 and r.stdout is None
    assert open(out, "rb").read().startswith(b"hello from wasi\n")
    assert open(err, "rb").read() == b"hello stderr\n"
    # the descriptors opened here to reach the paths (O_PATH ones) are closed
    # once the engine has its own
    wc = WasiConfig(stdout_file=out, stdin_file=root + b"/in\xff")
    wc.preopen_dir(sb, "/sb")
    Store().set_wasi(wc)
    assert _o_path_fds() == set()
    with pytest.raises(FileNotFoundError):
        Store().set_wasi(WasiConfig(stdin_file=root + b"/missing\xff"))
    with pytest.raises(ValueError, match="guest path"):
        WasiConfig().preopen_dir(sb, os.fsdecode(b"/sb\xfe"))


def test_default_argv0_of_a_file_named_in_another_encoding(wasm_path, tmp_path):
    p = tmp_path / os.fsdecode(b"h\xffllo.wasm")
    p.write_bytes(wasm_path("hello").read_bytes())
    r = run_wasi(p, timeout=20)
    assert r.args == ["h\ufffdllo.wasm"]
    assert "ARGV[0]=h\ufffdllo.wasm\n".encode() in r.stdout


# ---------------------------------------------------------------- run_wasi's other arguments

@pytest.mark.parametrize("kw, exc", [
    (dict(timeout="5"), TypeError), (dict(timeout=True), TypeError),
    (dict(timeout=float("nan")), ValueError), (dict(timeout=-1), ValueError),
    (dict(fuel=True), TypeError), (dict(fuel=1.0), TypeError), (dict(fuel=-1), ValueError),
    (dict(fuel=2**64), ValueError),
    (dict(max_output=True), TypeError), (dict(max_output="1M"), TypeError),
    (dict(max_output=-1), ValueError),
    (dict(invoke=b"_start"), TypeError), (dict(dirs="/tmp"), TypeError),
    (dict(env=[("A", "B")]), TypeError), (dict(stdin="a\udcff"), ValueError),
    (dict(stdout=1.5), TypeError), (dict(inherit_env="yes"), TypeError),
])
def test_run_wasi_argument_errors(prog, kw, exc):
    with pytest.raises(exc):
        run_wasi(prog("hello"), ["hello"], **kw)


# ---- files for the streams that could block, and engines that could -----------

WAT_CMD_NOP = '(module (func (export "_start")))'


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_fifo_streams_refused_without_blocking(tmp_path):
    # opening a FIFO waits for its other end (inside the engine, holding the
    # GIL, out of reach of Ctrl-C): refused at once, for every stream and
    # both ways of configuring it; in a child process, so a hang fails the test
    from support import assert_clean, run_py
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code = """
    import pathlib, wasmbind
    from wasmbind import Store, WasiConfig
    fifo = %r
    cases = [lambda: wasmbind.run_wasi(%r, stdout=fifo),
             lambda: wasmbind.run_wasi(%r, stderr=pathlib.Path(fifo)),
             lambda: wasmbind.run_wasi(%r, stdin=pathlib.Path(fifo)),
             lambda: Store().set_wasi(WasiConfig(stdout_file=fifo)),
             lambda: Store().set_wasi(WasiConfig(stderr_file=fifo)),
             lambda: Store().set_wasi(WasiConfig(stdin_file=fifo)),
             lambda: Store().set_wasi(WasiConfig(stdout_file=%r))]
    for case in cases:
        try:
            case()
            print("opened")
        except ValueError as exc:
            print("refused", "a FIFO" in str(exc) or "a directory" in str(exc))
    """ % (str(fifo), WAT_CMD_NOP, WAT_CMD_NOP, WAT_CMD_NOP, str(tmp_path))
    proc = run_py(code, timeout=30)
    assert_clean(proc, "\n".join(["refused True"] * 7))


def test_devices_and_new_files_still_open(tmp_path):
    # character devices (/dev/null) and regular files, new or not, still work
    if not os.path.exists(os.devnull) or os.name == "nt":
        pytest.skip("no /dev/null")
    r = run_wasi(WAT_CMD_NOP, stdin=Path(os.devnull), stdout=os.devnull, stderr=os.devnull)
    assert r.returncode == 0
    out = tmp_path / "new.txt"
    assert run_wasi(WAT_CMD_NOP, stdout=out).returncode == 0 and out.exists()
    with pytest.raises(FileNotFoundError):
        run_wasi(WAT_CMD_NOP, stdin=tmp_path / "missing")


SHARED_WAIT = """(module (memory 1 1 shared)
  (func (export "_start")
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))"""


def test_run_wasi_refuses_engines_with_shared_memories():
    # a guest blocked in memory.atomic.wait cannot be stopped by a timeout,
    # fuel or Ctrl-C: run_wasi does not take engines that allow it
    from wasmbind import Config
    from wasmbind.wasi import sandbox_engine
    threads = Config(wasm_threads=True)
    for call in (lambda: run_wasi(SHARED_WAIT, config=threads, timeout=1),
                 lambda: run_wasi(SHARED_WAIT, engine=Engine(threads), timeout=1),
                 lambda: run_wasi(Module(Engine(threads), SHARED_WAIT), timeout=1),
                 lambda: sandbox_engine(threads)):
        with pytest.raises(ValueError, match="memory.atomic.wait"):
            call()
    # the default engines refuse shared memories when instantiating, clearly
    with pytest.raises(wasmbind.WasmError, match="wasm_threads=True"):
        run_wasi(SHARED_WAIT, timeout=1)
    # and a wait on a memory that is not shared traps instead of blocking
    r = run_wasi(SHARED_WAIT.replace(" shared", ""), timeout=5)
    assert r.trap is not None and "non-shared" in r.trap.message
