//! Service behaviour beyond the vectors: round trips, multi-part equals single-part, and bad
//! input refused with the right error and no panic.

use ihsm_crypto::{
    AesKey, Curve, Error, GenericSecret, HashAlg, RsaBits, RsaSignatureScheme, SealedParts, XtsKey,
    GCM_IV_LEN,
};

use super::fixtures::{ec_key, engine, rsa_key};

#[test]
fn gcm_makes_a_fresh_iv_every_time_and_round_trips() {
    let e = engine();
    for len in [16, 24, 32] {
        let key = AesKey::from_bytes(&vec![1; len]).unwrap();
        let a = e.aes_gcm_encrypt(&key, b"aad", b"hello").unwrap().value;
        let b = e.aes_gcm_encrypt(&key, b"aad", b"hello").unwrap().value;
        assert_ne!(a.iv, b.iv);
        assert_eq!(a.iv.len(), GCM_IV_LEN);
        let pt = e
            .aes_gcm_decrypt(&key, &a.iv, b"aad", &a.ciphertext)
            .unwrap();
        assert_eq!(pt.value.expose(), b"hello");
        assert_eq!(
            e.aes_gcm_decrypt(&key, &a.iv, b"other aad", &a.ciphertext)
                .err(),
            Some(Error::VerificationFailed)
        );
        assert_eq!(
            e.aes_gcm_decrypt(&key, &a.iv, b"aad", &a.ciphertext[..10])
                .err(),
            Some(Error::VerificationFailed)
        );
        assert_eq!(
            e.aes_gcm_decrypt(&key, &[0; 8], b"aad", &a.ciphertext)
                .err(),
            Some(Error::InvalidParameter)
        );
    }
}

#[test]
fn aes_keys_of_bad_length_are_refused() {
    for len in [0, 15, 17, 31, 33, 64] {
        assert_eq!(
            AesKey::from_bytes(&vec![0; len]).err(),
            Some(Error::InvalidKey),
            "{len}"
        );
    }
}

#[test]
fn cbc_without_padding_needs_whole_blocks_and_bad_padding_is_opaque() {
    let e = engine();
    let key = AesKey::from_bytes(&[2; 32]).unwrap();
    assert_eq!(
        e.aes_cbc_encrypt(&key, &[0; 16], false, &[1; 15]).err(),
        Some(Error::InvalidLength)
    );
    assert_eq!(
        e.aes_cbc_encrypt(&key, &[0; 15], true, &[1; 15]).err(),
        Some(Error::InvalidParameter)
    );
    let mut plaintext = [7u8; 32];
    plaintext[31] = 0;
    let ct = e
        .aes_cbc_encrypt(&key, &[0; 16], false, &plaintext)
        .unwrap()
        .value;
    // A last byte of 0 is never valid PKCS#7: the padding check fails, opaquely.
    assert_eq!(
        e.aes_cbc_decrypt(&key, &[0; 16], true, &ct).err(),
        Some(Error::VerificationFailed)
    );
    assert_eq!(
        e.aes_cbc_decrypt(&key, &[0; 16], false, &ct)
            .unwrap()
            .value
            .expose(),
        &plaintext
    );
}

#[test]
fn xts_refuses_short_units_and_bad_tweaks() {
    let e = engine();
    let mut bytes = [3u8; 64];
    bytes[0] = 4;
    let key = XtsKey::from_bytes(&bytes).unwrap();
    assert_eq!(
        e.aes_xts_encrypt(&key, &[0; 16], &[0; 15]).err(),
        Some(Error::InvalidLength)
    );
    assert_eq!(
        e.aes_xts_encrypt(&key, &[0; 8], &[0; 32]).err(),
        Some(Error::InvalidParameter)
    );
    let ct = e.aes_xts_encrypt(&key, &[9; 16], &[5; 37]).unwrap().value;
    assert_eq!(
        e.aes_xts_decrypt(&key, &[9; 16], &ct)
            .unwrap()
            .value
            .expose(),
        &[5; 37]
    );
}

