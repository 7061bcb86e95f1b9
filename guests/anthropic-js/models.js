// `list-models` and `health` (contract 0.2.0), as the Rust Anthropic provider
// does them (`guests/anthropic/src/models.rs` and the SDK's `models.rs`):
// `GET {base}/v1/models?limit=...` with `anthropic-version`, through the host's
// `http` broker naming the `api-key` secret; Anthropic's pages (`{"data": [{"id",
// "display_name", ...}], "has_more", "last_id"}`), the next asked for with
// `after_id`. `health` asks for a one-model page: a 2xx answer is `ok`; a rate
// limit, overload or server error is `degraded`; anything else (refused key,
// gone, unreachable) is `down`, with the reason.

import { send } from "cordon:provider/http@0.2.0";

import { classifyHttpError, excerpt, protocolError, providerError, structFields } from "./errors.js";
import { parse } from "./json.js";
import { ERROR_BODY_BYTES, READ_CHUNK_BYTES, brokerError, concat, drop, readBounded } from "./turn.js";

/** Models per page (Anthropic's maximum). */
const PAGE_SIZE = 1000;
/** The most pages followed; the models listed by then are returned. */
const MAX_PAGES = 20;
/** The most of one models answer read (a long catalogue is a few hundred KiB). */
const MODELS_BODY_BYTES = 8 << 20;
/** Error kinds that mean the upstream serves turns, but some fail or wait. */
const DEGRADED = ["rate-limited", "overloaded", "server"];

/** The request for the page of `limit` models after the model `after` (if any). */
function pageRequest(upstream, limit, after) {
  const next = after === undefined ? "" : `&after_id=${percent(after)}`;
  return {
    method: "GET",
    url: `${upstream.baseUrl}/v1/models?limit=${limit}${next}`,
    headers: [
      { name: "accept", value: "application/json" },
      { name: "anthropic-version", value: upstream.apiVersion },
    ],
    body: new Uint8Array(0),
    secrets: [upstream.secret],
  };
}

/** The whole body of a 2xx answer; throws the classified provider error. */
function fetchBody(request) {
  let response;
  try {
    response = send(request);
  } catch (thrown) {
    throw brokerError(thrown);
  }
  const body = response.body;
  try {
    if (response.status >= 400) {
      throw classifyHttpError(response.status, response.headers, readBounded(body, ERROR_BODY_BYTES));
    }
    const pieces = [];
    let length = 0;
    for (;;) {
      let chunk;
      try {
        chunk = body.read(READ_CHUNK_BYTES);
      } catch (thrown) {
        throw brokerError(thrown);
      }
      if (chunk === undefined || chunk === null) return concat(pieces, length);
      length += chunk.length;
      if (length > MODELS_BODY_BYTES) {
        throw providerError("limit-exceeded", `the models answer is larger than ${MODELS_BODY_BYTES} bytes`);
      }
      pieces.push(chunk);
    }
  } finally {
    drop(body);
  }
}

/** An optional string field, as serde reads `Option<String>`. */
function optionalString(value, name) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new Error(`invalid type for \`${name}\`, expected a string`);
  return value;
}

/** One page of the answer: its models, and the id to continue after while `has_more`. */
function parsePage(body) {
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(body);
    const [data, hasMore, lastId] = structFields(parse(text, { lenient: true }), "Page", ["data", "has_more", "last_id"], ["data"]);
    if (!Array.isArray(data)) throw new Error("invalid type for `data`, expected a sequence");
    if (hasMore !== undefined && typeof hasMore !== "boolean") throw new Error("invalid type for `has_more`, expected a boolean");
    const models = data.map((value) => {
      const [id, displayName] = structFields(value, "Model", ["id", "display_name"], ["id"]);
      if (typeof id !== "string") throw new Error("invalid type for `id`, expected a string");
      return {
        id,
        displayName: optionalString(displayName, "display_name"),
        contextWindow: undefined,
        maxOutputTokens: undefined,
        inputModalities: [],
        outputModalities: [],
        tools: undefined,
        reasoning: undefined,
      };
    });
    const last = optionalString(lastId, "last_id");
    return { models, after: hasMore === true ? last : undefined };
  } catch (err) {
    throw protocolError(`the models answer is not what was expected (${err.message}): ${excerpt(body)}`);
  }
}

/**
 * `list-models`: every page the upstream lists (up to MAX_PAGES). `upstream` is
 * `{ baseUrl, apiVersion, secret }`.
 */
export function listModels(upstream) {
  const models = [];
  let after;
  for (let page = 0; page < MAX_PAGES; page++) {
    const parsed = parsePage(fetchBody(pageRequest(upstream, PAGE_SIZE, after)));
    models.push(...parsed.models);
    if (parsed.after === undefined) break;
    after = parsed.after;
  }
  return models;
}

/** `health`: never fails, a failure is a report. */
export function health(upstream) {
  try {
    fetchBody(pageRequest(upstream, 1, undefined));
  } catch (thrown) {
    if (thrown instanceof Error) return { status: "down", reason: `anthropic-js failed: ${thrown.message}` };
    const status = DEGRADED.includes(thrown.kind) ? "degraded" : "down";
    const reason = thrown.status === undefined ? thrown.message : `HTTP ${thrown.status}: ${thrown.message}`;
    return { status, reason };
  }
  return { status: "ok", reason: undefined };
}

/** `id` escaped for a query string (model ids are plain, but the upstream writes them). */
function percent(id) {
  return Array.from(new TextEncoder().encode(id), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
}
