//! Encryption and decryption: AES-GCM (the module makes encryption IVs), AES-CBC with and
//! without padding, AES-XTS, AES key wrap (KW, KWP) and RSA-OAEP; single-part and, except for
//! OAEP, multi-part.

use std::sync::Arc;

use ihsm_crypto::policy::Service;
use ihsm_crypto::{Indicated, SecretBytes, AES_BLOCK_LEN};
use ihsm_proto::msgs::{
    DecryptFinalResponse, DecryptInitRequest, DecryptInitResponse, DecryptRequest, DecryptResponse,
    DecryptUpdateRequest, DecryptUpdateResponse, EncryptFinalResponse, EncryptInitRequest,
    EncryptInitResponse, EncryptRequest, EncryptResponse, EncryptUpdateRequest,
    EncryptUpdateResponse,
};
use ihsm_proto::{AttributeType, Data, GcmTagBits, Handle, Mechanism, Status, MAX_DATA_LEN};
use zeroize::Zeroizing;

use crate::cmd::engine_hash;
use crate::cmd::object::reserve_gcm;
use crate::device::Ctx;
use crate::fault::{Fault, Outcome, Served};
use crate::object::{GcmClaim, Key, KeyMaterial};
use crate::ops::{CipherMode, CipherOperation};
use crate::partition::Buffered;

/// A cipher's output and its service indicator.
struct Output {
    value: Zeroizing<Vec<u8>>,
    approved: bool,
}

impl Output {
    fn empty(approved: bool) -> Self {
        Self {
            value: Zeroizing::new(Vec::new()),
            approved,
        }
    }

    fn public(indicated: Indicated<Vec<u8>>) -> Self {
        Self {
            approved: indicated.approved,
            value: Zeroizing::new(indicated.value),
        }
    }

    fn secret(indicated: Indicated<SecretBytes>) -> Self {
        Self {
            approved: indicated.approved,
            value: indicated.value.into_zeroizing(),
        }
    }
}

/// What a cipher mechanism asks for.
enum Plan {
    Mode(CipherMode),
    Oaep {
        hash: ihsm_crypto::HashAlg,
        label: Vec<u8>,
    },
}

fn plan(mechanism: &Mechanism, encrypt: bool) -> Result<Plan, Fault> {
    Ok(Plan::Mode(match mechanism {
        Mechanism::AesGcm(params) => {
            // Only full-length tags: AWS-LC's approved GCM has no shorter ones.
            if params
                .tag_bits
                .is_some_and(|bits| bits != GcmTagBits::DEFAULT)
            {
                return Err(Status::MechanismParamInvalid.into());
            }
            // The module makes every encryption IV; a decryption needs the one it made.
            if params.iv.is_some() == encrypt {
                return Err(Status::MechanismParamInvalid.into());
            }
            CipherMode::Gcm {
                aad: params
                    .aad
                    .as_ref()
                    .map(|aad| aad.to_vec())
                    .unwrap_or_default(),
                iv: params.iv,
            }
        }
        Mechanism::AesCbc(params) => CipherMode::Cbc {
            iv: params.iv,
            padded: false,
        },
        Mechanism::AesCbcPad(params) => CipherMode::Cbc {
            iv: params.iv,
            padded: true,
        },
        Mechanism::AesXts(params) => CipherMode::Xts {
            tweak: params.tweak,
        },
        Mechanism::AesKeyWrap => CipherMode::KeyWrap { padded: false },
        Mechanism::AesKeyWrapPad => CipherMode::KeyWrap { padded: true },
        Mechanism::RsaOaep(params) => {
            return Ok(Plan::Oaep {
                hash: engine_hash(params.hash),
                label: params
                    .label
                    .as_ref()
                    .map(|l| l.to_vec())
                    .unwrap_or_default(),
            })
        }
        _ => return Err(Status::MechanismInvalid.into()),
    }))
}

