//! The engine's services, one file per family. Each file has crate-private primitives (which
//! the self-tests call directly, before the engine is operational) and the public `Engine`
//! methods that gate them and attach the service indicator.

pub mod aes;
pub mod ecc;
pub mod hash;
pub mod kdf;
pub mod random;
pub mod rsa;
pub mod sealed;
pub mod signature;
