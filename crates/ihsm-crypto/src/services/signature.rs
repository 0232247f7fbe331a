//! Multi-part signature generation and verification (init / update / final), shared by
//! ECDSA and RSA. Streaming goes through `EVP_DigestSign*`, so the module hashes the message
//! itself and the result is an approved service where the one-shot form is.

use std::sync::Arc;

use crate::ecdsa_sig;
use crate::engine::{Engine, Indicated};
use crate::error::Result;
use crate::keys::rsa::Gauge;
use crate::policy::Service;
use crate::shim::DigestSignContext;

/// A signature being computed over streamed input.
pub struct SignContext {
    pub(crate) engine: Engine,
    pub(crate) service: Service,
    pub(crate) context: DigestSignContext,
    /// For ECDSA: the curve's scalar length, to turn DER into `r || s`.
    pub(crate) ecdsa_scalar_len: Option<usize>,
    /// For RSA: the gauge of the key's uses (the key is used at the final step).
    pub(crate) rsa: Option<Arc<Gauge>>,
}

impl SignContext {
    /// Feeds more message bytes.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.engine.ready()?;
        self.context.update(data)
    }

    /// Finishes and returns the signature (`r || s` for ECDSA).
    pub fn finish(self) -> Result<Indicated<Vec<u8>>> {
        let SignContext {
            engine,
            service,
            context,
            ecdsa_scalar_len,
            rsa,
        } = self;
        engine.run(service, || {
            let _use = rsa.as_ref().map(Gauge::enter).transpose()?;
            let signature = context.sign_final()?;
            match ecdsa_scalar_len {
                Some(len) => ecdsa_sig::der_to_fixed(&signature, len),
                None => Ok(signature),
            }
        })
    }
}

/// A verification over streamed input.
pub struct VerifyContext {
    pub(crate) engine: Engine,
    pub(crate) service: Service,
    pub(crate) context: DigestSignContext,
    pub(crate) ecdsa_scalar_len: Option<usize>,
    pub(crate) rsa: Option<Arc<Gauge>>,
}

impl VerifyContext {
    /// Feeds more message bytes.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.engine.ready()?;
        self.context.update(data)
    }

    /// Finishes; `Ok` only if `signature` is valid (`r || s` for ECDSA).
    pub fn finish(self, signature: &[u8]) -> Result<Indicated<()>> {
        let VerifyContext {
            engine,
            service,
            context,
            ecdsa_scalar_len,
            rsa,
        } = self;
        engine.run(service, || {
            let _use = rsa.as_ref().map(Gauge::enter).transpose()?;
            match ecdsa_scalar_len {
                Some(len) => context.verify_final(&ecdsa_sig::fixed_to_der(signature, len)?),
                None => context.verify_final(signature),
            }
        })
    }
}
