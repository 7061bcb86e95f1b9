//! The guest's 0.2.0 imports (`http`, `log`): the same functions as 0.1.0's
//! under 0.2.0's names, so each delegates to [`crate::host`]'s implementation
//! and converts the few records `http` and `log` declare themselves.

use wasmtime::component::Resource;

use crate::bindings::v0_2::cordon::provider::{http, log};
use crate::bindings::{http as http_0_1, log as log_0_1, wit};
use crate::broker::IncomingBody;
use crate::host::HostState;

impl http::Host for HostState {
    async fn send(&mut self, request: wit::OutgoingRequest) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
        let answer = <HostState as http_0_1::Host>::send(self, request).await?;
        Ok(answer
            .map(|response| http::Response { status: response.status, headers: response.headers, body: response.body })
            .map_err(http_error))
    }
}

impl http::HostBody for HostState {
    async fn read(&mut self, body: Resource<IncomingBody>, max_bytes: u32) -> wasmtime::Result<Result<Option<Vec<u8>>, http::HttpError>> {
        Ok(<HostState as http_0_1::HostBody>::read(self, body, max_bytes).await?.map_err(http_error))
    }

    async fn drop(&mut self, body: Resource<IncomingBody>) -> wasmtime::Result<()> {
        <HostState as http_0_1::HostBody>::drop(self, body).await
    }
}

impl log::Host for HostState {
    async fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            log::Level::Trace => log_0_1::Level::Trace,
            log::Level::Debug => log_0_1::Level::Debug,
            log::Level::Info => log_0_1::Level::Info,
            log::Level::Warn => log_0_1::Level::Warn,
            log::Level::Error => log_0_1::Level::Error,
        };
        <HostState as log_0_1::Host>::write(self, level, message).await
    }
}

/// A broker error in 0.2.0's record.
fn http_error(error: http_0_1::HttpError) -> http::HttpError {
    use http::HttpErrorKind as Guest;
    use http_0_1::HttpErrorKind as Host;
    let kind = match error.kind {
        Host::Denied => Guest::Denied,
        Host::InvalidRequest => Guest::InvalidRequest,
        Host::Connect => Guest::Connect,
        Host::Timeout => Guest::Timeout,
        Host::TooLarge => Guest::TooLarge,
        Host::Protocol => Guest::Protocol,
        Host::Limit => Guest::Limit,
    };
    http::HttpError { kind, message: error.message }
}
