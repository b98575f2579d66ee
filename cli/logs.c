/*
 * logs.c: shipoff logs [DEPLOYMENT] [-f] [--app] [--search Q]
 * [--project NAME].
 *
 * History: the pages of GET /api/v1/deployments/{id}/logs (?q= with
 * --search), each resuming after the last line id of the one before.
 * --search without a deployment searches the whole project
 * (GET /api/v1/projects/{id}/logs?q=).
 *
 * -f: the live tail, GET /api/v1/deployments/{id}/logs/stream (Server-Sent
 * Events), printed as the events arrive until the "end" event.  A dropped
 * connection (or one silent past two heartbeats) is opened again with
 * Last-Event-ID, the id of the last line printed: the server resumes
 * right after it, so no line is lost or printed twice.  A server that is
 * busy (503) is asked again after its Retry-After.
 *
 * --app follows the project's running app instead, as `heroku logs
 * --tail` does: GET /api/v1/projects/{id}/logs/stream, the lines of its
 * PRODUCTION deployment (what the app prints and what the platform says
 * of it: starts, restarts, sleeps, wakes), across promotions, until
 * interrupted.
 *
 * Lines are printed as their text; --json prints each line as the API
 * gives it, one JSON object a line.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"


#define CLI_LOGS_PAGE         "1000"
#define CLI_TAIL_SILENCE_S    40L       /* two heartbeats missed */
#define CLI_TAIL_ATTEMPTS     30        /* reconnections without progress */
#define CLI_TAIL_EVENT_MAX    (1024 * 1024)

/* one -f session, across reconnections */
typedef struct {
    CURL       *curl;
    int         json;
    long        status;
    cli_buf_t   in;             /* what came and is not a whole event yet */
    char        last_id[24];    /* the last line printed */
    char        end[32];        /* the final state, once "end" came */
    int         progress;       /* lines printed by this connection */
    time_t      deadline;       /* 0: none */
} cli_tail_t;


static int cli_logs_latest(cli_t *cli, const char *project, json_int_t *id);
static void cli_logs_line(json_t *l, int json, int with_deployment);
static int cli_logs_history(cli_t *cli, const char *base, const char *q,
    int with_deployment);
static size_t cli_tail_write(char *ptr, size_t size, size_t n, void *data);
static void cli_tail_event(cli_tail_t *t, char *ev);
static int cli_tail_connect(cli_t *cli, cli_tail_t *t, const char *url,
    long *retry_after);
static int cli_logs(cli_t *cli, cli_args_t *a);


static const char  cli_logs_usage[] =
    "usage: shipoff logs [DEPLOYMENT] [-f] [--app] [--search Q]\n"
    "           [--project NAME|ID] [--json]\n\n"
    "Shows a deployment's build logs (default: the project's latest\n"
    "deployment).\n\n"
    "options:\n"
    "  -f, --follow   print new lines as they come, until the build ends\n"
    "                 (exit 1 when it ends FAILED or CANCELED)\n"
    "  --app          follow the project's running app (its production\n"
    "                 deployment's output, restarts, sleeps and wakes)\n"
    "                 until interrupted\n"
    "  --search Q     only the lines that match Q (words, \"a phrase\",\n"
    "                 -word); without DEPLOYMENT, across the project\n"
    "  --json         each line as a JSON object\n";


static const cli_opt_t  cli_logs_opts[] = {
    { "project", 'p', 1 },
    { "follow", 'f', 0 },
    { "app", 0, 0 },
    { "search", 0, 1 },
    { NULL, 0, 0 }
};

const cli_cmd_t  cli_logs_cmds[] = {
    { "logs", "show a deployment's build logs", cli_logs_usage, 0, 1,
      cli_logs_opts, NULL, cli_logs, NULL, NULL },
    { NULL }
};


