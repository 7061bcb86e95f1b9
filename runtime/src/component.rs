//! Loading a component: read the file and its manifest, check that it is a
//! component (not a core module or something else), compile it through the
//! cache, tell a provider from a tool by what it exports, tell which contract
//! version it was built against (every `cordon:` name it uses must be of one
//! version this host serves, the one its manifest names), and pre-instantiate
//! it with that version's bindings (see [`crate::contract`]).

use std::path::{Path, PathBuf};

use crate::contract::{ContractVersion, ProviderPre, ToolPre};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::manifest::Manifest;

/// The export every provider has.
const PROVIDER_EXPORT: &str = "cordon:provider/provider";
/// The export every tool has.
const TOOL_EXPORT: &str = "cordon:provider/tool";

/// A compiled, checked, pre-instantiated component.
pub struct LoadedComponent {
    /// Its manifest.
    pub manifest: Manifest,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// `sha256:<hex>` of the file.
    pub digest: String,
    /// Ready to instantiate, once per turn or tool call.
    pub prepared: Prepared,
    /// The interfaces it imports.
    pub imports: Vec<String>,
    /// The interfaces it exports.
    pub exports: Vec<String>,
    /// The contract version it was built against.
    pub contract: ContractVersion,
    /// The engine it was compiled for, which its instances run on.
    pub engine: Engine,
}

/// A component ready to instantiate, by what it is.
pub enum Prepared {
    /// A provider (exports `cordon:provider/provider`).
    Provider(ProviderPre),
    /// A tool (exports `cordon:provider/tool`).
    Tool(ToolPre),
}

impl LoadedComponent {
    /// `provider` or `tool`.
    pub fn kind(&self) -> &'static str {
        match self.prepared {
            Prepared::Provider(_) => "provider",
            Prepared::Tool(_) => "tool",
        }
    }
}

/// The manifest path for a component path: `x.wasm` -> `x.toml`.
pub fn manifest_path(wasm: &Path) -> PathBuf {
    wasm.with_extension("toml")
}

/// Load the component at `path` (blocking: compiles on a cache miss).
pub fn load(engine: &Engine, path: &Path, max: &Limits) -> Result<LoadedComponent> {
    let invalid = |reason: String| Error::InvalidComponent { path: path.to_owned(), reason };
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
    check_header(&bytes).map_err(invalid)?;
    let manifest_file = manifest_path(path);
    let manifest = Manifest::load(&manifest_file, max)
        .map_err(|reason| Error::Manifest { path: manifest_file.clone(), reason })?;

    let digest = crate::asks::hex_digest(&bytes);
    let engine = engine.for_component(bytes.len())?;
    let component = engine
        .compile(&bytes, &digest)
        .map_err(|err| invalid(format!("does not compile: {err:#}")))?;
    let ty = component.component_type();
    let wasmtime = engine.wasmtime();
    let exports: Vec<String> = ty.exports(wasmtime).map(|(name, _)| name.to_owned()).collect();
    let imports: Vec<String> = ty.imports(wasmtime).map(|(name, _)| name.to_owned()).collect();

    let find = |wanted: &str| exports.iter().find(|name| name_without_version(name) == wanted);
    let (export, is_tool) = match (find(PROVIDER_EXPORT), find(TOOL_EXPORT)) {
        (Some(export), None) => (export, false),
        (None, Some(export)) => (export, true),
        (Some(_), Some(_)) => {
            return Err(invalid(format!(
                "exports both `{PROVIDER_EXPORT}` and `{TOOL_EXPORT}`; a component is a provider or a tool, build them apart"
            )));
        }
        (None, None) => {
            return Err(invalid(format!(
                "exports neither `{PROVIDER_EXPORT}` nor `{TOOL_EXPORT}` (its exports: {}); is it a provider or tool built against wit/?",
                if exports.is_empty() { "none".to_owned() } else { exports.join(", ") }
            )));
        }
    };
    let contract = check_version(path, export)?;
    for name in imports.iter().filter(|name| name.starts_with("cordon:")) {
        if check_version(path, name)? != contract {
            return Err(invalid(format!(
                "mixes contract versions: it exports `{export}` but imports `{name}`; build it against one version of wit/"
            )));
        }
    }
    if ContractVersion::of_manifest(&manifest.contract) != Some(contract) {
        return Err(Error::Manifest {
            path: manifest_file,
            reason: format!(
                "contract `{}` does not match the component, which is built against `{}` (it exports `{export}`); \
                 write `contract = \"{}\"` in the manifest",
                manifest.contract,
                contract.package(),
                contract.package()
            ),
        });
    }
    let instance_pre = engine.linker().instantiate_pre(&component).map_err(|err| {
        let unknown: Vec<&str> = imports
            .iter()
            .map(String::as_str)
            .filter(|name| !name.starts_with("cordon:") && !name.starts_with("wasi:"))
            .collect();
        if unknown.is_empty() {
            invalid(format!("cannot be linked: {err:#}"))
        } else {
            invalid(format!(
                "imports {}, which this host does not offer (it offers cordon:provider/{{http,log,types}} of {} and WASI 0.2)",
                unknown.join(", "),
                ContractVersion::served_list()
            ))
        }
    })?;
    let prepared = if is_tool {
        Prepared::Tool(
            ToolPre::new(contract, instance_pre)
                .map_err(|err| invalid(format!("does not match the tool world of {}: {err:#}", contract.package())))?,
        )
    } else {
        Prepared::Provider(
            ProviderPre::new(contract, instance_pre)
                .map_err(|err| invalid(format!("does not match the provider world of {}: {err:#}", contract.package())))?,
        )
    };
    Ok(LoadedComponent {
        manifest,
        path: path.to_owned(),
        digest,
        prepared,
        imports,
        exports,
        contract,
        engine: engine.clone(),
    })
}

/// Refuse files that are not wasm, and core modules, with a message that says so.
fn check_header(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err("is not a WebAssembly file (no `\\0asm` header); build the guest for wasm32-wasip2".to_owned());
    }
    // Bytes 4..8: version and layer. Layer 0 is a core module, layer 1 a component.
    if bytes[6..8] == [0, 0] {
        return Err(
            "is a core WebAssembly module, not a component; build for wasm32-wasip2 (which produces a \
             component) or run `wasm-tools component new` on it"
                .to_owned(),
        );
    }
    Ok(())
}

fn name_without_version(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// The served contract version `interface@version` belongs to.
fn check_version(path: &Path, name: &str) -> Result<ContractVersion> {
    let version = name.split_once('@').map(|(_, v)| v).unwrap_or("");
    ContractVersion::of_interface(version).ok_or_else(|| Error::ContractVersion {
        path: path.to_owned(),
        found: name.to_owned(),
        served: crate::contract::SERVED_PACKAGES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_told_apart() {
        assert!(check_header(b"hello world").expect_err("an error").contains("not a WebAssembly file"));
        assert!(check_header(b"\0asm\x01\0\0\0").expect_err("an error").contains("core WebAssembly module"));
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }
}
