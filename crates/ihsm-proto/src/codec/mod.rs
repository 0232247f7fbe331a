//! The codec every message goes through: the strict reader, the canonical writer, and the
//! traits the message types implement.
//!
//! [`Reader`] classifies each item from its head before it consumes it, so every fault maps to
//! exactly one status: a reserved or indefinite head, or input that ends inside an item, is
//! [`Status::Malformed`]; a complete head of the wrong major type (or, for a bool, any head
//! but `0xf4`/`0xf5`) is [`Status::WrongType`], judged from the head alone without reading
//! what follows it; a declared length above the field's bound is [`Status::ValueOutOfRange`],
//! checked before any byte of the item is copied. [`MapReader`] is the only way a map is
//! read: it refuses unknown keys, duplicate keys (a 64-bit mask of keys seen) and missing
//! required keys.
//!
//! [`Writer`] emits definite lengths and the shortest form of every integer (minicbor's
//! encoder does both), into a buffer that is zeroized whenever it grows or is dropped, because
//! frames may carry secrets.

mod reader;
mod writer;

pub(crate) use reader::{MapReader, Reader};
pub(crate) use writer::Writer;

use crate::{DecodeError, Status};

/// A value with one CBOR encoding.
pub(crate) trait Wire: Sized {
    /// The fewest bytes any valid encoding of the type takes: a lower bound, used to bound
    /// how many items a list preallocates for to the items that could fit the bytes left.
    const MIN_LEN: usize = 1;
    /// Appends the canonical encoding of `self`.
    fn encode(&self, w: &mut Writer);
    /// Reads one value, refusing anything but its strict encoding.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// A type coded as the entries of a map, so a tagged map (key 0 first) can embed it.
pub(crate) trait Entries {
    /// The number of entries `encode_entries` writes.
    fn entry_count(&self) -> u64;
    /// Writes the entries, keys ascending.
    fn encode_entries(&self, w: &mut Writer);
    /// Reads the remaining entries of `map`.
    fn decode_entries(r: &mut Reader<'_>, map: MapReader) -> Result<Self, DecodeError>
    where
        Self: Sized;
}

/// A struct field: `T` is required, `Option<T>` optional.
pub(crate) trait Field: Sized {
    /// The value coded under the field's key.
    type Item: Wire;
    /// Whether a map lacking the key is refused with [`Status::MissingField`].
    const REQUIRED: bool;
    /// The value to encode, if any.
    fn item(&self) -> Option<&Self::Item>;
    /// The field from the decoded value; `None` if a required value is absent.
    fn from_item(item: Option<Self::Item>) -> Option<Self>;
}

impl<T: Wire> Field for T {
    type Item = T;
    const REQUIRED: bool = true;

    fn item(&self) -> Option<&T> {
        Some(self)
    }

    fn from_item(item: Option<T>) -> Option<Self> {
        item
    }
}

impl<T: Wire> Field for Option<T> {
    type Item = T;
    const REQUIRED: bool = false;

    fn item(&self) -> Option<&T> {
        self.as_ref()
    }

    fn from_item(item: Option<T>) -> Option<Self> {
        Some(item)
    }
}

/// Whether `keys` are ascending and all below 64 (checked at compile time for each map).
pub(crate) const fn keys_ascending(keys: &[u32]) -> bool {
    match keys {
        [] => true,
        [first, rest @ ..] => {
            let next_is_greater = match rest {
                [next, ..] => *next > *first,
                [] => true,
            };
            *first < 64 && next_is_greater && keys_ascending(rest)
        }
    }
}

/// `usize` to `u64`, which cannot fail on the targets Rust supports.
/// Decodes one `T` from `bytes`, reporting only the status: the unit tests' view of a
/// decoder.
#[cfg(test)]
pub(crate) fn decode_one<T: Wire>(bytes: &[u8]) -> Result<T, Status> {
    T::decode(&mut Reader::new(bytes)).map_err(|e| e.status())
}

/// Wipes a buffer's whole allocation, at the speed of `memset`, and leaves it empty.
///
/// `zeroize` wipes a `Vec`'s spare capacity with one `memset` behind an optimization barrier
/// but its initialized bytes one volatile write at a time, which costs more than AES-GCM over
/// the same bytes. With the length set to zero first, the whole allocation is spare capacity.
/// (Correct either way: only the speed depends on how `zeroize` does it.)
pub fn wipe(buffer: &mut Vec<u8>) {
    buffer.clear();
    zeroize::Zeroize::zeroize(buffer);
}

pub(crate) fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

impl Wire for bool {
    fn encode(&self, w: &mut Writer) {
        w.bool(*self);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.bool()
    }
}

impl Wire for u32 {
    fn encode(&self, w: &mut Writer) {
        w.uint(u64::from(*self));
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u32()
    }
}

impl Wire for u64 {
    fn encode(&self, w: &mut Writer) {
        w.uint(*self);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.uint()
    }
}

/// A fixed-size byte string: any other length is [`Status::ValueOutOfRange`].
impl<const N: usize> Wire for [u8; N] {
    const MIN_LEN: usize = 1 + N;

    fn encode(&self, w: &mut Writer) {
        w.bytes(self);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.position();
        let bytes = r.bytes(N)?;
        Self::try_from(bytes).map_err(|_| r.error_at(at, Status::ValueOutOfRange))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_ascend_below_64() {
        assert!(keys_ascending(&[]));
        assert!(keys_ascending(&[0, 1, 5, 63]));
        assert!(!keys_ascending(&[1, 0]));
        assert!(!keys_ascending(&[1, 1]));
        assert!(!keys_ascending(&[64]));
    }
}