#[test]
fn key_wrap_refuses_bad_lengths_and_tampering() {
    let e = engine();
    for len in [16, 24, 32] {
        let kek = AesKey::from_bytes(&vec![4; len]).unwrap();
        assert_eq!(
            e.aes_key_wrap(&kek, false, &[1; 12]).err(),
            Some(Error::InvalidLength)
        );
        assert_eq!(
            e.aes_key_wrap(&kek, true, &[]).err(),
            Some(Error::InvalidLength)
        );
        let mut wrapped = e.aes_key_wrap(&kek, true, &[1; 13]).unwrap().value;
        assert_eq!(
            e.aes_key_unwrap(&kek, true, &wrapped)
                .unwrap()
                .value
                .expose(),
            &[1; 13]
        );
        wrapped[3] ^= 1;
        assert_eq!(
            e.aes_key_unwrap(&kek, true, &wrapped).err(),
            Some(Error::VerificationFailed)
        );
        assert_eq!(
            e.aes_key_unwrap(&kek, false, &[0; 7]).err(),
            Some(Error::VerificationFailed)
        );
    }
}

#[test]
fn multi_part_digest_and_hmac_equal_single_part() {
    let e = engine();
    let key = GenericSecret::from_bytes(&[8; 32]).unwrap();
    for hash in HashAlg::ALL {
        let mut d = e.digest_init(hash).unwrap();
        let mut h = e.hmac_init(&key, hash).unwrap();
        for part in [&b"first "[..], b"second", b""] {
            d.update(part).unwrap();
            h.update(part).unwrap();
        }
        let whole = b"first second";
        assert_eq!(
            d.finish().unwrap().value,
            e.digest(hash, whole).unwrap().value
        );
        let tag = e.hmac_sign(&key, hash, whole).unwrap().value;
        assert_eq!(h.sign().unwrap().value, tag);
        let mut v = e.hmac_init(&key, hash).unwrap();
        v.update(whole).unwrap();
        assert!(v.verify(&tag).is_ok());
        let mut bad = tag.clone();
        bad[0] ^= 1;
        assert_eq!(
            e.hmac_verify(&key, hash, whole, &bad).err(),
            Some(Error::VerificationFailed)
        );
        assert_eq!(
            e.hmac_verify(&key, hash, whole, &tag[..8]).err(),
            Some(Error::VerificationFailed)
        );
    }
}

#[test]
fn ecdsa_every_curve_and_hash_single_multi_part_and_digest() {
    let e = engine();
    for curve in Curve::ALL {
        let key = ec_key(curve);
        let public = key.public_key().unwrap();
        for hash in HashAlg::ALL {
            let sig = e.ecdsa_sign(key, hash, b"message").unwrap().value;
            assert_eq!(sig.len(), 2 * curve.scalar_len());
            assert!(e.ecdsa_verify(&public, hash, b"message", &sig).is_ok());
            let mut ctx = e.ecdsa_verify_init(&public, hash).unwrap();
            ctx.update(b"mess").unwrap();
            ctx.update(b"age").unwrap();
            assert!(ctx.finish(&sig).is_ok());
            let mut signer = e.ecdsa_sign_init(key, hash).unwrap();
            signer.update(b"mess").unwrap();
            signer.update(b"age").unwrap();
            let streamed = signer.finish().unwrap().value;
            assert!(e.ecdsa_verify(&public, hash, b"message", &streamed).is_ok());
            let digest = e.digest(hash, b"message").unwrap().value;
            let dsig = e.ecdsa_sign_digest(key, hash, &digest).unwrap();
            assert!(!dsig.approved, "signing a caller digest is never approved");
            assert!(e
                .ecdsa_verify(&public, hash, b"message", &dsig.value)
                .is_ok());
            assert!(e.ecdsa_verify_digest(&public, hash, &digest, &sig).is_ok());
            assert_eq!(
                e.ecdsa_sign_digest(key, hash, &digest[1..]).err(),
                Some(Error::InvalidLength)
            );
            assert_eq!(
                e.ecdsa_verify(&public, hash, b"other", &sig).err(),
                Some(Error::VerificationFailed)
            );
            assert_eq!(
                e.ecdsa_verify(&public, hash, b"message", &sig[1..]).err(),
                Some(Error::VerificationFailed)
            );
        }
    }
}

