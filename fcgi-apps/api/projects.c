/*
 * projects.c: /api/v1/projects: create, list, read, change and delete
 * projects, rotate their webhook secret, and /api/v1/domains/check.
 *
 * A project's settings go through one table of fields (api_project_fields)
 * both on create and on PATCH: each field's size, whether null clears it,
 * and its rule.  What passes is gathered into one JSON object that the
 * INSERT or UPDATE reads with ->> (one parameter, no SQL built from
 * input); on PATCH a key absent from it leaves the column alone.
 *
 * The webhook secret is made here, sealed at once (so_project.h) and shown
 * in the answer of the request that made it, never again.  Creating a
 * project from a github.com repository by a user signed in with GitHub
 * also registers the webhook on GitHub (github.c); a failure there is kept
 * on the project, not fatal.
 *
 * Whoever sets repo_url (create, or a PATCH that names it, even with the
 * same value) is recorded in repo_url_set_by: builds clone with a user's
 * GitHub token only for a repository that user, as the owner, set
 * (builder/source.c).  A repository changed by a member stops using the
 * owner's token until the owner saves repo_url again.
 *
 * DELETE removes the rows (deployments, grants and env vars cascade) and
 * then tells the builder, through the Redis stream shipoff:events
 * ("type project_deleted project <id> name <name>"), to stop the app and
 * remove its artifacts and routes.  The database is the truth: an event
 * lost while Redis is down is found again by the builder's reconciler
 * (a route or artifact without a project).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "shipoff.h"
#include "so_account.h"
#include "so_auth.h"
#include "so_authz.h"
#include "so_crypto.h"
#include "so_fetch.h"
#include "so_input.h"
#include "so_log.h"
#include "so_page.h"
#include "so_project.h"
#include "so_repo.h"


#define API_F_NULLABLE  0x01        /* PATCH: null clears it */
#define API_F_REQUIRED  0x02        /* on create */
#define API_F_EMPTY     0x04        /* "" is a value */

/* the longest ?q= of the projects list, in bytes */
#define API_PROJECT_Q_MAX  100

typedef struct {
    const char    *name;
    size_t         max;             /* characters */
    unsigned       flags;
    api_rule_pt    rule;
} api_field_t;

/* the columns of a project, p */
#define API_PROJECT_COLS                                                     \
    "p.id, p.name, p.owner_user_id, p.owner_team_id, p.repo_url,"           \
    " p.branch, p.root_dir, p.kind, p.framework, p.runtime,"                \
    " p.install_cmd, p.build_cmd, p.run_cmd, p.output_dir,"                 \
    " p.health_path, p.github_hook_id, p.github_hook_error, "               \
    SO_SQL_TIME("p.created_at") ", " SO_SQL_TIME("p.updated_at") ","       \
    " p.repo_url_set_by"

/* the settings columns, in the order of API_PROJECT_COLS from 4 */
static const char *const  api_project_settings[] = {
    "repo_url", "branch", "root_dir", "kind", "framework", "runtime",
    "install_cmd", "build_cmd", "run_cmd", "output_dir", "health_path"
};

/* a project the caller ($1) may READ: owner, team, grant, linked team */
#define API_PROJECT_READABLE                                                 \
    " (p.owner_user_id = $1"                                                 \
    " OR EXISTS (SELECT 1 FROM team_members m"                               \
    "  WHERE m.team_id = p.owner_team_id AND m.user_id = $1)"                \
    " OR EXISTS (SELECT 1 FROM project_members g"                            \
    "  WHERE g.project_id = p.id AND g.user_id = $1"                         \
    "  AND 'READ' = ANY (g.scopes))"                                         \
    " OR EXISTS (SELECT 1 FROM project_teams t"                              \
    "  JOIN team_members m ON m.team_id = t.team_id"                         \
    "  WHERE t.project_id = p.id AND m.user_id = $1"                         \
    "  AND 'READ' = ANY (t.scopes)))"