/// The key, after the checks every operation makes before touching one: type, usage, policy.
fn key_for(
    ctx: &Ctx<'_>,
    handle: Handle,
    mechanism: &Mechanism,
    plan: &Plan,
    encrypt: bool,
) -> Result<Arc<Key>, Fault> {
    let partition = ctx.partition()?;
    let (object, key) = ctx.key_object(handle)?;
    let service = match (plan, &key.material) {
        (Plan::Mode(mode), KeyMaterial::Aes(aes)) => {
            let bits = aes.bits();
            match mode {
                CipherMode::Gcm { .. } if encrypt => Service::AesGcmEncrypt(bits),
                CipherMode::Gcm { .. } => Service::AesGcmDecrypt(bits),
                CipherMode::Cbc { padded, .. } => Service::AesCbc {
                    bits,
                    padded: *padded,
                    encrypt,
                },
                CipherMode::KeyWrap { padded } => Service::AesKeyWrap {
                    bits,
                    padded: *padded,
                    wrap: encrypt,
                },
                CipherMode::Xts { .. } => return Err(Status::KeyTypeInconsistent.into()),
            }
        }
        (Plan::Mode(CipherMode::Xts { .. }), KeyMaterial::Xts(_)) => Service::AesXts { encrypt },
        (Plan::Oaep { hash, .. }, KeyMaterial::RsaPublic(rsa)) if encrypt => {
            Service::RsaOaepEncrypt {
                bits: rsa.bits(),
                hash: *hash,
            }
        }
        (Plan::Oaep { hash, .. }, KeyMaterial::RsaPrivate(rsa)) if !encrypt => {
            Service::RsaOaepDecrypt {
                bits: rsa.bits(),
                hash: *hash,
            }
        }
        _ => return Err(Status::KeyTypeInconsistent.into()),
    };
    let usage = if encrypt {
        AttributeType::Encrypt
    } else {
        AttributeType::Decrypt
    };
    object.require_usage(usage)?;
    partition.permit(ctx.engine(), mechanism.id(), service)?;
    Ok(key)
}

pub(crate) fn encrypt(ctx: &Ctx<'_>, request: EncryptRequest) -> Outcome {
    let plan = plan(&request.mechanism, true)?;
    let key = key_for(ctx, request.key, &request.mechanism, &plan, true)?;
    let input = request.data.expose();
    let (output, iv) = match plan {
        Plan::Oaep { hash, label } => match &key.material {
            KeyMaterial::RsaPublic(rsa) => (
                Output::public(ctx.engine().rsa_oaep_encrypt(rsa, hash, &label, input)?),
                None,
            ),
            _ => return Err(Status::KeyTypeInconsistent.into()),
        },
        Plan::Mode(mode) => finish(ctx, &key, &mode, true, input)?,
    };
    let approved = output.approved;
    let body = EncryptResponse {
        data: data(output.value)?,
        iv,
    };
    Ok(Served::new(body, approved))
}

pub(crate) fn decrypt(ctx: &Ctx<'_>, request: DecryptRequest) -> Outcome {
    let plan = plan(&request.mechanism, false)?;
    let key = key_for(ctx, request.key, &request.mechanism, &plan, false)?;
    let input = request.data.expose();
    let output = match plan {
        Plan::Oaep { hash, label } => match &key.material {
            KeyMaterial::RsaPrivate(rsa) => {
                Output::secret(ctx.engine().rsa_oaep_decrypt(rsa, hash, &label, input)?)
            }
            _ => return Err(Status::KeyTypeInconsistent.into()),
        },
        Plan::Mode(mode) => finish(ctx, &key, &mode, false, input)?.0,
    };
    let approved = output.approved;
    Ok(Served::new(
        DecryptResponse {
            data: data(output.value)?,
        },
        approved,
    ))
}

pub(crate) fn encrypt_init(ctx: &Ctx<'_>, request: EncryptInitRequest) -> Outcome {
    // The operation's context lives in locked memory until its `Final`.
    ctx.locked_room(crate::partition::OPERATION_CONTEXT_ROOM)?;
    start(ctx, &request.mechanism, request.key, true)?;
    Ok(Served::plain(EncryptInitResponse {}))
}

pub(crate) fn decrypt_init(ctx: &Ctx<'_>, request: DecryptInitRequest) -> Outcome {
    // The operation's context lives in locked memory until its `Final`.
    ctx.locked_room(crate::partition::OPERATION_CONTEXT_ROOM)?;
    start(ctx, &request.mechanism, request.key, false)?;
    Ok(Served::plain(DecryptInitResponse {}))
}

pub(crate) fn encrypt_update(ctx: &Ctx<'_>, request: EncryptUpdateRequest) -> Outcome {
    let output = ctx
        .session()?
        .encrypt
        .update(|op| update(ctx, op, true, request.data.expose()))?;
    Ok(Served::new(
        EncryptUpdateResponse {
            data: data(output.value)?,
        },
        output.approved,
    ))
}

