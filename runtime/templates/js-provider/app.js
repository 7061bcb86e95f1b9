// {{name}}: a Cordon provider for an OpenAI-compatible chat API, made by
// `cordon new provider --lang js`. It sends the conversation's text, streams
// text deltas back, and reports usage and the finish reason; grow it from here
// (tools, reasoning, images: see `guests/anthropic-js` in the Cordon repository
// for a full JavaScript provider).
//
// This module exports the `provider` interface: `info`, `init`, `toNative`
// (the request), the `Turn` resource class (in `turn.js`), `finalize`, and
// `listModels` and `health` (`GET {base}/models`, contract 0.2.0).
// `export const provider` is also what tells `cargo xtask` to build against
// the provider world.
//
// Top-level code runs when the component is built (the engine is snapshotted
// after loading this module), not in the host: only define things here.

import { configError, protocolError } from "./errors.js";
import { Turn, getJson } from "./turn.js";

const NAME = "{{name}}";
const VERSION = "0.1.0";
/** Where requests go unless the configuration names another base URL. */
const DEFAULT_BASE_URL = "https://api.example.com/v1";
/** The secret the manifest declares; the host adds its value to the request. */
const API_KEY_SECRET = "api-key";

/** The settings kept in the state (the host keeps it and hands it back on every call). */
function loadSettings(state) {
  try {
    const settings = JSON.parse(new TextDecoder().decode(state.data));
    if (typeof settings?.base_url !== "string") throw new Error("no `base_url`");
    return settings;
  } catch (err) {
    throw configError(`the provider state is unreadable (${err.message}); re-run init`);
  }
}

/** Error kinds that mean the upstream serves turns, but some fail or wait. */
const DEGRADED_KINDS = ["rate-limited", "overloaded", "server"];

/** `GET {base}/models` (the host adds the API key); its parsed answer. */
function getModels(settings) {
  return getJson({
    method: "GET",
    url: `${settings.base_url}/models`,
    headers: [{ name: "accept", value: "application/json" }],
    body: new Uint8Array(0),
    secrets: [API_KEY_SECRET],
  });
}

export const provider = {
  info() {
    return {
      name: NAME,
      version: VERSION,
      models: [],
      defaultModel: undefined,
      capabilities: ["streaming"],
      supportedSettings: ["max-output-tokens", "temperature"],
    };
  },

  init(config) {
    const baseUrl = config.baseUrl ?? DEFAULT_BASE_URL;
    if (!(baseUrl.startsWith("https://") || baseUrl.startsWith("http://"))) {
      throw configError(`base URL \`${baseUrl}\` must start with http:// or https://`);
    }
    const settings = { base_url: baseUrl.replace(/\/+$/, ""), default_model: config.defaultModel ?? null };
    return { producerVersion: VERSION, data: new TextEncoder().encode(JSON.stringify(settings)) };
  },

  toNative(state, request) {
    const settings = loadSettings(state);
    const model = request.model || settings.default_model;
    if (!model) {
      throw configError("the request names no model and the provider has no default model: pass a model");
    }
    const warnings = [];
    const messages = request.messages.map((message) => {
      let text = "";
      for (const part of message.parts) {
        if (part.tag === "text") {
          text += part.val;
        } else {
          warnings.push({
            kind: "other",
            setting: undefined,
            message: "this provider sends text only; a non-text part was left out",
          });
        }
      }
      return { role: message.role, content: text }; // roles are "system", "user", "assistant", "tool"
    });
    const body = { model, messages, stream: true, stream_options: { include_usage: true } };
    if (request.sampling.maxOutputTokens !== undefined) body.max_tokens = request.sampling.maxOutputTokens;
    if (request.sampling.temperature !== undefined) body.temperature = request.sampling.temperature;
    return {
      http: {
        method: "POST",
        url: `${settings.base_url}/chat/completions`,
        headers: [
          { name: "content-type", value: "application/json" },
          { name: "accept", value: "text/event-stream" },
        ],
        body: new TextEncoder().encode(JSON.stringify(body)),
        secrets: [API_KEY_SECRET],
      },
      framing: "sse",
      warnings,
    };
  },

  Turn,

  finalize(state, turn) {
    return { result: turn.result(), state };
  },

  /** The models the upstream lists: OpenAI's `{"data": [{"id": ...}, ...]}`. */
  listModels(state) {
    const data = getModels(loadSettings(state))?.data;
    if (!Array.isArray(data) || !data.every((model) => typeof model?.id === "string")) {
      throw protocolError('the models answer is not {"data": [{"id": ...}, ...]}');
    }
    return data.map((model) => ({
      id: model.id,
      displayName: undefined,
      contextWindow: undefined,
      maxOutputTokens: undefined,
      inputModalities: [],
      outputModalities: [],
      tools: undefined,
      reasoning: undefined,
    }));
  },

  /** The models request as a cheap probe. Never fails: a rate limit, an
   * overload or a server error is `degraded`, anything else `down`. */
  health(state) {
    try {
      getModels(loadSettings(state));
    } catch (thrown) {
      if (thrown instanceof Error) return { status: "down", reason: `{{name}} failed: ${thrown.message}` };
      return { status: DEGRADED_KINDS.includes(thrown.kind) ? "degraded" : "down", reason: thrown.message };
    }
    return { status: "ok", reason: undefined };
  },
};
