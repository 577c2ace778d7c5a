"""Prebuilt WebAssembly benchmark kernels shipped with wasmbind.

Pure Python, no dependency on the compiled extension: this module may be
loaded on its own (the build script and the tests load it by file path).

    from wasmbind.bench import kernels
    kernels.names()                  # ['callbacks', 'calls', 'kernels', 'kernels_simd']
    kernels.path("calls")            # pathlib.Path of the shipped calls.wasm
    kernels.exports("kernels")["fib"]  # Sig(params=('i32',), results=('i32',), doc=...)

Modules
-------
``calls``        hand-written ``calls.wat``: trivial functions (nop, add, ...)
                 for measuring host -> wasm call overhead, incl. the
                 multi-value ``swap``.  Exports a 1-page ``memory``.
``callbacks``    hand-written ``callbacks.wat``: loops that call imported host
                 functions ``env.host_add`` / ``env.host_nop`` n times
                 (wasm -> host call overhead).  Needs those two imports.
``kernels``      ``kernels.c`` built with clang -O3 for wasm32 (scalar).
``kernels_simd`` the same ``kernels.c`` built with ``-msimd128``.

Pointer arguments (``ptr``) are byte offsets into the module's exported
``memory``.  The kernels modules export a bump allocator ``alloc(nbytes)``
returning a 16-byte aligned offset (growing the memory as needed, 0 on
failure) and ``heap_reset()``; a host may instead write anywhere from
``heap_base()`` upwards.  Integer results wrap as documented per function.
See ``wasmbind.bench.kernels.reference`` (``reference.py`` here) for the pure-Python
reference versions.
"""

from __future__ import annotations

import pathlib
from typing import Dict, List, NamedTuple, Tuple

__all__ = [
    "Sig",
    "MODULES",
    "WASM_MAGIC",
    "path",
    "names",
    "exports",
    "imports",
    "source",
    "read_bytes",
]

WASM_MAGIC = b"\x00asm\x01\x00\x00\x00"  # magic + binary format version 1

_HERE = pathlib.Path(__file__).resolve().parent
#: The folder of the kernels' sources and builds.
KERNELS_DIR = _HERE


class Sig(NamedTuple):
    """A function signature: wasm value types of params and results."""

    params: Tuple[str, ...]
    results: Tuple[str, ...]
    doc: str = ""


def _s(params: str, results: str, doc: str = "") -> Sig:
    return Sig(tuple(params.split()), tuple(results.split()), doc)


_CALLS: Dict[str, Sig] = {
    "nop": _s("", "", "does nothing"),
    "add": _s("i32 i32", "i32", "a + b, wrapping mod 2**32"),
    "add_i64": _s("i64 i64", "i64", "a + b, wrapping mod 2**64"),
    "add_f32": _s("f32 f32", "f32", "a + b in f32"),
    "add_f64": _s("f64 f64", "f64", "a + b in f64"),
    "swap": _s("i32 i32", "i32 i32", "(a, b) -> (b, a): multi-value result"),
    "sum8_i32": _s("i32 i32 i32 i32 i32 i32 i32 i32", "i32",
                   "sum of 8 arguments, wrapping mod 2**32"),
}

_CALLBACKS: Dict[str, Sig] = {
    "call_add": _s("i32", "i32",
                   "acc = 0; n times: acc = env.host_add(acc, 1); return acc"),
    "call_nop": _s("i32", "", "call env.host_nop() n times"),
}

_CALLBACKS_IMPORTS: Dict[Tuple[str, str], Sig] = {
    ("env", "host_add"): _s("i32 i32", "i32", "host function, expected to add"),
    ("env", "host_nop"): _s("", "", "host function, does nothing"),
}

# Exports of kernels.c (the same in kernels.wasm and kernels_simd.wasm).
# The build script exports exactly these names (plus "memory").
_KERNELS: Dict[str, Sig] = {
    "heap_base": _s("", "i32", "first 16-byte aligned free offset in memory"),
    "alloc": _s("i32", "i32",
                "alloc(nbytes) -> ptr: bump allocation, 16-byte aligned, "
                "grows memory as needed; 0 if memory cannot grow"),
    "heap_reset": _s("", "", "forget all allocations (next alloc starts at heap_base)"),
    "fib": _s("i32", "i32", "fib(n): naive recursive Fibonacci, wraps mod 2**32"),
    "mandelbrot": _s("i32 i32 i32", "i32",
                     "mandelbrot(width, height, max_iter): total escape-time "
                     "iterations over [-2,1]x[-1.5,1.5], f64 math, wraps mod 2**32"),
    "dot_f64": _s("i32 i32 i32", "f64",
                  "dot_f64(ptr_a, ptr_b, n): sequential sum of a[i]*b[i] over f64 arrays"),
    "sum_u32": _s("i32 i32", "i64",
                  "sum_u32(ptr, n): exact sum of n u32 values as i64 (no wrap for n < 2**32)"),
    "saxpy_f32": _s("f32 i32 i32 i32", "",
                    "saxpy_f32(a, ptr_x, ptr_y, n): y[i] = a*x[i] + y[i] in place, f32; "
                    "vectorised in kernels_simd"),
    "count_u8": _s("i32 i32 i32", "i32",
                   "count_u8(ptr, n, byte): number of bytes equal to byte & 0xff; "
                   "vectorised in kernels_simd"),
}

#: name -> metadata.  ``file``: shipped .wasm; ``source``: file it is built
#: from; ``simd``: built with -msimd128; ``exports``/``imports``: signatures.
MODULES: Dict[str, dict] = {
    "calls": {
        "file": "calls.wasm",
        "source": "calls.wat",
        "simd": False,
        "exports": _CALLS,
        "imports": {},
        "memory": True,
    },
    "callbacks": {
        "file": "callbacks.wasm",
        "source": "callbacks.wat",
        "simd": False,
        "exports": _CALLBACKS,
        "imports": _CALLBACKS_IMPORTS,
        "memory": False,
    },
    "kernels": {
        "file": "kernels.wasm",
        "source": "kernels.c",
        "simd": False,
        "exports": _KERNELS,
        "imports": {},
        "memory": True,
    },
    "kernels_simd": {
        "file": "kernels_simd.wasm",
        "source": "kernels.c",
        "simd": True,
        "exports": _KERNELS,
        "imports": {},
        "memory": True,
    },
}


def _key(name: str) -> str:
    key = name[:-5] if name.endswith(".wasm") else name
    if key not in MODULES:
        raise KeyError(f"unknown kernel module {name!r}; known: {names()}")
    return key


def names() -> List[str]:
    """Names of the shipped modules, sorted."""
    return sorted(MODULES)


def path(name: str) -> pathlib.Path:
    """Path of the shipped .wasm for ``name`` (``"kernels"`` or ``"kernels.wasm"``)."""
    return _HERE / MODULES[_key(name)]["file"]


def source(name: str) -> pathlib.Path:
    """Path of the source (.c or .wat) the module is built from."""
    return _HERE / MODULES[_key(name)]["source"]


def read_bytes(name: str) -> bytes:
    """Contents of the shipped .wasm for ``name``."""
    return path(name).read_bytes()


def exports(name: str) -> Dict[str, Sig]:
    """Exported functions of ``name`` -> :class:`Sig` (``memory`` not included)."""
    return dict(MODULES[_key(name)]["exports"])


def imports(name: str) -> Dict[Tuple[str, str], Sig]:
    """Required imports ``(module, field) -> Sig`` (empty for most modules)."""
    return dict(MODULES[_key(name)]["imports"])
