// JSON read and written exactly as the Rust providers' serde_json does, so that
// this provider sends byte-identical request bodies and reports identical raw
// usage objects:
//
// - objects keep their keys sorted by code point (serde_json's `Map` is a
//   `BTreeMap`); a repeated key keeps its last value;
// - integers stay exact (u64/i64 as BigInt); other numbers are f64, read with
//   serde_json's own algorithm (digits past u64 are dropped, then one multiply
//   or divide by a power of ten) and written like its float formatter (`1.0`,
//   `0.001`, `1e+16`);
// - strings escape `"`, `\` and control characters only, with lower-case hex;
// - parse errors where serde_json has them: lone surrogates, control
//   characters in strings, numbers out of range, nesting deeper than 127.
//
// Parsed objects are `Map`s, numbers `JsonNumber`s. `stringify` also takes plain
// arrays, strings, booleans, null, `Map`s and integer JS numbers.
//
// `parse(text, { lenient: true })` reads like serde_json does for the fields a
// struct ignores: a number out of range or a string with a lone surrogate is
// not an error there, and comes back as `POISON` (an error once a struct reads it).

/** A number as serde_json holds it: `kind` is "u64", "i64" or "f64". */
export class JsonNumber {
  constructor(kind, value) {
    this.kind = kind;
    this.value = value; // BigInt for u64/i64, number for f64
  }

  /** The u64 value, or undefined when this is not a u64. */
  asU64() {
    return this.kind === "u64" ? this.value : undefined;
  }

  toJSON() {
    return this.kind === "f64" ? formatF64(this.value) : this.value.toString();
  }
}

/** A float as serde_json's `json!(x)` makes it: a number, or null when not finite. */
export function float64(x) {
  return Number.isFinite(x) ? new JsonNumber("f64", x) : null;
}

/** Why a text is not JSON, in serde_json's words where it matters. */
export class JsonError extends Error {}

/** Keys given more than once in a parsed object (serde rejects them in structs). */
const REPEATED = Symbol("repeated keys");

/** Whether `key` appeared more than once in the parsed object `map`. */
export function repeated(map, key) {
  return map[REPEATED] !== undefined && map[REPEATED].has(key);
}

/** A key serde could skip but not read (lenient parsing only). */
const BAD_KEY = Symbol("unreadable key");

/** Whether the parsed object `map` has a key that a struct could not read. */
export function hasBadKey(map) {
  return map[BAD_KEY] === true;
}

// ----- parsing -------------------------------------------------------------

const U64_MAX = 18446744073709551615n;
const U64_MAX_DIV10 = U64_MAX / 10n;
const U64_MAX_MOD10 = U64_MAX % 10n;
const I32_MAX = 2147483647;
const POW10 = Array.from({ length: 309 }, (_, i) => Number(`1e${i}`));
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f]/g;

/** An index from `indexOf`, with "none" as Infinity. */
function found(index) {
  return index < 0 ? Infinity : index;
}

/** A value serde_json could skip but not read (see `parse`'s `lenient`). */
export const POISON = Object.freeze({ poison: true });

/** Parse `text` (a string) into a value; throws `JsonError`. */
export function parse(text, { lenient = false } = {}) {
  const p = new Parser(text, lenient);
  const value = p.value(128);
  p.skipWhitespace();
  if (p.i < text.length) p.fail("trailing characters");
  return value;
}

class Parser {
  constructor(text, lenient) {
    this.s = text;
    this.i = 0;
    this.lenient = lenient;
    this.poisoned = false; // set by the value being read
    this.backslash = -1; // where the next backslash is (Infinity: none), once looked for
    this.control = -1; // where the next control character is, likewise
  }

  // A number out of range or a lone surrogate: an error, or POISON when lenient.
  invalid(what) {
    if (!this.lenient) this.fail(what);
    this.poisoned = true;
  }

  fail(what) {
    const before = this.s.slice(0, this.i);
    const line = before.split("\n").length;
    const column = this.i - before.lastIndexOf("\n");
    throw new JsonError(`${what} at line ${line} column ${column}`);
  }

