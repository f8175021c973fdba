//! The audit writer and verifier. Use cases hand an entry to [`AuditLog::record`] and wait: one task,
//! on a thread of its own, takes whatever is queued as one batch (group commit: concurrent requests
//! share a flush), chains it to the head it last wrote and appends it in one statement (one round
//! trip), then answers the batch's requests. Only then is the data sent, so a crash never leaves a
//! served read unlogged, and a failed append means the data is not served. Under concurrent load a
//! batch first lingers briefly (`audit.linger_us`) for the requests being served meanwhile to join
//! it: a flush costs far more than an entry, so fewer, larger batches leave more CPU for the
//! requests themselves. A batch the database refuses because the head moved (another gateway
//! process appended) is chained again to the database's head. Signed checkpoints go to a file
//! outside the database.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::Ed25519KeyPair;
use chrono::Utc;
use domain::audit::{AuditEntry, Checkpoint, GENESIS, chain, hex};
use store::audit::{ChainedBatch, FieldSets};
use tokio::sync::{mpsc, oneshot};

use serde::Deserialize;

use crate::caller::Caller;
use crate::error::Error;

/// `[audit]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub enabled: bool,
    pub checkpoint_file: PathBuf,
    pub checkpoint_every_secs: u64,
    pub max_batch: usize,
    /// How long a batch waits for more entries under concurrent load, in microseconds (0: never).
    pub linger_us: u64,
}

struct Job {
    entry: AuditEntry,
    done: oneshot::Sender<Result<(), String>>,
}

/// The handle handlers record through. Disabled: records nothing (for measuring the log's cost).
#[derive(Clone)]
pub struct AuditLog {
    tx: Option<mpsc::Sender<Job>>,
    writer: Option<Arc<WriterThread>>,
}

/// What [`AuditLog::close`] needs: the writer's stop signal and its thread.
struct WriterThread {
    stop: Mutex<Option<oneshot::Sender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// What a handler says about one access.
pub struct Access<'a> {
    pub caller: &'a Caller,
    pub action: &'static str,
    pub route: &'static str,
    pub uans: Vec<String>,
    pub fields: Vec<String>,
    pub status: u16,
}

impl AuditLog {
    /// Starts the writer on a thread of its own, with a Tokio runtime of its own.
    pub fn start(store: store::Store, settings: &Settings, signer: Ed25519KeyPair) -> AuditLog {
        if !settings.enabled {
            return AuditLog {
                tx: None,
                writer: None,
            };
        }
        let (tx, rx) = mpsc::channel(settings.max_batch * 4);
        let (stop, stop_rx) = oneshot::channel();
        let writer = Writer {
            store,
            max_batch: settings.max_batch,
            linger: Duration::from_micros(settings.linger_us),
            field_sets: FieldSets::default(),
            checkpoints: Checkpoints {
                file: settings.checkpoint_file.clone(),
                every: Duration::from_secs(settings.checkpoint_every_secs),
                signer,
                last: None,
            },
        };
        // A thread of its own: its linger is a precise sleep (Tokio's timers tick in milliseconds)
        // that must not hold up other tasks, and its database connections are served by it alone.
        // If it cannot start, `tx` is closed and every audited request is refused.
        let started = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(writer.run(rx, stop_rx)),
                    Err(e) => tracing::error!(error = %e, "The audit writer could not start."),
                }
            });
        let thread = started
            .inspect_err(|e| tracing::error!(error = %e, "The audit writer could not start."))
            .ok();
        AuditLog {
            tx: Some(tx),
            writer: Some(Arc::new(WriterThread {
                stop: Mutex::new(Some(stop)),
                thread: Mutex::new(thread),
            })),
        }
    }

    /// For a server that has stopped serving: the writer appends what is still queued, pins the
    /// final head in a signed checkpoint (so a tail cut off after the stop is caught too) and
    /// ends; this returns once it has. Later records are refused.
    pub fn close(&self) {
        let Some(w) = &self.writer else { return };
        fn take<T>(m: &Mutex<Option<T>>) -> Option<T> {
            m.lock().unwrap_or_else(|e| e.into_inner()).take()
        }
        if let Some(stop) = take(&w.stop) {
            let _ = stop.send(());
        }
        if let Some(thread) = take(&w.thread) {
            let _ = thread.join();
        }
    }

    /// Appends the entry durably, or fails: the caller must then not serve the data.
    pub async fn record(&self, access: Access<'_>) -> Result<(), Error> {
        let Some(tx) = &self.tx else { return Ok(()) };
        // Claims of external tokens may hold a NUL, which PostgreSQL text refuses: one such entry
        // would fail every request in its batch.
        let clean = |s: &str| s.replace('\0', "");
        let entry = AuditEntry {
            at: Utc::now(),
            client_id: clean(&access.caller.client_id),
            jti: access.caller.jti.as_deref().map(clean),
            purpose: clean(&access.caller.purpose),
            action: access.action.to_owned(),
            route: access.route.to_owned(),
            uans: access.uans,
            fields: access.fields,
            status: access.status,
            request_id: crate::request::id().unwrap_or_default(),
        }
        .normalised();
        let (done, wait) = oneshot::channel();
        let unavailable = |detail: String| Error::Unavailable(format!("audit log: {detail}"));
        tx.send(Job { entry, done })
            .await
            .map_err(|_| unavailable("writer stopped".into()))?;
        wait.await
            .map_err(|_| unavailable("writer stopped".into()))?
            .map_err(unavailable)
    }
}

