//! S17: the role × service matrix, every cell through the codec, and the generated
//! docs/design/roles.md.

use ihsm_device::roles::{access, Caller};
use ihsm_device::{MAX_PIN_FAILURES, MAX_PIN_LEN, MIN_PIN_LEN};
use ihsm_proto::msgs::*;
use ihsm_proto::{
    AesKeySize, AttributeTypes, Bytes, Curve, DataLen, EcdhParams, FindCount, Handle,
    ImportKeyKind, KeyPairSpec, KeySpec, List, LoginId, Mechanism, Opcode, OperationKind,
    PartitionName, RequestBody, Role, SessionId, Status, Template, Ticket,
};
use ihsm_testkit::client::quotas;

use super::fixtures::*;
use super::objects::data;

/// A column of the matrix: a socket, and the role logged in there (if any).
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub admin_socket: bool,
    pub role: Option<Role>,
}

const COLUMNS: [(Column, &str); 5] = [
    (
        Column {
            admin_socket: true,
            role: None,
        },
        "admin socket, no login",
    ),
    (
        Column {
            admin_socket: true,
            role: Some(Role::Admin),
        },
        "admin",
    ),
    (
        Column {
            admin_socket: false,
            role: None,
        },
        "partition socket, no login",
    ),
    (
        Column {
            admin_socket: false,
            role: Some(Role::CryptoOfficer),
        },
        "crypto officer",
    ),
    (
        Column {
            admin_socket: false,
            role: Some(Role::CryptoUser),
        },
        "crypto user",
    ),
];

/// Whether the table lets `column` call `opcode`.
fn permitted(opcode: Opcode, column: Column) -> bool {
    let access = access(opcode);
    let socket = if column.admin_socket {
        access.admin_socket
    } else {
        access.partition_socket
    };
    socket
        && match (access.caller, column.role) {
            (Caller::Anyone, _) => true,
            (Caller::LoginHolder, role) => role.is_some(),
            (Caller::Session(roles), Some(role)) => roles.contains(&role),
            (Caller::Session(_), None) => false,
        }
}