/* PATCH: a column takes the value when its key is present */
#define API_SET(col)                                                         \
    " " col " = CASE WHEN v ? '" col "' THEN v->>'" col "' ELSE p." col " END,"


static int api_rule_name(const char *s, const char **reason);
static int api_rule_kind(const char *s, const char **reason);
static int api_rule_framework(const char *s, const char **reason);
static int api_rule_runtime(const char *s, const char **reason);
static int api_rule_cmd(const char *s, const char **reason);
static int api_rule_health(const char *s, const char **reason);
static int api_project_input(so_req_t *r, json_t *body, int create,
    json_t **out, so_repo_url_t *repo);
static int api_project_free_name(so_req_t *r, const char *name,
    const char *except, const char **reason);
static json_t *api_project_json(so_req_t *r, const PGresult *res, int row);
static int api_project_quota(so_req_t *r, long long user, long long team);
static int api_project_team(so_req_t *r, json_t *body, long long *team,
    char *teamarg, size_t len);
static int api_project_insert(so_req_t *r, json_t *v, const char *teamarg,
    char *secret, long long *id);


static const api_field_t  api_project_fields[] = {
    { "name", SO_PROJECT_NAME_MAX, API_F_REQUIRED, api_rule_name },
    { "repo_url", SO_REPO_URL_MAX, API_F_REQUIRED, NULL },
    { "branch", 255, 0, api_rule_branch },
    { "root_dir", 255, API_F_EMPTY, api_rule_dir },
    { "kind", 16, 0, api_rule_kind },
    { "framework", 64, API_F_NULLABLE, api_rule_framework },
    { "runtime", 16, API_F_NULLABLE, api_rule_runtime },
    { "install_cmd", 1024, API_F_NULLABLE, api_rule_cmd },
    { "build_cmd", 1024, API_F_NULLABLE, api_rule_cmd },
    { "run_cmd", 1024, API_F_NULLABLE, api_rule_cmd },
    { "output_dir", 255, API_F_NULLABLE, api_rule_dir },
    { "health_path", 255, API_F_NULLABLE, api_rule_health },
};


static int
api_rule_name(const char *s, const char **reason)
{
    return so_project_name_check(s, reason);
}


/* a git branch name, as git check-ref-format would take it, minus exotica */
int
api_rule_branch(const char *s, const char **reason)
{
    size_t  len;

    len = strlen(s);

    if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789._/-") != len
        || s[0] == '-' || s[0] == '/' || s[0] == '.' || s[len - 1] == '/'
        || s[len - 1] == '.' || strstr(s, "..") != NULL
        || strstr(s, "//") != NULL || strstr(s, "/.") != NULL
        || (len >= 5 && strcmp(s + len - 5, ".lock") == 0))
    {
        *reason = "must be a valid git branch name";
        return SO_EINVAL;
    }

    return SO_OK;
}


int
api_rule_dir(const char *s, const char **reason)
{
    const char  *seg;
    size_t       n;

    if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789._/-") != strlen(s) || s[0] == '/')
    {
        *reason = "must be a relative path of letters, digits, . _ - /";
        return SO_EINVAL;
    }

    for (seg = s; *seg != '\0'; seg += n + (seg[n] == '/')) {
        n = strcspn(seg, "/");
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            *reason = "may not leave the repository (..)";
            return SO_EINVAL;
        }
    }

    return SO_OK;
}


int
api_input_rule(so_req_t *r, json_t *body, const char *name, size_t min,
    size_t max, api_rule_pt rule, const char **out)
{
    const char  *s, *reason;
    size_t       len;
    char         msg[SO_ERRLEN];
    int          rc;

    rc = so_input_string(r, body, name, 0, min, max, &s, &len);
    if (rc == SO_ENOTFOUND) {
        return SO_OK;
    }
    if (rc != SO_OK) {
        return rc;
    }

    if (rule(s, &reason) != SO_OK) {
        snprintf(msg, sizeof(msg), "%s %s", name, reason);
        so_req_error(r, 422, "validation_failed", msg, name);
        return SO_EINVAL;
    }

    *out = s;
    return SO_OK;
}


