/*
 * The `turn` resource of {{name}}, and the `output` its stream writes to.
 *
 * On its first `next()` a turn sends the native request through the host's
 * `http` import (the host adds the API key), then reads the body a piece at
 * a time with `body.read`, splits it into server-sent events (lines end in
 * LF, CRLF or CR; a piece may end anywhere, even inside a line ending or a
 * UTF-8 character) and passes each event's data to chat.c. Each `next()`
 * returns the events one read produced. A failure becomes one `error` event,
 * after which `next()` returns none. The result for `finalize` is assembled
 * as the events go by.
 */
#include <stdlib.h>
#include <string.h>

#include "provider.h"

/* The first read is small, so the first events come quickly; each read then
   doubles, up to READ_MAX_BYTES. */
#define READ_FIRST_BYTES 2048u
#define READ_MAX_BYTES 65536u
/* The most of an error answer's body read, and the most kept in the error. */
#define ERROR_BODY_BYTES 4096u
#define EXCERPT_BYTES 512u
/* The largest server-sent event accepted (its unfinished line and data). */
#define MAX_EVENT_BYTES (1024u * 1024u)

typedef enum { NOT_SENT, READING, OVER } turn_phase;

struct exports_cordon_provider_provider_turn_t {
    turn_phase phase;
    exports_cordon_provider_provider_native_request_t request; /* until sent */
    cordon_provider_http_own_body_t body; /* while READING */
    uint32_t read_size;
    /* The server-sent events decoder. */
    json_buf line; /* the unfinished line */
    json_buf data; /* the event's `data:` lines, joined with \n */
    bool has_data;
    bool skip_lf; /* the last piece ended in CR: a leading LF belongs to it */
    chat_stream stream;
    output out;
    bool failed;
    provider_error failure; /* when failed */
};

typedef struct exports_cordon_provider_provider_turn_t turn;

/* ----- output ------------------------------------------------------------- */

static event_t *push(output *out, uint8_t tag) {
    if (out->batch_len == out->batch_cap) {
        size_t cap = out->batch_cap ? out->batch_cap * 2 : 16;
        event_t *grown = realloc(out->batch, cap * sizeof *grown);
        if (grown == NULL) {
            abort();
        }
        out->batch = grown;
        out->batch_cap = cap;
    }
    event_t *event = &out->batch[out->batch_len++];
    memset(event, 0, sizeof *event);
    event->tag = tag;
    return event;
}

static void option_set(option_string_t *out, const json_text *text) {
    out->is_some = text != NULL;
    if (text != NULL) {
        string_copy(&out->val, text->data, text->len);
    }
}

void out_text(output *out, const char *text, size_t len) {
    if (len == 0) {
        return;
    }
    jb_utf8(&out->text, text, len);
    string_copy(&push(out, CORDON_PROVIDER_TYPES_EVENT_TEXT_DELTA)->val.text_delta, text, len);
}

void out_metadata(output *out, const json_text *id, const json_text *model, const uint64_t *created) {
    if (out->has_metadata) {
        return;
    }
    out->has_metadata = id != NULL || model != NULL;
    option_set(&out->response_id, id);
    option_set(&out->model, model);
    cordon_provider_types_response_metadata_t *meta = &push(out, CORDON_PROVIDER_TYPES_EVENT_RESPONSE_METADATA)->val.response_metadata;
    option_copy(&meta->id, &out->response_id);
    option_copy(&meta->model, &out->model);
    meta->timestamp.is_some = created != NULL;
    meta->timestamp.val = created ? *created : 0;
}

void out_usage(output *out, const uint64_t *input_tokens, const uint64_t *output_tokens) {
    if (input_tokens != NULL) {
        out->usage.input_tokens.is_some = true;
        out->usage.input_tokens.val = *input_tokens;
    }
    if (output_tokens != NULL) {
        out->usage.output_tokens.is_some = true;
        out->usage.output_tokens.val = *output_tokens;
    }
    push(out, CORDON_PROVIDER_TYPES_EVENT_USAGE)->val.usage = out->usage; /* no strings in it: a plain copy */
}

void out_finish(output *out, uint8_t reason, const char *raw, size_t raw_len) {
    provider_component_option_string_free(&out->finish.raw);
    out->finish.reason = reason;
    out->finish.raw.is_some = true;
    string_copy(&out->finish.raw.val, raw, raw_len);
}

