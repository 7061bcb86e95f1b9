// An incremental server-sent events decoder: bytes in, events out, the same as
// the Rust SDK's (`guests/sdk/src/sse.rs`).
//
// WHATWG event-stream rules: lines end in LF, CRLF or CR; a blank line
// dispatches the event; `data:` lines are joined with `\n`; lines starting
// with `:` are comments; one space after the colon is dropped; unknown fields
// are ignored. A chunk may end at any byte, even inside a character or between
// CR and LF: only the unfinished line is kept between chunks.

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;

// Invalid UTF-8 becomes U+FFFD, as with Rust's `from_utf8_lossy`; a BOM is kept.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

function isField(bytes, end, name) {
  if (end !== name.length) return false;
  for (let i = 0; i < end; i++) if (bytes[i] !== name.charCodeAt(i)) return false;
  return true;
}

export class SseDecoder {
  constructor() {
    this.partial = []; // pieces of a line that has not ended yet
    this.skipLeadingLf = false; // the last chunk ended in CR
    this.event = "";
    this.data = "";
    this.id = "";
    this.hasData = false;
    this.hasId = false;
  }

  /** Decode `chunk` (a Uint8Array), calling `onEvent({event, data, id})` for each complete event. */
  feed(chunk, onEvent) {
    let start = 0;
    if (this.skipLeadingLf && chunk.length > 0) {
      // An empty chunk says nothing about the byte after a CR: keep waiting.
      this.skipLeadingLf = false;
      if (chunk[0] === LF) start = 1;
    }
    // Next LF and CR at or after `start`, found with native scans (-1: none left).
    let nextLf = chunk.indexOf(LF, start);
    let nextCr = chunk.indexOf(CR, start);
    while (nextLf >= 0 || nextCr >= 0) {
      const end = nextCr < 0 || (nextLf >= 0 && nextLf < nextCr) ? nextLf : nextCr;
      let after = end + 1;
      if (chunk[end] === CR) {
        if (end + 1 === chunk.length) this.skipLeadingLf = true;
        else if (chunk[end + 1] === LF) after = end + 2;
      }
      let line = chunk.subarray(start, end);
      if (this.partial.length > 0) {
        this.partial.push(line);
        line = concat(this.partial);
        this.partial = [];
      }
      this.line(line, onEvent);
      start = after;
      if (nextLf >= 0 && nextLf < start) nextLf = chunk.indexOf(LF, start);
      if (nextCr >= 0 && nextCr < start) nextCr = chunk.indexOf(CR, start);
    }
    if (start < chunk.length) this.partial.push(chunk.slice(start));
  }

  /** End of input: an unfinished line is ended, a last event without its blank line is delivered. */
  finish(onEvent) {
    if (this.partial.length > 0) {
      const line = concat(this.partial);
      this.partial = [];
      this.line(line, onEvent);
    }
    this.dispatch(onEvent);
  }

  line(line, onEvent) {
    if (line.length === 0) {
      this.dispatch(onEvent);
      return;
    }
    if (line[0] === COLON) return;
    let fieldEnd = line.indexOf(COLON);
    let value;
    if (fieldEnd < 0) {
      fieldEnd = line.length;
      value = "";
    } else {
      const from = line[fieldEnd + 1] === SPACE ? fieldEnd + 2 : fieldEnd + 1;
      value = utf8.decode(line.subarray(from));
    }
    if (isField(line, fieldEnd, "data")) {
      this.data = this.hasData ? `${this.data}\n${value}` : value;
      this.hasData = true;
    } else if (isField(line, fieldEnd, "event")) {
      this.event = value;
    } else if (isField(line, fieldEnd, "id") && !value.includes("\0")) {
      this.id = value;
      this.hasId = true;
    }
  }

  dispatch(onEvent) {
    const event = this.hasData ? { event: this.event, data: this.data, id: this.hasId ? this.id : undefined } : undefined;
    this.event = "";
    this.data = "";
    this.hasData = false;
    this.hasId = false;
    if (event !== undefined) onEvent(event);
  }
}

function concat(pieces) {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
