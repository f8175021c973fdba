//! Aadhaar protection (UIDAI's Aadhaar Data Vault rule): a keyed token for exact matching in every
//! other table, and an AES-256-GCM ciphertext, bound to its UAN, for the vault table alone.
//! Keys and nonces come in as parameters: this module reads no files and no clock.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;

use crate::error::Invalid;
use crate::ids::{Aadhaar, Uan};

/// HMAC-SHA256 of the Aadhaar digits under the token key, hex-encoded: equal Aadhaar numbers give
/// equal tokens, and nobody without the key can go back to the number or test a guess.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AadhaarToken(String);

impl AadhaarToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A token read back from storage (64 lowercase hex digits).
    pub fn from_stored(s: &str) -> Result<Self, Invalid> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(AadhaarToken(s.to_owned()))
        } else {
            Err(Invalid::new(
                "invalid_format",
                "an Aadhaar token is 64 hex digits",
            ))
        }
    }
}

impl fmt::Debug for AadhaarToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AadhaarToken({}…)", &self.0[..8])
    }
}

/// The secret key of the Aadhaar token. Changing it changes every token, so it is rotated only with
/// a full re-tokenisation; the vault key, by contrast, rotates by key id.
pub struct TokenKey(hmac::Key);

impl TokenKey {
    pub fn new(secret: &[u8]) -> Result<Self, Invalid> {
        if secret.len() < 32 {
            return Err(Invalid::new(
                "weak_key",
                "the Aadhaar token key must be at least 32 bytes",
            ));
        }
        Ok(TokenKey(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    /// A value that identifies the key without revealing it: the token of a fixed label.
    pub fn fingerprint(&self) -> String {
        hex(hmac::sign(&self.0, b"shramsetu-key-check-v1").as_ref())
    }

    /// A keyed digest of a request (its canonical form), for holding an idempotency key to it: a
    /// request may carry an Aadhaar number, and an unkeyed hash of it could be searched through
    /// the 10^8 numbers left once the stored answer's last four digits are known.
    pub fn request_digest(&self, canonical: &[u8]) -> String {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(b"shramsetu-request-v1\0");
        ctx.update(canonical);
        hex(ctx.sign().as_ref())
    }

    pub fn token(&self, aadhaar: &Aadhaar) -> AadhaarToken {
        let tag = hmac::sign(&self.0, aadhaar.expose_digits().as_bytes());
        AadhaarToken(hex(tag.as_ref()))
    }
}

/// One vault row's sealed Aadhaar: which key, the nonce, and the ciphertext with its GCM tag.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: [u8; NONCE_LEN],
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Sealed(key_id={}, {} bytes)",
            self.key_id,
            self.ciphertext.len()
        )
    }
}

/// An AES-256-GCM vault key with its id (stored beside each ciphertext, so keys can rotate).
pub struct VaultKey {
    id: String,
    key: LessSafeKey,
    fingerprint: String,
}

impl VaultKey {
    pub fn new(id: impl Into<String>, key: &[u8]) -> Result<Self, Invalid> {
        let unbound = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| Invalid::new("weak_key", "a vault key is exactly 32 bytes (AES-256)"))?;
        let mut check = b"shramsetu-vault-check-v1".to_vec();
        check.extend_from_slice(key);
        let fingerprint =
            hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &check).as_ref());
        Ok(VaultKey {
            id: id.into(),
            key: LessSafeKey::new(unbound),
            fingerprint,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Identifies the key without revealing it (SHA-256 of a label and the key).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Encrypts under a fresh `nonce` (the caller draws it from a CSPRNG). The UAN is authenticated
    /// data: a ciphertext moved to another worker's row does not open.
    pub fn seal(&self, aadhaar: &Aadhaar, uan: &Uan, nonce: [u8; NONCE_LEN]) -> Sealed {
        self.seal_bound(aadhaar, uan.as_str().as_bytes(), nonce)
    }

    pub fn open(&self, sealed: &Sealed, uan: &Uan) -> Result<Aadhaar, Invalid> {
        self.open_bound(sealed, uan.as_str().as_bytes())
    }

    /// Encrypts with `bound` as the authenticated data: the ciphertext opens only with the same
    /// (a staged batch row binds its batch and line, before there is a UAN).
    pub fn seal_bound(&self, aadhaar: &Aadhaar, bound: &[u8], nonce: [u8; NONCE_LEN]) -> Sealed {
        let mut buf = aadhaar.expose_digits().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(bound),
                &mut buf,
            )
            // Sealing only fails for inputs larger than GCM's limit; 12 bytes never are.
            .unwrap_or_else(|_| unreachable!("AES-GCM seal of 12 bytes"));
        Sealed {
            key_id: self.id.clone(),
            nonce,
            ciphertext: buf,
        }
    }

    pub fn open_bound(&self, sealed: &Sealed, bound: &[u8]) -> Result<Aadhaar, Invalid> {
        if sealed.key_id != self.id {
            return Err(Invalid::new("wrong_key", "sealed under another vault key"));
        }
        let mut buf = sealed.ciphertext.clone();
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(sealed.nonce),
                Aad::from(bound),
                &mut buf,
            )
            .map_err(|_| Invalid::new("tampered", "the vault ciphertext does not authenticate"))?;
        let digits = std::str::from_utf8(plain)
            .map_err(|_| Invalid::new("tampered", "the vault plaintext is not digits"))?;
        Aadhaar::parse(digits)
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// The bytes of a hex string; `None` for an odd length or a non-hex digit.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aadhaar() -> Aadhaar {
        Aadhaar::parse("999941057058").unwrap()
    }

    #[test]
    fn token_is_keyed_and_deterministic() {
        let k1 = TokenKey::new(&[7u8; 32]).unwrap();
        let k2 = TokenKey::new(&[8u8; 32]).unwrap();
        let t = k1.token(&aadhaar());
        assert_eq!(t, k1.token(&aadhaar()));
        assert_ne!(t, k2.token(&aadhaar()));
        assert_eq!(t.as_str().len(), 64);
        assert!(!t.as_str().contains("999941057058"));
        assert!(TokenKey::new(&[1u8; 16]).is_err());
        assert_eq!(AadhaarToken::from_stored(t.as_str()).unwrap(), t);
    }

    #[test]
    fn vault_round_trips_and_is_bound_to_its_uan() {
        let key = VaultKey::new("v1", &[9u8; 32]).unwrap();
        let uan = Uan::from_serial(1);
        let sealed = key.seal(&aadhaar(), &uan, [3u8; 12]);
        assert_eq!(sealed.key_id, "v1");
        assert!(!sealed.ciphertext.windows(12).any(|w| w == b"999941057058"));
        assert_eq!(key.open(&sealed, &uan).unwrap(), aadhaar());
        assert_eq!(
            key.open(&sealed, &Uan::from_serial(2)).unwrap_err().code,
            "tampered"
        );
        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        assert_eq!(key.open(&flipped, &uan).unwrap_err().code, "tampered");
        let other = VaultKey::new("v2", &[9u8; 32]).unwrap();
        assert_eq!(other.open(&sealed, &uan).unwrap_err().code, "wrong_key");
    }
}
