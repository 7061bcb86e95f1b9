//! Content stamps: a hash of the files a build or an install was made from,
//! kept beside its output, so the work is skipped while nothing changed.

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::path::{Path, PathBuf};

/// The stamp of `files` (folders are walked; order and names count).
pub fn of_files(files: &[PathBuf]) -> Result<String, String> {
    let mut hasher = DefaultHasher::new();
    for file in files {
        add(&mut hasher, file)?;
    }
    Ok(format!("{:016x}", hasher.finish()))
}

fn add(hasher: &mut DefaultHasher, path: &Path) -> Result<(), String> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|err| format!("cannot list {}: {err}", path.display()))?
            .flatten()
            .map(|entry| entry.path())
            .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.') || n == "node_modules" || n == "__pycache__"))
            .collect();
        entries.sort();
        for entry in entries {
            add(hasher, &entry)?;
        }
        return Ok(());
    }
    let bytes = std::fs::read(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    hasher.write(path.to_string_lossy().as_bytes());
    hasher.write(&bytes);
    Ok(())
}

/// Whether the stamp at `path` is `wanted`.
pub fn matches(path: &Path, wanted: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|found| found.trim() == wanted)
}

/// Record `stamp` at `path`.
pub fn write(path: &Path, stamp: &str) -> Result<(), String> {
    std::fs::write(path, stamp).map_err(|err| format!("cannot write {}: {err}", path.display()))
}
