//! The registry: loaded providers by name, each pointing at its current
//! version. A turn takes the version current at its start and keeps it to its
//! end; a swap changes what the *next* turn gets. A swap is validated first (the
//! file compiles, serves this contract, has a valid manifest within the host's
//! maxima, and answers `info`); if anything fails, the current version keeps
//! serving and the error names the file and the cause. The previous version is
//! kept for `rollback`; older ones are freed when their last turn ends. The
//! host-owned state belongs to the name, so it survives swaps. A swap is
//! bounded in time: the new version's `info` by `limits.init-ms`, and the whole
//! swap (waiting for an earlier swap, compiling, loading) by the registry's
//! swap timeout, after which it is given up and the lock released.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::provider::{Provider, TurnStream};
use crate::runtime::{ProviderOptions, Runtime};
use crate::types::{ErrorKind, Request, TurnError};

/// How long a swap may take in all (waiting for another swap of the same
/// provider, compiling, loading) before it is given up.
pub const DEFAULT_SWAP_TIMEOUT: Duration = Duration::from_secs(120);

/// Loaded providers by name, with hot-swap and rollback.
pub struct Registry {
    runtime: Runtime,
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    swap_timeout: Duration,
}

struct Entry {
    options: ProviderOptions,
    versions: Mutex<Versions>,
    /// Serialises swaps of one name (validation happens outside `versions`).
    swapping: tokio::sync::Mutex<()>,
}

struct Versions {
    current: Provider,
    previous: Option<Provider>,
    last_error: Option<String>,
}

/// A provider version loaded by [`Registry::stage`], not yet serving.
pub struct Staged {
    name: String,
    options: ProviderOptions,
    provider: Provider,
}

impl Staged {
    /// The staged version.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }
}

/// One loaded version, for status reports.
#[derive(Debug, Clone, Serialize)]
pub struct VersionStatus {
    /// `name@version`.
    pub served_by: String,
    /// The file it was loaded from.
    pub path: PathBuf,
    /// When it was loaded, in milliseconds since the Unix epoch.
    pub loaded_at_ms: u64,
    /// Turns running on it now.
    pub in_flight: u64,
}

/// A provider's versions, for status reports.
#[derive(Debug, Clone, Serialize)]
pub struct EntryStatus {
    /// The provider's name.
    pub name: String,
    /// The version new turns get.
    pub current: VersionStatus,
    /// The version `rollback` returns to.
    pub previous: Option<VersionStatus>,
    /// Why the last failed reload failed, if the last reload failed.
    pub last_error: Option<String>,
}

fn version_status(provider: &Provider) -> VersionStatus {
    let loaded_at_ms = provider
        .loaded_at()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    VersionStatus {
        served_by: provider.served_by().to_owned(),
        path: provider.component().path.clone(),
        loaded_at_ms,
        in_flight: provider.in_flight(),
    }
}

impl Registry {
    /// An empty registry on `runtime`.
    pub fn new(runtime: Runtime) -> Registry {
        Registry { runtime, entries: RwLock::new(HashMap::new()), swap_timeout: DEFAULT_SWAP_TIMEOUT }
    }

    /// Give up a swap that takes longer than `timeout` in all.
    pub fn with_swap_timeout(mut self, timeout: Duration) -> Registry {
        self.swap_timeout = timeout;
        self
    }

    /// The runtime it loads with.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Load `file` (a name in the components folder or a path) as provider `name`.
    pub async fn load(&self, name: &str, file: &str, options: ProviderOptions) -> Result<VersionStatus> {
        let provider = self.runtime.load_provider(file, options.clone()).await?;
        let status = version_status(&provider);
        let entry = Entry {
            options,
            versions: Mutex::new(Versions { current: provider, previous: None, last_error: None }),
            swapping: tokio::sync::Mutex::new(()),
        };
        self.write_entries().insert(name.to_owned(), Arc::new(entry));
        Ok(status)
    }

    /// Load `file` as the next version of `name` with `options` (a changed
    /// configuration), or as a new provider, without serving it yet: a
    /// configuration is applied whole or not at all (see [`Registry::install`]).
    /// A new version of the same component takes over its predecessor's state.
    pub async fn stage(&self, name: &str, file: &str, options: ProviderOptions) -> Result<Staged> {
        let current = self.entry(name).ok().map(|entry| lock(&entry.versions).current.clone());
        let same_component = |current: &Provider| current.component().path.file_stem() == Path::new(file).file_stem();
        let provider = match current {
            Some(current) if same_component(&current) => self.runtime.load_successor(&current, file, &options).await?,
            _ => self.runtime.load_provider(file, options.clone()).await?,
        };
        Ok(Staged { name: name.to_owned(), options, provider })
    }

    /// Serve a staged version: turns starting now get it; turns in flight keep
    /// theirs; the version it replaces is kept for `rollback`.
    pub fn install(&self, staged: Staged) -> VersionStatus {
        let status = version_status(&staged.provider);
        let mut entries = self.write_entries();
        let previous = entries.get(&staged.name).map(|entry| lock(&entry.versions).current.clone());
        let entry = Entry {
            options: staged.options,
            versions: Mutex::new(Versions { current: staged.provider, previous, last_error: None }),
            swapping: tokio::sync::Mutex::new(()),
        };
        entries.insert(staged.name, Arc::new(entry));
        status
    }

