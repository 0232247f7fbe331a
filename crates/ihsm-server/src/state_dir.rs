//! The state directory: the module's own, trusted only once checked, and used only through
//! descriptors that never follow a symbolic link.
//!
//! At start, `ihsmd` refuses, and says why, a state directory that is a symbolic link, is not
//! owned by its own uid, or is writable by group or others, and the same of anything in it
//! and in its `partitions` directory; the fuses file (the device secret) may not be readable
//! by group or others either. An ancestor of the directory (a link on the way included) may
//! not be owned by anyone but root or ihsmd's uid, nor writable without the sticky bit by
//! others or by a group other than root's: any of them would let another user put a
//! directory of their own in its place between two starts.
//!
//! Once checked, the directory is opened once (`O_NOFOLLOW`), and every file in it is opened
//! relative to that descriptor with `O_NOFOLLOW`, then checked again on the descriptor it
//! got (`fstat`): a file swapped in after the scan is refused, never used. Sockets are bound
//! through the descriptor (`/proc/self/fd/N/NAME`) under the umask 077 set by the hardening,
//! so each is created with its final mode; nothing is ever chmodded by path, and a stale
//! socket is removed only if it is a socket of ihsmd's uid.

use std::ffi::CStr;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use rustix::fs::{self, AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

pub use ihsm_proto::layout::{ADMIN_SOCKET, PARTITIONS};

/// The database file.
pub const STORE: &str = "store.redb";
/// The database's monotonic counter.
pub const COUNTER: &str = "store.counter";
/// A development device's fuses.
pub const FUSES: &str = "fuses";

/// Which directory a socket lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The state directory itself (the admin socket).
    Root,
    /// `partitions/` (one socket per partition).
    Partitions,
}

/// A socket file as bound: removed at exit only if it is still this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketId {
    dev: u64,
    ino: u64,
}

/// The checked state directory, open.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    dir: OwnedFd,
    partitions: OwnedFd,
    uid: u32,
}

/// What an entry must be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Directory,
    File,
    /// A regular file holding a secret: not even readable by group or others.
    SecretFile,
    Socket,
    /// Anything not named: only the ownership, link and mode rules apply.
    Any,
}

impl StateDir {
    /// Checks the directory at `path` and everything in it, making it (mode 0700) and its
    /// `partitions` directory if they do not exist yet. Every refusal names the file and
    /// the rule it breaks.
    pub fn open(path: &Path) -> Result<Self, String> {
        let uid = rustix::process::geteuid().as_raw();
        let path = absolute(path)?;
        if let Some(parent) = path.parent() {
            // Those that exist are checked before anything is made through them (another
            // user's link would have root make directories wherever it points), and all of
            // them once they all exist (one made by someone else meanwhile is theirs, and
            // refused), as written and as they really are behind any symbolic link.
            check_ancestors(&path, uid, Missing::Skip)?;
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            check_ancestors(&path, uid, Missing::Refuse)?;
            let real = std::fs::canonicalize(parent)
                .map_err(|e| format!("cannot resolve {}: {e}", parent.display()))?;
            check_ancestors(&real.join("state"), uid, Missing::Refuse)?;
        }
        match fs::mkdir(&path, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
        }
        let dir = fs::open(&path, dir_flags(), Mode::empty()).map_err(|e| open_error(&path, e))?;
        check(&stat_fd(&dir, &path)?, &path, uid, Kind::Directory)?;
        scan(dir.as_fd(), &path, uid, |name| match name {
            STORE | COUNTER => Kind::File,
            FUSES => Kind::SecretFile,
            ADMIN_SOCKET => Kind::Socket,
            PARTITIONS => Kind::Directory,
            _ => Kind::Any,
        })?;
        let partitions_path = path.join(PARTITIONS);
        match fs::mkdirat(&dir, PARTITIONS, Mode::from_raw_mode(0o700)) {
            Ok(()) => {
                fs::fsync(&dir).map_err(|e| format!("cannot sync {}: {e}", path.display()))?
            }
            Err(Errno::EXIST) => {}
            Err(e) => return Err(format!("cannot create {}: {e}", partitions_path.display())),
        }
        let partitions = fs::openat(&dir, PARTITIONS, dir_flags(), Mode::empty())
            .map_err(|e| open_error(&partitions_path, e))?;
        check(
            &stat_fd(&partitions, &partitions_path)?,
            &partitions_path,
            uid,
            Kind::Directory,
        )?;
        scan(partitions.as_fd(), &partitions_path, uid, |name| {
            if name.ends_with(".sock") {
                Kind::Socket
            } else {
                Kind::Any
            }
        })?;
        Ok(Self {
            path,
            dir,
            partitions,
            uid,
        })
    }

    /// The directory's path (absolute), for messages.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` in `place`, for messages and for clients.
    #[must_use]
    pub fn display(&self, place: Place, name: &str) -> PathBuf {
        match place {
            Place::Root => self.path.join(name),
            Place::Partitions => self.path.join(PARTITIONS).join(name),
        }
    }

