//! Random bytes from AWS-LC's DRBG (CTR_DRBG, seeded from its SP 800-90B-tested source).

use crate::engine::{Engine, Indicated};
use crate::error::Result;
use crate::policy::Service;

/// Largest single request, matching the wire protocol's bulk-data bound.
pub const MAX_RANDOM_LEN: usize = 1 << 20;

impl Engine {
    /// Fills `out` with random bytes.
    pub fn random(&self, out: &mut [u8]) -> Result<Indicated<()>> {
        if out.len() > MAX_RANDOM_LEN {
            return Err(crate::Error::InvalidLength);
        }
        let result = self.run(Service::Random, || fill(out));
        if result.is_err() {
            // Output drawn while the engine left its operational state is not handed out.
            zeroize::Zeroize::zeroize(out);
        }
        result
    }
}

pub(crate) fn fill(out: &mut [u8]) -> Result<()> {
    aws_lc_rs::rand::fill(out)?;
    Ok(())
}
