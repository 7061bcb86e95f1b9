// The emitter: where the stream puts events. It batches them for the next
// `turn.next()` and assembles the turn's result as they go by, exactly as the
// Rust SDK's `Emitter` (`guests/sdk/src/emit.rs`) does.
//
// Events are the WIT `event` variant as the component bindings take it:
// `{ tag: "text-delta", val: "..." }`; u64 fields are BigInts.

/** A usage record with nothing known. */
export function emptyUsage() {
  return {
    inputTokens: undefined,
    outputTokens: undefined,
    cacheReadTokens: undefined,
    cacheWriteTokens: undefined,
    reasoningTokens: undefined,
    raw: undefined,
  };
}

export class Emitter {
  constructor() {
    this.batch = [];
    this.content = []; // content-part variants, in order
    this.usageSoFar = emptyUsage();
    this.finishSeen = undefined; // { reason, raw }
    this.responseId = undefined;
    this.model = undefined;
    this.outputStreamed = false;
    this.hasToolCalls = false;
    this.failure = undefined;
  }

  /** Answer text. Empty text is dropped. */
  text(text) {
    if (text === "") return;
    const last = this.content[this.content.length - 1];
    if (last !== undefined && last.tag === "text") last.val += text;
    else this.content.push({ tag: "text", val: text });
    this.outputStreamed = true;
    this.batch.push({ tag: "text-delta", val: text });
  }

  /** Reasoning text. Empty text is dropped. */
  reasoning(text) {
    if (text === "") return;
    this.reasoningPart().text += text;
    this.outputStreamed = true;
    this.batch.push({ tag: "reasoning-delta", val: { text, signature: undefined, redacted: undefined } });
  }

  /** The signature of the reasoning so far. */
  reasoningSignature(signature) {
    this.reasoningPart().signature = signature;
    this.batch.push({ tag: "reasoning-delta", val: { text: "", signature, redacted: undefined } });
  }

  /** Opaque redacted reasoning, kept so it can be sent back unchanged. */
  reasoningRedacted(data) {
    this.reasoningBlock();
    this.reasoningPart().redacted = data;
    this.outputStreamed = true;
    this.batch.push({ tag: "reasoning-delta", val: { text: "", signature: undefined, redacted: data } });
  }

  /** Start a new reasoning block (the next reasoning text does not join the last one). */
  reasoningBlock() {
    this.content.push({ tag: "reasoning", val: { text: "", signature: undefined, redacted: undefined } });
  }

  reasoningPart() {
    const last = this.content[this.content.length - 1];
    if (last === undefined || last.tag !== "reasoning") this.reasoningBlock();
    return this.content[this.content.length - 1].val;
  }

  /** A tool call begins. */
  toolCallStart(id, name) {
    this.outputStreamed = true;
    this.batch.push({ tag: "tool-call-start", val: { id, name } });
  }

  /** A fragment of a tool call's arguments. */
  toolCallDelta(id, argumentsText) {
    this.batch.push({ tag: "tool-call-delta", val: { id, arguments: argumentsText } });
  }

  /** A complete tool call; only once the provider says it is complete. */
  toolCall(call) {
    this.outputStreamed = true;
    this.hasToolCalls = true;
    this.content.push({ tag: "tool-call", val: { ...call } });
    this.batch.push({ tag: "tool-call", val: call });
  }

  /** Usage numbers: known fields replace earlier ones; the event carries the totals so far. */
  usage(usage) {
    const merged = this.usageSoFar;
    for (const field of ["inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens", "reasoningTokens", "raw"]) {
      if (usage[field] !== undefined) merged[field] = usage[field];
    }
    this.batch.push({ tag: "usage", val: { ...merged } });
  }

  /** Response id, model and time, as the upstream reports them (first report wins). */
  metadata(id, model, timestamp) {
    if (this.responseId !== undefined || this.model !== undefined) return;
    this.responseId = id;
    this.model = model;
    this.batch.push({ tag: "response-metadata", val: { id, model, timestamp } });
  }

  /** Why generation stopped; emitted as the last event once the stream ends. */
  finish(reason, raw) {
    this.finishSeen = { reason, raw };
  }

  hasFinish() {
    return this.finishSeen !== undefined;
  }

  emitFinish() {
    this.batch.push({ tag: "finish", val: this.finalFinish() });
  }

  // `stop` becomes `tool-calls` when tool calls were emitted.
  finalFinish() {
    const seen = this.finishSeen;
    if (seen === undefined) return { reason: "other", raw: undefined };
    if (seen.reason === "stop" && this.hasToolCalls) return { reason: "tool-calls", raw: seen.raw };
    return { ...seen };
  }

  fail(error) {
    error.outputStreamed = this.outputStreamed;
    this.batch.push({ tag: "error", val: error });
    this.failure = error;
  }

  hasEvents() {
    return this.batch.length > 0;
  }

  /** The events emitted since the last call. */
  takeBatch() {
    const batch = this.batch;
    this.batch = [];
    return batch;
  }

  /** The assembled result; throws the turn's error if it failed. */
  intoResult() {
    if (this.failure !== undefined) throw this.failure;
    return {
      content: this.content,
      usage: this.usageSoFar,
      finish: this.finalFinish(),
      responseId: this.responseId,
      model: this.model,
      providerMetadata: undefined,
    };
  }
}
