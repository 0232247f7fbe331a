//! Values whose bounds are part of their type: holding one means it fits its field.
//!
//! The decoder checks each bound before it copies a byte, and the constructors check the same
//! bounds, so an encoder built from these types cannot produce a field its peer would refuse.

use core::fmt;
use core::ops::Deref;

use zeroize::Zeroizing;

use crate::codec::{Reader, Wire, Writer};
use crate::{BoundsError, DecodeError, Status};

/// A byte string of at most `MAX` bytes.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Bytes<const MAX: usize>(Vec<u8>);

impl<const MAX: usize> Bytes<MAX> {
    /// The bound, in bytes.
    pub const MAX_LEN: usize = MAX;

    /// Takes `bytes` if it is at most `MAX` bytes long.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, BoundsError> {
        let bytes = bytes.into();
        if bytes.len() <= MAX {
            Ok(Self(bytes))
        } else {
            Err(BoundsError)
        }
    }

    /// The bytes.
    #[must_use]
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl<const MAX: usize> Deref for Bytes<MAX> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl<const MAX: usize> AsRef<[u8]> for Bytes<MAX> {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl<const MAX: usize> fmt::Debug for Bytes<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl<const MAX: usize> Wire for Bytes<MAX> {
    fn encode(&self, w: &mut Writer) {
        w.bytes(&self.0);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.bytes(MAX).map(|bytes| Self(bytes.to_vec()))
    }
}

/// A secret-bearing byte string of at most `MAX` bytes (key material, plaintext, random
/// bytes, tickets): zeroized on drop, and its `Debug` shows only its length.
///
/// Its `PartialEq` is not constant-time; it exists for tests. Compare secrets in the engine.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretBytes<const MAX: usize>(Zeroizing<Vec<u8>>);

impl<const MAX: usize> SecretBytes<MAX> {
    /// The bound, in bytes.
    pub const MAX_LEN: usize = MAX;

    /// Takes `bytes` if it is at most `MAX` bytes long (zeroizing them otherwise).
    pub fn new(bytes: impl Into<Zeroizing<Vec<u8>>>) -> Result<Self, BoundsError> {
        let bytes = bytes.into();
        if bytes.len() <= MAX {
            Ok(Self(bytes))
        } else {
            Err(BoundsError)
        }
    }

    /// Copies `bytes` if it is at most `MAX` bytes long.
    pub fn copy_from(bytes: &[u8]) -> Result<Self, BoundsError> {
        if bytes.len() <= MAX {
            Ok(Self(Zeroizing::new(bytes.to_vec())))
        } else {
            Err(BoundsError)
        }
    }

    /// The secret bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret bytes, still zeroized on drop.
    #[must_use]
    pub fn into_inner(mut self) -> Zeroizing<Vec<u8>> {
        core::mem::take(&mut self.0)
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const MAX: usize> Drop for SecretBytes<MAX> {
    fn drop(&mut self) {
        crate::codec::wipe(&mut self.0);
    }
}

impl<const MAX: usize> fmt::Debug for SecretBytes<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

impl<const MAX: usize> Wire for SecretBytes<MAX> {
    fn encode(&self, w: &mut Writer) {
        w.bytes(&self.0);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.bytes(MAX)
            .map(|bytes| Self(Zeroizing::new(bytes.to_vec())))
    }
}

/// UTF-8 text of at most `MAX` bytes.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    /// The bound, in bytes of UTF-8.
    pub const MAX_LEN: usize = MAX;

    /// Takes `text` if it is at most `MAX` bytes long.
    pub fn new(text: impl Into<String>) -> Result<Self, BoundsError> {
        let text = text.into();
        if text.len() <= MAX {
            Ok(Self(text))
        } else {
            Err(BoundsError)
        }
    }

    /// The text.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl<const MAX: usize> Deref for Text<MAX> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> fmt::Debug for Text<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<const MAX: usize> Wire for Text<MAX> {
    fn encode(&self, w: &mut Writer) {
        w.text(&self.0);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.text(MAX).map(|text| Self(text.to_owned()))
    }
}

/// An array of at most `MAX` items.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct List<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> List<T, MAX> {
    /// The bound, in items.
    pub const MAX_LEN: usize = MAX;

    /// Takes `items` if there are at most `MAX`.
    pub fn new(items: impl Into<Vec<T>>) -> Result<Self, BoundsError> {
        let items = items.into();
        if items.len() <= MAX {
            Ok(Self(items))
        } else {
            Err(BoundsError)
        }
    }

    /// The items.
    #[must_use]
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }
}

