/*
 * test_config.c: what an operator sees from so_config_load(): defaults,
 * file syntax, exact error messages, environment overrides, the secrets
 * file rules, and that no secret ever shows in an error or in the dump.
 *
 * Run from the repository root (make unit does): fixtures are read from
 * tests/fixtures/config; secrets files are written at run time because
 * git does not keep their 0600 mode.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_config.h"
#include "so_log.h"
#include "so_test.h"


#define FIXTURES  "tests/fixtures/config/"

/* distinctive values: any of them found in an error or a log is a leak */
#define JWT_KEY \
    "5ec12e7a5ec12e7a5ec12e7a5ec12e7a5ec12e7a5ec12e7a5ec12e7a5ec12e7a"
#define MASTER_KEY \
    "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789ABCDEF"
#define WEBHOOK_SECRET \
    "feedfacecafebeeffeedfacecafebeeffeedfacecafebeeffeedfacecafebeef"
#define SECRET_63 \
    "5ec12e7a5ec12e7a5ec12e7a5ec12e7a5ec12e7a5ec12e7a5ec12e7a5ec12e7"
#define SECRET_65  JWT_KEY "a"
#define SECRET_HEXLESS \
    "5ec12e7a5ec12e7a5ec12e7a5ec12e7a5ec12e7a5ec12e7a5ec12e7a5ec12ezz"


/* every key of so_config_t, with a valid value other than the default */
static const struct {
    const char  *name;
    const char  *value;
} all_keys[] = {
    { "access_ttl", "2h" },
    { "allow_insecure_repos", "1" },
    { "allow_private_repos", "1" },
    { "api_listen", "127.0.0.1:1" },
    { "app_disk", "64m" },
    { "app_drain", "2s" },
    { "app_port_max", "20999" },
    { "app_port_min", "20000" },
    { "app_stop_grace", "3s" },
    { "apps_domain", "example.org" },
    { "argon2_iterations", "3" },
    { "argon2_max_concurrent", "8" },
    { "argon2_memory_kib", "65536" },
    { "argon2_parallelism", "2" },
    { "auth_listen", "127.0.0.1:2" },
    { "build_concurrency", "2" },
    { "build_timeout", "5m" },
    { "detect_timeout", "30s" },
    { "edge_timeout", "2s" },
    { "edges", "http://127.0.0.1:1/_shipoff/routes" },
    { "fcgi_threads", "1" },
    { "github_api_url", "http://127.0.0.1:1/api" },
    { "github_authorize_url", "http://127.0.0.1:1/authorize" },
    { "github_client_id", "Iv1.abc" },
    { "github_client_secret", "gh-secret-value" },
    { "github_token_url", "http://127.0.0.1:1/token" },
    { "google_authorize_url", "http://127.0.0.1:2/authorize" },
    { "google_client_id", "123.apps.example" },
    { "google_client_secret", "google-secret-value" },
    { "google_token_url", "http://127.0.0.1:2/token" },
    { "google_userinfo_url", "http://127.0.0.1:2/userinfo" },
    { "hooks_listen", "127.0.0.1:3" },
    { "idle_timeout", "15m" },
    { "jwt_audience", "aud" },
    { "jwt_issuer", "iss" },
    { "jwt_key", JWT_KEY },
    { "jwt_leeway", "0" },
    { "keep_artifacts", "5" },
    { "lease_ttl", "1m" },
    { "log_level", "error" },
    { "log_max_age", "7d" },
    { "log_max_size", "1m" },
    { "log_streams_max", "10" },
    { "master_key", MASTER_KEY },
    { "max_attempts", "3" },
    { "max_body_size", "1g" },
    { "oauth_state_ttl", "5m" },
    { "pg_dsn", "postgresql://u@db/shipoff" },
    { "pg_timeout", "10m" },
    { "public_url", "https://shipoff.example.org" },
    { "quota_apps_running", "0" },
    { "quota_builds_active", "7" },
    { "quota_deployments_kept", "40" },
    { "quota_disk_bytes", "1g" },
    { "quota_log_bytes_per_deployment", "2m" },
    { "quota_projects", "9" },
    { "reap_interval", "5s" },
    { "reconcile_interval", "30s" },
    { "redis_host", "/run/redis.sock" },
    { "redis_port", "65535" },
    { "redis_timeout", "1ms" },
    { "refresh_ttl", "6d" },
    { "sandbox_allow_networks", "10.1.2.3/32 192.168.7.0/24" },
    { "sandbox_bwrap", "/usr/bin/bwrap" },
    { "sandbox_cgroup_parent", "shipoff-test" },
    { "sandbox_deny_networks", "203.0.113.0/24" },
    { "sandbox_disk", "2g" },
    { "sandbox_memory", "512m" },
    { "sandbox_network", "10.99.0.0/16" },
    { "sandbox_nft", "/usr/sbin/nft" },
    { "sandbox_pids", "512" },
    { "sandbox_uid_base", "100000" },
    { "sandbox_uid_count", "1000" },
    { "secrets_file", "/etc/shipoff/secrets" },
    { "sql_dir", "/usr/share/shipoff/sql" },
    { "startup_timeout", "5m" },
    { "var_dir", "/var/lib/shipoff" },
    { "webhook_fail_limit", "5" },
    { "webhook_fail_window", "2m" },
    { "webhook_max_body_size", "30m" },
    { "webhook_max_candidates", "8" },
    { "webhook_secret", WEBHOOK_SECRET },
};


