"""The answer's side of {{name}}: each server-sent event's data (one
`chat.completion.chunk` as JSON, or `[DONE]`) becomes normalized events. The
turn in `provider.py` calls `on_data` for each event and `on_end` when the
body ends; `out` is its `Output` (text, usage, metadata, finish).
"""

import json

from componentize_py_types import Err
from wit_world.imports import types as t

from app import error

FINISH_REASONS = {
    "stop": t.FinishReason.STOP,
    "length": t.FinishReason.LENGTH,
    "content_filter": t.FinishReason.CONTENT_FILTER,
    "tool_calls": t.FinishReason.TOOL_CALLS,
}


class ChatStream:
    def __init__(self):
        self.done = False

    def on_data(self, data, out):
        if data == "[DONE]":
            self.done = True
            return
        try:
            chunk = json.loads(data)
        except ValueError as err:
            raise Err(error(t.ErrorKind.STREAM_PROTOCOL, f"invalid JSON in a stream chunk ({err}): {data[:512]}")) from None
        if not isinstance(chunk, dict):
            raise Err(error(t.ErrorKind.STREAM_PROTOCOL, f"a stream chunk is not a JSON object: {data[:512]}"))
        out.metadata(chunk.get("id"), chunk.get("model"), chunk.get("created"))
        choices = chunk.get("choices") or []
        if choices:
            choice = choices[0]
            out.text((choice.get("delta") or {}).get("content") or "")
            reason = choice.get("finish_reason")
            if isinstance(reason, str):
                out.finish(FINISH_REASONS.get(reason, t.FinishReason.OTHER), reason)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            out.usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))

    def on_end(self, out):
        if not self.done:
            raise Err(error(t.ErrorKind.STREAM_PROTOCOL, "the stream ended before `data: [DONE]`"))
