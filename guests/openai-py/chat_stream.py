"""Parsing the Chat Completions stream: `chat.completion.chunk` objects in SSE
`data:` lines, ended by `data: [DONE]`, into normalized events. A line-by-line
port of `guests/openai/src/stream.rs`:

Tool-call deltas are routed by `index` (whatever number it starts at); a
continuation may repeat `name: ""`; a whole call may come in one delta; a delta
with a new `id` at an index already in use starts a new call. Finished
`tool-call` events are emitted only on `finish_reason`, `[DONE]` or the end of
the stream, never because partial arguments happen to parse.

Each chunk is read as the Rust provider's serde types read it: a field of the
wrong type makes the chunk invalid, so both providers fail on the same streams.
"""

from wit_world.imports.types import FinishReason, Usage

import provider_errors as errors
import wire_json as wj
from provider_errors import Failure

_FINISH = {
    "stop": FinishReason.STOP,
    "eos": FinishReason.STOP,
    "end_turn": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "max_tokens": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_CALLS,
    "function_call": FinishReason.TOOL_CALLS,
    "content_filter": FinishReason.CONTENT_FILTER,
    "error": FinishReason.ERROR,
}


def map_finish_reason(raw):
    return _FINISH.get(raw, FinishReason.OTHER)


class _Schema(wj.SchemaError):
    pass


def _content(value):
    """`content`: text, or (Mistral reasoning models) a list of typed parts.
    Returns [("text", str) | ("thinking", [str])], or raises as the Rust provider does."""
    if isinstance(value, str):
        return [("text", wj.check_string(value))]
    if not isinstance(value, list):
        raise wj.SchemaError(f"invalid type: {wj.unexpected(value)}, expected text or a list of content parts")
    parts = []
    for part in value:
        part = wj.expect_object(part, "internally tagged enum ContentPart")
        tag = part.get("type", wj.MISSING)
        if not isinstance(tag, str):
            raise wj.SchemaError("missing or bad tag")
        if tag == "text":
            wj.check_fields(part, ("text",))
            if "text" not in part:
                raise wj.SchemaError("missing field `text`")
            text = part["text"]
            if not isinstance(text, str):
                raise wj.SchemaError("bad text")
            parts.append(("text", wj.check_string(text)))
        elif tag == "thinking":
            wj.check_fields(part, ("thinking",))
            if "thinking" not in part:
                raise wj.SchemaError("missing field `thinking`")
            pieces = part["thinking"]
            if not isinstance(pieces, list):
                raise wj.SchemaError("bad thinking")
            texts = []
            for piece in pieces:
                piece = wj.expect_object(piece, "struct ThinkingPart")
                wj.check_fields(piece, ("text",))
                texts.append(wj.str_or_default(piece, "text"))
            parts.append(("thinking", texts))
        else:
            parts.append(("other", None))
    return parts


def _tool_calls(value):
    if value is None:
        return None
    if not isinstance(value, list):
        raise wj.SchemaError(f"invalid type: {wj.unexpected(value)}, expected a sequence")
    calls = []
    for item in value:
        item = wj.expect_object(item, "struct ToolCallDelta")
        wj.check_fields(item, ("index", "id", "function"))
        function = item.get("function")
        name = arguments = None
        if function is not None:
            function = wj.expect_object(function, "struct FunctionDelta")
            wj.check_fields(function, ("name", "arguments"))
            name = wj.opt_str(function, "name")
            arguments = wj.opt_str(function, "arguments")
        calls.append((wj.opt_u64(item, "index"), wj.opt_str(item, "id"), function is not None, name, arguments))
    return calls


def _delta(value):
    if value is None:
        return None
    delta = wj.expect_object(value, "struct Delta")
    wj.check_fields(delta, ("content", "reasoning_content", "reasoning", "tool_calls"))
    content = delta.get("content")
    return (
        _content(content) if content is not None else None,
        wj.opt_str(delta, "reasoning_content"),
        wj.opt_str(delta, "reasoning"),
        _tool_calls(delta.get("tool_calls")),
    )


def _choices(chunk):
    value = chunk.get("choices", wj.MISSING)
    if value is wj.MISSING:
        return []
    if not isinstance(value, list):
        raise wj.SchemaError(f"invalid type: {wj.unexpected(value)}, expected a sequence")
    choices = []
    for item in value:
        choice = wj.expect_object(item, "struct Choice")
        wj.check_fields(choice, ("index", "delta", "finish_reason"))
        choices.append((wj.u64_or_default(choice, "index"), _delta(choice.get("delta")), wj.opt_str(choice, "finish_reason")))
    return choices


def read_chunk(data):
    """Parse one chunk as the Rust `Chunk` type. Raises `Failure` when invalid."""
    try:
        chunk = wj.loads(data)
    except ValueError as err:
        raise Failure(errors.invalid_json("chunk", wj.decode_error(err, data), data)) from None
    try:
        chunk = wj.expect_object(chunk, "struct Chunk")
        wj.check_fields(chunk, ("id", "model", "created", "choices", "usage", "x_groq", "error"))
        error = chunk.get("error")
        x_groq = chunk.get("x_groq")
        if x_groq is not None:
            x_groq = wj.expect_object(x_groq, "struct XGroq")
            wj.check_fields(x_groq, ("usage",))
        parsed = {
            "id": wj.opt_str(chunk, "id"),
            "model": wj.opt_str(chunk, "model"),
            "created": wj.opt_u64(chunk, "created"),
            "choices": _choices(chunk),
            "usage": chunk.get("usage") is not None,
            "groq_usage": x_groq is not None and x_groq.get("usage") is not None,
            "error": errors.read_error_object(error) if error is not None else None,
        }
    except wj.SchemaError as err:
        raise Failure(errors.invalid_json("chunk", str(err), data)) from None
    return parsed


