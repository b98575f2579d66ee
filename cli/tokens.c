/*
 * tokens.c: shipoff tokens [list|create|revoke], personal API tokens for
 * CI and scripts.
 *
 * "tokens create" prints the token alone on stdout (the rest goes to
 * stderr), so that T=$(shipoff tokens create ci) works; the server shows
 * it this once and keeps only a hash.
 */

#include <stdlib.h>
#include <string.h>

#include "cli.h"


static int cli_scopes_add(json_t *scopes, const char *list);
static int cli_tokens_create(cli_t *cli, cli_args_t *a);
static int cli_tokens_revoke(cli_t *cli, cli_args_t *a);


static const cli_col_t  cli_token_cols[] = {
    { "ID", "id" },
    { "NAME", "name" },
    { "SCOPES", "scopes" },
    { "PREFIX", "prefix" },
    { "EXPIRES", "expires_at" },
    { "LAST USED", "last_used_at" },
};


static const char  cli_tokens_list_usage[] =
    "usage: shipoff tokens [list] [--json]\n\n"
    "Lists your personal tokens that are not revoked.\n";

static const char  cli_tokens_create_usage[] =
    "usage: shipoff tokens create NAME [--scopes READ,WRITE,DELETE]\n"
    "           [--expires-in SECONDS]\n\n"
    "Makes a personal token and prints it (only this once).  Use it with\n"
    "SHIPOFF_TOKEN=... or shipoff login --token.\n\n"
    "options:\n"
    "  --scopes LIST         comma-separated (default READ,WRITE)\n"
    "  --expires-in SECONDS  60 to one year (default: never)\n";

static const char  cli_tokens_revoke_usage[] =
    "usage: shipoff tokens revoke ID\n\n"
    "Revokes a token: it stops working at once.\n";


static const cli_opt_t  cli_tokens_create_opts[] = {
    { "scopes", 0, 1 },
    { "expires-in", 0, 1 },
    { NULL, 0, 0 }
};

static const cli_listing_t  cli_tokens_listing = {
    "/api/v1/tokens", cli_token_cols, so_nelems(cli_token_cols),
    "No tokens: shipoff tokens create NAME"
};

static const cli_cmd_t  cli_tokens_sub[] = {
    { "list", "your live tokens (never the secrets)", cli_tokens_list_usage,
      0, 0, NULL, NULL, cli_listing, NULL, &cli_tokens_listing },
    { "create", "make a token; printed once", cli_tokens_create_usage, 1, 1,
      cli_tokens_create_opts, NULL, cli_tokens_create, NULL, NULL },
    { "revoke", "revoke a token at once", cli_tokens_revoke_usage, 1, 1,
      NULL, "token", cli_tokens_revoke, NULL, NULL },
    { NULL }
};

const cli_cmd_t  cli_tokens_cmds[] = {
    { "tokens", "personal API tokens for CI", NULL, 0, 0, NULL, NULL, NULL,
      cli_tokens_sub, NULL },
    { NULL }
};


/* appends the names of a comma-separated list (empty ones skipped) */
static int
cli_scopes_add(json_t *scopes, const char *list)
{
    int          n;
    char         name[64];
    const char  *s, *comma;

    for (s = list; *s; s = comma + 1) {
        comma = strchr(s, ',');
        n = comma ? (int) (comma - s) : (int) strlen(s);
        snprintf(name, sizeof(name), "%.*s", n, s);
        if (n > 0 && json_array_append_new(scopes, json_string(name)) != 0) {
            return -1;
        }
        if (comma == NULL) {
            break;
        }
    }

    return 0;
}


static int
cli_tokens_create(cli_t *cli, cli_args_t *a)
{
    char          *end;
    long long      secs;
    json_t        *body, *res;
    const char    *scopes_opt, *expires;

    scopes_opt = cli_opt(a, "scopes");
    expires = cli_opt(a, "expires-in");

    secs = 0;
    if (expires != NULL) {
        secs = strtoll(expires, &end, 10);
        if (!cli_is_id(expires) || *end != '\0') {
            return cli_usage_error(a->cmd->usage,
                                   "--expires-in takes seconds");
        }
    }

    body = json_pack("{s:s, s:[]}", "name", a->args[0], "scopes");
    if (body != NULL
        && (cli_scopes_add(json_object_get(body, "scopes"),
                           scopes_opt ? scopes_opt : "READ,WRITE") != 0
            || (expires != NULL
                && json_object_set_new(body, "expires_in",
                                       json_integer(secs)) != 0)))
    {
        json_decref(body);
        return CLI_EXIT_FAIL;
    }

    if (cli_send(cli, "POST", "/api/v1/tokens", body, "the name", &res) != 0) {
        return CLI_EXIT_FAIL;
    }

    if (cli->json) {
        cli_print_json(res);

    } else {
        printf("%s\n", cli_str(res, "token"));
        fprintf(stderr, "Token %s (id %" JSON_INTEGER_FORMAT ") made; it is "
                "shown only now.\n", a->args[0],
                json_integer_value(json_object_get(res, "id")));
    }

    json_decref(res);
    return CLI_EXIT_OK;
}


static int
cli_tokens_revoke(cli_t *cli, cli_args_t *a)
{
    char  path[128];

    snprintf(path, sizeof(path), "/api/v1/tokens/%" JSON_INTEGER_FORMAT,
             a->id);
    return cli_deleted(cli, path, "Revoked token %s.\n", a->args[0]);
}