    /// Unload every provider whose name `keep` refuses (turns in flight finish).
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.write_entries().retain(|name, _| keep(name));
    }

    /// The version of `name` a turn starting now gets.
    pub fn get(&self, name: &str) -> Result<Provider> {
        Ok(lock(&self.entry(name)?.versions).current.clone())
    }

    /// Start a turn on the current version of `name`.
    pub fn stream(&self, name: &str, request: Request) -> Result<TurnStream> {
        Ok(self.get(name)?.stream(request))
    }

    /// Swap `name` to the component in `file` (default: the current version's
    /// file, replaced on disk). On any failure the current version stays.
    pub async fn reload(&self, name: &str, file: Option<&Path>) -> Result<VersionStatus> {
        let entry = self.entry(name)?;
        let deadline = tokio::time::Instant::now() + self.swap_timeout;
        let current = lock(&entry.versions).current.clone();
        let path = file.map(Path::to_owned).unwrap_or_else(|| current.component().path.clone());
        let given_up = |what: &str| Error::Init {
            provider: name.to_owned(),
            error: TurnError::new(
                ErrorKind::Timeout,
                format!("{what} took longer than the swap timeout of {} ms; the swap was given up", self.swap_timeout.as_millis()),
            ),
        };
        let Ok(_one_swap_at_a_time) = tokio::time::timeout_at(deadline, entry.swapping.lock()).await else {
            let error = given_up("waiting for an earlier swap of this provider");
            return Err(Error::Reload { name: name.to_owned(), file: path, serving: current.served_by().to_owned(), source: Box::new(error) });
        };
        let file_name = path.to_string_lossy().into_owned();
        let swap = self.runtime.load_successor(&current, &file_name, &entry.options);
        let loaded = tokio::time::timeout_at(deadline, swap)
            .await
            .unwrap_or_else(|_| Err(given_up("compiling and loading the new version")));
        let mut versions = lock(&entry.versions);
        match loaded {
            Ok(next) => {
                let status = version_status(&next);
                tracing::info!(provider = name, from = current.served_by(), to = next.served_by(), "swapped");
                self.runtime.telemetry().swapped(name, "swapped");
                versions.previous = Some(std::mem::replace(&mut versions.current, next));
                versions.last_error = None;
                Ok(status)
            }
            Err(source) => {
                let error = Error::Reload {
                    name: name.to_owned(),
                    file: path,
                    serving: current.served_by().to_owned(),
                    source: Box::new(source),
                };
                tracing::error!(provider = name, "{error}");
                self.runtime.telemetry().swapped(name, "failed");
                versions.last_error = Some(error.to_string());
                Err(error)
            }
        }
    }

    /// Return `name` to its previous version (the current one becomes previous).
    pub fn rollback(&self, name: &str) -> Result<VersionStatus> {
        let entry = self.entry(name)?;
        let mut versions = lock(&entry.versions);
        let Some(previous) = versions.previous.take() else {
            return Err(Error::Config(format!("provider `{name}` has no previous version to roll back to")));
        };
        let current = std::mem::replace(&mut versions.current, previous);
        tracing::info!(provider = name, from = current.served_by(), to = versions.current.served_by(), "rolled back");
        self.runtime.telemetry().swapped(name, "rolled-back");
        versions.previous = Some(current);
        Ok(version_status(&versions.current))
    }

    /// Every provider with its versions, load times and running turns.
    pub fn status(&self) -> Vec<EntryStatus> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let mut status: Vec<EntryStatus> = entries
            .iter()
            .map(|(name, entry)| {
                let versions = lock(&entry.versions);
                EntryStatus {
                    name: name.clone(),
                    current: version_status(&versions.current),
                    previous: versions.previous.as_ref().map(version_status),
                    last_error: versions.last_error.clone(),
                }
            })
            .collect();
        status.sort_by(|a, b| a.name.cmp(&b.name));
        status
    }

    /// Whether `name` is loaded.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.read().map(|e| e.contains_key(name)).unwrap_or(false)
    }

    /// The providers whose current version was loaded from `file` (several
    /// providers may be instances of one component).
    pub fn loaded_from(&self, file: &Path) -> Vec<String> {
        // The same file, however each path was spelled.
        let same = |path: &Path| path == file || std::fs::canonicalize(path).ok().zip(std::fs::canonicalize(file).ok()).is_some_and(|(a, b)| a == b);
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<String> = entries
            .iter()
            .filter(|(_, entry)| same(&lock(&entry.versions).current.component().path))
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }

    fn entry(&self, name: &str) -> Result<Arc<Entry>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(name)
            .cloned()
            .ok_or_else(|| Error::Config(format!("no provider named `{name}` is loaded")))
    }

    fn write_entries(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Entry>>> {
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
