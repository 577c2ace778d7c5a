"""Run a WASI (preview 1) program in a sandbox, in the spirit of ``subprocess.run``.

>>> from wasmbind import run_wasi
>>> r = run_wasi('(module (func (export "_start")) (memory (export "memory") 1))')
>>> r.returncode, r.stdout, r.trap
(0, b'', None)

``run_wasi`` compiles (or takes) a module, gives it a fresh :class:`Store` with
a :class:`WasiConfig` built from the keyword arguments, links WASI preview 1,
runs ``_start`` (or the export named by ``invoke``) under the limits asked for,
and returns a :class:`WasiResult`. Pure Python: everything goes through the
public classes of ``wasmbind._core``.

How an execution ends:

* ``_start`` returns, or the program calls ``proc_exit(n)``: ``returncode`` is
  0 or ``n`` and ``trap`` is None. (The engine only accepts exit statuses
  0..125; ``proc_exit`` with a larger value is reported as a trap.)
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
"""

from __future__ import annotations

import os
import time
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple

from wasmbind._core import Engine, Linker, Module, Store, WasiConfig, _looks_like_wat, shared_engine
from wasmbind.config import Config
from wasmbind.errors import LinkError, Trap, TrapCode, WasiExit

__all__ = [
    "run_wasi",
    "WasiResult",
    "CAPTURE",
    "INHERIT",
    "DEVNULL",
    "load_module",
    "sandbox_engine",
]

#: Default cap on captured bytes per stream (``max_output``), WasiConfig's own.
DEFAULT_MAX_OUTPUT: int = WasiConfig().max_output

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
                   max_wasm_stack: Optional[int] = None) -> Engine:
    """The shared Engine :func:`run_wasi` uses for ``config``: the same options
    with epoch interruption on (deadlines and Ctrl-C need it), fuel counting on
    when ``fuel`` is true, and ``max_wasm_stack`` when given.
    ``Config(wasm_threads=True)`` is refused with ValueError: see
    docs/sandbox.md, "Blocking waits"."""
    if config is not None and config.wasm_threads:
        raise ValueError(_THREADS_REFUSED)
    options = (config if config is not None else Config()).options()
    options["consume_fuel"] = bool(fuel or options["consume_fuel"])
    options["epoch_interruption"] = True
    if max_wasm_stack is not None:
        options["max_wasm_stack"] = max_wasm_stack
    return shared_engine(Config(**options))


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


def _program_name(program: Any) -> str:
    if isinstance(program, (str, os.PathLike)) and not (
            isinstance(program, str) and _looks_like_wat(program)):
        return os.path.basename(os.fspath(program)) or "main.wasm"
    return "main.wasm"


# ---------------------------------------------------------------- options

def _preopen(spec: Any) -> Tuple[str, str, bool]:
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
    return os.fspath(host), guest, bool(read_only)


def _check_stream(name: str, v: Any, allow_data: bool) -> None:
    if v is None or v is CAPTURE or v is INHERIT or v is DEVNULL:
        return
    if allow_data and isinstance(v, (bytes, bytearray, memoryview, str)):
        return
    if isinstance(v, (str, os.PathLike)):
        return
    raise TypeError("%s must be %s, got %s" % (
        name, "bytes, str, a pathlib.Path, INHERIT or DEVNULL" if allow_data
        else "CAPTURE, INHERIT, DEVNULL or a file path", type(v).__name__))


def _wasi_config(argv: List[str], env: Optional[Mapping[str, str]], inherit_env: bool,
                 stdin: Any, stdout: Any, stderr: Any, dirs: Iterable[Any],
                 max_output: int) -> WasiConfig:
    _check_stream("stdin", stdin, True)
    _check_stream("stdout", stdout, False)
    _check_stream("stderr", stderr, False)
    wc = WasiConfig(argv=argv, env=dict(env or {}), inherit_env=inherit_env,
                    max_output=max_output)
    if stdin is INHERIT:
        wc.inherit_stdin = True
    elif isinstance(stdin, str):
        wc.stdin_bytes = stdin.encode("utf-8")
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


# ---------------------------------------------------------------- run

