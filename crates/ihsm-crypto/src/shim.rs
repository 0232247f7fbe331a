//! The one place where ihsm calls AWS-LC's C API directly.
//!
//! aws-lc-rs covers most services safely. What it lacks, and what lives here instead:
//! - AWS-LC's FIPS service indicator, which tells whether the calls made on this thread since
//!   a mark were approved services (ihsm cross-checks its own policy table against it);
//! - signatures through `EVP_DigestSign*`/`EVP_DigestVerify*` with any curve x hash pairing,
//!   streaming (multi-part) input, and RSA-PSS salt lengths other than the hash length;
//! - signatures over a caller-supplied digest with RSA-PSS salt lengths of the caller's choice;
//! - AES-XTS, and AES key wrap (RFC 3394 / RFC 5649) with 192-bit keys.
//!
//! Every pointer AWS-LC returns is owned by exactly one Rust value whose `Drop` frees it;
//! AWS-LC's own free functions cleanse key material before releasing memory. Every `unsafe`
//! block states why it is sound. Failures clear AWS-LC's thread-local error queue (a small
//! ring) so stale entries never describe a later call.
#![allow(unsafe_code)]

use core::ffi::c_int;
use core::ptr::{self, NonNull};

#[cfg(feature = "fips")]
use aws_lc_fips_sys as ffi;
#[cfg(all(not(feature = "fips"), feature = "non-fips"))]
use aws_lc_sys as ffi;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::types::HashAlg;

/// Runs `f` and reports whether AWS-LC's service indicator saw an approved service during it.
///
/// The indicator is a thread-local counter that AWS-LC advances after each approved service;
/// `f` must therefore run on the calling thread, which a closure guarantees.
#[cfg(feature = "fips")]
pub(crate) fn with_indicator<T>(f: impl FnOnce() -> T) -> (T, bool) {
    // SAFETY: the indicator calls take no arguments and only read a thread-local counter.
    let before = unsafe { ffi::FIPS_service_indicator_before_call() };
    let out = f();
    // SAFETY: as above.
    let after = unsafe { ffi::FIPS_service_indicator_after_call() };
    (out, before != after)
}

/// A non-FIPS AWS-LC has no service indicator: nothing it does is approved.
#[cfg(not(feature = "fips"))]
pub(crate) fn with_indicator<T>(f: impl FnOnce() -> T) -> (T, bool) {
    (f(), false)
}

fn clear_errors() {
    // SAFETY: clears this thread's AWS-LC error queue; no arguments, always safe to call.
    unsafe { ffi::ERR_clear_error() }
}

fn check(rc: c_int) -> Result<()> {
    if rc == 1 {
        Ok(())
    } else {
        clear_errors();
        Err(Error::Internal)
    }
}

fn evp_md(hash: HashAlg) -> *const ffi::EVP_MD {
    // SAFETY: these return pointers to static, immutable method tables.
    unsafe {
        match hash {
            HashAlg::Sha256 => ffi::EVP_sha256(),
            HashAlg::Sha384 => ffi::EVP_sha384(),
            HashAlg::Sha512 => ffi::EVP_sha512(),
        }
    }
}

/// An owned AWS-LC `EVP_PKEY` (an EC or RSA key, private or public).
pub(crate) struct Pkey(NonNull<ffi::EVP_PKEY>);

// SAFETY: an EVP_PKEY that is never mutated after parsing may be used from several threads at
// once: signing and verifying only read it (AWS-LC documents EVP_PKEY as safe for concurrent
// const use, and ihsm never calls a mutating function on a parsed key).
unsafe impl Send for Pkey {}
// SAFETY: see `Send` above.
unsafe impl Sync for Pkey {}

impl Drop for Pkey {
    fn drop(&mut self) {
        // SAFETY: we own the only reference this value holds; EVP_PKEY_free cleanses private
        // key material before releasing it.
        unsafe { ffi::EVP_PKEY_free(self.0.as_ptr()) }
    }
}

