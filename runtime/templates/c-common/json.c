/*
 * The JSON reader and writer of json.h. The reader is a small recursive-descent
 * parser over a (pointer, length) pair: every access goes through `peek`, which
 * checks the position against the length first.
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* Deepest nesting of arrays and objects the reader accepts. */
#define MAX_DEPTH 128

/* ----- UTF-8 -------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at bytes[i], or 0 if there is none
   (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_sequence(const uint8_t *bytes, size_t len, size_t i) {
    uint8_t b0 = bytes[i];
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (b0 < 0x80) {
        return 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 3;
        if (b0 == 0xE0) {
            lo = 0xA0;
        } else if (b0 == 0xED) {
            hi = 0x9F;
        }
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 4;
        if (b0 == 0xF0) {
            lo = 0x90;
        } else if (b0 == 0xF4) {
            hi = 0x8F;
        }
    } else {
        return 0;
    }
    if (len - i < need || bytes[i + 1] < lo || bytes[i + 1] > hi) {
        return 0;
    }
    for (size_t k = 2; k < need; k++) {
        if (bytes[i + k] < 0x80 || bytes[i + k] > 0xBF) {
            return 0;
        }
    }
    return need;
}

/* ----- writing ------------------------------------------------------------ */

void jb_init(json_buf *buf) {
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->failed = 0;
}

void jb_free(json_buf *buf) {
    free(buf->data);
    jb_init(buf);
}

/* Make room for `extra` more bytes (and a NUL); 0 on failure. */
static int reserve(json_buf *buf, size_t extra) {
    if (buf->failed) {
        return 0;
    }
    if (extra > (size_t)-1 - buf->len - 1) {
        buf->failed = 1;
        return 0;
    }
    size_t want = buf->len + extra + 1;
    if (want <= buf->cap) {
        return 1;
    }
    size_t cap = buf->cap ? buf->cap : 64;
    while (cap < want) {
        cap = cap > (size_t)-1 / 2 ? want : cap * 2;
    }
    char *data = realloc(buf->data, cap);
    if (data == NULL) {
        buf->failed = 1;
        return 0;
    }
    buf->data = data;
    buf->cap = cap;
    return 1;
}

void jb_raw(json_buf *buf, const char *bytes, size_t len) {
    if (!reserve(buf, len)) {
        return;
    }
    if (len > 0) {
        memcpy(buf->data + buf->len, bytes, len);
    }
    buf->len += len;
    buf->data[buf->len] = '\0';
}

void jb_lit(json_buf *buf, const char *literal) {
    jb_raw(buf, literal, strlen(literal));
}

void jb_utf8(json_buf *buf, const char *bytes, size_t len) {
    const uint8_t *in = (const uint8_t *)bytes;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_sequence(in, len, i);
        if (n == 0) {
            jb_raw(buf, "\xEF\xBF\xBD", 3);
            i++;
        } else {
            jb_raw(buf, bytes + i, n);
            i += n;
        }
    }
}

void jb_string(json_buf *buf, const char *bytes, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const uint8_t *in = (const uint8_t *)bytes;
    jb_raw(buf, "\"", 1);
    size_t i = 0;
    while (i < len) {
        uint8_t c = in[i];
        if (c >= 0x80) {
            size_t n = utf8_sequence(in, len, i);
            jb_utf8(buf, bytes + i, n ? n : 1);
            i += n ? n : 1;
            continue;
        }
        switch (c) {
        case '"': jb_raw(buf, "\\\"", 2); break;
        case '\\': jb_raw(buf, "\\\\", 2); break;
        case '\n': jb_raw(buf, "\\n", 2); break;
        case '\r': jb_raw(buf, "\\r", 2); break;
        case '\t': jb_raw(buf, "\\t", 2); break;
        default:
            if (c < 0x20) {
                char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
                jb_raw(buf, esc, sizeof esc);
            } else {
                jb_raw(buf, bytes + i, 1);
            }
        }
        i++;
    }
    jb_raw(buf, "\"", 1);
}

void jb_cstring(json_buf *buf, const char *text) {
    jb_string(buf, text, strlen(text));
}

