//! The registry's use cases without HTTP: what the gateway's routes, and next the sync engine,
//! state-portal batches and coverage reports, all call, so that one rule is applied by one piece
//! of code whichever door a record comes through. No actix: errors are typed ([`Error`]) and the
//! gateway maps them to answers (the audit log learns an error's status from `Registry::answers`).
//!
//! [`Registry`] holds what the use cases share; each module adds its use cases to it:
//! `workers` (register, read, change by merge patch, list in change order), `verify`, `matcher`
//! (a partner's records against the registry), `schemes` (the adapters and their status),
//! `enrol`, `one_stop` (a worker's schemes), `jobs` (NCS vacancies). `audit` is the writer every use case records through and its verifier,
//! `purpose` the field policies, `caller` who is asking, `clock` what today is.

pub mod access_log;
pub mod audit;
pub mod batch_group;
pub mod caller;
pub mod candidate_index;
pub mod clock;
pub mod coverage;
pub mod eligibility;
pub mod enrol;
pub mod error;
pub mod jobs;
pub mod matcher;
pub mod one_stop;
pub mod purpose;
pub mod random;
pub mod request;
pub mod reviews;
pub mod schemes;
pub mod unregistered;
pub mod verify;
pub mod workers;

use std::collections::BTreeMap;
use std::sync::Arc;

use domain::{TokenKey, VaultKey};

pub use error::{Error, Result};

/// The key new Aadhaar ciphertexts are sealed with: it may change while serving (the gateway's
/// keys directory gains one from `shramsetu vault rotate`).
pub trait SealingKey: Send + Sync {
    fn current(&self) -> Arc<VaultKey>;

    /// The key of this id, to open what an older key sealed (a staged batch row).
    fn by_id(&self, id: &str) -> Option<Arc<VaultKey>> {
        Some(self.current()).filter(|k| k.id() == id)
    }
}

/// What every use case shares: the store, the keys, the audit log, the purposes' field
/// policies, the matching model, the scheme adapters and the clock.
pub struct Registry {
    pub store: store::Store,
    /// Turns an Aadhaar number into its keyed token; also keys request digests.
    pub token_key: TokenKey,
    pub vault: Arc<dyn SealingKey>,
    pub audit: audit::AuditLog,
    /// Field rules by purpose name.
    pub policies: BTreeMap<String, purpose::FieldPolicy>,
    pub matcher: matcher::Matcher,
    /// The six scheme adapters.
    pub schemes: schemes::Adapters,
    /// How old an enrolment key's unfinished claim must be before it may be taken over.
    pub enrolment_key_stale_secs: i64,
    /// What "today" is for dated rules (the system clock when serving).
    pub clock: Arc<dyn clock::Clock>,
    /// How the front door answers an error (the gateway's problem mapper).
    pub answers: Answers,
}

/// How an error is answered: its status and problem document. The audit log records the status
/// a caller got, and an enrolment refused by the rules is stored as answered, so that a retry
/// with its key gets the same answer.
pub type Answers = fn(&Error) -> (u16, serde_json::Value);

impl Registry {
    /// Today's date in India, for age rules.
    pub fn today(&self) -> chrono::NaiveDate {
        clock::today_in_india(self.clock.as_ref())
    }

    /// The record as the caller's purpose may see it.
    pub fn minimise(&self, purpose: &str, record: serde_json::Value) -> serde_json::Value {
        match self.policies.get(purpose) {
            Some(p) => p.apply(record),
            // Unknown purposes are refused before any use case runs; show nothing if one slips by.
            None => serde_json::Value::Object(Default::default()),
        }
    }

    /// Whether `purpose` sees `field` whole.
    pub fn sees_whole(&self, purpose: &str, field: &str) -> bool {
        self.policies
            .get(purpose)
            .is_some_and(|p| p.sees_whole(field))
    }

    /// Refuses a view derived from `fields` of a worker (scheme eligibility, job matches) to a
    /// purpose that may not see all of them whole: minimisation cannot cut a derived answer down.
    pub fn require_fields(&self, purpose: &str, fields: &[&'static str]) -> Result<()> {
        let missing: Vec<&'static str> = fields
            .iter()
            .copied()
            .filter(|f| !self.sees_whole(purpose, f))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::PurposeNotAllowed {
                purpose: purpose.to_owned(),
                missing,
            })
        }
    }

    /// The status the front door answers `e` with, as the audit log records it.
    pub fn status_of(&self, e: &Error) -> u16 {
        (self.answers)(e).0
    }

    /// One line for a field of an answer that reports a dependency's failure: its code and
    /// title, never the dependency's own words (which may quote a person's data).
    pub fn summary(&self, e: &Error) -> String {
        let (_, problem) = (self.answers)(e);
        let text = |k: &str| problem[k].as_str().unwrap_or_default().to_owned();
        format!("{}: {}", text("code"), text("title"))
    }

    /// Appends one access to the audit log; the use case's answer waits for it and is refused
    /// if it fails. `status` is the answer's, as the log records it (200 served, 404 refused …).
    pub async fn record(
        &self,
        caller: &caller::Caller,
        action: &'static str,
        route: &'static str,
        uans: Vec<String>,
        fields: Vec<String>,
        status: u16,
    ) -> Result<()> {
        self.audit
            .record(audit::Access {
                caller,
                action,
                route,
                uans,
                fields,
                status,
            })
            .await
    }
}
