//! State-portal batches: a state's roll of workers pushed as one file, every row accounted for.
//!
//! **Receiving** (`Batches::receive`): the body is read as it arrives (never held whole), each row
//! checked by the registration rules and staged in PostgreSQL with its Aadhaar number only as a
//! keyed token and a ciphertext bound to the batch and line; the answer comes once every row is
//! stored. The same key and file are the same batch; the same key with another file is refused.
//!
//! **Applying** (`Batches::work_once`, run by `serve`): the staged rows in chunks, each leased by one
//! process like a sync run, a group of rows at a time through the registration use case
//! (`Registry::register_group`: the rules, the duplicate rule, the audit entries, the match keys,
//! the waiting scheme records), the group's workers committed with its rows' outcomes and the
//! batch's counts, so that a row applied before a crash is never applied again.

pub mod columns;
pub mod read;

use std::sync::Arc;
use std::time::Duration;

use domain::{Aadhaar, FieldError, Invalid, Sealed, Uan};
use futures_util::{Stream, StreamExt};
use registry::batch_group::{GroupRegistered, Lease, Member, Unidentified};
use registry::caller::Caller;
use registry::{Error, Registry};
use serde_json::{Value, json};
use store::batches::{Batch, Chunk, NewBatch, RowError, RowOutcome, StagedAadhaar, StagedRow};
use uuid::Uuid;

pub use read::{Charset, Format};

use crate::columns::{AADHAAR, row_error, row_errors};
use crate::read::{Fatal, ReadRow, Stop};

/// `[batches]` in the configuration, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Most rows in one file.
    pub max_rows: u64,
    /// Most bytes of one file, as sent and after decompression.
    pub max_bytes: u64,
    /// Rows per leased chunk.
    pub chunk_rows: i64,
    /// Rows registered in one transaction, with their outcomes.
    pub group_rows: usize,
    /// Rows of a group whose Aadhaar number is registered already, updated (or skipped) at once.
    pub concurrency: usize,
    /// How long a chunk stays a process's without a sign of life.
    pub lease: Duration,
    /// How often an idle process looks for chunks to apply.
    pub poll: Duration,
}

/// Whether the batch writes workers or only checks its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    /// A dry run: every row checked, no worker written.
    Validate,
}

/// What a row whose Aadhaar number is registered already does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    /// The worker's changeable fields set from the row (a merge patch, as `PATCH` applies).
    Update,
    Skip,
    Refuse,
}

impl OnExisting {
    pub fn as_str(self) -> &'static str {
        match self {
            OnExisting::Update => "update",
            OnExisting::Skip => "skip",
            OnExisting::Refuse => "refuse",
        }
    }
}

/// How the file is to be read and applied.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub format: Format,
    pub charset: Charset,
    pub gzip: bool,
    pub mode: Mode,
    pub on_existing: OnExisting,
}

/// What an upload came to.
pub enum Received {
    /// Stored as a new batch.
    New(Box<Batch>),
    /// The key's batch, stored before from the same file.
    Same(Box<Batch>),
}

/// Why an upload was not stored (nothing of it is kept).
#[derive(Debug)]
pub enum UploadError {
    /// The file's header (or the request) is wrong, each problem named.
    Invalid(Vec<FieldError>),
    /// Over the size limit in bytes (as sent or decompressed).
    TooLarge {
        max_bytes: u64,
    },
    /// More rows than allowed.
    TooManyRows {
        max_rows: u64,
    },
    /// The key was used with another file.
    KeyReused,
    /// Another upload with this key is being received.
    KeyInFlight,
    /// The body stopped arriving.
    Aborted(String),
    Registry(Error),
}

impl From<Error> for UploadError {
    fn from(e: Error) -> Self {
        UploadError::Registry(e)
    }
}

impl From<store::StoreError> for UploadError {
    fn from(e: store::StoreError) -> Self {
        UploadError::Registry(e.into())
    }
}

/// Rows handed from the reader to the writer at a time.
const STAGE_ROWS: usize = 2000;

/// One process's part of the batches.
pub struct Batches {
    registry: Arc<Registry>,
    /// Names this process in the leases it holds.
    owner: String,
    settings: Settings,
}

