//! `cordon serve`: an OpenAI- and Anthropic-compatible gateway over sandboxed
//! providers and tools. One file per concern: [`config`] (the configuration
//! file). Work in progress on this branch (issue 14).

pub mod config;
