"""openai-py: the OpenAI-compatible provider (Chat Completions with
`stream: true`), written in Python and built into a component with
componentize-py. It mirrors the Rust provider in `guests/openai`: the same
request body, the same events for the same upstream stream, the same errors.

This module holds the `provider` interface's functions (`info`, `init`,
`to-native`, `finalize`, and contract 0.2.0's `list-models` and `health`); the
`turn` resource is in `provider.py`, the stream parsing in `chat_stream.py`,
the request translation in `chat_request.py`, the models request in `models.py`,
the options a service's differences are given in (the presets') in `quirks.py`.
"""

import functools

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import provider as api
from wit_world.imports import types as t

import chat_request
import models
import provider_errors as errors
import quirks as q
import wire_json as wj
from provider import PROBE_HEADER

NAME = "openai-py"
VERSION = "0.1.0"
# Where requests go when the configuration names no base URL.
DEFAULT_BASE_URL = "https://api.openai.com/v1"
# The secret every shipped provider's manifest declares for its API key.
API_KEY_SECRET = "api-key"


def _reported(method):
    """`method`, with any exception but the contract's own error reported as
    an `other` error naming it, rather than a trap."""

    @functools.wraps(method)
    def reported(*args):
        try:
            return method(*args)
        except Err:
            raise
        except Exception as exc:
            raise Err(errors.new_error(t.ErrorKind.OTHER, f"openai-py failed: {type(exc).__name__}: {exc}")) from None

    return reported


def _base_url(configured):
    url = configured if configured is not None else DEFAULT_BASE_URL
    if not (url.startswith("https://") or url.startswith("http://")):
        raise Err(errors.config(f"base URL `{url}` must start with http:// or https://"))
    return url.rstrip("/")


def _save(base_url, default_model, max_tokens_field, quirks):
    """The settings kept in the host-owned state, as JSON (the Rust provider's layout)."""
    settings = wj.dumps_ordered(
        [("base_url", base_url), ("default_model", default_model), ("max_tokens_field", max_tokens_field)]
    )
    # The quirks are a struct inside it: their fields in order too.
    data = settings[:-1] + ',"quirks":' + wj.dumps_ordered(quirks.state_pairs()) + "}"
    return t.State(producer_version=VERSION, data=data.encode("utf-8"))


def _load(state):
    try:
        kept = wj.expect_object(wj.loads(bytes(state.data).decode("utf-8")), "struct Settings")
        wj.check_fields(kept, ("base_url", "default_model", "max_tokens_field", "quirks"))
        if "base_url" not in kept:
            raise wj.SchemaError("missing field `base_url`")
        base_url = kept["base_url"]
        if not isinstance(base_url, str):
            raise wj.SchemaError(f"invalid type: {wj.unexpected(base_url)}, expected a string")
        return base_url, wj.opt_str(kept, "default_model"), wj.opt_str(kept, "max_tokens_field"), q.from_state(kept)
    except ValueError as err:
        raise Err(
            errors.config(
                f"the provider state (written by version {state.producer_version}) is unreadable ({err}); re-run init"
            )
        ) from None


def _max_tokens_field(base_url, configured):
    if configured == "max_tokens":
        return chat_request.MAX_TOKENS
    if configured is not None:
        return chat_request.MAX_COMPLETION_TOKENS
    if base_url.startswith("https://api.openai.com"):
        return chat_request.MAX_COMPLETION_TOKENS
    return chat_request.MAX_TOKENS


class Provider(exports.Provider):
    def info(self):
        return api.ProviderInfo(
            name=NAME,
            version=VERSION,
            models=["gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "o3", "o4-mini"],
            default_model="gpt-4.1-mini",
            capabilities=[
                api.Capability.STREAMING,
                api.Capability.TOOLS,
                api.Capability.REASONING,
                api.Capability.IMAGES,
                api.Capability.JSON_OUTPUT,
            ],
            supported_settings=[
                "max-output-tokens",
                "temperature",
                "top-p",
                "presence-penalty",
                "frequency-penalty",
                "stop-sequences",
                "seed",
                "reasoning.effort",
                "response-format",
                "tools",
                "tool-choice",
                "parallel-tool-calls",
            ],
        )

    @_reported
    def init(self, config):
        base_url = _base_url(config.base_url)
        field, quirks = q.parse(config.options, NAME)
        return _save(base_url, config.default_model, field, quirks)

    @_reported
    def to_native(self, state, request):
        base_url, default_model, field, quirks = _load(state)
        model = request.model
        if not model:
            if default_model is None:
                raise Err(
                    errors.config("the request names no model and the provider has no default model: pass a model")
                )
            model = default_model
        url = quirks.url(base_url, model)
        body, warnings, probe = chat_request.build_body(request, model, _max_tokens_field(base_url, field), quirks)
        headers = [
            t.Header(name="content-type", value="application/json"),
            t.Header(name="accept", value="text/event-stream"),
        ]
        headers.extend(t.Header(name=name, value=quirks.headers[name]) for name in sorted(quirks.headers))
        if probe:
            headers.append(t.Header(name=PROBE_HEADER, value="1"))
        return t.NativeRequest(
            http=t.OutgoingRequest(
                method="POST",
                url=url,
                headers=headers,
                body=chat_request.encode(body),
                secrets=[API_KEY_SECRET],
            ),
            framing=t.Framing.SSE,
            warnings=warnings,
        )

    @_reported
    def list_models(self, state):
        base_url, _, _, quirks = _load(state)
        return models.list_models(models.request(quirks.models_url(base_url), API_KEY_SECRET, quirks.headers))

    def health(self, state):
        # Never fails: a failure, even a bug here, is a `down` report.
        try:
            base_url, _, _, quirks = _load(state)
        except Err as err:
            return api.HealthReport(status=api.HealthStatus.DOWN, reason=f"cannot build the probe: {err.value.message}")
        try:
            return models.health(models.request(quirks.models_url(base_url), API_KEY_SECRET, quirks.headers))
        except Exception as exc:
            return api.HealthReport(status=api.HealthStatus.DOWN, reason=f"openai-py failed: {type(exc).__name__}: {exc}")

    @_reported
    def finalize(self, state, turn):
        return turn.finalize(state)
