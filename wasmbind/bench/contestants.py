"""The contestants: wasmbind and each peer behind one interface.

A :class:`Contestant` instantiates a shipped module (:mod:`wasmbind.bench.kernels`);
the :class:`Instance` it returns is driven the same way whatever runs it::

    inst = contestant.instantiate("kernels")
    inst.call("fib", 10)      # the result (a tuple for several results)
    inst.timer("fib", 10)     # a timeit.Timer making the call as the peer's users write it
    p = inst.load(data)       # a pointer to a copy of ``data`` in the instance's memory
    inst.read(p, len(data))   # the bytes back

:class:`Peers` finds out which peers are installed and makes their contestants.
"""

from __future__ import annotations

import ctypes
import os
import pathlib
import shutil
import subprocess
import sys
import timeit
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple

import wasmbind
from wasmbind.bench import kernels
from wasmbind.bench.report import Column, Report, Row
from wasmbind.bench.timing import arguments, call_timer, timer

Imports = Mapping[str, Callable[..., Any]]  # env.<field> -> Python function


class Ptr(NamedTuple):
    """A kernel argument: a pointer to a copy of ``data`` in the contestant's memory."""

    data: bytes


class Instance:
    """One contestant's instance of a module: calls, timers and its memory."""

    def call_expr(self, name: str, args: List[str]) -> Tuple[str, Dict[str, Any]]:
        """Source of a call of export ``name`` with argument texts ``args``, and
        the names it uses."""
        raise NotImplementedError

    def call(self, name: str, *args: Any) -> Any:
        raise NotImplementedError

    def timer(self, name: str, *args: Any) -> timeit.Timer:
        texts, names = arguments(args)
        stmt, own = self.call_expr(name, texts)
        return timer(stmt, **own, **names)

    # -- memory ------------------------------------------------------------
    def load(self, data: bytes) -> Any:
        """Copies ``data`` into memory (the kernels modules' ``alloc``); returns the pointer."""
        p = self.call("alloc", len(data))
        if not p:
            raise MemoryError("alloc(%d) failed" % len(data))
        self.write(p, data)
        return p

    def reset(self) -> None:
        """Frees everything ``load`` allocated."""
        self.call("heap_reset")

    def read(self, ptr: Any, n: int) -> bytes:
        raise NotImplementedError

    def write(self, ptr: int, data: bytes) -> None:
        raise NotImplementedError

    def grow_to(self, nbytes: int) -> None:
        """Grows the exported memory to about ``nbytes``."""
        raise NotImplementedError

    def buffer_expr(self) -> Tuple[str, Dict[str, Any]]:
        """Source of an expression giving a buffer over the memory, and its names."""
        raise NotImplementedError

    def read_timer(self, n: int) -> timeit.Timer:
        """A Timer copying the first ``n`` bytes of memory out as bytes."""
        raise NotImplementedError

    def write_timer(self, data: bytes) -> timeit.Timer:
        """A Timer copying ``data`` to the start of memory."""
        raise NotImplementedError


class Contestant:
    """A column of the tables: something that runs the shipped modules."""

    required = False  # its errors fail the run instead of becoming a note

    def __init__(self, column: Column) -> None:
        self.column = column
        self._instances: Dict[str, Instance] = {}

    def instantiate(self, module: str, imports: Optional[Imports] = None) -> Instance:
        """A new instance of ``module`` (with the functions ``imports`` as env.*)."""
        raise NotImplementedError

    def instance(self, module: str, imports: Optional[Imports] = None) -> Instance:
        """This contestant's one instance of ``module``, made on first use."""
        if module not in self._instances:
            self._instances[module] = self.instantiate(module, imports)
        return self._instances[module]

    def unsupported(self, module: str, export: str = "") -> Optional[str]:
        """None, or the note its cell gets where it cannot run ``module``/``export``."""
        return None

    # start-up costs: a Timer, or None where the contestant has no such step
    def compile_timer(self, data: bytes) -> Optional[timeit.Timer]:
        return None

    def deserialize_timer(self, data: bytes) -> Optional[timeit.Timer]:
        return None

    def instantiate_timer(self, data: bytes) -> Optional[timeit.Timer]:
        return None


def time_checked(report: Report, row: Row, timers: Dict[Any, timeit.Timer],
                 contestant: Contestant, module: str, export: str, what: str, want: Any,
                 run: Callable[[], Tuple[Any, timeit.Timer]]) -> None:
    """``run()`` sets ``contestant`` up to call ``module``'s ``export`` and returns
    (its result, its timer): the result is checked against ``want`` (as "<what>
    <contestant>"), then the timer joins ``timers``. A contestant that cannot run
    it, or a peer that fails, gets a note in the row instead."""
    col = contestant.column
    note = contestant.unsupported(module, export)
    if note:
        row.notes[col] = note
        return
    ok, res = report.attempt(row, col, run, contestant.required)
    if ok:
        got, t = res
        report.check_equal("%s %s" % (what, col.check_name), got, want)
        timers[col] = t


