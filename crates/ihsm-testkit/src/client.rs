//! A protocol client for tests: encodes requests into frames, sends them over a
//! [`Transport`], decodes the responses, and does the client's share of the cryptography
//! (sealing PINs and backup secrets, pinning the attestation key on first use).
//!
//! It is deliberately thin: every call goes through the codec, so what a test checks is what
//! a real client would see on the wire.

use std::sync::OnceLock;

use ihsm_crypto::{Curve, Engine, HashAlg, ReplyKey};
use ihsm_device::{Connection, Device};
use ihsm_proto::msgs::*;
use ihsm_proto::{
    Bytes, ErrorStatus, Limits, LoginId, Nonce, Opcode, PartitionName, Quotas, Request,
    RequestBody, RequestId, Response, ResponseBody, Role, SealedSecret, SessionId, Status,
};

/// Moves one request frame to the device and its response frame back.
pub trait Transport {
    /// Sends a request frame body (without the length prefix); returns the response frame
    /// body (without the length prefix).
    fn round_trip(&mut self, request: &[u8]) -> Vec<u8>;
}

/// The device in this process, reached through one connection.
pub struct InProcess {
    device: Device,
    connection: Connection,
}

impl InProcess {
    /// A new connection to `device` through `socket`.
    pub fn connect(device: &Device, socket: ihsm_device::Socket) -> Self {
        Self {
            device: device.clone(),
            connection: device
                .connect(socket)
                .expect("within the partition's connection quota"),
        }
    }
}

impl Transport for InProcess {
    fn round_trip(&mut self, request: &[u8]) -> Vec<u8> {
        let reply = self.device.handle_frame(&self.connection, request);
        reply.frame.get(4..).unwrap_or_default().to_vec()
    }
}

/// The engine clients use for their own cryptography (one per test process).
pub fn client_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::power_on)
}

/// A successful response body and its service indicator.
pub type Answer = Result<(ResponseBody, bool), ErrorStatus>;

/// A client on one connection.
pub struct Client<T: Transport> {
    transport: T,
    next_id: u64,
    /// The attestation key pinned on first use.
    pinned: Option<Vec<u8>>,
}

/// A PIN sealed for one request field, with the key that opens a reply.
pub struct Sealed {
    /// What goes on the wire.
    pub secret: SealedSecret,
    /// Opens a reply secret (a generated backup secret).
    pub reply: ReplyKey,
}

