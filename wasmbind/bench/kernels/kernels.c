/*
 * wasmbind benchmark kernels: freestanding C, no libc.
 *
 * Built three ways by scripts/build_kernels.py (see README.md here):
 *   kernels.wasm       clang --target=wasm32 -O3            (scalar)
 *   kernels_simd.wasm  clang --target=wasm32 -O3 -msimd128  (auto-vectorised)
 *   libkernels.so      clang -O3 -shared -fPIC              (native, for ctypes; not committed)
 *
 * Every kernel is deterministic and is mirrored line by line in
 * reference.py here.  Floating point is plain IEEE-754 (no -ffast-math,
 * -ffp-contract=off), so reductions keep their sequential order and the three
 * builds and the Python reference give bit-identical results.
 *
 * Integer overflow never relies on UB: wrapping sums are done in unsigned
 * arithmetic and converted back to signed at the end (two's complement).
 */
#include <stdint.h>
#include <stddef.h>

#define KERNEL __attribute__((visibility("default")))

/* ------------------------------------------------------------------------ */
/* Linear-memory heap for the host (wasm only).                             */
/* ------------------------------------------------------------------------ */
#if defined(__wasm__)
extern unsigned char __heap_base; /* provided by wasm-ld: first byte after data+stack */

static uintptr_t heap_top = 0;

/* First usable byte for host data, 16-byte aligned. */
KERNEL uint32_t heap_base(void) {
    return (uint32_t)(((uintptr_t)&__heap_base + 15u) & ~(uintptr_t)15u);
}

/* Bump allocator: returns a 16-byte aligned pointer to nbytes of linear
 * memory, growing the memory if needed, or 0 when memory cannot grow.
 * Nothing is ever freed individually; heap_reset() drops everything. */
KERNEL uint32_t alloc(uint32_t nbytes) {
    if (heap_top == 0)
        heap_top = heap_base();
    uintptr_t p = heap_top;
    uint64_t end = (uint64_t)p + (uint64_t)nbytes;
    end = (end + 15u) & ~(uint64_t)15u;
    if (end > 0xFFFFFFFFull)
        return 0;
    uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        uint64_t need_pages = (end - have + 65535u) / 65536u;
        if (__builtin_wasm_memory_grow(0, (size_t)need_pages) == (size_t)-1)
            return 0;
    }
    heap_top = (uintptr_t)end;
    return (uint32_t)p;
}

/* Forget every allocation: the next alloc() starts again at heap_base(). */
KERNEL void heap_reset(void) {
    heap_top = heap_base();
}
#endif

/* ------------------------------------------------------------------------ */
/* Compute kernels                                                          */
/* ------------------------------------------------------------------------ */

/* Recursive Fibonacci, fib(0)=0, fib(1)=1; wraps modulo 2^32 (fib(47)+). */
KERNEL int32_t fib(int32_t n) {
    if (n < 2)
        return n;
    return (int32_t)((uint32_t)fib(n - 1) + (uint32_t)fib(n - 2));
}

/* Total escape-time iteration count over a width x height grid covering
 * [-2, 1] x [-1.5, 1.5]; point (x, y) is c = (-2 + x*(3/width), -1.5 + y*(3/height)).
 * The per-point count stops at max_iter or when |z|^2 > 4.
 * The total wraps modulo 2^32 (returned as signed i32). */
KERNEL int32_t mandelbrot(int32_t width, int32_t height, int32_t max_iter) {
    uint32_t total = 0;
    if (width <= 0 || height <= 0)
        return 0;
    double dx = 3.0 / (double)width;
    double dy = 3.0 / (double)height;
    for (int32_t y = 0; y < height; y++) {
        double ci = -1.5 + (double)y * dy;
        for (int32_t x = 0; x < width; x++) {
            double cr = -2.0 + (double)x * dx;
            double zr = 0.0, zi = 0.0;
            int32_t i = 0;
            while (i < max_iter) {
                double zr2 = zr * zr;
                double zi2 = zi * zi;
                if (zr2 + zi2 > 4.0)
                    break;
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                i++;
            }
            total += (uint32_t)i;
        }
    }
    return (int32_t)total;
}

/* Sequential dot product of two f64 arrays (summed left to right from 0.0). */
KERNEL double dot_f64(const double *a, const double *b, int32_t n) {
    double s = 0.0;
    for (int32_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Sum of n u32 values, exact as u64 (returned as i64; never wraps for n < 2^32). */
KERNEL int64_t sum_u32(const uint32_t *p, int32_t n) {
    uint64_t s = 0;
    for (int32_t i = 0; i < n; i++)
        s += p[i];
    return (int64_t)s;
}

/* In-place SAXPY on f32: y[i] = a*x[i] + y[i] (each op rounded to f32). */
KERNEL void saxpy_f32(float a, const float *x, float *y, int32_t n) {
    for (int32_t i = 0; i < n; i++)
        y[i] = a * x[i] + y[i];
}

/* Number of bytes in p[0..n) equal to (byte & 0xff). */
KERNEL int32_t count_u8(const uint8_t *p, int32_t n, int32_t byte) {
    uint8_t b = (uint8_t)byte;
    uint32_t c = 0;
    for (int32_t i = 0; i < n; i++)
        c += (p[i] == b);
    return (int32_t)c;
}
