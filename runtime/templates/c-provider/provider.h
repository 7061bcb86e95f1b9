/*
 * What the files of {{name}} share: the names of the generated types (the
 * bindings of the `cordon:provider/provider-component` world, written by
 * `cargo xtask` into the build folder as provider_component.h/.c), error
 * helpers, the `output` where the stream puts its events, and the stream
 * itself (chat.c).
 *
 * Memory rules of the bindings: an exported function owns its arguments (it
 * frees them, or keeps them); everything it returns is malloc'd, and freed by
 * the generated post-return functions. Running out of memory aborts, which
 * the host reports as a failed turn: the manifest's limit is far above what
 * a turn needs, since a stream event is bounded (MAX_EVENT_BYTES in turn.c).
 */
#ifndef PROVIDER_H
#define PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "provider_component.h"

#define NAME "{{name}}"
/* Keep it equal to cordon.toml's version. */
#define VERSION "0.1.0"

typedef provider_component_string_t string_t;
typedef provider_component_option_string_t option_string_t;
typedef cordon_provider_types_provider_error_t provider_error;
typedef cordon_provider_types_event_t event_t;
typedef cordon_provider_types_usage_t usage_t;
typedef cordon_provider_types_finish_t finish_t;
typedef cordon_provider_types_turn_result_t turn_result_t;

#define KIND(name) CORDON_PROVIDER_TYPES_ERROR_KIND_##name
#define FINISH(name) CORDON_PROVIDER_TYPES_FINISH_REASON_##name

/* ----- strings and errors (provider.c) ------------------------------------ */

/* A malloc'd copy of bytes[0..len) (bytes that are not UTF-8 become U+FFFD:
   every string handed to the host must be UTF-8). */
void string_copy(string_t *out, const char *bytes, size_t len);
/* A copy of a NUL-terminated string. */
void string_copy_c(string_t *out, const char *text);
/* A copy of an optional string. */
void option_copy(option_string_t *out, const option_string_t *from);

/* Fill `err` with an error of `kind` and a copy of `message`. Returns false,
   so that `return fail_with(err, ...)` ends an exported function. */
bool fail_with(provider_error *err, uint8_t kind, const char *message);
/* The same with a message built in `message` (freed). */
bool fail_with_buf(provider_error *err, uint8_t kind, json_buf *message);
/* A deep copy of an error. */
void error_copy(provider_error *out, const provider_error *from);

/* ----- output (turn.c) ---------------------------------------------------- */

/* Where the stream puts events: batched for the next `next()`, and
   assembled into the turn's result as they go by. */
typedef struct {
    event_t *batch; /* events for the next `next()` */
    size_t batch_len;
    size_t batch_cap;
    json_buf text; /* all the answer's text so far */
    usage_t usage; /* the totals known so far */
    finish_t finish; /* why the model stopped (sent once the body ends) */
    option_string_t response_id;
    option_string_t model;
    bool has_metadata;
} output;

/* Answer text (empty text is dropped). */
void out_text(output *out, const char *text, size_t len);
/* The response's id, model and time: the first report wins. */
void out_metadata(output *out, const json_text *id, const json_text *model, const uint64_t *created);
/* Token counts: known ones replace earlier ones; the event carries the totals. */
void out_usage(output *out, const uint64_t *input_tokens, const uint64_t *output_tokens);
/* Why the model stopped; sent as the last event once the body ends. */
void out_finish(output *out, uint8_t reason, const char *raw, size_t raw_len);

/* ----- the stream (chat.c) ------------------------------------------------ */

/* One turn's stream: `data:` chunks until `data: [DONE]`. */
typedef struct {
    bool done;
} chat_stream;

/* One server-sent event's data (a `chat.completion.chunk`, or `[DONE]`).
   Returns false with `err` set when the data is not a chunk. */
bool chat_on_data(chat_stream *stream, const char *data, size_t len, output *out, provider_error *err);
/* The body ended: fails when the stream was cut short. */
bool chat_on_end(chat_stream *stream, output *out, provider_error *err);

/* ----- the turn (turn.c) -------------------------------------------------- */

/* Send `request` (borrowed) through the host and read the whole body of a
   2xx answer into `body` (initialised here; the caller frees it). Returns
   false with `err` set for an error answer or a failure. */
bool get_body(cordon_provider_types_outgoing_request_t *request, json_buf *body, provider_error *err);

/* The assembled result of a finished turn, for `finalize`. */
bool turn_result(exports_cordon_provider_provider_turn_t *turn, turn_result_t *ret, provider_error *err);

#endif
