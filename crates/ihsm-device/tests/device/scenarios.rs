//! RELIABILITY.md scenarios that belong to the device core, by number: S15 (plaintext key
//! entry), S18 (the service indicator through the device, with and without the opt-in), S23
//! (session keys die with their session; the memory scan, which needs test hooks, is in
//! `memory`). S9 and S11 need test hooks and live in `hooks`; S7 and S14 live with the
//! features they test (`auth`, `objects`, `blobs`) and S17 in `roles`.

use ihsm_proto::msgs::*;
use ihsm_proto::{
    Attribute, Curve, KeyPairSpec, KeyType, List, MechanismId, ObjectClass, PartitionName,
    RequestBody, ResponseBody, Role, SecretBytes, Status, Template,
};

use super::fixtures::*;
use super::objects::{generate_ec, template};

pub fn allow(fixture: &Fixture, partition: &str, mechanisms: Vec<MechanismId>) {
    let mut officer = fixture.partition(partition);
    let session = officer.session(Role::CryptoOfficer, OFFICER_PIN).unwrap();
    let request = SetPartitionPolicyRequest {
        allow_non_approved: List::new(mechanisms).unwrap(),
    };
    officer.call(Some(session), request).unwrap();
}

#[test]
fn s15_plaintext_private_keys_are_refused_unless_opted_in_and_then_flagged() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("p");
    let pkcs8 = ihsm_testkit::client::client_engine()
        .generate_ec_key(ihsm_crypto::Curve::P256)
        .unwrap()
        .value
        .pkcs8()
        .expose()
        .to_vec();
    let create = CreateObjectRequest {
        template: Template::new(vec![
            Attribute::Class(ObjectClass::PrivateKey),
            Attribute::KeyType(KeyType::Ec),
            Attribute::Value(SecretBytes::copy_from(&pkcs8).unwrap()),
        ])
        .unwrap(),
    };
    assert_eq!(
        user.call(Some(session), create.clone())
            .err()
            .and_then(|e| e.known()),
        Some(Status::PolicyNotApproved)
    );
    allow(&fixture, "p", vec![MechanismId::KeyValueImport]);
    let answer = user.call(Some(session), create);
    if cfg!(feature = "test-hooks") {
        let (_, approved) = answer.unwrap();
        assert!(!approved, "plaintext entry is never approved");
    } else {
        // A production build has no plaintext entry at all.
        assert_eq!(
            answer.err().and_then(|e| e.known()),
            Some(Status::NotSupported)
        );
    }
}

#[test]
fn s23_session_keys_die_with_their_session_login_and_connection() {
    let fixture = Fixture::initialized();
    let name = PartitionName::new("p").unwrap();
    let (mut user, session) = fixture.user("p");
    let _ = generate_ec(&mut user, session, false);
    assert_eq!(fixture.device.object_count(&name), Some(2));
    user.call(Some(session), CloseSessionRequest {}).unwrap();
    assert_eq!(fixture.device.object_count(&name), Some(0));

    let login = user.login(Role::CryptoUser, USER_PIN).unwrap();
    let session = user.open_session(login).unwrap();
    let _ = generate_ec(&mut user, session, false);
    user.call(None, LogoutRequest { login }).unwrap();
    assert_eq!(fixture.device.object_count(&name), Some(0));

    let session = user.session(Role::CryptoUser, USER_PIN).unwrap();
    let _ = generate_ec(&mut user, session, false);
    assert_eq!(fixture.device.object_count(&name), Some(2));
    // The client goes away without a word (a crash looks the same to the device).
    drop(user);
    assert_eq!(fixture.device.object_count(&name), Some(0));
    assert_eq!(fixture.device.open_counts(Some(&name)), Some((0, 0)));
    // Session objects were never written to the store.
    assert!(fixture.store.table(ihsm_device::Table::Object).is_empty());
}

#[test]
fn s18_every_response_carries_the_policy_tables_indicator() {
    assert_eq!(sweep(true), (32, 0));
}

#[test]
fn s18_non_approved_services_are_refused_without_the_officers_opt_in() {
    // Never approved: AES-192-GCM, PSS with another salt length, ECDSA (three curves) and
    // RSA over a caller's digest, HKDF without info, HMAC and SP 800-108 with a short key.
    let (checked, refused) = sweep(false);
    assert_eq!(checked, 32);
    assert_eq!(refused, if cfg!(feature = "fips") { 9 } else { 32 });
}

