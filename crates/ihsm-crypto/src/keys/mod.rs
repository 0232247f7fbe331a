//! Key types. Holding one means the bytes were checked for the algorithm; every secret is
//! zeroized on drop and no `Debug` output ever shows key material.
//!
//! Keys are parsed once and keep their ready-to-use AWS-LC form (key schedules, `EVP_PKEY`s)
//! beside the serialised bytes, so an operation never re-parses a key. One file per family.

mod ec;
pub(crate) mod rsa;
mod symmetric;

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::arena::SecretBox;

pub use ec::{EcPrivateKey, EcPublicKey};
pub use rsa::{RsaPrivateKey, RsaPublicKey};
pub use symmetric::{AesKey, GenericSecret, XtsKey, GCM_MAX_INVOCATIONS};

/// Secret bytes (a derived secret, a raw key value): in the locked arena when the daemon
/// installed one (up to 16 KiB), wiped when dropped, never printed.
pub struct SecretBytes(SecretBox);

impl SecretBytes {
    /// Takes `bytes` (they move into the arena; the vector is wiped).
    pub fn new(bytes: Vec<u8>) -> Self {
        let mut bytes = Zeroizing::new(bytes);
        let secret = SecretBytes(SecretBox::copy_of(&bytes));
        // The whole allocation as spare capacity: one `memset` behind a barrier.
        bytes.clear();
        secret
    }

    /// Copies `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Self {
        SecretBytes(SecretBox::copy_of(bytes))
    }

    /// The secret itself. Callers must not copy it into non-zeroizing storage.
    pub fn expose(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// A zeroizing copy, to hand on (to a wire message).
    pub fn into_zeroizing(self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.0.as_slice().to_vec())
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.as_slice().len()
    }

    pub(crate) fn expose_mut(&mut self) -> &mut [u8] {
        self.0.as_mut_slice()
    }

    /// Shortens in place; the cut tail is wiped first.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PartialEq for SecretBytes {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        self.expose().ct_eq(other.expose()).into()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, redacted)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Curve;

    #[test]
    fn debug_output_redacts_secrets() {
        let mut xts = [0xAB; 64];
        xts[0] = 0xAC;
        let text = format!(
            "{:?} {:?} {:?} {:?}",
            AesKey::from_bytes(&[0xAB; 16]).unwrap(),
            SecretBytes::from_slice(&[0xAB; 4]),
            GenericSecret::from_bytes(&[0xAB; 20]).unwrap(),
            XtsKey::from_bytes(&xts).unwrap(),
        );
        assert!(!text.contains("ab") && !text.contains("AB") && !text.contains("171"));
        let ec = EcPrivateKey::generate(Curve::P256).unwrap();
        let text = format!("{ec:?}");
        let scalar_hex: String = ec.pkcs8().expose()[36..52]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(text.contains("redacted") && !text.contains(&scalar_hex));
    }
}
