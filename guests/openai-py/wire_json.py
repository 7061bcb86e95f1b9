"""JSON the way the Rust providers see it (serde_json), so this provider reads
and writes exactly what `guests/openai` does:

- `loads` is strict where serde_json is: no NaN/Infinity, no numbers out of
  range, and it remembers duplicate keys (a typed serde struct refuses them);
  `decode_error` words a parse error like serde_json does for the common cases.
- `dumps` writes like `serde_json::to_vec` of a `Value`: keys sorted (the
  default `Map` is a `BTreeMap`), no spaces, only the escapes serde_json makes,
  and floats in its shortest form (`1e-7`, `1e+16`, `0.00001`).
- the `opt_*` readers check a field's type as a `#[derive(Deserialize)]` struct
  would, raising `SchemaError` with serde's wording.
- `raw_value` finds a value's exact source text, like `serde_json::value::RawValue`.
"""

import json
import math

_U64_LIMIT = 1 << 64
_I64_MIN = -(1 << 63)

MISSING = object()


class SchemaError(ValueError):
    """Valid JSON of the wrong shape (serde's `invalid type` and friends)."""


class JsonObject(dict):
    """A decoded JSON object that knows which keys it had more than once."""

    __slots__ = ("dups",)


def _object(pairs):
    obj = JsonObject()
    dups = None
    for key, value in pairs:
        if key in obj:
            if dups is None:
                dups = set()
            dups.add(key)
        obj[key] = value
    obj.dups = dups
    return obj


def _constant(name):
    raise ValueError(f"expected value (`{name}` is not JSON)")


def _float(text):
    value = float(text)
    if math.isinf(value):
        raise ValueError("number out of range")
    return value


def _int(text):
    value = int(text)
    if _I64_MIN <= value < _U64_LIMIT:
        return value
    # serde_json reads an integer past 64 bits as a float.
    return _float(text)


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object, parse_constant=_constant, parse_float=_float, parse_int=_int
)


def loads(text):
    """Parse `text` strictly. Raises `ValueError` (a `json.JSONDecodeError` for syntax)."""
    return _DECODER.decode(text)


def _open_containers(doc, end):
    """The containers (`{` / `[`) still open at `end`, innermost last."""
    stack = []
    in_string = False
    escaped = False
    for ch in doc[:end]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append(ch)
        elif ch in "}]" and stack:
            stack.pop()
    return stack, in_string


def _position(doc, index):
    """serde_json's `line L column C` for the character at `index` (columns count bytes)."""
    line = doc.count("\n", 0, index) + 1
    start = doc.rfind("\n", 0, index) + 1
    column = len(doc[start:index].encode("utf-8", "surrogatepass"))
    return f"line {line} column {column}"


def decode_error(err, doc):
    """Word a parse error as serde_json would (its message and position)."""
    if not isinstance(err, json.JSONDecodeError):
        text = str(err)
        if text.startswith("expected value"):
            return "expected value"
        return text
    msg = err.msg
    if msg.startswith("Unterminated string") or err.pos >= len(doc):
        stack, in_string = _open_containers(doc, len(doc))
        last = doc.rstrip(_WS)[-1:]
        if in_string or msg.startswith("Unterminated string"):
            what = "a string"
        elif msg.startswith("Expecting value"):
            what = "a list" if last == "[" else "a value"
        elif msg.startswith("Expecting property name"):
            what = "a value" if last == "," else "an object"
        elif stack:
            what = "an object" if stack[-1] == "{" else "a list"
        else:
            what = "a value"
        return f"EOF while parsing {what} at {_position(doc, len(doc))}"
    at = _position(doc, err.pos + 1)
    if msg.startswith("Expecting value"):
        return f"expected value at {at}"
    if msg.startswith("Extra data"):
        return f"trailing characters at {at}"
    if msg.startswith("Expecting property name"):
        return f"key must be a string at {at}"
    if msg.startswith("Expecting ':'"):
        return f"expected `:` at {at}"
    if msg.startswith("Expecting ','"):
        stack, _ = _open_containers(doc, err.pos)
        closer = "}" if stack and stack[-1] == "{" else "]"
        return f"expected `,` or `{closer}` at {at}"
    if msg.startswith("Invalid control character"):
        return f"control character (\\u0000-\\u001F) found while parsing a string at {at}"
    if msg.startswith("Invalid \\escape") or msg.startswith("Invalid \\uXXXX"):
        return f"invalid escape at {at}"
    return f"{msg} at {at}"


# ----- writing ---------------------------------------------------------------


