//! The commands: one file per command family, each function serving one opcode after the
//! gate in [`crate::device`] has checked state, socket, session and role.

pub(crate) mod auth;
pub(crate) mod cipher;
pub(crate) mod derive;
pub(crate) mod device;
pub(crate) mod digest;
pub(crate) mod import;
pub(crate) mod keys;
pub(crate) mod mask;
pub(crate) mod object;
pub(crate) mod partition;
pub(crate) mod session;
pub(crate) mod sign;
pub(crate) mod wrap;

use ihsm_proto::RequestBody;

use crate::device::Ctx;
use crate::fault::Outcome;

pub(crate) fn dispatch(ctx: &Ctx<'_>, body: RequestBody) -> Outcome {
    use RequestBody as B;
    match body {
        B::GetStatus(_) => device::status(ctx.shared),
        B::RunSelfTests(_) => device::run_self_tests(ctx.shared),
        B::InitializeAdmin(r) => device::initialize_admin(ctx, r),
        B::GetCredentialKey(_) => device::credential_key(ctx),
        B::Login(r) => auth::login(ctx, r),
        B::Logout(r) => auth::logout(ctx, r),
        B::IssueTicket(r) => auth::issue_ticket(ctx, r),
        B::AttachLogin(r) => auth::attach_login(ctx, r),
        B::SetPin(r) => auth::set_pin(ctx, r),
        B::ChangePin(r) => auth::change_pin(ctx, r),
        B::UnlockRole(r) => auth::unlock_role(ctx, r),
        B::OpenSession(r) => session::open(ctx, r),
        B::CloseSession(_) => session::close(ctx),
        B::CloseAllSessions(r) => session::close_all(ctx, r),
        B::GetSessionInfo(_) => session::info(ctx),
        B::CreatePartition(r) => partition::create(ctx, r),
        B::ListPartitions(_) => partition::list(ctx),
        B::DeletePartition(r) => partition::delete(ctx, r),
        B::GetPartitionPolicy(_) => partition::policy(ctx),
        B::SetPartitionPolicy(r) => partition::set_policy(ctx, r),
        B::ZeroizePartition(_) => partition::zeroize(ctx),
        B::InitializePartition(r) => partition::initialize(ctx, r),
        B::ResetPartition(r) => partition::reset(ctx, r),
        B::GetPartitionInfo(_) => partition::info(ctx),
        B::CreateObject(r) => object::create(ctx, r),
        B::CopyObject(r) => object::copy(ctx, r),
        B::DestroyObject(r) => object::destroy(ctx, r),
        B::GetAttributes(r) => object::get_attributes(ctx, r),
        B::SetAttributes(r) => object::set_attributes(ctx, r),
        B::FindObjects(r) => object::find_objects(ctx, r),
        B::GenerateKey(r) => keys::generate_key(ctx, r),
        B::GenerateKeyPair(r) => keys::generate_key_pair(ctx, r),
        B::WrapKey(r) => wrap::wrap_key(ctx, r),
        B::UnwrapKey(r) => wrap::unwrap_key(ctx, r),
        B::DeriveKey(r) => derive::derive_key(ctx, r),
        B::GetImportKey(r) => import::get_import_key(ctx, r),
        B::ImportKey(r) => import::import_key(ctx, r),
        B::MaskKey(r) => mask::mask_key(ctx, r),
        B::UnmaskKey(r) => mask::unmask_key(ctx, r),
        B::Encrypt(r) => cipher::encrypt(ctx, r),
        B::EncryptInit(r) => cipher::encrypt_init(ctx, r),
        B::EncryptUpdate(r) => cipher::encrypt_update(ctx, r),
        B::EncryptFinal(_) => cipher::encrypt_final(ctx),
        B::Decrypt(r) => cipher::decrypt(ctx, r),
        B::DecryptInit(r) => cipher::decrypt_init(ctx, r),
        B::DecryptUpdate(r) => cipher::decrypt_update(ctx, r),
        B::DecryptFinal(_) => cipher::decrypt_final(ctx),
        B::Sign(r) => sign::sign(ctx, r),
        B::SignInit(r) => sign::sign_init(ctx, r),
        B::SignUpdate(r) => sign::sign_update(ctx, r),
        B::SignFinal(_) => sign::sign_final(ctx),
        B::Verify(r) => sign::verify(ctx, r),
        B::VerifyInit(r) => sign::verify_init(ctx, r),
        B::VerifyUpdate(r) => sign::verify_update(ctx, r),
        B::VerifyFinal(r) => sign::verify_final(ctx, r),
        B::Digest(r) => digest::digest(ctx, r),
        B::DigestInit(r) => digest::digest_init(ctx, r),
        B::DigestUpdate(r) => digest::digest_update(ctx, r),
        B::DigestFinal(_) => digest::digest_final(ctx),
        B::GenerateRandom(r) => digest::random(ctx, r),
        B::CancelOperation(r) => digest::cancel(ctx, r),
    }
}

/// The engine's name for a hash.
pub(crate) fn engine_hash(hash: ihsm_proto::HashAlg) -> ihsm_crypto::HashAlg {
    match hash {
        ihsm_proto::HashAlg::Sha256 => ihsm_crypto::HashAlg::Sha256,
        ihsm_proto::HashAlg::Sha384 => ihsm_crypto::HashAlg::Sha384,
        ihsm_proto::HashAlg::Sha512 => ihsm_crypto::HashAlg::Sha512,
    }
}

/// A hash's digest length in bytes.
pub(crate) fn digest_len(hash: ihsm_crypto::HashAlg) -> usize {
    match hash {
        ihsm_crypto::HashAlg::Sha256 => 32,
        ihsm_crypto::HashAlg::Sha384 => 48,
        ihsm_crypto::HashAlg::Sha512 => 64,
    }
}
