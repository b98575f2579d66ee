/*
 * config.c: the CLI's configuration file, where a login keeps its
 * credentials.
 *
 *   $XDG_CONFIG_HOME/shipoff/config.json, else ~/.config/shipoff/config.json
 *   {"api": URL, "email": ..., "access_token": ..., "refresh_token": ...}
 *   or {"api": URL, "token": "sho_..."} after a login with a personal token
 *
 * The directory is 0700 and the file 0600 whatever the umask: it holds
 * secrets.  A save writes a temporary file and renames it over the old
 * one, so a crash never leaves half a file behind.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"


static int cli_mkdirs(char *path);


int
cli_config_init(cli_t *cli)
{
    const char    *xdg, *home;
    json_error_t   jerr;
    int            n;

    cli->conf = NULL;
    xdg = getenv("XDG_CONFIG_HOME");
    home = getenv("HOME");

    if (xdg != NULL && xdg[0] == '/') {
        n = snprintf(cli->conf_dir, sizeof(cli->conf_dir), "%s/shipoff", xdg);

    } else if (home != NULL && home[0] == '/') {
        n = snprintf(cli->conf_dir, sizeof(cli->conf_dir),
                     "%s/.config/shipoff", home);

    } else {
        n = 0;
        cli->conf_dir[0] = '\0';
    }

    if (n < 0 || (size_t) n + sizeof("/config.json") > sizeof(cli->conf_dir)) {
        fprintf(stderr, "shipoff: the configuration path is too long\n");
        return -1;
    }

    if (n > 0) {
        snprintf(cli->conf_path, sizeof(cli->conf_path), "%s/config.json",
                 cli->conf_dir);
        cli->conf = json_load_file(cli->conf_path, JSON_REJECT_DUPLICATES,
                                   &jerr);

        if (cli->conf == NULL && access(cli->conf_path, F_OK) == 0) {
            fprintf(stderr, "shipoff: %s: %s (line %d); remove it and log "
                    "in again\n", cli->conf_path, jerr.text, jerr.line);
            return -1;
        }
    }

    if (cli->conf != NULL && !json_is_object(cli->conf)) {
        fprintf(stderr, "shipoff: %s is not a JSON object; remove it and log "
                "in again\n", cli->conf_path);
        return -1;
    }

    if (cli->conf == NULL) {
        cli->conf = json_object();
        if (cli->conf == NULL) {
            fprintf(stderr, "shipoff: out of memory\n");
            return -1;
        }
    }

    return 0;
}


const char *
cli_config_get(cli_t *cli, const char *key)
{
    const char  *v;

    v = json_string_value(json_object_get(cli->conf, key));
    return (v != NULL && *v != '\0') ? v : NULL;
}


/* a NULL value removes the key */
int
cli_config_set(cli_t *cli, const char *key, const char *value)
{
    if (value == NULL) {
        json_object_del(cli->conf, key);
        return 0;
    }

    return json_object_set_new(cli->conf, key, json_string(value));
}


/* mkdir -p, each new directory 0700 */
static int
cli_mkdirs(char *path)
{
    char  *p;

    for (p = path + 1; *p; p++) {
        if (*p != '/') {
            continue;
        }

        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            *p = '/';
            return -1;
        }
        *p = '/';
    }

    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        return -1;
    }

    return 0;
}


int
cli_config_save(cli_t *cli)
{
    int    fd, rc;
    char   tmp[PATH_MAX + 8];
    char   dir[PATH_MAX];

    fd = -1;
    rc = -1;
    tmp[0] = '\0';

    if (cli->conf_dir[0] == '\0') {
        fprintf(stderr, "shipoff: neither $HOME nor $XDG_CONFIG_HOME is set: "
                "nowhere to keep the credentials\n");
        goto done;
    }

    snprintf(dir, sizeof(dir), "%s", cli->conf_dir);
    if (cli_mkdirs(dir) != 0 || chmod(cli->conf_dir, 0700) != 0) {
        fprintf(stderr, "shipoff: cannot create %s: %s\n", cli->conf_dir,
                strerror(errno));
        goto done;
    }

    snprintf(tmp, sizeof(tmp), "%s.tmp", cli->conf_path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd == -1 || fchmod(fd, 0600) != 0
        || json_dumpfd(cli->conf, fd, JSON_INDENT(2) | JSON_SORT_KEYS) != 0
        || write(fd, "\n", 1) != 1 || fsync(fd) != 0)
    {
        fprintf(stderr, "shipoff: cannot write %s: %s\n", tmp,
                strerror(errno));
        goto done;
    }

    if (close(fd) != 0) {
        fd = -1;
        fprintf(stderr, "shipoff: cannot write %s: %s\n", tmp,
                strerror(errno));
        goto done;
    }
    fd = -1;

    if (rename(tmp, cli->conf_path) != 0) {
        fprintf(stderr, "shipoff: cannot rename %s: %s\n", tmp,
                strerror(errno));
        goto done;
    }

    tmp[0] = '\0';
    rc = 0;

done:

    if (fd != -1) {
        close(fd);
    }
    if (tmp[0] != '\0') {
        unlink(tmp);
    }
    return rc;
}
