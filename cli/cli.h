/*
 * cli.h: what the files of the shipoff command-line client share.
 *
 * One cli_t lives for the whole run: the API URL, the output mode and the
 * configuration file (credentials).  Commands are functions of
 * (cli, argc, argv) with argv[0] the command's own name; each declares its
 * options in a cli_spec_t and lets cli_parse() handle --help, --json,
 * --api and unknown flags the same way everywhere.
 *
 * Exit codes: 0 success, 1 failure (the server said no, the network is
 * down), 2 wrong usage (and a deploy --wait that timed out).
 */

#ifndef CLI_H
#define CLI_H

#include <limits.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "shipoff.h"


#define CLI_EXIT_OK     0
#define CLI_EXIT_FAIL   1
#define CLI_EXIT_USAGE  2

/* cli_parse(): go on with the command (anything else is the exit code) */
#define CLI_GO          -1

#define CLI_MAX_ARGS    8
#define CLI_LIST_MAX    1000    /* items cli_list() collects at most */


typedef struct {
    const char  *api;           /* base URL, no trailing slash */
    int          json;          /* --json: machine-readable output */
    const char  *env_token;     /* $SHIPOFF_TOKEN, wins over the file */
    json_t      *conf;          /* config.json, owned; never NULL */
    char         conf_dir[PATH_MAX - 16];
    char         conf_path[PATH_MAX];
    char         api_buf[1024];
} cli_t;

typedef int (*cli_cmd_pt)(cli_t *cli, int argc, char **argv);

typedef struct {
    const char  *name;
    cli_cmd_pt   run;
    const char  *summary;
} cli_cmd_t;

typedef struct {
    const char   *name;         /* long name without "--"; NULL ends */
    char          short_name;   /* 0: none */
    int           has_arg;
    const char  **value;        /* the argument, or "1" for a flag */
} cli_opt_t;

typedef struct {
    const char  *usage;         /* the --help text */
    int          min_args;
    int          max_args;
    cli_opt_t   *opts;          /* of cli_opt_t, ended by a NULL name */
} cli_spec_t;

typedef struct {
    const char  *head;
    const char  *key;           /* "state", or a path: "team.name" */
} cli_col_t;

/* a command that lists every page of path as a table */
typedef struct {
    const char       *usage;
    const char       *path;
    const cli_col_t  *cols;
    size_t            ncols;
    const char       *empty;    /* said when there is nothing */
} cli_listing_t;


/* main.c */
int cli_parse(cli_t *cli, const cli_spec_t *spec, int argc, char **argv,
    char **args, int *nargs);
int cli_group(cli_t *cli, const char *group, const cli_cmd_t *cmds,
    size_t n, int argc, char **argv);
int cli_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cli_is_id(const char *s);
int cli_id_arg(const cli_spec_t *spec, const char *arg, const char *what,
    json_int_t *id);

/* config.c */
int cli_config_init(cli_t *cli);
int cli_config_save(cli_t *cli);
const char *cli_config_get(cli_t *cli, const char *key);
int cli_config_set(cli_t *cli, const char *key, const char *value);

/* http.c */
int cli_call(cli_t *cli, const char *method, const char *path, json_t *body,
    long *status, json_t **out);
int cli_api(cli_t *cli, const char *method, const char *path, json_t *body,
    json_t **out);
int cli_list(cli_t *cli, const char *path, json_t **out);
void cli_print_error(cli_t *cli, long status, json_t *res);
char *cli_escape(const char *s);
const char *cli_token(cli_t *cli);

/* output.c */
void cli_print_json(json_t *v);
int cli_done(cli_t *cli, json_t *res, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cli_table(json_t *items, const cli_col_t *cols, size_t ncols,
    const char *empty);
void cli_fields(json_t *obj, const cli_col_t *cols, size_t ncols);
const char *cli_str(json_t *obj, const char *key);
const char *cli_cell(json_t *obj, const char *key, char *buf, size_t len);
int cli_listing(cli_t *cli, const cli_listing_t *l, int argc, char **argv);
int cli_read_line(const char *prompt, int echo, char *buf, size_t len);
int cli_confirm(const char *usage, const char *yes, const char *what,
    const char *name);

/* auth.c */
int cli_signup(cli_t *cli, int argc, char **argv);
int cli_login(cli_t *cli, int argc, char **argv);
int cli_logout(cli_t *cli, int argc, char **argv);
int cli_whoami(cli_t *cli, int argc, char **argv);

/* tokens.c, teams.c */
int cli_tokens(cli_t *cli, int argc, char **argv);
int cli_teams(cli_t *cli, int argc, char **argv);

/* projects.c */
int cli_projects(cli_t *cli, int argc, char **argv);
int cli_link(cli_t *cli, int argc, char **argv);
int cli_unlink(cli_t *cli, int argc, char **argv);
int cli_project_current(cli_t *cli, const char *spec, json_t **out);

/* env.c */
int cli_env(cli_t *cli, int argc, char **argv);

/* deploy.c, logs.c */
int cli_deploy(cli_t *cli, int argc, char **argv);
int cli_deployments(cli_t *cli, int argc, char **argv);
int cli_rollback(cli_t *cli, int argc, char **argv);
int cli_cancel(cli_t *cli, int argc, char **argv);
int cli_logs(cli_t *cli, int argc, char **argv);

/*
 * Prints a deployment's log lines as they come (the SSE tail), until its
 * build ends: CLI_EXIT_OK when it is live, CLI_EXIT_FAIL when it failed
 * or was canceled or the stream could not be read, CLI_EXIT_USAGE when
 * deadline (0: none) came first.  flags: CLI_FOLLOW_*.  With
 * CLI_FOLLOW_PROJECT, id is a project's and its running app is followed
 * (its PRODUCTION deployment's lines) until the project is deleted.
 */
#define CLI_FOLLOW_ANNOUNCE  0x01   /* say on stderr how it ended */
#define CLI_FOLLOW_ONCE      0x02   /* no reconnection: the caller polls */
#define CLI_FOLLOW_PROJECT   0x04   /* id is a project: its app's stream */

int cli_logs_follow(cli_t *cli, json_int_t id, int json, time_t deadline,
    unsigned flags);
int cli_is_terminal(const char *state);

#endif /* CLI_H */
