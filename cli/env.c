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


static int cli_env_list(cli_t *cli, cli_args_t *a);
static int cli_env_set(cli_t *cli, cli_args_t *a);
static int cli_env_unset(cli_t *cli, cli_args_t *a);
static int cli_env_path(json_int_t id, const char *key, char *path,
    size_t len);


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


static const cli_opt_t  cli_env_set_opts[] = {
    { "project", 'p', 1 },
    { "secret", 0, 0 },
    { "target", 0, 1 },
    { NULL, 0, 0 }
};

static const cli_cmd_t  cli_env_sub[] = {
    { "list", "the project's variables, secrets masked", cli_env_list_usage,
      0, 0, cli_project_opts, NULL, cli_env_list, NULL, NULL },
    { "set", "set KEY=VALUE ...", cli_env_set_usage, 1, CLI_MAX_ARGS,
      cli_env_set_opts, NULL, cli_env_set, NULL, NULL },
    { "unset", "remove KEY ...", cli_env_unset_usage, 1, CLI_MAX_ARGS,
      cli_project_opts, NULL, cli_env_unset, NULL, NULL },
    { NULL }
};

const cli_cmd_t  cli_env_cmds[] = {
    { "env", "list, set, unset env variables", NULL, 0, 0, NULL, NULL, NULL,
      cli_env_sub, NULL },
    { NULL }
};


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


static int
cli_env_list(cli_t *cli, cli_args_t *a)
{
    char         path[256];
    size_t       i;
    json_int_t   id;
    json_t      *res, *data, *v;

    id = cli_project_id(cli, cli_opt(a, "project"));
    if (id < 0 || cli_env_path(id, NULL, path, sizeof(path)) != 0
        || cli_api(cli, "GET", path, NULL, &res) != 0)
    {
        return CLI_EXIT_FAIL;
    }

    data = json_object_get(res, "data");

    json_array_foreach(data, i, v) {
        if (!cli->json && json_is_true(json_object_get(v, "secret"))) {
            json_object_set_new(v, "value", json_string(CLI_MASK));
        }
    }

    cli_print_list(cli, data, cli_env_cols, so_nelems(cli_env_cols),
                   "No variables: shipoff env set KEY=VALUE");
    json_decref(res);
    return CLI_EXIT_OK;
}


static int
cli_env_set(cli_t *cli, cli_args_t *a)
{
    int           rc, i;
    char          path[512], key[256];
    json_int_t    id;
    json_t       *body, *res;
    const char   *eq, *arg, *secret, *target;

    secret = cli_opt(a, "secret");
    target = cli_opt(a, "target");

    for (i = 0; i < a->nargs; i++) {
        arg = a->args[i];
        eq = strchr(arg, '=');
        if (eq == NULL || eq == arg || (size_t) (eq - arg) >= 256) {
            return cli_usage_error(a->cmd->usage, "\"%s\" is not KEY=VALUE",
                                   arg);
        }
    }

    id = cli_project_id(cli, cli_opt(a, "project"));
    if (id < 0) {
        return CLI_EXIT_FAIL;
    }

    for (i = 0; i < a->nargs; i++) {
        arg = a->args[i];
        eq = strchr(arg, '=');
        snprintf(key, sizeof(key), "%.*s", (int) (eq - arg), arg);

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
cli_env_unset(cli_t *cli, cli_args_t *a)
{
    int          i;
    char         path[512];
    json_int_t   id;

    id = cli_project_id(cli, cli_opt(a, "project"));
    if (id < 0) {
        return CLI_EXIT_FAIL;
    }

    for (i = 0; i < a->nargs; i++) {
        if (cli_env_path(id, a->args[i], path, sizeof(path)) != 0
            || cli_deleted(cli, path, "Removed %s.\n", a->args[i])
               != CLI_EXIT_OK)
        {
            return CLI_EXIT_FAIL;
        }
    }

    return CLI_EXIT_OK;
}
