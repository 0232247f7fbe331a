//! Provisions a new module: the first admin PIN, a partition `example` made by the admin
//! and initialized by its owner on its own socket (the first officer PIN and the backup
//! secret, neither known to the admin), and the officer setting the user's PIN.
//!
//! ```sh
//! scripts/run.sh &    # a module on the default state directory
//! cargo run -p ihsm-client --example provision
//! ```
//!
//! The state directory is the default (`IHSM_STATE_DIR`, ...). PINs come from
//! `IHSM_ADMIN_PIN`, `IHSM_SO_PIN` and `IHSM_PIN`, with the example defaults below.

use ihsm_client::proto::{layout, PartitionName, Quotas};
use ihsm_client::{Client, Role};

fn pin(var: &str, default: &str) -> Vec<u8> {
    std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .into_bytes()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = layout::default_state_dir();
    let admin = Client::connect(layout::admin_socket(&dir))?;
    let status = admin.status()?;
    println!(
        "module {} ({:?}, FIPS mode {})",
        &*status.version, status.mode, status.fips_mode
    );
    let admin_pin = pin("IHSM_ADMIN_PIN", "example-admin-pin");
    if !status.initialized {
        admin.initialize_admin(&admin_pin)?;
    }
    let session = admin.login(Role::Admin, &admin_pin)?.open_session()?;
    let quotas = Quotas {
        max_objects: 1000,
        max_sessions: 64,
        max_logins: 16,
        max_data_object_bytes: 1 << 20,
        max_connections: 64,
        max_locked_bytes: 1 << 20,
    };
    session.create_partition("example", quotas)?;
    println!("partition example created (uninitialized)");

    // The owner's side, on the partition's socket. The module generates the backup secret
    // and returns it sealed to us: keep it offline, it restores masked keys on a
    // replacement module.
    let officer_pin = pin("IHSM_SO_PIN", "example-officer-pin");
    let name = PartitionName::new("example")?;
    let partition = Client::connect(layout::partition_socket(&dir, &name))?;
    let backup = partition.initialize_partition(&officer_pin, None)?;
    println!(
        "partition example initialized; backup secret of {} bytes",
        backup.map_or(0, |b| b.len())
    );
    let officer = partition
        .login(Role::CryptoOfficer, &officer_pin)?
        .open_session()?;
    officer.set_pin(Role::CryptoUser, &pin("IHSM_PIN", "example-user-pin"))?;
    println!("user PIN set");
    Ok(())
}
