/*
 * {{name}}: a Cordon provider for an OpenAI-compatible chat API, made by
 * `cordon new provider --lang c`. It sends the conversation's text, streams
 * text deltas back, and reports usage and the finish reason; grow it from
 * here (tools, reasoning, images: see `guests/openai` in the Cordon
 * repository for what the API sends).
 *
 * This file holds the `provider` interface's functions: `info`, `init`
 * (checks the base URL, keeps the settings), `to_native` (the request),
 * `finalize`, and `list_models` and `health` (`GET {base}/models`, contract
 * 0.2.0). The answer of a turn is read by the `turn` resource in turn.c,
 * which hands each event's data to chat.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"

/* Where requests go unless the configuration names another base URL. */
#define DEFAULT_BASE_URL "https://api.example.com/v1"
/* The secret the manifest declares; the host adds its value to the request. */
#define API_KEY_SECRET "api-key"

typedef exports_cordon_provider_provider_provider_info_t provider_info;
typedef exports_cordon_provider_provider_provider_config_t provider_config;
typedef exports_cordon_provider_provider_state_t state_t;
typedef exports_cordon_provider_provider_request_t request_t;
typedef exports_cordon_provider_provider_native_request_t native_request;
typedef cordon_provider_types_warning_t warning_t;

/* ----- strings and errors ------------------------------------------------- */

void string_copy(string_t *out, const char *bytes, size_t len) {
    json_buf buf;
    jb_init(&buf);
    jb_utf8(&buf, bytes, len);
    if (buf.failed) {
        abort();
    }
    out->ptr = (uint8_t *)buf.data; /* NULL when empty: fine for the bindings */
    out->len = buf.len;
}

void string_copy_c(string_t *out, const char *text) {
    string_copy(out, text, strlen(text));
}

void option_copy(option_string_t *out, const option_string_t *from) {
    out->is_some = from->is_some;
    if (from->is_some) {
        string_copy(&out->val, (const char *)from->val.ptr, from->val.len);
    }
}

/* Whether an error of this kind may go away if the same request is retried. */
static bool is_retryable(uint8_t kind) {
    return kind == KIND(RATE_LIMITED) || kind == KIND(OVERLOADED) || kind == KIND(SERVER) || kind == KIND(TIMEOUT)
        || kind == KIND(NETWORK);
}

bool fail_with(provider_error *err, uint8_t kind, const char *message) {
    memset(err, 0, sizeof *err);
    err->kind = kind;
    err->retryable = is_retryable(kind);
    string_copy_c(&err->message, message);
    return false;
}

bool fail_with_buf(provider_error *err, uint8_t kind, json_buf *message) {
    fail_with(err, kind, message->failed ? "out of memory while writing an error message" : "");
    if (!message->failed) {
        string_copy(&err->message, message->data, message->len);
    }
    jb_free(message);
    return false;
}

void error_copy(provider_error *out, const provider_error *from) {
    *out = *from;
    string_copy(&out->message, (const char *)from->message.ptr, from->message.len);
    option_copy(&out->provider_code, &from->provider_code);
    option_copy(&out->body_excerpt, &from->body_excerpt);
}

/* ----- the settings kept in the state -------------------------------------- */

/* The state's data: {"base_url": "...", "default_model": "..." or null}. */
typedef struct {
    json_text base_url;
    json_text default_model; /* data is NULL when there is none */
} settings;

static void settings_free(settings *s) {
    free(s->base_url.data);
    free(s->default_model.data);
}

static bool load_settings(const state_t *state, settings *out, provider_error *err) {
    json_value root, member;
    json_error where = {0, ""};
    memset(out, 0, sizeof *out);
    const char *why = "not JSON";
    if (json_parse((const char *)state->data.ptr, state->data.len, &root, &where)) {
        why = "no base_url";
        if (json_member(root, "base_url", &member) && json_string(member, &out->base_url)) {
            why = NULL;
            if (json_member(root, "default_model", &member) && json_kind(member) != 'n'
                && !json_string(member, &out->default_model)) {
                why = "default_model is not a string";
            }
        }
    }
    if (why == NULL) {
        return true;
    }
    settings_free(out);
    memset(out, 0, sizeof *out);
    json_buf msg;
    jb_init(&msg);
    jb_lit(&msg, "the provider state (written by version ");
    jb_utf8(&msg, (const char *)state->producer_version.ptr, state->producer_version.len);
    jb_lit(&msg, ") is unreadable (");
    jb_lit(&msg, why);
    jb_lit(&msg, "); re-run init");
    return fail_with_buf(err, KIND(CONFIG), &msg);
}

