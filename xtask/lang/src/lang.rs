//! Guests written in languages other than Rust. A guest folder's language is
//! told by what is in it; each language's module builds the folder into a
//! component with the pinned toolchain (see [`crate::toolchain`]). A build is
//! skipped while the folder, `wit/` and the pins are unchanged.

use std::path::{Path, PathBuf};

use crate::{c, go, js, python, stamp};

/// A guest language other than Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// `app.py`, built with componentize-py.
    Python,
    /// `app.js`, built with jco (componentize-js).
    JavaScript,
    /// `*.c`, built with clang and wasi-libc, bindings from wit-bindgen's C generator.
    C,
    /// `go.mod`, built with mainline Go, bindings from wit-bindgen's Go generator.
    Go,
}

impl Lang {
    /// The language of the guest in `dir`.
    pub fn detect(dir: &Path) -> Result<Lang, String> {
        if dir.join("app.py").is_file() {
            Ok(Lang::Python)
        } else if dir.join("app.js").is_file() {
            Ok(Lang::JavaScript)
        } else if dir.join("go.mod").is_file() {
            Ok(Lang::Go)
        } else if has_c_sources(dir) {
            Ok(Lang::C)
        } else {
            Err(format!(
                "{}: cannot tell the guest's language: expected Cargo.toml (Rust), app.py (Python), app.js (JavaScript), go.mod (Go) or *.c (C)",
                dir.display()
            ))
        }
    }

    /// The pinned toolchain files and the builder a build depends on.
    fn pins(self, root: &Path) -> Vec<PathBuf> {
        // This crate's dependencies pin the bindings generators and the adapter.
        let (builder, tools) = match self {
            Lang::Python => ("python.rs", Some("tools/requirements.txt")),
            Lang::JavaScript => ("js.rs", Some("tools/package-lock.json")),
            Lang::C => ("c.rs", None),
            Lang::Go => ("go.rs", Some("tools/requirements.txt")),
        };
        let mut pins = vec![root.join("xtask/lang/src").join(builder), root.join("xtask/lang/Cargo.toml")];
        pins.extend(tools.map(|file| root.join(file)));
        if self == Lang::JavaScript {
            pins.push(root.join("tools/jco.mjs"));
        }
        pins
    }
}

/// The WIT a guest is built against: `wit/0.1.0/` when its manifest
/// (`cordon.toml`) names `contract = "cordon:provider@0.1.0"`, else `wit/`
/// (the current contract). The host serves both.
pub fn wit_dir(root: &Path, dir: &Path) -> PathBuf {
    let manifest = std::fs::read_to_string(dir.join("cordon.toml")).unwrap_or_default();
    let old = manifest
        .lines()
        .any(|line| line.split('#').next().unwrap_or("").replace(' ', "") == "contract=\"cordon:provider@0.1.0\"");
    if old { root.join("wit/0.1.0") } else { root.join("wit") }
}

/// Build the guest in `dir` into `target/guests/<name>.wasm`; return its path.
pub fn build(root: &Path, dir: &Path, name: &str) -> Result<PathBuf, String> {
    let lang = Lang::detect(dir)?;
    let out_dir = root.join("target/guests");
    std::fs::create_dir_all(&out_dir).map_err(|err| format!("cannot create {}: {err}", out_dir.display()))?;
    let out = out_dir.join(format!("{name}.wasm"));
    let stamp_file = out_dir.join(format!("{name}.stamp"));
    let mut inputs = vec![dir.to_owned(), root.join("wit")];
    inputs.extend(lang.pins(root));
    let wanted = stamp::of_files(&inputs)?;
    if out.is_file() && stamp::matches(&stamp_file, &wanted) {
        return Ok(out);
    }
    match lang {
        Lang::Python => python::build(root, dir, &out)?,
        Lang::JavaScript => js::build(root, dir, &out)?,
        Lang::C => c::build(root, dir, &out)?,
        Lang::Go => go::build(root, dir, &out)?,
    }
    stamp::write(&stamp_file, &wanted)?;
    Ok(out)
}

fn has_c_sources(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|entry| entry.path().extension().is_some_and(|ext| ext == "c"))
    })
}