  skipWhitespace() {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) this.i++;
      else return;
    }
  }

  value(depth) {
    this.skipWhitespace();
    const s = this.s;
    if (this.i >= s.length) this.fail("EOF while parsing a value");
    const c = s[this.i];
    switch (c) {
      case "{":
        return this.object(depth);
      case "[":
        return this.array(depth);
      case '"':
        return this.string();
      case "t":
        return this.word("true", true);
      case "f":
        return this.word("false", false);
      case "n":
        return this.word("null", null);
      case "-":
        this.i++;
        return this.number(false);
      default:
        if (c >= "0" && c <= "9") return this.number(true);
        this.fail("expected value");
    }
  }

  word(word, value) {
    if (this.s.startsWith(word, this.i)) {
      this.i += word.length;
      return value;
    }
    this.fail("expected ident");
  }

  enter(depth) {
    if (depth - 1 === 0) this.fail("recursion limit exceeded");
    this.i++;
    return depth - 1;
  }

  array(depth) {
    depth = this.enter(depth);
    const out = [];
    this.skipWhitespace();
    if (this.s[this.i] === "]") {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.skipWhitespace();
      const c = this.s[this.i];
      if (c === ",") {
        this.i++;
        this.skipWhitespace();
        if (this.s[this.i] === "]") this.fail("trailing comma");
      } else if (c === "]") {
        this.i++;
        return out;
      } else if (c === undefined) {
        this.fail("EOF while parsing a list");
      } else {
        this.fail("expected `,` or `]`");
      }
    }
  }

  object(depth) {
    depth = this.enter(depth);
    const out = new Map();
    this.skipWhitespace();
    if (this.s[this.i] === "}") {
      this.i++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.s[this.i] !== '"') {
        this.fail(this.i >= this.s.length ? "EOF while parsing an object" : "key must be a string");
      }
      const key = this.string();
      if (key === POISON) out[BAD_KEY] = true; // a struct cannot read it; a skipped map can
      this.skipWhitespace();
      if (this.s[this.i] !== ":") this.fail(this.i >= this.s.length ? "EOF while parsing an object" : "expected `:`");
      this.i++;
      const value = this.value(depth);
      if (out.has(key)) {
        if (out[REPEATED] === undefined) out[REPEATED] = new Set();
        out[REPEATED].add(key);
        out.delete(key);
      }
      out.set(key, value);
      this.skipWhitespace();
      const c = this.s[this.i];
      if (c === ",") {
        this.i++;
        this.skipWhitespace();
        if (this.s[this.i] === "}") this.fail("trailing comma");
      } else if (c === "}") {
        this.i++;
        return out;
      } else if (c === undefined) {
        this.fail("EOF while parsing an object");
      } else {
        this.fail("expected `,` or `}`");
      }
    }
  }

  string() {
    this.poisoned = false;
    const text = this.stringText();
    return this.poisoned ? POISON : text;
  }

  stringText() {
    const s = this.s;
    let from = this.i + 1; // after the opening quote
    let out = "";
    for (;;) {
      // Native scans to the next quote, backslash and control character; the
      // last two are remembered across strings, so each is found once.
      const quote = s.indexOf('"', from);
      if (this.backslash < from) this.backslash = found(s.indexOf("\\", from));
      if (this.control < from) {
        CONTROL.lastIndex = from;
        this.control = found(CONTROL.exec(s)?.index ?? -1);
      }
      const stop = Math.min(found(quote), this.backslash, this.control);
      if (stop === Infinity) {
        this.i = s.length;
        this.fail("EOF while parsing a string");
      }
      const c = s.charCodeAt(stop);
      if (c === 0x22) {
        this.i = stop + 1;
        return out + s.slice(from, stop);
      }
      this.i = stop;
      if (c < 0x20) this.fail("control character (\\u0000-\\u001F) found while parsing a string");
      out += s.slice(from, stop);
      this.i++; // the backslash
      out += this.escape();
      from = this.i;
    }
  }

  escape() {
    const c = this.s[this.i++];
    switch (c) {
      case '"':
        return '"';
      case "\\":
        return "\\";
      case "/":
        return "/";
      case "b":
        return "\b";
      case "f":
        return "\f";
      case "n":
        return "\n";
      case "r":
        return "\r";
      case "t":
        return "\t";
      case "u": {
        const n = this.hex4();
        if (n < 0xd800 || n > 0xdfff) return String.fromCharCode(n);
        if (n >= 0xdc00) {
          this.invalid("lone leading surrogate in hex escape");
          return "\ufffd";
        }
        if (this.s[this.i] !== "\\" || this.s[this.i + 1] !== "u") {
          if (!this.lenient) this.i++;
          this.invalid("unexpected end of hex escape");
          return "\ufffd";
        }
        const after = this.i;
        this.i += 2;
        const n2 = this.hex4();
        if (n2 < 0xdc00 || n2 > 0xdfff) {
          this.invalid("lone leading surrogate in hex escape");
          this.i = after; // the next escape is read on its own
          return "\ufffd";
        }
        return String.fromCharCode(n, n2);
      }
      case undefined:
        this.fail("EOF while parsing a string");
      default:
        this.fail("invalid escape");
    }
  }

  hex4() {
    let n = 0;
    for (let k = 0; k < 4; k++) {
      if (this.i >= this.s.length) this.fail("EOF while parsing a string");
      const d = parseInt(this.s[this.i], 16);
      if (Number.isNaN(d)) this.fail("invalid escape");
      n = n * 16 + d;
      this.i++;
    }
    return n;
  }

  digit() {
    const c = this.s.charCodeAt(this.i);
    return c >= 0x30 && c <= 0x39 ? c - 0x30 : -1;
  }

  number(positive) {
    this.poisoned = false;
    const number = this.integer(positive);
    return this.poisoned ? POISON : number;
  }

  // serde_json's `parse_integer` and friends, step by step.
  integer(positive) {
    const first = this.digit();
    if (first < 0) this.fail(this.i >= this.s.length ? "EOF while parsing a value" : "invalid number");
    this.i++;
    let significand = BigInt(first);
    if (first === 0) {
      if (this.digit() >= 0) this.fail("invalid number");
    } else {
      for (let d = this.digit(); d >= 0; d = this.digit()) {
        if (overflows(significand, d)) return new JsonNumber("f64", this.longInteger(positive, significand));
        this.i++;
        significand = significand * 10n + BigInt(d);
      }
    }
    const c = this.s[this.i];
    if (c === ".") return new JsonNumber("f64", this.decimal(positive, significand, 0));
    if (c === "e" || c === "E") return new JsonNumber("f64", this.exponent(positive, significand, 0));
    if (positive) return new JsonNumber("u64", significand);
    if (significand === 0n || significand > 9223372036854775808n) {
      return new JsonNumber("f64", -Number(significand));
    }
    return new JsonNumber("i64", -significand);
  }

  longInteger(positive, significand) {
    let exponent = 0;
    for (;;) {
      if (this.digit() >= 0) {
        this.i++;
        exponent++;
        continue;
      }
      const c = this.s[this.i];
      if (c === ".") return this.decimal(positive, significand, exponent);
      if (c === "e" || c === "E") return this.exponent(positive, significand, exponent);
      return this.fromParts(positive, significand, exponent);
    }
  }

  decimal(positive, significand, before) {
    this.i++; // the point
    let after = 0;
    for (let d = this.digit(); d >= 0; d = this.digit()) {
      if (overflows(significand, d)) {
        while (this.digit() >= 0) this.i++;
        const c = this.s[this.i];
        if (c === "e" || c === "E") return this.exponent(positive, significand, before + after);
        return this.fromParts(positive, significand, before + after);
      }
      this.i++;
      significand = significand * 10n + BigInt(d);
      after--;
    }
    if (after === 0) this.fail(this.i >= this.s.length ? "EOF while parsing a value" : "invalid number");
    const c = this.s[this.i];
    if (c === "e" || c === "E") return this.exponent(positive, significand, before + after);
    return this.fromParts(positive, significand, before + after);
  }

  exponent(positive, significand, start) {
    this.i++; // the e
    let positiveExp = true;
    if (this.s[this.i] === "+") this.i++;
    else if (this.s[this.i] === "-") {
      positiveExp = false;
      this.i++;
    }
    if (this.i >= this.s.length) this.fail("EOF while parsing a value");
    let exp = this.digit();
    this.i++;
    if (exp < 0) this.fail("invalid number");
    for (let d = this.digit(); d >= 0; d = this.digit()) {
      this.i++;
      if (exp >= Math.floor(I32_MAX / 10) && (exp > Math.floor(I32_MAX / 10) || d > I32_MAX % 10)) {
        while (this.digit() >= 0) this.i++;
        if (significand !== 0n && positiveExp) this.invalid("number out of range");
        return positive ? 0 : -0;
      }
      exp = exp * 10 + d;
    }
    const total = positiveExp ? saturatingI32(start + exp) : saturatingI32(start - exp);
    return this.fromParts(positive, significand, total);
  }

  // serde_json's `f64_from_parts` without `float_roundtrip`.
  fromParts(positive, significand, exponent) {
    let f = Number(significand);
    for (;;) {
      const pow = POW10[Math.abs(exponent)];
      if (pow !== undefined) {
        if (exponent >= 0) {
          f *= pow;
          if (!Number.isFinite(f)) this.invalid("number out of range");
        } else {
          f /= pow;
        }
        break;
      }
      if (f === 0) break;
      if (exponent >= 0) {
        this.invalid("number out of range");
        break;
      }
      f /= 1e308;
      exponent += 308;
    }
    return positive ? f : -f;
  }
}