/* ----- the provider interface ---------------------------------------------- */

void exports_cordon_provider_provider_info(provider_info *ret) {
    static const char *settings_names[] = {"max-output-tokens", "temperature"};
    memset(ret, 0, sizeof *ret);
    string_copy_c(&ret->name, NAME);
    string_copy_c(&ret->version, VERSION);
    ret->capabilities.ptr = malloc(sizeof *ret->capabilities.ptr);
    ret->supported_settings.ptr = calloc(2, sizeof *ret->supported_settings.ptr);
    if (ret->capabilities.ptr == NULL || ret->supported_settings.ptr == NULL) {
        abort();
    }
    ret->capabilities.ptr[0] = EXPORTS_CORDON_PROVIDER_PROVIDER_CAPABILITY_STREAMING;
    ret->capabilities.len = 1;
    for (size_t i = 0; i < 2; i++) {
        string_copy_c(&ret->supported_settings.ptr[i], settings_names[i]);
    }
    ret->supported_settings.len = 2;
}

bool exports_cordon_provider_provider_init(provider_config *config, state_t *ret, provider_error *err) {
    const char *url = DEFAULT_BASE_URL;
    size_t len = strlen(url);
    if (config->base_url.is_some) {
        url = (const char *)config->base_url.val.ptr;
        len = config->base_url.val.len;
    }
    bool ok = (len >= 8 && memcmp(url, "https://", 8) == 0) || (len >= 7 && memcmp(url, "http://", 7) == 0);
    if (!ok) {
        json_buf msg;
        jb_init(&msg);
        jb_lit(&msg, "base URL `");
        jb_utf8(&msg, url, len);
        jb_lit(&msg, "` must start with http:// or https://");
        fail_with_buf(err, KIND(CONFIG), &msg);
    } else {
        while (len > 0 && url[len - 1] == '/') {
            len--;
        }
        /* The host keeps the state and hands it back on every call. */
        json_buf data;
        jb_init(&data);
        jb_lit(&data, "{\"base_url\":");
        jb_string(&data, url, len);
        jb_lit(&data, ",\"default_model\":");
        if (config->default_model.is_some) {
            jb_string(&data, (const char *)config->default_model.val.ptr, config->default_model.val.len);
        } else {
            jb_lit(&data, "null");
        }
        jb_lit(&data, "}");
        if (data.failed) {
            abort();
        }
        string_copy_c(&ret->producer_version, VERSION);
        ret->data.ptr = (uint8_t *)data.data;
        ret->data.len = data.len;
    }
    exports_cordon_provider_provider_provider_config_free(config);
    return ok;
}

/* A `"temperature"` value: the shortest decimal that reads back as the same
   float (0.7, not 0.699999988), or null for NaN and infinities. */
static void put_float(json_buf *body, float value) {
    if (!isfinite(value)) {
        jb_lit(body, "null");
        return;
    }
    char text[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, (double)value);
        if (strtof(text, NULL) == value) {
            break;
        }
    }
    jb_lit(body, text);
}

static const char *role_name(cordon_provider_types_role_t role) {
    switch (role) {
    case CORDON_PROVIDER_TYPES_ROLE_SYSTEM: return "system";
    case CORDON_PROVIDER_TYPES_ROLE_ASSISTANT: return "assistant";
    case CORDON_PROVIDER_TYPES_ROLE_TOOL: return "tool";
    default: return "user";
    }
}

/* The request body: the conversation's text, streamed, with usage. Counts
   the parts left out (not text) in *dropped. */
