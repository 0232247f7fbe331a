//! A client connection as the device sees it: which socket it came through, the partition
//! it is bound to, its nonce and the logins it holds.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use ihsm_proto::{LoginId, Nonce, PartitionName, Status};

use crate::device::Shared;
use crate::fault::Fault;
use crate::partition::Partition;

/// The socket a connection came through: it decides which credential key `GetCredentialKey`
/// returns and which partition every handle, name and blob is resolved in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Socket {
    /// The admin socket.
    Admin,
    /// A partition's socket.
    Partition(PartitionName),
}

/// One client connection. The daemon makes one per accepted socket connection with
/// [`Device::connect`](crate::Device::connect) and drops it when the socket closes: every login
/// no other connection holds then ends, with its sessions and their session objects.
///
/// A partition socket's connection is bound to the partition as it was when the connection
/// was made, not to its name: once that partition is deleted or reset, the connection is
/// defunct (every request is `PartitionNotFound`, and the daemon closes it), and it never
/// reaches a partition made later under the same name.
pub struct Connection {
    pub(crate) id: u64,
    pub(crate) socket: Socket,
    /// The partition bound at connection time (`None` on the admin socket, or when no
    /// partition of the socket's name existed).
    pub(crate) partition: Option<Arc<Partition>>,
    state: Mutex<ConnectionState>,
    device: Weak<Shared>,
}

#[derive(Default)]
pub(crate) struct ConnectionState {
    /// The nonce of the last `GetCredentialKey`, until a request consumes it.
    nonce: Option<[u8; 32]>,
    /// The logins this connection holds.
    pub(crate) logins: BTreeSet<LoginId>,
}

impl Connection {
    pub(crate) fn new(
        id: u64,
        socket: Socket,
        partition: Option<Arc<Partition>>,
        device: Weak<Shared>,
    ) -> Self {
        Self {
            id,
            socket,
            partition,
            state: Mutex::new(ConnectionState::default()),
            device,
        }
    }

    /// The socket this connection came through.
    #[must_use]
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Whether the connection can no longer be served: its partition was deleted or reset
    /// (or did not exist when it connected). The daemon closes such a connection.
    #[must_use]
    pub fn is_defunct(&self) -> bool {
        match (&self.socket, &self.partition) {
            (Socket::Admin, _) => false,
            (Socket::Partition(_), Some(partition)) => partition.is_gone(),
            (Socket::Partition(_), None) => true,
        }
    }

    /// Whether the connection holds a login (the daemon times out only connections that
    /// hold none).
    #[must_use]
    pub fn is_authenticated(&self) -> bool {
        !self.state().logins.is_empty()
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, ConnectionState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_nonce(&self, nonce: [u8; 32]) {
        self.state().nonce = Some(nonce);
    }

    /// Consumes the connection's nonce if every sealed secret of the request is bound to it.
    /// A secret bound to another nonce is a replay or a mix-up: `NonceStale`, and the current
    /// nonce stays, as no secret was opened.
    pub(crate) fn consume_nonce(&self, bound_to: &[&Nonce]) -> Result<[u8; 32], Fault> {
        let mut state = self.state();
        match state.nonce {
            Some(current) if bound_to.iter().all(|nonce| nonce.0 == current) => {
                state.nonce = None;
                Ok(current)
            }
            _ => Err(Status::NonceStale.into()),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(device) = self.device.upgrade() {
            let logins = core::mem::take(&mut self.state().logins);
            device.disconnect(self, logins);
        }
        if let Some(partition) = &self.partition {
            partition.remove_connection();
        }
    }
}
