//! Framing: a 4-byte big-endian length, then that many bytes of CBOR.
//!
//! The transport reads the 4-byte prefix, passes it to [`parse_prefix`], and only then
//! allocates and reads the body: a peer can never make the reader allocate more than the
//! frame limit.

use zeroize::Zeroizing;

use crate::{DecodeError, EncodeError, Status};

/// Length of the frame prefix in bytes.
pub const PREFIX_LEN: usize = 4;

/// The largest bulk data field (plaintext, ciphertext, message, random bytes): 1 MiB.
pub const MAX_DATA_LEN: usize = 1 << 20;

/// The default frame limit: [`MAX_DATA_LEN`] plus 64 KiB for the other fields.
pub const DEFAULT_MAX_FRAME_LEN: u32 = (1 << 20) + (64 << 10);

/// The smallest frame limit that may be configured: the default. The design requires frames
/// of at least 1 MiB of data plus overhead, so a peer may always rely on that much.
pub const MIN_MAX_FRAME_LEN: u32 = DEFAULT_MAX_FRAME_LEN;

/// The largest frame limit that may be configured: 64 MiB.
pub const MAX_MAX_FRAME_LEN: u32 = 64 << 20;

/// The bounds a connection enforces on frames. Never below the default, so every peer can
/// send a request or response with [`MAX_DATA_LEN`] bytes of data and up to 64 KiB of other
/// fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    max_frame_len: u32,
}

impl Limits {
    /// Limits with frame bodies of at most `max_frame_len` bytes; `None` if the value is
    /// outside [`MIN_MAX_FRAME_LEN`]`..=`[`MAX_MAX_FRAME_LEN`].
    #[must_use]
    pub const fn new(max_frame_len: u32) -> Option<Self> {
        if max_frame_len >= MIN_MAX_FRAME_LEN && max_frame_len <= MAX_MAX_FRAME_LEN {
            Some(Self { max_frame_len })
        } else {
            None
        }
    }

    /// The largest frame body accepted, in bytes (the prefix not counted).
    #[must_use]
    pub const fn max_frame_len(&self) -> u32 {
        self.max_frame_len
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        }
    }
}

/// The body length a prefix announces, refused with [`Status::FrameTooLarge`] above the
/// limit. Call it before allocating the body.
pub fn parse_prefix(prefix: [u8; PREFIX_LEN], limits: &Limits) -> Result<usize, DecodeError> {
    let len = u32::from_be_bytes(prefix);
    if len > limits.max_frame_len {
        return Err(DecodeError::new(Status::FrameTooLarge, 0));
    }
    usize::try_from(len).map_err(|_| DecodeError::new(Status::FrameTooLarge, 0))
}

/// Prefixes `body` with its length.
pub fn encode_frame(body: &[u8], limits: &Limits) -> Result<Zeroizing<Vec<u8>>, EncodeError> {
    let prefix = prefix_for(body.len(), limits)?;
    let mut frame = Zeroizing::new(Vec::with_capacity(PREFIX_LEN.saturating_add(body.len())));
    frame.extend_from_slice(&prefix);
    frame.extend_from_slice(body);
    Ok(frame)
}

/// The body of one complete frame held in memory: checks the prefix against the limit and
/// that exactly the announced number of bytes follows (fewer is [`Status::Malformed`], more
/// is [`Status::TrailingBytes`]).
pub fn frame_body<'a>(frame: &'a [u8], limits: &Limits) -> Result<&'a [u8], DecodeError> {
    let Some((prefix, body)) = frame.split_first_chunk::<PREFIX_LEN>() else {
        return Err(DecodeError::new(Status::Malformed, frame.len()));
    };
    let len = parse_prefix(*prefix, limits)?;
    match body.len().cmp(&len) {
        core::cmp::Ordering::Equal => Ok(body),
        core::cmp::Ordering::Less => Err(DecodeError::new(Status::Malformed, frame.len())),
        core::cmp::Ordering::Greater => Err(DecodeError::new(
            Status::TrailingBytes,
            PREFIX_LEN.saturating_add(len),
        )),
    }
}

