/*
 * test_fetch.c: the HTTP client's form encoding both ways, how it reports
 * a server that is not there or does not answer in time, nginx's notation
 * for a server on a Unix socket (parsed, then a request over a real
 * socket), and the sealing of providers' tokens (so_oauth) to their
 * provider and user.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_fetch.h"
#include "so_oauth.h"
#include "so_test.h"


static void
test_form_encode(void **state)
{
    static const char *const  pairs[] = {
        "client_id", "abc",
        "redirect_uri", "http://x.test/cb?a=1&b=2",
        "scope", "read:user user:email",
        "odd", "~-._ é+%",
        NULL
    };
    static const char *const  none[] = { NULL };
    char                     *out;

    (void) state;

    assert_int_equal(so_fetch_form_encode(&out, pairs), SO_OK);
    assert_string_equal(out, "client_id=abc"
                        "&redirect_uri=http%3A%2F%2Fx.test%2Fcb%3Fa%3D1%26b%3D2"
                        "&scope=read%3Auser%20user%3Aemail"
                        "&odd=~-._%20%C3%A9%2B%25");
    free(out);

    assert_int_equal(so_fetch_form_encode(&out, none), SO_OK);
    assert_string_equal(out, "");
    free(out);
}


static void
test_form_get(void **state)
{
    static const struct {
        const char  *form;
        const char  *name;
        int          rc;
        const char  *value;
    } cases[] = {
        { "code=abc&state=xyz", "code", SO_OK, "abc" },
        { "code=abc&state=xyz", "state", SO_OK, "xyz" },
        { "code=a%2Fb+c&x=1", "code", SO_OK, "a/b c" },
        { "xcode=1&code=2", "code", SO_OK, "2" },
        { "code=1&code=2", "code", SO_OK, "1" },
        { "code=&state=1", "code", SO_OK, "" },
        { "code", "code", SO_ENOTFOUND, NULL },
        { "", "code", SO_ENOTFOUND, NULL },
        { "state=1", "code", SO_ENOTFOUND, NULL },
        { "code=%zz", "code", SO_EINVAL, NULL },
        { "code=%4", "code", SO_EINVAL, NULL },
        { "code=a%00b", "code", SO_EINVAL, NULL },
        { "code=0123456789", "code", SO_ETOOBIG, NULL },
        { "code=012345678", "code", SO_OK, "012345678" },
    };
    char    out[10];
    size_t  i;
    int     rc;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        rc = so_fetch_form_get(out, sizeof(out), cases[i].form,
                               cases[i].name);
        so_test_label(rc != cases[i].rc, "case %zu: \"%s\"\n", i,
                      cases[i].form);
        assert_int_equal(rc, cases[i].rc);
        if (rc == SO_OK) {
            assert_string_equal(out, cases[i].value);
        }
    }
}


/* a loopback socket: listening (nobody accepts) or closed at once */
static int
test_socket(int listening, char *url, size_t len)
{
    struct sockaddr_in  sin;
    socklen_t           slen;
    int                 fd;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    slen = sizeof(sin);

    assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &slen), 0);

    if (listening) {
        assert_int_equal(listen(fd, 4), 0);
    }

    snprintf(url, len, "http://127.0.0.1:%d/token?secret=s3cr3t",
             ntohs(sin.sin_port));

    if (!listening) {
        close(fd);
        fd = -1;
    }

    return fd;
}


