//! C guests: a folder of `*.c` (and `*.h`) files implementing the
//! `cordon:provider/provider-component` or the `cordon:provider/tool-component`
//! world, built into a component in four steps (for `guests/hash-c`, ~1.5 s in
//! all once the toolchain is there).
//!
//! The world is told by the generated header the guest includes, which it
//! needs anyway: a guest whose `.c` or `.h` files have a line
//! `#include "provider_component.h"` is built against the provider world, one
//! with `#include "tool_component.h"` against the tool world. Only preprocessor
//! lines count (`#`, optional spaces, `include`, then the name in `"..."` or
//! `<...>`); a guest including both headers or neither is refused with a message
//! saying which to include.
//!
//! 1. **Toolchain.** Debian 12's `clang-19`, `lld-19` (`wasm-ld`),
//!    `libclang-rt-19-dev-wasm32` (the wasm32 compiler runtime) and `wasi-libc`
//!    (0.0~git20220510: the wasm32-wasi sysroot under `/usr`, with
//!    `crt1-reactor.o`). When any is missing they are installed on first use
//!    (~15 s) with `apt-get install -y --no-install-recommends`, after an
//!    `apt-get update` if that fails (empty package lists on a fresh machine),
//!    through `sudo` when not root, waiting for the dpkg lock if another install
//!    holds it. Where that fails the error names the packages and the command.
//! 2. **Bindings.** wit-bindgen's C generator (the `wit-bindgen-c` crate, pinned
//!    to 0.63.0 in `xtask/Cargo.toml`, used as a library: no CLI install) writes
//!    `<world>.h`, `<world>.c` and `<world>_component_type.o` (the world's type,
//!    as a custom section; `<world>` is `provider_component` or
//!    `tool_component`) from `<root>/wit` into
//!    `target/guests/<name>-c/bindings`: nothing generated lands in the guest's
//!    folder.
//! 3. **Compile and link.** Every `.c` of the guest (with `-Wall -Wextra
//!    -Werror -Wshadow -Wvla`) and the generated `.c` are compiled by `clang-19
//!    --target=wasm32-wasi -O2 -std=c11` into `target/guests/<name>-c/obj`,
//!    seeing only clang's and wasi-libc's headers (`-nostdlibinc`: Debian's
//!    sysroot is `/usr`, whose `/usr/include` holds the host's glibc headers),
//!    then linked as a WASI reactor (`-mexec-model=reactor`: wasi-libc's
//!    `crt1-reactor.o`, whose exported `_initialize` runs the C constructors;
//!    the component calls it at instantiation) into a core module.
//! 4. **Componentize.** The `wit-component` crate (0.262.0) turns the core
//!    module into a component, adapting its WASI preview1 imports to WASI 0.2
//!    with the reactor adapter from `wasi-preview1-component-adapter-provider`
//!    (50.0.1). The component is validated, then moved to `out`.
//!
//! A guest that avoids stdio (`printf`, `fopen` and friends) keeps its WASI
//! imports small; the host gives C guests an empty WASI context anyway.

use std::path::{Path, PathBuf};
use std::process::Command;

use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_bindgen_core::wit_parser::Resolve;
use wit_bindgen_core::Files;

use crate::toolchain;

/// The world of a provider (its sources include `"provider_component.h"`).
const PROVIDER_WORLD: &str = "cordon:provider/provider-component";

/// The world of a tool (its sources include `"tool_component.h"`).
const TOOL_WORLD: &str = "cordon:provider/tool-component";

/// The headers wit-bindgen's C generator writes for each world.
const PROVIDER_HEADER: &str = "provider_component.h";
const TOOL_HEADER: &str = "tool_component.h";

/// The Debian packages of the toolchain.
const PACKAGES: [&str; 4] = ["clang-19", "lld-19", "libclang-rt-19-dev-wasm32", "wasi-libc"];

/// The compiler's target triple; Debian's wasi-libc lays its sysroot out for it.
const TARGET: &str = "wasm32-wasi";

