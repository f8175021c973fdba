//! The audit log's entries, their hash chain and the signed checkpoints that pin the chain outside
//! the database. Pure: the writer and the verifier (with I/O) live in the store and the gateway.
//!
//! `hash = SHA-256(prev_hash || canonical(entry))`, where `canonical` is a fixed-order JSON of every
//! stored column, so changing any column of any row breaks the chain from that row on. A checkpoint
//! is an Ed25519 signature over `(seq, hash, time)`, kept outside the database: a log truncated (or
//! rewritten from scratch, chain and all) no longer matches it.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// The hash before the first entry.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// One access to personal data: who, under which token and purpose, what, and with which outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub client_id: String,
    pub jti: Option<String>,
    pub purpose: String,
    /// `read`, `list`, `create`, `update`, `verify`, `access_log`.
    pub action: String,
    /// The route pattern, e.g. `/v1/workers/{uan}`.
    pub route: String,
    pub uans: Vec<String>,
    /// Fields served or changed.
    pub fields: Vec<String>,
    pub status: u16,
    pub request_id: String,
}

#[derive(Serialize)]
struct Canonical<'a> {
    v: u8,
    seq: i64,
    at: String,
    client_id: &'a str,
    jti: Option<&'a str>,
    purpose: &'a str,
    action: &'a str,
    route: &'a str,
    uans: &'a [String],
    fields: &'a [String],
    status: u16,
    request_id: &'a str,
}

impl AuditEntry {
    /// The bytes that are hashed: fixed field order, microsecond timestamps (PostgreSQL's precision).
    pub fn canonical(&self, seq: i64) -> Vec<u8> {
        let c = Canonical {
            v: 1,
            seq,
            at: self.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            client_id: &self.client_id,
            jti: self.jti.as_deref(),
            purpose: &self.purpose,
            action: &self.action,
            route: &self.route,
            uans: &self.uans,
            fields: &self.fields,
            status: self.status,
            request_id: &self.request_id,
        };
        serde_json::to_vec(&c).unwrap_or_default()
    }

    /// Truncates the timestamp to microseconds, as it will be stored.
    pub fn normalised(mut self) -> Self {
        let micros = self.at.timestamp_micros();
        self.at = DateTime::from_timestamp_micros(micros).unwrap_or(self.at);
        self
    }
}

/// The chain step.
pub fn chain(prev: &[u8; 32], entry: &AuditEntry, seq: i64) -> [u8; 32] {
    let mut input = prev.to_vec();
    input.extend_from_slice(&entry.canonical(seq));
    let d = digest(&SHA256, &input);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// A signed statement that the chain had `hash` at `seq` at time `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    /// Hex.
    pub hash: String,
    pub at: DateTime<Utc>,
    /// Hex of the signer's Ed25519 public key.
    pub public_key: String,
    /// Hex of the Ed25519 signature over [`Checkpoint::message`].
    pub signature: String,
}

impl Checkpoint {
    fn message(seq: i64, hash: &str, at: &DateTime<Utc>) -> Vec<u8> {
        format!(
            "shramsetu-audit-checkpoint:v1:{seq}:{hash}:{}",
            at.to_rfc3339_opts(SecondsFormat::Micros, true)
        )
        .into_bytes()
    }

    pub fn sign(key: &Ed25519KeyPair, seq: i64, hash: &[u8; 32], at: DateTime<Utc>) -> Checkpoint {
        let at = DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at);
        let hash = hex(hash);
        let signature = key.sign(&Self::message(seq, &hash, &at));
        Checkpoint {
            seq,
            hash,
            at,
            public_key: hex(key.public_key().as_ref()),
            signature: hex(signature.as_ref()),
        }
    }

    /// True when the signature is valid and made by `trusted_public_key` (hex).
    pub fn verify(&self, trusted_public_key: &str) -> bool {
        if self.public_key != trusted_public_key {
            return false;
        }
        let (Some(pk), Some(sig)) = (unhex(&self.public_key), unhex(&self.signature)) else {
            return false;
        };
        UnparsedPublicKey::new(&ED25519, pk)
            .verify(&Self::message(self.seq, &self.hash, &self.at), &sig)
            .is_ok()
    }
}

pub use crate::crypto::{hex, unhex};

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u32) -> AuditEntry {
        AuditEntry {
            at: DateTime::from_timestamp(1_700_000_000 + n as i64, 123_456_789).unwrap(),
            client_id: "bihar-portal".into(),
            jti: Some("j".into()),
            purpose: "scheme-enrolment".into(),
            action: "read".into(),
            route: "/v1/workers/{uan}".into(),
            uans: vec!["483920175560".into()],
            fields: vec!["name".into(), "date_of_birth".into()],
            status: 200,
            request_id: format!("r{n}"),
        }
        .normalised()
    }

    #[test]
    fn any_change_breaks_the_chain() {
        let h1 = chain(&GENESIS, &entry(1), 1);
        let h2 = chain(&h1, &entry(2), 2);
        assert_eq!(h2, chain(&chain(&GENESIS, &entry(1), 1), &entry(2), 2));
        let mut altered = entry(1);
        altered.uans.push("x".into());
        assert_ne!(chain(&GENESIS, &altered, 1), h1);
        assert_ne!(
            chain(&GENESIS, &entry(1), 2),
            h1,
            "the position is part of the hash"
        );
        assert_eq!(entry(1).at.timestamp_subsec_nanos(), 123_456_000);
    }

    #[test]
    fn checkpoints_verify_only_with_their_key_and_content() {
        let doc = Ed25519KeyPair::generate_pkcs8v1(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
        let key = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
        let pk = hex(key.public_key().as_ref());
        let cp = Checkpoint::sign(&key, 42, &[7u8; 32], Utc::now());
        assert!(cp.verify(&pk));
        let json = serde_json::to_string(&cp).unwrap();
        assert!(
            serde_json::from_str::<Checkpoint>(&json)
                .unwrap()
                .verify(&pk)
        );
        let mut forged = cp.clone();
        forged.seq = 41;
        assert!(!forged.verify(&pk));
        assert!(!cp.verify(&hex(&[1u8; 32])));
        assert_eq!(unhex("0aff").unwrap(), vec![10, 255]);
    }
}
