/*
 * so_test.h: helpers shared by the unit tests: capture what a function
 * writes to stderr, and write files into a private temporary directory.
 *
 * Header-only because every tests/unit/test_*.c is linked on its own.
 * Keep the code between so_capture_start() and so_capture_end() free of
 * cmocka assertions: a failure message would land in the capture.
 */

#ifndef SO_TEST_H
#define SO_TEST_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


/* names the case of a table-driven test before its assertions fail */
#define so_test_label(failing, ...)                                          \
    do {                                                                     \
        if (failing) {                                                       \
            print_message(__VA_ARGS__);                                      \
        }                                                                    \
    } while (0)


typedef struct {
    FILE  *tmp;
    int    saved;                   /* the real stderr */
} so_capture_t;


static inline void
so_capture_start(so_capture_t *c)
{
    fflush(stderr);

    c->tmp = tmpfile();
    c->saved = dup(STDERR_FILENO);

    if (c->tmp == NULL || c->saved == -1
        || dup2(fileno(c->tmp), STDERR_FILENO) == -1)
    {
        perror("so_capture_start");
        abort();
    }
}


/* returns what was written to stderr meanwhile; the caller frees it */
static inline char *
so_capture_end(so_capture_t *c)
{
    char   *buf;
    off_t   len;

    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);

    /* stderr shared the file offset of the temporary file */
    len = lseek(fileno(c->tmp), 0, SEEK_END);
    buf = len >= 0 ? malloc((size_t) len + 1) : NULL;

    if (buf == NULL || pread(fileno(c->tmp), buf, (size_t) len, 0) != len) {
        perror("so_capture_end");
        abort();
    }

    buf[len] = '\0';
    fclose(c->tmp);

    return buf;
}


/* seconds on a clock that only moves forward, to time a call */
static inline double
so_test_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


/* a fresh directory under $TMPDIR (or /tmp); the caller frees the path */
static inline char *
so_test_mkdtemp(void)
{
    char        *path;
    const char  *tmp;

    tmp = getenv("TMPDIR");

    if (asprintf(&path, "%s/shipoff-test-XXXXXX", tmp ? tmp : "/tmp") == -1
        || mkdtemp(path) == NULL)
    {
        perror("so_test_mkdtemp");
        abort();
    }

    return path;
}


/* writes dir/name with content and mode; the caller frees the path */
static inline char *
so_test_write(const char *dir, const char *name, const char *content,
    mode_t mode)
{
    FILE  *fp;
    char  *path;

    if (asprintf(&path, "%s/%s", dir, name) == -1) {
        abort();
    }

    /* a file left read-only by an earlier case cannot be rewritten */
    unlink(path);
    fp = fopen(path, "w");

    if (fp == NULL || fputs(content, fp) == EOF || fclose(fp) == EOF
        || chmod(path, mode) == -1)
    {
        perror(path);
        abort();
    }

    return path;
}


static inline int
so_test_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}


/* removes dir and everything in it, then frees the path */
static inline void
so_test_rmtree(char *dir)
{
    if (dir != NULL) {
        nftw(dir, so_test_rm, 8, FTW_DEPTH | FTW_PHYS);
        free(dir);
    }
}

/*
 * 1 inside a chroot (as ../shared/bin/fresh-machine-check runs the tests):
 * there "/" is not a mount point, so no line of /proc/self/mountinfo has
 * it as its mount point.  The kernel refuses new namespaces there, so the
 * sandbox tests cannot run; anywhere else they must.
 */
static inline int
so_test_in_chroot(void)
{
    FILE  *f;
    char   line[4096], point[4096];
    int    root;

    f = fopen("/proc/self/mountinfo", "r");
    if (f == NULL) {
        return 0;
    }

    root = 0;
    while (!root && fgets(line, sizeof(line), f) != NULL) {
        /* ID PARENT MAJ:MIN ROOT MOUNT-POINT ... */
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1
            && strcmp(point, "/") == 0)
        {
            root = 1;
        }
    }

    fclose(f);
    return !root;
}

#endif /* SO_TEST_H */
