// Translating a normalized request into a Messages API body, as the Rust
// provider does (`guests/anthropic/src/request.rs`): system prompts in
// `system`, tool results as `tool_result` blocks in a user turn, images as
// `image` blocks, earlier reasoning sent back with its signature (or redacted
// data), reasoning effort as a thinking budget. Settings the API does not take
// become warnings. The body is built from `Map`s and written by `json.js`, so
// it is the same bytes the Rust provider sends.

import { JsonError, float64, parse } from "./json.js";

/** Output tokens asked for when the request sets no limit (the API requires one). */
export const DEFAULT_MAX_TOKENS = 4096;

/** Thinking budget for a reasoning effort (the API's minimum budget is 1024). */
export function thinkingBudget(effort) {
  return { minimal: 1024, low: 2048, medium: 8192, high: 24576 }[effort];
}

/** A JSON object (a `Map`) from [key, value] pairs. */
function object(...pairs) {
  return new Map(pairs);
}

function warn(warnings, kind, setting, message) {
  warnings.push({ kind, setting, message });
}

/** JSON text read as serde_json reads it, or `fallback()` when it is not JSON. */
function jsonOr(text, fallback) {
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof JsonError) return fallback();
    throw err;
  }
}

/**
 * Build the JSON body (a `Map`) for `request`, sent to `model`. `optionsKey`
 * names this provider's entry in `provider-options`, whose fields are merged
 * into the body (`omit` lists ones that are for the provider itself).
 * Returns `{ body, warnings }`.
 */
export function buildBody(request, model, optionsKey, omit = []) {
  const warnings = [];
  const body = new Map();
  body.set("model", model);
  const { system, turns } = messages(request.messages);
  if (system !== "") body.set("system", system);
  body.set("messages", turns);
  body.set("stream", true);

  const s = request.sampling;
  let maxTokens = s.maxOutputTokens ?? DEFAULT_MAX_TOKENS;
  if (s.temperature !== undefined) body.set("temperature", float64(s.temperature));
  if (s.topP !== undefined) body.set("top_p", float64(s.topP));
  if (s.topK !== undefined) body.set("top_k", s.topK);
  if (s.stopSequences.length > 0) body.set("stop_sequences", [...s.stopSequences]);
  const unsupported = "the Messages API does not take it; it was not sent";
  if (s.seed !== undefined) warn(warnings, "unsupported-setting", "seed", unsupported);
  if (s.presencePenalty !== undefined) warn(warnings, "unsupported-setting", "presence-penalty", unsupported);
  if (s.frequencyPenalty !== undefined) warn(warnings, "unsupported-setting", "frequency-penalty", unsupported);

  const reasoning = request.reasoning;
  if (reasoning !== undefined) {
    let budget = reasoning.budgetTokens ?? (reasoning.effort === undefined ? undefined : thinkingBudget(reasoning.effort));
    if (budget !== undefined) {
      budget = Math.max(budget, 1024);
      if (maxTokens <= budget) {
        maxTokens = (budget + DEFAULT_MAX_TOKENS) >>> 0; // u32, as in the Rust provider
        warn(
          warnings,
          "compatibility",
          "max-output-tokens",
          `raised to ${maxTokens}: it must exceed the thinking budget of ${budget} tokens`,
        );
      }
      body.set("thinking", object(["type", "enabled"], ["budget_tokens", budget]));
    }
  }
  body.set("max_tokens", maxTokens);

  if (request.responseFormat?.tag === "json") {
    warn(
      warnings,
      "unsupported-setting",
      "response-format",
      "the Messages API has no JSON mode; ask for JSON in the prompt or use a tool",
    );
  }
  if (request.tools.length > 0) {
    body.set(
      "tools",
      request.tools.map((tool) =>
        object(
          ["name", tool.name],
          ["description", tool.description],
          ["input_schema", jsonOr(tool.parameters, () => object(["type", "object"]))],
        ),
      ),
    );
  }
  let choice;
  switch (request.toolChoice?.tag) {
    case "auto":
      choice = object(["type", "auto"]);
      break;
    case "none":
      choice = object(["type", "none"]);
      break;
    case "required":
      choice = object(["type", "any"]);
      break;
    case "named":
      choice = object(["type", "tool"], ["name", request.toolChoice.val]);
      break;
    default:
  }
  if (request.parallelToolCalls === false) {
    choice ??= object(["type", "auto"]);
    choice.set("disable_parallel_tool_use", true);
  }
  if (choice !== undefined) body.set("tool_choice", choice);

  if (request.providerOptions !== undefined) {
    const all = jsonOr(request.providerOptions, () => undefined);
    if (all instanceof Map) {
      const ours = all.get(optionsKey);
      if (ours instanceof Map) {
        for (const [key, value] of ours) if (!omit.includes(key)) body.set(key, value);
      }
    } else {
      warn(
        warnings,
        "other",
        "provider-options",
        "provider options must be a JSON object keyed by provider name; ignored",
      );
    }
  }
  return { body, warnings };
}

/** The system prompt and the alternating user/assistant turns. */
function messages(list) {
  let system = "";
  const turns = []; // [role, blocks]
  for (const message of list) {
    if (message.role === "system") {
      for (const part of message.parts) {
        if (part.tag !== "text") continue;
        if (system !== "") system += "\n\n";
        system += part.val;
      }
      continue;
    }
    const role = message.role === "assistant" ? "assistant" : "user";
    const blocks = message.parts.map(block);
    const last = turns[turns.length - 1];
    // The API wants turns to alternate: consecutive ones of a role are joined.
    if (last !== undefined && last[0] === role) last[1].push(...blocks);
    else turns.push([role, blocks]);
  }
  return { system, turns: turns.map(([role, content]) => object(["role", role], ["content", content])) };
}

function block(part) {
  const value = part.val;
  switch (part.tag) {
    case "text":
      return object(["type", "text"], ["text", value]);
    case "file": {
      const source =
        value.source.tag === "url"
          ? object(["type", "url"], ["url", value.source.val])
          : object(["type", "base64"], ["media_type", value.mediaType], ["data", base64(value.source.val)]);
      const kind = value.mediaType === "application/pdf" ? "document" : "image";
      return object(["type", kind], ["source", source]);
    }
    case "reasoning":
      return value.redacted !== undefined
        ? object(["type", "redacted_thinking"], ["data", value.redacted])
        : object(["type", "thinking"], ["thinking", value.text], ["signature", value.signature ?? ""]);
    case "tool-call":
      return object(
        ["type", "tool_use"],
        ["id", value.id],
        ["name", value.name],
        ["input", jsonOr(value.arguments, () => object())],
      );
    case "tool-result":
      return object(
        ["type", "tool_result"],
        ["tool_use_id", value.callId],
        ["content", value.output],
        ["is_error", value.isError],
      );
    default:
      throw new TypeError(`unknown message part ${part.tag}`);
  }
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 with padding. */
export function base64(bytes) {
  const out = [];
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out.push(ALPHABET[n >> 18], ALPHABET[(n >> 12) & 63], ALPHABET[(n >> 6) & 63], ALPHABET[n & 63]);
  }
  if (i + 1 === bytes.length) {
    const n = bytes[i] << 16;
    out.push(ALPHABET[n >> 18], ALPHABET[(n >> 12) & 63], "==");
  } else if (i + 2 === bytes.length) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out.push(ALPHABET[n >> 18], ALPHABET[(n >> 12) & 63], ALPHABET[(n >> 6) & 63], "=");
  }
  return out.join("");
}
