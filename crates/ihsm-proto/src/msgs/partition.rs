//! Partition messages: lifecycle (create, initialize, reset, delete), state, quotas and
//! policy.

use crate::{
    List, MechanismId, PartitionName, Quotas, SealedSecret, SecretBytes, MAX_PARTITIONS,
    MAX_POLICY_MECHANISMS, MAX_SEALED_LEN,
};

wire_map! {
    /// Creates a partition, not yet initialized (admin session). Its owner initializes it on
    /// its own socket; the admin never knows its credentials. (Keys 2 and 3 are retired.)
    pub struct CreatePartitionRequest {
        /// The new partition's name.
        0 => name: PartitionName,
        /// Its quotas.
        1 => quotas: Quotas,
    }
}

wire_map! {
    /// The partition exists, uninitialized. (Key 0 is retired.)
    pub struct CreatePartitionResponse {}
}

wire_map! {
    /// Initializes the partition of the socket (anyone on it, while it is uninitialized):
    /// its first crypto officer PIN and its owner's backup secret.
    pub struct InitializePartitionRequest {
        /// The first crypto officer PIN, sealed to the partition's credential key.
        0 => officer_credential: SealedSecret,
        /// The owner's backup secret, sealed; absent: the device generates one and returns
        /// it once.
        1 => backup_secret: Option<SealedSecret>,
    }
}

wire_map! {
    /// The partition is initialized.
    pub struct InitializePartitionResponse {
        /// The generated backup secret, wrapped for the owner; present only when the request
        /// carried none. It is returned this once and never again.
        0 => wrapped_backup_secret: Option<SecretBytes<MAX_SEALED_LEN>>,
    }
}

wire_map! {
    /// Returns a partition to its uninitialized state (admin session): in one step, every
    /// object, key, credential and ledger entry of it is destroyed and its own keys are made
    /// anew; its name, socket and quotas stay, and its reset count goes up.
    pub struct ResetPartitionRequest {
        /// The partition's name.
        0 => name: PartitionName,
    }
}

wire_map! {
    /// The partition is reset.
    pub struct ResetPartitionResponse {
        /// How many times it has been reset, this one included.
        0 => resets: u32,
    }
}

wire_map! {
    /// Describes the partition of the socket (anyone on it).
    pub struct GetPartitionInfoRequest {}
}

wire_map! {
    /// The partition of the socket.
    pub struct GetPartitionInfoResponse {
        /// Its state, quotas and use.
        0 => partition: PartitionInfo,
    }
}

wire_map! {
    /// Lists the partitions (admin session).
    pub struct ListPartitionsRequest {}
}

wire_map! {
    /// Every partition.
    pub struct ListPartitionsResponse {
        /// The partitions, in name order.
        0 => partitions: List<PartitionInfo, MAX_PARTITIONS>,
    }
}

wire_map! {
    /// A partition's state, quotas and use.
    pub struct PartitionInfo {
        /// Its name.
        0 => name: PartitionName,
        /// Its quotas.
        1 => quotas: Quotas,
        /// How many persistent objects it holds.
        2 => object_count: u32,
        /// Whether its owner initialized it (its officer PIN and backup secret are set).
        3 => initialized: bool,
        /// How many times the admin reset it, or deleted it and made one of the same name.
        4 => resets: u32,
        /// Sessions open now.
        5 => sessions: u32,
        /// Logins now.
        6 => logins: u32,
        /// Connections to its socket now.
        7 => connections: u32,
        /// Bytes of locked memory it holds now (0 where the module has no locked arena).
        8 => locked_bytes: u32,
    }
}

wire_map! {
    /// Deletes a partition and zeroizes everything in it (admin session).
    pub struct DeletePartitionRequest {
        /// The partition's name.
        0 => name: PartitionName,
    }
}

wire_map! {
    /// The partition is gone.
    pub struct DeletePartitionResponse {}
}

wire_map! {
    /// Reads the session partition's policy.
    pub struct GetPartitionPolicyRequest {}
}

wire_map! {
    /// The partition's policy.
    pub struct GetPartitionPolicyResponse {
        /// Non-approved mechanisms the officer allowed; all else non-approved is refused with
        /// `PolicyNotApproved`.
        0 => allow_non_approved: List<MechanismId, MAX_POLICY_MECHANISMS>,
    }
}

wire_map! {
    /// Replaces the session partition's policy (officer session).
    pub struct SetPartitionPolicyRequest {
        /// Non-approved mechanisms to allow; empty means approved services only.
        0 => allow_non_approved: List<MechanismId, MAX_POLICY_MECHANISMS>,
    }
}

wire_map! {
    /// The policy is in force.
    pub struct SetPartitionPolicyResponse {}
}

wire_map! {
    /// Destroys every key and object of the session's partition (officer session); its
    /// credentials, quotas and policy remain.
    pub struct ZeroizePartitionRequest {}
}

wire_map! {
    /// The partition is zeroized.
    pub struct ZeroizePartitionResponse {}
}
