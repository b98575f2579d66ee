/*
 * main.c: shipoff, the command-line client of the REST API.
 *
 *   shipoff [--api URL] [--json] COMMAND [ARGS] [OPTIONS]
 *
 * The dispatch table of the commands and the one option parser they all
 * use, so that --help, --json, --api and wrong flags behave the same in
 * every command.  The API URL comes from --api, then $SHIPOFF_API, then
 * the URL saved by the last login, then the default of a local "make up".
 */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"


#define CLI_DEFAULT_API  "http://127.0.0.1:8080"


static int cli_status(cli_t *cli, int argc, char **argv);
static int cli_version(cli_t *cli, int argc, char **argv);
static int cli_help(cli_t *cli, int argc, char **argv);
static void cli_usage(FILE *f);
static const char *cli_api_url(cli_t *cli, const char *opt);


static const cli_cmd_t  cli_cmds[] = {
    { "signup",      cli_signup,      "create an account and log in" },
    { "login",       cli_login,       "log in with a password or a token" },
    { "logout",      cli_logout,      "end the session, forget credentials" },
    { "whoami",      cli_whoami,      "show who you are logged in as" },
    { "projects",    cli_projects,    "list, create, show, delete projects" },
    { "link",        cli_link,        "link this directory to a project" },
    { "unlink",      cli_unlink,      "forget this directory's project" },
    { "deploy",      cli_deploy,      "deploy the current branch" },
    { "deployments", cli_deployments, "list the project's deployments" },
    { "rollback",    cli_rollback,    "put a previous deployment back live" },
    { "cancel",      cli_cancel,      "cancel a queued or running build" },
    { "logs",        cli_logs,        "show a deployment's build logs" },
    { "env",         cli_env,         "list, set, unset env variables" },
    { "teams",       cli_teams,       "list, create, show, delete teams" },
    { "tokens",      cli_tokens,      "personal API tokens for CI" },
    { "status",      cli_status,      "show whether the platform is healthy" },
    { "version",     cli_version,     "print the version of this client" },
    { "help",        cli_help,        "show this help" },
};


static const char  cli_status_usage[] =
    "usage: shipoff status [--json]\n\n"
    "Asks the API whether it, PostgreSQL and Redis are up; exits 1 when\n"
    "anything is unavailable.\n";

static const cli_spec_t  cli_status_spec = {
    cli_status_usage, 0, 0, NULL
};

