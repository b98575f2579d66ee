/*
 * so_crypto.h: the small cryptographic toolbox of Shipoff, over OpenSSL.
 *
 * Random tokens, SHA-256 and HMAC-SHA256, constant-time comparison,
 * base64url, hex, and AES-256-GCM sealing of secrets at rest.  Nothing here
 * logs; callers never log what goes in or comes out.
 */

#ifndef SO_CRYPTO_H
#define SO_CRYPTO_H

#include <stddef.h>

#define SO_SHA256_LEN      32
#define SO_SHA256_HEXLEN   65      /* with the NUL */

/* n bytes from the kernel's CSPRNG (RAND_bytes); 0 or SO_ERR */
int so_random(void *buf, size_t n);

/*
 * An opaque token: nbytes random bytes, base64url without padding, written
 * NUL-terminated to out (outlen >= 4 * nbytes / 3 + 2).  0 or SO_ERR.
 */
int so_random_token(char *out, size_t outlen, size_t nbytes);

/*
 * A secret shown once and stored as its hash: prefix ("" for none) and
 * so_random_token() of nbytes written to out, its so_sha256_hex() to hash.
 * 0 or SO_ERR.
 */
int so_secret_token(char *out, size_t outlen, const char *prefix,
    size_t nbytes, char hash[SO_SHA256_HEXLEN]);

/* lower-case hex SHA-256 of data: how tokens are stored */
void so_sha256_hex(char out[SO_SHA256_HEXLEN], const void *data, size_t len);

void so_hmac_sha256(unsigned char out[SO_SHA256_LEN], const void *key,
    size_t keylen, const void *data, size_t len);

/* constant-time: 1 when equal, 0 otherwise (time depends only on n) */
int so_ct_equal(const void *a, const void *b, size_t n);

/* constant-time string equality; the lengths may leak, the content not */
int so_ct_streq(const char *a, const char *b);

/*
 * hex <-> bytes.  decode wants exactly 2 * outlen digits of either case:
 * 0 or SO_EINVAL (odd length, bad digit, size); encode writes 2 * len + 1.
 */
int so_hex_decode(unsigned char *out, size_t outlen, const char *hex);
void so_hex_encode(char *out, const unsigned char *in, size_t len);

/*
 * base64url without padding.  encode returns the length written (out must
 * hold 4 * ((inlen + 2) / 3) + 1 bytes) and NUL-terminates; decode takes
 * the room in out in *outlen and returns the bytes written there, and
 * rejects padding, whitespace, any byte outside the alphabet, a length of
 * 4n + 1, non-zero unused bits and an out too small: 0 or SO_EINVAL.
 */
size_t so_b64url_encode(char *out, const void *in, size_t inlen);
int so_b64url_decode(unsigned char *out, size_t *outlen, const char *in,
    size_t inlen);

/*
 * AES-256-GCM with a random 96-bit nonce.  seal writes a malloc()ed,
 * NUL-terminated base64url string of nonce || ciphertext || tag to *out;
 * open reverses it and fails (SO_EINVAL) on any change to the text, the
 * key or the aad.  The opened plaintext is malloc()ed and NUL-terminated.
 */
int so_aead_seal(char **out, const unsigned char key[32], const void *aad,
    size_t aadlen, const void *pt, size_t ptlen);
int so_aead_open(char **out, size_t *outlen, const unsigned char key[32],
    const void *aad, size_t aadlen, const char *sealed);

/* zero memory the compiler may not skip */
void so_wipe(void *p, size_t n);

#endif /* SO_CRYPTO_H */
