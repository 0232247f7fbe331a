//! The records the device persists, and their keys: CBOR arrays with a version first, made
//! and read only here. The store seals them; this module only lays them out.

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};
use zeroize::Zeroizing;

use ihsm_proto::{Handle, MechanismId, PartitionName, Quotas, Role, Template};

use crate::object::Purpose;
use crate::partition::LedgerEntry;
use crate::store::{RecordKey, Table};

const VERSION: u8 = 1;
/// The partition record's version: 2 adds the new quotas, the reset count, and a masking key
/// that may be absent (an uninitialized partition). Version 1 records are still read.
const PARTITION_VERSION: u8 = 2;

/// Quotas a version 1 partition record did not have.
const V1_MAX_CONNECTIONS: u32 = 256;
const V1_MAX_LOCKED_BYTES: u32 = 1 << 20;

/// The admin credential's record key.
pub(crate) fn admin_credential() -> RecordKey {
    RecordKey::new(Table::Credential, realm_role(None, Role::Admin))
}

/// A role's credential record key in a realm (`None`: the admin realm).
pub(crate) fn credential(partition: Option<&PartitionName>, role: Role) -> RecordKey {
    RecordKey::new(Table::Credential, realm_role(partition, role))
}

/// A role's failure counter record key.
pub(crate) fn counter(partition: Option<&PartitionName>, role: Role) -> RecordKey {
    RecordKey::new(Table::Counter, realm_role(partition, role))
}

/// A failure counter's value after a reset.
pub(crate) fn zero_count() -> Zeroizing<Vec<u8>> {
    Zeroizing::new(0u32.to_be_bytes().to_vec())
}

/// A realm's prefix: `0x00` for the admin realm, `0x01 || name || 0x00` for a partition.
pub(crate) fn realm_prefix(partition: Option<&PartitionName>) -> Vec<u8> {
    match partition {
        None => vec![0],
        Some(name) => [&[1][..], name.as_str().as_bytes(), &[0]].concat(),
    }
}

fn realm_role(partition: Option<&PartitionName>, role: Role) -> Vec<u8> {
    let mut key = realm_prefix(partition);
    key.push(u8::from(role));
    key
}

pub(crate) fn partition(name: &PartitionName) -> RecordKey {
    RecordKey::new(Table::Partition, name.as_str().as_bytes())
}

const GONE_PREFIX: &[u8] = b"gone/";

/// The record of a partition name deleted: the reset count a partition made again under it
/// starts from (4 bytes, big-endian), so its owner can see the admin was there.
pub(crate) fn gone(name: &PartitionName) -> RecordKey {
    RecordKey::new(
        Table::Device,
        [GONE_PREFIX, name.as_str().as_bytes()].concat(),
    )
}

/// The partition name of a `gone` record key.
pub(crate) fn gone_name(key: &[u8]) -> Option<PartitionName> {
    let name = key.strip_prefix(GONE_PREFIX)?;
    PartitionName::new(core::str::from_utf8(name).ok()?).ok()
}

pub(crate) fn object(name: &PartitionName, handle: Handle) -> RecordKey {
    let mut key = realm_prefix(Some(name));
    key.extend_from_slice(&handle.get().to_be_bytes());
    RecordKey::new(Table::Object, key)
}

/// A key's ledger record: its GCM reservation while it lives, its tombstone after.
pub(crate) fn ledger(name: &PartitionName, key_id: &[u8; 16]) -> RecordKey {
    let mut key = realm_prefix(Some(name));
    key.extend_from_slice(key_id);
    RecordKey::new(Table::KeyLedger, key)
}

/// The ledger record of the partition's masking key (a key id is 16 bytes; this is not).
pub(crate) fn masking_ledger(name: &PartitionName) -> RecordKey {
    let mut key = realm_prefix(Some(name));
    key.extend_from_slice(MASKING_LEDGER_SUFFIX);
    RecordKey::new(Table::KeyLedger, key)
}

pub(crate) const MASKING_LEDGER_SUFFIX: &[u8] = b"masking";

/// A ledger record's value: empty for a tombstone; else the GCM reservation (8 bytes,
/// big-endian) and whether blobs of the key may exist (1 byte: 0 or 1).
pub(crate) fn ledger_value(entry: LedgerEntry) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(match entry {
        LedgerEntry::Tombstone => Vec::new(),
        LedgerEntry::Live {
            gcm_reserved,
            blobs,
        } => {
            let mut value = gcm_reserved.to_be_bytes().to_vec();
            value.push(u8::from(blobs));
            value
        }
    })
}

