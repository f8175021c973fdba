//! The `workers` and `aadhaar_vault` tables: register, read, change, and list by change order.

use domain::worker::{Address, BankAccount, NewWorker, Nominee};
use domain::{AadhaarToken, Invalid, Sealed, Uan, Worker};
use serde_json::Value;
use tokio_postgres::types::ToSql;

use crate::idempotency::{self, Claim, IdempotencyKey};
use crate::rows::{COLUMNS, corrupt, parse, worker_from_row};
use crate::{Result, Store, StoreError};

/// What registration needs besides the validated form: the keyed token, and how to seal the
/// Aadhaar once the UAN (its authenticated data) is known.
pub struct NewWorkerRow<'a> {
    pub worker: &'a NewWorker,
    pub token: &'a AadhaarToken,
    pub seal: &'a (dyn Fn(&Uan) -> Sealed + Sync),
}

pub enum RegisterOutcome {
    Created {
        worker: Box<Worker>,
        response: Value,
    },
    /// The Aadhaar token is already registered (possibly by a concurrent request).
    DuplicateAadhaar { uan: Uan, state_code: String },
    /// Same idempotency key, same body: the first answer, replayed.
    Replayed { status: u16, response: Value },
    /// Same idempotency key, another body.
    KeyReused,
    /// Same idempotency key, first request still running.
    KeyInFlight,
}

pub enum UpdateOutcome<E> {
    Updated(Box<Worker>),
    NotFound,
    Rejected(E),
}

/// One entry of the change feed.
#[derive(Debug, Clone)]
pub enum FeedItem {
    Worker(Box<Worker>),
    /// The worker moved out of the feed's view (another state or district) at `change_seq`.
    MovedOut {
        uan: String,
        change_seq: i64,
    },
}

impl FeedItem {
    pub fn change_seq(&self) -> i64 {
        match self {
            FeedItem::Worker(w) => w.change_seq,
            FeedItem::MovedOut { change_seq, .. } => *change_seq,
        }
    }
}

/// The filter's view as SQL terms over the columns named with `prefix` (the parameters pushed).
fn view_terms<'a>(
    f: &'a ListFilter,
    prefix: &str,
    params: &mut Vec<&'a (dyn ToSql + Sync)>,
) -> String {
    let mut terms = vec![];
    let col = |c: &str| format!("{prefix}{c}{}", suffix(prefix));
    if let Some(states) = &f.allowed_states {
        params.push(states);
        terms.push(format!("{} = ANY(${})", col("state"), params.len()));
    }
    if let Some(s) = &f.state_code {
        params.push(s);
        terms.push(format!("{} = ${}", col("state"), params.len()));
    }
    if let Some(d) = &f.district_code {
        params.push(d);
        terms.push(format!("{} = ${}", col("district"), params.len()));
    }
    terms.join(" AND ")
}

/// `worker_moves` names its columns `from_state`, `to_district`…; `workers` names them
/// `state_code`, `district_code`.
fn suffix(prefix: &str) -> &'static str {
    if prefix.is_empty() { "_code" } else { "" }
}

/// Which workers a list returns, in change order after `after_seq`.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// The caller's states (`None`: every state).
    pub allowed_states: Option<Vec<String>>,
    pub state_code: Option<String>,
    pub district_code: Option<String>,
    pub after_seq: i64,
    pub limit: i64,
}

