//! `cargo xtask`: the project's own set-up and build steps, with cargo alone.
//!
//! - `cargo xtask demo`  builds the guests, then runs `cordon demo`.
//! - `cargo xtask test`  builds the guests, then runs every test.
//! - `cargo xtask build` builds every guest component into `dist/components/`.
//! - `cargo xtask bench` builds the guests, then runs the benchmarks.
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
//! another language by its language's module in [`lang`], with toolchains
//! installed into `.tools/` on first use. Each is copied with its manifest to
//! `dist/components/<name>.wasm` and `<name>.toml`.

mod fuzz;
mod lang;
mod stamp;
mod toolchain;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "guest";

/// Copies of a guest's plain build under another name, with their own manifest
/// (`guests/<guest>/<name>.toml`): (guest folder, component name). These are
/// hostile guests whose misdeed is in what their manifest asks for.
const MANIFEST_VARIANTS: &[(&str, &str)] = &[("hostile", "hostile-greedy"), ("hostile", "hostile-asks-more")];

/// Extra builds of a guest with a cargo feature, each its own component:
/// (guest folder, feature, component name). Its manifest is
/// `guests/<guest>/<name>.toml` if there is one, else the guest's. These are the
/// hostile guests that misbehave in `info` or are built wrong on purpose, and a
/// second version for the hot-swap tests.
const VARIANTS: &[(&str, &str, &str)] = &[
    ("hostile", "spin-in-info", "hostile-spin-info"),
    ("hostile", "trap-in-info", "hostile-trap-info"),
    ("hostile", "sleep-in-info", "hostile-sleep-info"),
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
        "fuzz" => fuzz::run(&root(), &std::env::args().skip(2).collect::<Vec<_>>()),
        "build-guest" => guest_args().and_then(|(dir, out)| build_guest(&dir, &out).map(|_| ())),
        "test-guest" => guest_args().and_then(|(dir, out)| test_guest(&dir, &out)),
        _ => Err("usage: cargo xtask <demo|test|build|bench> | fuzz [TARGET...] [--seconds N] | <build-guest|test-guest> DIR [--out DIR]".to_owned()),
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
        let dir = root.join("guests").join(guest);
        if is_workspace_member(&dir) {
            let package = format!("cordon-{guest}");
            cargo(&["build", "--quiet", "--target", TARGET, "--profile", PROFILE, "-p", &package])?;
            install(&root, &rust_output(&root, guest), guest, guest)?;
            for (_, name) in MANIFEST_VARIANTS.iter().filter(|(of, _)| of == guest) {
                install(&root, &rust_output(&root, guest), guest, name)?;
            }
        } else {
            // Another language, or a Rust guest with its own workspace (`cordon new`).
            build_guest(&dir, &out)?;
        }
    }
    // Each variant rebuilds its guest with a feature; the plain builds were
    // copied out first, and are rebuilt (linked again, not recompiled) next time.
    for (guest, feature, name) in VARIANTS {
        let package = format!("cordon-{guest}");
        cargo(&["build", "--quiet", "--target", TARGET, "--profile", PROFILE, "-p", &package, "--features", feature])?;
        install(&root, &rust_output(&root, guest), guest, name)?;
    }
    let variants = VARIANTS.len() + MANIFEST_VARIANTS.len();
    eprintln!("xtask: built {} (and {variants} variants) into {}", guests.join(", "), out.display());
    Ok(guests)
}

/// Whether `dir` is a Rust crate of this workspace (not one with its own `[workspace]`).
fn is_workspace_member(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|text| !text.lines().any(|l| l.trim() == "[workspace]"))
}

/// The guest folder and the output folder of `build-guest` / `test-guest`.
fn guest_args() -> Result<(PathBuf, PathBuf), String> {
    let args: Vec<String> = std::env::args().skip(2).collect();
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
        lang::build(&root, dir, &name)?
    };
    std::fs::create_dir_all(out).map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    copy_if_changed(&built, &out.join(format!("{name}.wasm")))?;
    copy_if_changed(&manifest, &out.join(format!("{name}.toml")))?;
    eprintln!("xtask: built {name} into {}", out.display());
    Ok(name)
}

/// Build the guest in `dir`, then run its own test through the `cordon` binary.
fn test_guest(dir: &Path, out: &Path) -> Result<(), String> {
    let name = build_guest(dir, out)?;
    let wasm = out.join(format!("{name}.wasm")).display().to_string();
    let test = dir.join("test");
    let at = |file: &str| test.join(file).display().to_string();
    let mut args = vec!["run".to_owned(), "--quiet".into(), "-p".into(), "cordon".into(), "--bin".into(), "cordon".into(), "--".into()];
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
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cargo(&args)
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
