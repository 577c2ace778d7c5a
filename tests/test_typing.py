"""The typing stub: mypy on small typed usage snippets, and mypy.stubtest against the module."""

import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

# Check the stub of the wasmbind actually imported: the source tree in a
# development run, site-packages when the tests run against an installed wheel.
from support import PKG_PARENT

pytest.importorskip("mypy")


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
    ref = inst.exports["mk"]
    if isinstance(ref, wasmbind.StructRef):
        ref[0] = 1
        nfields: int = len(ref) + len(list(ref))
        owner: Store = ref.store
    if isinstance(ref, (wasmbind.ArrayRef, wasmbind.AnyRef, wasmbind.ExnRef, wasmbind.ExternRef)):
        home: Store = ref.store
store.close()


async def use_asyncio(func: Func, module: Module) -> int:
    aengine = Engine(Config(async_support=True, consume_fuel=True))
    astore = Store(aengine)
    astore.fuel_async_yield_interval = 10_000
    astore.fuel_async_yield_interval = None
    every: int = astore.fuel_async_yield_interval

    async def lookup(x: int) -> int:
        return x

    inst: Instance = await Instance.create_async(astore, module, {"env": {"f": lookup}})
    linker = Linker(aengine)
    linker.define_func("env", "f", FuncType([ValType.i32], [ValType.i32]), lookup)
    inst2: Instance = await linker.instantiate_async(astore, module)
    result = await func.call_async(1, 2)
    ran: wasmbind.WasiResult = await wasmbind.run_wasi_async("(module)", timeout=1.0)
    return every + len(inst.exports) + len(inst2.exports) + int(result) + (ran.returncode or 0)
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


# ---------------------------------------------------------------- stubtest
# mypy.stubtest compares _core.pyi with the compiled module. Only its presence
# findings are checked here: a name the module has and the stub lacks, or the
# reverse. Its other findings are noise for a Cython module (binding=False has
# no positional-only markers, cdef classes are final and disjoint bases,
# __init__ takes *args) and grow with each mypy release.
_PRESENCE = re.compile(r"^error: (\S+) is not present (in stub|at runtime)$", re.M)

# Known and intended. Cython's doctest dict; and the buffer protocol, which the
# stub declares for typing (collections.abc.Buffer) but which only Python 3.12+
# shows as methods.
_PRESENCE_EXPECTED = {
    ("wasmbind._core.__test__", "in stub"),
    ("wasmbind._core.Memory.__buffer__", "at runtime"),
    ("wasmbind._core.Memory.__release_buffer__", "at runtime"),
    ("wasmbind._core.SharedMemory.__buffer__", "at runtime"),
    ("wasmbind._core.SharedMemory.__release_buffer__", "at runtime"),
}


def _stubtest(tmp_path, env):
    proc = subprocess.run([sys.executable, "-m", "mypy.stubtest", "wasmbind._core"],
                          capture_output=True, text=True, timeout=300, cwd=str(tmp_path), env=env)
    out = proc.stdout + proc.stderr
    # stubtest says "Success" also when it finds no stub at all; the known
    # finding about __test__ shows that it compared the two.
    assert re.search(r"\(checked 1 module\)$", proc.stdout, re.M), out
    found = set(_PRESENCE.findall(proc.stdout))
    assert ("wasmbind._core.__test__", "in stub") in found, out
    return found, out


def _runtime_env():
    env = _env()
    if "MYPYPATH" in env:  # the source tree: stubtest imports the module from there too
        env["PYTHONPATH"] = PKG_PARENT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_stub_names_match_the_runtime(tmp_path):
    found, out = _stubtest(tmp_path, _runtime_env())
    unexpected = ["%s is not present %s" % f for f in sorted(found - _PRESENCE_EXPECTED)]
    assert not unexpected, "_core.pyi and the module differ:\n  %s\n\n%s" % ("\n  ".join(unexpected), out)


def test_stubtest_sees_names_missing_from_the_stub(tmp_path):
    """The check above notices drift: here on a copy of the package's Python
    files whose _core.pyi lost a function and a method and gained a name the
    module lacks (an empty __init__.pyi keeps mypy from reading the rest)."""
    src = os.path.join(PKG_PARENT, "wasmbind")
    stubs = tmp_path / "stubs" / "wasmbind"
    stubs.mkdir(parents=True)
    for name in os.listdir(src):
        if name.endswith((".py", ".pyi")) or name == "py.typed":
            shutil.copy(os.path.join(src, name), str(stubs / name))
    (stubs / "__init__.pyi").write_text("")
    text = (stubs / "_core.pyi").read_text()
    tree = ast.parse(text)
    store = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Store")
    drop = [next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "wat2wasm"),
            next(n for n in store.body if isinstance(n, ast.FunctionDef) and n.name == "set_fuel")]
    lines = text.splitlines()
    for node in sorted(drop, key=lambda n: -n.lineno):
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        del lines[start - 1:node.end_lineno]
    lines.append("def not_at_runtime() -> None: ...")
    (stubs / "_core.pyi").write_text("\n".join(lines) + "\n")
    env = _runtime_env()
    env["MYPYPATH"] = str(tmp_path / "stubs")
    found, out = _stubtest(tmp_path, env)
    assert found - _PRESENCE_EXPECTED == {
        ("wasmbind._core.wat2wasm", "in stub"),
        ("wasmbind._core.Store.set_fuel", "in stub"),
        ("wasmbind._core.not_at_runtime", "at runtime"),
    }, out


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
