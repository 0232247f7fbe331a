//! S23's memory scan: once a session ends (closed, logged out, or its connection gone), no
//! copy of its keys is left anywhere in the process's writable memory. Keys enter in
//! plaintext (test hooks) so the test knows what to look for; it keeps only their
//! complement, so its own copy is never a hit.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;

use ihsm_proto::msgs::*;
use ihsm_proto::{
    AesGcmParams, Attribute, Data, Handle, KeyType, Mechanism, MechanismId, ObjectClass,
    RequestBody, ResponseBody, Role, SecretBytes, SessionId,
};
use zeroize::Zeroizing;

use super::fixtures::*;
use super::objects::template;
use super::scenarios::allow;

/// The readable and writable mappings of this process: heap, stacks, anonymous memory.
fn writable_regions() -> Vec<(u64, u64)> {
    let mut maps = String::new();
    File::open("/proc/self/maps")
        .unwrap()
        .read_to_string(&mut maps)
        .unwrap();
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let perms = fields.next()?;
            let path = fields.nth(3).unwrap_or("");
            if !perms.starts_with("rw") || path.starts_with("[v") {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            Some((
                u64::from_str_radix(start, 16).ok()?,
                u64::from_str_radix(end, 16).ok()?,
            ))
        })
        .collect()
}

/// How many times the bytes whose complement is `complement` occur in writable memory.
fn occurrences(complement: &[u8]) -> usize {
    const CHUNK: usize = 1 << 20;
    let memory = File::open("/proc/self/mem").unwrap();
    let overlap = complement.len() - 1;
    let mut buffer = vec![0u8; CHUNK + overlap];
    let mut found = 0;
    for (start, end) in writable_regions() {
        let mut at = start;
        while at < end {
            let len = usize::try_from((end - at).min(CHUNK as u64 + overlap as u64)).unwrap();
            let read = memory.read_at(&mut buffer[..len], at).unwrap_or(0);
            found += buffer[..read]
                .windows(complement.len())
                .filter(|window| window.iter().zip(complement).all(|(b, c)| *b == !*c))
                .count();
            // The buffer must not carry a hit into the next read.
            buffer.iter_mut().for_each(|b| *b = 0);
            at += CHUNK as u64;
        }
    }
    found
}

/// A random key value, as its complement, and the attribute that enters it.
fn random_value(len: usize) -> (Vec<u8>, Attribute) {
    let mut value = Zeroizing::new(vec![0u8; len]);
    let _ = ihsm_testkit::client::client_engine()
        .random(&mut value)
        .unwrap();
    let complement = value.iter().map(|b| !b).collect();
    (
        complement,
        Attribute::Value(SecretBytes::copy_from(&value).unwrap()),
    )
}

/// An AES-256 key and an HMAC key, entered in plaintext (as token objects if `token`) and
/// each used once.
fn keys_in_use(user: &mut TestClient, session: SessionId, token: bool) -> Vec<Vec<u8>> {
    let mut complements = Vec::new();
    for (key_type, len) in [(KeyType::Aes, 32), (KeyType::GenericSecret, 32)] {
        let (complement, value) = random_value(len);
        let request = CreateObjectRequest {
            template: template(vec![
                Attribute::Class(ObjectClass::SecretKey),
                Attribute::KeyType(key_type),
                Attribute::Token(token),
                value,
            ]),
        };
        let ResponseBody::CreateObject(created) = user.call(Some(session), request).unwrap().0
        else {
            unreachable!()
        };
        use_key(user, session, key_type, created.handle);
        complements.push(complement);
    }
    complements
}

fn use_key(user: &mut TestClient, session: SessionId, key_type: KeyType, key: Handle) {
    let data = Data::copy_from(b"some data").unwrap();
    let body: RequestBody = match key_type {
        KeyType::Aes => EncryptRequest {
            mechanism: Mechanism::AesGcm(AesGcmParams {
                iv: None,
                aad: None,
                tag_bits: None,
            }),
            key,
            data,
        }
        .into(),
        _ => SignRequest {
            mechanism: Mechanism::HmacSha256,
            key,
            data,
        }
        .into(),
    };
    user.call(Some(session), body).unwrap();
}

#[test]
fn s23_no_copy_of_a_key_survives_its_session_or_the_partitions_zeroization() {
    let fixture = Fixture::initialized();
    let (mut user, _) = fixture.user("scan");
    allow(&fixture, "scan", vec![MechanismId::KeyValueImport]);
    // Three ways a session ends (closed, logged out, its connection gone), and the officer's
    // zeroization of the token keys.
    for ending in ["close", "logout", "disconnect", "zeroize"] {
        let login = user.login(Role::CryptoUser, USER_PIN).unwrap();
        let session = user.open_session(login).unwrap();
        let complements = keys_in_use(&mut user, session, ending == "zeroize");
        // The scan finds the keys while they live (or it would prove nothing).
        for complement in &complements {
            assert!(
                occurrences(complement) > 0,
                "{ending}: the scan sees live keys"
            );
        }
        match ending {
            "close" => {
                user.call(Some(session), CloseSessionRequest {}).unwrap();
            }
            "logout" => {
                user.call(None, LogoutRequest { login }).unwrap();
            }
            "disconnect" => {
                drop(user);
                user = fixture.partition("scan");
            }
            _ => {
                let mut officer = fixture.partition("scan");
                let session = officer.session(Role::CryptoOfficer, OFFICER_PIN).unwrap();
                officer
                    .call(Some(session), ZeroizePartitionRequest {})
                    .unwrap();
            }
        }
        for (i, complement) in complements.iter().enumerate() {
            assert_eq!(occurrences(complement), 0, "{ending}: key {i} left behind");
        }
    }
}
