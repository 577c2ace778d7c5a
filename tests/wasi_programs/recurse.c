/* recurse.c - unbounded recursion for stack-limit tests.
 *
 * Usage:
 *   recurse.wasm [native]   stdout "recursing native" (flushed), then recurses
 *                           without end through a volatile function pointer
 *                           (no tail-call/loop rewrite possible) with no
 *                           linear-memory frame: exhausts the engine's wasm call
 *                           stack -> trap "call stack exhausted" (stack overflow)
 *   recurse.wasm shadow     stdout "recursing shadow", then recurses with a 1 KiB
 *                           volatile local array per frame: exhausts the C
 *                           shadow stack in linear memory first.  Built with
 *                           -Wl,--stack-first, so running off the bottom of it
 *                           wraps below address 0 -> "out of bounds memory
 *                           access" trap (a big max_wasm_stack may be needed
 *                           for this to come before the call stack limit)
 *   recurse.wasm depth N    recurse (native style) exactly N levels, then stdout
 *                           "DEPTH N ok <sum>"; exit 0.  For "this depth fits"
 *   bad arguments: exit 64
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long native(unsigned long long n, unsigned long long limit);
static unsigned long long shadow(unsigned long long n);

static unsigned long long (*volatile native_fp)(unsigned long long, unsigned long long) = native;
static unsigned long long (*volatile shadow_fp)(unsigned long long) = shadow;

__attribute__((noinline)) static unsigned long long native(unsigned long long n,
                                                           unsigned long long limit) {
    if (limit && n >= limit)
        return n;
    /* the work after the call keeps the frame alive */
    return native_fp(n + 1, limit) + (n & 1);
}

__attribute__((noinline)) static unsigned long long shadow(unsigned long long n) {
    volatile unsigned char frame[1024];
    frame[0] = (unsigned char)n;
    frame[sizeof frame - 1] = (unsigned char)(n >> 8);
    return shadow_fp(n + 1) + frame[0] + frame[sizeof frame - 1];
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "native";
    if (strcmp(mode, "native") == 0) {
        printf("recursing native\n");
        fflush(stdout);
        unsigned long long r = native_fp(0, 0);
        printf("unreachable %llu\n", r);
        return 1;
    }
    if (strcmp(mode, "shadow") == 0) {
        printf("recursing shadow\n");
        fflush(stdout);
        unsigned long long r = shadow_fp(0);
        printf("unreachable %llu\n", r);
        return 1;
    }
    if (strcmp(mode, "depth") == 0 && argc > 2) {
        unsigned long long n = strtoull(argv[2], NULL, 10);
        unsigned long long r = n ? native_fp(0, n) : 0;
        printf("DEPTH %llu ok %llu\n", n, r);
        return 0;
    }
    fprintf(stderr, "usage: recurse.wasm [native | shadow | depth N]\n");
    return 64;
}
