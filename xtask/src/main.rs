//! `cargo xtask`: the project's own set-up and build steps, with cargo alone.
//!
//! - `cargo xtask demo`  builds the guests, then runs `cordon demo`.
//! - `cargo xtask test`  builds the guests, then runs every test.
//! - `cargo xtask build` builds every guest component into `dist/components/`.
//! - `cargo xtask bench` builds the guests, then runs the benchmarks.
//!
//! Each guest is a folder in `guests/` with a `cordon.toml` manifest; it is built
//! for `wasm32-wasip2` (which yields a component) and copied with its manifest
//! to `dist/components/<name>.wasm` and `<name>.toml`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "guest";

/// Extra builds of a guest with a cargo feature, each its own component:
/// (guest folder, feature, component name). Its manifest is
/// `guests/<guest>/<name>.toml` if there is one, else the guest's. These are the
/// hostile guests that misbehave in `info` or are built wrong on purpose, and a
/// second version for the hot-swap tests.
const VARIANTS: &[(&str, &str, &str)] = &[
    ("hostile", "spin-in-info", "hostile-spin-info"),
    ("hostile", "trap-in-info", "hostile-trap-info"),
    ("hostile", "newer-contract", "hostile-newer-contract"),
    ("hostile", "unknown-import", "hostile-unknown-import"),
    ("hostile", "version-two", "hostile-v2"),
    ("hostile-tool", "bad-schema", "hostile-tool-bad-schema"),
    ("hostile-tool", "bad-name", "hostile-tool-bad-name"),
];

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let result = match task.as_str() {
        "build" => build_guests().map(|_| ()),
        "demo" => build_guests().and_then(|_| cargo(&["run", "--quiet", "-p", "cordon", "--bin", "cordon", "--", "demo"])),
        "test" => build_guests().and_then(|_| cargo(&["test", "--workspace", "--exclude", "cordon-hostile", "--exclude", "cordon-hostile-tool"])),
        "bench" => build_guests().and_then(|_| cargo(&["bench", "-p", "cordon"])),
        _ => Err("usage: cargo xtask <demo|test|build|bench>".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
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

/// Build every guest and copy it with its manifest into `dist/components`.
fn build_guests() -> Result<Vec<String>, String> {
    ensure_target()?;
    let root = root();
    let mut guests = Vec::new();
    let entries = std::fs::read_dir(root.join("guests")).map_err(|err| format!("cannot list guests/: {err}"))?;
    for entry in entries.flatten() {
        if entry.path().join("cordon.toml").is_file() {
            guests.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    guests.sort();
    let out = root.join("dist/components");
    std::fs::create_dir_all(&out).map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    // One cargo run per guest: built together, cargo would unify the SDK's
    // features across them, and a provider would carry the tool world's bindings too.
    for guest in &guests {
        let package = format!("cordon-{guest}");
        cargo(&["build", "--quiet", "--target", TARGET, "--profile", PROFILE, "-p", &package])?;
        install(&root, guest, guest)?;
    }
    // Each variant rebuilds its guest with a feature; the plain builds were
    // copied out first, and are rebuilt (linked again, not recompiled) next time.
    for (guest, feature, name) in VARIANTS {
        let package = format!("cordon-{guest}");
        cargo(&["build", "--quiet", "--target", TARGET, "--profile", PROFILE, "-p", &package, "--features", feature])?;
        install(&root, guest, name)?;
    }
    eprintln!("xtask: built {} (and {} variants) into {}", guests.join(", "), VARIANTS.len(), out.display());
    Ok(guests)
}

/// Copy the last build of `guest` and its manifest to `dist/components/<name>.*`.
fn install(root: &Path, guest: &str, name: &str) -> Result<(), String> {
    let out = root.join("dist/components");
    let built = root.join(format!("target/{TARGET}/{PROFILE}/cordon_{}.wasm", guest.replace('-', "_")));
    copy_if_changed(&built, &out.join(format!("{name}.wasm")))?;
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