/// Writes the prefix for a body of `len` bytes into the first [`PREFIX_LEN`] bytes of
/// `frame`, which the encoder reserved.
pub(crate) fn patch_prefix(
    mut frame: Zeroizing<Vec<u8>>,
    limits: &Limits,
) -> Result<Zeroizing<Vec<u8>>, EncodeError> {
    let prefix = prefix_for(frame.len().saturating_sub(PREFIX_LEN), limits)?;
    for (slot, byte) in frame.iter_mut().zip(prefix) {
        *slot = byte;
    }
    Ok(frame)
}

fn prefix_for(len: usize, limits: &Limits) -> Result<[u8; PREFIX_LEN], EncodeError> {
    let too_large = EncodeError::FrameTooLarge {
        len,
        max: limits.max_frame_len,
    };
    match u32::try_from(len) {
        Ok(len) if len <= limits.max_frame_len => Ok(len.to_be_bytes()),
        _ => Err(too_large),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_have_a_floor_and_a_ceiling() {
        assert_eq!(DEFAULT_MAX_FRAME_LEN, 1_114_112);
        assert_eq!(Limits::default().max_frame_len(), DEFAULT_MAX_FRAME_LEN);
        assert_eq!(MIN_MAX_FRAME_LEN, DEFAULT_MAX_FRAME_LEN);
        assert_eq!(Limits::new(4096), None);
        assert_eq!(Limits::new(DEFAULT_MAX_FRAME_LEN - 1), None);
        assert_eq!(Limits::new(DEFAULT_MAX_FRAME_LEN), Some(Limits::default()));
        assert!(Limits::new(64 << 20).is_some());
        assert_eq!(Limits::new((64 << 20) + 1), None);
    }

    #[test]
    fn prefix_is_checked_against_the_limit() {
        let limits = Limits::default();
        assert_eq!(parse_prefix([0, 0, 0, 0x17], &limits), Ok(23));
        assert_eq!(
            parse_prefix(DEFAULT_MAX_FRAME_LEN.to_be_bytes(), &limits),
            Ok(1_114_112)
        );
        let too_large = parse_prefix((DEFAULT_MAX_FRAME_LEN + 1).to_be_bytes(), &limits);
        assert_eq!(
            too_large.map_err(|e| e.status()),
            Err(Status::FrameTooLarge)
        );
        let huge = parse_prefix([0xff; 4], &limits);
        assert_eq!(huge.map_err(|e| e.status()), Err(Status::FrameTooLarge));
    }

    #[test]
    fn frames_round_trip_and_must_be_exact() {
        let limits = Limits::default();
        let frame = encode_frame(&[0x80], &limits).unwrap();
        assert_eq!(&frame[..], &[0, 0, 0, 1, 0x80]);
        assert_eq!(frame_body(&frame, &limits), Ok(&[0x80][..]));
        let status = |bytes: &[u8]| {
            frame_body(bytes, &limits)
                .map(<[u8]>::len)
                .map_err(|e| e.status())
        };
        assert_eq!(status(&[0, 0, 0]), Err(Status::Malformed));
        assert_eq!(status(&[0, 0, 0, 2, 0x80]), Err(Status::Malformed));
        assert_eq!(status(&[0, 0, 0, 1, 0x80, 0]), Err(Status::TrailingBytes));
    }

    #[test]
    fn oversized_bodies_are_not_framed() {
        let limits = Limits::new(MIN_MAX_FRAME_LEN).unwrap();
        let len = usize::try_from(MIN_MAX_FRAME_LEN).unwrap() + 1;
        let body = vec![0; len];
        assert_eq!(
            encode_frame(&body, &limits),
            Err(EncodeError::FrameTooLarge {
                len,
                max: MIN_MAX_FRAME_LEN
            })
        );
        assert!(encode_frame(&body[1..], &limits).is_ok());
    }
}
