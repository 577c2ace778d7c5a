"""The ``wasmbind`` command line: ``run``, ``inspect``, ``bindgen`` and ``bench``.

    python -m wasmbind run prog.wasm [--dir HOST[::GUEST][:ro]] [--env K=V]
                           [--fuel N] [--timeout SECONDS] [--max-memory SIZE]
                           [--max-table-elements N] [--max-tables N]
                           [--max-memories N] [--max-instances N]
                           [--max-open-files N] [--invoke NAME] -- args...
    python -m wasmbind inspect mod.wasm [--json] [--wit]
    python -m wasmbind bindgen app.wasm -o OUTDIR [--name PKG] [--world W]

``run`` takes a WASI preview 1 module or a WASI preview 2 command component
(one that exports ``wasi:cli/run``), told apart by the binary; ``inspect``
lists a module's imports and exports, or prints a component's world with its
types spelt out (``--wit``: as WIT text with its types named again, as
``bindgen`` reads it); ``bindgen`` writes a typed Python package for a
component.
    python -m wasmbind bench ...          (wasmbind.bench.main)

Exit status of ``run``: the program's own exit code (0..125); otherwise

    1    the module could not be read, compiled or linked
    2    bad command-line usage
    130  interrupted by Ctrl-C
    134  the program trapped
    142  the --timeout deadline passed (128 + SIGALRM)
    152  the program ran out of --fuel (128 + SIGXCPU)

A user mistake prints one line, ``wasmbind: error: ...``, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, List, NoReturn, Optional, Sequence

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TRAP = 134
EXIT_TIMEOUT = 142
EXIT_OUT_OF_FUEL = 152

PROG = "wasmbind"


class UsageError(Exception):
    """A mistake on the command line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _first_line(text: str) -> str:
    text = str(text).strip()
    return text.splitlines()[0] if text else text


def _err(message: str) -> None:
    sys.stderr.write("%s: error: %s\n" % (PROG, message))
    sys.stderr.flush()