def call_checked(report: Report, row: Row, timers: Dict[Any, timeit.Timer],
                 contestant: Contestant, module: str, export: str, args: Tuple[Any, ...],
                 want: Any, what: str, imports: Optional[Imports] = None) -> None:
    """:func:`time_checked` for a call of ``module``'s ``export(*args)``."""
    def run() -> Tuple[Any, timeit.Timer]:
        inst = contestant.instance(module, imports)
        return inst.call(export, *args), inst.timer(export, *args)
    time_checked(report, row, timers, contestant, module, export, what, want, run)


def _call_source(args: List[str], first: str = "") -> str:
    return "f(%s)" % ", ".join(([first] if first else []) + args)


# ---------------------------------------------------------------------------
# wasmbind
# ---------------------------------------------------------------------------

class WasmbindInstance(Instance):
    def __init__(self, exports: Any) -> None:
        self.exports = exports
        self.memory: Any = exports.memory if "memory" in exports else None

    def call_expr(self, name: str, args: List[str]) -> Tuple[str, Dict[str, Any]]:
        return _call_source(args), {"f": self.exports[name]}

    def call(self, name: str, *args: Any) -> Any:
        return self.exports[name](*args)

    def read(self, ptr: int, n: int) -> bytes:
        return bytes(self.memory.read(ptr, n))

    def write(self, ptr: int, data: bytes) -> None:
        self.memory.write(ptr, data)

    def grow_to(self, nbytes: int) -> None:
        self.memory.grow((nbytes - len(self.memory)) // 65536)

    def buffer_expr(self) -> Tuple[str, Dict[str, Any]]:
        return "m", {"m": self.memory}

    def read_timer(self, n: int) -> timeit.Timer:
        return timer("r(0, %d)" % n, r=self.memory.read)

    def write_timer(self, data: bytes) -> timeit.Timer:
        return timer("w(0, src)", w=self.memory.write, src=data)


class Wasmbind(Contestant):
    required = True

    def __init__(self, engine: Optional[wasmbind.Engine] = None, column: Column = Column.WB,
                 release_gil: bool = False) -> None:
        super().__init__(column)
        self.engine = engine or wasmbind.default_engine()
        self.release_gil = release_gil

    def instantiate(self, module: str, imports: Optional[Imports] = None) -> WasmbindInstance:
        store = wasmbind.Store(self.engine, release_gil=self.release_gil)
        mod = wasmbind.Module(self.engine, kernels.read_bytes(module))
        instance = wasmbind.Instance(store, mod, {"env": dict(imports)} if imports else ())
        return WasmbindInstance(instance.exports)

    def compile_timer(self, data: bytes) -> timeit.Timer:
        return timer("M(e, d)", M=wasmbind.Module, e=self.engine, d=data)

    def deserialize_timer(self, data: bytes) -> timeit.Timer:
        ser = wasmbind.Module(self.engine, data).serialize()
        return timer("D(e, d)", D=wasmbind.Module.deserialize, e=self.engine, d=ser)

    def instantiate_timer(self, data: bytes) -> timeit.Timer:
        return timer("I(S(e), m)", I=wasmbind.Instance, S=wasmbind.Store, e=self.engine,
                     m=wasmbind.Module(self.engine, data))


# ---------------------------------------------------------------------------
# wasmtime-py, configured as wasmbind configures its engine
# ---------------------------------------------------------------------------

class _WasmtimeInstance(Instance):
    def __init__(self, store: Any, exports: Any) -> None:
        self.store = store
        self.exports = exports
        self.memory: Any = exports.get("memory")

    def call_expr(self, name: str, args: List[str]) -> Tuple[str, Dict[str, Any]]:
        return _call_source(args, "s"), {"f": self.exports[name], "s": self.store}

    def call(self, name: str, *args: Any) -> Any:
        got = self.exports[name](self.store, *args)
        return tuple(got) if isinstance(got, list) else got

    def read(self, ptr: int, n: int) -> bytes:
        return bytes(self.memory.read(self.store, ptr, ptr + n))

    def write(self, ptr: int, data: bytes) -> None:
        self.memory.write(self.store, data, ptr)

    def grow_to(self, nbytes: int) -> None:
        self.memory.grow(self.store, (nbytes - self.memory.data_len(self.store)) // 65536)

    def buffer_expr(self) -> Tuple[str, Dict[str, Any]]:
        # no buffer protocol: a ctypes array over the memory
        return "m.get_buffer_ptr(s)", {"m": self.memory, "s": self.store}

    def read_timer(self, n: int) -> timeit.Timer:
        return timer("r(s, 0, %d)" % n, r=self.memory.read, s=self.store)

    def write_timer(self, data: bytes) -> timeit.Timer:
        return timer("w(s, src, 0)", w=self.memory.write, s=self.store, src=data)


class Wasmtime(Contestant):
    """wasmtime-py as it comes (``wasmtime.Engine()``), or configured like a
    wasmbind engine: memory that never moves, and epoch checks on for the
    counterpart of ``Config.sandbox()``."""

    def __init__(self, wt: Any, as_it_comes: bool = False, epochs: bool = False,
                 parallel_compilation: Optional[bool] = None) -> None:
        super().__init__(Column.WT_EPOCH if epochs else Column.WT)
        self.wt = wt
        self.epochs = epochs
        if as_it_comes:
            self.engine = wt.Engine()
            return
        cfg = wt.Config()
        cfg.epoch_interruption = epochs
        cfg.memory_may_move = False
        if parallel_compilation is not None:
            cfg.parallel_compilation = parallel_compilation
        self.engine = wt.Engine(cfg)

    def _store(self) -> Any:
        store = self.wt.Store(self.engine)
        if self.epochs:
            store.set_epoch_deadline(1 << 62)  # never reached
        return store

    def instantiate(self, module: str, imports: Optional[Imports] = None) -> _WasmtimeInstance:
        wt = self.wt
        store = self._store()
        mod = wt.Module(self.engine, kernels.read_bytes(module))
        externs = [wt.Func(store, imp.type, (imports or {})[imp.name]) for imp in mod.imports]
        return _WasmtimeInstance(store, wt.Instance(store, mod, externs).exports(store))

    def compile_timer(self, data: bytes) -> timeit.Timer:
        return timer("M(e, d)", M=self.wt.Module, e=self.engine, d=data)

    def deserialize_timer(self, data: bytes) -> timeit.Timer:
        ser = self.wt.Module(self.engine, data).serialize()
        return timer("D(e, d)", D=self.wt.Module.deserialize, e=self.engine, d=ser)

    def instantiate_timer(self, data: bytes) -> timeit.Timer:
        wt, mod = self.wt, self.wt.Module(self.engine, data)
        return call_timer(lambda: wt.Instance(self._store(), mod, []))


# ---------------------------------------------------------------------------
# pywasm3 (an interpreter)
# ---------------------------------------------------------------------------

_W3_TYPES = {"i32": "i", "i64": "I", "f32": "f", "f64": "F"}


def _w3_signature(sig: kernels.Sig) -> str:
    """pywasm3's spelling of a host function's type: ``i(ii)``, ``v()``."""
    results = "".join(_W3_TYPES[t] for t in sig.results) or "v"
    return "%s(%s)" % (results, "".join(_W3_TYPES[t] for t in sig.params))


class _Wasm3Instance(Instance):
    def __init__(self, env: Any, runtime: Any, module: Any) -> None:
        self.env, self.rt, self.module = env, runtime, module  # env owns the others
        self._funcs: Dict[str, Any] = {}

    def _func(self, name: str) -> Any:
        if name not in self._funcs:
            self._funcs[name] = self.rt.find_function(name)
        return self._funcs[name]

    def call_expr(self, name: str, args: List[str]) -> Tuple[str, Dict[str, Any]]:
        return _call_source(args), {"f": self._func(name)}

    def call(self, name: str, *args: Any) -> Any:
        return self._func(name)(*args)

    def read(self, ptr: int, n: int) -> bytes:
        return bytes(self.rt.get_memory(0)[ptr:ptr + n])

    def write(self, ptr: int, data: bytes) -> None:
        self.rt.get_memory(0)[ptr:ptr + len(data)] = data

    def buffer_expr(self) -> Tuple[str, Dict[str, Any]]:
        return "rt.get_memory(0)", {"rt": self.rt}

    def read_timer(self, n: int) -> timeit.Timer:
        return timer("bytes(rt.get_memory(0)[0:%d])" % n, rt=self.rt)

    def write_timer(self, data: bytes) -> timeit.Timer:
        return timer("rt.get_memory(0)[0:%d] = src" % len(data), rt=self.rt, src=data)


class Wasm3(Contestant):
    def __init__(self, w3: Any) -> None:
        super().__init__(Column.W3)
        self.w3 = w3

    def unsupported(self, module: str, export: str = "") -> Optional[str]:
        return "n/a (no SIMD)" if kernels.MODULES[module]["simd"] else None

    def instantiate(self, module: str, imports: Optional[Imports] = None) -> _Wasm3Instance:
        env = self.w3.Environment()
        rt = env.new_runtime(1 << 20)
        mod = env.parse_module(kernels.read_bytes(module))
        rt.load(mod)
        sigs = kernels.imports(module)
        for name, fn in (imports or {}).items():
            mod.link_function("env", name, _w3_signature(sigs[("env", name)]), fn)
        return _Wasm3Instance(env, rt, mod)

    def compile_timer(self, data: bytes) -> timeit.Timer:
        # an interpreter: compiling is parsing
        return timer("E().parse_module(d)", E=self.w3.Environment, d=data)

    def instantiate_timer(self, data: bytes) -> timeit.Timer:
        # a wasm3 module loads once: parse + new runtime + load
        w3 = self.w3

        def instantiate() -> Any:
            env = w3.Environment()
            rt = env.new_runtime(64 * 1024)
            rt.load(env.parse_module(data))
            return rt
        return call_timer(instantiate)


# ---------------------------------------------------------------------------
# the same C built natively, called through ctypes
# ---------------------------------------------------------------------------

_C = ctypes
_CTYPES: Dict[str, Any] = {"i32": _C.c_int32, "i64": _C.c_int64, "f32": _C.c_float,
                           "f64": _C.c_double}


def _cfunctype(sig: kernels.Sig) -> Any:
    restype = _CTYPES[sig.results[0]] if sig.results else None
    return ctypes.CFUNCTYPE(restype, *[_CTYPES[t] for t in sig.params])


# callbacks.wasm's imports as C function pointer types
_HOST_TYPES = {field: _cfunctype(sig) for (_, field), sig in kernels.imports("callbacks").items()}
# kernels.c and calls_native.c, as ctypes sees them (kernels.exports() calls a
# pointer an i32)
_NATIVE_SIGNATURES: Dict[str, Tuple[List[Any], Any]] = {
    "nop": ([], None), "add": ([_C.c_int32] * 2, _C.c_int32),
    "add_i64": ([_C.c_int64] * 2, _C.c_int64), "add_f32": ([_C.c_float] * 2, _C.c_float),
    "add_f64": ([_C.c_double] * 2, _C.c_double), "sum8_i32": ([_C.c_int32] * 8, _C.c_int32),
    "fib": ([_C.c_int32], _C.c_int32), "mandelbrot": ([_C.c_int32] * 3, _C.c_int32),
    "dot_f64": ([_C.c_void_p, _C.c_void_p, _C.c_int32], _C.c_double),
    "sum_u32": ([_C.c_void_p, _C.c_int32], _C.c_int64),
    "count_u8": ([_C.c_void_p, _C.c_int32, _C.c_int32], _C.c_int32),
    "saxpy_f32": ([_C.c_float, _C.c_void_p, _C.c_void_p, _C.c_int32], None),
    "call_add": ([_HOST_TYPES["host_add"], _C.c_int32], _C.c_int32),
    "call_nop": ([_HOST_TYPES["host_nop"], _C.c_int32], None),
}
# callbacks.wat exports whose twin in calls_native.c takes, as its first
# argument, the host function that the Wasm version imports
_HOST_ARGUMENT = {"call_add": "host_add", "call_nop": "host_nop"}


class _NativeInstance(Instance):
    def __init__(self, lib: Any, host: Dict[str, Any]) -> None:
        self.lib = lib
        self.host = host  # export -> its ctypes callback (kept alive here)

    def call_expr(self, name: str, args: List[str]) -> Tuple[str, Dict[str, Any]]:
        if name in self.host:
            return _call_source(args, "cb"), {"f": getattr(self.lib, name), "cb": self.host[name]}
        return _call_source(args), {"f": getattr(self.lib, name)}

    def call(self, name: str, *args: Any) -> Any:
        lead = (self.host[name],) if name in self.host else ()
        return getattr(self.lib, name)(*lead, *args)

    def load(self, data: bytes) -> Any:
        return ctypes.create_string_buffer(data, len(data))

    def read(self, ptr: Any, n: int) -> bytes:
        return bytes(ptr.raw[:n])

    def reset(self) -> None:
        pass


class Native(Contestant):
    def __init__(self, lib: Any) -> None:
        super().__init__(Column.CT)
        self.lib = lib

    def unsupported(self, module: str, export: str = "") -> Optional[str]:
        if kernels.MODULES[module]["simd"]:
            return "(same as scalar row)"
        if export == "swap":
            return "n/a (C has no multi-value)"
        return None

    def instantiate(self, module: str, imports: Optional[Imports] = None) -> _NativeInstance:
        host = {export: _HOST_TYPES[field](imports[field])
                for export, field in _HOST_ARGUMENT.items() if imports and field in imports}
        return _NativeInstance(self.lib, host)


def build_native(cc: str, tmpdir: pathlib.Path) -> Tuple[Optional[Any], str]:
    """Builds kernels.c and calls_native.c into a shared library: (the ctypes
    library, a note for the report) or (None, why not)."""
    if shutil.which(cc) is None:
        return None, "no C compiler (`%s`) found: the C-via-ctypes column is empty." % cc
    sources = ["kernels.c", "calls_native.c"]
    here = pathlib.Path(kernels.__file__).resolve().parent
    for name in sources:
        shutil.copy(here / name, tmpdir / name)
    out = tmpdir / ("libwbbench" + (".dylib" if sys.platform == "darwin" else ".so"))
    cmd = [cc, "-O3", "-ffp-contract=off", "-shared", "-fPIC", "-o", str(out)] + sources
    try:
        r = subprocess.run(cmd, cwd=str(tmpdir), capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        ok, err = False, str(exc)
    else:
        ok, err = r.returncode == 0, r.stderr.strip()[-300:]
    if not ok:
        return None, ("building kernels.c natively failed (`%s`): the C-via-ctypes column is "
                      "empty. %s" % (" ".join(cmd), err))
    lib = ctypes.CDLL(str(out))
    for name, (args, res) in _NATIVE_SIGNATURES.items():
        f = getattr(lib, name)
        f.argtypes = args
        f.restype = res
    return lib, ("C via ctypes: `%s` (the same kernels.c, -O3, called through ctypes; the GIL "
                 "is released for each call)." % _cc_version(cc))


def _cc_version(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
        return out.splitlines()[0].strip() if out else cc
    except Exception:
        return cc


# ---------------------------------------------------------------------------
# which peers are installed
# ---------------------------------------------------------------------------

def _import(name: str) -> Any:
    try:
        return __import__(name)
    except Exception:
        return None


class Peers:
    """The installed peers; each group asks for fresh contestants."""

    def __init__(self, report: Report, tmpdir: pathlib.Path) -> None:
        self.np = _import("numpy")
        self.wt = _import("wasmtime")
        self.w3 = _import("wasm3")
        self.report = report
        self.tmpdir = tmpdir
        self._native_lib: Any = None
        self._native_tried = False
        if self.wt is None:
            report.notes.append("wasmtime-py is not installed: its column is empty "
                                "(`pip install wasmbind[bench]`).")
        if self.w3 is None:
            report.notes.append("pywasm3 is not installed: its column is empty "
                                "(`pip install pywasm3`).")
        if self.np is None:
            report.notes.append("NumPy is not installed: its column and the memory views "
                                "through numpy.frombuffer are skipped.")

    def wasmbind(self, engine: Optional[wasmbind.Engine] = None, column: Column = Column.WB,
                 release_gil: bool = False) -> Wasmbind:
        return Wasmbind(engine, column, release_gil)

    def wasmtime(self, as_it_comes: bool = False, epochs: bool = False,
                 parallel_compilation: Optional[bool] = None) -> Optional[Wasmtime]:
        """wasmtime-py configured like wasmbind's default engine (epochs off,
        memory never moves); ``as_it_comes``: ``wasmtime.Engine()``; ``epochs``:
        like ``Config.sandbox()``; ``parallel_compilation``: as the Config option."""
        if self.wt is None:
            return None
        return Wasmtime(self.wt, as_it_comes=as_it_comes, epochs=epochs,
                        parallel_compilation=parallel_compilation)

    def wasm3(self) -> Optional[Wasm3]:
        return Wasm3(self.w3) if self.w3 is not None else None

    def native(self) -> Optional[Native]:
        """The C build (compiled on first use)."""
        if not self._native_tried:
            self._native_tried = True
            self._native_lib, note = build_native(os.environ.get("CC", "cc"), self.tmpdir)
            self.report.notes.append(note)
        return Native(self._native_lib) if self._native_lib is not None else None

    def others(self) -> List[Contestant]:
        """wasmbind's peers that are installed: wasmtime-py, pywasm3, C via ctypes."""
        found = [self.wasmtime(), self.wasm3(), self.native()]
        return [c for c in found if c is not None]
