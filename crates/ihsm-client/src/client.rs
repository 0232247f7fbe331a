//! A connection to the module: any number of threads may call at once. Each call sends its
//! frame and waits for the response with its request id; whichever waiting thread finds no
//! one reading becomes the reader and hands the responses it reads to their callers, so no
//! extra thread or hand-off sits on a call's path.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use ihsm_crypto::{Curve, Engine, HashAlg, ReplyKey};
use ihsm_proto::msgs::{GetCredentialKeyRequest, GetStatusRequest, GetStatusResponse};
use ihsm_proto::{
    Bytes, Limits, Nonce, Opcode, Request, RequestBody, RequestId, Response, ResponseBody,
    SealedSecret, SessionId,
};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::transport::{Transport, UnixTransport};

/// The label the module's attestation key signs before a credential key and a nonce.
const CREDENTIAL_KEY_LABEL: &[u8] = b"ihsm credential key v1";

/// A result with the module's service indicator: `approved` is true only if the module ran
/// an approved service in its approved mode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Indicated<T> {
    /// The result.
    pub value: T,
    /// The service indicator.
    pub approved: bool,
}

/// A connection to the module's admin socket or one partition's socket. Cheap to clone
/// (clones share the connection); `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Box<dyn Transport>,
    limits: Limits,
    next_id: AtomicU64,
    /// The process that connected: a forked child must not share the connection.
    pid: u32,
    mux: Mutex<Mux>,
    arrived: Condvar,
    /// The attestation key pinned on first use (or given by the caller).
    pinned: Mutex<Option<Vec<u8>>>,
    /// Serialises credential-key fetches with the request that consumes the nonce.
    sealing: Mutex<()>,
}

#[derive(Default)]
struct Mux {
    /// Responses read for a request id whose caller has not taken them yet.
    arrived: HashMap<u64, Zeroizing<Vec<u8>>>,
    /// A thread is reading from the transport.
    reading: bool,
    /// The transport failed: every caller gets this error.
    broken: Option<std::io::ErrorKind>,
}

/// The engine the SDK uses for its own public-key work (sealing PINs, checking signatures).
pub(crate) fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(Engine::power_on)
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Client { .. }")
    }
}