static char  *tmpdir;


static void
clear_env(void)
{
    char    var[64];
    size_t  i, j;

    for (i = 0; i < so_nelems(all_keys); i++) {
        snprintf(var, sizeof(var), "SHIPOFF_%s", all_keys[i].name);

        for (j = 0; var[j] != '\0'; j++) {
            if (var[j] >= 'a' && var[j] <= 'z') {
                var[j] = (char) (var[j] - 'a' + 'A');
            }
        }

        unsetenv(var);
    }
}


static int
setup(void **state)
{
    clear_env();
    tmpdir = so_test_mkdtemp();

    return 0;
}


static int
teardown(void **state)
{
    clear_env();
    so_test_rmtree(tmpdir);
    tmpdir = NULL;

    return 0;
}


/* a main config naming a secrets file written with content and mode */
static char *
write_secrets(const char *content, mode_t mode, char **secrets_path)
{
    char  *conf, *main_path;

    *secrets_path = so_test_write(tmpdir, "secrets", content, mode);

    if (asprintf(&conf, "secrets_file = %s\n", *secrets_path) == -1) {
        abort();
    }

    main_path = so_test_write(tmpdir, "shipoff.conf", conf, 0644);
    free(conf);

    return main_path;
}


static void
test_defaults(void **state)
{
    int          rc;
    char         err[SO_ERRLEN] = "";
    so_config_t  cfg;

    rc = so_config_load(&cfg, NULL, err, sizeof(err));

    assert_int_equal(rc, SO_OK);
    assert_string_equal(err, "");
    assert_string_equal(cfg.apps_domain, "localhost");
    assert_string_equal(cfg.api_listen, "/run/shipoff/fcgi/api.sock");
    assert_string_equal(cfg.auth_listen, "/run/shipoff/fcgi/auth.sock");
    assert_string_equal(cfg.hooks_listen, "/run/shipoff/fcgi/hooks.sock");
    assert_string_equal(cfg.edges, "http://unix:/run/shipoff/control/"
                        "nginx.sock:/_shipoff/routes");
    assert_int_equal(cfg.fcgi_threads, 4);
    assert_int_equal(cfg.log_level, SO_LOG_INFO);
    assert_int_equal(cfg.max_body_size, 1048576);
    assert_int_equal(cfg.webhook_max_body_size, 25 * 1048576);
    assert_string_equal(cfg.pg_dsn, "dbname=shipoff");
    assert_int_equal(cfg.pg_timeout, 2000);
    assert_string_equal(cfg.redis_host, "127.0.0.1");
    assert_int_equal(cfg.redis_port, 6379);
    assert_int_equal(cfg.redis_timeout, 1000);
    assert_null(cfg.secrets_file);
    assert_string_equal(cfg.sql_dir, "sql");
    assert_string_equal(cfg.var_dir, "var");
    assert_null(cfg.jwt_key);
    assert_null(cfg.master_key);
    assert_null(cfg.webhook_secret);

    so_config_free(&cfg);
    assert_null(cfg.apps_domain);

    so_config_free(NULL);
}


