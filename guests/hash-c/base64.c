/*
 * Base64 (RFC 4648, standard alphabet, padded). The decoder reads whole
 * 4-character groups, so it never looks past the input, and it refuses every
 * non-canonical form, naming the first offending position.
 */
#include "base64.h"

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_size(size_t len) {
    size_t groups = len / 3 + (len % 3 != 0);
    if (groups > (size_t)-1 / 4) {
        return 0;
    }
    return groups * 4;
}

size_t base64_encode(const uint8_t *data, size_t len, char *out) {
    size_t o = 0;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        out[o++] = ALPHABET[v >> 18];
        out[o++] = ALPHABET[(v >> 12) & 63];
        out[o++] = ALPHABET[(v >> 6) & 63];
        out[o++] = ALPHABET[v & 63];
    }
    size_t rest = len - i;
    if (rest == 1) {
        uint32_t v = (uint32_t)data[i] << 16;
        out[o++] = ALPHABET[v >> 18];
        out[o++] = ALPHABET[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (rest == 2) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
        out[o++] = ALPHABET[v >> 18];
        out[o++] = ALPHABET[(v >> 12) & 63];
        out[o++] = ALPHABET[(v >> 6) & 63];
        out[o++] = '=';
    }
    return o;
}

/* The 6-bit value of `c`, or -1 when it is not in the alphabet. */
static int value_of(unsigned char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

static int fail(base64_error *error, size_t position, const char *reason) {
    error->position = position;
    error->reason = reason;
    return -1;
}

int base64_decode(const char *text, size_t len, uint8_t *out, size_t *out_len, base64_error *error) {
    size_t o = 0;
    for (size_t g = 0; g < len; g += 4) {
        /* Check the characters of this group one by one, so that the error
           names the first bad position even in a short last group. */
        int v[4];
        int padding = 0;
        for (size_t k = 0; k < 4; k++) {
            size_t at = g + k;
            if (at >= len) {
                return fail(error, len, "the input ends inside a 4-character group (its length must be a multiple of 4)");
            }
            unsigned char c = (unsigned char)text[at];
            if (c == '=') {
                if (k < 2) {
                    return fail(error, at, "`=` padding can only be the third or fourth character of a group");
                }
                if (g + 4 != len) {
                    return fail(error, at, "`=` padding can only end the input");
                }
                padding++;
                v[k] = 0;
                continue;
            }
            if (padding > 0) {
                return fail(error, at, "a character follows `=` padding");
            }
            v[k] = value_of(c);
            if (v[k] < 0) {
                return fail(error, at,
                            c == ' ' || c == '\t' || c == '\r' || c == '\n'
                                ? "whitespace is not allowed"
                                : "not a base64 character (A-Z, a-z, 0-9, +, / and = padding)");
            }
        }
        uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if (padding == 2 && (bits & 0xffff) != 0) {
            return fail(error, g + 1, "unused bits before the `==` padding must be zero (not canonical base64)");
        }
        if (padding == 1 && (bits & 0xff) != 0) {
            return fail(error, g + 2, "unused bits before the `=` padding must be zero (not canonical base64)");
        }
        out[o++] = (uint8_t)(bits >> 16);
        if (padding < 2) {
            out[o++] = (uint8_t)(bits >> 8);
        }
        if (padding < 1) {
            out[o++] = (uint8_t)bits;
        }
    }
    *out_len = o;
    return 0;
}