/// The write that makes key `key_id`'s ledger record `entry` (`None`: no record).
pub(crate) fn ledger_write(
    name: &PartitionName,
    key_id: &[u8; 16],
    entry: Option<LedgerEntry>,
) -> crate::store::Write {
    let key = ledger(name, key_id);
    match entry {
        Some(entry) => crate::store::Write::Put(key, ledger_value(entry)),
        None => crate::store::Write::Delete(key),
    }
}

pub(crate) fn parse_ledger_value(value: &[u8]) -> Option<LedgerEntry> {
    match value {
        [] => Some(LedgerEntry::Tombstone),
        bytes => {
            let (count, blobs) = bytes.split_first_chunk::<8>()?;
            let blobs = match blobs {
                [0] => false,
                [1] => true,
                _ => return None,
            };
            Some(LedgerEntry::Live {
                gcm_reserved: u64::from_be_bytes(*count),
                blobs,
            })
        }
    }
}

/// The partition name and the rest of a key under a partition's prefix.
pub(crate) fn split_realm_key(key: &[u8]) -> Option<(PartitionName, &[u8])> {
    let rest = key.strip_prefix(&[1])?;
    let end = rest.iter().position(|b| *b == 0)?;
    let (name, rest) = rest.split_at(end);
    let name = PartitionName::new(core::str::from_utf8(name).ok()?).ok()?;
    Some((name, rest.get(1..)?))
}

/// A partition: its quotas, policy, keys and reset count.
pub(crate) struct PartitionRecord {
    pub(crate) quotas: Quotas,
    pub(crate) policy: Vec<MechanismId>,
    pub(crate) attestation_pkcs8: Zeroizing<Vec<u8>>,
    pub(crate) credential_pkcs8: Zeroizing<Vec<u8>>,
    pub(crate) import_pkcs8: Zeroizing<Vec<u8>>,
    /// Absent until the owner initializes the partition.
    pub(crate) masking_key: Option<Zeroizing<Vec<u8>>>,
    pub(crate) rsa_import_pkcs8: Option<Zeroizing<Vec<u8>>>,
    pub(crate) resets: u32,
}

/// An object: its attributes and, for a key, its identity and material.
pub(crate) struct ObjectRecord {
    pub(crate) handle: Handle,
    pub(crate) attributes: Template,
    pub(crate) key: Option<KeyRecord>,
}

/// A key as a token object's record holds it (its GCM count is in the key ledger).
pub(crate) struct KeyRecord {
    pub(crate) id: [u8; 16],
    pub(crate) flags: KeyFlags,
    pub(crate) material: Zeroizing<Vec<u8>>,
}

/// What a key is fixed to at its making, as one byte in records and blobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyFlags {
    pub(crate) kdf_input_only: bool,
    pub(crate) purpose: Purpose,
}

impl KeyFlags {
    const KDF_INPUT_ONLY: u8 = 1;
    const TRANSPORT: u8 = 2;

    pub(crate) fn to_byte(self) -> u8 {
        let mut byte = 0;
        if self.kdf_input_only {
            byte |= Self::KDF_INPUT_ONLY;
        }
        if self.purpose == Purpose::Transport {
            byte |= Self::TRANSPORT;
        }
        byte
    }

    /// `None` for a byte with unknown bits.
    pub(crate) fn from_byte(byte: u8) -> Option<Self> {
        if byte & !(Self::KDF_INPUT_ONLY | Self::TRANSPORT) != 0 {
            return None;
        }
        Some(Self {
            kdf_input_only: byte & Self::KDF_INPUT_ONLY != 0,
            purpose: if byte & Self::TRANSPORT != 0 {
                Purpose::Transport
            } else {
                Purpose::Data
            },
        })
    }
}

/// Room enough that the buffer never grows (growing would leave copies of secrets behind).
fn buffer(secret_len: usize) -> Vec<u8> {
    Vec::with_capacity(secret_len + 4096)
}

impl PartitionRecord {
    pub(crate) fn encode(&self) -> Option<Zeroizing<Vec<u8>>> {
        let secrets = self.attestation_pkcs8.len()
            + self.credential_pkcs8.len()
            + self.import_pkcs8.len()
            + self.masking_key.as_ref().map_or(0, |k| k.len())
            + self.rsa_import_pkcs8.as_ref().map_or(0, |k| k.len());
        let mut e = Encoder::new(buffer(secrets));
        e.array(9).ok()?.u8(PARTITION_VERSION).ok()?;
        e.array(6)
            .ok()?
            .u32(self.quotas.max_objects)
            .ok()?
            .u32(self.quotas.max_sessions)
            .ok()?
            .u32(self.quotas.max_logins)
            .ok()?
            .u32(self.quotas.max_data_object_bytes)
            .ok()?
            .u32(self.quotas.max_connections)
            .ok()?
            .u32(self.quotas.max_locked_bytes)
            .ok()?;
        e.array(u64::try_from(self.policy.len()).ok()?).ok()?;
        for mechanism in &self.policy {
            e.u16(u16::from(*mechanism)).ok()?;
        }
        e.bytes(&self.attestation_pkcs8).ok()?;
        e.bytes(&self.credential_pkcs8).ok()?;
        e.bytes(&self.import_pkcs8).ok()?;
        for optional in [&self.masking_key, &self.rsa_import_pkcs8] {
            match optional {
                Some(key) => e.bytes(key).ok()?,
                None => e.null().ok()?,
            };
        }
        e.u32(self.resets).ok()?;
        Some(Zeroizing::new(e.into_writer()))
    }