impl Client {
    /// Connects to the socket at `path` (`DIR/admin.sock` or `DIR/partitions/NAME.sock`).
    pub fn connect(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self::over(UnixTransport::connect(path.as_ref())?))
    }

    /// A client over any transport.
    pub fn over(transport: impl Transport + 'static) -> Self {
        Self {
            inner: Arc::new(Inner {
                transport: Box::new(transport),
                limits: Limits::default(),
                next_id: AtomicU64::new(1),
                pid: std::process::id(),
                mux: Mutex::new(Mux::default()),
                arrived: Condvar::new(),
                pinned: Mutex::new(None),
                sealing: Mutex::new(()),
            }),
        }
    }

    /// Pins the module's attestation key (SEC1 P-384 point) instead of trusting the first
    /// one seen.
    #[must_use]
    pub fn with_pinned_attestation_key(self, key: Vec<u8>) -> Self {
        *lock(&self.inner.pinned) = Some(key);
        self
    }

    /// The attestation key pinned so far.
    #[must_use]
    pub fn attestation_key(&self) -> Option<Vec<u8>> {
        lock(&self.inner.pinned).clone()
    }

    /// The module's status: version, mode, FIPS state, lifecycle, self-tests, test hooks.
    pub fn status(&self) -> Result<GetStatusResponse> {
        match self.call(None, GetStatusRequest {})?.value {
            ResponseBody::GetStatus(status) => Ok(status),
            _ => Err(Error::Protocol("wrong response body")),
        }
    }

    /// Sends one request and waits for its response.
    pub fn call(
        &self,
        session: Option<SessionId>,
        body: impl Into<RequestBody>,
    ) -> Result<Indicated<ResponseBody>> {
        let body = body.into();
        let opcode = body.opcode();
        let response = self.exchange(session, body)?;
        match response.result {
            Ok(body) if body.opcode() == opcode => Ok(Indicated {
                value: body,
                approved: response.approved,
            }),
            Ok(_) => Err(Error::Protocol("response body of another opcode")),
            Err(status) => Err(status.into()),
        }
    }

    fn exchange(&self, session: Option<SessionId>, body: RequestBody) -> Result<Response> {
        let inner = &self.inner;
        if std::process::id() != inner.pid {
            return Err(Error::Forked);
        }
        let opcode = body.opcode();
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
        let request_id = RequestId::new(id).ok_or(Error::Protocol("request ids exhausted"))?;
        let request = Request {
            request_id,
            session,
            body,
        };
        let mut frame = request
            .encode_frame(&inner.limits)
            .map_err(|_| Error::InvalidArgument("the request is over the frame limit"))?;
        drop(request);
        let sent = inner.transport.send(&frame);
        ihsm_proto::wipe(&mut frame);
        sent?;
        let mut body = self.wait_for(id)?;
        let response =
            Response::decode(&body, opcode).map_err(|_| Error::Protocol("undecodable response"));
        ihsm_proto::wipe(&mut body);
        response
    }

    /// Waits for the response to request `id`, reading for everyone while no one else does.
    fn wait_for(&self, id: u64) -> Result<Zeroizing<Vec<u8>>> {
        let inner = &self.inner;
        let mut mux = lock(&inner.mux);
        loop {
            if let Some(body) = mux.arrived.remove(&id) {
                return Ok(body);
            }
            if let Some(kind) = mux.broken {
                return Err(Error::Io(std::io::Error::new(
                    kind,
                    "the connection to the module failed",
                )));
            }
            if mux.reading {
                mux = inner
                    .arrived
                    .wait(mux)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            mux.reading = true;
            drop(mux);
            let read = inner.transport.receive(&inner.limits);
            mux = lock(&inner.mux);
            mux.reading = false;
            match read {
                Ok(body) => match Response::peek_request_id(&body) {
                    Ok(Some(rid)) => {
                        mux.arrived.insert(rid.get(), body);
                    }
                    // A response without a request id ends the connection (protocol §5).
                    Ok(None) | Err(_) => {
                        mux.broken = Some(std::io::ErrorKind::InvalidData);
                    }
                },
                Err(error) => mux.broken = Some(error.kind()),
            }
            inner.arrived.notify_all();
        }
    }

    /// Fetches the credential key and this connection's nonce, checking the signature under
    /// the attestation key and pinning that key on first use. Then seals each secret for its
    /// field of a request with `opcode`, and sends the request built from the sealed secrets,
    /// all while no other sealed request of this client can take the nonce.
    pub(crate) fn sealed_call(
        &self,
        session: Option<SessionId>,
        opcode: Opcode,
        secrets: &[(u8, &[u8])],
        build: impl FnOnce(Vec<SealedSecret>) -> RequestBody,
    ) -> Result<(Indicated<ResponseBody>, Vec<ReplyKey>)> {
        let _turn = lock(&self.inner.sealing);
        let (point, nonce) = self.credential_key()?;
        let mut sealed = Vec::with_capacity(secrets.len());
        let mut replies = Vec::with_capacity(secrets.len());
        for (field, secret) in secrets {
            let [high, low] = u16::from(opcode).to_be_bytes();
            let (parts, reply) = engine()
                .seal_secret(&point, &nonce.0, &[high, low, *field], secret)
                .map_err(|_| Error::Crypto)?;
            sealed.push(SealedSecret {
                ephemeral_public_key: Bytes::new(parts.ephemeral_point)
                    .map_err(|_| Error::Crypto)?,
                nonce,
                ciphertext: Bytes::new(parts.ciphertext)
                    .map_err(|_| Error::InvalidArgument("the secret is too long"))?,
            });
            replies.push(reply);
        }
        let answer = self.call(session, build(sealed))?;
        Ok((answer, replies))
    }

    fn credential_key(&self) -> Result<(Vec<u8>, Nonce)> {
        let ResponseBody::GetCredentialKey(key) =
            self.call(None, GetCredentialKeyRequest {})?.value
        else {
            return Err(Error::Protocol("wrong response body"));
        };
        let attestation = key.attestation_public_key.to_vec();
        {
            let mut pinned = lock(&self.inner.pinned);
            match pinned.as_ref() {
                Some(pin) if *pin != attestation => return Err(Error::AttestationKeyChanged),
                Some(_) => {}
                None => *pinned = Some(attestation.clone()),
            }
        }
        let public = engine()
            .ec_public_key(Curve::P384, &attestation)
            .map_err(|_| Error::BadCredentialKeySignature)?;
        let message = [
            CREDENTIAL_KEY_LABEL,
            &key.credential_public_key,
            &key.nonce.0,
        ]
        .concat();
        let _verified = engine()
            .ecdsa_verify(&public, HashAlg::Sha384, &message, &key.signature)
            .map_err(|_| Error::BadCredentialKeySignature)?;
        Ok((key.credential_public_key.to_vec(), key.nonce))
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
