"""Drive `cordon serve` with the official OpenAI Python client.

Usage: python openai_chat.py BASE_URL MODEL
Prints one JSON object: what the client saw of a streamed answer (with usage),
a whole answer, and the exception an unknown model raises.
"""

import json
import sys

import openai

base_url, model = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base_url, api_key="not-checked-yet", max_retries=0)
messages = [{"role": "user", "content": "Split the bill three ways"}]

text, calls, usage, finish = "", {}, None, None
stream = client.chat.completions.create(
    model=model, messages=messages, stream=True, stream_options={"include_usage": True}
)
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage.total_tokens
    for choice in chunk.choices:
        text += choice.delta.content or ""
        for call in choice.delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
            entry["id"] = entry["id"] or call.id
            entry["name"] += (call.function and call.function.name) or ""
            entry["arguments"] += (call.function and call.function.arguments) or ""
        finish = choice.finish_reason or finish

whole = client.chat.completions.create(model=model, messages=messages)

try:
    client.chat.completions.create(model="no-such-model", messages=messages)
    missing = None
except openai.NotFoundError as error:
    missing = {"class": type(error).__name__, "status": error.status_code, "code": error.code}

print(json.dumps({
    "stream": {"text": text, "calls": calls, "usage": usage, "finish": finish},
    "whole": {
        "text": whole.choices[0].message.content,
        "calls": [c.function.name for c in whole.choices[0].message.tool_calls or []],
        "finish": whole.choices[0].finish_reason,
    },
    "missing": missing,
}))
