//! `list-models` and `health` (contract 0.2.0): not offered yet. Vertex lists
//! publisher models under `v1beta1/publishers/{publisher}/models`, an API
//! apart from the one turns use (and it needs the Model Garden permission the
//! service account may lack), so this provider says so rather than guess.

use cordon_sdk::models;
use cordon_sdk::ProviderError;

/// Why `list-models` and `health` are not offered.
pub const WHY: &str = "this provider does not read Vertex's publisher-model catalogue (v1beta1/publishers/*/models) yet; \
    see the Model Garden for the models of your project and location";

/// The `list-models` error.
pub fn unsupported() -> ProviderError {
    models::unsupported("vertex", WHY)
}
