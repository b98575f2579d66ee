/*
 * test_webhook.c: the signature of a GitHub delivery (GitHub's documented
 * test vector, and every malformed header refused) and the repository
 * found in a body before the signature is checked.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_test.h"
#include "so_webhook.h"


/* docs.github.com: "Validating webhook deliveries", testing the signature */
#define GH_SECRET   "It's a Secret to Everybody"
#define GH_PAYLOAD  "Hello, World!"
#define GH_HEX                                                               \
    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


static void
test_verify(void **state)
{
    static const struct {
        const char  *header;
        int          rc;
    } cases[] = {
        { "sha256=" GH_HEX, SO_OK },
        /* one bit off in the last digit */
        { "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c"
          "8b043e16", SO_EDENIED },
        { "sha256=0000000000000000000000000000000000000000000000000000000000"
          "000000", SO_EDENIED },
        /* GitHub sends lower case only */
        { "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C"
          "8B043E17", SO_EINVAL },
        { "SHA256=" GH_HEX, SO_EINVAL },
        { "sha1=" GH_HEX, SO_EINVAL },
        { "sha256=" GH_HEX "0", SO_EINVAL },          /* odd length */
        { "sha256=" GH_HEX "00", SO_EINVAL },         /* too long */
        { "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c"
          "8b043e1", SO_EINVAL },                      /* 63 digits */
        { "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c"
          "8b043e1g", SO_EINVAL },                     /* not hex */
        { "sha256= " GH_HEX, SO_EINVAL },
        { " sha256=" GH_HEX, SO_EINVAL },
        { "sha256=", SO_EINVAL },
        { "", SO_EINVAL },
        { NULL, SO_EINVAL },
    };
    size_t  i;
    int     rc;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        rc = so_webhook_verify(cases[i].header, GH_SECRET,
                               strlen(GH_SECRET), GH_PAYLOAD,
                               strlen(GH_PAYLOAD));
        so_test_label(rc != cases[i].rc, "case %zu\n", i);
        assert_int_equal(rc, cases[i].rc);

        assert_int_equal(so_webhook_sig_check(cases[i].header),
                         cases[i].rc == SO_EINVAL ? SO_EINVAL : SO_OK);
    }

    /* the same signature over another body or under another secret */
    assert_int_equal(so_webhook_verify("sha256=" GH_HEX, GH_SECRET,
                                       strlen(GH_SECRET), "Hello, World?",
                                       13), SO_EDENIED);
    assert_int_equal(so_webhook_verify("sha256=" GH_HEX, "it's a secret",
                                       13, GH_PAYLOAD, strlen(GH_PAYLOAD)),
                     SO_EDENIED);
}


static void
test_repository(void **state)
{
    static const struct {
        const char  *body;
        int          rc;
        const char  *html_url;          /* NULL: no repository found */
    } cases[] = {
        { "{\"repository\":{\"html_url\":\"https://github.com/o/r\"}}",
          SO_OK, "https://github.com/o/r" },
        /* after other members of every kind, with whitespace */
        { " {\"ref\" : \"refs/heads/main\", \"n\": -1.5e3, \"t\":true,"
          " \"x\": [1, {\"repository\": {\"html_url\": \"decoy\"}}, \"]\"],"
          " \"s\": \"a \\\"quoted\\\" }\", \"z\": null,\n"
          " \"repository\" :\t{\"html_url\":\"https://h/o/r\"} }\n",
          SO_OK, "https://h/o/r" },
        /* the first of two counts */
        { "{\"repository\":{\"html_url\":\"a\"},"
          "\"repository\":{\"html_url\":\"b\"}}", SO_OK, "a" },
        /* a member of another name or at another depth */
        { "{\"repositories\":{\"html_url\":\"a\"}}", SO_OK, NULL },
        { "{\"repo\\u0073itory\":{\"html_url\":\"a\"}}", SO_OK, NULL },
        { "{\"x\":{\"repository\":{\"html_url\":\"a\"}}}", SO_OK, NULL },
        /* not an object, or an object that does not parse */
        { "{\"repository\":null}", SO_OK, NULL },
        { "{\"repository\":\"https://github.com/o/r\"}", SO_OK, NULL },
        { "{\"repository\":[{\"html_url\":\"a\"}]}", SO_OK, NULL },
        { "{\"repository\":{\"html_url\":\"a\",\"html_url\":\"b\"}}",
          SO_OK, NULL },
        { "{\"repository\":{\"html_url\" \"a\"}}", SO_OK, NULL },
        { "{}", SO_OK, NULL },
        /* the body is not shaped as an object */
        { "", SO_EINVAL, NULL },
        { "[]", SO_EINVAL, NULL },
        { "{\"ref\":", SO_EINVAL, NULL },
        { "{\"ref\":\"main}", SO_EINVAL, NULL },
        { "{\"a\":{\"b\":1}", SO_EINVAL, NULL },
        { "{\"a\":1,}", SO_EINVAL, NULL },
        { "{\"a\":1 \"b\":2}", SO_EINVAL, NULL },
        { "{\"a\"}", SO_EINVAL, NULL },
        { "{a:1}", SO_EINVAL, NULL },
        { "{\"a\":}", SO_EINVAL, NULL },
        { "{} x", SO_EINVAL, NULL },
        { "{\"a\":1}}", SO_EINVAL, NULL },
    };
    json_t  *repo;
    char    *big;
    size_t   i, n;
    int      rc;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        rc = so_webhook_repository(&repo, cases[i].body,
                                   strlen(cases[i].body));
        so_test_label(rc != cases[i].rc
                      || (repo != NULL) != (cases[i].html_url != NULL),
                      "case %zu: %s\n", i, cases[i].body);
        assert_int_equal(rc, cases[i].rc);

        if (cases[i].html_url == NULL) {
            assert_null(repo);
            continue;
        }

        assert_non_null(repo);
        assert_string_equal(json_string_value(json_object_get(repo,
                                                              "html_url")),
                            cases[i].html_url);
        json_decref(repo);
    }

    /* a repository past SO_WEBHOOK_REPO_MAX is not parsed; one at it is */
    big = malloc(SO_WEBHOOK_REPO_MAX + 64);
    assert_non_null(big);

    for (n = SO_WEBHOOK_REPO_MAX; n <= SO_WEBHOOK_REPO_MAX + 1; n++) {
        memcpy(big, "{\"repository\":{\"p\":\"", 20);
        memset(big + 20, 'x', n - 8);
        memcpy(big + 20 + n - 8, "\"}}", 4);
        assert_int_equal(so_webhook_repository(&repo, big, strlen(big)),
                         SO_OK);
        if (n == SO_WEBHOOK_REPO_MAX) {
            assert_non_null(repo);
            json_decref(repo);
        } else {
            assert_null(repo);
        }
    }

    free(big);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_repository),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