def _usage_number(obj, key):
    return wj.opt_u64(obj, key)


def parse_usage(raw):
    """A usage object (its raw JSON text) as `Usage`, as the Rust `WireUsage` reads it."""
    try:
        wire = wj.expect_object(wj.loads(raw), "struct WireUsage")
        wj.check_fields(
            wire,
            ("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details", "prompt_cache_hit_tokens"),
        )
        prompt_details = wire.get("prompt_tokens_details")
        cached = None
        if prompt_details is not None:
            prompt_details = wj.expect_object(prompt_details, "struct PromptDetails")
            wj.check_fields(prompt_details, ("cached_tokens",))
            cached = _usage_number(prompt_details, "cached_tokens")
        completion_details = wire.get("completion_tokens_details")
        reasoning = None
        if completion_details is not None:
            completion_details = wj.expect_object(completion_details, "struct CompletionDetails")
            wj.check_fields(completion_details, ("reasoning_tokens",))
            reasoning = _usage_number(completion_details, "reasoning_tokens")
        input_tokens = _usage_number(wire, "prompt_tokens")
        output_tokens = _usage_number(wire, "completion_tokens")
        cache_hit = _usage_number(wire, "prompt_cache_hit_tokens")
    except ValueError as err:
        raise Failure(errors.protocol(f"invalid usage object in the stream: {err}")) from None
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cached if cached is not None else cache_hit,
        cache_write_tokens=None,
        reasoning_tokens=reasoning,
        raw=raw,
    )


class _PendingCall:
    __slots__ = ("id", "name", "arguments", "started")

    def __init__(self, call_id):
        self.id = call_id
        self.name = ""
        self.arguments = []
        self.started = False


class ChatStream:
    """The per-turn stream state."""

    def __init__(self):
        self._calls = []
        # index -> position in `_calls` of the call currently at that index, in insertion order.
        self._slots = []
        self._flushed = False
        self._done = False

    def on_frame(self, data, out):
        if data == "[DONE]":
            self._done = True
            self._flush_calls(out)
            return
        chunk = read_chunk(data)
        if chunk["error"] is not None:
            raise Failure(errors.classify_error_object(chunk["error"], None))
        # Azure's first chunk (its prompt filter's verdict) has `"id": ""` and
        # `"model": ""`: not the response's, which come with the next chunk.
        response_id = chunk["id"] or None
        model = chunk["model"] or None
        if response_id is not None or model is not None:
            out.metadata(response_id, model, chunk["created"])
        for index, delta, finish_reason in chunk["choices"]:
            # Only the first choice is a turn's answer; `n > 1` is not supported.
            if index != 0:
                continue
            if delta is not None:
                self._on_delta(delta, out)
            if finish_reason is not None:
                self._flush_calls(out)
                out.finish(map_finish_reason(finish_reason), finish_reason)
        raw = None
        if chunk["usage"]:
            raw = wj.raw_value(data, "usage")
        elif chunk["groq_usage"]:
            raw = wj.raw_value(wj.raw_value(data, "x_groq"), "usage")
        if raw is not None and raw != "null":
            out.usage(parse_usage(raw))

    def on_end(self, out):
        if not self._done and not out.has_finish():
            raise Failure(
                errors.protocol(
                    "the stream ended before `[DONE]` and before any finish_reason: "
                    "the upstream connection was cut mid-answer"
                )
            )
        self._flush_calls(out)

    def on_http_error(self, status, headers, body):
        return errors.classify_http_error(status, headers, body)

    def _on_delta(self, delta, out):
        content, reasoning_content, reasoning, tool_calls = delta
        text = reasoning_content if reasoning_content is not None else reasoning
        if text is not None:
            out.reasoning(text)
        if content is not None:
            for kind, value in content:
                if kind == "text":
                    out.text(value)
                elif kind == "thinking":
                    for piece in value:
                        out.reasoning(piece)
        if tool_calls:
            for position, call in enumerate(tool_calls):
                self._on_tool_call_delta(call, position, out)

    def _on_tool_call_delta(self, delta, position, out):
        index, call_id, has_function, name, fragment = delta
        if index is None:
            index = position
        name = name or ""
        fragment = fragment or ""
        slot = None
        for at_index, at in self._slots:
            if at_index == index:
                slot = at
                break
        if slot is None:
            new_call = True
        elif call_id is not None:
            current = self._calls[slot]
            new_call = call_id != "" and current.id != call_id and current.started
        else:
            new_call = False
        if new_call:
            self._calls.append(_PendingCall(call_id if call_id else f"call_{len(self._calls)}"))
            at = len(self._calls) - 1
            self._slots = [(i, a) for (i, a) in self._slots if i != index]
            self._slots.append((index, at))
        else:
            at = slot
        call = self._calls[at]
        if not call.name and name:
            call.name = name
        call.arguments.append(fragment)
        if not call.started and call.name:
            call.started = True
            out.tool_call_start(call.id, call.name)
            arguments = "".join(call.arguments)
            if arguments:
                out.tool_call_delta(call.id, arguments)
        elif call.started and fragment:
            out.tool_call_delta(call.id, fragment)

    def _flush_calls(self, out):
        """Emit every pending call as complete (once)."""
        if self._flushed:
            return
        self._flushed = True
        for call in self._calls:
            arguments = "".join(call.arguments)
            if not errors.rust_trim(arguments):
                arguments = "{}"
            out.tool_call(call.id, call.name, arguments)
        self._calls = []
        self._slots = []
