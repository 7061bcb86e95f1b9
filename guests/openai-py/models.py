"""`list-models` and `health` (contract 0.2.0), as the Rust provider does them
(`guests/openai/src/models.rs` and the SDK's `models.rs`): `GET {base}/models`
(with Azure's `api-version` when the options give one) with the preset's extra headers, through the host's `http` import naming the
`api-key` secret, OpenAI's list
(`{"data": [{"id": ...}]}`, one page) with the context fields compatible
servers add (`context_window`, `context_length`, `max_model_len`) and a display
`name`. `health` sends the same request: a 2xx answer is `ok`; a rate limit,
overload or server error is `degraded`; anything else (refused key, gone,
unreachable) is `down`, with the reason.
"""

from componentize_py_types import Err
from wit_world.exports import provider as api
from wit_world.imports import http
from wit_world.imports import types as t

import provider_errors as errors
import wire_json as wj
from provider import ERROR_BODY_BYTES, READ_CHUNK_BYTES, close_body, read_bounded

# The most of one models answer read (a long catalogue is a few hundred KiB).
MODELS_BODY_BYTES = 8 << 20

_U32_LIMIT = 1 << 32

# Error kinds that mean the upstream serves turns, but some fail or wait.
_DEGRADED = {t.ErrorKind.RATE_LIMITED, t.ErrorKind.OVERLOADED, t.ErrorKind.SERVER}


def request(url, secret, extra_headers):
    """The models request: `GET url` (the quirks' `models_url`) with the
    preset's extra headers (`extra_headers`, a dict), the key added by the host."""
    headers = [t.Header(name="accept", value="application/json")]
    headers.extend(t.Header(name=name, value=extra_headers[name]) for name in sorted(extra_headers))
    return t.OutgoingRequest(method="GET", url=url, headers=headers, body=b"", secrets=[secret])


def _fetch(outgoing):
    """The whole body of a 2xx answer; raises `Err` with the classified error."""
    try:
        response = http.send(outgoing)
    except Err as err:
        raise Err(errors.from_http_error(err.value)) from None
    body = response.body
    try:
        if response.status >= 400:
            raise Err(errors.classify_http_error(response.status, response.headers, read_bounded(body, ERROR_BODY_BYTES)))
        data = bytearray()
        while True:
            try:
                chunk = body.read(READ_CHUNK_BYTES)
            except Err as err:
                raise Err(errors.from_http_error(err.value)) from None
            if chunk is None:
                return bytes(data)
            if len(data) + len(chunk) > MODELS_BODY_BYTES:
                raise Err(
                    errors.new_error(
                        t.ErrorKind.LIMIT_EXCEEDED, f"the models answer is larger than {MODELS_BODY_BYTES} bytes"
                    )
                )
            data += chunk
    finally:
        close_body(body)


def _context_window(model):
    """The first context field a compatible server reports, if it fits a u32."""
    for key in ("context_window", "context_length", "max_model_len"):
        value = wj.opt_u64(model, key)
        if value is not None:
            return value if value < _U32_LIMIT else None
    return None


def _model(value):
    model = wj.expect_object(value, "struct OpenAiModel")
    wj.check_fields(model, ("id", "name", "context_window", "context_length", "max_model_len"))
    if not isinstance(model.get("id"), str):
        raise wj.SchemaError("missing field `id` (a string)")
    return api.ModelInfo(
        id=wj.check_string(model["id"]),
        display_name=wj.opt_str(model, "name"),
        context_window=_context_window(model),
        max_output_tokens=None,
        input_modalities=[],
        output_modalities=[],
        tools=None,
        reasoning=None,
    )


def parse(body):
    """OpenAI's models list (one page: the API has no paging)."""
    try:
        top = wj.expect_object(wj.loads(body.decode("utf-8")), "struct OpenAiList")
        wj.check_fields(top, ("data",))
        data = top.get("data")
        if not isinstance(data, list):
            raise wj.SchemaError("missing field `data` (a list)")
        return [_model(value) for value in data]
    except ValueError as err:
        raise Err(errors.protocol(f"the models answer is not what was expected ({err}): {errors.excerpt(body)}")) from None


def list_models(outgoing):
    """`list-models`: the models the upstream lists."""
    return parse(_fetch(outgoing))


def health(outgoing):
    """`health`: never fails, a failure is a report."""
    try:
        _fetch(outgoing)
    except Err as err:
        error = err.value
        status = api.HealthStatus.DEGRADED if error.kind in _DEGRADED else api.HealthStatus.DOWN
        reason = f"HTTP {error.status}: {error.message}" if error.status is not None else error.message
        return api.HealthReport(status=status, reason=reason)
    return api.HealthReport(status=api.HealthStatus.OK, reason=None)
