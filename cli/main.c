/*
 * main.c: shipoff, the command-line client of the REST API.
 *
 *   shipoff [--api URL] [--json] COMMAND [ARGS] [OPTIONS]
 *
 * The tables of the commands, the dispatcher and the one option parser
 * they all go through, so that --help, --json, --api and wrong flags
 * behave the same in every command.  The API URL comes from --api, then $SHIPOFF_API, then
 * the URL saved by the last login, then the default of a local "make up".
 */

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"


#define CLI_DEFAULT_API  "http://127.0.0.1:8080"


static int cli_status(cli_t *cli, cli_args_t *a);
static int cli_version(cli_t *cli, cli_args_t *a);
static void cli_usage(FILE *f);
static const char *cli_api_url(cli_t *cli, const char *opt);
static int cli_run(cli_t *cli, const cli_cmd_t *cmd, int argc,
    char **argv);
static int cli_parse(cli_t *cli, const cli_cmd_t *cmd, int argc,
    char **argv, cli_args_t *a);
static int cli_group(cli_t *cli, const cli_cmd_t *group, int argc,
    char **argv);


static const char  cli_status_usage[] =
    "usage: shipoff status [--json]\n\n"
    "Asks the API whether it, PostgreSQL and Redis are up; exits 1 when\n"
    "anything is unavailable.\n";

static const cli_cmd_t  cli_main_cmds[] = {
    { "status", "show whether the platform is healthy", cli_status_usage,
      0, 0, NULL, NULL, cli_status, NULL, NULL },
    { "version", "print the version of this client",
      "usage: shipoff version\n", 0, 0, NULL, NULL, cli_version, NULL,
      NULL },
    { NULL }
};

/* the commands in the order "shipoff help" shows them; "help" is last */
static const cli_cmd_t  *cli_tables[] = {
    cli_auth_cmds, cli_projects_cmds, cli_deploy_cmds, cli_logs_cmds,
    cli_env_cmds, cli_teams_cmds, cli_tokens_cmds, cli_main_cmds
};


int
cli_usage_error(const char *usage, const char *fmt, ...)
{
    va_list  ap;

    fputs("shipoff: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    fputs(usage, stderr);
    return CLI_EXIT_USAGE;
}


int
cli_is_id(const char *s)
{
    size_t  n;

    n = strspn(s, "0123456789");
    return n > 0 && n < 19 && s[n] == '\0';
}


/* arg as the id of a what ("deployment"), else a usage error */
int
cli_id_arg(const char *usage, const char *arg, const char *what,
    json_int_t *id)
{
    if (!cli_is_id(arg)) {
        return cli_usage_error(usage, "\"%s\" is not a %s id", arg, what);
    }

    *id = strtoll(arg, NULL, 10);
    return CLI_GO;
}


static const cli_opt_t *
cli_find_opt(const cli_cmd_t *cmd, const char *arg, size_t len)
{
    const cli_opt_t  *o;

    for (o = cmd->opts; o != NULL && o->name != NULL; o++) {
        if (arg[1] == '-') {
            if (strlen(o->name) == len - 2
                && strncmp(o->name, arg + 2, len - 2) == 0)
            {
                return o;
            }

        } else if (len == 2 && o->short_name == arg[1]) {
            return o;
        }
    }

    return NULL;
}


/* the value of the option name of the command (NULL: not given) */
const char *
cli_opt(const cli_args_t *a, const char *name)
{
    const cli_opt_t  *o;

    for (o = a->cmd->opts; o != NULL && o->name != NULL; o++) {
        if (strcmp(o->name, name) == 0) {
            return a->values[o - a->cmd->opts];
        }
    }

    assert(!"an option the command does not declare");
    return NULL;
}


/*
 * Parses argv[1..] against cmd: options anywhere, "--name value" or
 * "--name=value", positional arguments into a->args.  --help prints the
 * usage and ends the command with 0; a wrong flag or argument ends it
 * with 2.
 */
static int
cli_parse(cli_t *cli, const cli_cmd_t *cmd, int argc, char **argv,
    cli_args_t *a)
{
    int               i, opts_done;
    size_t            len;
    const char       *arg, *eq, *value;
    const cli_opt_t  *o;

    assert(cmd->max_args <= CLI_MAX_ARGS);
    opts_done = 0;

    for (i = 1; i < argc; i++) {
        arg = argv[i];

        if (opts_done || arg[0] != '-' || arg[1] == '\0') {
            if (a->nargs == cmd->max_args) {
                return cli_usage_error(cmd->usage,
                                       "unexpected argument \"%s\"", arg);
            }
            a->args[a->nargs++] = argv[i];
            continue;
        }

        if (strcmp(arg, "--") == 0) {
            opts_done = 1;
            continue;
        }

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(cmd->usage, stdout);
            return CLI_EXIT_OK;
        }

        eq = (arg[1] == '-') ? strchr(arg, '=') : NULL;
        len = eq ? (size_t) (eq - arg) : strlen(arg);

        if (strcmp(arg, "--json") == 0) {
            cli->json = 1;
            continue;
        }

        o = cli_find_opt(cmd, arg, len);

        if (o == NULL && len == 5 && strncmp(arg, "--api", 5) == 0) {
            value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (value == NULL) {
                return cli_usage_error(cmd->usage, "--api needs a URL");
            }
            cli->api = cli_api_url(cli, value);
            continue;
        }

        if (o == NULL) {
            return cli_usage_error(cmd->usage, "unknown option %.*s",
                                   (int) len, arg);
        }

        assert(o - cmd->opts < CLI_MAX_OPTS);

        if (!o->has_arg) {
            if (eq) {
                return cli_usage_error(cmd->usage, "%s takes no value",
                                       o->name);
            }
            a->values[o - cmd->opts] = "1";
            continue;
        }

        value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (value == NULL) {
            return cli_usage_error(cmd->usage, "--%s needs a value",
                                   o->name);
        }
        a->values[o - cmd->opts] = value;
    }

    if (a->nargs < cmd->min_args) {
        return cli_usage_error(cmd->usage, "missing argument");
    }

    if (cmd->id_of != NULL && a->nargs > 0) {
        return cli_id_arg(cmd->usage, a->args[0], cmd->id_of, &a->id);
    }

    return CLI_GO;
}