#[test]
fn ec_public_points_are_validated() {
    let good = ec_key(Curve::P256).public_point().to_vec();
    assert!(engine().ec_public_key(Curve::P256, &good).is_ok());
    let mut off_curve = good.clone();
    off_curve[64] ^= 1;
    assert_eq!(
        engine().ec_public_key(Curve::P256, &off_curve).err(),
        Some(Error::InvalidPublicKey)
    );
    assert_eq!(
        engine().ec_public_key(Curve::P384, &good).err(),
        Some(Error::InvalidPublicKey)
    );
    let mut compressed = good[..33].to_vec();
    compressed[0] = 2;
    assert_eq!(
        engine().ec_public_key(Curve::P256, &compressed).err(),
        Some(Error::InvalidPublicKey)
    );
    assert_eq!(
        engine().ecdh(ec_key(Curve::P256), &off_curve).err(),
        Some(Error::InvalidPublicKey)
    );
    assert_eq!(
        engine().ecdh(ec_key(Curve::P256), &[4; 3]).err(),
        Some(Error::InvalidPublicKey)
    );
}

#[test]
fn ecdh_agrees_both_ways_and_keys_survive_pkcs8() {
    let e = engine();
    for curve in Curve::ALL {
        let a = ec_key(curve);
        let b = e.generate_ec_key(curve).unwrap().value;
        let ab = e.ecdh(a, b.public_point()).unwrap().value;
        let ba = e.ecdh(&b, a.public_point()).unwrap().value;
        assert_eq!(ab, ba);
        assert_eq!(ab.len(), curve.scalar_len());
        let reparsed = engine()
            .ec_private_key_from_pkcs8(b.pkcs8().expose())
            .unwrap();
        assert_eq!(reparsed.public_point(), b.public_point());
        assert_eq!(reparsed.curve(), curve);
    }
    assert_eq!(
        engine().ec_private_key_from_pkcs8(b"not a key").err(),
        Some(Error::InvalidKey)
    );
    let rsa_der = rsa_key(RsaBits::Rsa2048).pkcs8().expose().to_vec();
    assert_eq!(
        engine().ec_private_key_from_pkcs8(&rsa_der).err(),
        Some(Error::InvalidKey)
    );
}