static void
test_unavailable(void **state)
{
    so_fetch_req_t  req;
    so_fetch_res_t  res;
    char            url[128];
    double          t0;
    int             fd;

    (void) state;

    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = url;
    req.timeout_ms = 300;

    test_socket(0, url, sizeof(url));
    assert_int_equal(so_fetch_request(&res, &req), SO_EUNAVAIL);
    assert_null(strstr(res.errstr, "s3cr3t"));
    assert_non_null(strstr(res.errstr, "127.0.0.1"));
    so_fetch_res_free(&res);

    /* accepted by the kernel, never answered: the deadline ends it */
    fd = test_socket(1, url, sizeof(url));
    t0 = so_test_now();
    assert_int_equal(so_fetch_request(&res, &req), SO_EUNAVAIL);
    assert_true(so_test_now() - t0 < 2.0);
    so_fetch_res_free(&res);
    close(fd);

    req.url = "file:///etc/passwd";
    assert_int_equal(so_fetch_request(&res, &req), SO_ERR);
    assert_null(res.body);
    so_fetch_res_free(&res);
}


static void
test_unix_url(void **state)
{
    static const struct {
        const char  *in;
        int          rc;
        const char  *sock;
        const char  *url;
    } cases[] = {
        { "http://unix:/run/s/nginx.sock:/_shipoff/routes", SO_OK,
          "/run/s/nginx.sock", "http://localhost/_shipoff/routes" },
        { "http://unix:/run/s/nginx.sock:/_shipoff/routes/blog.localhost",
          SO_OK, "/run/s/nginx.sock",
          "http://localhost/_shipoff/routes/blog.localhost" },
        { "http://unix:/x.sock:/a?b=1:2", SO_OK, "/x.sock",
          "http://localhost/a?b=1:2" },
        { "http://unix:/x.sock", SO_OK, "/x.sock", "http://localhost/" },
        { "http://unix:/x.sock:/", SO_OK, "/x.sock", "http://localhost/" },
        { "http://127.0.0.1:8080/_shipoff/routes", SO_ENOTFOUND, NULL,
          NULL },
        { "https://unix:/x.sock:/a", SO_ENOTFOUND, NULL, NULL },
        { "http://unixhost/a", SO_ENOTFOUND, NULL, NULL },
        { "unix:/x.sock:/a", SO_ENOTFOUND, NULL, NULL },
        { "http://unix:x.sock:/a", SO_EINVAL, NULL, NULL },
        { "http://unix::/a", SO_EINVAL, NULL, NULL },
        { "http://unix:", SO_EINVAL, NULL, NULL },
        { "http://unix:/:/a", SO_EINVAL, NULL, NULL },
        { "http://unix:/x.sock:a", SO_EINVAL, NULL, NULL },
        { "http://unix:/x.sock:", SO_EINVAL, NULL, NULL },
    };
    /* what fits in 8 bytes of socket path and 24 of URL, and what not */
    static const struct {
        const char  *in;
        int          rc;
    } sizes[] = {
        { "http://unix:/123456:/123456", SO_OK },
        { "http://unix:/1234567:/123456", SO_ETOOBIG },
        { "http://unix:/123456:/1234567", SO_ETOOBIG },
    };
    char    sock[SO_FETCH_SOCK_LEN], url[256];
    size_t  i;
    int     rc;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        rc = so_fetch_unix_url(sock, sizeof(sock), url, sizeof(url),
                               cases[i].in);
        so_test_label(rc != cases[i].rc, "case %zu: \"%s\"\n", i,
                      cases[i].in);
        assert_int_equal(rc, cases[i].rc);
        if (rc == SO_OK) {
            assert_string_equal(sock, cases[i].sock);
            assert_string_equal(url, cases[i].url);
        }
    }

    for (i = 0; i < so_nelems(sizes); i++) {
        rc = so_fetch_unix_url(sock, 8, url, 24, sizes[i].in);
        so_test_label(rc != sizes[i].rc, "size case %zu: \"%s\"\n", i,
                      sizes[i].in);
        assert_int_equal(rc, sizes[i].rc);
    }
}


