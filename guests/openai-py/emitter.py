"""Where the stream code puts events: they are batched for the next `next()`
and the turn's result is assembled as they go by. The same rules as the Rust
SDK's `Emitter` (`guests/sdk/src/emit.rs`): empty text is dropped, text and
reasoning join their previous part, usage events carry the totals so far, the
first metadata wins, and `stop` becomes `tool-calls` when calls were emitted.
"""

import copy

from wit_world.imports import types as t


def empty_usage():
    return t.Usage(
        input_tokens=None,
        output_tokens=None,
        cache_read_tokens=None,
        cache_write_tokens=None,
        reasoning_tokens=None,
        raw=None,
    )


class Emitter:
    def __init__(self):
        self.batch = []
        # Content parts as mutable lists: ["text", str] / ["reasoning", ReasoningPart] / ["call", ToolCall].
        self._content = []
        self._usage = empty_usage()
        self._finish = None
        self._response_id = None
        self._model = None
        self._output_streamed = False
        self._has_tool_calls = False
        self.failure = None

    # ----- content ---------------------------------------------------------------

    def text(self, text):
        if not text:
            return
        last = self._content[-1] if self._content else None
        if last is not None and last[0] == "text":
            last[1].append(text)
        else:
            self._content.append(["text", [text]])
        self._output_streamed = True
        self.batch.append(t.Event_TextDelta(text))

    def reasoning(self, text):
        if not text:
            return
        self._reasoning_part()[1].append(text)
        self._output_streamed = True
        self.batch.append(t.Event_ReasoningDelta(t.ReasoningDelta(text=text, signature=None, redacted=None)))

    def _reasoning_part(self):
        last = self._content[-1] if self._content else None
        if last is None or last[0] != "reasoning":
            last = ["reasoning", []]
            self._content.append(last)
        return last

    def tool_call_start(self, call_id, name):
        self._output_streamed = True
        self.batch.append(t.Event_ToolCallStart(t.ToolCallStart(id=call_id, name=name)))

    def tool_call_delta(self, call_id, arguments):
        self.batch.append(t.Event_ToolCallDelta(t.ToolCallDelta(id=call_id, arguments=arguments)))

    def tool_call(self, call_id, name, arguments):
        self._output_streamed = True
        self._has_tool_calls = True
        self._content.append(["call", t.ToolCall(id=call_id, name=name, arguments=arguments)])
        self.batch.append(t.Event_ToolCall(t.ToolCall(id=call_id, name=name, arguments=arguments)))

    def usage(self, usage):
        """Known fields replace earlier ones; the event carries the totals so far."""
        merged = self._usage
        for field in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens"):
            value = getattr(usage, field)
            if value is not None:
                setattr(merged, field, value)
        if usage.raw is not None:
            merged.raw = usage.raw
        self.batch.append(t.Event_Usage(copy.copy(merged)))

    def metadata(self, response_id, model, timestamp):
        """Response id, model and time (the first report wins)."""
        if self._response_id is not None or self._model is not None:
            return
        self._response_id = response_id
        self._model = model
        self.batch.append(
            t.Event_ResponseMetadata(t.ResponseMetadata(id=response_id, model=model, timestamp=timestamp))
        )

    def finish(self, reason, raw):
        self._finish = t.Finish(reason=reason, raw=raw)

    def has_finish(self):
        return self._finish is not None

    # ----- the end ---------------------------------------------------------------

    def _final_finish(self):
        finish = self._finish
        if finish is None:
            return t.Finish(reason=t.FinishReason.OTHER, raw=None)
        if finish.reason == t.FinishReason.STOP and self._has_tool_calls:
            return t.Finish(reason=t.FinishReason.TOOL_CALLS, raw=finish.raw)
        return t.Finish(reason=finish.reason, raw=finish.raw)

    def emit_finish(self):
        self.batch.append(t.Event_Finish(self._final_finish()))

    def fail(self, error):
        error.output_streamed = self._output_streamed
        self.batch.append(t.Event_Error(copy.copy(error)))
        self.failure = error

    def take_batch(self):
        batch = self.batch
        self.batch = []
        return batch

    def result(self):
        """The assembled `turn-result`."""
        content = []
        for kind, value in self._content:
            if kind == "text":
                content.append(t.ContentPart_Text("".join(value)))
            elif kind == "reasoning":
                content.append(t.ContentPart_Reasoning(t.ReasoningPart(text="".join(value), signature=None, redacted=None)))
            else:
                content.append(t.ContentPart_ToolCall(value))
        return t.TurnResult(
            content=content,
            usage=self._usage,
            finish=self._final_finish(),
            response_id=self._response_id,
            model=self._model,
            provider_metadata=None,
        )