/// Flags for every compile.
const CFLAGS: [&str; 3] = ["-O2", "-std=c11", "-fno-common"];

/// Extra flags for the guest's own sources (not the generated ones).
const GUEST_CFLAGS: [&str; 5] = ["-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wvla"];

/// The compiler and the sysroot found on this machine.
struct Toolchain {
    clang: PathBuf,
    /// Where `lib/wasm32-wasi` (crt1-reactor.o, libc.a) is: `/usr` on Debian.
    sysroot: PathBuf,
    /// wasi-libc's headers: `/usr/include/wasm32-wasi` on Debian.
    include: PathBuf,
}

/// Build the guest in `dir` into the component `out`.
pub fn build(root: &Path, dir: &Path, out: &Path) -> Result<(), String> {
    let world = world(&guest_texts(dir)?).map_err(|why| format!("{}: {why}", dir.display()))?;
    let tools = ensure_toolchain()?;
    let name = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "guest".into());
    let work = out.with_file_name(format!("{name}-c"));
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(|err| format!("cannot clear {}: {err}", work.display()))?;
    }
    let bindings = work.join("bindings");
    let objects_dir = work.join("obj");
    for folder in [&bindings, &objects_dir] {
        std::fs::create_dir_all(folder).map_err(|err| format!("cannot create {}: {err}", folder.display()))?;
    }
    eprintln!("xtask: building the C guest {} ({world}) with clang-19 and wasi-libc", dir.display());

    let generated = generate_bindings(&crate::lang::wit_dir(root, dir), world, &bindings)?;
    let mut objects = Vec::new();
    for source in c_sources(dir)? {
        objects.push(compile(&tools, &source, dir, &bindings, &objects_dir, true)?);
    }
    for source in generated.iter().filter(|p| p.extension().is_some_and(|e| e == "c")) {
        objects.push(compile(&tools, source, dir, &bindings, &objects_dir, false)?);
    }
    // The world's type, as a custom section wit-component reads.
    objects.extend(generated.iter().filter(|p| p.extension().is_some_and(|e| e == "o")).cloned());

    let core = work.join(format!("{name}.core.wasm"));
    toolchain::run(
        Command::new(&tools.clang)
            .arg(format!("--target={TARGET}"))
            .arg(format!("--sysroot={}", tools.sysroot.display()))
            .arg("-mexec-model=reactor")
            .args(["-O2", "-Wl,--strip-debug", "-o"])
            .arg(&core)
            .args(&objects),
        &format!("linking the C guest {}", dir.display()),
    )?;

    let module = std::fs::read(&core).map_err(|err| format!("cannot read {}: {err}", core.display()))?;
    let component = componentize(&module).map_err(|err| format!("making a component of {}: {err}", core.display()))?;
    let partial = work.join(format!("{name}.wasm"));
    std::fs::write(&partial, component).map_err(|err| format!("cannot write {}: {err}", partial.display()))?;
    // Replace the output only once the build succeeded.
    std::fs::rename(&partial, out).map_err(|err| format!("cannot move {} to {}: {err}", partial.display(), out.display()))
}

/// The core module `module` as a component, its preview1 imports adapted.
fn componentize(module: &[u8]) -> Result<Vec<u8>, String> {
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder.validate(true);
    encoder.module(module).map_err(|err| format!("{err:#}"))?;
    encoder
        .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)
        .map_err(|err| format!("{err:#}"))?;
    encoder.encode().map_err(|err| format!("{err:#}"))
}