/* runs a command (argv[0] is its name): parsed, or a group's sub command */
static int
cli_run(cli_t *cli, const cli_cmd_t *cmd, int argc, char **argv)
{
    int         rc;
    cli_args_t  a;

    if (cmd->sub != NULL) {
        return cli_group(cli, cmd, argc, argv);
    }

    memset(&a, 0, sizeof(a));
    a.cmd = cmd;

    rc = cli_parse(cli, cmd, argc, argv, &a);
    if (rc != CLI_GO) {
        return rc;
    }

    return cmd->run(cli, &a);
}


/* a group's sub command ("projects create"); the first is the default */
static int
cli_group(cli_t *cli, const cli_cmd_t *group, int argc, char **argv)
{
    FILE             *f;
    const cli_cmd_t  *c;

    if (argc < 2 || (argv[1][0] == '-' && strcmp(argv[1], "--help") != 0
                     && strcmp(argv[1], "-h") != 0))
    {
        return cli_run(cli, &group->sub[0], argc, argv);
    }

    for (c = group->sub; c->name != NULL; c++) {
        if (strcmp(argv[1], c->name) == 0) {
            return cli_run(cli, c, argc - 1, argv + 1);
        }
    }

    f = stdout;
    if (argv[1][0] != '-') {
        f = stderr;
        fprintf(f, "shipoff: unknown command \"%s %s\"\n\n", group->name,
                argv[1]);
    }

    fprintf(f, "usage: shipoff %s [COMMAND] [OPTIONS]\n\ncommands:\n",
            group->name);
    for (c = group->sub; c->name != NULL; c++) {
        fprintf(f, "  %-10s %s%s\n", c->name, c->summary,
                c == group->sub ? " (the default)" : "");
    }
    fprintf(f, "\nRun \"shipoff %s COMMAND --help\" for its options.\n",
            group->name);

    return f == stderr ? CLI_EXIT_USAGE : CLI_EXIT_OK;
}


static const char *
cli_api_url(cli_t *cli, const char *url)
{
    size_t  len;

    len = strlen(url);
    while (len > 0 && url[len - 1] == '/') {
        len--;
    }

    snprintf(cli->api_buf, sizeof(cli->api_buf), "%.*s", (int) len, url);
    return cli->api_buf;
}


static int
cli_status(cli_t *cli, cli_args_t *a)
{
    long         status;
    json_t      *res, *value;
    const char  *key;

    if (cli_call(cli, "GET", "/api/v1/health", NULL, &status, &res) != 0) {
        return CLI_EXIT_FAIL;
    }

    if (cli->json) {
        cli_print_json(res);

    } else {
        printf("%-10s %s\n", "api", cli->api);
        json_object_foreach(res, key, value) {
            if (json_is_string(value)) {
                printf("%-10s %s\n", key, json_string_value(value));
            }
        }
    }

    json_decref(res);
    return status == 200 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}


