//! `cordon serve`: an OpenAI- and Anthropic-compatible gateway over sandboxed
//! providers and tools. One file per concern: [`config`] (the configuration
//! file), [`openai_request`] (Chat Completions requests),
//! [`openai_response`] (chunks, whole answers, errors), [`gateway`] (what a
//! config loads), [`anthropic`] (the Messages API), [`responses`] (the Responses API),
//! [`routes`] (the HTTP server). Work in progress on this branch (issue 14).

pub mod anthropic;
pub mod config;
pub mod gateway;
pub mod limits;
pub mod openai_request;
pub mod openai_response;
pub mod responses;
pub mod routes;
