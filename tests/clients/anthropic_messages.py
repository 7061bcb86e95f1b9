"""Drive `cordon serve` with the official Anthropic Python client.

Usage: python anthropic_messages.py BASE_URL MODEL
Prints one JSON object: the final message the client's stream helper
assembled, a whole message, and the exception an unknown model raises.
"""

import json
import sys

import anthropic

base_url, model = sys.argv[1], sys.argv[2]
client = anthropic.Anthropic(base_url=base_url, api_key="not-checked-yet", max_retries=0)
messages = [{"role": "user", "content": "Split the bill three ways"}]

with client.messages.stream(model=model, max_tokens=256, messages=messages) as stream:
    text = "".join(stream.text_stream)
    final = stream.get_final_message()

whole = client.messages.create(model=model, max_tokens=256, messages=messages)

try:
    client.messages.create(model="no-such-model", max_tokens=16, messages=messages)
    missing = None
except anthropic.NotFoundError as error:
    missing = {"class": type(error).__name__, "status": error.status_code}


def blocks(message):
    return [
        {"type": b.type, "text": getattr(b, "text", None), "name": getattr(b, "name", None), "input": getattr(b, "input", None)}
        for b in message.content
    ]


print(json.dumps({
    "stream": {"text": text, "blocks": blocks(final), "stop": final.stop_reason, "output_tokens": final.usage.output_tokens},
    "whole": {"blocks": blocks(whole), "stop": whole.stop_reason},
    "missing": missing,
}))
