/*
 * appio.c: what passes between the supervisor (apps.c) and one app's
 * process, none of it blocking the loop:
 *
 *   - the port it is given: any of [app_port_min, app_port_max], since
 *     each app listens in a network namespace of its own (netns.c) where
 *     no other app can hold it;
 *   - its output: two append-only files beside its tree, which it writes
 *     and the loop reads from where it stopped (a file, unlike a pipe,
 *     survives shipoffd: the app never gets SIGPIPE), line by line into
 *     the deployment's log, emptied once read past APP_OUT_MAX;
 *   - its health check: a non-blocking connect to ADDRESS:PORT, then
 *     "GET health_path HTTP/1.0"; the first five bytes of any answer
 *     being "HTTP/" is enough (a 404 or a 500 is an app that listens).
 *     A php-fpm app (appfpm.c) speaks FastCGI, not HTTP: it is asked
 *     FCGI_GET_VALUES, the spec's own question to an application, which
 *     a php-fpm worker answers (FCGI_GET_VALUES_RESULT) without running
 *     a script, so health_path is not used for it.  Either way it passes
 *     once the socket listening on PORT in the app's network namespace
 *     (/proc/PID/net/tcp) is shown held by a process of the app's cgroup:
 *     whatever else answers there does not pass;
 *   - signals: to every process of its cgroup.
 */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_fd.h"
#include "so_log.h"
#include "apps.h"
#include "worker.h"


#define APP_PROBE_MS       5       /* between two health checks */
#define APP_PROBE_WAIT_MS  2000    /* one check answered by then, or again */
#define APP_OUT_MAX        (4 << 20)    /* an output file is emptied then */
#define APP_LISTENERS_MAX  16      /* sockets listening on one port */

/*
 * FastCGI's FCGI_GET_VALUES record asking for FCGI_MPXS_CONNS: version 1,
 * type 9, request id 0, 17 bytes of content (a name of 15, a value of 0)
 */
static const char  app_fcgi_probe[] =
    "\x01\x09\x00\x00\x00\x11\x00\x00" "\x0f\x00" "FCGI_MPXS_CONNS";

/* the answer's first bytes: version 1, FCGI_GET_VALUES_RESULT */
static const char  app_fcgi_answer[] = "\x01\x0a";

/* app->out[i]'s: its file's extension and its log stream */
static const char *const  app_streams[2] = { "stdout", "stderr" };


static size_t app_listeners(pid_t pid, int port, unsigned long *inode,
    size_t max);
static int app_listener_ours(bld_app_t *app);


int
bld_app_port(const so_config_t *cfg)
{
    int  span;

    span = cfg->app_port_max - cfg->app_port_min + 1;
    if (span <= 0) {
        return -1;
    }

    return cfg->app_port_min + (int) (random() % span);
}


/* the read ends from their end: what an earlier life printed was read
   then, or printed while no shipoffd ran, and stays in the file */
int
bld_app_outputs(const so_config_t *cfg, bld_app_t *app, int *wfd)
{
    char  path[PATH_MAX];
    int   i;

    for (i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/apps/%lld/%lld.%s",
                 cfg->var_dir, app->project, app->deployment, app_streams[i]);

        if (wfd != NULL) {
            wfd[i] = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                          0600);
            if (wfd[i] == -1) {
                goto failed;
            }
        }

        if (app->out[i] == -1) {
            app->out[i] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
            if (app->out[i] == -1) {
                goto failed;
            }
            (void) lseek(app->out[i], 0, SEEK_END);
        }
    }

    return SO_OK;

failed:

    so_log_error("apps", "deployment=%lld: %s: %s", app->deployment, path,
                 strerror(errno));
    return SO_ERR;
}


void
bld_app_tail(bld_app_t *app)
{
    char     buf[16384], *p, *nl, *end;
    ssize_t  n;
    off_t    at;
    size_t   take;
    int      i, rounds;

    for (i = 0; i < 2; i++) {
        if (app->out[i] == -1 || app->log == NULL) {
            continue;
        }

        if (app->part[i] == NULL) {
            app->part[i] = malloc(BLD_LOG_LINE_MAX);
            if (app->part[i] == NULL) {
                continue;
            }
        }

        for (rounds = 0, n = 1; rounds < 8; rounds++) {
            n = read(app->out[i], buf, sizeof(buf));
            if (n <= 0) {
                break;
            }

            p = buf;
            end = buf + n;

            while (p < end) {
                nl = memchr(p, '\n', (size_t) (end - p));
                take = (size_t) ((nl != NULL ? nl : end) - p);

                if (app->plen[i] + take > BLD_LOG_LINE_MAX) {
                    take = BLD_LOG_LINE_MAX - app->plen[i];
                    nl = NULL;
                }

                memcpy(app->part[i] + app->plen[i], p, take);
                app->plen[i] += take;
                p += take;

                if (nl != NULL || app->plen[i] == BLD_LOG_LINE_MAX) {
                    bld_log_line(app->log, app_streams[i], app->part[i],
                                 app->plen[i]);
                    app->plen[i] = 0;
                    if (nl != NULL) {
                        p++;
                    }
                }
            }
        }

        /* all read: a long-lived app's file starts over (O_APPEND) */
        at = lseek(app->out[i], 0, SEEK_CUR);
        if (n == 0 && at > APP_OUT_MAX && ftruncate(app->out[i], 0) == 0) {
            (void) lseek(app->out[i], 0, SEEK_SET);
        }
    }
}


