//! `ihsm`: the operator's command line. Every command goes through the SDK over the module's
//! sockets; PINs come from `--pin-file`, the environment or a prompt, never from argv.
//! Errors print one line and exit non-zero; `--json` gives listings and status as JSON.

#![forbid(unsafe_code)]

mod bench;
mod keys;
mod pin;
mod pins;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use ihsm_client::proto::{layout, PartitionName, Quotas};
use ihsm_client::{Client, Role, Session};
use serde_json::json;

use crate::pin::Pins;

/// The operator's command line for the ihsm module.
#[derive(Parser, Debug)]
#[command(name = "ihsm", version, about)]
pub struct Cli {
    /// The module's state directory [default: $IHSM_STATE_DIR, else $XDG_STATE_HOME/ihsm,
    /// else ~/.local/state/ihsm, else /var/lib/ihsm].
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// A socket to use instead of the state directory's (the admin socket for admin
    /// commands, a partition's socket for partition commands).
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// The PIN of the role the command logs in as, from the first line of FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pin_file: Option<PathBuf>,
    /// Print listings and status as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The module's version, mode, FIPS state, lifecycle state and self-tests.
    Status,
    /// Runs the module's self-tests again (admin; IHSM_ADMIN_PIN).
    Selftest,
    /// Device administration.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Partitions: made, listed, reset and deleted by the admin (IHSM_ADMIN_PIN); initialized
    /// by their owner on their own socket.
    #[command(subcommand)]
    Partition(PartitionCommand),
    /// PINs of a partition's roles.
    #[command(subcommand)]
    Pin(PinCommand),
    /// Keys of a partition (user; IHSM_PIN).
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Signs a file with a key (user).
    Sign(keys::SignArgs),
    /// Verifies a signature (user).
    Verify(keys::VerifyArgs),
    /// Encrypts a file (user): AES keys with AES-256-GCM (output IV || ciphertext || tag),
    /// RSA keys with RSA-OAEP-SHA-256.
    Encrypt(keys::CipherArgs),
    /// Decrypts what `encrypt` made (user).
    Decrypt(keys::CipherArgs),
    /// Random bytes from the module's DRBG (user), as hex or to a file.
    Random(keys::RandomArgs),
    /// Measures the module through the daemon beside the raw engine in this process.
    Bench(bench::BenchArgs),
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Sets the first admin PIN of a new module (IHSM_ADMIN_PIN or a prompt).
    Init,
}

#[derive(Subcommand, Debug)]
enum PartitionCommand {
    /// Creates a partition (admin). It is uninitialized until its owner runs `partition init`
    /// on its socket.
    Create {
        /// The partition's name: 1 to 64 of [a-z0-9_-].
        name: String,
        #[command(flatten)]
        quotas: QuotaArgs,
    },
    /// Initializes a new (or reset) partition as its owner, on its socket: its first officer
    /// PIN (IHSM_SO_PIN or a prompt) and a backup secret the module generates. The admin
    /// never knows either.
    Init {
        #[command(flatten)]
        partition: PartitionArg,
        /// Where to write the generated backup secret (mode 0600); without it the secret is
        /// printed once. Keep it: it restores masked keys on a replacement module.
        #[arg(long, value_name = "FILE")]
        backup_out: Option<PathBuf>,
    },
    /// A partition's state, quotas and use, as its socket reports them (no login).
    Info(PartitionArg),
    /// Lists the partitions (admin).
    List,
    /// Destroys every key, object and credential of a partition and returns it to
    /// uninitialized (admin): the way back from a lost or locked officer.
    Reset {
        /// The partition.
        name: String,
    },
    /// Deletes a partition and every key in it (admin).
    Delete {
        /// The partition.
        name: String,
    },
}

