//! A real `ihsmd` for end-to-end tests: started on a fresh temporary state directory, waited
//! for until it prints its ready line, stopped (SIGTERM) or killed (SIGKILL) on demand, and
//! always killed and cleaned up when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Where the `ihsmd` binary of this build is: beside the test binary's `deps` directory
/// (cargo builds every workspace binary before running the workspace's tests), unless
/// `IHSMD` names it.
#[must_use]
pub fn ihsmd_path() -> PathBuf {
    if let Some(path) = std::env::var_os("IHSMD") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .expect("deps")
        .parent()
        .expect("the target profile directory");
    dir.join("ihsmd")
}

/// A running daemon on its own state directory.
pub struct Daemon {
    binary: PathBuf,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// Lines the daemon wrote to standard error.
    log: Option<std::sync::Mutex<mpsc::Receiver<String>>>,
    extra_args: Vec<String>,
}

impl Daemon {
    /// Starts `binary` on a new temporary state directory.
    #[must_use]
    pub fn start(binary: &Path) -> Self {
        Self::start_with(binary, &[])
    }

    /// Starts with extra arguments.
    #[must_use]
    pub fn start_with(binary: &Path, args: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ihsm-e2e")
            .tempdir()
            .expect("a temporary directory");
        let mut daemon = Self {
            binary: binary.to_path_buf(),
            dir,
            child: None,
            log: None,
            extra_args: args.iter().map(|s| (*s).to_string()).collect(),
        };
        daemon.restart();
        daemon
    }

    /// The state directory.
    #[must_use]
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The admin socket.
    #[must_use]
    pub fn admin_socket(&self) -> PathBuf {
        self.state_dir().join("admin.sock")
    }

    /// A partition's socket.
    #[must_use]
    pub fn partition_socket(&self, name: &str) -> PathBuf {
        self.state_dir()
            .join("partitions")
            .join(format!("{name}.sock"))
    }

    /// The daemon's process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Starts the daemon again on the same state directory (after a stop or a kill) and waits
    /// for its ready line. Panics, with the daemon's log, if it does not get ready in 60 s.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the daemon is still running");
        let mut child = Command::new(&self.binary)
            .arg("--state-dir")
            .arg(self.state_dir())
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = ready_tx.send(line);
            }
        });
        let (log_tx, log_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = log_tx.send(line);
            }
        });
        self.child = Some(child);
        self.log = Some(std::sync::Mutex::new(log_rx));
        match ready_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains("ready") => {}
            other => panic!(
                "ihsmd did not get ready ({other:?}); its log:\n{}",
                self.drain_log().join("\n")
            ),
        }
    }

    /// The daemon's log lines so far.
    pub fn drain_log(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(log) = &self.log {
            let log = log
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            while let Ok(line) = log.recv_timeout(Duration::from_millis(50)) {
                lines.push(line);
            }
        }
        lines
    }

    /// SIGTERM, then waits for the exit; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let pid = child.id();
        terminate(pid);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("ihsmd did not stop within 60 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL: the crash the store must survive.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends SIGTERM to `pid`.
pub fn terminate(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}
