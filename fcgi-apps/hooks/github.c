/*
 * github.c: POST /hooks/github, GitHub's webhook deliveries.
 *
 * A delivery names no project: it is found from the payload's repository.
 * Before the signature is verified, only the body's "repository" member
 * is parsed (so_webhook_repository); the projects whose repo_key is the
 * key of its html_url or clone_url are the candidates, selected in SQL by
 * that exact key (sql/0013_repo_key_env_names.sql), so projects of a
 * repository of the same name on another host are never among them.
 * Several projects may deploy one repository, so the signature is checked
 * against each candidate's secret and the delivery acts for those it
 * verifies for.
 * None: 401, whether the repository is unknown or the signature wrong, so
 * the answer does not tell which repositories are deployed here.  Each
 * candidate costs an HMAC over the body (up to 25 MB), so at most
 * webhook_max_candidates of them are tried, and an address refused too
 * often before it authenticates is answered 429 before its body is read
 * (limit.c).  Only a body that verified is parsed whole.
 *
 * A push to a project's branch queues a deployment of the pushed head
 * commit through so_deploy_enqueue(); the delivery id is recorded in
 * webhook_deliveries in the same transaction, so a redelivery (GitHub
 * retries, or a user clicks "Redeliver") finds its record, rolls back and
 * answers with the deployment of the first delivery.  Everything else is
 * acknowledged with 202 and why it was ignored, and recorded too.
 *
 * Nothing slow happens here: the build is the builder's.  Neither the body
 * nor the signature is ever logged.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hooks.h"
#include "shipoff.h"
#include "so_crypto.h"
#include "so_deploy.h"
#include "so_log.h"
#include "so_project.h"
#include "so_webhook.h"


#define HOOK_MAX_PROJECTS  256      /* webhook_max_candidates' maximum */
#define HOOK_NAME_MAX      64       /* a delivery id, an event name */
#define HOOK_MESSAGE_MAX   4096     /* bytes of a commit message kept */
#define HOOK_WHY_LEN       192      /* why a delivery was ignored */

/* the record of a delivery for a project, written with its deployment */
typedef struct {
    const char  *delivery;
    const char  *event;
    long long    project;
    const char  *outcome;
} hook_record_t;

/* the projects a delivery acts for: rows of the candidates' result */
typedef struct {
    PGresult    *res;               /* id, repo_url, branch */
    int          rows[HOOK_MAX_PROJECTS];
    int          n;
} hook_match_t;


static int hook_name_ok(const char *s);
static int hook_commit_ok(const char *s);
static void hook_message(char out[HOOK_MESSAGE_MAX + 1], const char *s);
static int hook_record(so_pg_t *pg, long long deployment, void *arg);
static int hook_original(so_req_t *r, const char *delivery,
    long long project, json_t *ids);
static int hook_match(so_req_t *r, const char *sig, const char *body,
    size_t len, hook_match_t *m);
static int hook_authenticate(so_req_t *r, const char *sig, char **body,
    size_t *len, hook_match_t *m);
static int hook_ignore_one(so_pg_t *pg, const char *delivery,
    const char *event, long long project, const char *why);
static void hook_ignore(so_req_t *r, const char *delivery, const char *event,
    const hook_match_t *m, const char *why);
static void hook_ping(so_req_t *r, const char *delivery,
    const hook_match_t *m);
static const char *hook_push_branch(so_req_t *r, json_t *payload,
    const char *delivery, const hook_match_t *m, const char **after);
static void hook_push(so_req_t *r, json_t *payload, const char *delivery,
    const hook_match_t *m);


/*
 * A delivery id (a GUID) or an event name ("pull_request"): 1 to
 * HOOK_NAME_MAX letters, digits, '-' and '_'.  Headers are not signed, so
 * they are checked before they are stored.
 */
static int
hook_name_ok(const char *s)
{
    size_t  i;

    if (s == NULL) {
        return 0;
    }

    for (i = 0; s[i] != '\0'; i++) {
        if (i == HOOK_NAME_MAX
            || !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')
                 || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'
                 || s[i] == '_'))
        {
            return 0;
        }
    }

    return i > 0;
}


