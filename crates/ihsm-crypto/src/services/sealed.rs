//! Sealed secrets: how a PIN or a backup secret crosses the socket (protocol section 7.6).
//!
//! The sender makes an ephemeral P-384 key `(e, E)`, computes `Z = x(e * Q)` with the
//! recipient's credential key `Q`, and derives
//! `HKDF-SHA-384(IKM = Z, salt, info = label || E || Q)`: 44 bytes of AES-256 key and GCM IV
//! for the secret, and (with another label) 32 bytes of key-wrapping key for one reply secret
//! the recipient may send back, such as a generated backup secret. Both ends live here so the
//! module and the SDK cannot disagree on the format.
//!
//! The GCM IV is derived, not random: each derived key seals exactly one message, so an IV is
//! never reused under a key. The reply uses AES key wrap with padding (deterministic, no IV),
//! which keeps the module's side of the exchange approved.

use core::fmt;

use crate::engine::{Engine, Indicated};
use crate::error::{Error, Result};
use crate::keys::{AesKey, EcPrivateKey, SecretBytes};
use crate::policy::Service;
use crate::services::aes::{gcm_open, gcm_seal_with_iv, GCM_IV_LEN};
use crate::types::{AesBits, Curve, HashAlg};

/// The HKDF label of a sealed secret's AES-256-GCM key and IV.
pub const SEALED_SECRET_LABEL: &[u8] = b"ihsm sealed secret v1";
/// The HKDF label of the key that wraps a reply secret.
pub const SEALED_REPLY_LABEL: &[u8] = b"ihsm sealed reply v1";

const KEY_LEN: usize = 32;

/// A sealed secret as it travels: the sender's ephemeral public key and the ciphertext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedParts {
    /// The ephemeral P-384 public key `E`, SEC1 uncompressed (97 bytes).
    pub ephemeral_point: Vec<u8>,
    /// AES-256-GCM ciphertext with its 16-byte tag appended.
    pub ciphertext: Vec<u8>,
}

/// The key both ends of one sealed secret share for a reply: only the sender of the sealed
/// secret and the holder of the credential key can derive it. Zeroized on drop.
pub struct ReplyKey(AesKey);

impl fmt::Debug for ReplyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplyKey(<redacted>)")
    }
}

impl Engine {
    /// The sender's side: seals `secret` to the P-384 credential key `recipient_point`, with
    /// `salt` (the connection nonce) and `aad` (what the secret is for). Returns what to send
    /// and the key that opens a reply.
    ///
    /// This runs on the client, outside the module's boundary, so it carries no indicator.
    pub fn seal_secret(
        &self,
        recipient_point: &[u8],
        salt: &[u8],
        aad: &[u8],
        secret: &[u8],
    ) -> Result<(SealedParts, ReplyKey)> {
        let ephemeral = self.generate_ec_key(Curve::P384)?.value;
        let z = self.ecdh(&ephemeral, recipient_point)?.value;
        let ephemeral_point = ephemeral.public_point().to_vec();
        let info = |label: &[u8]| [label, &ephemeral_point, recipient_point].concat();
        let okm = self.hkdf(
            HashAlg::Sha384,
            z.expose(),
            salt,
            &info(SEALED_SECRET_LABEL),
            KEY_LEN + GCM_IV_LEN,
        )?;
        let (key, iv) = split_key_iv(&okm.value)?;
        let ciphertext = self.gated(|| gcm_seal_with_iv(&key, &iv, aad, secret))?;
        let reply = self.reply_key(&z, salt, &info(SEALED_REPLY_LABEL))?.value;
        Ok((
            SealedParts {
                ephemeral_point,
                ciphertext,
            },
            reply,
        ))
    }

    /// The module's side: opens a sealed secret with the credential key `key`. A bad
    /// ephemeral point is [`Error::InvalidPublicKey`]; a ciphertext that does not open (wrong
    /// key, salt, AAD or bytes) is [`Error::VerificationFailed`].
    pub fn open_sealed_secret(
        &self,
        key: &EcPrivateKey,
        sealed: &SealedParts,
        salt: &[u8],
        aad: &[u8],
    ) -> Result<Indicated<(SecretBytes, ReplyKey)>> {
        if key.curve() != Curve::P384 {
            return Err(Error::InvalidKey);
        }
        let z = self.ecdh(key, &sealed.ephemeral_point)?;
        let info = |label: &[u8]| [label, &sealed.ephemeral_point[..], key.public_point()].concat();
        let okm = self.hkdf(
            HashAlg::Sha384,
            z.value.expose(),
            salt,
            &info(SEALED_SECRET_LABEL),
            KEY_LEN + GCM_IV_LEN,
        )?;
        let (gcm_key, iv) = split_key_iv(&okm.value)?;
        let secret = self.run(Service::AesGcmDecrypt(AesBits::Aes256), || {
            gcm_open(&gcm_key, &iv, aad, &sealed.ciphertext)
        })?;
        let reply = self.reply_key(&z.value, salt, &info(SEALED_REPLY_LABEL))?;
        let approved = z.approved && okm.approved && secret.approved && reply.approved;
        let aws_lc = z.aws_lc_indicator
            && okm.aws_lc_indicator
            && secret.aws_lc_indicator
            && reply.aws_lc_indicator;
        Ok(Indicated::new(
            (secret.value, reply.value),
            approved,
            aws_lc,
        ))
    }

    /// Wraps a reply secret (AES key wrap with padding) under the reply key.
    pub fn wrap_reply(&self, reply: &ReplyKey, secret: &[u8]) -> Result<Indicated<Vec<u8>>> {
        self.aes_key_wrap(&reply.0, true, secret)
    }

    /// Unwraps a reply secret; anything but what [`Engine::wrap_reply`] made under the same
    /// reply key is [`Error::VerificationFailed`].
    pub fn unwrap_reply(&self, reply: &ReplyKey, wrapped: &[u8]) -> Result<Indicated<SecretBytes>> {
        self.aes_key_unwrap(&reply.0, true, wrapped)
    }

    fn reply_key(&self, z: &SecretBytes, salt: &[u8], info: &[u8]) -> Result<Indicated<ReplyKey>> {
        let okm = self.hkdf(HashAlg::Sha384, z.expose(), salt, info, KEY_LEN)?;
        let key = AesKey::from_bytes(okm.value.expose())?;
        Ok(okm.map(|_| ReplyKey(key)))
    }
}

fn split_key_iv(okm: &SecretBytes) -> Result<(AesKey, [u8; GCM_IV_LEN])> {
    let (key, iv) = okm
        .expose()
        .split_at_checked(KEY_LEN)
        .ok_or(Error::Internal)?;
    let iv = <[u8; GCM_IV_LEN]>::try_from(iv).map_err(|_| Error::Internal)?;
    Ok((AesKey::from_bytes(key)?, iv))
}
