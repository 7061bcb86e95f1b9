//! The public error type. Every error names the thing that failed and, where
//! there is one, the fix.

use std::path::PathBuf;

use crate::types::TurnError;

/// Errors from loading components and running turns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// The file is not a usable component.
    #[error("{}: {reason}", path.display())]
    InvalidComponent {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// The component was built against a contract version this host cannot serve.
    #[error(
        "{}: built against {found}, but this host serves {served}; \
         rebuild the component against the host's `wit/` (or run a host that serves {found})",
        path.display()
    )]
    ContractVersion {
        /// The file.
        path: PathBuf,
        /// What the component uses, e.g. `cordon:provider/provider@0.2.0`.
        found: String,
        /// The versions this host serves.
        served: &'static str,
    },

    /// The manifest is missing or invalid.
    #[error("manifest {}: {reason}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// No component of that name in the components directory.
    #[error(
        "no provider `{name}` in {}: build the guests (`cargo xtask build`) or point \
         --components / CORDON_COMPONENTS at the folder holding `{name}.wasm`",
        dir.display()
    )]
    NotFound {
        /// The name asked for.
        name: String,
        /// Where it was looked for.
        dir: PathBuf,
    },

    /// The component asks for hosts or secrets the operator has not granted.
    #[error("{0}")]
    NotApproved(Box<NotApproved>),

    /// The component's `init` refused its configuration, or a call failed at load.
    #[error("provider `{provider}` failed to start: {error}")]
    Init {
        /// The provider.
        provider: String,
        /// The failure.
        error: TurnError,
    },

    /// A hot-swap was refused; the current version keeps serving.
    #[error("reload of `{name}` from {} failed, `{serving}` keeps serving: {source}", file.display())]
    Reload {
        /// The provider.
        name: String,
        /// The file that was to replace it.
        file: PathBuf,
        /// The version still serving.
        serving: String,
        /// Why the new file was refused.
        source: Box<Error>,
    },

    /// A turn failed.
    #[error("{0}")]
    Turn(TurnError),

    /// The component's contract version has no such export (e.g. `list-models`
    /// on a component built against 0.1.0).
    #[error(
        "provider `{provider}` cannot answer `{call}`: not supported by this component's contract version ({contract}); \
         rebuild it against cordon:provider@0.2.0 or later"
    )]
    NotSupported {
        /// The provider's name.
        provider: String,
        /// The export asked for, e.g. `list-models`.
        call: &'static str,
        /// The component's contract version, e.g. `0.1.0`.
        contract: &'static str,
    },

    /// Invalid host configuration.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The engine failed (a host bug or resource exhaustion).
    #[error("engine error: {0:#}")]
    Engine(#[from] anyhow::Error),
}

/// What a component asks for and the operator has not granted, and how to grant it.
#[derive(Debug, thiserror::Error)]
#[error(
    "component `{name}` ({}, {digest}) asks for what the operator has not granted:\n{}\n{how}",
    path.display(),
    asks.iter().map(|ask| format!("  - {ask}")).collect::<Vec<_>>().join("\n")
)]
pub struct NotApproved {
    /// The component's name.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// `sha256:` of the file.
    pub digest: String,
    /// Each ask that is not granted.
    pub asks: Vec<String>,
    /// How to grant them.
    pub how: String,
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
