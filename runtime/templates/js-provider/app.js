// {{name}}: a Cordon provider for an OpenAI-compatible chat API, made by
// `cordon new provider --lang js`. It sends the conversation's text, streams
// text deltas back, and reports usage and the finish reason; grow it from here
// (tools, reasoning, images: see `guests/anthropic-js` in the Cordon repository
// for a full JavaScript provider).
//
// This module exports the `provider` interface: `info`, `init`, `toNative`
// (the request), the `Turn` resource class (in `turn.js`) and `finalize`.
// `export const provider` is also what tells `cargo xtask` to build against
// the provider world.
//
// Top-level code runs when the component is built (the engine is snapshotted
// after loading this module), not in the host: only define things here.

import { configError } from "./errors.js";
import { Turn } from "./turn.js";

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
};