static int
cli_logs_latest(cli_t *cli, const char *project, json_int_t *id)
{
    int      rc;
    char     path[160];
    json_t  *p, *res;

    if (cli_project_current(cli, project, &p) != 0) {
        return -1;
    }

    snprintf(path, sizeof(path), "/api/v1/projects/%" JSON_INTEGER_FORMAT
             "/deployments?limit=1",
             json_integer_value(json_object_get(p, "id")));

    rc = cli_api(cli, "GET", path, NULL, &res);
    if (rc == 0) {
        *id = json_integer_value(json_object_get(
                  json_array_get(json_object_get(res, "data"), 0), "id"));
        if (*id == 0) {
            fprintf(stderr, "shipoff: %s has no deployments yet\n",
                    cli_str(p, "name"));
            rc = -1;
        }
        json_decref(res);
    }

    json_decref(p);
    return rc;
}


static void
cli_logs_line(json_t *l, int json, int with_deployment)
{
    if (json) {
        json_dumpf(l, stdout, JSON_COMPACT);
        putchar('\n');
        return;
    }

    if (with_deployment) {
        printf("[%" JSON_INTEGER_FORMAT "] ",
               json_integer_value(json_object_get(l, "deployment_id")));
    }

    printf("%s\n", cli_str(l, "line"));
}


/* every page of base (".../logs"), searching q when not NULL */
static int
cli_logs_history(cli_t *cli, const char *base, const char *q,
    int with_deployment)
{
    int          rc;
    char        *eq;
    char         path[1024];
    size_t       i;
    json_t      *res, *lines, *next;
    json_int_t   since;

    eq = NULL;
    res = NULL;
    rc = -1;
    since = 0;

    if (q != NULL) {
        eq = cli_escape(q);
        if (eq == NULL) {
            fprintf(stderr, "shipoff: out of memory\n");
            goto done;
        }
    }

    for ( ;; ) {
        snprintf(path, sizeof(path), "%s?limit=" CLI_LOGS_PAGE "&since=%"
                 JSON_INTEGER_FORMAT "%s%s", base, since, eq ? "&q=" : "",
                 eq ? eq : "");

        if (cli_api(cli, "GET", path, NULL, &res) != 0) {
            goto done;
        }

        lines = json_object_get(res, "data");
        for (i = 0; i < json_array_size(lines); i++) {
            cli_logs_line(json_array_get(lines, i), cli->json,
                          with_deployment);
        }

        next = json_object_get(res, "next");
        if (!json_is_integer(next)) {
            break;
        }

        since = json_integer_value(next);
        json_decref(res);
        res = NULL;
    }

    fflush(stdout);
    rc = 0;

done:

    free(eq);
    json_decref(res);
    return rc;
}


/* one event's text (its lines, without the blank line that ended it) */
static void
cli_tail_event(cli_tail_t *t, char *ev)
{
    char        *line, *next, *id, *event, *data;
    json_t      *v;
    const char  *state;

    id = event = data = NULL;

    for (line = ev; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }

        if (strncmp(line, "id: ", 4) == 0) {
            id = line + 4;
        } else if (strncmp(line, "event: ", 7) == 0) {
            event = line + 7;
        } else if (strncmp(line, "data: ", 6) == 0) {
            data = line + 6;
        }
    }

    if (data == NULL) {
        return;                     /* a heartbeat, a retry: */
    }

    v = json_loads(data, 0, NULL);

    if (event != NULL && strcmp(event, "end") == 0) {
        state = json_string_value(json_object_get(v, "state"));
        snprintf(t->end, sizeof(t->end), "%s", state ? state : "?");

    } else if (event == NULL && json_is_object(v)) {
        cli_logs_line(v, t->json, 0);
        fflush(stdout);
        if (id != NULL) {
            snprintf(t->last_id, sizeof(t->last_id), "%s", id);
        }
        t->progress++;
    }

    json_decref(v);
}


static size_t
cli_tail_write(char *ptr, size_t size, size_t n, void *data)
{
    cli_tail_t  *t = data;
    char        *sep;
    size_t       used;

    size *= n;

    if (t->status == 0) {
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
    }

    if (cli_buf_add(&t->in, ptr, size, CLI_TAIL_EVENT_MAX) != 0) {
        return 0;
    }

    if (t->status != 200) {
        return size;                /* an error: its JSON body, read whole */
    }

    used = 0;
    while ((sep = strstr(t->in.data + used, "\n\n")) != NULL) {
        *sep = '\0';
        cli_tail_event(t, t->in.data + used);
        used = (size_t) (sep - t->in.data) + 2;
    }

    memmove(t->in.data, t->in.data + used, t->in.len - used + 1);
    t->in.len -= used;
    return size;
}


