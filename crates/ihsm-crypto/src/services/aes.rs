//! AES: GCM (IV made inside the module), CBC with and without PKCS#7 padding, XTS, and key
//! wrap (RFC 3394) and key wrap with padding (RFC 5649).

use aws_lc_rs::aead::{Aad, Nonce, NONCE_LEN};
use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, PaddedBlockEncryptingKey,
    UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use subtle::{Choice, ConstantTimeEq, ConstantTimeGreater, CtOption};
use zeroize::Zeroizing;

use crate::engine::{Engine, Indicated};
use crate::error::{Error, Result};
use crate::keys::{AesKey, SecretBytes, XtsKey};
use crate::policy::Service;
use crate::shim;

/// GCM IV length in bytes (96 bits, SP 800-38D).
pub const GCM_IV_LEN: usize = NONCE_LEN;
/// GCM tag length in bytes; ihsm uses full 128-bit tags only.
pub const GCM_TAG_LEN: usize = 16;
/// AES block length in bytes.
pub const AES_BLOCK_LEN: usize = 16;
/// Largest XTS data unit: 2^20 blocks (SP 800-38E).
pub const XTS_MAX_DATA_UNIT: usize = AES_BLOCK_LEN << 20;

/// An AES-GCM ciphertext with the IV the module chose for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcmCiphertext {
    /// The 96-bit IV.
    pub iv: [u8; GCM_IV_LEN],
    /// Ciphertext followed by the 128-bit tag.
    pub ciphertext: Vec<u8>,
}

