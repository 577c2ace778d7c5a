/* cat.c - binary-safe stdin -> stdout copy and large deterministic outputs.
 *
 * Usage:
 *   cat.wasm                copy stdin to stdout byte for byte (read/write, no
 *                           stdio buffering, NUL bytes kept); stderr gets
 *                           "cat: <n> bytes"; exit 0 (1 on a read/write error)
 *   cat.wasm big N          write N bytes of the pattern byte[i] = i % 251 to
 *                           stdout (Python: (bytes(range(251)) * k)[:N]); exit 0
 *   cat.wasm bigerr N       the same pattern, to stderr
 *   cat.wasm stat           read all of stdin, print "bytes=<n> fnv1a=<8 hex>"
 *                           (32-bit FNV-1a of the input) to stdout; exit 0
 *   anything else           usage on stderr, exit 64
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int big(int fd, unsigned long long n) {
    static unsigned char buf[251 * 256];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i % 251);
    /* buf length is a multiple of 251, so every chunk restarts the pattern */
    while (n > 0) {
        size_t chunk = n < sizeof buf ? (size_t)n : sizeof buf;
        if (write_all(fd, buf, chunk) < 0)
            return 1;
        n -= chunk;
    }
    return 0;
}

int main(int argc, char **argv) {
    static unsigned char buf[65536];

    if (argc >= 3 && (strcmp(argv[1], "big") == 0 || strcmp(argv[1], "bigerr") == 0))
        return big(strcmp(argv[1], "big") == 0 ? 1 : 2, strtoull(argv[2], NULL, 10));

    int stat_mode = argc == 2 && strcmp(argv[1], "stat") == 0;
    if (argc != 1 && !stat_mode) {
        fprintf(stderr, "usage: cat.wasm [big N | bigerr N | stat]\n");
        return 64;
    }

    unsigned long long total = 0;
    unsigned int h = 2166136261u;
    for (;;) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "cat: read error errno=%d\n", errno);
            return 1;
        }
        if (r == 0)
            break;
        total += (unsigned long long)r;
        if (stat_mode) {
            for (ssize_t i = 0; i < r; i++) {
                h ^= buf[i];
                h *= 16777619u;
            }
        } else if (write_all(1, buf, (size_t)r) < 0) {
            fprintf(stderr, "cat: write error errno=%d\n", errno);
            return 1;
        }
    }
    if (stat_mode)
        printf("bytes=%llu fnv1a=%08x\n", total, h);
    else
        fprintf(stderr, "cat: %llu bytes\n", total);
    return 0;
}