impl Store {
    /// Registers a worker: UAN issued, vault row written, idempotency answer stored, all in one
    /// transaction. `respond` builds the answer to store for replays. `before_write` runs inside
    /// the transaction once the worker is known to be new, with the UAN it will get, before the
    /// row is written (the audit entry is appended there; the registry-wide `change_seq` lock is
    /// not held yet, so writers do not queue on the log's commit). If it fails, nothing is
    /// written and the caller gets [`StoreError::Unavailable`] with its reason.
    pub async fn register(
        &self,
        row: NewWorkerRow<'_>,
        idem: Option<&IdempotencyKey>,
        respond: impl FnOnce(&Worker) -> Value,
        before_write: impl AsyncFnOnce(&Uan) -> std::result::Result<(), String>,
    ) -> Result<RegisterOutcome> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        if let Some(key) = idem {
            match idempotency::claim(&tx, key).await? {
                Claim::Fresh => {}
                Claim::Replay { status, response } => {
                    return Ok(RegisterOutcome::Replayed { status, response });
                }
                Claim::Mismatch => return Ok(RegisterOutcome::KeyReused),
                Claim::InFlight => return Ok(RegisterOutcome::KeyInFlight),
            }
        }
        // One registration of an Aadhaar number at a time, so that "new" holds until the commit.
        tx.execute(
            "SELECT pg_advisory_xact_lock(7271002, hashtext($1))",
            &[&row.token.as_str()],
        )
        .await?;
        if let Some(existing) = self::existing(&tx, row.token).await? {
            return Ok(existing);
        }
        let serial: i64 = tx
            .query_one("SELECT nextval('uan_serial')", &[])
            .await?
            .get(0);
        let uan = Uan::from_serial(serial as u64);
        // Dropping the transaction rolls it back.
        before_write(&uan).await.map_err(StoreError::Unavailable)?;
        let w = row.worker;
        let address = w.address.as_ref().map(address_json);
        let bank = w.bank_account.as_ref().map(bank_json);
        let nominee = w.nominee.as_ref().map(nominee_json);
        let education = w.education.map(|e| e.as_str());
        let keys = new_worker_fields(w, row.token.as_str()).keys();
        let insert = tx
            .prepare_cached(&format!(
                "INSERT INTO workers (uan, aadhaar_token, aadhaar_last4, name, gender, date_of_birth, mobile, \
                     state_code, district_code, pincode, relative_name, social_category, occupation_nco, \
                     monthly_income_inr, address, education, bank_account, nominee, change_seq, match_keys, \
                     match_keys_version) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,0,$19,$20) \
                     ON CONFLICT (aadhaar_token) DO NOTHING RETURNING {COLUMNS}"
            ))
            .await?;
        let inserted = tx
            .query_opt(
                &insert,
                &[
                    &uan.as_str(),
                    &row.token.as_str(),
                    &w.aadhaar.last4(),
                    &w.name,
                    &w.gender.as_str(),
                    &w.date_of_birth,
                    &w.mobile.as_str(),
                    &w.state.code(),
                    &w.district.as_str(),
                    &w.pincode.as_str(),
                    &w.relative_name,
                    &w.social_category.as_str(),
                    &w.occupation.as_str(),
                    &w.monthly_income_inr,
                    &address,
                    &education,
                    &bank,
                    &nominee,
                    &keys,
                    &KEYS_VERSION,
                ],
            )
            .await?;
        let Some(inserted) = inserted else {
            // Registered by another path meanwhile (a bulk load takes no lock per Aadhaar).
            return self::existing(&tx, row.token).await?.ok_or_else(|| {
                StoreError::Unavailable("a concurrent registration of this Aadhaar number".into())
            });
        };
        let worker = worker_from_row(&inserted)?;
        let sealed = (row.seal)(&uan);
        let insert_vault = tx
            .prepare_cached("INSERT INTO aadhaar_vault (uan, key_id, nonce, ciphertext) VALUES ($1, $2, $3, $4)")
            .await?;
        tx.execute(
            &insert_vault,
            &[
                &uan.as_str(),
                &sealed.key_id,
                &&sealed.nonce[..],
                &sealed.ciphertext,
            ],
        )
        .await?;
        let response = respond(&worker);
        if let Some(key) = idem {
            idempotency::complete(&tx, key, 201, &response).await?;
        }
        tx.commit().await?;
        Ok(RegisterOutcome::Created {
            worker: Box::new(worker),
            response,
        })
    }

    /// The worker, if it exists and is in one of `allowed_states` (`None`: any state).
    pub async fn worker(
        &self,
        uan: &Uan,
        allowed_states: Option<&[String]>,
    ) -> Result<Option<Worker>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM workers WHERE uan = $1 AND ($2::text[] IS NULL OR state_code = ANY($2))"
            ))
            .await?;
        let row = conn
            .query_opt(&stmt, &[&uan.as_str(), &allowed_states])
            .await?;
        row.as_ref().map(worker_from_row).transpose()
    }

    /// Reads the worker under a row lock, lets `change` decide the new record, and writes it when it
    /// differs. A change that keeps the record as it was does not bump `change_seq`.
    /// `before_write` runs inside the transaction with the record as it will stand, before it is
    /// written (the audit entry is appended there; the registry-wide `change_seq` lock is not
    /// held yet, so writers do not queue on the log's commit). If it fails, nothing is written and
    /// the caller gets [`StoreError::Unavailable`] with its reason.
    pub async fn update_worker<E>(
        &self,
        uan: &Uan,
        allowed_states: Option<&[String]>,
        change: impl FnOnce(&Worker) -> std::result::Result<Worker, E>,
        before_write: impl AsyncFnOnce(&Worker) -> std::result::Result<(), String>,
    ) -> Result<UpdateOutcome<E>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let row = tx
            .query_opt(
                &format!(
                    "SELECT {COLUMNS}, aadhaar_token FROM workers WHERE uan = $1 \
                     AND ($2::text[] IS NULL OR state_code = ANY($2)) FOR UPDATE"
                ),
                &[&uan.as_str(), &allowed_states],
            )
            .await?;
        let Some(row) = row else {
            return Ok(UpdateOutcome::NotFound);
        };
        let current = worker_from_row(&row)?;
        let token: String = row.get("aadhaar_token");
        let next = match change(&current) {
            Ok(next) => next,
            Err(e) => return Ok(UpdateOutcome::Rejected(e)),
        };
        if same_changeable(&current, &next) {
            before_write(&current)
                .await
                .map_err(StoreError::Unavailable)?;
            return Ok(UpdateOutcome::Updated(Box::new(current)));
        }
        // Dropping the transaction rolls it back.
        before_write(&next).await.map_err(StoreError::Unavailable)?;
        let address = next.address.as_ref().map(address_json);
        let bank = next.bank_account.as_ref().map(bank_json);
        let nominee = next.nominee.as_ref().map(nominee_json);
        let row = tx
            .query_one(
                &format!(
                    "UPDATE workers SET mobile = $2, state_code = $3, district_code = $4, pincode = $5, \
                     occupation_nco = $6, address = $7, bank_account = $8, nominee = $9, match_keys = $10, \
                     match_keys_version = $11 \
                     WHERE uan = $1 RETURNING {COLUMNS}"
                ),
                &[
                    &uan.as_str(),
                    &next.mobile.as_str(),
                    &next.state_code.code(),
                    &next.district_code.as_str(),
                    &next.pincode.as_str(),
                    &next.occupation_nco.as_str(),
                    &address,
                    &bank,
                    &nominee,
                    &crate::match_keys::worker_fields(&next, &token).keys(),
                    &KEYS_VERSION,
                ],
            )
            .await?;
        let updated = worker_from_row(&row)?;
        tx.commit().await?;
        Ok(UpdateOutcome::Updated(Box::new(updated)))
    }

    /// One page of the feed in `change_seq` order: the workers in view, and a tombstone for each
    /// worker who moved out of view (to a state or district the filter leaves out) since
    /// `after_seq`, so that a state's copy learns of the move (no personal data: the UAN and the
    /// move's `change_seq`).
    pub async fn list_workers(&self, f: &ListFilter) -> Result<Vec<FeedItem>> {
        let conn = self.conn().await?;
        let mut sql = format!("SELECT {COLUMNS} FROM workers WHERE change_seq > $1");
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&f.after_seq];
        let terms = view_terms(f, "", &mut params);
        if !terms.is_empty() {
            sql.push_str(&format!(" AND {terms}"));
        }
        params.push(&f.limit);
        sql.push_str(&format!(" ORDER BY change_seq LIMIT ${}", params.len()));
        let stmt = conn.prepare_cached(&sql).await?;
        let workers = conn.query(&stmt, &params).await?;
        let mut items: Vec<FeedItem> = workers
            .iter()
            .map(|r| worker_from_row(r).map(|w| FeedItem::Worker(Box::new(w))))
            .collect::<Result<_>>()?;
        // Tombstones: a move out of a view only exists when the view is limited.
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&f.after_seq];
        let mut sql = "SELECT uan, change_seq FROM worker_moves WHERE change_seq > $1".to_owned();
        let from_terms = view_terms(f, "from_", &mut params);
        let to_terms = view_terms(f, "to_", &mut params);
        if !to_terms.is_empty() {
            sql.push_str(&format!(" AND {from_terms}"));
            params.push(&f.limit);
            sql.push_str(&format!(
                " AND NOT ({to_terms}) ORDER BY change_seq LIMIT ${}",
                params.len()
            ));
            let stmt = conn.prepare_cached(&sql).await?;
            for r in conn.query(&stmt, &params).await? {
                items.push(FeedItem::MovedOut {
                    uan: r.get(0),
                    change_seq: r.get(1),
                });
            }
            items.sort_by_key(FeedItem::change_seq);
            items.truncate(f.limit.max(0) as usize);
        }
        Ok(items)
    }

    /// The sealed Aadhaar of a worker (for the vault's own tools; never for an API answer).
    pub async fn sealed_aadhaar(&self, uan: &Uan) -> Result<Option<Sealed>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "SELECT key_id, nonce, ciphertext FROM aadhaar_vault WHERE uan = $1",
                &[&uan.as_str()],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let nonce: Vec<u8> = row.get(1);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| StoreError::Corrupt {
            table: "aadhaar_vault",
            detail: "nonce is not 12 bytes".into(),
        })?;
        Ok(Some(Sealed {
            key_id: row.get(0),
            nonce,
            ciphertext: row.get(2),
        }))
    }
}

