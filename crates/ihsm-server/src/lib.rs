//! `ihsmd`: the ihsm module as a daemon.
//!
//! It hardens the process, reads (or on first start makes) a development device's fuses,
//! powers the crypto engine on, opens the sealed store, powers the device core on over them,
//! and serves the admin socket and one socket per partition until SIGTERM or SIGINT. Each
//! connection has its own thread (kept for the next connection once it ends), which serves
//! fast requests itself; slow ones (key generation, PIN hashing) go to a bounded pool. There is no async runtime and no hand-off
//! on the path of a fast request.
//!
//! What it must never do: serve a byte the protocol decoder has not checked; allocate a
//! frame before its length is checked against the limit; let one client's flood or garbage
//! stop another's service; print a secret; leave a socket file behind after a clean stop.

#![forbid(unsafe_code)]

mod accept;
pub mod channel;
pub mod conn;
pub mod fuses;
pub mod harden;
pub mod pool;
mod server;
pub mod state_dir;
pub mod tenants;
mod threads;

pub use server::{log, run, ServerConfig};
