//! Encryption and decryption, single-part and multi-part, every mode.

use ihsm_proto::msgs::*;
use ihsm_proto::{
    AesCbcParams, AesGcmParams, AesKeySize, AesXtsParams, Attribute, Bytes, GcmTagBits, Handle,
    HashAlg, KeyPairSpec, KeySpec, List, Mechanism, MechanismId, ResponseBody, Role, RsaKeySize,
    RsaOaepParams, SessionId, Status, Template,
};

use super::fixtures::*;
use super::objects::data;

/// A data key (encrypt, decrypt) of `spec`.
pub fn key(user: &mut TestClient, session: SessionId, spec: KeySpec) -> Handle {
    generate_key(user, session, spec, vec![])
}

/// A key-transport key (wrap, unwrap) of `spec`.
pub fn kek(user: &mut TestClient, session: SessionId, spec: KeySpec) -> Handle {
    generate_key(
        user,
        session,
        spec,
        vec![Attribute::Wrap(true), Attribute::Unwrap(true)],
    )
}

/// A key of `spec` made with `attributes`.
pub fn generate_key(
    user: &mut TestClient,
    session: SessionId,
    spec: KeySpec,
    attributes: Vec<Attribute>,
) -> Handle {
    let request = GenerateKeyRequest {
        spec,
        template: Template::new(attributes).unwrap(),
    };
    match user.call(Some(session), request).unwrap().0 {
        ResponseBody::GenerateKey(r) => r.handle,
        _ => unreachable!(),
    }
}

pub fn gcm(iv: Option<[u8; 12]>) -> Mechanism {
    Mechanism::AesGcm(AesGcmParams {
        iv,
        aad: Some(Bytes::new(b"header".to_vec()).unwrap()),
        tag_bits: None,
    })
}

pub fn encrypt(
    user: &mut TestClient,
    session: SessionId,
    mechanism: Mechanism,
    key: Handle,
    plain: &[u8],
) -> Result<(Vec<u8>, Option<[u8; 12]>), Status> {
    let request = EncryptRequest {
        mechanism,
        key,
        data: data(plain),
    };
    match user
        .call(Some(session), request)
        .map_err(|e| e.known().unwrap())?
        .0
    {
        ResponseBody::Encrypt(r) => Ok((r.data.expose().to_vec(), r.iv)),
        _ => unreachable!(),
    }
}

pub fn decrypt(
    user: &mut TestClient,
    session: SessionId,
    mechanism: Mechanism,
    key: Handle,
    cipher: &[u8],
) -> Result<Vec<u8>, Status> {
    let request = DecryptRequest {
        mechanism,
        key,
        data: data(cipher),
    };
    match user
        .call(Some(session), request)
        .map_err(|e| e.known().unwrap())?
        .0
    {
        ResponseBody::Decrypt(r) => Ok(r.data.expose().to_vec()),
        _ => unreachable!(),
    }
}

/// Runs a multi-part encryption over `parts`; returns the concatenated output and the IV.
fn encrypt_parts(
    user: &mut TestClient,
    session: SessionId,
    mechanism: Mechanism,
    key: Handle,
    parts: &[&[u8]],
) -> (Vec<u8>, Option<[u8; 12]>) {
    user.call(Some(session), EncryptInitRequest { mechanism, key })
        .unwrap();
    let mut out = Vec::new();
    for part in parts {
        let request = EncryptUpdateRequest { data: data(part) };
        let ResponseBody::EncryptUpdate(r) = user.call(Some(session), request).unwrap().0 else {
            unreachable!()
        };
        out.extend_from_slice(r.data.expose());
    }
    let ResponseBody::EncryptFinal(r) = user.call(Some(session), EncryptFinalRequest {}).unwrap().0
    else {
        unreachable!()
    };
    out.extend_from_slice(r.data.expose());
    (out, r.iv)
}

fn decrypt_parts(
    user: &mut TestClient,
    session: SessionId,
    mechanism: Mechanism,
    key: Handle,
    parts: &[&[u8]],
) -> Result<Vec<u8>, Status> {
    user.call(Some(session), DecryptInitRequest { mechanism, key })
        .unwrap();
    let mut out = Vec::new();
    for part in parts {
        let request = DecryptUpdateRequest { data: data(part) };
        let answer = user
            .call(Some(session), request)
            .map_err(|e| e.known().unwrap())?;
        let ResponseBody::DecryptUpdate(r) = answer.0 else {
            unreachable!()
        };
        out.extend_from_slice(r.data.expose());
    }
    let answer = user
        .call(Some(session), DecryptFinalRequest {})
        .map_err(|e| e.known().unwrap())?;
    let ResponseBody::DecryptFinal(r) = answer.0 else {
        unreachable!()
    };
    out.extend_from_slice(r.data.expose());
    Ok(out)
}

