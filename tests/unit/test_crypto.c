/*
 * test_crypto.c: so_crypto against published test vectors (FIPS 180-2,
 * RFC 4231, RFC 4648), its encoders against every spelling they must
 * refuse, and the AEAD against every change to a sealed text, its key and
 * its associated data.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_test.h"


#define B64URL_ALPHABET \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

#define TOKENS  1000


static const unsigned char  key1[32] = "0123456789abcdef0123456789abcdef";


static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


static void
test_sha256(void **state)
{
    static const struct {
        const char  *in;
        const char  *hex;
    } cases[] = {
        { "abc",
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "",
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
    };
    char    out[SO_SHA256_HEXLEN];
    size_t  i;

    for (i = 0; i < so_nelems(cases); i++) {
        so_sha256_hex(out, cases[i].in, strlen(cases[i].in));

        so_test_label(strcmp(out, cases[i].hex) != 0, "sha256(\"%s\")\n",
                      cases[i].in);
        assert_string_equal(out, cases[i].hex);
    }
}


static void
test_hmac_sha256(void **state)
{
    /* RFC 4231 test cases 1, 2 and 6 (a key longer than a block) */
    static const struct {
        const char  *key_hex;
        const char  *data;
        const char  *mac_hex;
    } cases[] = {
        { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
        { "4a656665", "what do ya want for nothing?",
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
        { NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
    };
    char           hex[SO_SHA256_HEXLEN];
    size_t         i, keylen;
    unsigned char  key[131], mac[SO_SHA256_LEN];

    for (i = 0; i < so_nelems(cases); i++) {
        if (cases[i].key_hex != NULL) {
            keylen = strlen(cases[i].key_hex) / 2;
            assert_int_equal(so_hex_decode(key, keylen, cases[i].key_hex),
                             SO_OK);

        } else {
            keylen = sizeof(key);
            memset(key, 0xaa, keylen);
        }

        so_hmac_sha256(mac, key, keylen, cases[i].data,
                       strlen(cases[i].data));
        so_hex_encode(hex, mac, sizeof(mac));

        so_test_label(strcmp(hex, cases[i].mac_hex) != 0,
                      "RFC 4231 case %zu\n", i);
        assert_string_equal(hex, cases[i].mac_hex);
    }
}


static void
test_b64url_vectors(void **state)
{
    /* RFC 4648 section 10, then bytes whose standard base64 has + and / */
    static const struct {
        const char  *in;
        size_t       inlen;
        const char  *out;
    } cases[] = {
        { "", 0, "" },
        { "f", 1, "Zg" },
        { "fo", 2, "Zm8" },
        { "foo", 3, "Zm9v" },
        { "foob", 4, "Zm9vYg" },
        { "fooba", 5, "Zm9vYmE" },
        { "foobar", 6, "Zm9vYmFy" },
        { "\xfb\xff", 2, "-_8" },
        { "\xfb\xff\xbf", 3, "-_-_" },
        { "\0\0\0\0", 4, "AAAAAA" },
    };
    int            rc;
    char           enc[32];
    size_t         i, n, len;
    unsigned char  dec[32];

    for (i = 0; i < so_nelems(cases); i++) {
        n = so_b64url_encode(enc, cases[i].in, cases[i].inlen);
        assert_string_equal(enc, cases[i].out);
        assert_int_equal(n, strlen(cases[i].out));

        len = sizeof(dec);
        rc = so_b64url_decode(dec, &len, cases[i].out, strlen(cases[i].out));

        so_test_label(rc != SO_OK, "decoding \"%s\"\n", cases[i].out);
        assert_int_equal(rc, SO_OK);
        assert_int_equal(len, cases[i].inlen);
        assert_memory_equal(dec, cases[i].in, len);
    }
}


static void
test_b64url_round_trip(void **state)
{
    char           enc[4 * ((300 + 2) / 3) + 1];
    size_t         n, len;
    unsigned char  in[300], dec[300];

    for (n = 0; n <= sizeof(in); n++) {
        assert_int_equal(so_random(in, n), SO_OK);

        len = so_b64url_encode(enc, in, n);
        assert_int_equal(len, (4 * n + 2) / 3);
        assert_int_equal(strspn(enc, B64URL_ALPHABET), len);

        len = n;
        assert_int_equal(so_b64url_decode(dec, &len, enc, strlen(enc)),
                         SO_OK);
        assert_int_equal(len, n);
        assert_memory_equal(dec, in, n);
    }
}


static void
test_b64url_reject(void **state)
{
    static const struct {
        const char  *in;
        size_t       inlen;
        size_t       room;
        const char  *why;
    } cases[] = {
        { "Zg==", 4, 8, "padding" },
        { "Zg=", 3, 8, "padding" },
        { "Zm9v=", 5, 8, "padding" },
        { "Zm9vYg==", 8, 8, "padding" },
        { "+_8", 3, 8, "'+'" },
        { "-/8", 3, 8, "'/'" },
        { "Zm 9v", 5, 8, "space" },
        { "Zm9v\n", 5, 8, "newline" },
        { "Zm9v\t", 5, 8, "tab" },
        { " Zm9v", 5, 8, "leading space" },
        { "Zm\r\n9v", 6, 8, "CRLF" },
        { "Zm9\0", 4, 8, "NUL" },
        { "Zm9v\xc3\xa9", 6, 8, "non-ASCII" },
        { "Z", 1, 8, "length 4n+1" },
        { "Zm9vY", 5, 8, "length 4n+1" },
        { "A", 1, 8, "length 4n+1, no bit set" },
        { "AAAAA", 5, 8, "length 4n+1, no bit set" },
        { "Zh", 2, 8, "unused bits set" },
        { "Zm9", 3, 8, "unused bits set" },
        { "-_-", 3, 8, "unused bits set" },
        { "Zm9v", 4, 2, "no room" },
        { "Zm9vYg", 6, 3, "no room" },
    };
    size_t         i, len;
    unsigned char  out[8];

    for (i = 0; i < so_nelems(cases); i++) {
        len = cases[i].room;

        if (so_b64url_decode(out, &len, cases[i].in, cases[i].inlen)
            != SO_EINVAL)
        {
            fail_msg("case %zu (%s) was accepted", i, cases[i].why);
        }
    }
}


static void
test_hex(void **state)
{
    static const struct {
        const char  *hex;
        size_t       outlen;
        int          rc;
        const char  *bytes;
    } cases[] = {
        { "", 0, SO_OK, "" },
        { "00ff", 2, SO_OK, "\x00\xff" },
        { "ABcd09", 3, SO_OK, "\xab\xcd\x09" },
        { "0", 1, SO_EINVAL, NULL },
        { "000", 2, SO_EINVAL, NULL },
        { "ff", 2, SO_EINVAL, NULL },
        { "ffff", 1, SO_EINVAL, NULL },
        { "", 1, SO_EINVAL, NULL },
        { "0g", 1, SO_EINVAL, NULL },
        { "g0", 1, SO_EINVAL, NULL },
        { " 0", 1, SO_EINVAL, NULL },
        { "0x", 1, SO_EINVAL, NULL },
        { "-1", 1, SO_EINVAL, NULL },
        { "0:", 1, SO_EINVAL, NULL },
        { "/0", 1, SO_EINVAL, NULL },
        { "@0", 1, SO_EINVAL, NULL },
        { "0`", 1, SO_EINVAL, NULL },
        { "G0", 1, SO_EINVAL, NULL },
    };
    int            rc, ok;
    char           hex[3], enc[16];
    size_t         i;
    unsigned char  out[8];
    unsigned       c;

    for (i = 0; i < so_nelems(cases); i++) {
        rc = so_hex_decode(out, cases[i].outlen, cases[i].hex);

        so_test_label(rc != cases[i].rc, "hex \"%s\"\n", cases[i].hex);
        assert_int_equal(rc, cases[i].rc);

        if (rc == SO_OK) {
            assert_memory_equal(out, cases[i].bytes, cases[i].outlen);
            so_hex_encode(enc, out, cases[i].outlen);
            assert_int_equal(strlen(enc), 2 * cases[i].outlen);
        }
    }

    /* every byte value, in both positions: a digit exactly when isxdigit */
    for (c = 1; c < 256; c++) {
        ok = isxdigit((int) c) != 0;

        hex[0] = (char) c;
        hex[1] = '0';
        hex[2] = '\0';
        rc = so_hex_decode(out, 1, hex);
        so_test_label(rc != (ok ? SO_OK : SO_EINVAL), "high digit %u\n", c);
        assert_int_equal(rc, ok ? SO_OK : SO_EINVAL);

        hex[0] = '0';
        hex[1] = (char) c;
        rc = so_hex_decode(out, 1, hex);
        so_test_label(rc != (ok ? SO_OK : SO_EINVAL), "low digit %u\n", c);
        assert_int_equal(rc, ok ? SO_OK : SO_EINVAL);
    }

    so_hex_encode(enc, (const unsigned char *) "\x00\xab\xff\x10", 4);
    assert_string_equal(enc, "00abff10");
}


static void
test_ct_equal(void **state)
{
    static const struct {
        const char  *a;
        const char  *b;
        size_t       n;
        int          equal;
    } mem[] = {
        { "abc", "abc", 3, 1 },
        { "abc", "abd", 3, 0 },
        { "abc", "xbc", 3, 0 },
        { "abc", "abd", 2, 1 },
        { "a\0b", "a\0c", 3, 0 },
        { "", "", 0, 1 },
        { "x", "y", 0, 1 },
    };
    static const struct {
        const char  *a;
        const char  *b;
        int          equal;
    } str[] = {
        { "", "", 1 },
        { "abc", "abc", 1 },
        { "a", "", 0 },
        { "", "a", 0 },
        { "abc", "abcd", 0 },
        { "abcd", "abc", 0 },
        { "abc", "abC", 0 },
        { "abc", "Abc", 0 },
    };
    int     rc;
    size_t  i;

    for (i = 0; i < so_nelems(mem); i++) {
        rc = so_ct_equal(mem[i].a, mem[i].b, mem[i].n);
        so_test_label(rc != mem[i].equal, "so_ct_equal case %zu\n", i);
        assert_int_equal(rc, mem[i].equal);
    }

    for (i = 0; i < so_nelems(str); i++) {
        rc = so_ct_streq(str[i].a, str[i].b);
        so_test_label(rc != str[i].equal, "so_ct_streq(\"%s\", \"%s\")\n",
                      str[i].a, str[i].b);
        assert_int_equal(rc, str[i].equal);
    }
}


static void
test_random_token(void **state)
{
    static const size_t  sizes[] = { 0, 1, 2, 3, 16, 32, 47, 48, 49, 100 };
    char                *tokens[TOKENS];
    char                 out[200];
    size_t               i, n, want, len;
    unsigned char        dec[100];

    for (i = 0; i < so_nelems(sizes); i++) {
        n = sizes[i];
        want = (4 * n + 2) / 3;

        /* the size the header promises is enough, one less is not */
        assert_int_equal(so_random_token(out, 4 * n / 3 + 2, n), SO_OK);
        assert_int_equal(strlen(out), want);
        assert_int_equal(strspn(out, B64URL_ALPHABET), want);

        len = sizeof(dec);
        assert_int_equal(so_b64url_decode(dec, &len, out, strlen(out)),
                         SO_OK);
        assert_int_equal(len, n);

        assert_int_equal(so_random_token(out, want, n), SO_ERR);
    }

    for (i = 0; i < TOKENS; i++) {
        tokens[i] = malloc(32);
        assert_non_null(tokens[i]);
        assert_int_equal(so_random_token(tokens[i], 32, 16), SO_OK);
    }

    qsort(tokens, TOKENS, sizeof(tokens[0]), compare_strings);

    for (i = 0; i < TOKENS; i++) {
        if (i > 0 && strcmp(tokens[i - 1], tokens[i]) == 0) {
            fail_msg("token %s drawn twice", tokens[i]);
        }
    }

    for (i = 0; i < TOKENS; i++) {
        free(tokens[i]);
    }
}


static void
test_random(void **state)
{
    unsigned char  a[32], b[32], zero[32];

    memset(zero, 0, sizeof(zero));

    assert_int_equal(so_random(a, sizeof(a)), SO_OK);
    assert_int_equal(so_random(b, sizeof(b)), SO_OK);
    assert_int_equal(so_random(b, 0), SO_OK);

    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, zero, sizeof(a));
}


static void
test_aead_round_trip(void **state)
{
    static const struct {
        size_t       ptlen;
        const char  *aad;
    } cases[] = {
        { 0, "project=1" },
        { 0, NULL },
        { 1, "project=1" },
        { 6, NULL },
        { 100, "project=42 name=DATABASE_URL" },
        { 100000, "big" },
    };
    char           *sealed, *sealed2, *opened;
    size_t          i, len, aadlen;
    unsigned char  *pt;

    for (i = 0; i < so_nelems(cases); i++) {
        pt = malloc(cases[i].ptlen + 1);
        assert_non_null(pt);
        assert_int_equal(so_random(pt, cases[i].ptlen), SO_OK);
        aadlen = cases[i].aad ? strlen(cases[i].aad) : 0;

        assert_int_equal(so_aead_seal(&sealed, key1, cases[i].aad, aadlen,
                                      pt, cases[i].ptlen), SO_OK);
        assert_int_equal(strlen(sealed), (4 * (28 + cases[i].ptlen) + 2) / 3);
        assert_int_equal(strspn(sealed, B64URL_ALPHABET), strlen(sealed));

        /* a fresh nonce each time: the same secret never seals the same */
        assert_int_equal(so_aead_seal(&sealed2, key1, cases[i].aad, aadlen,
                                      pt, cases[i].ptlen), SO_OK);
        assert_string_not_equal(sealed, sealed2);

        assert_int_equal(so_aead_open(&opened, &len, key1, cases[i].aad,
                                      aadlen, sealed), SO_OK);
        assert_int_equal(len, cases[i].ptlen);
        assert_memory_equal(opened, pt, len);
        assert_int_equal(opened[len], '\0');

        free(opened);
        free(sealed2);
        free(sealed);
        free(pt);
    }
}


static void
test_aead_tamper(void **state)
{
    static const char  *texts[] = { "", "s3cr3t value" };
    static const char  *aad = "project=42";
    static const char  *bad_aad[] = {
        "project=43", "project=4", "project=420", "Project=42", "",
    };
    static const char  *suffixes[] = { "A", "AAAA", "=", " ", "\n" };
    int                 rc;
    char               *sealed, *forged, *opened;
    size_t              t, i, j, len, rawlen;
    unsigned char       key2[32], raw[64];
    static const int    bits[] = { 0x01, 0x80 };

    for (t = 0; t < so_nelems(texts); t++) {
        assert_int_equal(so_aead_seal(&sealed, key1, aad, strlen(aad),
                                      texts[t], strlen(texts[t])), SO_OK);

        rawlen = sizeof(raw);
        assert_int_equal(so_b64url_decode(raw, &rawlen, sealed,
                                          strlen(sealed)), SO_OK);
        assert_int_equal(rawlen, 28 + strlen(texts[t]));

        forged = malloc(strlen(sealed) + 8);
        assert_non_null(forged);

        /* any bit of the nonce, the ciphertext or the tag */
        for (i = 0; i < rawlen; i++) {
            for (j = 0; j < so_nelems(bits); j++) {
                raw[i] ^= (unsigned char) bits[j];
                so_b64url_encode(forged, raw, rawlen);
                raw[i] ^= (unsigned char) bits[j];

                rc = so_aead_open(&opened, &len, key1, aad, strlen(aad),
                                  forged);

                so_test_label(rc != SO_EINVAL, "text %zu: bit %#x of byte "
                              "%zu flipped\n", t, bits[j], i);
                assert_int_equal(rc, SO_EINVAL);
                assert_null(opened);
            }
        }

        /* cut short, lengthened, or not base64url any more */
        for (i = 1; i <= strlen(sealed); i++) {
            memcpy(forged, sealed, strlen(sealed) - i);
            forged[strlen(sealed) - i] = '\0';
            assert_int_equal(so_aead_open(&opened, &len, key1, aad,
                                          strlen(aad), forged), SO_EINVAL);
        }

        for (i = 0; i < so_nelems(suffixes); i++) {
            snprintf(forged, strlen(sealed) + 8, "%s%s", sealed, suffixes[i]);
            assert_int_equal(so_aead_open(&opened, &len, key1, aad,
                                          strlen(aad), forged), SO_EINVAL);
        }

        for (i = 0; i < so_nelems(bad_aad); i++) {
            rc = so_aead_open(&opened, &len, key1, bad_aad[i],
                              strlen(bad_aad[i]), sealed);

            so_test_label(rc != SO_EINVAL, "aad \"%s\"\n", bad_aad[i]);
            assert_int_equal(rc, SO_EINVAL);
        }

        for (i = 0; i < sizeof(key2) * 8; i += 37) {
            memcpy(key2, key1, sizeof(key2));
            key2[i / 8] ^= (unsigned char) (1 << (i % 8));
            assert_int_equal(so_aead_open(&opened, &len, key2, aad,
                                          strlen(aad), sealed), SO_EINVAL);
        }

        /* and the untouched text still opens */
        assert_int_equal(so_aead_open(&opened, &len, key1, aad, strlen(aad),
                                      sealed), SO_OK);
        assert_string_equal(opened, texts[t]);

        free(opened);
        free(forged);
        free(sealed);
    }
}


static void
test_wipe(void **state)
{
    unsigned char  buf[64], zero[64];

    memset(buf, 0xa5, sizeof(buf));
    memset(zero, 0, sizeof(zero));

    so_wipe(buf, sizeof(buf));
    assert_memory_equal(buf, zero, sizeof(buf));

    so_wipe(NULL, 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_hmac_sha256),
        cmocka_unit_test(test_b64url_vectors),
        cmocka_unit_test(test_b64url_round_trip),
        cmocka_unit_test(test_b64url_reject),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_random_token),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_aead_round_trip),
        cmocka_unit_test(test_aead_tamper),
        cmocka_unit_test(test_wipe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