impl Pkey {
    /// Parses a PKCS#8 `PrivateKeyInfo` (DER). Trailing bytes are refused.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Self> {
        Self::parse(der, true)
    }

    /// Parses an X.509 `SubjectPublicKeyInfo` (DER). Trailing bytes are refused.
    pub(crate) fn from_spki(der: &[u8]) -> Result<Self> {
        Self::parse(der, false)
    }

    fn parse(der: &[u8], private: bool) -> Result<Self> {
        let mut cbs = ffi::CBS {
            data: ptr::null(),
            len: 0,
        };
        // SAFETY: `cbs` is a valid CBS and `der` outlives every use of it below.
        unsafe { ffi::CBS_init(&mut cbs, der.as_ptr(), der.len()) };
        // SAFETY: `cbs` points into `der`, which is alive; the parsers only read through it.
        let raw = unsafe {
            if private {
                ffi::EVP_parse_private_key(&mut cbs)
            } else {
                ffi::EVP_parse_public_key(&mut cbs)
            }
        };
        let Some(pkey) = NonNull::new(raw) else {
            clear_errors();
            return Err(if private {
                Error::InvalidKey
            } else {
                Error::InvalidPublicKey
            });
        };
        let key = Pkey(pkey);
        if cbs.len != 0 {
            return Err(if private {
                Error::InvalidKey
            } else {
                Error::InvalidPublicKey
            });
        }
        Ok(key)
    }

    /// The key's size in bits (modulus bits for RSA, group order bits for EC).
    pub(crate) fn bits(&self) -> usize {
        // SAFETY: self.0 is a valid EVP_PKEY.
        let bits = unsafe { ffi::EVP_PKEY_bits(self.0.as_ptr()) };
        usize::try_from(bits).unwrap_or(0)
    }

    /// An RSA key's modulus and public exponent, big-endian without leading zeros.
    pub(crate) fn rsa_public_components(&self) -> Result<(Vec<u8>, Vec<u8>)> {
        // SAFETY: self.0 is a valid EVP_PKEY; get0 borrows its RSA without a new reference,
        // and the RSA lives as long as self.
        let rsa = unsafe { ffi::EVP_PKEY_get0_RSA(self.0.as_ptr()) };
        if rsa.is_null() {
            return Err(Error::InvalidKey);
        }
        // SAFETY: rsa is a valid RSA borrowed from self; get0 returns borrowed BIGNUMs.
        let (n, e) = unsafe { (ffi::RSA_get0_n(rsa), ffi::RSA_get0_e(rsa)) };
        Ok((bignum_bytes(n)?, bignum_bytes(e)?))
    }

    /// True for RSA keys, false for EC keys.
    pub(crate) fn is_rsa(&self) -> bool {
        // SAFETY: self.0 is a valid EVP_PKEY.
        let id = unsafe { ffi::EVP_PKEY_id(self.0.as_ptr()) };
        id == ffi::EVP_PKEY_RSA
    }

    fn max_signature_len(&self) -> usize {
        // SAFETY: self.0 is a valid EVP_PKEY.
        let size = unsafe { ffi::EVP_PKEY_size(self.0.as_ptr()) };
        usize::try_from(size).unwrap_or(0)
    }
}

/// Signature padding for an `EVP_PKEY` operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Padding {
    /// ECDSA (no padding parameter).
    Ecdsa,
    /// RSASSA-PKCS1-v1_5.
    Pkcs1,
    /// RSASSA-PSS with MGF1 on the same hash and the given salt length in bytes.
    Pss {
        /// Salt length in bytes.
        salt_len: usize,
    },
}

fn configure(pctx: *mut ffi::EVP_PKEY_CTX, hash: HashAlg, padding: Padding) -> Result<()> {
    match padding {
        Padding::Ecdsa => Ok(()),
        Padding::Pkcs1 => {
            // SAFETY: `pctx` is the live context of the operation being configured.
            check(unsafe { ffi::EVP_PKEY_CTX_set_rsa_padding(pctx, ffi::RSA_PKCS1_PADDING) })
        }
        Padding::Pss { salt_len } => {
            let salt_len = c_int::try_from(salt_len).map_err(|_| Error::InvalidParameter)?;
            // SAFETY: `pctx` is the live context of the operation being configured.
            check(unsafe { ffi::EVP_PKEY_CTX_set_rsa_padding(pctx, ffi::RSA_PKCS1_PSS_PADDING) })?;
            // SAFETY: as above; the salt length was range-checked into a c_int.
            check(unsafe { ffi::EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_len) })
                .map_err(|_| Error::InvalidParameter)?;
            // SAFETY: as above; evp_md returns a static method table.
            check(unsafe { ffi::EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, evp_md(hash)) })
        }
    }
}

