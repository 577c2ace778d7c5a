"""WASI preview 2 for components: the same WasiConfig as preview 1 (captured
output, environment), an empty sandbox for stores without one (never the
engine's abort), WASI p2 running inside the kitchen component (CPython
compiled to WebAssembly by componentize-py), and WASI p2 commands run by
``run_wasi`` as preview 1 programs are: ``command`` (tests/components/command,
a canonical-ABI core in WAT) and ``pycli`` (a Python command built by
componentize-py)."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from component_build import command_wasm, compile_cached, kitchen_host, pycli_wasm, writer_expected, writer_wasm

import wasmbind
from wasmbind import Store, WasiConfig, run_wasi
from wasmbind.component import Component, Linker
from wasmbind.errors import CompileError, LinkError, TrapCode, WasiExit
from wasmbind.wasi import DEFAULT_COMPONENT_LIMITS, load_program, sandbox_engine

from support import assert_clean, python_env, run_py


def _api(engine, component, store):
    linker = Linker(engine)
    linker.add_wasip2()
    assert linker.wasip2 and "wasip2" in repr(linker)
    kitchen_host(linker)
    return linker.instantiate(store, component).exports["demo:kitchen/api"]


def test_stdout_captured_and_env(engine, kitchen_component):
    store = Store(engine)
    store.set_wasi(WasiConfig(capture_stdout=True, env={"GREETING": "hi"}))
    api = _api(engine, kitchen_component, store)
    api.print_hello("world")
    assert api.env_var("GREETING") == "hi"
    assert api.env_var("NOPE") is None
    assert b"hello, world" in store.wasi_stdout


def test_store_without_wasi_config_gets_a_sandbox(engine, kitchen_component):
    store = Store(engine)
    api = _api(engine, kitchen_component, store)
    api.print_hello("nobody")            # output discarded, no crash
    assert api.env_var("HOME") is None    # no host environment
    assert store.wasi_stdout is None


def test_no_wasi_config_never_aborts_in_a_child(kitchen_wasm):
    proc = run_py("""
        import sys
        sys.path.insert(0, %r)
        import wasmbind
        from wasmbind.component import Component, Linker
        from component_build import kitchen_host
        e = wasmbind.Engine()
        c = Component.from_file(e, %r)
        l = Linker(e)
        l.add_wasip2()
        kitchen_host(l)
        api = l.instantiate(wasmbind.Store(e), c).exports["demo:kitchen/api"]
        api.print_hello("x")
        print("ok")
    """ % (str(Path(__file__).parent), str(kitchen_wasm)), timeout=240)
    assert_clean(proc, "ok")


def test_guest_exception_is_a_trap(engine, kitchen_component):
    store = Store(engine)
    store.set_wasi(WasiConfig(capture_stderr=True))
    api = _api(engine, kitchen_component, store)
    with pytest.raises(wasmbind.Trap):
        api.trap()
    assert b"the guest gave up" in store.wasi_stderr


# ---------------------------------------------------------------- run_wasi on commands

@pytest.fixture(scope="module")
def command(tmp_path_factory):
    """The command component's binary, written to a file (its path)."""
    path = tmp_path_factory.mktemp("command") / "command.wasm"
    path.write_bytes(command_wasm())
    return path


@pytest.fixture(scope="module")
def pycli():
    """The Python command, compiled once for run_wasi's fuel-counting engine."""
    return compile_cached(sandbox_engine(fuel=True), pycli_wasm(), ".sandbox-fuel")