/* 40 lower-case hex digits, not all zero (a deleted branch) */
static int
hook_commit_ok(const char *s)
{
    size_t  i;
    int     zero;

    zero = 1;

    for (i = 0; s[i] != '\0'; i++) {
        if (i == 40
            || !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
        {
            return 0;
        }
        zero &= s[i] == '0';
    }

    return i == 40 && !zero;
}


/* at most HOOK_MESSAGE_MAX bytes of s, cut between UTF-8 characters */
static void
hook_message(char out[HOOK_MESSAGE_MAX + 1], const char *s)
{
    size_t  n;

    n = strlen(s);

    if (n > HOOK_MESSAGE_MAX) {
        n = HOOK_MESSAGE_MAX;
        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80) {
            n--;
        }
    }

    memcpy(out, s, n);
    out[n] = '\0';
}


/*
 * Records the delivery for a project (deployment 0: none).  0, SO_EEXISTS
 * when it was recorded before, or SO_EUNAVAIL / SO_ERR (logged).  Also the
 * callback of so_deploy_enqueue(), in the deployment's transaction.
 */
static int
hook_record(so_pg_t *pg, long long deployment, void *arg)
{
    hook_record_t  *rec;
    PGresult       *res;
    char            project[24], dep[24];
    int             rc;

    rec = arg;

    snprintf(project, sizeof(project), "%lld", rec->project);
    snprintf(dep, sizeof(dep), "%lld", deployment);

    res = so_pg_query(pg, "hook_record",
                      "INSERT INTO webhook_deliveries (delivery_id,"
                      " project_id, event, deployment_id, outcome)"
                      " VALUES ($1, $2, $3, $4, $5)"
                      " ON CONFLICT DO NOTHING",
                      SO_PG_PARAMS(rec->delivery, project, rec->event,
                                   deployment > 0 ? dep : NULL, rec->outcome));
    if (res == NULL) {
        so_log_error(NULL, "project=%s: hook_record: %s", project,
                     so_pg_errstr(pg));
        return so_pg_code(pg);
    }

    rc = strcmp(PQcmdTuples(res), "1") == 0 ? SO_OK : SO_EEXISTS;
    PQclear(res);
    return rc;
}


/* appends the deployment the first delivery queued, if any: 0 or answers */
static int
hook_original(so_req_t *r, const char *delivery, long long project,
    json_t *ids)
{
    PGresult    *res;
    char         projects[24];

    snprintf(projects, sizeof(projects), "%lld", project);

    res = so_req_query(r, "hook_original",
                       "SELECT deployment_id FROM webhook_deliveries"
                       " WHERE delivery_id = $1 AND project_id = $2"
                       " AND deployment_id IS NOT NULL",
                       SO_PG_PARAMS(delivery, projects));
    if (res == NULL) {
        return SO_ERR;
    }

    if (PQntuples(res) == 1) {
        json_array_append_new(ids, json_integer(
                                  strtoll(PQgetvalue(res, 0, 0), NULL, 10)));
    }

    PQclear(res);
    return SO_OK;
}


/*
 * Finds the projects of the body's repository whose secret verifies the
 * signature, before anything else of the body is parsed: the candidates
 * are the projects whose repo_key is the key of the repository's
 * html_url or clone_url (shipoff_repo_key() of
 * sql/0013_repo_key_env_names.sql), at most webhook_max_candidates of
 * them, those whose hook was registered on GitHub by a user with admin
 * rights on the repository first, then the oldest.  0 with m filled
 * (m->n may be 0), SO_EINVAL answered 400 when the body is not a JSON
 * object, or another negative code answered.
 */
