//! Key derivation: HKDF (RFC 5869), the SP 800-108 counter-mode KDF with HMAC, and
//! PBKDF2-HMAC-SHA-512 (SP 800-132) for PIN verifiers.

use core::num::NonZeroU32;

use aws_lc_rs::kdf::{get_kbkdf_ctr_hmac_algorithm, kbkdf_ctr_hmac, KbkdfCtrHmacAlgorithmId};
use aws_lc_rs::{hkdf, pbkdf2};

use crate::engine::{Engine, Indicated};
use crate::error::{Error, Result};
use crate::keys::SecretBytes;
use crate::policy::Service;
use crate::types::HashAlg;

/// Largest derived output in bytes (HKDF allows 255 hash blocks; ihsm keys need far less).
pub const MAX_DERIVED_LEN: usize = 1024;
/// Shortest password PBKDF2 is approved for (SP 800-132, IG D.N).
pub const PBKDF2_MIN_APPROVED_PASSWORD_LEN: usize = 14;
/// Shortest PBKDF2 salt ihsm accepts (128 bits, SP 800-132 5.1).
pub const PBKDF2_MIN_SALT_LEN: usize = 16;
/// Fewest PBKDF2 iterations that can be approved (SP 800-132 5.2).
pub const PBKDF2_MIN_APPROVED_ITERATIONS: u32 = 1000;
/// Most PBKDF2 iterations one call may ask for: a bound on the CPU one request can take.
pub const PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;
/// Shortest KDF key that can be approved (112 bits, SP 800-131A).
pub const KDF_MIN_APPROVED_KEY_LEN: usize = 14;

impl Engine {
    /// HKDF extract-and-expand to `len` bytes.
    pub fn hkdf(
        &self,
        hash: HashAlg,
        secret: &[u8],
        salt: &[u8],
        info: &[u8],
        len: usize,
    ) -> Result<Indicated<SecretBytes>> {
        let service = Service::Hkdf {
            hash,
            empty_salt: salt.is_empty(),
            empty_info: info.is_empty(),
        };
        self.run(service, || hkdf_derive(hash, secret, salt, info, len))
    }

    /// SP 800-108 KDF in counter mode with HMAC(`hash`): a 32-bit big-endian counter before
    /// the fixed input `label || 0x00 || context || [len * 8]_32`.
    pub fn kbkdf_counter_hmac(
        &self,
        hash: HashAlg,
        secret: &[u8],
        label: &[u8],
        context: &[u8],
        len: usize,
    ) -> Result<Indicated<SecretBytes>> {
        let service = Service::KbkdfCounterHmac {
            hash,
            short_key: secret.len() < KDF_MIN_APPROVED_KEY_LEN,
        };
        self.run(service, || kbkdf(hash, secret, label, context, len))
    }

    /// PBKDF2-HMAC-SHA-512 of `password` (a PIN, for instance) to `len` bytes.
    pub fn pbkdf2_sha512(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        len: usize,
    ) -> Result<Indicated<SecretBytes>> {
        let service = Service::Pbkdf2 {
            short_password: password.len() < PBKDF2_MIN_APPROVED_PASSWORD_LEN,
            few_iterations: iterations < PBKDF2_MIN_APPROVED_ITERATIONS,
        };
        self.run(service, || pbkdf2_derive(password, salt, iterations, len))
    }
}

pub(crate) fn hkdf_derive(
    hash: HashAlg,
    secret: &[u8],
    salt: &[u8],
    info: &[u8],
    len: usize,
) -> Result<SecretBytes> {
    check_len(len)?;
    let algorithm = match hash {
        HashAlg::Sha256 => hkdf::HKDF_SHA256,
        HashAlg::Sha384 => hkdf::HKDF_SHA384,
        HashAlg::Sha512 => hkdf::HKDF_SHA512,
    };
    if len > 255 * hash.output_len() {
        return Err(Error::InvalidLength);
    }
    let prk = hkdf::Salt::new(algorithm, salt).extract(secret);
    let info = [info];
    let okm = prk
        .expand(&info, OutputLen(len))
        .map_err(|_| Error::InvalidLength)?;
    let mut out = SecretBytes::new(vec![0u8; len]);
    okm.fill(out.expose_mut())?;
    Ok(out)
}

pub(crate) fn kbkdf(
    hash: HashAlg,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Result<SecretBytes> {
    check_len(len)?;
    if secret.is_empty() {
        return Err(Error::InvalidKey);
    }
    let id = match hash {
        HashAlg::Sha256 => KbkdfCtrHmacAlgorithmId::Sha256,
        HashAlg::Sha384 => KbkdfCtrHmacAlgorithmId::Sha384,
        HashAlg::Sha512 => KbkdfCtrHmacAlgorithmId::Sha512,
    };
    let algorithm = get_kbkdf_ctr_hmac_algorithm(id).ok_or(Error::Internal)?;
    let bits = u32::try_from(len * 8).map_err(|_| Error::InvalidLength)?;
    let mut fixed_input = Vec::with_capacity(label.len() + context.len() + 5);
    fixed_input.extend_from_slice(label);
    fixed_input.push(0);
    fixed_input.extend_from_slice(context);
    fixed_input.extend_from_slice(&bits.to_be_bytes());
    let mut out = SecretBytes::new(vec![0u8; len]);
    kbkdf_ctr_hmac(algorithm, secret, &fixed_input, out.expose_mut())?;
    Ok(out)
}

pub(crate) fn pbkdf2_derive(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Result<SecretBytes> {
    check_len(len)?;
    if salt.len() < PBKDF2_MIN_SALT_LEN {
        return Err(Error::InvalidParameter);
    }
    if iterations > PBKDF2_MAX_ITERATIONS {
        return Err(Error::InvalidParameter);
    }
    let iterations = NonZeroU32::new(iterations).ok_or(Error::InvalidParameter)?;
    let mut out = SecretBytes::new(vec![0u8; len]);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA512,
        iterations,
        salt,
        password,
        out.expose_mut(),
    );
    Ok(out)
}

fn check_len(len: usize) -> Result<()> {
    if len == 0 || len > MAX_DERIVED_LEN {
        return Err(Error::InvalidLength);
    }
    Ok(())
}

struct OutputLen(usize);

impl hkdf::KeyType for OutputLen {
    fn len(&self) -> usize {
        self.0
    }
}
