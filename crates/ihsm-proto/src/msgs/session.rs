//! Session messages.

use crate::{LoginId, PartitionName, Role, SessionId};

wire_map! {
    /// Opens a session of a login held by this connection.
    pub struct OpenSessionRequest {
        /// The login the session belongs to.
        0 => login: LoginId,
    }
}

wire_map! {
    /// The new session; later requests carry it in header key 3.
    pub struct OpenSessionResponse {
        /// The session.
        0 => session: SessionId,
    }
}

wire_map! {
    /// Closes the header's session, destroying its session objects and operations.
    pub struct CloseSessionRequest {}
}

wire_map! {
    /// The session is closed.
    pub struct CloseSessionResponse {}
}

wire_map! {
    /// Closes every session of a login.
    pub struct CloseAllSessionsRequest {
        /// The login whose sessions close.
        0 => login: LoginId,
    }
}

wire_map! {
    /// The sessions are closed.
    pub struct CloseAllSessionsResponse {}
}

wire_map! {
    /// Describes the header's session.
    pub struct GetSessionInfoRequest {}
}

wire_map! {
    /// What the session is.
    pub struct GetSessionInfoResponse {
        /// The role of its login.
        0 => role: Role,
        /// Its partition; absent for an admin session.
        1 => partition: Option<PartitionName>,
        /// Its login.
        2 => login: LoginId,
    }
}
