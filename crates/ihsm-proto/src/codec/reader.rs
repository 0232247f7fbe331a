//! The strict reader: classifies each item from its head before consuming it.

use minicbor::Decoder;

use crate::codec::Wire;
use crate::{DecodeError, Status};

/// A strict, bounded reader over one CBOR input.
pub(crate) struct Reader<'b> {
    d: Decoder<'b>,
}

impl<'b> Reader<'b> {
    pub(crate) fn new(input: &'b [u8]) -> Self {
        Self {
            d: Decoder::new(input),
        }
    }

    /// Current byte offset in the input.
    pub(crate) fn position(&self) -> usize {
        self.d.position()
    }

    /// An error at the current offset.
    pub(crate) fn error(&self, status: Status) -> DecodeError {
        DecodeError::new(status, self.position())
    }

    /// An error at `offset`.
    pub(crate) fn error_at(&self, offset: usize, status: Status) -> DecodeError {
        DecodeError::new(status, offset)
    }

    /// Bytes not yet consumed.
    pub(crate) fn remaining(&self) -> usize {
        self.d.input().len().saturating_sub(self.position())
    }

    /// Refuses any byte after the last item.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(self.error(Status::TrailingBytes))
        }
    }

    /// An unsigned integer (major type 0). Non-shortest forms are accepted.
    pub(crate) fn uint(&mut self) -> Result<u64, DecodeError> {
        self.expect(MAJOR_UINT)?;
        let result = self.d.u64();
        self.consumed(result)
    }

    /// An unsigned integer that fits 32 bits.
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let at = self.position();
        let value = self.uint()?;
        u32::try_from(value).map_err(|_| self.error_at(at, Status::ValueOutOfRange))
    }

    /// `true` or `false`.
    pub(crate) fn bool(&mut self) -> Result<bool, DecodeError> {
        self.head()?;
        match self.current() {
            Some(FALSE | TRUE) => {
                let result = self.d.bool();
                self.consumed(result)
            }
            _ => Err(self.error(Status::WrongType)),
        }
    }

    /// A definite byte string of at most `max` bytes, borrowed from the input.
    pub(crate) fn bytes(&mut self, max: usize) -> Result<&'b [u8], DecodeError> {
        self.expect_len(MAJOR_BYTES, max)?;
        let result = self.d.bytes();
        self.consumed(result)
    }

    /// A definite UTF-8 text string of at most `max` bytes, borrowed from the input.
    pub(crate) fn text(&mut self, max: usize) -> Result<&'b str, DecodeError> {
        self.expect_len(MAJOR_TEXT, max)?;
        let result = self.d.str();
        self.consumed(result)
    }

    /// The item count of a definite array, unbounded (the caller judges it).
    pub(crate) fn array_len(&mut self) -> Result<u64, DecodeError> {
        self.expect(MAJOR_ARRAY)?;
        let result = self.d.array();
        match self.consumed(result)? {
            Some(len) => Ok(len),
            None => Err(self.error(Status::Malformed)),
        }
    }

    /// The item count of a definite array of at most `max` items. The count is not compared
    /// with the bytes left: the items are read one by one, and a count larger than the items
    /// present ends in the fault of whatever stands where an item was expected (`Malformed`
    /// at the end of the input). A caller must therefore not allocate for `count` items; it
    /// may allocate for [`Reader::fitting`] of them.
    pub(crate) fn array(&mut self, max: usize) -> Result<usize, DecodeError> {
        let at = self.position();
        let len = self.array_len()?;
        usize::try_from(len)
            .ok()
            .filter(|len| *len <= max)
            .ok_or_else(|| self.error_at(at, Status::ValueOutOfRange))
    }

    /// How many of `count` items of at least `min_item_len` bytes each can fit the bytes
    /// left: the capacity a list may preallocate, proportional to the input whatever a
    /// header claims.
    pub(crate) fn fitting(&self, count: usize, min_item_len: usize) -> usize {
        count.min(self.remaining() / min_item_len.max(1))
    }

    /// Opens a definite map.
    pub(crate) fn map(&mut self) -> Result<MapReader, DecodeError> {
        self.expect(MAJOR_MAP)?;
        let result = self.d.map();
        match self.consumed(result)? {
            Some(remaining) => Ok(MapReader { remaining, seen: 0 }),
            None => Err(self.error(Status::Malformed)),
        }
    }

    /// The head of the next item, without consuming it. Refuses reserved heads, indefinite
    /// lengths and breaks, and input that ends inside the head.
    fn head(&self) -> Result<Head, DecodeError> {
        let rest = self.d.input().get(self.position()..).unwrap_or_default();
        let Some((&initial, rest)) = rest.split_first() else {
            return Err(self.error(Status::Malformed));
        };
        let argument = match initial & 0x1f {
            info @ 0..=23 => Some(u64::from(info)),
            24 => be_uint(rest, 1),
            25 => be_uint(rest, 2),
            26 => be_uint(rest, 4),
            27 => be_uint(rest, 8),
            // 28..=30 are reserved; 31 is an indefinite length or a break.
            _ => None,
        };
        match argument {
            Some(argument) => Ok(Head {
                major: initial >> 5,
                argument,
            }),
            None => Err(self.error(Status::Malformed)),
        }
    }

    /// The head of the next item, which must have major type `major`.
    fn expect(&self, major: u8) -> Result<Head, DecodeError> {
        let head = self.head()?;
        if head.major == major {
            Ok(head)
        } else {
            Err(self.error(Status::WrongType))
        }
    }

    /// Checks a byte or text string's declared length against `max` before reading it.
    fn expect_len(&self, major: u8, max: usize) -> Result<(), DecodeError> {
        let head = self.expect(major)?;
        match usize::try_from(head.argument) {
            Ok(len) if len <= max => Ok(()),
            _ => Err(self.error(Status::ValueOutOfRange)),
        }
    }

    fn current(&self) -> Option<u8> {
        self.d.input().get(self.position()).copied()
    }

    /// Maps a minicbor result to ours. The head was checked already, so a failure here is
    /// input that ends inside the item, or text that is not UTF-8: both malformed.
    fn consumed<T>(&self, result: Result<T, minicbor::decode::Error>) -> Result<T, DecodeError> {
        result.map_err(|_| self.error(Status::Malformed))
    }
}

