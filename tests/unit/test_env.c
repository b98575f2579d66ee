/*
 * test_env.c: the rules of environment variable names (so_env.h), one
 * row per name: the grammar, every refused family and name, their case
 * variants, and names that look close but belong to the user; and the
 * sealing of secret values.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shipoff.h"
#include "so_env.h"
#include "so_test.h"


#define OK       NULL
#define GRAMMAR  "must match " SO_ENV_KEY_GRAMMAR


static void
test_env_keys(void **state)
{
    static const struct {
        const char  *key;
        const char  *reason;            /* OK, or the start of the reason */
    } cases[] = {
        /* the grammar */
        { "A", OK }, { "_", OK }, { "DATABASE_URL", OK }, { "A1", OK },
        { "NODE_ENV", OK }, { "api_key", OK }, { "npm_config_registry", OK },
        { "MixedCase_9", OK },
        { "", GRAMMAR }, { "1A", GRAMMAR }, { "A-B", GRAMMAR },
        { "A B", GRAMMAR }, { "A=B", GRAMMAR }, { "A.B", GRAMMAR },
        { "\xc3\x84", GRAMMAR }, { "BASH_FUNC_f%%", GRAMMAR },

        /* the loader and libc: whole families, the two of issue 11 too */
        { "LD_PRELOAD", "is reserved: LD_* is read by the dynamic loader" },
        { "LD_DEBUG_OUTPUT", "is reserved: LD_*" },
        { "LD_PROFILE_OUTPUT", "is reserved: LD_*" },
        { "LD_LIBRARY_PATH", "is reserved: LD_*" },
        { "LD_AUDIT", "is reserved: LD_*" }, { "LD_", "is reserved: LD_*" },
        { "ld_preload", "is reserved: LD_*" },
        { "Ld_Debug", "is reserved: LD_*" },
        { "MALLOC_TRACE", "is reserved: MALLOC_*" },
        { "MALLOC_CHECK_", "is reserved: MALLOC_*" },
        { "GLIBC_TUNABLES", "is reserved: GLIBC_*" },
        { "GCONV_PATH", "is reserved: GCONV_PATH is read" },
        { "GETCONF_DIR", "is reserved: GETCONF_DIR" },
        { "HOSTALIASES", "is reserved: HOSTALIASES" },
        { "LOCALDOMAIN", "is reserved: LOCALDOMAIN" },
        { "LOCPATH", "is reserved: LOCPATH" },
        { "NIS_PATH", "is reserved: NIS_PATH" },
        { "NLSPATH", "is reserved: NLSPATH" },
        { "RESOLV_HOST_CONF", "is reserved: RESOLV_HOST_CONF" },
        { "RES_OPTIONS", "is reserved: RES_OPTIONS" },
        { "TZDIR", "is reserved: TZDIR" },

        /* the shell */
        { "BASH_ENV", "is reserved: BASH_* is read by the shell" },
        { "BASH_XTRACEFD", "is reserved: BASH_*" },
        { "BASHOPTS", "is reserved: BASHOPTS" },
        { "CDPATH", "is reserved: CDPATH" }, { "ENV", "is reserved: ENV " },
        { "GLOBIGNORE", "is reserved: GLOBIGNORE" },
        { "IFS", "is reserved: IFS" }, { "PS4", "is reserved: PS4" },
        { "SHELLOPTS", "is reserved: SHELLOPTS" },

        /* git */
        { "GIT_SSH_COMMAND", "is reserved: GIT_* is read by git" },
        { "GIT_CONFIG_COUNT", "is reserved: GIT_*" },
        { "GIT_DIR", "is reserved: GIT_*" },

        /* runtimes loading other code first */
        { "NODE_OPTIONS", "is reserved: NODE_OPTIONS makes a runtime" },
        { "PYTHONPATH", "is reserved: PYTHONPATH" },
        { "PYTHONHOME", "is reserved: PYTHONHOME" },
        { "PYTHONSTARTUP", "is reserved: PYTHONSTARTUP" },
        { "PYTHONUSERBASE", "is reserved: PYTHONUSERBASE" },
        { "PERL5OPT", "is reserved: PERL5OPT" },
        { "PERL5LIB", "is reserved: PERL5LIB" },
        { "PERLLIB", "is reserved: PERLLIB" },
        { "PHPRC", "is reserved: PHPRC" },
        { "PHP_INI_SCAN_DIR", "is reserved: PHP_INI_SCAN_DIR" },
        { "RUBYOPT", "is reserved: RUBYOPT" },
        { "RUBYLIB", "is reserved: RUBYLIB" },
        { "JAVA_TOOL_OPTIONS", "is reserved: JAVA_TOOL_OPTIONS" },
        { "JDK_JAVA_OPTIONS", "is reserved: JDK_JAVA_OPTIONS" },
        { "_JAVA_OPTIONS", "is reserved: _JAVA_OPTIONS" },

        /* what the platform sets */
        { "SHIPOFF_X", "is reserved: SHIPOFF_* is set by the platform" },
        { "SHIPOFF_", "is reserved: SHIPOFF_*" },
        { "shipoff_token", "is reserved: SHIPOFF_*" },
        { "HOME", "is reserved: HOME is set" },
        { "HOST", "is reserved: HOST" },
        { "HOSTNAME", "is reserved: HOSTNAME" },
        { "LOGNAME", "is reserved: LOGNAME" }, { "PATH", "is reserved: PATH" },
        { "Path", "is reserved: PATH" }, { "PORT", "is reserved: PORT" },
        { "PWD", "is reserved: PWD" }, { "SHELL", "is reserved: SHELL" },
        { "TMPDIR", "is reserved: TMPDIR" }, { "USER", "is reserved: USER" },

        /* close to a rule, but the user's */
        { "LD", OK }, { "LDAP_URL", OK }, { "GITHUB_TOKEN", OK },
        { "NODE_PATH", OK }, { "PYTHONUNBUFFERED", OK }, { "HOSTS", OK },
        { "PATH_PREFIX", OK }, { "MY_PATH", OK }, { "ENVIRONMENT", OK },
        { "USERNAME", OK }, { "PORT_API", OK }, { "BASH", OK },
        { "MALLOC", OK }, { "TZ", OK }, { "LANG", OK }, { "CI", OK },
    };
    char    reason[SO_ENV_REASON_MAX], key[SO_ENV_KEY_MAX + 2];
    size_t  i;
    int     rc;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        rc = so_env_key_check(cases[i].key, reason, sizeof(reason));
        so_test_label((rc == SO_OK) != (cases[i].reason == OK)
                      || (cases[i].reason != OK
                          && strncmp(reason, cases[i].reason,
                                     strlen(cases[i].reason)) != 0),
                      "case \"%s\": %s\n", cases[i].key, reason);

        if (cases[i].reason == OK) {
            assert_int_equal(rc, SO_OK);
            assert_string_equal(reason, "");
            continue;
        }

        assert_int_equal(rc, strcmp(cases[i].reason, GRAMMAR) == 0
                             ? SO_EINVAL : SO_EDENIED);
        assert_memory_equal(reason, cases[i].reason,
                            strlen(cases[i].reason));
    }

    /* 128 characters, not 129 */
    memset(key, 'A', SO_ENV_KEY_MAX);
    key[SO_ENV_KEY_MAX] = '\0';
    assert_int_equal(so_env_key_check(key, reason, sizeof(reason)), SO_OK);
    key[SO_ENV_KEY_MAX] = 'A';
    key[SO_ENV_KEY_MAX + 1] = '\0';
    assert_int_equal(so_env_key_check(key, reason, sizeof(reason)),
                     SO_EINVAL);
    assert_string_equal(reason, GRAMMAR);
}


static void
test_env_seal(void **state)
{
    so_config_t   cfg;
    char         *sealed, *plain;

    (void) state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.master_key = (char *) "00112233445566778899aabbccddeeff"
                              "00112233445566778899aabbccddeeff";

    assert_int_equal(so_env_seal(&sealed, &cfg, 7, "API_KEY", 1, "hush", 4),
                     SO_OK);
    assert_null(strstr(sealed, "hush"));

    assert_int_equal(so_env_open(&plain, &cfg, 7, "API_KEY", 1, sealed),
                     SO_OK);
    assert_string_equal(plain, "hush");
    free(plain);

    /* another project, key or key version: does not open */
    assert_int_equal(so_env_open(&plain, &cfg, 8, "API_KEY", 1, sealed),
                     SO_EINVAL);
    assert_int_equal(so_env_open(&plain, &cfg, 7, "OTHER", 1, sealed),
                     SO_EINVAL);
    assert_int_equal(so_env_open(&plain, &cfg, 7, "API_KEY", 2, sealed),
                     SO_EINVAL);
    free(sealed);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_env_keys),
        cmocka_unit_test(test_env_seal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