/* ----- failures ------------------------------------------------------------ */

/* End the turn with `err` (taken over): one `error` event, kept for finalize. */
static void fail(turn *t, provider_error *err) {
    err->output_streamed = t->out.text.len > 0;
    t->failure = *err;
    t->failed = true;
    error_copy(&push(&t->out, CORDON_PROVIDER_TYPES_EVENT_ERROR)->val.error, &t->failure);
    t->phase = OVER;
}

/* The host's `http-error` (denied, timeout, ...) as a provider error. */
static void broker_error(provider_error *err, cordon_provider_http_http_error_t *failure) {
    uint8_t kind;
    switch (failure->kind) {
    case CORDON_PROVIDER_HTTP_HTTP_ERROR_KIND_DENIED: kind = KIND(DENIED); break;
    case CORDON_PROVIDER_HTTP_HTTP_ERROR_KIND_INVALID_REQUEST: kind = KIND(INVALID_REQUEST); break;
    case CORDON_PROVIDER_HTTP_HTTP_ERROR_KIND_TIMEOUT: kind = KIND(TIMEOUT); break;
    case CORDON_PROVIDER_HTTP_HTTP_ERROR_KIND_TOO_LARGE: kind = KIND(LIMIT_EXCEEDED); break;
    case CORDON_PROVIDER_HTTP_HTTP_ERROR_KIND_LIMIT: kind = KIND(LIMIT_EXCEEDED); break;
    default: kind = KIND(NETWORK); break; /* connect, protocol */
    }
    fail_with(err, kind, "");
    string_copy(&err->message, (const char *)failure->message.ptr, failure->message.len);
    cordon_provider_http_http_error_free(failure);
}

static uint8_t status_kind(uint16_t status) {
    switch (status) {
    case 400: case 413: case 422: return KIND(INVALID_REQUEST);
    case 401: return KIND(AUTH);
    case 402: return KIND(QUOTA);
    case 403: return KIND(PERMISSION);
    case 404: return KIND(MODEL_NOT_FOUND);
    case 408: return KIND(TIMEOUT);
    case 429: return KIND(RATE_LIMITED);
    case 529: return KIND(OVERLOADED);
    default: return status >= 500 && status <= 599 ? KIND(SERVER) : KIND(OTHER);
    }
}

/* Whether `key` is `name` in any case (header names are ASCII). */
static bool same_name(const string_t *key, const char *name) {
    size_t len = strlen(name);
    if (key->len != len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = (char)key->ptr[i];
        if ((c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c) != name[i]) {
            return false;
        }
    }
    return true;
}

/* The first header `name` as a number from 0 to 10^15, if it is one. */
static bool header_number(const cordon_provider_http_list_header_t *headers, const char *name, double *number) {
    for (size_t i = 0; i < headers->len; i++) {
        if (!same_name(&headers->ptr[i].name, name)) {
            continue;
        }
        char value[32]; /* a NUL-terminated copy, for strtod */
        size_t n = headers->ptr[i].value.len < sizeof value - 1 ? headers->ptr[i].value.len : sizeof value - 1;
        memcpy(value, headers->ptr[i].value.ptr, n);
        value[n] = '\0';
        char *end;
        *number = strtod(value, &end);
        while (*end == ' ' || *end == '\t') {
            end++;
        }
        return end != value && *end == '\0' && *number >= 0 && *number < 1e15;
    }
    return false;
}

/* How long the upstream asks us to wait: `retry-after-ms`, else
   `retry-after` in seconds (an HTTP date is not read). */
static bool retry_after_ms(const cordon_provider_http_list_header_t *headers, uint64_t *ms) {
    double number;
    if (header_number(headers, "retry-after-ms", &number)) {
        *ms = (uint64_t)(number + 0.5);
        return true;
    }
    if (header_number(headers, "retry-after", &number)) {
        *ms = (uint64_t)(number * 1000 + 0.5);
        return true;
    }
    return false;
}

/* The error for an HTTP error answer: the status's kind, `retry-after`, and
   a bounded excerpt of the body. Takes the response over. */
