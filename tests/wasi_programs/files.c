/* files.c - filesystem sandbox probe for WASI preopen tests.
 *
 * Usage: files.wasm OP [ARGS] [OP [ARGS]]...
 * Operations run left to right; the first failing one stops the program.
 *
 *   read PATH          print the file's bytes to stdout, as they are
 *   write PATH TEXT    create/truncate PATH, write TEXT + "\n"; stdout "WROTE PATH <n>"
 *   append PATH TEXT   like write, but O_APPEND without truncation
 *   ls DIR             one line "ENTRY <name>" per entry (sorted, no . and ..)
 *   mkdir PATH         stdout "MKDIR PATH"
 *   rm PATH            unlink; stdout "RM PATH"
 *   stat PATH          stdout "STAT PATH size=<n> type=file|dir|other"
 *   open PATH          open read-only and close; stdout "OPENED PATH"
 *   escape [PATH]...   try to open each PATH (default: /etc/passwd ../x
 *                      ../../etc/passwd) read-only; for each prints
 *                      "ESCAPE <path> denied errno=<n> <NAME>" or
 *                      "ESCAPE <path> OPENED"; fails (exit 20) if any opened.
 *                      Note: with a preopen mapped at guest "/" or ".",
 *                      /etc/passwd resolves inside that preopen (ENOENT
 *                      unless the sandbox has such a file).
 *
 * On failure stderr gets "ERR <op> <path> errno=<n> <NAME>: <strerror>" and the
 * exit code tells the errno apart (wasi-libc errno numbers are WASI's, not
 * Linux's, so the program maps them to fixed codes):
 *   0 all ok            10 ENOENT     11 EACCES     12 EPERM
 *   13 ENOTCAPABLE      14 EROFS      15 EBADF      16 EEXIST
 *   17 ENOTDIR          18 EISDIR     19 any other errno
 *   20 escape: some path outside the preopens could be opened
 *   64 usage error
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *errname(int e) {
    switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
#ifdef ENOTCAPABLE
    case ENOTCAPABLE: return "ENOTCAPABLE";
#endif
    case EROFS: return "EROFS";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ENOSYS: return "ENOSYS";
    case ENOTSUP: return "ENOTSUP";
    default: return "EOTHER";
    }
}

static int errcode(int e) {
    switch (e) {
    case ENOENT: return 10;
    case EACCES: return 11;
    case EPERM: return 12;
#ifdef ENOTCAPABLE
    case ENOTCAPABLE: return 13;
#endif
    case EROFS: return 14;
    case EBADF: return 15;
    case EEXIST: return 16;
    case ENOTDIR: return 17;
    case EISDIR: return 18;
    default: return 19;
    }
}

static int fail(const char *op, const char *path) {
    int e = errno;
    fflush(stdout);
    fprintf(stderr, "ERR %s %s errno=%d %s: %s\n", op, path, e, errname(e), strerror(e));
    return errcode(e);
}

static int do_read(const char *path) {
    char buf[8192];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return fail("read", path);
    fflush(stdout);
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0) {
            int rc = fail("read", path);
            close(fd);
            return rc;
        }
        if (r == 0)
            break;
        if (write(1, buf, (size_t)r) != r) {
            close(fd);
            return fail("read(stdout)", path);
        }
    }
    close(fd);
    return 0;
}

static int do_write(const char *path, const char *text, int append) {
    const char *op = append ? "append" : "write";
    int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
    int fd = open(path, flags, 0644);
    if (fd < 0)
        return fail(op, path);
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n || write(fd, "\n", 1) != 1) {
        int rc = fail(op, path);
        close(fd);
        return rc;
    }
    if (close(fd) != 0)
        return fail(op, path);
    printf("WROTE %s %zu\n", path, n + 1);
    return 0;
}

static int cmpstr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_ls(const char *path) {
    DIR *d = opendir(path);
    if (!d)
        return fail("ls", path);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *ent;
    errno = 0;
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = realloc(names, cap * sizeof *names);
        }
        names[n++] = strdup(ent->d_name);
    }
    int rc = errno ? fail("ls", path) : 0;
    closedir(d);
    qsort(names, n, sizeof *names, cmpstr);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            printf("ENTRY %s\n", names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}

static int do_stat(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0)
        return fail("stat", path);
    const char *type = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" : "other";
    printf("STAT %s size=%lld type=%s\n", path, (long long)st.st_size, type);
    return 0;
}

static int try_escape(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        close(fd);
        printf("ESCAPE %s OPENED\n", path);
        return 1;
    }
    int e = errno;
    printf("ESCAPE %s denied errno=%d %s\n", path, e, errname(e));
    return 0;
}

static int is_op(const char *s) {
    static const char *ops[] = {"read", "write", "append", "ls", "mkdir", "rm",
                                "stat", "open", "escape", NULL};
    for (int i = 0; ops[i]; i++)
        if (strcmp(s, ops[i]) == 0)
            return 1;
    return 0;
}

static int usage(void) {
    fprintf(stderr, "usage: files.wasm OP [ARGS] ... (read P|write P T|append P T|ls D|"
                    "mkdir P|rm P|stat P|open P|escape [P...])\n");
    return 64;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return usage();
    int i = 1;
    while (i < argc) {
        const char *op = argv[i++];
        int rc;
        if (strcmp(op, "escape") == 0) {
            int opened = 0, any = 0;
            while (i < argc && !is_op(argv[i])) {
                opened |= try_escape(argv[i++]);
                any = 1;
            }
            if (!any) {
                static const char *defaults[] = {"/etc/passwd", "../x", "../../etc/passwd", NULL};
                for (int k = 0; defaults[k]; k++)
                    opened |= try_escape(defaults[k]);
            }
            rc = opened ? 20 : 0;
        } else {
            int nargs = (strcmp(op, "write") == 0 || strcmp(op, "append") == 0) ? 2 : 1;
            if (!is_op(op) || i + nargs > argc)
                return usage();
            const char *p = argv[i];
            if (strcmp(op, "read") == 0)
                rc = do_read(p);
            else if (strcmp(op, "write") == 0)
                rc = do_write(p, argv[i + 1], 0);
            else if (strcmp(op, "append") == 0)
                rc = do_write(p, argv[i + 1], 1);
            else if (strcmp(op, "ls") == 0)
                rc = do_ls(p);
            else if (strcmp(op, "mkdir") == 0)
                rc = mkdir(p, 0755) == 0 ? (printf("MKDIR %s\n", p), 0) : fail("mkdir", p);
            else if (strcmp(op, "rm") == 0)
                rc = unlink(p) == 0 ? (printf("RM %s\n", p), 0) : fail("rm", p);
            else if (strcmp(op, "stat") == 0)
                rc = do_stat(p);
            else { /* open */
                int fd = open(p, O_RDONLY);
                rc = fd >= 0 ? (close(fd), printf("OPENED %s\n", p), 0) : fail("open", p);
            }
            i += nargs;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}
