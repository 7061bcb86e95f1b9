//! `cordon serve`: an OpenAI- and Anthropic-compatible gateway over sandboxed
//! providers and tools. One file per concern: [`config`] (the configuration
//! file), [`gateway`] (what a configuration loads, and its reload),
//! [`limits`] (the gateway's own limits and deadlines), [`keys`] (who is
//! calling), [`ledger`] (rate limits and budgets, and the usage behind them),
//! [`prices`] (what tokens cost), [`metering`] (a turn's admission, cost and
//! settlement), [`metrics`] (Prometheus), [`traces`] (OTLP), [`upstream`]
//! (upstream models and health, cached), [`routes`] (the HTTP server and its streams), and one per
//! API: [`openai_request`] and
//! [`openai_response`] (Chat Completions), [`responses`] (the Responses API),
//! [`anthropic`] (the Messages API).

pub mod anthropic;
pub mod config;
pub mod gateway;
pub mod keys;
pub mod ledger;
pub mod limits;
pub mod metering;
pub mod metrics;
pub mod openai_request;
pub mod openai_response;
pub mod prices;
pub mod responses;
pub mod routes;
pub mod traces;
pub mod upstream;
