/* exit.c - process exit paths (WASI proc_exit) and a trap.
 *
 * Usage: exit.wasm N [exit|_Exit|return|trap]      (default mode: exit)
 *   exit    stdout "exiting with N" (buffered stdio), then exit(N): the atexit
 *           handler runs and prints "atexit handler ran"; exit code N
 *   _Exit   stdout "raw exit N" written with write(2), then _Exit(N): no
 *           atexit handler, no stdio flush; exit code N
 *   return  stdout "returning N", then return N from main (same as exit(N),
 *           atexit handler runs)
 *   trap    stdout "trapping", then __builtin_trap(): a wasm `unreachable`
 *           trap, not an exit
 *   no/invalid arguments: usage on stderr, exit 64
 * wasmtime only accepts exit statuses 0..125 through WASI's proc_exit; larger
 * values are reported by the host as an error rather than as an exit code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_exit_handler(void) {
    printf("atexit handler ran\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: exit.wasm N [exit|_Exit|return|trap]\n");
        return 64;
    }
    int n = atoi(argv[1]);
    const char *mode = argc == 3 ? argv[2] : "exit";
    atexit(on_exit_handler);

    if (strcmp(mode, "exit") == 0) {
        printf("exiting with %d\n", n);
        exit(n);
    } else if (strcmp(mode, "_Exit") == 0) {
        char msg[64];
        int len = snprintf(msg, sizeof msg, "raw exit %d\n", n);
        write(1, msg, (size_t)len);
        _Exit(n);
    } else if (strcmp(mode, "return") == 0) {
        printf("returning %d\n", n);
        return n;
    } else if (strcmp(mode, "trap") == 0) {
        printf("trapping\n");
        fflush(stdout);
        __builtin_trap();
    }
    fprintf(stderr, "usage: exit.wasm N [exit|_Exit|return|trap]\n");
    return 64;
}