/// The worker already registered with this Aadhaar token, as a registration's outcome.
async fn existing(
    tx: &deadpool_postgres::Transaction<'_>,
    token: &AadhaarToken,
) -> Result<Option<RegisterOutcome>> {
    let row = tx
        .query_opt(
            "SELECT uan, state_code FROM workers WHERE aadhaar_token = $1",
            &[&token.as_str()],
        )
        .await?;
    row.map(|r| {
        Ok(RegisterOutcome::DuplicateAadhaar {
            uan: parse(Uan::parse(r.get(0)))?,
            state_code: r.get(1),
        })
    })
    .transpose()
}

fn same_changeable(a: &Worker, b: &Worker) -> bool {
    a.mobile == b.mobile
        && a.state_code == b.state_code
        && a.district_code == b.district_code
        && a.pincode == b.pincode
        && a.occupation_nco == b.occupation_nco
        && a.address == b.address
        && a.bank_account == b.bank_account
        && a.nominee == b.nominee
}

fn address_json(a: &Address) -> Value {
    serde_json::json!({"line1": a.line1, "line2": a.line2, "locality": a.locality})
}

fn bank_json(b: &BankAccount) -> Value {
    serde_json::json!({"account_number": b.account_number, "ifsc": b.ifsc.as_str()})
}

