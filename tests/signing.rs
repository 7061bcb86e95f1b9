//! Signing secrets through the real host: the hostile guest (with the
//! `hostile-signing` manifest) names an `aws-sigv4` or `google-service-account`
//! secret and the broker signs its requests. Each signature is checked by an
//! independent implementation on 127.0.0.1: AWS's own botocore recomputes
//! SigV4 from the raw request (`tests/upstreams/sigv4_verifier.py`), and a
//! token endpoint checks the JWT assertion's RS256 signature with OpenSSL and
//! its claims (`tests/upstreams/google_token.py`), with a key pair made for
//! the test. The guest tries to see, echo, forge and misdirect what the host
//! signs with, and gets nothing but clear errors and `[REDACTED]`.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use cordon::replay::{Reply, ReplayServer};
use cordon::signing::aws_credentials_json;
use cordon::{ErrorKind, Event, HostGrant, Provider, ProviderOptions, Request, TurnError};
use serde_json::json;

use crate::reflector::{Reflection, Reflector};
use crate::support::{errors_in, google_service_account, python, root, run_turn, runtime, text_of};

const ACCESS_KEY_ID: &str = "AKIDCORDONTEST0001";
const SECRET_ACCESS_KEY: &str = "cordon/test+Secret-Access-Key-0001";
const SESSION_TOKEN: &str = "cordon-session-token-0001-IQoJb3JpZ2luX2Vj";
const REGION: &str = "us-east-1";
const SERVICE: &str = "bedrock";
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// A Python upstream of `tests/upstreams`, killed when dropped.
pub(crate) struct PythonUpstream {
    child: Child,
    pub(crate) url: String,
}

impl PythonUpstream {
    fn start(script: &str, args: &[&str]) -> PythonUpstream {
        let path = root().join("tests/upstreams").join(script);
        let mut child = Command::new(python())
            .arg(&path)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", path.display()));
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        let Some(port) = line.trim().strip_prefix("listening ") else {
            let _ = child.kill();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            panic!("{script} did not start (botocore comes from tools/requirements.txt: `cargo xtask test` installs it):\n{stderr}");
        };
        PythonUpstream { url: format!("http://127.0.0.1:{port}"), child }
    }

    pub(crate) async fn get(&self, path: &str) -> serde_json::Value {
        let response = reqwest::get(format!("{}{path}", self.url)).await.expect("the upstream answers");
        serde_json::from_str(&response.text().await.expect("a body")).expect("JSON")
    }
}

impl Drop for PythonUpstream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The botocore-verifying upstream, for the test keys.
pub(crate) fn verifier(session_token: Option<&str>) -> PythonUpstream {
    let mut args = vec![ACCESS_KEY_ID, SECRET_ACCESS_KEY, REGION, SERVICE];
    args.extend(session_token);
    PythonUpstream::start("sigv4_verifier.py", &args)
}

/// The test keys as the operator gives them in code.
pub(crate) fn aws_keys(secret: &str, region: Option<&str>) -> String {
    aws_credentials_json(ACCESS_KEY_ID, secret, Some(SESSION_TOKEN), region)
}

/// The test keys without a session token, for [`verifier`]`(None)`.
pub(crate) fn aws_keys_without_token() -> String {
    aws_credentials_json(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, Some(REGION))
}

/// `hostile-signing` against `upstream` (granted with its secrets), the
/// secrets `values` bound in code, the others left unbound.
async fn hostile_signing(upstream: &str, values: &[(&str, String)], grants: Vec<HostGrant>) -> cordon::Result<Provider> {
    let origin: cordon::Origin = upstream.parse().expect("origin");
    let mut all = vec![HostGrant { origin, with_secrets: true }];
    all.extend(grants);
    let options = ProviderOptions {
        options: Some(json!({ "upstream": upstream })),
        grants: all,
        secrets: values.iter().map(|(name, value)| ((*name).to_owned(), value.clone())).collect(),
        deny_unapproved: true,
        ..ProviderOptions::default()
    };
    runtime().load_provider("hostile-signing", options).await
}

/// A request asking the hostile guest for `mode`, naming `secrets`, with
/// `headers` of its own, to `url` (for `fetch`).
fn request(mode: &str, secrets: &[&str], headers: &[(&str, &str)], url: Option<&str>) -> Request {
    let mut request = Request::user("m", "hi");
    request.provider_options = Some(json!({ "hostile": { "mode": mode, "secrets": secrets, "headers": headers, "url": url } }));
    request
}

