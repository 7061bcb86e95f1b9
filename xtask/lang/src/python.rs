//! Python guests: a folder with `app.py` (the interface's functions, in a class
//! named after the exported interface) and any other modules it imports (an
//! exported resource's class lives in a module named after its interface, e.g.
//! `provider.py`), built into a component with the pinned componentize-py
//! (`tools/requirements.txt`, installed into `.tools/venv` on first use).
//!
//! The world is told by that class, which componentize-py needs anyway: it
//! instantiates the class named after the world's exported interface from the
//! app module. So an `app.py` defining a top-level `class Provider(...)` (e.g.
//! `class Provider(exports.Provider)`) is built against
//! `cordon:provider/provider-component`, one defining `class Tool(...)` against
//! `cordon:provider/tool-component`. Only lines starting `class Provider` or
//! `class Tool` (no indentation) count; an `app.py` with both or neither is
//! refused with a message saying which class to write.
//!
//! componentize-py generates the WIT bindings in memory while it builds, so no
//! `bindings` step (which refuses to overwrite files) is needed. It does write
//! `__pycache__` folders into the folders on its Python path, so the guest's
//! sources are copied into `target/guests/<name>-py/src` first and built from
//! there: nothing generated ever lands in `guests/` or elsewhere in the repo.
//! The app's imports run at build time (pre-initialisation snapshots the
//! interpreter), in componentize-py's own sandbox: no environment, only the
//! Python path readable.

use std::path::Path;
use std::process::Command;

use crate::toolchain;

/// The world of a provider (`app.py` defines `class Provider`).
const PROVIDER_WORLD: &str = "cordon:provider/provider-component";

/// The world of a tool (`app.py` defines `class Tool`).
const TOOL_WORLD: &str = "cordon:provider/tool-component";

/// The module componentize-py wraps (`app.py`); it must not share a name with
/// the world or its interfaces.
const APP_MODULE: &str = "app";

/// Build the guest in `dir` into the component `out`.
pub fn build(root: &Path, dir: &Path, out: &Path) -> Result<(), String> {
    let app = dir.join(format!("{APP_MODULE}.py"));
    let text = std::fs::read_to_string(&app).map_err(|err| format!("cannot read {}: {err}", app.display()))?;
    let world = world(&text).map_err(|why| format!("{}: {why}", app.display()))?;
    let bin = toolchain::python(root)?;
    let venv = bin.parent().unwrap_or(&bin).to_owned();
    let name = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "guest".into());
    let work = out.with_file_name(format!("{name}-py"));
    let src = work.join("src");
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(|err| format!("cannot clear {}: {err}", work.display()))?;
    }
    copy_sources(dir, &src)?;
    let partial = work.join(format!("{name}.wasm"));
    eprintln!("xtask: building the Python guest {} with componentize-py", dir.display());
    toolchain::run(
        Command::new(bin.join("componentize-py"))
            .arg("--quiet")
            .arg("-d")
            .arg(crate::lang::wit_dir(root, dir))
            .arg("-w")
            .arg(world)
            .arg("componentize")
            .arg(APP_MODULE)
            .arg("-p")
            .arg(&src)
            .arg("-o")
            .arg(&partial)
            .current_dir(&work)
            // componentize-py adds the site-packages of `$VIRTUAL_ENV` (else of
            // whatever `python` is on the PATH) to the app's path: point it at
            // the pinned venv so a build never picks up the machine's packages.
            .env("VIRTUAL_ENV", &venv)
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME"),
        &format!("building the Python guest {} (componentize-py)", dir.display()),
    )?;
    // Replace the output only once the build succeeded.
    std::fs::rename(&partial, out).map_err(|err| format!("cannot move {} to {}: {err}", partial.display(), out.display()))
}

/// The world an app module's source `text` implements: see the module doc.
fn world(text: &str) -> Result<&'static str, String> {
    let defines = |class: &str| {
        text.lines().any(|line| {
            line.strip_prefix("class ")
                .and_then(|rest| rest.trim_start().strip_prefix(class))
                .is_some_and(|rest| rest.trim_start().starts_with(['(', ':']))
        })
    };
    match (defines("Provider"), defines("Tool")) {
        (true, false) => Ok(PROVIDER_WORLD),
        (false, true) => Ok(TOOL_WORLD),
        (true, true) => Err("defines both `class Provider` and `class Tool`: a guest is one or the other".to_owned()),
        (false, false) => Err(
            "defines neither `class Provider(exports.Provider)` (a provider) nor `class Tool(exports.Tool)` (a tool) at the top level"
                .to_owned(),
        ),
    }
}

/// Copy the guest's files (not dot files or `__pycache__`) from `from` into `to`.
fn copy_sources(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|err| format!("cannot create {}: {err}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|err| format!("cannot list {}: {err}", from.display()))?;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let text = file_name.to_string_lossy();
        if text.starts_with('.') || text == "__pycache__" {
            continue;
        }
        let path = entry.path();
        let target = to.join(&file_name);
        if path.is_dir() {
            copy_sources(&path, &target)?;
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
    fn the_class_in_app_py_picks_the_world() {
        assert_eq!(world("class Provider(exports.Provider):\n    pass\n"), Ok(PROVIDER_WORLD));
        assert_eq!(world("import x\n\nclass Tool (exports.Tool):\n    pass\n"), Ok(TOOL_WORLD));
        assert_eq!(world("class Tool:\n    pass\n"), Ok(TOOL_WORLD));
        // Nested, longer-named or commented-out classes do not count.
        assert!(world("class ToolBox(object):\n    class Tool(exports.Tool): ...\n# class Provider(x)\n").is_err());
        assert!(world("class Provider(exports.Provider): ...\nclass Tool(exports.Tool): ...\n").is_err());
    }
}