static void write_body(json_buf *body, const request_t *request, const string_t *model, size_t *dropped) {
    jb_lit(body, "{\"model\":");
    jb_string(body, (const char *)model->ptr, model->len);
    jb_lit(body, ",\"messages\":[");
    for (size_t m = 0; m < request->messages.len; m++) {
        const cordon_provider_types_message_t *message = &request->messages.ptr[m];
        json_buf text;
        jb_init(&text);
        for (size_t p = 0; p < message->parts.len; p++) {
            const cordon_provider_types_part_t *part = &message->parts.ptr[p];
            if (part->tag == CORDON_PROVIDER_TYPES_PART_TEXT) {
                jb_raw(&text, (const char *)part->val.text.ptr, part->val.text.len);
            } else {
                (*dropped)++;
            }
        }
        jb_lit(body, m == 0 ? "{\"role\":" : ",{\"role\":");
        jb_cstring(body, role_name(message->role));
        jb_lit(body, ",\"content\":");
        jb_string(body, text.data, text.len);
        body->failed |= text.failed;
        jb_lit(body, "}");
        jb_free(&text);
    }
    jb_lit(body, "],\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    if (request->sampling.max_output_tokens.is_some) {
        jb_lit(body, ",\"max_tokens\":");
        jb_u64(body, request->sampling.max_output_tokens.val);
    }
    if (request->sampling.temperature.is_some) {
        jb_lit(body, ",\"temperature\":");
        put_float(body, request->sampling.temperature.val);
    }
    jb_lit(body, "}");
}

bool exports_cordon_provider_provider_to_native(state_t *state, request_t *request, native_request *ret,
                                               provider_error *err) {
    settings s;
    bool ok = load_settings(state, &s, err);
    string_t model = {NULL, 0};
    if (ok && request->model.len > 0) {
        string_copy(&model, (const char *)request->model.ptr, request->model.len);
    } else if (ok && s.default_model.data != NULL) {
        string_copy(&model, s.default_model.data, s.default_model.len);
    } else if (ok) {
        ok = fail_with(err, KIND(CONFIG), "the request names no model and the provider has no default model: pass a model");
    }
    if (ok) {
        memset(ret, 0, sizeof *ret);
        size_t dropped = 0;
        json_buf body;
        jb_init(&body);
        write_body(&body, request, &model, &dropped);
        if (body.failed) {
            abort();
        }
        cordon_provider_types_outgoing_request_t *http = &ret->http;
        string_copy_c(&http->method, "POST");
        json_buf url;
        jb_init(&url);
        jb_raw(&url, s.base_url.data, s.base_url.len);
        jb_lit(&url, "/chat/completions");
        string_copy(&http->url, url.data, url.len);
        jb_free(&url);
        http->headers.ptr = calloc(2, sizeof *http->headers.ptr);
        http->secrets.ptr = calloc(1, sizeof *http->secrets.ptr);
        if (http->headers.ptr == NULL || http->secrets.ptr == NULL) {
            abort();
        }
        http->headers.len = 2;
        string_copy_c(&http->headers.ptr[0].name, "content-type");
        string_copy_c(&http->headers.ptr[0].value, "application/json");
        string_copy_c(&http->headers.ptr[1].name, "accept");
        string_copy_c(&http->headers.ptr[1].value, "text/event-stream");
        http->body.ptr = (uint8_t *)body.data;
        http->body.len = body.len;
        http->secrets.len = 1;
        string_copy_c(&http->secrets.ptr[0], API_KEY_SECRET);
        ret->framing = CORDON_PROVIDER_TYPES_FRAMING_SSE;
        /* One warning per part left out, as the other templates do. */
        if (dropped > 0) {
            ret->warnings.ptr = calloc(dropped, sizeof(warning_t));
            if (ret->warnings.ptr == NULL) {
                abort();
            }
            ret->warnings.len = dropped;
            for (size_t i = 0; i < dropped; i++) {
                ret->warnings.ptr[i].kind = CORDON_PROVIDER_TYPES_WARNING_KIND_OTHER;
                string_copy_c(&ret->warnings.ptr[i].message, "this provider sends text only; a non-text part was left out");
            }
        }
    }
    provider_component_string_free(&model);
    settings_free(&s);
    exports_cordon_provider_provider_state_free(state);
    exports_cordon_provider_provider_request_free(request);
    return ok;
}

bool exports_cordon_provider_provider_finalize(state_t *state, exports_cordon_provider_provider_own_turn_t turn,
                                              exports_cordon_provider_provider_finalized_t *ret, provider_error *err) {
    bool ok = turn_result(exports_cordon_provider_provider_turn_rep(turn), &ret->result, err);
    /* Dropping the handle runs the turn's destructor (turn.c). */
    exports_cordon_provider_provider_turn_drop_own(turn);
    if (ok) {
        ret->state = *state; /* unchanged, and now the result's */
    } else {
        exports_cordon_provider_provider_state_free(state);
    }
    return ok;
}