impl<T: Transport> Client<T> {
    /// A client over `transport`.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            next_id: 1,
            pinned: None,
        }
    }

    /// The transport.
    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Sends raw frame-body bytes and decodes the response as one to `opcode`.
    pub fn raw(&mut self, bytes: &[u8], opcode: Opcode) -> Result<Response, Status> {
        let reply = self.transport.round_trip(bytes);
        Response::decode(&reply, opcode).map_err(|e| e.status())
    }

    /// Makes one call; `session` goes in the header.
    pub fn call(&mut self, session: Option<SessionId>, body: impl Into<RequestBody>) -> Answer {
        let body = body.into();
        let opcode = body.opcode();
        let request_id = RequestId::new(self.next_id).expect("ids start at 1");
        self.next_id += 1;
        let request = Request {
            request_id,
            session,
            body,
        };
        let frame = request
            .encode_frame(&Limits::default())
            .unwrap_or_else(|e| panic!("encode {opcode:?}: {e:?}"));
        let response = self
            .raw(&frame[4..], opcode)
            .unwrap_or_else(|status| panic!("response to {opcode:?} does not decode: {status:?}"));
        assert_eq!(response.request_id, Some(request_id), "request id echoed");
        match response.result {
            Ok(body) => {
                assert_eq!(body.opcode(), opcode);
                Ok((body, response.approved))
            }
            Err(status) => {
                assert!(!response.approved, "an error is never approved");
                Err(status)
            }
        }
    }

    /// `GetCredentialKey`: checks the signature with the attestation key, pinning it on first
    /// use; returns the credential key and the connection's new nonce.
    pub fn credential_key(&mut self) -> Result<(Vec<u8>, Nonce), ErrorStatus> {
        let (body, _) = self.call(None, GetCredentialKeyRequest {})?;
        let ResponseBody::GetCredentialKey(key) = body else {
            unreachable!()
        };
        let attestation = key.attestation_public_key.to_vec();
        match &self.pinned {
            Some(pinned) => assert_eq!(pinned, &attestation, "attestation key changed"),
            None => self.pinned = Some(attestation.clone()),
        }
        let engine = client_engine();
        let public = engine
            .ec_public_key(Curve::P384, &attestation)
            .expect("attestation key is a P-384 point");
        let message = [
            &b"ihsm credential key v1"[..],
            &key.credential_public_key,
            &key.nonce.0,
        ]
        .concat();
        let _verified = engine
            .ecdsa_verify(&public, HashAlg::Sha384, &message, &key.signature)
            .expect("credential key signature verifies");
        Ok((key.credential_public_key.to_vec(), key.nonce))
    }

    /// The pinned attestation key, once a credential key was fetched.
    pub fn pinned_attestation_key(&self) -> Option<&[u8]> {
        self.pinned.as_deref()
    }

    /// Seals `secret` for field `field` of a request with `opcode`, to the credential key `q`
    /// and `nonce` from [`Client::credential_key`].
    pub fn seal(q: &[u8], nonce: Nonce, opcode: Opcode, field: u8, secret: &[u8]) -> Sealed {
        let [high, low] = u16::from(opcode).to_be_bytes();
        let (parts, reply) = client_engine()
            .seal_secret(q, &nonce.0, &[high, low, field], secret)
            .expect("sealing works");
        Sealed {
            secret: SealedSecret {
                ephemeral_public_key: Bytes::new(parts.ephemeral_point).expect("97 bytes"),
                nonce,
                ciphertext: Bytes::new(parts.ciphertext).expect("short"),
            },
            reply,
        }
    }

    /// Fetches a fresh nonce and seals `secret` for `opcode`'s `field`.
    pub fn sealed(&mut self, opcode: Opcode, field: u8, secret: &[u8]) -> Sealed {
        let (q, nonce) = self.credential_key().expect("credential key");
        Self::seal(&q, nonce, opcode, field, secret)
    }

    /// Logs in as `role` with `pin`.
    pub fn login(&mut self, role: Role, pin: &str) -> Result<LoginId, ErrorStatus> {
        let credential = self.sealed(Opcode::Login, 1, pin.as_bytes()).secret;
        match self.call(None, LoginRequest { role, credential })?.0 {
            ResponseBody::Login(r) => Ok(r.login),
            _ => unreachable!(),
        }
    }

    /// Opens a session of `login`.
    pub fn open_session(&mut self, login: LoginId) -> Result<SessionId, ErrorStatus> {
        match self.call(None, OpenSessionRequest { login })?.0 {
            ResponseBody::OpenSession(r) => Ok(r.session),
            _ => unreachable!(),
        }
    }

    /// Logs in and opens a session.
    pub fn session(&mut self, role: Role, pin: &str) -> Result<SessionId, ErrorStatus> {
        let login = self.login(role, pin)?;
        self.open_session(login)
    }

    /// Sets the first admin PIN.
    pub fn initialize_admin(&mut self, pin: &str) -> Answer {
        let credential = self
            .sealed(Opcode::InitializeAdmin, 0, pin.as_bytes())
            .secret;
        self.call(None, InitializeAdminRequest { credential })
    }

    /// Creates a partition in an admin session (uninitialized).
    pub fn create_partition(
        &mut self,
        admin: SessionId,
        name: &str,
        quotas: Quotas,
    ) -> Result<(), ErrorStatus> {
        let request = CreatePartitionRequest {
            name: PartitionName::new(name).expect("valid name"),
            quotas,
        };
        self.call(Some(admin), request).map(|_| ())
    }

    /// Initializes the partition of this client's socket with its first officer PIN and a
    /// device-generated backup secret, which is unwrapped and returned.
    pub fn initialize_partition(&mut self, officer_pin: &str) -> Result<Vec<u8>, ErrorStatus> {
        let sealed = self.sealed(Opcode::InitializePartition, 0, officer_pin.as_bytes());
        let request = InitializePartitionRequest {
            officer_credential: sealed.secret,
            backup_secret: None,
        };
        match self.call(None, request)?.0 {
            ResponseBody::InitializePartition(r) => {
                let wrapped = r.wrapped_backup_secret.expect("a generated backup secret");
                let secret = client_engine()
                    .unwrap_reply(&sealed.reply, wrapped.expose())
                    .expect("the backup secret unwraps with the reply key");
                Ok(secret.value.expose().to_vec())
            }
            _ => unreachable!(),
        }
    }
}

/// Generous quotas for tests.
#[must_use]
pub fn quotas() -> Quotas {
    Quotas {
        max_objects: 1000,
        max_sessions: 100,
        max_logins: 20,
        max_data_object_bytes: 1 << 20,
        max_connections: 64,
        max_locked_bytes: 4 << 20,
    }
}
