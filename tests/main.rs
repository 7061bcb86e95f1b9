//! Cordon's integration tests: real components from `guests/` (built by
//! `cargo xtask build`) in the real host, against real HTTP servers on 127.0.0.1.
//! One test binary, so wasmtime is linked once.

mod support;

mod anthropic_fixtures;
mod azure;
mod bedrock;
mod broker;
mod c_guest;
mod cohere;
mod cli;
mod contract_versions;
mod error_bodies;
mod errors;
mod gemini_fixtures;
mod go_guest;
mod hostile;
mod hotswap;
mod js_guest;
mod loading;
mod models_health;
mod models_health_languages;
mod ollama;
mod openai_fixtures;
mod presets;
mod python_guest;
mod reflector;
mod responses;
mod retries;
mod serve;
mod serve_ops;
mod serve_providers;
mod serve_budgets;
mod serve_clients;
mod serve_costs;
mod serve_keys;
mod serve_limits;
mod serve_metrics;
mod serve_models;
mod serve_hostile;
mod serve_responses;
mod serve_tracing;
mod signing;
mod tool_loop;
mod tools;
mod trust_boundary;
mod upstream_faults;
mod vertex;