/* ----- models and health (contract 0.2.0) ---------------------------------- */

typedef exports_cordon_provider_provider_list_model_info_t model_list;
typedef exports_cordon_provider_provider_health_report_t health_report;

/* `GET {base}/models` (the host adds the API key): the body of a 2xx answer. */
static bool get_models(const settings *s, json_buf *body, provider_error *err) {
    cordon_provider_types_outgoing_request_t request;
    memset(&request, 0, sizeof request);
    string_copy_c(&request.method, "GET");
    json_buf url;
    jb_init(&url);
    jb_raw(&url, s->base_url.data, s->base_url.len);
    jb_lit(&url, "/models");
    if (url.failed) {
        abort();
    }
    string_copy(&request.url, url.data, url.len);
    jb_free(&url);
    request.headers.ptr = calloc(1, sizeof *request.headers.ptr);
    request.secrets.ptr = calloc(1, sizeof *request.secrets.ptr);
    if (request.headers.ptr == NULL || request.secrets.ptr == NULL) {
        abort();
    }
    request.headers.len = 1;
    string_copy_c(&request.headers.ptr[0].name, "accept");
    string_copy_c(&request.headers.ptr[0].value, "application/json");
    request.secrets.len = 1;
    string_copy_c(&request.secrets.ptr[0], API_KEY_SECRET);
    bool ok = get_body(&request, body, err);
    cordon_provider_types_outgoing_request_free(&request);
    return ok;
}

/* The models of OpenAI's answer, `{"data": [{"id": ...}, ...]}`, into *ret. */
static bool read_models(const json_buf *body, model_list *ret) {
    json_value root, data, item, id;
    json_error where = {0, ""};
    if (!json_parse(body->data, body->len, &root, &where) || !json_member(root, "data", &data) || json_kind(data) != '[') {
        return false;
    }
    size_t count = 0;
    while (json_item(data, count, &item)) {
        count++;
    }
    if (count > 0) {
        ret->ptr = calloc(count, sizeof *ret->ptr);
        if (ret->ptr == NULL) {
            abort();
        }
    }
    for (size_t i = 0; i < count; i++) {
        json_text text;
        if (!json_item(data, i, &item) || !json_member(item, "id", &id) || !json_string(id, &text)) {
            return false;
        }
        string_copy(&ret->ptr[i].id, text.data, text.len);
        free(text.data);
        ret->len = i + 1;
    }
    return true;
}

bool exports_cordon_provider_provider_list_models(state_t *state, model_list *ret, provider_error *err) {
    settings s;
    json_buf body;
    jb_init(&body);
    memset(ret, 0, sizeof *ret);
    bool ok = load_settings(state, &s, err) && get_models(&s, &body, err);
    if (ok && !read_models(&body, ret)) {
        exports_cordon_provider_provider_list_model_info_free(ret);
        memset(ret, 0, sizeof *ret);
        ok = fail_with(err, KIND(STREAM_PROTOCOL), "the models answer is not {\"data\": [{\"id\": ...}, ...]}");
    }
    settings_free(&s);
    jb_free(&body);
    exports_cordon_provider_provider_state_free(state);
    return ok;
}

/* The models request as a cheap probe. Never fails: a rate limit, an overload
   or a server error is `degraded`, anything else `down`. */
void exports_cordon_provider_provider_health(state_t *state, health_report *ret) {
    settings s;
    json_buf body;
    jb_init(&body);
    provider_error err;
    memset(ret, 0, sizeof *ret);
    ret->status = EXPORTS_CORDON_PROVIDER_PROVIDER_HEALTH_STATUS_OK;
    if (!load_settings(state, &s, &err) || !get_models(&s, &body, &err)) {
        bool degraded = err.kind == KIND(RATE_LIMITED) || err.kind == KIND(OVERLOADED) || err.kind == KIND(SERVER);
        ret->status = degraded ? EXPORTS_CORDON_PROVIDER_PROVIDER_HEALTH_STATUS_DEGRADED
                               : EXPORTS_CORDON_PROVIDER_PROVIDER_HEALTH_STATUS_DOWN;
        ret->reason.is_some = true;
        ret->reason.val = err.message; /* taken over */
        err.message.ptr = NULL;
        err.message.len = 0;
        cordon_provider_types_provider_error_free(&err);
    }
    settings_free(&s);
    jb_free(&body);
    exports_cordon_provider_provider_state_free(state);
}
