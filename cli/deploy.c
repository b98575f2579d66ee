/*
 * deploy.c: shipoff deploy, deployments, rollback, cancel.
 *
 * deploy queues a manual deployment of the current git branch (read from
 * .git/HEAD, no libgit2) unless --branch says otherwise; --wait polls the
 * deployment every second, printing each state it reaches, until a final
 * one: exit 0 for PRODUCTION, 1 for FAILED or CANCELED, 2 when --timeout
 * runs out first (the build goes on on the server).  rollback promotes a
 * kept INACTIVE build back to PRODUCTION without rebuilding it.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"


#define CLI_DEFAULT_TIMEOUT  "1800"


static int cli_git_head(char *branch, size_t blen, char *commit,
    size_t clen);
static int cli_wait(cli_t *cli, json_int_t id, long timeout, int follow);
static int cli_deployment_action(cli_t *cli, json_int_t id,
    const char *action, json_t **out);
static int cli_deploy(cli_t *cli, cli_args_t *a);
static int cli_deployments(cli_t *cli, cli_args_t *a);
static int cli_rollback(cli_t *cli, cli_args_t *a);
static int cli_cancel(cli_t *cli, cli_args_t *a);


static const char  cli_deploy_usage[] =
    "usage: shipoff deploy [--project NAME|ID] [--branch BRANCH]\n"
    "           [--commit SHA] [--wait [--timeout SECONDS]] [--json]\n\n"
    "Queues a deployment of the current git branch (or the project's\n"
    "branch outside a git checkout).  With --wait, follows it until it is\n"
    "live (exit 0), failed or canceled (exit 1), or --timeout runs out\n"
    "(exit 2; default " CLI_DEFAULT_TIMEOUT " s).\n\n"
    "options:\n"
    "  --project NAME|ID   the project (default: .shipoff.json)\n"
    "  --branch BRANCH     the branch to deploy\n"
    "  --commit SHA        a full 40-digit commit of that branch\n"
    "  --wait              follow the build to its end\n"
    "  --timeout SECONDS   how long --wait waits\n";

static const char  cli_deployments_usage[] =
    "usage: shipoff deployments [--project NAME|ID] [--limit N] [--json]\n\n"
    "Lists the project's deployments, newest first (default 20).\n";

static const char  cli_rollback_usage[] =
    "usage: shipoff rollback [DEPLOYMENT] [--project NAME|ID] [--json]\n\n"
    "Puts a previous deployment back in production, without a rebuild.\n"
    "Without DEPLOYMENT, the most recent inactive deployment of the\n"
    "project whose build is still kept.\n";

static const char  cli_cancel_usage[] =
    "usage: shipoff cancel DEPLOYMENT [--json]\n\n"
    "Cancels a queued or running build.\n";

static const cli_col_t  cli_deployment_cols[] = {
    { "ID", "id" },
    { "STATE", "state" },
    { "BRANCH", "branch" },
    { "COMMIT", "commit" },
    { "TRIGGER", "trigger" },
    { "REASON", "reason" },
    { "CREATED", "created_at" },
};


static const cli_opt_t  cli_deploy_opts[] = {
    { "project", 'p', 1 },
    { "branch", 'b', 1 },
    { "commit", 0, 1 },
    { "wait", 'w', 0 },
    { "timeout", 0, 1 },
    { NULL, 0, 0 }
};

static const cli_opt_t  cli_deployments_opts[] = {
    { "project", 'p', 1 },
    { "limit", 'n', 1 },
    { NULL, 0, 0 }
};

const cli_cmd_t  cli_deploy_cmds[] = {
    { "deploy", "deploy the current branch", cli_deploy_usage, 0, 0,
      cli_deploy_opts, NULL, cli_deploy, NULL, NULL },
    { "deployments", "list the project's deployments", cli_deployments_usage,
      0, 0, cli_deployments_opts, NULL, cli_deployments, NULL, NULL },
    { "rollback", "put a previous deployment back live", cli_rollback_usage,
      0, 1, cli_project_opts, "deployment", cli_rollback, NULL, NULL },
    { "cancel", "cancel a queued or running build", cli_cancel_usage, 1, 1,
      NULL, "deployment", cli_cancel, NULL, NULL },
    { NULL }
};


int
cli_is_terminal(const char *state)
{
    static const char  *final[] = {
        "PRODUCTION", "FAILED", "CANCELED", "INACTIVE"
    };
    size_t  i;

    for (i = 0; state != NULL && i < so_nelems(final); i++) {
        if (strcmp(state, final[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


/* reads the HEAD of the git checkout around the current directory */
static int
cli_git_head(char *branch, size_t blen, char *commit, size_t clen)
{
    int     rc;
    char    dir[PATH_MAX], file[PATH_MAX + 16], line[1024], *slash, *nl;
    FILE   *f;

    branch[0] = '\0';
    commit[0] = '\0';
    rc = -1;
    f = NULL;

    if (getcwd(dir, sizeof(dir)) == NULL) {
        return -1;
    }

    for ( ;; ) {
        snprintf(file, sizeof(file), "%s/.git/HEAD", dir);
        if (access(file, R_OK) == 0) {
            break;
        }

        /* a worktree or submodule: .git is a file naming the git dir */
        snprintf(file, sizeof(file), "%s/.git", dir);
        f = fopen(file, "r");
        if (f != NULL) {
            if (fgets(line, sizeof(line), f) != NULL
                && strncmp(line, "gitdir: ", 8) == 0)
            {
                line[strcspn(line, "\r\n")] = '\0';
                fclose(f);
                f = NULL;
                if (snprintf(file, sizeof(file), "%s%s%s/HEAD",
                             line[8] == '/' ? "" : dir,
                             line[8] == '/' ? "" : "/", line + 8)
                    >= (int) sizeof(file))
                {
                    return -1;
                }
                break;
            }
            fclose(f);
            f = NULL;
        }

        slash = strrchr(dir, '/');
        if (slash == NULL || slash == dir) {
            return -1;
        }
        *slash = '\0';
    }

    f = fopen(file, "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
        goto done;
    }

    nl = line + strcspn(line, "\r\n");
    *nl = '\0';

    if (strncmp(line, "ref: refs/heads/", 16) == 0) {
        if (strlen(line + 16) < blen) {
            memcpy(branch, line + 16, strlen(line + 16) + 1);
            rc = 0;
        }

    } else if (strlen(line) == 40
               && strspn(line, "0123456789abcdef") == 40)
    {
        snprintf(commit, clen, "%s", line);
        rc = 0;
    }

done:

    if (f != NULL) {
        fclose(f);
    }
    return rc;
}