struct Writer {
    store: store::Store,
    max_batch: usize,
    linger: Duration,
    field_sets: FieldSets,
    checkpoints: Checkpoints,
}

/// Attempts for a batch refused because the head moved under it (another process appended),
/// each after a short random pause so that racing writers fall out of step.
const APPEND_ATTEMPTS: usize = 8;

/// One batch: `first`, what is queued behind it, and, under concurrency (this batch or the last
/// had company) with room left, what arrives while `linger` waits. A lone request is not kept
/// waiting for others that are not coming. At most `max_batch`.
fn gather<T>(
    first: T,
    rx: &mut mpsc::Receiver<T>,
    max_batch: usize,
    last_batch: usize,
    lingering: bool,
    linger: impl FnOnce(),
) -> Vec<T> {
    let take_queued = |rx: &mut mpsc::Receiver<T>, jobs: &mut Vec<T>| {
        while jobs.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
    };
    let mut jobs = vec![first];
    take_queued(rx, &mut jobs);
    if lingering && jobs.len() < max_batch && (jobs.len() > 1 || last_batch > 1) {
        linger();
        take_queued(rx, &mut jobs);
    }
    jobs
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Job>, mut stop: oneshot::Receiver<()>) {
        // The head the next batch is chained to; `None`: read it from the database first.
        let mut head: Option<(i64, [u8; 32])> = None;
        let mut last_batch = 0;
        let mut stopping = false;
        // A quiet log still gets its latest entries pinned within `every`.
        let mut tick = tokio::time::interval(self.checkpoints.every.max(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let first = tokio::select! {
                job = rx.recv() => match job {
                    Some(job) => job,
                    None => break,
                },
                // Closed, `recv` hands over what is queued, then `None`.
                _ = &mut stop, if !stopping => {
                    stopping = true;
                    rx.close();
                    continue;
                }
                _ = tick.tick() => {
                    if let Some(head) = head {
                        self.checkpoints.maybe_write(head, false);
                    }
                    continue;
                }
            };
            let linger = self.linger;
            let jobs = gather(
                first,
                &mut rx,
                self.max_batch,
                last_batch,
                !linger.is_zero(),
                || std::thread::sleep(linger),
            );
            last_batch = jobs.len();
            ::metrics::histogram!("audit_batch_entries").record(jobs.len() as f64);
            head = self.append(head, jobs).await;
            if let Some(head) = head {
                self.checkpoints.maybe_write(head, false);
            }
        }
        // Shutting down: pin the final head.
        if let Some(head) = head {
            self.checkpoints.maybe_write(head, true);
        }
    }

    /// Chains the batch to `head` (or to the database's head when unknown, or when another
    /// process moved it) and appends it in one statement. Answers the requests; returns the new
    /// head, or `None` (the next batch reads it again) when the append failed and the requests
    /// were refused.
    async fn append(
        &mut self,
        mut head: Option<(i64, [u8; 32])>,
        jobs: Vec<Job>,
    ) -> Option<(i64, [u8; 32])> {
        let (entries, waiting): (Vec<AuditEntry>, Vec<_>) =
            jobs.into_iter().map(|j| (j.entry, j.done)).unzip();
        let mut last_error = None;
        for _ in 0..APPEND_ATTEMPTS {
            let attempt = async {
                let prev = match head.take() {
                    Some(prev) => prev,
                    None => self.store.audit_head().await?,
                };
                // Remembered after the first batch that named them: no further round trip.
                let sets = self
                    .store
                    .audit_field_sets(&mut self.field_sets, &entries)
                    .await?;
                let batch = ChainedBatch::new(prev, &entries, &sets);
                self.store.append_audit(&batch).await?;
                Ok::<_, store::StoreError>(batch.head())
            };
            match attempt.await {
                Ok(head) => {
                    reply(waiting, Ok(()));
                    return Some(head);
                }
                Err(e) => {
                    // A remembered field set id that no longer exists (deleted by hand, or from
                    // before a restore): look every list up again.
                    let stale_sets = e.is_missing_reference();
                    if stale_sets {
                        self.field_sets = FieldSets::default();
                    }
                    let again = e.is_conflict() || stale_sets;
                    last_error = Some(e);
                    if !again {
                        break;
                    }
                    let jitter = u64::from(crate::random::nonce()[0]) % 8;
                    tokio::time::sleep(Duration::from_millis(1 + jitter)).await;
                }
            }
        }
        if let Some(e) = last_error {
            tracing::error!(error = %e, entries = entries.len(), "Audit append failed; the requests are refused.");
        }
        reply(waiting, Err("append failed".to_owned()));
        None
    }
}

