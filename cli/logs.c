/*
 * logs.c: shipoff logs [DEPLOYMENT] [-f] [--search Q].
 *
 * Build logs are read from GET /api/v1/deployments/{id}/logs.  The API
 * does not offer that endpoint yet: its 404 (for a deployment that does
 * exist, checked first) is said as such, never papered over.  When it
 * answers, {"data": [...]} lines are printed, each a string or an object
 * with a "line" or "message"; -f asks again every two seconds for lines
 * past the ones shown until the deployment reaches a final state.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"


static int cli_logs_latest(cli_t *cli, const char *project, json_int_t *id);
static void cli_logs_print(json_t *lines, size_t from);


static const char  cli_logs_usage[] =
    "usage: shipoff logs [DEPLOYMENT] [-f] [--search Q] [--project NAME|ID]\n"
    "           [--json]\n\n"
    "Shows a deployment's build logs (default: the project's latest\n"
    "deployment).\n\n"
    "options:\n"
    "  -f, --follow   keep printing new lines until the build ends\n"
    "  --search Q     only the lines that contain Q\n";


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
cli_logs_print(json_t *lines, size_t from)
{
    size_t       i;
    json_t      *l, *text;

    for (i = from; i < json_array_size(lines); i++) {
        l = json_array_get(lines, i);
        text = json_is_string(l) ? l : json_object_get(l, "line");
        text = text ? text : json_object_get(l, "message");

        if (json_is_string(text)) {
            printf("%s\n", json_string_value(text));
        } else {
            json_dumpf(l, stdout, JSON_COMPACT);
            putchar('\n');
        }
    }

    fflush(stdout);
}


int
cli_logs(cli_t *cli, int argc, char **argv)
{
    int           rc, n;
    char         *args[1], *q;
    char          path[160], logs[1024];
    long          status;
    size_t        shown;
    json_t       *d, *res, *lines;
    json_int_t    id;
    const char   *project = NULL, *follow = NULL, *search = NULL;
    cli_opt_t     opts[] = {
        { "project", 'p', 1, &project },
        { "follow", 'f', 0, &follow },
        { "search", 0, 1, &search },
        { NULL, 0, 0, NULL }
    };
    cli_spec_t    spec = { cli_logs_usage, 0, 1, opts };

    rc = cli_parse(cli, &spec, argc, argv, args, &n);
    if (rc != CLI_GO) {
        return rc;
    }

    id = 0;
    if (n == 1) {
        rc = cli_id_arg(&spec, args[0], "deployment", &id);
        if (rc != CLI_GO) {
            return rc;
        }
    }
    if (n == 0 && cli_logs_latest(cli, project, &id) != 0) {
        return CLI_EXIT_FAIL;
    }

    snprintf(path, sizeof(path), "/api/v1/deployments/%" JSON_INTEGER_FORMAT,
             id);

    q = search ? cli_escape(search) : NULL;
    snprintf(logs, sizeof(logs), "%s/logs%s%s", path, q ? "?search=" : "",
             q ? q : "");
    free(q);

    shown = 0;
    d = NULL;
    res = NULL;
    rc = CLI_EXIT_FAIL;

    for ( ;; ) {
        if (cli_api(cli, "GET", path, NULL, &d) != 0
            || cli_call(cli, "GET", logs, NULL, &status, &res) != 0)
        {
            goto done;
        }

        if (status == 404) {
            fprintf(stderr, "shipoff: this server does not offer build logs "
                    "yet (not_found)\n");
            goto done;
        }

        if (status != 200) {
            cli_print_error(cli, status, res);
            goto done;
        }

        if (cli->json && follow == NULL) {
            cli_print_json(res);
            break;
        }

        lines = json_object_get(res, "data");
        cli_logs_print(lines, shown);
        shown = json_array_size(lines) > shown ? json_array_size(lines)
                                               : shown;

        if (follow == NULL || cli_is_terminal(json_string_value(
                                  json_object_get(d, "state"))))
        {
            break;
        }

        json_decref(d);
        json_decref(res);
        d = NULL;
        res = NULL;
        sleep(2);
    }

    rc = CLI_EXIT_OK;

done:

    json_decref(d);
    json_decref(res);
    return rc;
}
