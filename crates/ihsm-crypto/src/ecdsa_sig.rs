//! Conversion between the DER `ECDSA-Sig-Value` AWS-LC produces and consumes and the fixed
//! `r || s` form PKCS#11 (and ihsm's wire protocol) use.

use crate::error::{Error, Result};

/// DER `SEQUENCE { INTEGER r, INTEGER s }` -> `r || s`, each left-padded to `scalar_len`.
pub(crate) fn der_to_fixed(der: &[u8], scalar_len: usize) -> Result<Vec<u8>> {
    let (body, rest) = read_tlv(der, 0x30)?;
    if !rest.is_empty() {
        return Err(Error::Internal);
    }
    let (r, body) = read_tlv(body, 0x02)?;
    let (s, body) = read_tlv(body, 0x02)?;
    if !body.is_empty() {
        return Err(Error::Internal);
    }
    let mut out = vec![0u8; 2 * scalar_len];
    for (int, half) in [(r, 0), (s, 1)] {
        let int = strip_leading_zeros(int);
        let start = (half + 1) * scalar_len;
        let dst = start
            .checked_sub(int.len())
            .and_then(|from| out.get_mut(from..start))
            .ok_or(Error::Internal)?;
        dst.copy_from_slice(int);
    }
    Ok(out)
}

/// `r || s` -> DER. Any `r || s` of the right length encodes; AWS-LC then rejects values
/// that are zero or not below the group order.
pub(crate) fn fixed_to_der(fixed: &[u8], scalar_len: usize) -> Result<Vec<u8>> {
    if fixed.len() != 2 * scalar_len {
        return Err(Error::VerificationFailed);
    }
    let (r, s) = fixed.split_at(scalar_len);
    let mut body = Vec::with_capacity(fixed.len() + 8);
    for int in [r, s] {
        let int = strip_leading_zeros(int);
        let pad = int.first().is_none_or(|b| b & 0x80 != 0);
        body.push(0x02);
        push_len(&mut body, int.len() + usize::from(pad));
        if pad {
            body.push(0);
        }
        body.extend_from_slice(int);
    }
    let mut der = Vec::with_capacity(body.len() + 4);
    der.push(0x30);
    push_len(&mut der, body.len());
    der.extend_from_slice(&body);
    Ok(der)
}

fn strip_leading_zeros(mut int: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = int {
        int = rest;
    }
    int
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    // Signatures on P-521 stay below 256 bytes, so one length byte after 0x81 suffices.
    let byte = u8::try_from(len).unwrap_or(u8::MAX);
    if byte >= 0x80 {
        out.push(0x81);
    }
    out.push(byte);
}

fn read_tlv(input: &[u8], tag: u8) -> Result<(&[u8], &[u8])> {
    let [t, first, rest @ ..] = input else {
        return Err(Error::Internal);
    };
    if *t != tag {
        return Err(Error::Internal);
    }
    let (len, rest) = match *first {
        n if n < 0x80 => (usize::from(n), rest),
        0x81 => {
            let [n, rest @ ..] = rest else {
                return Err(Error::Internal);
            };
            (usize::from(*n), rest)
        }
        _ => return Err(Error::Internal),
    };
    if rest.len() < len {
        return Err(Error::Internal);
    }
    Ok(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_high_bits_and_leading_zeros() {
        let mut fixed = vec![0u8; 64];
        fixed[1] = 0x01;
        fixed[32] = 0xff;
        fixed[63] = 0x05;
        let der = fixed_to_der(&fixed, 32).unwrap();
        assert_eq!(der_to_fixed(&der, 32).unwrap(), fixed);
        let fixed521 = vec![0x80u8; 132];
        let der = fixed_to_der(&fixed521, 66).unwrap();
        assert_eq!(der[1], 0x81);
        assert_eq!(der_to_fixed(&der, 66).unwrap(), fixed521);
    }

    #[test]
    fn wrong_length_is_a_verification_failure() {
        assert_eq!(fixed_to_der(&[1; 63], 32), Err(Error::VerificationFailed));
    }
}
