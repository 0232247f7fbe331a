//! Partition messages: lifecycle, quotas and policy.

use crate::{
    List, MechanismId, PartitionName, Quotas, SealedSecret, SecretBytes, MAX_PARTITIONS,
    MAX_POLICY_MECHANISMS, MAX_SEALED_LEN,
};

wire_map! {
    /// Creates a partition (admin session).
    pub struct CreatePartitionRequest {
        /// The new partition's name.
        0 => name: PartitionName,
        /// Its quotas.
        1 => quotas: Quotas,
        /// The first crypto officer PIN, sealed to the admin socket's credential key.
        2 => officer_credential: SealedSecret,
        /// The owner's backup secret, sealed; absent: the device generates one and returns
        /// it once.
        3 => backup_secret: Option<SealedSecret>,
    }
}

wire_map! {
    /// The partition exists.
    pub struct CreatePartitionResponse {
        /// The generated backup secret, wrapped for the owner; present only when the request
        /// carried none. It is returned this once and never again.
        0 => wrapped_backup_secret: Option<SecretBytes<MAX_SEALED_LEN>>,
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
    /// One partition in a listing.
    pub struct PartitionInfo {
        /// Its name.
        0 => name: PartitionName,
        /// Its quotas.
        1 => quotas: Quotas,
        /// How many persistent objects it holds.
        2 => object_count: u32,
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
