/*
 * test_detect.c: framework detection over the fixture trees of
 * tests/fixtures/detect/<case>/ (one row per framework) and of the
 * frameworks' own starters (tests/fixtures/starters), the user's
 * settings winning over it, the output dir of a build script, and the
 * name rules of projects (so_project.h).
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "shipoff.h"
#include "so_detect.h"
#include "so_project.h"
#include "so_test.h"

/* the Python install: a venv that sees the host's packages */
#define VENV                                                                 \
    "python3 -m venv --system-site-packages .venv"                           \
    " && .venv/bin/python3 -m pip install"


static void
test_detect(void **state)
{
    static const struct {
        const char  *dir;
        int          rc;
        so_detect_t  want;
    } cases[] = {
        { "next", SO_OK, { "dynamic", "next", "node", "npm ci",
          "npm run build", "npm start", "" } },
        { "vite", SO_OK, { "static", "vite", "node", "npm install",
          "npm run build", "", "dist" } },
        { "cra", SO_OK, { "static", "create-react-app", "node",
          "npm install", "npm run build", "", "build" } },
        { "vue", SO_OK, { "static", "vue", "node", "npm install",
          "npm run build", "", "dist" } },
        { "angular", SO_OK, { "static", "angular", "node", "npm install",
          "npm run build", "", "dist" } },
        { "svelte", SO_OK, { "static", "svelte", "node", "npm install",
          "npm run build", "", "public" } },
        { "express", SO_OK, { "dynamic", "express", "node", "npm install",
          "", "node server.js", "" } },
        { "fastify", SO_OK, { "dynamic", "fastify", "node", "npm install",
          "", "npm start", "" } },
        { "nest", SO_OK, { "dynamic", "nest", "node", "npm install",
          "npm run build", "node dist/main.js", "" } },
        { "node-start", SO_OK, { "dynamic", "", "node", "npm install", "",
          "npm start", "" } },
        { "django", SO_OK, { "dynamic", "django", "python",
          VENV " -r requirements.txt", "",
          "python3 manage.py runserver $HOST:$PORT --noreload", "" } },
        { "flask", SO_OK, { "dynamic", "flask", "python",
          VENV " -r requirements.txt", "",
          "python3 -m flask run --host $HOST --port $PORT", "" } },
        { "fastapi", SO_OK, { "dynamic", "fastapi", "python",
          VENV " .", "",
          "python3 -m uvicorn main:app --host $HOST --port $PORT",
          "" } },
        { "starlette", SO_OK, { "dynamic", "starlette", "python",
          VENV " -r requirements.txt", "",
          "python3 -m uvicorn main:app --host $HOST --port $PORT",
          "" } },
        /* a build script with no framework: run, and dist/ published */
        { "build-script", SO_OK, { "static", "", "node", "npm install",
          "npm run build", "", "dist" } },
        { "node-build", SO_OK, { "dynamic", "", "node", "npm install",
          "npm run build", "npm start", "" } },
        /* gunicorn required: WSGI apps run under it */
        { "flask-gunicorn", SO_OK, { "dynamic", "flask", "python",
          VENV " -r requirements.txt", "",
          "python3 -m gunicorn --bind $HOST:$PORT app:app", "" } },
        { "django-gunicorn", SO_OK, { "dynamic", "django", "python",
          VENV " -r requirements.txt", "",
          "python3 -m gunicorn --bind $HOST:$PORT shop.wsgi", "" } },
        /* the frameworks' own starters (scripts/fixtures) */
        { "../starters/vite", SO_OK, { "static", "vite", "node",
          "npm install", "npm run build", "", "dist" } },
        { "../starters/express", SO_OK, { "dynamic", "express", "node",
          "npm install", "", "npm start", "" } },
        { "static", SO_OK, { "static", "", "", "", "", "", "." } },
        { "badjson", SO_OK, { "static", "", "", "", "", "", "." } },
        { "empty", SO_ENOTFOUND, { "", "", "", "", "", "", "" } },
        { "no-such-dir", SO_EINVAL, { "", "", "", "", "", "", "" } },
    };
    so_detect_t  d;
    char         dir[512];
    size_t       i;
    int          rc;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        snprintf(dir, sizeof(dir), "tests/fixtures/detect/%s", cases[i].dir);
        rc = so_detect(&d, dir);

        so_test_label(rc != cases[i].rc
                      || memcmp(&d, &cases[i].want, sizeof(d)) != 0,
                      "case %s: rc %d kind \"%s\" framework \"%s\" install "
                      "\"%s\" build \"%s\" run \"%s\" out \"%s\"\n",
                      cases[i].dir, rc, d.kind, d.framework, d.install_cmd,
                      d.build_cmd, d.run_cmd, d.output_dir);

        assert_int_equal(rc, cases[i].rc);
        assert_string_equal(d.kind, cases[i].want.kind);
        assert_string_equal(d.framework, cases[i].want.framework);
        assert_string_equal(d.runtime, cases[i].want.runtime);
        assert_string_equal(d.install_cmd, cases[i].want.install_cmd);
        assert_string_equal(d.build_cmd, cases[i].want.build_cmd);
        assert_string_equal(d.run_cmd, cases[i].want.run_cmd);
        assert_string_equal(d.output_dir, cases[i].want.output_dir);
    }

    /* django-admin startproject's: gunicorn when the host has it */
    assert_int_equal(so_detect(&d, "tests/fixtures/starters/django"), SO_OK);
    assert_string_equal(d.framework, "django");
    assert_string_equal(d.run_cmd, access(SO_DETECT_GUNICORN, F_OK) == 0
        ? "python3 -m gunicorn --bind $HOST:$PORT mysite.wsgi"
        : "python3 manage.py runserver $HOST:$PORT --noreload");
}


