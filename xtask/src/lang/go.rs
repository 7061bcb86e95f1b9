//! Go guests (being written).

use std::path::Path;

/// Build the guest in `dir` into `out`.
pub fn build(_root: &Path, dir: &Path, _out: &Path) -> Result<(), String> {
    Err(format!("{}: this language's guests are not built yet", dir.display()))
}
