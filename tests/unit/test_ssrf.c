/*
 * test_ssrf.c: which addresses a repo_url may point at (so_ssrf.h), and
 * how a repo_url is taken apart (so_repo.h).
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "shipoff.h"
#include "so_repo.h"
#include "so_ssrf.h"
#include "so_test.h"


static void
test_classify(void **state)
{
    static const struct {
        const char  *addr;
        const char  *why;               /* NULL: public */
    } cases[] = {
        { "8.8.8.8", NULL },
        { "93.184.216.34", NULL },
        { "140.82.112.3", NULL },
        { "0.0.0.0", "unspecified" },
        { "0.1.2.3", "unspecified" },
        { "10.0.0.1", "private" },
        { "10.255.255.255", "private" },
        { "11.0.0.1", NULL },
        { "100.63.255.255", NULL },
        { "100.64.0.1", "CGNAT" },
        { "100.127.255.255", "CGNAT" },
        { "100.128.0.0", NULL },
        { "127.0.0.1", "loopback" },
        { "127.255.0.1", "loopback" },
        { "169.254.169.254", "cloud metadata" },
        { "169.254.1.1", "link-local" },
        { "172.15.255.255", NULL },
        { "172.16.0.1", "private" },
        { "172.31.255.255", "private" },
        { "172.32.0.0", NULL },
        { "192.0.2.1", "reserved" },
        { "192.168.1.1", "private" },
        { "198.18.0.1", "reserved" },
        { "203.0.113.9", "reserved" },
        { "224.0.0.1", "multicast" },
        { "239.255.255.255", "multicast" },
        { "240.0.0.1", "reserved" },
        { "255.255.255.255", "reserved" },

        { "2606:4700::1111", NULL },
        { "2a00:1450:4001::1", NULL },
        { "::", "unspecified" },
        { "::1", "loopback" },
        { "::ffff:127.0.0.1", "loopback" },
        { "::ffff:10.0.0.1", "private" },
        { "::ffff:8.8.8.8", NULL },
        { "::127.0.0.1", "loopback" },
        { "64:ff9b::a9fe:a9fe", "cloud metadata" },
        { "64:ff9b::808:808", NULL },
        { "2002:7f00:1::", "loopback" },
        { "2002:0808:0808::1", NULL },
        { "fc00::1", "private" },
        { "fd12:3456::1", "private" },
        { "fe80::1", "link-local" },
        { "febf::1", "link-local" },
        { "fec0::1", "private" },
        { "ff02::1", "multicast" },
        { "2001:db8::1", "reserved" },
        { "2001:0::1", "reserved" },
        { "100::1", "reserved" },

        { "not an address", "reserved" },
    };
    const char  *why;
    size_t       i;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        why = so_ssrf_classify_text(cases[i].addr);
        so_test_label((why == NULL) != (cases[i].why == NULL)
                      || (why != NULL && strcmp(why, cases[i].why) != 0),
                      "case %s: %s\n", cases[i].addr, why ? why : "public");
        if (cases[i].why == NULL) {
            assert_null(why);
        } else {
            assert_non_null(why);
            assert_string_equal(why, cases[i].why);
        }
    }
}


static void
test_check_host(void **state)
{
    char  reason[SO_ERRLEN];

    (void) state;

    assert_int_equal(so_ssrf_check_host("127.0.0.1", reason, sizeof(reason)),
                     SO_EDENIED);
    assert_string_equal(reason, "its host resolves to a loopback address");
    assert_int_equal(so_ssrf_check_host("0.0.0.0", reason, sizeof(reason)),
                     SO_EDENIED);
    assert_string_equal(reason,
                        "its host resolves to an unspecified address");
    assert_int_equal(so_ssrf_check_host("localhost", reason, sizeof(reason)),
                     SO_EDENIED);
    assert_int_equal(so_ssrf_check_host("8.8.8.8", reason, sizeof(reason)),
                     SO_OK);
    assert_int_equal(so_ssrf_check_host("no-such.invalid", reason,
                                        sizeof(reason)), SO_ENOTFOUND);
}


