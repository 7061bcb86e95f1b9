//! `list-models` and `health` (contract 0.2.0): not offered. Bedrock lists
//! models with `ListFoundationModels` on the control-plane host
//! (`bedrock.{region}.amazonaws.com`), which this provider's manifest does not
//! ask to reach (it asks for `bedrock-runtime` only, where turns go), and the
//! runtime host has no cheap read to probe with. Both say so.

use cordon_sdk::models;
use cordon_sdk::ProviderError;

/// Why `list-models` and `health` are not offered.
pub const WHY: &str = "Bedrock lists models with ListFoundationModels on the `bedrock` control-plane host, \
    which this provider does not ask to reach (only `bedrock-runtime`); use `aws bedrock list-foundation-models`";

/// The `list-models` error.
pub fn unsupported() -> ProviderError {
    models::unsupported("bedrock", WHY)
}