/// The turn's error, which there must be.
fn failure(result: Result<cordon::TurnResult, TurnError>, events: &[Event]) -> TurnError {
    match result {
        Err(error) => error,
        Ok(ok) => panic!("the turn should fail; it said {:?} ({:?})", ok.text(), errors_in(events)),
    }
}

/// Everything the guest saw: its text and its errors' messages.
fn seen(events: &[Event]) -> String {
    let errors: Vec<&str> = errors_in(events).iter().map(|e| e.message.as_str()).collect();
    format!("{} {}", text_of(events), errors.join(" "))
}

/// `secret` is nowhere in `seen`: not as itself, not in base64 at any alignment.
fn assert_unseen(seen: &str, secret: &str, what: &str) {
    assert!(!seen.contains(secret), "the guest saw the {what} in: {seen}");
    for offset in 0..3usize {
        let mut shifted = vec![0u8; offset];
        shifted.extend_from_slice(secret.as_bytes());
        let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&shifted);
        let core = &encoded[(8 * offset).div_ceil(6) + 1..8 * (offset + secret.len()) / 6 - 1];
        assert!(!seen.contains(core), "the guest saw the {what} in base64 ({core}) in: {seen}");
    }
}

/// The `Signature=` of an `authorization` header.
fn signature_of(authorization: &str) -> String {
    authorization.rsplit("Signature=").next().unwrap_or_default().to_owned()
}

// ----- AWS SigV4, checked by botocore -----

#[tokio::test]
async fn sigv4_requests_are_accepted_by_botocore_and_tampered_ones_are_not() {
    let upstream = verifier(Some(SESSION_TOKEN));
    let provider = hostile_signing(&upstream.url, &[("aws", aws_keys(SECRET_ACCESS_KEY, Some(REGION)))], vec![]).await.expect("loads");
    // A plain POST, one whose body and own header differ, and Bedrock's URL shape
    // (an escaped model id, so botocore encodes it again) with a query.
    let model_url = format!("{}/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream?b=x%20y&a=1", upstream.url);
    let turns = [
        request("normal", &["aws"], &[], None),
        request("a-body-of-another-length", &["aws"], &[("x-trace", "  two   spaces ")], None),
        request("fetch", &["aws"], &[("content-type", "application/json")], Some(&model_url)),
    ];
    for turn in turns {
        let (events, result) = run_turn(&provider, turn).await;
        assert_eq!(result.expect("botocore accepts the signature").text(), "signature verified", "{:?}", errors_in(&events));
    }
    let seen = upstream.get("/_requests").await;
    let requests = seen.as_array().expect("a list");
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r["verdict"] == "verified"), "{seen:#}");
    assert!(requests[2]["target"].as_str().is_some_and(|t| t.contains("v1%3A0")), "the escaped model id went as it was: {seen:#}");

    // The same request, replayed as it was, passes; tampered, it does not.
    let recorded = &requests[0];
    let headers: Vec<(String, String)> = recorded["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter_map(|h| Some((h[0].as_str()?.to_ascii_lowercase(), h[1].as_str()?.to_owned())))
        .filter(|(name, _)| name != "host" && name != "content-length")
        .collect();
    let body = base64::engine::general_purpose::STANDARD.decode(recorded["body"].as_str().expect("body")).expect("base64");
    let replay = |headers: Vec<(String, String)>, body: Vec<u8>| {
        let mut sent = reqwest::Client::new().post(format!("{}{}", upstream.url, recorded["target"].as_str().expect("target")));
        for (name, value) in headers {
            sent = sent.header(name, value);
        }
        async move {
            let answer = sent.body(body).send().await.expect("answers");
            (answer.status().as_u16(), answer.text().await.expect("a body"))
        }
    };
    assert_eq!(replay(headers.clone(), body.clone()).await, (200, "data: signature verified\n\n".to_owned()));
    let (status, why) = replay(headers.clone(), b"tampered".to_vec()).await;
    assert_eq!(status, 403, "{why}");
    assert!(why.contains("not the body's hash"), "{why}");
    let mode_changed: Vec<(String, String)> =
        headers.iter().map(|(n, v)| (n.clone(), if n == "x-hostile-mode" { "tampered".to_owned() } else { v.clone() })).collect();
    let (status, why) = replay(mode_changed, body).await;
    assert_eq!(status, 403, "{why}");
    assert!(why.contains("signature does not match"), "{why}");

    // A host holding the wrong secret key signs requests AWS refuses.
    let wrong = hostile_signing(&upstream.url, &[("aws", aws_keys("not-the-secret-key", Some(REGION)))], vec![]).await.expect("loads");
    let (events, result) = run_turn(&wrong, request("normal", &["aws"], &[], None)).await;
    let error = failure(result, &events);
    assert!(error.message.contains("403") || error.message.contains("signature does not match"), "{error:?}");
}

