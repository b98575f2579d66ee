/*
 * main.c: shipoff, the command-line client of the REST API.
 *
 *   shipoff [--api URL] [--json] COMMAND
 *
 * The API URL comes from --api, then $SHIPOFF_API, then the default of a
 * local "make up" (http://127.0.0.1:8080).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "shipoff.h"


#define CLI_DEFAULT_API  "http://127.0.0.1:8080"
#define CLI_MAX_BODY     (16 * 1024 * 1024)


typedef struct {
    const char  *api;
    int          json;
} cli_t;

typedef struct {
    char    *data;
    size_t   len;
} cli_buf_t;

typedef int (*cli_cmd_pt)(cli_t *cli, int argc, char **argv);

typedef struct {
    const char  *name;
    cli_cmd_pt   run;
    const char  *help;
} cli_cmd_t;


static int cli_status(cli_t *cli, int argc, char **argv);
static int cli_version(cli_t *cli, int argc, char **argv);
static int cli_usage(FILE *f);


static const cli_cmd_t  cli_cmds[] = {
    { "status",  cli_status,  "show whether the platform is healthy" },
    { "version", cli_version, "print the version of this client" },
};


static size_t
cli_write(char *ptr, size_t size, size_t n, void *data)
{
    cli_buf_t  *b = data;
    char       *p;

    size *= n;
    if (b->len + size > CLI_MAX_BODY) {
        return 0;
    }

    p = realloc(b->data, b->len + size + 1);
    if (p == NULL) {
        return 0;
    }

    memcpy(p + b->len, ptr, size);
    b->data = p;
    b->len += size;
    b->data[b->len] = '\0';
    return size;
}


/* GET api + path; returns the HTTP status, or -1 with a message printed */
static long
cli_get(cli_t *cli, const char *path, json_t **out)
{
    CURL          *curl;
    CURLcode       rc;
    cli_buf_t      buf = { NULL, 0 };
    char           url[2048];
    long           status;
    json_error_t   jerr;

    *out = NULL;
    status = -1;
    snprintf(url, sizeof(url), "%s%s", cli->api, path);

    curl = curl_easy_init();
    if (curl == NULL) {
        fprintf(stderr, "shipoff: cannot initialise libcurl\n");
        return -1;
    }

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, cli_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "shipoff/" SHIPOFF_VERSION);

    rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        fprintf(stderr, "shipoff: cannot reach %s: %s\n", cli->api,
                curl_easy_strerror(rc));
        goto done;
    }

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);

    *out = json_loadb(buf.data ? buf.data : "", buf.len, 0, &jerr);
    if (*out == NULL) {
        fprintf(stderr, "shipoff: %s answered %ld with a body that is not "
                "JSON\n", url, status);
        status = -1;
    }

done:

    free(buf.data);
    curl_easy_cleanup(curl);
    return status;
}


static int
cli_status(cli_t *cli, int argc, char **argv)
{
    json_t      *res;
    long         status;
    const char  *key;
    json_t      *value;

    status = cli_get(cli, "/api/v1/health", &res);
    if (status < 0) {
        return 1;
    }

    if (cli->json) {
        json_dumpf(res, stdout, JSON_INDENT(2));
        putchar('\n');

    } else {
        printf("%-10s %s\n", "api", cli->api);
        json_object_foreach(res, key, value) {
            if (json_is_string(value)) {
                printf("%-10s %s\n", key, json_string_value(value));
            }
        }
    }

    json_decref(res);
    return status == 200 ? 0 : 1;
}


static int
cli_version(cli_t *cli, int argc, char **argv)
{
    printf("shipoff %s\n", SHIPOFF_VERSION);
    return 0;
}


static int
cli_usage(FILE *f)
{
    size_t  i;

    fprintf(f, "usage: shipoff [--api URL] [--json] COMMAND\n\n"
               "commands:\n");
    for (i = 0; i < so_nelems(cli_cmds); i++) {
        fprintf(f, "  %-10s %s\n", cli_cmds[i].name, cli_cmds[i].help);
    }
    fprintf(f, "\nenvironment: SHIPOFF_API (default %s)\n", CLI_DEFAULT_API);
    return f == stderr ? 2 : 0;
}


int
main(int argc, char **argv)
{
    cli_t   cli;
    int     i, rc;
    size_t  c;

    cli.api = getenv("SHIPOFF_API");
    if (cli.api == NULL || *cli.api == '\0') {
        cli.api = CLI_DEFAULT_API;
    }
    cli.json = 0;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--api") == 0 && i + 1 < argc) {
            cli.api = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            cli.json = 1;
        } else if (strcmp(argv[i], "--help") == 0
                   || strcmp(argv[i], "-h") == 0)
        {
            return cli_usage(stdout);
        } else {
            fprintf(stderr, "shipoff: unknown option %s\n", argv[i]);
            return cli_usage(stderr);
        }
    }

    if (i == argc) {
        return cli_usage(stderr);
    }

    for (c = 0; c < so_nelems(cli_cmds); c++) {
        if (strcmp(argv[i], cli_cmds[c].name) == 0) {
            curl_global_init(CURL_GLOBAL_DEFAULT);
            rc = cli_cmds[c].run(&cli, argc - i, argv + i);
            curl_global_cleanup();
            return rc;
        }
    }

    fprintf(stderr, "shipoff: unknown command \"%s\"\n", argv[i]);
    return cli_usage(stderr);
}