#[test]
fn aes_gcm_makes_its_ivs_and_refuses_tampering() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("gcm");
    let aes = key(&mut user, session, KeySpec::Aes(AesKeySize::Aes256));
    let (sealed, iv) = encrypt(&mut user, session, gcm(None), aes, b"attack at dawn").unwrap();
    let iv = iv.expect("the module returns the IV it made");
    assert_eq!(sealed.len(), 14 + 16);
    let (again, other_iv) = encrypt(&mut user, session, gcm(None), aes, b"attack at dawn").unwrap();
    assert_ne!(
        (again, other_iv),
        (sealed.clone(), Some(iv)),
        "a fresh IV every time"
    );
    assert_eq!(
        decrypt(&mut user, session, gcm(Some(iv)), aes, &sealed).unwrap(),
        b"attack at dawn"
    );
    let mut tampered = sealed.clone();
    tampered[0] ^= 1;
    assert_eq!(
        decrypt(&mut user, session, gcm(Some(iv)), aes, &tampered),
        Err(Status::VerificationFailed)
    );
    // The caller may not choose an encryption IV, nor a short tag.
    assert_eq!(
        encrypt(&mut user, session, gcm(Some([0; 12])), aes, b"x"),
        Err(Status::MechanismParamInvalid)
    );
    let short = Mechanism::AesGcm(AesGcmParams {
        iv: Some(iv),
        aad: None,
        tag_bits: Some(GcmTagBits::new(96).unwrap()),
    });
    assert_eq!(
        decrypt(&mut user, session, short, aes, &sealed),
        Err(Status::MechanismParamInvalid)
    );
    // Multi-part: nothing before Final, which returns the ciphertext, tag and IV.
    let (parts, iv) = encrypt_parts(
        &mut user,
        session,
        gcm(None),
        aes,
        &[b"attack ", b"at dawn"],
    );
    let iv = iv.unwrap();
    assert_eq!(
        decrypt(&mut user, session, gcm(Some(iv)), aes, &parts).unwrap(),
        b"attack at dawn"
    );
    let (head, tail) = parts.split_at(5);
    assert_eq!(
        decrypt_parts(&mut user, session, gcm(Some(iv)), aes, &[head, tail]).unwrap(),
        b"attack at dawn"
    );
    // A whole MiB does not fit with its tag.
    assert_eq!(
        encrypt(&mut user, session, gcm(None), aes, &vec![0; 1 << 20]),
        Err(Status::DataLenRange)
    );
}

#[test]
fn cbc_streams_whole_blocks_and_equals_single_part() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("cbc");
    let aes = key(&mut user, session, KeySpec::Aes(AesKeySize::Aes128));
    let message: Vec<u8> = (0..100).collect();
    let params = AesCbcParams { iv: [7; 16] };
    for mechanism in [
        Mechanism::AesCbcPad(params.clone()),
        Mechanism::AesCbc(params.clone()),
    ] {
        let message = match mechanism {
            Mechanism::AesCbc(_) => &message[..96],
            _ => &message[..],
        };
        let (single, _) = encrypt(&mut user, session, mechanism.clone(), aes, message).unwrap();
        let (a, b) = message.split_at(21);
        let (b, c) = b.split_at(40);
        let (parts, iv) = encrypt_parts(&mut user, session, mechanism.clone(), aes, &[a, b, c]);
        assert_eq!((&parts, iv), (&single, None), "{mechanism:?}");
        let (x, y) = single.split_at(33);
        assert_eq!(
            decrypt_parts(&mut user, session, mechanism.clone(), aes, &[x, y]).unwrap(),
            message
        );
        assert_eq!(
            decrypt(&mut user, session, mechanism, aes, &single).unwrap(),
            message
        );
    }
    assert_eq!(
        encrypt(&mut user, session, Mechanism::AesCbc(params), aes, &[1; 17]),
        Err(Status::DataLenRange)
    );
}