#[tokio::test]
async fn the_bedrock_providers_requests_are_signed_as_botocore_signs_them() {
    let upstream = verifier(Some(SESSION_TOKEN));
    let options = ProviderOptions {
        base_url: Some(upstream.url.clone()),
        secrets: [("aws".to_owned(), aws_keys(SECRET_ACCESS_KEY, Some(REGION)))].into(),
        deny_unapproved: true,
        ..ProviderOptions::default()
    };
    let provider = runtime().load_provider("bedrock", options).await.expect("bedrock loads");
    // The verifier answers SSE, not an event stream: only the request is in question here.
    let _ = run_turn(&provider, Request::user("anthropic.claude-3-5-sonnet-20240620-v1:0", "hi")).await;
    let seen = upstream.get("/_requests").await;
    let requests = seen.as_array().expect("a list");
    assert_eq!(requests.len(), 1, "{seen:#}");
    assert_eq!(requests[0]["verdict"], "verified", "{seen:#}");
    assert!(requests[0]["target"].as_str().is_some_and(|t| t.ends_with("v1%3A0/converse-stream")), "{seen:#}");
}

#[tokio::test]
async fn a_redirect_is_signed_again_for_a_granted_origin_and_never_elsewhere() {
    let upstream = verifier(Some(SESSION_TOKEN));
    let elsewhere = ReplayServer::start(vec![Reply::stream(vec!["data: unsigned\n\n".into()])]).await.expect("server");
    let no_secrets = HostGrant { origin: elsewhere.url().parse().expect("origin"), with_secrets: false };
    let provider = hostile_signing(&upstream.url, &[("aws", aws_keys(SECRET_ACCESS_KEY, Some(REGION)))], vec![no_secrets])
        .await
        .expect("loads");

    // Within the granted origin: each hop has its own signature, both accepted.
    let same = format!("{}/redirect?to=%2Fstream", upstream.url);
    let (events, result) = run_turn(&provider, request("fetch", &["aws"], &[], Some(&same))).await;
    assert_eq!(result.expect("both hops verified").text(), "signature verified", "{:?}", errors_in(&events));
    let seen = upstream.get("/_requests").await;
    let targets: Vec<&str> = seen.as_array().expect("a list").iter().filter_map(|r| r["target"].as_str()).collect();
    assert_eq!(targets, ["/redirect?to=%2Fstream", "/stream"], "{seen:#}");

    // To an origin granted without secrets: the hop goes, unsigned.
    // The target is encoded strictly (RFC 3986's unreserved characters kept), as AWS clients encode a query.
    const STRICT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    let target = percent_encoding::utf8_percent_encode(&format!("{}/stream", elsewhere.url()), STRICT).to_string();
    let away = format!("{}/redirect?to={target}", upstream.url);
    let (events, result) = run_turn(&provider, request("fetch", &["aws"], &[], Some(&away))).await;
    assert_eq!(result.expect("the unsigned hop is answered").text(), "unsigned", "{:?}", errors_in(&events));
    let received = elsewhere.requests();
    assert_eq!(received.len(), 1);
    let signed: Vec<&String> = received[0].headers.iter().map(|(n, _)| n).filter(|n| *n == "authorization" || n.starts_with("x-amz-")).collect();
    assert!(signed.is_empty(), "the redirect carried {signed:?}");

    // Asked for directly, a request there is not signed at all: it is refused.
    let (events, result) = run_turn(&provider, request("fetch", &["aws"], &[], Some(&format!("{}/stream", elsewhere.url())))).await;
    let error = failure(result, &events);
    assert_eq!(error.kind, ErrorKind::Denied, "{error:?}");
    assert!(error.message.contains("secret `aws` may not be sent to") && error.message.contains(&elsewhere.url()), "{error:?}");
    assert_eq!(elsewhere.requests().len(), 1, "nothing more reached it");
}

