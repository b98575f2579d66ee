/*
 * env.c: shipoff env [list|set|unset], the current project's environment
 * variables.
 *
 * A secret's value never comes back from the server (it is null there);
 * the table shows it masked so that nobody mistakes it for an empty value.
 */

#include <stdlib.h>
#include <string.h>

#include "cli.h"


#define CLI_MASK  "******"


static int cli_env_list(cli_t *cli, int argc, char **argv);
static int cli_env_set(cli_t *cli, int argc, char **argv);
static int cli_env_unset(cli_t *cli, int argc, char **argv);
static int cli_env_path(json_int_t id, const char *key, char *path,
    size_t len);
static json_int_t cli_env_project(cli_t *cli, const char *project);


static const cli_cmd_t  cli_env_cmds[] = {
    { "list",  cli_env_list,  "the project's variables, secrets masked" },
    { "set",   cli_env_set,   "set KEY=VALUE ..." },
    { "unset", cli_env_unset, "remove KEY ..." },
};

static const cli_col_t  cli_env_cols[] = {
    { "KEY", "key" },
    { "VALUE", "value" },
    { "TARGET", "target" },
    { "UPDATED", "updated_at" },
};


static const char  cli_env_list_usage[] =
    "usage: shipoff env [list] [--project NAME|ID] [--json]\n\n"
    "Lists the current project's environment variables; secret values\n"
    "are never shown (" CLI_MASK ").\n";

static const char  cli_env_set_usage[] =
    "usage: shipoff env set KEY=VALUE ... [--secret] [--target T]\n"
    "           [--project NAME|ID]\n\n"
    "Sets variables of the current project (new deployments get them).\n\n"
    "options:\n"
    "  --secret     store the values sealed; they are never shown again\n"
    "               and never given to builds\n"
    "  --target T   build, runtime or both (default both)\n";

static const char  cli_env_unset_usage[] =
    "usage: shipoff env unset KEY ... [--project NAME|ID]\n\n"
    "Removes variables of the current project.\n";


int
cli_env(cli_t *cli, int argc, char **argv)
{
    return cli_group(cli, "env", cli_env_cmds, so_nelems(cli_env_cmds),
                     argc, argv);
}


/* /api/v1/projects/ID/env[/KEY] */
static int
cli_env_path(json_int_t id, const char *key, char *path, size_t len)
{
    char  *k;

    k = key ? cli_escape(key) : NULL;
    if (key != NULL && k == NULL) {
        fprintf(stderr, "shipoff: out of memory\n");
        return -1;
    }

    snprintf(path, len, "/api/v1/projects/%" JSON_INTEGER_FORMAT "/env%s%s",
             id, k ? "/" : "", k ? k : "");

    free(k);
    return 0;
}


/* the current project's id, or -1 (printed) */
static json_int_t
cli_env_project(cli_t *cli, const char *project)
{
    json_t      *p;
    json_int_t   id;

    if (cli_project_current(cli, project, &p) != 0) {
        return -1;
    }

    id = json_integer_value(json_object_get(p, "id"));
    json_decref(p);
    return id;
}


static int
cli_env_list(cli_t *cli, int argc, char **argv)
{
    int           rc, n;
    char         *args[1];
    char          path[256];
    size_t        i;
    json_int_t    id;
    json_t       *res, *data, *v;
    const char   *project = NULL;
    cli_opt_t     opts[] = {
        { "project", 'p', 1, &project },
        { NULL, 0, 0, NULL }
    };
    cli_spec_t    spec = { cli_env_list_usage, 0, 0, opts };

    rc = cli_parse(cli, &spec, argc, argv, args, &n);
    if (rc != CLI_GO) {
        return rc;
    }

    id = cli_env_project(cli, project);
    if (id < 0 || cli_env_path(id, NULL, path, sizeof(path)) != 0
        || cli_api(cli, "GET", path, NULL, &res) != 0)
    {
        return CLI_EXIT_FAIL;
    }

    data = json_object_get(res, "data");

    if (cli->json) {
        cli_print_json(data);

    } else {
        json_array_foreach(data, i, v) {
            if (json_is_true(json_object_get(v, "secret"))) {
                json_object_set_new(v, "value", json_string(CLI_MASK));
            }
        }
        cli_table(data, cli_env_cols, so_nelems(cli_env_cols),
                  "No variables: shipoff env set KEY=VALUE");
    }

    json_decref(res);
    return CLI_EXIT_OK;
}