def _build_parser() -> _Parser:
    from wasmbind.wasi import DEFAULT_COMPONENT_LIMITS as CL
    from wasmbind.wasi import DEFAULT_LIMITS, DEFAULT_MAX_OPEN_FILES
    parser = _Parser(prog=PROG, description="Run and inspect WebAssembly modules with wasmbind.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser(
        "run", help="run a WASI command (or one export) in a sandbox",
        description="Run a WASI program (a preview 1 module, or a preview 2 command "
                    "component exporting wasi:cli/run) with no access to the host beyond what "
                    "the options give it, and no network. Arguments for the program go after "
                    "'--'. The program's exit code becomes wasmbind's.")
    run.add_argument("program", help="a .wasm binary (module or component) or .wat text file")
    run.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    run.add_argument("--dir", action="append", default=[], metavar="HOST[::GUEST][:ro]",
                     help="give the program the host directory HOST at guest path GUEST "
                          "(default: the same path), read-only with ':ro'; repeatable")
    run.add_argument("--env", action="append", default=[], metavar="K=V",
                     help="set an environment variable (K alone copies it from the host); "
                          "repeatable")
    run.add_argument("--inherit-env", action="store_true",
                     help="give the program the whole host environment")
    run.add_argument("--fuel", type=int, metavar="N",
                     help="stop the program after about N units of fuel (Wasm instructions)")
    run.add_argument("--timeout", type=float, metavar="SECONDS",
                     help="stop the program after SECONDS of wall-clock time")
    run.add_argument("--max-memory", metavar="SIZE",
                     help="cap each linear memory at SIZE bytes (suffixes K, M, G)")
    run.add_argument("--max-table-elements", metavar="N",
                     help="cap each table at N elements (default %d; 'none': no cap)"
                          % DEFAULT_LIMITS["table_elements"])
    # a component is several core instances: its defaults are higher
    run.add_argument("--max-tables", metavar="N",
                     help="allow at most N tables (default %d, %d for a component; 'none': "
                          "the engine's 10000)" % (DEFAULT_LIMITS["tables"], CL["tables"]))
    run.add_argument("--max-memories", metavar="N",
                     help="allow at most N linear memories (default %d, %d for a component; "
                          "'none': the engine's 10000)" % (DEFAULT_LIMITS["memories"], CL["memories"]))
    run.add_argument("--max-instances", metavar="N",
                     help="allow at most N instances (default %d, %d for a component; 'none': "
                          "the engine's 10000)" % (DEFAULT_LIMITS["instances"], CL["instances"]))
    run.add_argument("--max-open-files", metavar="N",
                     help="let the program hold at most N files and directories open at once "
                          "(default %d; 'none': no cap; not enforced for a component)"
                          % DEFAULT_MAX_OPEN_FILES)
    run.add_argument("--max-wasm-stack", metavar="SIZE",
                     help="bytes of native stack Wasm may use (4K..4M; suffixes K, M)")
    run.add_argument("--invoke", metavar="NAME",
                     help="call the export NAME with the arguments (converted to its parameter "
                          "types) instead of running _start, and print its results "
                          "(core modules only)")

    insp = sub.add_parser("inspect", help="list a module's imports and exports with their types",
                          description="List a module's imports and exports with their types; "
                                      "for a component, print them as a WIT world.")
    insp.add_argument("module", help="a .wasm binary (module or component) or .wat text file")
    insp.add_argument("--json", action="store_true", help="print JSON instead of text")
    insp.add_argument("--wit", action="store_true", help="a component: print its world as WIT text")

    bg = sub.add_parser("bindgen", help="write a typed Python package for a component",
                        description="Write a typed Python package (dataclasses, enums, a class per "
                                    "interface, Protocols for the imports) for a component, or for a "
                                    "WIT file or folder (needs wasm-tools).")
    bg.add_argument("component", help="a component .wasm, or a .wit file or folder")
    bg.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="where the package folder goes")
    bg.add_argument("--name", help="the package name (default: the file's stem)")
    bg.add_argument("--world", help="the world to use, for WIT input")

    sub.add_parser("bench", help="run wasmbind's benchmarks (see 'wasmbind bench --help')",
                   add_help=False)
    return parser


# ---------------------------------------------------------------- notations

def _parse_dir(spec: str) -> tuple:
    """``HOST[::GUEST][:ro]`` as ``(host, guest, read_only)``; GUEST defaults to HOST."""
    text = spec
    read_only = False
    if text.endswith(":ro"):
        text, read_only = text[:-3], True
    elif text.endswith(":rw"):
        text = text[:-3]
    host, sep, guest = text.partition("::")
    if not sep:
        guest = host
    if not host or not guest:
        raise UsageError("bad --dir %r: expected HOST[::GUEST][:ro]" % (spec,))
    if not os.path.isdir(host):
        raise UsageError("--dir %s: %s is not a directory" % (spec, host))
    if not _is_utf8(guest):
        raise UsageError("--dir %s: the guest path must be UTF-8 text%s" % (
            spec, "" if sep else "; name one: HOST::GUEST"))
    return host, guest, read_only