#[derive(Args, Debug)]
struct QuotaArgs {
    /// Most objects in the partition.
    #[arg(long, default_value_t = 10_000)]
    max_objects: u32,
    /// Most sessions open at once.
    #[arg(long, default_value_t = 256)]
    max_sessions: u32,
    /// Most logins at once.
    #[arg(long, default_value_t = 64)]
    max_logins: u32,
    /// Most connections to the partition's socket at once.
    #[arg(long, default_value_t = 128)]
    max_connections: u32,
    /// The partition's share of the module's locked memory, in KiB (reserved when it is
    /// made).
    #[arg(long, default_value_t = 1024)]
    max_locked_kib: u32,
}

impl QuotaArgs {
    fn quotas(&self) -> Result<Quotas, String> {
        Ok(Quotas {
            max_objects: self.max_objects,
            max_sessions: self.max_sessions,
            max_logins: self.max_logins,
            max_data_object_bytes: 1 << 20,
            max_connections: self.max_connections,
            max_locked_bytes: self
                .max_locked_kib
                .checked_mul(1024)
                .ok_or("--max-locked-kib is over 4 GiB")?,
        })
    }
}

/// `--partition NAME`.
#[derive(Args, Debug, Clone)]
pub struct PartitionArg {
    /// The partition [default: $IHSM_PARTITION].
    #[arg(long, short = 'p', env = "IHSM_PARTITION", value_name = "NAME")]
    pub partition: Option<String>,
}

#[derive(Subcommand, Debug)]
enum PinCommand {
    /// The officer sets the user's PIN (officer PIN: IHSM_SO_PIN or --pin-file; new user
    /// PIN: IHSM_NEW_PIN or a prompt).
    Set(PartitionArg),
    /// Changes a role's own PIN (current: IHSM_PIN / IHSM_SO_PIN or --pin-file; new:
    /// IHSM_NEW_PIN or a prompt).
    Change {
        #[command(flatten)]
        partition: PartitionArg,
        /// The role: user or officer.
        #[arg(long, default_value = "user")]
        role: String,
    },
    /// The officer unlocks the user after too many wrong PINs (IHSM_SO_PIN). A locked
    /// officer has no unlock: its partition can only be reset (`ihsm partition reset`).
    Unlock(PartitionArg),
}

/// What every command shares: where the module is, the PIN sources, the output format.
pub struct Ctx {
    state_dir: PathBuf,
    socket: Option<PathBuf>,
    /// The PIN sources.
    pub pins: Pins,
    /// `--json`.
    pub json: bool,
}

impl Ctx {
    /// A connection to the admin socket.
    pub fn admin_client(&self) -> Result<Client, String> {
        self.connect(&self.admin_path())
    }

    fn admin_path(&self) -> PathBuf {
        self.socket
            .clone()
            .unwrap_or_else(|| layout::admin_socket(&self.state_dir))
    }

    /// A connection to `path`, holding the attestation key pinned for it, if any.
    fn connect(&self, path: &std::path::Path) -> Result<Client, String> {
        let client = Client::connect(path).map_err(|e| connect_error(path, &e))?;
        Ok(match pins::pinned(path) {
            Some(key) => client.with_pinned_attestation_key(key),
            None => client,
        })
    }

    /// A connection to a partition's socket.
    pub fn partition_client(&self, partition: &PartitionArg) -> Result<Client, String> {
        self.connect(&self.partition_path(partition)?)
    }

    fn partition_path(&self, partition: &PartitionArg) -> Result<PathBuf, String> {
        Ok(match (&self.socket, &partition.partition) {
            (Some(socket), _) => socket.clone(),
            (None, Some(name)) => {
                let name = PartitionName::new(name.as_str())
                    .map_err(|_| format!("invalid partition name {name:?}"))?;
                layout::partition_socket(&self.state_dir, &name)
            }
            (None, None) => {
                return Err("which partition? give --partition NAME or set IHSM_PARTITION".into())
            }
        })
    }

    /// An admin session.
    pub fn admin_session(&self) -> Result<Session, String> {
        let pin = self.pins.login("IHSM_ADMIN_PIN", "admin PIN")?;
        let path = self.admin_path();
        self.session_at(&path, &self.connect(&path)?, Role::Admin, &pin)
    }

