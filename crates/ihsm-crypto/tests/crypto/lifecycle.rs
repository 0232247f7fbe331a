use ihsm_crypto::{Engine, EngineState, SelfTest};

use super::fixtures::engine;

#[test]
fn power_on_passes_every_self_test_and_is_operational() {
    let engine = engine();
    let results = engine.self_test_results();
    let failed: Vec<_> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.test.name())
        .collect();
    assert!(failed.is_empty(), "failed self-tests: {failed:?}");
    assert_eq!(results.len(), SelfTest::ALL.len());
    assert_eq!(engine.state(), EngineState::Operational);
}

#[test]
fn fips_build_runs_in_fips_mode_and_non_fips_never_does() {
    assert_eq!(engine().fips_mode(), cfg!(feature = "fips"));
}

#[test]
fn on_demand_self_tests_pass_and_keep_the_engine_operational() {
    let engine = Engine::power_on();
    engine.run_self_tests().unwrap();
    assert_eq!(engine.state(), EngineState::Operational);
    let results = engine.self_test_results();
    assert_eq!(results.len(), SelfTest::ALL.len());
    assert!(results.iter().all(|r| r.passed));
}

#[test]
fn entering_the_error_state_refuses_every_service_and_is_terminal() {
    let engine = Engine::power_on();
    engine.enter_error_state();
    assert_eq!(engine.state(), EngineState::Error);
    let mut buf = [0u8; 8];
    assert_eq!(
        engine.random(&mut buf).err(),
        Some(ihsm_crypto::Error::ErrorState)
    );
    assert_eq!(
        engine.digest(ihsm_crypto::HashAlg::Sha256, b"x").err(),
        Some(ihsm_crypto::Error::ErrorState)
    );
    assert_eq!(engine.run_self_tests(), Err(ihsm_crypto::Error::ErrorState));
    assert_eq!(engine.state(), EngineState::Error);
}
