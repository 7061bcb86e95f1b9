//! Building a function call's arguments from Gemini 3's streamed `partialArgs`:
//! each names a JSON path (RFC 9535, e.g. `$.a.b[0]` or `$['a b']`) and a value;
//! string values at the same path concatenate.
//!
//! Paths are applied as they arrive, creating objects and arrays on the way. An
//! array index may only reuse or append (`index <= len`), so a hostile path such
//! as `$.a[4000000000]` cannot make the guest allocate; a path that contradicts
//! what earlier paths built (`$.a` a string, then `$.a.b`) is an error.

use serde_json::{Map, Number, Value};

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// A value carried by one partial argument.
#[derive(Debug, Clone, PartialEq)]
pub enum PartialValue {
    /// A string, or a piece of one.
    Str(String),
    /// A number.
    Number(Number),
    /// A boolean.
    Bool(bool),
    /// JSON `null`.
    Null,
}

/// The arguments object of one streamed call, as built so far.
#[derive(Debug, Default)]
pub struct PartialArgs {
    root: Map<String, Value>,
}

impl PartialArgs {
    /// Set `value` at `path` (a string is appended to a string already there).
    pub fn apply(&mut self, path: &str, value: PartialValue) -> Result<(), String> {
        let segments = parse_path(path)?;
        let (first, rest) = match segments.split_first() {
            Some((Segment::Key(first), rest)) => (first, rest),
            Some((Segment::Index(_), _)) => {
                return Err(format!("JSON path `{path}` indexes the arguments object, which is not an array"));
            }
            None => return Err(format!("JSON path `{path}` names the arguments object itself, not a member")),
        };
        let mut slot = self.root.entry(first.clone()).or_insert(Value::Null);
        for segment in rest {
            slot = step(slot, segment).map_err(|what| format!("JSON path `{path}`: {what}"))?;
        }
        set(slot, value);
        Ok(())
    }

    /// Merge a whole `args` object (sent instead of, or besides, partial values).
    pub fn merge(&mut self, args: Map<String, Value>) {
        self.root.extend(args);
    }

    /// The arguments as JSON text.
    pub fn into_json(self) -> String {
        Value::Object(self.root).to_string()
    }
}

/// Descend from `slot` into `segment`, turning a `null` placeholder into the container it needs.
fn step<'v>(slot: &'v mut Value, segment: &Segment) -> Result<&'v mut Value, String> {
    match segment {
        Segment::Key(key) => {
            if slot.is_null() {
                *slot = Value::Object(Map::new());
            }
            match slot {
                Value::Object(map) => Ok(map.entry(key.clone()).or_insert(Value::Null)),
                other => Err(format!("member `{key}` of a {}", type_name(other))),
            }
        }
        Segment::Index(index) => {
            if slot.is_null() {
                *slot = Value::Array(Vec::new());
            }
            let len = match slot {
                Value::Array(items) => items.len(),
                other => return Err(format!("index {index} of a {}", type_name(other))),
            };
            if *index > len {
                return Err(format!("index {index} skips ahead of an array of {len} elements"));
            }
            if let Value::Array(items) = slot
                && *index == len
            {
                items.push(Value::Null);
            }
            slot.get_mut(*index).ok_or_else(|| format!("index {index} is out of range"))
        }
    }
}

fn set(slot: &mut Value, value: PartialValue) {
    match (slot, value) {
        (Value::String(text), PartialValue::Str(more)) => text.push_str(&more),
        (slot, PartialValue::Str(text)) => *slot = Value::String(text),
        (slot, PartialValue::Number(n)) => *slot = Value::Number(n),
        (slot, PartialValue::Bool(b)) => *slot = Value::Bool(b),
        (slot, PartialValue::Null) => *slot = Value::Null,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Parse `$`, `.name`, `[0]`, `['name']` and `["name"]` steps.
pub fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let bad = |why: &str| format!("JSON path `{path}` is not understood: {why}");
    let mut rest = path.strip_prefix('$').ok_or_else(|| bad("it does not start with `$`"))?;
    let mut segments = Vec::new();
    while let Some(first) = rest.chars().next() {
        match first {
            '.' => {
                let name_end = rest[1..].find(['.', '[']).map_or(rest.len(), |i| i + 1);
                let name = &rest[1..name_end];
                if name.is_empty() {
                    return Err(bad("an empty member name"));
                }
                segments.push(Segment::Key(name.to_owned()));
                rest = &rest[name_end..];
            }
            '[' => {
                let (segment, after) = bracket(&rest[1..]).ok_or_else(|| bad("a malformed `[...]` step"))?;
                segments.push(segment);
                rest = after;
            }
            _ => return Err(bad("expected `.` or `[`")),
        }
    }
    Ok(segments)
}

/// The step inside `[...]` (`rest` starts after the `[`) and what follows the `]`.
fn bracket(rest: &str) -> Option<(Segment, &str)> {
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"');
    let Some(quote) = quote else {
        let end = rest.find(']')?;
        let index = rest[..end].trim().parse().ok()?;
        return Some((Segment::Index(index), &rest[end + 1..]));
    };
    let mut name = String::new();
    let mut chars = rest[1..].char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => name.push(chars.next()?.1),
            c if c == quote => {
                let after = rest[1 + at + 1..].strip_prefix(']')?;
                return Some((Segment::Key(name), after));
            }
            c => name.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> PartialValue {
        PartialValue::Str(text.into())
    }

    #[test]
    fn paths_parse() {
        assert_eq!(
            parse_path("$.a.b[0]['c d'][\"e\\\"f\"]"),
            Ok(vec![
                Segment::Key("a".into()),
                Segment::Key("b".into()),
                Segment::Index(0),
                Segment::Key("c d".into()),
                Segment::Key("e\"f".into()),
            ])
        );
        assert_eq!(parse_path("$"), Ok(vec![]));
        assert!(parse_path("a.b").is_err());
        assert!(parse_path("$..a").is_err());
        assert!(parse_path("$[x]").is_err());
        assert!(parse_path("$['open").is_err());
    }

    #[test]
    fn values_build_an_object_and_strings_concatenate() {
        let mut args = PartialArgs::default();
        args.apply("$.location", s("San ")).expect("ok");
        args.apply("$.location", s("Francisco")).expect("ok");
        args.apply("$.days[0].n", PartialValue::Number(3.into())).expect("ok");
        args.apply("$.days[1].n", PartialValue::Number(4.into())).expect("ok");
        args.apply("$.metric", PartialValue::Bool(true)).expect("ok");
        args.apply("$.note", PartialValue::Null).expect("ok");
        let value: Value = serde_json::from_str(&args.into_json()).expect("json");
        assert_eq!(
            value,
            serde_json::json!({
                "location": "San Francisco",
                "days": [{ "n": 3 }, { "n": 4 }],
                "metric": true,
                "note": null,
            })
        );
    }

    #[test]
    fn contradictions_and_skips_are_errors() {
        let mut args = PartialArgs::default();
        args.apply("$.a", s("x")).expect("ok");
        assert!(args.apply("$.a.b", s("y")).is_err());
        assert!(args.apply("$.list[4000000000]", s("y")).is_err());
        assert!(args.apply("$", s("y")).is_err());
        assert!(args.apply("$[0]", s("y")).is_err());
    }
}
