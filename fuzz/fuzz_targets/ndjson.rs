//! The SDK's NDJSON decoder on any bytes, split anywhere: it never panics, and
//! where the input is cut does not change the lines it yields.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use cordon_sdk::ndjson::NdjsonDecoder;
use libfuzzer_sys::fuzz_target;

fn decode(chunks: &[&[u8]]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut decoder = NdjsonDecoder::new();
    let mut keep = |line: &str| -> Result<(), ()> {
        lines.push(line.to_owned());
        Ok(())
    };
    for chunk in chunks {
        let _ = decoder.feed(chunk, &mut keep);
    }
    let _ = decoder.finish(&mut keep);
    lines
}

fuzz_target!(|data: &[u8]| {
    let mut input = Unstructured::new(data);
    let Ok(cuts) = Vec::<u8>::arbitrary(&mut input) else { return };
    let body = input.take_rest();
    let mut chunks = Vec::new();
    let mut rest = body;
    for cut in cuts {
        let at = usize::from(cut).min(rest.len());
        let (head, tail) = rest.split_at(at);
        chunks.push(head);
        rest = tail;
    }
    chunks.push(rest);
    let whole = decode(&[body]);
    assert_eq!(decode(&chunks), whole, "the split changed the lines");
    assert!(whole.iter().all(|l| !l.is_empty() && !l.contains('\n')), "lines are non-empty and single");
});