fn reply(waiting: Vec<oneshot::Sender<Result<(), String>>>, result: Result<(), String>) {
    for done in waiting {
        let _ = done.send(result.clone());
    }
}

struct Checkpoints {
    file: PathBuf,
    every: Duration,
    signer: Ed25519KeyPair,
    last: Option<(Instant, i64)>,
}

impl Checkpoints {
    fn maybe_write(&mut self, (seq, hash): (i64, [u8; 32]), force: bool) {
        let due = match self.last {
            None => true,
            Some((at, last_seq)) => last_seq != seq && (force || at.elapsed() >= self.every),
        };
        if !due {
            return;
        }
        let cp = Checkpoint::sign(&self.signer, seq, &hash, Utc::now());
        match append_line(&self.file, &serde_json::to_string(&cp).unwrap_or_default()) {
            Ok(()) => self.last = Some((Instant::now(), seq)),
            Err(e) => {
                tracing::error!(error = %e, file = %self.file.display(), "Could not write an audit checkpoint.")
            }
        }
    }
}

fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(format!("{line}\n").as_bytes())?;
    f.sync_data()
}

/// The outcome of `shramsetu audit verify`.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Intact { entries: i64, checkpoints: usize },
    Broken(String),
}

/// Walks the whole chain, then checks every checkpoint against it. Names the first problem.
pub async fn verify(
    store: &store::Store,
    checkpoint_file: &Path,
    trusted_key_hex: &str,
) -> anyhow::Result<Verdict> {
    // The checkpoints first, then the head, then the chain up to that head: entries a running
    // gateway appends meanwhile lie beyond it and are not mistaken for tampering.
    let text = match std::fs::read_to_string(checkpoint_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e.into()),
    };
    let (head_seq, head_hash) = store.audit_head().await?;
    let mut prev = GENESIS;
    let mut expected_seq = 1i64;
    let mut hashes = std::collections::BTreeMap::new();
    while expected_seq <= head_seq {
        let page = match store.audit_page(expected_seq - 1, 10_000).await {
            Ok(page) => page,
            // A row that no longer even reads as an entry (NULLs written into it, say).
            Err(store::StoreError::Corrupt { detail, .. }) => {
                return Ok(Verdict::Broken(format!("{detail}: altered")));
            }
            Err(e) => return Err(e.into()),
        };
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            break;
        };
        let listed = store.audit_listed(first.seq - 1, last.seq).await?;
        for row in page.into_iter().take_while(|r| r.seq <= head_seq) {
            if row.seq != expected_seq {
                return Ok(Verdict::Broken(format!(
                    "entry {expected_seq} is missing: the log jumps from {} to {} (removed)",
                    expected_seq - 1,
                    row.seq
                )));
            }
            if row.prev_hash != prev {
                return Ok(Verdict::Broken(format!(
                    "entry {} does not link to entry {}: removed, inserted or reordered entries",
                    row.seq,
                    row.seq - 1
                )));
            }
            let h = chain(&prev, &row.entry, row.seq);
            if row.hash != h {
                return Ok(Verdict::Broken(format!(
                    "entry {} was altered: its content does not match its hash",
                    row.seq
                )));
            }
            let listed = listed.get(&row.seq).map(Vec::as_slice).unwrap_or_default();
            if !row.indexed_as_named(listed) {
                return Ok(Verdict::Broken(format!(
                    "entry {} is indexed under other workers than it names: altered, hidden from an access log or shown in another",
                    row.seq
                )));
            }
            if row.seq % 1000 == 0 {
                hashes.insert(row.seq, h);
            }
            prev = h;
            expected_seq += 1;
        }
        hashes.insert(expected_seq - 1, prev);
    }
    let last = expected_seq - 1;
    if head_seq != last || (last > 0 && head_hash != prev) {
        return Ok(Verdict::Broken(format!(
            "the chain head says entry {head_seq}, the log ends at entry {last}: entries were removed from the end"
        )));
    }
    // The first append always writes a checkpoint: a log with entries and none was emptied of them.
    if last > 0 && text.trim().is_empty() {
        return Ok(Verdict::Broken(format!(
            "the log has {last} entries but {} holds no checkpoint: it was removed or replaced",
            checkpoint_file.display()
        )));
    }
    let mut checked = 0;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let cp: Checkpoint = serde_json::from_str(line)
            .map_err(|e| anyhow::anyhow!("checkpoint line {}: {e}", i + 1))?;
        if !cp.verify(trusted_key_hex) {
            return Ok(Verdict::Broken(format!(
                "checkpoint line {} has a bad signature",
                i + 1
            )));
        }
        if cp.seq > last {
            return Ok(Verdict::Broken(format!(
                "checkpoint of {} says the log had {} entries; it now ends at entry {last}: truncated",
                cp.at, cp.seq
            )));
        }
        // Re-walk to the checkpoint's position when it is not a remembered one.
        let at_cp = match hashes.get(&cp.seq) {
            Some(h) => *h,
            None => hash_at(store, cp.seq).await?,
        };
        if hex(&at_cp) != cp.hash {
            return Ok(Verdict::Broken(format!(
                "entry {} differs from what the checkpoint of {} signed: the log was rewritten",
                cp.seq, cp.at
            )));
        }
        checked += 1;
    }
    Ok(Verdict::Intact {
        entries: last,
        checkpoints: checked,
    })
}

