//! A connection spoken to frame by frame: requests sent without waiting for their answers,
//! answers read as they come.

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use ihsm_client::proto::msgs::{AttachLoginRequest, OpenSessionRequest};
use ihsm_client::proto::{
    Limits, Opcode, Request, RequestBody, RequestId, Response, ResponseBody, SessionId,
};

/// A connection spoken to frame by frame, attached to a login by ticket, that can send
/// requests without waiting for their answers.
pub struct Raw {
    pub stream: UnixStream,
    next: u64,
}

impl Raw {
    pub fn connect(daemon: &ihsm_testkit::daemon::Daemon, partition: &str) -> Self {
        let stream = UnixStream::connect(daemon.partition_socket(partition)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Self { stream, next: 1 }
    }

    pub fn send(&mut self, session: Option<SessionId>, body: impl Into<RequestBody>) {
        let request = Request {
            request_id: RequestId::new(self.next).unwrap(),
            session,
            body: body.into(),
        };
        self.next += 1;
        let frame = request.encode_frame(&Limits::default()).unwrap();
        // A connection refused at accept may be closed already; its refusal is still there
        // to read.
        let _ = self.stream.write_all(&frame);
    }

    pub fn receive(&mut self, opcode: Opcode) -> Response {
        let mut prefix = [0u8; 4];
        self.stream.read_exact(&mut prefix).unwrap();
        let mut body = vec![0; u32::from_be_bytes(prefix) as usize];
        self.stream.read_exact(&mut body).unwrap();
        Response::decode(&body, opcode).unwrap()
    }

    /// Attaches to the login of `ticket` and opens a session.
    pub fn session(&mut self, ticket: ihsm_client::proto::Ticket) -> SessionId {
        self.send(None, AttachLoginRequest { ticket });
        let login = match self.receive(Opcode::AttachLogin).result.unwrap() {
            ResponseBody::AttachLogin(r) => r.login,
            _ => unreachable!(),
        };
        self.send(None, OpenSessionRequest { login });
        match self.receive(Opcode::OpenSession).result.unwrap() {
            ResponseBody::OpenSession(r) => r.session,
            _ => unreachable!(),
        }
    }
}