static int
api_rule_kind(const char *s, const char **reason)
{
    if (strcmp(s, "auto") != 0 && strcmp(s, "static") != 0
        && strcmp(s, "dynamic") != 0)
    {
        *reason = "must be \"auto\", \"static\" or \"dynamic\"";
        return SO_EINVAL;
    }

    return SO_OK;
}


static int
api_rule_framework(const char *s, const char **reason)
{
    if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != strlen(s)) {
        *reason = "may hold only a-z, 0-9, '.', '-' and '_'";
        return SO_EINVAL;
    }

    return SO_OK;
}


static int
api_rule_runtime(const char *s, const char **reason)
{
    if (strcmp(s, "node") != 0 && strcmp(s, "python") != 0
        && strcmp(s, "php") != 0)
    {
        *reason = "must be \"node\", \"python\" or \"php\"";
        return SO_EINVAL;
    }

    return SO_OK;
}


/* a shell command line: one line of printable characters */
static int
api_rule_cmd(const char *s, const char **reason)
{
    for ( /* void */ ; *s != '\0'; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f) {
            *reason = "must be one line without control characters";
            return SO_EINVAL;
        }
    }

    return SO_OK;
}


static int
api_rule_health(const char *s, const char **reason)
{
    if (s[0] != '/') {
        *reason = "must start with /";
        return SO_EINVAL;
    }

    for ( /* void */ ; *s != '\0'; s++) {
        if ((unsigned char) *s <= 0x20 || (unsigned char) *s >= 0x7f) {
            *reason = "must be printable ASCII without spaces";
            return SO_EINVAL;
        }
    }

    return SO_OK;
}


/*
 * Checks every settings field of body: 0 with *out the validated ones (a
 * JSON object; null where a field is cleared) and *repo the parsed
 * repo_url when one was given; else answered 422.
 */
static int
api_project_input(so_req_t *r, json_t *body, int create, json_t **out,
    so_repo_url_t *repo)
{
    const api_field_t  *f;
    const char         *s, *reason;
    json_t             *v, *in;
    size_t              i, len;
    char                msg[SO_ERRLEN], why[SO_ERRLEN];
    int                 rc;

    *out = NULL;
    memset(repo, 0, sizeof(*repo));

    v = json_object();
    if (v == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        return SO_ERR;
    }

    for (i = 0; i < so_nelems(api_project_fields); i++) {
        f = &api_project_fields[i];
        in = json_object_get(body, f->name);

        if (in != NULL && json_is_null(in) && !create
            && (f->flags & API_F_NULLABLE))
        {
            json_object_set_new(v, f->name, json_null());
            continue;
        }

        if (!create && in != NULL && json_is_null(in)) {
            snprintf(msg, sizeof(msg), "%s cannot be null", f->name);
            so_req_error(r, 422, "validation_failed", msg, f->name);
            goto failed;
        }

        rc = so_input_string(r, body, f->name,
                             create && (f->flags & API_F_REQUIRED),
                             (f->flags & API_F_EMPTY) ? 0 : 1, f->max,
                             &s, &len);
        if (rc == SO_ENOTFOUND) {
            continue;
        }
        if (rc != SO_OK) {
            goto failed;
        }

        reason = NULL;

        if (f->rule != NULL) {
            rc = f->rule(s, &reason);

        } else {
            rc = so_repo_check(repo, r->cfg, s, why, sizeof(why));
            reason = why;
        }

        if (rc != SO_OK) {
            snprintf(msg, sizeof(msg), "%s %s", f->name, reason);
            so_req_error(r, 422, "validation_failed", msg, f->name);
            goto failed;
        }

        json_object_set_new(v, f->name, json_stringn(s, len));
    }

    *out = v;
    return SO_OK;

failed:

    json_decref(v);
    return SO_EINVAL;
}