    /// Opens the regular file `name` read-write, without following a link, and checks what
    /// it opened. `None` if it does not exist and `create` is false; with `create`, a missing
    /// file is made (mode 0600) and the directory synced, so the new entry is durable.
    pub fn open_file(&self, name: &str, create: bool) -> Result<Option<File>, String> {
        let path = self.path.join(name);
        let flags = OFlags::RDWR | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NOCTTY;
        let made = if create {
            match fs::openat(
                &self.dir,
                name,
                flags | OFlags::CREATE | OFlags::EXCL,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => {
                    self.sync()?;
                    Some(fd)
                }
                Err(Errno::EXIST) => None,
                Err(e) => return Err(open_error(&path, e)),
            }
        } else {
            None
        };
        let fd = match made {
            Some(fd) => fd,
            None => match fs::openat(&self.dir, name, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Ok(None),
                Err(e) => return Err(open_error(&path, e)),
            },
        };
        let kind = if name == FUSES {
            Kind::SecretFile
        } else {
            Kind::File
        };
        check(&stat_fd(&fd, &path)?, &path, self.uid, kind)?;
        Ok(Some(File::from(fd)))
    }

    /// Makes the new file `name` (mode 0600), failing if anything is there already.
    pub fn create_new(&self, name: &str) -> Result<File, String> {
        let path = self.path.join(name);
        let fd = fs::openat(
            &self.dir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(File::from(fd))
    }

    /// Makes the directory's entries durable.
    pub fn sync(&self) -> Result<(), String> {
        fs::fsync(&self.dir).map_err(|e| format!("cannot sync {}: {e}", self.path.display()))
    }

    /// The directory, as a file the store can sync.
    pub fn directory(&self) -> Result<File, String> {
        self.dir
            .try_clone()
            .map(File::from)
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }

    /// Whether a process answers on the socket `name` in `place` (another ihsmd).
    #[must_use]
    pub fn is_served(&self, place: Place, name: &str) -> bool {
        UnixStream::connect(self.via_fd(place, name)).is_ok()
    }

    /// Listens on a new socket `name` in `place`. A stale socket of ihsmd's uid that no one
    /// serves is removed first; anything else in its place is refused.
    pub fn bind(&self, place: Place, name: &str) -> Result<(UnixListener, SocketId), String> {
        let shown = self.display(place, name);
        let dir = self.fd(place);
        match fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => {
                check(&stat, &shown, self.uid, Kind::Socket)?;
                if self.is_served(place, name) {
                    return Err(format!("{} is served by another process", shown.display()));
                }
                fs::unlinkat(dir, name, AtFlags::empty())
                    .map_err(|e| format!("cannot remove the stale {}: {e}", shown.display()))?;
            }
            Err(Errno::NOENT) => {}
            Err(e) => return Err(format!("cannot inspect {}: {e}", shown.display())),
        }
        let listener = UnixListener::bind(self.via_fd(place, name))
            .map_err(|e| format!("cannot listen on {}: {e}", shown.display()))?;
        let stat = fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| format!("cannot inspect {}: {e}", shown.display()))?;
        // Made under umask 077: already its owner's alone. Checked, not changed.
        check(&stat, &shown, self.uid, Kind::Socket)?;
        if stat.st_mode & 0o077 != 0 {
            return Err(format!(
                "{} was created with mode {:o}: the umask is not 077",
                shown.display(),
                stat.st_mode & 0o7777
            ));
        }
        Ok((listener, socket_id(&stat)))
    }

    /// Removes the socket `name` in `place` if it is still the one bound as `id`.
    pub fn remove_socket(&self, place: Place, name: &str, id: SocketId) {
        let dir = self.fd(place);
        if let Ok(stat) = fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            if FileType::from_raw_mode(stat.st_mode) == FileType::Socket && socket_id(&stat) == id {
                let _ = fs::unlinkat(dir, name, AtFlags::empty());
            }
        }
    }

    fn fd(&self, place: Place) -> BorrowedFd<'_> {
        match place {
            Place::Root => self.dir.as_fd(),
            Place::Partitions => self.partitions.as_fd(),
        }
    }

    /// A path to `name` that resolves through the open directory, not through the path the
    /// directory had when it was opened (Linux has no `bindat`).
    fn via_fd(&self, place: Place, name: &str) -> PathBuf {
        PathBuf::from(format!(
            "/proc/self/fd/{}/{name}",
            self.fd(place).as_raw_fd()
        ))
    }
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

fn socket_id(stat: &Stat) -> SocketId {
    SocketId {
        dev: stat.st_dev,
        ino: stat.st_ino,
    }
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .map_err(|e| format!("cannot resolve {}: {e}", path.display()))
}

fn open_error(path: &Path, error: Errno) -> String {
    match error {
        Errno::LOOP | Errno::NOTDIR => format!(
            "{} is a symbolic link or not what ihsmd expects there: refused",
            path.display()
        ),
        other => format!("cannot open {}: {other}", path.display()),
    }
}

fn stat_fd(fd: &OwnedFd, path: &Path) -> Result<Stat, String> {
    fs::fstat(fd).map_err(|e| format!("cannot inspect {}: {e}", path.display()))
}