static void status_error(provider_error *err, cordon_provider_http_response_t *response) {
    json_buf body;
    jb_init(&body);
    cordon_provider_http_borrow_body_t borrowed = cordon_provider_http_borrow_body(response->body);
    while (body.len < ERROR_BODY_BYTES && !body.failed) {
        provider_component_option_list_u8_t chunk;
        cordon_provider_http_http_error_t failure;
        if (!cordon_provider_http_method_body_read(borrowed, ERROR_BODY_BYTES - (uint32_t)body.len, &chunk, &failure)) {
            cordon_provider_http_http_error_free(&failure);
            break; /* keep what came */
        }
        if (!chunk.is_some) {
            break;
        }
        jb_raw(&body, (const char *)chunk.val.ptr, chunk.val.len);
        provider_component_option_list_u8_free(&chunk);
    }
    cordon_provider_http_body_drop_own(response->body);

    json_buf msg;
    jb_init(&msg);
    jb_lit(&msg, "upstream answered HTTP ");
    jb_u64(&msg, response->status);
    fail_with_buf(err, status_kind(response->status), &msg);
    err->status.is_some = true;
    err->status.val = response->status;
    err->retry_after_ms.is_some = retry_after_ms(&response->headers, &err->retry_after_ms.val);

    /* The excerpt: at most EXCERPT_BYTES, cut at a character, trimmed. */
    size_t start = 0, end = body.failed ? 0 : body.len;
    bool cut = end > EXCERPT_BYTES;
    if (cut) {
        end = EXCERPT_BYTES;
        while (end > 0 && ((unsigned char)body.data[end] & 0xC0) == 0x80) {
            end--;
        }
    }
    while (start < end && (unsigned char)body.data[start] <= ' ') {
        start++;
    }
    while (end > start && (unsigned char)body.data[end - 1] <= ' ') {
        end--;
    }
    if (end > start) {
        json_buf excerpt;
        jb_init(&excerpt);
        jb_utf8(&excerpt, body.data + start, end - start);
        jb_lit(&excerpt, cut ? "\xE2\x80\xA6" : ""); /* … */
        err->body_excerpt.is_some = true;
        string_copy(&err->body_excerpt.val, excerpt.data, excerpt.failed ? 0 : excerpt.len);
        jb_free(&excerpt);
    }
    jb_free(&body);
    cordon_provider_http_response_free(response);
}

/* ----- server-sent events ---------------------------------------------------- */

/* The event is complete: hand its data to the stream. */
static bool dispatch(turn *t, provider_error *err) {
    if (!t->has_data) {
        return true;
    }
    bool ok = chat_on_data(&t->stream, t->data.data, t->data.len, &t->out, err);
    t->data.len = 0;
    t->has_data = false;
    return ok;
}

/* One line, without its line ending. */
static bool on_line(turn *t, const char *line, size_t len, provider_error *err) {
    if (len == 0) {
        return dispatch(t, err);
    }
    if (line[0] == ':') {
        return true; /* a comment */
    }
    const char *colon = memchr(line, ':', len);
    size_t field = colon ? (size_t)(colon - line) : len;
    if (field == 4 && memcmp(line, "data", 4) == 0) {
        const char *value = colon ? colon + 1 : line + len;
        size_t value_len = (size_t)(line + len - value);
        if (value_len > 0 && value[0] == ' ') {
            value++;
            value_len--;
        }
        if (t->has_data) {
            jb_raw(&t->data, "\n", 1);
        }
        jb_raw(&t->data, value, value_len);
        t->has_data = true;
    }
    /* `event:`, `id:`, `retry:` and unknown fields do not matter here. */
    if (t->data.failed || t->data.len > MAX_EVENT_BYTES) {
        return fail_with(err, KIND(LIMIT_EXCEEDED), "a server-sent event is larger than " NAME " accepts");
    }
    return true;
}

/* Keep the start of a line for the next piece, within bounds. */
static bool keep(turn *t, const char *bytes, size_t len, provider_error *err) {
    jb_raw(&t->line, bytes, len);
    if (t->line.failed || t->line.len > MAX_EVENT_BYTES) {
        return fail_with(err, KIND(LIMIT_EXCEEDED), "a server-sent event is larger than " NAME " accepts");
    }
    return true;
}