static void
test_good_file(void **state)
{
    int          rc;
    char         err[SO_ERRLEN] = "";
    so_config_t  cfg;

    rc = so_config_load(&cfg, FIXTURES "good.conf", err, sizeof(err));

    assert_string_equal(err, "");
    assert_int_equal(rc, SO_OK);
    assert_string_equal(cfg.apps_domain, "apps.example.com");
    assert_string_equal(cfg.api_listen, "/run/shipoff/api.sock");
    assert_string_equal(cfg.auth_listen, "127.0.0.1:9102");
    assert_string_equal(cfg.hooks_listen, "127.0.0.1:9103");
    assert_string_equal(cfg.sql_dir, "/opt/ship#off/sql dir");
    assert_string_equal(cfg.var_dir, "/var/lib/shipoff");
    assert_int_equal(cfg.fcgi_threads, 16);
    assert_int_equal(cfg.log_level, SO_LOG_WARN);
    assert_int_equal(cfg.max_body_size, 512 * 1024);
    assert_string_equal(cfg.pg_dsn,
                        "host=/run/postgresql dbname=shipoff_test");
    assert_int_equal(cfg.pg_timeout, 5000);
    assert_string_equal(cfg.redis_host, "redis.internal");
    assert_int_equal(cfg.redis_port, 6380);
    assert_int_equal(cfg.redis_timeout, 250);
    assert_null(cfg.secrets_file);

    so_config_free(&cfg);
}


static void
test_file_errors(void **state)
{
    int          rc;
    char         err[SO_ERRLEN];
    size_t       i;
    so_config_t  cfg;

    static const struct {
        const char  *file;
        int          rc;
        const char  *err;
    } cases[] = {
        { "unknown_key.conf", SO_EINVAL,
          FIXTURES "unknown_key.conf:3: unknown key \"redis_prot\"" },
        { "bad_port.conf", SO_EINVAL,
          FIXTURES "bad_port.conf:2: bad value \"abc\" for \"redis_port\": "
          "expected an integer from 1 to 65535" },
        { "bad_threads.conf", SO_EINVAL,
          FIXTURES "bad_threads.conf:1: bad value \"0\" for "
          "\"fcgi_threads\": expected an integer from 1 to 256" },
        { "bad_level.conf", SO_EINVAL,
          FIXTURES "bad_level.conf:1: bad value \"loud\" for \"log_level\": "
          "expected debug, info, warn or error" },
        { "no_equals.conf", SO_EINVAL,
          FIXTURES "no_equals.conf:4: expected \"key = value\"" },
        { "no_key.conf", SO_EINVAL,
          FIXTURES "no_key.conf:1: expected \"key = value\"" },
        { "unterminated.conf", SO_EINVAL,
          FIXTURES "unterminated.conf:1: unterminated quoted value" },
        { "secret_in_main.conf", SO_EINVAL,
          FIXTURES "secret_in_main.conf:2: \"jwt_key\" belongs in the "
          "secrets file" },
        { "missing.conf", SO_ERR,
          "cannot open " FIXTURES "missing.conf: No such file or directory" },
    };

    for (i = 0; i < so_nelems(cases); i++) {
        char  path[256];

        snprintf(path, sizeof(path), FIXTURES "%s", cases[i].file);
        err[0] = '\0';

        rc = so_config_load(&cfg, path, err, sizeof(err));

        so_test_label(rc != cases[i].rc, "%s\n", cases[i].file);
        assert_int_equal(rc, cases[i].rc);
        assert_string_equal(err, cases[i].err);
        assert_null(strstr(err, JWT_KEY));

        /* a failed load leaves nothing behind to free */
        assert_null(cfg.apps_domain);
        assert_null(cfg.pg_dsn);
    }
}


