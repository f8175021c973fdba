//! Randomness from the system CSPRNG, and the digest keys are derived with.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A fresh 96-bit AES-GCM nonce. A failing system CSPRNG leaves nothing safe to do: it panics.
pub fn nonce() -> [u8; 12] {
    random_bytes::<12>().unwrap_or_else(|e| panic!("CSPRNG failure: {e}"))
}

pub fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    use aws_lc_rs::rand::SecureRandom;
    let mut buf = [0u8; N];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
    Ok(buf)
}

/// SHA-256, base64url without padding.
pub fn sha256_b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}
