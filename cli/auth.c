/*
 * auth.c: who the CLI acts as: signup, login, logout, whoami.
 *
 * A password login keeps the session's access and refresh tokens in the
 * configuration file; a token login keeps a personal token (sho_...)
 * instead, checked with GET /api/v1/me before it is saved.  Passwords are
 * read without echo on a terminal, or as one line of stdin otherwise
 * (--password-stdin, like docker login), never from the command line
 * where ps and the shell history would show them.
 */

#include <string.h>
#include <unistd.h>

#include "cli.h"


#define CLI_FIELD_MAX  1100     /* a password is at most 1024 bytes */


static int cli_keep(cli_t *cli, json_t *user, const char *email,
    const char *access, const char *refresh, const char *token);
static int cli_session(cli_t *cli, cli_args_t *a, const char *path,
    const char *name);
static int cli_signup(cli_t *cli, cli_args_t *a);
static int cli_login(cli_t *cli, cli_args_t *a);
static int cli_logout(cli_t *cli, cli_args_t *a);
static int cli_whoami(cli_t *cli, cli_args_t *a);


static const char  cli_login_usage[] =
    "usage: shipoff login [--email EMAIL] [--password-stdin]\n"
    "       shipoff login --token sho_...\n\n"
    "Logs in and keeps the credentials in ~/.config/shipoff/config.json\n"
    "(mode 0600).  The password is asked for without echo on a terminal,\n"
    "or read as one line of stdin:\n\n"
    "  echo \"$PASSWORD\" | shipoff login --email me@example.com "
    "--password-stdin\n\n"
    "options:\n"
    "  --email EMAIL      the account (asked for on a terminal)\n"
    "  --password-stdin   read the password from stdin\n"
    "  --token TOKEN      log in with a personal token (shipoff tokens "
    "create)\n";

static const char  cli_signup_usage[] =
    "usage: shipoff signup --email EMAIL [--name NAME] [--password-stdin]\n\n"
    "Creates an account (the password needs 8 characters or more) and\n"
    "logs in with it.\n\n"
    "options:\n"
    "  --email EMAIL      the account's email\n"
    "  --name NAME        your name\n"
    "  --password-stdin   read the password from stdin\n";

static const char  cli_logout_usage[] =
    "usage: shipoff logout\n\n"
    "Ends the session on the server and forgets the stored credentials.\n"
    "A personal token is only forgotten: revoke it with shipoff tokens "
    "revoke.\n";

static const char  cli_whoami_usage[] =
    "usage: shipoff whoami [--json]\n\n"
    "Shows the account the CLI acts as, and with which credential.\n";


static const cli_opt_t  cli_login_opts[] = {
    { "email", 'e', 1 },
    { "token", 0, 1 },
    { "password-stdin", 0, 0 },
    { NULL, 0, 0 }
};

static const cli_opt_t  cli_signup_opts[] = {
    { "email", 0, 1 },
    { "name", 0, 1 },
    { "password-stdin", 0, 0 },
    { NULL, 0, 0 }
};

const cli_cmd_t  cli_auth_cmds[] = {
    { "signup", "create an account and log in", cli_signup_usage, 0, 0,
      cli_signup_opts, NULL, cli_signup, NULL, NULL },
    { "login", "log in with a password or a token", cli_login_usage, 0, 0,
      cli_login_opts, NULL, cli_login, NULL, NULL },
    { "logout", "end the session, forget credentials", cli_logout_usage, 0,
      0, NULL, NULL, cli_logout, NULL, NULL },
    { "whoami", "show who you are logged in as", cli_whoami_usage, 0, 0,
      NULL, NULL, cli_whoami, NULL, NULL },
    { NULL }
};


/*
 * Keeps whom the CLI acts for: the API, the account's email and either a
 * session's pair (access, refresh) or a personal token, forgetting the
 * other kind; then says so (the user itself with --json).  The exit code.
 */
static int
cli_keep(cli_t *cli, json_t *user, const char *email, const char *access,
    const char *refresh, const char *token)
{
    if (cli_config_set(cli, "api", cli->api) != 0
        || cli_config_set(cli, "email", email) != 0
        || cli_config_set(cli, "access_token", access) != 0
        || cli_config_set(cli, "refresh_token", refresh) != 0
        || cli_config_set(cli, "token", token) != 0
        || cli_config_save(cli) != 0)
    {
        return CLI_EXIT_FAIL;
    }

    if (cli->json) {
        cli_print_json(user);
    } else {
        printf("Logged in as %s%s.\n", cli_config_get(cli, "email"),
               token ? " with a personal token" : "");
    }

    return CLI_EXIT_OK;
}


/*
 * POST path (login, signup) with --email and a password; saves the
 * session it gives
 */
