//! Sealing: the storage root key and its security-version chain, the per-record keys, the
//! sealed envelope of every value, and the keyed digest of the record versions.
//!
//! Every derivation is the SP 800-108 counter KDF with HMAC-SHA-256 and every seal is
//! AES-256-GCM with an IV made inside the module, both through the engine (so nothing is
//! sealed or opened while it self-tests or after a hard error). storage.md is the format.

use ihsm_crypto::{AesKey, Engine, GenericSecret, HashAlg, SecretBytes, GCM_IV_LEN, GCM_TAG_LEN};
use zeroize::Zeroizing;

use crate::api::StoreError;

/// The highest security version the chain covers. Firmware at version `n` gets the chain
/// secret of `n` and can step down to any version below it, never up.
pub const MAX_SECURITY_VERSION: u32 = 255;

/// The envelope format of a sealed value (its first byte).
pub(crate) const ENVELOPE_V1: u8 = 1;

/// Length of a sealed envelope's header: format, sequence number, IV.
const ENVELOPE_HEADER_LEN: usize = 1 + 8 + GCM_IV_LEN;

/// Length of a record's entry in the version digest.
pub(crate) const DIGEST_LEN: usize = 32;

/// The secret of one security version in the chain. Zeroized on drop, never printed.
pub struct ChainSecret {
    svn: u32,
    secret: SecretBytes,
}

impl core::fmt::Debug for ChainSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ChainSecret(svn {}, <redacted>)", self.svn)
    }
}

impl ChainSecret {
    /// The chain secret of security version `svn`, derived from the device secret. This is
    /// the security processor's step: it holds the device secret and hands the firmware only
    /// the secret of the firmware's own version.
    pub fn from_device_secret(
        engine: &Engine,
        device_secret: &[u8],
        svn: u32,
    ) -> Result<Self, StoreError> {
        if svn > MAX_SECURITY_VERSION {
            return Err(StoreError::Unavailable);
        }
        let top = kdf(engine, device_secret, b"ihsm storage svn chain v1", &[])?;
        Self {
            svn: MAX_SECURITY_VERSION,
            secret: top,
        }
        .step_down(engine, svn)
    }

    /// The security version this secret belongs to.
    #[must_use]
    pub fn security_version(&self) -> u32 {
        self.svn
    }

    /// The secret of an older (or the same) version: one KDF step per version. A newer
    /// version cannot be reached: `Unavailable`.
    pub fn step_down(&self, engine: &Engine, svn: u32) -> Result<Self, StoreError> {
        if svn > self.svn {
            return Err(StoreError::Unavailable);
        }
        let mut secret = SecretBytes::from_slice(self.secret.expose());
        for version in (svn..self.svn).rev() {
            secret = kdf(
                engine,
                secret.expose(),
                b"ihsm storage svn step v1",
                &version.to_be_bytes(),
            )?;
        }
        Ok(Self { svn, secret })
    }
}

/// What seals and opens the store's values: the storage root key of one security version,
/// and the key of the version digest.
pub(crate) struct Sealer {
    engine: Engine,
    svn: u32,
    root: SecretBytes,
    digest_key: GenericSecret,
    counter_key: GenericSecret,
}

/// Where a sealed value belongs: its table code, its key, and the sequence number of the
/// commit that wrote it. The same bytes are the KDF context of its key, its associated data,
/// and its entry in the version digest.
pub(crate) fn binding(svn: u32, table: u8, key: &[u8], seq: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 1 + 4 + key.len() + 8);
    out.extend_from_slice(&svn.to_be_bytes());
    out.push(table);
    // Keys are bounded well below 4 GiB by the device; saturate rather than wrap.
    out.extend_from_slice(&u32::try_from(key.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&seq.to_be_bytes());
    out
}