#[test]
fn rsa_sign_verify_every_scheme_and_multi_part() {
    let e = engine();
    let key = rsa_key(RsaBits::Rsa2048);
    let public = key.public_key();
    for hash in HashAlg::ALL {
        for scheme in [
            RsaSignatureScheme::Pkcs1,
            RsaSignatureScheme::Pss {
                salt_len: hash.output_len(),
            },
            RsaSignatureScheme::Pss { salt_len: 0 },
        ] {
            let sig = e.rsa_sign(key, scheme, hash, b"message").unwrap();
            assert_eq!(sig.value.len(), 256);
            assert!(e
                .rsa_verify(public, scheme, hash, b"message", &sig.value)
                .is_ok());
            let mut ctx = e.rsa_verify_init(public, scheme, hash).unwrap();
            ctx.update(b"mes").unwrap();
            ctx.update(b"sage").unwrap();
            assert!(ctx.finish(&sig.value).is_ok());
            let mut signer = e.rsa_sign_init(key, scheme, hash).unwrap();
            signer.update(b"message").unwrap();
            assert!(e
                .rsa_verify(
                    public,
                    scheme,
                    hash,
                    b"message",
                    &signer.finish().unwrap().value
                )
                .is_ok());
            let digest = e.digest(hash, b"message").unwrap().value;
            let dsig = e.rsa_sign_digest(key, scheme, hash, &digest).unwrap();
            assert!(!dsig.approved);
            assert!(e
                .rsa_verify_digest(public, scheme, hash, &digest, &dsig.value)
                .is_ok());
            assert_eq!(
                e.rsa_verify(public, scheme, hash, b"messagf", &sig.value)
                    .err(),
                Some(Error::VerificationFailed)
            );
        }
    }
    // PKCS#1 v1.5 is deterministic: the multi-part signature equals the single-part one.
    let one = e
        .rsa_sign(key, RsaSignatureScheme::Pkcs1, HashAlg::Sha256, b"abc")
        .unwrap()
        .value;
    let mut ctx = e
        .rsa_sign_init(key, RsaSignatureScheme::Pkcs1, HashAlg::Sha256)
        .unwrap();
    ctx.update(b"a").unwrap();
    ctx.update(b"bc").unwrap();
    assert_eq!(ctx.finish().unwrap().value, one);
    // A salt longer than the encoding allows is the caller's mistake, never an engine fault.
    for too_long in [223usize, 300, 4096] {
        let scheme = RsaSignatureScheme::Pss { salt_len: too_long };
        assert_eq!(
            e.rsa_sign(key, scheme, HashAlg::Sha256, b"m").err(),
            Some(Error::InvalidParameter)
        );
        assert_eq!(
            e.rsa_sign_init(key, scheme, HashAlg::Sha256).err(),
            Some(Error::InvalidParameter)
        );
        let digest = [0u8; 32];
        assert_eq!(
            e.rsa_sign_digest(key, scheme, HashAlg::Sha256, &digest)
                .err(),
            Some(Error::InvalidParameter)
        );
    }
    // The largest salt that fits (256 - 32 - 2 = 222 bytes) works.
    let max = RsaSignatureScheme::Pss { salt_len: 222 };
    let sig = e.rsa_sign(key, max, HashAlg::Sha256, b"m").unwrap().value;
    assert!(e
        .rsa_verify(public, max, HashAlg::Sha256, b"m", &sig)
        .is_ok());
}

#[test]
fn rsa_oaep_round_trip_labels_and_opaque_failures() {
    let e = engine();
    for bits in RsaBits::ALL {
        let key = rsa_key(bits);
        for hash in HashAlg::ALL {
            let ct = e
                .rsa_oaep_encrypt(key.public_key(), hash, b"label", b"secret")
                .unwrap()
                .value;
            assert_eq!(ct.len(), bits.bits() / 8);
            assert_eq!(
                e.rsa_oaep_decrypt(key, hash, b"label", &ct)
                    .unwrap()
                    .value
                    .expose(),
                b"secret"
            );
            assert_eq!(
                e.rsa_oaep_decrypt(key, hash, b"other", &ct).err(),
                Some(Error::VerificationFailed)
            );
            let mut bad = ct.clone();
            bad[10] ^= 1;
            assert_eq!(
                e.rsa_oaep_decrypt(key, hash, b"label", &bad).err(),
                Some(Error::VerificationFailed)
            );
            assert_eq!(
                e.rsa_oaep_decrypt(key, hash, b"label", &ct[1..]).err(),
                Some(Error::VerificationFailed)
            );
        }
    }
    let too_long = vec![0u8; 256];
    assert_eq!(
        e.rsa_oaep_encrypt(
            rsa_key(RsaBits::Rsa2048).public_key(),
            HashAlg::Sha256,
            b"",
            &too_long
        )
        .err(),
        Some(Error::InvalidLength)
    );
}

#[test]
fn rsa_keys_survive_pkcs8_and_spki() {
    let key = rsa_key(RsaBits::Rsa3072);
    let again = engine()
        .rsa_private_key_from_pkcs8(key.pkcs8().expose())
        .unwrap();
    assert_eq!(again.bits(), RsaBits::Rsa3072);
    let public = engine().rsa_public_key(key.public_key().spki()).unwrap();
    assert_eq!(public.spki(), key.public_key().spki());
    let (modulus, exponent) = public.components().unwrap();
    assert_eq!(exponent, [1, 0, 1]);
    assert_eq!(modulus.len(), 384);
    assert!(modulus[0] & 0x80 != 0, "a 3072-bit modulus fills 384 bytes");
    // The modulus sits inside the DER, as an INTEGER with its sign byte.
    assert!(public
        .spki()
        .windows(modulus.len() + 1)
        .any(|w| w[0] == 0 && w[1..] == modulus[..]));
    assert_eq!(
        engine().rsa_public_key(b"\x30\x00").err(),
        Some(Error::InvalidPublicKey)
    );
    let ec_der = ec_key(Curve::P256).public_key().unwrap().spki();
    assert_eq!(
        engine().rsa_public_key(&ec_der).err(),
        Some(Error::InvalidPublicKey)
    );
}