static int
cli_session(cli_t *cli, cli_args_t *a, const char *path, const char *name)
{
    int          rc;
    char         email_buf[CLI_FIELD_MAX], pw[CLI_FIELD_MAX];
    json_t      *body, *res;
    const char  *email, *access, *refresh;

    rc = CLI_EXIT_FAIL;
    body = NULL;
    res = NULL;
    email = cli_opt(a, "email");

    if (email == NULL) {
        if (!isatty(STDIN_FILENO)) {
            rc = cli_usage_error(a->cmd->usage, "--email is needed when stdin "
                                 "is not a terminal");
            goto done;
        }
        if (cli_read_line("Email: ", 1, email_buf, sizeof(email_buf)) != 0) {
            fprintf(stderr, "shipoff: no email given\n");
            goto done;
        }
        email = email_buf;
    }

    if (cli_read_line("Password: ", 0, pw, sizeof(pw)) != 0) {
        fprintf(stderr, "shipoff: no password given\n");
        goto done;
    }

    body = json_pack("{s:s, s:s}", "email", email, "password", pw);
    memset(pw, 0, sizeof(pw));
    if (body == NULL
        || (name != NULL
            && json_object_set_new(body, "name", json_string(name)) != 0))
    {
        fprintf(stderr, "shipoff: the email or name is not valid UTF-8\n");
        goto done;
    }

    if (cli_api(cli, "POST", path, body, &res) != 0) {
        goto done;
    }

    access = json_string_value(json_object_get(res, "access_token"));
    refresh = json_string_value(json_object_get(res, "refresh_token"));
    if (access == NULL || refresh == NULL) {
        fprintf(stderr, "shipoff: the server answered without tokens\n");
        goto done;
    }

    rc = cli_keep(cli, json_object_get(res, "user"),
                  cli_cell(res, "user.email", pw, sizeof(pw)), access, refresh,
                  NULL);

done:

    memset(pw, 0, sizeof(pw));
    json_decref(body);
    json_decref(res);
    return rc;
}


static int
cli_signup(cli_t *cli, cli_args_t *a)
{
    return cli_session(cli, a, "/auth/v1/signup", cli_opt(a, "name"));
}


static int
cli_login(cli_t *cli, cli_args_t *a)
{
    int          rc;
    long         status;
    json_t      *me;
    const char  *token;

    token = cli_opt(a, "token");
    if (token == NULL) {
        return cli_session(cli, a, "/auth/v1/login", NULL);
    }

    if (cli_opt(a, "email") != NULL || cli_opt(a, "password-stdin") != NULL) {
        return cli_usage_error(cli_login_usage, "--token goes alone, "
                               "without --email or --password-stdin");
    }

    /* the token is checked before it is kept */
    cli->env_token = token;
    if (cli_call(cli, "GET", "/api/v1/me", NULL, &status, &me) != 0) {
        return CLI_EXIT_FAIL;
    }

    if (status != 200) {
        if (status == 401) {
            fprintf(stderr, "shipoff: the token was refused: it is wrong, "
                    "expired or revoked (unauthorized)\n");
        } else {
            cli_print_error(cli, status, me);
        }
        json_decref(me);
        return CLI_EXIT_FAIL;
    }

    rc = cli_keep(cli, me, json_string_value(json_object_get(me, "email")),
                  NULL, NULL, token);
    json_decref(me);
    return rc;
}


static int
cli_logout(cli_t *cli, cli_args_t *a)
{
    json_t       *body, *res;
    const char   *refresh;

    refresh = cli_config_get(cli, "refresh_token");
    if (refresh != NULL) {
        body = json_pack("{s:s}", "refresh_token", refresh);
        if (body == NULL
            || cli_api(cli, "POST", "/auth/v1/logout", body, &res) != 0)
        {
            fprintf(stderr, "shipoff: the session could not be ended on "
                    "the server; forgetting it here anyway\n");
            res = NULL;
        }
        json_decref(body);
        json_decref(res);

    } else if (cli_config_get(cli, "token") != NULL) {
        fprintf(stderr, "The personal token stays valid until it is "
                "revoked (shipoff tokens revoke ID).\n");
    }

    cli_config_set(cli, "access_token", NULL);
    cli_config_set(cli, "refresh_token", NULL);
    cli_config_set(cli, "token", NULL);
    cli_config_set(cli, "email", NULL);

    if (cli_config_save(cli) != 0) {
        return CLI_EXIT_FAIL;
    }

    if (cli->env_token != NULL) {
        fprintf(stderr, "SHIPOFF_TOKEN is set: commands still use it.\n");
    }

    if (!cli->json) {
        printf("Logged out.\n");
    }
    return CLI_EXIT_OK;
}


static int
cli_whoami(cli_t *cli, cli_args_t *a)
{
    json_t       *me;
    const char   *via;

    if (cli_api(cli, "GET", "/api/v1/me", NULL, &me) != 0) {
        return CLI_EXIT_FAIL;
    }

    if (cli->json) {
        cli_print_json(me);

    } else {
        via = cli->env_token ? "SHIPOFF_TOKEN"
              : cli_config_get(cli, "token") ? "a personal token"
              : "a password login";
        printf("%s (%s), user %" JSON_INTEGER_FORMAT ", via %s, on %s\n",
               cli_str(me, "email"),
               cli_str(me, "name"),
               json_integer_value(json_object_get(me, "id")), via,
               cli->api);
    }

    json_decref(me);
    return CLI_EXIT_OK;
}
