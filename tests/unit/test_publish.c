/*
 * test_publish.c: what the publisher takes from a tree a build wrote.
 *
 * bld_source_open() resolves a path beneath a directory fd the way the
 * worker resolves the root and output dirs after a build: no step may
 * leave the tree, links included.  bld_publish_copy() copies the build's
 * own regular files and directories only: a hard link to a root-owned
 * file, a symlink, a FIFO and a device node are skipped.  Files of
 * another owner need root to make, so those cases skip without it.  A
 * text file of 1 KiB or more gets a .gz sibling, unless the site brings
 * its own, which is published as it is.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_test.h"
#include "worker.h"

#define PT_UID  65534


typedef struct {
    char  *dir;                     /* the test's own */
    char   tree[1024];              /* what the build wrote */
    char   dst[1024];               /* the artifact */
} pt_t;


static int
setup(void **state)
{
    pt_t  *t;

    t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->dir = so_test_mkdtemp();
    snprintf(t->tree, sizeof(t->tree), "%s/tree", t->dir);
    snprintf(t->dst, sizeof(t->dst), "%s/dst", t->dir);
    assert_int_equal(mkdir(t->tree, 0755), 0);
    *state = t;
    return 0;
}


static int
teardown(void **state)
{
    pt_t  *t = *state;

    so_test_rmtree(t->dir);
    free(t);
    return 0;
}


static void
pt_mkdir(pt_t *t, const char *rel)
{
    char  path[2048];

    snprintf(path, sizeof(path), "%s/%s", t->tree, rel);
    assert_int_equal(mkdir(path, 0755), 0);
}


static void
pt_link(pt_t *t, const char *target, const char *rel)
{
    char  path[2048];

    snprintf(path, sizeof(path), "%s/%s", t->tree, rel);
    assert_int_equal(symlink(target, path), 0);
}


static void
test_open_beneath(void **state)
{
    static const struct {
        const char  *rel;
        int          rc;
    } cases[] = {
        { "", SO_OK },
        { ".", SO_OK },
        { "web", SO_OK },
        { "web/public", SO_OK },
        { "inside", SO_OK },                /* web, by a relative link */
        { "inside/public", SO_OK },
        { "web/../web", SO_OK },
        { "missing", SO_ENOTFOUND },
        { "web/index.html", SO_ENOTFOUND }, /* not a directory */
        { "/etc", SO_EINVAL },
        { "..", SO_EINVAL },
        { "web/../..", SO_EINVAL },
        { "etc", SO_EINVAL },               /* -> /etc */
        { "up", SO_EINVAL },                /* -> ../.. */
        { "web/up", SO_EINVAL },            /* -> ../../.. */
        { "self", SO_EINVAL },              /* -> /proc/self/cwd */
    };
    pt_t    *t = *state;
    char     err[256], *f;
    size_t   i;
    int      dfd, fd, rc;

    pt_mkdir(t, "web");
    pt_mkdir(t, "web/public");
    f = so_test_write(t->tree, "web/index.html", "hi\n", 0644);
    free(f);
    pt_link(t, "web", "inside");
    pt_link(t, "/etc", "etc");
    pt_link(t, "../..", "up");
    pt_link(t, "../../..", "web/up");
    pt_link(t, "/proc/self/cwd", "self");

    dfd = open(t->tree, O_RDONLY | O_DIRECTORY);
    assert_true(dfd != -1);

    for (i = 0; i < so_nelems(cases); i++) {
        err[0] = '\0';
        rc = bld_source_open(&fd, dfd, cases[i].rel, err, sizeof(err));
        so_test_label(rc != cases[i].rc, "case \"%s\": %d (%s)\n",
                      cases[i].rel, rc, err);
        assert_int_equal(rc, cases[i].rc);
        assert_true(rc == SO_OK ? fd != -1 : fd == -1);
        if (rc == SO_OK) {
            close(fd);
        } else {
            assert_true(err[0] != '\0');
        }
    }

    close(dfd);
}


static int
pt_exists(pt_t *t, const char *rel)
{
    struct stat  st;
    char         path[2048];

    snprintf(path, sizeof(path), "%s/%s", t->dst, rel);
    return lstat(path, &st) == 0;
}


