//! DRBG health check. AWS-LC runs the CTR_DRBG known-answer tests and the entropy source's
//! SP 800-90B health tests itself; ihsm checks that output arrives and is not repeated.

use super::{SelfTest, TestHooks};
use crate::services::random::fill;

pub(super) fn run(hooks: &TestHooks) -> bool {
    let mut first = [0u8; 32];
    let mut second = [0u8; 32];
    if fill(&mut first).is_err() || fill(&mut second).is_err() {
        return false;
    }
    if hooks.forced(SelfTest::Drbg) {
        second = first;
    }
    first != second && first != [0u8; 32]
}
