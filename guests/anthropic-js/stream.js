// Parsing the Messages API stream into normalized events, as the Rust provider
// does (`guests/anthropic/src/stream.rs`): `message_start`,
// `content_block_start|delta|stop`, `message_delta`, `message_stop`, `ping`,
// `error`.
//
// Content blocks are tracked by `index`: text, thinking (with its signature),
// redacted thinking (kept as opaque data), and tool use, whose
// `input_json_delta` fragments are joined and emitted as a complete call at
// `content_block_stop` (an empty input is `{}`). Usage: total input =
// `input_tokens` + `cache_creation_input_tokens` + `cache_read_input_tokens`;
// `message_delta` carries the cumulative output and sometimes a revised input,
// which replaces the earlier one.
//
// Each event is read with the same rules as the Rust provider's serde types:
// the fields it needs must be there with the right types (a missing `index` or
// a text delta without `text` is a protocol error), unknown event and block
// types are skipped, unknown fields are ignored.

import { classifyErrorObject, classifyHttpError, errorObject, excerpt, protocolError, rustTrim, structFields } from "./errors.js";
import { JsonError, JsonNumber, formatF64, parse, repeated, stringify } from "./json.js";

/** The unified finish reason for an Anthropic `stop_reason`. */
export function mapStopReason(raw) {
  switch (raw) {
    case "end_turn":
    case "stop_sequence":
      return "stop";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool-calls";
    case "refusal":
      return "content-filter";
    default:
      return "other";
  }
}

// ----- reading typed fields (serde's rules) -----------------------------------

/** Why an event does not have the shape the provider reads. */
class ShapeError extends Error {}

function shape(message) {
  throw new ShapeError(message);
}

/** The tag of an internally tagged enum (`{"type": ..., ...}`). */
function tagOf(value, what) {
  if (!(value instanceof Map)) shape(`invalid type, expected internally tagged enum ${what}`);
  if (!value.has("type")) shape("missing field `type`");
  if (repeated(value, "type")) shape("duplicate field `type`");
  const tag = value.get("type");
  if (typeof tag !== "string") shape("invalid type for `type`, expected a variant name");
  return tag;
}

/** The fields of a variant of an internally tagged enum. */
function variantFields(map, names, required) {
  return names.map((name) => {
    if (!map.has(name)) {
      if (required.includes(name)) shape(`missing field \`${name}\``);
      return undefined;
    }
    if (repeated(map, name)) shape(`duplicate field \`${name}\``);
    return map.get(name);
  });
}

function struct(value, name, names, required = []) {
  try {
    return structFields(value, name, names, required);
  } catch (err) {
    return shape(err.message);
  }
}

function u64(value, name) {
  if (value instanceof JsonNumber && value.kind === "u64") return value.value;
  return shape(`invalid type for \`${name}\`, expected u64`);
}

/** A string field; `fallback` for a missing one with a default (null is still wrong). */
function str(value, name, fallback) {
  if (typeof value === "string") return value;
  if (value === undefined && fallback !== undefined) return fallback;
  return shape(value === undefined ? `missing field \`${name}\`` : `invalid type for \`${name}\`, expected a string`);
}

/** An `Option<string>` field: missing or null is none. */
function optionalStr(value, name) {
  return value === undefined || value === null ? undefined : str(value, name);
}

/** An `Option<Value>` field: missing or null is none. */
function optionalValue(value) {
  return value === null ? undefined : value;
}

// Rust's u64 addition in a release build wraps.
const wrapU64 = (n) => BigInt.asUintN(64, n);

/** The per-turn stream state and the frame handler. */
export class MessagesStream {
  constructor() {
    this.blocks = []; // [index (BigInt), block], in order of their start
    this.input = { uncached: undefined, cacheWrite: undefined, cacheRead: undefined };
    this.stopped = false;
    this.message = undefined; // the id of the message this stream carries
  }

