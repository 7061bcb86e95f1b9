//! JavaScript guests: a folder with `app.js` (an ES module exporting the
//! interface, e.g. `export const provider = { info, init, toNative, Turn,
//! finalize }`) and any modules it imports, built into a component with the
//! pinned jco (`tools/package.json`, installed into `.tools/node` on first use)
//! running componentize-js (StarlingMonkey, i.e. SpiderMonkey).
//!
//! The world is told by that export, which componentize-js needs anyway: it
//! takes an exported interface's functions from the module's export named
//! after the interface (`provider`, `tool`). So an `app.js` with a line
//! starting `export const provider` (or `let`/`var`) is built against
//! `cordon:provider/provider-component`, one with `export const tool` against
//! `cordon:provider/tool-component`. Only such lines count (no indentation, no
//! `export { tool }` or re-exports); an `app.js` with both or neither is
//! refused with a message saying what to write.
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
//!   repository, so they can read `wit/` and the guest. A guest folder outside
//!   the repository (e.g. one `cordon new` made in a temporary folder) builds
//!   too: rolldown reads it natively, and componentize-js's tools read only the
//!   bundle, which it writes into a temporary folder of its own.

use std::path::Path;
use std::process::Command;

use crate::toolchain;

/// The world of a provider (`app.js` has `export const provider`).
const PROVIDER_WORLD: &str = "cordon:provider/provider-component";

/// The world of a tool (`app.js` has `export const tool`).
const TOOL_WORLD: &str = "cordon:provider/tool-component";

/// WASI features jco leaves out of the component (see the module doc).
const DISABLED_FEATURES: [&str; 4] = ["random", "stdio", "http", "fetch-event"];

/// Build the guest in `dir` into the component `out`.
pub fn build(root: &Path, dir: &Path, out: &Path) -> Result<(), String> {
    let app = dir.join("app.js");
    let text = std::fs::read_to_string(&app).map_err(|err| format!("cannot read {}: {err}", app.display()))?;
    let world = world(&text).map_err(|why| format!("{}: {why}", app.display()))?;
    let bin = toolchain::node(root)?;
    let modules = bin.parent().unwrap_or(&bin).to_owned();
    let partial = out.with_extension("wasm.partial");
    eprintln!("xtask: building the JavaScript guest {} ({world}) with jco componentize", dir.display());
    let mut command = Command::new("node");
    command
        .arg(root.join("tools/jco.mjs"))
        .arg(&modules)
        .arg(root)
        .arg("componentize")
        .arg(&app)
        .arg("--wit")
        .arg(crate::lang::wit_dir(root, dir))
        .arg("--world-name")
        .arg(world)
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

/// The world an `app.js` source `text` implements: see the module doc.
fn world(text: &str) -> Result<&'static str, String> {
    let exports = |name: &str| {
        text.lines().any(|line| {
            ["export const ", "export let ", "export var "]
                .iter()
                .find_map(|prefix| line.strip_prefix(prefix))
                .and_then(|rest| rest.trim_start().strip_prefix(name))
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
    };
    match (exports("provider"), exports("tool")) {
        (true, false) => Ok(PROVIDER_WORLD),
        (false, true) => Ok(TOOL_WORLD),
        (true, true) => Err("exports both `provider` and `tool`: a guest is one or the other".to_owned()),
        (false, false) => Err(
            "has neither `export const provider = { ... }` (a provider) nor `export const tool = { ... }` (a tool) at the start of a line"
                .to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_in_app_js_picks_the_world() {
        assert_eq!(world("import { x } from \"./x.js\";\n\nexport const provider = {\n  x,\n};\n"), Ok(PROVIDER_WORLD));
        assert_eq!(world("export const tool = { info, call };\n"), Ok(TOOL_WORLD));
        assert_eq!(world("export let tool = {};\nexport const toolbox = 1;\n"), Ok(TOOL_WORLD));
        // Longer names, indented, commented-out or re-exported bindings do not count.
        assert!(world("export const tools = {};\n  export const tool = {};\n// export const provider = 1;\n").is_err());
        assert!(world("export { tool } from \"./tool.js\";\n").is_err());
        assert!(world("export const provider = {};\nexport const tool = {};\n").is_err_and(|why| why.contains("both")));
        // The guests in the repository.
        let root = crate::root();
        let app = std::fs::read_to_string(root.join("guests/anthropic-js/app.js")).expect("anthropic-js");
        assert_eq!(world(&app), Ok(PROVIDER_WORLD));
        let templates = root.join("runtime/templates");
        let provider = std::fs::read_to_string(templates.join("js-provider/app.js")).expect("js-provider template");
        assert_eq!(world(&provider), Ok(PROVIDER_WORLD));
        let tool = std::fs::read_to_string(templates.join("js-tool/app.js")).expect("js-tool template");
        assert_eq!(world(&tool), Ok(TOOL_WORLD));
    }
}
