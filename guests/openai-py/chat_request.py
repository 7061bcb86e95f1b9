"""Translating a normalized request into a Chat Completions request body, as
`guests/openai/src/request.rs` does. Settings the API does not take become
warnings, never silent drops.
"""

import base64

from wit_world.imports import types as t

import wire_json as wj

MAX_TOKENS = "max_tokens"
MAX_COMPLETION_TOKENS = "max_completion_tokens"

# The key of this provider's entry in a request's `provider-options`.
OPTIONS_KEY = "openai-py"

_EFFORT = {
    t.ReasoningEffort.MINIMAL: "minimal",
    t.ReasoningEffort.LOW: "low",
    t.ReasoningEffort.MEDIUM: "medium",
    t.ReasoningEffort.HIGH: "high",
}


def _unsupported(setting, message):
    return t.Warning(kind=t.WarningKind.UNSUPPORTED_SETTING, setting=setting, message=message)


def _parse_value(text):
    """`serde_json::from_str::<Value>`: the value, or raises `ValueError` with serde's wording."""
    try:
        return wj.loads(text)
    except ValueError as err:
        raise ValueError(wj.decode_error(err, text)) from None


def build_body(request, model, max_tokens_field, quirks):
    """The JSON body (a dict) shaped for the service by `quirks` (the request's
    own provider options merged last, untouched), the warnings, and whether the
    sandbox probe was asked for."""
    warnings = []
    body = {
        "model": model,
        "messages": _messages(request.messages, quirks.tool_result_name),
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    s = request.sampling
    if s.max_output_tokens is not None:
        body[max_tokens_field] = s.max_output_tokens
    for name, value in (
        ("temperature", s.temperature),
        ("top_p", s.top_p),
        ("presence_penalty", s.presence_penalty),
        ("frequency_penalty", s.frequency_penalty),
    ):
        if value is not None:
            body[name] = float(value)
    if s.top_k is not None:
        warnings.append(_unsupported("top-k", "the Chat Completions API has no top-k; it was not sent"))
    if s.stop_sequences:
        body["stop"] = list(s.stop_sequences)
    if s.seed is not None:
        body["seed"] = s.seed

    if request.reasoning is not None:
        reasoning = request.reasoning
        if reasoning.effort is not None:
            body["reasoning_effort"] = _EFFORT[reasoning.effort]
        if reasoning.budget_tokens is not None:
            warnings.append(
                _unsupported(
                    "reasoning.budget-tokens",
                    "Chat Completions takes a reasoning effort, not a token budget; use reasoning.effort",
                )
            )

    fmt = request.response_format
    if isinstance(fmt, t.ResponseFormat_Json):
        json_format = fmt.value
        value = {"type": "json_object"}
        if json_format.schema is not None:
            try:
                schema = _parse_value(json_format.schema)
            except ValueError as err:
                warnings.append(
                    t.Warning(
                        kind=t.WarningKind.COMPATIBILITY,
                        setting="response-format.schema",
                        message=f"the schema is not valid JSON ({err}); asked for any JSON object instead",
                    )
                )
            else:
                value = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": json_format.name if json_format.name is not None else "response",
                        "description": json_format.description,
                        "schema": schema,
                        "strict": True,
                    },
                }
        body["response_format"] = value

    if request.tools:
        tools = []
        for tool in request.tools:
            try:
                parameters = _parse_value(tool.parameters)
            except ValueError:
                parameters = {"type": "object"}
            tools.append(
                {
                    "type": "function",
                    "function": {"name": tool.name, "description": tool.description, "parameters": parameters},
                }
            )
        body["tools"] = tools
    choice = request.tool_choice
    if choice is not None:
        if isinstance(choice, t.ToolChoice_Auto):
            body["tool_choice"] = "auto"
        elif isinstance(choice, t.ToolChoice_None_):
            body["tool_choice"] = "none"
        elif isinstance(choice, t.ToolChoice_Required):
            body["tool_choice"] = "required"
        else:
            body["tool_choice"] = {"type": "function", "function": {"name": choice.value}}
    if request.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = request.parallel_tool_calls

    quirks.apply(body, warnings)

    # Provider options: `{"openai-py": {...}}` is merged into the body as is,
    # except `probe`, which asks for the sandbox report instead of a call.
    probe = False
    if request.provider_options is not None:
        try:
            everything = _parse_value(request.provider_options)
        except ValueError:
            everything = None
        if isinstance(everything, dict):
            ours = everything.get(OPTIONS_KEY)
            if isinstance(ours, dict):
                ours = dict(ours)
                probe = ours.pop("probe", None) is True
                body.update(ours)
        else:
            warnings.append(
                t.Warning(
                    kind=t.WarningKind.OTHER,
                    setting="provider-options",
                    message="provider options must be a JSON object keyed by provider name; ignored",
                )
            )
    return body, warnings, probe


def _text_of(parts):
    return "".join(part.value for part in parts if isinstance(part, t.Part_Text))


def _user_content(parts):
    if all(isinstance(part, t.Part_Text) for part in parts):
        return _text_of(parts)
    items = []
    for part in parts:
        if isinstance(part, t.Part_Text):
            items.append({"type": "text", "text": part.value})
        elif isinstance(part, t.Part_File):
            source = part.value.source
            if isinstance(source, t.FileSource_Url):
                url = source.value
            else:
                encoded = base64.b64encode(bytes(source.value)).decode("ascii")
                url = f"data:{part.value.media_type};base64,{encoded}"
            items.append({"type": "image_url", "image_url": {"url": url}})
    return items


def _assistant(parts):
    text = _text_of(parts)
    calls = [
        {
            "id": part.value.id,
            "type": "function",
            "function": {"name": part.value.name, "arguments": part.value.arguments},
        }
        for part in parts
        if isinstance(part, t.Part_ToolCall)
    ]
    message = {"role": "assistant", "content": text if text else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _messages(messages, tool_result_name):
    out = []
    for message in messages:
        role = message.role
        if role == t.Role.SYSTEM:
            out.append({"role": "system", "content": _text_of(message.parts)})
        elif role == t.Role.USER:
            out.append({"role": "user", "content": _user_content(message.parts)})
        elif role == t.Role.ASSISTANT:
            out.append(_assistant(message.parts))
        else:
            for part in message.parts:
                if isinstance(part, t.Part_ToolResult):
                    result = part.value
                    message = {"role": "tool", "tool_call_id": result.call_id, "content": result.output}
                    if tool_result_name:
                        message["name"] = result.name
                    out.append(message)
    return out


def encode(body):
    """The body as bytes, written as serde_json writes it."""
    return wj.dumps(body).encode("utf-8")
