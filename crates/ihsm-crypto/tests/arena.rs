//! The locked arena, installed as the daemon installs it (its own test binary, so its own
//! process: AWS-LC takes its memory functions once, before its first allocation).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ihsm_crypto::{arena, Curve, Engine, HashAlg, RsaBits, SecretBytes};

#[test]
fn aws_lc_keys_and_secret_bytes_live_in_the_arena_and_go_back_wiped() {
    let stats = arena::install(4 << 20).expect("installed before any AWS-LC use");
    assert!(stats.capacity >= 1 << 20);
    assert!(arena::install(4 << 20).is_err(), "only once");
    let engine = Engine::power_on();
    let baseline = arena::stats().unwrap().in_use;

    let keys: Vec<_> = (0..20)
        .map(|_| engine.generate_ec_key(Curve::P256).unwrap().value)
        .collect();
    let rsa = engine.generate_rsa_key(RsaBits::Rsa2048).unwrap().value;
    let secrets: Vec<_> = (0..100)
        .map(|i| SecretBytes::from_slice(&[i; 200]))
        .collect();
    let holding = arena::stats().unwrap();
    assert!(
        holding.in_use > baseline + 100 * 200,
        "keys and secrets are in the arena: {holding:?} over {baseline}"
    );
    // They work from there.
    for key in &keys {
        let signature = engine.ecdsa_sign(key, HashAlg::Sha256, b"m").unwrap().value;
        let public = engine
            .ec_public_key(Curve::P256, key.public_point())
            .unwrap();
        let _verified = engine
            .ecdsa_verify(&public, HashAlg::Sha256, b"m", &signature)
            .unwrap();
    }
    drop((keys, rsa, secrets));
    let after = arena::stats().unwrap();
    assert!(
        after.in_use <= baseline + 4096,
        "everything went back: {after:?} over {baseline}"
    );
    assert_eq!(after.overflowed, 0, "{after:?}");
    // A secret over the largest class is served by the heap, and counted.
    let large = SecretBytes::from_slice(&vec![7u8; 64 << 10]);
    assert_eq!(large.expose().len(), 64 << 10);
    assert!(arena::stats().unwrap().oversized >= 1);
}
