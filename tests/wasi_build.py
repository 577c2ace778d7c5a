"""Build the small WASI (preview 1) test programs in ``tests/wasi_programs``.

A plain module, imported by the tests (no pytest needed to import it)::

    from wasi_build import build_wasi, have_wasi_toolchain

    @pytest.fixture(scope="session")
    def wasi_dir(tmp_path_factory):
        if not have_wasi_toolchain():
            pytest.skip("no clang/wasi-libc for wasm32-wasi")
        return tmp_path_factory.mktemp("wasi")

    def test_hello(wasi_dir):
        wasm = build_wasi("hello", wasi_dir)   # -> Path to hello.wasm

Programs are compiled with Debian's clang and wasi-libc::

    clang --target=wasm32-wasi --sysroot=/usr -O2 prog.c -o prog.wasm

(on a fresh Debian machine: ``apt-get install -y clang lld wasi-libc
libclang-rt-dev-wasm32``).  The compiler, sysroot and cache folder can be
overridden with ``WASI_CC``, ``WASI_SYSROOT`` and ``WASMBIND_WASI_CACHE``.

Results are cached twice: in memory for the session, and on disk under a
name that hashes the source, the flags and the compiler version, so a stale
binary is never reused.  Writes go through a temporary file and
``os.replace``, so parallel test workers can share one cache folder.

Running this file (``python tests/wasi_build.py``) builds every program and
prints where each went.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

PROGRAMS_DIR = Path(__file__).resolve().parent / "wasi_programs"

#: Every program in PROGRAMS_DIR, by name (without ``.c``).
PROGRAMS = ("hello", "cat", "files", "exit", "spin", "bomb", "recurse")

#: Extra flags for some programs, added after the common ones.
EXTRA_FLAGS: Dict[str, Tuple[str, ...]] = {
    # Put the C shadow stack at the bottom of linear memory so that running
    # off it traps (wraps below address 0) instead of corrupting static data.
    "recurse": ("-Wl,--stack-first",),
}

#: Exit codes of files.wasm (see files.c): errno -> fixed code.
FILES_EXIT = {
    "OK": 0,
    "ENOENT": 10,
    "EACCES": 11,
    "EPERM": 12,
    "ENOTCAPABLE": 13,
    "EROFS": 14,
    "EBADF": 15,
    "EEXIST": 16,
    "ENOTDIR": 17,
    "EISDIR": 18,
    "EOTHER": 19,
    "ESCAPED": 20,
    "USAGE": 64,
}

#: Exit code every program uses for bad arguments.
USAGE_EXIT = 64

_lock = threading.Lock()
_built: Dict[Tuple[str, str], Path] = {}


def wasi_cc() -> str:
    """The compiler command (``WASI_CC`` or ``clang``)."""
    return os.environ.get("WASI_CC", "clang")


def wasi_sysroot() -> str:
    """The wasi-libc sysroot (``WASI_SYSROOT`` or ``/usr``, Debian's layout)."""
    return os.environ.get("WASI_SYSROOT", "/usr")


def _base_flags() -> List[str]:
    return ["--target=wasm32-wasi", f"--sysroot={wasi_sysroot()}", "-O2"]


@functools.lru_cache(maxsize=None)
def _compiler_id() -> str:
    cc = shutil.which(wasi_cc())
    if cc is None:
        return ""
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


@functools.lru_cache(maxsize=None)
def _toolchain_problem() -> Optional[str]:
    """None when a trivial C program builds for wasm32-wasi, else why not."""
    cc = shutil.which(wasi_cc())
    if cc is None:
        return f"{wasi_cc()!r} not found on PATH"
    with tempfile.TemporaryDirectory(prefix="wasi-probe-") as d:
        src = Path(d, "probe.c")
        src.write_text('#include <stdio.h>\nint main(void){puts("ok");return 0;}\n')
        try:
            res = subprocess.run(
                [cc, *_base_flags(), str(src), "-o", str(Path(d, "probe.wasm"))],
                capture_output=True, text=True, timeout=120,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return f"probe compile failed to run: {exc}"
        if res.returncode != 0 or not Path(d, "probe.wasm").is_file():
            return "probe compile failed: " + (res.stderr.strip() or f"exit {res.returncode}")
    return None


def have_wasi_toolchain() -> bool:
    """True when clang + wasi-libc + lld can build a WASI program here."""
    return _toolchain_problem() is None


def wasi_toolchain_problem() -> Optional[str]:
    """Why :func:`have_wasi_toolchain` is False (for a skip reason), or None."""
    return _toolchain_problem()


def _default_cache_dir() -> Path:
    env = os.environ.get("WASMBIND_WASI_CACHE")
    if env:
        return Path(env)
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"wasmbind-wasi-{uid}"


def _resolve_dir(where) -> Path:
    """Accept a folder, pytest's ``tmp_path_factory``, or None (default cache)."""
    if where is None:
        return _default_cache_dir()
    if hasattr(where, "getbasetemp"):  # pytest TempPathFactory
        return Path(where.getbasetemp()) / "wasi-programs"
    return Path(where)


def source_path(name: str) -> Path:
    src = PROGRAMS_DIR / f"{name}.c"
    if not src.is_file():
        raise FileNotFoundError(f"no WASI test program {name!r} ({src})")
    return src


def build_command(name: str, out: Union[str, Path]) -> List[str]:
    """The exact compiler command used for ``name`` (for logs and docs)."""
    return [wasi_cc(), *_base_flags(), str(source_path(name)),
            *EXTRA_FLAGS.get(name, ()), "-o", str(out)]


def build_wasi(name: str, tmp_dir_or_cache=None) -> Path:
    """Compile ``tests/wasi_programs/<name>.c`` to WASI and return the .wasm path.

    ``tmp_dir_or_cache`` is a folder to build into (created if missing), a
    pytest ``tmp_path_factory``, or None for a per-user cache folder in the
    system temp dir.  Builds are reused within the session and, when the
    source, flags and compiler are unchanged, across sessions.

    Raises RuntimeError when the toolchain is missing or the compile fails;
    tests should check :func:`have_wasi_toolchain` first and skip.
    """
    src = source_path(name)
    out_dir = _resolve_dir(tmp_dir_or_cache)
    key = (name, str(out_dir))
    with _lock:
        hit = _built.get(key)
        if hit is not None and hit.is_file():
            return hit

        problem = _toolchain_problem()
        if problem is not None:
            raise RuntimeError(f"cannot build WASI program {name!r}: {problem}")

        h = hashlib.sha256()
        h.update(src.read_bytes())
        h.update("\0".join(build_command(name, "OUT")).encode())
        h.update(_compiler_id().encode())
        out = out_dir / f"{name}-{h.hexdigest()[:16]}.wasm"
        if not out.is_file():
            out_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=".wasm", dir=out_dir)
            os.close(fd)
            try:
                res = subprocess.run(build_command(name, tmp), capture_output=True,
                                     text=True, timeout=300)
                if res.returncode != 0:
                    raise RuntimeError(
                        f"compiling {src.name} for wasm32-wasi failed "
                        f"(exit {res.returncode}):\n$ {' '.join(build_command(name, out))}\n"
                        f"{res.stderr}")
                os.replace(tmp, out)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        _built[key] = out
        return out


def build_all(tmp_dir_or_cache=None, names: Iterable[str] = PROGRAMS) -> Dict[str, Path]:
    return {n: build_wasi(n, tmp_dir_or_cache) for n in names}


# ---------------------------------------------------------------- expectations

def big_pattern(n: int) -> bytes:
    """The bytes ``cat.wasm big N`` writes: byte i is ``i % 251``."""
    block = bytes(range(251))
    reps, rest = divmod(n, 251)
    return block * reps + block[:rest]


def fnv1a32(data: bytes) -> int:
    """32-bit FNV-1a, as printed by ``cat.wasm stat`` (``fnv1a=%08x``)."""
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def cat_stat_line(data: bytes) -> str:
    """The exact stdout line of ``cat.wasm stat`` for ``data`` on stdin."""
    return f"bytes={len(data)} fnv1a={fnv1a32(data):08x}\n"


if __name__ == "__main__":
    if not have_wasi_toolchain():
        print("no WASI toolchain:", wasi_toolchain_problem(), file=sys.stderr)
        sys.exit(1)
    target = sys.argv[1] if len(sys.argv) > 1 else None
    for prog, path in build_all(target).items():
        print(f"{prog}\t{path}\t{path.stat().st_size} bytes")
