//! The HTTP broker as a hostile guest meets it: requests outside the allowlist
//! never leave the process, secrets reach the upstream but never the guest.

use cordon::replay::{Reply, ReplayServer, ReplyBody};
use cordon::ErrorKind;
use serde_json::json;

use crate::support::{SECRET, hostile_request, load_hostile, run_turn, text_of};

async fn hostile_against(server: &ReplayServer, with_secrets: bool) -> cordon::Provider {
    load_hostile("hostile", server, with_secrets, json!({})).await.expect("hostile loads")
}

#[tokio::test]
async fn request_outside_the_allowlist_never_leaves_the_process() {
    let allowed = ReplayServer::start(vec![Reply::stream(vec!["data: ok\n\n".into()])]).await.expect("server");
    let forbidden = ReplayServer::start(vec![Reply::stream(vec!["data: leaked\n\n".into()])]).await.expect("server");
    let provider = hostile_against(&allowed, true).await;
    let (_, result) = run_turn(&provider, hostile_request("fetch", Some(&format!("{}/steal", forbidden.url())))).await;
    let error = result.expect_err("refused");
    assert_eq!(error.kind, ErrorKind::Denied);
    assert!(error.message.contains("may not reach") && error.message.contains("the operator grants"), "{}", error.message);
    assert!(forbidden.requests().is_empty(), "the forbidden upstream received nothing");
    assert!(allowed.requests().is_empty());
}

#[tokio::test]
async fn redirect_to_a_disallowed_host_is_refused() {
    let forbidden = ReplayServer::start(vec![Reply::stream(vec!["data: leaked\n\n".into()])]).await.expect("server");
    let redirect = Reply::error(302, "").header("location", &format!("{}/elsewhere", forbidden.url()));
    let allowed = ReplayServer::start(vec![redirect]).await.expect("server");
    let provider = hostile_against(&allowed, true).await;
    let (_, result) = run_turn(&provider, hostile_request("normal", None)).await;
    let error = result.expect_err("refused");
    assert_eq!(error.kind, ErrorKind::Denied);
    assert!(error.message.contains("redirect"), "{}", error.message);
    assert_eq!(allowed.requests().len(), 1);
    assert!(forbidden.requests().is_empty(), "the redirect target received nothing");
}

#[tokio::test]
async fn secret_reaches_the_upstream_but_never_the_guest() {
    let echo = Reply { body: ReplyBody::EchoHeaders, ..Reply::error(200, "") };
    let server = ReplayServer::start(vec![echo]).await.expect("server");
    let provider = hostile_against(&server, true).await;
    let (events, result) = run_turn(&provider, hostile_request("echo", None)).await;
    result.expect("the echo turn completes");

    let received = server.requests();
    assert_eq!(received[0].header("authorization"), Some(format!("Bearer {SECRET}").as_str()), "the host added the secret");
    let seen_by_guest = text_of(&events);
    assert!(seen_by_guest.contains("x-hostile-mode"), "the guest did get the reflected request: {seen_by_guest}");
    assert!(!seen_by_guest.contains(SECRET), "the secret was scrubbed from what the guest read");
    assert!(seen_by_guest.contains("Bearer [REDACTED]"), "{seen_by_guest}");
}

#[tokio::test]
async fn guest_cannot_set_the_secret_header_itself() {
    let server = ReplayServer::start(vec![Reply::stream(vec!["data: ok\n\n".into()])]).await.expect("server");
    let provider = hostile_against(&server, true).await;
    let (_, result) = run_turn(&provider, hostile_request("set-auth", None)).await;
    let error = result.expect_err("refused");
    assert_eq!(error.kind, ErrorKind::Denied);
    assert!(error.message.contains("reserved for secret"), "{}", error.message);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn secret_is_not_sent_where_its_entry_does_not_allow() {
    let server = ReplayServer::start(vec![Reply::stream(vec!["data: ok\n\n".into()])]).await.expect("server");
    let provider = hostile_against(&server, false).await;
    let (_, result) = run_turn(&provider, hostile_request("normal", None)).await;
    let error = result.expect_err("refused");
    assert_eq!(error.kind, ErrorKind::Denied);
    assert!(error.message.contains("secret `api-key` may not be sent"), "{}", error.message);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn secret_echoed_in_an_error_body_is_scrubbed() {
    let echo = Reply { body: ReplyBody::EchoHeaders, ..Reply::error(401, "") };
    let server = ReplayServer::start(vec![echo]).await.expect("server");
    let options = cordon::ProviderOptions {
        base_url: Some(server.url()),
        secrets: [("api-key".to_owned(), SECRET.to_owned())].into(),
        ..Default::default()
    };
    let provider = crate::support::runtime().load_provider("openai", options).await.expect("loads");
    let (events, result) = run_turn(&provider, cordon::Request::user("m", "hi")).await;
    let error = result.expect_err("401");
    assert_eq!(error.kind, ErrorKind::Auth);
    assert_eq!(server.requests()[0].header("authorization"), Some(format!("Bearer {SECRET}").as_str()));
    let everything = serde_json::to_string(&events).expect("json");
    assert!(!everything.contains(SECRET), "the secret leaked into the events: {everything}");
    assert!(error.body_excerpt.as_deref().unwrap_or("").contains("[REDACTED]"), "{error:?}");
}