    /// Reads a version 2 record, or a version 1 record (always initialized, never reset,
    /// with the new quotas at their version 1 values).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut d = Decoder::new(bytes);
        let len = d.array().ok()??;
        let version = d.u8().ok()?;
        match (version, len) {
            (1, 8) | (PARTITION_VERSION, 9) => {}
            _ => return None,
        }
        let quota_count = if version == 1 { 4 } else { 6 };
        expect_array(&mut d, quota_count)?;
        let mut quotas = Quotas {
            max_objects: d.u32().ok()?,
            max_sessions: d.u32().ok()?,
            max_logins: d.u32().ok()?,
            max_data_object_bytes: d.u32().ok()?,
            max_connections: V1_MAX_CONNECTIONS,
            max_locked_bytes: V1_MAX_LOCKED_BYTES,
        };
        if version == PARTITION_VERSION {
            quotas.max_connections = d.u32().ok()?;
            quotas.max_locked_bytes = d.u32().ok()?;
        }
        let count = d.array().ok()??;
        let mut policy = Vec::new();
        for _ in 0..count.min(ihsm_proto::MAX_POLICY_MECHANISMS as u64 + 1) {
            policy.push(MechanismId::try_from(d.u16().ok()?).ok()?);
        }
        let secret = |d: &mut Decoder<'_>| d.bytes().ok().map(|b| Zeroizing::new(b.to_vec()));
        let optional = |d: &mut Decoder<'_>| -> Option<Option<Zeroizing<Vec<u8>>>> {
            if d.datatype().ok()? == Type::Null {
                d.null().ok()?;
                Some(None)
            } else {
                secret(d).map(Some)
            }
        };
        let attestation_pkcs8 = secret(&mut d)?;
        let credential_pkcs8 = secret(&mut d)?;
        let import_pkcs8 = secret(&mut d)?;
        let masking_key = if version == 1 {
            Some(secret(&mut d)?)
        } else {
            optional(&mut d)?
        };
        let rsa_import_pkcs8 = optional(&mut d)?;
        let resets = if version == 1 { 0 } else { d.u32().ok()? };
        let record = Self {
            quotas,
            policy,
            attestation_pkcs8,
            credential_pkcs8,
            import_pkcs8,
            masking_key,
            rsa_import_pkcs8,
            resets,
        };
        (d.position() == bytes.len()).then_some(record)
    }
}

impl ObjectRecord {
    pub(crate) fn encode(&self) -> Option<Zeroizing<Vec<u8>>> {
        let attributes = self.attributes.to_cbor();
        let secret = self.key.as_ref().map_or(0, |k| k.material.len());
        let mut e = Encoder::new(buffer(secret + attributes.len()));
        e.array(4)
            .ok()?
            .u8(VERSION)
            .ok()?
            .u64(self.handle.get())
            .ok()?;
        e.bytes(&attributes).ok()?;
        match &self.key {
            Some(key) => {
                e.array(3)
                    .ok()?
                    .bytes(&key.id)
                    .ok()?
                    .u8(key.flags.to_byte())
                    .ok()?
                    .bytes(&key.material)
                    .ok()?;
            }
            None => {
                e.null().ok()?;
            }
        }
        Some(Zeroizing::new(e.into_writer()))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut d = Decoder::new(bytes);
        expect_array(&mut d, 4)?;
        (d.u8().ok()? == VERSION).then_some(())?;
        let handle = Handle::new(d.u64().ok()?)?;
        let attributes = Template::from_cbor(d.bytes().ok()?).ok()?;
        let key = if d.datatype().ok()? == Type::Null {
            d.null().ok()?;
            None
        } else {
            expect_array(&mut d, 3)?;
            Some(KeyRecord {
                id: d.bytes().ok()?.try_into().ok()?,
                flags: KeyFlags::from_byte(d.u8().ok()?)?,
                material: Zeroizing::new(d.bytes().ok()?.to_vec()),
            })
        };
        (d.position() == bytes.len()).then_some(Self {
            handle,
            attributes,
            key,
        })
    }
}

