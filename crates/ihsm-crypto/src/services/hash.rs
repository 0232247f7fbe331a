//! SHA-2 digests and HMAC, single-part and multi-part.

use aws_lc_rs::{digest, hmac};

use crate::engine::{Engine, Indicated};
use crate::error::{Error, Result};
use crate::keys::GenericSecret;
use crate::policy::Service;
use crate::types::HashAlg;

/// HMAC keys shorter than this (112 bits) are not approved (SP 800-131A).
pub const HMAC_MIN_APPROVED_KEY_LEN: usize = 14;

impl Engine {
    /// Hashes `data`.
    pub fn digest(&self, hash: HashAlg, data: &[u8]) -> Result<Indicated<Vec<u8>>> {
        self.run(Service::Digest(hash), || Ok(sha(hash, data)))
    }

    /// Starts a multi-part digest.
    pub fn digest_init(&self, hash: HashAlg) -> Result<DigestContext> {
        self.ready()?;
        Ok(DigestContext {
            engine: self.clone(),
            hash,
            context: digest::Context::new(hash.digest_algorithm()),
        })
    }

    /// Computes an HMAC tag over `data`.
    pub fn hmac_sign(
        &self,
        key: &GenericSecret,
        hash: HashAlg,
        data: &[u8],
    ) -> Result<Indicated<Vec<u8>>> {
        self.run(hmac_service(key, hash), || Ok(hmac_tag(key, hash, data)))
    }

    /// Verifies an HMAC tag in constant time; a wrong tag (or a wrong length) is
    /// `VerificationFailed`.
    pub fn hmac_verify(
        &self,
        key: &GenericSecret,
        hash: HashAlg,
        data: &[u8],
        tag: &[u8],
    ) -> Result<Indicated<()>> {
        self.run(hmac_service(key, hash), || {
            hmac::verify(key.hmac_key(hash), data, tag).map_err(|_| Error::VerificationFailed)
        })
    }

    /// Starts a multi-part HMAC.
    pub fn hmac_init(&self, key: &GenericSecret, hash: HashAlg) -> Result<HmacContext> {
        self.ready()?;
        Ok(HmacContext {
            engine: self.clone(),
            service: hmac_service(key, hash),
            context: hmac::Context::with_key(key.hmac_key(hash)),
        })
    }
}

/// A multi-part digest in progress.
pub struct DigestContext {
    engine: Engine,
    hash: HashAlg,
    context: digest::Context,
}

impl DigestContext {
    /// Feeds more data.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.engine.ready()?;
        self.context.update(data);
        Ok(())
    }

    /// Finishes and returns the digest.
    pub fn finish(self) -> Result<Indicated<Vec<u8>>> {
        let context = self.context;
        self.engine.run(Service::Digest(self.hash), || {
            Ok(context.finish().as_ref().to_vec())
        })
    }
}

/// A multi-part HMAC in progress.
pub struct HmacContext {
    engine: Engine,
    service: Service,
    context: hmac::Context,
}

impl HmacContext {
    /// Feeds more data.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.engine.ready()?;
        self.context.update(data);
        Ok(())
    }

    /// Finishes and returns the tag.
    pub fn sign(self) -> Result<Indicated<Vec<u8>>> {
        let context = self.context;
        self.engine
            .run(self.service, || Ok(context.sign().as_ref().to_vec()))
    }

    /// Finishes and compares against `tag` in constant time.
    pub fn verify(self, tag: &[u8]) -> Result<Indicated<()>> {
        let context = self.context;
        self.engine.run(self.service, || {
            let computed = context.sign();
            if aws_lc_rs::constant_time::verify_slices_are_equal(computed.as_ref(), tag).is_ok() {
                Ok(())
            } else {
                Err(Error::VerificationFailed)
            }
        })
    }
}

fn hmac_service(key: &GenericSecret, hash: HashAlg) -> Service {
    Service::Hmac {
        hash,
        short_key: key.len() < HMAC_MIN_APPROVED_KEY_LEN,
    }
}

pub(crate) fn sha(hash: HashAlg, data: &[u8]) -> Vec<u8> {
    digest::digest(hash.digest_algorithm(), data)
        .as_ref()
        .to_vec()
}

pub(crate) fn hmac_tag(key: &GenericSecret, hash: HashAlg, data: &[u8]) -> Vec<u8> {
    hmac::sign(key.hmac_key(hash), data).as_ref().to_vec()
}
