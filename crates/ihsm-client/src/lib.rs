//! The ihsm Rust SDK: the driver applications, the PKCS#11 module and the `ihsm` CLI build on.
//!
//! A [`Client`] is one connection to the module, to its admin socket or to one partition's
//! socket; it is `Send + Sync` and cheap to clone, and any number of threads may call through
//! it at once (each request carries an id; responses may arrive in any order). PINs never
//! cross the socket in clear: they are sealed to the module's credential key, whose signature
//! is checked under the module's attestation key, pinned on first use. A [`Login`] is one
//! authenticated role; a [`Session`] is where objects are made and used. A forked child gets
//! [`Error::Forked`] and must connect again.
//!
//! Runnable examples, one per main flow, in `crates/ihsm-client/examples/` (a test runs them
//! in this order against a real module): `provision` (the first admin PIN, a partition, its
//! officer and user), `sign` (a persistent key pair, sign, verify), `encrypt` (AES-GCM in one
//! call and in parts), `masked` (a masked blob out and back), `threads` (a ticket for a
//! second connection, four threads on one login). `cargo run -p ihsm-client --example sign`
//! runs one against the module `scripts/run.sh` started.
//!
//! ```no_run
//! use ihsm_client::{Client, Role};
//! use ihsm_client::proto::{Curve, KeyPairSpec, Mechanism, Template, Attribute};
//!
//! # fn main() -> ihsm_client::Result<()> {
//! let dir = ihsm_client::proto::layout::default_state_dir();
//! let name = ihsm_client::proto::PartitionName::new("web").expect("a valid name");
//! let client = Client::connect(ihsm_client::proto::layout::partition_socket(&dir, &name))?;
//! let session = client.login(Role::CryptoUser, b"user-pin-0001")?.open_session()?;
//! let (public, private) = session
//!     .generate_key_pair(
//!         KeyPairSpec::Ec(Curve::P256),
//!         Template::new(vec![Attribute::Verify(true)]).expect("template"),
//!         Template::new(vec![Attribute::Sign(true)]).expect("template"),
//!     )?
//!     .value;
//! let signature = session.sign(Mechanism::EcdsaSha256, private, b"message")?.value;
//! session.verify(Mechanism::EcdsaSha256, public, b"message", &signature)?;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod client;
mod error;
mod session;
mod transport;

pub use client::{Client, Indicated};
pub use error::{Error, Result};
pub use ihsm_proto as proto;
pub use ihsm_proto::{Role, Status};
pub use session::{Encrypted, Login, Session};
pub use transport::{Transport, UnixTransport};
