// Classified provider errors, as the Rust SDK (`guests/sdk/src/errors.rs`) and
// the Rust Anthropic provider (`guests/anthropic/src/errors.rs`) make them:
// HTTP statuses, `retry-after` headers, bounded body excerpts, broker errors,
// and Anthropic's `{"type": "error", "error": {"type", "message"}}` objects.
//
// Errors are thrown as plain `provider-error` records: the component bindings
// turn a thrown non-`Error` value into the `err` of a `result`.

import { hasBadKey, parse, repeated } from "./json.js";

/** The longest body excerpt kept in an error, in bytes. */
export const EXCERPT_BYTES = 512;

/** A `provider-error` record of `kind` with `message`. */
export function providerError(kind, message) {
  return {
    kind,
    message,
    status: undefined,
    retryable: isRetryable(kind),
    retryAfterMs: undefined,
    providerCode: undefined,
    bodyExcerpt: undefined,
    outputStreamed: false,
  };
}

/** A malformed or unexpected chunk from the upstream. */
export function protocolError(message) {
  return providerError("stream-protocol", message);
}

/** A configuration problem found by `init` or `to-native`. */
export function configError(message) {
  return providerError("config", message);
}

/** Whether an error of this kind may go away if the same request is retried. */
export function isRetryable(kind) {
  return kind === "rate-limited" || kind === "overloaded" || kind === "server" || kind === "timeout" || kind === "network";
}

/** The error kind an HTTP status means when the body says nothing more precise. */
export function kindForStatus(status) {
  switch (status) {
    case 400:
    case 413:
    case 422:
      return "invalid-request";
    case 401:
      return "auth";
    case 402:
      return "quota";
    case 403:
      return "permission";
    case 404:
      return "model-not-found";
    case 408:
      return "timeout";
    case 429:
      return "rate-limited";
    case 529:
      return "overloaded";
    default:
      return status >= 500 && status <= 599 ? "server" : "other";
  }
}

/** The error for an HTTP error status, before the body refines it. */
export function statusError(status, headers, body) {
  const error = providerError(kindForStatus(status), `upstream answered HTTP ${status}`);
  error.status = status;
  error.retryAfterMs = retryAfterMs(headers);
  error.bodyExcerpt = body.length > 0 ? excerpt(body) : undefined;
  return error;
}

/** A broker (`http`) failure as a provider error. */
export function fromHttpError(error) {
  const kinds = {
    denied: "denied",
    "invalid-request": "invalid-request",
    connect: "network",
    protocol: "network",
    timeout: "timeout",
    "too-large": "limit-exceeded",
    limit: "limit-exceeded",
  };
  return providerError(kinds[error.kind] ?? "other", error.message);
}

// ----- text helpers shared with the stream ----------------------------------

// Rust's `char::is_whitespace` (Unicode White_Space), which `str::trim` uses.
const RUST_SPACE = "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const LEADING_SPACE = new RegExp(`^[${RUST_SPACE}]+`);
const TRAILING_SPACE = new RegExp(`[${RUST_SPACE}]+$`);

/** Rust's `str::trim`. */
export function rustTrim(text) {
  return text.replace(LEADING_SPACE, "").replace(TRAILING_SPACE, "");
}

// Invalid bytes become U+FFFD as with Rust's `from_utf8_lossy`; a BOM is kept.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** A bounded excerpt of a body (bytes), cut on a character boundary. */
export function excerpt(body) {
  const text = utf8.decode(body);
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= EXCERPT_BYTES) return rustTrim(text);
  let end = EXCERPT_BYTES;
  while ((bytes[end] & 0xc0) === 0x80) end--; // not a character boundary
  return `${rustTrim(utf8.decode(bytes.subarray(0, end)))}…`;
}

// ----- retry-after -----------------------------------------------------------

const U64_MAX = 18446744073709551615n;

