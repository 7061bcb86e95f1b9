"""The exported `turn` resource. componentize-py looks for an exported
resource's class in a module named after its interface (`provider`), so it
lives here; the interface's functions are in `app.py`.

A turn sends the native request through the host's `http` import on its first
`next()`, then reads the body with `body.read(...)` (2 KiB first, doubling up to
64 KiB), decodes SSE incrementally, and returns the events each read produced as
one batch. Failures become one `error` event, after which `next()` returns
`None`. The same plumbing as the Rust SDK's `TurnRunner` (`guests/sdk/src/turn.rs`).
"""

from componentize_py_types import Err
from wit_world.exports import provider as exports
from wit_world.imports import http
from wit_world.imports import types as t

import probe
import provider_errors as errors
from chat_stream import ChatStream
from emitter import Emitter
from provider_errors import Failure
from sse import SseDecoder

# The most body asked of the host at a time, and the first, smaller read (so
# the first events are handed over without waiting for a large read).
READ_CHUNK_BYTES = 64 * 1024
FIRST_READ_BYTES = 2 * 1024
# The most of an error body read to classify it.
ERROR_BODY_BYTES = 64 * 1024

# A header `to-native` adds when the request asks for the sandbox probe
# (`provider_options: {"openai-py": {"probe": true}}`): the turn then reports
# what the sandbox lets it see instead of calling the upstream.
PROBE_HEADER = "x-openai-py-probe"

_NOT_SENT, _READING, _DONE = range(3)


def close_body(body):
    """Drop a response body's handle now rather than when it is collected."""
    try:
        body.__exit__(None, None, None)
    except Exception:
        pass


def read_bounded(body, limit):
    """At most `limit` bytes of an error body; a read failure keeps what came."""
    data = bytearray()
    while len(data) < limit:
        want = min(limit - len(data), READ_CHUNK_BYTES)
        try:
            chunk = body.read(want)
        except Err:
            break
        if chunk is None:
            break
        data += chunk
    return bytes(data)


class Turn(exports.Turn):
    def __init__(self, state, request):
        self._request = request
        self._phase = _NOT_SENT
        self._handler = ChatStream()
        self._out = Emitter()
        self._body = None
        self._decoder = None
        self._read_size = FIRST_READ_BYTES

    def next(self):
        out = self._out
        try:
            while True:
                if self._phase == _DONE:
                    return None
                if self._phase == _NOT_SENT:
                    self._send()
                else:
                    self._read()
                if out.batch:
                    return out.take_batch()
        except Failure as failure:
            self._stop()
            out.fail(failure.error)
        except Exception as exc:  # a bug here must not trap the instance
            self._stop()
            out.fail(errors.new_error(t.ErrorKind.OTHER, f"openai-py failed: {type(exc).__name__}: {exc}"))
        return out.take_batch()

    def _stop(self):
        self._phase = _DONE
        if self._body is not None:
            close_body(self._body)
            self._body = None

    def _send(self):
        request = self._request
        self._request = None
        self._phase = _DONE
        if any(h.name == PROBE_HEADER for h in request.http.headers):
            self._out.text(probe.report(request.http.url))
            self._out.finish(t.FinishReason.STOP, "stop")
            self._out.emit_finish()
            return
        try:
            response = http.send(request.http)
        except Err as err:
            raise Failure(errors.from_http_error(err.value)) from None
        if response.status >= 400:
            body = read_bounded(response.body, ERROR_BODY_BYTES)
            close_body(response.body)
            raise Failure(self._handler.on_http_error(response.status, response.headers, body))
        self._body = response.body
        self._decoder = SseDecoder()
        self._phase = _READING

    def _on_event(self, _event, data, _id):
        self._handler.on_frame(data, self._out)

    def _read(self):
        try:
            chunk = self._body.read(self._read_size)
        except Err as err:
            raise Failure(errors.from_http_error(err.value)) from None
        if chunk is not None:
            self._decoder.feed(chunk, self._on_event)
            self._read_size = min(self._read_size * 2, READ_CHUNK_BYTES)
            return
        self._stop()
        self._decoder.finish(self._on_event)
        self._handler.on_end(self._out)
        self._out.emit_finish()

    def finalize(self, state):
        """The assembled result and the next state (used by `finalize`)."""
        if self._phase != _DONE:
            raise Err(errors.protocol("finalize was called before the turn's stream ended"))
        if self._out.failure is not None:
            raise Err(self._out.failure)
        return t.Finalized(result=self._out.result(), state=state)
