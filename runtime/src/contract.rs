//! The contract versions this host serves (`cordon:provider@0.1.0` and
//! `@0.2.0`) and version-independent handles on a component's exports: a
//! loaded component is prepared with its own version's bindings, and the rest
//! of the host calls it through [`ProviderPre`] / [`ProviderInstance`] and
//! [`ToolPre`] / [`ToolInstance`] without caring which. Requests, events and
//! results are the same Rust types in both versions (see [`crate::bindings`]);
//! what 0.2.0 added (`list-models`, `health`) is an error on a 0.1.0
//! component, which callers check for first to say so clearly.

use wasmtime::Store;
use wasmtime::component::{InstancePre, ResourceAny};

use crate::bindings::{ProviderInfo, tool_api, v0_1, v0_2, wit};
use crate::host::HostState;

/// Every contract version this host serves, as an error message names them.
pub const SERVED_PACKAGES: &str = "cordon:provider@0.1.0 and cordon:provider@0.2.0";

/// A contract version this host serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContractVersion {
    /// `cordon:provider@0.1.0`: turns only.
    V0_1,
    /// `cordon:provider@0.2.0`: adds `list-models` and `health`.
    V0_2,
}

impl ContractVersion {
    /// Every version served, oldest first.
    pub const SERVED: [ContractVersion; 2] = [ContractVersion::V0_1, ContractVersion::V0_2];
    /// The version `wit/` holds, which new components are built against.
    pub const CURRENT: ContractVersion = ContractVersion::V0_2;

    /// `0.1.0` or `0.2.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "0.1.0",
            ContractVersion::V0_2 => "0.2.0",
        }
    }

    /// The package and version as a manifest writes it, e.g. `cordon:provider@0.2.0`.
    pub fn package(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "cordon:provider@0.1.0",
            ContractVersion::V0_2 => "cordon:provider@0.2.0",
        }
    }

    /// The served version an interface version (`0.2.0`, `0.2.3`) belongs to:
    /// for 0.x, the same minor (the component model's semver rule).
    pub fn of_interface(version: &str) -> Option<ContractVersion> {
        let mut parts = version.split('.');
        let (major, minor) = (parts.next()?.parse::<u64>().ok()?, parts.next()?.parse::<u64>().ok()?);
        parts.next()?.parse::<u64>().ok()?;
        match (major, minor) {
            (0, 1) => Some(ContractVersion::V0_1),
            (0, 2) => Some(ContractVersion::V0_2),
            _ => None,
        }
    }

    /// The version a manifest's `contract` names, e.g. `cordon:provider@0.2.0`.
    pub fn of_manifest(contract: &str) -> Option<ContractVersion> {
        Self::SERVED.into_iter().find(|version| version.package() == contract)
    }

    /// The served versions, as manifests write them: `cordon:provider@0.1.0, ...`.
    pub fn served_list() -> String {
        Self::SERVED.map(ContractVersion::package).join(", ")
    }
}

impl std::fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider component ready to instantiate, with its version's bindings.
#[derive(Clone)]
pub enum ProviderPre {
    /// Built against 0.1.0.
    V0_1(v0_1::ProviderComponentPre<HostState>),
    /// Built against 0.2.0.
    V0_2(v0_2::ProviderComponentPre<HostState>),
}

/// One instance of a provider component.
pub enum ProviderInstance {
    /// Built against 0.1.0.
    V0_1(v0_1::ProviderComponent),
    /// Built against 0.2.0.
    V0_2(v0_2::ProviderComponent),
}

impl ProviderPre {
    /// Check `pre` against `version`'s provider world.
    pub fn new(version: ContractVersion, pre: InstancePre<HostState>) -> wasmtime::Result<ProviderPre> {
        Ok(match version {
            ContractVersion::V0_1 => ProviderPre::V0_1(v0_1::ProviderComponentPre::new(pre)?),
            ContractVersion::V0_2 => ProviderPre::V0_2(v0_2::ProviderComponentPre::new(pre)?),
        })
    }

    /// The contract version it was built against.
    pub fn version(&self) -> ContractVersion {
        match self {
            ProviderPre::V0_1(_) => ContractVersion::V0_1,
            ProviderPre::V0_2(_) => ContractVersion::V0_2,
        }
    }

    /// A fresh instance in `store`.
    pub async fn instantiate_async(&self, store: &mut Store<HostState>) -> wasmtime::Result<ProviderInstance> {
        Ok(match self {
            ProviderPre::V0_1(pre) => ProviderInstance::V0_1(pre.instantiate_async(store).await?),
            ProviderPre::V0_2(pre) => ProviderInstance::V0_2(pre.instantiate_async(store).await?),
        })
    }
}

