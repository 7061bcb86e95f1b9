/*
 * SHA-256 (FIPS 180-4), hand-written: an incremental context (init, update,
 * final) and a one-call helper that writes the lowercase hex digest.
 */
#ifndef HASH_C_SHA256_H
#define HASH_C_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_HEX_SIZE (SHA256_DIGEST_SIZE * 2)

typedef struct {
    uint32_t state[8];
    uint64_t length;      /* bytes hashed so far */
    uint8_t block[64];    /* pending input */
    size_t used;          /* bytes in block */
} sha256_ctx;

void sha256_init(sha256_ctx *ctx);
void sha256_update(sha256_ctx *ctx, const uint8_t *data, size_t len);
void sha256_final(sha256_ctx *ctx, uint8_t digest[SHA256_DIGEST_SIZE]);

/* The digest of data[0..len) as 64 lowercase hex digits and a NUL in hex. */
void sha256_hex(const uint8_t *data, size_t len, char hex[SHA256_HEX_SIZE + 1]);

#endif