impl<T, const MAX: usize> Default for List<T, MAX> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T, const MAX: usize> Deref for List<T, MAX> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: fmt::Debug, const MAX: usize> fmt::Debug for List<T, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl<T: Wire, const MAX: usize> Wire for List<T, MAX> {
    fn encode(&self, w: &mut Writer) {
        w.array(self.0.len());
        for item in &self.0 {
            item.encode(w);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        decode_items(r, MAX, |_, _| Ok(())).map(Self)
    }
}

/// Reads a definite array of at most `max` items, in order. `check` sees the items read so
/// far and the next one, and may refuse it with a status (reported at the item's offset).
///
/// The preallocation is bounded by the items that could fit the bytes left, so it is
/// proportional to the input whatever the array's head claims; a count larger than the items
/// present fails on the first missing item, as `Malformed` at the end of the input.
pub(crate) fn decode_items<T: Wire>(
    r: &mut Reader<'_>,
    max: usize,
    mut check: impl FnMut(&[T], &T) -> Result<(), Status>,
) -> Result<Vec<T>, DecodeError> {
    let len = r.array(max)?;
    let mut items = Vec::with_capacity(r.fitting(len, T::MIN_LEN));
    for _ in 0..len {
        let start = r.position();
        let item = T::decode(r)?;
        debug_assert!(
            r.position().saturating_sub(start) >= T::MIN_LEN,
            "MIN_LEN is not a lower bound"
        );
        check(&items, &item).map_err(|status| r.error_at(start, status))?;
        items.push(item);
    }
    Ok(items)
}

/// An unsigned integer in `MIN..=MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BoundedU32<const MIN: u32, const MAX: u32>(u32);

impl<const MIN: u32, const MAX: u32> BoundedU32<MIN, MAX> {
    /// The smallest value allowed.
    pub const MIN: u32 = MIN;
    /// The largest value allowed.
    pub const MAX: u32 = MAX;

    /// Takes `value` if it is in `MIN..=MAX`.
    pub const fn new(value: u32) -> Result<Self, BoundsError> {
        if value >= MIN && value <= MAX {
            Ok(Self(value))
        } else {
            Err(BoundsError)
        }
    }

    /// The value.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl<const MIN: u32, const MAX: u32> Wire for BoundedU32<MIN, MAX> {
    fn encode(&self, w: &mut Writer) {
        w.uint(u64::from(self.0));
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.position();
        let value = r.uint()?;
        u32::try_from(value)
            .ok()
            .and_then(|value| Self::new(value).ok())
            .ok_or_else(|| r.error_at(at, Status::ValueOutOfRange))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::codec::decode_one as decode;

    #[test]
    fn constructors_enforce_the_bounds() {
        assert!(Bytes::<2>::new(vec![1, 2]).is_ok());
        assert_eq!(Bytes::<2>::new(vec![1, 2, 3]), Err(BoundsError));
        assert!(Text::<2>::new("ab").is_ok());
        assert_eq!(Text::<2>::new("abc"), Err(BoundsError));
        assert_eq!(List::<u32, 1>::new(vec![1, 2]), Err(BoundsError));
        assert_eq!(SecretBytes::<1>::copy_from(&[1, 2]), Err(BoundsError));
        assert_eq!(BoundedU32::<1, 3>::new(0), Err(BoundsError));
        assert_eq!(BoundedU32::<1, 3>::new(4), Err(BoundsError));
        assert_eq!(BoundedU32::<1, 3>::new(3).map(BoundedU32::get), Ok(3));
    }

    #[test]
    fn decoders_enforce_the_bounds() {
        assert_eq!(
            decode::<List<u32, 1>>(&[0x82, 1, 2]),
            Err(Status::ValueOutOfRange)
        );
        assert_eq!(
            decode::<List<u32, 2>>(&[0x82, 1, 2]).map(List::into_vec),
            Ok(vec![1, 2])
        );
        assert_eq!(
            decode::<BoundedU32<1, 3>>(&[0x04]),
            Err(Status::ValueOutOfRange)
        );
        assert_eq!(
            decode::<BoundedU32<1, 3>>(&[0x00]),
            Err(Status::ValueOutOfRange)
        );
        assert_eq!(
            decode::<Text<1>>(&[0x62, b'a', b'b']),
            Err(Status::ValueOutOfRange)
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let secret = SecretBytes::<8>::copy_from(b"hunter2").unwrap();
        assert_eq!(format!("{secret:?}"), "SecretBytes(<7 bytes redacted>)");
        assert_eq!(
            format!("{:?}", Bytes::<4>::new(vec![0xab, 1]).unwrap()),
            "0xab01"
        );
    }
}
