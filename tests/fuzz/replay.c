/*
 * replay.c: runs a fuzzer's LLVMFuzzerTestOneInput over corpus files
 * without libFuzzer, so that every normal test run (`make fuzz-replay`,
 * part of `make check`) replays the corpus, under a sanitizer if the
 * build has one.
 *
 *   tests/fuzz/rules_replay [-b MS] FILE|DIR...
 *
 * Each input has a budget of MS milliseconds of CPU (50 by default): the
 * code under test runs in nginx workers that serve everyone, so an input
 * that takes longer is a failure, as a crash is.  A CPU timer stops the
 * run as soon as one goes over: a quadratic case does not hold the test
 * for minutes.
 *
 * Exits 0 if every input ran within its budget (a failed check aborts),
 * 1 if an input could not be read or went over.
 */

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>


#define REPLAY_BUDGET_MS  50


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static int replay_file(const char *path, long budget_ms);
static int replay_path(const char *path, long budget_ms, unsigned *n);
static void replay_over_budget(int signo);
static long replay_cpu_us(void);


/* the input being run, for the CPU timer's handler */
static char  replay_current[4096];


static void
replay_over_budget(int signo)
{
    static const char  msg[] = ": over its CPU budget\n";

    (void) signo;

    (void) write(STDERR_FILENO, replay_current, strlen(replay_current));
    (void) write(STDERR_FILENO, msg, sizeof(msg) - 1);

    _exit(1);
}


static long
replay_cpu_us(void)
{
    struct timespec  ts;

    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
        return 0;
    }

    return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}


static int
replay_file(const char *path, long budget_ms)
{
    int                rc;
    long               len, start, used;
    FILE              *f;
    uint8_t           *buf;
    struct itimerval   timer;

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

    snprintf(replay_current, sizeof(replay_current), "%s", path);

    memset(&timer, 0, sizeof(timer));
    timer.it_value.tv_sec = budget_ms / 1000;
    timer.it_value.tv_usec = budget_ms % 1000 * 1000;

    start = replay_cpu_us();
    (void) setitimer(ITIMER_PROF, &timer, NULL);

    (void) LLVMFuzzerTestOneInput(buf, (size_t) len);

    memset(&timer, 0, sizeof(timer));
    (void) setitimer(ITIMER_PROF, &timer, NULL);
    used = replay_cpu_us() - start;

    /* the timer ticks coarsely: the clock has the last word */

    if (used > budget_ms * 1000) {
        fprintf(stderr, "%s: %ld ms of CPU, over its budget of %ld\n",
                path, used / 1000, budget_ms);
        goto done;
    }

    rc = 0;

done:

    free(buf);
    fclose(f);

    return rc;
}


static int
replay_path(const char *path, long budget_ms, unsigned *n)
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
        return replay_file(path, budget_ms);
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

        if (replay_path(sub, budget_ms, n) != 0) {
            rc = -1;
        }
    }

    closedir(dir);

    return rc;
}


int
main(int argc, char **argv)
{
    int               i, rc;
    long              budget_ms;
    char             *end;
    unsigned          n;
    struct sigaction  sa;

    rc = 0;
    n = 0;
    budget_ms = REPLAY_BUDGET_MS;
    i = 1;

    if (argc > 2 && strcmp(argv[1], "-b") == 0) {
        budget_ms = strtol(argv[2], &end, 10);

        if (*end != '\0' || budget_ms <= 0) {
            fprintf(stderr, "usage: %s [-b MS] FILE|DIR...\n", argv[0]);
            return 1;
        }

        i = 3;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = replay_over_budget;
    (void) sigaction(SIGPROF, &sa, NULL);

    for ( /* void */ ; i < argc; i++) {
        if (replay_path(argv[i], budget_ms, &n) != 0) {
            rc = 1;
        }
    }

    printf("# %s: %u inputs replayed, %ld ms of CPU each at most\n",
           argv[0], n, budget_ms);

    return rc;
}