#[tokio::test]
async fn a_guest_cannot_forge_or_override_what_the_signer_sets() {
    let upstream = verifier(Some(SESSION_TOKEN));
    let provider = hostile_signing(&upstream.url, &[("aws", aws_keys(SECRET_ACCESS_KEY, Some(REGION)))], vec![]).await.expect("loads");
    let forged_auth = format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20150830/{REGION}/{SERVICE}/aws4_request, SignedHeaders=host, Signature=00");
    for (header, value) in [
        ("authorization", forged_auth.as_str()),
        ("x-amz-date", "20150830T123600Z"),
        ("x-amz-security-token", "a-token-of-the-guests"),
        ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
    ] {
        let (events, result) = run_turn(&provider, request("normal", &["aws"], &[(header, value)], None)).await;
        let error = failure(result, &events);
        assert_eq!(error.kind, ErrorKind::Denied, "{header}: {error:?}");
        assert!(error.message.contains(&format!("header `{header}` is the host's to set")) && error.message.contains("secret `aws`"), "{error:?}");
    }
    for (secrets, needle) in [(&["aws", "google"][..], "signed by one secret"), (&["aws", "api-key"][..], "both set `authorization`")] {
        let (events, result) = run_turn(&provider, request("normal", secrets, &[], None)).await;
        let error = failure(result, &events);
        assert!(error.message.contains(needle), "{secrets:?}: {error:?}");
    }
    assert_eq!(upstream.get("/_requests").await.as_array().map(Vec::len), Some(0), "no forged request went out");
}

#[tokio::test]
async fn keys_tokens_and_signatures_never_reach_the_guest() {
    // A reflecting upstream hands back every header it got, in base64.
    let reflector = Reflector::start(Reflection::Base64).await;
    let provider = hostile_signing(&reflector.url(), &[("aws", aws_keys(SECRET_ACCESS_KEY, Some(REGION)))], vec![]).await.expect("loads");
    let (events, result) = run_turn(&provider, request("echo", &["aws"], &[], None)).await;
    result.expect("the echo turn completes");
    let received = reflector.requests();
    let authorization = received[0].iter().find(|(n, _)| n == "authorization").map(|(_, v)| v.clone()).expect("signed");
    let reflected = seen(&events);
    assert!(reflected.contains("[REDACTED]"), "{reflected}");
    assert_unseen(&reflected, &signature_of(&authorization), "signature");
    assert_unseen(&reflected, SESSION_TOKEN, "session token");
    // And read plainly by a verifying upstream that echoes JSON.
    let upstream = verifier(Some(SESSION_TOKEN));
    let provider = hostile_signing(&upstream.url, &[("aws", aws_keys(SECRET_ACCESS_KEY, Some(REGION)))], vec![]).await.expect("loads");
    let (events, result) = run_turn(&provider, request("echo", &["aws"], &[], None)).await;
    let echoed = result.expect("verified, then echoed").text();
    assert!(echoed.contains("\"X-Amz-Security-Token\": \"[REDACTED]\"") || echoed.contains("\"x-amz-security-token\": \"[REDACTED]\""), "{echoed}");
    assert!(echoed.contains("Signature=[REDACTED]"), "{echoed}");
    assert_unseen(&seen(&events), SESSION_TOKEN, "session token");
    // The sandbox shows it nothing of them either.
    let (events, _) = run_turn(&provider, request("probe", &["aws"], &[], None)).await;
    let probed = seen(&events);
    for (secret, what) in [(SECRET_ACCESS_KEY, "secret key"), (SESSION_TOKEN, "session token")] {
        assert_unseen(&probed, secret, what);
    }
}

