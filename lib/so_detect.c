/*
 * so_detect.c: framework detection (see so_detect.h and docs/DETECT.md).
 *
 * The rules are one table, in the order they are tried: a dependency
 * named in a manifest (package.json's dependencies and devDependencies,
 * requirements.txt or pyproject.toml, composer.json's require) selects a
 * row; a row gives kind, runtime and commands.  The install command
 * depends on the manifest, not the framework (npm ci with a lock file).
 * Manifests are read under a size cap and never executed.
 */

#include <ctype.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>

#include "shipoff.h"
#include "so_detect.h"


typedef enum {
    SO_DETECT_NODE,
    SO_DETECT_PYTHON,
    SO_DETECT_PHP
} so_detect_src_t;

typedef struct {
    so_detect_src_t   src;
    const char       *dep;          /* a trailing '/' matches a prefix */
    const char       *framework;
    const char       *kind;
    const char       *build_cmd;
    const char       *run_cmd;      /* NULL: npm start, or node <main> */
    const char       *output_dir;
} so_detect_rule_t;


#define SO_DETECT_FLASK                                                      \
    "python3 -m flask run --host $HOST --port $PORT"
#define SO_DETECT_UVICORN                                                    \
    "python3 -m uvicorn main:app --host $HOST --port $PORT"
#define SO_DETECT_DJANGO                                                     \
    "python3 manage.py runserver $HOST:$PORT --noreload"
#define SO_DETECT_VENV                                                       \
    "python3 -m venv --system-site-packages .venv"                           \
    " && .venv/bin/python3 -m pip install"
/* the production server, when there is one: + " <module>:<app>" */
#define SO_DETECT_GUNICORN_RUN                                               \
    "python3 -m gunicorn --bind $HOST:$PORT"
/* without php-fpm on the host: PHP's built-in server, + " <document root>" */
#define SO_DETECT_PHP_BUILTIN  "php -S $HOST:$PORT -t"

/* where a build script with no framework writes, tried in this order */
#define SO_DETECT_OUT_FIRST  "dist"
#define SO_DETECT_OUT_THEN   "build"


static const so_detect_rule_t  so_detect_rules[] = {
    { SO_DETECT_NODE, "next", "next", "dynamic", "npm run build",
      "npm start", "" },
    { SO_DETECT_NODE, "@nestjs/core", "nest", "dynamic", "npm run build",
      "node dist/main.js", "" },
    { SO_DETECT_NODE, "@angular/core", "angular", "static", "npm run build",
      "", "dist" },
    { SO_DETECT_NODE, "react-scripts", "create-react-app", "static",
      "npm run build", "", "build" },
    { SO_DETECT_NODE, "vite", "vite", "static", "npm run build", "",
      "dist" },
    { SO_DETECT_NODE, "vue", "vue", "static", "npm run build", "", "dist" },
    { SO_DETECT_NODE, "svelte", "svelte", "static", "npm run build", "",
      "public" },
    { SO_DETECT_NODE, "fastify", "fastify", "dynamic", "", NULL, "" },
    { SO_DETECT_NODE, "express", "express", "dynamic", "", NULL, "" },

    { SO_DETECT_PYTHON, "django", "django", "dynamic", "",
      SO_DETECT_DJANGO, "" },
    { SO_DETECT_PYTHON, "fastapi", "fastapi", "dynamic", "",
      SO_DETECT_UVICORN, "" },
    { SO_DETECT_PYTHON, "starlette", "starlette", "dynamic", "",
      SO_DETECT_UVICORN, "" },
    { SO_DETECT_PYTHON, "flask", "flask", "dynamic", "", SO_DETECT_FLASK,
      "" },

    /* the run command: so_detect_php_server()'s, serving public/ */
    { SO_DETECT_PHP, "laravel/framework", "laravel", "dynamic", "", "", "" },
    { SO_DETECT_PHP, "symfony/", "symfony", "dynamic", "", "", "" },
};


static char *so_detect_read(const char *dir, const char *name);
static json_t *so_detect_read_json(const char *dir, const char *name);
static const so_detect_rule_t *so_detect_match(so_detect_src_t src,
    json_t *deps, json_t *dev);
static int so_detect_exists(const char *dir, const char *name,
    mode_t type);