fn nominee_json(n: &Nominee) -> Value {
    serde_json::json!({"name": n.name, "relation": n.relation.as_str()})
}

/// Stored rows were validated on the way in; they are parsed again here so a hand-edited row
/// surfaces as an error instead of as a wrong answer.
use matching::prepare::KEYS_VERSION;

/// The match fields of a worker being registered.
fn new_worker_fields<'a>(w: &'a NewWorker, token: &'a str) -> crate::match_keys::MatchFields<'a> {
    crate::match_keys::MatchFields {
        name: &w.name,
        gender: w.gender,
        date_of_birth: w.date_of_birth,
        mobile: w.mobile.as_str(),
        state_code: w.state.code(),
        district_code: w.district.as_str(),
        pincode: w.pincode.as_str(),
        relative_name: &w.relative_name,
        aadhaar_token: token,
        address: w.address.as_ref(),
    }
}

impl Store {
    /// Loads many workers at once with binary `COPY` (seeding and imports): one transaction, UANs
    /// issued from the same sequence, vault rows beside them. Fails as a whole on any conflict.
    pub async fn insert_workers_bulk(
        &self,
        workers: &[(NewWorker, AadhaarToken)],
        seal: &(dyn Fn(&NewWorker, &Uan) -> Sealed + Sync),
    ) -> Result<u64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let uans = next_uans(&tx, workers.len()).await?;
        let rows: Vec<_> = workers
            .iter()
            .zip(&uans)
            .map(|((w, token), uan)| (w, token.as_str(), uan))
            .collect();
        let n = copy_workers(&tx, &rows).await?;
        let sealed: Vec<_> = rows
            .iter()
            .map(|(w, _, uan)| (*uan, seal(w, uan)))
            .collect();
        copy_vault(&tx, &sealed).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// After a bulk load: statistics for the planner, and the GIN index's pending entries merged
    /// (PostgreSQL's advice for bulk loads; autovacuum would get there later, in the middle of
    /// whatever runs next): the workers and the tables their triggers filled.
    pub async fn after_bulk_load(&self) -> Result<()> {
        let conn = self.conn().await?;
        conn.batch_execute(
            "VACUUM (ANALYZE) workers, aadhaar_vault, worker_coverage, coverage_deltas",
        )
        .await?;
        Ok(())
    }

