//! The on-disk cache of compiled components (by default `cache/` beside the
//! components folder): one `<sha256 of the component>-<engine hash>.cwasm`
//! per component and engine configuration, so a component is compiled once,
//! not at every start.
//!
//! It stays small by itself. Loading an entry marks it used (its modification
//! time). Each new entry prunes the folder: entries compiled by another engine
//! (another Cordon version or configuration) go once a day unused, leftovers of
//! interrupted writes once an hour old, and then the least recently used
//! entries until the folder is under [`MAX_BYTES`]. Deleting an entry costs at
//! most a recompile; a process that has it mapped keeps its copy.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The most the folder holds after a write (a Rust component compiles to a few
/// MiB, a Python or JavaScript one to about 40).
pub const MAX_BYTES: u64 = 1 << 30;

/// How long an entry of another engine, unused, is kept.
const OTHER_ENGINE_TTL: Duration = Duration::from_secs(24 * 3600);

/// How old a half-written temporary file must be before it is removed.
const TEMP_TTL: Duration = Duration::from_secs(3600);

/// A cache folder, seen by one engine.
#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
    engine_suffix: String,
}

/// One file in the folder, as pruning sees it.
struct Entry {
    path: PathBuf,
    bytes: u64,
    used: SystemTime,
}

impl CompiledCache {
    /// The cache in `dir` for the engine whose compatibility hash is `engine_hash`.
    pub fn new(dir: PathBuf, engine_hash: u64) -> CompiledCache {
        CompiledCache { dir, engine_suffix: format!("-{engine_hash:016x}.cwasm") }
    }

    /// Where the compiled form of the component with `digest` (`sha256:...`) goes.
    pub fn path(&self, digest: &str) -> PathBuf {
        let content = digest.trim_start_matches("sha256:");
        self.dir.join(format!("{content}{}", self.engine_suffix))
    }

    /// Mark the entry at `path` as just used, so pruning keeps it longest.
    pub fn touch(path: &Path) {
        if let Ok(file) = std::fs::File::options().append(true).open(path) {
            // Failing only makes the entry look older than it is.
            let _ = file.set_modified(SystemTime::now());
        }
    }

    /// Write `bytes` as the entry at `path` (atomically), then prune the folder.
    pub fn store(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let temp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&temp, bytes)?;
        std::fs::rename(&temp, path)?;
        self.prune(MAX_BYTES, SystemTime::now());
        Ok(())
    }

    /// Remove what is stale (see the module's doc), then the least recently
    /// used entries until at most `max_bytes` remain. Returns the paths removed.
    pub fn prune(&self, max_bytes: u64, now: SystemTime) -> Vec<PathBuf> {
        let Ok(listing) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let age = |used: SystemTime| now.duration_since(used).unwrap_or_default();
        let mut removed = Vec::new();
        let mut kept = Vec::new();
        for entry in listing.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|name| name.to_str()).map(str::to_owned) else {
                continue;
            };
            let Ok(metadata) = entry.metadata() else { continue };
            let used = metadata.modified().unwrap_or(now);
            let is_temp = name.contains(".tmp");
            if !metadata.is_file() || !(name.ends_with(".cwasm") || is_temp) {
                continue;
            }
            let stale = if is_temp {
                age(used) > TEMP_TTL
            } else {
                !name.ends_with(&self.engine_suffix) && age(used) > OTHER_ENGINE_TTL
            };
            if stale {
                if std::fs::remove_file(&path).is_ok() {
                    removed.push(path);
                }
            } else if !is_temp {
                kept.push(Entry { path, bytes: metadata.len(), used });
            }
        }
        let mut total: u64 = kept.iter().map(|entry| entry.bytes).fold(0, u64::saturating_add);
        // Newest first; drop from the end.
        kept.sort_by_key(|entry| std::cmp::Reverse(entry.used));
        while total > max_bytes {
            let Some(oldest) = kept.pop() else { break };
            if std::fs::remove_file(&oldest.path).is_ok() {
                total = total.saturating_sub(oldest.bytes);
                removed.push(oldest.path);
            }
        }
        if !removed.is_empty() {
            tracing::debug!(folder = %self.dir.display(), removed = removed.len(), "pruned the compiled-component cache");
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dir: &Path, name: &str, bytes: usize, age_secs: u64, now: SystemTime) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, vec![0u8; bytes]).expect("write");
        let file = std::fs::File::options().append(true).open(&path).expect("open");
        file.set_modified(now - Duration::from_secs(age_secs)).expect("set time");
        path
    }

    #[test]
    fn prunes_stale_files_then_the_least_recently_used() {
        let dir = tempfile::tempdir().expect("temp dir");
        let now = SystemTime::now();
        let cache = CompiledCache::new(dir.path().to_owned(), 0xabc);
        let current = |name: &str| format!("{name}-{:016x}.cwasm", 0xabc);
        let fresh = entry(dir.path(), &current("fresh"), 400, 10, now);
        let older = entry(dir.path(), &current("older"), 400, 100, now);
        let oldest = entry(dir.path(), &current("oldest"), 400, 1000, now);
        let other_recent = entry(dir.path(), "x-0000000000000def.cwasm", 10, 50, now);
        let other_stale = entry(dir.path(), "y-0000000000000def.cwasm", 10, 2 * 24 * 3600, now);
        let temp_stale = entry(dir.path(), "z.tmp123", 10, 2 * 3600, now);
        let temp_recent = entry(dir.path(), "w.tmp456", 10, 60, now);
        let unrelated = entry(dir.path(), "notes.txt", 5000, 9_999_999, now);

        let mut removed = cache.prune(900, now);
        removed.sort();
        let mut expected = vec![oldest.clone(), other_stale.clone(), temp_stale.clone()];
        expected.sort();
        assert_eq!(removed, expected);
        for kept in [&fresh, &older, &other_recent, &temp_recent, &unrelated] {
            assert!(kept.exists(), "{} kept", kept.display());
        }

        // Using an entry makes it the last to go.
        CompiledCache::touch(&older);
        assert_eq!(cache.prune(400, SystemTime::now()), [other_recent, fresh]);
        assert!(older.exists());
    }

    #[test]
    fn paths_name_the_content_and_the_engine() {
        let cache = CompiledCache::new(PathBuf::from("/c"), 0x1f);
        assert_eq!(cache.path("sha256:00ff"), PathBuf::from("/c/00ff-000000000000001f.cwasm"));
    }
}