/// A well-formed request of every opcode, as `column` would make it.
pub fn request(
    client: &mut TestClient,
    opcode: Opcode,
    login: Option<LoginId>,
    column: Column,
) -> RequestBody {
    use Opcode as O;
    let admin_socket = column.admin_socket;
    let login = login.unwrap_or(LoginId::new(0x5eed).unwrap());
    let handle = Handle::new(0x1234).unwrap();
    let (role, pin) = if admin_socket {
        (Role::Admin, ADMIN_PIN)
    } else {
        (Role::CryptoUser, USER_PIN)
    };
    let name = |n: &str| PartitionName::new(n).unwrap();
    let empty = || Template::new(vec![]).unwrap();
    let mut sealed = |field, secret: &str| client.sealed(opcode, field, secret.as_bytes()).secret;
    match opcode {
        O::GetStatus => GetStatusRequest {}.into(),
        O::InitializeAdmin => InitializeAdminRequest {
            credential: sealed(0, ADMIN_PIN),
        }
        .into(),
        O::GetCredentialKey => GetCredentialKeyRequest {}.into(),
        O::RunSelfTests => RunSelfTestsRequest {}.into(),
        O::Login => LoginRequest {
            role,
            credential: sealed(1, pin),
        }
        .into(),
        O::Logout => LogoutRequest { login }.into(),
        O::IssueTicket => IssueTicketRequest { login }.into(),
        O::AttachLogin => AttachLoginRequest {
            ticket: Ticket::new([1; 32]),
        }
        .into(),
        O::SetPin => {
            // On the admin socket, what a takeover would ask: the officer's PIN.
            let (role, pin) = if admin_socket {
                (Role::CryptoOfficer, OFFICER_PIN)
            } else {
                (Role::CryptoUser, USER_PIN)
            };
            SetPinRequest {
                role,
                credential: sealed(1, pin),
            }
            .into()
        }
        O::ChangePin => {
            // The column's own role and PIN, changed to itself: no PIN changes, none fails.
            let (role, pin) = match (admin_socket, column.role) {
                (true, _) => (Role::Admin, ADMIN_PIN),
                (false, Some(Role::CryptoOfficer)) => (Role::CryptoOfficer, OFFICER_PIN),
                _ => (Role::CryptoUser, USER_PIN),
            };
            let (q, nonce) = client.credential_key().unwrap();
            ChangePinRequest {
                role,
                old: TestClient::seal(&q, nonce, opcode, 1, pin.as_bytes()).secret,
                new: TestClient::seal(&q, nonce, opcode, 2, pin.as_bytes()).secret,
            }
            .into()
        }
        O::UnlockRole => UnlockRoleRequest {
            role: if admin_socket {
                Role::CryptoOfficer
            } else {
                Role::CryptoUser
            },
        }
        .into(),
        O::OpenSession => OpenSessionRequest { login }.into(),
        O::CloseSession => CloseSessionRequest {}.into(),
        O::CloseAllSessions => CloseAllSessionsRequest { login }.into(),
        O::GetSessionInfo => GetSessionInfoRequest {}.into(),
        O::CreatePartition => CreatePartitionRequest {
            name: name("matrix"),
            quotas: quotas(),
        }
        .into(),
        O::InitializePartition => InitializePartitionRequest {
            officer_credential: sealed(0, OFFICER_PIN),
            backup_secret: None,
        }
        .into(),
        O::ResetPartition => ResetPartitionRequest {
            name: name("absent"),
        }
        .into(),
        O::GetPartitionInfo => GetPartitionInfoRequest {}.into(),
        O::ListPartitions => ListPartitionsRequest {}.into(),
        O::DeletePartition => DeletePartitionRequest {
            name: name("absent"),
        }
        .into(),
        O::GetPartitionPolicy => GetPartitionPolicyRequest {}.into(),
        O::SetPartitionPolicy => SetPartitionPolicyRequest {
            allow_non_approved: List::default(),
        }
        .into(),
        O::ZeroizePartition => ZeroizePartitionRequest {}.into(),
        O::CreateObject => CreateObjectRequest {
            template: Template::new(vec![ihsm_proto::Attribute::Class(
                ihsm_proto::ObjectClass::Data,
            )])
            .unwrap(),
        }
        .into(),
        O::CopyObject => CopyObjectRequest {
            handle,
            template: empty(),
        }
        .into(),
        O::DestroyObject => DestroyObjectRequest { handle }.into(),
        O::GetAttributes => GetAttributesRequest {
            handle,
            types: AttributeTypes::default(),
        }
        .into(),
        O::SetAttributes => SetAttributesRequest {
            handle,
            template: empty(),
        }
        .into(),
        O::FindObjects => FindObjectsRequest {
            template: empty(),
            cursor: None,
            max_count: FindCount::new(10).unwrap(),
        }
        .into(),
        O::GenerateKey => GenerateKeyRequest {
            spec: KeySpec::Aes(AesKeySize::Aes128),
            template: empty(),
        }
        .into(),
        O::GenerateKeyPair => GenerateKeyPairRequest {
            spec: KeyPairSpec::Ec(Curve::P256),
            public_template: empty(),
            private_template: empty(),
        }
        .into(),
        O::WrapKey => WrapKeyRequest {
            mechanism: Mechanism::AesKeyWrapPad,
            wrapping_key: handle,
            key: handle,
        }
        .into(),
        O::UnwrapKey => UnwrapKeyRequest {
            mechanism: Mechanism::AesKeyWrapPad,
            unwrapping_key: handle,
            wrapped: Bytes::new(vec![0; 24]).unwrap(),
            template: empty(),
        }
        .into(),
        O::DeriveKey => DeriveKeyRequest {
            mechanism: Mechanism::Ecdh(EcdhParams {
                peer_public_key: Bytes::new(vec![4; 65]).unwrap(),
            }),
            base_key: handle,
            template: empty(),
        }
        .into(),
        O::GetImportKey => GetImportKeyRequest {
            kind: ImportKeyKind::EcdhP384,
        }
        .into(),
        O::ImportKey => ImportKeyRequest {
            kind: ImportKeyKind::EcdhP384,
            ephemeral_public_key: None,
            wrapped: Bytes::new(vec![0; 24]).unwrap(),
            template: empty(),
        }
        .into(),
        O::MaskKey => MaskKeyRequest { key: handle }.into(),
        O::UnmaskKey => UnmaskKeyRequest {
            blob: Bytes::new(vec![1; 40]).unwrap(),
        }
        .into(),
        O::Encrypt => EncryptRequest {
            mechanism: Mechanism::AesKeyWrap,
            key: handle,
            data: data(&[0; 16]),
        }
        .into(),
        O::EncryptInit => EncryptInitRequest {
            mechanism: Mechanism::AesKeyWrap,
            key: handle,
        }
        .into(),
        O::EncryptUpdate => EncryptUpdateRequest { data: data(b"x") }.into(),
        O::EncryptFinal => EncryptFinalRequest {}.into(),
        O::Decrypt => DecryptRequest {
            mechanism: Mechanism::AesKeyWrap,
            key: handle,
            data: data(&[0; 24]),
        }
        .into(),
        O::DecryptInit => DecryptInitRequest {
            mechanism: Mechanism::AesKeyWrap,
            key: handle,
        }
        .into(),
        O::DecryptUpdate => DecryptUpdateRequest { data: data(b"x") }.into(),
        O::DecryptFinal => DecryptFinalRequest {}.into(),
        O::Sign => SignRequest {
            mechanism: Mechanism::EcdsaSha256,
            key: handle,
            data: data(b"x"),
        }
        .into(),
        O::SignInit => SignInitRequest {
            mechanism: Mechanism::EcdsaSha256,
            key: handle,
        }
        .into(),
        O::SignUpdate => SignUpdateRequest { data: data(b"x") }.into(),
        O::SignFinal => SignFinalRequest {}.into(),
        O::Verify => VerifyRequest {
            mechanism: Mechanism::EcdsaSha256,
            key: handle,
            data: data(b"x"),
            signature: Bytes::new(vec![0; 64]).unwrap(),
        }
        .into(),
        O::VerifyInit => VerifyInitRequest {
            mechanism: Mechanism::EcdsaSha256,
            key: handle,
        }
        .into(),
        O::VerifyUpdate => VerifyUpdateRequest { data: data(b"x") }.into(),
        O::VerifyFinal => VerifyFinalRequest {
            signature: Bytes::new(vec![0; 64]).unwrap(),
        }
        .into(),
        O::Digest => DigestRequest {
            mechanism: Mechanism::Sha256,
            data: data(b"x"),
        }
        .into(),
        O::DigestInit => DigestInitRequest {
            mechanism: Mechanism::Sha256,
        }
        .into(),
        O::DigestUpdate => DigestUpdateRequest { data: data(b"x") }.into(),
        O::DigestFinal => DigestFinalRequest {}.into(),
        O::GenerateRandom => GenerateRandomRequest {
            len: DataLen::new(8).unwrap(),
        }
        .into(),
        O::CancelOperation => CancelOperationRequest {
            kind: OperationKind::Sign,
        }
        .into(),
    }
}