#[test]
fn xts_key_wrap_and_oaep_round_trip() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("modes");
    let xts = key(&mut user, session, KeySpec::AesXts);
    let aes = key(&mut user, session, KeySpec::Aes(AesKeySize::Aes256));
    let xts_mechanism = Mechanism::AesXts(AesXtsParams { tweak: [3; 16] });
    let (sector, _) = encrypt(&mut user, session, xts_mechanism.clone(), xts, &[9; 512]).unwrap();
    assert_eq!(sector.len(), 512);
    assert_eq!(
        decrypt(&mut user, session, xts_mechanism.clone(), xts, &sector).unwrap(),
        [9; 512]
    );
    // An XTS key is not an AES key, and the reverse.
    assert_eq!(
        encrypt(&mut user, session, xts_mechanism, aes, &[9; 32]),
        Err(Status::KeyTypeInconsistent)
    );
    let (wrapped, _) = encrypt(&mut user, session, Mechanism::AesKeyWrap, aes, &[5; 32]).unwrap();
    assert_eq!(wrapped.len(), 40);
    assert_eq!(
        decrypt(&mut user, session, Mechanism::AesKeyWrap, aes, &wrapped).unwrap(),
        [5; 32]
    );
    let (padded, _) = encrypt(&mut user, session, Mechanism::AesKeyWrapPad, aes, &[5; 3]).unwrap();
    assert_eq!(padded.len(), 16);

    let pair = GenerateKeyPairRequest {
        spec: KeyPairSpec::Rsa(RsaKeySize::Rsa2048),
        public_template: Template::new(vec![]).unwrap(),
        private_template: Template::new(vec![]).unwrap(),
    };
    let ResponseBody::GenerateKeyPair(pair) = user.call(Some(session), pair).unwrap().0 else {
        unreachable!()
    };
    let oaep = Mechanism::RsaOaep(RsaOaepParams {
        hash: HashAlg::Sha256,
        label: None,
    });
    let (cipher, _) = encrypt(
        &mut user,
        session,
        oaep.clone(),
        pair.public_handle,
        b"secret",
    )
    .unwrap();
    assert_eq!(cipher.len(), 256);
    assert_eq!(
        decrypt(
            &mut user,
            session,
            oaep.clone(),
            pair.private_handle,
            &cipher
        )
        .unwrap(),
        b"secret"
    );
    let init = EncryptInitRequest {
        mechanism: oaep,
        key: pair.public_handle,
    };
    assert_eq!(
        user.call(Some(session), init).err().and_then(|e| e.known()),
        Some(Status::MechanismInvalid)
    );
}

#[test]
fn non_approved_ciphers_need_the_officers_opt_in_and_are_flagged() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("opt-in");
    let aes192 = key(&mut user, session, KeySpec::Aes(AesKeySize::Aes192));
    let aes256 = key(&mut user, session, KeySpec::Aes(AesKeySize::Aes256));
    let (_, approved) = user
        .call(
            Some(session),
            EncryptRequest {
                mechanism: gcm(None),
                key: aes256,
                data: data(b"x"),
            },
        )
        .unwrap();
    assert_eq!(approved, cfg!(feature = "fips"));
    // AES-192-GCM is not approved (AWS-LC 4.2.0): refused by the default policy...
    assert_eq!(
        encrypt(&mut user, session, gcm(None), aes192, b"x"),
        Err(Status::PolicyNotApproved)
    );
    let mut officer = fixture.partition("opt-in");
    let officer_session = officer.session(Role::CryptoOfficer, OFFICER_PIN).unwrap();
    let allow = SetPartitionPolicyRequest {
        allow_non_approved: List::new(vec![MechanismId::AesGcm]).unwrap(),
    };
    officer.call(Some(officer_session), allow).unwrap();
    // ...and served, flagged, once the officer allows it.
    let (_, approved) = user
        .call(
            Some(session),
            EncryptRequest {
                mechanism: gcm(None),
                key: aes192,
                data: data(b"x"),
            },
        )
        .unwrap();
    assert!(!approved);
}

#[test]
fn persistent_keys_reserve_gcm_encryptions_durably_before_making_them() {
    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("gcm-count");
    let token = generate_key(
        &mut user,
        session,
        KeySpec::Aes(AesKeySize::Aes256),
        vec![Attribute::Token(true)],
    );
    // The key ledger holds the reservation: 8 bytes, big-endian, beside the masking key's.
    let reserved = |fixture: &Fixture| -> Vec<u64> {
        fixture
            .store
            .table(ihsm_device::Table::KeyLedger)
            .iter()
            .map(|(_, value)| u64::from_be_bytes(value[..8].try_into().unwrap()))
            .collect()
    };
    assert_eq!(
        reserved(&fixture),
        Vec::<u64>::new(),
        "nothing reserved yet"
    );
    encrypt(&mut user, session, gcm(None), token, b"one").unwrap();
    encrypt(&mut user, session, gcm(None), token, b"two").unwrap();
    assert_eq!(reserved(&fixture), [1 << 20], "2^20 reserved");
    // After a restart the count resumes at the reservation, so the next encryption reserves
    // the following block.
    drop(user);
    let restarted = Fixture::with_store(fixture.store.clone());
    let mut user = restarted.partition("gcm-count");
    let session = user.session(Role::CryptoUser, USER_PIN).unwrap();
    encrypt(&mut user, session, gcm(None), token, b"three").unwrap();
    assert_eq!(reserved(&restarted), [1 << 21], "2^21 reserved");
    // The key never had a blob: destroying it leaves nothing in the ledger.
    user.call(Some(session), DestroyObjectRequest { handle: token })
        .unwrap();
    assert_eq!(reserved(&restarted), Vec::<u64>::new());
}

