"""Run a WASI program in a sandbox, in the spirit of ``subprocess.run``: a
preview 1 module or a preview 2 command component (``wasi:cli/run``).

>>> from wasmbind import run_wasi
>>> r = run_wasi('(module (func (export "_start")) (memory (export "memory") 1))')
>>> r.returncode, r.stdout, r.trap
(0, b'', None)

``run_wasi`` compiles (or takes) a module or a component, told apart by the
binary, gives it a fresh :class:`Store` with a :class:`WasiConfig` built from
the keyword arguments, links WASI preview 1 (a module) or preview 2 (a
component), runs ``_start`` or ``wasi:cli/run`` (or the export named by
``invoke``) under the limits asked for, and returns a :class:`WasiResult`.
Pure Python: everything goes through the public classes of ``wasmbind._core``.

How an execution ends:

* ``_start`` returns, or the program calls ``proc_exit(n)``: ``returncode`` is
  0 or ``n`` and ``trap`` is None. (The engine only accepts exit statuses
  0..125; ``proc_exit`` with a larger value is reported as a trap.) A
  component's ``wasi:cli/run`` returning ok is 0, returning err is 1, and
  ``wasi:cli/exit`` with ok or err is 0 or 1 (WASI 0.2 has no other codes).
* a trap, running out of fuel (``TrapCode.OUT_OF_FUEL``) or passing the
  deadline (``TrapCode.INTERRUPT``): reported, not raised: ``returncode`` is
  None and ``trap`` holds the :class:`Trap`. ``check=True`` (or
  ``result.check_returncode()``) raises it instead. The CLI follows the same
  rule: it prints the trap on one line and exits with a fixed code.
* ``KeyboardInterrupt`` (Ctrl-C while Wasm runs) and other Python exceptions
  propagate: they are the host's business, not the program's.
* bad arguments, files that cannot be read, modules that do not compile or
  link raise before anything runs (``CompileError``, ``LinkError``,
  ``OSError``, ``ValueError``, ``TypeError``).

What a program may take is bounded by default (see ``DEFAULT_LIMITS``,
``DEFAULT_MAX_OPEN_FILES`` and docs/sandbox.md): table elements, tables,
memories and instances in its store, and the files it holds open at once.
"""

from __future__ import annotations

import numbers
import os
import time
import weakref
from typing import Any, Awaitable, Callable, Coroutine, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from wasmbind._core import (
    Component,
    ComponentExports,
    ComponentLinker,
    Engine,
    Instance,
    Linker,
    Memory,
    Module,
    Store,
    WasiConfig,
    _is_component_binary,
    _looks_like_wat,
    _wasi_run_export,
    shared_engine,
)
from wasmbind.config import Config
from wasmbind.errors import ComponentError, LinkError, Trap, TrapCode, WasiExit

__all__ = [
    "run_wasi",
    "run_wasi_async",
    "WasiResult",
    "CAPTURE",
    "INHERIT",
    "DEVNULL",
    "load_module",
    "load_program",
    "sandbox_engine",
    "DEFAULT_LIMITS",
    "DEFAULT_COMPONENT_LIMITS",
    "DEFAULT_MAX_TABLE_ELEMENTS",
    "DEFAULT_MAX_OPEN_FILES",
]

#: Default cap on captured bytes per stream (``max_output``), WasiConfig's own.
DEFAULT_MAX_OUTPUT: int = WasiConfig().max_output

#: Store limits run_wasi applies unless told otherwise (``limits=``, or the CLI's
#: ``--max-*`` options; a value of None there means the engine's own default).
#: Together with ``max_memory`` they bound the host memory a program's store
#: can take: about ``memories * max_memory`` for linear memory (4 GiB per
#: memory without ``max_memory``) plus ``tables * table_elements * 8`` bytes.
#: ``instances`` counts the program's own instance.
DEFAULT_LIMITS: Dict[str, int] = {
    "table_elements": 1_000_000,   # elements per table: 8 MB of host memory
    "tables": 4,
    "memories": 1,
    "instances": 1,
}
#: The store limits for a component (a preview 2 command). A component is
#: several core instances linked together (the program, its WASI adapter,
#: shims), with a memory and tables for some of them, all made when it is
#: instantiated; so the counts are higher than a module's and bound the same
#: thing: the host memory its store can take.
DEFAULT_COMPONENT_LIMITS: Dict[str, int] = {
    "table_elements": 1_000_000,
    "tables": 16,
    "memories": 4,
    "instances": 32,
}
#: Default cap on elements per table (``max_table_elements``).
DEFAULT_MAX_TABLE_ELEMENTS: int = DEFAULT_LIMITS["table_elements"]
#: Default cap on the files and directories a program holds open at once
#: (``max_open_files``), on top of stdin/stdout/stderr and the preopens.
DEFAULT_MAX_OPEN_FILES: int = 256