static const cli_spec_t  cli_version_spec = {
    "usage: shipoff version\n", 0, 0, NULL
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
cli_id_arg(const cli_spec_t *spec, const char *arg, const char *what,
    json_int_t *id)
{
    if (!cli_is_id(arg)) {
        return cli_usage_error(spec->usage, "\"%s\" is not a %s id", arg,
                               what);
    }

    *id = strtoll(arg, NULL, 10);
    return CLI_GO;
}


static const cli_opt_t *
cli_find_opt(const cli_spec_t *spec, const char *arg, size_t len)
{
    const cli_opt_t  *o;

    for (o = spec->opts; o != NULL && o->name != NULL; o++) {
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


/*
 * Parses argv[1..] against spec: options anywhere, "--name value" or
 * "--name=value", positional arguments into args.  --help prints the
 * usage and ends the command with 0; a wrong flag ends it with 2.
 */
int
cli_parse(cli_t *cli, const cli_spec_t *spec, int argc, char **argv,
    char **args, int *nargs)
{
    int               i, n, opts_done;
    size_t            len;
    const char       *arg, *eq, *value;
    const cli_opt_t  *o;

    n = 0;
    opts_done = 0;

    for (i = 1; i < argc; i++) {
        arg = argv[i];

        if (opts_done || arg[0] != '-' || arg[1] == '\0') {
            if (n == spec->max_args) {
                return cli_usage_error(spec->usage,
                                       "unexpected argument \"%s\"", arg);
            }
            args[n++] = argv[i];
            continue;
        }

        if (strcmp(arg, "--") == 0) {
            opts_done = 1;
            continue;
        }

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(spec->usage, stdout);
            return CLI_EXIT_OK;
        }

        eq = (arg[1] == '-') ? strchr(arg, '=') : NULL;
        len = eq ? (size_t) (eq - arg) : strlen(arg);

        if (strcmp(arg, "--json") == 0) {
            cli->json = 1;
            continue;
        }

        o = cli_find_opt(spec, arg, len);

        if (o == NULL && len == 5 && strncmp(arg, "--api", 5) == 0) {
            value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (value == NULL) {
                return cli_usage_error(spec->usage, "--api needs a URL");
            }
            cli->api = cli_api_url(cli, value);
            continue;
        }

        if (o == NULL) {
            return cli_usage_error(spec->usage, "unknown option %.*s",
                                   (int) len, arg);
        }

        if (!o->has_arg) {
            if (eq) {
                return cli_usage_error(spec->usage, "%s takes no value",
                                       o->name);
            }
            *o->value = "1";
            continue;
        }

        value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (value == NULL) {
            return cli_usage_error(spec->usage, "--%s needs a value",
                                   o->name);
        }
        *o->value = value;
    }

    if (n < spec->min_args) {
        return cli_usage_error(spec->usage, "missing argument");
    }

    *nargs = n;
    return CLI_GO;
}


/* runs a subcommand of a group ("projects create"); "list" is the first */
int
cli_group(cli_t *cli, const char *group, const cli_cmd_t *cmds, size_t n,
    int argc, char **argv)
{
    size_t  i;
    FILE   *f;

    if (argc < 2 || (argv[1][0] == '-' && strcmp(argv[1], "--help") != 0
                     && strcmp(argv[1], "-h") != 0))
    {
        return cmds[0].run(cli, argc, argv);
    }

    for (i = 0; i < n; i++) {
        if (strcmp(argv[1], cmds[i].name) == 0) {
            return cmds[i].run(cli, argc - 1, argv + 1);
        }
    }

    f = stdout;
    if (argv[1][0] != '-') {
        f = stderr;
        fprintf(f, "shipoff: unknown command \"%s %s\"\n\n", group, argv[1]);
    }

    fprintf(f, "usage: shipoff %s [COMMAND] [OPTIONS]\n\ncommands:\n", group);
    for (i = 0; i < n; i++) {
        fprintf(f, "  %-10s %s%s\n", cmds[i].name, cmds[i].summary,
                i == 0 ? " (the default)" : "");
    }
    fprintf(f, "\nRun \"shipoff %s COMMAND --help\" for its options.\n",
            group);

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
cli_status(cli_t *cli, int argc, char **argv)
{
    int          rc, n;
    long         status;
    char        *args[1];
    json_t      *res, *value;
    const char  *key;

    rc = cli_parse(cli, &cli_status_spec, argc, argv, args, &n);
    if (rc != CLI_GO) {
        return rc;
    }

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
cli_version(cli_t *cli, int argc, char **argv)
{
    int    rc, n;
    char  *args[1];

    rc = cli_parse(cli, &cli_version_spec, argc, argv, args, &n);
    if (rc != CLI_GO) {
        return rc;
    }

    printf("shipoff %s\n", SHIPOFF_VERSION);
    return CLI_EXIT_OK;
}


static int
cli_help(cli_t *cli, int argc, char **argv)
{
    cli_usage(stdout);
    return CLI_EXIT_OK;
}


static void
cli_usage(FILE *f)
{
    size_t  i;

    fprintf(f, "usage: shipoff [--api URL] [--json] COMMAND [ARGS] "
               "[OPTIONS]\n\ncommands:\n");
    for (i = 0; i < so_nelems(cli_cmds); i++) {
        fprintf(f, "  %-12s %s\n", cli_cmds[i].name, cli_cmds[i].summary);
    }
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
    cli_t        cli;
    int          i, rc;
    size_t       c;
    const char  *api;

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

    for (c = 0; c < so_nelems(cli_cmds); c++) {
        if (strcmp(argv[i], cli_cmds[c].name) == 0) {
            curl_global_init(CURL_GLOBAL_DEFAULT);
            rc = cli_cmds[c].run(&cli, argc - i, argv + i);
            curl_global_cleanup();
            goto done;
        }
    }

    fprintf(stderr, "shipoff: unknown command \"%s\"\n\n", argv[i]);
    cli_usage(stderr);
    rc = CLI_EXIT_USAGE;

done:

    json_decref(cli.conf);
    return rc;
}
