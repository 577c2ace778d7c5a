"""The typing stub, checked by mypy on small typed usage snippets."""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("mypy")

import wasmbind  # noqa: E402

# Check the stub of the wasmbind actually imported: the source tree in a
# development run, site-packages when the tests run against an installed wheel.
PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(wasmbind.__file__)))


def _env():
    env = dict(os.environ)
    if os.path.basename(PKG_PARENT) not in ("site-packages", "dist-packages"):
        env["MYPYPATH"] = PKG_PARENT  # (pointing MYPYPATH at site-packages confuses mypy)
    return env

GOOD = '''
from typing import List, Optional, Tuple
import wasmbind
from wasmbind import (Caller, Config, Engine, Func, FuncType, Global, GlobalType, Instance, Linker,
                      Memory, MemoryType, Module, Store, Table, TableType, ValType, WasiConfig)

engine: Engine = Engine(Config(consume_fuel=False))
store: Store
with Store(engine, release_gil=True) as store:
    module: Module = Module(engine, "(module)")
    wasm: bytes = wasmbind.wat2wasm("(module)")
    Module.validate(engine, wasm)
    data: bytes = module.serialize()
    m2: Module = Module.deserialize(engine, data)
    names: List[str] = [e.name for e in m2.exports] + [i.module for i in m2.imports]

    def host(caller: Caller, x: int) -> int:
        mem = caller.get("memory")
        return x + (mem.size if isinstance(mem, Memory) else 0)

    f = Func(store, FuncType([ValType.i32], [ValType.i32]), host, access_caller=True)
    ft: FuncType = f.type
    name: Optional[str] = f.name
    result = f(1)
    inst: Instance = Instance(store, module, {"env": {"f": f}})
    inst2: Instance = Instance(store, module, [f, lambda: 1])
    add = inst.exports["add"]
    n: int = len(inst.exports)
    mem = Memory(store, MemoryType(1))
    size: int = mem.size + mem.data_len + mem.grow(1) + len(mem) + mem.data_ptr
    chunk: bytes = mem.read(0, 4) + mem[0:4]
    byte: int = mem[0]
    mem[0] = 1
    mem[0:2] = b"ab"
    mem.write(0, bytearray(b"x"))
    view = memoryview(mem)
    g = Global(store, GlobalType("i32", True), 1)
    g.value = 2
    t = Table(store, TableType("funcref", 1), None)
    prev: int = t.grow(1, f)
    t[0] = f
    linker = Linker(engine, allow_shadowing=True)
    linker.define(store, "env", "f", f)
    linker.define_func("env", "h", FuncType([], []), lambda: None)
    linker.allow_shadowing = False
    i3: Instance = linker.instantiate(store, module)
    start: Func = linker.get_default(store, "x")
    store.set_timeout(1.0)
    with store.deadline(0.5) as s2:
        closed: bool = s2.closed
    store.set_wasi(WasiConfig(argv=["x"], capture_stdout=True))
    out: Optional[bytes] = store.wasi_stdout
    flags: Tuple[bool, bool] = store.wasi_output_truncated
    version: str = wasmbind.WASMTIME_VERSION
    default: Engine = wasmbind.default_engine()
    i4: Instance = wasmbind.instantiate("(module)")
store.close()
'''

BAD = '''
import wasmbind
from wasmbind import Engine, Memory, MemoryType, Module, Store

store = Store(Engine())
mem = Memory(store, MemoryType(1))
a: str = mem.read(0, 1)          # bytes, not str
b: str = mem.size                # int
c = Module(store.engine, 42)     # not a source
d: str = wasmbind.wat2wasm("x")  # bytes
store.close(1)                   # no arguments
e: Store = Module(None, "").engine  # an Engine
'''


def _mypy(tmp_path, code):
    path = tmp_path / "snippet.py"
    path.write_text(textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
         "--follow-imports=silent", "--python-version", "%d.%d" % sys.version_info[:2], str(path)],
        capture_output=True, text=True, timeout=300, cwd=str(tmp_path), env=_env(),
    )


def test_stub_accepts_correct_usage(tmp_path):
    proc = _mypy(tmp_path, GOOD)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_stub_rejects_wrong_usage(tmp_path):
    proc = _mypy(tmp_path, BAD)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    lines = sorted({int(line.split(":")[1]) for line in errors})
    assert lines == [7, 8, 9, 10, 11, 12], proc.stdout


def test_stub_is_valid_for_mypy(tmp_path):
    assert os.path.exists(os.path.join(PKG_PARENT, "wasmbind", "_core.pyi"))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
         "--follow-imports=silent", "-m", "wasmbind._core"],
        capture_output=True, text=True, timeout=300, cwd=str(tmp_path), env=_env(),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


COMPONENT_GOOD = '''
from typing import Any
from wasmbind import Engine, Store
from wasmbind.component import Component, ComponentError, FuncType, Linker, Record, Variant

engine = Engine()
c = Component(engine, "(component)")
data: bytes = c.serialize()
c2: Component = Component.deserialize(engine, data)
linker = Linker(engine)
linker.add_wasip2()
scope = linker.instance("ns:pkg/iface@1.0.0")
scope.add_func("f", lambda x: x)
inst = linker.instantiate(Store(engine), c2)
r = Record(x=1, y=2)
v = Variant("case", r)
f: Any = inst.exports.get("add")
t = c.exports.get("add")
if isinstance(t, FuncType):
    print([name for name, _ in t.params], t.result)
try:
    f(1, 2)
except ComponentError as exc:
    print(exc.value)
'''


def test_component_stub_accepts_correct_usage(tmp_path):
    proc = _mypy(tmp_path, COMPONENT_GOOD)
    assert proc.returncode == 0, proc.stdout + proc.stderr