def _is_utf8(text: str) -> bool:
    """Whether a command-line string was valid UTF-8 (undecodable bytes arrive
    as lone surrogates, and WASI carries only UTF-8 to the program)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _parse_count(option: str, text: Optional[str], default: Optional[int]) -> Optional[int]:
    """A count for a --max-* option: a non-negative integer, or 'none'."""
    if text is None:
        return default
    if text.strip().lower() in ("none", "unlimited"):
        return None
    try:
        value = int(text, 10)
    except ValueError:
        raise UsageError("bad count for %s: %r (use a whole number, or 'none')"
                         % (option, text)) from None
    if not 0 <= value < 2**63:
        raise UsageError("%s %r is out of range" % (option, text))
    return value


_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _parse_size(option: str, text: str) -> int:
    """Bytes from ``65536``, ``64K``, ``16MiB``, ``1.5G`` (binary units)."""
    bad = UsageError("bad size for %s: %r (use a number of bytes, optionally with K, M or G)"
                     % (option, text))
    s = text.strip().lower().replace(" ", "")
    for suffix in ("ib", "b"):
        if len(s) > len(suffix) and s.endswith(suffix) and s[-len(suffix) - 1].isalpha():
            s = s[:-len(suffix)]
            break
    num, unit = s, ""
    if s and s[-1].isalpha():
        num, unit = s[:-1], s[-1]
    if unit not in _SIZE_UNITS:
        raise bad
    try:
        value = (float(num) if "." in num or "e" in num else int(num)) * _SIZE_UNITS[unit]
    except ValueError:
        raise bad from None
    if not 0 <= value < 2**63:  # also refuses inf and nan
        raise UsageError("%s %r is out of range" % (option, text))
    return int(value)


# ---------------------------------------------------------------- run

def _env_items(specs: Sequence[str]) -> dict:
    env = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not key:
            raise UsageError("bad --env %r: expected K=V" % (spec,))
        if not sep:
            if key not in os.environ:
                raise UsageError("--env %s: no such variable in the host environment" % key)
            value = os.environ[key]
        if not (_is_utf8(key) and _is_utf8(value)):
            raise UsageError("--env %s: %r is not valid UTF-8 (WASI carries only UTF-8 text)"
                             % (key, os.fsencode(key + "=" + value)))
        env[key] = value
    return env


def _convert_arg(text: str, valtype: Any) -> Any:
    name = getattr(valtype, "name", str(valtype))
    try:
        if name in ("i32", "i64"):
            return int(text, 0)
        if name in ("f32", "f64"):
            return float(text)
    except ValueError:
        raise UsageError("--invoke: %r is not a valid %s" % (text, name)) from None
    raise UsageError("--invoke: cannot pass %s arguments from the command line" % name)


def _format_value(v: Any) -> str:
    return repr(v) if isinstance(v, float) else str(v)


def _cmd_run(ns: argparse.Namespace) -> int:
    from wasmbind._core import Module
    from wasmbind.component import Component
    from wasmbind.errors import TrapCode
    from wasmbind.types import FuncType
    from wasmbind.wasi import (
        DEFAULT_COMPONENT_LIMITS,
        DEFAULT_LIMITS,
        DEFAULT_MAX_OPEN_FILES,
        INHERIT,
        _is_component_program,
        _program_name,
        run_wasi,
        sandbox_engine,
    )

    if not os.path.isfile(ns.program):
        raise UsageError("no such file: %s" % ns.program)
    is_component = _is_component_program(ns.program)
    if is_component and ns.invoke is not None:
        raise UsageError("--invoke: only for core modules; a component runs its wasi:cli/run")
    defaults = DEFAULT_COMPONENT_LIMITS if is_component else DEFAULT_LIMITS
    dirs = [_parse_dir(spec) for spec in ns.dir]
    env = _env_items(ns.env)
    max_memory = None if ns.max_memory is None else _parse_size("--max-memory", ns.max_memory)
    limits = {key: _parse_count("--max-" + option, getattr(ns, "max_" + option.replace("-", "_")),
                                defaults[key])
              for key, option in (("table_elements", "table-elements"), ("tables", "tables"),
                                  ("memories", "memories"), ("instances", "instances"))}
    max_open_files = _parse_count("--max-open-files", ns.max_open_files, DEFAULT_MAX_OPEN_FILES)
    for i, arg in enumerate(ns.args):
        if not _is_utf8(arg):
            raise UsageError("program argument %d (%r) is not valid UTF-8 (WASI carries only "
                             "UTF-8 text)" % (i + 1, os.fsencode(arg)))
    stack = None if ns.max_wasm_stack is None else _parse_size("--max-wasm-stack", ns.max_wasm_stack)
    try:
        engine = sandbox_engine(fuel=ns.fuel is not None, max_wasm_stack=stack)
    except ValueError as exc:
        raise UsageError("--max-wasm-stack: %s" % exc) from None
    program = (Component.from_file(engine, ns.program) if is_component
               else Module.from_file(engine, ns.program))

    invoke_args: List[Any] = []
    if ns.invoke is not None:
        exports = {e.name: e.type for e in program.exports}
        ftype = exports.get(ns.invoke)
        if not isinstance(ftype, FuncType):
            raise UsageError("--invoke: the module has no exported function %r" % ns.invoke)
        if len(ns.args) != len(ftype.params):
            raise UsageError("--invoke: %s%s takes %d argument(s), %d given" % (
                ns.invoke, ftype.signature(), len(ftype.params), len(ns.args)))
        invoke_args = [_convert_arg(a, t) for a, t in zip(ns.args, ftype.params)]
        argv = [_program_name(ns.program)]
    else:
        argv = [_program_name(ns.program)] + list(ns.args)

    sys.stdout.flush()
    sys.stderr.flush()
    try:
        result = run_wasi(program, argv, env=env, inherit_env=ns.inherit_env, stdin=INHERIT,
                          stdout=INHERIT, stderr=INHERIT, dirs=dirs, fuel=ns.fuel,
                          timeout=ns.timeout, max_memory=max_memory,
                          max_table_elements=limits.pop("table_elements"), limits=limits,
                          max_open_files=max_open_files, invoke=ns.invoke,
                          invoke_args=invoke_args)
    except ValueError as exc:  # run_wasi's checks of --fuel, --timeout, argv and env
        raise UsageError(_first_line(str(exc))) from None
    if result.trap is not None:
        trap = result.trap
        if trap.code == TrapCode.INTERRUPT:
            _err("the program ran past its --timeout of %gs" % ns.timeout)
            return EXIT_TIMEOUT
        if trap.code == TrapCode.OUT_OF_FUEL:
            _err("the program ran out of fuel (--fuel %d)" % ns.fuel)
            return EXIT_OUT_OF_FUEL
        code = " (%s)" % trap.code.name if trap.code is not None else ""
        _err("the program trapped: %s%s" % (_first_line(trap.message), code))
        return EXIT_TRAP
    if ns.invoke is not None:
        values = result.value if isinstance(result.value, tuple) else (
            () if result.value is None else (result.value,))
        for v in values:
            sys.stdout.write(_format_value(v) + "\n")
        sys.stdout.flush()
    return result.returncode if result.returncode is not None else EXIT_FAILURE


# ---------------------------------------------------------------- inspect

def _describe(t: Any) -> str:
    from wasmbind.types import FuncType, GlobalType, MemoryType, TableType, TagType
    if isinstance(t, FuncType):
        return "func %s" % t.signature()
    if isinstance(t, MemoryType):
        extra = "".join([" memory64" if t.memory64 else "", " shared" if t.shared else ""])
        mx = "" if t.maximum is None else " max %d" % t.maximum
        return "memory pages: min %d%s%s" % (t.minimum, mx, extra)
    if isinstance(t, GlobalType):
        return "global %s%s" % ("mut " if t.mutable else "", t.content.name)
    if isinstance(t, TableType):
        mx = "" if t.maximum is None else " max %d" % t.maximum
        return "table %s: min %d%s" % (t.element.name, t.minimum, mx)
    if isinstance(t, TagType):
        return "tag %s" % t.functype.signature()
    return repr(t)


def _json_type(t: Any) -> dict:
    from wasmbind.types import FuncType, GlobalType, MemoryType, TableType, TagType
    if isinstance(t, FuncType):
        return {"kind": "func", "params": [p.name for p in t.params],
                "results": [r.name for r in t.results]}
    if isinstance(t, MemoryType):
        return {"kind": "memory", "minimum": t.minimum, "maximum": t.maximum,
                "memory64": t.memory64, "shared": t.shared}
    if isinstance(t, GlobalType):
        return {"kind": "global", "content": t.content.name, "mutable": t.mutable}
    if isinstance(t, TableType):
        return {"kind": "table", "element": t.element.name, "minimum": t.minimum,
                "maximum": t.maximum}
    if isinstance(t, TagType):
        return {"kind": "tag", "params": [p.name for p in t.functype.params]}
    return {"kind": "unknown", "repr": repr(t)}


def _inspect_component(path: str, as_json: bool) -> int:
    from wasmbind.component import Component
    component = Component.from_file(None, path)
    world = component.type
    if as_json:
        doc = {"kind": "component",
               "imports": {name: str(t) for name, t in world.imports.items()},
               "exports": {name: str(t) for name, t in world.exports.items()},
               "wit": str(world)}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    sys.stdout.write(str(world).rstrip("\n") + "\n")
    return 0


def _cmd_bindgen(ns: argparse.Namespace) -> int:
    from wasmbind.component.codegen import bindgen
    if not os.path.exists(ns.component):
        raise UsageError("no such file: %s" % ns.component)
    for p in bindgen(ns.component, ns.out, name=ns.name, world=ns.world):
        sys.stdout.write("wrote %s\n" % p)
    return 0


def _cmd_inspect(ns: argparse.Namespace) -> int:
    from wasmbind._core import Module
    from wasmbind.wasi import _is_component_program
    if not os.path.isfile(ns.module):
        raise UsageError("no such file: %s" % ns.module)
    if ns.wit:
        from wasmbind.component import Component
        from wasmbind.component.wit import world_wit
        if not _is_component_program(ns.module):
            raise UsageError("--wit needs a component; %s is a core module" % ns.module)
        sys.stdout.write(world_wit(Component.from_file(None, ns.module).type))
        return 0
    if _is_component_program(ns.module):
        return _inspect_component(ns.module, ns.json)
    module = Module.from_file(None, ns.module)
    imports, exports = module.imports, module.exports
    if ns.json:
        doc = {"imports": [dict(module=i.module, name=i.name, type=_json_type(i.type))
                           for i in imports],
               "exports": [dict(name=e.name, type=_json_type(e.type)) for e in exports]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    out = ["imports (%d):" % len(imports)]
    out += ["  %s::%s: %s" % (i.module, i.name, _describe(i.type)) for i in imports]
    out.append("exports (%d):" % len(exports))
    out += ["  %s: %s" % (e.name, _describe(e.type)) for e in exports]
    sys.stdout.write("\n".join(out) + "\n")
    return 0


# ---------------------------------------------------------------- bench

def _cmd_bench(argv: List[str]) -> int:
    from wasmbind import bench  # only here: `import wasmbind` never loads the benchmarks
    return bench.main(argv)


# ---------------------------------------------------------------- main

def _split_dashdash(argv: List[str]) -> tuple:
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, []


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    from wasmbind.errors import CompileError, LinkError, WasmError
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":
        return _cmd_bench(argv[1:])
    parser = _build_parser()
    head, tail = _split_dashdash(argv)
    try:
        ns = parser.parse_args(head)
        if ns.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        if ns.command == "run":
            ns.args = list(ns.args) + tail
            return _cmd_run(ns)
        if tail:
            raise UsageError("unexpected arguments after '--'")
        if ns.command == "bindgen":
            return _cmd_bindgen(ns)
        return _cmd_inspect(ns)
    except UsageError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED
    except CompileError as exc:
        _err("cannot compile the module: %s" % _first_line(str(exc)))
        return EXIT_FAILURE
    except LinkError as exc:
        message = _first_line(str(exc))
        # a component's instantiation reports store limits as a link failure
        _err(_limit_hint(message) if _is_limit(message) else "cannot link the module: " + message)
        return EXIT_FAILURE
    except (OSError, WasmError, ValueError) as exc:
        _err(_limit_hint(_first_line(str(exc)) or type(exc).__name__))
        return EXIT_FAILURE


def _is_limit(message: str) -> bool:
    return ("resource limit exceeded" in message or "exceeds table limits" in message
            or "exceeds memory limits" in message)


def _limit_hint(message: str) -> str:
    """``message`` with the options that raise the limit it hit, if it is one."""
    if "instance count" in message:
        return message + " (see --max-instances)"
    if _is_limit(message):
        return message + " (see --max-memory, --max-memories, --max-tables, --max-table-elements)"
    return message