/// Reads one map's entries: refuses unknown keys, duplicates and missing required keys.
///
/// Keys are unsigned integers below 64, so one bit of a `u64` records each key seen.
#[derive(Debug)]
pub(crate) struct MapReader {
    remaining: u64,
    seen: u64,
}

impl MapReader {
    /// The next key, or `None` after the last entry. `allowed` is the mask of keys defined
    /// at this point: any other key is [`Status::UnknownField`] (so is a key that is not an
    /// unsigned integer), a key already seen is [`Status::DuplicateField`].
    pub(crate) fn next(
        &mut self,
        r: &mut Reader<'_>,
        allowed: u64,
    ) -> Result<Option<u8>, DecodeError> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        let at = r.position();
        let head = r.head()?;
        if head.major != MAJOR_UINT {
            return Err(r.error_at(at, Status::UnknownField));
        }
        r.uint()?;
        let bit = u32::try_from(head.argument)
            .ok()
            .and_then(|key| 1u64.checked_shl(key));
        match (bit, u8::try_from(head.argument)) {
            (Some(bit), _) if self.seen & bit != 0 => Err(r.error_at(at, Status::DuplicateField)),
            (Some(bit), Ok(key)) if allowed & bit != 0 => {
                self.seen |= bit;
                Ok(Some(key))
            }
            _ => Err(r.error_at(at, Status::UnknownField)),
        }
    }

    /// Ends the map: every key of `required` must have been seen.
    pub(crate) fn finish(&self, r: &Reader<'_>, required: u64) -> Result<(), DecodeError> {
        if required & !self.seen == 0 {
            Ok(())
        } else {
            Err(r.error(Status::MissingField))
        }
    }

    /// Reads the tag of a tagged map: key 0 must be the first entry, because its value
    /// decides which other keys are defined.
    pub(crate) fn tag<T: Wire>(&mut self, r: &mut Reader<'_>) -> Result<T, DecodeError> {
        self.first_key_zero(r)?;
        T::decode(r)
    }

    /// Reads key 0, which must be the map's first entry (before any other key is looked at):
    /// [`Status::MissingField`] otherwise, as for an absent key 0. The caller reads its value.
    pub(crate) fn first_key_zero(&mut self, r: &mut Reader<'_>) -> Result<(), DecodeError> {
        let at = r.position();
        let first_is_zero = self.seen == 0 && self.remaining > 0 && {
            let head = r.head()?;
            head.major == MAJOR_UINT && head.argument == 0
        };
        if !first_is_zero {
            return Err(r.error_at(at, Status::MissingField));
        }
        self.next(r, 1)?;
        Ok(())
    }

    /// Expects `key` as the next (and, by the caller's mask, only remaining) entry.
    pub(crate) fn expect_key(&mut self, r: &mut Reader<'_>, key: u8) -> Result<(), DecodeError> {
        let bit = 1u64.checked_shl(u32::from(key)).unwrap_or(0);
        match self.next(r, bit)? {
            Some(_) => Ok(()),
            None => Err(r.error(Status::MissingField)),
        }
    }

    /// Ends a map that has no further entries defined.
    pub(crate) fn end(mut self, r: &mut Reader<'_>) -> Result<(), DecodeError> {
        match self.next(r, 0)? {
            None => Ok(()),
            Some(_) => Err(r.error(Status::UnknownField)),
        }
    }
}

