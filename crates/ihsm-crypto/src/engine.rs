//! The engine: its lifecycle (power-on self-tests, operational, latched error) and the
//! gate every service passes through.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Error, Result};
use crate::policy::{approval, Service};
use crate::selftest::{self, SelfTest, SelfTestResult, TestHooks};
use crate::shim;

/// Where the engine is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineState {
    /// Power-on self-tests are running; no service produces output.
    SelfTesting,
    /// Every self-test passed; services are available.
    Operational,
    /// A self-test, pairwise-consistency test or integrity check failed. Terminal: every
    /// service refuses until the process restarts and its self-tests pass again.
    Error,
}

/// A service's output with its service indicator. Only the engine makes these
/// (`non_exhaustive`), so holding one with `approved` set means the engine approved it.
#[derive(Debug)]
#[must_use]
#[non_exhaustive]
pub struct Indicated<T> {
    /// The output.
    pub value: T,
    /// ihsm's service indicator: true only if the policy table approves this service with
    /// these parameters, AWS-LC's indicator agrees for this very call, and the engine runs
    /// the validated module in FIPS mode.
    pub approved: bool,
    /// AWS-LC's raw service indicator for the call, kept for audit and for the policy
    /// cross-check.
    pub aws_lc_indicator: bool,
}

impl<T> Indicated<T> {
    pub(crate) fn new(value: T, approved: bool, aws_lc_indicator: bool) -> Self {
        Self {
            value,
            approved,
            aws_lc_indicator,
        }
    }

    /// Keeps the indicators, transforms the value.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Indicated<U> {
        Indicated {
            value: f(self.value),
            approved: self.approved,
            aws_lc_indicator: self.aws_lc_indicator,
        }
    }
}

/// The crypto engine. Cheap to clone; all clones share one lifecycle state.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    state: AtomicU8,
    fips: bool,
    results: Mutex<Vec<SelfTestResult>>,
    hooks: Mutex<TestHooks>,
}

const SELF_TESTING: u8 = 0;
const OPERATIONAL: u8 = 1;
const ERROR: u8 = 2;

impl Engine {
    /// Powers the engine on: asserts FIPS mode (FIPS build), then runs every known-answer
    /// test. The returned engine is `Operational` if all passed and in its `Error` state
    /// otherwise; [`Engine::self_test_results`] says which test failed.
    pub fn power_on() -> Engine {
        Self::start(TestHooks::default())
    }

    /// Powers on with test hooks that force chosen self-tests or pairwise tests to fail.
    #[cfg(feature = "test-hooks")]
    pub fn power_on_with_hooks(hooks: TestHooks) -> Engine {
        Self::start(hooks)
    }

    fn start(hooks: TestHooks) -> Engine {
        let fips = Self::validated_module_in_fips_mode();
        let engine = Engine {
            inner: Arc::new(Inner {
                state: AtomicU8::new(SELF_TESTING),
                fips,
                results: Mutex::new(Vec::new()),
                hooks: Mutex::new(hooks),
            }),
        };
        engine.record(engine.self_tests());
        engine
    }

    /// The FIPS-mode check followed by every known-answer test.
    fn self_tests(&self) -> Vec<SelfTestResult> {
        let hooks = self.hooks();
        let fips_ok = self.inner.fips || !cfg!(feature = "fips");
        let mut results = vec![SelfTestResult {
            test: SelfTest::FipsMode,
            passed: fips_ok && !hooks.forced(SelfTest::FipsMode),
        }];
        results.extend(selftest::run_all(&hooks));
        results
    }

    fn validated_module_in_fips_mode() -> bool {
        cfg!(feature = "fips") && aws_lc_rs::try_fips_mode().is_ok()
    }

    /// The current lifecycle state.
    pub fn state(&self) -> EngineState {
        match self.inner.state.load(Ordering::Acquire) {
            SELF_TESTING => EngineState::SelfTesting,
            OPERATIONAL => EngineState::Operational,
            _ => EngineState::Error,
        }
    }

