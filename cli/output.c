/*
 * output.c: what the CLI prints and reads at the terminal.
 *
 * Humans get tables whose columns are as wide as their widest cell, and
 * "label  value" blocks for one object; --json gets the API's own JSON,
 * indented, for scripts.  Cells come from JSON values by a key path
 * ("team.name"): null is "-", arrays are joined with commas.
 */

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"


#define CLI_CELL_MAX  64


void
cli_print_json(json_t *v)
{
    json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
    putchar('\n');
}


/*
 * How a command that changed something ends: its answer with --json, else
 * the line fmt says; res is freed.  CLI_EXIT_OK.
 */
int
cli_done(cli_t *cli, json_t *res, const char *fmt, ...)
{
    va_list  ap;

    if (cli->json) {
        cli_print_json(res);

    } else {
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
    }

    json_decref(res);
    return CLI_EXIT_OK;
}


/*
 * DELETE path, then the line fmt says (nothing with --json: the answer is
 * empty): the exit code.
 */
int
cli_deleted(cli_t *cli, const char *path, const char *fmt, ...)
{
    va_list   ap;
    json_t   *res;

    if (cli_api(cli, "DELETE", path, NULL, &res) != 0) {
        return CLI_EXIT_FAIL;
    }

    json_decref(res);

    if (!cli->json) {
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
    }

    return CLI_EXIT_OK;
}


static void
cli_scalar(json_t *v, char *buf, size_t len)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        snprintf(buf, len, "%s", json_string_value(v));
        break;
    case JSON_INTEGER:
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        snprintf(buf, len, "%g", json_real_value(v));
        break;
    case JSON_TRUE:
        snprintf(buf, len, "yes");
        break;
    case JSON_FALSE:
        snprintf(buf, len, "no");
        break;
    default:
        snprintf(buf, len, "-");
    }
}


/* the string at key of obj, or "-" when it is missing or null */
const char *
cli_str(json_t *obj, const char *key)
{
    const char  *s;

    s = json_string_value(json_object_get(obj, key));
    return s ? s : "-";
}


/* the value at a key path of obj as text, in buf (borrowed from it) */
const char *
cli_cell(json_t *obj, const char *key, char *buf, size_t len)
{
    char         part[128];
    size_t       n, i, used;
    json_t      *v, *item;
    const char  *dot;

    v = obj;
    while (v != NULL && *key != '\0') {
        dot = strchr(key, '.');
        n = dot ? (size_t) (dot - key) : strlen(key);
        snprintf(part, sizeof(part), "%.*s", (int) n, key);
        v = json_object_get(v, part);
        key += n + (dot ? 1 : 0);
    }

    if (!json_is_array(v)) {
        cli_scalar(v, buf, len);
        return buf;
    }

    used = 0;
    buf[0] = '\0';
    json_array_foreach(v, i, item) {
        if (used + 2 >= len) {
            break;
        }
        if (i > 0) {
            buf[used++] = ',';
        }
        cli_scalar(item, buf + used, len - used);
        used += strlen(buf + used);
    }

    return (used == 0) ? "-" : buf;
}


void
cli_table(json_t *items, const cli_col_t *cols, size_t ncols,
    const char *empty)
{
    size_t   i, c, w, *width;
    json_t  *item;
    char     buf[CLI_CELL_MAX + 1];

    if (json_array_size(items) == 0) {
        fprintf(stderr, "%s\n", empty);
        return;
    }

    width = calloc(ncols, sizeof(size_t));
    if (width == NULL) {
        fprintf(stderr, "shipoff: out of memory\n");
        return;
    }

    for (c = 0; c < ncols; c++) {
        width[c] = strlen(cols[c].head);
        json_array_foreach(items, i, item) {
            w = strlen(cli_cell(item, cols[c].key, buf, sizeof(buf)));
            width[c] = w > width[c] ? w : width[c];
        }
    }

    for (c = 0; c < ncols; c++) {
        printf("%-*s%s", c + 1 < ncols ? (int) width[c] : 0, cols[c].head,
               c + 1 < ncols ? "  " : "\n");
    }

    json_array_foreach(items, i, item) {
        for (c = 0; c < ncols; c++) {
            printf("%-*s%s", c + 1 < ncols ? (int) width[c] : 0,
                   cli_cell(item, cols[c].key, buf, sizeof(buf)),
                   c + 1 < ncols ? "  " : "\n");
        }
    }

    free(width);
}


