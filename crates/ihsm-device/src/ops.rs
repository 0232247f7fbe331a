//! Multi-part operations held by a session between `Init` and `Final`.

use std::sync::Arc;

use ihsm_crypto::{HmacContext, SignContext, VerifyContext};
use zeroize::Zeroizing;

use crate::object::Key;
use crate::partition::Buffered;

/// An encryption or decryption in progress.
pub(crate) struct CipherOperation {
    pub(crate) key: Arc<Key>,
    pub(crate) mode: CipherMode,
    /// Input held back until enough arrives (a partial block, the last block of a padded
    /// decryption) or until `Final` (modes that need the whole message), at most 1 MiB.
    pub(crate) pending: Zeroizing<Vec<u8>>,
    /// The bytes of `pending`, counted against its partition's budget for held input.
    pub(crate) buffered: Buffered,
    /// Whether every part so far was an approved service.
    pub(crate) approved: bool,
}

/// The cipher mode of a [`CipherOperation`].
#[derive(Clone)]
pub(crate) enum CipherMode {
    /// AES-GCM: buffered until `Final` (the tag covers the whole message, and a decryption
    /// releases nothing before the tag verifies).
    Gcm {
        aad: Vec<u8>,
        /// The IV of a decryption (an encryption's IV is made at `Final`).
        iv: Option<[u8; 12]>,
    },
    /// AES-CBC: whole blocks flow through; the IV chains from the last ciphertext block.
    Cbc { iv: [u8; 16], padded: bool },
    /// AES-XTS: one data unit, buffered until `Final`.
    Xts { tweak: [u8; 16] },
    /// AES key wrap (KW or KWP): buffered until `Final`.
    KeyWrap { padded: bool },
}

pub(crate) type EncryptOperation = CipherOperation;
pub(crate) type DecryptOperation = CipherOperation;

/// A signature or MAC in progress.
// One per session and kind at most, so boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum SignOperation {
    /// ECDSA, RSA PKCS#1 v1.5 or PSS over the message.
    Signature(SignContext),
    /// HMAC.
    Hmac(HmacContext),
}

/// A verification in progress.
#[allow(clippy::large_enum_variant)] // As SignOperation.
pub(crate) enum VerifyOperation {
    /// ECDSA, RSA PKCS#1 v1.5 or PSS over the message.
    Signature(VerifyContext),
    /// HMAC, compared in constant time at `Final`.
    Hmac(HmacContext),
}
