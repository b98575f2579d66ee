/*
 * so_project.c: project names and webhook secrets (see so_project.h).
 *
 * The reserved names are the hosts a platform serves itself or that a
 * visitor would take for the platform's own (a project called "login" or
 * "admin" phishes well).  The table is sorted: bsearch, and a unit test
 * keeps it sorted.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_log.h"
#include "so_project.h"
#include "so_seal.h"


static const char *const  so_project_reserved[] = {
    "_shipoff",
    "admin",
    "api",
    "app",
    "apps",
    "assets",
    "auth",
    "billing",
    "cdn",
    "console",
    "dashboard",
    "dev",
    "docs",
    "ftp",
    "git",
    "help",
    "hooks",
    "imap",
    "internal",
    "localhost",
    "login",
    "mail",
    "metrics",
    "ns1",
    "ns2",
    "pop",
    "root",
    "shipoff",
    "smtp",
    "ssh",
    "static",
    "status",
    "support",
    "webmail",
    "www",
};


static int so_project_cmp(const void *a, const void *b);
static void so_project_aad(char aad[32], long long project_id);


static int
so_project_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}


int
so_project_name_reserved(const char *name)
{
    return bsearch(&name, so_project_reserved, so_nelems(so_project_reserved),
                   sizeof(so_project_reserved[0]), so_project_cmp)
           != NULL;
}


int
so_project_name_check(const char *name, const char **reason)
{
    size_t  i, len;

    *reason = NULL;
    len = strlen(name);

    if (len == 0 || len > SO_PROJECT_NAME_MAX) {
        *reason = "must be 1 to 63 characters";
        return SO_EINVAL;
    }

    for (i = 0; i < len; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
        {
            *reason = "may hold only a-z, 0-9 and '-'";
            return SO_EINVAL;
        }
    }

    if (name[0] == '-' || name[len - 1] == '-') {
        *reason = "may not start or end with '-'";
        return SO_EINVAL;
    }

    if (so_project_name_reserved(name)) {
        *reason = "is reserved";
        return SO_EINVAL;
    }

    return SO_OK;
}


static void
so_project_aad(char aad[32], long long project_id)
{
    snprintf(aad, 32, "webhook:%lld", project_id);
}


int
so_project_webhook_new(char secret[SO_PROJECT_SECRET_LEN], char **sealed,
    const so_config_t *cfg, long long project_id)
{
    unsigned char  raw[SO_PROJECT_SECRET_BYTES];
    char           aad[32];
    int            rc;

    *sealed = NULL;
    secret[0] = '\0';

    rc = so_random(raw, sizeof(raw));
    if (rc != SO_OK) {
        goto done;
    }

    so_hex_encode(secret, raw, sizeof(raw));
    so_project_aad(aad, project_id);

    rc = so_seal(sealed, cfg, aad, secret, SO_PROJECT_SECRET_LEN - 1);
    if (rc != SO_OK) {
        so_wipe(secret, SO_PROJECT_SECRET_LEN);
    }

done:

    so_wipe(raw, sizeof(raw));
    return rc;
}


int
so_project_webhook_secret(char **out, so_pg_t *pg, const so_config_t *cfg,
    long long project_id)
{
    PGresult    *res;
    char         id[24], aad[32];
    int          rc;

    *out = NULL;

    snprintf(id, sizeof(id), "%lld", project_id);

    res = so_pg_query(pg, "so_project_webhook_secret",
                      "SELECT webhook_secret_enc FROM projects WHERE id = $1",
                      SO_PG_PARAMS(id));
    if (res == NULL) {
        rc = so_pg_failed(pg, "project", "project=%lld", project_id);
        goto done;
    }

    if (PQntuples(res) == 0) {
        rc = SO_ENOTFOUND;
        goto done;
    }

    so_project_aad(aad, project_id);

    rc = so_unseal(out, NULL, cfg, aad, PQgetvalue(res, 0, 0));
    if (rc != SO_OK) {
        so_log_error("project", "project=%lld: the sealed webhook secret "
                     "does not open", project_id);
    }

done:

    PQclear(res);
    return rc;
}