  /** Handle one SSE event; throws a provider error. */
  onFrame(frame, out) {
    const data = frame.data;
    let event;
    try {
      event = this.read(data);
    } catch (err) {
      if (!(err instanceof ShapeError || err instanceof JsonError)) throw err;
      throw protocolError(`invalid JSON in a stream event (${err.message}): ${excerpt(new TextEncoder().encode(data))}`);
    }
    switch (event.type) {
      case "message_start":
        // One stream carries one message; a second start means two were spliced.
        if (this.message !== undefined) {
          throw protocolError(
            `a second \`message_start\` (${event.id ?? "without an id"}) arrived in the stream of message \`${this.message}\`: ` +
              "the upstream spliced two messages into one stream, so the turn stops here",
          );
        }
        this.message = event.id ?? "without an id";
        out.metadata(event.id, event.model, undefined);
        if (event.usage !== undefined) this.usage(event.usage, out);
        break;
      case "content_block_start":
        this.startBlock(event.index, event.block, out);
        break;
      case "content_block_delta":
        this.delta(event.index, event.delta, out);
        break;
      case "content_block_stop":
        this.stopBlock(event.index, out);
        break;
      case "message_delta":
        if (event.usage !== undefined) this.usage(event.usage, out);
        if (event.stopReason !== undefined) out.finish(mapStopReason(event.stopReason), event.stopReason);
        break;
      case "message_stop":
        this.stopped = true;
        break;
      case "error": {
        const error = classifyErrorObject(event.error, undefined);
        error.message = `Anthropic reported mid-stream: ${error.message}`;
        throw error;
      }
      default: // ping and unknown events
    }
  }

  /** Parse and check one event's data into a plain description; throws on a bad shape. */
  read(data) {
    const value = parse(data);
    const type = tagOf(value, "Event");
    switch (type) {
      case "message_start": {
        const [message] = variantFields(value, ["message"], ["message"]);
        const [id, model, usage] = struct(message, "Message", ["id", "model", "usage"]);
        return { type, id: optionalStr(id, "id"), model: optionalStr(model, "model"), usage: optionalValue(usage) };
      }
      case "content_block_start": {
        const [index, block] = variantFields(value, ["index", "content_block"], ["index", "content_block"]);
        return { type, index: u64(index, "index"), block: this.readBlock(block) };
      }
      case "content_block_delta": {
        const [index, delta] = variantFields(value, ["index", "delta"], ["index", "delta"]);
        return { type, index: u64(index, "index"), delta: this.readDelta(delta) };
      }
      case "content_block_stop": {
        const [index] = variantFields(value, ["index"], ["index"]);
        return { type, index: u64(index, "index") };
      }
      case "message_delta": {
        const [delta, usage] = variantFields(value, ["delta", "usage"], ["delta"]);
        const [stopReason] = struct(delta, "MessageDeltaBody", ["stop_reason"]);
        return { type, stopReason: optionalStr(stopReason, "stop_reason"), usage: optionalValue(usage) };
      }
      case "error": {
        const [error] = variantFields(value, ["error"], ["error"]);
        let object;
        try {
          object = errorObject(error);
        } catch (err) {
          shape(err.message);
        }
        return { type, error: object };
      }
      default: // message_stop, ping, and events this provider does not know
        return { type };
    }
  }

  readBlock(value) {
    const type = tagOf(value, "ContentBlock");
    switch (type) {
      case "text":
        return { type, text: str(variantFields(value, ["text"], [])[0], "text", "") };
      case "thinking":
        return { type, thinking: str(variantFields(value, ["thinking"], [])[0], "thinking", "") };
      case "redacted_thinking":
        return { type, data: str(variantFields(value, ["data"], [])[0], "data", "") };
      case "tool_use": {
        const [id, name, input] = variantFields(value, ["id", "name", "input"], ["id", "name"]);
        return { type, id: str(id, "id"), name: str(name, "name"), input: optionalValue(input) };
      }
      default:
        return { type: "other" };
    }
  }

  readDelta(value) {
    const type = tagOf(value, "Fragment");
    const field = { text_delta: "text", thinking_delta: "thinking", signature_delta: "signature", input_json_delta: "partial_json" }[type];
    if (field === undefined) return { type: "other" };
    const [text] = variantFields(value, [field], [field]);
    return { type, text: str(text, field) };
  }

  /** The body ended: fail if the stream was cut before its end. */
  onEnd(out) {
    if (!this.stopped && !out.hasFinish()) {
      throw protocolError(
        "the stream ended before `message_stop` and before a stop_reason: the upstream connection was cut mid-answer",
      );
    }
  }

  /** Classify an HTTP error answer. */
  onHttpError(status, headers, body) {
    return classifyHttpError(status, headers, body);
  }

  block(index) {
    const entry = this.blocks.find(([i]) => i === index);
    return entry === undefined ? undefined : entry[1];
  }