function overflows(significand, digit) {
  return significand >= U64_MAX_DIV10 && (significand > U64_MAX_DIV10 || BigInt(digit) > U64_MAX_MOD10);
}

function saturatingI32(n) {
  return Math.max(-2147483648, Math.min(I32_MAX, n));
}

// ----- writing ---------------------------------------------------------------

/** Serialize like `serde_json::to_string` (compact, sorted keys). */
export function stringify(value) {
  const out = [];
  write(value, out);
  return out.join("");
}

function write(value, out) {
  if (value === null || value === undefined) {
    out.push("null");
  } else if (typeof value === "string") {
    out.push(quote(value));
  } else if (typeof value === "boolean") {
    out.push(value ? "true" : "false");
  } else if (value instanceof JsonNumber) {
    out.push(value.toJSON());
  } else if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`not an integer: ${value}; wrap floats with float64()`);
    out.push(String(value));
  } else if (typeof value === "bigint") {
    out.push(value.toString());
  } else if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item, i) => {
      if (i > 0) out.push(",");
      write(item, out);
    });
    out.push("]");
  } else if (value instanceof Map) {
    const keys = [...value.keys()].sort(byCodePoint);
    out.push("{");
    keys.forEach((key, i) => {
      if (i > 0) out.push(",");
      out.push(quote(key), ":");
      write(value.get(key), out);
    });
    out.push("}");
  } else {
    throw new TypeError(`cannot write ${typeof value} as JSON`);
  }
}

/** Order of Rust `String`s: by UTF-8 bytes, which is code point order. */
export function byCodePoint(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (a code point above U+FFFF) sorts after every BMP character.
    if (x >= 0xd800 && x <= 0xdfff) x += 0x10000;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x10000;
    return x - y;
  }
  return a.length - b.length;
}

const ESCAPES = { '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/g;

function quote(text) {
  return `"${text.replace(NEEDS_ESCAPE, (c) => ESCAPES[c] ?? `\\u00${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}"`;
}

/** An f64 as serde_json writes it (its `zmij` formatter). */
export function formatF64(x) {
  if (!Number.isFinite(x)) return "null";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // The shortest digits that read back as `x`, and the exponent of the first.
  const [mantissa, e] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exp = Number(e);
  const n = digits.length;
  if (exp >= -5 && exp <= 15) {
    if (n - 1 <= exp) return `${sign}${digits}${"0".repeat(exp + 1 - n)}.0`;
    if (exp >= 0) return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  }
  const fraction = n > 1 ? `.${digits.slice(1)}` : "";
  return `${sign}${digits[0]}${fraction}e${exp < 0 ? "-" : "+"}${Math.abs(exp)}`;
}