static int so_detect_json_has(json_t *obj, const char *dep);
static int so_detect_py_has(const char *text, const char *dep);
static void so_detect_set(char *field, size_t len, const char *value);
static int so_detect_node(so_detect_t *out, const char *dir);
static int so_detect_python(so_detect_t *out, const char *dir);
static int so_detect_php(so_detect_t *out, const char *dir);
static void so_detect_apply(so_detect_t *out, const so_detect_rule_t *rule,
    const char *runtime, const char *install);
static void so_detect_wsgi(so_detect_t *out, const char *dir,
    const char *manage, int gunicorn);
static void so_detect_php_server(so_detect_t *out, const char *root);


#define so_detect_copy(field, value)                                         \
    so_detect_set(field, sizeof(field), value)


static void
so_detect_set(char *field, size_t len, const char *value)
{
    snprintf(field, len, "%s", value);
}


/* the file's text, NUL-ended and malloc()ed; NULL: absent or too large */
static char *
so_detect_read(const char *dir, const char *name)
{
    FILE         *f;
    struct stat   st;
    char          path[PATH_MAX], *buf;
    size_t        n;

    buf = NULL;

    if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name)
        >= sizeof(path))
    {
        return NULL;
    }

    f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }

    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)
        || st.st_size > SO_DETECT_FILE_MAX)
    {
        goto done;
    }

    buf = malloc((size_t) st.st_size + 1);
    if (buf == NULL) {
        goto done;
    }

    n = fread(buf, 1, (size_t) st.st_size, f);
    buf[n] = '\0';

done:

    fclose(f);
    return buf;
}


/* the file's JSON object; NULL: absent, too large, not JSON or no object */
static json_t *
so_detect_read_json(const char *dir, const char *name)
{
    json_t  *obj;
    char    *text;

    text = so_detect_read(dir, name);
    if (text == NULL) {
        return NULL;
    }

    obj = json_loads(text, 0, NULL);
    free(text);

    if (!json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }

    return obj;
}


/* the first rule of src whose dependency deps or dev (may be NULL) has */
static const so_detect_rule_t *
so_detect_match(so_detect_src_t src, json_t *deps, json_t *dev)
{
    size_t  i;

    for (i = 0; i < so_nelems(so_detect_rules); i++) {
        if (so_detect_rules[i].src == src
            && (so_detect_json_has(deps, so_detect_rules[i].dep)
                || so_detect_json_has(dev, so_detect_rules[i].dep)))
        {
            return &so_detect_rules[i];
        }
    }

    return NULL;
}


/* dir/name is there, of that type (S_IFREG, S_IFDIR) */
static int
so_detect_exists(const char *dir, const char *name, mode_t type)
{
    struct stat  st;
    char         path[PATH_MAX];

    if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name)
        >= sizeof(path))
    {
        return 0;
    }

    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == type;
}


