//! The status of every response: stable wire values, grouped by range.

wire_enum! {
    /// The outcome of a request, carried in every response header (key 1).
    ///
    /// Values are stable forever: a status may be added, never renumbered or reused. The high
    /// byte names the group: `0x01` framing and decoding, `0x02` device state, `0x03`
    /// authentication and sessions, `0x04` partitions, `0x05` objects and attributes, `0x06`
    /// operations. Faults the client caused return a status; faults inside the module enter
    /// the error state and return [`Status::ErrorState`] from then on.
    ///
    /// A status added later is unknown to an older client. Such a client treats it as a
    /// failure of its group (`value >> 8`), not as a protocol failure: [`Response::decode`]
    /// accepts it as an [`ErrorStatus::Unknown`]. This is safe because every status but
    /// [`Status::Ok`] means the request failed and carries an empty body.
    ///
    /// [`Response::decode`]: crate::Response::decode
    pub enum Status: u32 {
        /// The request succeeded; the response body is the opcode's response.
        Ok = 0x0000,

        /// The length prefix exceeds the frame limit. The response carries request id 0 and
        /// the server then closes the connection, as after every response with request id 0.
        FrameTooLarge = 0x0101,
        /// The frame is not well-formed CBOR: it ends inside an item, uses a reserved head, an
        /// indefinite length or a break, or has text that is not UTF-8.
        Malformed = 0x0102,
        /// The request header's version (key 0) is not 1. Checked as soon as key 0 is read,
        /// before the opcode and the body.
        WrongVersion = 0x0103,
        /// The request header's opcode (key 1) names no operation.
        UnknownOpcode = 0x0104,
        /// A map holds a key not defined for that message, or a key that is not an unsigned
        /// integer; also a session (header key 3) on an opcode that takes none.
        UnknownField = 0x0105,
        /// A map holds the same key twice.
        DuplicateField = 0x0106,
        /// A required key is absent (also: a tagged map or a request header whose first
        /// entry is not key 0, a frame array of fewer than 2 items, a session-scoped opcode
        /// without a session).
        MissingField = 0x0107,
        /// An item's head has another CBOR major type than the field's (for example text
        /// where an unsigned integer is defined, or a tag); for a bool, any head but `false`
        /// and `true`. Judged from the head alone: what follows it is not read.
        WrongType = 0x0108,
        /// An integer names no value of the field's enum.
        UnknownEnumValue = 0x0109,
        /// A value is outside the field's bounds: text, bytes or array longer than the bound,
        /// a fixed-size byte string of another length, an integer out of range, or text not
        /// of the allowed characters. Also a response header whose fields contradict each
        /// other: status `Ok` with request id 0, or a `0x01xx` status with `approved` true.
        ValueOutOfRange = 0x010A,
        /// Bytes follow the top-level array, or the array declares more than 2 items (whether
        /// or not they are present).
        TrailingBytes = 0x010B,

        /// The device has no admin credential yet; only `GetStatus`, `GetCredentialKey` and
        /// `InitializeAdmin` are served.
        DeviceNotInitialized = 0x0201,
        /// The power-on self-tests have not finished; retry later.
        SelfTestsRunning = 0x0202,
        /// A hard error is latched (a self-test or the crypto engine failed): the module has
        /// zeroized its keys and refuses all cryptography until it is restarted.
        ErrorState = 0x0203,
        /// A tamper input fired: the module zeroized and serves nothing but `GetStatus`.
        Tampered = 0x0204,
        /// The work queue is full, or the tenant's share of the daemon's frame memory had no
        /// room for the request's reply within a second (its connections are not reading what
        /// they asked for); the request was not served. Retry later.
        Busy = 0x0205,
        /// The daemon is shutting down and accepts no new work.
        ShuttingDown = 0x0206,
        /// An unexpected internal failure that did not latch the error state.
        Internal = 0x0207,
        /// The operation is defined but this build does not provide it.
        NotSupported = 0x0208,
        /// The module's locked memory is full: a key is never kept anywhere else, so the
        /// request that needed room for one failed. Free keys or sessions, or give the
        /// module more locked memory.
        LockedMemoryExhausted = 0x0209,

        /// The call needs a login (of any role) that this connection does not hold, or names
        /// a login that does not exist on this connection.
        NotLoggedIn = 0x0301,
        /// The login's role may not make this call.
        RoleNotPermitted = 0x0302,
        /// The PIN is wrong. The failure counter was incremented before the comparison.
        PinIncorrect = 0x0303,
        /// The role is locked after too many wrong PINs; the officer unlocks the user, and a
        /// locked officer's partition can only be reset.
        PinLocked = 0x0304,
        /// The new PIN breaks the PIN policy (its length).
        PinInvalid = 0x0305,
        /// The sealed secret is bound to a nonce that is not this connection's current one
        /// (a replay, or a nonce from another connection). Not counted as a PIN failure.
        NonceStale = 0x0306,
        /// The ticket is unknown, used or expired.
        TicketInvalid = 0x0307,
        /// The session (header key 3) does not exist on this connection.
        SessionNotFound = 0x0308,
        /// The login or partition has its maximum number of sessions open.
        SessionLimit = 0x0309,
        /// The partition has its maximum number of logins.
        LoginLimit = 0x030A,
        /// `InitializeAdmin` on a device that already has an admin credential, or
        /// `InitializePartition` on a partition already initialized.
        AlreadyInitialized = 0x030B,
        /// A sealed secret does not open (bad ephemeral key or ciphertext). Not counted as a
        /// PIN failure.
        CredentialInvalid = 0x030C,
        /// The partition has its maximum number of connections (or the module its maximum
        /// for all partitions); answered with request id 0, then the connection closes.
        ConnectionLimit = 0x030D,

        /// No partition of that name exists (or the caller may not know of it).
        PartitionNotFound = 0x0401,
        /// A partition of that name exists already.
        PartitionExists = 0x0402,
        /// A partition quota (objects, sessions, logins, data bytes, locked memory) would be
        /// exceeded, or the module has no room left to reserve a new partition's share.
        QuotaExceeded = 0x0403,
        /// The service is not approved and the partition's policy does not allow it.
        PolicyNotApproved = 0x0404,
        /// The partition is not initialized (new, or reset by the admin): only `GetStatus`,
        /// `GetCredentialKey`, `GetPartitionInfo` and `InitializePartition` are served.
        PartitionNotInitialized = 0x0405,

        /// No such object in the caller's partition. Also the answer for a handle or a blob of
        /// another partition, so a status never reveals that another partition's object exists.
        ObjectNotFound = 0x0501,
        /// An attribute type does not apply to that object class or key type.
        AttributeTypeInvalid = 0x0502,
        /// An attribute value is not acceptable for that object.
        AttributeValueInvalid = 0x0503,
        /// The attribute cannot be set or changed (after creation, or ever).
        AttributeReadOnly = 0x0504,
        /// The attribute cannot be revealed (a sensitive or non-extractable key's value).
        AttributeSensitive = 0x0505,
        /// The template lacks an attribute the operation needs.
        TemplateIncomplete = 0x0506,
        /// The template's attributes contradict each other or the operation.
        TemplateInconsistent = 0x0507,
        /// The key's type does not fit the mechanism.
        KeyTypeInconsistent = 0x0508,
        /// The key's usage attributes do not allow the operation (for example `Sign` false).
        KeyUsageNotPermitted = 0x0509,
        /// The key may not leave the module (`Extractable` false).
        KeyNotExtractable = 0x050A,
        /// The key's size does not fit the mechanism or the policy.
        KeySizeInvalid = 0x050B,
        /// The object's attributes forbid the action (`Copyable`, `Destroyable` or
        /// `Modifiable` false).
        ActionProhibited = 0x050C,
        /// The `FindObjects` cursor is not one this session issued for this search.
        CursorInvalid = 0x050D,

        /// The mechanism does not exist for this operation or key.
        MechanismInvalid = 0x0601,
        /// The mechanism's parameters are not acceptable (for example an IV given to an
        /// encryption whose IV the module makes).
        MechanismParamInvalid = 0x0602,
        /// An operation of this kind is already active in the session.
        OperationActive = 0x0603,
        /// No operation of this kind is active in the session.
        OperationNotInitialized = 0x0604,
        /// The input's length does not fit the mechanism or key, an output would exceed
        /// 1 MiB, or the response would exceed the frame limit.
        DataLenRange = 0x0605,
        /// A signature, tag, padding or wrapped key did not verify. One opaque status for all
        /// of them, so the response is no oracle.
        VerificationFailed = 0x0606,
        /// The key reached a usage limit (for example the AES-GCM invocation cap).
        UsageLimitReached = 0x0607,
        /// A masked key blob does not open, is of another partition, or names a deleted key.
        BlobInvalid = 0x0608,
    }
}

