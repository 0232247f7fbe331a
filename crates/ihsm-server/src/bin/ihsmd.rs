//! `ihsmd --state-dir DIR`: runs the module in the foreground.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ihsm_server::{log, run, ServerConfig};

/// The ihsm module: serves the admin socket DIR/admin.sock and one socket per partition
/// under DIR/partitions/, from the sealed store in DIR. On an empty DIR it makes a new
/// development device.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The state directory [default: $IHSM_STATE_DIR, else $XDG_STATE_HOME/ihsm, else
    /// ~/.local/state/ihsm, else /var/lib/ihsm].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Seconds a connection may stay without a login (whatever it sends meanwhile).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    idle_timeout: u64,
    /// Seconds a response may wait for a client that does not read before its connection is
    /// closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    send_timeout: u64,
    /// Size of the locked arena for secrets, in MiB (capped by RLIMIT_MEMLOCK).
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    locked_arena_mib: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // First, before anything uses AWS-LC: its allocations go to the locked arena.
    match ihsm_crypto::arena::install(args.locked_arena_mib.saturating_mul(1 << 20)) {
        Ok(stats) => log(&format!(
            "locked arena: {} KiB{}",
            stats.capacity >> 10,
            if stats.locked {
                ", locked in memory"
            } else {
                ", NOT locked (mlock failed)"
            }
        )),
        Err(reason) => log(&format!(
            "no locked arena ({reason}); secrets stay on the heap"
        )),
    }
    let dir = args
        .state_dir
        .unwrap_or_else(ihsm_proto::layout::default_state_dir);
    let mut config = ServerConfig::new(dir);
    config.idle_timeout = Duration::from_secs(args.idle_timeout.max(1));
    config.send_timeout = Duration::from_secs(args.send_timeout.max(1));
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            log(&reason);
            ExitCode::FAILURE
        }
    }
}
