/*
 * teams.c: shipoff teams [list|create|show|delete|invite].
 *
 * Teams are named by id (their names need not be unique).
 */

#include <string.h>

#include "cli.h"


static int cli_teams_create(cli_t *cli, cli_args_t *a);
static int cli_teams_show(cli_t *cli, cli_args_t *a);
static int cli_teams_delete(cli_t *cli, cli_args_t *a);
static int cli_teams_invite(cli_t *cli, cli_args_t *a);
static int cli_team_get(cli_t *cli, cli_args_t *a, char *path, size_t len,
    json_t **team);


static const cli_col_t  cli_team_cols[] = {
    { "ID", "id" },
    { "NAME", "name" },
    { "ROLE", "role" },
    { "CREATED", "created_at" },
};

static const cli_col_t  cli_member_cols[] = {
    { "USER", "user_id" },
    { "EMAIL", "email" },
    { "NAME", "name" },
    { "ROLE", "role" },
    { "JOINED", "joined_at" },
};


static const char  cli_teams_list_usage[] =
    "usage: shipoff teams [list] [--json]\n\n"
    "Lists your teams with your role in each.\n";

static const char  cli_teams_create_usage[] =
    "usage: shipoff teams create NAME [--json]\n\n"
    "Creates a team owned by you.\n";

static const char  cli_teams_show_usage[] =
    "usage: shipoff teams show ID [--json]\n\n"
    "Shows a team and its members.\n";

static const char  cli_teams_delete_usage[] =
    "usage: shipoff teams delete ID [--yes]\n\n"
    "Deletes a team (its owner only); asks for its name on a terminal.\n";

static const char  cli_teams_invite_usage[] =
    "usage: shipoff teams invite ID EMAIL [--role member|owner]\n\n"
    "Invites EMAIL to the team; they accept with the API for now.\n";


static const cli_opt_t  cli_teams_invite_opts[] = {
    { "role", 0, 1 },
    { NULL, 0, 0 }
};

static const cli_listing_t  cli_teams_listing = {
    "/api/v1/teams", cli_team_cols, so_nelems(cli_team_cols),
    "No teams: shipoff teams create NAME"
};

static const cli_cmd_t  cli_teams_sub[] = {
    { "list", "the teams you belong to", cli_teams_list_usage, 0, 0, NULL,
      NULL, cli_listing, NULL, &cli_teams_listing },
    { "create", "create a team; you own it", cli_teams_create_usage, 1, 1,
      NULL, NULL, cli_teams_create, NULL, NULL },
    { "show", "a team and its members", cli_teams_show_usage, 1, 1, NULL,
      "team", cli_teams_show, NULL, NULL },
    { "delete", "delete a team (owner)", cli_teams_delete_usage, 1, 1,
      cli_yes_opts, "team", cli_teams_delete, NULL, NULL },
    { "invite", "invite someone by email (owner)", cli_teams_invite_usage,
      2, 2, cli_teams_invite_opts, "team", cli_teams_invite, NULL, NULL },
    { NULL }
};

const cli_cmd_t  cli_teams_cmds[] = {
    { "teams", "list, create, show, delete teams", NULL, 0, 0, NULL, NULL,
      NULL, cli_teams_sub, NULL },
    { NULL }
};


/* the team of the command's id argument, and its path */
static int
cli_team_get(cli_t *cli, cli_args_t *a, char *path, size_t len,
    json_t **team)
{
    snprintf(path, len, "/api/v1/teams/%" JSON_INTEGER_FORMAT, a->id);
    return cli_api(cli, "GET", path, NULL, team);
}


static int
cli_teams_create(cli_t *cli, cli_args_t *a)
{
    json_t  *body, *res;

    body = json_pack("{s:s}", "name", a->args[0]);
    if (cli_send(cli, "POST", "/api/v1/teams", body, "the name", &res) != 0) {
        return CLI_EXIT_FAIL;
    }

    return cli_done(cli, res, "Created team %s (id %" JSON_INTEGER_FORMAT
                    ").\n", a->args[0],
                    json_integer_value(json_object_get(res, "id")));
}


static int
cli_teams_show(cli_t *cli, cli_args_t *a)
{
    char     path[128];
    json_t  *res;

    if (cli_team_get(cli, a, path, sizeof(path), &res) != 0) {
        return CLI_EXIT_FAIL;
    }

    if (cli->json) {
        cli_print_json(res);

    } else {
        cli_fields(res, cli_team_cols, so_nelems(cli_team_cols));
        putchar('\n');
        cli_table(json_object_get(res, "members"), cli_member_cols,
                  so_nelems(cli_member_cols), "No members.");
    }

    json_decref(res);
    return CLI_EXIT_OK;
}


static int
cli_teams_delete(cli_t *cli, cli_args_t *a)
{
    int      rc;
    char     path[128];
    json_t  *team;

    if (cli_team_get(cli, a, path, sizeof(path), &team) != 0) {
        return CLI_EXIT_FAIL;
    }

    rc = cli_delete_named(cli, a, team, "team", "members and invitations",
                          path);
    json_decref(team);
    return rc;
}


static int
cli_teams_invite(cli_t *cli, cli_args_t *a)
{
    char         path[128];
    json_t      *body, *res;
    const char  *role;

    snprintf(path, sizeof(path),
             "/api/v1/teams/%" JSON_INTEGER_FORMAT "/invitations", a->id);

    role = cli_opt(a, "role");
    body = json_pack("{s:s, s:s}", "email", a->args[1], "role",
                     role ? role : "member");
    if (cli_send(cli, "POST", path, body, "the email", &res) != 0) {
        return CLI_EXIT_FAIL;
    }

    return cli_done(cli, res, "Invited %s; the invitation expires at %s.\n",
                    cli_str(res, "email"), cli_str(res, "expires_at"));
}
