/*
 * teams.c: shipoff teams [list|create|show|delete|invite].
 *
 * Teams are named by id (their names need not be unique).
 */

#include <string.h>

#include "cli.h"


static int cli_teams_list(cli_t *cli, int argc, char **argv);
static int cli_teams_create(cli_t *cli, int argc, char **argv);
static int cli_teams_show(cli_t *cli, int argc, char **argv);
static int cli_teams_delete(cli_t *cli, int argc, char **argv);
static int cli_teams_invite(cli_t *cli, int argc, char **argv);
/* the length of a team's path, /api/v1/teams/ID... */
#define CLI_TEAM_PATH_MAX  128


static int cli_team_path(const cli_spec_t *spec, const char *id,
    const char *tail, char *path, size_t len);
static int cli_team_get(cli_t *cli, const cli_spec_t *spec, int argc,
    char **argv, char *path, json_t **team);


static const cli_cmd_t  cli_teams_cmds[] = {
    { "list",   cli_teams_list,   "the teams you belong to" },
    { "create", cli_teams_create, "create a team; you own it" },
    { "show",   cli_teams_show,   "a team and its members" },
    { "delete", cli_teams_delete, "delete a team (owner)" },
    { "invite", cli_teams_invite, "invite someone by email (owner)" },
};

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


int
cli_teams(cli_t *cli, int argc, char **argv)
{
    return cli_group(cli, "teams", cli_teams_cmds, so_nelems(cli_teams_cmds),
                     argc, argv);
}


static int
cli_team_path(const cli_spec_t *spec, const char *id, const char *tail,
    char *path, size_t len)
{
    int         rc;
    json_int_t  n;

    rc = cli_id_arg(spec, id, "team", &n);
    if (rc == CLI_GO) {
        snprintf(path, len, "/api/v1/teams/%" JSON_INTEGER_FORMAT "%s", n,
                 tail);
    }

    return rc;
}


/*
 * The team a command's one argument names, and its path (of
 * CLI_TEAM_PATH_MAX bytes): CLI_GO, or how the command ends.
 */
static int
cli_team_get(cli_t *cli, const cli_spec_t *spec, int argc, char **argv,
    char *path, json_t **team)
{
    int    rc, n;
    char  *args[1];

    rc = cli_parse(cli, spec, argc, argv, args, &n);
    if (rc != CLI_GO) {
        return rc;
    }

    rc = cli_team_path(spec, args[0], "", path, CLI_TEAM_PATH_MAX);
    if (rc != CLI_GO) {
        return rc;
    }

    if (cli_api(cli, "GET", path, NULL, team) != 0) {
        return CLI_EXIT_FAIL;
    }

    return CLI_GO;
}


static int
cli_teams_list(cli_t *cli, int argc, char **argv)
{
    static const cli_listing_t  l = {
        cli_teams_list_usage, "/api/v1/teams", cli_team_cols,
        so_nelems(cli_team_cols),
        "No teams: shipoff teams create NAME"
    };

    return cli_listing(cli, &l, argc, argv);
}


static int
cli_teams_create(cli_t *cli, int argc, char **argv)
{
    int          rc, n;
    char        *args[1];
    json_t      *body, *res;
    cli_spec_t   spec = { cli_teams_create_usage, 1, 1, NULL };

    rc = cli_parse(cli, &spec, argc, argv, args, &n);
    if (rc != CLI_GO) {
        return rc;
    }

    body = json_pack("{s:s}", "name", args[0]);
    if (body == NULL) {
        fprintf(stderr, "shipoff: the name is not valid UTF-8\n");
        return CLI_EXIT_FAIL;
    }

    rc = cli_api(cli, "POST", "/api/v1/teams", body, &res);
    json_decref(body);
    if (rc != 0) {
        return CLI_EXIT_FAIL;
    }

    return cli_done(cli, res, "Created team %s (id %" JSON_INTEGER_FORMAT
                    ").\n", args[0],
                    json_integer_value(json_object_get(res, "id")));
}


static int
cli_teams_show(cli_t *cli, int argc, char **argv)
{
    int          rc;
    char         path[CLI_TEAM_PATH_MAX];
    json_t      *res;
    cli_spec_t   spec = { cli_teams_show_usage, 1, 1, NULL };

    rc = cli_team_get(cli, &spec, argc, argv, path, &res);
    if (rc != CLI_GO) {
        return rc;
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
cli_teams_delete(cli_t *cli, int argc, char **argv)
{
    int           rc;
    char          path[CLI_TEAM_PATH_MAX], what[256];
    json_t       *team, *res;
    const char   *yes = NULL, *name;
    cli_opt_t     opts[] = {
        { "yes", 'y', 0, &yes },
        { NULL, 0, 0, NULL }
    };
    cli_spec_t    spec = { cli_teams_delete_usage, 1, 1, opts };

    rc = cli_team_get(cli, &spec, argc, argv, path, &team);
    if (rc != CLI_GO) {
        return rc;
    }

    res = NULL;
    name = json_string_value(json_object_get(team, "name"));
    snprintf(what, sizeof(what), "team %s with its members and invitations",
             name ? name : "?");

    rc = cli_confirm(spec.usage, yes, what, name);
    if (rc != CLI_GO) {
        goto done;
    }

    rc = CLI_EXIT_FAIL;
    if (cli_api(cli, "DELETE", path, NULL, &res) != 0) {
        goto done;
    }

    if (!cli->json) {
        printf("Deleted team %s.\n", name);
    }
    rc = CLI_EXIT_OK;

done:

    json_decref(team);
    json_decref(res);
    return rc;
}


static int
cli_teams_invite(cli_t *cli, int argc, char **argv)
{
    int           rc, n;
    char         *args[2];
    char          path[CLI_TEAM_PATH_MAX];
    json_t       *body, *res;
    const char   *role = NULL;
    cli_opt_t     opts[] = {
        { "role", 0, 1, &role },
        { NULL, 0, 0, NULL }
    };
    cli_spec_t    spec = { cli_teams_invite_usage, 2, 2, opts };

    rc = cli_parse(cli, &spec, argc, argv, args, &n);
    if (rc != CLI_GO) {
        return rc;
    }

    rc = cli_team_path(&spec, args[0], "/invitations", path, sizeof(path));
    if (rc != CLI_GO) {
        return rc;
    }

    body = json_pack("{s:s, s:s}", "email", args[1], "role",
                     role ? role : "member");
    if (body == NULL) {
        fprintf(stderr, "shipoff: the email is not valid UTF-8\n");
        return CLI_EXIT_FAIL;
    }

    rc = cli_api(cli, "POST", path, body, &res);
    json_decref(body);
    if (rc != 0) {
        return CLI_EXIT_FAIL;
    }

    return cli_done(cli, res, "Invited %s; the invitation expires at %s.\n",
                    cli_str(res, "email"), cli_str(res, "expires_at"));
}
