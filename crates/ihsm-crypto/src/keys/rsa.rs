//! RSA keys of 2048, 3072 and 4096 bits: private keys (PKCS#8, with OAEP and the shim's
//! `EVP_PKEY`) and public keys (SPKI), and the gauge that keeps what a key builds in locked
//! memory on its uses within the room checked for it.

use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};

use super::SecretBytes;
use crate::arena;
use crate::error::{Error, Result};
use crate::shim::Pkey;
use crate::types::RsaBits;

/// The most an AWS-LC RSA structure of up to 4096 bits adds to itself on one use. Its
/// first private operation builds the Montgomery contexts of `n`, `p` and `q` and a blinding
/// (measured at 4096 bits: 10.4 KiB), its first public one the context of `n` (3.1 KiB), and
/// a private operation running beside more others than ever before one more blinding
/// (2.6 KiB). It keeps all of them until the key is freed.
pub(crate) const RSA_GROWTH: usize = 16 << 10;

/// The uses of one AWS-LC RSA structure running now, and the most ever let run at once.
/// The structure grows only on a use that makes the running count pass that most: such a
/// use first checks the room for [`RSA_GROWTH`] in the share its thread is charged to
/// ([`arena::room_for`]), and is refused without it. An imported key, or one unwrapped or
/// loaded, would otherwise grow past the room checked when it came in, as often as its
/// owner wants, in locked memory nobody accounted for.
#[derive(Default)]
pub(crate) struct Gauge {
    running: AtomicUsize,
    most: AtomicUsize,
}

impl Gauge {
    /// A use of the structure, until the guard drops; `QuotaExceeded` or
    /// `LockedMemoryExhausted` if it may grow and there is no room.
    pub(crate) fn enter(self: &Arc<Self>) -> Result<Use> {
        let running = self.running.fetch_add(1, Ordering::AcqRel) + 1;
        let guard = Use(Arc::clone(self));
        if running > self.most.load(Ordering::Acquire) {
            arena::room_for(RSA_GROWTH)?;
            self.most.fetch_max(running, Ordering::AcqRel);
        }
        Ok(guard)
    }

    /// The structure has been used once, within room checked before (a key's generation
    /// covers its pairwise-consistency test).
    fn used_once(&self) {
        self.most.fetch_max(1, Ordering::AcqRel);
    }
}

/// One use of an RSA structure (see [`Gauge`]).
pub(crate) struct Use(Arc<Gauge>);

impl Drop for Use {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An RSA private key (2048, 3072 or 4096 bits).
pub struct RsaPrivateKey {
    bits: RsaBits,
    pkcs8: SecretBytes,
    pkey: Pkey,
    public: RsaPublicKey,
    oaep: OaepPrivateDecryptingKey,
    /// Uses of `pkey` (signatures) and of `oaep` (decryptions): two AWS-LC structures.
    signing: Arc<Gauge>,
    decrypting: Arc<Gauge>,
}

impl RsaPrivateKey {
    /// Parses an unencrypted PKCS#8 `PrivateKeyInfo` holding an RSA key of a supported size.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Self> {
        let pkey = Pkey::from_pkcs8(der)?;
        if !pkey.is_rsa() {
            return Err(Error::InvalidKey);
        }
        let bits = RsaBits::from_bits(pkey.bits()).ok_or(Error::InvalidKey)?;
        let decrypting = PrivateDecryptingKey::from_pkcs8(der).map_err(|_| Error::InvalidKey)?;
        Self::assemble(bits, decrypting, pkey, SecretBytes::from_slice(der))
    }

    /// The key generation itself: the one AWS-LC call the service indicator measures. With
    /// the `fips` feature this is AWS-LC's FIPS generation path (`RSA_generate_key_fips`).
    pub(crate) fn generate_pair(bits: RsaBits) -> Result<aws_lc_rs::rsa::KeyPair> {
        let size = match bits {
            RsaBits::Rsa2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
            RsaBits::Rsa3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
            RsaBits::Rsa4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
        };
        Ok(aws_lc_rs::rsa::KeyPair::generate(size)?)
    }

    /// Turns a freshly generated pair into a key (serialise, parse for OAEP and the shim).
    pub(crate) fn from_generated(bits: RsaBits, pair: &aws_lc_rs::rsa::KeyPair) -> Result<Self> {
        let der = SecretBytes::new(pair.as_der()?.as_ref().to_vec());
        let decrypting =
            PrivateDecryptingKey::from_pkcs8(der.expose()).map_err(|_| Error::Internal)?;
        let pkey = Pkey::from_pkcs8(der.expose())?;
        Self::assemble(bits, decrypting, pkey, der)
    }