/*
 * One connection to the stream.  0: "end" came (t->end); 1: try again in
 * *retry_after seconds (the stream dropped, the server is busy or out of
 * reach); SO_EDENIED: the credential was refused; -1: the server said no
 * (printed).
 */
static int
cli_tail_connect(cli_t *cli, cli_tail_t *t, const char *url,
    long *retry_after)
{
    int                 rc;
    const char         *token;
    char                hdr[4096];
    json_t             *err;
    curl_off_t          wait;
    struct curl_slist  *hdrs, *h;

    rc = -1;
    hdrs = NULL;
    t->status = 0;
    t->in.len = 0;
    t->progress = 0;
    *retry_after = 1;

    t->curl = curl_easy_init();
    if (t->curl == NULL) {
        fprintf(stderr, "shipoff: cannot initialise libcurl\n");
        return -1;
    }

    h = curl_slist_append(hdrs, "Accept: text/event-stream");
    hdrs = h != NULL ? h : hdrs;

    token = cli_token(cli);
    if (h != NULL && token != NULL) {
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
        h = curl_slist_append(hdrs, hdr);
        hdrs = h != NULL ? h : hdrs;
    }

    if (h != NULL && t->last_id[0] != '\0') {
        snprintf(hdr, sizeof(hdr), "Last-Event-ID: %s", t->last_id);
        h = curl_slist_append(hdrs, hdr);
        hdrs = h != NULL ? h : hdrs;
    }

    if (h == NULL) {
        fprintf(stderr, "shipoff: out of memory\n");
        goto done;
    }

    curl_easy_setopt(t->curl, CURLOPT_URL, url);
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, cli_tail_write);
    curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(t->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(t->curl, CURLOPT_LOW_SPEED_TIME, CLI_TAIL_SILENCE_S);
    curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->curl, CURLOPT_USERAGENT, "shipoff/" SHIPOFF_VERSION);

    if (t->deadline != 0) {
        wait = t->deadline - time(NULL);
        curl_easy_setopt(t->curl, CURLOPT_TIMEOUT, wait > 1 ? (long) wait : 1L);
    }

    (void) curl_easy_perform(t->curl);
    if (t->status == 0) {
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
    }

    if (t->end[0] != '\0') {
        rc = 0;
        goto done;
    }

    /* dropped, never answered, or a proxy in between that is down */
    if (t->status == 200 || t->status == 0 || t->status == 502
        || t->status == 504)
    {
        rc = 1;
        goto done;
    }

    err = json_loadb(t->in.data ? t->in.data : "", t->in.len, 0, NULL);

    if (t->status == 503) {
        if (curl_easy_getinfo(t->curl, CURLINFO_RETRY_AFTER, &wait)
            == CURLE_OK && wait > 0 && wait < 60)
        {
            *retry_after = (long) wait;
        }
        rc = 1;

    } else if (t->status == 401) {
        rc = SO_EDENIED;

    } else {
        cli_print_error(cli, t->status, err);
    }

    json_decref(err);

done:

    curl_slist_free_all(hdrs);
    curl_easy_cleanup(t->curl);
    t->curl = NULL;
    return rc;
}