impl Batches {
    pub fn new(registry: Arc<Registry>, owner: String, settings: Settings) -> Batches {
        Batches {
            registry,
            owner,
            settings,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Receives a file under the caller's `key`: staged row by row as it arrives, answered once
    /// every row is stored. The same key and file answer the batch stored before.
    pub async fn receive<S, B, E>(
        &self,
        caller: &Caller,
        key: &str,
        options: Options,
        body: S,
    ) -> Result<Received, UploadError>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        let store = &self.registry.store;
        let key = self.registry.token_key.request_digest(key.as_bytes());
        let Some(_held) = store.lock_batch_key(&caller.client_id, &key).await? else {
            return Err(UploadError::KeyInFlight);
        };
        if let Some(existing) = store.batch_by_key(&caller.client_id, &key).await?
            && existing.status != "receiving"
        {
            let sha = self.digest_only(body).await?;
            return if sha == existing.file_sha256 {
                Ok(Received::Same(Box::new(existing)))
            } else {
                Err(UploadError::KeyReused)
            };
        }
        let new = NewBatch {
            client_id: &caller.client_id,
            idempotency_key: &key,
            file_sha256: "",
            caller: caller_json(caller),
            format: options.format.as_str(),
            mode: match options.mode {
                Mode::Apply => "apply",
                Mode::Validate => "validate",
            },
            on_existing: options.on_existing.as_str(),
        };
        let Some(batch) = store.begin_batch(&new).await? else {
            return Err(UploadError::KeyInFlight);
        };
        match self.stage(&batch, caller, options, body).await {
            Ok(sha) => {
                let stored = store
                    .store_batch(
                        batch.id,
                        &sha,
                        self.settings.chunk_rows,
                        caller.states.as_deref(),
                    )
                    .await?;
                tracing::info!(batch = %stored.id, rows = stored.rows_received,
                    refused = stored.refused, mode = %stored.mode, "Batch stored.");
                Ok(Received::New(Box::new(stored)))
            }
            Err(e) => {
                if let Err(forget) = store.abandon_batch(batch.id).await {
                    tracing::warn!(batch = %batch.id, error = %forget, "A failed upload's rows could not be discarded; a retry with its key discards them.");
                }
                Err(e)
            }
        }
    }

    /// The body's SHA-256, read to its end within the size limit.
    async fn digest_only<S, B, E>(&self, mut body: S) -> Result<String, UploadError>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        let mut sha = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        let mut total = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| UploadError::Aborted(e.to_string()))?;
            total += chunk.as_ref().len() as u64;
            if total > self.settings.max_bytes {
                return Err(UploadError::TooLarge {
                    max_bytes: self.settings.max_bytes,
                });
            }
            sha.update(chunk.as_ref());
        }
        Ok(domain::crypto::hex(sha.finish().as_ref()))
    }

    /// Reads the body in a blocking thread (the `csv` reader is synchronous) while this task
    /// feeds it the bytes as they arrive and writes the staged rows it hands back. The file's
    /// SHA-256.
    async fn stage<S, B, E>(
        &self,
        batch: &Batch,
        caller: &Caller,
        options: Options,
        mut body: S,
    ) -> Result<String, UploadError>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        let (bytes_tx, bytes_rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, Stop>>(8);
        let (rows_tx, mut rows_rx) = tokio::sync::mpsc::channel::<Vec<StagedRow>>(2);
        let stager = Stager {
            registry: self.registry.clone(),
            batch: batch.id,
            caller: caller.clone(),
        };
        let settings = self.settings.clone();
        let reader = tokio::task::spawn_blocking(move || {
            let input = ChannelRead {
                rx: bytes_rx,
                pending: Vec::new(),
                at: 0,
            };
            let mut group = Vec::with_capacity(STAGE_ROWS);
            let mut open = true;
            let read = read::read_rows(
                input,
                options.gzip,
                options.format,
                options.charset,
                settings.max_rows,
                settings.max_bytes,
                |row| {
                    group.push(stager.stage(row));
                    if group.len() == STAGE_ROWS {
                        open = rows_tx.blocking_send(std::mem::take(&mut group)).is_ok();
                    }
                    open
                },
            );
            if read.is_ok() && open && !group.is_empty() {
                open = rows_tx.blocking_send(group).is_ok();
            }
            (read, open)
        });
        let max_bytes = self.settings.max_bytes;
        let feed = async move {
            let mut sha = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
            let mut total = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = bytes_tx.send(Err(Stop::Aborted(e.to_string()))).await;
                        return None;
                    }
                };
                let chunk = chunk.as_ref();
                total += chunk.len() as u64;
                if total > max_bytes {
                    // The rest is not read: the answer is a 413 and the connection's end.
                    let _ = bytes_tx.send(Err(Stop::TooLarge)).await;
                    return None;
                }
                sha.update(chunk);
                if bytes_tx.send(Ok(chunk.to_vec())).await.is_err() {
                    // The reader stopped (a fatal problem of the file): its answer says why.
                    return None;
                }
            }
            Some(domain::crypto::hex(sha.finish().as_ref()))
        };
        let store = &self.registry.store;
        let write = async {
            while let Some(rows) = rows_rx.recv().await {
                // On an error, dropping the receiver stops the reader.
                store.stage_rows(batch.id, &rows).await?;
            }
            Ok::<(), store::StoreError>(())
        };
        let (sha, written) = tokio::join!(feed, write);
        let (read, _) = reader
            .await
            .map_err(|e| Error::Internal(format!("the batch reader failed: {e}")))?;
        written?;
        match read {
            Ok(_) => {}
            Err(Fatal::Header(errors)) => return Err(UploadError::Invalid(errors)),
            Err(Fatal::Gzip) => {
                return Err(UploadError::Invalid(vec![
                    Invalid::new(
                        "invalid_gzip",
                        "the gzip stream is corrupt or ends early (was the upload cut short?)",
                    )
                    .at("body"),
                ]));
            }
            Err(Fatal::TooLarge) => return Err(UploadError::TooLarge { max_bytes }),
            Err(Fatal::TooManyRows(max_rows)) => {
                return Err(UploadError::TooManyRows { max_rows });
            }
            Err(Fatal::Stopped(why)) => return Err(UploadError::Aborted(why)),
        }
        sha.ok_or_else(|| UploadError::Aborted("the body ended before it was read".into()))
    }

    /// The caller's batch (another client's is not found).
    pub async fn batch(&self, caller: &Caller, id: Uuid) -> registry::Result<Batch> {
        self.registry
            .store
            .batch(id)
            .await?
            .filter(|b| b.client_id == caller.client_id)
            .ok_or(Error::NotFound)
    }

    /// Cancels what of the caller's batch is not applied yet.
    pub async fn cancel(&self, caller: &Caller, id: Uuid) -> registry::Result<Batch> {
        self.registry
            .store
            .cancel_batch(id, &caller.client_id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Takes one chunk waiting to be applied and applies it; `false` when there is none.
    pub async fn work_once(&self) -> registry::Result<bool> {
        let lease = self.settings.lease.as_secs_f64();
        let store = &self.registry.store;
        let Some(chunk) = store.claim_batch_chunk(&self.owner, lease).await? else {
            return Ok(false);
        };
        let _heartbeat = {
            let store = store.clone();
            let (chunk, owner) = (chunk.clone(), self.owner.clone());
            let every = self.settings.lease / 3;
            AbortOnDrop(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    match store.heartbeat_batch_chunk(&chunk, &owner, lease).await {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(e) => tracing::warn!(error = %e, "Batch heartbeat failed."),
                    }
                }
            }))
        };
        if let Err(e) = self.apply_chunk(&chunk).await {
            tracing::warn!(batch = %chunk.batch.id, first_line = chunk.first_line, error = %e,
                "A batch chunk could not be applied; it is taken again.");
            store.release_batch_chunk(&chunk, &self.owner).await?;
            return Err(e);
        }
        Ok(true)
    }

    /// Applies the chunk's rows group by group: each group's new workers, their vault rows, audit
    /// entries and the group's outcomes and counts commit together.
    async fn apply_chunk(&self, chunk: &Chunk) -> registry::Result<()> {
        let store = &self.registry.store;
        let lease = self.settings.lease.as_secs_f64();
        let caller = batch_caller(&chunk.batch)?;
        loop {
            let (status, rows) = store.pending_rows(chunk).await?;
            if status == "cancelled" {
                let outcomes: Vec<RowOutcome> = rows
                    .iter()
                    .map(|r| outcome(r.line, "cancelled", None, vec![]))
                    .collect();
                store
                    .commit_batch_rows(chunk, &self.owner, lease, &outcomes, true)
                    .await?;
                return Ok(());
            }
            let last = rows.len() <= self.settings.group_rows;
            let group: Vec<StagedRow> = rows.into_iter().take(self.settings.group_rows).collect();
            let (members, unidentified, mut settled) = self.prepare(&chunk.batch, group);
            // Rows without an Aadhaar number: a probable worker goes to the review queue.
            settled.extend(
                self.registry
                    .probe_unidentified(&caller, chunk.batch.id, unidentified)
                    .await?,
            );
            // Rows whose Aadhaar number is registered already: updated, skipped or refused.
            let tokens: Vec<&str> = members.iter().map(|m| m.token.as_str()).collect();
            let existing = self.registry.registered_already(&caller, &tokens).await?;
            let (members, known): (Vec<Prepared>, Vec<Prepared>) = members
                .into_iter()
                .partition(|m| !existing.contains_key(&m.token));
            let decided: Vec<Result<RowOutcome, Error>> = futures_util::stream::iter(known)
                .map(|m| {
                    let uan = existing.get(&m.token).cloned().flatten();
                    let caller = &caller;
                    async move {
                        self.existing(&chunk.batch, caller, m.member.line, &m.fields, uan)
                            .await
                    }
                })
                .buffered(self.settings.concurrency)
                .collect()
                .await;
            for d in decided {
                settled.push(d?);
            }
            let members = members.into_iter().map(|m| m.member).collect();
            let registered = self
                .registry
                .register_group(
                    &caller,
                    Lease {
                        chunk,
                        owner: &self.owner,
                        secs: lease,
                    },
                    members,
                    settled.clone(),
                    last,
                )
                .await?;
            match registered {
                GroupRegistered::Registered(done) => {
                    count(&settled);
                    metrics::counter!("batch_rows_total", "outcome" => "registered")
                        .increment(done.len() as u64);
                }
                // Registered by another path meanwhile: those rows are existing workers now.
                GroupRegistered::Again => continue,
                GroupRegistered::LeaseLost => {
                    return Err(Error::Internal(
                        "the chunk's lease was lost to another process; it applies the rest".into(),
                    ));
                }
            }
            if last {
                return Ok(());
            }
        }
    }

    /// A group's staged rows, each opened and checked again: rows ready to register, rows
    /// without an Aadhaar number, and the outcomes of those refused.
    fn prepare(
        &self,
        batch: &Batch,
        group: Vec<StagedRow>,
    ) -> (Vec<Prepared>, Vec<Unidentified>, Vec<RowOutcome>) {
        let mut ready = vec![];
        let mut unidentified = vec![];
        let mut refusals = vec![];
        for row in group {
            match self.prepare_row(batch, row) {
                Ok(Ready::Identified(p)) => ready.push(p),
                Ok(Ready::Unidentified(u)) => unidentified.push(u),
                Err(o) => refusals.push(o),
            }
        }
        (ready, unidentified, refusals)
    }

    fn prepare_row(&self, batch: &Batch, row: StagedRow) -> Result<Ready, RowOutcome> {
        let registry = &self.registry;
        let fields: std::collections::BTreeMap<String, String> =
            serde_json::from_value(row.fields).unwrap_or_default();
        let Some(staged) = &row.aadhaar else {
            return match columns::registration(&fields, "") {
                Ok(form) => Ok(Ready::Unidentified(Unidentified {
                    line: row.line,
                    form,
                })),
                Err(errors) => Err(refused(row.line, errors)),
            };
        };
        let aadhaar = self
            .open(batch.id, row.line, staged)
            .map_err(|e| refused(row.line, vec![row_error(AADHAAR, e.code, &e.message)]))?;
        let form = columns::registration(&fields, aadhaar.expose_digits())
            .map_err(|errors| refused(row.line, errors))?;
        let worker = registry
            .check_registration(&form)
            .map_err(|errors| refused(row.line, row_errors(errors)))?;
        let mut written: Vec<String> = fields
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, _)| k.split('.').next().unwrap_or(k).to_owned())
            .chain(std::iter::once(AADHAAR.to_owned()))
            .collect();
        written.sort_unstable();
        written.dedup();
        Ok(Ready::Identified(Prepared {
            token: staged.token.clone(),
            fields,
            member: Member {
                line: row.line,
                worker,
                written,
            },
        }))
    }

    /// A row whose Aadhaar number is registered: updated, skipped or refused as the batch says.
    async fn existing(
        &self,
        batch: &Batch,
        caller: &Caller,
        line: i64,
        fields: &std::collections::BTreeMap<String, String>,
        existing: Option<Uan>,
    ) -> Result<RowOutcome, Error> {
        let named = existing.as_ref().map(|u| u.to_string());
        match (batch.on_existing.as_str(), existing) {
            ("skip", _) => Ok(outcome(line, "skipped", named, vec![])),
            ("update", Some(uan)) => {
                match self.registry.change(caller, &uan, &patch(fields)).await {
                    Ok(_) => Ok(outcome(line, "updated", named, vec![])),
                    Err(Error::Invalid(errors)) => Ok(refused(line, row_errors(errors))),
                    Err(Error::NotFound) => Ok(refused(line, vec![registered_elsewhere()])),
                    Err(e) => Err(e),
                }
            }
            ("update", None) => Ok(refused(line, vec![registered_elsewhere()])),
            _ => Ok(RowOutcome {
                line,
                outcome: "refused",
                uan: named.clone(),
                errors: vec![row_error(
                    AADHAAR,
                    "aadhaar_registered",
                    &match &named {
                        Some(uan) => {
                            format!("this Aadhaar number is registered already, as UAN {uan}")
                        }
                        None => "this Aadhaar number is registered already".to_owned(),
                    },
                )],
            }),
        }
    }

    fn open(&self, batch: Uuid, line: i64, staged: &StagedAadhaar) -> Result<Aadhaar, Invalid> {
        let key = self.registry.vault.by_id(&staged.key_id).ok_or_else(|| {
            Invalid::new(
                "vault_key_missing",
                "the row was staged under a vault key this process does not hold",
            )
        })?;
        let nonce: [u8; 12] = staged
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| Invalid::new("tampered", "the staged ciphertext is malformed"))?;
        let sealed = Sealed {
            key_id: staged.key_id.clone(),
            nonce,
            ciphertext: staged.ciphertext.clone(),
        };
        key.open_bound(&sealed, &bound(batch, line))
    }

    /// Serves until the process ends: applies waiting chunks (its own batches' and others') as
    /// they come, several at once.
    pub async fn serve(self: Arc<Self>, workers: usize) {
        let mut tasks = vec![];
        for _ in 0..workers.max(1) {
            let this = self.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    match this.work_once().await {
                        Ok(true) => continue,
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = %e, "Batches: could not apply a chunk."),
                    }
                    tokio::time::sleep(this.settings.poll).await;
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// What the reading thread needs to stage a row.
struct Stager {
    registry: Arc<Registry>,
    batch: Uuid,
    caller: Caller,
}

impl Stager {
    /// The row's checks (its shape, the registration rules as of today, the caller's states), its
    /// Aadhaar number tokenised and sealed, the rest kept as text by column.
    fn stage(&self, row: ReadRow) -> StagedRow {
        let ReadRow {
            line,
            mut fields,
            mut errors,
        } = row;
        let digits = fields.remove(AADHAAR).unwrap_or_default();
        let mut aadhaar = None;
        if errors.is_empty() && digits.trim().is_empty() {
            // No Aadhaar number: every other rule still holds; at apply time the row is matched
            // against the registry (a probable worker goes to the review queue).
            match columns::registration(&fields, "") {
                Err(e) => errors.extend(e),
                Ok(form) => {
                    if let Err(e) = self.registry.check_registration(&form) {
                        errors.extend(row_errors(
                            e.into_iter().filter(|e| e.field != AADHAAR).collect(),
                        ));
                    }
                    if !self.caller.may_see_state(form.state_code.trim()) {
                        errors.push(row_error(
                            "state_code",
                            "outside_your_states",
                            "your token may not write workers of this state",
                        ));
                    }
                }
            }
        } else if errors.is_empty() {
            match columns::registration(&fields, &digits) {
                Err(e) => errors.extend(e),
                Ok(form) => match self.registry.check_registration(&form) {
                    Err(e) => errors.extend(row_errors(e)),
                    Ok(new) => {
                        if !self.caller.may_see_state(new.state.code()) {
                            errors.push(row_error(
                                "state_code",
                                "outside_your_states",
                                "your token may not write workers of this state",
                            ));
                        }
                        let key = self.registry.vault.current();
                        let sealed = key.seal_bound(
                            &new.aadhaar,
                            &bound(self.batch, line),
                            registry::random::nonce(),
                        );
                        aadhaar = Some(StagedAadhaar {
                            token: self
                                .registry
                                .token_key
                                .token(&new.aadhaar)
                                .as_str()
                                .to_owned(),
                            key_id: sealed.key_id,
                            nonce: sealed.nonce.to_vec(),
                            ciphertext: sealed.ciphertext,
                        });
                    }
                },
            }
        }
        StagedRow {
            line,
            fields: json!(fields),
            aadhaar: aadhaar.filter(|_| errors.is_empty()),
            errors,
        }
    }
}

/// What a staged Aadhaar ciphertext is bound to: it opens for this batch's line only.
fn bound(batch: Uuid, line: i64) -> Vec<u8> {
    format!("batch:{batch}:{line}").into_bytes()
}

/// The caller a batch acts for: its pusher, who may also read the workers of their states (the
/// results name the UAN each row became).
fn caller_json(c: &Caller) -> Value {
    json!({"client_id": c.client_id, "scopes": c.scopes, "states": c.states, "purpose": c.purpose})
}

fn batch_caller(b: &Batch) -> registry::Result<Caller> {
    let c = &b.caller;
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut scopes = strings(&c["scopes"]);
    scopes.extend(["workers:read".to_owned(), "workers:write".to_owned()]);
    Ok(Caller {
        client_id: b.client_id.clone(),
        jti: None,
        scopes,
        states: (!c["states"].is_null()).then(|| strings(&c["states"])),
        purpose: c["purpose"]
            .as_str()
            .ok_or_else(|| Error::Internal("a batch without its caller's purpose".into()))?
            .to_owned(),
    })
}

/// The changeable fields a row gives, as a merge patch (what `on_existing=update` writes).
fn patch(fields: &std::collections::BTreeMap<String, String>) -> Value {
    let given = |k: &str| fields.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut p = serde_json::Map::new();
    for k in [
        "mobile",
        "state_code",
        "district_code",
        "pincode",
        "occupation_nco",
    ] {
        if let Some(v) = given(k) {
            p.insert(k.into(), json!(v));
        }
    }
    if let Some(line1) = given("address.line1") {
        p.insert(
            "address".into(),
            json!({"line1": line1, "line2": given("address.line2"), "locality": given("address.locality")}),
        );
    }
    if let (Some(n), Some(i)) = (
        given("bank_account.account_number"),
        given("bank_account.ifsc"),
    ) {
        p.insert(
            "bank_account".into(),
            json!({"account_number": n, "ifsc": i}),
        );
    }
    if let (Some(n), Some(r)) = (given("nominee.name"), given("nominee.relation")) {
        p.insert("nominee".into(), json!({"name": n, "relation": r}));
    }
    Value::Object(p)
}

fn registered_elsewhere() -> RowError {
    row_error(
        AADHAAR,
        "aadhaar_registered",
        "this Aadhaar number is registered already, to a worker outside your states",
    )
}

fn outcome(
    line: i64,
    outcome: &'static str,
    uan: Option<String>,
    errors: Vec<RowError>,
) -> RowOutcome {
    RowOutcome {
        line,
        outcome,
        uan,
        errors,
    }
}

fn refused(line: i64, errors: Vec<RowError>) -> RowOutcome {
    outcome(line, "refused", None, errors)
}

/// A staged row as it can go on.
enum Ready {
    Identified(Prepared),
    Unidentified(Unidentified),
}

/// A staged row opened and checked, ready to register.
struct Prepared {
    token: String,
    fields: std::collections::BTreeMap<String, String>,
    member: Member,
}

/// Prometheus: rows applied, by outcome.
fn count(outcomes: &[RowOutcome]) {
    for o in outcomes {
        metrics::counter!("batch_rows_total", "outcome" => o.outcome).increment(1);
    }
}

/// A blocking `Read` over the bytes the request's task hands over.
struct ChannelRead {
    rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, Stop>>,
    pending: Vec<u8>,
    at: usize,
}

impl std::io::Read for ChannelRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.pending.len() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(bytes)) => {
                    self.pending = bytes;
                    self.at = 0;
                }
                Some(Err(stop)) => return Err(std::io::Error::other(stop)),
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A task stopped when its handle is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
