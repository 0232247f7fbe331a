//! Authentication messages: logins, tickets and PINs.

use crate::{LoginId, Role, SealedSecret, Ticket};

wire_map! {
    /// Authenticates a role on this connection with its PIN.
    pub struct LoginRequest {
        /// The role to log in as.
        0 => role: Role,
        /// The role's PIN, sealed to the credential key.
        1 => credential: SealedSecret,
    }
}

wire_map! {
    /// The new login.
    pub struct LoginResponse {
        /// The login, valid on this connection (and those attached by ticket).
        0 => login: LoginId,
    }
}

wire_map! {
    /// Ends a login: closes its sessions and destroys their session objects.
    pub struct LogoutRequest {
        /// The login to end.
        0 => login: LoginId,
    }
}

wire_map! {
    /// The login has ended.
    pub struct LogoutResponse {}
}

wire_map! {
    /// Issues a ticket another connection of the same application presents to share this
    /// login without the PIN.
    pub struct IssueTicketRequest {
        /// The login the ticket attaches to.
        0 => login: LoginId,
    }
}

wire_map! {
    /// The ticket: single-use and short-lived.
    pub struct IssueTicketResponse {
        /// The ticket (a bearer secret: keep it like a PIN).
        0 => ticket: Ticket,
    }
}

wire_map! {
    /// Attaches this connection to the login a ticket was issued for.
    pub struct AttachLoginRequest {
        /// The ticket from `IssueTicket`.
        0 => ticket: Ticket,
    }
}

wire_map! {
    /// The login this connection now shares.
    pub struct AttachLoginResponse {
        /// The login.
        0 => login: LoginId,
        /// Its role.
        1 => role: Role,
    }
}

wire_map! {
    /// Sets the PIN of the role the session's role manages (the crypto officer sets the
    /// crypto user's) and resets its failure counter. (Key 2 is retired.)
    pub struct SetPinRequest {
        /// The role whose PIN is set.
        0 => role: Role,
        /// The new PIN, sealed.
        1 => credential: SealedSecret,
    }
}

wire_map! {
    /// The PIN is set.
    pub struct SetPinResponse {}
}

wire_map! {
    /// Changes the session role's own PIN.
    pub struct ChangePinRequest {
        /// The role whose PIN changes: the session's.
        0 => role: Role,
        /// The current PIN, sealed.
        1 => old: SealedSecret,
        /// The new PIN, sealed.
        2 => new: SealedSecret,
    }
}

wire_map! {
    /// The PIN is changed.
    pub struct ChangePinResponse {}
}

wire_map! {
    /// Unlocks a role locked after too many wrong PINs (the officer unlocks the user).
    /// (Key 1 is retired.)
    pub struct UnlockRoleRequest {
        /// The role to unlock.
        0 => role: Role,
    }
}

wire_map! {
    /// The role is unlocked.
    pub struct UnlockRoleResponse {}
}