    /// How many workers the registry holds.
    /// The registry's size: PostgreSQL's estimate once the table is large (a count of 30 crore
    /// rows would scan them all), an exact count while it is small or never analysed.
    pub async fn estimated_workers(&self) -> Result<i64> {
        let conn = self.conn().await?;
        Ok(conn
            .query_one(
                "SELECT CASE WHEN c.reltuples >= 100000 THEN c.reltuples::bigint \
                   ELSE (SELECT count(*) FROM workers) END \
                 FROM pg_class c WHERE c.oid = 'workers'::regclass",
                &[],
            )
            .await?
            .get(0))
    }

    pub async fn count_workers(&self) -> Result<i64> {
        let conn = self.conn().await?;
        Ok(conn
            .query_one("SELECT count(*) FROM workers", &[])
            .await?
            .get(0))
    }
}

impl Store {
    /// Re-encrypts up to `limit` vault rows not sealed under `active_key_id`, in one transaction;
    /// rows locked by another run are skipped, so several runs can share the work. Returns how many
    /// were resealed: 0 means none is left.
    pub async fn reseal_vault_batch(
        &self,
        active_key_id: &str,
        limit: i64,
        reseal: &(dyn Fn(&Uan, &Sealed) -> std::result::Result<Sealed, Invalid> + Sync),
    ) -> Result<usize> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let rows = tx
            .query(
                "SELECT uan, key_id, nonce, ciphertext FROM aadhaar_vault WHERE key_id <> $1 \
                 ORDER BY uan LIMIT $2 FOR UPDATE SKIP LOCKED",
                &[&active_key_id, &limit],
            )
            .await?;
        let update = tx
            .prepare_cached(
                "UPDATE aadhaar_vault SET key_id = $2, nonce = $3, ciphertext = $4 WHERE uan = $1",
            )
            .await?;
        for row in &rows {
            let uan = parse(Uan::parse(row.get(0)))?;
            let nonce: Vec<u8> = row.get(2);
            let sealed = Sealed {
                key_id: row.get(1),
                nonce: nonce
                    .try_into()
                    .map_err(|_| corrupt("aadhaar_vault.nonce"))?,
                ciphertext: row.get(3),
            };
            let fresh = reseal(&uan, &sealed).map_err(|e| StoreError::Corrupt {
                table: "aadhaar_vault",
                detail: format!("{uan}: {}", e.message),
            })?;
            tx.execute(
                &update,
                &[
                    &uan.as_str(),
                    &fresh.key_id,
                    &&fresh.nonce[..],
                    &fresh.ciphertext,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    /// Vault rows by key id, for progress reports.
    pub async fn vault_key_counts(&self) -> Result<Vec<(String, i64)>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT key_id, count(*) FROM aadhaar_vault GROUP BY key_id ORDER BY key_id",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// `n` new UANs, from the registry's one sequence.
pub(crate) async fn next_uans(tx: &tokio_postgres::Transaction<'_>, n: usize) -> Result<Vec<Uan>> {
    let serials = tx
        .query(
            "SELECT nextval('uan_serial') FROM generate_series(1, $1::bigint)",
            &[&(n as i64)],
        )
        .await?;
    Ok(serials
        .iter()
        .map(|r| Uan::from_serial(r.get::<_, i64>(0) as u64))
        .collect())
}

/// New workers (each with its Aadhaar token and UAN) written by binary `COPY` inside `tx`, with
/// their match keys; the rows written. Fails as a whole on any conflict.
pub(crate) async fn copy_workers(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &[(&NewWorker, &str, &Uan)],
) -> Result<u64> {
    use futures_util::pin_mut;
    use tokio_postgres::binary_copy::BinaryCopyInWriter;
    use tokio_postgres::types::Type;

    let sink = tx
        .copy_in(
            "COPY workers (uan, aadhaar_token, aadhaar_last4, name, gender, date_of_birth, mobile, state_code, \
             district_code, pincode, relative_name, social_category, occupation_nco, monthly_income_inr, \
             address, education, bank_account, nominee, change_seq, match_keys, match_keys_version) \
             FROM STDIN BINARY",
        )
        .await?;
    let types = [
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::DATE,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::JSONB,
        Type::TEXT,
        Type::JSONB,
        Type::JSONB,
        Type::INT8,
        Type::INT8_ARRAY,
        Type::INT2,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for (w, token, uan) in rows {
        let address = w.address.as_ref().map(address_json);
        let bank = w.bank_account.as_ref().map(bank_json);
        let nominee = w.nominee.as_ref().map(nominee_json);
        let education = w.education.map(|e| e.as_str());
        writer
            .as_mut()
            .write(&[
                &uan.as_str(),
                token,
                &w.aadhaar.last4(),
                &w.name,
                &w.gender.as_str(),
                &w.date_of_birth,
                &w.mobile.as_str(),
                &w.state.code(),
                &w.district.as_str(),
                &w.pincode.as_str(),
                &w.relative_name,
                &w.social_category.as_str(),
                &w.occupation.as_str(),
                &w.monthly_income_inr,
                &address,
                &education,
                &bank,
                &nominee,
                &0i64,
                &new_worker_fields(w, token).keys(),
                &KEYS_VERSION,
            ])
            .await?;
    }
    Ok(writer.finish().await?)
}

/// The vault rows of new workers, by binary `COPY` inside `tx`.
pub(crate) async fn copy_vault(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &[(&Uan, Sealed)],
) -> Result<()> {
    use futures_util::pin_mut;
    use tokio_postgres::binary_copy::BinaryCopyInWriter;
    use tokio_postgres::types::Type;

    let sink = tx
        .copy_in("COPY aadhaar_vault (uan, key_id, nonce, ciphertext) FROM STDIN BINARY")
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::TEXT, Type::BYTEA, Type::BYTEA]);
    pin_mut!(writer);
    for (uan, sealed) in rows {
        writer
            .as_mut()
            .write(&[
                &uan.as_str(),
                &sealed.key_id,
                &&sealed.nonce[..],
                &sealed.ciphertext,
            ])
            .await?;
    }
    writer.finish().await?;
    Ok(())
}
