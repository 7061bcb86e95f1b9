//! `cargo xtask`: the project's own set-up and build steps, with cargo alone.
//!
//! - `cargo xtask demo`  builds the host and the components the demo loads
//!   (the list in `runtime/demo/components.toml`), then runs `cordon demo`.
//! - `cargo xtask test`  builds every guest, installs the pinned API clients
//!   the gateway's tests drive (`tools/`), then runs every test.
//! - `cargo xtask build [NAME...]` builds every guest component (or the named
//!   ones, in any language, variants included) into `dist/components/`.
//! - `cargo xtask bench` builds the guests, then runs the benchmarks of the
//!   runtime (`runtime/benches/turn.rs`).
//! - `cargo xtask bench-gateway` builds the `openai` component, then runs the
//!   gateway benchmark (`runtime/benches/gateway.rs`): the release `cordon
//!   serve` pinned to core 0, load generator and upstream on core 1.
//! - `cargo xtask fuzz [TARGET...] [--seconds N]` runs the fuzz targets in
//!   `fuzz/` (see [`fuzz`]); not part of `test`.
//! - `cargo xtask build-guest DIR [--out DIR]` builds one guest folder (e.g. one
//!   made by `cordon new`) into `dist/components` (or `--out`).
//! - `cargo xtask test-guest DIR` builds it, then runs its test in the host:
//!   `cordon replay ... --expect test/expected.jsonl` for a provider,
//!   `cordon call ... --expect test/calls.jsonl` for a tool.
//!
//! Each guest is a folder in `guests/` with a `cordon.toml` manifest. A Rust
//! guest is built for `wasm32-wasip2` (which yields a component); a guest in
//! another language by `xtask-lang` (in `xtask/lang/`, compiled only when such
//! a guest is built), with toolchains installed into `.tools/` on first use.
//! Each is copied with its manifest to `dist/components/<name>.wasm` and
//! `<name>.toml`. Every step prints a line with the time since the start.

mod fuzz;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "guest";

/// The file naming what `cordon demo` loads (read by the demo itself too).
const DEMO_COMPONENTS: &str = "runtime/demo/components.toml";

/// Copies of a guest's plain build under another name, with their own manifest
/// (`guests/<guest>/<name>.toml`): (guest folder, component name). These are
/// hostile guests whose misdeed is in what their manifest asks for, and the
/// OpenAI provider for Azure (whose key goes in an `api-key` header).
const MANIFEST_VARIANTS: &[(&str, &str)] = &[
    ("hostile", "hostile-greedy"),
    ("hostile", "hostile-asks-more"),
    ("hostile", "hostile-signing"),
    ("openai", "azure-openai"),
];

/// Extra builds of a guest with a cargo feature, each its own component:
/// (guest folder, feature, component name). Its manifest is
/// `guests/<guest>/<name>.toml` if there is one, else the guest's. These are the
/// hostile guests that misbehave in `info` or are built wrong on purpose, a
/// second version for the hot-swap tests, and one built against the old
/// contract (0.1.0) for the tests that the host still serves it.
const VARIANTS: &[(&str, &str, &str)] = &[
    ("hostile", "spin-in-info", "hostile-spin-info"),
    ("hostile", "trap-in-info", "hostile-trap-info"),
    ("hostile", "sleep-in-info", "hostile-sleep-info"),
    ("hostile", "newer-contract", "hostile-newer-contract"),
    ("hostile", "unknown-import", "hostile-unknown-import"),
    ("hostile", "version-two", "hostile-v2"),
    ("hostile", "contract-0-1", "hostile-v0-1"),
    ("hostile-tool", "bad-schema", "hostile-tool-bad-schema"),
    ("hostile-tool", "bad-name", "hostile-tool-bad-name"),
];

/// Prints each step with the time since the command started.
struct Clock(Instant);

impl Clock {
    fn step(&self, what: &str) {
        let seconds = self.0.elapsed().as_secs();
        eprintln!("xtask [{}:{:02}] {what}", seconds / 60, seconds % 60);
    }
}