def run_wasi(program: Any, argv: Optional[Sequence[str]] = None, *,
             env: Optional[Mapping[str, str]] = None, inherit_env: bool = False,
             stdin: Any = None, stdout: Any = CAPTURE, stderr: Any = CAPTURE,
             dirs: Iterable[Any] = (), fuel: Optional[int] = None,
             timeout: Optional[float] = None, max_memory: Optional[int] = None,
             limits: Optional[Mapping[str, Optional[int]]] = None,
             max_wasm_stack: Optional[int] = None, max_output: int = DEFAULT_MAX_OUTPUT,
             invoke: Optional[str] = None, invoke_args: Sequence[Any] = (),
             config: Optional[Config] = None, engine: Optional[Engine] = None,
             text: bool = False, check: bool = False) -> WasiResult:
    """Run a WASI command in a fresh store and return a :class:`WasiResult`.

    ``program``: path, bytes, WAT text or :class:`Module` (see :func:`load_module`).
    ``argv``: the full argv, program name first (default: the file name).
    ``env``: the environment (default empty); ``inherit_env`` copies the host's.
    ``stdin``: None or :data:`DEVNULL` (empty), bytes or str (data), a
    ``pathlib.Path`` (file) or :data:`INHERIT`. ``stdout``/``stderr``:
    :data:`CAPTURE` (default), :data:`INHERIT`, :data:`DEVNULL`/None, or a path to
    write to. ``dirs``: preopened directories, each ``(host, guest)`` or
    ``(host, guest, read_only)``; nothing else of the host file system is
    reachable.

    Limits: ``fuel`` (instructions, roughly); ``timeout`` (wall-clock seconds,
    instantiation included); ``max_memory`` (bytes per linear memory); ``limits`` (more :meth:`Store.set_limits` keywords: tables,
    instances, memories, table_elements); ``max_wasm_stack`` (bytes of native
    stack for Wasm); ``max_output`` (captured bytes kept per stream; past it
    writes fail in the guest and ``*_truncated`` is set).

    ``invoke``: call this export (with ``invoke_args``) instead of ``_start``,
    after ``_initialize`` if the module has one; its result is ``value``.
    ``config``/``engine``: the engine to use (a Module brings its own).
    ``text``: decode captured output as UTF-8. ``check``: raise the trap, or
    :class:`WasiExit` for a non-zero exit, instead of returning.
    """
    if fuel is not None:
        if not isinstance(fuel, int) or isinstance(fuel, bool) or not 0 <= fuel < 2**64:
            raise ValueError("fuel must be an int in [0, 2**64), got %r" % (fuel,))
    if timeout is not None:
        timeout = float(timeout)
        if not timeout >= 0:
            raise ValueError("timeout must be a non-negative number of seconds, got %r" % (timeout,))
    if not isinstance(max_output, int) or max_output < 0:
        raise ValueError("max_output must be an int >= 0, got %r" % (max_output,))

    # the engine: the Module's own, the one given, or a shared one per config
    if isinstance(program, Module):
        if engine is not None and engine is not program.engine:
            raise ValueError("the Module was compiled for a different Engine")
        engine = program.engine
    if engine is not None:
        if config is not None or max_wasm_stack is not None:
            raise ValueError("config and max_wasm_stack cannot be combined with an Engine "
                             "(or a Module, which brings its engine): set them on the Engine")
        if fuel is not None and not engine.config.consume_fuel:
            raise ValueError("fuel needs an Engine made with Config(consume_fuel=True)")
        if timeout is not None and not engine.config.epoch_interruption:
            raise ValueError("timeout needs an Engine made with Config(epoch_interruption=True)")
        if engine.config.wasm_threads:
            raise ValueError(_THREADS_REFUSED)
    else:
        engine = sandbox_engine(config, fuel=fuel is not None, max_wasm_stack=max_wasm_stack)
    module = load_module(program, engine)

    args = [_program_name(program)] if argv is None else [str(a) for a in argv]
    wc = _wasi_config(args, env, inherit_env, stdin, stdout, stderr, dirs, max_output)
    store_limits = dict(limits or {})
    if max_memory is not None:
        if not isinstance(max_memory, int) or isinstance(max_memory, bool):
            raise TypeError("max_memory is a number of bytes (an int), got %r" % (max_memory,))
        store_limits["memory_size"] = max_memory

    store = Store(engine)
    try:
        store.set_wasi(wc)
        counting = bool(engine.config.consume_fuel)
        initial_fuel = _FUEL_UNLIMITED if fuel is None else fuel
        if counting:
            store.set_fuel(initial_fuel)
        if store_limits:
            store.set_limits(**store_limits)
        linker = Linker(engine)
        linker.define_wasi()

        returncode: Optional[int] = None
        trap: Optional[Trap] = None
        value = None
        start = time.perf_counter()
        if timeout is not None:
            store.set_timeout(timeout)
        try:
            instance = linker.instantiate(store, module)
            exports = instance.exports
            if invoke is not None:
                if invoke not in exports:
                    raise LinkError("the module has no export named %r" % (invoke,))
                if "_initialize" in exports:
                    exports["_initialize"]()
                value = exports[invoke](*invoke_args)
            else:
                if "_start" not in exports:
                    raise LinkError("not a WASI command: the module exports no _start "
                                    "function (name an export to call: invoke=NAME, "
                                    "--invoke NAME)")
                exports["_start"]()
            returncode = 0
        except WasiExit as exc:
            returncode = exc.code
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