def test_command_from_path_bytes_component_and_text(command):
    data = command.read_bytes()
    for program in (command, str(command), data, bytearray(data), memoryview(data),
                    Component(sandbox_engine(), data)):
        r = run_wasi(program, ["cmd", "hello"])
        assert (r.returncode, r.trap, r.stdout, r.stderr) == (0, None, b"hello from p2\n", b"")
    assert r.args == ["cmd", "hello"]
    assert run_wasi(command).args == ["command.wasm"]   # argv[0] from the file name
    # component text too (here a command with nothing to import)
    text = """;; a component in text form
      (component
        (core module $m (func (export "run") (result i32) i32.const 1))
        (core instance $i (instantiate $m))
        (func $run (result (result)) (canon lift (core func $i "run")))
        (instance $run_iface (export "run" (func $run)))
        (export "wasi:cli/run@0.2.0" (instance $run_iface)))"""
    assert run_wasi(text).returncode == 1
    assert run_wasi(text.encode()).returncode == 1


def test_load_program_tells_the_kinds_apart_by_the_binary(command, tmp_path):
    engine = sandbox_engine()
    module_path = tmp_path / "looks-like-a-component.wasm"
    module_path.write_bytes(wasmbind.wat2wasm('(module (func (export "_start")))'))
    component_path = tmp_path / "looks-like-a-module.wat"
    component_path.write_bytes(command.read_bytes())
    assert isinstance(load_program(module_path, engine), wasmbind.Module)
    assert isinstance(load_program(component_path, engine), Component)
    assert isinstance(load_program("(module)", engine), wasmbind.Module)
    assert isinstance(load_program("  (component)", engine), Component)
    assert isinstance(load_program(b";; c\n(component)", engine), Component)


@pytest.mark.parametrize("mode, code, out", [
    ("hello", 0, b"hello from p2\n"),
    ("zero-exit", 0, b""),       # wasi:cli/exit(ok)
    ("fail", 1, b""),            # run returns err
    ("xit", 1, b""),             # wasi:cli/exit(err)
])
def test_command_exit_codes(command, mode, code, out):
    r = run_wasi(command, ["cmd", mode])
    assert (r.returncode, r.trap, r.stdout) == (code, None, out)
    assert r.ok == (code == 0)
    if code:
        with pytest.raises(WasiExit) as info:
            run_wasi(command, ["cmd", mode], check=True)
        assert info.value.code == code and info.value.result.returncode == code


def test_command_trap_is_reported_as_for_preview1(command):
    r = run_wasi(command, ["cmd", "trap"])
    assert r.returncode is None and r.trap.code == TrapCode.UNREACHABLE
    with pytest.raises(wasmbind.Trap):
        run_wasi(command, ["cmd", "trap"], check=True)


def test_command_memory_limit_fails_growth_in_the_guest(command):
    r = run_wasi(command, ["cmd", "memory"], max_memory=1 << 20)
    assert (r.returncode, r.stdout) == (1, b"grow failed\n")
    r = run_wasi(command, ["cmd", "memory"], limits={"memory_size": 256 << 10})
    assert (r.returncode, r.stdout) == (1, b"grow failed\n")


def test_command_store_limits_default_and_refuse_at_instantiation(command):
    assert DEFAULT_COMPONENT_LIMITS["memories"] >= 1
    with pytest.raises(wasmbind.WasmError, match="limit"):
        run_wasi(command, ["cmd"], limits={"memories": 0})
    with pytest.raises(wasmbind.WasmError, match="limit"):
        run_wasi(command, ["cmd"], limits={"instances": 0})
    with pytest.raises(wasmbind.WasmError):
        run_wasi(command, ["cmd"], max_memory=1000)   # below its one initial page


def test_command_invoke_an_exported_function(command, echo_wasm):
    r = run_wasi(echo_wasm, invoke="add", invoke_args=(2, 40))
    assert (r.returncode, r.value) == (0, 42)
    r = run_wasi(command, ["cmd", "hello"], invoke="wasi:cli/run@0.2.0#run")
    assert (r.returncode, r.stdout) == (0, b"hello from p2\n")
    with pytest.raises(wasmbind.component.ComponentError):  # run's err, raised for invoke
        run_wasi(command, ["cmd", "fail"], invoke="wasi:cli/run@0.2.0#run")
    with pytest.raises(LinkError, match="no function named 'nope'"):
        run_wasi(echo_wasm, invoke="nope")
    with pytest.raises(LinkError, match="no interface named 'a:b/c'"):
        run_wasi(echo_wasm, invoke="a:b/c#nope")