fn main() -> ExitCode {
    let clock = Clock(Instant::now());
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = args.split_first().map_or(("", &[][..]), |(task, rest)| (task.as_str(), rest));
    let result = match task {
        "build" => select(rest).and_then(|units| build(&units, &clock)),
        "demo" => demo(&clock),
        "test" => all_units().and_then(|units| build(&units, &clock)).and_then(|()| {
            // The official API clients the gateway's tests drive, pinned in
            // tools/ (a no-op once installed, as the guests' builds may have done).
            clock.step("checking the pinned test clients in .tools/ (installed on first use)");
            cargo(&["run", "--quiet", "-p", "xtask-lang", "--", "--tools"])?;
            clock.step("running every test");
            cargo(&["test", "--workspace", "--exclude", "cordon-hostile", "--exclude", "cordon-hostile-tool"])
        }),
        "bench" => all_units()
            .and_then(|units| build(&units, &clock))
            .and_then(|()| cargo(&["bench", "-p", "cordon", "--bench", "turn"]))
            .and_then(|()| {
                clock.step("holding 10,000 live turns open for their memory (about 2 GiB for a few seconds)");
                cargo(&["bench", "-p", "cordon", "--bench", "live_turns"])
            }),
        "bench-gateway" => select(&["openai".to_owned()]).and_then(|units| build(&units, &clock)).and_then(|()| {
            clock.step("building `cordon` in release and running the gateway benchmark (a few minutes)");
            cargo(&["bench", "-p", "cordon", "--bench", "gateway"])
        }),
        "fuzz" => fuzz::run(&root(), rest),
        "build-guest" => guest_args(rest).and_then(|(dir, out)| build_guest(&dir, &out).map(|_| ())),
        "test-guest" => guest_args(rest).and_then(|(dir, out)| test_guest(&dir, &out)),
        _ => Err("usage: cargo xtask demo | test | build [NAME...] | bench | bench-gateway | fuzz [TARGET...] [--seconds N] | <build-guest|test-guest> DIR [--out DIR]".to_owned()),
    };
    match result {
        Ok(()) => {
            clock.step("done");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Build the host and the demo's components, then run the demo.
fn demo(clock: &Clock) -> Result<(), String> {
    let units = select(&demo_components(&root())?)?;
    clock.step("building the host, `cordon`, unoptimised (the first build compiles wasmtime and cranelift: a few minutes on two cores; later runs take seconds)");
    cargo(&["build", "-p", "cordon", "--bin", "cordon", "--profile", "demo"])?;
    build(&units, clock)?;
    clock.step("running `cordon demo` (the first run compiles the components, then caches them)");
    let cordon = root().join("target/demo/cordon");
    let status = Command::new(&cordon)
        .arg("demo")
        .current_dir(root())
        .status()
        .map_err(|err| format!("cannot run {}: {err}", cordon.display()))?;
    if status.success() { Ok(()) } else { Err(format!("`cordon demo` failed ({status})")) }
}

/// The components `cordon demo` loads: its provider and its tool.
fn demo_components(root: &Path) -> Result<Vec<String>, String> {
    let path = root.join(DEMO_COMPONENTS);
    let text = std::fs::read_to_string(&path).map_err(|err| format!("{}: {err}", path.display()))?;
    ["provider", "tool"]
        .iter()
        .map(|key| toml_string(&text, key).ok_or_else(|| format!("{}: no `{key} = \"...\"`", path.display())))
        .collect()
}

/// One component to build: a guest folder, the feature it is built with, and
/// the name it is installed under.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Unit {
    guest: String,
    feature: Option<&'static str>,
    name: String,
}

/// Every guest, then the variants (built last: each rebuilds its guest with a
/// feature, and the plain builds are copied out first).
fn all_units() -> Result<Vec<Unit>, String> {
    let root = root();
    let entries = std::fs::read_dir(root.join("guests")).map_err(|err| format!("cannot list guests/: {err}"))?;
    let mut guests: Vec<String> = entries
        .flatten()
        .filter(|entry| entry.path().join("cordon.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    guests.sort();
    let mut units: Vec<Unit> = guests.into_iter().map(|guest| Unit { name: guest.clone(), guest, feature: None }).collect();
    units.extend(MANIFEST_VARIANTS.iter().map(|(guest, name)| Unit { guest: (*guest).into(), feature: None, name: (*name).into() }));
    units.extend(VARIANTS.iter().map(|(guest, feature, name)| Unit { guest: (*guest).into(), feature: Some(feature), name: (*name).into() }));
    Ok(units)
}

/// The units named (all of them when none is), in build order.
fn select(names: &[String]) -> Result<Vec<Unit>, String> {
    let all = all_units()?;
    if names.is_empty() {
        return Ok(all);
    }
    if let Some(unknown) = names.iter().find(|name| !all.iter().any(|unit| &unit.name == *name)) {
        let known: Vec<&str> = all.iter().map(|unit| unit.name.as_str()).collect();
        return Err(format!("no guest or variant named `{unknown}`; these can be built: {}", known.join(", ")));
    }
    Ok(all.into_iter().filter(|unit| names.contains(&unit.name)).collect())
}

/// Build `units` and copy each with its manifest into `dist/components`.
fn build(units: &[Unit], clock: &Clock) -> Result<(), String> {
    let root = root();
    let out = root.join("dist/components");
    std::fs::create_dir_all(&out).map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    let names: Vec<&str> = units.iter().map(|unit| unit.name.as_str()).collect();
    clock.step(&format!("building {} component(s): {}", units.len(), names.join(", ")));
    ensure_target()?;
    for unit in units {
        let dir = root.join("guests").join(&unit.guest);
        if is_workspace_member(&dir) {
            // One cargo run per guest: built together, cargo would unify the SDK's
            // features across them, and a provider would carry the tool world's bindings too.
            let package = format!("cordon-{}", unit.guest);
            let mut args = vec!["build", "--target", TARGET, "--profile", PROFILE, "-p", &package];
            if let Some(feature) = unit.feature {
                args.extend(["--features", feature]);
            }
            cargo(&args)?;
            install(&root, &rust_output(&root, &unit.guest), &unit.guest, &unit.name)?;
        } else {
            clock.step(&format!("building {} with xtask-lang", unit.name));
            build_guest(&dir, &out)?;
        }
    }
    clock.step(&format!("built {} into {}", names.join(", "), out.display()));
    Ok(())
}

fn root() -> PathBuf {
    // xtask/ sits in the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|err| format!("cannot run {cargo}: {err}"))?;
    if status.success() { Ok(()) } else { Err(format!("`cargo {}` failed ({status})", args.join(" "))) }
}

/// Install the wasm target if the toolchain lacks it (rustup does not add the
/// targets listed in rust-toolchain.toml by itself).
fn ensure_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root())
        .output()
        .map_err(|err| format!("cannot run rustup ({err}); install rustup, or add the {TARGET} target to your toolchain"))?;
    if String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == TARGET) {
        return Ok(());
    }
    eprintln!("xtask: installing the {TARGET} target (once)");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .current_dir(root())
        .status()
        .map_err(|err| format!("cannot run rustup: {err}"))?;
    if status.success() { Ok(()) } else { Err(format!("`rustup target add {TARGET}` failed")) }
}

/// Whether `dir` is a Rust crate of this workspace (not one with its own `[workspace]`).
fn is_workspace_member(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|text| !text.lines().any(|l| l.trim() == "[workspace]"))
}