_LIMIT_NAMES = ("memory_size", "table_elements", "instances", "tables", "memories")
_FUEL_UNLIMITED = 2**64 - 1


class _Stream:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return "wasmbind.wasi.%s" % self.name

    def __reduce__(self) -> str:
        return self.name


#: stdout/stderr: keep the bytes in memory and return them in the result.
CAPTURE = _Stream("CAPTURE")
#: stdin/stdout/stderr: use the host process's own stream.
INHERIT = _Stream("INHERIT")
#: stdin: empty; stdout/stderr: discarded.
DEVNULL = _Stream("DEVNULL")


class WasiResult:
    """What :func:`run_wasi` returns (like ``subprocess.CompletedProcess``).

    ``args``: the program's argv. ``returncode``: its exit code, or None when
    it trapped. ``stdout`` / ``stderr``: captured bytes (str with
    ``text=True``), None when not captured. ``trap``: the :class:`Trap` that
    stopped it, or None. ``fuel_consumed``: fuel used (None when the engine does
    not count fuel). ``elapsed``: seconds from instantiation to the end.
    ``stdout_truncated`` / ``stderr_truncated``: the stream hit ``max_output``.
    ``value``: what the function named by ``invoke`` returned.
    A WasiResult pickles with every field (its ``trap`` with its code and frames).
    """

    __slots__ = ("args", "returncode", "stdout", "stderr", "trap", "fuel_consumed",
                 "elapsed", "stdout_truncated", "stderr_truncated", "value")

    def __init__(self, args: List[str], returncode: Optional[int], stdout: Any = None,
                 stderr: Any = None, trap: Optional[Trap] = None,
                 fuel_consumed: Optional[int] = None, elapsed: float = 0.0,
                 stdout_truncated: bool = False, stderr_truncated: bool = False,
                 value: Any = None) -> None:
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.trap = trap
        self.fuel_consumed = fuel_consumed
        self.elapsed = elapsed
        self.stdout_truncated = stdout_truncated
        self.stderr_truncated = stderr_truncated
        self.value = value

    @property
    def timed_out(self) -> bool:
        """The deadline (``timeout``) stopped the program."""
        return self.trap is not None and self.trap.code == TrapCode.INTERRUPT

    @property
    def out_of_fuel(self) -> bool:
        """The program ran out of ``fuel``."""
        return self.trap is not None and self.trap.code == TrapCode.OUT_OF_FUEL

    @property
    def ok(self) -> bool:
        """True when the program exited with code 0."""
        return self.returncode == 0

    def check_returncode(self) -> "WasiResult":
        """Raise the trap, or :class:`WasiExit` for a non-zero exit; else return self.

        The exception carries this result as its ``result`` attribute.
        """
        if self.trap is not None:
            self.trap.result = self  # type: ignore[attr-defined]
            raise self.trap
        if self.returncode:
            exc = WasiExit(self.returncode)
            exc.result = self  # type: ignore[attr-defined]
            raise exc
        return self

    def __reduce__(self) -> Tuple[Any, ...]:
        # every field, in the constructor's order (that of __slots__)
        return (WasiResult, tuple(getattr(self, name) for name in self.__slots__))

    def __repr__(self) -> str:
        parts = ["args=%r" % (self.args,), "returncode=%r" % (self.returncode,)]
        if self.trap is not None:
            parts.append("trap=%r" % (self.trap.code if self.trap.code is not None
                                      else self.trap.message,))
        for name in ("stdout", "stderr"):
            v = getattr(self, name)
            if v is not None:
                shown = repr(v[:60]) + ("..." if len(v) > 60 else "")
                parts.append("%s=%s" % (name, shown))
        if self.fuel_consumed is not None:
            parts.append("fuel_consumed=%d" % self.fuel_consumed)
        return "WasiResult(%s)" % ", ".join(parts)


# ---------------------------------------------------------------- engines

_THREADS_REFUSED = ("run_wasi runs guests it can stop, and a guest with a shared memory "
                    "can block in memory.atomic.wait where no timeout, fuel or Ctrl-C reaches "
                    "it: wasm_threads=True is refused here (run such a module in a Store of "
                    "your own, or in a subprocess)")