    /// True when the engine links the FIPS 140-3 validated AWS-LC module and it runs in FIPS
    /// mode. A non-FIPS build always reports false and never indicates an approved service.
    pub fn fips_mode(&self) -> bool {
        self.inner.fips
    }

    /// Whether test hooks are compiled into this build. The crate refuses to compile with
    /// `test-hooks` and without debug assertions, so a release build always says false.
    pub const fn test_hooks_compiled_in() -> bool {
        cfg!(feature = "test-hooks")
    }

    /// The outcome of each self-test of the latest run (power-on or on demand).
    pub fn self_test_results(&self) -> Vec<SelfTestResult> {
        self.inner
            .results
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs every self-test again (on demand or periodically). While they run the engine is
    /// `SelfTesting` and every service refuses; a failure latches the error state. An engine
    /// already in its error state stays there and reports `ErrorState`.
    pub fn run_self_tests(&self) -> Result<()> {
        // Only an operational engine may re-test; the swap also stops two runs overlapping.
        if self
            .inner
            .state
            .compare_exchange(
                OPERATIONAL,
                SELF_TESTING,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            return Err(match self.state() {
                EngineState::SelfTesting => Error::SelfTestsRunning,
                _ => Error::ErrorState,
            });
        }
        self.record(self.self_tests());
        match self.state() {
            EngineState::Operational => Ok(()),
            _ => Err(Error::ErrorState),
        }
    }

    /// Latches the error state (used by callers that detect a hard error the engine cannot
    /// see, such as a store integrity failure). Irreversible for this engine: the module
    /// creates one engine per process, so only a process restart, which powers on a new
    /// engine and re-runs every self-test, leaves the error state (keeping a hard error
    /// latched across restarts is the device's job).
    pub fn enter_error_state(&self) {
        self.inner.state.store(ERROR, Ordering::Release);
    }

    fn record(&self, results: Vec<SelfTestResult>) {
        let all_passed = results.iter().all(|r| r.passed);
        *self
            .inner
            .results
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = results;
        if all_passed {
            // Only a self-testing engine becomes operational: the error state is terminal.
            let _ = self.inner.state.compare_exchange(
                SELF_TESTING,
                OPERATIONAL,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        } else {
            self.enter_error_state();
        }
    }

    pub(crate) fn ready(&self) -> Result<()> {
        match self.state() {
            EngineState::Operational => Ok(()),
            EngineState::SelfTesting => Err(Error::SelfTestsRunning),
            EngineState::Error => Err(Error::ErrorState),
        }
    }

    pub(crate) fn hooks(&self) -> TestHooks {
        self.inner
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the test hooks of a running engine, so a test can break a self-test that
    /// passed at power-on and then run the self-tests on demand.
    #[cfg(feature = "test-hooks")]
    pub fn replace_test_hooks(&self, hooks: TestHooks) {
        *self
            .inner
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = hooks;
    }

    /// Runs one service: refuses outside the operational state, measures AWS-LC's indicator
    /// around `f` (which must make exactly one AWS-LC service call), and computes ihsm's
    /// indicator from the policy table. The state is checked again afterwards, so output
    /// computed while another thread latched the error state (or started on-demand
    /// self-tests) is dropped, not returned; secret outputs zeroize as they drop.
    pub(crate) fn run<T>(
        &self,
        service: Service,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<Indicated<T>> {
        self.ready()?;
        let (out, aws_lc_indicator) = shim::with_indicator(f);
        let value = out?;
        self.ready()?;
        Ok(self.indicate(service, value, aws_lc_indicator))
    }

    /// Runs a crypto computation that is not itself a service with an indicator (parsing
    /// and validating a key), only while operational.
    pub(crate) fn gated<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.ready()?;
        let value = f()?;
        self.ready()?;
        Ok(value)
    }

    pub(crate) fn indicate<T>(
        &self,
        service: Service,
        value: T,
        aws_lc_indicator: bool,
    ) -> Indicated<T> {
        let policy = approval(service);
        let approved = self.inner.fips && policy.approved && aws_lc_indicator;
        Indicated {
            value,
            approved,
            aws_lc_indicator,
        }
    }
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("state", &self.state())
            .field("fips", &self.inner.fips)
            .finish()
    }
}
