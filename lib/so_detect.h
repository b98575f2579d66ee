/*
 * so_detect.h: what a checked-out repository is, and how to build and run
 * it: the "Detect" step of DESIGN.md, shared by the API (POST
 * /api/v1/detect) and the builder.
 *
 * One pass over a few well-known files at the root of the tree (the
 * project's root_dir): package.json, requirements.txt, pyproject.toml,
 * manage.py, app.py, wsgi.py, composer.json, index.php, index.html.  The
 * first rule that matches wins; the rules and the commands they choose
 * are the table of docs/DETECT.md.
 * Commands run in the project's directory with $PORT set for the app.
 */

#ifndef SO_DETECT_H
#define SO_DETECT_H

#include <stddef.h>
#include <jansson.h>

#define SO_DETECT_FILE_MAX  (1024 * 1024)   /* a larger manifest: ignored */
#define SO_DETECT_FILES_MAX 16

/* Debian's python3-gunicorn: Python's WSGI apps run under it (DETECT.md) */
#define SO_DETECT_GUNICORN  "/usr/lib/python3/dist-packages/gunicorn"

/*
 * A PHP app's run command when the host has php-fpm: "php-fpm <document
 * root>" (relative to the app's tree) is no shell command but shipoffd's
 * php-fpm pool of the app, reached by nginx over FastCGI (DETECT.md).
 */
#define SO_DETECT_PHP_FPM   "php-fpm"

/* every path so_detect() reads under dir, NULL-ended: a detection needs
   these files of a repository, no other */
extern const char *const  so_detect_files[];

typedef struct {
    char  kind[8];                  /* "static", "dynamic"; "" unknown */
    char  framework[32];            /* "next", "flask", ...; "" none */
    char  runtime[8];               /* "node", "python", "php"; "" none */
    char  install_cmd[256];         /* "" : nothing to run */
    char  build_cmd[256];
    char  run_cmd[256];
    char  output_dir[128];          /* static: what to publish */
} so_detect_t;

/*
 * Detects the tree at dir.  0 with *out filled; SO_ENOTFOUND when nothing
 * is recognised (*out empty); SO_EINVAL when dir is not a directory.
 */
int so_detect(so_detect_t *out, const char *dir);

/*
 * The detection as the API answers it: {"detected": bool, "kind": ...,
 * each field a string or null}.  NULL when out of memory.
 */
json_t *so_detect_json(const so_detect_t *d, int detected);

/*
 * The user's settings win: every non-empty field of user replaces the
 * detected one ("auto" as a kind is empty).
 */
void so_detect_merge(so_detect_t *out, const so_detect_t *user);

/*
 * After the build: a project detected by its build script alone (no
 * framework) whose user set no output_dir publishes dist/ when the build
 * made it, else build/ when the build made that.  Others are left as they
 * are.  dir is the project's directory.
 */
void so_detect_output(so_detect_t *d, const so_detect_t *user,
    const char *dir);

/*
 * The path of the host's php-fpm binary (Debian's php-fpm8.2) into path:
 * 0, or SO_ENOTFOUND when the host has none.
 */
int so_detect_php_fpm(char *path, size_t len);

/*
 * The document root of a "php-fpm <root>" run command into root: 0;
 * SO_ENOTFOUND when run_cmd is another command; SO_EINVAL when the root
 * is not a relative path below the tree (absolute, a ".." segment, a
 * character outside [A-Za-z0-9._/-]) or longer than len.
 */
int so_detect_php_fpm_root(const char *run_cmd, char *root, size_t len);

#endif /* SO_DETECT_H */
