//! The sync engine: each scheme's feed pulled page by page, every record matched against the
//! registry and linked, queued for review or kept as unregistered, one transaction per page.
//!
//! A run of a scheme is a row in PostgreSQL (`store::sync`): queued on demand or by the schedule,
//! taken by one process with `FOR UPDATE SKIP LOCKED` under a lease it extends as it works, so
//! several gateway processes share the runs and a dead process's run is taken over where its last
//! committed page left it. A page's links, reviews, unregistered records, errors, the run's
//! counters and the cursor are committed together: a crash loses at most the page in flight, which
//! the next holder pulls again. Not called "jobs": that word is NCS vacancies here.

pub mod page;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_core::{Cursor, SchemeId};
use registry::caller::Caller;
use registry::{Error, Registry, Result};
use store::sync::SyncRun;

/// Where the audit log says the engine's accesses came from.
const ROUTE: &str = "/v1/schemes/{id}/sync";

/// `[sync]` in the configuration, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Records asked for per page.
    pub page_size: usize,
    /// How long a run stays a process's without a sign of life.
    pub lease: Duration,
    /// How often an idle engine looks for queued runs.
    pub poll: Duration,
    /// How often each scheme is synced by itself; a scheme not listed only on demand.
    pub every: BTreeMap<SchemeId, Duration>,
}

/// What a run did so far, after each committed page.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub pages: i64,
    pub records: i64,
    pub linked: i64,
    pub queued: i64,
    pub unregistered: i64,
    pub errors: i64,
    pub elapsed: Duration,
}

/// What became of a scheme's change event.
#[derive(Debug)]
pub enum Received {
    /// Taken: the run that will pull the change.
    Queued(Box<SyncRun>),
    /// Received before.
    Replayed,
    /// Older (or later) than the window allows.
    Stale,
}

/// One process's part of the engine.
pub struct Engine {
    registry: Arc<Registry>,
    /// Names this process in the leases it holds.
    owner: String,
    settings: Settings,
}

impl Engine {
    pub fn new(registry: Arc<Registry>, owner: String, settings: Settings) -> Engine {
        Engine {
            registry,
            owner,
            settings,
        }
    }

    /// Queues a run of `scheme` (from the feed's start when `full`), or answers the run already
    /// queued: one runs at a time per scheme, and one waits to follow it.
    pub async fn request(&self, scheme: SchemeId, full: bool, by: &str) -> Result<SyncRun> {
        if !syncs(scheme) {
            return Err(Error::field(
                "id",
                "not_syncable",
                "the myScheme catalogue lists schemes, not people: there is nothing to link",
            ));
        }
        self.registry.schemes.get(scheme)?;
        let run = self
            .registry
            .store
            .request_sync(scheme.as_str(), full, by)
            .await?;
        Ok(run)
    }

    /// A scheme's change event (its signature checked by the caller): taken once, and only while
    /// it is fresh (`occurred_at` within `window` of now, either way), it queues a run of the
    /// scheme, which pulls what changed through the same pipeline. `digest`: of the body received.
    pub async fn receive_event(
        &self,
        scheme: SchemeId,
        digest: &str,
        event: &serde_json::Value,
        window: Duration,
    ) -> Result<Received> {
        let occurred = event["occurred_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        let Some(occurred) = occurred else {
            return Err(Error::field(
                "occurred_at",
                "invalid_format",
                "an RFC 3339 time of the change",
            ));
        };
        let age = (chrono::Utc::now() - occurred).abs();
        if age.to_std().map_or(true, |a| a > window) {
            return Ok(Received::Stale);
        }
        if !self
            .registry
            .store
            .record_webhook_event(scheme.as_str(), digest, event)
            .await?
        {
            return Ok(Received::Replayed);
        }
        let by = format!("{scheme} webhook");
        Ok(Received::Queued(Box::new(
            self.request(scheme, false, &by).await?,
        )))
    }

    /// The scheme's runs, newest first, at most `limit`.
    pub async fn runs(&self, scheme: SchemeId, limit: i64) -> Result<Vec<SyncRun>> {
        Ok(self
            .registry
            .store
            .sync_runs(scheme.as_str(), limit)
            .await?)
    }

    /// One run of the scheme, with the records it could not use (at most `errors`).
    pub async fn run(
        &self,
        scheme: SchemeId,
        id: i64,
        errors: i64,
    ) -> Result<(SyncRun, Vec<(String, String)>)> {
        let store = &self.registry.store;
        let run = store
            .sync_run(id)
            .await?
            .filter(|r| r.scheme == scheme.as_str())
            .ok_or(Error::NotFound)?;
        let errors = store.sync_run_errors(id, errors).await?;
        Ok((run, errors))
    }

