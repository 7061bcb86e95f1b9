"""List the models of `cordon serve` with the official Anthropic Python client.

Usage: python anthropic_models.py BASE_URL
Prints one JSON object: each listed model's id, display name and type.
"""

import json
import sys

import anthropic

client = anthropic.Anthropic(base_url=sys.argv[1], api_key="not-checked", max_retries=0)
listed = [{"id": m.id, "display_name": m.display_name, "type": m.type} for m in client.models.list()]
print(json.dumps({"models": listed}))
