//! RSA: key-pair generation through AWS-LC's FIPS path with a pairwise-consistency test,
//! RSASSA-PKCS1-v1_5 and RSASSA-PSS (message or caller-supplied digest, single- or
//! multi-part), and RSAES-OAEP with SHA-256/384/512 and labels.

use std::sync::Arc;

use aws_lc_rs::rsa::{
    OaepAlgorithm, OAEP_SHA256_MGF1SHA256, OAEP_SHA384_MGF1SHA384, OAEP_SHA512_MGF1SHA512,
};

use super::signature::{SignContext, VerifyContext};
use crate::engine::{Engine, Indicated};
use crate::error::{Error, Result};
use crate::keys::{RsaPrivateKey, RsaPublicKey, SecretBytes};
use crate::policy::{RsaScheme, Service};
use crate::shim::{self, DigestSignContext, Padding};
use crate::types::{HashAlg, RsaBits};

/// An RSA signature scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsaSignatureScheme {
    /// RSASSA-PKCS1-v1_5.
    Pkcs1,
    /// RSASSA-PSS with MGF1 on the signature hash and the given salt length in bytes.
    Pss {
        /// Salt length in bytes (approved only when equal to the hash length).
        salt_len: usize,
    },
}

/// Largest OAEP label ihsm accepts.
pub const MAX_OAEP_LABEL_LEN: usize = 1024;

impl Engine {
    /// Generates an RSA key pair (public exponent 65537) and runs its pairwise-consistency
    /// tests (sign/verify and encrypt/decrypt). A failure discards the key and latches the
    /// error state.
    pub fn generate_rsa_key(&self, bits: RsaBits) -> Result<Indicated<RsaPrivateKey>> {
        let pair = self.run(Service::RsaKeyGen(bits), || {
            RsaPrivateKey::generate_pair(bits)
        })?;
        let key = RsaPrivateKey::from_generated(bits, &pair.value)?;
        if rsa_pairwise_test(&key, self.hooks().forced_pairwise_failure()).is_err() {
            drop(key);
            self.enter_error_state();
            return Err(Error::PairwiseTestFailed);
        }
        key.used_by_pairwise_test();
        self.ready()?;
        Ok(pair.map(|_| key))
    }

    /// Parses an unencrypted PKCS#8 RSA private key of 2048, 3072 or 4096 bits.
    pub fn rsa_private_key_from_pkcs8(&self, der: &[u8]) -> Result<RsaPrivateKey> {
        self.gated(|| RsaPrivateKey::from_pkcs8(der))
    }

    /// Parses an X.509 `SubjectPublicKeyInfo` holding a 2048-, 3072- or 4096-bit RSA key.
    pub fn rsa_public_key(&self, spki: &[u8]) -> Result<RsaPublicKey> {
        self.gated(|| RsaPublicKey::from_spki(spki))
    }

    /// Signs `message`, hashed inside the module.
    pub fn rsa_sign(
        &self,
        key: &RsaPrivateKey,
        scheme: RsaSignatureScheme,
        hash: HashAlg,
        message: &[u8],
    ) -> Result<Indicated<Vec<u8>>> {
        check_salt(key.bits(), scheme, hash)?;
        let service = sign_service(key.bits(), scheme, hash, false);
        self.run(service, || {
            let _use = key.signing().enter()?;
            rsa_sign_message(key, scheme, hash, message)
        })
    }

    /// Signs a caller-supplied digest (never approved).
    pub fn rsa_sign_digest(
        &self,
        key: &RsaPrivateKey,
        scheme: RsaSignatureScheme,
        hash: HashAlg,
        digest: &[u8],
    ) -> Result<Indicated<Vec<u8>>> {
        check_salt(key.bits(), scheme, hash)?;
        let service = sign_service(key.bits(), scheme, hash, true);
        self.run(service, || {
            let _use = key.signing().enter()?;
            shim::sign_digest(key.pkey(), hash, padding(scheme), digest)
        })
    }

    /// Verifies a signature over `message`.
    pub fn rsa_verify(
        &self,
        key: &RsaPublicKey,
        scheme: RsaSignatureScheme,
        hash: HashAlg,
        message: &[u8],
        signature: &[u8],
    ) -> Result<Indicated<()>> {
        let service = verify_service(key, scheme, hash, false);
        self.run(service, || {
            let _use = key.verifying().enter()?;
            rsa_verify_message(key, scheme, hash, message, signature)
        })
    }

