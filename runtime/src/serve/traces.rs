//! The gateway's spans exported over OTLP (`[telemetry] otlp-endpoint` in
//! its config): the spans of each request (`request`, and inside it the
//! `debug` ones the log shows only at `debug`: `turn`, `attempt`,
//! `to_native`, `upstream` and `tool_call`) become OpenTelemetry spans, batched
//! and sent as OTLP/HTTP JSON to `{endpoint}/v1/traces` by the
//! `opentelemetry` crates, under the service name of the config.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// The layer the spans reach the exporter through.
pub type OtlpLayer = tracing_opentelemetry::OpenTelemetryLayer<tracing_subscriber::Registry, SdkTracer>;

/// What is exported: Cordon's own spans, `debug` ones included, and the
/// lines logged in them at `info` and above, as their events.
pub fn exported(metadata: &tracing::Metadata<'_>) -> bool {
    let level = if metadata.is_span() { tracing::Level::DEBUG } else { tracing::Level::INFO };
    metadata.target().starts_with("cordon") && *metadata.level() <= level
}

/// Where spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpConfig {
    /// The collector's OTLP/HTTP base URL (`http://127.0.0.1:4318`).
    pub endpoint: String,
    /// The `service.name` the spans carry.
    pub service_name: String,
}

/// A layer exporting spans to `config`'s endpoint, and its provider (shut it
/// down at exit: that sends what is still batched).
pub fn otlp_layer(config: &OtlpConfig) -> Result<(OtlpLayer, SdkTracerProvider), String> {
    let url = format!("{}/v1/traces", config.endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(url.clone())
        .build()
        .map_err(|err| format!("cannot export spans to {url}: {err}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(config.service_name.clone()).build())
        .build();
    let tracer = provider.tracer("cordon");
    Ok((tracing_opentelemetry::layer().with_tracer(tracer), provider))
}