/*
 * Polls a deployment until a final state: the exit code of deploy --wait.
 * follow: once its first state is shown, print the build's log as it
 * happens (until the build ends or the timeout), then poll on.
 */
static int
cli_wait(cli_t *cli, json_int_t id, long timeout, int follow)
{
    int          rc, tty;
    char         path[128], last[32];
    long         waited;
    time_t       start;
    json_t      *d;
    const char  *state, *reason;
    static const char  spin[] = "|/-\\";

    snprintf(path, sizeof(path), "/api/v1/deployments/%" JSON_INTEGER_FORMAT,
             id);
    tty = isatty(STDERR_FILENO);
    start = time(NULL);
    last[0] = '\0';
    d = NULL;

    for ( ;; ) {
        if (cli_api(cli, "GET", path, NULL, &d) != 0) {
            rc = CLI_EXIT_FAIL;
            goto done;
        }

        state = json_string_value(json_object_get(d, "state"));
        reason = json_string_value(json_object_get(d, "reason"));
        waited = (long) (time(NULL) - start);

        if (state != NULL && strcmp(state, last) != 0) {
            fprintf(stderr, "%s[%3lds] %s%s%s\n", tty ? "\r\033[K" : "",
                    waited, state, reason ? ": " : "", reason ? reason : "");
            snprintf(last, sizeof(last), "%s", state);
        }

        if (cli_is_terminal(state)) {
            break;
        }

        if (waited >= timeout) {
            if (tty) {
                fputs("\r\033[K", stderr);
            }
            fprintf(stderr, "shipoff: deployment %" JSON_INTEGER_FORMAT
                    " is still %s after %ld s; it goes on on the server "
                    "(see shipoff deployments)\n", id, last, timeout);
            rc = CLI_EXIT_USAGE;
            goto done;
        }

        json_decref(d);
        d = NULL;

        if (follow) {
            follow = 0;
            (void) cli_logs_follow(cli, id, 0, start + timeout,
                                   CLI_FOLLOW_ONCE);
            continue;
        }

        if (tty) {
            fprintf(stderr, "\r\033[K%c %s for %ld s", spin[waited % 4],
                    last, waited);
        }

        sleep(1);
    }

    if (cli->json) {
        cli_print_json(d);
    }

    if (strcmp(state, "PRODUCTION") == 0) {
        if (!cli->json) {
            printf("Deployment %" JSON_INTEGER_FORMAT " is live.\n", id);
        }
        rc = CLI_EXIT_OK;

    } else {
        fprintf(stderr, "shipoff: deployment %" JSON_INTEGER_FORMAT
                " ended %s%s%s\n", id, state, reason ? ": " : "",
                reason ? reason : "");
        rc = CLI_EXIT_FAIL;
    }

done:

    json_decref(d);
    return rc;
}