/* a server on a Unix socket that answers one request with its own head */
static pid_t
test_unix_server(const char *path)
{
    struct sockaddr_un  sa;
    char                buf[4096], head[128];
    ssize_t             n;
    size_t              len;
    pid_t               pid;
    int                 fd, c;

    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);

    pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) {
        close(fd);
        return pid;
    }

    c = accept(fd, NULL, NULL);
    len = 0;
    while (c >= 0 && len < sizeof(buf) - 1) {
        n = read(c, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0) {
            break;
        }
        len += (size_t) n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL) {
            break;
        }
    }

    snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu"
             "\r\nConnection: close\r\n\r\n", len);
    if (write(c, head, strlen(head)) < 0 || write(c, buf, len) < 0) {
        _exit(1);
    }

    _exit(0);
}


static void
test_unix_request(void **state)
{
    so_fetch_req_t  req;
    so_fetch_res_t  res;
    char            dir[] = "/tmp/test_fetch.XXXXXX", path[64], url[128];
    int             status;
    pid_t           pid;

    (void) state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/nginx.sock", dir);
    snprintf(url, sizeof(url), "http://unix:%s:/_shipoff/routes/blog.test",
             path);

    memset(&req, 0, sizeof(req));
    req.method = "PUT";
    req.url = url;
    req.body = "{}";
    req.body_len = 2;
    req.content_type = "application/json";
    req.timeout_ms = 2000;

    /* no socket there yet */
    assert_int_equal(so_fetch_request(&res, &req), SO_EUNAVAIL);
    assert_non_null(strstr(res.errstr, path));
    so_fetch_res_free(&res);

    pid = test_unix_server(path);
    assert_int_equal(so_fetch_request(&res, &req), SO_OK);
    assert_int_equal(res.status, 200);
    assert_non_null(strstr(res.body,
                           "PUT /_shipoff/routes/blog.test HTTP/1.1\r\n"));
    assert_non_null(strstr(res.body, "\r\nHost: localhost\r\n"));
    so_fetch_res_free(&res);

    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    req.url = "http://unix:nginx.sock:/_shipoff/routes";
    assert_int_equal(so_fetch_request(&res, &req), SO_EINVAL);
    assert_non_null(strstr(res.errstr, "http://unix:/"));
    so_fetch_res_free(&res);

    unlink(path);
    rmdir(dir);
}


static void
test_oauth_seal(void **state)
{
    so_config_t    cfg;
    so_capture_t   cap;
    char          *sealed, *token, *log;
    int            rc;

    (void) state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.master_key = "00112233445566778899aabbccddeeff"
                     "00112233445566778899aabbccddeeff";

    assert_int_equal(so_oauth_seal(&sealed, &cfg, "github", 42, "gho_tok"),
                     SO_OK);
    assert_null(strstr(sealed, "gho_tok"));

    assert_int_equal(so_oauth_open(&token, &cfg, "github", 42, sealed),
                     SO_OK);
    assert_string_equal(token, "gho_tok");
    free(token);

    /* another user's row, another provider's, another key: it stays shut */
    assert_int_equal(so_oauth_open(&token, &cfg, "github", 43, sealed),
                     SO_EINVAL);
    assert_null(token);
    assert_int_equal(so_oauth_open(&token, &cfg, "google", 42, sealed),
                     SO_EINVAL);

    cfg.master_key = "f0112233445566778899aabbccddeeff"
                     "00112233445566778899aabbccddeeff";
    assert_int_equal(so_oauth_open(&token, &cfg, "github", 42, sealed),
                     SO_EINVAL);

    cfg.master_key = NULL;
    so_capture_start(&cap);
    rc = so_oauth_seal(&token, &cfg, "github", 42, "x");
    log = so_capture_end(&cap);
    assert_int_equal(rc, SO_EINVAL);
    assert_non_null(strstr(log, "master_key is missing"));
    free(log);

    free(sealed);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_form_encode),
        cmocka_unit_test(test_form_get),
        cmocka_unit_test(test_unavailable),
        cmocka_unit_test(test_unix_url),
        cmocka_unit_test(test_unix_request),
        cmocka_unit_test(test_oauth_seal),
    };
    int                      rc;

    so_fetch_init();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    so_fetch_cleanup();

    return rc;
}