def sandbox_engine(config: Optional[Config] = None, *, fuel: bool = False,
                   max_wasm_stack: Optional[int] = None, asynchronous: bool = False) -> Engine:
    """The shared Engine :func:`run_wasi` uses for ``config``: the same options
    with epoch interruption on (deadlines and Ctrl-C need it), fuel counting on
    when ``fuel`` is true, and ``max_wasm_stack`` when given; an async engine
    (``async_support``) for :func:`run_wasi_async` when ``asynchronous``.
    ``Config(wasm_threads=True)`` is refused with ValueError: see
    docs/sandbox.md, "Blocking waits"."""
    if config is not None and config.wasm_threads:
        raise ValueError(_THREADS_REFUSED)
    options = (config if config is not None else Config()).options()
    options["consume_fuel"] = bool(fuel or options["consume_fuel"])
    options["async_support"] = bool(asynchronous or options["async_support"])
    if max_wasm_stack is not None:
        options["max_wasm_stack"] = max_wasm_stack
    return shared_engine(Config.sandbox(**options))


def load_module(program: Any, engine: Optional[Engine] = None) -> Module:
    """Compile ``program`` on ``engine`` (None: the default engine).

    ``program``: a :class:`Module` (returned as is), a ``str`` of WAT text (one
    whose first character is ``(`` or a ``;;`` comment), a path (``str`` or
    ``os.PathLike`` of a ``.wasm`` binary or WAT text, told apart by content),
    or bytes (a binary, or WAT text).
    """
    if isinstance(program, Module):
        return program
    if isinstance(program, str) and _looks_like_wat(program):
        return Module(engine, program)
    if isinstance(program, (str, os.PathLike)):
        return Module.from_file(engine, program)
    if isinstance(program, (bytes, bytearray, memoryview)):
        return Module(engine, program)
    raise TypeError("program must be a path, bytes, WAT text or a Module, not %s"
                    % type(program).__name__)