impl Sealer {
    /// The sealer of the store sealed under `chain` (its security version).
    pub(crate) fn new(engine: &Engine, chain: &ChainSecret) -> Result<Self, StoreError> {
        let svn = chain.svn;
        let root = kdf(
            engine,
            chain.secret.expose(),
            b"ihsm storage root key v1",
            &svn.to_be_bytes(),
        )?;
        let secret = |label: &[u8]| -> Result<GenericSecret, StoreError> {
            let bytes = kdf(engine, root.expose(), label, &[])?;
            GenericSecret::from_bytes(bytes.expose()).map_err(|_| StoreError::Unavailable)
        };
        Ok(Self {
            engine: engine.clone(),
            svn,
            digest_key: secret(b"ihsm store version digest key v1")?,
            counter_key: secret(b"ihsm store counter key v1")?,
            root,
        })
    }

    /// The security version the store is sealed under.
    pub(crate) fn svn(&self) -> u32 {
        self.svn
    }

    fn record_key(&self, bound: &[u8]) -> Result<AesKey, StoreError> {
        let bytes = kdf(
            &self.engine,
            self.root.expose(),
            b"ihsm store record key v1",
            bound,
        )?;
        AesKey::from_bytes(bytes.expose()).map_err(|_| StoreError::Unavailable)
    }

    /// Seals `value` as record `key` of table `table`, written by commit `seq`.
    pub(crate) fn seal(
        &self,
        table: u8,
        key: &[u8],
        seq: u64,
        value: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let bound = binding(self.svn, table, key, seq);
        let record_key = self.record_key(&bound)?;
        let sealed = self
            .engine
            .aes_gcm_encrypt(&record_key, &aad(&bound), value)
            .map_err(|_| StoreError::Unavailable)?
            .value;
        let mut out = Vec::with_capacity(ENVELOPE_HEADER_LEN + sealed.ciphertext.len());
        out.push(ENVELOPE_V1);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&sealed.iv);
        out.extend_from_slice(&sealed.ciphertext);
        Ok(out)
    }

    /// The sequence number an envelope claims, before it is opened.
    pub(crate) fn envelope_seq(envelope: &[u8]) -> Result<u64, StoreError> {
        match envelope {
            [ENVELOPE_V1, rest @ ..] if rest.len() >= 8 + GCM_IV_LEN + GCM_TAG_LEN => rest
                .get(..8)
                .and_then(|seq| <[u8; 8]>::try_from(seq).ok())
                .map(u64::from_be_bytes)
                .ok_or(StoreError::Corrupt),
            _ => Err(StoreError::Corrupt),
        }
    }

    /// Opens the envelope of record `key` of table `table`: its sequence number and value.
    /// Any change to the envelope, or an envelope of another record, is `Corrupt`.
    pub(crate) fn open(
        &self,
        table: u8,
        key: &[u8],
        envelope: &[u8],
    ) -> Result<(u64, Zeroizing<Vec<u8>>), StoreError> {
        let seq = Self::envelope_seq(envelope)?;
        let iv = envelope
            .get(9..ENVELOPE_HEADER_LEN)
            .ok_or(StoreError::Corrupt)?;
        let ciphertext = envelope
            .get(ENVELOPE_HEADER_LEN..)
            .ok_or(StoreError::Corrupt)?;
        let bound = binding(self.svn, table, key, seq);
        let record_key = self.record_key(&bound)?;
        let plain = self
            .engine
            .aes_gcm_decrypt(&record_key, iv, &aad(&bound), ciphertext)
            .map_err(|_| StoreError::Corrupt)?
            .value;
        Ok((seq, Zeroizing::new(plain.expose().to_vec())))
    }

    /// The entry of one record version in the version digest: a keyed MAC of its binding.
    pub(crate) fn digest_entry(
        &self,
        table: u8,
        key: &[u8],
        seq: u64,
    ) -> Result<[u8; DIGEST_LEN], StoreError> {
        let tag = self
            .engine
            .hmac_sign(
                &self.digest_key,
                HashAlg::Sha256,
                &binding(self.svn, table, key, seq),
            )
            .map_err(|_| StoreError::Unavailable)?
            .value;
        <[u8; DIGEST_LEN]>::try_from(tag.as_slice()).map_err(|_| StoreError::Unavailable)
    }

    /// The MAC of a counter slot's value.
    pub(crate) fn counter_tag(&self, slot: u8, value: u64) -> Result<Vec<u8>, StoreError> {
        let mut data = b"ihsm store counter v1".to_vec();
        data.push(slot);
        data.extend_from_slice(&value.to_be_bytes());
        self.engine
            .hmac_sign(&self.counter_key, HashAlg::Sha256, &data)
            .map(|tag| tag.value)
            .map_err(|_| StoreError::Unavailable)
    }

    /// Checks a counter slot's MAC in constant time.
    pub(crate) fn counter_tag_ok(&self, slot: u8, value: u64, tag: &[u8]) -> bool {
        let mut data = b"ihsm store counter v1".to_vec();
        data.push(slot);
        data.extend_from_slice(&value.to_be_bytes());
        self.engine
            .hmac_verify(&self.counter_key, HashAlg::Sha256, &data, tag)
            .is_ok()
    }
}