    /// Logs in on `client` (connected to `path`), then pins the attestation key it checked,
    /// if `path` had none pinned.
    fn session_at(
        &self,
        path: &std::path::Path,
        client: &Client,
        role: Role,
        pin: &[u8],
    ) -> Result<Session, String> {
        let session = client
            .login(role, pin)
            .and_then(|login| login.open_session())
            .map_err(|e| match e {
                ihsm_client::Error::AttestationKeyChanged => format!(
                    "the module at {} presents another attestation key than the one pinned in {}: if its partition was deleted and made again, remove that line",
                    path.display(),
                    pins::file().map(|f| f.display().to_string()).unwrap_or_default()
                ),
                other => describe(&other),
            })?;
        if let Some(key) = client.attestation_key() {
            pins::remember(path, &key)?;
        }
        Ok(session)
    }

    /// A session of `role` in a partition.
    pub fn partition_session(
        &self,
        partition: &PartitionArg,
        role: Role,
    ) -> Result<Session, String> {
        let (env, what) = match role {
            Role::CryptoOfficer => ("IHSM_SO_PIN", "officer PIN"),
            _ => ("IHSM_PIN", "user PIN"),
        };
        let pin = self.pins.login(env, what)?;
        let path = self.partition_path(partition)?;
        self.session_at(&path, &self.connect(&path)?, role, &pin)
    }

    /// Prints `value` as JSON, or `text` otherwise.
    pub fn print(&self, value: &serde_json::Value, text: impl FnOnce() -> String) {
        let mut out = std::io::stdout().lock();
        let _ = if self.json {
            writeln!(out, "{value}")
        } else {
            writeln!(out, "{}", text())
        };
    }
}

fn connect_error(path: &std::path::Path, error: &ihsm_client::Error) -> String {
    format!(
        "cannot reach the module at {} ({}): is ihsmd running with this state directory?",
        path.display(),
        describe(error)
    )
}

