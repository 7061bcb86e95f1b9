/*
 * The answer's side of {{name}}: each server-sent event's data (one
 * `chat.completion.chunk` as JSON, or `[DONE]`) becomes normalized events.
 * The turn in turn.c calls `chat_on_data` for each event and `chat_on_end`
 * when the body ends; `out` takes text, usage, metadata and the finish
 * reason. This is the file to change for another API's stream.
 */
#include <stdlib.h>
#include <string.h>

#include "provider.h"

/* The unified finish reason of the API's `finish_reason`. */
static uint8_t finish_reason(const char *raw, size_t len) {
    static const struct {
        const char *raw;
        uint8_t reason;
    } reasons[] = {
        {"stop", FINISH(STOP)},
        {"length", FINISH(LENGTH)},
        {"content_filter", FINISH(CONTENT_FILTER)},
        {"tool_calls", FINISH(TOOL_CALLS)},
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        if (strlen(reasons[i].raw) == len && memcmp(reasons[i].raw, raw, len) == 0) {
            return reasons[i].reason;
        }
    }
    return FINISH(OTHER);
}

/* A stream-protocol error quoting the start of the data. */
static bool protocol_error(provider_error *err, const char *what, const json_error *where, const char *data, size_t len) {
    json_buf msg;
    jb_init(&msg);
    jb_lit(&msg, what);
    if (where != NULL) {
        jb_lit(&msg, " (");
        jb_lit(&msg, where->why);
        jb_lit(&msg, " at byte ");
        jb_u64(&msg, where->at);
        jb_lit(&msg, ")");
    }
    jb_lit(&msg, ": ");
    jb_utf8(&msg, data, len < 512 ? len : 512);
    return fail_with_buf(err, KIND(STREAM_PROTOCOL), &msg);
}

/* The string member `key` of `object`, decoded into *out; NULL when there is
   none (or it is not a string). */
static const json_text *string_member(json_value object, const char *key, json_text *out) {
    json_value value;
    if (json_member(object, key, &value) && json_string(value, out)) {
        return out;
    }
    return NULL;
}

/* The whole-number member `key` of `object`; NULL when there is none. */
static const uint64_t *count_member(json_value object, const char *key, uint64_t *out) {
    json_value value;
    return json_member(object, key, &value) && json_u64(value, out) ? out : NULL;
}

bool chat_on_data(chat_stream *stream, const char *data, size_t len, output *out, provider_error *err) {
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        stream->done = true;
        return true;
    }
    json_value chunk, choices, choice, delta, usage, reason;
    json_error where = {0, ""};
    if (!json_parse(data, len, &chunk, &where)) {
        return protocol_error(err, "invalid JSON in a stream chunk", &where, data, len);
    }
    if (json_kind(chunk) != '{') {
        return protocol_error(err, "a stream chunk is not a JSON object", NULL, data, len);
    }

    json_text id, model, content, raw;
    uint64_t created;
    const json_text *has_id = string_member(chunk, "id", &id);
    const json_text *has_model = string_member(chunk, "model", &model);
    out_metadata(out, has_id, has_model, count_member(chunk, "created", &created));
    free(has_id ? id.data : NULL);
    free(has_model ? model.data : NULL);

    if (json_member(chunk, "choices", &choices) && json_item(choices, 0, &choice)) {
        if (json_member(choice, "delta", &delta) && string_member(delta, "content", &content)) {
            out_text(out, content.data, content.len);
            free(content.data);
        }
        if (json_member(choice, "finish_reason", &reason) && json_string(reason, &raw)) {
            out_finish(out, finish_reason(raw.data, raw.len), raw.data, raw.len);
            free(raw.data);
        }
    }

    uint64_t input_tokens, output_tokens;
    if (json_member(chunk, "usage", &usage) && json_kind(usage) == '{') {
        out_usage(out, count_member(usage, "prompt_tokens", &input_tokens),
                  count_member(usage, "completion_tokens", &output_tokens));
    }
    return true;
}

bool chat_on_end(chat_stream *stream, output *out, provider_error *err) {
    (void)out;
    if (!stream->done) {
        return fail_with(err, KIND(STREAM_PROTOCOL), "the stream ended before `data: [DONE]`");
    }
    return true;
}