static int
cli_deploy(cli_t *cli, cli_args_t *a)
{
    int           rc;
    char          path[128], branch[256], commit[41], *end;
    long          timeout;
    json_t       *p, *body, *res;
    json_int_t    id;
    const char   *branch_opt, *commit_opt, *wait, *timeout_opt;

    branch_opt = cli_opt(a, "branch");
    commit_opt = cli_opt(a, "commit");
    wait = cli_opt(a, "wait");
    timeout_opt = cli_opt(a, "timeout");

    timeout_opt = timeout_opt ? timeout_opt : CLI_DEFAULT_TIMEOUT;
    timeout = strtol(timeout_opt, &end, 10);
    if (!cli_is_id(timeout_opt) || *end != '\0') {
        return cli_usage_error(a->cmd->usage, "--timeout takes seconds");
    }

    if (cli_project_current(cli, cli_opt(a, "project"), &p) != 0) {
        return CLI_EXIT_FAIL;
    }

    rc = CLI_EXIT_FAIL;
    res = NULL;
    body = json_object();
    if (body == NULL) {
        goto done;
    }

    if (branch_opt == NULL && commit_opt == NULL) {
        cli_git_head(branch, sizeof(branch), commit, sizeof(commit));
        branch_opt = branch[0] ? branch : NULL;
        commit_opt = commit[0] ? commit : NULL;
    }

    if ((branch_opt && json_object_set_new(body, "branch",
                                           json_string(branch_opt)) != 0)
        || (commit_opt && json_object_set_new(body, "commit",
                                              json_string(commit_opt)) != 0))
    {
        fprintf(stderr, "shipoff: the branch is not valid UTF-8\n");
        goto done;
    }

    snprintf(path, sizeof(path),
             "/api/v1/projects/%" JSON_INTEGER_FORMAT "/deployments",
             json_integer_value(json_object_get(p, "id")));

    if (cli_api(cli, "POST", path, body, &res) != 0) {
        goto done;
    }

    id = json_integer_value(json_object_get(res, "id"));

    if (!cli->json || wait == NULL) {
        if (cli->json) {
            cli_print_json(res);
        } else {
            printf("Deployment %" JSON_INTEGER_FORMAT " of %s queued "
                   "(branch %s).\n", id,
                   cli_str(p, "name"),
                   cli_str(res, "branch"));
        }
    }

    rc = wait ? cli_wait(cli, id, timeout, !cli->json) : CLI_EXIT_OK;

done:

    json_decref(p);
    json_decref(body);
    json_decref(res);
    return rc;
}