/// One line for an SDK error, with a hint for the common statuses.
pub fn describe(error: &ihsm_client::Error) -> String {
    use ihsm_client::Status as S;
    let hint = match error.status() {
        Some(S::PinIncorrect) => "wrong PIN",
        Some(S::PinLocked) => {
            "the role is locked after too many wrong PINs; the officer unlocks the user with `ihsm pin unlock`, and a locked officer's partition can only be reset"
        }
        Some(S::DeviceNotInitialized) => "the module has no admin yet; run `ihsm admin init`",
        Some(S::AlreadyInitialized) => {
            "already initialized (if you did not do it, someone else did first: ask the admin to reset the partition)"
        }
        Some(S::PartitionNotInitialized) => {
            "the partition is not initialized yet (or was reset); its owner runs `ihsm partition init`"
        }
        Some(S::ConnectionLimit) => "the partition has its maximum number of connections",
        Some(S::QuotaExceeded) => "a quota of the partition (or the module's locked memory) is used up",
        Some(S::PartitionExists) => "a partition of that name exists",
        Some(S::PartitionNotFound) => "no such partition",
        Some(S::ObjectNotFound) => "no such key",
        Some(S::RoleNotPermitted) => "this role may not do that",
        Some(S::ErrorState) => "the module is in its error state; see `ihsm status`",
        Some(S::PinInvalid) => "PINs must be 8 to 64 bytes",
        Some(S::VerificationFailed) => "verification failed",
        _ => "",
    };
    if hint.is_empty() {
        error.to_string()
    } else {
        format!("{error} ({hint})")
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Ctx {
        state_dir: cli
            .state_dir
            .clone()
            .unwrap_or_else(layout::default_state_dir),
        socket: cli.socket.clone(),
        pins: Pins {
            file: cli.pin_file.clone(),
        },
        json: cli.json,
    };
    match run(&ctx, cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            let _ = writeln!(std::io::stderr(), "ihsm: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn run(ctx: &Ctx, command: Command) -> Result<(), String> {
    match command {
        Command::Status => status(ctx),
        Command::Selftest => {
            let results = ctx
                .admin_session()?
                .run_self_tests()
                .map_err(|e| describe(&e))?;
            let value = json!({
                "passed": results.iter().all(|r| r.passed),
                "self_tests": results.iter().map(|r| json!({"name": &*r.name, "passed": r.passed})).collect::<Vec<_>>(),
            });
            ctx.print(&value, || {
                format!("all {} self-tests passed", results.len())
            });
            Ok(())
        }
        Command::Admin(AdminCommand::Init) => {
            let pin = ctx.pins.other("IHSM_ADMIN_PIN", "new admin PIN")?;
            ctx.admin_client()?
                .initialize_admin(&pin)
                .map_err(|e| match e.status() {
                    Some(ihsm_client::Status::AlreadyInitialized) => {
                        "the module already has an admin".to_string()
                    }
                    _ => describe(&e),
                })?;
            ctx.print(&json!({"initialized": true}), || "admin PIN set".into());
            Ok(())
        }
        Command::Partition(command) => partition(ctx, command),
        Command::Pin(command) => pin_command(ctx, command),
        Command::Key(command) => keys::key(ctx, command),
        Command::Sign(args) => keys::sign(ctx, &args),
        Command::Verify(args) => keys::verify(ctx, &args),
        Command::Encrypt(args) => keys::encrypt(ctx, &args),
        Command::Decrypt(args) => keys::decrypt(ctx, &args),
        Command::Random(args) => keys::random(ctx, &args),
        Command::Bench(args) => bench::bench(ctx, &args),
    }
}

fn status(ctx: &Ctx) -> Result<(), String> {
    let status = ctx.admin_client()?.status().map_err(|e| describe(&e))?;
    let failed: Vec<&str> = status
        .self_tests
        .iter()
        .filter(|t| !t.passed)
        .map(|t| &*t.name)
        .collect();
    let value = json!({
        "version": &*status.version,
        "mode": format!("{:?}", status.mode),
        "fips_mode": status.fips_mode,
        "state": format!("{:?}", status.state),
        "error": status.error.map(|e| format!("{e:?}")),
        "initialized": status.initialized,
        "test_hooks": status.test_hooks,
        "self_tests_run": status.self_tests.len(),
        "self_tests_failed": failed,
        "locked_memory": status.locked_memory.as_ref().map(|m| json!({
            "capacity": m.capacity,
            "in_use": m.in_use,
            "peak": m.peak,
            "reserved": m.reserved,
            "locked": m.locked,
            "refused": m.refused,
        })),
    });
    ctx.print(&value, || {
        let mut text = format!(
            "ihsm {}\nmode:        {:?}{}\nFIPS module: {}\nstate:       {:?}{}\nadmin:       {}\nself-tests:  {} run, {} failed\ntest hooks:  {}",
            &*status.version,
            status.mode,
            if status.mode == ihsm_client::proto::DeviceMode::Development {
                " (a development device: its fuses are a file)"
            } else {
                ""
            },
            if status.fips_mode { "yes (approved mode)" } else { "no" },
            status.state,
            status.error.map(|e| format!(" ({e:?})")).unwrap_or_default(),
            if status.initialized { "set" } else { "not set (run `ihsm admin init`)" },
            status.self_tests.len(),
            failed.len(),
            if status.test_hooks { "COMPILED IN (not for production)" } else { "none" },
        );
        for name in &failed {
            text.push_str(&format!("\n  failed: {name}"));
        }
        if let Some(memory) = &status.locked_memory {
            text.push_str(&format!(
                "\nlocked mem:  {} KiB of {} KiB in use ({} KiB reserved for partitions), {} refused{}",
                memory.in_use >> 10,
                memory.capacity >> 10,
                memory.reserved >> 10,
                memory.refused,
                if memory.locked { "" } else { "; NOT locked (mlock failed)" },
            ));
        }
        text
    });
    Ok(())
}

fn partition(ctx: &Ctx, command: PartitionCommand) -> Result<(), String> {
    match command {
        PartitionCommand::Create { name, quotas } => {
            ctx.admin_session()?
                .create_partition(&name, quotas.quotas()?)
                .map_err(|e| describe(&e))?;
            let socket = layout::partition_socket(
                &ctx.state_dir,
                &PartitionName::new(name.as_str()).map_err(|_| "invalid name")?,
            );
            ctx.print(&json!({"created": name, "socket": socket}), || {
                format!(
                    "partition {name} created; socket {}
its owner initializes it: ihsm partition init --partition {name}",
                    socket.display()
                )
            });
            Ok(())
        }
        PartitionCommand::Init {
            partition,
            backup_out,
        } => {
            let path = ctx.partition_path(&partition)?;
            let client = ctx.connect(&path)?;
            let officer = ctx.pins.other("IHSM_SO_PIN", "new officer PIN")?;
            let backup = client
                .initialize_partition(&officer, None)
                .map_err(|e| describe(&e))?
                .ok_or("the module returned no backup secret")?;
            if let Some(key) = client.attestation_key() {
                pins::remember(&path, &key)?;
            }
            match backup_out {
                Some(file) => {
                    write_private(&file, &backup)?;
                    ctx.print(
                        &json!({"initialized": true, "backup_secret_file": file}),
                        || format!("partition initialized; backup secret in {}", file.display()),
                    );
                }
                None => {
                    let hex = zeroize::Zeroizing::new(hex::encode(&*backup));
                    ctx.print(
                        &json!({"initialized": true, "backup_secret": hex.as_str()}),
                        || format!("partition initialized\nbackup secret (keep it offline; shown once): {}", hex.as_str()),
                    );
                }
            }
            Ok(())
        }
        PartitionCommand::Info(partition) => {
            let info = ctx
                .partition_client(&partition)?
                .partition_info()
                .map_err(|e| describe(&e))?;
            let value = partition_json(&info);
            ctx.print(&value, || {
                format!(
                    "partition {}\ninitialized: {}\nresets:      {}\nobjects:     {} persistent (at most {})\nsessions:    {} (at most {})\nlogins:      {} (at most {})\nconnections: {} (at most {})\nlocked:      {} KiB (share {} KiB)",
                    info.name.as_str(),
                    if info.initialized { "yes" } else { "no (its owner runs `ihsm partition init`)" },
                    info.resets,
                    info.object_count,
                    info.quotas.max_objects,
                    info.sessions,
                    info.quotas.max_sessions,
                    info.logins,
                    info.quotas.max_logins,
                    info.connections,
                    info.quotas.max_connections,
                    info.locked_bytes >> 10,
                    info.quotas.max_locked_bytes >> 10,
                )
            });
            Ok(())
        }
        PartitionCommand::List => {
            let partitions = ctx
                .admin_session()?
                .list_partitions()
                .map_err(|e| describe(&e))?;
            let value = json!(partitions.iter().map(partition_json).collect::<Vec<_>>());
            ctx.print(&value, || {
                let mut text = format!(
                    "{:<24} {:>11} {:>6} {:>8} {:>12} {:>11} {:>16}",
                    "NAME",
                    "INITIALIZED",
                    "RESETS",
                    "OBJECTS",
                    "MAX OBJECTS",
                    "CONNECTIONS",
                    "LOCKED KiB/SHARE"
                );
                for p in &partitions {
                    text.push_str(&format!(
                        "\n{:<24} {:>11} {:>6} {:>8} {:>12} {:>11} {:>16}",
                        p.name.as_str(),
                        if p.initialized { "yes" } else { "no" },
                        p.resets,
                        p.object_count,
                        p.quotas.max_objects,
                        p.connections,
                        format!(
                            "{}/{}",
                            p.locked_bytes >> 10,
                            p.quotas.max_locked_bytes >> 10
                        ),
                    ));
                }
                text
            });
            Ok(())
        }
        PartitionCommand::Reset { name } => {
            let resets = ctx
                .admin_session()?
                .reset_partition(&name)
                .map_err(|e| describe(&e))?;
            // The partition's own keys are new: so is its attestation key.
            forget_pin(ctx, &name)?;
            ctx.print(&json!({"reset": name, "resets": resets}), || {
                format!("partition {name} reset ({resets} times so far): every key and credential in it destroyed; its owner initializes it again")
            });
            Ok(())
        }
        PartitionCommand::Delete { name } => {
            ctx.admin_session()?
                .delete_partition(&name)
                .map_err(|e| describe(&e))?;
            // The partition is gone: a new one of the same name has a new attestation key.
            forget_pin(ctx, &name)?;
            ctx.print(&json!({"deleted": name}), || {
                format!("partition {name} deleted")
            });
            Ok(())
        }
    }
}

/// Forgets the attestation key pinned for partition `name`'s socket.
fn forget_pin(ctx: &Ctx, name: &str) -> Result<(), String> {
    if ctx.socket.is_some() {
        return Ok(());
    }
    let partition = PartitionArg {
        partition: Some(name.to_string()),
    };
    pins::forget(&ctx.partition_path(&partition)?)
}

fn partition_json(p: &ihsm_client::proto::msgs::PartitionInfo) -> serde_json::Value {
    json!({
        "name": p.name.as_str(),
        "initialized": p.initialized,
        "resets": p.resets,
        "objects": p.object_count,
        "sessions": p.sessions,
        "logins": p.logins,
        "connections": p.connections,
        "locked_bytes": p.locked_bytes,
        "max_objects": p.quotas.max_objects,
        "max_sessions": p.quotas.max_sessions,
        "max_logins": p.quotas.max_logins,
        "max_connections": p.quotas.max_connections,
        "max_locked_bytes": p.quotas.max_locked_bytes,
    })
}

fn role_of(name: &str) -> Result<Role, String> {
    match name {
        "user" => Ok(Role::CryptoUser),
        "officer" | "so" => Ok(Role::CryptoOfficer),
        other => Err(format!("unknown role {other:?}: user or officer")),
    }
}

fn pin_command(ctx: &Ctx, command: PinCommand) -> Result<(), String> {
    match command {
        PinCommand::Set(partition) => {
            let officer = ctx.partition_session(&partition, Role::CryptoOfficer)?;
            let new = ctx.pins.other("IHSM_NEW_PIN", "new user PIN")?;
            officer
                .set_pin(Role::CryptoUser, &new)
                .map_err(|e| describe(&e))?;
            ctx.print(&json!({"user_pin_set": true}), || "user PIN set".into());
        }
        PinCommand::Change { partition, role } => {
            let role = role_of(&role)?;
            let (env, what) = match role {
                Role::CryptoOfficer => ("IHSM_SO_PIN", "current officer PIN"),
                _ => ("IHSM_PIN", "current user PIN"),
            };
            let old = ctx.pins.login(env, what)?;
            let path = ctx.partition_path(&partition)?;
            let session = ctx.session_at(&path, &ctx.connect(&path)?, role, &old)?;
            let new = ctx.pins.other("IHSM_NEW_PIN", "new PIN")?;
            session
                .change_pin(role, &old, &new)
                .map_err(|e| describe(&e))?;
            ctx.print(&json!({"pin_changed": true}), || "PIN changed".into());
        }
        PinCommand::Unlock(partition) => {
            ctx.partition_session(&partition, Role::CryptoOfficer)?
                .unlock_role(Role::CryptoUser)
                .map_err(|e| describe(&e))?;
            ctx.print(&json!({"unlocked": "user"}), || "user unlocked".into());
        }
    }
    Ok(())
}

/// Says on standard error, when it is a terminal, that a slow operation is under way, and
/// that it is done when the returned guard drops.
pub fn progress(what: &str) -> impl Drop {
    struct Done(bool);
    impl Drop for Done {
        fn drop(&mut self) {
            if self.0 {
                let _ = writeln!(std::io::stderr(), " done");
            }
        }
    }
    let tty = rustix::termios::isatty(std::io::stderr());
    if tty {
        let _ = write!(std::io::stderr(), "{what}...");
    }
    Done(tty)
}

/// Writes `bytes` to a new file only its owner can read.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
