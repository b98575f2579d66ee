/*
 * projects.c: shipoff projects [list|create|show|delete], link, unlink,
 * and "the current project" the other commands act on.
 *
 * The current project is --project NAME|ID, else the one named by
 * .shipoff.json in the current directory ({"project_id": 7, "name":
 * "blog"}), written by "shipoff link" or "projects create --link".  A
 * name is looked up in the caller's project list; an id is asked for
 * directly.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"


#define CLI_LINK_FILE  ".shipoff.json"


static int cli_projects_create(cli_t *cli, cli_args_t *a);
static int cli_projects_show(cli_t *cli, cli_args_t *a);
static int cli_projects_delete(cli_t *cli, cli_args_t *a);
static int cli_link(cli_t *cli, cli_args_t *a);
static int cli_unlink(cli_t *cli, cli_args_t *a);
static int cli_project_find(cli_t *cli, const char *spec, json_t **out);
static int cli_link_write(json_t *project);


static const cli_col_t  cli_project_cols[] = {
    { "ID", "id" },
    { "NAME", "name" },
    { "URL", "url" },
    { "BRANCH", "branch" },
    { "REPOSITORY", "repo_url" },
};

static const cli_col_t  cli_project_fields[] = {
    { "id", "id" },
    { "name", "name" },
    { "url", "url" },
    { "repository", "repo_url" },
    { "branch", "branch" },
    { "root dir", "root_dir" },
    { "kind", "kind" },
    { "framework", "framework" },
    { "owner", "owner.type" },
    { "owner id", "owner.id" },
    { "webhook url", "webhook_url" },
    { "created", "created_at" },
};


static const char  cli_projects_list_usage[] =
    "usage: shipoff projects [list] [--json]\n\n"
    "Lists the projects you can see.\n";

static const char  cli_projects_create_usage[] =
    "usage: shipoff projects create NAME --repo URL [--branch BRANCH]\n"
    "           [--team ID] [--root-dir DIR] [--kind auto|static|dynamic]\n"
    "           [--link]\n\n"
    "Creates a project served at NAME.<apps domain>.  The webhook secret\n"
    "is shown once, here.\n\n"
    "options:\n"
    "  --repo URL        the git repository (https://...)\n"
    "  --branch BRANCH   the branch deployed (default main)\n"
    "  --team ID         the team that owns it (default: you)\n"
    "  --root-dir DIR    the app's directory in the repository\n"
    "  --kind KIND       auto (default), static or dynamic\n"
    "  --link            make it this directory's project\n";

static const char  cli_projects_show_usage[] =
    "usage: shipoff projects show [NAME|ID] [--json]\n\n"
    "Shows a project; without NAME, the current one (--project or\n"
    ".shipoff.json).\n\n"
    "options:\n"
    "  --project NAME|ID   the same as the argument\n";

static const char  cli_projects_delete_usage[] =
    "usage: shipoff projects delete NAME|ID [--yes]\n\n"
    "Deletes a project with its deployments, environment variables and\n"
    "grants.  Asks for the name on a terminal; --yes skips the question\n"
    "(and is needed when stdin is not a terminal).\n";

static const char  cli_link_usage[] =
    "usage: shipoff link NAME|ID\n\n"
    "Makes NAME the current project of this directory (.shipoff.json):\n"
    "deploy, deployments, env, logs and rollback then need no --project.\n";

static const char  cli_unlink_usage[] =
    "usage: shipoff unlink\n\n"
    "Removes this directory's .shipoff.json.\n";


/* the options of a command that acts on the current project */
const cli_opt_t  cli_project_opts[] = {
    { "project", 'p', 1 },
    { NULL, 0, 0 }
};

static const cli_opt_t  cli_projects_create_opts[] = {
    { "repo", 0, 1 },
    { "branch", 'b', 1 },
    { "team", 0, 1 },
    { "root-dir", 0, 1 },
    { "kind", 0, 1 },
    { "link", 0, 0 },
    { NULL, 0, 0 }
};

static const cli_listing_t  cli_projects_listing = {
    "/api/v1/projects", cli_project_cols, so_nelems(cli_project_cols),
    "No projects yet: shipoff projects create NAME --repo URL"
};

