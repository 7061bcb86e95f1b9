"""List the models of `cordon serve` with the official OpenAI Python client,
then call one of them.

Usage: python openai_models.py BASE_URL MODEL
Prints one JSON object: each listed model's id and owner, and the text of a
whole chat completion of MODEL.
"""

import json
import sys

import openai

base_url, model = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base_url, api_key="not-checked", max_retries=0)
listed = [{"id": m.id, "owned_by": m.owned_by, "object": m.object} for m in client.models.list()]
answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}])
print(json.dumps({"models": listed, "text": answer.choices[0].message.content}))