/// A streaming signature or verification (`EVP_DigestSign*` / `EVP_DigestVerify*`).
pub(crate) struct DigestSignContext {
    ctx: NonNull<ffi::EVP_MD_CTX>,
    sign: bool,
    signature_len: usize,
}

// SAFETY: the EVP_MD_CTX is exclusively owned by this value (it holds its own reference to
// the key), so moving it to another thread is sound.
unsafe impl Send for DigestSignContext {}

impl Drop for DigestSignContext {
    fn drop(&mut self) {
        // SAFETY: we own the context; EVP_MD_CTX_free also releases the EVP_PKEY_CTX and
        // its reference to the key.
        unsafe { ffi::EVP_MD_CTX_free(self.ctx.as_ptr()) }
    }
}

impl DigestSignContext {
    /// Starts a signature (`sign == true`) or a verification with `key`.
    pub(crate) fn new(key: &Pkey, hash: HashAlg, padding: Padding, sign: bool) -> Result<Self> {
        // SAFETY: allocates a fresh context; null is handled below.
        let raw = unsafe { ffi::EVP_MD_CTX_new() };
        let ctx = NonNull::new(raw).ok_or(Error::Internal)?;
        let this = DigestSignContext {
            ctx,
            sign,
            signature_len: key.max_signature_len(),
        };
        let mut pctx: *mut ffi::EVP_PKEY_CTX = ptr::null_mut();
        // SAFETY: ctx is a fresh context, key.0 a valid key (the init takes its own reference)
        // and `pctx` receives a borrowed pointer owned by ctx.
        let rc = unsafe {
            if sign {
                ffi::EVP_DigestSignInit(
                    ctx.as_ptr(),
                    &mut pctx,
                    evp_md(hash),
                    ptr::null_mut(),
                    key.0.as_ptr(),
                )
            } else {
                ffi::EVP_DigestVerifyInit(
                    ctx.as_ptr(),
                    &mut pctx,
                    evp_md(hash),
                    ptr::null_mut(),
                    key.0.as_ptr(),
                )
            }
        };
        check(rc).map_err(|_| Error::InvalidKey)?;
        if pctx.is_null() {
            return Err(Error::Internal);
        }
        configure(pctx, hash, padding)?;
        Ok(this)
    }

    /// Feeds more message bytes.
    pub(crate) fn update(&mut self, data: &[u8]) -> Result<()> {
        // SAFETY: ctx is initialised; `data` is a valid slice for the duration of the call.
        let rc = unsafe {
            if self.sign {
                ffi::EVP_DigestSignUpdate(self.ctx.as_ptr(), data.as_ptr().cast(), data.len())
            } else {
                ffi::EVP_DigestVerifyUpdate(self.ctx.as_ptr(), data.as_ptr().cast(), data.len())
            }
        };
        check(rc)
    }

    /// Finishes a signature and returns it (DER for ECDSA, modulus-sized for RSA).
    pub(crate) fn sign_final(self) -> Result<Vec<u8>> {
        if !self.sign {
            return Err(Error::Internal);
        }
        let mut sig = vec![0u8; self.signature_len];
        let mut len = sig.len();
        // SAFETY: `sig` has room for `len` bytes, the maximum signature size of the key.
        check(unsafe { ffi::EVP_DigestSignFinal(self.ctx.as_ptr(), sig.as_mut_ptr(), &mut len) })?;
        sig.truncate(len);
        Ok(sig)
    }

    /// Finishes a verification; `Ok(())` only if `signature` is valid.
    pub(crate) fn verify_final(self, signature: &[u8]) -> Result<()> {
        if self.sign {
            return Err(Error::Internal);
        }
        // SAFETY: ctx is initialised; `signature` is a valid slice for the call.
        let rc = unsafe {
            ffi::EVP_DigestVerifyFinal(self.ctx.as_ptr(), signature.as_ptr(), signature.len())
        };
        check(rc).map_err(|_| Error::VerificationFailed)
    }
}

/// An `EVP_PKEY_CTX` for one sign-or-verify over a caller-supplied digest.
struct PkeyContext(NonNull<ffi::EVP_PKEY_CTX>);