static int
cli_deployments(cli_t *cli, cli_args_t *a)
{
    char          path[160];
    size_t        i;
    json_t       *res, *data, *d;
    json_int_t    id;
    const char   *c, *limit;

    limit = cli_opt(a, "limit");
    if (limit != NULL && !cli_is_id(limit)) {
        return cli_usage_error(a->cmd->usage, "--limit takes a number");
    }

    id = cli_project_id(cli, cli_opt(a, "project"));
    if (id < 0) {
        return CLI_EXIT_FAIL;
    }

    snprintf(path, sizeof(path), "/api/v1/projects/%" JSON_INTEGER_FORMAT
             "/deployments?limit=%s", id, limit ? limit : "20");

    if (cli_api(cli, "GET", path, NULL, &res) != 0) {
        return CLI_EXIT_FAIL;
    }

    data = json_object_get(res, "data");

    json_array_foreach(data, i, d) {
        c = json_string_value(json_object_get(d, "commit"));
        if (!cli->json && c != NULL && strlen(c) > 7) {
            json_object_set_new(d, "commit", json_stringn(c, 7));
        }
    }

    cli_print_list(cli, data, cli_deployment_cols,
                   so_nelems(cli_deployment_cols),
                   "No deployments yet: shipoff deploy");
    json_decref(res);
    return CLI_EXIT_OK;
}


static int
cli_deployment_action(cli_t *cli, json_int_t id, const char *action,
    json_t **out)
{
    char  path[160];

    snprintf(path, sizeof(path),
             "/api/v1/deployments/%" JSON_INTEGER_FORMAT "/%s", id, action);
    return cli_api(cli, "POST", path, NULL, out);
}


static int
cli_rollback(cli_t *cli, cli_args_t *a)
{
    int           rc;
    char          path[160];
    size_t        i;
    json_t       *p, *all, *d, *res;
    json_int_t    id;
    const char   *state;

    id = a->id;

    if (a->nargs == 0) {
        if (cli_project_current(cli, cli_opt(a, "project"), &p) != 0) {
            return CLI_EXIT_FAIL;
        }

        snprintf(path, sizeof(path), "/api/v1/projects/%" JSON_INTEGER_FORMAT
                 "/deployments", json_integer_value(json_object_get(p, "id")));

        rc = cli_list(cli, path, &all);
        if (rc != 0) {
            json_decref(p);
            return CLI_EXIT_FAIL;
        }

        json_array_foreach(all, i, d) {
            state = json_string_value(json_object_get(d, "state"));
            if (state != NULL && strcmp(state, "INACTIVE") == 0
                && json_is_true(json_object_get(d, "artifact_kept")))
            {
                id = json_integer_value(json_object_get(d, "id"));
                break;
            }
        }

        if (id == 0) {
            fprintf(stderr, "shipoff: nothing to roll back to: %s has no "
                    "inactive deployment whose build is kept\n",
                    cli_str(p, "name"));
        }

        json_decref(all);
        json_decref(p);

        if (id == 0) {
            return CLI_EXIT_FAIL;
        }
    }

    if (cli_deployment_action(cli, id, "promote", &res) != 0) {
        return CLI_EXIT_FAIL;
    }

    return cli_done(cli, res, "Deployment %" JSON_INTEGER_FORMAT " is in "
                    "production again.\n", id);
}


static int
cli_cancel(cli_t *cli, cli_args_t *a)
{
    json_t  *res;

    if (cli_deployment_action(cli, a->id, "cancel", &res) != 0) {
        return CLI_EXIT_FAIL;
    }

    return cli_done(cli, res, "Deployment %s canceled.\n", a->args[0]);
}