/// The statuses that mean "not this caller".
const DENIED: [Status; 3] = [
    Status::RoleNotPermitted,
    Status::NotLoggedIn,
    Status::SessionNotFound,
];

#[test]
fn s17_only_the_documented_cells_are_served() {
    let fixture = Fixture::initialized();
    drop(fixture.user("p"));
    let mut cells = 0;
    for opcode in Opcode::ALL {
        for (column, label) in COLUMNS {
            let mut client = if column.admin_socket {
                fixture.admin()
            } else {
                fixture.partition("p")
            };
            let pin = match column.role {
                Some(Role::Admin) => ADMIN_PIN,
                Some(Role::CryptoOfficer) => OFFICER_PIN,
                _ => USER_PIN,
            };
            let login = column.role.map(|role| client.login(role, pin).unwrap());
            let session = match (opcode.takes_session(), login) {
                (true, Some(login)) => Some(client.open_session(login).unwrap()),
                (true, None) => Some(SessionId::new(0xfeed).unwrap()),
                (false, _) => None,
            };
            let body = request(&mut client, *opcode, login, column);
            let status = match client.call(session, body) {
                Ok(_) => Status::Ok,
                Err(error) => error.known().expect("a known status"),
            };
            let served = !DENIED.contains(&status);
            assert_eq!(
                served,
                permitted(*opcode, column),
                "{opcode:?} by {label}: {status:?}"
            );
            cells += 1;
        }
    }
    assert_eq!(cells, Opcode::ALL.len() * COLUMNS.len());
}