impl Drop for PkeyContext {
    fn drop(&mut self) {
        // SAFETY: we own the context.
        unsafe { ffi::EVP_PKEY_CTX_free(self.0.as_ptr()) }
    }
}

impl PkeyContext {
    fn new(key: &Pkey, hash: HashAlg, padding: Padding, sign: bool) -> Result<Self> {
        // SAFETY: key.0 is valid; the new context takes its own reference.
        let raw = unsafe { ffi::EVP_PKEY_CTX_new(key.0.as_ptr(), ptr::null_mut()) };
        let ctx = PkeyContext(NonNull::new(raw).ok_or(Error::Internal)?);
        // SAFETY: ctx is a fresh, valid context.
        let rc = unsafe {
            if sign {
                ffi::EVP_PKEY_sign_init(ctx.0.as_ptr())
            } else {
                ffi::EVP_PKEY_verify_init(ctx.0.as_ptr())
            }
        };
        check(rc).map_err(|_| Error::InvalidKey)?;
        // SAFETY: ctx is initialised; evp_md returns a static method table.
        check(unsafe { ffi::EVP_PKEY_CTX_set_signature_md(ctx.0.as_ptr(), evp_md(hash)) })?;
        configure(ctx.0.as_ptr(), hash, padding)?;
        Ok(ctx)
    }
}

/// Signs a caller-supplied digest (`EVP_PKEY_sign`). Returns DER for ECDSA.
pub(crate) fn sign_digest(
    key: &Pkey,
    hash: HashAlg,
    padding: Padding,
    digest: &[u8],
) -> Result<Vec<u8>> {
    if digest.len() != hash.output_len() {
        return Err(Error::InvalidLength);
    }
    let ctx = PkeyContext::new(key, hash, padding, true)?;
    let mut sig = vec![0u8; key.max_signature_len()];
    let mut len = sig.len();
    // SAFETY: `sig` has room for `len` bytes; `digest` is a valid slice.
    let rc = unsafe {
        ffi::EVP_PKEY_sign(
            ctx.0.as_ptr(),
            sig.as_mut_ptr(),
            &mut len,
            digest.as_ptr(),
            digest.len(),
        )
    };
    check(rc)?;
    sig.truncate(len);
    Ok(sig)
}

/// Verifies a signature over a caller-supplied digest (`EVP_PKEY_verify`).
pub(crate) fn verify_digest(
    key: &Pkey,
    hash: HashAlg,
    padding: Padding,
    digest: &[u8],
    signature: &[u8],
) -> Result<()> {
    if digest.len() != hash.output_len() {
        return Err(Error::InvalidLength);
    }
    let ctx = PkeyContext::new(key, hash, padding, false)?;
    // SAFETY: both slices are valid for the duration of the call.
    let rc = unsafe {
        ffi::EVP_PKEY_verify(
            ctx.0.as_ptr(),
            signature.as_ptr(),
            signature.len(),
            digest.as_ptr(),
            digest.len(),
        )
    };
    check(rc).map_err(|_| Error::VerificationFailed)
}

/// An owned `EVP_CIPHER_CTX`.
struct CipherContext(NonNull<ffi::EVP_CIPHER_CTX>);

impl Drop for CipherContext {
    fn drop(&mut self) {
        // SAFETY: we own the context; EVP_CIPHER_CTX_free cleanses the key schedule.
        unsafe { ffi::EVP_CIPHER_CTX_free(self.0.as_ptr()) }
    }
}