#[test]
fn kdfs_check_lengths_and_parameters() {
    let e = engine();
    assert_eq!(
        e.hkdf(HashAlg::Sha256, b"ikm", b"", b"i", 0).err(),
        Some(Error::InvalidLength)
    );
    assert_eq!(
        e.hkdf(HashAlg::Sha256, b"ikm", b"", b"i", 2000).err(),
        Some(Error::InvalidLength)
    );
    let a = e
        .kbkdf_counter_hmac(HashAlg::Sha256, &[1; 32], b"l", b"c", 64)
        .unwrap()
        .value;
    let b = e
        .kbkdf_counter_hmac(HashAlg::Sha256, &[1; 32], b"l", b"d", 64)
        .unwrap()
        .value;
    assert_ne!(a, b, "context is bound into the output");
    assert_eq!(
        e.kbkdf_counter_hmac(HashAlg::Sha256, &[], b"l", b"c", 32)
            .err(),
        Some(Error::InvalidKey)
    );
    assert_eq!(
        e.pbkdf2_sha512(b"1234", &[0; 8], 1000, 32).err(),
        Some(Error::InvalidParameter)
    );
    assert_eq!(
        e.pbkdf2_sha512(b"1234", &[0; 16], 0, 32).err(),
        Some(Error::InvalidParameter)
    );
    let pin = e.pbkdf2_sha512(b"1234", &[0; 16], 1000, 64).unwrap();
    assert!(!pin.approved, "short passwords are never approved");
}

#[test]
fn gcm_encryptions_are_counted_and_capped_below_two_to_the_32() {
    let key = AesKey::with_gcm_invocations(&[5; 32], ihsm_crypto::GCM_MAX_INVOCATIONS - 2).unwrap();
    assert!(engine().aes_gcm_encrypt(&key, b"", b"a").is_ok());
    assert!(engine().aes_gcm_encrypt(&key, b"", b"b").is_ok());
    assert_eq!(key.gcm_invocations(), ihsm_crypto::GCM_MAX_INVOCATIONS);
    assert_eq!(
        engine().aes_gcm_encrypt(&key, b"", b"c").err(),
        Some(Error::UsageLimitReached)
    );
    let fresh = AesKey::from_bytes(&[5; 32]).unwrap();
    let _ = engine().aes_gcm_encrypt(&fresh, b"", b"a").unwrap();
    assert_eq!(fresh.gcm_invocations(), 1);
}

#[test]
fn pbkdf2_iterations_are_bounded() {
    let e = engine();
    let over = ihsm_crypto::PBKDF2_MAX_ITERATIONS + 1;
    assert_eq!(
        e.pbkdf2_sha512(b"password1234567", &[0; 16], over, 32)
            .err(),
        Some(Error::InvalidParameter)
    );
}

#[test]
fn key_parsing_is_refused_outside_the_operational_state() {
    let e = ihsm_crypto::Engine::power_on();
    let der = ec_key(Curve::P256).pkcs8().expose().to_vec();
    assert!(e.ec_private_key_from_pkcs8(&der).is_ok());
    e.enter_error_state();
    assert_eq!(
        e.ec_private_key_from_pkcs8(&der).err(),
        Some(Error::ErrorState)
    );
    assert_eq!(
        e.ec_public_key(Curve::P256, ec_key(Curve::P256).public_point())
            .err(),
        Some(Error::ErrorState)
    );
    let spki = rsa_key(RsaBits::Rsa2048).public_key().spki().to_vec();
    assert_eq!(e.rsa_public_key(&spki).err(), Some(Error::ErrorState));
}

