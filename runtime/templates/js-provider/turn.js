// The `turn` resource of {{name}} (exported as `provider.Turn` in `app.js`).
//
// On its first `next()` a turn sends the native request through the host's
// `http` import (the host adds the API key), then reads the body a piece at a
// time, splits it into server-sent events (lines end in LF or CRLF) and passes
// each event's data to `ChatStream` (`chat.js`). Each `next()` returns the
// events one read produced. A failure becomes one `error` event, after which
// `next()` returns `undefined` (`none`). The result for `finalize` is
// assembled as the events go by.

import { send } from "cordon:provider/http@0.2.0";

import { ChatStream } from "./chat.js";
import { brokerError, protocolError, providerError, statusError } from "./errors.js";

/** How much of the body to ask the host for at a time. */
const READ_BYTES = 16 * 1024;
/** The most of an error answer's body kept in the error. */
const EXCERPT_BYTES = 512;
const LF = 0x0a;

/** Whether a number from the upstream fits a WIT `u64` (else it is left out). */
function isCount(value) {
  return Number.isSafeInteger(value) && value >= 0;
}

/** Where the stream puts events: batched for the next `next()`, and assembled
 * into the turn's result as they go by. Events are the WIT `event` variant as
 * the bindings take it: `{ tag: "text-delta", val: "..." }`; u64s are BigInts. */
export class Output {
  constructor() {
    this.batch = [];
    this.text = "";
    this.total = {
      inputTokens: undefined,
      outputTokens: undefined,
      cacheReadTokens: undefined,
      cacheWriteTokens: undefined,
      reasoningTokens: undefined,
      raw: undefined,
    };
    this.lastFinish = { reason: "other", raw: undefined };
    this.responseId = undefined;
    this.model = undefined;
  }

  /** Answer text (empty text is dropped). */
  textDelta(text) {
    if (typeof text === "string" && text !== "") {
      this.text += text;
      this.batch.push({ tag: "text-delta", val: text });
    }
  }

  /** Token counts: known ones replace earlier ones; the event carries the totals so far. */
  usage(inputTokens, outputTokens) {
    if (isCount(inputTokens)) this.total.inputTokens = BigInt(inputTokens);
    if (isCount(outputTokens)) this.total.outputTokens = BigInt(outputTokens);
    this.batch.push({ tag: "usage", val: { ...this.total } });
  }

  /** The response's id, model and time (the first report wins). */
  metadata(id, model, created) {
    if (this.responseId !== undefined || this.model !== undefined) return;
    this.responseId = typeof id === "string" ? id : undefined;
    this.model = typeof model === "string" ? model : undefined;
    const timestamp = isCount(created) ? BigInt(created) : undefined;
    this.batch.push({ tag: "response-metadata", val: { id: this.responseId, model: this.model, timestamp } });
  }

  /** Why the model stopped (a `finish-reason`, and the upstream's own word): sent last, once the body ends. */
  finish(reason, raw) {
    this.lastFinish = { reason, raw };
  }
}

export class Turn {
  constructor(_state, request) {
    this.request = request;
    this.body = undefined;
    this.rest = new Uint8Array(0); // the start of a line that has not ended yet
    this.data = []; // the `data:` lines of the current event
    this.stream = new ChatStream();
    this.out = new Output();
    this.failure = undefined;
    this.over = false;
  }

  next() {
    if (this.over) return undefined;
    try {
      if (this.body === undefined) this.send();
      while (this.out.batch.length === 0 && !this.over) this.read();
    } catch (thrown) {
      // A provider error ends the turn; anything else (an `Error`) is a bug,
      // which also ends the turn with an error rather than trap the instance.
      const isProviderError = typeof thrown === "object" && thrown !== null && !(thrown instanceof Error);
      this.fail(isProviderError ? thrown : providerError("other", `{{name}} failed: ${thrown}`));
    }
    const batch = this.out.batch;
    this.out.batch = [];
    return batch;
  }

  send() {
    let response;
    try {
      response = send(this.request.http);
    } catch (thrown) {
      throw brokerError(thrown);
    }
    if (response.status >= 400) throw errorAnswer(response);
    this.body = response.body;
  }