def test_not_a_command_and_bad_input_are_clear_errors(echo_wasm, kitchen_wasm, tmp_path):
    with pytest.raises(LinkError, match="not a WASI command: the component exports no wasi:cli/run"):
        run_wasi(echo_wasm)
    with pytest.raises(LinkError, match="demo:kitchen/host"):   # imports run_wasi cannot give
        run_wasi(kitchen_wasm)
    with pytest.raises(LinkError, match="not a WASI command: the module exports no _start"):
        run_wasi('(module (memory (export "memory") 1))')
    garbage = tmp_path / "garbage.wasm"
    garbage.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CompileError, match="not a WebAssembly module"):
        run_wasi(garbage)
    # a component header with garbage after it
    broken = b"\0asm\x0d\x00\x01\x00" + bytes(range(200))
    with pytest.raises(CompileError):
        run_wasi(broken)
    with pytest.raises(LinkError, match="exports: none"):   # the header alone: an empty component
        run_wasi(broken[:8])
    with pytest.raises(CompileError):
        run_wasi("(component (func $f (canon lift (core func 99))))")
    with pytest.raises(OSError):
        run_wasi(tmp_path / "missing.wasm")


def test_component_engine_must_be_able_to_stop_it(command):
    c = Component(wasmbind.Engine(), command.read_bytes())   # the fast profile: no epochs
    with pytest.raises(ValueError, match="interrupt"):
        run_wasi(c)
    with pytest.raises(ValueError, match="different Engine"):
        run_wasi(c, engine=sandbox_engine())
    c = Component(sandbox_engine(), command.read_bytes())
    with pytest.raises(ValueError, match="fuel"):
        run_wasi(c, fuel=1000)


def _child(code, *paths, timeout=120):
    proc = run_py("from wasmbind import run_wasi\n" + textwrap.dedent(code) % paths,
                  timeout=timeout)
    assert_clean(proc, "ok")


def test_command_runs_out_of_fuel_in_a_child(command):
    _child("""
        r = run_wasi(%r, ["cmd", "spin"], fuel=200_000)
        assert r.out_of_fuel and r.returncode is None, r
        assert r.fuel_consumed == 200_000 and r.stdout == b"spinning\\n", r
        r = run_wasi(%r, ["cmd", "hello"], fuel=200_000)
        assert r.returncode == 0 and 0 < r.fuel_consumed < 200_000, r
        print("ok")
    """, str(command), str(command))


def test_command_spinning_past_its_timeout_in_a_child(command):
    _child("""
        r = run_wasi(%r, ["cmd", "spin"], timeout=0.2)
        assert r.timed_out and r.returncode is None and r.stdout == b"spinning\\n", r
        print("ok")
    """, str(command))


