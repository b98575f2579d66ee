/*
 * rules_fuzzer.c: the static module's rules parsers and matchers on
 * arbitrary input (libFuzzer's LLVMFuzzerTestOneInput).
 *
 * The input is a rules file, then optionally "\0" and a request path:
 * it is parsed both as _redirects and as _headers, every redirect is
 * applied to the path and every header pattern matched against it, and
 * the results are checked against what the static module relies on: a
 * rewrite never writes past its buffer and reports its length, a parsed
 * span lies inside the input or the arena, a header never carries a line
 * break.  Built by `make fuzz` (clang -fsanitize=fuzzer) and replayed over
 * tests/fuzz/corpus/rules by `make fuzz-replay` without clang, each input
 * within a CPU budget: the cost-* inputs are the worst cases known for
 * matching (rules that nearly match a 70 KB path at every byte).
 */

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff_rules.h"


#define FUZZ_OUT_MAX  512


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


typedef struct fuzz_block_s  fuzz_block_t;

struct fuzz_block_s {
    fuzz_block_t  *next;
};


static void *
fuzz_alloc(void *arena, size_t size)
{
    fuzz_block_t  **head = arena;
    fuzz_block_t   *b;

    b = malloc(sizeof(fuzz_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = *head;
    *head = b;

    return b + 1;
}


static void
fuzz_check_rewrite(shipoff_rules_redirect_t *rd, const char *path, size_t len)
{
    long   n;
    char  *out;

    /* exactly sized, so that ASan sees any write past the end */

    out = malloc(FUZZ_OUT_MAX);
    assert(out != NULL);

    n = shipoff_rules_rewrite(rd, path, len, out, FUZZ_OUT_MAX);
    assert(n >= -1 && n <= FUZZ_OUT_MAX);

    if (n > 0 && rd->to.data[0] == '/') {
        /* a target starts like its rule's */
        assert(out[0] == '/');
    }

    if (n > 0) {
        (void) shipoff_rules_safe_path(out, (size_t) n);
    }

    free(out);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                      *text, *path;
    size_t                     i, j, text_len, path_len;
    fuzz_block_t              *blocks, *next;
    const char                *nul;
    shipoff_rules_t            rules;
    shipoff_rules_arena_t      arena;

    /* copies, so that a read past either end is caught */

    nul = memchr(data, '\0', size);
    text_len = nul ? (size_t) (nul - (const char *) data) : size;
    path_len = nul ? size - text_len - 1 : 0;

    text = malloc(text_len + 1);
    path = malloc(path_len + 1);
    assert(text != NULL && path != NULL);

    memcpy(text, data, text_len);
    memcpy(path, nul ? nul + 1 : "", path_len);

    if (path_len == 0) {
        path[0] = '/';
        path_len = 1;
    }

    blocks = NULL;
    arena.alloc = fuzz_alloc;
    arena.data = &blocks;

    memset(&rules, 0, sizeof(rules));

    if (shipoff_rules_parse_redirects(&rules, text, text_len, &arena)
        == 0)
    {
        assert(rules.nredirects <= text_len);

        for (i = 0; i < rules.nredirects; i++) {
            assert(rules.redirects[i].from.len > 0);
            assert(rules.redirects[i].to.len > 0);
            assert(rules.redirects[i].status >= 200
                   && rules.redirects[i].status <= 410);

            fuzz_check_rewrite(&rules.redirects[i], path, path_len);
            fuzz_check_rewrite(&rules.redirects[i],
                               rules.redirects[i].from.data,
                               rules.redirects[i].from.len);
        }
    }

    if (shipoff_rules_parse_headers(&rules, text, text_len, &arena)
        == 0)
    {
        for (i = 0; i < rules.nheaders; i++) {
            (void) shipoff_rules_match(rules.headers[i].path.data,
                                       rules.headers[i].path.len,
                                       path, path_len);

            for (j = 0; j < rules.headers[i].nheaders; j++) {
                assert(rules.headers[i].headers[j].name.len > 0);
                assert(memchr(rules.headers[i].headers[j].value.data, '\n',
                              rules.headers[i].headers[j].value.len)
                       == NULL);
                assert(memchr(rules.headers[i].headers[j].value.data, '\r',
                              rules.headers[i].headers[j].value.len)
                       == NULL);
            }
        }
    }

    (void) shipoff_rules_safe_path(path, path_len);
    (void) shipoff_rules_fingerprinted(path, path_len);
    (void) shipoff_rules_accepts(text, text_len, "gzip");

    for ( ; blocks; blocks = next) {
        next = blocks->next;
        free(blocks);
    }

    free(text);
    free(path);

    return 0;
}