void
bld_app_probe_reset(bld_app_t *app, int64_t now)
{
    so_fd_close(&app->probe_fd);
    app->next_probe = now + APP_PROBE_MS;
}


/* the inodes of the TCP sockets listening on port in pid's namespace */
static size_t
app_listeners(pid_t pid, int port, unsigned long *inode, size_t max)
{
    static const char  *files[] = { "tcp", "tcp6" };
    FILE               *f;
    char                path[64], line[512];
    unsigned long       ino;
    unsigned            lport, st;
    size_t              n, i;

    n = 0;

    for (i = 0; i < so_nelems(files); i++) {
        snprintf(path, sizeof(path), "/proc/%ld/net/%s", (long) pid,
                 files[i]);
        f = fopen(path, "re");
        if (f == NULL) {
            continue;
        }

        /* sl: local rem st tx:rx tr:when retrnsmt uid timeout inode */
        while (fgets(line, sizeof(line), f) != NULL) {
            if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x"
                       " %*x:%*x %*x:%*x %*x %*u %*u %lu",
                       &lport, &st, &ino) == 3
                && st == 0x0a && (int) lport == port && n < max)
            {
                inode[n++] = ino;
            }
        }

        fclose(f);
    }

    return n;
}


/* 1 when what listens on the app's port is held by a process of its
   cgroup */
static int
app_listener_ours(bld_app_t *app)
{
    struct dirent  *de;
    FILE           *procs;
    DIR            *d;
    char            path[PATH_MAX], link[64];
    unsigned long   inode[APP_LISTENERS_MAX], ino;
    ssize_t         len;
    size_t          i, n;
    long            pid;
    int             held;

    n = app_listeners(app->pid, app->port, inode, APP_LISTENERS_MAX);

    snprintf(path, sizeof(path), "%s/cgroup.procs", bld_cgroup_path(&app->cg));
    procs = n > 0 ? fopen(path, "re") : NULL;
    held = 0;

    while (procs != NULL && !held && fscanf(procs, "%ld", &pid) == 1) {
        snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
        d = opendir(path);
        if (d == NULL) {
            continue;
        }

        while (!held && (de = readdir(d)) != NULL) {
            snprintf(path, sizeof(path), "/proc/%ld/fd/%s", pid, de->d_name);
            len = readlink(path, link, sizeof(link) - 1);
            if (len <= 0) {
                continue;
            }
            link[len] = '\0';

            if (sscanf(link, "socket:[%lu]", &ino) != 1) {
                continue;
            }
            for (i = 0; i < n && !held; i++) {
                held = inode[i] == ino;
            }
        }

        closedir(d);
    }

    if (procs != NULL) {
        fclose(procs);
    }

    if (!held && !app->probe_foreign) {
        app->probe_foreign = 1;
        bld_log_sys(app->log, "port %d answers, but not from a process of "
                    "the app: not taken for the app", app->port);
    }

    return held;
}


int
bld_app_probe(bld_app_t *app, int64_t now)
{
    struct sockaddr_in  sin;
    struct pollfd       p;
    socklen_t           len;
    const char         *want;
    char                req[512], buf[16];
    ssize_t             n, wlen;
    int                 err;

    want = app->fastcgi ? app_fcgi_answer : "HTTP/";
    wlen = (ssize_t) strlen(want);

    if (app->probe_fd == -1) {
        if (now < app->next_probe) {
            return 0;
        }

        app->probe_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK
                                        | SOCK_CLOEXEC, 0);
        if (app->probe_fd == -1) {
            goto reset;
        }

        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t) app->port);
        if (inet_pton(AF_INET, app->addr, &sin.sin_addr) != 1
            || (connect(app->probe_fd, (struct sockaddr *) &sin, sizeof(sin))
                == -1 && errno != EINPROGRESS))
        {
            goto reset;
        }

        app->probe_sent = 0;
        app->next_probe = now + APP_PROBE_WAIT_MS;
    }

    if (!app->probe_sent) {
        p.fd = app->probe_fd;
        p.events = POLLOUT;
        p.revents = 0;
        if (poll(&p, 1, 0) != 1) {
            goto wait;
        }

        err = 0;
        len = sizeof(err);
        if (getsockopt(app->probe_fd, SOL_SOCKET, SO_ERROR, &err, &len)
            == -1 || err != 0)
        {
            goto reset;
        }

        if (app->fastcgi) {
            n = (ssize_t) sizeof(app_fcgi_probe) - 1;
            memcpy(req, app_fcgi_probe, (size_t) n);
        } else {
            n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: "
                         "localhost\r\nUser-Agent: shipoffd-health\r\n\r\n",
                         app->health);
        }
        if (send(app->probe_fd, req, (size_t) n, MSG_NOSIGNAL) != n) {
            goto reset;
        }

        app->probe_sent = 1;
    }

    n = recv(app->probe_fd, buf, (size_t) wlen, 0);
    if (n == wlen && memcmp(buf, want, (size_t) wlen) == 0) {
        if (!app_listener_ours(app)) {
            goto reset;
        }
        so_fd_close(&app->probe_fd);
        return 1;
    }

    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        goto wait;
    }

reset:

    bld_app_probe_reset(app, now);
    return 0;

wait:

    /* connected but silent for too long: try a new connection */
    if (now >= app->next_probe) {
        bld_app_probe_reset(app, now);
    }

    return 0;
}