/* the error is cut to the buffer, never overflows it */
static void
test_error_truncated(void **state)
{
    int          rc;
    char         err[16];
    so_config_t  cfg;

    memset(err, 'x', sizeof(err));

    rc = so_config_load(&cfg, FIXTURES "unknown_key.conf", err, 12);

    assert_int_equal(rc, SO_EINVAL);
    assert_int_equal(strlen(err), 11);
    assert_int_equal(err[12], 'x');
}


static void
test_every_key_settable(void **state)
{
    int          rc;
    char         err[SO_ERRLEN];
    size_t       i;
    so_config_t  cfg;

    memset(&cfg, 0, sizeof(cfg));

    for (i = 0; i < so_nelems(all_keys); i++) {
        err[0] = '\0';
        rc = so_config_set(&cfg, all_keys[i].name, all_keys[i].value, err,
                           sizeof(err));

        so_test_label(rc != SO_OK, "%s\n", all_keys[i].name);
        assert_string_equal(err, "");
        assert_int_equal(rc, SO_OK);
    }

    assert_string_equal(cfg.jwt_key, JWT_KEY);
    assert_int_equal(cfg.max_body_size, 1073741824);
    assert_int_equal(cfg.pg_timeout, 600000);
    assert_int_equal(cfg.redis_timeout, 1);
    assert_int_equal(cfg.webhook_max_body_size, 30 * 1048576);

    rc = so_config_set(&cfg, "nope", "1", err, sizeof(err));
    assert_int_equal(rc, SO_EINVAL);
    assert_string_equal(err, "unknown key \"nope\"");

    so_config_free(&cfg);
}


static void
test_sizes(void **state)
{
    int          rc;
    char         err[SO_ERRLEN];
    size_t       i;
    so_config_t  cfg;

    static const struct {
        const char  *value;
        int          rc;
        size_t       bytes;
    } cases[] = {
        { "1m", SO_OK, 1048576 },
        { "1M", SO_OK, 1048576 },
        { "512k", SO_OK, 524288 },
        { "512K", SO_OK, 524288 },
        { "10", SO_OK, 10 },
        { "1", SO_OK, 1 },
        { "1048576", SO_OK, 1048576 },
        { "1g", SO_OK, 1073741824 },
        { "1024m", SO_OK, 1073741824 },
        { "0", SO_EINVAL, 0 },
        { "0x", SO_EINVAL, 0 },
        { "0x10", SO_EINVAL, 0 },
        { "-1", SO_EINVAL, 0 },
        { "+1", SO_EINVAL, 0 },
        { " 1m", SO_EINVAL, 0 },
        { "1m ", SO_EINVAL, 0 },
        { "1.5m", SO_EINVAL, 0 },
        { "1mb", SO_EINVAL, 0 },
        { "k", SO_EINVAL, 0 },
        { "", SO_EINVAL, 0 },
        { "2g", SO_EINVAL, 0 },
        { "1073741825", SO_EINVAL, 0 },
        { "99999999999999999999g", SO_EINVAL, 0 },
        { "99999999999999999999", SO_EINVAL, 0 },
        { "18014398509481984k", SO_EINVAL, 0 },     /* 2^64 after k */
    };

    for (i = 0; i < so_nelems(cases); i++) {
        cfg.max_body_size = 7;
        err[0] = '\0';

        rc = so_config_set(&cfg, "max_body_size", cases[i].value, err,
                           sizeof(err));

        so_test_label(rc != cases[i].rc, "\"%s\"\n", cases[i].value);
        assert_int_equal(rc, cases[i].rc);

        if (rc == SO_OK) {
            assert_int_equal(cfg.max_body_size, cases[i].bytes);
            assert_string_equal(err, "");

        } else {
            assert_int_equal(cfg.max_body_size, 7);
            assert_non_null(strstr(err, "for \"max_body_size\": expected a "
                                   "size in bytes (or k, m, g) from 1 "
                                   "to 1g"));
        }
    }

    so_config_set(&cfg, "max_body_size", "0x", err, sizeof(err));
    assert_string_equal(err, "bad value \"0x\" for \"max_body_size\": "
                        "expected a size in bytes (or k, m, g) from 1 to 1g");
}