impl Status {
    /// Whether the status is one of the `0x01xx` framing and decoding statuses.
    #[must_use]
    pub const fn is_decode_error(self) -> bool {
        self.value() >> 8 == 0x01
    }
}

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{self:?} (0x{:04x})", self.value())
    }
}

/// The status of a response that failed: a [`Status`] this crate knows, or a value it does
/// not know, which a later revision of the protocol added.
///
/// A client treats an unknown value as a failure of its group ([`ErrorStatus::group`]): it
/// reports a failure of that group with the value, never one of the statuses it knows, and
/// goes on using the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorStatus {
    /// A status of this crate. [`Status::Ok`] here is not a failure, and a response holding
    /// it cannot be encoded.
    Known(Status),
    /// A status value this crate does not know.
    Unknown(UnknownStatus),
}

impl ErrorStatus {
    /// The failure a status value names; `None` for 0 ([`Status::Ok`]), which is no failure.
    #[must_use]
    pub fn from_value(value: u32) -> Option<Self> {
        match Status::try_from(value) {
            Ok(Status::Ok) => None,
            Ok(status) => Some(Self::Known(status)),
            Err(_) => Some(Self::Unknown(UnknownStatus(value))),
        }
    }

    /// The value on the wire.
    #[must_use]
    pub const fn value(self) -> u32 {
        match self {
            Self::Known(status) => status.value(),
            Self::Unknown(status) => status.0,
        }
    }