static int
cli_version(cli_t *cli, cli_args_t *a)
{
    printf("shipoff %s\n", SHIPOFF_VERSION);
    return CLI_EXIT_OK;
}


/* the top-level command called name, or NULL */
static const cli_cmd_t *
cli_find_cmd(const char *name)
{
    size_t            i;
    const cli_cmd_t  *c;

    for (i = 0; i < so_nelems(cli_tables); i++) {
        for (c = cli_tables[i]; c->name != NULL; c++) {
            if (strcmp(name, c->name) == 0) {
                return c;
            }
        }
    }

    return NULL;
}


static void
cli_usage(FILE *f)
{
    size_t            i;
    const cli_cmd_t  *c;

    fprintf(f, "usage: shipoff [--api URL] [--json] COMMAND [ARGS] "
               "[OPTIONS]\n\ncommands:\n");
    for (i = 0; i < so_nelems(cli_tables); i++) {
        for (c = cli_tables[i]; c->name != NULL; c++) {
            fprintf(f, "  %-12s %s\n", c->name, c->summary);
        }
    }
    fprintf(f, "  %-12s %s\n", "help", "show this help");
    fprintf(f, "\nRun \"shipoff COMMAND --help\" for a command's options.\n\n"
               "options (anywhere):\n"
               "  --api URL    the Shipoff API (default $SHIPOFF_API, the URL "
               "of the\n"
               "               last login, then %s)\n"
               "  --json       machine-readable output\n\n"
               "environment:\n"
               "  SHIPOFF_TOKEN  a personal token; wins over stored "
               "credentials\n"
               "  SHIPOFF_API    the API URL\n\n"
               "Credentials live in $XDG_CONFIG_HOME/shipoff/config.json "
               "(~/.config/shipoff).\n", CLI_DEFAULT_API);
}


int
main(int argc, char **argv)
{
    cli_t             cli;
    int               i, rc;
    const char       *api;
    const cli_cmd_t  *cmd;

    memset(&cli, 0, sizeof(cli));
    rc = CLI_EXIT_FAIL;

    if (cli_config_init(&cli) != 0) {
        goto done;
    }

    api = getenv("SHIPOFF_API");
    if (api == NULL || *api == '\0') {
        api = cli_config_get(&cli, "api");
    }
    cli.api = cli_api_url(&cli, api ? api : CLI_DEFAULT_API);

    cli.env_token = getenv("SHIPOFF_TOKEN");
    if (cli.env_token != NULL && *cli.env_token == '\0') {
        cli.env_token = NULL;
    }

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--api") == 0 && i + 1 < argc) {
            cli.api = cli_api_url(&cli, argv[++i]);

        } else if (strncmp(argv[i], "--api=", 6) == 0) {
            cli.api = cli_api_url(&cli, argv[i] + 6);

        } else if (strcmp(argv[i], "--json") == 0) {
            cli.json = 1;

        } else if (strcmp(argv[i], "--help") == 0
                   || strcmp(argv[i], "-h") == 0)
        {
            cli_usage(stdout);
            rc = CLI_EXIT_OK;
            goto done;

        } else if (strcmp(argv[i], "--version") == 0) {
            printf("shipoff %s\n", SHIPOFF_VERSION);
            rc = CLI_EXIT_OK;
            goto done;

        } else {
            fprintf(stderr, "shipoff: unknown option %s\n\n", argv[i]);
            cli_usage(stderr);
            rc = CLI_EXIT_USAGE;
            goto done;
        }
    }

    if (i == argc) {
        cli_usage(stderr);
        rc = CLI_EXIT_USAGE;
        goto done;
    }

    /* "help" takes no options of its own: whatever follows is ignored */
    if (strcmp(argv[i], "help") == 0) {
        cli_usage(stdout);
        rc = CLI_EXIT_OK;
        goto done;
    }

    cmd = cli_find_cmd(argv[i]);
    if (cmd != NULL) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = cli_run(&cli, cmd, argc - i, argv + i);
        curl_global_cleanup();
        goto done;
    }

    fprintf(stderr, "shipoff: unknown command \"%s\"\n\n", argv[i]);
    cli_usage(stderr);
    rc = CLI_EXIT_USAGE;

done:

    json_decref(cli.conf);
    return rc;
}
