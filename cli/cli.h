/*
 * cli.h: what the files of the shipoff command-line client share.
 *
 * One cli_t lives for the whole run: the API URL, the output mode and the
 * configuration file (credentials).  Commands are rows of cli_cmd_t
 * tables: a row declares the command's options and arguments, cli_run()
 * parses them (--help, --json, --api and unknown flags the same way
 * everywhere) and calls the row's function with what it found.
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
#define CLI_MAX_OPTS    8       /* options of one command at most */
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

typedef struct cli_cmd_s  cli_cmd_t;

typedef struct {
    const char  *name;          /* long name without "--"; NULL ends */
    char         short_name;    /* 0: none */
    int          has_arg;
} cli_opt_t;

/* what the command line gave a command, parsed against its cli_cmd_t */
typedef struct {
    const cli_cmd_t  *cmd;
    char             *args[CLI_MAX_ARGS];
    int               nargs;
    json_int_t        id;           /* args[0], when cmd->id_of is set */
    const char       *values[CLI_MAX_OPTS];  /* of cmd->opts, by index */
} cli_args_t;

typedef int (*cli_cmd_pt)(cli_t *cli, cli_args_t *a);

/*
 * A command, or a group of them ("projects"): nginx's ngx_command_t for
 * the command line.  The dispatcher parses the options and arguments
 * (--help, --json, --api and wrong flags alike everywhere) before run is
 * called; a group runs its sub command named by the next word.
 */
struct cli_cmd_s {
    const char        *name;        /* NULL ends a table */
    const char        *summary;
    const char        *usage;       /* the --help text */
    int                min_args;
    int                max_args;
    const cli_opt_t   *opts;        /* ended by a NULL name; or NULL */
    const char        *id_of;       /* args[0] must be the id of a ... */
    cli_cmd_pt         run;
    const cli_cmd_t   *sub;         /* a group: its commands, list first */
    const void        *data;        /* what run needs besides the args */
};

typedef struct {
    const char  *head;
    const char  *key;           /* "state", or a path: "team.name" */
} cli_col_t;

/* a growing NUL-terminated buffer (curl's answers) */
typedef struct {
    char    *data;
    size_t   len;
} cli_buf_t;

/* a command that lists every page of path as a table: its data */
typedef struct {
    const char       *path;
    const cli_col_t  *cols;
    size_t            ncols;
    const char       *empty;    /* said when there is nothing */
} cli_listing_t;


/* main.c */
const char *cli_opt(const cli_args_t *a, const char *name);
int cli_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cli_is_id(const char *s);
int cli_id_arg(const char *usage, const char *arg, const char *what,
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
int cli_buf_add(cli_buf_t *b, const char *ptr, size_t n, size_t max);
int cli_send(cli_t *cli, const char *method, const char *path, json_t *body,
    const char *what, json_t **out);
int cli_list(cli_t *cli, const char *path, json_t **out);
void cli_print_error(cli_t *cli, long status, json_t *res);
char *cli_escape(const char *s);
const char *cli_token(cli_t *cli);

/* output.c */
void cli_print_json(json_t *v);
int cli_done(cli_t *cli, json_t *res, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cli_deleted(cli_t *cli, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cli_table(json_t *items, const cli_col_t *cols, size_t ncols,
    const char *empty);
void cli_fields(json_t *obj, const cli_col_t *cols, size_t ncols);
const char *cli_str(json_t *obj, const char *key);
const char *cli_cell(json_t *obj, const char *key, char *buf, size_t len);
int cli_listing(cli_t *cli, cli_args_t *a);
void cli_print_list(cli_t *cli, json_t *items, const cli_col_t *cols,
    size_t ncols, const char *empty);
int cli_read_line(const char *prompt, int echo, char *buf, size_t len);
extern const cli_opt_t  cli_yes_opts[];    /* --yes */
int cli_delete_named(cli_t *cli, cli_args_t *a, json_t *obj,
    const char *kind, const char *with, const char *path);

/* the commands of each file, ended by a NULL name; main.c runs them */
extern const cli_cmd_t  cli_auth_cmds[];        /* signup ... whoami */
extern const cli_cmd_t  cli_projects_cmds[];    /* projects, (un)link */
extern const cli_cmd_t  cli_deploy_cmds[];      /* deploy ... cancel */
extern const cli_cmd_t  cli_logs_cmds[];
extern const cli_cmd_t  cli_env_cmds[];
extern const cli_cmd_t  cli_teams_cmds[];
extern const cli_cmd_t  cli_tokens_cmds[];

/* projects.c */
extern const cli_opt_t  cli_project_opts[];    /* --project NAME|ID */
int cli_project_current(cli_t *cli, const char *spec, json_t **out);
json_int_t cli_project_id(cli_t *cli, const char *spec);

/* deploy.c, logs.c */
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