    /// Takes one queued (or abandoned) run and works it to its end; `None` when there is none.
    /// `progress` hears of each committed page.
    pub async fn work_once<P: Fn(&Progress) + Sync>(&self, progress: P) -> Result<Option<SyncRun>> {
        let lease = self.settings.lease.as_secs_f64();
        let Some(run) = self
            .registry
            .store
            .claim_sync_run(&self.owner, lease)
            .await?
        else {
            return Ok(None);
        };
        tracing::info!(run = run.id, scheme = %run.scheme, cursor = ?run.cursor, "Sync run started.");
        // Signs of life while a slow scheme answers: the lease outlives a long pull. Stopped when
        // this returns, panics or is dropped.
        let _heartbeat = {
            let store = self.registry.store.clone();
            let (id, owner) = (run.id, self.owner.clone());
            let every = self.settings.lease / 3;
            AbortOnDrop(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    match store.heartbeat_sync_run(id, &owner, lease).await {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(e) => tracing::warn!(error = %e, "Sync heartbeat failed."),
                    }
                }
            }))
        };
        let worked = self.work(&run, &progress).await;
        let error = match &worked {
            Ok(()) => None,
            Err(e) => Some(e.to_string()),
        };
        if let Some(e) = &error {
            tracing::warn!(run = run.id, scheme = %run.scheme, error = %e, "Sync run failed.");
        }
        let finished = self
            .registry
            .store
            .finish_sync_run(run.id, &self.owner, error.as_deref())
            .await?;
        match finished {
            Some(f) => {
                tracing::info!(run = f.id, scheme = %f.scheme, status = %f.status, records = f.records,
                    linked = f.linked, queued = f.queued, unregistered = f.unregistered, errors = f.errors,
                    "Sync run finished.");
                Ok(Some(f))
            }
            // Lost to another process, which finishes it: the run as it stands now.
            None => Ok(self.registry.store.sync_run(run.id).await?.or(Some(run))),
        }
    }

    /// Pulls the run's scheme from its cursor to the feed's end, committing page by page.
    /// Works `run` page by page. A page is committed while the next is pulled and matched (the
    /// database's work beside the engine's): pages still commit one by one in feed order, and a
    /// record the page before links is linked once (the commit checks what is linked, not the
    /// match).
    async fn work<P: Fn(&Progress) + Sync>(&self, run: &SyncRun, progress: &P) -> Result<()> {
        let scheme = SchemeId::parse(&run.scheme).map_err(|e| Error::Internal(e.message))?;
        let adapter = self.registry.schemes.get(scheme)?;
        let started = Instant::now();
        let caller = Caller {
            client_id: run.requested_by.clone(),
            jti: None,
            scopes: vec![],
            states: None,
            purpose: "operations".into(),
        };
        let mut done = Progress::default();
        let mut page_started = Instant::now();
        let mut next = self
            .prepare_page(
                adapter,
                scheme,
                &caller,
                run.cursor.clone().map(Cursor),
                &[],
            )
            .await?;
        loop {
            let (page, outcome) = next;
            let commit = self.commit_page(run, &outcome);
            let (counts, following) = if page.more {
                let cursor = Some(page.cursor.clone());
                let (counts, following) = tokio::join!(
                    commit,
                    self.prepare_page(adapter, scheme, &caller, cursor, &outcome.links)
                );
                // The commit first: a page not written stops the run where the cursor stands.
                (counts?, Some(following?))
            } else {
                (commit.await?, None)
            };
            count(scheme, &outcome, page_started.elapsed());
            page_started = Instant::now();
            done.pages += 1;
            done.records += outcome.records;
            done.linked += counts.linked;
            done.queued += counts.queued;
            done.unregistered += counts.unregistered;
            done.errors += outcome.errors.len() as i64;
            done.elapsed = started.elapsed();
            progress(&done);
            match following {
                Some(following) => next = following,
                None => return Ok(()),
            }
        }
    }

    /// The page after `cursor`, pulled and matched, and the workers it names on the audit log;
    /// `previous`: the links of the page before, perhaps not yet committed (a record they link is
    /// updated, never matched again).
    async fn prepare_page(
        &self,
        adapter: &dyn adapter_core::SchemeAdapter,
        scheme: SchemeId,
        caller: &Caller,
        cursor: Option<Cursor>,
        previous: &[store::sync::NewLink],
    ) -> Result<(adapter_core::Page, store::sync::PageOutcome)> {
        let started = Instant::now();
        let page = adapter
            .pull(cursor.as_ref(), self.settings.page_size)
            .await
            .map_err(|error| Error::Scheme { scheme, error })?;
        let pulled = started.elapsed();
        if page.more && cursor.as_ref() == Some(&page.cursor) {
            return Err(Error::Scheme {
                scheme,
                error: adapter_core::AdapterError::malformed(
                    scheme.as_str(),
                    "the feed says more records follow but its cursor did not move",
                ),
            });
        }
        let outcome = page::outcome(
            &self.registry,
            &page.records,
            page.cursor.0.clone(),
            self.registry.today(),
            previous,
        )
        .await?;
        tracing::debug!(
            scheme = scheme.as_str(),
            records = page.records.len(),
            pull_ms = pulled.as_secs_f64() * 1e3,
            match_ms = (started.elapsed() - pulled).as_secs_f64() * 1e3,
            "Sync page pulled and matched."
        );
        // Logged before the page commits, as each access is, and while the page before commits.
        self.audit_page(caller, &outcome).await?;
        Ok((page, outcome))
    }

    /// The workers a page links or queues, on the audit log as the engine's access.
    async fn audit_page(&self, caller: &Caller, outcome: &store::sync::PageOutcome) -> Result<()> {
        let mut uans: Vec<String> = outcome
            .links
            .iter()
            .map(|l| l.uan.clone())
            .chain(outcome.reviews.iter().map(|r| r.uan.clone()))
            .collect();
        uans.sort();
        uans.dedup();
        if !uans.is_empty() {
            let fields = vec!["uan".into(), "match_score".into()];
            self.registry
                .record(caller, "sync_link", ROUTE, uans, fields, 200)
                .await?;
        }
        Ok(())
    }

    /// A page's outcome written with the run's counters and cursor (its accesses are on the
    /// audit log already).
    async fn commit_page(
        &self,
        run: &SyncRun,
        outcome: &store::sync::PageOutcome,
    ) -> Result<store::sync::PageCounts> {
        let started = Instant::now();
        let lease = self.settings.lease.as_secs_f64();
        // The page's transaction is all or nothing: one that lost a deadlock or a serialization
        // race to another writer of the same workers is simply written again.
        let store = &self.registry.store;
        let committed = store::again_on_conflict("sync page", || {
            store.commit_sync_page(run, &self.owner, lease, outcome)
        })
        .await?;
        tracing::debug!(
            run = run.id,
            commit_ms = started.elapsed().as_secs_f64() * 1e3,
            "Sync page committed."
        );
        committed.ok_or_else(|| {
            Error::Internal(
                "the run's lease was lost to another process; it resumes the run".into(),
            )
        })
    }

    /// Serves until the process ends: queues each scheme's run when its schedule says so, and
    /// works queued runs (its own and other processes') as they come.
    pub async fn serve(self: Arc<Self>) {
        loop {
            self.schedule().await;
            match self.work_once(ignore).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "Sync engine: could not take a run."),
            }
            tokio::time::sleep(self.settings.poll).await;
        }
    }

    /// Queues a run of each scheme whose last run began longer ago than its interval (a scheme
    /// whose check fails is logged and the others still checked).
    async fn schedule(&self) {
        let now = chrono::Utc::now();
        let schedules: Vec<(SchemeId, Duration)> =
            self.settings.every.iter().map(|(s, e)| (*s, *e)).collect();
        for (scheme, every) in schedules {
            if let Err(e) = self.schedule_one(scheme, every, now).await {
                tracing::warn!(scheme = scheme.as_str(), error = %e, "Sync schedule check failed.");
            }
        }
    }

    async fn schedule_one(
        &self,
        scheme: SchemeId,
        every: Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        if self.registry.schemes.get(scheme).is_err() {
            return Ok(());
        }
        let last = self
            .registry
            .store
            .sync_runs(scheme.as_str(), 1)
            .await?
            .into_iter()
            .next();
        let due = last.is_none_or(|r| {
            chrono::Duration::from_std(every)
                .ok()
                .and_then(|every| r.created_at.checked_add_signed(every))
                .is_some_and(|next| next <= now)
        });
        if due {
            self.request(scheme, false, "schedule").await?;
        }
        Ok(())
    }
}

/// A task stopped when its handle is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn ignore(_: &Progress) {}

/// Whether `scheme` has people to link (the myScheme catalogue does not).
pub fn syncs(scheme: SchemeId) -> bool {
    scheme != SchemeId::Myscheme
}

/// Prometheus: records by outcome, and each page's latency (pull, match and commit).
fn count(scheme: SchemeId, page: &store::sync::PageOutcome, took: Duration) {
    let s = scheme.as_str();
    let by = |outcome: &'static str, n: usize| {
        metrics::counter!("sync_records_total", "scheme" => s, "outcome" => outcome)
            .increment(n as u64);
    };
    by("linked", page.links.len());
    by("queued", page.reviews.len());
    by("unregistered", page.unregistered.len());
    by("error", page.errors.len());
    metrics::histogram!("sync_page_seconds", "scheme" => s).record(took.as_secs_f64());
}