static const cli_cmd_t  cli_projects_sub[] = {
    { "list", "the projects you can see", cli_projects_list_usage, 0, 0,
      NULL, NULL, cli_listing, NULL, &cli_projects_listing },
    { "create", "create a project", cli_projects_create_usage, 1, 1,
      cli_projects_create_opts, NULL, cli_projects_create, NULL, NULL },
    { "show", "one project (default: the current)", cli_projects_show_usage,
      0, 1, cli_project_opts, NULL, cli_projects_show, NULL, NULL },
    { "delete", "delete a project and its deploys",
      cli_projects_delete_usage, 1, 1, cli_yes_opts, NULL,
      cli_projects_delete, NULL, NULL },
    { NULL }
};

const cli_cmd_t  cli_projects_cmds[] = {
    { "projects", "list, create, show, delete projects", NULL, 0, 0, NULL,
      NULL, NULL, cli_projects_sub, NULL },
    { "link", "link this directory to a project", cli_link_usage, 1, 1,
      NULL, NULL, cli_link, NULL, NULL },
    { "unlink", "forget this directory's project", cli_unlink_usage, 0, 0,
      NULL, NULL, cli_unlink, NULL, NULL },
    { NULL }
};


/* the project named or numbered spec, as the API shows it */
static int
cli_project_find(cli_t *cli, const char *spec, json_t **out)
{
    int          rc;
    char         path[128];
    size_t       i;
    json_t      *all, *p;
    const char  *name;

    *out = NULL;

    if (cli_is_id(spec)) {
        snprintf(path, sizeof(path), "/api/v1/projects/%s", spec);
        return cli_api(cli, "GET", path, NULL, out);
    }

    if (cli_list(cli, "/api/v1/projects", &all) != 0) {
        return -1;
    }

    rc = -1;
    json_array_foreach(all, i, p) {
        name = json_string_value(json_object_get(p, "name"));
        if (name != NULL && strcmp(name, spec) == 0) {
            *out = json_incref(p);
            rc = 0;
            break;
        }
    }

    if (rc != 0) {
        fprintf(stderr, "shipoff: no project \"%s\" among yours "
                "(not_found)\n", spec);
    }

    json_decref(all);
    return rc;
}


int
cli_project_current(cli_t *cli, const char *spec, json_t **out)
{
    int            rc;
    char           id[32];
    json_t        *link;
    json_error_t   jerr;

    if (spec != NULL) {
        return cli_project_find(cli, spec, out);
    }

    *out = NULL;
    link = json_load_file(CLI_LINK_FILE, 0, &jerr);
    if (link == NULL) {
        if (access(CLI_LINK_FILE, F_OK) == 0) {
            fprintf(stderr, "shipoff: %s: %s\n", CLI_LINK_FILE, jerr.text);
        } else {
            fprintf(stderr, "shipoff: which project? Pass --project NAME, "
                    "or run \"shipoff link NAME\" in this directory\n");
        }
        return -1;
    }

    rc = -1;
    if (!json_is_integer(json_object_get(link, "project_id"))) {
        fprintf(stderr, "shipoff: %s names no project_id; run \"shipoff "
                "link NAME\" again\n", CLI_LINK_FILE);

    } else {
        snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(link, "project_id")));
        rc = cli_project_find(cli, id, out);
    }

    json_decref(link);
    return rc;
}


/* the current project's id (spec as for cli_project_current()), or -1 */
json_int_t
cli_project_id(cli_t *cli, const char *spec)
{
    json_t      *p;
    json_int_t   id;

    if (cli_project_current(cli, spec, &p) != 0) {
        return -1;
    }

    id = json_integer_value(json_object_get(p, "id"));
    json_decref(p);
    return id;
}


static int
cli_link_write(json_t *project)
{
    int      rc;
    json_t  *link;

    link = json_pack("{s:O, s:O}", "project_id",
                     json_object_get(project, "id"), "name",
                     json_object_get(project, "name"));
    if (link == NULL) {
        fprintf(stderr, "shipoff: the server answered a project without "
                "id or name\n");
        return -1;
    }

    rc = json_dump_file(link, CLI_LINK_FILE, JSON_INDENT(2));
    if (rc != 0) {
        fprintf(stderr, "shipoff: cannot write %s: %s\n", CLI_LINK_FILE,
                strerror(errno));
    }

    json_decref(link);
    return rc;
}


