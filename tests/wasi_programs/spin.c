/* spin.c - CPU burner for fuel / epoch-deadline / timeout tests.
 *
 * Usage:
 *   spin.wasm         stdout "spinning" (flushed), then loops forever; only
 *                     the host can stop it (fuel, epoch deadline, interrupt)
 *   spin.wasm N       loops N iterations, then prints "done N <checksum>" and
 *                     exits 0; for calibrating fuel per iteration
 * The loop has no calls and no WASI imports inside it, so it only stops by an
 * engine-side mechanism.
 */
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long long sink;

int main(int argc, char **argv) {
    unsigned long long limit = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
    int forever = argc <= 1;
    printf("spinning\n");
    fflush(stdout);
    unsigned long long x = 0x9e3779b97f4a7c15ull, i = 0;
    while (forever || i < limit) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sink = x;  /* volatile store: the loop has a side effect and stays */
        i++;
    }
    printf("done %llu %016llx\n", i, x);
    return 0;
}
