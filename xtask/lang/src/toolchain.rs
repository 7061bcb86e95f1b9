//! The pinned toolchains that non-Rust guests need, installed on first use into
//! the repository's own ignored `.tools/` folder, never globally:
//!
//! - `.tools/venv`: a Python venv with `tools/requirements.txt`;
//! - `.tools/node`: `node_modules` from `tools/package.json` and its lock file.
//!
//! Each install is stamped with the hash of what it was made from, so it is
//! redone when the pins change and skipped otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::stamp;

/// The folder holding every installed toolchain.
pub fn tools_dir(root: &Path) -> PathBuf {
    root.join(".tools")
}

/// Run `command`, naming `what` it was for in the error.
pub fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let status = command.status().map_err(|err| format!("{what}: cannot run `{program}`: {err}"))?;
    if status.success() { Ok(()) } else { Err(format!("{what}: `{program}` failed ({status})")) }
}

/// The `bin` folder of the Python venv with the pinned tools, made if needed.
pub fn python(root: &Path) -> Result<PathBuf, String> {
    let venv = tools_dir(root).join("venv");
    let bin = venv.join("bin");
    let requirements = root.join("tools/requirements.txt");
    let wanted = stamp::of_files(std::slice::from_ref(&requirements))?;
    if stamp::matches(&venv.join(".stamp"), &wanted) {
        return Ok(bin);
    }
    eprintln!("xtask: installing the pinned Python tools into {} (once)", venv.display());
    run(
        Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv),
        "creating the Python venv (is python3 with its venv module installed? on Debian: apt install python3-venv)",
    )?;
    run(
        Command::new(bin.join("pip")).args(["install", "--quiet", "--disable-pip-version-check", "-r"]).arg(&requirements),
        "installing tools/requirements.txt",
    )?;
    stamp::write(&venv.join(".stamp"), &wanted)?;
    Ok(bin)
}

/// The `node_modules/.bin` folder with the pinned JavaScript tools, made if needed.
pub fn node(root: &Path) -> Result<PathBuf, String> {
    let dir = tools_dir(root).join("node");
    let sources = [root.join("tools/package.json"), root.join("tools/package-lock.json")];
    let wanted = stamp::of_files(&sources)?;
    if stamp::matches(&dir.join(".stamp"), &wanted) {
        return Ok(dir.join("node_modules/.bin"));
    }
    eprintln!("xtask: installing the pinned JavaScript tools into {} (once)", dir.display());
    std::fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    for source in &sources {
        let name = source.file_name().unwrap_or_default();
        std::fs::copy(source, dir.join(name)).map_err(|err| format!("cannot copy {}: {err}", source.display()))?;
    }
    run(
        Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--prefix"]).arg(&dir),
        "installing tools/package.json (is node with npm installed?)",
    )?;
    stamp::write(&dir.join(".stamp"), &wanted)?;
    Ok(dir.join("node_modules/.bin"))
}
