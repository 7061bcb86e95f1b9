"""The `turn` resource of {{name}} (componentize-py looks for an exported
resource's class in a module named after its interface, `provider`).

On its first `next()` a turn sends the native request through the host's
`http` import (the host adds the API key), then reads the body a piece at a
time, splits it into server-sent events (lines end in LF or CRLF) and passes
each event's data to `chat.ChatStream`. Each `next()` returns the events one
read produced. A failure becomes one `error` event, after which `next()`
returns `None`. The result for `finalize` is assembled as the events go by.
"""

import copy

from componentize_py_types import Err
from wit_world.exports import provider as exports
from wit_world.imports import http
from wit_world.imports import types as t

from app import NAME, error
from chat import ChatStream

# How much of the body to ask the host for at a time.
READ_BYTES = 16 * 1024
# The most of an error answer's body kept in the error.
EXCERPT_BYTES = 512

STATUS_KINDS = {400: t.ErrorKind.INVALID_REQUEST, 401: t.ErrorKind.AUTH, 402: t.ErrorKind.QUOTA,
                403: t.ErrorKind.PERMISSION, 404: t.ErrorKind.MODEL_NOT_FOUND, 408: t.ErrorKind.TIMEOUT,
                413: t.ErrorKind.INVALID_REQUEST, 422: t.ErrorKind.INVALID_REQUEST,
                429: t.ErrorKind.RATE_LIMITED, 529: t.ErrorKind.OVERLOADED}
HTTP_ERROR_KINDS = {http.HttpErrorKind.DENIED: t.ErrorKind.DENIED,
                    http.HttpErrorKind.INVALID_REQUEST: t.ErrorKind.INVALID_REQUEST,
                    http.HttpErrorKind.TIMEOUT: t.ErrorKind.TIMEOUT,
                    http.HttpErrorKind.TOO_LARGE: t.ErrorKind.LIMIT_EXCEEDED,
                    http.HttpErrorKind.LIMIT: t.ErrorKind.LIMIT_EXCEEDED}


def broker_error(failure):
    """The host's `http-error` (denied, timeout, ...) as a `provider-error`."""
    return error(HTTP_ERROR_KINDS.get(failure.kind, t.ErrorKind.NETWORK), failure.message)


def retry_after_ms(headers):
    """How long the upstream asks us to wait (`retry-after`, in seconds)."""
    for header in headers:
        if header.name.lower() == "retry-after":
            try:
                return max(0, round(float(header.value) * 1000))
            except (ValueError, OverflowError):
                return None
    return None


def status_error(response):
    """An error answer (HTTP 400 or more) as a `provider-error`: its kind from the
    status, the `retry-after`, and the start of the body."""
    try:
        body = response.body.read(EXCERPT_BYTES) or b""
    except Err:
        body = b""
    fallback = t.ErrorKind.SERVER if response.status >= 500 else t.ErrorKind.OTHER
    failure = error(STATUS_KINDS.get(response.status, fallback), f"upstream answered HTTP {response.status}")
    failure.status = response.status
    failure.retry_after_ms = retry_after_ms(response.headers)
    failure.body_excerpt = bytes(body).decode("utf-8", "replace").strip() or None
    return failure


def is_count(value):
    """Whether a number from the upstream fits a WIT `u64` (else it is left out)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64


class Output:
    """Where the stream puts events: batched for the next `next()`, and
    assembled into the turn's result as they go by."""

    def __init__(self):
        self.batch = []
        self.text_so_far = []
        self.total = t.Usage(input_tokens=None, output_tokens=None, cache_read_tokens=None,
                             cache_write_tokens=None, reasoning_tokens=None, raw=None)
        self.last_finish = t.Finish(reason=t.FinishReason.OTHER, raw=None)
        self.response_id = None
        self.model = None

    def text(self, text):
        if isinstance(text, str) and text:
            self.text_so_far.append(text)
            self.batch.append(t.Event_TextDelta(text))

    def usage(self, input_tokens, output_tokens):
        """Known counts replace earlier ones; the event carries the totals so far."""
        if is_count(input_tokens):
            self.total.input_tokens = input_tokens
        if is_count(output_tokens):
            self.total.output_tokens = output_tokens
        self.batch.append(t.Event_Usage(copy.copy(self.total)))

    def metadata(self, response_id, model, created):
        """The response's id, model and time (the first report wins)."""
        if self.response_id is None and self.model is None:
            self.response_id = response_id if isinstance(response_id, str) else None
            self.model = model if isinstance(model, str) else None
            created = created if is_count(created) else None
            self.batch.append(t.Event_ResponseMetadata(
                t.ResponseMetadata(id=self.response_id, model=self.model, timestamp=created)))

    def finish(self, reason, raw):
        """Why the model stopped: sent as the last event, once the body ends."""
        self.last_finish = t.Finish(reason=reason, raw=raw)


class Turn(exports.Turn):
    def __init__(self, state, request):
        self.request = request
        self.body = None
        self.buffer = b""
        self.data = []
        self.stream = ChatStream()
        self.out = Output()
        self.failure = None
        self.over = False

    def next(self):
        if self.over:
            return None
        try:
            if self.body is None:
                self.send()
            while not self.out.batch and not self.over:
                self.read()
        except Err as err:
            self.fail(err.value)
        except Exception as exc:  # a bug must end the turn with an error, not trap
            self.fail(error(t.ErrorKind.OTHER, f"{NAME} failed: {type(exc).__name__}: {exc}"))
        batch, self.out.batch = self.out.batch, []
        return batch

    def send(self):
        try:
            response = http.send(self.request.http)
        except Err as err:
            raise Err(broker_error(err.value)) from None
        if response.status >= 400:
            raise Err(status_error(response))
        self.body = response.body

    def read(self):
        try:
            chunk = self.body.read(READ_BYTES)
        except Err as err:
            raise Err(broker_error(err.value)) from None
        if chunk is None:
            self.lines(b"\n\n")  # the last event may lack its blank line
            self.stream.on_end(self.out)
            self.out.batch.append(t.Event_Finish(self.out.last_finish))
            self.over = True
        else:
            self.lines(bytes(chunk))

    def lines(self, chunk):
        """Split the body into lines; a blank line ends an event, whose `data:`
        lines are joined and handed to the stream."""
        *lines, self.buffer = (self.buffer + chunk).split(b"\n")
        for line in lines:
            line = line.rstrip(b"\r").decode("utf-8", "replace")
            if line.startswith("data:"):
                self.data.append(line[5:].removeprefix(" "))
            elif not line and self.data:
                data, self.data = "\n".join(self.data), []
                self.stream.on_data(data, self.out)

    def fail(self, failure):
        failure.output_streamed = bool(self.out.text_so_far)
        self.out.batch.append(t.Event_Error(failure))
        self.failure = failure
        self.over = True

    def result(self):
        """The assembled `turn-result` (for `finalize` in `app.py`)."""
        if self.failure is not None:
            raise Err(self.failure)
        if not self.over:
            raise Err(error(t.ErrorKind.STREAM_PROTOCOL, "finalize was called before the turn's stream ended"))
        text = "".join(self.out.text_so_far)
        return t.TurnResult(content=[t.ContentPart_Text(text)] if text else [], usage=self.out.total,
                            finish=self.out.last_finish, response_id=self.out.response_id,
                            model=self.out.model, provider_metadata=None)
