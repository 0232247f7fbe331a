//! Who may call what: the role × service table (docs/design/roles.md is generated from it,
//! and a test walks every cell through the codec).

use ihsm_proto::{Opcode, Role};

/// Who may make a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Anyone on the socket, logged in or not.
    Anyone,
    /// A connection holding the login the request names.
    LoginHolder,
    /// A session of one of these roles.
    Session(&'static [Role]),
}

/// Where and by whom an opcode is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// Served on the admin socket.
    pub admin_socket: bool,
    /// Served on partition sockets.
    pub partition_socket: bool,
    /// Who may call it there.
    pub caller: Caller,
}

const ALL: &[Role] = &[Role::Admin, Role::CryptoOfficer, Role::CryptoUser];
const ADMIN: &[Role] = &[Role::Admin];
const OFFICER: &[Role] = &[Role::CryptoOfficer];
const USER: &[Role] = &[Role::CryptoUser];
const PARTITION_ROLES: &[Role] = &[Role::CryptoOfficer, Role::CryptoUser];

/// The table. An opcode a socket does not serve, or a session whose role is not listed, is
/// `RoleNotPermitted`; a login the connection does not hold is `NotLoggedIn`.
#[must_use]
pub fn access(opcode: Opcode) -> Access {
    use Opcode as O;
    let (admin_socket, partition_socket, caller) = match opcode {
        O::GetStatus | O::GetCredentialKey | O::Login | O::AttachLogin => {
            (true, true, Caller::Anyone)
        }
        O::InitializeAdmin => (true, false, Caller::Anyone),
        O::InitializePartition | O::GetPartitionInfo => (false, true, Caller::Anyone),
        O::Logout | O::IssueTicket | O::OpenSession | O::CloseAllSessions => {
            (true, true, Caller::LoginHolder)
        }
        // The admin manages no credential of a partition: its way into a partition whose
        // officer is lost is `ResetPartition`, which destroys the partition's keys first.
        O::SetPin | O::UnlockRole => (false, true, Caller::Session(OFFICER)),
        O::ChangePin
        | O::CloseSession
        | O::GetSessionInfo
        | O::Digest
        | O::DigestInit
        | O::DigestUpdate
        | O::DigestFinal
        | O::GenerateRandom
        | O::CancelOperation => (true, true, Caller::Session(ALL)),
        O::RunSelfTests => (true, false, Caller::Session(ADMIN)),
        O::CreatePartition | O::ListPartitions | O::DeletePartition | O::ResetPartition => {
            (true, false, Caller::Session(ADMIN))
        }
        O::GetPartitionPolicy => (false, true, Caller::Session(PARTITION_ROLES)),
        O::SetPartitionPolicy | O::ZeroizePartition => (false, true, Caller::Session(OFFICER)),
        O::CreateObject
        | O::CopyObject
        | O::DestroyObject
        | O::GetAttributes
        | O::SetAttributes
        | O::FindObjects
        | O::GenerateKey
        | O::GenerateKeyPair
        | O::WrapKey
        | O::UnwrapKey
        | O::DeriveKey
        | O::GetImportKey
        | O::ImportKey
        | O::MaskKey
        | O::UnmaskKey
        | O::Encrypt
        | O::EncryptInit
        | O::EncryptUpdate
        | O::EncryptFinal
        | O::Decrypt
        | O::DecryptInit
        | O::DecryptUpdate
        | O::DecryptFinal
        | O::Sign
        | O::SignInit
        | O::SignUpdate
        | O::SignFinal
        | O::Verify
        | O::VerifyInit
        | O::VerifyUpdate
        | O::VerifyFinal => (false, true, Caller::Session(USER)),
    };
    Access {
        admin_socket,
        partition_socket,
        caller,
    }
}

/// Whether `role` may log in on the admin socket (`admin`) or on a partition socket.
#[must_use]
pub fn role_on_socket(role: Role, admin: bool) -> bool {
    (role == Role::Admin) == admin
}
