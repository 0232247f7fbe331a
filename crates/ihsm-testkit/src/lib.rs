//! ihsm's test harness: shared by the test suites of every crate, never a dependency of
//! anything that ships.
//!
//! It holds the bookkeeping of vector suites ([`VectorTally`]: run, passed and skipped counts
//! with reasons, and the failures), a protocol [`client`] that reaches a device in this
//! process through any [`client::Transport`], a real `ihsmd` on a temporary state directory
//! ([`daemon::Daemon`]), and a throwaway SoftHSM2 token ([`softhsm`]). It must never be
//! linked into a release binary.
#![forbid(unsafe_code)]
// Test support: a failed expectation is a test failure, so panicking is the right answer.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod client;
pub mod daemon;
pub mod softhsm;

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What a vector file says the outcome must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Must be accepted with the expected output.
    Valid,
    /// Must be rejected.
    Invalid,
    /// Either outcome is allowed (legacy or edge-case input).
    Acceptable,
}

/// Counts of one vector family: how many vectors ran and passed, how many were skipped and
/// why, and which failed.
#[derive(Debug, Default)]
pub struct VectorTally {
    run: usize,
    passed: usize,
    skipped: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
}

impl VectorTally {
    /// Records `n` vectors not run, with the reason.
    pub fn skip(&mut self, reason: &'static str, n: usize) {
        *self.skipped.entry(reason).or_default() += n;
    }

    /// Records one vector that ran: `accepted` is whether the implementation accepted it
    /// and produced the expected output.
    pub fn check(&mut self, source: &str, id: usize, expected: Expected, accepted: bool) {
        self.run += 1;
        let good = match expected {
            Expected::Valid => accepted,
            Expected::Invalid => !accepted,
            Expected::Acceptable => true,
        };
        if good {
            self.passed += 1;
        } else {
            let outcome = if accepted { "accepted" } else { "rejected" };
            self.failures
                .push(format!("{source} #{id}: expected {expected:?}, {outcome}"));
        }
    }

    /// Vectors run.
    pub fn run(&self) -> usize {
        self.run
    }

    /// Vectors that ran and gave the expected outcome.
    pub fn passed(&self) -> usize {
        self.passed
    }

    /// Vectors skipped.
    pub fn skipped(&self) -> usize {
        self.skipped.values().sum()
    }

    /// One line: counts and skip reasons.
    pub fn summary(&self, family: &str) -> String {
        let mut line = format!(
            "{family}: run {} passed {} skipped {}",
            self.run,
            self.passed,
            self.skipped()
        );
        for (reason, n) in &self.skipped {
            let _ = write!(line, "; {n} {reason}");
        }
        line
    }

    /// Prints the summary and fails if nothing ran or anything failed.
    pub fn finish(self, family: &str) -> Result<(), String> {
        eprintln!("vectors {}", self.summary(family));
        if self.run == 0 {
            return Err(format!("{family}: no vector ran"));
        }
        if !self.failures.is_empty() {
            return Err(format!(
                "{family}: {} failures:\n{}",
                self.failures.len(),
                self.failures.join("\n")
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_vector_rejected_and_an_invalid_one_accepted_both_fail() {
        let mut t = VectorTally::default();
        t.check("f", 1, Expected::Valid, false);
        t.check("f", 2, Expected::Invalid, true);
        t.check("f", 3, Expected::Acceptable, false);
        t.skip("unsupported", 2);
        assert_eq!((t.run(), t.passed(), t.skipped()), (3, 1, 2));
        let err = t.finish("x").unwrap_err();
        assert!(err.contains("#1") && err.contains("#2") && !err.contains("#3"));
    }

    #[test]
    fn nothing_run_is_a_failure() {
        assert!(VectorTally::default().finish("empty").is_err());
    }
}