  read() {
    let chunk;
    try {
      chunk = this.body.read(READ_BYTES);
    } catch (thrown) {
      throw brokerError(thrown);
    }
    if (chunk === undefined || chunk === null) {
      drop(this.body);
      this.lines(new Uint8Array([LF, LF])); // the last event may lack its blank line
      this.stream.onEnd(this.out);
      this.out.batch.push({ tag: "finish", val: this.out.lastFinish });
      this.over = true;
    } else {
      this.lines(chunk);
    }
  }

  /** Split the body into lines (only whole lines are decoded, so a character
   * split between reads is never broken); a blank line ends an event, whose
   * `data:` lines are joined and handed to the stream. */
  lines(chunk) {
    let bytes = chunk;
    if (this.rest.length > 0) {
      bytes = new Uint8Array(this.rest.length + chunk.length);
      bytes.set(this.rest);
      bytes.set(chunk, this.rest.length);
    }
    const end = bytes.lastIndexOf(LF);
    this.rest = bytes.slice(end + 1);
    if (end < 0) return;
    for (let line of utf8.decode(bytes.subarray(0, end)).split("\n")) {
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line.startsWith("data:")) {
        this.data.push(line.startsWith("data: ") ? line.slice(6) : line.slice(5));
      } else if (line === "" && this.data.length > 0) {
        const data = this.data.join("\n");
        this.data = [];
        this.stream.onData(data, this.out);
      }
    }
  }

  fail(failure) {
    failure.outputStreamed = this.out.text !== "";
    this.out.batch.push({ tag: "error", val: failure });
    this.failure = failure;
    this.over = true;
  }

  /** The assembled `turn-result` (for `finalize` in `app.js`); throws the turn's error. */
  result() {
    if (this.failure !== undefined) throw this.failure;
    if (!this.over) throw protocolError("finalize was called before the turn's stream ended");
    const out = this.out;
    return {
      content: out.text !== "" ? [{ tag: "text", val: out.text }] : [],
      usage: out.total,
      finish: out.lastFinish,
      responseId: out.responseId,
      model: out.model,
      providerMetadata: undefined,
    };
  }
}

/** An error answer (HTTP 400 or more) as a `provider-error`, its body released. */
function errorAnswer(response) {
  let body;
  try {
    body = response.body.read(EXCERPT_BYTES) ?? new Uint8Array(0);
  } catch {
    body = new Uint8Array(0);
  }
  drop(response.body);
  return statusError(response.status, response.headers, body);
}

/** The most of a `getJson` answer read. */
const JSON_ANSWER_BYTES = 8 << 20;

/**
 * Send `request` (an `outgoing-request`) through the host and parse the whole
 * body of a 2xx answer as JSON (`list-models` and `health` use it); throws a
 * `provider-error` for an error answer, a host failure or a body that is not JSON.
 */
export function getJson(request) {
  let response;
  try {
    response = send(request);
  } catch (thrown) {
    throw brokerError(thrown);
  }
  if (response.status >= 400) throw errorAnswer(response);
  let text = "";
  let length = 0;
  const decoder = new TextDecoder();
  try {
    for (;;) {
      let chunk;
      try {
        chunk = response.body.read(READ_BYTES);
      } catch (thrown) {
        throw brokerError(thrown);
      }
      if (chunk === undefined || chunk === null) break;
      length += chunk.length;
      if (length > JSON_ANSWER_BYTES) throw providerError("limit-exceeded", `the answer is larger than ${JSON_ANSWER_BYTES} bytes`);
      text += decoder.decode(chunk, { stream: true });
    }
  } finally {
    drop(response.body);
  }
  try {
    return JSON.parse(text + decoder.decode());
  } catch (err) {
    throw protocolError(`the answer is not JSON (${err.message})`);
  }
}

// Invalid UTF-8 becomes U+FFFD; a byte order mark is kept as text.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** Release a response body in the host now (it counts open bodies) rather than when collected. */
function drop(body) {
  const dispose = body[Symbol.dispose] ?? body[Symbol.for("dispose")];
  if (typeof dispose === "function") dispose.call(body);
}
