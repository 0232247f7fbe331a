//! Forced self-test and pairwise-test failures (test-hooks feature; RELIABILITY.md S9, S11).

use ihsm_crypto::{Curve, Engine, EngineState, Error, HashAlg, RsaBits, SelfTest, TestHooks};

fn assert_refuses_everything(engine: &Engine) {
    assert_eq!(engine.state(), EngineState::Error);
    let mut buf = [0u8; 16];
    assert_eq!(engine.random(&mut buf).err(), Some(Error::ErrorState));
    assert_eq!(
        engine.digest(HashAlg::Sha256, b"m").err(),
        Some(Error::ErrorState)
    );
    assert_eq!(
        engine.generate_ec_key(Curve::P256).err(),
        Some(Error::ErrorState)
    );
    assert_eq!(
        engine.digest_init(HashAlg::Sha256).err(),
        Some(Error::ErrorState)
    );
    assert_eq!(engine.run_self_tests(), Err(Error::ErrorState));
    assert_eq!(engine.state(), EngineState::Error);
}

#[test]
fn each_forced_self_test_failure_latches_the_error_state() {
    for test in SelfTest::ALL {
        let engine = Engine::power_on_with_hooks(TestHooks::default().fail_self_test(test));
        let failed: Vec<_> = engine
            .self_test_results()
            .into_iter()
            .filter(|r| !r.passed)
            .map(|r| r.test)
            .collect();
        assert_eq!(failed, vec![test], "only {} must fail", test.name());
        assert_refuses_everything(&engine);
    }
}

#[test]
fn each_self_test_failing_on_demand_latches_the_error_state() {
    for test in SelfTest::ALL {
        let engine = Engine::power_on();
        assert_eq!(engine.state(), EngineState::Operational);
        engine.replace_test_hooks(TestHooks::default().fail_self_test(test));
        assert_eq!(
            engine.run_self_tests(),
            Err(Error::ErrorState),
            "{}",
            test.name()
        );
        assert_refuses_everything(&engine);
    }
}

#[test]
fn a_restart_without_the_hook_passes_and_serves() {
    let broken = Engine::power_on_with_hooks(TestHooks::default().fail_self_test(SelfTest::AesGcm));
    assert_eq!(broken.state(), EngineState::Error);
    let fresh = Engine::power_on();
    assert_eq!(fresh.state(), EngineState::Operational);
    assert!(fresh.digest(HashAlg::Sha256, b"m").is_ok());
}

#[test]
fn an_operation_in_flight_stops_when_the_engine_latches() {
    let engine = Engine::power_on();
    let mut ctx = engine.digest_init(HashAlg::Sha256).unwrap();
    ctx.update(b"part").unwrap();
    engine.enter_error_state();
    assert_eq!(ctx.update(b"more").err(), Some(Error::ErrorState));
}

#[test]
fn failed_ec_pairwise_test_discards_the_key_and_latches() {
    let engine = Engine::power_on_with_hooks(TestHooks::default().fail_pairwise_tests());
    assert_eq!(engine.state(), EngineState::Operational);
    assert_eq!(
        engine.generate_ec_key(Curve::P384).err(),
        Some(Error::PairwiseTestFailed)
    );
    assert_refuses_everything(&engine);
}

#[test]
fn failed_rsa_pairwise_test_discards_the_key_and_latches() {
    let engine = Engine::power_on_with_hooks(TestHooks::default().fail_pairwise_tests());
    assert_eq!(
        engine.generate_rsa_key(RsaBits::Rsa2048).err(),
        Some(Error::PairwiseTestFailed)
    );
    assert_refuses_everything(&engine);
}
