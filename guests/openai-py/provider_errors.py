"""Classifying failures into `provider-error`s, as the Rust SDK does
(`guests/sdk/src/errors.rs` and `openai_errors.rs`): HTTP statuses,
`retry-after` headers, bounded body excerpts, OpenAI `error` objects (in an HTTP
error body or mid-stream) and broker errors.
"""

import math
import time

from wit_world.imports import http
from wit_world.imports.types import ErrorKind, ProviderError

import wire_json

# The longest body excerpt kept in an error, in bytes.
EXCERPT_BYTES = 512


class Failure(Exception):
    """Carries a `ProviderError` out of the stream code."""

    def __init__(self, error):
        super().__init__(error.message)
        self.error = error


_RETRYABLE = {
    ErrorKind.RATE_LIMITED,
    ErrorKind.OVERLOADED,
    ErrorKind.SERVER,
    ErrorKind.TIMEOUT,
    ErrorKind.NETWORK,
}


def is_retryable(kind):
    return kind in _RETRYABLE


def new_error(kind, message):
    return ProviderError(
        kind=kind,
        message=message,
        status=None,
        retryable=is_retryable(kind),
        retry_after_ms=None,
        provider_code=None,
        body_excerpt=None,
        output_streamed=False,
    )


def protocol(message):
    return new_error(ErrorKind.STREAM_PROTOCOL, message)


def config(message):
    return new_error(ErrorKind.CONFIG, message)


def invalid_json(what, detail, data):
    return protocol(f"invalid JSON in a stream {what} ({detail}): {excerpt(data.encode('utf-8'))}")


def kind_for_status(status):
    if status in (400, 413, 422):
        return ErrorKind.INVALID_REQUEST
    return {
        401: ErrorKind.AUTH,
        402: ErrorKind.QUOTA,
        403: ErrorKind.PERMISSION,
        404: ErrorKind.MODEL_NOT_FOUND,
        408: ErrorKind.TIMEOUT,
        429: ErrorKind.RATE_LIMITED,
        529: ErrorKind.OVERLOADED,
    }.get(status, ErrorKind.SERVER if 500 <= status <= 599 else ErrorKind.OTHER)


# Rust's `char::is_whitespace` (Unicode White_Space), which `str::trim` uses.
_RUST_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def rust_trim(text):
    return text.strip(_RUST_WHITESPACE)


def excerpt(body):
    """A bounded, UTF-8-safe excerpt of `body` (bytes)."""
    text = body.decode("utf-8", "replace")
    encoded = text.encode("utf-8")
    if len(encoded) <= EXCERPT_BYTES:
        return rust_trim(text)
    cut = encoded[:EXCERPT_BYTES].decode("utf-8", "ignore")
    return rust_trim(cut) + "…"


def _u64_of(value):
    """`f64 as u64`: saturating."""
    if value != value or value <= 0:
        return 0
    return min(int(value), (1 << 64) - 1)


def _round(value):
    """Rust's `f64::round`: halves away from zero (only non-negative values here)."""
    whole = math.floor(value)
    return whole + 1 if value - whole >= 0.5 else whole


def _parse_f64(text):
    """Rust's `str::parse::<f64>`: no underscores or surrounding spaces."""
    if not text or not text.isascii() or "_" in text or text != text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        return None


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_LONG_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _http_date(text):
    """Seconds since the epoch for an HTTP date (IMF-fixdate, RFC 850, asctime), as the
    `httpdate` crate reads them; `None` otherwise."""
    import calendar

    def clock(value):
        parts = value.split(":")
        if len(parts) != 3 or not all(len(p) == 2 and p.isdigit() for p in parts):
            raise ValueError
        return int(parts[0]), int(parts[1]), int(parts[2])

    try:
        words = text.split(" ")
        if len(words) == 6 and words[0].endswith(",") and words[0][:-1] in _DAYS and words[5] == "GMT":
            day, month, year, (h, m, s) = int(words[1]), _MONTHS.index(words[2]), int(words[3]), clock(words[4])
            if len(words[1]) != 2 or len(words[3]) != 4:
                return None
        elif len(words) == 4 and words[0].endswith(",") and words[0][:-1] in _LONG_DAYS and words[3] == "GMT":
            date = words[1].split("-")
            if len(date) != 3 or len(date[0]) != 2 or len(date[2]) != 2:
                return None
            day, month, year = int(date[0]), _MONTHS.index(date[1]), int(date[2])
            year += 2000 if year < 70 else 1900
            h, m, s = clock(words[2])
        else:
            words = [w for w in text.split(" ")]
            if len(words) == 6 and words[2] == "":
                words = words[:2] + words[3:]
            if len(words) != 5 or words[0] not in _DAYS:
                return None
            month, day, (h, m, s), year = _MONTHS.index(words[1]), int(words[2]), clock(words[3]), int(words[4])
        if not (1 <= day <= 31 and h < 24 and m < 60 and s < 61 and year >= 1970):
            return None
        return calendar.timegm((year, month + 1, day, h, m, s, 0, 0, 0))
    except (ValueError, IndexError):
        return None


def retry_after_ms(headers):
    """How long the upstream asks us to wait: `retry-after-ms`, else `retry-after`
    in seconds or as an HTTP date."""

    def find(name):
        for header in headers:
            if header.name.lower() == name:
                return rust_trim(header.value)
        return None

    ms_text = find("retry-after-ms")
    if ms_text is not None:
        ms = _parse_f64(ms_text)
        if ms is not None:
            return _u64_of(_round(ms)) if math.isfinite(ms) and ms >= 0 else None
    value = find("retry-after")
    if value is None:
        return None
    seconds = _parse_f64(value)
    if seconds is not None:
        if math.isfinite(seconds) and seconds >= 0:
            return _u64_of(_round(seconds * 1000.0))
        return None
    when = _http_date(value)
    if when is None:
        return None
    wait = when - time.time()
    return _u64_of(wait * 1000.0) if wait > 0 else 0