/// The guest folder and the output folder of `build-guest` / `test-guest`.
fn guest_args(args: &[String]) -> Result<(PathBuf, PathBuf), String> {
    let usage = || "usage: cargo xtask build-guest|test-guest DIR [--out COMPONENTS_DIR]".to_owned();
    let dir = args.first().ok_or_else(usage)?;
    let out = match (args.get(1).map(String::as_str), args.get(2)) {
        (None, _) => root().join("dist/components"),
        (Some("--out"), Some(out)) => PathBuf::from(out),
        _ => return Err(usage()),
    };
    let dir = std::fs::canonicalize(dir).map_err(|err| format!("guest folder {dir}: {err}"))?;
    Ok((dir, out))
}

/// Build the guest in `dir` (any language) and install it into `out`; return its name.
fn build_guest(dir: &Path, out: &Path) -> Result<String, String> {
    let manifest = dir.join("cordon.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|err| format!("{}: {err}", manifest.display()))?;
    let name = toml_string(&text, "name").ok_or_else(|| format!("{}: no `name = \"...\"`", manifest.display()))?;
    let root = root();
    let built = if dir.join("Cargo.toml").is_file() {
        ensure_target()?;
        let cargo_toml = std::fs::read_to_string(dir.join("Cargo.toml")).map_err(|err| format!("{}: {err}", dir.display()))?;
        let package = toml_string(&cargo_toml, "name").ok_or_else(|| format!("{}: no package name", dir.display()))?;
        let manifest_path = dir.join("Cargo.toml").display().to_string();
        let target_dir = root.join("target").display().to_string();
        cargo(&[
            "build", "--quiet", "--target", TARGET, "--profile", PROFILE, "--manifest-path", &manifest_path,
            "--target-dir", &target_dir,
        ])?;
        root.join(format!("target/{TARGET}/{PROFILE}/{}.wasm", package.replace('-', "_")))
    } else {
        build_other_language(dir, &name)?
    };
    std::fs::create_dir_all(out).map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    copy_if_changed(&built, &out.join(format!("{name}.wasm")))?;
    copy_if_changed(&manifest, &out.join(format!("{name}.toml")))?;
    eprintln!("xtask: built {name} into {}", out.display());
    Ok(name)
}

/// Build the guest in `dir` (not Rust) with `xtask-lang`, which writes
/// `target/guests/<name>.wasm`; return that path.
fn build_other_language(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let dir = dir.display().to_string();
    cargo(&["run", "--quiet", "-p", "xtask-lang", "--", &dir, name])?;
    Ok(root().join("target/guests").join(format!("{name}.wasm")))
}

/// Build the guest in `dir`, then run its own test through the `cordon` binary
/// (the one `CORDON_BIN` names, as the integration tests do, else `cargo run`'s).
fn test_guest(dir: &Path, out: &Path) -> Result<(), String> {
    let name = build_guest(dir, out)?;
    let wasm = out.join(format!("{name}.wasm")).display().to_string();
    let test = dir.join("test");
    let at = |file: &str| test.join(file).display().to_string();
    let mut args: Vec<String> = Vec::new();
    if test.join("expected.jsonl").is_file() {
        let sample = std::fs::read_dir(&test)
            .map_err(|err| format!("{}: {err}", test.display()))?
            .flatten()
            .map(|entry| entry.path())
            .find(|path| path.file_stem().is_some_and(|stem| stem == "sample"))
            .ok_or_else(|| format!("{}: no test/sample.* to replay", dir.display()))?;
        let sample = sample.display().to_string();
        args.extend(["replay", "--provider", &wasm, "--fixture", &sample, "--framing", "raw", "--expect", &at("expected.jsonl")].map(String::from));
    } else if test.join("calls.jsonl").is_file() {
        args.extend(["call", &wasm, "--expect", &at("calls.jsonl")].map(String::from));
    } else {
        return Err(format!("{}: no test/expected.jsonl (provider) or test/calls.jsonl (tool)", dir.display()));
    }
    let Some(cordon) = std::env::var_os("CORDON_BIN") else {
        let mut run = vec!["run", "--quiet", "-p", "cordon", "--bin", "cordon", "--"];
        run.extend(args.iter().map(String::as_str));
        return cargo(&run);
    };
    let status = Command::new(&cordon)
        .args(&args)
        .current_dir(root())
        .status()
        .map_err(|err| format!("cannot run {}: {err}", cordon.to_string_lossy()))?;
    if status.success() { Ok(()) } else { Err(format!("`cordon {}` failed ({status})", args.join(" "))) }
}

/// The value of the first `key = "value"` line of a TOML file (enough for
/// `name` in a manifest or a `[package]`).
fn toml_string(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Where cargo puts the last build of the Rust guest `guest`.
fn rust_output(root: &Path, guest: &str) -> PathBuf {
    root.join(format!("target/{TARGET}/{PROFILE}/cordon_{}.wasm", guest.replace('-', "_")))
}

/// Copy the component `built` from `guest` and its manifest to `dist/components/<name>.*`.
fn install(root: &Path, built: &Path, guest: &str, name: &str) -> Result<(), String> {
    let out = root.join("dist/components");
    copy_if_changed(built, &out.join(format!("{name}.wasm")))?;
    let own = root.join(format!("guests/{guest}/{name}.toml"));
    let manifest = if own.is_file() { own } else { root.join(format!("guests/{guest}/cordon.toml")) };
    copy_if_changed(&manifest, &out.join(format!("{name}.toml")))
}

/// Copy only when the content differs, so unchanged files keep their time.
fn copy_if_changed(from: &Path, to: &Path) -> Result<(), String> {
    let bytes = std::fs::read(from).map_err(|err| format!("cannot read {}: {err}", from.display()))?;
    if std::fs::read(to).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(to, bytes).map_err(|err| format!("cannot write {}: {err}", to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each component the demo loads is a guest that `cargo xtask demo` builds.
    #[test]
    fn the_demo_list_names_buildable_guests() {
        let mut names = demo_components(&root()).expect("the demo's list");
        let mut built: Vec<String> = select(&names).expect("each is a guest").into_iter().map(|unit| unit.name).collect();
        names.sort();
        built.sort();
        assert_eq!(built, names);
    }

    /// A name that is neither a guest nor a variant is refused, with what can be built.
    #[test]
    fn unknown_names_are_refused() {
        let err = select(&["no-such-guest".to_owned()]).expect_err("refused");
        assert!(err.contains("`no-such-guest`") && err.contains("hostile-greedy") && err.contains("calculator"), "{err}");
        let variant = select(&["hostile-v2".to_owned()]).expect("a variant");
        assert_eq!(variant, [Unit { guest: "hostile".into(), feature: Some("version-two"), name: "hostile-v2".into() }]);
    }
}
