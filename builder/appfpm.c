/*
 * appfpm.c: what an app's process runs, and the php-fpm pool of a PHP app.
 *
 * An app runs its run command through /bin/sh in its tree.  A PHP app
 * whose run command is "php-fpm <root>" (so_detect.h: the detected one
 * when the host has php-fpm) runs the host's php-fpm instead, in the
 * foreground, in the same sandbox as any app (its cgroup, network
 * namespace, uid and copy-on-write tree), with a pool of its own that
 * shipoffd writes beside its tree (<deployment>.fpm.conf, read-only
 * where the sandbox sees it, at the same path).  The pool listens on the
 * app's PORT, so the supervisor starts, probes (over FastCGI: appio.c),
 * wakes and reaps it as any other app; nginx reaches it with
 * fastcgi_pass, its route saying so (edge.c).
 *
 * The pool is what an operator of nginx + php-fpm would write for one
 * small app: on demand workers, the app's variables (secrets included)
 * left in the environment PHP reads, every error line on the app's
 * stderr (its log stream), sessions in the app's writable session dir,
 * no pid file, no user switch (it already runs as the project's uid).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_detect.h"
#include "so_fd.h"
#include "apps.h"


#define APP_FPM_CHILDREN   5       /* pm.max_children of one app */


static int app_fpm_conf(const bld_app_t *app, const char *path, char *err,
    size_t errlen);


int
bld_app_command(bld_app_cmd_t *c, const so_config_t *cfg, bld_app_t *app,
    const char *dir, const char *cmd, char *err, size_t errlen)
{
    int  n;

    memset(c, 0, sizeof(*c));

    if (!app->fastcgi) {
        if (strncmp(cmd, SO_DETECT_PHP_FPM " ", sizeof(SO_DETECT_PHP_FPM))
            == 0)
        {
            snprintf(err, errlen, "\"%s\": php-fpm's document root must be "
                     "a relative path below the app's tree", cmd);
            return SO_EINVAL;
        }

        c->argv[0] = "/bin/sh";
        c->argv[1] = "-c";
        c->argv[2] = "cd \"$1\" && eval \"$2\"";
        c->argv[3] = "sh";
        c->argv[4] = dir;
        c->argv[5] = cmd;
        return SO_OK;
    }

    if (so_detect_php_fpm(c->bin, sizeof(c->bin)) != SO_OK) {
        snprintf(err, errlen, "php-fpm is not installed on this builder "
                 "(Debian's php-fpm package)");
        return SO_EINVAL;
    }

    n = snprintf(c->conf, sizeof(c->conf), "%s/apps/%lld/%lld.fpm.conf",
                 cfg->var_dir, app->project, app->deployment);
    if (n < 0 || (size_t) n >= sizeof(c->conf)) {
        snprintf(err, errlen, "%s: path too long", cfg->var_dir);
        return SO_ERR;
    }

    if (app_fpm_conf(app, c->conf, err, errlen) != SO_OK) {
        return SO_ERR;
    }

    /* -O: php-fpm's own lines to stderr too, not only to its error_log */
    c->argv[0] = c->bin;
    c->argv[1] = "--nodaemonize";
    c->argv[2] = "--force-stderr";
    c->argv[3] = "--fpm-config";
    c->argv[4] = c->conf;
    c->ro_binds[0] = c->conf;
    c->ro_binds[1] = c->conf;
    return SO_OK;
}


/* the pool file at path, readable by the app's uid, never by a half */
static int
app_fpm_conf(const bld_app_t *app, const char *path, char *err,
    size_t errlen)
{
    FILE  *f;
    char   tmp[PATH_MAX + 8];
    int    fd, ok;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    f = fd != -1 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        so_fd_close(&fd);
        return SO_ERR;
    }

    fprintf(f,
            "; the php-fpm pool of deployment %lld (%s), written by shipoffd\n"
            "[global]\n"
            "; its lines go to stderr (php-fpm -O), the app's log stream\n"
            "error_log = /dev/null\n"
            "log_limit = 8192\n"
            "daemonize = no\n"
            "systemd_interval = 0\n"
            "\n"
            "[app]\n"
            "listen = 0.0.0.0:%d\n"
            "listen.backlog = 511\n"
            "pm = ondemand\n"
            "pm.max_children = %d\n"
            "pm.process_idle_timeout = 10s\n"
            "pm.max_requests = 1000\n"
            "; the app's variables, secrets included, reach getenv()\n"
            "clear_env = no\n"
            "catch_workers_output = yes\n"
            "decorate_workers_output = no\n"
            "chdir = %s\n"
            "php_admin_flag[log_errors] = on\n"
            "php_admin_value[error_log] = /dev/stderr\n"
            "php_value[session.save_path] = /var/lib/php/sessions\n",
            app->deployment, app->name, app->port, APP_FPM_CHILDREN,
            app->script_root);

    ok = fflush(f) == 0 && ferror(f) == 0;
    if (fclose(f) != 0) {
        ok = 0;
    }

    if (!ok || rename(tmp, path) == -1) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        (void) unlink(tmp);
        return SO_ERR;
    }

    return SO_OK;
}