def status_error(status, headers, body):
    """The error for an HTTP error status, before the body refines it."""
    error = new_error(kind_for_status(status), f"upstream answered HTTP {status}")
    error.status = status
    error.retry_after_ms = retry_after_ms(headers)
    error.body_excerpt = excerpt(body) if body else None
    return error


# ----- OpenAI-shaped errors -------------------------------------------------------

_CODES = {}
for _kind, _names in (
    (ErrorKind.CONTEXT_LENGTH_EXCEEDED, ("context_length_exceeded", "string_above_max_length")),
    (ErrorKind.QUOTA, ("insufficient_quota", "billing_hard_limit_reached")),
    (ErrorKind.RATE_LIMITED, ("rate_limit_exceeded", "rate_limit_error", "tokens", "requests")),
    (ErrorKind.AUTH, ("invalid_api_key", "authentication_error", "invalid_authentication")),
    (ErrorKind.PERMISSION, ("permission_error", "unsupported_country_region_territory")),
    (ErrorKind.MODEL_NOT_FOUND, ("model_not_found", "not_found_error")),
    (ErrorKind.CONTENT_FILTER, ("content_filter", "content_policy_violation")),
    (ErrorKind.OVERLOADED, ("overloaded_error", "overloaded", "server_is_overloaded")),
    (ErrorKind.SERVER, ("server_error", "api_error", "internal_error")),
    (ErrorKind.TIMEOUT, ("vector_store_timeout",)),
    (ErrorKind.INVALID_REQUEST, ("invalid_request_error", "unsupported_parameter", "invalid_value", "invalid_prompt")),
):
    for _name in _names:
        _CODES[_name] = _kind


def kind_for_code(code):
    """The error kind an OpenAI `code` or `type` names, if it is specific."""
    kind = _CODES.get(code)
    if kind is None and (code.startswith("invalid_image") or code.startswith("image_")):
        kind = ErrorKind.INVALID_REQUEST
    return kind


def read_error_object(value):
    """An OpenAI `error` object, typed as serde reads `ErrorObject`: (message, type, code)."""
    obj = wire_json.expect_object(value, "struct ErrorObject")
    wire_json.check_fields(obj, ("message", "type", "code"))
    return wire_json.opt_str(obj, "message"), wire_json.opt_str(obj, "type"), obj.get("code")


def _code_text(code):
    if isinstance(code, str):
        return code
    if isinstance(code, bool) or code is None or isinstance(code, (dict, list)):
        return None
    if isinstance(code, float):
        return wire_json.format_float(code)
    return str(code)


def classify_error_object(error_object, status):
    """A provider error from an `error` object; without a specific code or
    status, a mid-stream error counts as a server error."""
    message, kind_name, code_value = error_object
    code = _code_text(code_value)
    specific = kind_for_code(code) if code is not None else None
    if specific is None and kind_name is not None:
        specific = kind_for_code(kind_name)
    if specific is not None:
        kind = specific
    elif status is not None:
        kind = kind_for_status(status)
    else:
        kind = ErrorKind.SERVER
    out = new_error(kind, message if message is not None else "the upstream reported an error")
    out.status = status
    out.provider_code = code if code is not None else kind_name
    return out


def _with_hint(error):
    if error.kind == ErrorKind.AUTH:
        error.message += " (is the API key set? `cordon inspect` names the variable the host reads it from)"
    elif error.kind == ErrorKind.MODEL_NOT_FOUND:
        error.message += " (check the model name and the base URL)"
    return error


def classify_http_error(status, headers, body):
    """A provider error for an HTTP error answer: the status and `retry-after`,
    refined by the body's `error` object when there is one."""
    base = status_error(status, headers, body)
    try:
        text = body.decode("utf-8")
        parsed = wire_json.loads(text)
        top = wire_json.expect_object(parsed, "struct ErrorBody")
        wire_json.check_fields(top, ("error",))
        if "error" not in top:
            raise wire_json.SchemaError("missing field `error`")
        error_object = read_error_object(top["error"])
    except ValueError:
        if body:
            base.message = f"upstream answered HTTP {status}: {excerpt(body)}"
        return _with_hint(base)
    refined = classify_error_object(error_object, status)
    refined.message = f"upstream answered HTTP {status}: {refined.message}"
    refined.retry_after_ms = base.retry_after_ms
    refined.body_excerpt = base.body_excerpt
    return _with_hint(refined)


_BROKER_KINDS = {
    http.HttpErrorKind.DENIED: ErrorKind.DENIED,
    http.HttpErrorKind.INVALID_REQUEST: ErrorKind.INVALID_REQUEST,
    http.HttpErrorKind.CONNECT: ErrorKind.NETWORK,
    http.HttpErrorKind.PROTOCOL: ErrorKind.NETWORK,
    http.HttpErrorKind.TIMEOUT: ErrorKind.TIMEOUT,
    http.HttpErrorKind.TOO_LARGE: ErrorKind.LIMIT_EXCEEDED,
    http.HttpErrorKind.LIMIT: ErrorKind.LIMIT_EXCEEDED,
}


def from_http_error(error):
    """A broker failure (`http-error`) as a provider error."""
    return new_error(_BROKER_KINDS.get(error.kind, ErrorKind.OTHER), error.message)