/// The rules for one entry of the state directory.
fn check(stat: &Stat, path: &Path, uid: u32, kind: Kind) -> Result<(), String> {
    let found = FileType::from_raw_mode(stat.st_mode);
    let mode = stat.st_mode & 0o7777;
    if found == FileType::Symlink {
        return Err(format!(
            "{} is a symbolic link: the state directory holds none (refused)",
            path.display()
        ));
    }
    if stat.st_uid != uid {
        return Err(format!(
            "{} is owned by uid {}, not by ihsmd's uid {uid} (refused)",
            path.display(),
            stat.st_uid
        ));
    }
    if mode & 0o022 != 0 {
        return Err(format!(
            "{} is writable by group or others (mode {mode:o}; refused)",
            path.display()
        ));
    }
    // A second name elsewhere would let whoever can reach that name read or replace it.
    if found == FileType::RegularFile && stat.st_nlink != 1 {
        return Err(format!(
            "{} has {} names (hard links): the state directory's files have one (refused)",
            path.display(),
            stat.st_nlink
        ));
    }
    let expected = match kind {
        Kind::Directory => Some(FileType::Directory),
        Kind::File | Kind::SecretFile => Some(FileType::RegularFile),
        Kind::Socket => Some(FileType::Socket),
        Kind::Any => None,
    };
    if let Some(expected) = expected.filter(|e| *e != found) {
        return Err(format!(
            "{} is a {} where ihsmd keeps a {} (refused)",
            path.display(),
            type_name(found),
            type_name(expected)
        ));
    }
    if kind == Kind::SecretFile && mode & 0o077 != 0 {
        return Err(format!(
            "{} holds the device secret but is readable by group or others (mode {mode:o}; refused)",
            path.display()
        ));
    }
    Ok(())
}

fn type_name(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symbolic link",
        FileType::Socket => "socket",
        FileType::Fifo => "fifo",
        FileType::CharacterDevice | FileType::BlockDevice => "device",
        FileType::Unknown => "file of unknown type",
    }
}

/// Checks every entry of the open directory `dir` (at `path`).
fn scan(
    dir: BorrowedFd<'_>,
    path: &Path,
    uid: u32,
    kind_of: impl Fn(&str) -> Kind,
) -> Result<(), String> {
    let entries =
        fs::Dir::read_from(dir).map_err(|e| format!("cannot list {}: {e}", path.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", path.display()))?;
        let name: &CStr = entry.file_name();
        let bytes = name.to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        let shown = path.join(String::from_utf8_lossy(bytes).as_ref());
        let stat = fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| format!("cannot inspect {}: {e}", shown.display()))?;
        let kind = core::str::from_utf8(bytes).map_or(Kind::Any, &kind_of);
        check(&stat, &shown, uid, kind)?;
    }
    Ok(())
}

/// What [`check_ancestors`] makes of an ancestor that does not exist (yet).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Missing {
    Skip,
    Refuse,
}

/// Refuses an ancestor another user could rename the state directory out of: one owned by
/// neither root nor ihsmd's uid, writable by others without the sticky bit, or writable by
/// a group other than root's without it (or by root's group and anyone an access ACL names:
/// the group bits of a file with an ACL are its mask). An ancestor that is a symbolic link is
/// judged by its owner here (its target is checked on the real path). An ancestor that does
/// not exist is skipped or refused, as `missing` says.
fn check_ancestors(path: &Path, uid: u32, missing: Missing) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    for ancestor in path.ancestors().skip(1) {
        let meta = match std::fs::symlink_metadata(ancestor) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && missing == Missing::Skip => {
                continue
            }
            Err(e) => return Err(format!("cannot inspect {}: {e}", ancestor.display())),
        };
        let owner = meta.uid();
        if owner != 0 && owner != uid {
            return Err(format!(
                "{} (above the state directory) is owned by uid {owner}, neither root nor ihsmd's uid {uid}: it could replace the state directory (refused)",
                ancestor.display()
            ));
        }
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.mode();
        let sticky = mode & 0o1000 != 0;
        if mode & 0o002 != 0 && !sticky {
            return Err(format!(
                "{} (above the state directory) is writable by others without the sticky bit (mode {:o}): anyone could replace the state directory (refused)",
                ancestor.display(),
                mode & 0o7777
            ));
        }
        if mode & 0o020 != 0 && !sticky && (meta.gid() != 0 || has_access_acl(ancestor)) {
            return Err(format!(
                "{} (above the state directory) is writable by group {} or by users its ACL names, without the sticky bit (mode {:o}): they could replace the state directory (refused)",
                ancestor.display(),
                meta.gid(),
                mode & 0o7777
            ));
        }
    }
    Ok(())
}

/// Whether `path` (not a link) has a POSIX access ACL; one that cannot be read counts as
/// one.
fn has_access_acl(path: &Path) -> bool {
    match fs::getxattr(path, "system.posix_acl_access", &mut [0u8; 0][..]) {
        Ok(_) => true,
        Err(Errno::NODATA | Errno::NOTSUP) => false,
        Err(_) => true,
    }
}
