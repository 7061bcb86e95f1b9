// The turn plumbing, as the Rust SDK's `TurnRunner` (`guests/sdk/src/turn.rs`):
// send the native request through the host's `http` broker on the first
// `next()`, read the body chunk by chunk (a small first read so the first
// events come quickly, then doubling), decode server-sent events, let the
// stream handler turn them into events, and hand those out in batches.
// Failures become one `error` event, after which `next()` returns none.

import { send } from "cordon:provider/http@0.2.0";

import { Emitter } from "./emit.js";
import { fromHttpError, protocolError } from "./errors.js";
import { SseDecoder } from "./sse.js";

/** The most body asked of the host at a time. */
export const READ_CHUNK_BYTES = 64 * 1024;
/** The first read is small; each read then doubles. */
export const FIRST_READ_BYTES = 2 * 1024;
/** The most of an error body read to classify it. */
export const ERROR_BODY_BYTES = 64 * 1024;

const DONE = { name: "done" };

/** A provider error thrown by our code, as opposed to a bug (an `Error`), which must trap. */
function asProviderError(thrown) {
  if (thrown instanceof Error || thrown === null || typeof thrown !== "object") throw thrown;
  return thrown;
}

/** The `http-error` of a failed host call (the bindings throw it as an error's `payload`). */
export function brokerError(thrown) {
  if (thrown !== null && typeof thrown === "object" && thrown.payload !== undefined) return fromHttpError(thrown.payload);
  throw thrown;
}

/** Release a response body in the host (it counts open bodies). */
export function drop(body) {
  const dispose = body[Symbol.dispose] ?? body[Symbol.for("dispose")];
  if (typeof dispose === "function") dispose.call(body);
}

export class TurnRunner {
  /** `request` is the native request; `handler` turns frames into events. */
  constructor(request, handler) {
    this.phase = { name: "not-sent", request };
    this.handler = handler;
    this.out = new Emitter();
  }

  /** The next batch of events, or undefined when the turn is over. */
  next() {
    for (;;) {
      const phase = this.phase;
      this.phase = DONE;
      if (phase === DONE) return undefined;
      if (phase.name === "not-sent") {
        this.send(phase.request);
      } else {
        this.read(phase);
      }
      if (this.out.hasEvents()) return this.out.takeBatch();
    }
  }

  send(request) {
    let response;
    try {
      response = send(request.http);
    } catch (thrown) {
      this.out.fail(brokerError(thrown));
      return;
    }
    if (response.status >= 400) {
      const body = readBounded(response.body, ERROR_BODY_BYTES);
      drop(response.body);
      this.out.fail(asProviderError(this.handler.onHttpError(response.status, response.headers, body)));
      return;
    }
    // This provider always asks for server-sent events.
    this.phase = { name: "reading", body: response.body, decoder: new SseDecoder(), readSize: FIRST_READ_BYTES };
  }

  read(phase) {
    let chunk;
    try {
      chunk = phase.body.read(phase.readSize);
    } catch (thrown) {
      drop(phase.body);
      this.out.fail(brokerError(thrown));
      return;
    }
    const onFrame = (frame) => this.handler.onFrame(frame, this.out);
    if (chunk !== undefined && chunk !== null) {
      try {
        phase.decoder.feed(chunk, onFrame);
      } catch (thrown) {
        drop(phase.body);
        this.out.fail(asProviderError(thrown));
        return;
      }
      this.phase = { ...phase, readSize: Math.min(phase.readSize * 2, READ_CHUNK_BYTES) };
      return;
    }
    drop(phase.body);
    try {
      phase.decoder.finish(onFrame);
      this.handler.onEnd(this.out);
    } catch (thrown) {
      this.out.fail(asProviderError(thrown));
      return;
    }
    this.out.emitFinish();
  }

  /** The assembled result (for `finalize`); throws the turn's error. */
  result() {
    if (this.phase !== DONE) throw protocolError("finalize was called before the turn's stream ended");
    return this.out.intoResult();
  }
}

/** Read at most `limit` bytes of a body; a read failure keeps what came. */
export function readBounded(body, limit) {
  const pieces = [];
  let length = 0;
  while (length < limit) {
    let chunk;
    try {
      chunk = body.read(Math.min(limit - length, READ_CHUNK_BYTES));
    } catch {
      break;
    }
    if (chunk === undefined || chunk === null) break;
    pieces.push(chunk);
    length += chunk.length;
  }
  return concat(pieces, length);
}

/** The byte arrays `pieces` (`length` bytes in all) as one. */
export function concat(pieces, length) {
  const out = new Uint8Array(length);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
