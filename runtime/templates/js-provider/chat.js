// The answer's side of {{name}}: each server-sent event's data (one
// `chat.completion.chunk` as JSON, or `[DONE]`) becomes normalized events. The
// turn in `turn.js` calls `onData` for each event and `onEnd` when the body
// ends; `out` is its `Output` (text, usage, metadata, finish). This is the
// file to change for another API's stream.

import { protocolError } from "./errors.js";

/** The API's finish reasons as `finish-reason`s (any other is "other"). A
 * `Map`, not an object: the upstream's words must not find `constructor`. */
const FINISH_REASONS = new Map([
  ["stop", "stop"],
  ["length", "length"],
  ["content_filter", "content-filter"],
  ["tool_calls", "tool-calls"],
]);

export class ChatStream {
  constructor() {
    this.done = false;
  }

  onData(data, out) {
    if (data === "[DONE]") {
      this.done = true;
      return;
    }
    let chunk;
    try {
      chunk = JSON.parse(data);
    } catch (err) {
      throw protocolError(`invalid JSON in a stream chunk (${err.message}): ${data.slice(0, 512)}`);
    }
    if (chunk === null || typeof chunk !== "object" || Array.isArray(chunk)) {
      throw protocolError(`a stream chunk is not a JSON object: ${data.slice(0, 512)}`);
    }
    out.metadata(chunk.id, chunk.model, chunk.created);
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (choice !== undefined && choice !== null) {
      out.textDelta(choice.delta?.content);
      if (typeof choice.finish_reason === "string") {
        out.finish(FINISH_REASONS.get(choice.finish_reason) ?? "other", choice.finish_reason);
      }
    }
    if (chunk.usage !== null && typeof chunk.usage === "object") {
      out.usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens);
    }
  }

  onEnd(_out) {
    if (!this.done) throw protocolError("the stream ended before `data: [DONE]`");
  }
}
