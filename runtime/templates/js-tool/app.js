// {{name}}: a Cordon tool, made by `cordon new tool --lang js`. Its one
// action, `count`, counts the characters, words and lines of a text. Models
// call it as `{{name}}__count`; the host checks the arguments against the
// schema in `info()` before `call` runs.
//
// This module exports the `tool` interface; `export const tool` is also what
// tells `cargo xtask` to build against the tool world. Top-level code runs
// when the component is built (the engine is snapshotted after loading this
// module), not in the host: only define things here.

const VERSION = "0.1.0";

const COUNT_SCHEMA = {
  type: "object",
  properties: { text: { type: "string", description: "The text to count." } },
  required: ["text"],
  additionalProperties: false,
};

// Unicode White_Space, as Rust's `char::is_whitespace`: JavaScript's `\s`
// differs (it takes U+FEFF, not U+0085).
const SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** A `tool-error` to throw: the bindings return it as the `err` of `call`'s
 * `result`, and it goes back to the model as an error result. */
function fail(kind, message) {
  return { kind, message };
}

/** The `text` argument of `count` (the host has checked the schema, but say
 * what is wrong rather than trap if a call gets here without it). */
function textArgument(args) {
  let parsed;
  try {
    parsed = JSON.parse(args);
  } catch (err) {
    throw fail("invalid-arguments", `cannot read the arguments: ${err.message}`);
  }
  if (typeof parsed?.text !== "string") throw fail("invalid-arguments", "the arguments need `text`, a string");
  return parsed.text;
}

/** The counts of `text`: characters (Unicode scalar values, not UTF-16 units),
 * words (runs of non-space) and lines (ended by LF, the last one maybe not). */
function count(text) {
  const newlines = text.split("\n").length - 1;
  return {
    characters: [...text].length,
    words: text.split(SPACE).filter((word) => word !== "").length,
    lines: newlines + (text === "" || text.endsWith("\n") ? 0 : 1),
  };
}

export const tool = {
  info() {
    return {
      version: VERSION,
      description: "Counts the characters, words and lines of a text",
      actions: [
        {
          name: "count",
          description:
            "Count the characters (Unicode scalar values), words (runs of non-space) and lines of `text`.",
          parameters: JSON.stringify(COUNT_SCHEMA),
        },
      ],
    };
  },

  call(action, args) {
    if (action !== "count") throw fail("unknown-action", `no action \`${action}\`; this tool has: count`);
    const text = textArgument(args);
    try {
      return JSON.stringify(count(text));
    } catch (err) {
      // A bug must answer with an error, not trap the instance.
      throw fail("failed", `count failed: ${err}`);
    }
  },
};
