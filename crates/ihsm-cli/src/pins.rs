//! The modules this user has trusted: the attestation key each socket presented the first
//! time, kept across invocations (trust on first use, as SSH's known hosts). A later key that
//! differs is refused before any PIN is sealed to it.
//!
//! The file is `$IHSM_PINS`, else `$XDG_CONFIG_HOME/ihsm/known-modules`, else
//! `~/.config/ihsm/known-modules`: one line per socket, `PATH HEX-KEY`.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The pins file.
pub fn file() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("IHSM_PINS")
        .or_else(|| var("XDG_CONFIG_HOME").map(|dir| dir.join("ihsm/known-modules")))
        .or_else(|| var("HOME").map(|home| home.join(".config/ihsm/known-modules")))
}

fn lines(file: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (path, key) = line.rsplit_once(' ')?;
            Some((path.to_string(), key.to_string()))
        })
        .collect()
}

/// The key pinned for `socket`, if any.
pub fn pinned(socket: &Path) -> Option<Vec<u8>> {
    let file = file()?;
    let socket = socket.to_string_lossy();
    lines(&file)
        .into_iter()
        .find(|(path, _)| *path == socket)
        .and_then(|(_, key)| hex::decode(key).ok())
}

/// Pins `key` for `socket` if nothing is pinned for it yet.
pub fn remember(socket: &Path, key: &[u8]) -> Result<(), String> {
    let Some(file) = file() else { return Ok(()) };
    if pinned(socket).is_some() {
        return Ok(());
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&file)
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    writeln!(out, "{} {}", socket.display(), hex::encode(key))
        .map_err(|e| format!("cannot write {}: {e}", file.display()))
}

/// Forgets the key pinned for `socket` (its partition was deleted).
pub fn forget(socket: &Path) -> Result<(), String> {
    let Some(file) = file() else { return Ok(()) };
    let socket = socket.to_string_lossy();
    let kept: Vec<_> = lines(&file)
        .into_iter()
        .filter(|(path, _)| *path != socket)
        .map(|(path, key)| format!("{path} {key}\n"))
        .collect();
    if file.exists() {
        std::fs::write(&file, kept.concat())
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok(())
}