#[tokio::test]
async fn aws_mistakes_are_named() {
    let upstream = verifier(None);
    // No region bound, and 127.0.0.1 names none.
    let provider = hostile_signing(&upstream.url, &[("aws", aws_credentials_json(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, None))], vec![])
        .await
        .expect("loads");
    let (events, result) = run_turn(&provider, request("normal", &["aws"], &[], None)).await;
    let error = failure(result, &events);
    assert!(error.message.contains("no AWS region to sign for") && error.message.contains("aws:REGION"), "{error:?}");
    // Credentials that are not credentials stop the load, without quoting them.
    let err = hostile_signing(&upstream.url, &[("aws", "AKID:wJalrXUtnFEMI".to_owned())], vec![]).await.err().expect("refused");
    let text = err.to_string();
    assert!(text.contains("secret `aws`") && text.contains("not AWS credentials JSON"), "{text}");
    assert!(!text.contains("wJalrXUtnFEMI"), "{text}");
}

// ----- Google service accounts, checked by a token endpoint -----

/// Runs `openssl` with `args`.
fn openssl(args: &[&str]) {
    let status = Command::new("openssl").args(args).stderr(Stdio::null()).status();
    assert!(status.is_ok_and(|s| s.success()), "openssl {args:?} failed; the Google tests need the `openssl` command");
}

/// The public key (a PEM file in `dir`) of the test service account
/// (`support::google_service_account`), or with `someone_else`, of a key pair
/// made for it alone.
fn public_key(dir: &Path, someone_else: bool) -> String {
    let private = dir.join(if someone_else { "other.pem" } else { "account.pem" });
    let private_path = private.display().to_string();
    if someone_else {
        openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", &private_path]);
    } else {
        let account: serde_json::Value = serde_json::from_str(&google_service_account("http://unused")).expect("json");
        std::fs::write(&private, account["private_key"].as_str().expect("a key")).expect("write the key");
    }
    let public = format!("{private_path}.pub");
    openssl(&["pkey", "-in", &private_path, "-pubout", "-out", &public]);
    public
}

/// The test service account's e-mail address.
fn client_email() -> String {
    let account: serde_json::Value = serde_json::from_str(&google_service_account("http://unused")).expect("json");
    account["client_email"].as_str().expect("an address").to_owned()
}

/// A token endpoint trusting `public_pem`, issuing tokens of `lifetimes`, and
/// the test service account's key file pointing at it.
fn token_endpoint(public_pem: &str, lifetimes: &str, reject: bool) -> (PythonUpstream, String) {
    let email = client_email();
    let mut args = vec![public_pem, email.as_str(), SCOPE, lifetimes];
    if reject {
        args.push("reject");
    }
    let endpoint = PythonUpstream::start("google_token.py", &args);
    let key_file = google_service_account(&format!("{}/token", endpoint.url));
    (endpoint, key_file)
}

#[tokio::test]
async fn google_tokens_are_minted_once_and_reused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (endpoint, key_file) = token_endpoint(&public_key(dir.path(), false), "3600", false);
    let provider = hostile_signing(&endpoint.url, &[("google", key_file)], vec![]).await.expect("loads");
    for _ in 0..5 {
        let (events, result) = run_turn(&provider, request("normal", &["google"], &[], None)).await;
        assert_eq!(result.expect("the token is accepted").text(), "token 0", "{:?}", errors_in(&events));
    }
    let together = futures_util::future::join_all((0..10).map(|_| run_turn(&provider, request("normal", &["google"], &[], None)))).await;
    assert!(together.iter().all(|(_, r)| r.as_ref().is_ok_and(|ok| ok.text() == "token 0")));
    assert_eq!(endpoint.get("/_stats").await, json!({ "exchanges": 1, "refused": 0 }), "one exchange served 15 turns");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_for_50_concurrent_turns() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The first token lives one second; the next ones an hour.
    let (endpoint, key_file) = token_endpoint(&public_key(dir.path(), false), "1,3600", false);
    let provider = hostile_signing(&endpoint.url, &[("google", key_file)], vec![]).await.expect("loads");
    let (events, result) = run_turn(&provider, request("normal", &["google"], &[], None)).await;
    assert_eq!(result.expect("the first token works").text(), "token 0", "{:?}", errors_in(&events));
    // Past its expiry (the endpoint would refuse it now).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let turns = futures_util::future::join_all((0..50).map(|_| run_turn(&provider, request("normal", &["google"], &[], None)))).await;
    for (events, result) in &turns {
        let text = result.as_ref().map(cordon::TurnResult::text);
        assert_eq!(text.as_deref(), Ok("token 1"), "{:?}", errors_in(events));
    }
    assert_eq!(endpoint.get("/_stats").await["exchanges"], 2, "exactly one refresh for 50 turns");
}