/// XORs one entry into the version digest (adding and removing are the same step).
pub(crate) fn toggle(digest: &mut [u8; DIGEST_LEN], entry: &[u8; DIGEST_LEN]) {
    for (d, e) in digest.iter_mut().zip(entry) {
        *d ^= e;
    }
}

fn aad(bound: &[u8]) -> Vec<u8> {
    [&b"ihsm store v1"[..], bound].concat()
}

fn kdf(
    engine: &Engine,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
) -> Result<SecretBytes, StoreError> {
    Ok(engine
        .kbkdf_counter_hmac(HashAlg::Sha256, secret, label, context, 32)
        .map_err(|_| StoreError::Unavailable)?
        .value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::power_on()
    }

    #[test]
    fn newer_versions_reach_older_secrets_and_never_the_reverse() {
        let engine = engine();
        let uds = [7u8; 32];
        let v3 = ChainSecret::from_device_secret(&engine, &uds, 3).expect("v3");
        let v1 = ChainSecret::from_device_secret(&engine, &uds, 1).expect("v1");
        let stepped = v3.step_down(&engine, 1).expect("down");
        assert_eq!(stepped.secret.expose(), v1.secret.expose());
        assert_ne!(v3.secret.expose(), v1.secret.expose());
        assert_eq!(
            v1.step_down(&engine, 3).unwrap_err(),
            StoreError::Unavailable
        );
        let other = ChainSecret::from_device_secret(&engine, &[8u8; 32], 1).expect("other");
        assert_ne!(other.secret.expose(), v1.secret.expose());
    }

    #[test]
    fn a_sealed_value_opens_only_where_it_was_written() {
        let engine = engine();
        let chain = ChainSecret::from_device_secret(&engine, &[1u8; 32], 1).expect("chain");
        let sealer = Sealer::new(&engine, &chain).expect("sealer");
        let sealed = sealer.seal(5, b"key", 9, b"value").expect("seal");
        let (seq, value) = sealer.open(5, b"key", &sealed).expect("open");
        assert_eq!((seq, value.as_slice()), (9, &b"value"[..]));
        // Another table, another key, another claimed sequence number: all refused.
        assert_eq!(sealer.open(4, b"key", &sealed), Err(StoreError::Corrupt));
        assert_eq!(sealer.open(5, b"kez", &sealed), Err(StoreError::Corrupt));
        let mut renumbered = sealed.clone();
        if let Some(byte) = renumbered.get_mut(8) {
            *byte ^= 1;
        }
        assert_eq!(
            sealer.open(5, b"key", &renumbered),
            Err(StoreError::Corrupt)
        );
        // Another device (or another security version) cannot open it.
        let other = ChainSecret::from_device_secret(&engine, &[2u8; 32], 1).expect("chain");
        let other = Sealer::new(&engine, &other).expect("sealer");
        assert_eq!(other.open(5, b"key", &sealed), Err(StoreError::Corrupt));
        // Every single-byte change is refused.
        for i in 0..sealed.len() {
            let mut flipped = sealed.clone();
            if let Some(byte) = flipped.get_mut(i) {
                *byte ^= 0x40;
            }
            assert!(sealer.open(5, b"key", &flipped).is_err(), "byte {i}");
        }
    }
}