static int
hook_match(so_req_t *r, const char *sig, const char *body, size_t len,
    hook_match_t *m)
{
    json_t      *repo;
    const char  *html_url, *clone_url;
    char         limit[12], *secret;
    int          i, rc;

    m->n = 0;
    m->res = NULL;
    repo = NULL;

    if (so_webhook_repository(&repo, body, len) != SO_OK) {
        so_req_error(r, 400, "malformed_json",
                     "the body is not a JSON object", NULL);
        return SO_EINVAL;
    }

    if (repo == NULL) {
        return SO_OK;
    }

    /* one more than the cap: to say when some were left out */
    snprintf(limit, sizeof(limit), "%d", r->cfg->webhook_max_candidates + 1);
    html_url = json_string_value(json_object_get(repo, "html_url"));
    clone_url = json_string_value(json_object_get(repo, "clone_url"));

    m->res = so_pg_query(r->pg, "hook_candidates",
                         "SELECT id, repo_key, branch FROM projects"
                         " WHERE repo_key IN (shipoff_repo_key($1),"
                         " shipoff_repo_key($2))"
                         " ORDER BY github_hook_id IS NULL, id LIMIT $3",
                         SO_PG_PARAMS(html_url, clone_url, limit));
    json_decref(repo);

    if (m->res == NULL) {
        so_req_pg_error(r, "hook_candidates");
        return SO_ERR;
    }

    if (PQntuples(m->res) > r->cfg->webhook_max_candidates) {
        so_log_warn(r->path, "repository %.200s: more than %d projects; "
                    "a delivery is checked against the first %d only",
                    PQgetvalue(m->res, 0, 1), r->cfg->webhook_max_candidates,
                    r->cfg->webhook_max_candidates);
    }

    for (i = 0;
         i < PQntuples(m->res) && i < r->cfg->webhook_max_candidates; i++)
    {
        rc = so_project_webhook_secret(&secret, r->pg, r->cfg,
                                       strtoll(PQgetvalue(m->res, i, 0),
                                               NULL, 10));
        if (rc == SO_EUNAVAIL) {
            so_req_fail(r, rc);
            return rc;
        }

        if (rc != SO_OK) {
            continue;
        }

        if (so_webhook_verify(sig, secret, strlen(secret), body, len)
            == SO_OK)
        {
            m->rows[m->n++] = i;
        }

        so_wipe(secret, strlen(secret));
        free(secret);
    }

    return SO_OK;
}


/* records the delivery as ignored by project: 0 or hook_record()'s code */
static int
hook_ignore_one(so_pg_t *pg, const char *delivery, const char *event,
    long long project, const char *why)
{
    hook_record_t  rec;
    char           outcome[HOOK_WHY_LEN + 16];
    int            rc;

    snprintf(outcome, sizeof(outcome), "ignored: %s", why);
    rec.delivery = delivery;
    rec.event = event;
    rec.project = project;
    rec.outcome = outcome;

    rc = hook_record(pg, 0, &rec);
    return rc == SO_EEXISTS ? SO_OK : rc;
}


/* records the delivery as ignored by every project and answers 202 */
static void
hook_ignore(so_req_t *r, const char *delivery, const char *event,
    const hook_match_t *m, const char *why)
{
    long long  project;
    int        i, rc;

    for (i = 0; i < m->n; i++) {
        project = strtoll(PQgetvalue(m->res, m->rows[i], 0), NULL, 10);

        rc = hook_ignore_one(r->pg, delivery, event, project, why);
        if (rc != SO_OK) {
            so_req_fail(r, rc);
            return;
        }
    }

    so_req_json(r, 202, json_pack("{s:s}", "ignored", why));
}


/* GitHub's first delivery to a new hook: recorded, answered 200 */
static void
hook_ping(so_req_t *r, const char *delivery, const hook_match_t *m)
{
    hook_record_t  rec;
    int            i, rc;

    rec.delivery = delivery;
    rec.event = "ping";
    rec.outcome = "pong";

    for (i = 0; i < m->n; i++) {
        rec.project = strtoll(PQgetvalue(m->res, m->rows[i], 0), NULL, 10);

        rc = hook_record(r->pg, 0, &rec);
        if (rc != SO_OK && rc != SO_EEXISTS) {
            so_req_fail(r, rc);
            return;
        }
    }

    so_req_json(r, 200, json_pack("{s:b}", "ok", 1));
}