/// The calls into a provider instance, the same whatever its version.
impl ProviderInstance {
    /// `info`.
    pub async fn info(&self, store: &mut Store<HostState>) -> wasmtime::Result<ProviderInfo> {
        match self {
            ProviderInstance::V0_1(instance) => instance.cordon_provider_provider().call_info(store).await,
            ProviderInstance::V0_2(instance) => {
                instance.cordon_provider_provider().call_info(store).await.map(provider_info_of_0_2)
            }
        }
    }

    /// `init`.
    pub async fn init(
        &self,
        store: &mut Store<HostState>,
        config: &wit::ProviderConfig,
    ) -> wasmtime::Result<Result<wit::State, wit::ProviderError>> {
        match self {
            ProviderInstance::V0_1(instance) => instance.cordon_provider_provider().call_init(store, config).await,
            ProviderInstance::V0_2(instance) => instance.cordon_provider_provider().call_init(store, config).await,
        }
    }

    /// `to-native`.
    pub async fn to_native(
        &self,
        store: &mut Store<HostState>,
        state: &wit::State,
        request: &wit::Request,
    ) -> wasmtime::Result<Result<wit::NativeRequest, wit::ProviderError>> {
        match self {
            ProviderInstance::V0_1(instance) => instance.cordon_provider_provider().call_to_native(store, state, request).await,
            ProviderInstance::V0_2(instance) => instance.cordon_provider_provider().call_to_native(store, state, request).await,
        }
    }

    /// The `turn` constructor.
    pub async fn start_turn(
        &self,
        store: &mut Store<HostState>,
        state: &wit::State,
        native: &wit::NativeRequest,
    ) -> wasmtime::Result<ResourceAny> {
        match self {
            ProviderInstance::V0_1(instance) => instance.cordon_provider_provider().turn().call_constructor(store, state, native).await,
            ProviderInstance::V0_2(instance) => instance.cordon_provider_provider().turn().call_constructor(store, state, native).await,
        }
    }

    /// `turn.next`.
    pub async fn next(&self, store: &mut Store<HostState>, turn: ResourceAny) -> wasmtime::Result<Option<Vec<wit::Event>>> {
        match self {
            ProviderInstance::V0_1(instance) => instance.cordon_provider_provider().turn().call_next(store, turn).await,
            ProviderInstance::V0_2(instance) => instance.cordon_provider_provider().turn().call_next(store, turn).await,
        }
    }

    /// `finalize`.
    pub async fn finalize(
        &self,
        store: &mut Store<HostState>,
        state: &wit::State,
        turn: ResourceAny,
    ) -> wasmtime::Result<Result<wit::Finalized, wit::ProviderError>> {
        match self {
            ProviderInstance::V0_1(instance) => instance.cordon_provider_provider().call_finalize(store, state, turn).await,
            ProviderInstance::V0_2(instance) => instance.cordon_provider_provider().call_finalize(store, state, turn).await,
        }
    }

    /// `list-models` (0.2.0); an error on a 0.1.0 instance, which has no such
    /// export (callers check [`ProviderPre::version`] first and say so clearly).
    pub async fn list_models(
        &self,
        store: &mut Store<HostState>,
        state: &wit::State,
    ) -> wasmtime::Result<Result<Vec<v0_2::exports::cordon::provider::provider::ModelInfo>, wit::ProviderError>> {
        match self {
            ProviderInstance::V0_1(_) => Err(missing_export("list-models")),
            ProviderInstance::V0_2(instance) => instance.cordon_provider_provider().call_list_models(store, state).await,
        }
    }

    /// `health` (0.2.0); an error on a 0.1.0 instance, as for `list_models`.
    pub async fn health(
        &self,
        store: &mut Store<HostState>,
        state: &wit::State,
    ) -> wasmtime::Result<v0_2::exports::cordon::provider::provider::HealthReport> {
        match self {
            ProviderInstance::V0_1(_) => Err(missing_export("health")),
            ProviderInstance::V0_2(instance) => instance.cordon_provider_provider().call_health(store, state).await,
        }
    }
}

fn missing_export(call: &str) -> wasmtime::Error {
    wasmtime::Error::msg(format!("`{call}` is not in contract 0.1.0, which this component was built against"))
}

/// 0.2.0's `provider-info` (the same record) as the host's.
fn provider_info_of_0_2(info: v0_2::exports::cordon::provider::provider::ProviderInfo) -> ProviderInfo {
    use v0_1::exports::cordon::provider::provider::Capability as Host;
    use v0_2::exports::cordon::provider::provider::Capability as Guest;
    let capabilities = info
        .capabilities
        .into_iter()
        .map(|capability| match capability {
            Guest::Streaming => Host::Streaming,
            Guest::Tools => Host::Tools,
            Guest::Reasoning => Host::Reasoning,
            Guest::Images => Host::Images,
            Guest::JsonOutput => Host::JsonOutput,
        })
        .collect();
    ProviderInfo {
        name: info.name,
        version: info.version,
        models: info.models,
        default_model: info.default_model,
        capabilities,
        supported_settings: info.supported_settings,
    }
}

