//! The SDK's SSE decoder on any bytes, split anywhere: it never panics, and
//! where the input is cut does not change the events it yields.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use cordon_sdk::sse::SseDecoder;
use libfuzzer_sys::fuzz_target;

/// Every event as (type, data, id), owned.
fn decode(chunks: &[&[u8]]) -> Vec<(String, String, Option<String>)> {
    let mut events = Vec::new();
    let mut decoder = SseDecoder::new();
    let mut keep = |e: cordon_sdk::sse::SseEvent<'_>| -> Result<(), ()> {
        events.push((e.event.to_owned(), e.data.to_owned(), e.id.map(str::to_owned)));
        Ok(())
    };
    for chunk in chunks {
        let _ = decoder.feed(chunk, &mut keep);
    }
    let _ = decoder.finish(&mut keep);
    events
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
    assert_eq!(decode(&chunks), decode(&[body]), "the split changed the events");
});
