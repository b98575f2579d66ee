/*
 * test_webhook.c: the signature of a GitHub delivery (GitHub's documented
 * test vector, and every malformed header refused) and the repository key
 * that matches a payload's URLs with a project's repo_url.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

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
test_repo_key(void **state)
{
    static const struct {
        const char  *url;
        const char  *key;               /* NULL: refused */
    } cases[] = {
        { "https://github.com/Octo/Hello-World.git",
          "github.com/Octo/Hello-World" },
        { "https://github.com/Octo/Hello-World",
          "github.com/Octo/Hello-World" },
        { "https://GitHub.COM/Octo/Hello-World/",
          "github.com/Octo/Hello-World" },
        { "https://github.com/Octo/Hello-World.git/",
          "github.com/Octo/Hello-World" },
        { "git@github.com:Octo/Hello-World.git",
          "github.com/Octo/Hello-World" },
        { "ssh://git@github.com/Octo/Hello-World.git",
          "github.com/Octo/Hello-World" },
        { "git://github.com/Octo/Hello-World.git",
          "github.com/Octo/Hello-World" },
        { "https://user:pw@github.com/Octo/x", "github.com/Octo/x" },
        { "file:///srv/git/repo.git", NULL },          /* no host */
        { "file://host/srv/git/repo", "host/srv/git/repo" },
        { "https://github.com/", NULL },
        { "https://github.com", NULL },
        { "github.com/Octo/x", NULL },
        { "https://github.com/Octo/x y", NULL },
        { "", NULL },
    };
    char    key[SO_WEBHOOK_KEY_MAX];
    size_t  i;
    int     rc;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        rc = so_webhook_repo_key(key, sizeof(key), cases[i].url);
        so_test_label((rc == SO_OK) != (cases[i].key != NULL), "%s\n",
                      cases[i].url);

        if (cases[i].key == NULL) {
            assert_int_equal(rc, SO_EINVAL);
            continue;
        }

        assert_int_equal(rc, SO_OK);
        assert_string_equal(key, cases[i].key);
    }

    /* too long for out */
    assert_int_equal(so_webhook_repo_key(key, 15, "https://github.com/a/b"),
                     SO_OK);
    assert_int_equal(so_webhook_repo_key(key, 14, "https://github.com/a/b"),
                     SO_EINVAL);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_repo_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