// What Rust's `str::parse::<f64>` accepts.
const RUST_FLOAT = /^[+-]?(?:inf|infinity|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$/i;

function rustParseFloat(text) {
  return RUST_FLOAT.test(text) ? Number(text.replace(/^([+-]?)inf(inity)?$/i, "$1Infinity")) : undefined;
}

// `f64::round() as u64`: half away from zero, saturating.
function roundToU64(x) {
  const rounded = BigInt(Math.round(x));
  return rounded > U64_MAX ? U64_MAX : rounded;
}

/** How long the upstream asks us to wait, in ms (BigInt), from `retry-after-ms` or `retry-after`. */
export function retryAfterMs(headers) {
  const find = (name) => {
    const header = headers.find((h) => h.name.toLowerCase() === name);
    return header === undefined ? undefined : rustTrim(header.value);
  };
  const ms = find("retry-after-ms");
  const msValue = ms === undefined ? undefined : rustParseFloat(ms);
  if (msValue !== undefined) {
    return Number.isFinite(msValue) && msValue >= 0 ? roundToU64(msValue) : undefined;
  }
  const value = find("retry-after");
  if (value === undefined) return undefined;
  const seconds = rustParseFloat(value);
  if (seconds !== undefined) {
    return Number.isFinite(seconds) && seconds >= 0 ? roundToU64(seconds * 1000) : undefined;
  }
  const when = parseHttpDate(value);
  if (when === undefined) return undefined;
  const wait = when - Date.now();
  return wait > 0 ? BigInt(Math.floor(wait)) : 0n;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/** An HTTP date (IMF-fixdate, RFC 850 or asctime) in ms since the epoch, as the `httpdate` crate reads it. */
export function parseHttpDate(text) {
  // eslint-disable-next-line no-control-regex
  if (!/^[\x00-\x7f]*$/.test(text)) return undefined;
  const s = rustTrim(text);
  const two = (t) => (/^\d\d$/.test(t) ? Number(t) : undefined);
  const parts =
    imfFixdate(s, two) ?? rfc850(s, two) ?? asctime(s, two);
  if (parts === undefined || Object.values(parts).some((v) => v === undefined)) return undefined;
  const { sec, min, hour, day, mon, year, wday } = parts;
  if (sec >= 60 || min >= 60 || hour >= 24 || day < 1 || day > 31 || mon < 1 || mon > 12 || year < 1970 || year > 9999) {
    return undefined;
  }
  const time = Date.UTC(year, mon - 1, day, hour, min, sec);
  const date = new Date(time);
  // The crate checks that the date reads back the same: a real day, the right weekday.
  if (date.getUTCDate() !== day || date.getUTCMonth() !== mon - 1 || ((date.getUTCDay() + 6) % 7) + 1 !== wday) {
    return undefined;
  }
  return time;
}

function imfFixdate(s, two) {
  // Sun, 06 Nov 1994 08:49:37 GMT
  if (s.length !== 29 || s.slice(25) !== " GMT" || s[16] !== " " || s[19] !== ":" || s[22] !== ":") return undefined;
  const day = DAYS.indexOf(s.slice(0, 3));
  const mon = MONTHS.indexOf(s.slice(8, 11));
  if (s.slice(3, 5) !== ", " || day < 0 || s[7] !== " " || s[11] !== " " || mon < 0) return undefined;
  return {
    sec: two(s.slice(23, 25)),
    min: two(s.slice(20, 22)),
    hour: two(s.slice(17, 19)),
    day: two(s.slice(5, 7)),
    mon: mon + 1,
    year: /^\d{4}$/.test(s.slice(12, 16)) ? Number(s.slice(12, 16)) : undefined,
    wday: day + 1,
  };
}

function rfc850(s, two) {
  // Sunday, 06-Nov-94 08:49:37 GMT
  if (s.length < 23) return undefined;
  const day = LONG_DAYS.findIndex((name) => s.startsWith(`${name}, `));
  if (day < 0) return undefined;
  const t = s.slice(LONG_DAYS[day].length + 2);
  if (t.length !== 22 || t[12] !== ":" || t[15] !== ":" || t.slice(18) !== " GMT") return undefined;
  const mon = MONTHS.indexOf(t.slice(3, 6));
  if (t[2] !== "-" || t[6] !== "-" || mon < 0) return undefined;
  const yy = two(t.slice(7, 9));
  return {
    sec: two(t.slice(16, 18)),
    min: two(t.slice(13, 15)),
    hour: two(t.slice(10, 12)),
    day: two(t.slice(0, 2)),
    mon: mon + 1,
    year: yy === undefined ? undefined : yy < 70 ? yy + 2000 : yy + 1900,
    wday: day + 1,
  };
}

function asctime(s, two) {
  // Sun Nov  6 08:49:37 1994
  if (s.length !== 24 || s[10] !== " " || s[13] !== ":" || s[16] !== ":" || s[19] !== " ") return undefined;
  const day = DAYS.indexOf(s.slice(0, 3));
  const mon = MONTHS.indexOf(s.slice(4, 7));
  if (s[3] !== " " || day < 0 || s[7] !== " " || mon < 0) return undefined;
  const dd = s.slice(8, 10);
  return {
    sec: two(s.slice(17, 19)),
    min: two(s.slice(14, 16)),
    hour: two(s.slice(11, 13)),
    day: dd[0] === " " ? (/^\d$/.test(dd[1]) ? Number(dd[1]) : undefined) : two(dd),
    mon: mon + 1,
    year: /^\d{4}$/.test(s.slice(20, 24)) ? Number(s.slice(20, 24)) : undefined,
    wday: day + 1,
  };
}

// ----- Anthropic's error objects --------------------------------------------

function kindForType(type, message) {
  switch (type) {
    case "invalid_request_error":
      return message.includes("prompt is too long") ? "context-length-exceeded" : "invalid-request";
    case "request_too_large":
      return "invalid-request";
    case "authentication_error":
      return "auth";
    case "permission_error":
      return "permission";
    case "not_found_error":
      return "model-not-found";
    case "rate_limit_error":
      return "rate-limited";
    case "billing_error":
      return "quota";
    case "overloaded_error":
      return "overloaded";
    case "api_error":
      return "server";
    case "timeout_error":
      return "timeout";
    default:
      return undefined;
  }
}

/** A provider error from an `{type, message}` error object; `status` when it came with an HTTP error. */
export function classifyErrorObject(object, status) {
  const message = object.message ?? "Anthropic reported an error";
  const kind =
    (object.type === undefined ? undefined : kindForType(object.type, message)) ??
    (status === undefined ? "server" : kindForStatus(status));
  const error = providerError(kind, message);
  error.status = status;
  error.providerCode = object.type;
  return error;
}

/**
 * Read an error object (a parsed JSON value) as the Rust `ErrorObject` struct:
 * optional string fields `type` and `message`. Throws when serde would refuse it.
 */
export function errorObject(value) {
  const [type, message] = structFields(value, "ErrorObject", ["type", "message"], []);
  return { type: optionalString(type, "type"), message: optionalString(message, "message") };
}

function optionalString(value, name) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new Error(`invalid type for \`${name}\`, expected a string`);
  return value;
}

/**
 * The fields of a serde-derived struct from a parsed value: a JSON object (a
 * repeated known field is an error, unknown fields are ignored) or an array
 * (fields in order). `required` names the fields without a default.
 */
export function structFields(value, struct, names, required) {
  if (Array.isArray(value)) {
    if (value.length > names.length) throw new Error(`invalid length ${value.length}, expected struct ${struct}`);
    return names.map((name, i) => {
      if (i >= value.length && required.includes(name)) throw new Error(`invalid length ${value.length}, expected struct ${struct}`);
      return value[i];
    });
  }
  if (!(value instanceof Map)) throw new Error(`invalid type, expected struct ${struct}`);
  if (hasBadKey(value)) throw new Error("lone leading surrogate in hex escape");
  return names.map((name) => {
    if (!value.has(name)) {
      if (required.includes(name)) throw new Error(`missing field \`${name}\``);
      return undefined;
    }
    if (repeated(value, name)) throw new Error(`duplicate field \`${name}\``);
    return value.get(name);
  });
}

/** A provider error for an HTTP error answer, refined by its body. */
export function classifyHttpError(status, headers, body) {
  const base = statusError(status, headers, body);
  let object;
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(body);
    const [error] = structFields(parse(text, { lenient: true }), "ErrorBody", ["error"], ["error"]);
    object = errorObject(error);
  } catch {
    if (body.length > 0) base.message = `Anthropic answered HTTP ${status}: ${excerpt(body)}`;
    return base;
  }
  const refined = classifyErrorObject(object, status);
  refined.message = `Anthropic answered HTTP ${status}: ${refined.message}`;
  refined.retryAfterMs = base.retryAfterMs;
  refined.bodyExcerpt = base.bodyExcerpt;
  return refined;
}
