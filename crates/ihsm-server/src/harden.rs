//! Process hardening, before any secret exists: no core dumps, not dumpable (which also
//! keeps other processes of the same user from ptrace-attaching or reading `/proc/PID/mem`),
//! a umask that makes every file and socket the daemon creates its owner's alone, and the
//! descriptor limit raised as far as it may go.
//!
//! These are system calls through rustix. Each is checked after it is made, and the outcome
//! is reported in [`Hardening`] so the daemon's log and the unprivileged-user test can see it.

use rustix::process::{self, DumpableBehavior, Resource, Rlimit};

/// What hardening achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hardening {
    /// The core-dump limit is 0, soft and hard.
    pub no_core_dumps: bool,
    /// The process is not dumpable.
    pub not_dumpable: bool,
    /// Descriptors the process may open (the soft limit, raised to the hard one).
    pub open_files: usize,
}

/// Applies the hardening; never fails, but reports what it could not do.
#[must_use]
pub fn apply() -> Hardening {
    let _ = process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let _ = process::setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
    let core = process::getrlimit(Resource::Core);
    let _ = process::set_dumpable_behavior(DumpableBehavior::NotDumpable);
    // One descriptor per connection: the soft limit (often 1,024) is raised to the hard one
    // the administrator allows.
    let files = process::getrlimit(Resource::Nofile);
    let _ = process::setrlimit(
        Resource::Nofile,
        Rlimit {
            current: files.maximum,
            maximum: files.maximum,
        },
    );
    let open_files = process::getrlimit(Resource::Nofile)
        .current
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    Hardening {
        open_files,
        no_core_dumps: core.current == Some(0) && core.maximum == Some(0),
        not_dumpable: matches!(
            process::dumpable_behavior(),
            Ok(DumpableBehavior::NotDumpable)
        ),
    }
}
