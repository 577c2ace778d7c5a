/* hello.c - stdout/stderr, argv and environment echo for WASI tests.
 *
 * Usage: hello.wasm [--exit N] [--env NAME]... [--all-env] [ARG]...
 *
 * stdout, in this order:
 *   hello from wasi
 *   ARGC=<argc>
 *   ARGV[<i>]=<argv[i]>            one line per argv entry, argv[0] included
 *   ENV FOO=<value> | ENV FOO unset
 *   ENV <NAME>=<value> | ENV <NAME> unset     for each --env NAME
 *   ENVC=<number of environment entries>
 *   ENV* <entry>                   every "K=V" entry in order, only with --all-env
 *   bye
 * stderr:
 *   hello stderr
 * exit code: N from --exit N (default 0).  Options are also echoed as ARGV.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static void print_env(const char *name) {
    const char *v = getenv(name);
    if (v)
        printf("ENV %s=%s\n", name, v);
    else
        printf("ENV %s unset\n", name);
}

int main(int argc, char **argv) {
    int code = 0, all_env = 0;

    printf("hello from wasi\n");
    fprintf(stderr, "hello stderr\n");
    printf("ARGC=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("ARGV[%d]=%s\n", i, argv[i]);

    print_env("FOO");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--exit") == 0 && i + 1 < argc)
            code = atoi(argv[++i]);
        else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc)
            print_env(argv[++i]);
        else if (strcmp(argv[i], "--all-env") == 0)
            all_env = 1;
    }

    int envc = 0;
    for (char **e = environ; e && *e; e++)
        envc++;
    printf("ENVC=%d\n", envc);
    if (all_env)
        for (char **e = environ; e && *e; e++)
            printf("ENV* %s\n", *e);

    printf("bye\n");
    return code;
}