/// The design's role descriptions, stated apart from the table so that a wrong cell in the
/// table (which S17 and roles.md both follow) is caught here.
#[test]
fn the_table_keeps_the_designs_role_boundaries() {
    use Opcode as O;
    let unauthenticated = [
        O::GetStatus,
        O::GetCredentialKey,
        O::Login,
        O::AttachLogin,
        O::InitializeAdmin,
        O::InitializePartition,
        O::GetPartitionInfo,
    ];
    let admin_only = [
        O::CreatePartition,
        O::ListPartitions,
        O::DeletePartition,
        O::ResetPartition,
        O::RunSelfTests,
    ];
    // The officer's alone, and never the admin's: a credential the admin could set or unlock
    // would be a path to the partition's keys.
    let officer_only = [
        O::SetPartitionPolicy,
        O::ZeroizePartition,
        O::SetPin,
        O::UnlockRole,
    ];
    // Every call that names, makes or uses an object or key.
    let key_and_object = [
        O::CreateObject,
        O::CopyObject,
        O::DestroyObject,
        O::GetAttributes,
        O::SetAttributes,
        O::FindObjects,
        O::GenerateKey,
        O::GenerateKeyPair,
        O::WrapKey,
        O::UnwrapKey,
        O::DeriveKey,
        O::GetImportKey,
        O::ImportKey,
        O::MaskKey,
        O::UnmaskKey,
        O::Encrypt,
        O::EncryptInit,
        O::EncryptUpdate,
        O::EncryptFinal,
        O::Decrypt,
        O::DecryptInit,
        O::DecryptUpdate,
        O::DecryptFinal,
        O::Sign,
        O::SignInit,
        O::SignUpdate,
        O::SignFinal,
        O::Verify,
        O::VerifyInit,
        O::VerifyUpdate,
        O::VerifyFinal,
    ];
    for opcode in Opcode::ALL {
        let access = access(*opcode);
        assert_eq!(
            access.caller == Caller::Anyone,
            unauthenticated.contains(opcode),
            "{opcode:?}: only these are served without a login"
        );
        if key_and_object.contains(opcode) {
            assert!(
                !access.admin_socket,
                "{opcode:?}: the admin never uses keys"
            );
            assert_eq!(
                access.caller,
                Caller::Session(&[Role::CryptoUser]),
                "{opcode:?}: only the user uses keys"
            );
        }
        if admin_only.contains(opcode) {
            assert_eq!(
                (access.admin_socket, access.partition_socket, access.caller),
                (true, false, Caller::Session(&[Role::Admin])),
                "{opcode:?}: the admin's alone, on the admin socket"
            );
        }
        if officer_only.contains(opcode) {
            assert_eq!(
                (access.admin_socket, access.caller),
                (false, Caller::Session(&[Role::CryptoOfficer])),
                "{opcode:?}: the officer's alone"
            );
        }
        if matches!(opcode, O::InitializePartition | O::GetPartitionInfo) {
            assert!(
                !access.admin_socket && access.partition_socket,
                "{opcode:?}: the partition's socket only"
            );
        }
    }
}