/* Split `len` bytes of the body into lines; the unfinished one is kept. */
static bool feed(turn *t, const char *bytes, size_t len, provider_error *err) {
    size_t i = 0;
    if (t->skip_lf && len > 0) {
        t->skip_lf = false;
        if (bytes[0] == '\n') {
            i = 1;
        }
    }
    while (i < len) {
        size_t end = i;
        while (end < len && bytes[end] != '\n' && bytes[end] != '\r') {
            end++;
        }
        if (end == len) {
            return keep(t, bytes + i, len - i, err); /* no line ending yet */
        }
        bool ok;
        if (t->line.len == 0) {
            ok = on_line(t, bytes + i, end - i, err); /* the whole line is in this piece */
        } else {
            ok = keep(t, bytes + i, end - i, err) && on_line(t, t->line.data, t->line.len, err);
            t->line.len = 0;
        }
        if (!ok) {
            return false;
        }
        if (bytes[end] == '\r' && end + 1 == len) {
            t->skip_lf = true; /* a CRLF may be split between two pieces */
        }
        i = end + (bytes[end] == '\r' && end + 1 < len && bytes[end + 1] == '\n' ? 2 : 1);
    }
    return true;
}

/* The body ended: a last line or event without its blank line still counts. */
static bool finish_events(turn *t, provider_error *err) {
    if (t->line.len > 0) {
        size_t len = t->line.len;
        t->line.len = 0;
        if (!on_line(t, t->line.data, len, err)) {
            return false;
        }
    }
    return dispatch(t, err) && chat_on_end(&t->stream, &t->out, err);
}

/* ----- one whole answer (list-models, health) -------------------------------- */

/* The most of a `get_body` answer read. */
#define ANSWER_MAX_BYTES (8u * 1024u * 1024u)

bool get_body(cordon_provider_types_outgoing_request_t *request, json_buf *body, provider_error *err) {
    cordon_provider_http_response_t response;
    cordon_provider_http_http_error_t failure;
    jb_init(body);
    if (!cordon_provider_http_send(request, &response, &failure)) {
        broker_error(err, &failure);
        return false;
    }
    if (response.status >= 400) {
        status_error(err, &response);
        return false;
    }
    cordon_provider_http_own_body_t own = response.body;
    cordon_provider_http_response_free(&response); /* the headers */
    bool ok = true;
    for (;;) {
        provider_component_option_list_u8_t chunk;
        if (!cordon_provider_http_method_body_read(cordon_provider_http_borrow_body(own), READ_MAX_BYTES, &chunk, &failure)) {
            broker_error(err, &failure);
            ok = false;
            break;
        }
        if (!chunk.is_some) {
            break;
        }
        jb_raw(body, (const char *)chunk.val.ptr, chunk.val.len);
        provider_component_option_list_u8_free(&chunk);
        if (body->failed || body->len > ANSWER_MAX_BYTES) {
            ok = fail_with(err, KIND(LIMIT_EXCEEDED), "the answer is larger than " NAME " accepts");
            break;
        }
    }
    cordon_provider_http_body_drop_own(own);
    if (!ok) {
        jb_free(body);
    }
    return ok;
}

/* ----- the turn ---------------------------------------------------------------- */

exports_cordon_provider_provider_own_turn_t exports_cordon_provider_provider_constructor_turn(
    exports_cordon_provider_provider_state_t *state, exports_cordon_provider_provider_native_request_t *request) {
    turn *t = calloc(1, sizeof *t);
    if (t == NULL) {
        abort();
    }
    exports_cordon_provider_provider_state_free(state); /* this provider's turns need no state */
    t->request = *request; /* kept until it is sent */
    t->phase = NOT_SENT;
    t->read_size = READ_FIRST_BYTES;
    jb_init(&t->line);
    jb_init(&t->data);
    jb_init(&t->out.text);
    return exports_cordon_provider_provider_turn_new(t);
}

/* Send the request; on success the turn reads the body next. */
static void send_request(turn *t) {
    cordon_provider_http_response_t response;
    cordon_provider_http_http_error_t failure;
    provider_error err;
    bool sent = cordon_provider_http_send(&t->request.http, &response, &failure);
    exports_cordon_provider_provider_native_request_free(&t->request);
    memset(&t->request, 0, sizeof t->request);
    if (!sent) {
        broker_error(&err, &failure);
        fail(t, &err);
    } else if (response.status >= 400) {
        status_error(&err, &response);
        fail(t, &err);
    } else {
        t->body = response.body;
        cordon_provider_http_response_free(&response); /* the headers */
        t->phase = READING;
    }
}