static void
test_copy_own_files_only(void **state)
{
    pt_t    *t = *state;
    char     path[2048], cmd[16384], err[256], *secret;
    int      dfd;

    if (geteuid() != 0) {
        skip();
    }

    /* a file of root's outside the tree, 0644 as many host files are */
    secret = so_test_write(t->dir, "host-file", "a host secret\n", 0644);

    pt_mkdir(t, "css");
    free(so_test_write(t->tree, "index.html", "<p>hi</p>\n", 0644));
    free(so_test_write(t->tree, "css/site.css", "p{}\n", 0644));
    free(so_test_write(t->tree, "roots.txt", "root's\n", 0644));

    snprintf(path, sizeof(path), "%s/linked.txt", t->tree);
    assert_int_equal(link(secret, path), 0);
    snprintf(path, sizeof(path), "%s/pipe", t->tree);
    assert_int_equal(mkfifo(path, 0644), 0);
    snprintf(path, sizeof(path), "%s/null", t->tree);
    assert_int_equal(mknod(path, S_IFCHR | 0666, makedev(1, 3)), 0);
    pt_link(t, secret, "symlink.txt");

    /* the build's own: everything but roots.txt and the hard link */
    snprintf(cmd, sizeof(cmd), "chown -h %d:%d %s %s/index.html "
             "%s/css %s/css/site.css %s/pipe %s/null %s/symlink.txt",
             PT_UID, PT_UID, t->tree, t->tree, t->tree, t->tree, t->tree,
             t->tree, t->tree);
    assert_int_equal(system(cmd), 0);

    dfd = open(t->tree, O_RDONLY | O_DIRECTORY);
    assert_true(dfd != -1);
    err[0] = '\0';
    assert_int_equal(bld_publish_copy(dfd, PT_UID, 0, t->dst, NULL, err,
                                      sizeof(err)), SO_OK);

    /* the caller's fd is still the caller's */
    assert_true(fcntl(dfd, F_GETFD) != -1);
    close(dfd);

    assert_true(pt_exists(t, "index.html"));
    assert_true(pt_exists(t, "css/site.css"));
    assert_false(pt_exists(t, "roots.txt"));
    assert_false(pt_exists(t, "linked.txt"));
    assert_false(pt_exists(t, "pipe"));
    assert_false(pt_exists(t, "null"));
    assert_false(pt_exists(t, "symlink.txt"));

    free(secret);
}


/*
 * Which of a pair the copy meets first is the directory's order: half
 * the pairs are made .gz first, half the other way, so each order is
 * met whatever the file system lists first.
 */
static void
test_site_gzip_kept(void **state)
{
    pt_t   *t = *state;
    char    name[64], own[64], body[2048], path[2048], got[64];
    FILE   *f;
    size_t  n;
    int     dfd, i, j;

    memset(body, 'x', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';

    for (i = 0; i < 16; i++) {
        for (j = 0; j < 2; j++) {
            snprintf(name, sizeof(name), "a%02d.js%s", i,
                     (i % 2 == 0) == (j == 0) ? ".gz" : "");
            snprintf(own, sizeof(own), "the site's own %d", i);
            free(so_test_write(t->tree, name,
                               strstr(name, ".gz") ? own : body, 0644));
        }
    }

    dfd = open(t->tree, O_RDONLY | O_DIRECTORY);
    assert_true(dfd != -1);
    assert_int_equal(bld_publish_copy(dfd, geteuid(), 0, t->dst, NULL,
                                      path, sizeof(path)), SO_OK);
    close(dfd);

    for (i = 0; i < 16; i++) {
        snprintf(path, sizeof(path), "%s/a%02d.js.gz", t->dst, i);
        f = fopen(path, "r");
        assert_non_null(f);
        n = fread(got, 1, sizeof(got) - 1, f);
        fclose(f);
        got[n] = '\0';
        snprintf(own, sizeof(own), "the site's own %d", i);
        assert_string_equal(got, own);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_open_beneath, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_own_files_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_site_gzip_kept, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
