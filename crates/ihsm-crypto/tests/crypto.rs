//! Integration tests of the crypto engine through its public API: lifecycle, services,
//! the policy table against AWS-LC's indicator, forced self-test failures and Wycheproof.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod crypto {
    pub mod fixtures;
    #[cfg(feature = "test-hooks")]
    mod hooks;
    mod lifecycle;
    mod policy;
    mod services;
    mod wycheproof;
}
