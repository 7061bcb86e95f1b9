"""Drive `cordon serve` through each of its models with the official clients.

Usage: python every_provider.py BASE_URL MODEL...
Prints one JSON object: per model, the text the OpenAI client assembled from a
streamed Chat Completions answer and from a whole one, the text the Anthropic
client assembled from a streamed Messages answer, and the finish reasons.
"""

import json
import sys

import anthropic
import openai

base_url, models = sys.argv[1], sys.argv[2:]
chat = openai.OpenAI(base_url=base_url + "/v1", api_key="not-checked", max_retries=0)
messages_client = anthropic.Anthropic(base_url=base_url, api_key="not-checked", max_retries=0)
question = [{"role": "user", "content": "How many r's in strawberry?"}]

seen = {}
for model in models:
    streamed, finish = "", None
    for chunk in chat.chat.completions.create(model=model, messages=question, stream=True):
        for choice in chunk.choices:
            streamed += choice.delta.content or ""
            finish = choice.finish_reason or finish
    whole = chat.chat.completions.create(model=model, messages=question)
    with messages_client.messages.stream(model=model, max_tokens=1024, messages=question) as stream:
        for _ in stream.text_stream:
            pass
        message = stream.get_final_message()
    seen[model] = {
        "chat_stream": streamed,
        "chat_finish": finish,
        "chat_whole": whole.choices[0].message.content or "",
        "messages_stream": "".join(block.text for block in message.content if block.type == "text"),
        "messages_stop": message.stop_reason,
    }
print(json.dumps(seen))