/// AES-256-XTS (IEEE 1619) over one data unit: `key` is the 512-bit double key, `tweak` the
/// 128-bit data-unit tweak. The data unit must be at least one block; ciphertext stealing
/// handles a final partial block.
pub(crate) fn aes_xts(encrypt: bool, key: &[u8], tweak: &[u8; 16], data: &[u8]) -> Result<Vec<u8>> {
    if key.len() != 64 {
        return Err(Error::InvalidKey);
    }
    if data.len() < 16 {
        return Err(Error::InvalidLength);
    }
    let in_len = c_int::try_from(data.len()).map_err(|_| Error::InvalidLength)?;
    // SAFETY: allocates a fresh context; null is handled below.
    let ctx =
        CipherContext(NonNull::new(unsafe { ffi::EVP_CIPHER_CTX_new() }).ok_or(Error::Internal)?);
    // SAFETY: ctx is fresh; key is 64 bytes and tweak 16 bytes, as EVP_aes_256_xts expects.
    let rc = unsafe {
        ffi::EVP_CipherInit_ex(
            ctx.0.as_ptr(),
            ffi::EVP_aes_256_xts(),
            ptr::null_mut(),
            key.as_ptr(),
            tweak.as_ptr(),
            c_int::from(encrypt),
        )
    };
    // AWS-LC refuses a key whose two halves are equal (IEEE 1619 / SP 800-38E).
    check(rc).map_err(|_| Error::InvalidKey)?;
    // Zeroizing until returned: decrypted data must not be dropped unwiped on an error path.
    let mut out = Zeroizing::new(vec![0u8; data.len()]);
    let mut written: c_int = 0;
    // SAFETY: XTS is a length-preserving mode, so `out` has room for `data.len()` bytes.
    check(unsafe {
        ffi::EVP_CipherUpdate(
            ctx.0.as_ptr(),
            out.as_mut_ptr(),
            &mut written,
            data.as_ptr(),
            in_len,
        )
    })?;
    let mut tail: c_int = 0;
    let done = usize::try_from(written).map_err(|_| Error::Internal)?;
    let rest = out.get_mut(done..).ok_or(Error::Internal)?;
    // SAFETY: `rest` is the unwritten tail of `out`; XTS writes nothing at finalisation.
    check(unsafe { ffi::EVP_CipherFinal_ex(ctx.0.as_ptr(), rest.as_mut_ptr(), &mut tail) })?;
    if done.checked_add(usize::try_from(tail).map_err(|_| Error::Internal)?) != Some(data.len()) {
        return Err(Error::Internal);
    }
    Ok(core::mem::take(&mut *out))
}

/// AES key wrap (RFC 3394) or key wrap with padding (RFC 5649), any AES key size.
pub(crate) fn aes_key_wrap(kek: &[u8], padded: bool, input: &[u8]) -> Result<Vec<u8>> {
    let mut schedule = AesSchedule::new(kek, true)?;
    if padded {
        let max_out = input.len().checked_add(15).ok_or(Error::InvalidLength)? / 8 * 8 + 8;
        let mut out = vec![0u8; max_out];
        let mut len = 0usize;
        // SAFETY: `out` has room for `max_out` bytes, the RFC 5649 bound for this input.
        let rc = unsafe {
            ffi::AES_wrap_key_padded(
                &schedule.key,
                out.as_mut_ptr(),
                &mut len,
                max_out,
                input.as_ptr(),
                input.len(),
            )
        };
        schedule.wipe();
        check(rc).map_err(|_| Error::InvalidLength)?;
        out.truncate(len);
        Ok(out)
    } else {
        if input.len() < 16 || input.len() % 8 != 0 {
            return Err(Error::InvalidLength);
        }
        let mut out = vec![0u8; input.len() + 8];
        // SAFETY: `out` has room for input.len() + 8 bytes; a null IV selects the default.
        let rc = unsafe {
            ffi::AES_wrap_key(
                &schedule.key,
                ptr::null(),
                out.as_mut_ptr(),
                input.as_ptr(),
                input.len(),
            )
        };
        schedule.wipe();
        let written = usize::try_from(rc).map_err(|_| Error::InvalidLength)?;
        if written != out.len() {
            clear_errors();
            return Err(Error::InvalidLength);
        }
        Ok(out)
    }
}

/// AES key unwrap (RFC 3394) or unwrap with padding (RFC 5649); any failure is
/// [`Error::VerificationFailed`].
pub(crate) fn aes_key_unwrap(kek: &[u8], padded: bool, input: &[u8]) -> Result<Vec<u8>> {
    let mut schedule = AesSchedule::new(kek, false)?;
    if input.len() < 16 || input.len() % 8 != 0 {
        return Err(Error::VerificationFailed);
    }
    let mut out = vec![0u8; input.len()];
    let result = if padded {
        let mut len = 0usize;
        // SAFETY: `out` has room for input.len() bytes, more than any RFC 5649 output.
        let rc = unsafe {
            ffi::AES_unwrap_key_padded(
                &schedule.key,
                out.as_mut_ptr(),
                &mut len,
                out.len(),
                input.as_ptr(),
                input.len(),
            )
        };
        check(rc).map(|()| len)
    } else {
        // SAFETY: `out` has room for input.len() - 8 bytes; a null IV selects the default.
        let rc = unsafe {
            ffi::AES_unwrap_key(
                &schedule.key,
                ptr::null(),
                out.as_mut_ptr(),
                input.as_ptr(),
                input.len(),
            )
        };
        usize::try_from(rc)
            .map_err(|_| Error::VerificationFailed)
            .and_then(|n| {
                if n + 8 == input.len() {
                    Ok(n)
                } else {
                    clear_errors();
                    Err(Error::VerificationFailed)
                }
            })
    };
    schedule.wipe();
    match result {
        Ok(len) => {
            out.truncate(len);
            Ok(out)
        }
        Err(_) => {
            out.zeroize();
            Err(Error::VerificationFailed)
        }
    }
}