/* PHP: its own php-fpm pool when the host has php-fpm, else php -S */
static void
test_detect_php(void **state)
{
    static const struct {
        const char  *dir;
        const char  *framework;
        const char  *install;
        const char  *root;
    } cases[] = {
        { "laravel", "laravel", "composer install --no-dev --no-interaction"
          " --optimize-autoloader", "public" },
        { "symfony", "symfony", "composer install --no-dev --no-interaction"
          " --optimize-autoloader", "public" },
        { "php", "php", "", "." },
        { "php-public", "php", "", "public" },
    };
    so_detect_t  d;
    char         dir[512], want[256], fpm[256];
    size_t       i;
    int          has_fpm;

    (void) state;

    has_fpm = so_detect_php_fpm(fpm, sizeof(fpm)) == SO_OK;
    assert_int_equal(has_fpm, access("/usr/sbin/php-fpm8.2", X_OK) == 0);

    for (i = 0; i < so_nelems(cases); i++) {
        snprintf(dir, sizeof(dir), "tests/fixtures/detect/%s", cases[i].dir);
        snprintf(want, sizeof(want), "%s %s",
                 has_fpm ? "php-fpm" : "php -S $HOST:$PORT -t",
                 cases[i].root);

        assert_int_equal(so_detect(&d, dir), SO_OK);
        assert_string_equal(d.kind, "dynamic");
        assert_string_equal(d.framework, cases[i].framework);
        assert_string_equal(d.runtime, "php");
        assert_string_equal(d.install_cmd, cases[i].install);
        assert_string_equal(d.run_cmd, want);
    }
}


/* which run commands are php-fpm's, and the document root they name */
static void
test_php_fpm_root(void **state)
{
    static const struct {
        const char  *cmd;
        int          rc;
        const char  *root;
    } cases[] = {
        { "php-fpm public", SO_OK, "public" },
        { "php-fpm .", SO_OK, "." },
        { "php-fpm web/public", SO_OK, "web/public" },
        { "php-fpm ..foo", SO_OK, "..foo" },
        { "php -S $HOST:$PORT -t public", SO_ENOTFOUND, "" },
        { "php-fpm8.2 -F", SO_ENOTFOUND, "" },
        { "php-fpm", SO_ENOTFOUND, "" },
        { "php-fpm ", SO_EINVAL, "" },
        { "php-fpm /srv/public", SO_EINVAL, "" },
        { "php-fpm ..", SO_EINVAL, "" },
        { "php-fpm public/../..", SO_EINVAL, "" },
        { "php-fpm public; rm -rf /", SO_EINVAL, "" },
        { "php-fpm $HOME", SO_EINVAL, "" },
    };
    char    root[64];
    size_t  i;
    int     rc;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        root[0] = '\0';
        rc = so_detect_php_fpm_root(cases[i].cmd, root, sizeof(root));
        so_test_label(rc != cases[i].rc, "case \"%s\": rc %d\n",
                      cases[i].cmd, rc);
        assert_int_equal(rc, cases[i].rc);
        assert_string_equal(root, cases[i].root);
    }
}