/// A tool component ready to instantiate, with its version's bindings.
#[derive(Clone)]
pub enum ToolPre {
    /// Built against 0.1.0.
    V0_1(v0_1::tool_world::ToolComponentPre<HostState>),
    /// Built against 0.2.0.
    V0_2(v0_2::tool_world::ToolComponentPre<HostState>),
}

/// One instance of a tool component.
pub enum ToolInstance {
    /// Built against 0.1.0.
    V0_1(v0_1::tool_world::ToolComponent),
    /// Built against 0.2.0.
    V0_2(v0_2::tool_world::ToolComponent),
}

impl ToolPre {
    /// Check `pre` against `version`'s tool world.
    pub fn new(version: ContractVersion, pre: InstancePre<HostState>) -> wasmtime::Result<ToolPre> {
        Ok(match version {
            ContractVersion::V0_1 => ToolPre::V0_1(v0_1::tool_world::ToolComponentPre::new(pre)?),
            ContractVersion::V0_2 => ToolPre::V0_2(v0_2::tool_world::ToolComponentPre::new(pre)?),
        })
    }

    /// The contract version it was built against.
    pub fn version(&self) -> ContractVersion {
        match self {
            ToolPre::V0_1(_) => ContractVersion::V0_1,
            ToolPre::V0_2(_) => ContractVersion::V0_2,
        }
    }

    /// A fresh instance in `store`.
    pub async fn instantiate_async(&self, store: &mut Store<HostState>) -> wasmtime::Result<ToolInstance> {
        Ok(match self {
            ToolPre::V0_1(pre) => ToolInstance::V0_1(pre.instantiate_async(store).await?),
            ToolPre::V0_2(pre) => ToolInstance::V0_2(pre.instantiate_async(store).await?),
        })
    }
}

/// The calls into a tool instance, the same whatever its version.
impl ToolInstance {
    /// `info`.
    pub async fn info(&self, store: &mut Store<HostState>) -> wasmtime::Result<tool_api::ToolInfo> {
        match self {
            ToolInstance::V0_1(instance) => instance.cordon_provider_tool().call_info(store).await,
            ToolInstance::V0_2(instance) => instance.cordon_provider_tool().call_info(store).await.map(tool_info_of_0_2),
        }
    }

    /// `call`.
    pub async fn call(
        &self,
        store: &mut Store<HostState>,
        action: &str,
        arguments: &str,
    ) -> wasmtime::Result<Result<String, tool_api::ToolError>> {
        match self {
            ToolInstance::V0_1(instance) => instance.cordon_provider_tool().call_call(store, action, arguments).await,
            ToolInstance::V0_2(instance) => {
                let answer = instance.cordon_provider_tool().call_call(store, action, arguments).await?;
                Ok(answer.map_err(tool_error_of_0_2))
            }
        }
    }
}

/// 0.2.0's `tool-info` (the same record) as the host's.
fn tool_info_of_0_2(info: v0_2::tool_world::exports::cordon::provider::tool::ToolInfo) -> tool_api::ToolInfo {
    let actions = info
        .actions
        .into_iter()
        .map(|action| tool_api::Action { name: action.name, description: action.description, parameters: action.parameters })
        .collect();
    tool_api::ToolInfo { version: info.version, description: info.description, actions }
}

/// 0.2.0's `tool-error` (the same variant) as the host's.
fn tool_error_of_0_2(error: v0_2::tool_world::exports::cordon::provider::tool::ToolError) -> tool_api::ToolError {
    use tool_api::ToolErrorKind as Host;
    use v0_2::tool_world::exports::cordon::provider::tool::ToolErrorKind as Guest;
    let kind = match error.kind {
        Guest::InvalidArguments => Host::InvalidArguments,
        Guest::UnknownAction => Host::UnknownAction,
        Guest::NotFound => Host::NotFound,
        Guest::Denied => Host::Denied,
        Guest::LimitExceeded => Host::LimitExceeded,
        Guest::Upstream => Host::Upstream,
        Guest::Failed => Host::Failed,
    };
    tool_api::ToolError { kind, message: error.message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_versions_map_to_served_contracts() {
        assert_eq!(ContractVersion::of_interface("0.1.0"), Some(ContractVersion::V0_1));
        assert_eq!(ContractVersion::of_interface("0.1.3"), Some(ContractVersion::V0_1));
        assert_eq!(ContractVersion::of_interface("0.2.0"), Some(ContractVersion::V0_2));
        assert_eq!(ContractVersion::of_interface("0.3.0"), None);
        assert_eq!(ContractVersion::of_interface("1.0.0"), None);
        assert_eq!(ContractVersion::of_interface(""), None);
        assert_eq!(ContractVersion::of_manifest("cordon:provider@0.2.0"), Some(ContractVersion::V0_2));
        assert_eq!(ContractVersion::of_manifest("cordon:provider@0.9.0"), None);
    }
}