/// An expanded AES key schedule, wiped after use. It is expanded in place on the heap and
/// never moved, so no copy of it is left in a dead stack slot.
struct AesSchedule {
    key: ffi::AES_KEY,
}

impl AesSchedule {
    fn new(kek: &[u8], encrypt: bool) -> Result<Box<Self>> {
        let bits: u32 = match kek.len() {
            16 => 128,
            24 => 192,
            32 => 256,
            _ => return Err(Error::InvalidKey),
        };
        let mut schedule = Box::new(AesSchedule {
            key: ffi::AES_KEY {
                rd_key: [0; 60],
                rounds: 0,
            },
        });
        // SAFETY: `kek` holds bits/8 bytes and `schedule.key` is a valid AES_KEY to fill.
        let rc = unsafe {
            if encrypt {
                ffi::AES_set_encrypt_key(kek.as_ptr(), bits, &mut schedule.key)
            } else {
                ffi::AES_set_decrypt_key(kek.as_ptr(), bits, &mut schedule.key)
            }
        };
        if rc != 0 {
            return Err(Error::InvalidKey);
        }
        Ok(schedule)
    }

    fn wipe(&mut self) {
        self.key.rd_key.zeroize();
        self.key.rounds = 0;
    }
}

impl Drop for AesSchedule {
    fn drop(&mut self) {
        self.wipe();
    }
}

/// A BIGNUM's big-endian bytes.
fn bignum_bytes(bn: *const ffi::BIGNUM) -> Result<Vec<u8>> {
    if bn.is_null() {
        return Err(Error::InvalidKey);
    }
    // SAFETY: bn is a valid BIGNUM borrowed from a live key.
    let len = usize::try_from(unsafe { ffi::BN_num_bytes(bn) }).map_err(|_| Error::Internal)?;
    let mut out = vec![0; len];
    // SAFETY: out has exactly BN_num_bytes(bn) bytes, which is what BN_bn2bin writes.
    let written = unsafe { ffi::BN_bn2bin(bn, out.as_mut_ptr()) };
    if written != len {
        return Err(Error::Internal);
    }
    Ok(out)
}

/// AWS-LC's memory callbacks: `malloc`, `realloc` and `free` with the caller's file and line.
pub(crate) type MallocFn =
    extern "C" fn(usize, *const core::ffi::c_char, c_int) -> *mut core::ffi::c_void;
/// See [`MallocFn`].
pub(crate) type ReallocFn = extern "C" fn(
    *mut core::ffi::c_void,
    usize,
    *const core::ffi::c_char,
    c_int,
) -> *mut core::ffi::c_void;
/// See [`MallocFn`].
pub(crate) type FreeFn = extern "C" fn(*mut core::ffi::c_void, *const core::ffi::c_char, c_int);

/// Routes every AWS-LC allocation to these functions (the locked arena). AWS-LC takes them
/// once, and only before its first allocation; otherwise it refuses.
pub(crate) fn set_mem_functions(
    malloc: MallocFn,
    realloc: ReallocFn,
    free: FreeFn,
) -> core::result::Result<(), ()> {
    // SAFETY: the three are plain functions that live as long as the program, with the
    // signatures AWS-LC declares; AWS-LC only stores them.
    let accepted =
        unsafe { ffi::CRYPTO_set_mem_functions(Some(malloc), Some(realloc), Some(free)) };
    if accepted == 1 {
        Ok(())
    } else {
        Err(())
    }
}