/// Calls every service of the sweep once. With `allow_all`, the officer has opted into every
/// non-approved service, and each response's indicator must match the policy table; without,
/// the approved services are served (and flagged approved) and every other one is
/// `PolicyNotApproved`. Returns how many services were checked, and how many refused.
fn sweep(allow_all: bool) -> (usize, usize) {
    use ihsm_crypto::policy::{approval, RsaScheme, Service};
    use ihsm_crypto::{AesBits, Curve as C, HashAlg as H, RsaBits};
    use ihsm_proto::{
        AesCbcParams, AesGcmParams, AesKeySize, Bytes, Data, DataLen, GenericSecretLen, HashAlg,
        HkdfParams, KeySpec, Mechanism, PssSaltParams, RsaKeySize, Sp800108Params,
    };

    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("sweep");
    if allow_all {
        allow(&fixture, "sweep", MechanismId::ALL.to_vec());
    }
    let fips = cfg!(feature = "fips");
    let mut checked = 0;
    let mut refused = 0;
    let mut check = |user: &mut TestClient, body: RequestBody, service: Service| {
        let approved_service = fips && approval(service).approved;
        match user.call(Some(session), body) {
            Ok((_, approved)) => {
                assert!(allow_all || approved_service, "{service:?} served unasked");
                assert_eq!(approved, approved_service, "{service:?}");
            }
            Err(error) => {
                assert!(!allow_all && !approved_service, "{service:?}: {error:?}");
                assert_eq!(
                    error.known(),
                    Some(Status::PolicyNotApproved),
                    "{service:?}"
                );
                refused += 1;
            }
        }
        checked += 1;
    };
    let data = |bytes: &[u8]| Data::copy_from(bytes).unwrap();
    let handle = |answer: (ResponseBody, bool)| match answer.0 {
        ResponseBody::GenerateKey(r) => r.handle,
        ResponseBody::DeriveKey(r) => r.handle,
        ResponseBody::GenerateKeyPair(r) => r.private_handle,
        other => panic!("{other:?}"),
    };
    let call =
        |user: &mut TestClient, body: RequestBody| handle(user.call(Some(session), body).unwrap());

    for (mechanism, hash) in [
        (Mechanism::Sha256, H::Sha256),
        (Mechanism::Sha384, H::Sha384),
        (Mechanism::Sha512, H::Sha512),
    ] {
        let body = DigestRequest {
            mechanism,
            data: data(b"abc"),
        };
        check(&mut user, body.into(), Service::Digest(hash));
    }
    let body = GenerateRandomRequest {
        len: DataLen::new(32).unwrap(),
    };
    check(&mut user, body.into(), Service::Random);

    // AES-GCM and CBC at every size.
    for (size, bits) in [
        (AesKeySize::Aes128, AesBits::Aes128),
        (AesKeySize::Aes192, AesBits::Aes192),
        (AesKeySize::Aes256, AesBits::Aes256),
    ] {
        let aes = call(
            &mut user,
            GenerateKeyRequest {
                spec: KeySpec::Aes(size),
                template: template(vec![]),
            }
            .into(),
        );
        let gcm = EncryptRequest {
            mechanism: Mechanism::AesGcm(AesGcmParams {
                iv: None,
                aad: None,
                tag_bits: None,
            }),
            key: aes,
            data: data(b"x"),
        };
        check(&mut user, gcm.into(), Service::AesGcmEncrypt(bits));
        let cbc = EncryptRequest {
            mechanism: Mechanism::AesCbcPad(AesCbcParams { iv: [0; 16] }),
            key: aes,
            data: data(b"x"),
        };
        let service = Service::AesCbc {
            bits,
            padded: true,
            encrypt: true,
        };
        check(&mut user, cbc.into(), service);
    }

    // ECDSA on every curve and hash, over a message and over a digest.
    for (curve, c) in [
        (Curve::P256, C::P256),
        (Curve::P384, C::P384),
        (Curve::P521, C::P521),
    ] {
        let private = call(
            &mut user,
            GenerateKeyPairRequest {
                spec: KeyPairSpec::Ec(curve),
                public_template: template(vec![]),
                private_template: template(vec![]),
            }
            .into(),
        );
        for (mechanism, hash) in [
            (Mechanism::EcdsaSha256, H::Sha256),
            (Mechanism::EcdsaSha384, H::Sha384),
            (Mechanism::EcdsaSha512, H::Sha512),
        ] {
            let body = SignRequest {
                mechanism,
                key: private,
                data: data(b"m"),
            };
            let service = Service::EcdsaSign {
                curve: c,
                hash,
                prehashed: false,
            };
            check(&mut user, body.into(), service);
        }
        let body = SignRequest {
            mechanism: Mechanism::Ecdsa,
            key: private,
            data: data(&[7; 48]),
        };
        let service = Service::EcdsaSign {
            curve: c,
            hash: H::Sha384,
            prehashed: true,
        };
        check(&mut user, body.into(), service);
    }

    // RSA PKCS#1 v1.5 and PSS with the approved and another salt length.
    let rsa = call(
        &mut user,
        GenerateKeyPairRequest {
            spec: KeyPairSpec::Rsa(RsaKeySize::Rsa2048),
            public_template: template(vec![]),
            private_template: template(vec![]),
        }
        .into(),
    );
    let rsa_sign = |scheme, prehashed| Service::RsaSign {
        bits: RsaBits::Rsa2048,
        hash: H::Sha256,
        scheme,
        prehashed,
    };
    for (mechanism, service) in [
        (Mechanism::RsaPkcs1Sha256, rsa_sign(RsaScheme::Pkcs1, false)),
        (
            Mechanism::RsaPssSha256(PssSaltParams {
                salt_len: ihsm_proto::SaltLen::new(32).unwrap(),
            }),
            rsa_sign(RsaScheme::PssSaltHashLen, false),
        ),
        (
            Mechanism::RsaPssSha256(PssSaltParams {
                salt_len: ihsm_proto::SaltLen::new(20).unwrap(),
            }),
            rsa_sign(RsaScheme::PssSaltOther, false),
        ),
    ] {
        let body = SignRequest {
            mechanism,
            key: rsa,
            data: data(b"m"),
        };
        check(&mut user, body.into(), service);
    }
    let digest_info = [
        &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ][..],
        &[9; 32],
    ]
    .concat();
    let body = SignRequest {
        mechanism: Mechanism::RsaPkcs1,
        key: rsa,
        data: data(&digest_info),
    };
    check(&mut user, body.into(), rsa_sign(RsaScheme::Pkcs1, true));

    // HMAC with a long key and with a short one; the KDFs with and without context.
    let long = call(
        &mut user,
        GenerateKeyRequest {
            spec: KeySpec::GenericSecret(GenericSecretLen::new(32).unwrap()),
            template: template(vec![Attribute::Derive(true)]),
        }
        .into(),
    );
    let hkdf = |info: &[u8], len| DeriveKeyRequest {
        mechanism: Mechanism::Hkdf(HkdfParams {
            hash: HashAlg::Sha256,
            salt: Some(Bytes::new(b"salt".to_vec()).unwrap()),
            info: (!info.is_empty()).then(|| Bytes::new(info.to_vec()).unwrap()),
        }),
        base_key: long,
        template: template(vec![Attribute::ValueLen(len), Attribute::Derive(true)]),
    };
    let hkdf_service = |empty_info| Service::Hkdf {
        hash: H::Sha256,
        empty_salt: false,
        empty_info,
    };
    check(&mut user, hkdf(b"ctx", 32).into(), hkdf_service(false));
    check(&mut user, hkdf(b"", 32).into(), hkdf_service(true));
    let short = call(&mut user, hkdf(b"short", 8).into());
    for (key, short_key) in [(long, false), (short, true)] {
        let body = SignRequest {
            mechanism: Mechanism::HmacSha256,
            key,
            data: data(b"m"),
        };
        check(
            &mut user,
            body.into(),
            Service::Hmac {
                hash: H::Sha256,
                short_key,
            },
        );
        let body = DeriveKeyRequest {
            mechanism: Mechanism::Sp800108CounterHmac(Sp800108Params {
                hash: HashAlg::Sha256,
                label: Bytes::new(b"l".to_vec()).unwrap(),
                context: Bytes::new(b"c".to_vec()).unwrap(),
            }),
            base_key: key,
            template: template(vec![Attribute::ValueLen(32)]),
        };
        let service = Service::KbkdfCounterHmac {
            hash: H::Sha256,
            short_key,
        };
        check(&mut user, body.into(), service);
    }
    (checked, refused)
}
