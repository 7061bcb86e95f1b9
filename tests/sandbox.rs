//! A guest that crashes cannot take the host with it: the turn ends with an
//! error event and the same provider serves the next turn.

use std::time::Duration;

use cordon::replay::{Reply, ReplayServer};
use cordon::{ErrorKind, Event, HostGrant, Origin, ProviderOptions, Request};
use serde_json::json;

use crate::support::{errors_in, run_turn, runtime, text_of};

#[tokio::test]
async fn guest_trap_mid_stream_becomes_an_error_event_and_the_host_serves_on() {
    let mut reply = Reply::stream(vec!["data: first\n\n".into(), "data: second\n\n".into(), "data: third\n\n".into()]);
    reply.chunk_delay = Duration::from_millis(30); // so the first event crosses before the trap
    let server = ReplayServer::start(vec![reply]).await.expect("server");
    let origin: Origin = server.url().parse().expect("origin");
    let options = ProviderOptions {
        options: Some(json!({ "upstream": server.url() })),
        grants: vec![HostGrant { origin, with_secrets: true }],
        ..ProviderOptions::default()
    };
    let provider = runtime().load_provider("hostile", options).await.expect("loads");

    let mut request = Request::user("m", "hi");
    request.provider_options = Some(json!({ "hostile": { "mode": "trap-mid-stream" } }));
    let (events, result) = run_turn(&provider, request).await;
    assert_eq!(text_of(&events), "first", "output before the trap is delivered");
    let error = result.expect_err("the turn fails");
    assert_eq!(error.kind, ErrorKind::Trap);
    assert!(error.message.contains("deliberate panic"), "the guest's panic message is kept: {}", error.message);
    assert!(error.output_streamed);
    assert_eq!(errors_in(&events), vec![&error]);

    let mut request = Request::user("m", "hi");
    request.provider_options = Some(json!({ "hostile": { "mode": "normal" } }));
    let (events, result) = run_turn(&provider, request).await;
    let result = result.expect("the next turn on the same provider succeeds");
    assert_eq!(text_of(&events), "firstsecondthird");
    assert_eq!(result.text(), "firstsecondthird");
    assert!(matches!(events.last(), Some(Event::Finish(_))));
}