/* obj has the key dep, or one that starts with it when dep ends in '/' */
static int
so_detect_json_has(json_t *obj, const char *dep)
{
    const char  *key;
    json_t      *v;
    size_t       len;

    if (!json_is_object(obj)) {
        return 0;
    }

    len = strlen(dep);

    if (dep[len - 1] != '/') {
        return json_object_get(obj, dep) != NULL;
    }

    json_object_foreach(obj, key, v) {
        if (strncmp(key, dep, len) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * A requirement named dep in requirements.txt or pyproject.toml: the name
 * at the start of a line or right after a quote, followed by no other
 * name character ("flask>=2", "\"Flask[async]\"", not "flask-cors").
 */
static int
so_detect_py_has(const char *text, const char *dep)
{
    const char  *p;
    size_t       len;
    char         after;

    len = strlen(dep);

    for (p = text; (p = strcasestr(p, dep)) != NULL; p += len) {
        if (p != text && p[-1] != '\n' && p[-1] != '"' && p[-1] != '\'') {
            continue;
        }

        after = p[len];
        if (isalnum((unsigned char) after) || after == '-' || after == '_'
            || after == '.')
        {
            continue;
        }

        return 1;
    }

    return 0;
}


static void
so_detect_apply(so_detect_t *out, const so_detect_rule_t *rule,
    const char *runtime, const char *install)
{
    so_detect_copy(out->kind, rule->kind);
    so_detect_copy(out->framework, rule->framework);
    so_detect_copy(out->runtime, runtime);
    so_detect_copy(out->install_cmd, install);
    so_detect_copy(out->build_cmd, rule->build_cmd);
    so_detect_copy(out->run_cmd, rule->run_cmd != NULL ? rule->run_cmd : "");
    so_detect_copy(out->output_dir, rule->output_dir);
}


static int
so_detect_node(so_detect_t *out, const char *dir)
{
    const so_detect_rule_t  *rule;
    json_t                  *pkg, *scripts, *main;
    const char              *install;
    int                      rc;

    pkg = so_detect_read_json(dir, "package.json");
    if (pkg == NULL) {
        return SO_ENOTFOUND;
    }

    scripts = json_object_get(pkg, "scripts");
    main = json_object_get(pkg, "main");

    install = so_detect_exists(dir, "package-lock.json", S_IFREG)
              || so_detect_exists(dir, "npm-shrinkwrap.json", S_IFREG)
              ? "npm ci" : "npm install";

    rc = SO_ENOTFOUND;

    rule = so_detect_match(SO_DETECT_NODE,
                           json_object_get(pkg, "dependencies"),
                           json_object_get(pkg, "devDependencies"));
    if (rule != NULL) {
        so_detect_apply(out, rule, "node", install);
        rc = SO_OK;
    }

    /*
     * An unknown node project that says how it starts is an app; one that
     * only says how it builds is a site, built into dist/ (or build/:
     * so_detect_output).  A build script runs whenever the framework has
     * no build of its own, as on Vercel, Netlify and Heroku.
     */
    if (rc == SO_ENOTFOUND && (json_object_get(scripts, "start") != NULL
                               || json_object_get(scripts, "build") != NULL))
    {
        if (json_object_get(scripts, "start") != NULL) {
            so_detect_copy(out->kind, "dynamic");
        } else {
            so_detect_copy(out->kind, "static");
            so_detect_copy(out->output_dir, SO_DETECT_OUT_FIRST);
        }

        so_detect_copy(out->runtime, "node");
        so_detect_copy(out->install_cmd, install);
        rc = SO_OK;
    }

    if (rc == SO_OK && out->build_cmd[0] == '\0'
        && json_object_get(scripts, "build") != NULL)
    {
        so_detect_copy(out->build_cmd, "npm run build");
    }

    if (rc == SO_OK && strcmp(out->kind, "dynamic") == 0
        && out->run_cmd[0] == '\0')
    {
        if (json_object_get(scripts, "start") != NULL
            || !json_is_string(main))
        {
            so_detect_copy(out->run_cmd, "npm start");
        } else {
            snprintf(out->run_cmd, sizeof(out->run_cmd), "node %s",
                     strspn(json_string_value(main),
                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                            "WXYZ0123456789._/-")
                     == strlen(json_string_value(main))
                     ? json_string_value(main) : "index.js");
        }
    }

    json_decref(pkg);
    return rc;
}


/*
 * A Python app: a requirement in requirements.txt or pyproject.toml, or a
 * Django project as django-admin startproject makes it (manage.py and no
 * requirements: it runs on the host's Django).
 */
static int
so_detect_python(so_detect_t *out, const char *dir)
{
    const so_detect_rule_t  *rule;
    const char              *install;
    char                    *req, *pyproject, *manage;
    size_t                   i;
    int                      rc;

    req = so_detect_read(dir, "requirements.txt");
    pyproject = so_detect_read(dir, "pyproject.toml");
    manage = so_detect_read(dir, "manage.py");
    rc = SO_ENOTFOUND;

    /* a venv in the app's dir, which sees the host's packages: what the
       distribution ships is not downloaded again (PEP 668 forbids
       installing beside it), and the app runs with the venv's python3 */
    install = req != NULL ? SO_DETECT_VENV " -r requirements.txt"
              : pyproject != NULL ? SO_DETECT_VENV " ." : "";

    for (i = 0; i < so_nelems(so_detect_rules); i++) {
        rule = &so_detect_rules[i];

        if (rule->src != SO_DETECT_PYTHON) {
            continue;
        }

        if ((req != NULL && so_detect_py_has(req, rule->dep))
            || (pyproject != NULL && so_detect_py_has(pyproject, rule->dep))
            || (manage != NULL && strcmp(rule->dep, "django") == 0
                && strstr(manage, "DJANGO_SETTINGS_MODULE") != NULL))
        {
            so_detect_apply(out, rule, "python", install);
            so_detect_wsgi(out, dir, manage,
                           (req != NULL && so_detect_py_has(req, "gunicorn"))
                           || (pyproject != NULL
                               && so_detect_py_has(pyproject, "gunicorn"))
                           || so_detect_exists("/", SO_DETECT_GUNICORN,
                                               S_IFDIR));
            rc = SO_OK;
            break;
        }
    }

    free(req);
    free(pyproject);
    free(manage);
    return rc;
}


/*
 * A WSGI app (Django, Flask) runs under gunicorn when the host has it or
 * the app requires it: Django's module from manage.py's
 * DJANGO_SETTINGS_MODULE ("mysite.settings": mysite.wsgi), Flask's app
 * in app.py or wsgi.py, as `flask run` finds it.  Otherwise the
 * framework's own server, as detected.
 */
static void
so_detect_wsgi(so_detect_t *out, const char *dir, const char *manage,
    int gunicorn)
{
    const char  *p;
    char         app[128];
    size_t       n;

    app[0] = '\0';

    if (!gunicorn) {
        return;
    }

    if (strcmp(out->framework, "django") == 0 && manage != NULL) {
        /* os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'x.settings') */
        p = strstr(manage, "DJANGO_SETTINGS_MODULE");
        p = p != NULL ? strpbrk(p, ",\n") : NULL;
        p = p != NULL && *p == ',' ? strpbrk(p, "'\"\n") : NULL;
        if (p != NULL && *p != '\n') {
            p++;
            n = strspn(p, "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
            if (n > 0 && n < 64 && p[n] == '.') {
                snprintf(app, sizeof(app), "%.*s.wsgi", (int) n, p);
            }
        }

    } else if (strcmp(out->framework, "flask") == 0) {
        if (so_detect_exists(dir, "app.py", S_IFREG)) {
            snprintf(app, sizeof(app), "app:app");
        } else if (so_detect_exists(dir, "wsgi.py", S_IFREG)) {
            snprintf(app, sizeof(app), "wsgi:app");
        }
    }

    if (app[0] != '\0') {
        snprintf(out->run_cmd, sizeof(out->run_cmd), "%s %s",
                 SO_DETECT_GUNICORN_RUN, app);
    }
}


static int
so_detect_php(so_detect_t *out, const char *dir)
{
    const so_detect_rule_t  *rule;
    json_t                  *composer;

    composer = so_detect_read_json(dir, "composer.json");
    rule = so_detect_match(SO_DETECT_PHP,
                           json_object_get(composer, "require"), NULL);
    json_decref(composer);

    if (rule == NULL) {
        return SO_ENOTFOUND;
    }

    so_detect_apply(out, rule, "php", "composer install --no-dev "
                    "--no-interaction --optimize-autoloader");
    so_detect_php_server(out, "public");
    return SO_OK;
}


/*
 * A PHP app runs as a php-fpm pool of its own when the host has php-fpm
 * (shipoffd writes the pool, nginx speaks FastCGI to it), else under
 * PHP's built-in server; root is its document root.
 */
static void
so_detect_php_server(so_detect_t *out, const char *root)
{
    char  fpm[PATH_MAX];

    if (so_detect_php_fpm(fpm, sizeof(fpm)) == SO_OK) {
        snprintf(out->run_cmd, sizeof(out->run_cmd), "%s %s",
                 SO_DETECT_PHP_FPM, root);
    } else {
        snprintf(out->run_cmd, sizeof(out->run_cmd), "%s %s",
                 SO_DETECT_PHP_BUILTIN, root);
    }
}


int
so_detect_php_fpm(char *path, size_t len)
{
    glob_t  g;
    int     rc;

    /* Debian's is versioned (php-fpm8.2); the last sorts newest */
    if (glob("/usr/sbin/php-fpm[0-9]*", 0, NULL, &g) != 0) {
        return SO_ENOTFOUND;
    }

    rc = SO_ENOTFOUND;
    if (g.gl_pathc > 0
        && (size_t) snprintf(path, len, "%s", g.gl_pathv[g.gl_pathc - 1])
           < len)
    {
        rc = SO_OK;
    }

    globfree(&g);
    return rc;
}


int
so_detect_php_fpm_root(const char *run_cmd, char *root, size_t len)
{
    const char  *p, *seg;
    size_t       n;

    n = sizeof(SO_DETECT_PHP_FPM) - 1;
    if (strncmp(run_cmd, SO_DETECT_PHP_FPM " ", n + 1) != 0) {
        return SO_ENOTFOUND;
    }

    p = run_cmd + n + 1;
    n = strlen(p);
    if (n == 0 || n >= len || p[0] == '/'
        || strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._-/") != n)
    {
        return SO_EINVAL;
    }

    /* below the app's tree: no ".." segment */
    for (seg = p; seg != NULL; seg = strchr(seg, '/')) {
        seg += *seg == '/';
        if (seg[0] == '.' && seg[1] == '.'
            && (seg[2] == '/' || seg[2] == '\0'))
        {
            return SO_EINVAL;
        }
    }

    memcpy(root, p, n + 1);
    return SO_OK;
}


const char *const  so_detect_files[] = {
    "package.json", "package-lock.json", "npm-shrinkwrap.json",
    "requirements.txt", "pyproject.toml", "manage.py", "app.py", "wsgi.py",
    "composer.json", "index.php",
    "public/index.php", "index.html", NULL
};


static json_t *
so_detect_str(const char *s)
{
    return s[0] == '\0' ? json_null() : json_string(s);
}


json_t *
so_detect_json(const so_detect_t *d, int detected)
{
    return json_pack("{s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "detected", detected,
                     "kind", so_detect_str(d->kind),
                     "framework", so_detect_str(d->framework),
                     "runtime", so_detect_str(d->runtime),
                     "install_cmd", so_detect_str(d->install_cmd),
                     "build_cmd", so_detect_str(d->build_cmd),
                     "run_cmd", so_detect_str(d->run_cmd),
                     "output_dir", so_detect_str(d->output_dir));
}


int
so_detect(so_detect_t *out, const char *dir)
{
    struct stat  st;

    memset(out, 0, sizeof(*out));

    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return SO_EINVAL;
    }

    if (so_detect_node(out, dir) == SO_OK
        || so_detect_python(out, dir) == SO_OK
        || so_detect_php(out, dir) == SO_OK)
    {
        return SO_OK;
    }

    memset(out, 0, sizeof(*out));

    /* the document root is public/ when there is one (its front
       controller beside no code of its own), else the project's root */
    if (so_detect_exists(dir, "index.php", S_IFREG)
        || so_detect_exists(dir, "public/index.php", S_IFREG))
    {
        so_detect_copy(out->kind, "dynamic");
        so_detect_copy(out->framework, "php");
        so_detect_copy(out->runtime, "php");
        so_detect_php_server(out,
                             so_detect_exists(dir, "public/index.php",
                                              S_IFREG)
                             ? "public" : ".");
        return SO_OK;
    }

    if (so_detect_exists(dir, "index.html", S_IFREG)) {
        so_detect_copy(out->kind, "static");
        so_detect_copy(out->output_dir, ".");
        return SO_OK;
    }

    return SO_ENOTFOUND;
}


void
so_detect_merge(so_detect_t *out, const so_detect_t *user)
{
    if (user->kind[0] != '\0' && strcmp(user->kind, "auto") != 0) {
        so_detect_copy(out->kind, user->kind);
    }

#define so_detect_over(f)                                                    \
    if (user->f[0] != '\0') {                                                \
        so_detect_copy(out->f, user->f);                                     \
    }

    so_detect_over(framework);
    so_detect_over(runtime);
    so_detect_over(install_cmd);
    so_detect_over(build_cmd);
    so_detect_over(run_cmd);
    so_detect_over(output_dir);

#undef so_detect_over
}


void
so_detect_output(so_detect_t *d, const so_detect_t *user, const char *dir)
{
    if (user->output_dir[0] != '\0' || d->framework[0] != '\0'
        || strcmp(d->kind, "static") != 0 || strcmp(d->runtime, "node") != 0
        || strcmp(d->output_dir, SO_DETECT_OUT_FIRST) != 0)
    {
        return;
    }

    if (!so_detect_exists(dir, SO_DETECT_OUT_FIRST, S_IFDIR)
        && so_detect_exists(dir, SO_DETECT_OUT_THEN, S_IFDIR))
    {
        so_detect_copy(d->output_dir, SO_DETECT_OUT_THEN);
    }
}
