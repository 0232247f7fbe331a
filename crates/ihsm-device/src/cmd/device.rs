//! Device commands: status, the first admin credential, the credential key.

use ihsm_crypto::HashAlg;
use ihsm_proto::msgs::{
    GetCredentialKeyResponse, GetStatusResponse, InitializeAdminRequest, InitializeAdminResponse,
    LockedMemory, RunSelfTestsResponse, SelfTestResult,
};
use ihsm_proto::{Bytes, List, Nonce, Role, Status, Text};
use std::sync::atomic::Ordering;

use crate::credential::{open_sealed, PinVerifier};
use crate::device::{Ctx, Shared};
use crate::fault::{Fault, HardError, Outcome, Served};
use crate::record;
use crate::store::Write;

/// The label the attestation key signs before a credential key and a nonce.
pub(crate) const CREDENTIAL_KEY_LABEL: &[u8] = b"ihsm credential key v1";

fn self_test_results(shared: &Shared) -> Vec<SelfTestResult> {
    shared
        .engine
        .self_test_results()
        .into_iter()
        .filter_map(|result| {
            Some(SelfTestResult {
                name: Text::new(result.test.name()).ok()?,
                passed: result.passed,
            })
        })
        .collect()
}

/// Runs every self-test again; a failure latches the error state.
pub(crate) fn run_self_tests(shared: &Shared) -> Outcome {
    if shared.engine.run_self_tests().is_err() {
        return Err(Fault::Hard(HardError::SelfTest));
    }
    let body = RunSelfTestsResponse {
        self_tests: List::new(self_test_results(shared)).map_err(|_| Status::Internal)?,
    };
    Ok(Served::plain(body))
}

pub(crate) fn status(shared: &Shared) -> Outcome {
    let self_tests = self_test_results(shared);
    let body = GetStatusResponse {
        version: Text::new(env!("CARGO_PKG_VERSION")).map_err(|_| Status::Internal)?,
        mode: shared.platform.fuses.mode(),
        fips_mode: shared.engine.fips_mode(),
        state: shared.state(),
        self_tests: List::new(self_tests).map_err(|_| Status::Internal)?,
        test_hooks: crate::test_hooks_compiled_in(),
        initialized: shared.initialized.load(Ordering::Acquire),
        error: shared.latched().map(HardError::cause),
        locked_memory: ihsm_crypto::arena::stats().map(|arena| {
            let bytes = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
            LockedMemory {
                capacity: bytes(arena.capacity),
                in_use: bytes(arena.in_use),
                peak: bytes(arena.peak),
                reserved: bytes(arena.reserved),
                locked: arena.locked,
                refused: arena.refused,
            }
        }),
    };
    Ok(Served::plain(body))
}

pub(crate) fn initialize_admin(ctx: &Ctx<'_>, request: InitializeAdminRequest) -> Outcome {
    let shared = ctx.shared;
    let nonce = ctx.conn.consume_nonce(&[&request.credential.nonce])?;
    if shared.initialized.load(Ordering::Acquire)
        || shared
            .initializing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
    {
        return Err(Status::AlreadyInitialized.into());
    }
    let result = (|| {
        let keys = shared.device_keys()?;
        let opened = open_sealed(
            ctx.engine(),
            &keys.credential,
            &request.credential,
            &nonce,
            ctx.opcode,
            0,
        )?;
        let approved = opened.approved;
        let pin = opened.into_pin().checked()?;
        let verifier = PinVerifier::new(ctx.engine(), &pin, shared.config.pin_iterations)?;
        shared.platform.store.commit(vec![
            Write::Put(record::admin_credential(), verifier.to_bytes()),
            Write::Put(record::counter(None, Role::Admin), record::zero_count()),
        ])?;
        shared
            .admin
            .credential(Role::Admin)
            .set_verifier(Some(verifier));
        shared.admin.credential(Role::Admin).set_failures(0);
        shared.initialized.store(true, Ordering::Release);
        Ok(Served::new(InitializeAdminResponse {}, approved))
    })();
    shared.initializing.store(false, Ordering::Release);
    result
}

pub(crate) fn credential_key(ctx: &Ctx<'_>) -> Outcome {
    let keys = ctx.socket_keys()?;
    let (attestation, credential) = (keys.attestation(), keys.credential());
    let mut nonce = [0; 32];
    let random = ctx.engine().random(&mut nonce)?;
    let message = [CREDENTIAL_KEY_LABEL, credential.public_point(), &nonce].concat();
    let signature = ctx
        .engine()
        .ecdsa_sign(attestation, HashAlg::Sha384, &message)?;
    ctx.conn.set_nonce(nonce);
    let internal = |_| Fault::Status(Status::Internal);
    let body = GetCredentialKeyResponse {
        credential_public_key: Bytes::new(credential.public_point()).map_err(internal)?,
        attestation_public_key: Bytes::new(attestation.public_point()).map_err(internal)?,
        signature: Bytes::new(signature.value).map_err(internal)?,
        nonce: Nonce(nonce),
    };
    Ok(Served::new(body, random.approved && signature.approved))
}