/*
 * The branch a push names, with its head commit in *after; NULL, once
 * answered, when there is nothing to deploy (a tag, a deleted branch,
 * another ref: ignored) or the push is malformed.
 */
static const char *
hook_push_branch(so_req_t *r, json_t *payload, const char *delivery,
    const hook_match_t *m, const char **after)
{
    const char  *ref, *commit;

    ref = json_string_value(json_object_get(payload, "ref"));
    commit = json_string_value(json_object_get(payload, "after"));

    if (ref == NULL || commit == NULL) {
        so_req_error(r, 400, "bad_request",
                     "a push event names its ref and its after commit",
                     NULL);
        return NULL;
    }

    if (strncmp(ref, "refs/tags/", 10) == 0) {
        hook_ignore(r, delivery, "push", m, "a tag was pushed");
        return NULL;
    }

    if (strncmp(ref, "refs/heads/", 11) != 0 || ref[11] == '\0') {
        hook_ignore(r, delivery, "push", m, "the ref is not a branch");
        return NULL;
    }

    if (json_is_true(json_object_get(payload, "deleted"))
        || (commit[0] != '\0' && strspn(commit, "0") == strlen(commit)))
    {
        hook_ignore(r, delivery, "push", m, "the branch was deleted");
        return NULL;
    }

    if (!hook_commit_ok(commit)) {
        so_req_error(r, 400, "bad_request",
                     "after is not a commit id (40 lower-case hex digits)",
                     NULL);
        return NULL;
    }

    *after = commit;

    return ref + 11;
}


/*
 * A push: a deployment of the head commit for each project that deploys
 * the pushed branch.  Tags, deleted branches and other branches are
 * ignored.
 */
