/*
 * quotas.c: what an account may use and uses (lib/so_quota.h).
 *
 *   GET /api/v1/quotas              the caller's own account
 *   GET /api/v1/quotas?team_id=N    a team the caller is a member of
 *
 * {"account": {"user_id": N} or {"team_id": N}, "quotas": {"projects":
 * {"limit": 50, "usage": 3}, ...}}; an unlimited quota has limit null.
 * log_bytes_per_deployment is a limit on each deployment, not a sum: it
 * has no usage.
 *
 * A request refused by a quota is answered by api_quota_error(): the
 * usual error object, plus the quota's name, limit and usage.
 */

#include <stdio.h>
#include <stdlib.h>

#include "shipoff.h"
#include "so_authz.h"
#include "so_fetch.h"
#include "so_log.h"
#include "api.h"


static json_t *api_quota_json(long long limit, long long usage, int counted);


static json_t *
api_quota_json(long long limit, long long usage, int counted)
{
    json_t  *j;

    j = json_pack("{s:o}", "limit",
                  limit > 0 ? json_integer(limit) : json_null());
    if (j != NULL && counted) {
        json_object_set_new(j, "usage", json_integer(usage));
    }

    return j;
}


void
api_quota_error(so_req_t *r, int status, const so_quota_t *quota)
{
    json_t  *err;
    char     msg[SO_ERRLEN];

    snprintf(msg, sizeof(msg), "over the account's quota %s: %lld of %lld "
             "used", so_quota_name(quota->kind), quota->usage, quota->limit);

    err = json_pack("{s:s, s:s, s:s, s:I, s:I}", "code", "quota_exceeded",
                    "message", msg, "quota", so_quota_name(quota->kind),
                    "limit", (json_int_t) quota->limit,
                    "usage", (json_int_t) quota->usage);

    so_log_info(r->path, "%s %s: %d quota_exceeded: %s", r->method, r->path,
                status, msg);

    so_req_json(r, status, json_pack("{s:o}", "error", err));
}


void
api_quotas_get(so_req_t *r)
{
    so_quota_account_t  account;
    json_t             *quotas, *j;
    long long           usage[SO_QUOTA_ACCOUNT_N];
    char                team[24];
    int                 i, rc;

    account.user = r->principal.user_id;
    account.team = 0;

    rc = so_fetch_form_get(team, sizeof(team), r->query, "team_id");
    if (rc == SO_OK) {
        /* a team the caller is not a member of is "no such team" */
        if (so_authz(r, &r->principal, SO_OBJ_TEAM, team,
                     SO_NEED_READ | SO_NEED_MEMBER, &account.team, NULL)
            != SO_OK)
        {
            return;
        }
        account.user = 0;

    } else if (rc != SO_ENOTFOUND) {
        so_req_error(r, 404, "not_found", "no such team", NULL);
        return;
    }

    rc = so_quota_usage(usage, r->pg, &account, 0);
    if (rc != SO_OK) {
        so_req_fail(r, rc);
        return;
    }

    quotas = json_object();
    for (i = 0; quotas != NULL && i < SO_QUOTA_N; i++) {
        if (json_object_set_new(quotas, so_quota_name((so_quota_kind_t) i),
                                api_quota_json(so_quota_limit(r->cfg,
                                                  (so_quota_kind_t) i),
                                               i < SO_QUOTA_ACCOUNT_N
                                               ? usage[i] : 0,
                                               i < SO_QUOTA_ACCOUNT_N))
            != 0)
        {
            json_decref(quotas);
            quotas = NULL;
        }
    }

    j = json_pack("{s:{s:I}, s:o}", "account",
                  account.team ? "team_id" : "user_id",
                  (json_int_t) (account.team ? account.team : account.user),
                  "quotas", quotas);
    if (j == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        return;
    }

    so_req_json(r, 200, j);
}