impl Engine {
    /// Encrypts with AES-GCM. The IV is made inside the module: by AWS-LC's approved
    /// internal IV generation for AES-128/256, from the DRBG for AES-192 (not approved).
    pub fn aes_gcm_encrypt(
        &self,
        key: &AesKey,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Indicated<GcmCiphertext>> {
        self.ready()?;
        key.reserve_gcm_invocation()?;
        // AES-192 has no internal-IV construction in AWS-LC: draw the IV from the DRBG before
        // the measured call, so the DRBG's own approval does not count for the encryption.
        let external_iv = match key.gcm_random_iv()? {
            Some(_) => None,
            None => {
                let mut iv = [0u8; GCM_IV_LEN];
                super::random::fill(&mut iv)?;
                Some(iv)
            }
        };
        self.run(Service::AesGcmEncrypt(key.bits()), || {
            // Zeroizing until sealed: an error path must not drop plaintext unwiped.
            let mut buffer = working_copy(plaintext, GCM_TAG_LEN);
            let iv = match (key.gcm_random_iv()?, external_iv) {
                (Some(sealer), _) => *sealer
                    .seal_in_place_append_tag(Aad::from(aad), &mut *buffer)?
                    .as_ref(),
                (None, Some(iv)) => {
                    let nonce = Nonce::assume_unique_for_key(iv);
                    key.gcm()?
                        .seal_in_place_append_tag(nonce, Aad::from(aad), &mut *buffer)?;
                    iv
                }
                (None, None) => return Err(Error::Internal),
            };
            Ok(GcmCiphertext {
                iv,
                ciphertext: core::mem::take(&mut *buffer),
            })
        })
    }

    /// Decrypts and authenticates AES-GCM (`ciphertext` ends with the 128-bit tag).
    pub fn aes_gcm_decrypt(
        &self,
        key: &AesKey,
        iv: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Indicated<SecretBytes>> {
        self.run(Service::AesGcmDecrypt(key.bits()), || {
            gcm_open(key, iv, aad, ciphertext)
        })
    }

    /// Encrypts with AES-CBC under a caller-chosen IV, with or without PKCS#7 padding.
    /// Without padding the input must be whole blocks.
    pub fn aes_cbc_encrypt(
        &self,
        key: &AesKey,
        iv: &[u8],
        padded: bool,
        plaintext: &[u8],
    ) -> Result<Indicated<Vec<u8>>> {
        let service = Service::AesCbc {
            bits: key.bits(),
            padded,
            encrypt: true,
        };
        self.run(service, || cbc_encrypt(key, iv, padded, plaintext))
    }

    /// Decrypts AES-CBC. A bad PKCS#7 padding is `VerificationFailed`, checked in constant
    /// time. Whether padding was valid is still visible to the caller, which is the classic
    /// padding oracle: callers must never decrypt attacker-supplied ciphertext of secret
    /// material with padding (e.g. unwrap with CBC-PAD); use AES-KWP or GCM for that.
    pub fn aes_cbc_decrypt(
        &self,
        key: &AesKey,
        iv: &[u8],
        padded: bool,
        ciphertext: &[u8],
    ) -> Result<Indicated<SecretBytes>> {
        let service = Service::AesCbc {
            bits: key.bits(),
            padded,
            encrypt: false,
        };
        self.run(service, || cbc_decrypt(key, iv, padded, ciphertext))
    }

    /// Encrypts one XTS data unit (16 bytes to 16 MiB) under a 128-bit tweak.
    pub fn aes_xts_encrypt(
        &self,
        key: &XtsKey,
        tweak: &[u8],
        data: &[u8],
    ) -> Result<Indicated<Vec<u8>>> {
        self.run(Service::AesXts { encrypt: true }, || {
            xts(key, true, tweak, data)
        })
    }

    /// Decrypts one XTS data unit.
    pub fn aes_xts_decrypt(
        &self,
        key: &XtsKey,
        tweak: &[u8],
        data: &[u8],
    ) -> Result<Indicated<SecretBytes>> {
        self.run(Service::AesXts { encrypt: false }, || {
            xts(key, false, tweak, data).map(SecretBytes::new)
        })
    }

    /// Wraps `key_data` under `kek`: RFC 3394 (KW, input a multiple of 8 bytes, at least 16)
    /// or RFC 5649 (KWP, any non-empty input).
    pub fn aes_key_wrap(
        &self,
        kek: &AesKey,
        padded: bool,
        key_data: &[u8],
    ) -> Result<Indicated<Vec<u8>>> {
        let service = Service::AesKeyWrap {
            bits: kek.bits(),
            padded,
            wrap: true,
        };
        self.run(service, || {
            if key_data.is_empty() {
                return Err(Error::InvalidLength);
            }
            shim::aes_key_wrap(kek.expose(), padded, key_data)
        })
    }

    /// Unwraps; any integrity failure is `VerificationFailed`.
    pub fn aes_key_unwrap(
        &self,
        kek: &AesKey,
        padded: bool,
        wrapped: &[u8],
    ) -> Result<Indicated<SecretBytes>> {
        let service = Service::AesKeyWrap {
            bits: kek.bits(),
            padded,
            wrap: false,
        };
        self.run(service, || {
            shim::aes_key_unwrap(kek.expose(), padded, wrapped).map(SecretBytes::new)
        })
    }
}

pub(crate) fn gcm_seal_with_iv(
    key: &AesKey,
    iv: &[u8; GCM_IV_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let mut buffer = plaintext.to_vec();
    key.gcm()?.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(*iv),
        Aad::from(aad),
        &mut buffer,
    )?;
    Ok(buffer)
}

pub(crate) fn gcm_open(
    key: &AesKey,
    iv: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<SecretBytes> {
    let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|_| Error::InvalidParameter)?;
    if ciphertext.len() < GCM_TAG_LEN {
        return Err(Error::VerificationFailed);
    }
    let mut buffer = SecretBytes::from_slice(ciphertext);
    let len = {
        let in_out = buffer.expose_mut();
        key.gcm()?
            .open_in_place(nonce, Aad::from(aad), in_out)
            .map_err(|_| Error::VerificationFailed)?
            .len()
    };
    buffer.truncate(len);
    Ok(buffer)
}

pub(crate) fn cbc_encrypt(
    key: &AesKey,
    iv: &[u8],
    padded: bool,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let iv = iv128(iv)?;
    let unbound = UnboundCipherKey::new(key.cipher_algorithm(), key.expose())?;
    // Room for the padding up front, so the buffer never reallocates and leaves an unwiped
    // copy of the plaintext behind.
    let mut buffer = working_copy(plaintext, AES_BLOCK_LEN);
    if padded {
        PaddedBlockEncryptingKey::cbc_pkcs7(unbound)?
            .less_safe_encrypt(&mut *buffer, EncryptionContext::Iv128(iv))?;
    } else {
        if plaintext.len() % AES_BLOCK_LEN != 0 {
            return Err(Error::InvalidLength);
        }
        EncryptingKey::cbc(unbound)?
            .less_safe_encrypt(&mut buffer, EncryptionContext::Iv128(iv))?;
    }
    Ok(core::mem::take(&mut *buffer))
}

pub(crate) fn cbc_decrypt(
    key: &AesKey,
    iv: &[u8],
    padded: bool,
    ciphertext: &[u8],
) -> Result<SecretBytes> {
    let iv = iv128(iv)?;
    if ciphertext.is_empty() || ciphertext.len() % AES_BLOCK_LEN != 0 {
        return Err(if padded {
            Error::VerificationFailed
        } else {
            Error::InvalidLength
        });
    }
    let unbound = UnboundCipherKey::new(key.cipher_algorithm(), key.expose())?;
    let mut buffer = SecretBytes::from_slice(ciphertext);
    DecryptingKey::cbc(unbound)?.decrypt(buffer.expose_mut(), DecryptionContext::Iv128(iv))?;
    let len = if padded {
        // Checked here in constant time rather than by AWS-LC's early-exit unpadding, so
        // the time taken says nothing about where the padding went wrong.
        Option::<usize>::from(unpadded_len(buffer.expose())).ok_or(Error::VerificationFailed)?
    } else {
        buffer.len()
    };
    buffer.truncate(len);
    Ok(buffer)
}

/// The length without PKCS#7 padding, if the padding is valid; constant time in the
/// contents of the last block.
fn unpadded_len(block_aligned: &[u8]) -> CtOption<usize> {
    let len = block_aligned.len();
    let Some(last_block) = len
        .checked_sub(AES_BLOCK_LEN)
        .and_then(|start| block_aligned.get(start..))
    else {
        return CtOption::new(0, Choice::from(0));
    };
    let pad = last_block.last().copied().unwrap_or(0);
    let mut valid = pad.ct_gt(&0) & !pad.ct_gt(&16);
    for (distance, byte) in (1u8..).zip(last_block.iter().rev()) {
        let in_padding = !distance.ct_gt(&pad);
        valid &= !in_padding | byte.ct_eq(&pad);
    }
    // Saturating: an invalid pad byte may exceed the length; the value is unused then.
    CtOption::new(len.saturating_sub(usize::from(pad)), valid)
}

/// A zeroizing copy of `data` with `spare` bytes of capacity to grow into.
fn working_copy(data: &[u8], spare: usize) -> Zeroizing<Vec<u8>> {
    let mut buffer = Zeroizing::new(Vec::with_capacity(data.len() + spare));
    buffer.extend_from_slice(data);
    buffer
}

pub(crate) fn xts(key: &XtsKey, encrypt: bool, tweak: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    let tweak: &[u8; 16] = tweak.try_into().map_err(|_| Error::InvalidParameter)?;
    if data.len() > XTS_MAX_DATA_UNIT {
        return Err(Error::InvalidLength);
    }
    shim::aes_xts(encrypt, key.expose(), tweak, data)
}

fn iv128(iv: &[u8]) -> Result<FixedLength<16>> {
    let iv: [u8; 16] = iv.try_into().map_err(|_| Error::InvalidParameter)?;
    Ok(FixedLength::from(iv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs7_unpadding_accepts_exactly_the_valid_paddings() {
        for pad in 1..=16u8 {
            let mut block = [0x41u8; 32];
            block[32 - usize::from(pad)..].fill(pad);
            assert_eq!(
                Option::from(unpadded_len(&block)),
                Some(32 - usize::from(pad))
            );
        }
        let mut block = [0x41u8; 32];
        for last in [0u8, 17, 0x80, 0xff] {
            block[31] = last;
            assert_eq!(
                Option::<usize>::from(unpadded_len(&block)),
                None,
                "last byte {last}"
            );
        }
        block[27..].copy_from_slice(&[9, 4, 4, 4, 4]);
        assert_eq!(Option::from(unpadded_len(&block)), Some(28));
        block[28..].copy_from_slice(&[4, 5, 4, 4]);
        assert_eq!(Option::<usize>::from(unpadded_len(&block)), None);
        assert_eq!(Option::<usize>::from(unpadded_len(&[16u8; 15])), None);
    }
}