#[tokio::test]
async fn a_refused_assertion_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The endpoint checks the RS256 signature against another account's key.
    let (endpoint, key_file) = token_endpoint(&public_key(dir.path(), true), "3600", false);
    let provider = hostile_signing(&endpoint.url, &[("google", key_file)], vec![]).await.expect("loads");
    let (events, result) = run_turn(&provider, request("normal", &["google"], &[], None)).await;
    let error = failure(result, &events);
    // Answered 401 by the host, which says why in the body: the guest reports
    // it as it would a key the upstream refuses (this one quotes the body).
    assert_eq!((error.kind, error.status), (ErrorKind::Auth, Some(401)), "{error:?}");
    let said = error.body_excerpt.clone().unwrap_or_default();
    for needle in ["secret `google`", "refused the service account's assertion", "400", "invalid_grant", "Invalid JWT Signature"] {
        assert!(said.contains(needle), "`{needle}` missing from: {said}");
    }
    assert_eq!(endpoint.get("/_stats").await, json!({ "exchanges": 0, "refused": 1 }));

    // A token endpoint that cannot be reached is a network error (worth a
    // retry), not a refusal: the request is never sent.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let nowhere = google_service_account(&format!("http://{}/token", closed.local_addr().expect("its address")));
    drop(closed);
    let provider = hostile_signing(&endpoint.url, &[("google", nowhere)], vec![]).await.expect("loads");
    let (events, result) = run_turn(&provider, request("normal", &["google"], &[], None)).await;
    let error = failure(result, &events);
    assert_eq!(error.kind, ErrorKind::Network, "{error:?}");
    assert!(error.message.contains("could not be reached"), "{}", error.message);

    // An endpoint that quotes the assertion back: the guest never sees it.
    let (quoting, key_file) = token_endpoint(&public_key(dir.path(), false), "3600", true);
    let provider = hostile_signing(&quoting.url, &[("google", key_file)], vec![]).await.expect("loads");
    let (events, result) = run_turn(&provider, request("normal", &["google"], &[], None)).await;
    let error = failure(result, &events);
    let said = error.body_excerpt.clone().unwrap_or_default();
    assert!(said.contains("such as [REDACTED]"), "{said}");
    assert!(!said.contains("eyJ") && !error.message.contains("eyJ"), "no part of a JWT is shown: {said}");
}

#[tokio::test]
async fn google_tokens_echoed_back_are_scrubbed_and_bad_keys_are_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (endpoint, key_file) = token_endpoint(&public_key(dir.path(), false), "3600", false);
    // The token endpoint is the operator's; the upstream reflects in base64.
    let reflector = Reflector::start(Reflection::Base64).await;
    let provider = hostile_signing(&reflector.url(), &[("google", key_file.clone())], vec![]).await.expect("loads");
    let (events, result) = run_turn(&provider, request("echo", &["google"], &[], None)).await;
    result.expect("the echo turn completes");
    let authorization = reflector.requests()[0].iter().find(|(n, _)| n == "authorization").map(|(_, v)| v.clone()).expect("a token was sent");
    let token = authorization.strip_prefix("Bearer ").expect("a bearer token");
    assert!(token.starts_with("ya29.test-0-"), "{token}");
    assert_unseen(&seen(&events), token, "access token");
    // A guest's own authorization is refused.
    let (events, result) = run_turn(&provider, request("normal", &["google"], &[("authorization", "Bearer mine")], None)).await;
    assert!(failure(result, &events).message.contains("header `authorization` is the host's to set"));

    let mut broken: serde_json::Value = serde_json::from_str(&key_file).expect("json");
    broken["client_email"] = serde_json::Value::Null;
    let err = hostile_signing(&endpoint.url, &[("google", broken.to_string())], vec![]).await.err().expect("refused");
    assert!(err.to_string().contains("secret `google`") && err.to_string().contains("no `client_email`"), "{err}");
    broken["client_email"] = client_email().into();
    broken["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into();
    let err = hostile_signing(&endpoint.url, &[("google", broken.to_string())], vec![]).await.err().expect("refused");
    assert!(err.to_string().contains("`private_key` is not a usable RSA key"), "{err}");
}