async fn hash_at(store: &store::Store, seq: i64) -> anyhow::Result<[u8; 32]> {
    let rows = store.audit_page(seq - 1, 1).await?;
    let row = rows
        .first()
        .ok_or_else(|| anyhow::anyhow!("entry {seq} vanished during verification"))?;
    row.hash
        .clone()
        .try_into()
        .map_err(|_| anyhow::anyhow!("entry {seq} has a malformed hash"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the writer takes into one batch, with arrivals during the linger played by the test.
    fn batch(
        queued: &[u32],
        last_batch: usize,
        max_batch: usize,
        arriving: &[u32],
    ) -> (Vec<u32>, bool) {
        let (tx, mut rx) = mpsc::channel(64);
        for q in queued {
            tx.try_send(*q).unwrap();
        }
        let mut lingered = false;
        let jobs = gather(0, &mut rx, max_batch, last_batch, true, || {
            lingered = true;
            for a in arriving {
                tx.try_send(*a).unwrap();
            }
        });
        (jobs, lingered)
    }

    #[test]
    fn a_batch_lingers_only_under_concurrency_and_takes_what_arrives_meanwhile() {
        // Company in this batch: it waits, and takes the arrivals.
        assert_eq!(batch(&[1, 2], 1, 100, &[3, 4]), (vec![0, 1, 2, 3, 4], true));
        // Alone, but the last batch had company: it waits too.
        assert_eq!(batch(&[], 5, 100, &[1]), (vec![0, 1], true));
        // Alone after a lone batch: a quiet gateway's request never waits.
        assert_eq!(batch(&[], 1, 100, &[1]), (vec![0], false));
        // Full already: no wait; and the wait never takes a batch past its size.
        assert_eq!(batch(&[1, 2], 2, 3, &[3]), (vec![0, 1, 2], false));
        assert_eq!(batch(&[1], 2, 3, &[2, 3, 4]), (vec![0, 1, 2], true));
    }
}
