// Errors of {{name}}: `provider-error` records, as the bindings take them.
// Throw one from `init`, `toNative` or `finalize` to return it as the `err` of
// the function's `result` (a thrown `Error` is a bug: it traps the instance);
// a turn reports one as an `error` event instead.

/** HTTP statuses with a kind of their own (other 5xx are `server`, the rest `other`). */
const STATUS_KINDS = {
  400: "invalid-request",
  401: "auth",
  402: "quota",
  403: "permission",
  404: "model-not-found",
  408: "timeout",
  413: "invalid-request",
  422: "invalid-request",
  429: "rate-limited",
  529: "overloaded",
};

/** The host's `http-error` kinds as provider error kinds (`connect` and `protocol` are `network`). */
const HTTP_ERROR_KINDS = {
  denied: "denied",
  "invalid-request": "invalid-request",
  timeout: "timeout",
  "too-large": "limit-exceeded",
  limit: "limit-exceeded",
};

/** A `provider-error` of `kind` (an `error-kind`, e.g. "config"). */
export function providerError(kind, message) {
  return {
    kind,
    message,
    status: undefined,
    retryable: ["rate-limited", "overloaded", "server", "timeout", "network"].includes(kind),
    retryAfterMs: undefined,
    providerCode: undefined,
    bodyExcerpt: undefined,
    outputStreamed: false,
  };
}

export function configError(message) {
  return providerError("config", message);
}

export function protocolError(message) {
  return providerError("stream-protocol", message);
}

/** The error for an HTTP error answer: `status`, its headers and the start of its body (bytes). */
export function statusError(status, headers, body) {
  const fallback = status >= 500 ? "server" : "other";
  const error = providerError(STATUS_KINDS[status] ?? fallback, `upstream answered HTTP ${status}`);
  error.status = status;
  error.retryAfterMs = retryAfterMs(headers);
  error.bodyExcerpt = new TextDecoder().decode(body).trim() || undefined;
  return error;
}

/** A failed host call: the bindings throw the `http-error` as the `payload` of an `Error`. */
export function brokerError(thrown) {
  const failure = thrown?.payload;
  if (failure === undefined) throw thrown; // not the host's answer: a bug
  return providerError(HTTP_ERROR_KINDS[failure.kind] ?? "network", failure.message);
}

/** How long the upstream asks us to wait (`retry-after`, in seconds), in ms: a `u64`, so a BigInt. */
function retryAfterMs(headers) {
  const value = headers.find((h) => h.name.toLowerCase() === "retry-after")?.value.trim() ?? "";
  const seconds = Number(value);
  return value !== "" && Number.isFinite(seconds) && seconds >= 0 ? BigInt(Math.round(seconds * 1000)) : undefined;
}
