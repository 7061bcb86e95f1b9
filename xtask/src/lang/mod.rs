//! Guests written in languages other than Rust. A guest folder's language is
//! told by what is in it; each language's module builds the folder into a
//! component with the pinned toolchain (see [`crate::toolchain`]). A build is
//! skipped while the folder, `wit/` and the pins are unchanged.

mod js;
mod python;

use std::path::{Path, PathBuf};

use crate::stamp;

/// A guest language other than Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// `app.py`, built with componentize-py.
    Python,
    /// `app.js`, built with jco (componentize-js).
    JavaScript,
}

impl Lang {
    /// The language of the guest in `dir`.
    pub fn detect(dir: &Path) -> Result<Lang, String> {
        if dir.join("app.py").is_file() {
            Ok(Lang::Python)
        } else if dir.join("app.js").is_file() {
            Ok(Lang::JavaScript)
        } else {
            Err(format!(
                "{}: cannot tell the guest's language: expected Cargo.toml (Rust), app.py (Python) or app.js (JavaScript)",
                dir.display()
            ))
        }
    }

    /// The pinned toolchain files a build depends on.
    fn pins(self, root: &Path) -> Vec<PathBuf> {
        match self {
            Lang::Python => vec![root.join("tools/requirements.txt")],
            Lang::JavaScript => vec![root.join("tools/package-lock.json")],
        }
    }
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
    }
    stamp::write(&stamp_file, &wanted)?;
    Ok(out)
}
