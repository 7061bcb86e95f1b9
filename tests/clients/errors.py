"""Drive `cordon serve` into errors with an official Python client and report
what the client raised.

Usage: python errors.py openai|anthropic BASE_URL CASES_JSON
CASES_JSON is a list of {"name", "model", "retries", "stream", "big"?, "key"?,
"fill"?, "sleep"?}: each case asks `model` once with the client's
`max_retries` set to `retries` (streamed if `stream`; with a message of `big`
bytes if given; with `key` as the client's API key if given, else a
placeholder). With `fill`, the case first asks without retries until the
gateway answers 429 (to use up a rate limit), and reports how many it took as
`filled`. With `sleep`, the client's waits really pass.
Prints one JSON object, by case name: the exception's class and its bases
up to the client's root, the status, the error's code and type, the retry
headers of the answer, and the waits the client chose before each retry.

`time.sleep` is replaced by a recorder, so the waits the client computed
from `retry-after-ms` / `retry-after` are seen exactly and no time passes.
"""

import json
import sys
import time

kind, base_url, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
waits = []
really_sleep = time.sleep
sleeping = {"now": False}


def recorded_sleep(seconds):
    waits.append(seconds)
    if sleeping["now"]:
        really_sleep(seconds)


time.sleep = recorded_sleep

if kind == "openai":
    import openai as sdk

    client = sdk.OpenAI(base_url=base_url, api_key="not-checked")
else:
    import anthropic as sdk

    client = sdk.Anthropic(base_url=base_url, api_key="not-checked")


def ask(case):
    text = "x" * case["big"] if case.get("big") else "Split the bill three ways"
    messages = [{"role": "user", "content": text}]
    chosen = client.with_options(max_retries=case["retries"], api_key=case.get("key", "not-checked"))
    if kind == "openai":
        if case["stream"]:
            for chunk in chosen.chat.completions.create(model=case["model"], messages=messages, stream=True):
                for choice in chunk.choices:
                    progress["received"] += choice.delta.content or ""
        else:
            chosen.chat.completions.create(model=case["model"], messages=messages)
    elif case["stream"]:
        with chosen.messages.stream(model=case["model"], max_tokens=64, messages=messages) as stream:
            for text in stream.text_stream:
                progress["received"] += text
    else:
        chosen.messages.create(model=case["model"], max_tokens=64, messages=messages)


def lineage(error):
    """The exception's class and its bases, up to the client's root class."""
    names = []
    for cls in type(error).__mro__:
        names.append(cls.__name__)
        if cls.__name__ in ("OpenAIError", "AnthropicError"):
            break
    return names


def fill(case):
    """Ask without retries until the gateway says 429; how many were admitted."""
    for admitted in range(10_000):
        try:
            ask(dict(case, retries=0))
        except sdk.RateLimitError:
            return admitted
    raise RuntimeError("no 429 after 10,000 requests")


seen = {}
progress = {"received": ""}
for case in cases:
    filled = fill(case) if case.get("fill") else None
    sleeping["now"] = bool(case.get("sleep"))
    before = len(waits)
    progress["received"] = ""
    try:
        ask(case)
        seen[case["name"]] = {"class": None}
    except sdk.APIStatusError as error:
        headers = error.response.headers
        body = error.body if isinstance(error.body, dict) else {}
        inner = body.get("error", body) if isinstance(body.get("error", body), dict) else {}
        seen[case["name"]] = {
            "class": lineage(error),
            "status": error.status_code,
            "code": getattr(error, "code", None),
            "type": inner.get("type"),
            "retry_after": headers.get("retry-after"),
            "retry_after_ms": headers.get("retry-after-ms"),
            "should_retry": headers.get("x-should-retry"),
            "request_id": error.request_id if hasattr(error, "request_id") else headers.get("x-request-id"),
        }
    except sdk.APIError as error:
        # An error the stream delivered after it began, or a connection failure.
        seen[case["name"]] = {"class": lineage(error), "message": error.message}
    seen[case["name"]]["waits"] = waits[before:]
    if filled is not None:
        seen[case["name"]]["filled"] = filled
    seen[case["name"]]["received"] = progress["received"]

print(json.dumps(seen))
