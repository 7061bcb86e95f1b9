"""Drive `cordon serve`'s /v1/responses with the official OpenAI Python client.

Usage: python openai_responses.py BASE_URL MODEL SCENARIO
Prints one JSON object: what the client saw. Scenarios:
  stream    the stream helper's events and the final response it assembled
  whole     a whole response
  tools     a function call, then its output sent back, then the answer
  schema    `responses.parse` with a Pydantic model as `text_format`
  refusals  an unknown model, `previous_response_id`, a hosted tool, and the
            warnings header for settings that were not honoured
  broken    a stream whose upstream fails after the first words
"""

import json
import sys

import openai
import pydantic

base_url, model, scenario = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base_url, api_key="not-checked", max_retries=0)
question = "Split the bill three ways"


def usage_of(response):
    usage = response.usage
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "cached_tokens": usage.input_tokens_details.cached_tokens,
        "reasoning_tokens": usage.output_tokens_details.reasoning_tokens,
    }


def items_of(response):
    out = []
    for item in response.output:
        if item.type == "message":
            out.append({"type": "message", "status": item.status, "text": "".join(c.text for c in item.content if c.type == "output_text")})
        elif item.type == "reasoning":
            out.append({"type": "reasoning", "summary": "".join(s.text for s in item.summary)})
        elif item.type == "function_call":
            out.append({"type": "function_call", "call_id": item.call_id, "name": item.name, "arguments": item.arguments, "status": item.status})
        else:
            out.append({"type": item.type})
    return out


def streamed(**params):
    """The stream helper's view: event types, sequence numbers, deltas, final response."""
    kinds, sequence, text, summary, arguments = [], [], "", "", ""
    with client.responses.stream(model=model, **params) as stream:
        for event in stream:
            kinds.append(event.type)
            sequence.append(event.sequence_number)
            if event.type == "response.output_text.delta":
                text += event.delta
            elif event.type == "response.reasoning_summary_text.delta":
                summary += event.delta
            elif event.type == "response.function_call_arguments.delta":
                arguments += event.delta
            elif event.type == "response.created":
                created_id = event.response.id
        final = stream.get_final_response()
    return final, {
        "kinds": kinds,
        "sequence": sequence,
        "text": text,
        "summary": summary,
        "arguments": arguments,
        "same_id": created_id == final.id,
        "status": final.status,
        "output_text": final.output_text,
        "items": items_of(final),
        "usage": usage_of(final),
        "model": final.model,
    }


def whole(response):
    return {
        "object": response.object,
        "status": response.status,
        "output_text": response.output_text,
        "items": items_of(response),
        "usage": usage_of(response),
        "model": response.model,
    }


if scenario == "stream":
    _, seen = streamed(input=question, instructions="Answer briefly.", temperature=0.3, max_output_tokens=500)
    print(json.dumps(seen))

elif scenario == "whole":
    _, stream_seen = streamed(input=question, reasoning={"effort": "low", "summary": "auto"})
    response = client.responses.create(
        model=model, input=[{"role": "user", "content": [{"type": "input_text", "text": question}]}]
    )
    print(json.dumps({"stream": stream_seen, "whole": whole(response)}))

elif scenario == "tools":
    tools = [{
        "type": "function",
        "name": "calculator__evaluate",
        "description": "Evaluate an arithmetic expression",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]},
        "strict": False,
    }]
    conversation = [{"role": "user", "content": question}]
    final, first = streamed(input=conversation, tools=tools)
    calls = [item for item in final.output if item.type == "function_call"]
    # As the OpenAI docs show it: the response's output goes back as input, then the result.
    conversation += final.output
    conversation += [{"type": "function_call_output", "call_id": call.call_id, "output": "71.84"} for call in calls]
    second = client.responses.create(model=model, input=conversation, tools=tools)
    print(json.dumps({"first": first, "second": whole(second)}))

elif scenario == "schema":
    class Split(pydantic.BaseModel):
        each: float
        currency: str

    parsed = client.responses.parse(model=model, input=question, text_format=Split)
    print(json.dumps({"parsed": parsed.output_parsed.model_dump(), "output_text": parsed.output_text}))

elif scenario == "refusals":
    seen = {}
    try:
        client.responses.create(model="no-such-model", input=question)
    except openai.NotFoundError as error:
        seen["missing"] = {"class": type(error).__name__, "status": error.status_code, "code": error.code, "param": error.param}
    try:
        client.responses.create(model=model, input=question, previous_response_id="resp_earlier")
    except openai.BadRequestError as error:
        seen["stateful"] = {"class": type(error).__name__, "status": error.status_code, "param": error.param, "message": error.message}
    try:
        client.responses.create(model=model, input=question, tools=[{"type": "web_search"}])
    except openai.BadRequestError as error:
        seen["hosted"] = {"class": type(error).__name__, "status": error.status_code, "param": error.param}
    raw = client.responses.with_raw_response.create(model=model, input=question, truncation="auto", text={"verbosity": "low"})
    seen["warnings"] = raw.headers.get("x-cordon-warnings")
    seen["answered"] = raw.parse().output_text
    print(json.dumps(seen))

elif scenario == "broken":
    text, failure = "", None
    try:
        with client.responses.stream(model=model, input=question) as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    text += event.delta
    except openai.APIError as error:
        failure = {"class": type(error).__name__, "message": error.message, "code": error.code}
    print(json.dumps({"text": text, "failure": failure}))

else:
    sys.exit(f"unknown scenario {scenario!r}")
