/*
 * env.c: /api/v1/projects/{id}/env: list, set and remove a project's
 * environment variables (rules and sealing: so_env.h).
 *
 * A secret value never leaves the database again through the API: the
 * list shows it as null with "secret": true, and the answer to setting one
 * does the same.  Nothing here logs a value, secret or not: a log line
 * names the project and the key.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "shipoff.h"
#include "so_account.h"
#include "so_auth.h"
#include "so_crypto.h"
#include "so_env.h"
#include "so_input.h"
#include "so_log.h"
#include "so_page.h"


static json_t *api_env_json(so_req_t *r, const PGresult *res, int row);
static int api_env_key(so_req_t *r, const char *key, int reserved_ok);


#define API_ENV_COLS                                                         \
    "key, CASE WHEN secret THEN NULL ELSE value END, secret, target, "      \
    SO_SQL_TIME("updated_at")


/* one variable: also the so_page_row_pt of the list */
static json_t *
api_env_json(so_req_t *r, const PGresult *res, int row)
{
    return json_pack("{s:s, s:o, s:b, s:s, s:s}",
                     "key", PQgetvalue(res, row, 0),
                     "value", PQgetisnull(res, row, 1) ? json_null()
                              : json_string(PQgetvalue(res, row, 1)),
                     "secret", PQgetvalue(res, row, 2)[0] == 't',
                     "target", PQgetvalue(res, row, 3),
                     "updated_at", PQgetvalue(res, row, 4));
}


/*
 * 0, or 422 naming the key and the rule it breaks.  reserved_ok: a name
 * of the grammar that a rule refuses passes (removing what was stored
 * before the rule existed).
 */
static int
api_env_key(so_req_t *r, const char *key, int reserved_ok)
{
    char  reason[SO_ENV_REASON_MAX], msg[SO_ERRLEN];
    int   rc;

    rc = so_env_key_check(key, reason, sizeof(reason));
    if (rc == SO_OK || (rc == SO_EDENIED && reserved_ok)) {
        return SO_OK;
    }

    snprintf(msg, sizeof(msg), "key %s", reason);
    so_req_error(r, 422, "validation_failed", msg, "key");

    return SO_EINVAL;
}


void
api_env_list(so_req_t *r)
{
    PGresult    *res;
    json_t      *items;

    res = so_req_query(r, "api_env_list",
                       "SELECT " API_ENV_COLS " FROM env_vars"
                       " WHERE project_id = $1 ORDER BY key",
                       SO_PG_PARAMS(r->ids));
    if (res == NULL) {
        return;
    }

    items = so_page_rows(r, res, PQntuples(res), api_env_json);
    PQclear(res);

    if (items == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        return;
    }

    so_req_json(r, 200, json_pack("{s:o}", "data", items));
}


void
api_env_put(so_req_t *r)
{
    static const char *const  fields[] = {
        "value", "secret", "target", NULL
    };
    PGresult                 *res;
    json_t                   *body, *secret, *j;
    const char               *value, *target;
    char                     *sealed, version[12];
    size_t                    len, tlen;
    int                       rc, is_secret;

    res = NULL;
    body = NULL;
    sealed = NULL;

    if (api_env_key(r, r->args[1], 0) != SO_OK
        || so_req_read_json(r, &body) != SO_OK
        || so_input_known(r, body, fields) != SO_OK)
    {
        goto done;
    }

    /* bytes, not characters: the cap is on what the process receives */
    if (so_input_string(r, body, "value", 1, 0, SO_ENV_VALUE_MAX, &value,
                        &len) != SO_OK)
    {
        goto done;
    }

    if (len > SO_ENV_VALUE_MAX) {
        so_req_error(r, 422, "validation_failed",
                     "value must be at most 32768 bytes", "value");
        goto done;
    }

    secret = json_object_get(body, "secret");
    if (secret != NULL && !json_is_boolean(secret)) {
        so_req_error(r, 422, "validation_failed",
                     "secret must be true or false", "secret");
        goto done;
    }
    is_secret = json_is_true(secret);

    target = "both";
    rc = so_input_string(r, body, "target", 0, 1, 16, &target, &tlen);
    if (rc == SO_EINVAL) {
        goto done;
    }
    if (rc == SO_OK && strcmp(target, "build") != 0
        && strcmp(target, "runtime") != 0 && strcmp(target, "both") != 0)
    {
        so_req_error(r, 422, "validation_failed",
                     "target must be \"build\", \"runtime\" or \"both\"",
                     "target");
        goto done;
    }
    if (rc != SO_OK) {
        target = "both";
    }

    if (is_secret
        && so_env_seal(&sealed, r->cfg, r->id, r->args[1],
                       SO_ENV_KEY_VERSION, value, len) != SO_OK)
    {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    snprintf(version, sizeof(version), "%d", SO_ENV_KEY_VERSION);

    res = so_pg_query(r->pg, "api_env_put",
                      "INSERT INTO env_vars (project_id, key, value, secret,"
                      " key_version, target)"
                      " VALUES ($1, $2, $3, $4, $5, $6)"
                      " ON CONFLICT (project_id, key) DO UPDATE SET"
                      " value = EXCLUDED.value, secret = EXCLUDED.secret,"
                      " key_version = EXCLUDED.key_version,"
                      " target = EXCLUDED.target, updated_at = now()"
                      " RETURNING " API_ENV_COLS ", xmax = 0",
                      SO_PG_PARAMS(r->ids, r->args[1],
                                   is_secret ? sealed : value,
                                   is_secret ? "t" : "f", version, target));
    if (res == NULL || PQntuples(res) != 1) {
        so_req_pg_error(r, "api_env_put");
        goto done;
    }

    so_log_info(r->path, "project=%s key=%s user=%lld: set (%s, %s)",
                r->ids, r->args[1], r->principal.user_id,
                is_secret ? "secret" : "plain",
                target);

    j = api_env_json(r, res, 0);
    if (j == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    so_req_json(r, PQgetvalue(res, 0, 5)[0] == 't' ? 201 : 200, j);

done:

    if (sealed != NULL) {
        free(sealed);
    }
    PQclear(res);
    json_decref(body);
}


void
api_env_delete(so_req_t *r)
{
    if (api_env_key(r, r->args[1], 1) != SO_OK) {
        return;
    }

    if (api_exec_one(r, "api_env_delete",
                     "DELETE FROM env_vars WHERE project_id = $1"
                     " AND key = $2",
                     SO_PG_PARAMS(r->ids, r->args[1]),
                     "no such variable", "key") != SO_OK)
    {
        return;
    }

    so_log_info(r->path, "project=%s key=%s user=%lld: removed", r->ids,
                r->args[1], r->principal.user_id);
    api_no_content(r);
}