def _component_text(text: str) -> bool:
    """Whether WAT-like text is component text: ``(component`` after any
    whitespace and comments."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith(";;", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
        elif text.startswith("(;", i):
            j = text.find(";)", i + 2)
            i = n if j < 0 else j + 2
        else:
            break
    rest = text[i:i + 11]
    return rest.startswith("(component") and (len(rest) == 10 or not rest[10].isalnum())


def _is_component_program(program: Any) -> bool:
    """Whether ``program`` (anything :func:`load_program` takes) is a
    component: a :class:`Component`, or bytes, a file or text that hold one."""
    if isinstance(program, Component):
        return True
    if isinstance(program, Module):
        return False
    if isinstance(program, str) and _looks_like_wat(program):
        return _component_text(program)
    if isinstance(program, (str, os.PathLike)):
        try:
            with open(os.fspath(program), "rb") as f:
                head = f.read(4096)
        except OSError:
            return False  # loading says what is wrong with the file
    elif isinstance(program, (bytes, bytearray, memoryview)):
        head = bytes(memoryview(program).cast("B")[:4096])
    else:
        return False
    if head[:4] == b"\0asm":
        return _is_component_binary(head)
    try:
        return _looks_like_wat(head.decode("utf-8")) and _component_text(head.decode("utf-8"))
    except UnicodeDecodeError:
        return False


def load_program(program: Any, engine: Optional[Engine] = None) -> Union[Module, Component]:
    """A :class:`Module` or a :class:`wasmbind.component.Component`, compiled
    from ``program`` on ``engine`` (None: the default engine).

    ``program`` is what :func:`load_module` takes, or a component in any of
    those forms (a Component, a path, bytes, component text); which of the two
    it is comes from the binary (its header's layer field), not the name.
    """
    if isinstance(program, Component):
        return program
    if not _is_component_program(program):
        return load_module(program, engine)
    if isinstance(program, (str, os.PathLike)) and not (
            isinstance(program, str) and _looks_like_wat(program)):
        return Component.from_file(engine, program)
    return Component(engine, program)


def _program_name(program: Any) -> str:
    """argv[0] by default: the file's name, readable even when the name is not
    UTF-8 (undecodable bytes become U+FFFD: WASI carries only UTF-8)."""
    if isinstance(program, (str, os.PathLike)) and not (
            isinstance(program, str) and _looks_like_wat(program)):
        name = os.path.basename(os.fsencode(program))
        return name.decode("utf-8", "replace") if name else "main.wasm"
    return "main.wasm"


# ---------------------------------------------------------------- options

def _preopen(spec: Any) -> Tuple[Any, str, bool]:
    """A preopen given as ``(host, guest)`` or ``(host, guest, read_only)``."""
    if isinstance(spec, (str, bytes, os.PathLike)) or not isinstance(spec, (tuple, list)):
        raise TypeError("a directory to preopen is (host, guest) or (host, guest, read_only), "
                        "got %r" % (spec,))
    if len(spec) == 2:
        host, guest = spec
        read_only = False
    elif len(spec) == 3:
        host, guest, read_only = spec
    else:
        raise ValueError("a directory to preopen is (host, guest[, read_only]), got %r" % (spec,))
    if not isinstance(guest, str):
        raise TypeError("the guest path of a directory to preopen must be a str, got %r" % (guest,))
    return host, guest, read_only


def _check_stream(name: str, v: Any, allow_data: bool) -> None:
    if v is None or v is CAPTURE or v is INHERIT or v is DEVNULL:
        return
    if allow_data and isinstance(v, (bytes, bytearray, memoryview, str)):
        return
    if isinstance(v, (str, bytes, os.PathLike)):
        return
    raise TypeError("%s must be %s, got %s" % (
        name, "bytes, str, a pathlib.Path, INHERIT or DEVNULL" if allow_data
        else "CAPTURE, INHERIT, DEVNULL or a file path", type(v).__name__))


def _wasi_config(argv: List[Any], env: Optional[Mapping[Any, Any]], inherit_env: bool,
                 stdin: Any, stdout: Any, stderr: Any, dirs: Iterable[Any],
                 max_output: int) -> WasiConfig:
    _check_stream("stdin", stdin, True)
    _check_stream("stdout", stdout, False)
    _check_stream("stderr", stderr, False)
    if env is not None and not isinstance(env, Mapping):
        raise TypeError("env must be a mapping, not %s" % type(env).__name__)
    if isinstance(dirs, (str, bytes, os.PathLike)):
        raise TypeError("dirs must be a list of (host, guest[, read_only]), not %s"
                        % type(dirs).__name__)
    wc = WasiConfig(argv=argv, env=env, inherit_env=inherit_env, max_output=max_output)
    if stdin is INHERIT:
        wc.inherit_stdin = True
    elif isinstance(stdin, str):
        try:
            wc.stdin_bytes = stdin.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("stdin text has no UTF-8 form (it contains a lone surrogate); "
                             "pass bytes") from None
    elif isinstance(stdin, (bytes, bytearray, memoryview)):
        wc.stdin_bytes = bytes(stdin)
    elif isinstance(stdin, os.PathLike):
        wc.stdin_file = os.fspath(stdin)  # WasiConfig refuses a FIFO, a directory...
    for name, v in (("stdout", stdout), ("stderr", stderr)):
        if v is CAPTURE:
            setattr(wc, "capture_" + name, True)
        elif v is INHERIT:
            setattr(wc, "inherit_" + name, True)
        elif v is None or v is DEVNULL:
            pass
        else:
            setattr(wc, name + "_file", os.fspath(v))
    for spec in dirs:
        wc.preopen_dir(*_preopen(spec))
    return wc


def _count(name: str, v: Any) -> None:
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError("%s must be an int or None, not %s" % (name, type(v).__name__))
    if not 0 <= v < 2**63:
        raise ValueError("%s must be in [0, 2**63), got %d" % (name, v))


def _store_limits(limits: Optional[Mapping[str, Optional[int]]], max_memory: Optional[int],
                  max_table_elements: Optional[int],
                  defaults: Mapping[str, int] = DEFAULT_LIMITS) -> Dict[str, Optional[int]]:
    """``defaults`` (DEFAULT_LIMITS or DEFAULT_COMPONENT_LIMITS), then
    ``max_memory`` / ``max_table_elements``, then ``limits`` (None: the
    engine's default); one limit given two different ways is an error."""
    out: Dict[str, Optional[int]] = dict(defaults)
    shorthands = {"memory_size": ("max_memory", max_memory, None),
                  "table_elements": ("max_table_elements", max_table_elements,
                                     DEFAULT_MAX_TABLE_ELEMENTS)}
    for key, (short, given, _) in shorthands.items():
        if given is not None:
            _count(short, given)
        out[key] = given
    if limits is not None:
        if not isinstance(limits, Mapping):
            raise TypeError("limits must be a mapping of Store.set_limits keywords, not %s"
                            % type(limits).__name__)
        for key, v in limits.items():
            if key not in _LIMIT_NAMES:
                raise TypeError("unknown limit %r (limits are %s)" % (key, ", ".join(_LIMIT_NAMES)))
            if v is not None:
                _count("limits[%r]" % key, v)
            if key in shorthands:
                short, given, default = shorthands[key]
                if given != default and given != v:
                    raise ValueError("%s=%r and limits[%r]=%r disagree: give one"
                                     % (short, given, key, v))
            out[key] = v
    return out


# ---------------------------------------------------------------- open files

_WASI = "wasi_snapshot_preview1"
_EMFILE = 33  # WASI errno "too many open files"
_U32 = 0xFFFFFFFF

#: The WASI functions the descriptor budget stands in front of, and a module
#: that calls them from Wasm with the program's memory as its own: WASI's
#: functions read and write the memory exported by the instance that calls
#: them, so the program's calls are forwarded through it.
_FD_CALLS = {  # name: number of i32 and i64 parameters, in order (each returns an i32 errno)
    "path_open": "iiiiiIIii",
    "fd_close": "i",
    "fd_renumber": "ii",
}


def _forwarder_wat(memory64: bool) -> str:
    def sig(params: str) -> str:
        return "(param %s) (result i32)" % " ".join("i64" if p == "I" else "i32" for p in params)
    imports = ['(import "wasi" "%s" (func $%s %s))' % (n, n, sig(p)) for n, p in _FD_CALLS.items()]
    funcs = ['(func (export "%s") %s %s call $%s)'
             % (n, sig(p), " ".join("local.get %d" % i for i in range(len(p))), n)
             for n, p in _FD_CALLS.items()]
    return "(module %s (import \"program\" \"memory\" (memory %s0)) (export \"memory\" (memory 0)) %s)" % (
        " ".join(imports), "i64 " if memory64 else "", " ".join(funcs))


_forwarders: "weakref.WeakKeyDictionary[Engine, Dict[bool, Module]]" = weakref.WeakKeyDictionary()


class _FdBudget:
    """Bounds the files and directories a program holds open at once.

    The engine has no such limit (its WASI opens one host descriptor per
    ``path_open``, without end), so ``path_open``, ``fd_close`` and
    ``fd_renumber`` are defined in front of WASI's own: they keep the set of
    descriptors the program opened, refuse ``path_open`` with EMFILE once
    ``limit`` are open, and otherwise forward the call unchanged. Descriptors
    only come from ``path_open`` (stdio and preopens are the host's).
    """

    def __init__(self, store: Store, linker: Linker, limit: int, run: "_Runner") -> None:
        self.store = store
        self.limit = limit
        self.run = run
        self.open: set = set()
        self.wasi = {name: linker.get(store, _WASI, name) for name in _FD_CALLS}
        self.forward: Any = None
        self.memory: Any = None
        linker.allow_shadowing = True
        for name in _FD_CALLS:
            linker.define_func(_WASI, name, self.wasi[name].type, run.host(getattr(self, "_" + name)),
                               access_caller=True)
        linker.allow_shadowing = False

    async def _forwarder(self, caller: Any) -> Any:
        memory = caller.get("memory")
        if not isinstance(memory, Memory):
            raise Trap("missing required memory export")  # what WASI itself reports
        if self.forward is None:
            memory64 = memory.type.memory64
            engine = self.store.engine
            modules = _forwarders.setdefault(engine, {})
            if memory64 not in modules:
                modules[memory64] = Module(engine, _forwarder_wat(memory64))
            imports = {"wasi": dict(self.wasi), "program": {"memory": memory}}
            forward = await self.run.instantiate(self.store, modules[memory64], imports)
            if self.forward is None:
                self.forward, self.memory = forward.exports, memory
        return self.forward

    async def _path_open(self, caller: Any, *args: int) -> int:
        forward = await self._forwarder(caller)
        if len(self.open) >= self.limit:
            return _EMFILE
        errno = await self.run.call(forward.path_open, args)
        if errno == 0:
            self.open.add(int.from_bytes(self.memory.read(args[-1] & _U32, 4), "little"))
        return errno

    async def _fd_close(self, caller: Any, fd: int) -> int:
        errno = await self.run.call((await self._forwarder(caller)).fd_close, (fd,))
        if errno == 0:
            self.open.discard(fd & _U32)
        return errno

    async def _fd_renumber(self, caller: Any, fd: int, to: int) -> int:
        errno = await self.run.call((await self._forwarder(caller)).fd_renumber, (fd, to))
        if errno == 0:  # ``to`` is closed and ``fd`` moves there
            moved = (fd & _U32) in self.open
            self.open.discard(fd & _U32)
            self.open.discard(to & _U32)
            if moved:
                self.open.add(to & _U32)
        return errno


# ---------------------------------------------------------------- run

def _component_entry(instance: Any, invoke: Optional[str]) -> Any:
    """What running a component instance calls: its ``wasi:cli/run``, or the
    function named by ``invoke`` (``name`` or ``iface#name``)."""
    if invoke is None:
        run = _wasi_run_export(instance)
        if run is None:
            raise LinkError("not a WASI command: the component exports no wasi:cli/run "
                            "interface (exports: %s; name a function to call: invoke=NAME, "
                            "--invoke NAME)" % (", ".join(instance.exports) or "none"))
        return run
    scope, sep, name = invoke.rpartition("#")
    exports = instance.exports
    if sep:
        if scope not in exports or not isinstance(exports[scope], ComponentExports):
            raise LinkError("the component exports no interface named %r" % (scope,))
        exports = exports[scope]
    if name not in exports or not callable(exports[name]):
        raise LinkError("the component exports no function named %r" % (invoke,))
    return exports[name]


def run_wasi(program: Any, argv: Optional[Sequence[Union[str, bytes]]] = None, *,
             env: Optional[Mapping[Any, Any]] = None, inherit_env: bool = False,
             stdin: Any = None, stdout: Any = CAPTURE, stderr: Any = CAPTURE,
             dirs: Iterable[Any] = (), fuel: Optional[int] = None,
             timeout: Optional[float] = None, max_memory: Optional[int] = None,
             max_table_elements: Optional[int] = DEFAULT_MAX_TABLE_ELEMENTS,
             limits: Optional[Mapping[str, Optional[int]]] = None,
             max_open_files: Optional[int] = DEFAULT_MAX_OPEN_FILES,
             max_wasm_stack: Optional[int] = None, max_output: int = DEFAULT_MAX_OUTPUT,
             invoke: Optional[str] = None, invoke_args: Sequence[Any] = (),
             config: Optional[Config] = None, engine: Optional[Engine] = None,
             text: bool = False, check: bool = False) -> WasiResult:
    """Run a WASI command in a fresh store and return a :class:`WasiResult`.

    ``program``: path, bytes, WAT text or :class:`Module` (see :func:`load_module`),
    or a WASI preview 2 command component in any of those forms or as a
    :class:`wasmbind.component.Component` (see :func:`load_program`); the
    binary says which. A component runs its ``wasi:cli/run`` export, linked
    with WASI preview 2, with the same options, limits and result (its store
    limits default to ``DEFAULT_COMPONENT_LIMITS``; ``max_open_files`` is not
    enforced for it, see docs/sandbox.md). Neither kind gets network access.
    ``argv``: the full argv, program name first (default: the file name); each
    item a str (given to the program as UTF-8) or bytes (given as they are;
    the engine carries only UTF-8). ``env``: the environment (default empty),
    names and values str or bytes likewise; ``inherit_env`` copies the host's.
    ``stdin``: None or :data:`DEVNULL` (empty), bytes or str (data), a
    ``pathlib.Path`` (file) or :data:`INHERIT`. ``stdout``/``stderr``:
    :data:`CAPTURE` (default), :data:`INHERIT`, :data:`DEVNULL`/None, or a path to
    write to. ``dirs``: preopened directories, each ``(host, guest)`` or
    ``(host, guest, read_only)``; nothing else of the host file system is
    reachable.

    Limits: ``fuel`` (instructions, roughly); ``timeout`` (wall-clock seconds,
    instantiation included); ``max_memory`` (bytes per linear memory);
    ``max_table_elements`` (elements per table, default
    ``DEFAULT_MAX_TABLE_ELEMENTS``); ``limits`` (:meth:`Store.set_limits`
    keywords: ``memory_size``, ``table_elements``, ``tables``, ``memories``,
    ``instances``; over ``DEFAULT_LIMITS``, None for the engine's default);
    ``max_open_files`` (files and directories the program holds open at once,
    default ``DEFAULT_MAX_OPEN_FILES``; past it ``path_open`` fails with EMFILE;
    None: no bound); ``max_wasm_stack`` (bytes of native stack for Wasm);
    ``max_output`` (captured bytes kept per stream; past it ``*_truncated`` is
    set and writes fail in a preview-1 guest, or are dropped for a component).
    Growth past a limit fails in the guest (``memory.grow``/``table.grow``
    return -1); a module that needs more at instantiation raises WasmError.

    ``invoke``: call this export (with ``invoke_args``) instead of ``_start``,
    after ``_initialize`` if the module has one; its result is ``value``. For
    a component: an exported function, or ``"iface#func"`` for a function of an
    exported interface, called instead of ``wasi:cli/run``.
    ``config``/``engine``: the engine to use (a Module or Component brings its own).
    ``text``: decode captured output as UTF-8. ``check``: raise the trap, or
    :class:`WasiExit` for a non-zero exit, instead of returning.
    """
    return _complete(_session(False, **locals()))


async def run_wasi_async(program: Any, argv: Optional[Sequence[Union[str, bytes]]] = None,
                         **options: Any) -> WasiResult:
    """:func:`run_wasi` on an async engine, awaited: the same arguments and the
    same :class:`WasiResult`. The program runs on the event loop's thread and
    yields to the loop at every epoch tick, so other tasks (and other programs)
    go on while it runs; cancelling the awaiting task stops it. A given
    ``engine`` (or a Module's) must be async: ``Config(async_support=True)``;
    without one, the shared sandbox engine of ``config`` with async support."""
    import inspect  # here: importing it takes longer than importing wasmbind

    bound = inspect.signature(run_wasi).bind(program, argv, **options)
    bound.apply_defaults()
    return await _session(True, **bound.arguments)


class _Runner:
    """How a session runs Wasm: called (run_wasi) or awaited (run_wasi_async).
    The session is a coroutine either way; a sync one never suspends, and
    run_wasi completes it with one ``send``."""

    def __init__(self, asynchronous: bool) -> None:
        self.asynchronous = asynchronous

    async def link(self, linker: Linker, store: Store, module: Module) -> Instance:
        if self.asynchronous:
            return await linker.instantiate_async(store, module)
        return linker.instantiate(store, module)

    async def instantiate(self, store: Store, module: Module, imports: Any) -> Instance:
        if self.asynchronous:
            return await Instance.create_async(store, module, imports)
        return Instance(store, module, imports)

    async def call(self, func: Any, args: Tuple[Any, ...]) -> Any:
        if self.asynchronous:
            return await func.call_async(*args)
        return func(*args)

    def host(self, fn: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
        """A host function of the coroutine function ``fn``: itself on an async
        store; on a sync one, a function that completes it."""
        if self.asynchronous:
            return fn
        return lambda *args: _complete(fn(*args))


def _complete(coro: Awaitable[Any]) -> Any:
    """The result of a coroutine that never suspends (a sync session's)."""
    try:
        coro.send(None)  # type: ignore[attr-defined]
    except StopIteration as stop:
        return stop.value
    coro.close()  # type: ignore[attr-defined]
    raise AssertionError("a sync WASI session suspended")  # pragma: no cover


async def _session(asynchronous: bool, program: Any, argv: Optional[Sequence[Union[str, bytes]]], *,
                   env: Optional[Mapping[Any, Any]], inherit_env: bool, stdin: Any, stdout: Any,
                   stderr: Any, dirs: Iterable[Any], fuel: Optional[int], timeout: Optional[float],
                   max_memory: Optional[int], max_table_elements: Optional[int],
                   limits: Optional[Mapping[str, Optional[int]]], max_open_files: Optional[int],
                   max_wasm_stack: Optional[int], max_output: int, invoke: Optional[str],
                   invoke_args: Sequence[Any], config: Optional[Config], engine: Optional[Engine],
                   text: bool, check: bool) -> WasiResult:
    """The body of run_wasi and run_wasi_async, given all their arguments."""
    run = _Runner(asynchronous)
    if fuel is not None:
        if not isinstance(fuel, int) or isinstance(fuel, bool):
            raise TypeError("fuel must be an int, not %s" % type(fuel).__name__)
        if not 0 <= fuel < 2**64:
            raise ValueError("fuel must be in [0, 2**64), got %d" % fuel)
    if timeout is not None:
        if not isinstance(timeout, numbers.Real) or isinstance(timeout, bool):
            raise TypeError("timeout must be a number of seconds, not %s" % type(timeout).__name__)
        timeout = float(timeout)
        if not timeout >= 0:
            raise ValueError("timeout must be a non-negative number of seconds, got %r" % (timeout,))
    if not isinstance(max_output, int) or isinstance(max_output, bool):
        raise TypeError("max_output must be an int, not %s" % type(max_output).__name__)
    if max_output < 0:
        raise ValueError("max_output must be >= 0, got %d" % max_output)
    if max_open_files is not None:
        _count("max_open_files", max_open_files)
    if invoke is not None and not isinstance(invoke, str):
        raise TypeError("invoke must be an export name (a str), not %s" % type(invoke).__name__)
    is_component = _is_component_program(program)
    store_limits = _store_limits(limits, max_memory, max_table_elements,
                                 DEFAULT_COMPONENT_LIMITS if is_component else DEFAULT_LIMITS)
    if argv is not None and (isinstance(argv, (str, bytes, bytearray)) or
                             not hasattr(argv, "__iter__")):
        raise TypeError("argv must be a list of str or bytes, not %s" % type(argv).__name__)

    # the engine: the Module's (Component's) own, the one given, or a shared one per config
    if isinstance(program, (Module, Component)):
        kind = type(program).__name__
        if engine is not None and engine is not program.engine:
            raise ValueError("the %s was compiled for a different Engine" % kind)
        engine = program.engine
    if engine is not None:
        if config is not None or max_wasm_stack is not None:
            raise ValueError("config and max_wasm_stack cannot be combined with an Engine "
                             "(or a Module, which brings its engine): set them on the Engine")
        if fuel is not None and not engine.config.consume_fuel:
            raise ValueError("fuel needs an Engine made with Config(consume_fuel=True)")
        if engine.config.wasm_threads:
            raise ValueError(_THREADS_REFUSED)
        if engine.config.async_support != asynchronous:
            raise ValueError("run_wasi_async needs an async engine: Config(async_support=True)"
                             if asynchronous else
                             "this engine is async (Config(async_support=True)): use run_wasi_async")
        if not engine.config.epoch_interruption:
            # the sandbox promises deadlines and Ctrl-C, timeout or not
            raise ValueError("run_wasi needs an engine that can interrupt running Wasm: "
                             "Engine(Config.sandbox()) (or pass no engine)")
    else:
        engine = sandbox_engine(config, fuel=fuel is not None, max_wasm_stack=max_wasm_stack,
                                asynchronous=asynchronous)
    module = load_program(program, engine)

    args = [_program_name(program)] if argv is None else list(argv)
    wc = _wasi_config(args, env, inherit_env, stdin, stdout, stderr, dirs, max_output)
    if max_open_files is not None and store_limits["instances"] and not is_component:
        # the descriptor budget's forwarder is an instance, but not the program's
        store_limits["instances"] = min(store_limits["instances"] + 1, 2**63 - 1)

    store = Store(engine)
    try:
        store.set_wasi(wc)
        counting = bool(engine.config.consume_fuel)
        initial_fuel = _FUEL_UNLIMITED if fuel is None else fuel
        if counting:
            store.set_fuel(initial_fuel)
        store.set_limits(**store_limits)
        if is_component:
            linker: Any = ComponentLinker(engine)
            linker.add_wasip2()
        else:
            linker = Linker(engine)
            linker.define_wasi()
            if max_open_files is not None:
                _FdBudget(store, linker, max_open_files, run)

        returncode: Optional[int] = None
        trap: Optional[Trap] = None
        value = None
        start = time.perf_counter()
        if timeout is not None:
            store.set_timeout(timeout)
        try:
            instance = await run.link(linker, store, module)
            exports = instance.exports
            if is_component:
                value = await run.call(_component_entry(instance, invoke),
                                       () if invoke is None else tuple(invoke_args))
            elif invoke is not None:
                if invoke not in exports:
                    raise LinkError("the module has no export named %r" % (invoke,))
                if "_initialize" in exports:
                    await run.call(exports["_initialize"], ())
                value = await run.call(exports[invoke], tuple(invoke_args))
            else:
                if "_start" not in exports:
                    raise LinkError("not a WASI command: the module exports no _start "
                                    "function (name an export to call: invoke=NAME, "
                                    "--invoke NAME)")
                await run.call(exports["_start"], ())
            returncode = 0
        except WasiExit as exc:
            returncode = exc.code
        except ComponentError:
            if not is_component or invoke is not None:
                raise
            returncode = 1  # wasi:cli/run returned err: exit code 1, as wasi:cli/exit(err)
        except Trap as exc:
            trap = exc
        finally:
            elapsed = time.perf_counter() - start
            store.set_timeout(None)

        fuel_consumed = initial_fuel - store.get_fuel() if counting else None
        out: Any = store.wasi_stdout
        err: Any = store.wasi_stderr
        out_cut, err_cut = store.wasi_output_truncated
    finally:
        store.close()
    if text:
        out = None if out is None else out.decode("utf-8", "replace")
        err = None if err is None else err.decode("utf-8", "replace")
    result = WasiResult(args, returncode, out, err, trap, fuel_consumed, elapsed,
                        out_cut, err_cut, value)
    if check:
        result.check_returncode()
    return result