    /// Verifies a signature over a caller-supplied digest.
    pub fn rsa_verify_digest(
        &self,
        key: &RsaPublicKey,
        scheme: RsaSignatureScheme,
        hash: HashAlg,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<Indicated<()>> {
        let service = verify_service(key, scheme, hash, true);
        self.run(service, || {
            let _use = key.verifying().enter()?;
            shim::verify_digest(key.pkey(), hash, padding(scheme), digest, signature)
        })
    }

    /// Starts a multi-part RSA signature.
    pub fn rsa_sign_init(
        &self,
        key: &RsaPrivateKey,
        scheme: RsaSignatureScheme,
        hash: HashAlg,
    ) -> Result<SignContext> {
        self.ready()?;
        check_salt(key.bits(), scheme, hash)?;
        Ok(SignContext {
            engine: self.clone(),
            service: sign_service(key.bits(), scheme, hash, false),
            context: DigestSignContext::new(key.pkey(), hash, padding(scheme), true)?,
            ecdsa_scalar_len: None,
            rsa: Some(Arc::clone(key.signing())),
        })
    }

    /// Starts a multi-part RSA verification.
    pub fn rsa_verify_init(
        &self,
        key: &RsaPublicKey,
        scheme: RsaSignatureScheme,
        hash: HashAlg,
    ) -> Result<VerifyContext> {
        self.ready()?;
        Ok(VerifyContext {
            engine: self.clone(),
            service: verify_service(key, scheme, hash, false),
            context: DigestSignContext::new(key.pkey(), hash, padding(scheme), false)?,
            ecdsa_scalar_len: None,
            rsa: Some(Arc::clone(key.verifying())),
        })
    }

    /// RSAES-OAEP encryption with MGF1 on the same hash and an optional label.
    pub fn rsa_oaep_encrypt(
        &self,
        key: &RsaPublicKey,
        hash: HashAlg,
        label: &[u8],
        plaintext: &[u8],
    ) -> Result<Indicated<Vec<u8>>> {
        self.run(
            Service::RsaOaepEncrypt {
                bits: key.bits(),
                hash,
            },
            || {
                let _use = key.encrypting().enter()?;
                oaep_encrypt(key, hash, label, plaintext)
            },
        )
    }

    /// RSAES-OAEP decryption; every failure is `VerificationFailed` (no padding oracle).
    pub fn rsa_oaep_decrypt(
        &self,
        key: &RsaPrivateKey,
        hash: HashAlg,
        label: &[u8],
        ciphertext: &[u8],
    ) -> Result<Indicated<SecretBytes>> {
        self.run(
            Service::RsaOaepDecrypt {
                bits: key.bits(),
                hash,
            },
            || {
                let _use = key.decrypting().enter()?;
                oaep_decrypt(key, hash, label, ciphertext)
            },
        )
    }
}

pub(crate) fn rsa_sign_message(
    key: &RsaPrivateKey,
    scheme: RsaSignatureScheme,
    hash: HashAlg,
    message: &[u8],
) -> Result<Vec<u8>> {
    let mut context = DigestSignContext::new(key.pkey(), hash, padding(scheme), true)?;
    context.update(message)?;
    context.sign_final()
}

pub(crate) fn rsa_verify_message(
    key: &RsaPublicKey,
    scheme: RsaSignatureScheme,
    hash: HashAlg,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    let mut context = DigestSignContext::new(key.pkey(), hash, padding(scheme), false)?;
    context.update(message)?;
    context.verify_final(signature)
}

pub(crate) fn oaep_encrypt(
    key: &RsaPublicKey,
    hash: HashAlg,
    label: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    if label.len() > MAX_OAEP_LABEL_LEN {
        return Err(Error::InvalidParameter);
    }
    let algorithm = oaep_algorithm(hash);
    if plaintext.len() > key.oaep().max_plaintext_size(algorithm) {
        return Err(Error::InvalidLength);
    }
    let mut out = vec![0u8; key.oaep().ciphertext_size()];
    let len = key
        .oaep()
        .encrypt(algorithm, plaintext, &mut out, label_option(label))?
        .len();
    out.truncate(len);
    Ok(out)
}

pub(crate) fn oaep_decrypt(
    key: &RsaPrivateKey,
    hash: HashAlg,
    label: &[u8],
    ciphertext: &[u8],
) -> Result<SecretBytes> {
    if label.len() > MAX_OAEP_LABEL_LEN {
        return Err(Error::InvalidParameter);
    }
    let mut out = SecretBytes::new(vec![0u8; key.oaep().min_output_size()]);
    let len = key
        .oaep()
        .decrypt(
            oaep_algorithm(hash),
            ciphertext,
            out.expose_mut(),
            label_option(label),
        )
        .map_err(|_| Error::VerificationFailed)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// A PSS salt must fit the encoding: `salt_len <= emLen - hLen - 2` (RFC 8017 9.1.1). A
/// longer one is the caller's mistake, not an engine failure.
fn check_salt(bits: RsaBits, scheme: RsaSignatureScheme, hash: HashAlg) -> Result<()> {
    match scheme {
        RsaSignatureScheme::Pss { salt_len }
            if salt_len + hash.output_len() + 2 > bits.bits() / 8 =>
        {
            Err(Error::InvalidParameter)
        }
        _ => Ok(()),
    }
}

fn label_option(label: &[u8]) -> Option<&[u8]> {
    (!label.is_empty()).then_some(label)
}

fn oaep_algorithm(hash: HashAlg) -> &'static OaepAlgorithm {
    match hash {
        HashAlg::Sha256 => &OAEP_SHA256_MGF1SHA256,
        HashAlg::Sha384 => &OAEP_SHA384_MGF1SHA384,
        HashAlg::Sha512 => &OAEP_SHA512_MGF1SHA512,
    }
}

fn padding(scheme: RsaSignatureScheme) -> Padding {
    match scheme {
        RsaSignatureScheme::Pkcs1 => Padding::Pkcs1,
        RsaSignatureScheme::Pss { salt_len } => Padding::Pss { salt_len },
    }
}

fn policy_scheme(scheme: RsaSignatureScheme, hash: HashAlg) -> RsaScheme {
    match scheme {
        RsaSignatureScheme::Pkcs1 => RsaScheme::Pkcs1,
        RsaSignatureScheme::Pss { salt_len } if salt_len == hash.output_len() => {
            RsaScheme::PssSaltHashLen
        }
        RsaSignatureScheme::Pss { .. } => RsaScheme::PssSaltOther,
    }
}

fn sign_service(
    bits: RsaBits,
    scheme: RsaSignatureScheme,
    hash: HashAlg,
    prehashed: bool,
) -> Service {
    Service::RsaSign {
        bits,
        hash,
        scheme: policy_scheme(scheme, hash),
        prehashed,
    }
}

fn verify_service(
    key: &RsaPublicKey,
    scheme: RsaSignatureScheme,
    hash: HashAlg,
    prehashed: bool,
) -> Service {
    Service::RsaVerify {
        bits: key.bits(),
        hash,
        scheme: policy_scheme(scheme, hash),
        prehashed,
    }
}

/// Sign/verify and encrypt/decrypt with a new key pair (FIPS 140-3 IG 10.3.A).
fn rsa_pairwise_test(key: &RsaPrivateKey, force_failure: bool) -> Result<()> {
    let message = b"ihsm pairwise consistency test";
    let mut signature = rsa_sign_message(key, RsaSignatureScheme::Pkcs1, HashAlg::Sha256, message)?;
    if force_failure {
        if let Some(byte) = signature.last_mut() {
            *byte ^= 1;
        }
    }
    rsa_verify_message(
        key.public_key(),
        RsaSignatureScheme::Pkcs1,
        HashAlg::Sha256,
        message,
        &signature,
    )?;
    let ciphertext = oaep_encrypt(key.public_key(), HashAlg::Sha256, b"", message)?;
    let plaintext = oaep_decrypt(key, HashAlg::Sha256, b"", &ciphertext)?;
    if plaintext.expose() == message {
        Ok(())
    } else {
        Err(Error::PairwiseTestFailed)
    }
}