/*
 * 0 when name is free (or the project except's own), SO_EEXISTS when
 * taken, SO_EINVAL when against the rules (*reason), or answered.
 */
static int
api_project_free_name(so_req_t *r, const char *name, const char *except,
    const char **reason)
{
    PGresult    *res;
    int          rc;

    if (so_project_name_check(name, reason) != SO_OK) {
        return SO_EINVAL;
    }

    res = so_req_query(r, "api_project_name_taken",
                       "SELECT 1 FROM projects WHERE name = $1"
                       " AND id IS DISTINCT FROM $2::bigint",
                       SO_PG_PARAMS(name, except));
    if (res == NULL) {
        return SO_ERR;
    }

    rc = PQntuples(res) > 0 ? SO_EEXISTS : SO_OK;
    *reason = rc == SO_EEXISTS ? "is taken" : NULL;
    PQclear(res);

    return rc;
}


/* http://<name>.<apps_domain>[:<public_url's port>] */
int
api_project_url(char *out, size_t len, const so_config_t *cfg,
    const char *name)
{
    const char  *host, *port, *scheme;
    size_t       hostlen;
    int          n;

    scheme = strncmp(cfg->public_url, "https://", 8) == 0 ? "https" : "http";
    host = strstr(cfg->public_url, "://");
    host = host != NULL ? host + 3 : cfg->public_url;
    hostlen = strcspn(host, "/");

    /* the last ':' of the host part, after any "[v6]" */
    port = NULL;
    for (n = (int) hostlen - 1; n >= 0 && host[n] != ']'; n--) {
        if (host[n] == ':') {
            port = host + n;
            break;
        }
    }

    n = snprintf(out, len, "%s://%s.%s%.*s", scheme, name, cfg->apps_domain,
                 port != NULL ? (int) (host + hostlen - port) : 0,
                 port != NULL ? port : "");

    return n > 0 && (size_t) n < len ? SO_OK : SO_ETOOBIG;
}


static json_t *
api_project_json(so_req_t *r, const PGresult *res, int row)
{
    json_t  *j, *owner, *hook;
    size_t   i;
    char     url[512], hookurl[512];
    int      team;

    team = PQgetisnull(res, row, 2);

    owner = json_pack("{s:s, s:I}", "type", team ? "team" : "user",
                      "id", (json_int_t) strtoll(
                          PQgetvalue(res, row, team ? 3 : 2), NULL, 10));

    hook = json_pack("{s:o, s:o}",
                     "id", PQgetisnull(res, row, 15) ? json_null()
                           : json_integer(strtoll(PQgetvalue(res, row, 15),
                                                  NULL, 10)),
                     "error", PQgetisnull(res, row, 16) ? json_null()
                              : json_string(PQgetvalue(res, row, 16)));

    if (api_project_url(url, sizeof(url), r->cfg, PQgetvalue(res, row, 1))
        != SO_OK)
    {
        url[0] = '\0';
    }

    snprintf(hookurl, sizeof(hookurl), "%s/hooks/github", r->cfg->public_url);

    j = json_pack("{s:I, s:s, s:s, s:o, s:s, s:o, s:s, s:s}",
                  "id", (json_int_t) strtoll(PQgetvalue(res, row, 0), NULL,
                                             10),
                  "name", PQgetvalue(res, row, 1),
                  "url", url,
                  "owner", owner,
                  "webhook_url", hookurl,
                  "github_hook", hook,
                  "created_at", PQgetvalue(res, row, 17),
                  "updated_at", PQgetvalue(res, row, 18));
    if (j == NULL) {
        return NULL;
    }

    json_object_set_new(j, "repo_url_set_by", PQgetisnull(res, row, 19)
                        ? json_null()
                        : json_integer(strtoll(PQgetvalue(res, row, 19),
                                               NULL, 10)));

    for (i = 0; i < so_nelems(api_project_settings); i++) {
        json_object_set_new(j, api_project_settings[i],
                            PQgetisnull(res, row, (int) i + 4) ? json_null()
                            : json_string(PQgetvalue(res, row,
                                                     (int) i + 4)));
    }

    return j;
}