#[test]
fn roles_document_matches_the_table() {
    let mut doc = format!(
        "# Roles and services\n\n\
         Generated from `ihsm_device::roles` by `roles_document_matches_the_table` \
         (crates/ihsm-device/tests/device/roles.rs); do not edit by hand. The test \
         `s17_only_the_documented_cells_are_served` sends every opcode from every column \
         through the codec and checks that exactly the cells marked `yes` get past the role \
         checks.\n\n\
         ## Roles\n\n\
         - **Device admin** (admin socket): creates, lists, resets and deletes partitions, \
         and runs the self-tests. It never reaches a partition's keys: no key or object \
         operation is served on the admin socket, and it sets, unlocks and knows no \
         credential of a partition. A partition it creates is *uninitialized*; the admin's \
         one way into a partition whose officer is lost or locked is `ResetPartition`, which \
         destroys every object, key, credential and ledger entry of the partition in the same \
         commit that returns it to uninitialized, closes every connection to it, and counts \
         the reset where the partition's next owner sees it (`GetPartitionInfo`). Its first \
         PIN is set once by `InitializeAdmin` on a new device, before which only \
         `GetStatus`, `GetCredentialKey` and `InitializeAdmin` are served \
         (`DeviceNotInitialized`).\n\
         - **Partition owner** (partition socket, no login): whoever the admin handed the \
         socket to initializes the uninitialized partition once with `InitializePartition`: \
         the first officer PIN and the backup secret its masking key comes from, both sealed \
         to the partition's credential key. A second `InitializePartition` is \
         `AlreadyInitialized`, so an owner who finds its partition initialized knows someone \
         else was first. Until then the socket serves only `GetStatus`, `GetCredentialKey`, \
         `GetPartitionInfo` and `InitializePartition` (`PartitionNotInitialized`).\n\
         - **Crypto officer** (partition socket): the partition's policy, zeroization, and \
         the crypto user's PIN (set, unlock). Uses no keys.\n\
         - **Crypto user** (partition socket): every object, key and cryptographic \
         operation of its partition.\n\n\
         A role logs in only on its own socket (`RoleNotPermitted` otherwise). A call a socket \
         does not serve, or a session of a role the table does not list, is \
         `RoleNotPermitted`; a login the connection does not hold is `NotLoggedIn`; a session \
         that does not belong to one of the connection's logins is `SessionNotFound`.\n\n\
         ## Rules the protocol leaves to the device (protocol.md section 13)\n\n\
         - PIN policy: {MIN_PIN_LEN} to {MAX_PIN_LEN} bytes of UTF-8 (`PinInvalid`).\n\
         - Wrong-PIN limit: {MAX_PIN_FAILURES} consecutive failures lock the role \
         (`PinLocked`, even for the right PIN). The counter is written to the store before \
         the PIN is compared, and reset by a correct PIN or an unlock. The officer unlocks \
         the user. No one unlocks an officer: its partition can only be reset. A locked \
         admin has no unlock: the device must be reset. A role without a PIN answers \
         `PinIncorrect` after the same work as a wrong PIN (its attempt counted, a PIN \
         verifier computed), so neither the status nor the time says whether it has one.\n\
         - Tickets: single-use, valid 60 seconds.\n\
         - Quotas, set by the admin when it makes a partition and shown to anyone on the \
         partition's socket and to the admin (`GetPartitionInfo`, `ListPartitions`) beside \
         what the partition uses now: objects, data object bytes, sessions, logins \
         (`QuotaExceeded`, `SessionLimit`, `LoginLimit`), connections (`ConnectionLimit`, \
         answered as the first frame of a connection that is then closed) and the \
         partition's share of the locked memory keys live in (`QuotaExceeded` before a key \
         is made; reserved when the partition is made). A quota of 0 allows none. The \
         daemon also divides what it does not count as quotas: its slow pool (a queue and \
         at most as many running jobs as there are cores per partition; `Busy` when a \
         partition's queue is full), its processors (while partitions are active together \
         they share the requests running at once), the memory of frames being received \
         and of replies being sent (room for a reply is taken before its request is \
         served: `Busy`, unserved, without it), \
         the input multi-part operations hold back (16 MiB a partition, `QuotaExceeded`), \
         and the rate of new connections (a thousand a second on a partition's socket, 128 \
         at once; the rest wait in the socket's backlog); the admin's connections are \
         counted apart from the partitions'. What a key builds in locked memory on a use \
         (an RSA key's contexts on its first use, a blinding for each use more than ever \
         ran at once, an AES key's GCM contexts) is checked against the partition's share \
         before that use (`QuotaExceeded`).\n\
         - `FindObjects` cursors: single-use, valid for the next page of the same template in \
         the same session, until the session starts another search or closes \
         (`CursorInvalid`).\n\n\
         ## The matrix\n\n\
         `yes`: the caller gets past the role checks (the call may still fail for its own \
         reasons). `login`: any role, on a login the connection holds.\n\n\
         | opcode |"
    );
    for (_, label) in COLUMNS {
        doc.push_str(&format!(" {label} |"));
    }
    doc.push_str("\n|---|");
    for _ in COLUMNS {
        doc.push_str("---|");
    }
    doc.push('\n');
    for opcode in Opcode::ALL {
        doc.push_str(&format!("| `{opcode:?}` |"));
        for (column, _) in COLUMNS {
            let cell = match (permitted(*opcode, column), access(*opcode).caller) {
                (false, _) => "-",
                (true, Caller::LoginHolder) => "login",
                (true, _) => "yes",
            };
            doc.push_str(&format!(" {cell} |"));
        }
        doc.push('\n');
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/design/roles.md");
    if std::env::var_os("IHSM_BLESS").is_some() {
        std::fs::write(path, &doc).unwrap();
    }
    let current = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        current == doc,
        "docs/design/roles.md is stale: rerun with IHSM_BLESS=1"
    );
}
