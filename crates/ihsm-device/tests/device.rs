//! The device's scenario suite: every test reaches the device through the codec, as a client
//! on a socket would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod device {
    pub mod auth;
    pub mod blobs;
    pub mod ciphers;
    pub mod docs;
    pub mod fixtures;
    #[cfg(feature = "test-hooks")]
    pub mod hooks;
    pub mod keys;
    #[cfg(all(feature = "test-hooks", target_os = "linux"))]
    pub mod memory;
    pub mod negatives;
    pub mod objects;
    pub mod partitions;
    pub mod purposes;
    pub mod races;
    pub mod roles;
    pub mod scenarios;
    pub mod takeover;
    pub mod wire;
    #[cfg(feature = "test-hooks")]
    pub mod wycheproof;
}