static void
test_numbers(void **state)
{
    int          rc, *field;
    char         err[SO_ERRLEN];
    size_t       i;
    so_config_t  cfg;

    static const struct {
        const char  *key;
        const char  *value;
        int          rc;
        int          expect;
    } cases[] = {
        { "redis_port", "6380", SO_OK, 6380 },
        { "redis_port", "1", SO_OK, 1 },
        { "redis_port", "65535", SO_OK, 65535 },
        { "redis_port", "0", SO_EINVAL, 0 },
        { "redis_port", "65536", SO_EINVAL, 0 },
        { "redis_port", "abc", SO_EINVAL, 0 },
        { "redis_port", "-1", SO_EINVAL, 0 },
        { "redis_port", "6379k", SO_EINVAL, 0 },
        { "redis_port", "4294967297", SO_EINVAL, 0 },
        { "fcgi_threads", "256", SO_OK, 256 },
        { "fcgi_threads", "257", SO_EINVAL, 0 },
        { "pg_timeout", "2000", SO_OK, 2000 },
        { "pg_timeout", "2s", SO_OK, 2000 },
        { "pg_timeout", "250ms", SO_OK, 250 },
        { "pg_timeout", "250MS", SO_OK, 250 },
        { "pg_timeout", "1m", SO_OK, 60000 },
        { "pg_timeout", "0", SO_EINVAL, 0 },
        { "pg_timeout", "0s", SO_EINVAL, 0 },
        { "pg_timeout", "11m", SO_EINVAL, 0 },
        { "pg_timeout", "1h", SO_EINVAL, 0 },
        { "redis_timeout", "1.5s", SO_EINVAL, 0 },
    };

    for (i = 0; i < so_nelems(cases); i++) {
        memset(&cfg, 0, sizeof(cfg));
        err[0] = '\0';

        rc = so_config_set(&cfg, cases[i].key, cases[i].value, err,
                           sizeof(err));

        field = strcmp(cases[i].key, "redis_port") == 0 ? &cfg.redis_port
                : strcmp(cases[i].key, "fcgi_threads") == 0
                ? &cfg.fcgi_threads
                : strcmp(cases[i].key, "pg_timeout") == 0 ? &cfg.pg_timeout
                : &cfg.redis_timeout;

        so_test_label(rc != cases[i].rc || *field != cases[i].expect,
                      "%s \"%s\"\n", cases[i].key, cases[i].value);
        assert_int_equal(rc, cases[i].rc);

        assert_int_equal(*field, cases[i].expect);
        assert_true(rc == SO_OK ? err[0] == '\0'
                                : strstr(err, cases[i].key) != NULL);
    }

    so_config_set(&cfg, "pg_timeout", "1h", err, sizeof(err));
    assert_string_equal(err, "bad value \"1h\" for \"pg_timeout\": expected "
                        "a duration in ms (or s, m) from 1ms to 10m");
}