pub(crate) fn decrypt_update(ctx: &Ctx<'_>, request: DecryptUpdateRequest) -> Outcome {
    let output = ctx
        .session()?
        .decrypt
        .update(|op| update(ctx, op, false, request.data.expose()))?;
    Ok(Served::new(
        DecryptUpdateResponse {
            data: data(output.value)?,
        },
        output.approved,
    ))
}

pub(crate) fn encrypt_final(ctx: &Ctx<'_>) -> Outcome {
    let (output, iv) = ctx.session()?.encrypt.finish(|op| {
        let (mut output, iv) = finish(ctx, &op.key, &op.mode, true, &op.pending)?;
        output.approved &= op.approved;
        Ok((output, iv))
    })?;
    let approved = output.approved;
    let body = EncryptFinalResponse {
        data: data(output.value)?,
        iv,
    };
    Ok(Served::new(body, approved))
}

pub(crate) fn decrypt_final(ctx: &Ctx<'_>) -> Outcome {
    let output = ctx.session()?.decrypt.finish(|op| {
        let (mut output, _) = finish(ctx, &op.key, &op.mode, false, &op.pending)?;
        output.approved &= op.approved;
        Ok(output)
    })?;
    let approved = output.approved;
    Ok(Served::new(
        DecryptFinalResponse {
            data: data(output.value)?,
        },
        approved,
    ))
}

fn start(ctx: &Ctx<'_>, mechanism: &Mechanism, handle: Handle, encrypt: bool) -> Result<(), Fault> {
    let session = ctx.session()?;
    let slot = if encrypt {
        &session.encrypt
    } else {
        &session.decrypt
    };
    slot.ensure_idle()?;
    let Plan::Mode(mode) = plan(mechanism, encrypt)? else {
        // RSA-OAEP is single-part only, as in PKCS#11.
        return Err(Status::MechanismInvalid.into());
    };
    let key = key_for(ctx, handle, mechanism, &Plan::Mode(mode.clone()), encrypt)?;
    slot.start(CipherOperation {
        key,
        mode,
        pending: Zeroizing::new(Vec::new()),
        buffered: Buffered::new(ctx.partition()?.clone()),
        approved: true,
    })
}

/// Absorbs one part. CBC returns the whole blocks it can (a padded decryption holds the last
/// block back for `Final`); the buffered modes return nothing and only grow their buffer.
fn update(
    ctx: &Ctx<'_>,
    op: &mut CipherOperation,
    encrypt: bool,
    input: &[u8],
) -> Result<Output, Fault> {
    if op.pending.len().saturating_add(input.len()) > MAX_DATA_LEN {
        return Err(Status::DataLenRange.into());
    }
    op.buffered.add(input.len())?;
    // Reserve first so the buffer never moves (moving would leave a copy of the data behind).
    reserve(&mut op.pending, input.len());
    op.pending.extend_from_slice(input);
    let CipherMode::Cbc { iv, padded } = &mut op.mode else {
        return Ok(Output::empty(op.approved));
    };
    let mut ready = op.pending.len() - op.pending.len() % AES_BLOCK_LEN;
    if !encrypt && *padded && ready == op.pending.len() {
        ready = ready.saturating_sub(AES_BLOCK_LEN);
    }
    if ready == 0 {
        return Ok(Output::empty(op.approved));
    }
    let KeyMaterial::Aes(aes) = &op.key.material else {
        return Err(Status::KeyTypeInconsistent.into());
    };
    let blocks = op.pending.get(..ready).ok_or(Status::Internal)?;
    let engine = ctx.engine();
    let (output, next_iv) = if encrypt {
        let out = Output::public(engine.aes_cbc_encrypt(aes, iv, false, blocks)?);
        let next = last_block(&out.value)?;
        (out, next)
    } else {
        let next = last_block(blocks)?;
        (
            Output::secret(engine.aes_cbc_decrypt(aes, iv, false, blocks)?),
            next,
        )
    };
    *iv = next_iv;
    op.approved &= output.approved;
    op.pending.drain(..ready);
    op.buffered.sub(ready);
    Ok(Output {
        value: output.value,
        approved: op.approved,
    })
}