def test_command_ctrl_c_raises_keyboard_interrupt(command):
    code = textwrap.dedent("""
        import sys
        from wasmbind import run_wasi
        try:
            run_wasi(%r, ["cmd", "spin"], stdout=None, timeout=60)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """ % str(command))
    proc = subprocess.Popen([sys.executable, "-c", "import signal, time; print('ready', flush=True); "
                             "exec(%r)" % code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=python_env())
    try:
        assert proc.stdout.readline() == b"ready\n"
        # wait until it spins: nothing to read, so give it a moment by polling
        for _ in range(100):
            try:
                proc.wait(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                pass
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    assert out == b"interrupted\n", (out, err)


# -- the Python command (CPython in a component, built by componentize-py)

def test_python_command_stdout_stderr_args_env(pycli):
    r = run_wasi(pycli, ["py", "hello"])
    assert (r.returncode, r.stdout, r.stderr) == (0, b"hello from python\n", b"to stderr\n")
    r = run_wasi(pycli, ["py", "args", "two words", "caf\u00e9", b"raw"], text=True)
    assert r.stdout == "py\nargs\ntwo words\ncaf\u00e9\nraw\n"
    r = run_wasi(pycli, ["py", "env"], env={"A": "1", "B": "x=y"})
    assert r.stdout == b"A=1\nB=x=y\n"            # nothing of the host's environment
    assert run_wasi(pycli, ["py", "env"]).stdout == b""
    r = run_wasi(pycli, ["py", "hello"], stdout=None, stderr=None)
    assert (r.returncode, r.stdout, r.stderr) == (0, None, None)


def test_python_command_stdin(pycli, tmp_path):
    assert run_wasi(pycli, ["py", "cat"], stdin=b"from bytes\0\xff").stdout == b"from bytes\0\xff"
    assert run_wasi(pycli, ["py", "cat"], stdin="text \u00e9").stdout == "text \u00e9".encode()
    assert run_wasi(pycli, ["py", "cat"]).stdout == b""
    # more than one 8 KiB write: to a file (see test_python_command_large_capture)
    f, out = tmp_path / "in.txt", tmp_path / "out.txt"
    f.write_bytes(b"from a file\n" * 1000)
    assert run_wasi(pycli, ["py", "cat"], stdin=f, stdout=out).returncode == 0
    assert out.read_bytes() == b"from a file\n" * 1000
    big = bytes(range(256)) * 400
    assert run_wasi(pycli, ["py", "cat"], stdin=big, stdout=out).returncode == 0
    assert out.read_bytes() == big


@pytest.mark.parametrize("size", [8193, 16384, 65536, 1 << 20])
def test_python_command_large_capture(pycli, size):
    # this CPython writes what it reads (up to 64 KiB) in one write; the
    # engine's custom stream kept only the first 8 KiB of each: captured output
    # now goes through a pipe the engine writes as a file
    big = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    r = run_wasi(pycli, ["py", "cat"], stdin=big)
    assert (r.returncode, len(r.stdout), r.stdout_truncated) == (0, size, False)
    assert r.stdout == big


def test_python_command_output_cap(pycli):
    r = run_wasi(pycli, ["py", "cat"], stdin=b"x" * 5000, max_output=100)
    assert r.stdout == b"x" * 100 and r.stdout_truncated and not r.stderr_truncated
    # the rest was read and dropped: the guest's writes succeeded (unlike
    # preview 1's, which fail past the cap)
    assert r.returncode == 0 and r.trap is None
    r = run_wasi(pycli, ["py", "cat"], stdin=bytes(70000), max_output=70000)
    assert r.stdout == bytes(70000) and not r.stdout_truncated


@pytest.mark.parametrize("total,chunk", [(8193, 8193), (1 << 20, 1 << 20), (100000, 7), (300000, 4096)])
def test_captured_writes_of_any_size_and_number(total, chunk):
    w = writer_wasm(total, chunk, ("stdout", "stderr"))
    r = run_wasi(w)
    expected = writer_expected(total, chunk)
    assert (r.returncode, r.trap, r.stdout_truncated, r.stderr_truncated) == (0, None, False, False)
    assert r.stdout == expected and r.stderr == expected


@pytest.mark.parametrize("cap", [0, 1, 999, 1000, 1001, 70000])
def test_captured_output_cap_and_flags(cap):
    w = writer_wasm(70000, 1000, ("stdout", "stderr"))
    r = run_wasi(w, max_output=cap)
    expected = writer_expected(70000, 1000)
    assert r.stdout == expected[:cap] and r.stderr == expected[:cap]
    assert r.stdout_truncated == r.stderr_truncated == (cap < 70000)
    assert r.returncode == 0
    # one stream over the cap, the other not
    r = run_wasi(writer_wasm(5000, 5000, ("stderr",)), max_output=4999)
    assert (r.stdout, r.stdout_truncated) == (b"", False)
    assert (r.stderr, r.stderr_truncated) == (writer_expected(5000, 5000)[:4999], True)


def test_endless_writer_is_bounded_and_stops_at_the_timeout():
    # a guest writing without end: it runs until the timeout, while the
    # capture keeps max_output bytes and drops the rest (the memory of the
    # process stays far below what the guest wrote)
    proc = run_py("""
        import resource, sys
        sys.path.insert(0, %r)
        from component_build import writer_wasm, writer_expected
        from wasmbind import run_wasi
        w = writer_wasm(None, 1 << 20, ("stdout", "stderr"))
        run_wasi(writer_wasm(10, 10))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        r = run_wasi(w, timeout=3, max_output=4 << 20)
        grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        assert r.trap is not None and r.returncode != 0, r
        assert r.stdout == r.stderr == writer_expected(4 << 20, 1 << 20)
        assert r.stdout_truncated and r.stderr_truncated
        assert grew < 200 * 1024, grew   # KiB: two 4 MiB captures, not what was written
        print("ok")
    """ % str(Path(__file__).parent), timeout=120)
    assert_clean(proc, "ok")


def _fd_count():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_capture_pipes_are_closed_with_their_store():
    # each pipe is closed when its store goes (not later by its thread): other
    # code counting descriptors sees none left over
    w = writer_wasm(20000, 20000, ("stdout", "stderr"))
    run_wasi(w)
    before = _fd_count()
    for _ in range(20):
        assert run_wasi(w).stdout == writer_expected(20000, 20000)
        assert _fd_count() == before
    engine = wasmbind.Engine()
    c = Component(engine, w)
    linker = Linker(engine)
    linker.add_wasip2()
    store = Store(engine)
    linker.instantiate(store, c)
    store.set_wasi(WasiConfig(capture_stdout=True))
    assert _fd_count() == before + 2   # a pipe: our read end, the engine's write end
    store.set_wasi(WasiConfig(capture_stdout=True, capture_stderr=True))   # the old pipe goes
    assert _fd_count() == before + 4
    store.close()   # closed (and then freed): its pipes close with it
    assert _fd_count() == before
    assert store.wasi_stdout == b"" and store.wasi_stderr == b""


def test_store_set_wasi_then_component_captures_everything(pycli):
    # set_wasi before the first component instance: applied again with the pipe
    big = bytes(range(256)) * 100
    engine = pycli.engine
    for order in ("before", "after"):
        store = Store(engine)
        store.set_fuel(10 ** 12)
        linker = Linker(engine)
        linker.add_wasip2()
        cfg = WasiConfig(argv=["py", "cat"], stdin_bytes=big, capture_stdout=True, capture_stderr=True)
        if order == "before":
            store.set_wasi(cfg)
        inst = linker.instantiate(store, pycli)
        if order == "after":   # set_wasi after a component instance: the pipe at once
            store.set_wasi(cfg)
        run = inst.exports["wasi:cli/run@0.2.0"]["run"]
        run()
        assert store.wasi_stdout == big and store.wasi_output_truncated == (False, False), order
        assert store.wasi_stderr == b""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_captures_its_own_output():
    # the child of a fork has none of the draining threads: it gets a pipe and
    # a thread of its own (without them, a write larger than the pipe would
    # wait for ever), and the parent's capture stays the parent's
    proc = run_py("""
        import os, sys
        sys.path.insert(0, %r)
        from component_build import writer_wasm, writer_expected
        import wasmbind
        from wasmbind import Store, WasiConfig
        from wasmbind.component import Component, Linker
        e = wasmbind.Engine()
        c = Component(e, writer_wasm(1 << 20, 65536))
        linker = Linker(e)
        linker.add_wasip2()
        store = Store(e)
        store.set_wasi(WasiConfig(capture_stdout=True))
        run = linker.instantiate(store, c).exports["wasi:cli/run@0.2.0"]["run"]
        pid = os.fork()
        if pid == 0:
            run()
            ok = store.wasi_stdout == writer_expected(1 << 20, 65536)
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert store.wasi_stdout == b""
        run()
        assert store.wasi_stdout == writer_expected(1 << 20, 65536)
        print("ok")
    """ % str(Path(__file__).parent), timeout=120)
    assert_clean(proc, "ok")


def test_run_wasi_async_component_captures_everything(pycli):
    import asyncio

    from wasmbind import run_wasi_async
    w = writer_wasm(1 << 20, 1 << 20, ("stdout", "stderr"))
    r = asyncio.run(run_wasi_async(w))
    assert r.returncode == 0
    assert r.stdout == r.stderr == writer_expected(1 << 20, 1 << 20)
    r = asyncio.run(run_wasi_async(w, max_output=1000))
    assert r.stdout == writer_expected(1000, 1 << 20) and r.stdout_truncated and r.stderr_truncated


def test_python_command_preopens_read_only_and_read_write(pycli, tmp_path):
    ro, rw = tmp_path / "ro", tmp_path / "rw"
    ro.mkdir()
    rw.mkdir()
    (ro / "data.txt").write_text("original\n")
    dirs = [(ro, "/ro", True), (rw, "/rw")]
    r = run_wasi(pycli, ["py", "read", "/ro/data.txt"], dirs=dirs)
    assert (r.returncode, r.stdout) == (0, b"original\n")
    r = run_wasi(pycli, ["py", "list", "/ro"], dirs=dirs)
    assert r.stdout == b"data.txt\n"
    # writing into the read-only one fails inside the guest; the host file is unchanged
    r = run_wasi(pycli, ["py", "write", "/ro/data.txt", "changed"], dirs=dirs)
    assert r.returncode == 1 and r.stdout.startswith(b"write failed"), r
    r = run_wasi(pycli, ["py", "write", "/ro/new.txt", "changed"], dirs=dirs)
    assert r.returncode == 1 and r.stdout.startswith(b"write failed"), r
    assert (ro / "data.txt").read_text() == "original\n"
    assert sorted(os.listdir(ro)) == ["data.txt"]
    # the read-write one takes new files
    r = run_wasi(pycli, ["py", "write", "/rw/new.txt", "written by the guest"], dirs=dirs)
    assert (r.returncode, r.stdout) == (0, b"written\n")
    assert (rw / "new.txt").read_text() == "written by the guest"
    # nothing else of the host is reachable
    for path in ("/etc/hostname", str(ro / "data.txt"), "/ro/../../etc/hostname", "/rw/../ro/data.txt"):
        r = run_wasi(pycli, ["py", "read", path], dirs=dirs)
        assert r.returncode == 1 and r.stdout.startswith(b"read failed"), (path, r)
    assert run_wasi(pycli, ["py", "read", "/ro/data.txt"]).returncode == 1   # no dirs: no files


def test_python_command_exit_codes_and_traps(pycli):
    r = run_wasi(pycli, ["py", "exit", "0"])
    assert (r.returncode, r.trap) == (0, None)
    r = run_wasi(pycli, ["py", "exit", "7"])   # os._exit(7): WASI 0.2 carries "failed", code 1
    assert (r.returncode, r.trap) == (1, None)
    r = run_wasi(pycli, ["py", "fail"])        # an uncaught Python exception: the guest traps
    assert r.returncode is None and r.trap is not None
    assert b"RuntimeError: the command gave up" in r.stderr
    r = run_wasi(pycli, ["py", "nope"])
    assert r.returncode == 1 and b"unknown command" in r.stderr


def test_python_command_limits(pycli):
    r = run_wasi(pycli, ["py", "hog"], max_memory=48 << 20)
    assert r.returncode == 1 and r.stdout.startswith(b"out of memory after"), r
    r = run_wasi(pycli, ["py", "spin"], fuel=5_000_000)
    assert r.out_of_fuel and r.fuel_consumed == 5_000_000
    r = run_wasi(pycli, ["py", "spin"], timeout=0.3)
    assert r.timed_out
    with pytest.raises(wasmbind.WasmError, match="limit"):   # CPython needs more than one instance
        run_wasi(pycli, ["py", "hello"], limits={"instances": 1})
