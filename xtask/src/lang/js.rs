//! JavaScript guests: a folder with `app.js` (an ES module exporting the
//! interface, e.g. `export const provider = { info, init, toNative, Turn,
//! finalize }`) and any modules it imports, built into a component with the
//! pinned jco (`tools/package.json`, installed into `.tools/node` on first use)
//! running componentize-js (StarlingMonkey, i.e. SpiderMonkey).
//!
//! - `--bundle`: jco bundles `app.js` and its relative imports into one module
//!   (componentize-js itself cannot load other files). A `rolldown.config.mjs`
//!   beside `app.js`, if there is one, is passed as `--bundle-config` (the
//!   provider marks its `cordon:` imports external there).
//! - WASI: everything jco can leave out is left out (`random`, `stdio`, `http`,
//!   `fetch-event`) except `clocks`: without it `Date.now()` is frozen at build
//!   time, and an HTTP-date `retry-after` needs the real time. The component then
//!   imports only wasi:clocks (wall and monotonic), wasi:io and wasi:cli/stderr,
//!   which the host's empty WASI context provides. `fetch()` and the like trap.
//! - jco runs its WebAssembly tools on preview2-shim, which (0.26) grants them no
//!   directory under node: `tools/jco.mjs` runs jco with read access to the
//!   repository, so they can read `wit/` and the guest.

use std::path::Path;
use std::process::Command;

use crate::toolchain;

/// The world every JavaScript guest here targets: a provider.
const WORLD: &str = "cordon:provider/provider-component";

/// WASI features jco leaves out of the component (see the module doc).
const DISABLED_FEATURES: [&str; 4] = ["random", "stdio", "http", "fetch-event"];

/// Build the guest in `dir` into the component `out`.
pub fn build(root: &Path, dir: &Path, out: &Path) -> Result<(), String> {
    let bin = toolchain::node(root)?;
    let modules = bin.parent().unwrap_or(&bin).to_owned();
    let partial = out.with_extension("wasm.partial");
    eprintln!("xtask: building the JavaScript guest {} with jco componentize", dir.display());
    let mut command = Command::new("node");
    command
        .arg(root.join("tools/jco.mjs"))
        .arg(&modules)
        .arg(root)
        .arg("componentize")
        .arg(dir.join("app.js"))
        .arg("--wit")
        .arg(root.join("wit"))
        .arg("--world-name")
        .arg(WORLD)
        .arg("--bundle")
        .arg("--out")
        .arg(&partial);
    let config = dir.join("rolldown.config.mjs");
    if config.is_file() {
        command.arg("--bundle-config").arg(config);
    }
    command.arg("--disable").args(DISABLED_FEATURES).current_dir(root);
    toolchain::run(
        &mut command,
        &format!("building the JavaScript guest {} (jco componentize; is node installed?)", dir.display()),
    )?;
    // Replace the output only once the build succeeded.
    std::fs::rename(&partial, out).map_err(|err| format!("cannot move {} to {}: {err}", partial.display(), out.display()))
}