/* Read the next piece of the body and decode it. */
static void read_body(turn *t) {
    provider_component_option_list_u8_t chunk;
    cordon_provider_http_http_error_t failure;
    provider_error err;
    if (!cordon_provider_http_method_body_read(cordon_provider_http_borrow_body(t->body), t->read_size, &chunk, &failure)) {
        broker_error(&err, &failure);
        fail(t, &err);
    } else if (chunk.is_some) {
        bool ok = feed(t, (const char *)chunk.val.ptr, chunk.val.len, &err);
        provider_component_option_list_u8_free(&chunk);
        if (!ok) {
            fail(t, &err);
        }
        t->read_size = t->read_size * 2 < READ_MAX_BYTES ? t->read_size * 2 : READ_MAX_BYTES;
    } else if (!finish_events(t, &err)) {
        fail(t, &err);
    } else {
        /* Why the model stopped, as the last event (`other` if it never said). */
        event_t *last = push(&t->out, CORDON_PROVIDER_TYPES_EVENT_FINISH);
        last->val.finish.reason = t->out.finish.raw.is_some ? t->out.finish.reason : FINISH(OTHER);
        option_copy(&last->val.finish.raw, &t->out.finish.raw);
        t->phase = OVER;
    }
    if (t->phase == OVER) {
        cordon_provider_http_body_drop_own(t->body);
    }
}

bool exports_cordon_provider_provider_method_turn_next(exports_cordon_provider_provider_borrow_turn_t t,
                                                     exports_cordon_provider_provider_list_event_t *ret) {
    while (t->phase != OVER && t->out.batch_len == 0) {
        if (t->phase == NOT_SENT) {
            send_request(t);
        } else {
            read_body(t);
        }
    }
    if (t->out.batch_len == 0) {
        return false; /* the turn is over */
    }
    /* Hand the batch over: the bindings free it after the call. */
    ret->ptr = t->out.batch;
    ret->len = t->out.batch_len;
    t->out.batch = NULL;
    t->out.batch_len = 0;
    t->out.batch_cap = 0;
    return true;
}

bool turn_result(turn *t, turn_result_t *ret, provider_error *err) {
    memset(ret, 0, sizeof *ret);
    if (t->failed) {
        error_copy(err, &t->failure);
        return false;
    }
    if (t->phase != OVER) {
        return fail_with(err, KIND(STREAM_PROTOCOL), "finalize was called before the turn's stream ended");
    }
    if (t->out.text.len > 0) {
        ret->content.ptr = calloc(1, sizeof *ret->content.ptr);
        if (ret->content.ptr == NULL) {
            abort();
        }
        ret->content.len = 1;
        ret->content.ptr[0].tag = CORDON_PROVIDER_TYPES_CONTENT_PART_TEXT;
        string_copy(&ret->content.ptr[0].val.text, t->out.text.data, t->out.text.len);
    }
    ret->usage = t->out.usage;
    ret->finish.reason = t->out.finish.raw.is_some ? t->out.finish.reason : FINISH(OTHER);
    option_copy(&ret->finish.raw, &t->out.finish.raw);
    option_copy(&ret->response_id, &t->out.response_id);
    option_copy(&ret->model, &t->out.model);
    return true;
}

void exports_cordon_provider_provider_turn_destructor(turn *t) {
    if (t->phase == NOT_SENT) {
        exports_cordon_provider_provider_native_request_free(&t->request);
    } else if (t->phase == READING) {
        cordon_provider_http_body_drop_own(t->body);
    }
    for (size_t i = 0; i < t->out.batch_len; i++) {
        cordon_provider_types_event_free(&t->out.batch[i]);
    }
    free(t->out.batch);
    jb_free(&t->line);
    jb_free(&t->data);
    jb_free(&t->out.text);
    provider_component_option_string_free(&t->out.finish.raw);
    provider_component_option_string_free(&t->out.response_id);
    provider_component_option_string_free(&t->out.model);
    if (t->failed) {
        cordon_provider_types_provider_error_free(&t->failure);
    }
    free(t);
}
