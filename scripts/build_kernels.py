#!/usr/bin/env python3
"""Rebuild wasmbind's benchmark kernels from source.

Usage (from anywhere):
    python scripts/build_kernels.py              # rebuild the committed .wasm + native lib
    python scripts/build_kernels.py --check      # rebuild into a temp dir, compare bytes
    python scripts/build_kernels.py --no-native  # only the .wasm files
    python scripts/build_kernels.py --out DIR --native-dir DIR2

Toolchain (Debian 12 / bookworm): clang 14, wasm-ld (lld), wat2wasm (wabt):
    apt-get install -y clang lld wabt wasi-libc libclang-rt-dev-wasm32
(wasi-libc / libclang-rt are not linked into the kernels, which are freestanding,
but they make `clang --target=wasm32-wasi` usable for other work.)

The exact commands run (cwd = wasmbind/bench/kernels, so only relative paths reach
the compiler) are, with EXPORTS = -Wl,--export=NAME for every kernels.c export
listed in wasmbind/bench/kernels/__init__.py:

    clang --target=wasm32 -O3 -ffp-contract=off -nostdlib -ffile-prefix-map=<srcdir>=. \
        -Wl,--no-entry -Wl,--strip-all -Wl,--stack-first -Wl,-z,stack-size=65536 \
        -Wl,--initial-memory=2097152 EXPORTS -o kernels.wasm kernels.c
    (same + -msimd128)  -o kernels_simd.wasm
    wat2wasm calls.wat -o calls.wasm
    wat2wasm callbacks.wat -o callbacks.wasm
    clang -O3 -ffp-contract=off -shared -fPIC -o <native-dir>/libkernels.so kernels.c

The output is deterministic: no debug info, no name/producers sections
(--strip-all), and no paths (checked by --check and tests/test_kernels_build.py).
The byte-for-byte comparison only holds for the same compiler release
(REFERENCE_CLANG below); other clang versions produce valid but different code.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNEL_DIR = ROOT / "wasmbind" / "bench" / "kernels"
DEFAULT_NATIVE_DIR = ROOT / "build" / "kernels-native"

#: Clang release the committed .wasm files were built with.
REFERENCE_CLANG = "14.0.6"

CLANG = os.environ.get("CLANG", "clang")
WAT2WASM = os.environ.get("WAT2WASM", "wat2wasm")

WASM_CFLAGS = ["--target=wasm32", "-O3", "-ffp-contract=off", "-nostdlib"]
WASM_LDFLAGS = [
    "-Wl,--no-entry",
    "-Wl,--strip-all",
    "-Wl,--stack-first",
    "-Wl,-z,stack-size=65536",
    "-Wl,--initial-memory=2097152",  # 32 pages; alloc() grows it further
]
NATIVE_FLAGS = ["-O3", "-ffp-contract=off", "-shared", "-fPIC"]


def load_kernels_meta():
    """Load wasmbind/bench/kernels/__init__.py by path (without importing wasmbind,
    whose compiled extension may not be built)."""
    spec = importlib.util.spec_from_file_location(
        "_wasmbind_kernels_meta", KERNEL_DIR / "__init__.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _prefix_map(src_dir: pathlib.Path) -> str:
    return f"-ffile-prefix-map={src_dir}=."


def wasm_c_command(source: str, out: pathlib.Path, exports: List[str], simd: bool,
                   src_dir: pathlib.Path = KERNEL_DIR) -> List[str]:
    cmd = [CLANG] + WASM_CFLAGS + (["-msimd128"] if simd else [])
    cmd += [_prefix_map(src_dir)] + WASM_LDFLAGS
    cmd += [f"-Wl,--export={name}" for name in exports]
    cmd += ["-o", str(out), source]
    return cmd


def wat_command(source: str, out: pathlib.Path) -> List[str]:
    return [WAT2WASM, source, "-o", str(out)]


def native_command(source: str, out: pathlib.Path,
                   src_dir: pathlib.Path = KERNEL_DIR) -> List[str]:
    return [CLANG] + NATIVE_FLAGS + [_prefix_map(src_dir), "-o", str(out), source]


def _run(cmd: List[str], cwd: pathlib.Path, verbose: bool) -> None:
    if verbose:
        print("+ (cd %s &&" % cwd, " ".join(cmd) + ")", flush=True)
    subprocess.run(cmd, cwd=str(cwd), check=True)


def commands(out_dir: pathlib.Path, src_dir: pathlib.Path = KERNEL_DIR) -> Dict[str, List[str]]:
    """module name -> command building it into out_dir (run with cwd=src_dir)."""
    meta = load_kernels_meta()
    out_dir = pathlib.Path(out_dir).resolve()
    cmds = {}
    for name in meta.names():
        m = meta.MODULES[name]
        out = out_dir / m["file"]
        if m["source"].endswith(".wat"):
            cmds[name] = wat_command(m["source"], out)
        else:
            cmds[name] = wasm_c_command(m["source"], out, list(m["exports"]),
                                        m["simd"], src_dir)
    return cmds


def build_wasm(out_dir, src_dir: pathlib.Path = KERNEL_DIR,
               verbose: bool = True) -> Dict[str, pathlib.Path]:
    """Build every module into out_dir; returns name -> path."""
    meta = load_kernels_meta()
    out_dir = pathlib.Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    built = {}
    for name, cmd in commands(out_dir, src_dir).items():
        _run(cmd, pathlib.Path(src_dir), verbose)
        built[name] = out_dir / meta.MODULES[name]["file"]
        os.chmod(built[name], 0o644)  # wasm-ld marks its output executable
    return built


def build_native(out_dir=DEFAULT_NATIVE_DIR, src_dir: pathlib.Path = KERNEL_DIR,
                 verbose: bool = True) -> pathlib.Path:
    """Build kernels.c as a native shared library (for a ctypes baseline)."""
    out_dir = pathlib.Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    out = out_dir / ("libkernels" + suffix)
    _run(native_command("kernels.c", out, src_dir), pathlib.Path(src_dir), verbose)
    return out


def clang_version() -> Optional[str]:
    try:
        out = subprocess.run([CLANG, "--version"], capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.splitlines()[0] if out else None


def toolchain_problem() -> Optional[str]:
    """None if clang can compile+link a freestanding wasm32 module and
    wat2wasm works, else a reason string."""
    for tool in (CLANG, WAT2WASM):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "t.c"
        src.write_text("int f(int x) { return x + 1; }\n")
        cmd = [CLANG] + WASM_CFLAGS + ["-Wl,--no-entry", "-Wl,--export=f",
                                       "-o", "t.wasm", "t.c"]
        r = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        if r.returncode != 0:
            return "clang cannot target wasm32: " + (r.stderr.strip() or "failed")[-500:]
    return None


def check(verbose: bool = True) -> List[str]:
    """Rebuild into a temp dir and return the names whose bytes differ from
    the committed files (empty list: everything reproduces)."""
    meta = load_kernels_meta()
    with tempfile.TemporaryDirectory() as tmp:
        built = build_wasm(tmp, verbose=verbose)
        return [name for name, p in built.items()
                if not filecmp.cmp(p, meta.path(name), shallow=False)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=pathlib.Path, default=KERNEL_DIR,
                    help="where to write the .wasm files (default: wasmbind/bench/kernels)")
    ap.add_argument("--native-dir", type=pathlib.Path, default=DEFAULT_NATIVE_DIR,
                    help="where to write libkernels.so (default: build/kernels-native)")
    ap.add_argument("--no-native", action="store_true", help="skip the native library")
    ap.add_argument("--check", action="store_true",
                    help="rebuild into a temp dir and compare with the committed files")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    verbose = not args.quiet

    problem = toolchain_problem()
    if problem:
        print("error:", problem, file=sys.stderr)
        return 2
    version = clang_version() or "?"
    if REFERENCE_CLANG not in version:
        print(f"warning: {version!r} is not clang {REFERENCE_CLANG}; the .wasm files "
              "will differ from the committed ones", file=sys.stderr)

    if args.check:
        diff = check(verbose)
        if diff:
            print("differs from committed:", ", ".join(diff), file=sys.stderr)
            return 1
        print("all kernels reproduce byte for byte")
        return 0

    built = build_wasm(args.out, verbose=verbose)
    for p in built.values():
        print(f"{p}: {p.stat().st_size} bytes")
    if not args.no_native:
        lib = build_native(args.native_dir, verbose=verbose)
        print(f"{lib}: {lib.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
