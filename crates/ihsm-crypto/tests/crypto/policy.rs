//! The policy table against AWS-LC's own service indicator: every row of the table is run
//! for real, and both indicators must be what the table says (RELIABILITY.md S18).

use ihsm_crypto::policy::{approval, RsaScheme, Service};
use ihsm_crypto::{AesBits, AesKey, GenericSecret, HashAlg, Indicated, RsaSignatureScheme, XtsKey};

use super::fixtures::{ec_key, engine, rsa_generated, rsa_key};

/// Runs `service` once with valid inputs and returns (ihsm indicator, AWS-LC indicator).
fn exercise(service: Service) -> (bool, bool) {
    let e = engine();
    fn flags<T>(out: Indicated<T>) -> (bool, bool) {
        (out.approved, out.aws_lc_indicator)
    }
    let aes = |bits: AesBits| AesKey::from_bytes(&vec![0x42; bits.key_len()]).unwrap();
    let msg = b"policy cross-check message";
    match service {
        Service::Random => flags(e.random(&mut [0u8; 32]).unwrap()),
        Service::Digest(hash) => flags(e.digest(hash, msg).unwrap()),
        Service::Hmac { hash, short_key } => {
            let key = GenericSecret::from_bytes(&vec![7; if short_key { 8 } else { 32 }]).unwrap();
            let tag = e.hmac_sign(&key, hash, msg).unwrap();
            let verified = e.hmac_verify(&key, hash, msg, &tag.value).unwrap();
            assert_eq!(
                flags(verified),
                (tag.approved, tag.aws_lc_indicator),
                "hmac verify"
            );
            flags(tag)
        }
        Service::AesGcmEncrypt(bits) => flags(e.aes_gcm_encrypt(&aes(bits), b"aad", msg).unwrap()),
        Service::AesGcmDecrypt(bits) => {
            let key = aes(bits);
            let sealed = e.aes_gcm_encrypt(&key, b"aad", msg).unwrap().value;
            flags(
                e.aes_gcm_decrypt(&key, &sealed.iv, b"aad", &sealed.ciphertext)
                    .unwrap(),
            )
        }
        Service::AesCbc {
            bits,
            padded,
            encrypt,
        } => {
            let key = aes(bits);
            let iv = [3u8; 16];
            let data = [9u8; 32];
            let ct = e.aes_cbc_encrypt(&key, &iv, padded, &data).unwrap();
            if encrypt {
                flags(ct)
            } else {
                flags(e.aes_cbc_decrypt(&key, &iv, padded, &ct.value).unwrap())
            }
        }
        Service::AesXts { encrypt } => {
            let mut bytes = [1u8; 64];
            bytes[40] = 2;
            let key = XtsKey::from_bytes(&bytes).unwrap();
            let ct = e.aes_xts_encrypt(&key, &[5; 16], &[6; 48]).unwrap();
            if encrypt {
                flags(ct)
            } else {
                flags(e.aes_xts_decrypt(&key, &[5; 16], &ct.value).unwrap())
            }
        }
        Service::AesKeyWrap { bits, padded, wrap } => {
            let kek = aes(bits);
            let wrapped = e.aes_key_wrap(&kek, padded, &[8u8; 32]).unwrap();
            if wrap {
                flags(wrapped)
            } else {
                flags(e.aes_key_unwrap(&kek, padded, &wrapped.value).unwrap())
            }
        }
        Service::Hkdf {
            hash,
            empty_salt,
            empty_info,
        } => {
            let info: &[u8] = if empty_info { b"" } else { b"ihsm context" };
            let salt: &[u8] = if empty_salt { b"" } else { b"salt" };
            flags(e.hkdf(hash, &[1; 32], salt, info, 32).unwrap())
        }
        Service::KbkdfCounterHmac { hash, short_key } => {
            let key = vec![1u8; if short_key { 8 } else { 32 }];
            flags(
                e.kbkdf_counter_hmac(hash, &key, b"label", b"context", 32)
                    .unwrap(),
            )
        }
        Service::Pbkdf2 {
            short_password,
            few_iterations,
        } => {
            let password: &[u8] = if short_password {
                b"123456"
            } else {
                b"a long passphrase!"
            };
            let iterations = if few_iterations { 999 } else { 1000 };
            flags(e.pbkdf2_sha512(password, &[4; 16], iterations, 32).unwrap())
        }
        Service::EcKeyGen(curve) => flags(e.generate_ec_key(curve).unwrap()),
        Service::EcdsaSign {
            curve,
            hash,
            prehashed,
        } => {
            let key = ec_key(curve);
            if prehashed {
                let digest = e.digest(hash, msg).unwrap().value;
                flags(e.ecdsa_sign_digest(key, hash, &digest).unwrap())
            } else {
                flags(e.ecdsa_sign(key, hash, msg).unwrap())
            }
        }
        Service::EcdsaVerify {
            curve,
            hash,
            prehashed,
        } => {
            let key = ec_key(curve);
            let public = key.public_key().unwrap();
            let sig = e.ecdsa_sign(key, hash, msg).unwrap().value;
            if prehashed {
                let digest = e.digest(hash, msg).unwrap().value;
                flags(e.ecdsa_verify_digest(&public, hash, &digest, &sig).unwrap())
            } else {
                flags(e.ecdsa_verify(&public, hash, msg, &sig).unwrap())
            }
        }
        Service::Ecdh(curve) => {
            let peer = e.generate_ec_key(curve).unwrap().value;
            flags(e.ecdh(ec_key(curve), peer.public_point()).unwrap())
        }
        Service::RsaKeyGen(bits) => {
            // The fixture keys were generated through the engine; their indicators are this
            // row's measurement (generating 4096-bit keys again would cost seconds).
            let (_, approved, aws_lc) = rsa_generated(bits);
            (*approved, *aws_lc)
        }
        Service::RsaSign {
            bits,
            hash,
            scheme,
            prehashed,
        } => {
            let key = rsa_key(bits);
            let scheme = rsa_scheme(scheme, hash);
            if prehashed {
                let digest = e.digest(hash, msg).unwrap().value;
                flags(e.rsa_sign_digest(key, scheme, hash, &digest).unwrap())
            } else {
                flags(e.rsa_sign(key, scheme, hash, msg).unwrap())
            }
        }
        Service::RsaVerify {
            bits,
            hash,
            scheme,
            prehashed,
        } => {
            let key = rsa_key(bits);
            let scheme = rsa_scheme(scheme, hash);
            let sig = e.rsa_sign(key, scheme, hash, msg).unwrap().value;
            if prehashed {
                let digest = e.digest(hash, msg).unwrap().value;
                flags(
                    e.rsa_verify_digest(key.public_key(), scheme, hash, &digest, &sig)
                        .unwrap(),
                )
            } else {
                flags(
                    e.rsa_verify(key.public_key(), scheme, hash, msg, &sig)
                        .unwrap(),
                )
            }
        }
        Service::RsaOaepEncrypt { bits, hash } => flags(
            e.rsa_oaep_encrypt(rsa_key(bits).public_key(), hash, b"label", msg)
                .unwrap(),
        ),
        Service::RsaOaepDecrypt { bits, hash } => {
            let key = rsa_key(bits);
            let ct = e
                .rsa_oaep_encrypt(key.public_key(), hash, b"label", msg)
                .unwrap()
                .value;
            flags(e.rsa_oaep_decrypt(key, hash, b"label", &ct).unwrap())
        }
        other => panic!("no exercise for {other:?}"),
    }
}