void
api_project_answer(so_req_t *r, int status, const char *id,
    const char *secret)
{
    PGresult    *res;
    json_t      *j;

    j = NULL;

    res = api_query_one(r, "api_project_get",
                        "SELECT " API_PROJECT_COLS " FROM projects p"
                        " WHERE p.id = $1",
                        SO_PG_PARAMS(id), "no such project");
    if (res == NULL) {
        goto done;
    }

    j = api_project_json(r, res, 0);
    if (j == NULL
        || (secret != NULL
            && json_object_set_new(j, "webhook_secret",
                                   json_string(secret)) != 0))
    {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    so_req_json(r, status, j);
    j = NULL;

done:

    json_decref(j);
    PQclear(res);
}


/*
 * In the create's transaction: the account (team, else user) is locked and
 * may own one more project; else answered 422 quota_exceeded.
 */
static int
api_project_quota(so_req_t *r, long long user, long long team)
{
    so_quota_account_t  account;
    so_quota_t          q;
    long long           usage[SO_QUOTA_ACCOUNT_N];
    int                 rc;

    account.user = team == 0 ? user : 0;
    account.team = team;

    rc = so_quota_lock(r->pg, &account);
    if (rc == SO_OK) {
        rc = so_quota_usage(usage, r->pg, &account, 0);
    }
    if (rc != SO_OK) {
        so_req_fail(r, rc);
        return rc;
    }

    rc = so_quota_over(&q, SO_QUOTA_PROJECTS, r->cfg->quota_projects,
                       usage[SO_QUOTA_PROJECTS], 1);
    if (rc == SO_EQUOTA) {
        api_quota_error(r, 422, &q);
    }

    return rc;
}


/*
 * The team of a new project, from its "team_id" (0: the caller's own); a
 * team the caller may not create in is answered as no such team.
 */
static int
api_project_team(so_req_t *r, json_t *body, long long *team, char *teamarg,
    size_t len)
{
    int  rc;

    *team = 0;

    rc = so_input_int(r, body, "team_id", 0, 1, 0x7fffffffffffffffLL, team);
    if (rc == SO_EINVAL) {
        return SO_EINVAL;
    }

    if (*team == 0) {
        return SO_OK;
    }

    snprintf(teamarg, len, "%lld", *team);

    return so_authz(r, &r->principal, SO_OBJ_TEAM, teamarg,
                    SO_NEED_WRITE | SO_NEED_MEMBER, team, NULL);
}


/*
 * A new project's row from its settings v, in the caller's transaction:
 * its id, and its webhook secret into secret (the row keeps it sealed);
 * teamarg: its team, NULL for the caller's own.  Answered on error.
 */
static int
api_project_insert(so_req_t *r, json_t *v, const char *teamarg,
    char *secret, long long *id)
{
    PGresult    *res;
    char        *settings, *sealed, id_s[24];
    int          rc;

    res = NULL;
    settings = NULL;
    sealed = NULL;
    rc = SO_ERR;

    res = so_pg_query(r->pg, "api_project_nextval",
                      "SELECT nextval(pg_get_serial_sequence('projects',"
                      " 'id'))", 0, NULL);
    if (res == NULL || PQntuples(res) != 1) {
        so_req_pg_error(r, "api_project_nextval");
        goto done;
    }
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    res = NULL;

    if (so_project_webhook_new(secret, &sealed, r->cfg, *id) != SO_OK) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    settings = json_dumps(v, JSON_COMPACT);
    if (settings == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    snprintf(id_s, sizeof(id_s), "%lld", *id);

    res = so_pg_query(r->pg, "api_project_create",
                      "INSERT INTO projects (id, name, owner_user_id,"
                      " owner_team_id, repo_url, branch, root_dir, kind,"
                      " framework, runtime, install_cmd, build_cmd,"
                      " run_cmd, output_dir, health_path,"
                      " webhook_secret_enc, repo_url_set_by)"
                      " OVERRIDING SYSTEM VALUE"
                      " SELECT $1, v->>'name', $2, $3, v->>'repo_url',"
                      " COALESCE(v->>'branch', 'main'),"
                      " COALESCE(v->>'root_dir', ''),"
                      " COALESCE(v->>'kind', 'auto'), v->>'framework',"
                      " v->>'runtime', v->>'install_cmd', v->>'build_cmd',"
                      " v->>'run_cmd', v->>'output_dir', v->>'health_path',"
                      " $5, $6 FROM (SELECT $4::jsonb AS v) s",
                      SO_PG_PARAMS(id_s, teamarg == NULL ? r->uids : NULL,
                                   teamarg, settings, sealed, r->uids));
    if (res == NULL) {
        if (strcmp(so_pg_sqlstate(r->pg), "23505") == 0) {
            so_req_error(r, 409, "name_taken", "name is taken", "name");
            goto done;
        }
        so_req_pg_error(r, "api_project_create");
        goto done;
    }

    rc = SO_OK;

done:

    free(sealed);
    free(settings);
    PQclear(res);
    return rc;
}


void
api_projects_create(so_req_t *r)
{
    static const char *const  fields[] = {
        "name", "repo_url", "branch", "root_dir", "kind", "framework",
        "runtime", "install_cmd", "build_cmd", "run_cmd", "output_dir",
        "health_path", "team_id", NULL
    };
    so_repo_url_t             repo;
    json_t                   *body, *v;
    const char               *reason;
    char                      teamarg[24], id_s[24];
    char                      secret[SO_PROJECT_SECRET_LEN];
    long long                 team, id;
    int                       rc, tx;

    body = NULL;
    v = NULL;
    secret[0] = '\0';
    team = 0;
    tx = 0;

    if (so_req_read_json(r, &body) != SO_OK
        || so_input_known(r, body, fields) != SO_OK
        || api_project_input(r, body, 1, &v, &repo) != SO_OK)
    {
        goto done;
    }

    if (api_project_team(r, body, &team, teamarg, sizeof(teamarg))
        != SO_OK)
    {
        goto done;
    }

    rc = api_project_free_name(r, json_string_value(json_object_get(v,
                               "name")), NULL, &reason);
    if (rc == SO_EEXISTS) {
        so_req_error(r, 409, "name_taken", "name is taken", "name");
        goto done;
    }
    if (rc != SO_OK) {
        goto done;
    }

    /* counted and created under the account's lock: two creates of one
       account cannot both take its last project */
    if (so_pg_tx(r->pg, "BEGIN") != SO_OK) {
        so_req_fail(r, SO_EUNAVAIL);
        goto done;
    }
    tx = 1;

    if (api_project_quota(r, r->principal.user_id, team) != SO_OK) {
        goto done;
    }

    if (api_project_insert(r, v, team == 0 ? NULL : teamarg, secret, &id)
        != SO_OK)
    {
        goto done;
    }

    tx = 0;
    if (so_pg_tx(r->pg, "COMMIT") != SO_OK) {
        so_req_fail(r, SO_EUNAVAIL);
        goto done;
    }

    snprintf(id_s, sizeof(id_s), "%lld", id);
    so_log_info(r->path, "project=%lld name=%s user=%lld: created", id,
                json_string_value(json_object_get(v, "name")),
                r->principal.user_id);

    if (repo.owner[0] != '\0') {
        api_hookreg_create(r, r->principal.user_id, id, &repo, secret);
    }

    api_project_answer(r, 201, id_s, secret);

done:

    if (tx) {
        (void) so_pg_tx(r->pg, "ROLLBACK");
    }

    so_wipe(secret, sizeof(secret));
    json_decref(v);
    json_decref(body);
}


void
api_projects_list(so_req_t *r)
{
    so_page_t        page;
    PGresult        *res;
    char             q[API_PROJECT_Q_MAX + 1];
    int              rc;

    res = NULL;

    if (so_page_read(r, &page) != SO_OK) {
        goto done;
    }

    /* ?q= keeps the projects whose name or repository URL holds it */
    rc = so_fetch_form_get(q, sizeof(q), r->query, "q");
    if (rc == SO_ENOTFOUND) {
        q[0] = '\0';

    } else if (rc != SO_OK) {
        so_req_error(r, 422, "validation_failed",
                     "q must be text of at most 100 bytes", "q");
        goto done;
    }

    res = so_req_query(r, "api_project_list",
                       "SELECT " API_PROJECT_COLS " FROM projects p"
                       " WHERE p.id > $2 AND" API_PROJECT_READABLE
                       " AND ($4 = '' OR strpos(p.name, lower($4)) > 0"
                       " OR strpos(lower(p.repo_url), lower($4)) > 0)"
                       " ORDER BY p.id LIMIT $3",
                       SO_PG_PARAMS(r->uids, page.afters, page.limit1, q));
    if (res == NULL) {
        goto done;
    }

    so_page_respond(r, &page, res, api_project_json);

done:

    PQclear(res);
}


void
api_projects_get(so_req_t *r)
{
    api_project_answer(r, 200, r->ids, NULL);
}


void
api_projects_update(so_req_t *r)
{
    static const char *const  fields[] = {
        "name", "repo_url", "branch", "root_dir", "kind", "framework",
        "runtime", "install_cmd", "build_cmd", "run_cmd", "output_dir",
        "health_path", NULL
    };
    so_repo_url_t             repo;
    PGresult                 *res;
    json_t                   *body, *v, *name;
    const char               *reason;
    char                     *settings;
    int                       rc;

    res = NULL;
    body = NULL;
    v = NULL;
    settings = NULL;

    if (so_req_read_json(r, &body) != SO_OK
        || so_input_known(r, body, fields) != SO_OK
        || api_project_input(r, body, 0, &v, &repo) != SO_OK)
    {
        goto done;
    }

    name = json_object_get(v, "name");
    if (name != NULL) {
        rc = api_project_free_name(r, json_string_value(name), r->ids,
                                   &reason);
        if (rc == SO_EEXISTS) {
            so_req_error(r, 409, "name_taken", "name is taken", "name");
            goto done;
        }
        if (rc != SO_OK) {
            goto done;
        }
    }

    settings = json_dumps(v, JSON_COMPACT);
    if (settings == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    /* whoever sets repo_url answers for it (builder/source.c) */
    res = so_pg_query(r->pg, "api_project_update",
                      "UPDATE projects p SET"
                      API_SET("name") API_SET("repo_url") API_SET("branch")
                      API_SET("root_dir") API_SET("kind")
                      API_SET("framework") API_SET("runtime")
                      API_SET("install_cmd") API_SET("build_cmd")
                      API_SET("run_cmd") API_SET("output_dir")
                      API_SET("health_path")
                      " repo_url_set_by = CASE WHEN v ? 'repo_url'"
                      " THEN $3::bigint ELSE p.repo_url_set_by END,"
                      " updated_at = now()"
                      " FROM (SELECT $2::jsonb AS v) s WHERE p.id = $1",
                      SO_PG_PARAMS(r->ids, settings, r->uids));
    if (res == NULL) {
        if (strcmp(so_pg_sqlstate(r->pg), "23505") == 0) {
            so_req_error(r, 409, "name_taken", "name is taken", "name");
            goto done;
        }
        so_req_pg_error(r, "api_project_update");
        goto done;
    }

    so_log_info(r->path, "project=%s user=%lld: changed", r->ids,
                r->principal.user_id);

    api_project_answer(r, 200, r->ids, NULL);

done:

    free(settings);
    PQclear(res);
    json_decref(v);
    json_decref(body);
}


void
api_projects_delete(so_req_t *r)
{
    PGresult    *res;
    redisReply  *reply;
    const char  *argv[9];

    res = NULL;
    reply = NULL;

    res = api_query_one(r, "api_project_delete",
                        "DELETE FROM projects WHERE id = $1 RETURNING name",
                        SO_PG_PARAMS(r->ids), "no such project");
    if (res == NULL) {
        goto done;
    }

    so_log_info(r->path, "project=%s name=%s user=%lld: deleted", r->ids,
                PQgetvalue(res, 0, 0), r->principal.user_id);

    argv[0] = "XADD";
    argv[1] = "shipoff:events";
    argv[2] = "*";
    argv[3] = "type";
    argv[4] = "project_deleted";
    argv[5] = "project";
    argv[6] = r->ids;
    argv[7] = "name";
    argv[8] = PQgetvalue(res, 0, 0);

    reply = so_redis_command(r->redis, 9, argv, NULL);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        so_log_error(r->path, "project=%s: XADD shipoff:events: %s "
                     "(the builder's reconciler cleans up)", r->ids,
                     reply != NULL ? reply->str
                                   : so_redis_errstr(r->redis));
    }

    api_no_content(r);

done:

    if (reply != NULL) {
        freeReplyObject(reply);
    }
    PQclear(res);
}


void
api_projects_webhook_secret(so_req_t *r)
{
    json_t      *j;
    char        *sealed, hookurl[512];
    char         secret[SO_PROJECT_SECRET_LEN];

    sealed = NULL;
    secret[0] = '\0';

    if (so_project_webhook_new(secret, &sealed, r->cfg, r->id) != SO_OK) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    if (api_exec_one(r, "api_project_webhook_rotate",
                     "UPDATE projects SET webhook_secret_enc = $2,"
                     " updated_at = now() WHERE id = $1",
                     SO_PG_PARAMS(r->ids, sealed),
                     "no such project", NULL) != SO_OK)
    {
        goto done;
    }

    so_log_info(r->path, "project=%s user=%lld: webhook secret rotated",
                r->ids, r->principal.user_id);

    snprintf(hookurl, sizeof(hookurl), "%s/hooks/github", r->cfg->public_url);

    j = json_pack("{s:I, s:s, s:s}", "id", (json_int_t) r->id,
                  "webhook_url", hookurl, "webhook_secret", secret);
    if (j == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    so_req_json(r, 200, j);

done:

    so_wipe(secret, sizeof(secret));
    free(sealed);
}


void
api_domains_check(so_req_t *r)
{
    json_t      *j;
    const char  *reason;
    char         name[4 * SO_PROJECT_NAME_MAX + 1];
    int          rc;

    rc = so_fetch_form_get(name, sizeof(name), r->query, "name");
    if (rc == SO_ENOTFOUND) {
        so_req_error(r, 422, "validation_failed", "name is required",
                     "name");
        return;
    }
    if (rc != SO_OK) {
        so_req_error(r, 422, "validation_failed",
                     "name must be 1 to 63 characters", "name");
        return;
    }

    rc = api_project_free_name(r, name, NULL, &reason);
    if (rc != SO_OK && rc != SO_EEXISTS && rc != SO_EINVAL) {
        return;
    }

    j = json_pack("{s:s, s:b}", "name", name, "available", rc == SO_OK);
    if (j != NULL && reason != NULL) {
        json_object_set_new(j, "reason", json_string(reason));
    }

    if (j == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        return;
    }

    so_req_json(r, 200, j);
}
