/*
 * replay.c: runs a fuzzer's LLVMFuzzerTestOneInput over corpus files
 * without libFuzzer, so that every normal test run (`make fuzz-replay`,
 * part of `make check`) replays the corpus, under a sanitizer if the
 * build has one.
 *
 *   tests/fuzz/rules_replay FILE|DIR...
 *
 * Exits 0 if every input ran (a failed check aborts), 1 if an input could
 * not be read.
 */

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static int replay_file(const char *path);
static int replay_path(const char *path, unsigned *n);


static int
replay_file(const char *path)
{
    int       rc;
    long      len;
    FILE     *f;
    uint8_t  *buf;

    rc = -1;
    buf = NULL;

    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        perror(path);
        goto done;
    }

    /* exactly sized, so that a sanitizer sees a read past the end */

    buf = malloc(len ? (size_t) len : 1);
    if (buf == NULL) {
        perror("malloc");
        goto done;
    }

    if (len && fread(buf, 1, (size_t) len, f) != (size_t) len) {
        perror(path);
        goto done;
    }

    (void) LLVMFuzzerTestOneInput(buf, (size_t) len);

    rc = 0;

done:

    free(buf);
    fclose(f);

    return rc;
}


static int
replay_path(const char *path, unsigned *n)
{
    int             rc;
    DIR            *dir;
    char            sub[4096];
    struct stat     st;
    struct dirent  *de;

    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }

    if (!S_ISDIR(st.st_mode)) {
        (*n)++;
        return replay_file(path);
    }

    dir = opendir(path);
    if (dir == NULL) {
        perror(path);
        return -1;
    }

    rc = 0;

    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        if ((size_t) snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name)
            >= sizeof(sub))
        {
            fprintf(stderr, "%s/%s: path too long\n", path, de->d_name);
            rc = -1;
            continue;
        }

        if (replay_path(sub, n) != 0) {
            rc = -1;
        }
    }

    closedir(dir);

    return rc;
}


int
main(int argc, char **argv)
{
    int       i, rc;
    unsigned  n;

    rc = 0;
    n = 0;

    for (i = 1; i < argc; i++) {
        if (replay_path(argv[i], &n) != 0) {
            rc = 1;
        }
    }

    printf("# %s: %u inputs replayed\n", argv[0], n);

    return rc;
}