static void
test_repo_parse(void **state)
{
    static const struct {
        const char  *url;
        int          rc;
        const char  *host;
        const char  *owner;
        const char  *repo;
    } cases[] = {
        { "https://github.com/alice/blog", SO_OK, "github.com", "alice",
          "blog" },
        { "https://github.com/alice/blog.git", SO_OK, "github.com", "alice",
          "blog" },
        { "https://GitHub.com/a-b/c_d.e", SO_OK, "github.com", "a-b",
          "c_d.e" },
        { "https://github.com/alice/blog/tree/main", SO_OK, "github.com",
          "", "" },
        { "https://github.com/alice", SO_OK, "github.com", "", "" },
        { "https://gitlab.com/alice/blog.git", SO_OK, "gitlab.com", "", "" },
        { "https://h.example:8443/x.git", SO_OK, "h.example", "", "" },
        { "https://[::1]:8443/x.git", SO_OK, "::1", "", "" },
        { "http://127.0.0.1:9/x.git", SO_OK, "127.0.0.1", "", "" },
        { "file:///srv/git/x.git", SO_OK, "", "", "" },
        { "ftp://h/x", SO_EINVAL, "", "", "" },
        { "git@github.com:a/b.git", SO_EINVAL, "", "", "" },
        { "https://user:pw@h.example/x", SO_EINVAL, "", "", "" },
        { "https://h.example", SO_EINVAL, "", "", "" },
        { "https://h.example/", SO_EINVAL, "", "", "" },
        { "https://h.example/a b", SO_EINVAL, "", "", "" },
        { "https://h.example/x?y=1", SO_EINVAL, "", "", "" },
        { "https://h.example:/x", SO_EINVAL, "", "", "" },
        { "https://h.example:123456/x", SO_EINVAL, "", "", "" },
        { "https://h_x.example/x", SO_EINVAL, "", "", "" },
        { "https://[::1/x", SO_EINVAL, "", "", "" },
        { "https://[zz::1]/x", SO_EINVAL, "", "", "" },
        { "https://h.example\\@evil/x", SO_EINVAL, "", "", "" },
        { "", SO_EINVAL, "", "", "" },
    };
    so_repo_url_t  u;
    char           reason[SO_ERRLEN];
    size_t         i;
    int            rc;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        rc = so_repo_parse(&u, cases[i].url, reason, sizeof(reason));
        so_test_label(rc != cases[i].rc, "case %s: %d %s\n", cases[i].url,
                      rc, reason);
        assert_int_equal(rc, cases[i].rc);
        if (rc != SO_OK) {
            assert_true(reason[0] != '\0');
            continue;
        }
        assert_string_equal(u.host, cases[i].host);
        assert_string_equal(u.owner, cases[i].owner);
        assert_string_equal(u.repo, cases[i].repo);
    }
}


static void
test_repo_check(void **state)
{
    so_config_t    cfg;
    so_repo_url_t  u;
    char           reason[SO_ERRLEN];

    (void) state;
    memset(&cfg, 0, sizeof(cfg));

    assert_int_equal(so_repo_check(&u, &cfg, "http://8.8.8.8/x", reason,
                                   sizeof(reason)), SO_EINVAL);
    assert_int_equal(so_repo_check(&u, &cfg, "file:///x", reason,
                                   sizeof(reason)), SO_EINVAL);
    assert_int_equal(so_repo_check(&u, &cfg, "https://10.0.0.1/x", reason,
                                   sizeof(reason)), SO_EDENIED);
    assert_int_equal(so_repo_check(&u, &cfg, "https://8.8.8.8/x", reason,
                                   sizeof(reason)), SO_OK);

    cfg.allow_insecure_repos = 1;
    assert_int_equal(so_repo_check(&u, &cfg, "http://8.8.8.8/x", reason,
                                   sizeof(reason)), SO_OK);
    assert_int_equal(so_repo_check(&u, &cfg, "http://10.0.0.1/x", reason,
                                   sizeof(reason)), SO_EDENIED);

    cfg.allow_private_repos = 1;
    assert_int_equal(so_repo_check(&u, &cfg, "http://10.0.0.1/x", reason,
                                   sizeof(reason)), SO_OK);
    assert_int_equal(so_repo_check(&u, &cfg, "http://[fd00::1]/x", reason,
                                   sizeof(reason)), SO_OK);

    /* the clouds' metadata services, however written, stay out of reach */
    {
        static const char  *metadata[] = {
            "http://169.254.169.254/x", "https://169.254.169.254/x",
            "http://[fd00:ec2::254]/x", "http://[::ffff:169.254.169.254]/x",
            "http://169.254.170.2/x", "http://100.100.100.200/x",
            "http://169.254.1.1/x", "http://[fe80::1]/x"
        };
        size_t              i;

        for (i = 0; i < sizeof(metadata) / sizeof(metadata[0]); i++) {
            if (so_repo_check(&u, &cfg, metadata[i], reason, sizeof(reason))
                != SO_EDENIED)
            {
                fail_msg("%s was accepted with allow_private_repos",
                         metadata[i]);
            }
        }
        assert_string_equal(so_repo_check(&u, &cfg, metadata[0], reason,
                                          sizeof(reason)) == SO_EDENIED
                            ? reason : "",
                            "its host resolves to a cloud metadata "
                            "address");
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_check_host),
        cmocka_unit_test(test_repo_parse),
        cmocka_unit_test(test_repo_check),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
