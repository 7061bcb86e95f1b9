"""{{name}}: a Cordon tool, made by `cordon new tool --lang python`. Its one
action, `count`, counts the characters, words and lines of a text. Models call
it as `{{name}}__count`; the host checks the arguments against the schema in
`info()` before `call` runs.

Module-level code runs when the component is built (componentize-py snapshots
the interpreter), not in the host: only define things here.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import tool as api

VERSION = "0.1.0"

COUNT_SCHEMA = {
    "type": "object",
    "properties": {"text": {"type": "string", "description": "The text to count."}},
    "required": ["text"],
    "additionalProperties": False,
}


def fail(kind, message):
    """A `tool-error` for `raise`: it goes back to the model as an error result."""
    return Err(api.ToolError(kind=kind, message=message))


def text_argument(arguments):
    """The `text` argument of `count` (the host has checked the schema, but say
    what is wrong rather than trap if a call gets here without it)."""
    try:
        args = json.loads(arguments)
    except ValueError as err:
        raise fail(api.ToolErrorKind.INVALID_ARGUMENTS, f"cannot read the arguments: {err}") from None
    if not isinstance(args, dict) or not isinstance(args.get("text"), str):
        raise fail(api.ToolErrorKind.INVALID_ARGUMENTS, "the arguments need `text`, a string")
    return args["text"]


def count(text):
    """The counts of `text`: characters (Unicode scalar values), words (runs of
    non-space) and lines (ended by LF, the last one maybe not)."""
    lines = text.count("\n") + (0 if text == "" or text.endswith("\n") else 1)
    return {"characters": len(text), "words": len(text.split()), "lines": lines}


class Tool(exports.Tool):
    def info(self):
        return api.ToolInfo(
            version=VERSION,
            description="Counts the characters, words and lines of a text",
            actions=[
                api.Action(
                    name="count",
                    description="Count the characters (Unicode scalar values), words (runs of non-space) "
                    "and lines of `text`.",
                    parameters=json.dumps(COUNT_SCHEMA),
                )
            ],
        )

    def call(self, action, arguments):
        if action != "count":
            raise fail(api.ToolErrorKind.UNKNOWN_ACTION, f"no action `{action}`; this tool has: count")
        text = text_argument(arguments)
        try:
            return json.dumps(count(text))
        except Exception as exc:  # a bug must answer with an error, not trap the instance
            raise fail(api.ToolErrorKind.FAILED, f"count failed: {type(exc).__name__}: {exc}") from None