#[test]
fn the_gcm_cap_refuses_the_last_encryption_without_writing() {
    use ihsm_crypto::GCM_MAX_INVOCATIONS;
    use ihsm_device::{RecordKey, Store, Table, Write};

    let fixture = Fixture::initialized();
    let (mut user, session) = fixture.user("cap");
    let token = generate_key(
        &mut user,
        session,
        KeySpec::Aes(AesKeySize::Aes128),
        vec![Attribute::Token(true)],
    );
    encrypt(&mut user, session, gcm(None), token, b"first").unwrap();
    // Move the key to two encryptions short of the cap, as if it had made them.
    let ledger = fixture.store.table(Table::KeyLedger);
    let (record, _) = &ledger[0];
    // The ledger's value: the count (8 bytes) and whether blobs exist (none).
    let mut near = (GCM_MAX_INVOCATIONS - 2).to_be_bytes().to_vec();
    near.push(0);
    fixture
        .store
        .commit(vec![Write::Put(
            RecordKey::new(Table::KeyLedger, record.clone()),
            zeroize::Zeroizing::new(near),
        )])
        .unwrap();
    drop(user);
    let (restarted, store) = Fixture::pausing_over(fixture.store.clone());
    let mut user = restarted.partition("cap");
    let session = user.session(Role::CryptoUser, USER_PIN).unwrap();
    for message in [b"second to last", b"last          "] {
        encrypt(&mut user, session, gcm(None), token, message).unwrap();
    }
    let reserved = restarted.store.table(Table::KeyLedger)[0].1.to_vec();
    assert_eq!(reserved[..8], GCM_MAX_INVOCATIONS.to_be_bytes());
    // One more is refused, and refused without a write (a held write would block it).
    let _pause = store.arm();
    let refused = spawn(move || encrypt(&mut user, session, gcm(None), token, b"x"));
    assert_eq!(
        refused.recv_timeout(BLOCKED).unwrap(),
        Err(Status::UsageLimitReached)
    );
}

/// What multi-part operations hold back is bounded per partition (16 MiB, all sessions
/// together): a partition's sessions, each holding 1 MiB of GCM input until `Final`, could
/// otherwise make the daemon hold half a gigabyte.
#[test]
fn input_held_back_by_multi_part_operations_is_bounded_per_partition() {
    let fixture = Fixture::initialized();
    let (mut user, first) = fixture.user("held");
    // A token key, seen by every session of the user.
    let aes = generate_key(
        &mut user,
        first,
        KeySpec::Aes(AesKeySize::Aes256),
        vec![Attribute::Token(true)],
    );
    let login = user.login(Role::CryptoUser, USER_PIN).unwrap();
    let megabyte = vec![0x5a; 1 << 20];
    let mut sessions = Vec::new();
    let refused = loop {
        let session = user.open_session(login).unwrap();
        user.call(
            Some(session),
            EncryptInitRequest {
                mechanism: gcm(None),
                key: aes,
            },
        )
        .unwrap();
        let held = user.call(
            Some(session),
            EncryptUpdateRequest {
                data: data(&megabyte),
            },
        );
        match held {
            Ok(_) => sessions.push(session),
            Err(status) => break status.known().unwrap(),
        }
        assert!(sessions.len() <= 16, "more than 16 MiB held back");
    };
    assert_eq!((refused, sessions.len()), (Status::QuotaExceeded, 16));
    // An operation that ends (here, cancelled) gives its bytes back.
    let done = sessions.pop().unwrap();
    user.call(
        Some(done),
        CancelOperationRequest {
            kind: ihsm_proto::OperationKind::Encrypt,
        },
    )
    .unwrap();
    let session = user.open_session(login).unwrap();
    user.call(
        Some(session),
        EncryptInitRequest {
            mechanism: gcm(None),
            key: aes,
        },
    )
    .unwrap();
    user.call(
        Some(session),
        EncryptUpdateRequest {
            data: data(&megabyte),
        },
    )
    .unwrap();
}