int
cli_logs_follow(cli_t *cli, json_int_t id, int json, time_t deadline,
    unsigned flags)
{
    cli_tail_t   t;
    char         url[2048], path[160];
    long         retry_after;
    int          rc, failures, check;
    json_t      *d;
    const char  *kind;

    memset(&t, 0, sizeof(t));
    t.json = json;
    t.deadline = deadline;
    check = 1;
    kind = (flags & CLI_FOLLOW_PROJECT) ? "project" : "deployment";

    snprintf(path, sizeof(path), "/api/v1/%ss/%" JSON_INTEGER_FORMAT, kind,
             id);
    snprintf(url, sizeof(url), "%s%s/logs/stream", cli->api, path);

    for (failures = 0; failures < CLI_TAIL_ATTEMPTS; failures++) {
        /* an ordinary request first: it says what is wrong plainly and
           refreshes a session whose access token expired */
        if (check) {
            if (cli_api(cli, "GET", path, NULL, &d) != 0) {
                rc = CLI_EXIT_FAIL;
                goto done;
            }
            json_decref(d);
        }

        rc = cli_tail_connect(cli, &t, url, &retry_after);

        if (rc == 0) {
            if (flags & CLI_FOLLOW_ANNOUNCE) {
                fprintf(stderr, "shipoff: %s %" JSON_INTEGER_FORMAT
                        " ended %s\n", kind, id, t.end);
            }
            rc = strcmp(t.end, "FAILED") == 0
                 || strcmp(t.end, "CANCELED") == 0
                 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
            goto done;
        }

        if (rc == -1 || (rc == SO_EDENIED && check)) {
            if (rc == SO_EDENIED) {
                fprintf(stderr, "shipoff: the log stream refused the "
                        "credentials (unauthorized)\n");
            }
            rc = CLI_EXIT_FAIL;
            goto done;
        }

        check = rc == SO_EDENIED;

        if (deadline != 0 && time(NULL) >= deadline) {
            rc = CLI_EXIT_USAGE;
            goto done;
        }

        if (flags & CLI_FOLLOW_ONCE) {
            rc = CLI_EXIT_FAIL;
            goto done;
        }

        if (t.progress > 0) {
            failures = 0;
        }

        sleep((unsigned) retry_after);
    }

    fprintf(stderr, "shipoff: the log stream of %s %" JSON_INTEGER_FORMAT
            " keeps failing; giving up\n", kind, id);
    rc = CLI_EXIT_FAIL;

done:

    free(t.in.data);
    return rc;
}


static int
cli_logs(cli_t *cli, cli_args_t *a)
{
    int           rc;
    char          path[160];
    json_int_t    id;
    const char   *project, *follow, *search, *app;

    project = cli_opt(a, "project");
    follow = cli_opt(a, "follow");
    search = cli_opt(a, "search");
    app = cli_opt(a, "app");

    if (follow != NULL && search != NULL) {
        return cli_usage_error(cli_logs_usage, "-f and --search do not go "
                               "together: a search reads the history");
    }

    if (app != NULL && (search != NULL || a->nargs == 1)) {
        return cli_usage_error(cli_logs_usage, "--app follows the running "
                               "app: no DEPLOYMENT, no --search");
    }

    if (app != NULL) {
        id = cli_project_id(cli, project);
        if (id < 0) {
            return CLI_EXIT_FAIL;
        }

        return cli_logs_follow(cli, id, cli->json, 0,
                               CLI_FOLLOW_PROJECT
                               | (cli->json ? 0 : CLI_FOLLOW_ANNOUNCE));
    }

    id = 0;
    if (a->nargs == 1) {
        rc = cli_id_arg(cli_logs_usage, a->args[0], "deployment", &id);
        if (rc != CLI_GO) {
            return rc;
        }
    }

    if (a->nargs == 0 && search != NULL) {
        id = cli_project_id(cli, project);
        if (id < 0) {
            return CLI_EXIT_FAIL;
        }
        snprintf(path, sizeof(path), "/api/v1/projects/%" JSON_INTEGER_FORMAT
                 "/logs", id);

        return cli_logs_history(cli, path, search, 1) == 0 ? CLI_EXIT_OK
                                                           : CLI_EXIT_FAIL;
    }

    if (a->nargs == 0 && cli_logs_latest(cli, project, &id) != 0) {
        return CLI_EXIT_FAIL;
    }

    if (follow != NULL) {
        return cli_logs_follow(cli, id, cli->json, 0,
                               cli->json ? 0 : CLI_FOLLOW_ANNOUNCE);
    }

    snprintf(path, sizeof(path), "/api/v1/deployments/%" JSON_INTEGER_FORMAT
             "/logs", id);

    return cli_logs_history(cli, path, search, 0) == 0 ? CLI_EXIT_OK
                                                       : CLI_EXIT_FAIL;
}