  startBlock(index, start, out) {
    let block;
    switch (start.type) {
      case "text":
        out.text(start.text);
        block = { type: "text" };
        break;
      case "thinking":
        out.reasoningBlock();
        out.reasoning(start.thinking);
        block = { type: "thinking" };
        break;
      case "redacted_thinking":
        out.reasoningRedacted(start.data);
        block = { type: "other" };
        break;
      case "tool_use": {
        out.toolCallStart(start.id, start.name);
        // The start carries `{}`; the arguments come as input_json_delta fragments.
        const prefilled = start.input instanceof Map && start.input.size > 0 ? stringify(start.input) : "";
        block = { type: "tool_use", id: start.id, name: start.name, input: prefilled };
        break;
      }
      default:
        block = { type: "other" };
    }
    this.blocks = this.blocks.filter(([i]) => i !== index);
    this.blocks.push([index, block]);
  }

  delta(index, delta, out) {
    const block = this.block(index);
    if (block === undefined) return;
    if (block.type === "text" && delta.type === "text_delta") {
      out.text(delta.text);
    } else if (block.type === "thinking" && delta.type === "thinking_delta") {
      out.reasoning(delta.text);
    } else if (block.type === "thinking" && delta.type === "signature_delta") {
      out.reasoningSignature(delta.text);
    } else if (block.type === "tool_use" && delta.type === "input_json_delta" && delta.text !== "") {
      block.input += delta.text;
      out.toolCallDelta(block.id, delta.text);
    }
  }

  stopBlock(index, out) {
    const at = this.blocks.findIndex(([i]) => i === index);
    if (at < 0) return;
    const [[, block]] = this.blocks.splice(at, 1);
    if (block.type === "tool_use") {
      const args = rustTrim(block.input) === "" ? "{}" : block.input;
      out.toolCall({ id: block.id, name: block.name, arguments: args });
    }
  }

  usage(raw, out) {
    const wire = readUsage(raw);
    const input = this.input;
    input.uncached = wire.inputTokens ?? input.uncached;
    input.cacheWrite = wire.cacheWriteTokens ?? input.cacheWrite;
    input.cacheRead = wire.cacheReadTokens ?? input.cacheRead;
    const total =
      input.uncached === undefined ? undefined : wrapU64(input.uncached + (input.cacheWrite ?? 0n) + (input.cacheRead ?? 0n));
    out.usage({
      inputTokens: total,
      outputTokens: wire.outputTokens,
      cacheReadTokens: input.cacheRead,
      cacheWriteTokens: input.cacheWrite,
      reasoningTokens: undefined,
      raw: stringify(raw),
    });
  }
}

/**
 * The usage object as the Rust `WireUsage` struct reads it from a JSON value
 * (every field an optional u64), failing with serde's own words.
 */
function readUsage(raw) {
  const fail = (why) => {
    throw protocolError(`invalid usage object in the stream: ${why}`);
  };
  const expected = "struct WireUsage";
  let values;
  if (raw instanceof Map) {
    values = ["input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"].map((n) => raw.get(n));
  } else if (Array.isArray(raw)) {
    if (raw.length > 4) fail(`invalid length ${raw.length}, expected fewer elements in array`);
    values = [0, 1, 2, 3].map((i) => raw[i]);
  } else {
    fail(unexpected(raw, expected));
  }
  const [inputTokens, outputTokens, cacheWriteTokens, cacheReadTokens] = values.map((value) => {
    if (value === undefined || value === null) return undefined;
    if (value instanceof JsonNumber && value.kind === "u64") return value.value;
    return fail(unexpected(value, "u64"));
  });
  return { inputTokens, outputTokens, cacheWriteTokens, cacheReadTokens };
}

/** serde_json's "invalid type/value" message for a JSON value where `expected` was wanted. */
function unexpected(value, expected) {
  if (value instanceof JsonNumber) {
    if (value.kind === "f64") return `invalid type: floating point \`${formatF64(value.value)}\`, expected ${expected}`;
    // A negative integer is the wrong value for a u64, the wrong type for a struct.
    const word = value.kind === "i64" && expected === "u64" ? "value" : "type";
    return `invalid ${word}: integer \`${value.value}\`, expected ${expected}`;
  }
  if (typeof value === "boolean") return `invalid type: boolean \`${value}\`, expected ${expected}`;
  if (typeof value === "string") return `invalid type: string ${rustDebugString(value)}, expected ${expected}`;
  if (Array.isArray(value)) return `invalid type: sequence, expected ${expected}`;
  return `invalid type: map, expected ${expected}`;
}

/** Rust's `{:?}` of a string (the common escapes; other control characters as `\u{..}`). */
function rustDebugString(text) {
  const escaped = text.replace(/[\\"\n\r\t\0\x01-\x1f\x7f-\x9f]/g, (c) => {
    const simple = { "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0" }[c];
    return simple ?? `\\u{${c.charCodeAt(0).toString(16)}}`;
  });
  return `"${escaped}"`;
}