/// The last step of every mode: the whole message for single-part calls and buffered modes,
/// the remainder for CBC. Returns the output and, for a GCM encryption, the IV made.
fn finish(
    ctx: &Ctx<'_>,
    key: &Key,
    mode: &CipherMode,
    encrypt: bool,
    input: &[u8],
) -> Result<(Output, Option<[u8; 12]>), Fault> {
    let engine = ctx.engine();
    let mismatch = || Fault::Status(Status::KeyTypeInconsistent);
    if let (CipherMode::Gcm { .. }, KeyMaterial::Aes(aes)) = (mode, &key.material) {
        // Its GCM contexts are made on first use, in locked memory.
        if !aes.gcm_ready() {
            ctx.locked_room(crate::partition::LAZY_CONTEXT_ROOM)?;
        }
    }
    let output = match (mode, &key.material) {
        (CipherMode::Gcm { aad, .. }, KeyMaterial::Aes(aes)) if encrypt => {
            claim_gcm(ctx, key)?;
            let sealed = engine.aes_gcm_encrypt(aes, aad, input)?;
            let output = Output {
                value: Zeroizing::new(sealed.value.ciphertext),
                approved: sealed.approved,
            };
            return Ok((output, Some(sealed.value.iv)));
        }
        (CipherMode::Gcm { aad, iv }, KeyMaterial::Aes(aes)) => {
            let iv = iv.ok_or(Status::MechanismParamInvalid)?;
            Output::secret(engine.aes_gcm_decrypt(aes, &iv, aad, input)?)
        }
        (CipherMode::Cbc { iv, padded }, KeyMaterial::Aes(aes)) => {
            if !padded && input.is_empty() {
                Output::empty(true)
            } else if encrypt {
                Output::public(engine.aes_cbc_encrypt(aes, iv, *padded, input)?)
            } else {
                Output::secret(engine.aes_cbc_decrypt(aes, iv, *padded, input)?)
            }
        }
        (CipherMode::Xts { tweak }, KeyMaterial::Xts(xts)) if encrypt => {
            Output::public(engine.aes_xts_encrypt(xts, tweak, input)?)
        }
        (CipherMode::Xts { tweak }, KeyMaterial::Xts(xts)) => {
            Output::secret(engine.aes_xts_decrypt(xts, tweak, input)?)
        }
        (CipherMode::KeyWrap { padded }, KeyMaterial::Aes(aes)) if encrypt => {
            Output::public(engine.aes_key_wrap(aes, *padded, input)?)
        }
        (CipherMode::KeyWrap { padded }, KeyMaterial::Aes(aes)) => {
            Output::secret(engine.aes_key_unwrap(aes, *padded, input)?)
        }
        _ => return Err(mismatch()),
    };
    Ok((output, None))
}

/// Claims one AES-GCM encryption under `key` before it is made. A durable key whose claims
/// reach what the key ledger accounts for reserves the next block there first (once per
/// 2^20 encryptions), so a restart resumes the count at or above the truth.
fn claim_gcm(ctx: &Ctx<'_>, key: &Key) -> Result<(), Fault> {
    match key.gcm.claim()? {
        GcmClaim::Covered => Ok(()),
        GcmClaim::Reserve(n) => {
            let change = ctx.partition()?.change()?;
            let _objects = change.objects();
            reserve_gcm(ctx, &change, key, n)
        }
    }
}

fn last_block(bytes: &[u8]) -> Result<[u8; AES_BLOCK_LEN], Fault> {
    bytes
        .rchunks_exact(AES_BLOCK_LEN)
        .next()
        .and_then(|block| block.try_into().ok())
        .ok_or(Fault::Status(Status::Internal))
}

fn reserve(buffer: &mut Zeroizing<Vec<u8>>, more: usize) {
    let needed = buffer.len().saturating_add(more);
    if needed > buffer.capacity() {
        // Grow into a fresh buffer and wipe the old one, rather than let `Vec` move the bytes
        // and free the old allocation unwiped.
        let mut grown = Zeroizing::new(Vec::with_capacity(needed.max(buffer.capacity() * 2)));
        grown.extend_from_slice(buffer);
        *buffer = grown;
    }
}

/// Output as a data field: more than 1 MiB is `DataLenRange`.
fn data(bytes: Zeroizing<Vec<u8>>) -> Result<Data, Fault> {
    Data::new(bytes).map_err(|_| Fault::Status(Status::DataLenRange))
}