    fn assemble(
        bits: RsaBits,
        decrypting: PrivateDecryptingKey,
        pkey: Pkey,
        pkcs8: SecretBytes,
    ) -> Result<Self> {
        let public = RsaPublicKey::from_encrypting_key(decrypting.public_key())?;
        let oaep = OaepPrivateDecryptingKey::new(decrypting)?;
        Ok(RsaPrivateKey {
            bits,
            pkcs8,
            pkey,
            public,
            oaep,
            signing: Arc::default(),
            decrypting: Arc::default(),
        })
    }

    /// The key's structures, its public half's included, have each been used once by its
    /// pairwise-consistency test, within the room its generation checked.
    pub(crate) fn used_by_pairwise_test(&self) {
        self.signing.used_once();
        self.decrypting.used_once();
        self.public.verifying.used_once();
        self.public.encrypting.used_once();
    }

    pub(crate) fn signing(&self) -> &Arc<Gauge> {
        &self.signing
    }

    pub(crate) fn decrypting(&self) -> &Arc<Gauge> {
        &self.decrypting
    }

    /// The modulus size.
    pub fn bits(&self) -> RsaBits {
        self.bits
    }

    /// The matching public key.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// The private key as PKCS#8 DER, for the caller's sealed storage.
    pub fn pkcs8(&self) -> &SecretBytes {
        &self.pkcs8
    }

    pub(crate) fn pkey(&self) -> &Pkey {
        &self.pkey
    }

    pub(crate) fn oaep(&self) -> &OaepPrivateDecryptingKey {
        &self.oaep
    }
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPrivateKey({:?}, redacted)", self.bits)
    }
}

/// An RSA public key with a 2048-, 3072- or 4096-bit modulus.
pub struct RsaPublicKey {
    bits: RsaBits,
    spki: Vec<u8>,
    pkey: Pkey,
    oaep: OaepPublicEncryptingKey,
    /// Uses of `pkey` (verifications) and of `oaep` (encryptions).
    verifying: Arc<Gauge>,
    encrypting: Arc<Gauge>,
}

impl RsaPublicKey {
    /// Parses an X.509 `SubjectPublicKeyInfo` (DER) holding an RSA key.
    pub(crate) fn from_spki(der: &[u8]) -> Result<Self> {
        let encrypting = PublicEncryptingKey::from_der(der).map_err(|_| Error::InvalidPublicKey)?;
        Self::from_encrypting_key(encrypting)
    }

    fn from_encrypting_key(encrypting: PublicEncryptingKey) -> Result<Self> {
        let spki = encrypting
            .as_der()
            .map_err(|_| Error::InvalidPublicKey)?
            .as_ref()
            .to_vec();
        let pkey = Pkey::from_spki(&spki)?;
        if !pkey.is_rsa() {
            return Err(Error::InvalidPublicKey);
        }
        let bits = RsaBits::from_bits(pkey.bits()).ok_or(Error::InvalidPublicKey)?;
        let oaep = OaepPublicEncryptingKey::new(encrypting)?;
        Ok(RsaPublicKey {
            bits,
            spki,
            pkey,
            oaep,
            verifying: Arc::default(),
            encrypting: Arc::default(),
        })
    }

    /// The modulus size.
    pub fn bits(&self) -> RsaBits {
        self.bits
    }

    /// The key as an X.509 `SubjectPublicKeyInfo` (DER).
    pub fn spki(&self) -> &[u8] {
        &self.spki
    }

    /// The modulus and the public exponent, big-endian without leading zeros.
    pub fn components(&self) -> Result<(Vec<u8>, Vec<u8>)> {
        self.pkey.rsa_public_components()
    }

    pub(crate) fn pkey(&self) -> &Pkey {
        &self.pkey
    }

    pub(crate) fn oaep(&self) -> &OaepPublicEncryptingKey {
        &self.oaep
    }

    pub(crate) fn verifying(&self) -> &Arc<Gauge> {
        &self.verifying
    }

    pub(crate) fn encrypting(&self) -> &Arc<Gauge> {
        &self.encrypting
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPublicKey({:?})", self.bits)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn most(gauge: &Gauge) -> usize {
        gauge.most.load(Ordering::Acquire)
    }

    #[test]
    fn a_gauge_remembers_the_most_uses_ever_let_run_at_once() {
        let gauge = Arc::new(Gauge::default());
        let first = gauge.enter().unwrap();
        assert_eq!(most(&gauge), 1);
        let second = gauge.enter().unwrap();
        assert_eq!(most(&gauge), 2, "a second use at once may add a blinding");
        drop((first, second));
        assert_eq!(gauge.running.load(Ordering::Acquire), 0);
        let again = gauge.enter().unwrap();
        assert_eq!(most(&gauge), 2, "one at a time again adds nothing");
        drop(again);
        let pairwise = Gauge::default();
        pairwise.used_once();
        assert_eq!(most(&pairwise), 1);
    }
}