static void
hook_push(so_req_t *r, json_t *payload, const char *delivery,
    const hook_match_t *m)
{
    so_deploy_spec_t   spec;
    so_quota_t         quota;
    hook_record_t      rec;
    json_t            *ids;
    const char        *after, *branch, *pbranch, *msg, *why;
    char               message[HOOK_MESSAGE_MAX + 1], other[HOOK_WHY_LEN];
    long long          project, dep;
    int                i, rc, redelivered;

    ids = NULL;

    branch = hook_push_branch(r, payload, delivery, m, &after);
    if (branch == NULL) {
        goto done;
    }

    msg = json_string_value(json_object_get(json_object_get(payload,
                                                            "head_commit"),
                                            "message"));
    if (msg != NULL) {
        hook_message(message, msg);
    }

    spec.branch = branch;
    spec.commit = after;
    spec.message = msg != NULL ? message : NULL;
    spec.trigger = "push";
    spec.reason = "push";
    spec.created_by = 0;
    spec.builds_max = r->cfg->quota_builds_active;
    spec.quota = &quota;

    rec.delivery = delivery;
    rec.event = "push";
    rec.outcome = "queued";

    ids = json_array();
    if (ids == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    why = NULL;
    redelivered = 0;

    for (i = 0; i < m->n; i++) {
        project = strtoll(PQgetvalue(m->res, m->rows[i], 0), NULL, 10);
        pbranch = PQgetvalue(m->res, m->rows[i], 2);

        if (strcmp(pbranch, branch) != 0) {
            snprintf(other, sizeof(other), "a push to %.64s; the project "
                     "deploys %.64s", branch, pbranch);

        } else {
            spec.project_id = project;
            rec.project = project;

            rc = so_deploy_enqueue(&dep, r->pg, r->redis, &spec, hook_record,
                                   &rec);

            if (rc == SO_OK) {
                json_array_append_new(ids, json_integer(dep));
                continue;
            }

            if (rc == SO_EEXISTS) {
                redelivered = 1;
                if (hook_original(r, delivery, project, ids) != SO_OK) {
                    goto done;
                }
                continue;
            }

            /* the project was deleted since it matched */
            if (rc == SO_ENOTFOUND) {
                continue;
            }

            if (rc != SO_EQUOTA) {
                so_req_fail(r, rc);
                goto done;
            }

            /* recorded, and GitHub still gets its 202: a redelivery would
               meet the same quota */
            snprintf(other, sizeof(other), "quota_exceeded: builds_active "
                     "%lld of %lld", quota.usage, quota.limit);
        }

        why = other;

        rc = hook_ignore_one(r->pg, delivery, "push", project, why);
        if (rc != SO_OK) {
            so_req_fail(r, rc);
            goto done;
        }
    }

    if (json_array_size(ids) == 0 && !redelivered) {
        so_req_json(r, 202, json_pack("{s:s}", "ignored",
                                      why != NULL ? why
                                      : "the project is gone"));
        goto done;
    }

    so_req_json(r, 202, json_pack("{s:O, s:b}", "deployments", ids,
                                  "redelivered", redelivered));

done:

    json_decref(ids);
}


/*
 * Everything before the delivery is known to be signed by a project's
 * secret: the cheap refusals first (an address over its limit, a missing
 * or malformed signature), then the body, its repository and the
 * candidates' secrets.  0 with m->n > 0, or a negative code with the
 * request answered; a refusal counts against the client (limit.c).
 */
static int
hook_authenticate(so_req_t *r, const char *sig, char **body, size_t *len,
    hook_match_t *m)
{
    const char  *ct;
    int          rc;

    if (hook_limited(r)) {
        return SO_EDENIED;
    }

    ct = so_req_param(r, "CONTENT_TYPE");

    /* before the body: an unsigned request is not worth reading */
    if (so_webhook_sig_check(sig) != SO_OK) {
        so_req_error(r, 401, "invalid_signature",
                     "X-Hub-Signature-256 is missing or malformed", NULL);
        rc = SO_EDENIED;
        goto refused;
    }

    rc = so_req_read_raw(r, r->cfg->webhook_max_body_size, body, len);
    if (rc != SO_OK) {
        goto refused;
    }

    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
        so_req_error(r, 415, "unsupported_media_type",
                     "set the webhook's content type to application/json",
                     NULL);
        rc = SO_EINVAL;
        goto refused;
    }

    rc = hook_match(r, sig, *body, *len, m);
    if (rc == SO_EINVAL) {
        goto refused;
    }

    if (rc != SO_OK) {
        return rc;
    }

    if (m->n == 0) {
        so_req_error(r, 401, "invalid_signature",
                     "the signature does not match", NULL);
        rc = SO_EDENIED;
        goto refused;
    }

    return SO_OK;

refused:

    hook_refused(r);
    return rc;
}


void
hook_github(so_req_t *r)
{
    hook_match_t   m;
    json_error_t   jerr;
    json_t        *payload;
    const char    *sig, *event, *delivery;
    char          *body, msg[SO_ERRLEN];
    size_t         len;

    body = NULL;
    payload = NULL;
    m.res = NULL;

    sig = so_req_param(r, "HTTP_X_HUB_SIGNATURE_256");
    event = so_req_param(r, "HTTP_X_GITHUB_EVENT");
    delivery = so_req_param(r, "HTTP_X_GITHUB_DELIVERY");

    if (hook_authenticate(r, sig, &body, &len, &m) != SO_OK) {
        goto done;
    }

    /* the one full parse, of a body signed by a project's secret */
    payload = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (payload == NULL || !json_is_object(payload)) {
        so_req_error(r, 400, "malformed_json",
                     "the body is not a JSON object", NULL);
        goto done;
    }

    if (!hook_name_ok(delivery) || !hook_name_ok(event)) {
        so_req_error(r, 400, "bad_request",
                     "X-GitHub-Delivery or X-GitHub-Event is missing or "
                     "malformed", NULL);
        goto done;
    }

    if (strcmp(event, "ping") == 0) {
        hook_ping(r, delivery, &m);
        goto done;
    }

    if (strcmp(event, "push") == 0) {
        hook_push(r, payload, delivery, &m);
        goto done;
    }

    snprintf(msg, sizeof(msg), "the %.64s event is not handled", event);
    hook_ignore(r, delivery, event, &m, msg);

done:

    PQclear(m.res);
    json_decref(payload);
    free(body);
}