static void
test_merge(void **state)
{
    so_detect_t  d, user;

    (void) state;

    assert_int_equal(so_detect(&d, "tests/fixtures/detect/vite"), SO_OK);

    memset(&user, 0, sizeof(user));
    snprintf(user.kind, sizeof(user.kind), "auto");
    snprintf(user.build_cmd, sizeof(user.build_cmd), "make site");
    snprintf(user.output_dir, sizeof(user.output_dir), "out");
    so_detect_merge(&d, &user);

    assert_string_equal(d.kind, "static");          /* auto: detected */
    assert_string_equal(d.framework, "vite");       /* unset: detected */
    assert_string_equal(d.install_cmd, "npm install");
    assert_string_equal(d.build_cmd, "make site");  /* the user's */
    assert_string_equal(d.output_dir, "out");

    snprintf(user.kind, sizeof(user.kind), "dynamic");
    snprintf(user.run_cmd, sizeof(user.run_cmd), "node srv.js");
    so_detect_merge(&d, &user);
    assert_string_equal(d.kind, "dynamic");
    assert_string_equal(d.run_cmd, "node srv.js");
}


/* the output dir of a build script with no framework, once it has run */
static void
test_output(void **state)
{
    static const struct {
        const char  *dir;
        const char  *user_out;
        const char  *want;
    } cases[] = {
        { "build-out", "", "build" },       /* only build/ was made */
        { "build-both", "", "dist" },       /* dist/ first */
        { "build-script", "", "dist" },     /* neither: dist, to fail on */
        { "build-out", "site", "site" },    /* the user's */
        { "vite", "", "dist" },             /* a framework's is its own */
    };
    so_detect_t  d, user;
    char         dir[512];
    size_t       i;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        snprintf(dir, sizeof(dir), "tests/fixtures/detect/%s", cases[i].dir);
        assert_int_equal(so_detect(&d, dir), SO_OK);

        memset(&user, 0, sizeof(user));
        snprintf(user.output_dir, sizeof(user.output_dir), "%s",
                 cases[i].user_out);
        so_detect_merge(&d, &user);
        so_detect_output(&d, &user, dir);

        so_test_label(strcmp(d.output_dir, cases[i].want) != 0,
                      "case %s: out \"%s\"\n", cases[i].dir, d.output_dir);
        assert_string_equal(d.output_dir, cases[i].want);
    }
}


static void
test_project_names(void **state)
{
    static const struct {
        const char  *name;
        int          rc;
    } cases[] = {
        { "a", SO_OK }, { "blog", SO_OK }, { "my-app-2", SO_OK },
        { "0", SO_OK }, { "xn--bcher-kva", SO_OK },
        { "", SO_EINVAL }, { "-a", SO_EINVAL }, { "a-", SO_EINVAL },
        { "A", SO_EINVAL }, { "a_b", SO_EINVAL }, { "a.b", SO_EINVAL },
        { "a b", SO_EINVAL },
        /* every reserved name: bsearch finds them only if sorted */
        { "_shipoff", SO_EINVAL }, { "admin", SO_EINVAL },
        { "api", SO_EINVAL }, { "app", SO_EINVAL }, { "apps", SO_EINVAL },
        { "assets", SO_EINVAL }, { "auth", SO_EINVAL },
        { "billing", SO_EINVAL }, { "cdn", SO_EINVAL },
        { "console", SO_EINVAL }, { "dashboard", SO_EINVAL },
        { "dev", SO_EINVAL }, { "docs", SO_EINVAL }, { "ftp", SO_EINVAL },
        { "git", SO_EINVAL }, { "help", SO_EINVAL }, { "hooks", SO_EINVAL },
        { "imap", SO_EINVAL }, { "internal", SO_EINVAL },
        { "localhost", SO_EINVAL }, { "login", SO_EINVAL },
        { "mail", SO_EINVAL }, { "metrics", SO_EINVAL },
        { "ns1", SO_EINVAL }, { "ns2", SO_EINVAL }, { "pop", SO_EINVAL },
        { "root", SO_EINVAL }, { "shipoff", SO_EINVAL },
        { "smtp", SO_EINVAL }, { "ssh", SO_EINVAL },
        { "static", SO_EINVAL }, { "status", SO_EINVAL },
        { "support", SO_EINVAL }, { "webmail", SO_EINVAL },
        { "www", SO_EINVAL },
    };
    const char  *reason;
    char         long_name[70];
    size_t       i;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        so_test_label(so_project_name_check(cases[i].name, &reason)
                      != cases[i].rc, "case \"%s\"\n", cases[i].name);
        assert_int_equal(so_project_name_check(cases[i].name, &reason),
                         cases[i].rc);
    }

    memset(long_name, 'x', sizeof(long_name));
    long_name[63] = '\0';
    assert_int_equal(so_project_name_check(long_name, &reason), SO_OK);
    long_name[63] = 'x';
    long_name[64] = '\0';
    assert_int_equal(so_project_name_check(long_name, &reason), SO_EINVAL);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_detect_php),
        cmocka_unit_test(test_php_fpm_root),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_output),
        cmocka_unit_test(test_project_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
