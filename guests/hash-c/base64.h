/*
 * Base64 with the standard alphabet (RFC 4648, section 4) and `=` padding:
 * an encoder and a strict decoder that reports where the input goes wrong.
 */
#ifndef HASH_C_BASE64_H
#define HASH_C_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes base64_encode writes for `len` input bytes (no NUL), or 0 on overflow. */
size_t base64_encoded_size(size_t len);

/* Encode data[0..len) into out (base64_encoded_size(len) bytes); return that size. */
size_t base64_encode(const uint8_t *data, size_t len, char *out);

/* Why a decode failed, and at which input byte (0-based). */
typedef struct {
    size_t position;
    const char *reason;
} base64_error;

/*
 * Decode text[0..len) into out, which must hold at least len / 4 * 3 bytes.
 * Strict: no whitespace, a length that is a multiple of 4, `=` only as one or
 * two final characters, and unused bits before the padding zero (the one
 * canonical encoding). Return 0 with *out_len set, or -1 with *error set.
 */
int base64_decode(const char *text, size_t len, uint8_t *out, size_t *out_len, base64_error *error);

#endif
