//! The engine benchmark: ops/s of ihsm-crypto's services beside the same operation through
//! aws-lc-rs directly, measured in one run. This is the physical limit every later layer
//! (device, daemon, PKCS#11) is measured against.
//!
//! `cargo bench -p ihsm-crypto --bench engine` prints a Markdown table. Each cell runs for
//! `IHSM_BENCH_SECS` seconds (default 1.0) after a short warm-up; rows alternate between the
//! two sides so machine noise hits both alike.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{Aad, RandomizedNonceKey, AES_256_GCM};
use aws_lc_rs::rsa::{OaepPrivateDecryptingKey, PrivateDecryptingKey, OAEP_SHA256_MGF1SHA256};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use aws_lc_rs::{hmac, rand::SystemRandom};
use ihsm_crypto::{AesKey, Curve, Engine, GenericSecret, HashAlg, RsaBits, RsaSignatureScheme};

fn main() {
    let secs: f64 = std::env::var("IHSM_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let budget = Duration::from_secs_f64(secs);
    let engine = Engine::power_on();
    assert!(engine.state() == ihsm_crypto::EngineState::Operational);
    println!(
        "AWS-LC {} (FIPS mode: {}), {secs} s per cell\n",
        ihsm_crypto::aws_lc_version(),
        engine.fips_mode()
    );
    println!("| operation | ihsm-crypto ops/s | aws-lc-rs ops/s | ihsm / raw |");
    println!("|---|---:|---:|---:|");
    let rng = SystemRandom::new();
    let msg = [0x5a_u8; 32];

    for (curve, hash, alg, verify_alg) in [
        (
            Curve::P256,
            HashAlg::Sha256,
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &signature::ECDSA_P256_SHA256_FIXED,
        ),
        (
            Curve::P384,
            HashAlg::Sha384,
            &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            &signature::ECDSA_P384_SHA384_FIXED,
        ),
    ] {
        let key = engine.generate_ec_key(curve).unwrap().value;
        let raw = EcdsaKeyPair::from_pkcs8(alg, key.pkcs8().expose()).unwrap();
        row(
            &format!("ECDSA {curve:?} sign"),
            budget,
            || {
                let _ = black_box(engine.ecdsa_sign(&key, hash, &msg).unwrap());
            },
            || {
                let _ = black_box(raw.sign(&rng, &msg).unwrap());
            },
        );
        let public = key.public_key().unwrap();
        let sig = engine.ecdsa_sign(&key, hash, &msg).unwrap().value;
        let raw_public =
            signature::UnparsedPublicKey::new(verify_alg, raw.public_key().as_ref().to_vec())
                .parse()
                .unwrap();
        row(
            &format!("ECDSA {curve:?} verify"),
            budget,
            || {
                let _ = black_box(engine.ecdsa_verify(&public, hash, &msg, &sig).unwrap());
            },
            || raw_public.verify_sig(&msg, &sig).unwrap(),
        );
    }

    for bits in [RsaBits::Rsa2048, RsaBits::Rsa3072] {
        let key = engine.generate_rsa_key(bits).unwrap().value;
        let raw = RsaKeyPair::from_pkcs8(key.pkcs8().expose()).unwrap();
        let mut out = vec![0u8; raw.public_modulus_len()];
        row(
            &format!("RSA-{} PKCS#1 sign", bits.bits()),
            budget,
            || {
                let _ = black_box(
                    engine
                        .rsa_sign(&key, RsaSignatureScheme::Pkcs1, HashAlg::Sha256, &msg)
                        .unwrap(),
                );
            },
            || {
                raw.sign(&signature::RSA_PKCS1_SHA256, &rng, &msg, &mut out)
                    .unwrap()
            },
        );
        let ct = engine
            .rsa_oaep_encrypt(key.public_key(), HashAlg::Sha256, b"", &msg)
            .unwrap()
            .value;
        let raw_oaep = OaepPrivateDecryptingKey::new(
            PrivateDecryptingKey::from_pkcs8(key.pkcs8().expose()).unwrap(),
        )
        .unwrap();
        let mut pt = vec![0u8; raw_oaep.min_output_size()];
        row(
            &format!("RSA-{} OAEP decrypt", bits.bits()),
            budget,
            || {
                let _ = black_box(
                    engine
                        .rsa_oaep_decrypt(&key, HashAlg::Sha256, b"", &ct)
                        .unwrap(),
                );
            },
            || {
                let _ = black_box(
                    raw_oaep
                        .decrypt(&OAEP_SHA256_MGF1SHA256, &ct, &mut pt, None)
                        .unwrap(),
                );
            },
        );
    }

    let aes = AesKey::from_bytes(&[7u8; 32]).unwrap();
    let raw_gcm = RandomizedNonceKey::new(&AES_256_GCM, &[7u8; 32]).unwrap();
    for (label, len) in [("4 KiB", 4096usize), ("1 MiB", 1 << 20)] {
        let data = vec![1u8; len];
        row(
            &format!("AES-256-GCM encrypt {label}"),
            budget,
            || {
                let _ = black_box(engine.aes_gcm_encrypt(&aes, b"", &data).unwrap());
            },
            || {
                let mut buf = data.clone();
                raw_gcm
                    .seal_in_place_append_tag(Aad::empty(), &mut buf)
                    .unwrap();
                let _ = black_box(buf);
            },
        );
    }

    let secret = GenericSecret::from_bytes(&[9u8; 32]).unwrap();
    let raw_hmac = hmac::Key::new(hmac::HMAC_SHA256, &[9u8; 32]);
    row(
        "HMAC-SHA-256 32 B",
        budget,
        || {
            let _ = black_box(engine.hmac_sign(&secret, HashAlg::Sha256, &msg).unwrap());
        },
        || {
            let _ = black_box(hmac::sign(&raw_hmac, &msg));
        },
    );
}

/// Measures both sides in alternating slices and prints one table row.
fn row(name: &str, budget: Duration, mut ihsm: impl FnMut(), mut raw: impl FnMut()) {
    ihsm();
    raw();
    let slices = 4;
    let slice = budget / slices;
    let (mut ihsm_ops, mut ihsm_time, mut raw_ops, mut raw_time) =
        (0u64, Duration::ZERO, 0u64, Duration::ZERO);
    for _ in 0..slices {
        let (n, t) = measure(slice, &mut ihsm);
        ihsm_ops += n;
        ihsm_time += t;
        let (n, t) = measure(slice, &mut raw);
        raw_ops += n;
        raw_time += t;
    }
    let ihsm_rate = ihsm_ops as f64 / ihsm_time.as_secs_f64();
    let raw_rate = raw_ops as f64 / raw_time.as_secs_f64();
    println!(
        "| {name} | {ihsm_rate:.0} | {raw_rate:.0} | {:.2} |",
        ihsm_rate / raw_rate
    );
}

fn measure(slice: Duration, op: &mut impl FnMut()) -> (u64, Duration) {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < slice {
        op();
        n += 1;
    }
    (n, start.elapsed())
}