/// The world the guest's sources `texts` implement: see the module doc.
fn world(texts: &[String]) -> Result<&'static str, String> {
    let includes = |header: &str| {
        texts.iter().flat_map(|text| text.lines()).any(|line| {
            line.trim_start()
                .strip_prefix('#')
                .and_then(|rest| rest.trim_start().strip_prefix("include"))
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix(['"', '<']))
                .and_then(|rest| rest.strip_prefix(header))
                .is_some_and(|rest| rest.starts_with(['"', '>']))
        })
    };
    match (includes(PROVIDER_HEADER), includes(TOOL_HEADER)) {
        (true, false) => Ok(PROVIDER_WORLD),
        (false, true) => Ok(TOOL_WORLD),
        (true, true) => Err(format!(
            "includes both \"{PROVIDER_HEADER}\" and \"{TOOL_HEADER}\": a guest is a provider or a tool, not both"
        )),
        (false, false) => Err(format!(
            "no source includes \"{PROVIDER_HEADER}\" (a provider) or \"{TOOL_HEADER}\" (a tool): include the \
             generated header of the world the guest implements"
        )),
    }
}

/// The text of the guest's `.c` and `.h` files (not read as UTF-8 strictly:
/// only the `#include` lines matter).
fn guest_texts(dir: &Path) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(dir).map_err(|err| format!("cannot list {}: {err}", dir.display()))?;
    let mut texts = Vec::new();
    for path in entries.flatten().map(|entry| entry.path()) {
        if path.is_file() && path.extension().is_some_and(|ext| ext == "c" || ext == "h") {
            let bytes = std::fs::read(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
            texts.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Ok(texts)
}

/// Write the C bindings of `world` from `wit` (the guest's contract version,
/// see [`crate::lang::wit_dir`]) into `into`; return the files written.
fn generate_bindings(wit: &Path, world: &str, into: &Path) -> Result<Vec<PathBuf>, String> {
    let failed = |err: &dyn std::fmt::Display| format!("generating the C bindings of {world} from {}: {err}", wit.display());
    let mut resolve = Resolve::default();
    let (package, _) = resolve.push_path(wit).map_err(|err| failed(&format_args!("{err:#}")))?;
    let world = resolve.select_world(&[package], Some(world)).map_err(|err| failed(&format_args!("{err:#}")))?;
    let mut files = Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)
        .map_err(|err| failed(&format_args!("{err:#}")))?;
    let mut written = Vec::new();
    for (name, contents) in files.iter() {
        let path = into.join(name);
        std::fs::write(&path, contents).map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The guest's `.c` files, sorted.
fn c_sources(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|err| format!("cannot list {}: {err}", dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "c"))
        .collect();
    sources.sort();
    Ok(sources)
}

/// Compile `source` into an object in `objects`; `strict` adds the guest's warning flags.
fn compile(tools: &Toolchain, source: &Path, dir: &Path, bindings: &Path, objects: &Path, strict: bool) -> Result<PathBuf, String> {
    let stem = source.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = if strict { "guest" } else { "gen" };
    let object = objects.join(format!("{prefix}-{stem}.o"));
    let mut command = Command::new(&tools.clang);
    command
        .arg(format!("--target={TARGET}"))
        .arg(format!("--sysroot={}", tools.sysroot.display()))
        // Debian's sysroot is `/usr`, so clang would also search the host's
        // `/usr/include` (glibc's headers) after wasi-libc's: search only
        // clang's own headers, then wasi-libc's.
        .arg("-nostdlibinc")
        .arg("-idirafter")
        .arg(&tools.include)
        .args(CFLAGS)
        .arg("-I")
        .arg(bindings)
        .arg("-I")
        .arg(dir);
    if strict {
        command.args(GUEST_CFLAGS);
    }
    command.arg("-c").arg(source).arg("-o").arg(&object);
    toolchain::run(&mut command, &format!("compiling {}", source.display()))?;
    Ok(object)
}

/// The toolchain, installed with apt-get first if any part of it is missing.
fn ensure_toolchain() -> Result<Toolchain, String> {
    if let Ok(tools) = find_toolchain() {
        return Ok(tools);
    }
    let packages = PACKAGES.join(" ");
    eprintln!("xtask: the C toolchain is incomplete; installing {packages} with apt-get (once)");
    let install: Vec<&str> = ["install", "-y", "--no-install-recommends"].into_iter().chain(PACKAGES).collect();
    let installed = apt(&install).or_else(|first| {
        eprintln!("xtask: {first}; updating the package lists and trying again");
        apt(&["update"]).and_then(|()| apt(&install))
    });
    let how = format!(
        "the C guests need the Debian packages {packages}: install them with `sudo apt-get update && sudo apt-get install -y {packages}` \
         (on another system: clang 19 with wasm-ld, the wasm32 compiler-rt builtins and a wasi-libc sysroot)"
    );
    if let Err(err) = installed {
        return Err(format!("{err}; {how}"));
    }
    find_toolchain().map_err(|missing| format!("{missing} even after installing; {how}"))
}

/// Run `apt-get args`, non-interactively, through sudo when not root. Waits
/// for the dpkg lock (another install may be running) rather than failing.
fn apt(args: &[&str]) -> Result<(), String> {
    let mut command = if is_root() {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        sudo
    };
    command.env("DEBIAN_FRONTEND", "noninteractive").args(["-o", "DPkg::Lock::Timeout=600"]).args(args);
    toolchain::run(&mut command, &format!("`apt-get {}`", args.join(" ")))
}

/// Whether this process runs as root.
fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// The compiler and the sysroot, or what is missing.
fn find_toolchain() -> Result<Toolchain, String> {
    let clang = ["/usr/lib/llvm-19/bin/clang", "/usr/bin/clang-19"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| on_path("clang-19"))
        .ok_or("`clang-19` is not installed")?;
    let llvm_bin = clang.parent().map(Path::to_path_buf).unwrap_or_default();
    if !llvm_bin.join("wasm-ld").is_file() && on_path("wasm-ld-19").is_none() {
        return Err("`wasm-ld` (package lld-19) is not installed".to_owned());
    }
    // The wasm32 builtins clang links in: <resource dir>/lib/wasi/libclang_rt.builtins-wasm32.a.
    let resource = Command::new(&clang)
        .arg("-print-resource-dir")
        .output()
        .map_err(|err| format!("cannot run {}: {err}", clang.display()))?;
    let resource = PathBuf::from(String::from_utf8_lossy(&resource.stdout).trim());
    if !resource.join("lib/wasi/libclang_rt.builtins-wasm32.a").is_file() {
        return Err("the wasm32 compiler runtime (package libclang-rt-19-dev-wasm32) is not installed".to_owned());
    }
    let sysroot = ["/usr", "/usr/share/wasi-sysroot", "/opt/wasi-sdk/share/wasi-sysroot"]
        .iter()
        .map(PathBuf::from)
        .find(|root| root.join("lib").join(TARGET).join("crt1-reactor.o").is_file())
        .ok_or("the wasi-libc sysroot (package wasi-libc) is not installed")?;
    let include = [sysroot.join("include").join(TARGET), sysroot.join("include")]
        .into_iter()
        .find(|dir| dir.join("wasi/api.h").is_file())
        .ok_or("the wasi-libc headers (package wasi-libc) are not installed")?;
    Ok(Toolchain { clang, sysroot, include })
}

/// `program` in a folder of `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sources: &[&str]) -> Vec<String> {
        sources.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_included_header_picks_the_world() {
        assert_eq!(world(&texts(&["#include <stdlib.h>\n#include \"provider_component.h\"\n"])), Ok(PROVIDER_WORLD));
        assert_eq!(world(&texts(&["int x;\n", "  #  include   \"tool_component.h\"  // the bindings\n"])), Ok(TOOL_WORLD));
        assert_eq!(world(&texts(&["#include <tool_component.h>\n"])), Ok(TOOL_WORLD));
        // Comments, longer names and other headers do not count.
        assert!(world(&texts(&["// #include \"tool_component.h\"\n#include \"my_tool_component.h\"\n"])).is_err());
        assert!(world(&texts(&["#include \"tool_component.hpp\"\n"])).is_err());
        assert!(world(&texts(&["#include \"provider_component.h\"\n", "#include \"tool_component.h\"\n"])).is_err());
        assert!(world(&[]).is_err());
    }
}
