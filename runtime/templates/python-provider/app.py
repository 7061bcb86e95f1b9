"""{{name}}: a Cordon provider for an OpenAI-compatible chat API, made by
`cordon new provider --lang python`. It sends the conversation's text, streams
text deltas back, and reports usage and the finish reason; grow it from here
(tools, reasoning, images: see `guests/openai-py` in the Cordon repository).

This module holds the `provider` interface's functions: `info`, `init`,
`to_native` (the request) and `finalize`, and `list_models` and `health`
(`GET {base}/models`, contract 0.2.0). The answer of a turn is read by the
`turn` resource in `provider.py`, which hands each event to `chat.py`.

Module-level code runs when the component is built (componentize-py snapshots
the interpreter), not in the host: only define things here.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import provider as api
from wit_world.imports import http
from wit_world.imports import types as t

NAME = "{{name}}"
VERSION = "0.1.0"
# Where requests go unless the configuration names another base URL.
DEFAULT_BASE_URL = "https://api.example.com/v1"
# The secret the manifest declares; the host adds its value to the request.
API_KEY_SECRET = "api-key"


def error(kind, message):
    """A `provider-error` of `kind`, for `raise Err(...)` or an `error` event."""
    retryable = kind in (t.ErrorKind.RATE_LIMITED, t.ErrorKind.OVERLOADED, t.ErrorKind.SERVER,
                         t.ErrorKind.TIMEOUT, t.ErrorKind.NETWORK)
    return t.ProviderError(kind=kind, message=message, status=None, retryable=retryable, retry_after_ms=None,
                           provider_code=None, body_excerpt=None, output_streamed=False)


# The most of a models answer read.
MODELS_BYTES = 8 << 20
# Error kinds that mean the upstream serves turns, but some fail or wait.
DEGRADED_KINDS = (t.ErrorKind.RATE_LIMITED, t.ErrorKind.OVERLOADED, t.ErrorKind.SERVER)


def load(state):
    """The settings `init` kept: `{"base_url": ..., "default_model": ...}`."""
    try:
        return json.loads(bytes(state.data))
    except ValueError as err:
        raise Err(error(t.ErrorKind.CONFIG, f"the provider state is unreadable ({err}); re-run init")) from None


def get_models(settings):
    """`GET {base}/models` through the host (which adds the API key); the
    parsed JSON of a 2xx answer, else `Err` with the error."""
    from provider import broker_error, status_error  # provider.py imports this module

    request = t.OutgoingRequest(method="GET", url=f"{settings['base_url']}/models",
                                headers=[t.Header(name="accept", value="application/json")],
                                body=b"", secrets=[API_KEY_SECRET])
    try:
        response = http.send(request)
        if response.status >= 400:
            raise Err(status_error(response))
        body = b""
        while (chunk := response.body.read(64 * 1024)) is not None:
            body += bytes(chunk)
            if len(body) > MODELS_BYTES:
                raise Err(error(t.ErrorKind.LIMIT_EXCEEDED, f"the models answer is larger than {MODELS_BYTES} bytes"))
    except Err as err:
        failure = err.value
        raise Err(failure if isinstance(failure, t.ProviderError) else broker_error(failure)) from None
    try:
        return json.loads(body)
    except ValueError as err:
        raise Err(error(t.ErrorKind.STREAM_PROTOCOL, f"the models answer is not JSON ({err})")) from None


class Provider(exports.Provider):
    def info(self):
        return api.ProviderInfo(
            name=NAME,
            version=VERSION,
            models=[],
            default_model=None,
            capabilities=[api.Capability.STREAMING],
            supported_settings=["max-output-tokens", "temperature"],
        )

    def init(self, config):
        base_url = config.base_url if config.base_url is not None else DEFAULT_BASE_URL
        if not base_url.startswith(("https://", "http://")):
            raise Err(error(t.ErrorKind.CONFIG, f"base URL `{base_url}` must start with http:// or https://"))
        # The host keeps the state and hands it back on every call.
        settings = {"base_url": base_url.rstrip("/"), "default_model": config.default_model}
        return t.State(producer_version=VERSION, data=json.dumps(settings).encode())

    def to_native(self, state, request):
        settings = load(state)
        model = request.model or settings.get("default_model")
        if not model:
            raise Err(error(t.ErrorKind.CONFIG,
                            "the request names no model and the provider has no default model: pass a model"))
        warnings = []
        messages = []
        for message in request.messages:
            text = ""
            for part in message.parts:
                if isinstance(part, t.Part_Text):
                    text += part.value
                else:
                    warnings.append(t.Warning(kind=t.WarningKind.OTHER, setting=None,
                                              message="this provider sends text only; a non-text part was left out"))
            messages.append({"role": message.role.name.lower(), "content": text})
        body = {"model": model, "messages": messages, "stream": True, "stream_options": {"include_usage": True}}
        if request.sampling.max_output_tokens is not None:
            body["max_tokens"] = request.sampling.max_output_tokens
        if request.sampling.temperature is not None:
            body["temperature"] = request.sampling.temperature
        return t.NativeRequest(
            http=t.OutgoingRequest(
                method="POST",
                url=f"{settings['base_url']}/chat/completions",
                headers=[t.Header(name="content-type", value="application/json"),
                         t.Header(name="accept", value="text/event-stream")],
                body=json.dumps(body).encode(),
                secrets=[API_KEY_SECRET],
            ),
            framing=t.Framing.SSE,
            warnings=warnings,
        )

    def finalize(self, state, turn):
        return t.Finalized(result=turn.result(), state=state)

    def list_models(self, state):
        """The models the upstream lists: OpenAI's `{"data": [{"id": ...}, ...]}`."""
        answer = get_models(load(state))
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list) or not all(isinstance(m, dict) and isinstance(m.get("id"), str) for m in data):
            raise Err(error(t.ErrorKind.STREAM_PROTOCOL, 'the models answer is not {"data": [{"id": ...}, ...]}'))
        return [api.ModelInfo(id=m["id"], display_name=None, context_window=None, max_output_tokens=None,
                              input_modalities=[], output_modalities=[], tools=None, reasoning=None) for m in data]

    def health(self, state):
        """The models request as a cheap probe. Never fails: a rate limit, an
        overload or a server error is `degraded`, anything else `down`."""
        try:
            get_models(load(state))
        except Err as err:
            failure = err.value
            status = api.HealthStatus.DEGRADED if failure.kind in DEGRADED_KINDS else api.HealthStatus.DOWN
            return api.HealthReport(status=status, reason=failure.message)
        except Exception as exc:  # a bug must not trap the instance
            return api.HealthReport(status=api.HealthStatus.DOWN, reason=f"{NAME} failed: {type(exc).__name__}: {exc}")
        return api.HealthReport(status=api.HealthStatus.OK, reason=None)