/* a command whose data is a cli_listing_t: every page, as a table */
int
cli_listing(cli_t *cli, cli_args_t *a)
{
    json_t               *all;
    const cli_listing_t  *l = a->cmd->data;

    if (cli_list(cli, l->path, &all) != 0) {
        return CLI_EXIT_FAIL;
    }

    cli_print_list(cli, all, l->cols, l->ncols, l->empty);
    json_decref(all);
    return CLI_EXIT_OK;
}


/* items with --json, else as a table (empty: said when there are none) */
void
cli_print_list(cli_t *cli, json_t *items, const cli_col_t *cols,
    size_t ncols, const char *empty)
{
    if (cli->json) {
        cli_print_json(items);
    } else {
        cli_table(items, cols, ncols, empty);
    }
}


/* one object as "label  value" lines */
void
cli_fields(json_t *obj, const cli_col_t *cols, size_t ncols)
{
    size_t  c, w;
    char    buf[1024];

    w = 0;
    for (c = 0; c < ncols; c++) {
        w = strlen(cols[c].head) > w ? strlen(cols[c].head) : w;
    }

    for (c = 0; c < ncols; c++) {
        printf("%-*s  %s\n", (int) w, cols[c].head,
               cli_cell(obj, cols[c].key, buf, sizeof(buf)));
    }
}


/* the signal that interrupted a password prompt; the handler only sets it */
static volatile sig_atomic_t  cli_signal;


static void
cli_on_signal(int signo)
{
    cli_signal = signo;
}


/*
 * One line of stdin without its newline.  On a terminal the prompt is
 * shown on stderr and, for a password, echo is off while it is typed;
 * Ctrl-C then gives the terminal back with echo on before it ends us.
 */
int
cli_read_line(const char *prompt, int echo, char *buf, size_t len)
{
    int               quiet, rc;
    size_t            n;
    struct termios    old, noecho;
    struct sigaction  sa, old_int, old_term;

    rc = -1;
    quiet = 0;

    if (isatty(STDIN_FILENO)) {
        fprintf(stderr, "%s", prompt);
        fflush(stderr);
        quiet = !echo && tcgetattr(STDIN_FILENO, &old) == 0;
    }

    if (quiet) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = cli_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);

        noecho = old;
        noecho.c_lflag &= ~(tcflag_t) ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
    }

    if (fgets(buf, (int) len, stdin) != NULL) {
        n = strcspn(buf, "\r\n");
        buf[n] = '\0';
        rc = n > 0 ? 0 : -1;
    }

    if (quiet) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);

        if (cli_signal != 0) {
            memset(buf, 0, len);
            raise(cli_signal);
        }
    }

    return rc;
}


/* the options of a command that deletes with cli_delete_named() */
const cli_opt_t  cli_yes_opts[] = {
    { "yes", 'y', 0 },
    { NULL, 0, 0 }
};


/*
 * Deletes obj, a kind of thing ("team") at path, once its name is typed
 * (--yes skips the question, and is needed when nobody is at a terminal);
 * with: what goes with it.  The exit code.
 */
int
cli_delete_named(cli_t *cli, cli_args_t *a, json_t *obj, const char *kind,
    const char *with, const char *path)
{
    char         answer[256];
    const char  *name;

    name = json_string_value(json_object_get(obj, "name"));

    if (cli_opt(a, "yes") == NULL) {
        if (!isatty(STDIN_FILENO)) {
            return cli_usage_error(a->cmd->usage, "stdin is not a terminal: "
                                   "pass --yes to delete without a "
                                   "question");
        }

        fprintf(stderr, "This deletes %s %s with its %s.\n", kind,
                name ? name : "?", with);
        if (cli_read_line("Type its name to confirm: ", 1, answer,
                          sizeof(answer)) != 0
            || name == NULL || strcmp(answer, name) != 0)
        {
            fprintf(stderr, "shipoff: not deleted\n");
            return CLI_EXIT_FAIL;
        }
    }

    return cli_deleted(cli, path, "Deleted %s %s.\n", kind, name);
}