fn rsa_scheme(scheme: RsaScheme, hash: HashAlg) -> RsaSignatureScheme {
    match scheme {
        RsaScheme::Pkcs1 => RsaSignatureScheme::Pkcs1,
        RsaScheme::PssSaltHashLen => RsaSignatureScheme::Pss {
            salt_len: hash.output_len(),
        },
        RsaScheme::PssSaltOther => RsaSignatureScheme::Pss { salt_len: 20 },
    }
}

#[test]
fn every_policy_row_matches_aws_lc_and_ihsm_indicators() {
    let fips = engine().fips_mode();
    let mut mismatches = Vec::new();
    let rows = Service::all();
    for service in &rows {
        let expected = approval(*service);
        let (approved, aws_lc) = exercise(*service);
        let want_aws_lc = expected.aws_lc_indicator && fips;
        let want_approved = expected.approved && fips;
        if approved != want_approved || aws_lc != want_aws_lc {
            mismatches.push(format!(
                "{service:?}: ihsm {approved} (table {want_approved}), AWS-LC {aws_lc} (table {want_aws_lc})"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} rows disagree:\n{}",
        mismatches.len(),
        rows.len(),
        mismatches.join("\n")
    );
}

/// docs/design/policy.md is generated from the table; this fails when they drift.
/// `IHSM_BLESS=1 cargo test -p ihsm-crypto --test crypto policy_document` rewrites it.
#[test]
fn policy_document_matches_the_table() {
    let mut doc = String::from(
        "# Approved services\n\n\
         Generated from `ihsm_crypto::policy` by `policy_document_matches_the_table` \
         (crates/ihsm-crypto/tests/crypto/policy.rs); do not edit by hand. Every row is run \
         against AWS-LC in CI, which checks both indicator columns.\n\n\
         A service is reported approved only when this table says so, AWS-LC's own indicator \
         agrees for that very call, and the engine runs the validated module in FIPS mode. \
         The non-FIPS build reports nothing as approved.\n\n\
         | service | ihsm approved | AWS-LC indicator | reason |\n|---|---|---|---|\n",
    );
    for service in Service::all() {
        let a = approval(service);
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        doc.push_str(&format!(
            "| `{service:?}` | {} | {} | {} |\n",
            yes_no(a.approved),
            yes_no(a.aws_lc_indicator),
            a.reason
        ));
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/design/policy.md");
    if std::env::var_os("IHSM_BLESS").is_some() {
        std::fs::write(path, &doc).unwrap();
    }
    let current = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        current == doc,
        "docs/design/policy.md is stale: rerun with IHSM_BLESS=1"
    );
}
