/* bomb.c - memory exhaustion for linear-memory limit tests.
 *
 * Usage:
 *   bomb.wasm [malloc [CHUNK]]   malloc CHUNK bytes (default 1048576) in a loop,
 *                                touching one byte per 64 KiB, until malloc
 *                                returns NULL; then stdout
 *                                "BOMB malloc got=<bytes> chunks=<k> pages=<p>"
 *                                (p = final memory size in 64 KiB pages); exit 0.
 *                                Without a host memory limit this grows to ~4 GiB.
 *   bomb.wasm grow [PAGES]       memory.grow by PAGES (default 16) until it
 *                                returns -1; stdout
 *                                "BOMB grow grown=<pages> pages=<p> bytes=<b>"; exit 0
 *   bomb.wasm grow-once PAGES    one memory.grow; stdout "GROW PAGES ok old=<p>" and
 *                                exit 0, or "GROW PAGES failed pages=<p>" and exit 1
 *   bomb.wasm size               stdout "PAGES <p>"; exit 0
 * Every mode first prints "START pages=<p>".  Usage error: exit 64.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile keep;  /* defeats malloc elision */

static unsigned long pages(void) {
    return (unsigned long)__builtin_wasm_memory_size(0);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "malloc";
    printf("START pages=%lu\n", pages());
    fflush(stdout);

    if (strcmp(mode, "malloc") == 0) {
        size_t chunk = argc > 2 ? strtoul(argv[2], NULL, 10) : 1048576;
        if (chunk == 0)
            chunk = 1;
        unsigned long long got = 0, chunks = 0;
        for (;;) {
            unsigned char *p = malloc(chunk);
            if (!p)
                break;
            for (size_t off = 0; off < chunk; off += 65536)
                p[off] = (unsigned char)chunks;
            keep = p;
            got += chunk;
            chunks++;
        }
        printf("BOMB malloc got=%llu chunks=%llu pages=%lu\n", got, chunks, pages());
        return 0;
    }
    if (strcmp(mode, "grow") == 0) {
        unsigned long step = argc > 2 ? strtoul(argv[2], NULL, 10) : 16;
        unsigned long grown = 0;
        if (step == 0)
            step = 1;
        while (__builtin_wasm_memory_grow(0, step) != (size_t)-1)
            grown += step;
        printf("BOMB grow grown=%lu pages=%lu bytes=%llu\n", grown, pages(),
               (unsigned long long)pages() * 65536ull);
        return 0;
    }
    if (strcmp(mode, "grow-once") == 0 && argc > 2) {
        unsigned long n = strtoul(argv[2], NULL, 10);
        size_t old = __builtin_wasm_memory_grow(0, n);
        if (old == (size_t)-1) {
            printf("GROW %lu failed pages=%lu\n", n, pages());
            return 1;
        }
        printf("GROW %lu ok old=%lu\n", n, (unsigned long)old);
        return 0;
    }
    if (strcmp(mode, "size") == 0) {
        printf("PAGES %lu\n", pages());
        return 0;
    }
    fprintf(stderr, "usage: bomb.wasm [malloc [CHUNK] | grow [PAGES] | grow-once PAGES | size]\n");
    return 64;
}