static int
cli_projects_create(cli_t *cli, cli_args_t *a)
{
    int           rc;
    json_t       *body, *res;
    json_int_t    team_id;
    const char   *repo, *branch, *team, *link, *root, *kind;

    repo = cli_opt(a, "repo");
    branch = cli_opt(a, "branch");
    team = cli_opt(a, "team");
    root = cli_opt(a, "root-dir");
    kind = cli_opt(a, "kind");
    link = cli_opt(a, "link");

    if (repo == NULL) {
        return cli_usage_error(a->cmd->usage, "--repo URL is needed");
    }

    team_id = 0;
    if (team != NULL) {
        rc = cli_id_arg(a->cmd->usage, team, "team", &team_id);
        if (rc != CLI_GO) {
            return rc;
        }
    }

    /* the options not given are left out ("*") */
    body = json_pack("{s:s, s:s, s:s*, s:s*, s:s*, s:o*}", "name", a->args[0],
                     "repo_url", repo, "branch", branch, "root_dir", root,
                     "kind", kind, "team_id",
                     team ? json_integer(team_id) : NULL);
    if (cli_send(cli, "POST", "/api/v1/projects", body, "an argument", &res)
        != 0)
    {
        return CLI_EXIT_FAIL;
    }

    if (link != NULL && cli_link_write(res) != 0) {
        json_decref(res);
        return CLI_EXIT_FAIL;
    }

    if (cli->json) {
        cli_print_json(res);

    } else {
        printf("Created project %s (id %" JSON_INTEGER_FORMAT "): %s\n",
               cli_str(res, "name"),
               json_integer_value(json_object_get(res, "id")),
               cli_str(res, "url"));
        printf("Webhook URL:    %s\n",
               cli_str(res, "webhook_url"));
        printf("Webhook secret: %s (shown only now)\n",
               cli_str(res, "webhook_secret"));
        if (link != NULL) {
            printf("Linked this directory to %s.\n", a->args[0]);
        }
    }

    json_decref(res);
    return CLI_EXIT_OK;
}


static int
cli_projects_show(cli_t *cli, cli_args_t *a)
{
    json_t  *p;

    if (cli_project_current(cli, a->nargs ? a->args[0]
                                          : cli_opt(a, "project"), &p)
        != 0)
    {
        return CLI_EXIT_FAIL;
    }

    if (cli->json) {
        cli_print_json(p);
    } else {
        cli_fields(p, cli_project_fields, so_nelems(cli_project_fields));
    }

    json_decref(p);
    return CLI_EXIT_OK;
}


static int
cli_projects_delete(cli_t *cli, cli_args_t *a)
{
    int      rc;
    char     path[128];
    json_t  *p;

    if (cli_project_find(cli, a->args[0], &p) != 0) {
        return CLI_EXIT_FAIL;
    }

    snprintf(path, sizeof(path), "/api/v1/projects/%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(p, "id")));

    rc = cli_delete_named(cli, a, p, "project", "deployments and variables",
                          path);
    json_decref(p);
    return rc;
}


static int
cli_link(cli_t *cli, cli_args_t *a)
{
    int      rc;
    json_t  *p;

    if (cli_project_find(cli, a->args[0], &p) != 0) {
        return CLI_EXIT_FAIL;
    }

    rc = CLI_EXIT_FAIL;
    if (cli_link_write(p) == 0) {
        if (!cli->json) {
            printf("Linked this directory to %s.\n",
                   cli_str(p, "name"));
        }
        rc = CLI_EXIT_OK;
    }

    json_decref(p);
    return rc;
}


static int
cli_unlink(cli_t *cli, cli_args_t *a)
{
    if (unlink(CLI_LINK_FILE) != 0 && errno != ENOENT) {
        fprintf(stderr, "shipoff: cannot remove %s: %s\n", CLI_LINK_FILE,
                strerror(errno));
        return CLI_EXIT_FAIL;
    }

    if (!cli->json) {
        printf("This directory has no project now.\n");
    }
    return CLI_EXIT_OK;
}
