"""What a service that speaks Chat Completions does differently, as data: the
provider options, read, checked and applied as `guests/openai/src/quirks.rs`
does (the same options, the same errors, the same request).
"""

from componentize_py_types import Err
from wit_world.imports import types as t

import provider_errors as errors
import wire_json as wj

# The options, in the Rust struct's order (serde names them so in errors).
FIELDS = (
    "max_tokens_field",
    "stream_usage",
    "rename",
    "unsupported",
    "headers",
    "tool_result_name",
    "api_version",
    "deployment_urls",
)

# Fields no option may rename or leave out: without them there is no request.
_ESSENTIAL = ("model", "messages", "stream")

# The contract's name of the setting a body field carries, for warnings.
_SETTING = {
    "max_tokens": "max-output-tokens",
    "max_completion_tokens": "max-output-tokens",
    "top_p": "top-p",
    "presence_penalty": "presence-penalty",
    "frequency_penalty": "frequency-penalty",
    "stop": "stop-sequences",
    "reasoning_effort": "reasoning.effort",
    "response_format": "response-format",
    "tool_choice": "tool-choice",
    "parallel_tool_calls": "parallel-tool-calls",
}


class Quirks:
    """The checked options but `max_tokens_field`."""

    def __init__(self):
        self.stream_usage = True
        self.rename = {}
        self.unsupported = []
        self.headers = {}
        self.tool_result_name = False
        self.api_version = None
        self.deployment_urls = False

    def state_pairs(self):
        """As serde writes the Rust struct: fields in order, maps sorted."""
        return [
            ("stream_usage", self.stream_usage),
            ("rename", self.rename),
            ("unsupported", self.unsupported),
            ("headers", self.headers),
            ("tool_result_name", self.tool_result_name),
            ("api_version", self.api_version),
            ("deployment_urls", self.deployment_urls),
        ]

    def apply(self, body, warnings):
        """Leave out the fields the service refuses (each with a warning), then
        rename the ones it names otherwise."""
        if not self.stream_usage:
            body.pop("stream_options", None)
        for field in self.unsupported:
            if field in body:
                del body[field]
                warnings.append(
                    t.Warning(
                        kind=t.WarningKind.UNSUPPORTED_SETTING,
                        setting=_SETTING.get(field, field),
                        message=f"this service does not take `{field}`; it was not sent",
                    )
                )
        for old in sorted(self.rename):
            if old in body:
                body[self.rename[old]] = body.pop(old)

    def url(self, base_url, model):
        """The request URL for `model` under `base_url`."""
        if self.deployment_urls:
            valid = (
                0 < len(model) <= 64
                and all(c.isascii() and (c.isalnum() or c in "-_.") for c in model)
                and model not in (".", "..")
            )
            if not valid:
                raise Err(
                    errors.config(
                        f"`{model}` is not an Azure deployment name (1-64 letters, digits, `-`, `_` and `.`): "
                        "name the deployment as the model"
                    )
                )
            url = f"{base_url}/deployments/{model}/chat/completions"
        else:
            url = f"{base_url}/chat/completions"
        return self._with_api_version(url)

    def models_url(self, base_url):
        """The models list's URL under `base_url` (Azure's is beside its
        deployments, `{endpoint}/openai/models`, with the same `api-version`)."""
        return self._with_api_version(f"{base_url}/models")

    def _with_api_version(self, url):
        if self.api_version is not None:
            url += "?api-version=" + self.api_version
        return url


def _bool(value, default):
    if value is wj.MISSING:
        return default
    if value is True or value is False:
        return value
    raise wj.SchemaError(f"invalid type: {wj.unexpected(value)}, expected a boolean")


def _strings(value):
    if value is wj.MISSING:
        return []
    if not isinstance(value, list):
        raise wj.SchemaError(f"invalid type: {wj.unexpected(value)}, expected a sequence")
    for item in value:
        if not isinstance(item, str):
            raise wj.SchemaError(f"invalid type: {wj.unexpected(item)}, expected a string")
    return [wj.check_string(item) for item in value]


