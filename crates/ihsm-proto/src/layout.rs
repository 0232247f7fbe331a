//! Where a module's sockets are: the state directory layout that the daemon, the SDK and the
//! CLI share. Paths only; nothing here touches the file system.
//!
//! ```text
//! DIR/admin.sock               the admin socket
//! DIR/partitions/NAME.sock     one socket per partition
//! DIR/store.redb               the sealed store (the daemon's alone)
//! DIR/store.counter            its monotonic counter
//! DIR/fuses                    a development device's fuses
//! ```

use std::path::{Path, PathBuf};

use crate::PartitionName;

/// The environment variable that names the state directory.
pub const STATE_DIR_ENV: &str = "IHSM_STATE_DIR";

/// The admin socket's file name in the state directory.
pub const ADMIN_SOCKET: &str = "admin.sock";
/// The directory of the partition sockets, in the state directory.
pub const PARTITIONS: &str = "partitions";

/// The admin socket of the module whose state directory is `dir`.
#[must_use]
pub fn admin_socket(dir: &Path) -> PathBuf {
    dir.join(ADMIN_SOCKET)
}

/// The directory of the partition sockets.
#[must_use]
pub fn partitions_dir(dir: &Path) -> PathBuf {
    dir.join(PARTITIONS)
}

/// The file name of partition `name`'s socket, in the partitions directory.
#[must_use]
pub fn partition_socket_name(name: &PartitionName) -> String {
    format!("{}.sock", name.as_str())
}

/// The socket of partition `name`.
#[must_use]
pub fn partition_socket(dir: &Path, name: &PartitionName) -> PathBuf {
    partitions_dir(dir).join(partition_socket_name(name))
}

/// The default state directory: `$IHSM_STATE_DIR`; else `$XDG_STATE_HOME/ihsm`; else
/// `$HOME/.local/state/ihsm`; else `/var/lib/ihsm`.
#[must_use]
pub fn default_state_dir() -> PathBuf {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var(STATE_DIR_ENV) {
        return dir;
    }
    if let Some(state) = var("XDG_STATE_HOME") {
        return state.join("ihsm");
    }
    if let Some(home) = var("HOME") {
        return home.join(".local/state/ihsm");
    }
    PathBuf::from("/var/lib/ihsm")
}