def format_float(value):
    """A float as serde_json writes it (shortest round-trip digits, zmij layout)."""
    if not math.isfinite(value):
        return "null"
    text = repr(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    if "e" in text:
        mantissa, exponent = text.split("e")
        exponent = int(exponent)
    else:
        mantissa, exponent = text, 0
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + exponent
    significant = digits.lstrip("0")
    if not significant:
        return sign + "0.0"
    point -= len(digits) - len(significant)
    digits = significant.rstrip("0")
    exp10 = point - 1
    if -5 <= exp10 <= 15:
        if exp10 >= len(digits) - 1:
            return sign + digits + "0" * (exp10 - len(digits) + 1) + ".0"
        if exp10 >= 0:
            return sign + digits[: exp10 + 1] + "." + digits[exp10 + 1 :]
        return sign + "0." + "0" * (-exp10 - 1) + digits
    head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{head}e{'-' if exp10 < 0 else '+'}{abs(exp10)}"


def _string(text):
    return json.dumps(text, ensure_ascii=False)


def dumps(value):
    """`value` as serde_json writes a `Value` (sorted keys, compact)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        items = ",".join(_string(key) + ":" + dumps(value[key]) for key in sorted(value))
        return "{" + items + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps_ordered(pairs):
    """A JSON object with its keys in the given order, as serde writes a struct."""
    return "{" + ",".join(_string(key) + ":" + dumps(value) for key, value in pairs) + "}"


# ----- typed reading, as a serde struct would ---------------------------------


def unexpected(value):
    """serde's description of a value of the wrong type."""
    if value is None:
        return "null"
    if value is True or value is False:
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{format_float(value)}`"
    if isinstance(value, str):
        return "string " + _string(value)
    if isinstance(value, list):
        return "sequence"
    return "map"


def check_string(value):
    """A decoded string must be valid Unicode (serde refuses lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SchemaError("lone leading surrogate in hex escape") from None
    return value


def expect_object(value, what):
    if not isinstance(value, dict):
        raise SchemaError(f"invalid type: {unexpected(value)}, expected {what}")
    return value


def check_fields(obj, fields):
    """serde refuses a struct field that appears twice."""
    dups = getattr(obj, "dups", None)
    if dups:
        for name in fields:
            if name in dups:
                raise SchemaError(f"duplicate field `{name}`")


def opt_str(obj, key):
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return check_string(value)
    raise SchemaError(f"invalid type: {unexpected(value)}, expected a string")


def str_or_default(obj, key):
    """A `#[serde(default)] String` field: absent is empty, null is an error."""
    value = obj.get(key, MISSING)
    if value is MISSING:
        return ""
    if isinstance(value, str):
        return check_string(value)
    raise SchemaError(f"invalid type: {unexpected(value)}, expected a string")


def _u64(value):
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < _U64_LIMIT:
            return value
        raise SchemaError(f"invalid value: integer `{value}`, expected u64")
    raise SchemaError(f"invalid type: {unexpected(value)}, expected u64")


def opt_u64(obj, key):
    value = obj.get(key)
    if value is None:
        return None
    return _u64(value)


def u64_or_default(obj, key):
    """A `#[serde(default)] u64` field: absent is 0, null is an error."""
    value = obj.get(key, MISSING)
    if value is MISSING:
        return 0
    return _u64(value)


# ----- raw values ---------------------------------------------------------------

_WS = " \t\n\r"


def _skip_ws(text, i):
    n = len(text)
    while i < n and text[i] in _WS:
        i += 1
    return i


def _end_of_string(text, i):
    """`text[i]` is an opening quote; the index after the closing one."""
    i += 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i + 1
        i += 1
    raise ValueError("unterminated string")


def _end_of_value(text, i):
    ch = text[i]
    if ch == '"':
        return _end_of_string(text, i)
    if ch in "{[":
        depth = 0
        n = len(text)
        while i < n:
            ch = text[i]
            if ch == '"':
                i = _end_of_string(text, i)
                continue
            if ch in "{[":
                depth += 1
            elif ch in "}]":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise ValueError("unterminated container")
    n = len(text)
    while i < n and text[i] not in _WS and text[i] not in ",}]":
        i += 1
    return i


def raw_value(text, key):
    """The exact source text of the value of top-level `key` in the JSON object
    `text` (already known to be valid), or `None`. The last one wins."""
    i = _skip_ws(text, 0)
    if i >= len(text) or text[i] != "{":
        return None
    i = _skip_ws(text, i + 1)
    found = None
    while i < len(text) and text[i] != "}":
        key_end = _end_of_string(text, i)
        name = json.loads(text[i:key_end])
        i = _skip_ws(text, key_end)
        i = _skip_ws(text, i + 1)  # the colon
        value_end = _end_of_value(text, i)
        if name == key:
            found = text[i:value_end]
        i = _skip_ws(text, value_end)
        if i < len(text) and text[i] == ",":
            i = _skip_ws(text, i + 1)
    return found