def _string_map(value):
    if value is wj.MISSING:
        return {}
    if not isinstance(value, dict):
        raise wj.SchemaError(f"invalid type: {wj.unexpected(value)}, expected a map")
    for item in value.values():
        if not isinstance(item, str):
            raise wj.SchemaError(f"invalid type: {wj.unexpected(item)}, expected a string")
    return {wj.check_string(key): wj.check_string(item) for key, item in value.items()}


def _check_field(option, field):
    if not field or field in _ESSENTIAL:
        doing = "renamed" if option == "rename" else "left out"
        raise Err(
            errors.config(
                f"{option}: `{field}` cannot be {doing}; every request needs `model`, `messages` and `stream`"
            )
        )


def _raw(text):
    """The options as serde reads them into the Rust struct, or raises `ValueError`."""
    options = wj.expect_object(wj.loads(text), "struct RawOptions")
    for key in options:
        if key not in FIELDS:
            expected = ", ".join(f"`{field}`" for field in FIELDS)
            raise wj.SchemaError(f"unknown field `{key}`, expected one of {expected}")
    wj.check_fields(options, FIELDS)
    return wj.opt_str(options, "max_tokens_field"), _read(options)


def _read(fields):
    """The `Quirks` in a JSON object: the options, or what a state kept of them."""
    quirks = Quirks()
    stream_usage = fields.get("stream_usage")
    quirks.stream_usage = _bool(wj.MISSING if stream_usage is None else stream_usage, True)
    quirks.rename = _string_map(fields.get("rename", wj.MISSING))
    quirks.unsupported = _strings(fields.get("unsupported", wj.MISSING))
    quirks.headers = _string_map(fields.get("headers", wj.MISSING))
    quirks.tool_result_name = _bool(fields.get("tool_result_name", wj.MISSING), False)
    quirks.api_version = wj.opt_str(fields, "api_version")
    quirks.deployment_urls = _bool(fields.get("deployment_urls", wj.MISSING), False)
    return quirks


def parse(text, name):
    """The options' JSON text (`None`: none) as (`max_tokens_field`, `Quirks`),
    checked as the Rust provider checks them; `name` is this provider's."""
    if text is None:
        return None, Quirks()
    try:
        field, quirks = _raw(text)
    except ValueError as err:
        detail = wj.decode_error(err, text) if not isinstance(err, wj.SchemaError) else str(err)
        raise Err(errors.config(f"invalid {name} options: {detail}")) from None
    if field is not None and field not in ("max_tokens", "max_completion_tokens"):
        raise Err(errors.config(f"max_tokens_field must be `max_tokens` or `max_completion_tokens`, not `{field}`"))
    for old in sorted(quirks.rename):
        _check_field("rename", old)
        _check_field("rename", quirks.rename[old])
    for unsupported in quirks.unsupported:
        _check_field("unsupported", unsupported)
    headers = {}
    for header in sorted(quirks.headers):
        value = quirks.headers[header]
        if not header or not all(c.isascii() and (c.isalnum() or c == "-") for c in header):
            raise Err(errors.config(f"headers: `{header}` is not a header name (letters, digits and `-`)"))
        if any(not c.isascii() or ord(c) < 32 or ord(c) == 127 for c in value):
            raise Err(errors.config(f"headers: the value of `{header}` must be printable ASCII on one line"))
        headers[header.lower()] = value
    quirks.headers = headers
    version = quirks.api_version
    if version is not None and (not version or not all(c.isascii() and (c.isalnum() or c in "-.") for c in version)):
        raise Err(
            errors.config(
                f"api_version `{version}` is not an API version (letters, digits, `-` and `.`, e.g. `2024-10-21`)"
            )
        )
    return field, quirks


def from_state(kept):
    """The `quirks` a state holds (a state from before them reads as none)."""
    stored = kept.get("quirks")
    return _read(stored) if isinstance(stored, dict) else Quirks()