fn expect_array(d: &mut Decoder<'_>, len: u64) -> Option<()> {
    (d.array().ok()? == Some(len)).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ihsm_proto::Attribute;

    #[test]
    fn object_records_round_trip_and_refuse_trailing_bytes() {
        let record = ObjectRecord {
            handle: Handle::new(42).unwrap(),
            attributes: Template::new([Attribute::Token(true)]).unwrap(),
            key: Some(KeyRecord {
                id: [3; 16],
                flags: KeyFlags {
                    kdf_input_only: true,
                    purpose: Purpose::Transport,
                },
                material: Zeroizing::new(vec![9; 32]),
            }),
        };
        let bytes = record.encode().unwrap();
        let back = ObjectRecord::decode(&bytes).unwrap();
        assert_eq!(back.handle, record.handle);
        assert_eq!(back.attributes, record.attributes);
        let key = back.key.unwrap();
        assert_eq!(key.id, [3; 16]);
        assert_eq!(key.flags.to_byte(), 3);
        assert_eq!(*key.material, vec![9; 32]);
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(ObjectRecord::decode(&longer).is_none());
        assert!(ObjectRecord::decode(&bytes[..bytes.len() - 1]).is_none());
    }

    #[test]
    fn key_flags_and_ledger_values_round_trip_and_refuse_unknown_bits() {
        for byte in 0..4 {
            assert_eq!(KeyFlags::from_byte(byte).unwrap().to_byte(), byte);
        }
        assert!(KeyFlags::from_byte(4).is_none());
        for entry in [
            LedgerEntry::Tombstone,
            LedgerEntry::Live {
                gcm_reserved: 0,
                blobs: false,
            },
            LedgerEntry::Live {
                gcm_reserved: u64::MAX,
                blobs: true,
            },
        ] {
            assert_eq!(parse_ledger_value(&ledger_value(entry)), Some(entry));
        }
        assert_eq!(parse_ledger_value(&[1, 2, 3]), None);
        assert_eq!(parse_ledger_value(&[0; 8]), None);
        assert_eq!(parse_ledger_value(&[0, 0, 0, 0, 0, 0, 0, 0, 2]), None);
    }

    #[test]
    fn partition_records_round_trip_and_version_1_still_reads() {
        let record = PartitionRecord {
            quotas: Quotas {
                max_objects: 1,
                max_sessions: 2,
                max_logins: 3,
                max_data_object_bytes: 4,
                max_connections: 5,
                max_locked_bytes: 6,
            },
            policy: vec![MechanismId::RsaPkcs1],
            attestation_pkcs8: Zeroizing::new(vec![1; 3]),
            credential_pkcs8: Zeroizing::new(vec![2; 3]),
            import_pkcs8: Zeroizing::new(vec![3; 3]),
            masking_key: None,
            rsa_import_pkcs8: Some(Zeroizing::new(vec![4; 3])),
            resets: 7,
        };
        let bytes = record.encode().unwrap();
        let back = PartitionRecord::decode(&bytes).unwrap();
        assert_eq!(back.quotas, record.quotas);
        assert_eq!((back.masking_key.is_none(), back.resets), (true, 7));
        assert_eq!(back.rsa_import_pkcs8.as_deref(), Some(&vec![4; 3]));
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(PartitionRecord::decode(&longer).is_none());

        // Version 1, as earlier builds wrote it: always a masking key, four quotas.
        let mut e = Encoder::new(Vec::new());
        e.array(8).unwrap().u8(1).unwrap();
        e.array(4).unwrap();
        for quota in [10, 20, 30, 40] {
            e.u32(quota).unwrap();
        }
        e.array(0).unwrap();
        for secret in [[1u8; 3], [2; 3], [3; 3], [9; 3]] {
            e.bytes(&secret).unwrap();
        }
        e.null().unwrap();
        let old = PartitionRecord::decode(e.writer()).unwrap();
        assert_eq!(old.masking_key.as_deref(), Some(&vec![9; 3]));
        assert_eq!((old.resets, old.quotas.max_objects), (0, 10));
        assert_eq!(
            (old.quotas.max_connections, old.quotas.max_locked_bytes),
            (V1_MAX_CONNECTIONS, V1_MAX_LOCKED_BYTES)
        );
    }

    #[test]
    fn realm_keys_split_back() {
        let name = PartitionName::new("tenant-a").unwrap();
        let key = object(&name, Handle::new(7).unwrap());
        let (back, rest) = split_realm_key(&key.key).unwrap();
        assert_eq!(back, name);
        assert_eq!(rest, 7u64.to_be_bytes());
    }
}
