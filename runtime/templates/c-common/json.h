/*
 * Just enough JSON for a guest, hand-written, no allocation while reading:
 *
 * - a reader: `json_parse` checks a whole document and hands back its root
 *   as a `json_value` (a span of the text); `json_member` and `json_item`
 *   find the values inside objects and arrays, `json_string` and `json_u64`
 *   read them. Spans point into the caller's text: keep it alive meanwhile.
 * - a writer: a growable buffer with string escaping that always yields
 *   valid UTF-8 (a byte that is not UTF-8 becomes U+FFFD).
 *
 * Every read is bounded by the given length: no NUL terminator is assumed,
 * and nesting is capped so that a deep document cannot exhaust the stack.
 */
#ifndef GUEST_JSON_H
#define GUEST_JSON_H

#include <stddef.h>
#include <stdint.h>

/* ----- reading ------------------------------------------------------------ */

/* One value of a checked document: its text, `len` bytes from `at`. */
typedef struct {
    const char *at;
    size_t len;
} json_value;

/* Where and why a document is not JSON. */
typedef struct {
    size_t at;
    const char *why;
} json_error;

/* A decoded string: malloc'd, `len` bytes plus a NUL (it may hold NULs itself). */
typedef struct {
    char *data;
    size_t len;
} json_text;

/* Check that text[0..len) is one JSON document; 1 with its value in *root, or
   0 with *error set. */
int json_parse(const char *text, size_t len, json_value *root, json_error *error);

/* The kind of a value: '{', '[', '"', 't', 'f', 'n' or '0' (a number). */
char json_kind(json_value value);

/* The member `key` of an object (the last one when the key repeats); 0 when
   `object` is not an object or has no such member. */
int json_member(json_value object, const char *key, json_value *out);

/* The item `index` (from 0) of an array; 0 when `array` is not an array or
   is shorter. */
int json_item(json_value array, size_t index, json_value *out);

/* Decode a string value into *out (the caller frees out->data); 0 when it is
   not a string or memory runs out. */
int json_string(json_value value, json_text *out);

/* A whole number from 0 to 2^64-1 (no fraction, no exponent); 0 otherwise. */
int json_u64(json_value value, uint64_t *out);

/* ----- writing ------------------------------------------------------------ */

/* A growable output buffer, NUL-terminated; after an allocation failure it
   stays `failed` (and appends do nothing). */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} json_buf;

void jb_init(json_buf *buf);
void jb_free(json_buf *buf);
/* Append raw bytes, unescaped. */
void jb_raw(json_buf *buf, const char *bytes, size_t len);
/* Append a NUL-terminated string, unescaped. */
void jb_lit(json_buf *buf, const char *literal);
/* Append bytes[0..len) unescaped, each byte that is not UTF-8 as U+FFFD. */
void jb_utf8(json_buf *buf, const char *bytes, size_t len);
/* Append bytes[0..len) as a quoted, escaped JSON string. */
void jb_string(json_buf *buf, const char *bytes, size_t len);
/* Append a NUL-terminated string as a quoted JSON string. */
void jb_cstring(json_buf *buf, const char *text);
/* Append a decimal number. */
void jb_u64(json_buf *buf, uint64_t value);

#endif