    /// The status, if this crate knows it.
    #[must_use]
    pub const fn known(self) -> Option<Status> {
        match self {
            Self::Known(status) => Some(status),
            Self::Unknown(_) => None,
        }
    }

    /// The group: the value without its low byte (`0x01` framing and decoding, ..., `0x06`
    /// operations; any other group is unknown too).
    #[must_use]
    pub const fn group(self) -> u32 {
        self.value() >> 8
    }

    /// Whether the status is in the `0x01xx` framing and decoding group, known or not.
    #[must_use]
    pub const fn is_decode_error(self) -> bool {
        self.group() == 0x01
    }
}

impl From<Status> for ErrorStatus {
    fn from(status: Status) -> Self {
        Self::Known(status)
    }
}

impl core::fmt::Display for ErrorStatus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Known(status) => core::fmt::Display::fmt(status, f),
            Self::Unknown(status) => write!(f, "unknown status (0x{:04x})", status.0),
        }
    }
}

/// A status value that is not 0 and names no [`Status`] of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UnknownStatus(u32);

impl UnknownStatus {
    /// The value, if it is not 0 and names no [`Status`].
    #[must_use]
    pub fn new(value: u32) -> Option<Self> {
        match ErrorStatus::from_value(value) {
            Some(ErrorStatus::Unknown(status)) => Some(status),
            _ => None,
        }
    }

    /// The value on the wire.
    #[must_use]
    pub const fn value(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn values_are_unique_and_round_trip() {
        let mut seen = HashSet::new();
        for status in Status::ALL {
            assert!(seen.insert(status.value()), "{status:?} reuses a value");
            assert_eq!(Status::try_from(status.value()), Ok(*status));
            assert_eq!(u32::from(*status), status.value());
        }
        assert_eq!(seen.len(), Status::ALL.len());
    }

    #[test]
    fn unknown_values_are_refused() {
        for value in [0x0001, 0x0100, 0x01ff, 0x0700, u32::MAX] {
            assert_eq!(
                Status::try_from(value),
                Err(crate::UnknownValue(u64::from(value)))
            );
        }
    }

    #[test]
    fn decode_errors_are_in_their_range() {
        assert!(Status::Malformed.is_decode_error());
        assert!(!Status::Ok.is_decode_error());
        assert!(!Status::DeviceNotInitialized.is_decode_error());
    }

    #[test]
    fn unknown_values_are_failures_of_their_group() {
        assert_eq!(ErrorStatus::from_value(0), None);
        assert_eq!(
            ErrorStatus::from_value(0x0303),
            Some(ErrorStatus::Known(Status::PinIncorrect))
        );
        let unknown = ErrorStatus::from_value(0x03ff).unwrap();
        assert_eq!(unknown.known(), None);
        assert_eq!((unknown.value(), unknown.group()), (0x03ff, 0x03));
        assert!(!unknown.is_decode_error());
        assert!(ErrorStatus::from_value(0x01ff).unwrap().is_decode_error());
        assert_eq!(
            ErrorStatus::from_value(0x0001_0101).unwrap().group(),
            0x0101
        );
        assert_eq!(
            UnknownStatus::new(0x03ff).map(UnknownStatus::value),
            Some(0x03ff)
        );
        for value in [0, 0x0101] {
            assert_eq!(UnknownStatus::new(value), None);
        }
        assert_eq!(unknown.to_string(), "unknown status (0x03ff)");
    }
}
