//! AES known-answer tests: GCM, CBC, XTS, KW and KWP, each in both directions.

use super::vectors::*;
use super::{matches, SelfTest, TestHooks};
use aws_lc_rs::aead::Aad;

use crate::keys::{AesKey, XtsKey};
use crate::services::aes::{
    cbc_decrypt, cbc_encrypt, gcm_open, gcm_seal_with_iv, xts as xts_cipher,
};
use crate::shim;

pub(super) fn gcm(hooks: &TestHooks) -> bool {
    let test = SelfTest::AesGcm;
    let Ok(key) = AesKey::from_bytes(&GCM_KEY) else {
        return false;
    };
    let sealed = gcm_seal_with_iv(&key, &GCM_IV, &GCM_AAD, &GCM_PT);
    let opened = gcm_open(&key, &GCM_IV, &GCM_AAD, &GCM_CT_TAG);
    let known = match (sealed, opened) {
        (Ok(ct), Ok(pt)) => {
            matches(hooks, test, &ct, &GCM_CT_TAG) && matches(hooks, test, pt.expose(), &GCM_PT)
        }
        _ => false,
    };
    known && internal_iv_round_trip(&key)
}

/// The approved encryption path makes its IV inside AWS-LC, so it cannot have a fixed answer:
/// seal twice, check the IVs differ and both open to the plaintext under the known-answer key.
fn internal_iv_round_trip(key: &AesKey) -> bool {
    let Ok(Some(sealer)) = key.gcm_random_iv() else {
        return false;
    };
    let mut ivs = Vec::new();
    for _ in 0..2 {
        let mut buffer = GCM_PT.to_vec();
        let Ok(nonce) = sealer.seal_in_place_append_tag(Aad::from(&GCM_AAD[..]), &mut buffer)
        else {
            return false;
        };
        let iv = *nonce.as_ref();
        if buffer.get(..GCM_PT.len()) == Some(&GCM_PT[..])
            || !gcm_open(key, &iv, &GCM_AAD, &buffer).is_ok_and(|pt| pt.expose() == GCM_PT)
        {
            return false;
        }
        ivs.push(iv);
    }
    ivs.first() != ivs.get(1)
}

pub(super) fn cbc(hooks: &TestHooks) -> bool {
    let test = SelfTest::AesCbc;
    let Ok(key) = AesKey::from_bytes(&CBC_KEY) else {
        return false;
    };
    let Some(unpadded_ct) = CBC_CT.get(..CBC_PT.len()) else {
        return false;
    };
    let results = (
        cbc_encrypt(&key, &CBC_IV, true, &CBC_PT),
        cbc_decrypt(&key, &CBC_IV, true, &CBC_CT),
        cbc_encrypt(&key, &CBC_IV, false, &CBC_PT),
        cbc_decrypt(&key, &CBC_IV, false, unpadded_ct),
    );
    match results {
        (Ok(ct), Ok(pt), Ok(raw_ct), Ok(raw_pt)) => {
            matches(hooks, test, &ct, &CBC_CT)
                && matches(hooks, test, pt.expose(), &CBC_PT)
                && matches(hooks, test, &raw_ct, unpadded_ct)
                && matches(hooks, test, raw_pt.expose(), &CBC_PT)
        }
        _ => false,
    }
}

pub(super) fn xts(hooks: &TestHooks) -> bool {
    let test = SelfTest::AesXts;
    let Ok(key) = XtsKey::from_bytes(&XTS_KEY) else {
        return false;
    };
    match (
        xts_cipher(&key, true, &XTS_TWEAK, &XTS_PT),
        xts_cipher(&key, false, &XTS_TWEAK, &XTS_CT),
    ) {
        (Ok(ct), Ok(pt)) => {
            matches(hooks, test, &ct, &XTS_CT) && matches(hooks, test, &pt, &XTS_PT)
        }
        _ => false,
    }
}

pub(super) fn key_wrap(hooks: &TestHooks) -> bool {
    wrap_both_ways(
        hooks,
        SelfTest::AesKeyWrap,
        false,
        &KW_KEK,
        &KW_KEY,
        &KW_WRAPPED,
    )
}

pub(super) fn key_wrap_pad(hooks: &TestHooks) -> bool {
    wrap_both_ways(
        hooks,
        SelfTest::AesKeyWrapPad,
        true,
        &KWP_KEK,
        &KWP_KEY,
        &KWP_WRAPPED,
    )
}

fn wrap_both_ways(
    hooks: &TestHooks,
    test: SelfTest,
    padded: bool,
    kek: &[u8],
    key: &[u8],
    wrapped: &[u8],
) -> bool {
    match (
        shim::aes_key_wrap(kek, padded, key),
        shim::aes_key_unwrap(kek, padded, wrapped),
    ) {
        (Ok(w), Ok(k)) => {
            let k = zeroize::Zeroizing::new(k);
            matches(hooks, test, &w, wrapped) && matches(hooks, test, &k, key)
        }
        _ => false,
    }
}