static void
test_strings(void **state)
{
    int          rc;
    char         err[SO_ERRLEN];
    so_config_t  cfg;

    memset(&cfg, 0, sizeof(cfg));

    rc = so_config_set(&cfg, "apps_domain", "", err, sizeof(err));
    assert_int_equal(rc, SO_EINVAL);
    assert_string_equal(err, "bad value \"\" for \"apps_domain\": "
                        "expected a non-empty string");

    rc = so_config_set(&cfg, "secrets_file", "/etc/s", err, sizeof(err));
    assert_int_equal(rc, SO_OK);
    assert_string_equal(cfg.secrets_file, "/etc/s");

    /* an optional string set to "" is none */
    rc = so_config_set(&cfg, "secrets_file", "", err, sizeof(err));
    assert_int_equal(rc, SO_OK);
    assert_null(cfg.secrets_file);

    rc = so_config_set(&cfg, "log_level", "DeBuG", err, sizeof(err));
    assert_int_equal(rc, SO_OK);
    assert_int_equal(cfg.log_level, SO_LOG_DEBUG);

    /* a broken DSN is refused without quoting it: it may hold a password */
    rc = so_config_set(&cfg, "pg_dsn", "password=hunter2 oops", err,
                       sizeof(err));
    assert_int_equal(rc, SO_EINVAL);
    assert_null(strstr(err, "hunter2"));
    assert_non_null(strstr(err, "bad value for \"pg_dsn\""));
    assert_null(cfg.pg_dsn);

    so_config_free(&cfg);
}


static void
test_env_overrides_file(void **state)
{
    int          rc;
    char         err[SO_ERRLEN] = "";
    so_config_t  cfg;

    setenv("SHIPOFF_REDIS_PORT", "7000", 1);
    setenv("SHIPOFF_LOG_LEVEL", "debug", 1);
    setenv("SHIPOFF_APPS_DOMAIN", "env.example.com", 1);

    rc = so_config_load(&cfg, FIXTURES "good.conf", err, sizeof(err));

    assert_string_equal(err, "");
    assert_int_equal(rc, SO_OK);
    assert_int_equal(cfg.redis_port, 7000);
    assert_int_equal(cfg.log_level, SO_LOG_DEBUG);
    assert_string_equal(cfg.apps_domain, "env.example.com");

    /* keys not in the environment keep the file's value */
    assert_string_equal(cfg.redis_host, "redis.internal");

    so_config_free(&cfg);
}


static void
test_env_errors(void **state)
{
    int          rc;
    char         err[SO_ERRLEN];
    so_config_t  cfg;

    setenv("SHIPOFF_REDIS_PORT", "x", 1);

    rc = so_config_load(&cfg, NULL, err, sizeof(err));

    assert_int_equal(rc, SO_EINVAL);
    assert_string_equal(err, "environment SHIPOFF_REDIS_PORT: bad value "
                        "\"x\" for \"redis_port\": expected an integer "
                        "from 1 to 65535");

    unsetenv("SHIPOFF_REDIS_PORT");
    setenv("SHIPOFF_JWT_KEY", JWT_KEY, 1);

    rc = so_config_load(&cfg, NULL, err, sizeof(err));

    assert_int_equal(rc, SO_EINVAL);
    assert_string_equal(err, "environment SHIPOFF_JWT_KEY: \"jwt_key\" "
                        "belongs in the secrets file");
}


