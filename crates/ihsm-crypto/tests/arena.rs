//! The locked arena, installed as the daemon installs it (its own test binary, so its own
//! process: AWS-LC takes its memory functions once, before its first allocation).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ihsm_crypto::{arena, Curve, Engine, Error, HashAlg, RsaBits, RsaSignatureScheme, SecretBytes};

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
    assert_eq!(after.refused, 0, "{after:?}");
    // A secret over the largest class is served by the heap, and counted.
    let large = SecretBytes::from_slice(&vec![7u8; 64 << 10]);
    assert_eq!(large.expose().len(), 64 << 10);
    assert!(arena::stats().unwrap().oversized >= 1);

    // Accounts: a share is reserved out of what the device's reserve leaves, every block is
    // charged to the account of the thread that made it and credited back when freed, by
    // whichever thread.
    let capacity = arena::stats().unwrap().capacity;
    let available = capacity - arena::device_reserve(capacity);
    assert!(
        arena::open_account(available + 1, true).is_err(),
        "more than there is"
    );
    let tenant = arena::open_account(available / 2, true).unwrap();
    assert!(
        arena::open_account(available / 2 + 4096, true).is_err(),
        "shares never add up to more than the arena"
    );
    let restored = arena::open_account(available, false).unwrap();
    arena::close_account(restored);
    assert_eq!(arena::stats().unwrap().reserved, available / 2);
    let device_before = arena::usage(arena::DEVICE).unwrap().used;
    let (key, secret) = {
        let _charge = arena::charge_to(tenant);
        let key = engine.generate_ec_key(Curve::P384).unwrap().value;
        (key, SecretBytes::from_slice(&[1; 100]))
    };
    let held = arena::usage(tenant).unwrap();
    assert!(held.used >= 128 + 1024, "{held:?}");
    assert_eq!(held.share, available / 2);
    assert!(
        arena::usage(arena::DEVICE).unwrap().used <= device_before + 256,
        "not charged to the device"
    );
    std::thread::spawn(move || drop((key, secret)))
        .join()
        .unwrap();
    assert_eq!(arena::usage(tenant).unwrap().used, 0, "credited back");
    arena::close_account(tenant);
    assert_eq!(arena::usage(tenant), None);
    assert_eq!(arena::stats().unwrap().reserved, 0);

    rsa_keys_grow_only_within_room(&engine);
}

/// AWS-LC builds an RSA structure's Montgomery contexts on its first use and keeps a
/// blinding per private use running at once: a key that came in whole (imported, unwrapped,
/// loaded) grows after the room for it was checked. Such a use is checked first, against the
/// share of the account the thread charges, and refused without room; later uses at a
/// level of concurrency reached before add nothing and need no room.
fn rsa_keys_grow_only_within_room(engine: &Engine) {
    let generated = engine.generate_rsa_key(RsaBits::Rsa4096).unwrap().value;
    let pkcs8 = generated.pkcs8().expose().to_vec();
    let spki = generated.public_key().spki().to_vec();
    drop(generated);
    let in_use = || arena::stats().unwrap().in_use;
    let message = b"grow";
    let scheme = RsaSignatureScheme::Pkcs1;
    let sign = |key| engine.rsa_sign(key, scheme, HashAlg::Sha256, message);

    // A tenant whose share is full: the first signature and the first verification are
    // refused, and nothing grows.
    let tenant = arena::open_account(256 << 10, true).unwrap();
    let charge = arena::charge_to(tenant);
    let private = engine.rsa_private_key_from_pkcs8(&pkcs8).unwrap();
    let public = engine.rsa_public_key(&spki).unwrap();
    let mut filler = Vec::new();
    while arena::usage(tenant).unwrap().used + (16 << 10) <= 256 << 10 {
        filler.push(SecretBytes::from_slice(&[9; 4000]));
    }
    let before = in_use();
    assert_eq!(sign(&private).unwrap_err(), Error::QuotaExceeded);
    assert_eq!(
        sign(&private).unwrap_err(),
        Error::QuotaExceeded,
        "still not let in"
    );
    let signature = {
        drop(charge);
        let signature = sign(&private).expect("the device's share has room").value;
        let _charge = arena::charge_to(tenant);
        assert_eq!(
            engine
                .rsa_verify(&public, scheme, HashAlg::Sha256, message, &signature)
                .unwrap_err(),
            Error::QuotaExceeded
        );
        assert_eq!(
            engine
                .rsa_oaep_decrypt(&private, HashAlg::Sha256, b"", &[0; 512])
                .unwrap_err(),
            Error::QuotaExceeded
        );
        signature
    };
    // (The signature above grew the key in the device's account; what follows uses the
    // public key and the decryption side, still unused.)
    let _charge = arena::charge_to(tenant);
    let grown = in_use();
    assert!(
        grown >= before + (8 << 10),
        "{grown} over {before}: the device's signature"
    );

    // With room, the first use of each side grows the key, once; later ones are free.
    filler.clear();
    let first = in_use();
    let _ = engine
        .rsa_verify(&public, scheme, HashAlg::Sha256, message, &signature)
        .unwrap();
    let verified = in_use();
    assert!(verified > first + 2048, "{verified} over {first}");
    let _ = engine
        .rsa_verify(&public, scheme, HashAlg::Sha256, message, &signature)
        .unwrap();
    let sealed = engine
        .rsa_oaep_encrypt(&public, HashAlg::Sha256, b"", message)
        .unwrap()
        .value;
    let encrypted = in_use();
    assert_eq!(
        engine
            .rsa_oaep_decrypt(&private, HashAlg::Sha256, b"", &sealed)
            .unwrap()
            .value
            .expose(),
        message
    );
    let decrypted = in_use();
    assert!(
        decrypted > encrypted + (8 << 10),
        "{decrypted} over {encrypted}"
    );
    for _ in 0..3 {
        let _ = sign(&private).unwrap();
        let _ = engine
            .rsa_verify(&public, scheme, HashAlg::Sha256, message, &signature)
            .unwrap();
        let _ = engine
            .rsa_oaep_decrypt(&private, HashAlg::Sha256, b"", &sealed)
            .unwrap();
    }
    assert_eq!(in_use(), decrypted, "later uses add nothing");
    let usage = arena::usage(tenant).unwrap();
    assert!(usage.used <= usage.share, "{usage:?}");
    drop((private, public, filler));
    arena::close_account(tenant);
}