#[test]
fn random_fills_and_bounds_its_length() {
    let mut a = [0u8; 64];
    let mut b = [0u8; 64];
    let _ = engine().random(&mut a).unwrap();
    let _ = engine().random(&mut b).unwrap();
    assert_ne!(a, b);
    let mut huge = vec![0u8; ihsm_crypto::MAX_RANDOM_LEN + 1];
    assert_eq!(engine().random(&mut huge).err(), Some(Error::InvalidLength));
}

#[test]
fn engine_is_send_sync_and_serves_threads_concurrently() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ihsm_crypto::Engine>();
    assert_send_sync::<ihsm_crypto::EcPrivateKey>();
    assert_send_sync::<ihsm_crypto::RsaPrivateKey>();
    assert_send_sync::<AesKey>();
    let key = ec_key(Curve::P256);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    let sig = engine()
                        .ecdsa_sign(key, HashAlg::Sha256, b"m")
                        .unwrap()
                        .value;
                    assert!(engine()
                        .ecdsa_verify(&key.public_key().unwrap(), HashAlg::Sha256, b"m", &sig)
                        .is_ok());
                }
            });
        }
    });
}

#[test]
fn sealed_secrets_open_only_with_the_same_key_salt_and_aad() {
    let engine = engine();
    let credential = engine.generate_ec_key(Curve::P384).unwrap().value;
    let q = credential.public_point();
    let (sealed, client_reply) = engine
        .seal_secret(q, &[7; 32], &[2, 1, 1], b"correct horse")
        .unwrap();
    assert_eq!(sealed.ephemeral_point.len(), 97);
    let opened = engine
        .open_sealed_secret(&credential, &sealed, &[7; 32], &[2, 1, 1])
        .unwrap();
    assert_eq!(opened.value.0.expose(), b"correct horse");
    assert_eq!(opened.approved, engine.fips_mode());
    let (_, module_reply) = opened.value;

    // The reply key is shared: what the module wraps, only the sender unwraps.
    let wrapped = engine.wrap_reply(&module_reply, &[9; 32]).unwrap();
    assert_eq!(wrapped.approved, engine.fips_mode());
    let unwrapped = engine.unwrap_reply(&client_reply, &wrapped.value).unwrap();
    assert_eq!(unwrapped.value.expose(), &[9; 32]);
    let (_, stranger) = engine.seal_secret(q, &[7; 32], &[2, 1, 1], b"x").unwrap();
    assert_eq!(
        engine.unwrap_reply(&stranger, &wrapped.value).err(),
        Some(Error::VerificationFailed)
    );

    let open = |sealed: &SealedParts, salt: &[u8], aad: &[u8]| {
        engine
            .open_sealed_secret(&credential, sealed, salt, aad)
            .map(|_| ())
    };
    assert_eq!(
        open(&sealed, &[8; 32], &[2, 1, 1]),
        Err(Error::VerificationFailed)
    );
    assert_eq!(
        open(&sealed, &[7; 32], &[2, 6, 2]),
        Err(Error::VerificationFailed)
    );
    let mut flipped = sealed.clone();
    flipped.ciphertext[0] ^= 1;
    assert_eq!(
        open(&flipped, &[7; 32], &[2, 1, 1]),
        Err(Error::VerificationFailed)
    );
    let mut off_curve = sealed.clone();
    off_curve.ephemeral_point[40] ^= 1;
    assert_eq!(
        open(&off_curve, &[7; 32], &[2, 1, 1]),
        Err(Error::InvalidPublicKey)
    );
    let other = engine.generate_ec_key(Curve::P384).unwrap().value;
    assert_eq!(
        engine
            .open_sealed_secret(&other, &sealed, &[7; 32], &[2, 1, 1])
            .map(|_| ())
            .err(),
        Some(Error::VerificationFailed)
    );
    let p256 = engine.generate_ec_key(Curve::P256).unwrap().value;
    assert_eq!(
        engine
            .open_sealed_secret(&p256, &sealed, &[7; 32], &[2, 1, 1])
            .map(|_| ())
            .err(),
        Some(Error::InvalidKey)
    );
}
