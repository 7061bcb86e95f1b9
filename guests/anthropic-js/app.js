// The Anthropic provider in JavaScript: the Messages API with `stream: true`,
// built into a component with jco (componentize-js, StarlingMonkey). It mirrors
// the Rust `anthropic` provider (`guests/anthropic/`) event for event: text,
// thinking (with signatures; redacted thinking kept as opaque data), tool use
// with streamed JSON input, cumulative usage with cache tokens, stop reasons
// mapped, mid-stream `error` events (`overloaded_error` is retryable), and the
// same request body, byte for byte.
//
// Modules: `request.js` builds the body, `turn.js` sends it and reads the
// answer, `sse.js` decodes it, `stream.js` turns it into events, `emit.js`
// batches them and assembles the result, `models.js` lists models and probes
// health (contract 0.2.0), `errors.js` classifies failures,
// `json.js` reads and writes JSON as serde_json does, `probe.js` is the
// sandbox probe the tests use.

import { configError, structFields } from "./errors.js";
import { parse, stringify } from "./json.js";
import { PROBE_MODES, runProbe } from "./probe.js";
import { buildBody } from "./request.js";
import { Emitter } from "./emit.js";
import * as models from "./models.js";
import { MessagesStream } from "./stream.js";
import { TurnRunner } from "./turn.js";

/** This provider's name, and its key in `provider-options`. */
const NAME = "anthropic-js";
/** Its version (the manifest's). */
const VERSION = "0.1.0";
/** Where requests go when the configuration names no base URL. */
const DEFAULT_BASE_URL = "https://api.anthropic.com";
/** The model used when neither the request nor the configuration names one. */
const DEFAULT_MODEL = "claude-sonnet-4-5";
/** The API version header value this provider speaks. */
const API_VERSION = "2023-06-01";
/** The manifest secret holding the API key. */
const API_KEY_SECRET = "api-key";
/** The native-request header that carries a probe request from `to-native` to the turn (never sent). */
const PROBE_HEADER = "x-cordon-probe";

// ----- configuration and state (host-owned) ---------------------------------

/** The configured base URL (or the default), checked, without trailing `/`. */
function baseUrl(configured) {
  const url = configured ?? DEFAULT_BASE_URL;
  if (!(url.startsWith("https://") || url.startsWith("http://"))) {
    throw configError(`base URL \`${url}\` must start with http:// or https://`);
  }
  return url.replace(/\/+$/, "");
}

/** The settings kept in the state: `{"base_url", "default_model"}`, as the Rust providers keep them. */
function saveState(baseUrlValue, defaultModel) {
  const settings = new Map([
    ["base_url", baseUrlValue],
    ["default_model", defaultModel ?? null],
  ]);
  return { producerVersion: VERSION, data: new TextEncoder().encode(stringify(settings)) };
}

function loadState(state) {
  let url;
  let model;
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(state.data);
    [url, model] = structFields(parse(text, { lenient: true }), "Upstream", ["base_url", "default_model"], ["base_url"]);
    if (typeof url !== "string") throw new Error("invalid type for `base_url`, expected a string");
    if (model !== undefined && model !== null && typeof model !== "string") {
      throw new Error("invalid type for `default_model`, expected a string");
    }
  } catch (err) {
    throw configError(
      `the provider state (written by version ${state.producerVersion}) is unreadable (${err.message}); re-run init`,
    );
  }
  return { baseUrl: url, defaultModel: model ?? undefined };
}

// ----- the probe -------------------------------------------------------------

/** The probe mode a request asks for, if any. */
function probeMode(request) {
  if (request.providerOptions === undefined) return undefined;
  try {
    const mode = parse(request.providerOptions)?.get?.(NAME)?.get?.("probe");
    if (mode === true) return "report";
    return PROBE_MODES.includes(mode) ? mode : undefined;
  } catch {
    return undefined;
  }
}

/** A turn that runs the probe instead of calling the upstream. */
class ProbeRun {
  constructor(mode, url) {
    this.mode = mode;
    this.url = url;
    this.out = new Emitter();
    this.done = false;
  }

  next() {
    if (this.done) return undefined;
    this.done = true;
    this.out.text(runProbe(this.mode, this.url));
    this.out.finish("stop", "probe");
    this.out.emitFinish();
    return this.out.takeBatch();
  }

  result() {
    return this.out.intoResult();
  }
}

// ----- the exported interface -----------------------------------------------

export const provider = {
  info() {
    return {
      name: NAME,
      version: VERSION,
      models: ["claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5"],
      defaultModel: DEFAULT_MODEL,
      capabilities: ["streaming", "tools", "reasoning", "images"],
      supportedSettings: [
        "max-output-tokens",
        "temperature",
        "top-p",
        "top-k",
        "stop-sequences",
        "reasoning.effort",
        "reasoning.budget-tokens",
        "tools",
        "tool-choice",
        "parallel-tool-calls",
      ],
    };
  },

  init(config) {
    return saveState(baseUrl(config.baseUrl), config.defaultModel);
  },

  toNative(state, request) {
    const kept = loadState(state);
    const model = request.model === "" ? (kept.defaultModel ?? DEFAULT_MODEL) : request.model;
    const { body, warnings } = buildBody(request, model, NAME, ["probe"]);
    const headers = [
      { name: "content-type", value: "application/json" },
      { name: "accept", value: "text/event-stream" },
      { name: "anthropic-version", value: API_VERSION },
    ];
    const probe = probeMode(request);
    if (probe !== undefined) headers.push({ name: PROBE_HEADER, value: probe });
    return {
      http: {
        method: "POST",
        url: `${kept.baseUrl}/v1/messages`,
        headers,
        body: new TextEncoder().encode(stringify(body)),
        secrets: [API_KEY_SECRET],
      },
      framing: "sse",
      warnings,
    };
  },

  Turn: class Turn {
    constructor(_state, request) {
      const probe = request.http.headers.find((h) => h.name === PROBE_HEADER);
      this.run =
        probe !== undefined ? new ProbeRun(probe.value, request.http.url) : new TurnRunner(request, new MessagesStream());
    }

    next() {
      return this.run.next();
    }
  },

  finalize(state, turn) {
    return { result: turn.run.result(), state };
  },

  listModels(state) {
    const kept = loadState(state);
    return models.listModels({ baseUrl: kept.baseUrl, apiVersion: API_VERSION, secret: API_KEY_SECRET });
  },

  health(state) {
    let kept;
    try {
      kept = loadState(state);
    } catch (error) {
      return { status: "down", reason: `cannot build the probe: ${error.message}` };
    }
    return models.health({ baseUrl: kept.baseUrl, apiVersion: API_VERSION, secret: API_KEY_SECRET });
  },
};
