//! Digests, random bytes and abandoning an operation: the services of every session.

use ihsm_crypto::policy::Service;
use ihsm_crypto::HashAlg;
use ihsm_proto::msgs::{
    CancelOperationRequest, CancelOperationResponse, DigestFinalResponse, DigestInitRequest,
    DigestInitResponse, DigestRequest, DigestResponse, DigestUpdateRequest, DigestUpdateResponse,
    GenerateRandomRequest, GenerateRandomResponse,
};
use ihsm_proto::{Bytes, Mechanism, MechanismId, OperationKind, SecretBytes, Status};

use crate::device::Ctx;
use crate::fault::{Fault, Outcome, Served};

fn hash_of(ctx: &Ctx<'_>, mechanism: &Mechanism) -> Result<HashAlg, Fault> {
    let hash = match mechanism {
        Mechanism::Sha256 => HashAlg::Sha256,
        Mechanism::Sha384 => HashAlg::Sha384,
        Mechanism::Sha512 => HashAlg::Sha512,
        _ => return Err(Status::MechanismInvalid.into()),
    };
    if let Some(partition) = &ctx.partition {
        partition.permit(ctx.engine(), mechanism.id(), Service::Digest(hash))?;
    }
    Ok(hash)
}

pub(crate) fn digest(ctx: &Ctx<'_>, request: DigestRequest) -> Outcome {
    let hash = hash_of(ctx, &request.mechanism)?;
    let digest = ctx.engine().digest(hash, request.data.expose())?;
    let body = DigestResponse {
        digest: Bytes::new(digest.value).map_err(|_| Status::Internal)?,
    };
    Ok(Served::new(body, digest.approved))
}

pub(crate) fn digest_init(ctx: &Ctx<'_>, request: DigestInitRequest) -> Outcome {
    // The operation's context lives in locked memory until its `Final`.
    ctx.locked_room(crate::partition::OPERATION_CONTEXT_ROOM)?;
    let session = ctx.session()?;
    session.digest.ensure_idle()?;
    let hash = hash_of(ctx, &request.mechanism)?;
    session.digest.start(ctx.engine().digest_init(hash)?)?;
    Ok(Served::plain(DigestInitResponse {}))
}

pub(crate) fn digest_update(ctx: &Ctx<'_>, request: DigestUpdateRequest) -> Outcome {
    ctx.session()?
        .digest
        .update(|context| context.update(request.data.expose()).map_err(Fault::from))?;
    Ok(Served::plain(DigestUpdateResponse {}))
}

pub(crate) fn digest_final(ctx: &Ctx<'_>) -> Outcome {
    let digest = ctx
        .session()?
        .digest
        .finish(|context| context.finish().map_err(Fault::from))?;
    let body = DigestFinalResponse {
        digest: Bytes::new(digest.value).map_err(|_| Status::Internal)?,
    };
    Ok(Served::new(body, digest.approved))
}

pub(crate) fn random(ctx: &Ctx<'_>, request: GenerateRandomRequest) -> Outcome {
    if let Some(partition) = &ctx.partition {
        // Random bytes have no mechanism of their own; the DRBG is always approved.
        partition.permit(ctx.engine(), MechanismId::AesKeyGen, Service::Random)?;
    }
    let len = usize::try_from(request.len.get()).map_err(|_| Status::DataLenRange)?;
    let mut bytes = zeroize::Zeroizing::new(vec![0; len]);
    let random = ctx.engine().random(&mut bytes)?;
    let data = SecretBytes::new(bytes).map_err(|_| Status::DataLenRange)?;
    Ok(Served::new(
        GenerateRandomResponse { data },
        random.approved,
    ))
}

pub(crate) fn cancel(ctx: &Ctx<'_>, request: CancelOperationRequest) -> Outcome {
    let session = ctx.session()?;
    match request.kind {
        OperationKind::Encrypt => session.encrypt.cancel(),
        OperationKind::Decrypt => session.decrypt.cancel(),
        OperationKind::Sign => session.sign.cancel(),
        OperationKind::Verify => session.verify.cancel(),
        OperationKind::Digest => session.digest.cancel(),
    }
    Ok(Served::plain(CancelOperationResponse {}))
}