static void
test_secrets_good(void **state)
{
    int          rc;
    char         err[SO_ERRLEN] = "";
    char        *main_path, *secrets_path;
    so_config_t  cfg;

    main_path = write_secrets("# generated by shipoff init\n"
                              "jwt_key = " JWT_KEY "\n"
                              "master_key = \"" MASTER_KEY "\"\n"
                              "\n"
                              "webhook_secret=" WEBHOOK_SECRET "\n",
                              0600, &secrets_path);

    rc = so_config_load(&cfg, main_path, err, sizeof(err));

    assert_string_equal(err, "");
    assert_int_equal(rc, SO_OK);
    assert_string_equal(cfg.secrets_file, secrets_path);
    assert_string_equal(cfg.jwt_key, JWT_KEY);
    assert_string_equal(cfg.master_key, MASTER_KEY);
    assert_string_equal(cfg.webhook_secret, WEBHOOK_SECRET);

    so_config_free(&cfg);
    assert_null(cfg.jwt_key);

    /* the environment can name the secrets file too */
    setenv("SHIPOFF_SECRETS_FILE", secrets_path, 1);

    rc = so_config_load(&cfg, NULL, err, sizeof(err));

    assert_int_equal(rc, SO_OK);
    assert_string_equal(cfg.webhook_secret, WEBHOOK_SECRET);

    so_config_free(&cfg);
    free(main_path);
    free(secrets_path);
}


static void
test_secrets_errors(void **state)
{
    int          rc;
    char         err[SO_ERRLEN];
    char         expect[SO_ERRLEN + 256];
    char        *main_path, *secrets_path;
    size_t       i;
    so_config_t  cfg;

    static const struct {
        const char  *content;
        mode_t       mode;
        int          rc;
        const char  *err;           /* after "SECRETS_PATH" */
        const char  *secret;        /* must not appear in err */
    } cases[] = {
        { "jwt_key = " SECRET_63 "\n", 0600, SO_EINVAL,
          ":1: bad value for \"jwt_key\": expected 64 hex digits (32 bytes)",
          SECRET_63 },
        { "\nmaster_key = " SECRET_65 "\n", 0600, SO_EINVAL,
          ":2: bad value for \"master_key\": expected 64 hex digits "
          "(32 bytes)", SECRET_65 },
        { "webhook_secret = " SECRET_HEXLESS "\n", 0400, SO_EINVAL,
          ":1: bad value for \"webhook_secret\": expected 64 hex digits "
          "(32 bytes)", SECRET_HEXLESS },
        { "jwt_key = \"\"\n", 0600, SO_EINVAL,
          ":1: bad value for \"jwt_key\": expected 64 hex digits (32 bytes)",
          JWT_KEY },
        { "jwt_key = " JWT_KEY "\n", 0644, SO_EINVAL,
          ": the secrets file is accessible by group or others (mode 0644); "
          "chmod 600 it", JWT_KEY },
        { "jwt_key = " JWT_KEY "\n", 0640, SO_EINVAL,
          ": the secrets file is accessible by group or others (mode 0640); "
          "chmod 600 it", JWT_KEY },
        { "jwt_key = " JWT_KEY "\n", 0602, SO_EINVAL,
          ": the secrets file is accessible by group or others (mode 0602); "
          "chmod 600 it", JWT_KEY },
        { "jwt_key = " JWT_KEY "\nredis_port = 1\n", 0600, SO_EINVAL,
          ":2: \"redis_port\" does not belong in the secrets file", JWT_KEY },
        { JWT_KEY " = x\n", 0600, SO_EINVAL,
          ":1: unknown key; only jwt_key, master_key and webhook_secret "
          "belong in the secrets file", JWT_KEY },
        { JWT_KEY "\n", 0600, SO_EINVAL,
          ":1: expected \"key = value\"", JWT_KEY },
    };

    for (i = 0; i < so_nelems(cases); i++) {
        main_path = write_secrets(cases[i].content, cases[i].mode,
                                  &secrets_path);
        err[0] = '\0';

        rc = so_config_load(&cfg, main_path, err, sizeof(err));

        snprintf(expect, sizeof(expect), "%s%s", secrets_path, cases[i].err);

        so_test_label(rc != cases[i].rc, "case %zu\n", i);
        assert_int_equal(rc, cases[i].rc);
        assert_string_equal(err, expect);
        assert_null(strstr(err, cases[i].secret));
        assert_null(cfg.jwt_key);

        free(main_path);
        free(secrets_path);
    }
}