void jb_u64(json_buf *buf, uint64_t value) {
    char digits[20];
    size_t n = sizeof digits;
    do {
        digits[--n] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    jb_raw(buf, digits + n, sizeof digits - n);
}

/* ----- reading ------------------------------------------------------------ */

typedef struct {
    const char *text;
    size_t len;
    size_t pos;
    json_error *error;
} reader;

/* The byte at the position, or -1 at the end. */
static int peek(const reader *r) {
    return r->pos < r->len ? (unsigned char)r->text[r->pos] : -1;
}

static int fail(reader *r, const char *why) {
    if (r->error != NULL) {
        r->error->at = r->pos;
        r->error->why = why;
    }
    return 0;
}

static void skip_ws(reader *r) {
    for (int c = peek(r); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek(r)) {
        r->pos++;
    }
}

static int expect(reader *r, char c, const char *why) {
    if (peek(r) != (unsigned char)c) {
        return fail(r, why);
    }
    r->pos++;
    return 1;
}

static int is_digit(int c) {
    return c >= '0' && c <= '9';
}

/* Four hex digits at the position, as a number; -1 if they are not there. */
static long hex4(reader *r) {
    long value = 0;
    for (int k = 0; k < 4; k++) {
        int c = peek(r);
        int d;
        if (is_digit(c)) {
            d = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        } else {
            return -1;
        }
        value = value * 16 + d;
        r->pos++;
    }
    return value;
}

/* Append code point `cp` (not a surrogate, at most U+10FFFF) as UTF-8. */
static void put_code_point(json_buf *out, unsigned long cp) {
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    jb_raw(out, b, n);
}

/* Read the string at the position (its opening quote included), decoding it
   into `out` unless `out` is NULL. Bytes that are not UTF-8 become U+FFFD. */
static int read_string(reader *r, json_buf *out) {
    if (!expect(r, '"', "expected a string")) {
        return 0;
    }
    for (;;) {
        int c = peek(r);
        if (c < 0) {
            return fail(r, "unterminated string");
        }
        if (c == '"') {
            r->pos++;
            return 1;
        }
        if (c < 0x20) {
            return fail(r, "control character in a string (it must be escaped)");
        }
        if (c != '\\') {
            /* Copy the run of plain bytes up to the next quote, backslash or control. */
            size_t start = r->pos;
            while (r->pos < r->len) {
                unsigned char b = (unsigned char)r->text[r->pos];
                if (b == '"' || b == '\\' || b < 0x20) {
                    break;
                }
                r->pos++;
            }
            if (out != NULL) {
                jb_utf8(out, r->text + start, r->pos - start);
            }
            continue;
        }
        r->pos++; /* the backslash */
        char simple = 0;
        switch (peek(r)) {
        case '"': simple = '"'; break;
        case '\\': simple = '\\'; break;
        case '/': simple = '/'; break;
        case 'b': simple = '\b'; break;
        case 'f': simple = '\f'; break;
        case 'n': simple = '\n'; break;
        case 'r': simple = '\r'; break;
        case 't': simple = '\t'; break;
        case 'u': break;
        default: return fail(r, "invalid escape in a string");
        }
        r->pos++;
        if (simple != 0) {
            if (out != NULL) {
                jb_raw(out, &simple, 1);
            }
            continue;
        }
        long unit = hex4(r);
        if (unit < 0) {
            return fail(r, "\\u must be followed by four hex digits");
        }
        unsigned long cp = (unsigned long)unit;
        if (unit >= 0xDC00 && unit <= 0xDFFF) {
            return fail(r, "a \\u escape is a low surrogate without a high surrogate before it");
        }
        if (unit >= 0xD800 && unit <= 0xDBFF) {
            /* A high surrogate: a \uDC00-\uDFFF escape must follow. */
            if (r->len - r->pos < 2 || r->text[r->pos] != '\\' || r->text[r->pos + 1] != 'u') {
                return fail(r, "a \\u escape is a high surrogate without a low surrogate after it");
            }
            r->pos += 2;
            long low = hex4(r);
            if (low < 0xDC00 || low > 0xDFFF) {
                return fail(r, "a \\u escape is a high surrogate without a low surrogate after it");
            }
            cp = 0x10000 + (((unsigned long)unit - 0xD800) << 10) + ((unsigned long)low - 0xDC00);
        }
        if (out != NULL) {
            put_code_point(out, cp);
        }
    }
}

static int read_number(reader *r) {
    if (peek(r) == '-') {
        r->pos++;
    }
    if (peek(r) == '0') {
        r->pos++;
    } else if (is_digit(peek(r))) {
        while (is_digit(peek(r))) {
            r->pos++;
        }
    } else {
        return fail(r, "invalid number");
    }
    if (peek(r) == '.') {
        r->pos++;
        if (!is_digit(peek(r))) {
            return fail(r, "invalid number: a digit must follow the decimal point");
        }
        while (is_digit(peek(r))) {
            r->pos++;
        }
    }
    if (peek(r) == 'e' || peek(r) == 'E') {
        r->pos++;
        if (peek(r) == '+' || peek(r) == '-') {
            r->pos++;
        }
        if (!is_digit(peek(r))) {
            return fail(r, "invalid number: a digit must follow the exponent");
        }
        while (is_digit(peek(r))) {
            r->pos++;
        }
    }
    return 1;
}

static int read_literal(reader *r, const char *word) {
    size_t n = strlen(word);
    if (r->len - r->pos < n || memcmp(r->text + r->pos, word, n) != 0) {
        return fail(r, "invalid literal (expected true, false or null)");
    }
    r->pos += n;
    return 1;
}

static int skip_value(reader *r, int depth);

static int skip_container(reader *r, int depth, char close) {
    if (depth >= MAX_DEPTH) {
        return fail(r, "nested too deeply");
    }
    r->pos++; /* the opening bracket */
    skip_ws(r);
    if (peek(r) == (unsigned char)close) {
        r->pos++;
        return 1;
    }
    for (;;) {
        if (close == '}') {
            if (!read_string(r, NULL)) {
                return 0;
            }
            skip_ws(r);
            if (!expect(r, ':', "expected `:` after a member name")) {
                return 0;
            }
            skip_ws(r);
        }
        if (!skip_value(r, depth + 1)) {
            return 0;
        }
        skip_ws(r);
        if (peek(r) != ',') {
            return expect(r, close, close == '}' ? "expected `,` or `}`" : "expected `,` or `]`");
        }
        r->pos++;
        skip_ws(r);
    }
}

static int skip_value(reader *r, int depth) {
    int c = peek(r);
    switch (c) {
    case '"': return read_string(r, NULL);
    case '{': return skip_container(r, depth, '}');
    case '[': return skip_container(r, depth, ']');
    case 't': return read_literal(r, "true");
    case 'f': return read_literal(r, "false");
    case 'n': return read_literal(r, "null");
    case -1: return fail(r, "unexpected end of the document");
    default: return c == '-' || is_digit(c) ? read_number(r) : fail(r, "expected a value");
    }
}

int json_parse(const char *text, size_t len, json_value *root, json_error *error) {
    reader r = {text, len, 0, error};
    skip_ws(&r);
    size_t start = r.pos;
    if (!skip_value(&r, 0)) {
        return 0;
    }
    root->at = text + start;
    root->len = r.pos - start;
    skip_ws(&r);
    if (r.pos != r.len) {
        return fail(&r, "text after the end of the document");
    }
    return 1;
}

char json_kind(json_value value) {
    char c = value.len > 0 ? value.at[0] : 'n';
    return c == '-' || is_digit(c) ? '0' : c;
}

/* The values below are spans of a checked document: the reader walks them
   again (bounded as ever), but they cannot fail to parse. */

int json_member(json_value object, const char *key, json_value *out) {
    if (json_kind(object) != '{') {
        return 0;
    }
    reader r = {object.at, object.len, 1, NULL};
    size_t key_len = strlen(key);
    json_buf name;
    jb_init(&name);
    int found = 0;
    skip_ws(&r);
    while (peek(&r) == '"') {
        name.len = 0;
        if (!read_string(&r, &name)) {
            break;
        }
        skip_ws(&r);
        r.pos++; /* the colon */
        skip_ws(&r);
        size_t start = r.pos;
        if (!skip_value(&r, 1)) {
            break;
        }
        if (!name.failed && name.len == key_len && (key_len == 0 || memcmp(name.data, key, key_len) == 0)) {
            out->at = r.text + start;
            out->len = r.pos - start;
            found = 1;
        }
        skip_ws(&r);
        if (peek(&r) == ',') {
            r.pos++;
            skip_ws(&r);
        }
    }
    jb_free(&name);
    return found;
}

int json_item(json_value array, size_t index, json_value *out) {
    if (json_kind(array) != '[') {
        return 0;
    }
    reader r = {array.at, array.len, 1, NULL};
    skip_ws(&r);
    for (size_t i = 0; peek(&r) != ']' && peek(&r) >= 0; i++) {
        size_t start = r.pos;
        if (!skip_value(&r, 1)) {
            return 0;
        }
        if (i == index) {
            out->at = r.text + start;
            out->len = r.pos - start;
            return 1;
        }
        skip_ws(&r);
        if (peek(&r) == ',') {
            r.pos++;
            skip_ws(&r);
        }
    }
    return 0;
}

int json_string(json_value value, json_text *out) {
    out->data = NULL;
    out->len = 0;
    if (json_kind(value) != '"') {
        return 0;
    }
    reader r = {value.at, value.len, 0, NULL};
    json_buf text;
    jb_init(&text);
    jb_raw(&text, "", 0); /* an empty string still gets a buffer */
    if (!read_string(&r, &text) || text.failed) {
        jb_free(&text);
        return 0;
    }
    out->data = text.data;
    out->len = text.len;
    return 1;
}

int json_u64(json_value value, uint64_t *out) {
    uint64_t n = 0;
    if (value.len == 0) {
        return 0;
    }
    for (size_t i = 0; i < value.len; i++) {
        int c = (unsigned char)value.at[i];
        if (!is_digit(c)) {
            return 0; /* a sign, a fraction, an exponent or not a number */
        }
        if (n > (UINT64_MAX - (uint64_t)(c - '0')) / 10) {
            return 0; /* too large */
        }
        n = n * 10 + (uint64_t)(c - '0');
    }
    *out = n;
    return 1;
}
