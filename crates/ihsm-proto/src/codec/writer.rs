//! The canonical writer, into a buffer that never leaves a copy of a secret behind.

use core::convert::Infallible;

use minicbor::encode::Write;
use minicbor::Encoder;
use zeroize::Zeroizing;

use crate::codec::len_u64;

/// The buffer a writer starts with, beyond its reserved bytes.
const INITIAL_CAPACITY: usize = 128;

/// A canonical CBOR writer into a buffer that is zeroized when it grows or is dropped.
pub(crate) struct Writer {
    e: Encoder<SecretBuf>,
}

impl Writer {
    /// A writer whose output starts with `reserved` zero bytes (room for a length prefix).
    pub(crate) fn with_reserved(reserved: usize) -> Self {
        Self {
            e: Encoder::new(SecretBuf({
                // Room for the headers of most messages, so small ones never grow.
                let mut buf = Vec::with_capacity(reserved.saturating_add(INITIAL_CAPACITY));
                buf.resize(reserved, 0);
                buf
            })),
        }
    }

    pub(crate) fn uint(&mut self, value: u64) {
        written(self.e.u64(value));
    }

    pub(crate) fn bool(&mut self, value: bool) {
        written(self.e.bool(value));
    }

    pub(crate) fn bytes(&mut self, value: &[u8]) {
        written(self.e.bytes(value));
    }

    pub(crate) fn text(&mut self, value: &str) {
        written(self.e.str(value));
    }

    pub(crate) fn array(&mut self, len: usize) {
        written(self.e.array(len_u64(len)));
    }

    pub(crate) fn map(&mut self, len: u64) {
        written(self.e.map(len));
    }

    /// The bytes written, zeroized when dropped.
    pub(crate) fn into_bytes(self) -> Zeroizing<Vec<u8>> {
        let mut buf = self.e.into_writer();
        Zeroizing::new(core::mem::take(&mut buf.0))
    }
}

/// Drops the result of a write. The writer is a `SecretBuf`, whose error type is
/// `Infallible`, and the raw `Encoder` methods used here raise no other error.
fn written<T>(result: Result<T, minicbor::encode::Error<Infallible>>) {
    debug_assert!(result.is_ok(), "writing CBOR to memory cannot fail");
}

/// An output buffer that never leaves a copy of its contents behind: it zeroizes the old
/// allocation when it grows, and itself when dropped.
struct SecretBuf(Vec<u8>);

impl Write for SecretBuf {
    type Error = Infallible;

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Infallible> {
        let needed = self.0.len().saturating_add(bytes.len());
        if needed > self.0.capacity() {
            let mut grown = Vec::with_capacity(needed.max(self.0.capacity().saturating_mul(2)));
            grown.extend_from_slice(&self.0);
            super::wipe(&mut self.0);
            self.0 = grown;
        }
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

impl Drop for SecretBuf {
    fn drop(&mut self) {
        super::wipe(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_is_canonical() {
        let mut w = Writer::with_reserved(0);
        w.uint(23);
        w.uint(24);
        w.uint(0x1_0000);
        w.map(1);
        w.array(0);
        w.bytes(&[]);
        w.text("a");
        w.bool(true);
        let bytes = w.into_bytes();
        assert_eq!(
            hex::encode(&*bytes),
            "171818 1a00010000 a1 80 40 6161 f5".replace(' ', "")
        );
    }
}