static void
test_secrets_missing(void **state)
{
    int          rc;
    char         err[SO_ERRLEN];
    so_config_t  cfg;

    setenv("SHIPOFF_SECRETS_FILE", "/nonexistent/shipoff/secrets", 1);

    rc = so_config_load(&cfg, NULL, err, sizeof(err));

    assert_int_equal(rc, SO_ERR);
    assert_string_equal(err, "cannot open /nonexistent/shipoff/secrets: "
                        "No such file or directory");
}


static char *
dump(const so_config_t *cfg)
{
    so_capture_t  cap;

    so_log_init("test", SO_LOG_INFO);

    so_capture_start(&cap);
    so_config_dump(cfg);

    return so_capture_end(&cap);
}


static void
test_dump_masks_secrets(void **state)
{
    int          rc, lines;
    char         err[SO_ERRLEN] = "";
    char        *main_path, *secrets_path, *out, *p;
    so_config_t  cfg;

    main_path = write_secrets("jwt_key = " JWT_KEY "\n"
                              "master_key = " MASTER_KEY "\n"
                              "webhook_secret = " WEBHOOK_SECRET "\n",
                              0600, &secrets_path);
    setenv("SHIPOFF_PG_DSN", "host=db user=shipoff password=hunter2", 1);

    rc = so_config_load(&cfg, main_path, err, sizeof(err));
    assert_string_equal(err, "");
    assert_int_equal(rc, SO_OK);

    out = dump(&cfg);

    assert_null(strstr(out, JWT_KEY));
    assert_null(strstr(out, MASTER_KEY));
    assert_null(strstr(out, WEBHOOK_SECRET));
    assert_null(strstr(out, "hunter2"));

    assert_non_null(strstr(out, " test["));
    assert_non_null(strstr(out, "] info: config: jwt_key = (set)\n"));
    assert_non_null(strstr(out, "config: master_key = (set)\n"));
    assert_non_null(strstr(out, "config: webhook_secret = (set)\n"));
    /* libpq's keyword order, not the one written */
    assert_non_null(strstr(out, "config: pg_dsn = user=shipoff "
                           "password=(set) host=db\n"));
    assert_non_null(strstr(out, "config: redis_port = 6379\n"));
    assert_non_null(strstr(out, "config: max_body_size = 1m\n"));
    assert_non_null(strstr(out, "config: pg_timeout = 2s\n"));
    assert_non_null(strstr(out, "config: log_level = info\n"));

    lines = 0;
    for (p = out; *p != '\0'; p++) {
        lines += *p == '\n';
    }

    assert_int_equal(lines, so_nelems(all_keys));

    free(out);
    so_config_free(&cfg);
    free(main_path);
    free(secrets_path);
}


static void
test_dump_unset(void **state)
{
    int          rc;
    char         err[SO_ERRLEN];
    char        *out;
    so_config_t  cfg;

    rc = so_config_load(&cfg, NULL, err, sizeof(err));
    assert_int_equal(rc, SO_OK);

    out = dump(&cfg);

    assert_non_null(strstr(out, "config: jwt_key = (unset)\n"));
    assert_non_null(strstr(out, "config: secrets_file = (none)\n"));
    assert_non_null(strstr(out, "config: pg_dsn = dbname=shipoff\n"));

    free(out);

    /* below info, nothing is dumped */
    so_log_set_level(SO_LOG_WARN);

    {
        so_capture_t  cap;

        so_capture_start(&cap);
        so_config_dump(&cfg);
        out = so_capture_end(&cap);
    }

    assert_string_equal(out, "");

    free(out);
    so_config_free(&cfg);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_good_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_truncated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_every_key_settable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_overrides_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_env_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_secrets_missing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dump_masks_secrets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dump_unset, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
