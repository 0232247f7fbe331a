//! Key types. Holding one means the bytes were checked for the algorithm; every secret is
//! zeroized on drop and no `Debug` output ever shows key material.
//!
//! Keys are parsed once and keep their ready-to-use AWS-LC form (key schedules, `EVP_PKEY`s)
//! beside the serialised bytes, so an operation never re-parses a key. One file per family.

mod ec;
mod rsa;
mod symmetric;

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub use ec::{EcPrivateKey, EcPublicKey};
pub use rsa::{RsaPrivateKey, RsaPublicKey};
pub use symmetric::{AesKey, GenericSecret, XtsKey, GCM_MAX_INVOCATIONS};

/// Secret bytes (a derived secret, a raw key value): zeroized on drop, never printed.
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl Drop for SecretBytes {
    fn drop(&mut self) {
        // The whole allocation as spare capacity: `zeroize` wipes that with one `memset`
        // behind a barrier, where it would wipe initialized bytes one volatile write at a
        // time (correct either way; this is about speed).
        self.0.clear();
        zeroize::Zeroize::zeroize(&mut *self.0);
    }
}

impl SecretBytes {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(Zeroizing::new(bytes))
    }

    /// Copies `bytes` into a new zeroizing buffer.
    pub fn from_slice(bytes: &[u8]) -> Self {
        SecretBytes(Zeroizing::new(bytes.to_vec()))
    }

    /// The secret itself. Callers must not copy it into non-zeroizing storage.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The zeroizing buffer itself, to hand on without a copy.
    pub fn into_zeroizing(mut self) -> Zeroizing<Vec<u8>> {
        core::mem::take(&mut self.0)
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Shortens in place; the cut tail is wiped first.
    pub(crate) fn truncate(&mut self, len: usize) {
        if let Some(tail) = self.0.get_mut(len..) {
            zeroize::Zeroize::zeroize(tail);
        }
        self.0.truncate(len);
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq for SecretBytes {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        self.0.as_slice().ct_eq(other.0.as_slice()).into()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, redacted)", self.0.len())
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
