/*
 * Just enough JSON for a tool's arguments and answers, hand-written:
 *
 * - a reader that finds one string member of the top-level object and decodes
 *   it (every escape, \uXXXX and surrogate pairs included), checking the rest
 *   of the document's syntax as it skips over it;
 * - a writer: a growable buffer with string escaping that always yields
 *   valid UTF-8 (invalid input bytes become U+FFFD);
 * - a UTF-8 validator.
 *
 * Every read is bounded by the given length: no NUL terminator is assumed.
 */
#ifndef HASH_C_JSON_H
#define HASH_C_JSON_H

#include <stddef.h>
#include <stdint.h>

/* ----- reading ------------------------------------------------------------ */

typedef enum {
    JSON_OK = 0,
    JSON_MISSING,    /* the object has no such member */
    JSON_NOT_STRING, /* the member is not a string */
    JSON_MALFORMED,  /* not a JSON object (see `at` and `why`) */
    JSON_NO_MEMORY,
} json_status;

/* A decoded string: malloc'd, `len` bytes plus a NUL (it may hold NULs itself). */
typedef struct {
    char *data;
    size_t len;
} json_text;

/* Where and why reading failed. */
typedef struct {
    size_t at;
    const char *why;
} json_error;

/*
 * Find the member `key` of the JSON object text[0..len) and decode its string
 * value into *out (the caller frees out->data). When the key occurs more than
 * once the last one counts, as with most JSON libraries.
 */
json_status json_object_string(const char *text, size_t len, const char *key, json_text *out, json_error *error);

/* ----- writing ------------------------------------------------------------ */

/* A growable output buffer; after an allocation failure it stays `failed`. */
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
/* Append bytes[0..len) as a quoted, escaped JSON string. */
void jb_string(json_buf *buf, const char *bytes, size_t len);
/* Append a NUL-terminated string as a quoted JSON string, or null for NULL. */
void jb_cstring(json_buf *buf, const char *text);
/* Append a decimal integer. */
void jb_int(json_buf *buf, long long value);
/* Append `len` bytes for the caller to fill; return where they start, or NULL
   (and `failed`) when memory runs out. */
char *jb_extend(json_buf *buf, size_t len);
/* Cut the buffer back to `len` bytes (no more than it holds). */
void jb_truncate(json_buf *buf, size_t len);

/* ----- UTF-8 -------------------------------------------------------------- */

/* The index of the first byte that breaks UTF-8 in bytes[0..len), or len. */
size_t utf8_invalid_at(const uint8_t *bytes, size_t len);

/* How many characters (code points) bytes[0..len) holds, assuming valid UTF-8. */
size_t utf8_count(const uint8_t *bytes, size_t len);

#endif