const MAJOR_UINT: u8 = 0;
const MAJOR_BYTES: u8 = 2;
const MAJOR_TEXT: u8 = 3;
const MAJOR_ARRAY: u8 = 4;
const MAJOR_MAP: u8 = 5;
const FALSE: u8 = 0xf4;
const TRUE: u8 = 0xf5;

/// An item's major type and argument (its value, length or count).
#[derive(Clone, Copy)]
struct Head {
    major: u8,
    argument: u64,
}

/// The big-endian integer in the first `n` bytes of `bytes`.
fn be_uint(bytes: &[u8], n: usize) -> Option<u64> {
    let bytes = bytes.get(..n)?;
    Some(bytes.iter().fold(0, |acc, b| (acc << 8) | u64::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<'b, T>(
        input: &'b [u8],
        f: impl FnOnce(&mut Reader<'b>) -> Result<T, DecodeError>,
    ) -> Result<T, Status> {
        let mut r = Reader::new(input);
        f(&mut r).map_err(|e| e.status())
    }

    #[test]
    fn heads_are_classified() {
        assert_eq!(read(&[0x18, 0xff], Reader::uint), Ok(255));
        assert_eq!(read(&[0x1b, 0, 0, 0, 0, 0, 0, 1, 0], Reader::uint), Ok(256));
        // Non-shortest forms are accepted.
        assert_eq!(read(&[0x19, 0, 1], Reader::uint), Ok(1));
        assert_eq!(read(&[], Reader::uint), Err(Status::Malformed));
        assert_eq!(read(&[0x19, 0], Reader::uint), Err(Status::Malformed));
        assert_eq!(read(&[0x1c], Reader::uint), Err(Status::Malformed));
        assert_eq!(read(&[0x1f], Reader::uint), Err(Status::Malformed));
        assert_eq!(read(&[0x20], Reader::uint), Err(Status::WrongType));
        assert_eq!(read(&[0xc0, 0x00], Reader::uint), Err(Status::WrongType));
        assert_eq!(read(&[0x1a, 0, 0, 0, 1], Reader::u32), Ok(1));
        assert_eq!(
            read(&[0x1b, 0, 0, 0, 1, 0, 0, 0, 0], Reader::u32),
            Err(Status::ValueOutOfRange)
        );
    }

    #[test]
    fn bools_are_strict() {
        assert_eq!(read(&[0xf5], Reader::bool), Ok(true));
        assert_eq!(read(&[0xf4], Reader::bool), Ok(false));
        assert_eq!(read(&[0xf6], Reader::bool), Err(Status::WrongType));
        assert_eq!(read(&[0x01], Reader::bool), Err(Status::WrongType));
        assert_eq!(read(&[0xff], Reader::bool), Err(Status::Malformed));
    }

    #[test]
    fn strings_are_bounded_before_they_are_read() {
        assert_eq!(read(&[0x42, 1, 2], |r| r.bytes(2)), Ok(&[1u8, 2][..]));
        assert_eq!(
            read(&[0x42, 1, 2], |r| r.bytes(1)),
            Err(Status::ValueOutOfRange)
        );
        // A huge declared length is out of range even though the input is short.
        assert_eq!(
            read(&[0x5b, 0xff, 0, 0, 0, 0, 0, 0, 0], |r| r.bytes(8)),
            Err(Status::ValueOutOfRange)
        );
        assert_eq!(read(&[0x42, 1], |r| r.bytes(2)), Err(Status::Malformed));
        assert_eq!(
            read(&[0x5f, 0x41, 1, 0xff], |r| r.bytes(2)),
            Err(Status::Malformed)
        );
        assert_eq!(read(&[0x62, b'h', b'i'], |r| r.text(2)), Ok("hi"));
        assert_eq!(
            read(&[0x62, 0xff, 0xfe], |r| r.text(2)),
            Err(Status::Malformed)
        );
        assert_eq!(read(&[0x42, 1, 2], |r| r.text(2)), Err(Status::WrongType));
        assert_eq!(
            read(&[0x43, 1, 2, 3], <[u8; 2]>::decode),
            Err(Status::ValueOutOfRange)
        );
        assert_eq!(
            read(&[0x41, 1], <[u8; 2]>::decode),
            Err(Status::ValueOutOfRange)
        );
    }

    #[test]
    fn array_counts_are_bounded_by_the_field_only() {
        assert_eq!(read(&[0x82, 1, 2], |r| r.array(2)), Ok(2));
        assert_eq!(
            read(&[0x83, 1, 2, 3], |r| r.array(2)),
            Err(Status::ValueOutOfRange)
        );
        // A count larger than the input is not judged here: reading the items finds the end.
        assert_eq!(
            read(&[0x9a, 0, 1, 0, 0], |r| r.array(usize::MAX)),
            Ok(1 << 16)
        );
        assert_eq!(read(&[0x9f, 0xff], |r| r.array(2)), Err(Status::Malformed));
        assert_eq!(read(&[0x82, 1], |r| r.array(2)), Ok(2));
    }

    #[test]
    fn preallocation_is_bounded_by_the_bytes_left() {
        let fitting = |input: &[u8], min_item_len| {
            read(input, |r| {
                let count = r.array(usize::MAX)?;
                Ok(r.fitting(count, min_item_len))
            })
        };
        // 2^16 items claimed, 0 bytes left.
        assert_eq!(fitting(&[0x9a, 0, 1, 0, 0], 1), Ok(0));
        // Two items of at least 2 bytes: only one fits in 3 bytes.
        assert_eq!(fitting(&[0x82, 1, 2, 3], 2), Ok(1));
        assert_eq!(fitting(&[0x82, 1, 2, 3, 4], 2), Ok(2));
        // Never more than the count, and a zero lower bound counts as 1.
        assert_eq!(fitting(&[0x81, 1, 2, 3, 4], 1), Ok(1));
        assert_eq!(fitting(&[0x82, 1, 2, 3], 0), Ok(2));
    }

    #[test]
    fn map_reader_refuses_unknown_duplicate_and_missing_keys() {
        let keys = |input: &[u8], allowed: u64, required: u64| {
            read(input, |r| {
                let mut map = r.map()?;
                let mut seen = Vec::new();
                while let Some(key) = map.next(r, allowed)? {
                    seen.push(key);
                    r.uint()?;
                }
                map.finish(r, required)?;
                Ok(seen)
            })
        };
        assert_eq!(keys(&[0xa2, 0, 0, 1, 0], 0b11, 0b11), Ok(vec![0, 1]));
        // Any order is accepted.
        assert_eq!(keys(&[0xa2, 1, 0, 0, 0], 0b11, 0b11), Ok(vec![1, 0]));
        assert_eq!(
            keys(&[0xa2, 0, 0, 0, 0], 0b11, 0),
            Err(Status::DuplicateField)
        );
        assert_eq!(keys(&[0xa1, 2, 0], 0b11, 0), Err(Status::UnknownField));
        assert_eq!(
            keys(&[0xa1, 0x18, 64, 0], u64::MAX, 0),
            Err(Status::UnknownField)
        );
        assert_eq!(
            keys(&[0xa1, 0x61, b'a', 0], 0b11, 0),
            Err(Status::UnknownField)
        );
        assert_eq!(keys(&[0xa1, 0x20, 0], 0b11, 0), Err(Status::UnknownField));
        assert_eq!(keys(&[0xa1, 0, 0], 0b11, 0b11), Err(Status::MissingField));
        assert_eq!(keys(&[0xbf, 0, 0, 0xff], 0b11, 0), Err(Status::Malformed));
        assert_eq!(keys(&[0xa2, 0, 0], 0b11, 0), Err(Status::Malformed));
    }

    #[test]
    fn tagged_maps_need_key_zero_first() {
        let tag = |input: &[u8]| read(input, |r| r.map()?.tag::<u64>(r));
        assert_eq!(tag(&[0xa1, 0, 7]), Ok(7));
        assert_eq!(tag(&[0xa2, 1, 0, 0, 7]), Err(Status::MissingField));
        assert_eq!(tag(&[0xa0]), Err(Status::MissingField));
    }
}