static int
cli_env_set(cli_t *cli, int argc, char **argv)
{
    int           rc, n, i;
    char         *args[CLI_MAX_ARGS];
    char          path[512], key[256];
    json_int_t    id;
    json_t       *body, *res;
    const char   *eq;
    const char   *project = NULL, *secret = NULL, *target = NULL;
    cli_opt_t     opts[] = {
        { "project", 'p', 1, &project },
        { "secret", 0, 0, &secret },
        { "target", 0, 1, &target },
        { NULL, 0, 0, NULL }
    };
    cli_spec_t    spec = { cli_env_set_usage, 1, CLI_MAX_ARGS, opts };

    rc = cli_parse(cli, &spec, argc, argv, args, &n);
    if (rc != CLI_GO) {
        return rc;
    }

    for (i = 0; i < n; i++) {
        eq = strchr(args[i], '=');
        if (eq == NULL || eq == args[i] || (size_t) (eq - args[i]) >= 256) {
            return cli_usage_error(spec.usage, "\"%s\" is not KEY=VALUE",
                                   args[i]);
        }
    }

    id = cli_env_project(cli, project);
    if (id < 0) {
        return CLI_EXIT_FAIL;
    }

    for (i = 0; i < n; i++) {
        eq = strchr(args[i], '=');
        snprintf(key, sizeof(key), "%.*s", (int) (eq - args[i]), args[i]);

        body = json_pack("{s:s, s:b}", "value", eq + 1, "secret",
                         secret != NULL);
        if (body == NULL
            || (target && json_object_set_new(body, "target",
                                              json_string(target)) != 0))
        {
            json_decref(body);
            fprintf(stderr, "shipoff: the value of %s is not valid UTF-8\n",
                    key);
            return CLI_EXIT_FAIL;
        }

        rc = cli_env_path(id, key, path, sizeof(path));
        if (rc == 0) {
            rc = cli_api(cli, "PUT", path, body, &res);
        }
        json_decref(body);

        if (rc != 0) {
            return CLI_EXIT_FAIL;
        }

        (void) cli_done(cli, res, "Set %s%s.\n", key,
                        secret ? " (secret)" : "");
    }

    return CLI_EXIT_OK;
}


static int
cli_env_unset(cli_t *cli, int argc, char **argv)
{
    int           rc, n, i;
    char         *args[CLI_MAX_ARGS];
    char          path[512];
    json_int_t    id;
    json_t       *res;
    const char   *project = NULL;
    cli_opt_t     opts[] = {
        { "project", 'p', 1, &project },
        { NULL, 0, 0, NULL }
    };
    cli_spec_t    spec = { cli_env_unset_usage, 1, CLI_MAX_ARGS, opts };

    rc = cli_parse(cli, &spec, argc, argv, args, &n);
    if (rc != CLI_GO) {
        return rc;
    }

    id = cli_env_project(cli, project);
    if (id < 0) {
        return CLI_EXIT_FAIL;
    }

    for (i = 0; i < n; i++) {
        if (cli_env_path(id, args[i], path, sizeof(path)) != 0
            || cli_api(cli, "DELETE", path, NULL, &res) != 0)
        {
            return CLI_EXIT_FAIL;
        }

        json_decref(res);
        if (!cli->json) {
            printf("Removed %s.\n", args[i]);
        }
    }

    return CLI_EXIT_OK;
}
