"""Pure-Python reference implementations of wasmbind's benchmark kernels.

Each function follows the algorithm of the wasm export of the same name in
wasmbind/bench/kernels/{kernels.c,calls.wat,callbacks.wat} step by step, in the same
order of floating-point operations, so results are bit-identical and these
serve both as the correctness oracle and as the pure-Python speed baseline.
Deliberately plain loops: no numpy, no sum()/math.fsum shortcuts.

Array arguments are Python sequences instead of linear-memory pointers:
``dot_f64(a, b)`` here is ``dot_f64(ptr_a, ptr_b, n)`` in wasm, with n=len(a).
"""

from __future__ import annotations

import array
from typing import MutableSequence, Sequence, Tuple

__all__ = [
    "wrap_i32", "wrap_i64", "f32",
    "nop", "add", "add_i64", "add_f32", "add_f64", "swap", "sum8_i32",
    "call_add", "call_nop",
    "fib", "mandelbrot", "dot_f64", "sum_u32", "saxpy_f32", "count_u8",
]


# --- helpers ---------------------------------------------------------------

def wrap_i32(x: int) -> int:
    """Two's-complement wrap of an int to signed 32 bits."""
    x &= 0xFFFFFFFF
    return x - 0x100000000 if x & 0x80000000 else x


def wrap_i64(x: int) -> int:
    """Two's-complement wrap of an int to signed 64 bits."""
    x &= 0xFFFFFFFFFFFFFFFF
    return x - 0x10000000000000000 if x & 0x8000000000000000 else x


def f32(x: float) -> float:
    """Round a Python float (f64) to the nearest f32 value."""
    return array.array("f", (x,))[0]


# --- calls.wat -------------------------------------------------------------

def nop() -> None:
    return None


def add(a: int, b: int) -> int:
    return wrap_i32(a + b)


def add_i64(a: int, b: int) -> int:
    return wrap_i64(a + b)


def add_f32(a: float, b: float) -> float:
    # f32 + f32 computed in f64 then rounded once is the correctly rounded
    # f32 sum (f64 has > 2*24+2 bits of precision).
    return f32(f32(a) + f32(b))


def add_f64(a: float, b: float) -> float:
    return a + b


def swap(a: int, b: int) -> Tuple[int, int]:
    return (b, a)


def sum8_i32(a: int, b: int, c: int, d: int, e: int, f: int, g: int, h: int) -> int:
    return wrap_i32(a + b + c + d + e + f + g + h)


# --- callbacks.wat (host functions passed in) --------------------------------

def call_add(n: int, host_add=add) -> int:
    acc = 0
    i = 0
    while i < n:
        acc = host_add(acc, 1)
        i += 1
    return acc


def call_nop(n: int, host_nop=nop) -> None:
    i = 0
    while i < n:
        host_nop()
        i += 1


# --- kernels.c -------------------------------------------------------------

def fib(n: int) -> int:
    """Naive recursive Fibonacci (wraps mod 2**32 like the wasm version)."""
    if n < 2:
        return n
    return wrap_i32(fib(n - 1) + fib(n - 2))


def mandelbrot(width: int, height: int, max_iter: int) -> int:
    """Total escape-time iterations over [-2,1]x[-1.5,1.5] (wraps mod 2**32)."""
    if width <= 0 or height <= 0:
        return 0
    total = 0
    dx = 3.0 / width
    dy = 3.0 / height
    for y in range(height):
        ci = -1.5 + y * dy
        for x in range(width):
            cr = -2.0 + x * dx
            zr = 0.0
            zi = 0.0
            i = 0
            while i < max_iter:
                zr2 = zr * zr
                zi2 = zi * zi
                if zr2 + zi2 > 4.0:
                    break
                zi = 2.0 * zr * zi + ci
                zr = zr2 - zi2 + cr
                i += 1
            total += i
    return wrap_i32(total)


def dot_f64(a: Sequence[float], b: Sequence[float]) -> float:
    """Sequential dot product, summed left to right from 0.0."""
    s = 0.0
    for i in range(len(a)):
        s += a[i] * b[i]
    return s


def sum_u32(p: Sequence[int]) -> int:
    """Exact sum of u32 values (each taken mod 2**32), as the wasm i64 result."""
    s = 0
    for v in p:
        s += v & 0xFFFFFFFF
    return wrap_i64(s)


def saxpy_f32(a: float, x: Sequence[float], y: MutableSequence[float]) -> MutableSequence[float]:
    """In place y[i] = a*x[i] + y[i], every operation rounded to f32.

    ``y`` is typically ``array.array('f')`` (which stores f32); returns ``y``.
    """
    a = f32(a)
    for i in range(len(y)):
        y[i] = f32(f32(a * f32(x[i])) + f32(y[i]))
    return y


def count_u8(p: bytes, byte: int) -> int:
    """Number of bytes in p equal to byte & 0xff."""
    b = byte & 0xFF
    c = 0
    for v in p:
        if v == b:
            c += 1
    return c
