"""A tool-use round trip through `cordon serve` with the official Anthropic
Python client.

Usage: python anthropic_roundtrip.py BASE_URL MODEL TOOL_NAME
The first streamed message brings a `tool_use` block for TOOL_NAME; the client
"runs" the tool (it answers a fixed result), sends a `tool_result` back and
streams the second message. Prints one JSON object.
"""

import json
import sys

import anthropic

base_url, model, tool_name = sys.argv[1], sys.argv[2], sys.argv[3]
client = anthropic.Anthropic(base_url=base_url, api_key="not-checked-yet", max_retries=0)
tools = [{"name": tool_name, "description": "Update the issue list", "input_schema": {"type": "object", "properties": {}}}]
messages = [{"role": "user", "content": "Update the issue list"}]

with client.messages.stream(model=model, max_tokens=256, messages=messages, tools=tools) as stream:
    first = stream.get_final_message()
uses = [block for block in first.content if block.type == "tool_use"]
use = uses[0]
result = "3 issues updated"
messages.append({"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]})
messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": result}]})

with client.messages.stream(model=model, max_tokens=256, messages=messages, tools=tools) as stream:
    text = "".join(stream.text_stream)
    second = stream.get_final_message()

print(json.dumps({
    "first": {
        "text": "".join(block.text for block in first.content if block.type == "text"),
        "tool": {"id": use.id, "name": use.name, "input": use.input},
        "uses": len(uses),
        "stop": first.stop_reason,
    },
    "result": result,
    "second": {"text": text, "stop": second.stop_reason},
}))
