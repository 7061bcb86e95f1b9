"""Drive `cordon serve` with the official OpenAI Python client: a tool-call
round trip, a JSON-schema answer, or a stream left early.

Usage: python openai_roundtrip.py BASE_URL MODEL tools|json|disconnect
Prints one JSON object.

- `tools`: a streamed answer brings a call to `calculator__evaluate`; the
  client runs it (here: Python's own arithmetic on the expression), sends the
  result back as a `tool` message and streams the second answer.
- `json`: `chat.completions.parse` with a `json_schema` response format; the
  client parses the answer into the schema's object.
- `disconnect`: read three chunks of a stream, then close it.
"""

import json
import sys

import openai
import pydantic

base_url, model, mode = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base_url, api_key="not-checked-yet", max_retries=0)

CALCULATOR = {
    "type": "function",
    "function": {
        "name": "calculator__evaluate",
        "description": "Evaluate an arithmetic expression",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]},
    },
}


def stream_turn(messages):
    """Stream one answer; return its text, its calls (by index) and its finish reason."""
    text, calls, finish = "", {}, None
    stream = client.chat.completions.create(model=model, messages=messages, tools=[CALCULATOR], stream=True)
    for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
                entry["id"] = entry["id"] or call.id
                entry["name"] += (call.function and call.function.name) or ""
                entry["arguments"] += (call.function and call.function.arguments) or ""
            finish = choice.finish_reason or finish
    return text, calls, finish


def evaluate(expression):
    """The tool: arithmetic only, rounded to cents."""
    allowed = set("0123456789.+-*/() ")
    if not set(expression) <= allowed:
        raise ValueError(f"not arithmetic: {expression!r}")
    return f"{eval(expression):.2f}"  # noqa: S307 - checked to be arithmetic above


if mode == "tools":
    messages = [{"role": "user", "content": "Split the bill of 187.40 plus 15% tip three ways"}]
    text, calls, finish = stream_turn(messages)
    call = calls[0]
    result = evaluate(json.loads(call["arguments"])["expression"])
    messages.append({
        "role": "assistant",
        "content": text or None,
        "tool_calls": [{"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}],
    })
    messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    second_text, second_calls, second_finish = stream_turn(messages)
    print(json.dumps({
        "first": {"text": text, "call": call, "finish": finish},
        "result": result,
        "second": {"text": second_text, "calls": len(second_calls), "finish": second_finish},
    }))
elif mode == "json":

    class City(pydantic.BaseModel):
        city: str
        country: str
        population: int

    completion = client.chat.completions.parse(
        model=model, messages=[{"role": "user", "content": "The largest city of Norway, as JSON"}], response_format=City
    )
    message = completion.choices[0].message
    print(json.dumps({
        "parsed": message.parsed.model_dump() if message.parsed else None,
        "content": message.content,
        "finish": completion.choices[0].finish_reason,
    }))
elif mode == "disconnect":
    stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Sing"}], stream=True)
    received, chunks = "", 0
    for chunk in stream:
        received += (chunk.choices[0].delta.content or "") if chunk.choices else ""
        chunks += 1
        if chunks == 3:
            break
    stream.close()
    print(json.dumps({"chunks": chunks, "received": received}))
else:
    sys.exit(f"unknown mode {mode!r}: tools, json or disconnect")
