//! Credentials: opening sealed secrets, the PIN policy and PIN verifiers.

use core::fmt;

use ihsm_crypto::{EcPrivateKey, Engine, Error as CryptoError, Indicated, ReplyKey, SealedParts};
use ihsm_proto::{Opcode, SealedSecret, Status};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::fault::Fault;

/// Shortest PIN, in bytes.
pub const MIN_PIN_LEN: usize = 8;
/// Longest PIN, in bytes.
pub const MAX_PIN_LEN: usize = 128;

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 64;

/// A PIN, opened from a sealed secret. Zeroized on drop; no `Debug` shows it.
pub(crate) struct Pin(ihsm_crypto::SecretBytes);

impl Pin {
    /// Applies the PIN policy: 8 to 128 bytes of UTF-8.
    pub(crate) fn checked(self) -> Result<Self, Fault> {
        let bytes = self.0.expose();
        if (MIN_PIN_LEN..=MAX_PIN_LEN).contains(&bytes.len()) && core::str::from_utf8(bytes).is_ok()
        {
            Ok(self)
        } else {
            Err(Status::PinInvalid.into())
        }
    }

    pub(crate) fn expose(&self) -> &[u8] {
        self.0.expose()
    }
}

/// A secret opened from a [`SealedSecret`], with the key for a reply and the indicator of
/// the opening.
pub(crate) struct Opened {
    pub(crate) secret: ihsm_crypto::SecretBytes,
    pub(crate) reply: ReplyKey,
    pub(crate) approved: bool,
}

impl Opened {
    pub(crate) fn into_pin(self) -> Pin {
        Pin(self.secret)
    }
}

/// Opens a sealed secret carried in field `field` of a request with `opcode`, bound to
/// `nonce` (already checked and consumed by the caller). Anything that does not open is
/// `CredentialInvalid`, which never counts as a PIN failure.
pub(crate) fn open_sealed(
    engine: &Engine,
    key: &EcPrivateKey,
    sealed: &SealedSecret,
    nonce: &[u8; 32],
    opcode: Opcode,
    field: u8,
) -> Result<Opened, Fault> {
    let [high, low] = u16::from(opcode).to_be_bytes();
    let aad = [high, low, field];
    let parts = SealedParts {
        ephemeral_point: sealed.ephemeral_public_key.to_vec(),
        ciphertext: sealed.ciphertext.to_vec(),
    };
    let opened: Indicated<_> = engine
        .open_sealed_secret(key, &parts, nonce, &aad)
        .map_err(|error| match error {
            CryptoError::InvalidPublicKey | CryptoError::VerificationFailed => {
                Fault::Status(Status::CredentialInvalid)
            }
            other => Fault::from(other),
        })?;
    let approved = opened.approved;
    let (secret, reply) = opened.value;
    Ok(Opened {
        secret,
        reply,
        approved,
    })
}

/// A PIN verifier: PBKDF2-HMAC-SHA-512 of the PIN with a random salt and a recorded
/// iteration count. The PIN itself is never kept.
pub(crate) struct PinVerifier {
    salt: [u8; SALT_LEN],
    iterations: u32,
    hash: Zeroizing<[u8; HASH_LEN]>,
}

impl fmt::Debug for PinVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinVerifier({} iterations)", self.iterations)
    }
}

impl PinVerifier {
    /// A verifier of `pin` with a fresh salt.
    pub(crate) fn new(engine: &Engine, pin: &Pin, iterations: u32) -> Result<Self, Fault> {
        let mut salt = [0; SALT_LEN];
        let _ = engine.random(&mut salt)?;
        let hash = Self::hash(engine, pin.expose(), &salt, iterations)?;
        Ok(Self {
            salt,
            iterations,
            hash,
        })
    }

    /// A verifier no PIN matches (a random salt and hash), costing what a real one costs to
    /// check: what a role without a PIN is checked against, so the time of its answer says
    /// nothing about whether it has one.
    pub(crate) fn decoy(engine: &Engine, iterations: u32) -> Result<Self, Fault> {
        let mut salt = [0; SALT_LEN];
        let _ = engine.random(&mut salt)?;
        let mut hash = Zeroizing::new([0; HASH_LEN]);
        let _ = engine.random(&mut *hash)?;
        Ok(Self {
            salt,
            iterations,
            hash,
        })
    }

    /// Whether `pin` is the PIN, compared in constant time.
    pub(crate) fn matches(&self, engine: &Engine, pin: &Pin) -> Result<bool, Fault> {
        let candidate = Self::hash(engine, pin.expose(), &self.salt, self.iterations)?;
        Ok(bool::from(candidate.ct_eq(&*self.hash)))
    }

    fn hash(
        engine: &Engine,
        pin: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<Zeroizing<[u8; HASH_LEN]>, Fault> {
        let derived = engine.pbkdf2_sha512(pin, salt, iterations, HASH_LEN)?.value;
        let mut hash = Zeroizing::new([0; HASH_LEN]);
        if derived.len() != HASH_LEN {
            return Err(Status::Internal.into());
        }
        hash.copy_from_slice(derived.expose());
        Ok(hash)
    }

    /// `salt || iterations (4 bytes, big-endian) || hash`.
    pub(crate) fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(SALT_LEN + 4 + HASH_LEN));
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.iterations.to_be_bytes());
        out.extend_from_slice(&*self.hash);
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (salt, rest) = bytes.split_first_chunk::<SALT_LEN>()?;
        let (iterations, hash) = rest.split_first_chunk::<4>()?;
        let hash = <[u8; HASH_LEN]>::try_from(hash).ok()?;
        Some(Self {
            salt: *salt,
            iterations: u32::from_be_bytes(*iterations),
            hash: Zeroizing::new(hash),
        })
    }
}
