//! Watching a components folder: when `<name>.wasm` or `<name>.toml` changes,
//! reload every provider whose current version was loaded from `<name>.wasm`
//! (a gateway may run several instances of one component) (after a short quiet period, so a burst of file
//! events makes one reload). Replace files with write-then-rename: the rename is
//! atomic, so a half-written file is never seen; if one is (a copy in place),
//! validation refuses it, the current version keeps serving, and the write's
//! last event triggers another attempt.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::registry::Registry;

/// How long a file must be quiet before it is reloaded: long enough to take a
/// manifest and its component renamed together as one swap, short enough not
/// to delay it. A copy in place keeps restarting the wait while it writes.
pub const DEFAULT_QUIET: Duration = Duration::from_millis(10);

/// A running watch; stops when dropped.
pub struct Watch {
    _watcher: notify::RecommendedWatcher,
    task: JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Watch `dir` and reload the registry's providers whose files change there.
/// Must be called within a tokio runtime.
pub fn watch(registry: Arc<Registry>, dir: &Path, quiet: Duration) -> Result<Watch> {
    let (sender, mut receiver) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !matches!(event.kind, notify::EventKind::Access(notify::event::AccessKind::Open(_)))
        {
            for path in event.paths {
                let _ = sender.send(path);
            }
        }
    })
    .map_err(|err| Error::Config(format!("cannot watch {}: {err}", dir.display())))?;
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(|err| Error::Config(format!("cannot watch {}: {err}", dir.display())))?;

    let dir = dir.to_owned();
    let task = tokio::spawn(async move {
        // component file name -> when it may be reloaded (the last event plus the quiet period)
        let mut due: HashMap<String, Instant> = HashMap::new();
        loop {
            let next_due = due.values().min().copied();
            tokio::select! {
                path = receiver.recv() => {
                    let Some(path) = path else { return };
                    if let Some(name) = provider_file(&path)
                        && !registry.loaded_from(&dir.join(format!("{name}.wasm"))).is_empty()
                    {
                        due.insert(name, Instant::now() + quiet);
                    }
                }
                () = sleep_until(next_due) => {
                    let now = Instant::now();
                    let ready: Vec<String> = due.iter().filter(|(_, at)| **at <= now).map(|(n, _)| n.clone()).collect();
                    for name in ready {
                        due.remove(&name);
                        let file = dir.join(format!("{name}.wasm"));
                        for provider in registry.loaded_from(&file) {
                            // Success and failure are both logged by the registry.
                            let _ = registry.reload(&provider, Some(&file)).await;
                        }
                    }
                }
            }
        }
    });
    Ok(Watch { _watcher: watcher, task })
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// `openai` for `.../openai.wasm` or `.../openai.toml`.
fn provider_file(path: &Path) -> Option<String> {
    let extension = path.extension()?.to_str()?;
    if extension != "wasm" && extension != "toml" {
        return None;
    }
    Some(path.file_stem()?.to_str()?.to_owned())
}

/// A watch on one file, such as a configuration: its folder is watched, so a
/// replace by rename (as editors and config managers do) is seen too.
pub struct FileWatch {
    _watcher: notify::RecommendedWatcher,
    changes: mpsc::UnboundedReceiver<()>,
    quiet: Duration,
}

impl FileWatch {
    /// Watch `file`; a burst of changes quieter than `quiet` at its end counts once.
    pub fn new(file: &Path, quiet: Duration) -> Result<FileWatch> {
        let cannot = |err: notify::Error| Error::Config(format!("cannot watch {}: {err}", file.display()));
        let name = file.file_name().map(ToOwned::to_owned);
        let dir = match file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let (sender, changes) = mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && !matches!(event.kind, notify::EventKind::Access(_))
                && event.paths.iter().any(|path| path.file_name() == name.as_deref())
            {
                let _ = sender.send(());
            }
        })
        .map_err(cannot)?;
        watcher.watch(&dir, RecursiveMode::NonRecursive).map_err(cannot)?;
        Ok(FileWatch { _watcher: watcher, changes, quiet })
    }

    /// Wait for the file to change and then be quiet.
    pub async fn changed(&mut self) {
        if self.changes.recv().await.is_none() {
            return std::future::pending().await;
        }
        while let Ok(Some(())) = tokio::time::timeout(self.quiet, self.changes.recv()).await {}
    }
}
