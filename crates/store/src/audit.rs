//! The `audit_log` table: appending batches to the hash chain, reading a worker's access log, and
//! walking the chain for verification. Entries are read through the `audit_entries` view, which
//! puts back what the table stores compactly (field lists by id, a single UAN as a number).

use std::collections::HashMap;

use domain::audit::{AuditEntry, chain};

use crate::{Result, Store, StoreError};

/// A stored entry with its place in the chain.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub seq: i64,
    pub entry: AuditEntry,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    /// The key the access log finds the entry by when it names one worker (outside the hash).
    pub indexed_uan: Option<i64>,
}

impl StoredEntry {
    /// Whether the access log finds this entry under exactly the workers it names: its `uan`
    /// when it names one, its `listed` rows of `audit_uans` (from [`Store::audit_listed`]) when it
    /// names several. Otherwise it is hidden from a worker's access log, or shown in another's.
    pub fn indexed_as_named(&self, listed: &[i64]) -> bool {
        self.indexed_uan == single_uan(&self.entry.uans) && listed == listed_uans(&self.entry.uans)
    }
}

/// Entries linked to a head, column by column as the append statement takes them. Chaining is
/// done before the append so the next batch can be chained to this one's head while it commits.
pub struct ChainedBatch {
    prev: (i64, [u8; 32]),
    head: (i64, [u8; 32]),
    seqs: Vec<i64>,
    ats: Vec<chrono::DateTime<chrono::Utc>>,
    clients: Vec<String>,
    jtis: Vec<Option<String>>,
    purposes: Vec<String>,
    actions: Vec<String>,
    routes: Vec<String>,
    /// `None` when the entry names one worker: its UAN is in `uan`.
    uans: Vec<Option<String>>,
    field_sets: Vec<i32>,
    statuses: Vec<i32>,
    request_ids: Vec<String>,
    prevs: Vec<Vec<u8>>,
    hashes: Vec<Vec<u8>>,
    /// The one worker an entry names, as a number for the index (`None`: none or several).
    uan: Vec<Option<i64>>,
    /// `(uan, seq)` pairs of the entries that name several workers.
    multi_uan: Vec<i64>,
    multi_seq: Vec<i64>,
}

impl ChainedBatch {
    /// Links `entries` one after another to `prev` (the last `(seq, hash)` of the chain).
    /// `field_sets` holds each entry's field set id, from [`Store::audit_field_sets`].
    pub fn new(prev: (i64, [u8; 32]), entries: &[AuditEntry], field_sets: &[i32]) -> ChainedBatch {
        assert_eq!(entries.len(), field_sets.len(), "one field set per entry");
        let n = entries.len();
        let mut b = ChainedBatch {
            prev,
            head: prev,
            seqs: Vec::with_capacity(n),
            ats: Vec::with_capacity(n),
            clients: Vec::with_capacity(n),
            jtis: Vec::with_capacity(n),
            purposes: Vec::with_capacity(n),
            actions: Vec::with_capacity(n),
            routes: Vec::with_capacity(n),
            uans: Vec::with_capacity(n),
            field_sets: field_sets.to_vec(),
            statuses: Vec::with_capacity(n),
            request_ids: Vec::with_capacity(n),
            prevs: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
            uan: Vec::with_capacity(n),
            multi_uan: Vec::new(),
            multi_seq: Vec::new(),
        };
        let (mut seq, mut hash) = prev;
        for e in entries {
            seq += 1;
            let next = chain(&hash, e, seq);
            b.seqs.push(seq);
            b.ats.push(e.at);
            b.clients.push(e.client_id.clone());
            b.jtis.push(e.jti.clone());
            b.purposes.push(e.purpose.clone());
            b.actions.push(e.action.clone());
            b.routes.push(e.route.clone());
            b.statuses.push(i32::from(e.status));
            b.request_ids.push(e.request_id.clone());
            b.prevs.push(hash.to_vec());
            b.hashes.push(next.to_vec());
            let single = single_uan(&e.uans);
            b.uan.push(single);
            if single.is_some() {
                b.uans.push(None);
            } else {
                let numbers = listed_uans(&e.uans);
                b.multi_seq.extend(numbers.iter().map(|_| seq));
                b.multi_uan.extend(numbers);
                // Arrays of arrays are not rectangular here; a list travels as one text value.
                b.uans.push(Some(pg_array(&e.uans)));
            }
            hash = next;
        }
        b.head = (seq, hash);
        b
    }

    /// The chain's `(seq, hash)` once this batch is appended.
    pub fn head(&self) -> (i64, [u8; 32]) {
        self.head
    }
}

const APPEND: &str = "SELECT audit_append($1, $2, $3, $4::bigint[], $5::timestamptz[], $6::text[], \
     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::int[], $14::text[], \
     $15::bytea[], $16::bytea[], $17::bigint[], $18::bigint[], $19::bigint[])";

impl Store {
    /// Appends a chained batch in one statement and one commit. Refused, with nothing written,
    /// when the head is no longer the one the batch was chained to (another process appended, or
    /// the batch chained before this one failed): the caller reloads it with
    /// [`Store::audit_head`] and chains the entries again.
    pub async fn append_audit(&self, batch: &ChainedBatch) -> Result<()> {
        if batch.seqs.is_empty() {
            return Ok(());
        }
        let conn = self.conn().await?;
        let append = conn.prepare_cached(APPEND).await?;
        let b = batch;
        conn.execute(
            &append,
            &[
                &b.prev.0,
                &b.prev.1.as_slice(),
                &b.head.1.as_slice(),
                &b.seqs,
                &b.ats,
                &b.clients,
                &b.jtis,
                &b.purposes,
                &b.actions,
                &b.routes,
                &b.uans,
                &b.field_sets,
                &b.statuses,
                &b.request_ids,
                &b.prevs,
                &b.hashes,
                &b.uan,
                &b.multi_uan,
                &b.multi_seq,
            ],
        )
        .await?;
        Ok(())
    }

    /// Each entry's field set id (see migration V10): a list `known` does not hold yet is looked
    /// up, or stored, once, then remembered.
    pub async fn audit_field_sets(
        &self,
        known: &mut FieldSets,
        entries: &[AuditEntry],
    ) -> Result<Vec<i32>> {
        let mut ids = Vec::with_capacity(entries.len());
        for e in entries {
            let id = match known.ids.get(&e.fields) {
                Some(id) => *id,
                None => {
                    let id = self.audit_field_set(&e.fields).await?;
                    // Lists are of field names the gateway knows: a purpose's, or the sorted keys of
                    // a body it accepted. A caller could make at most one list per subset of a
                    // worker's fields; the bound keeps this memory small even then.
                    if known.ids.len() >= FieldSets::MAX {
                        known.ids.clear();
                    }
                    known.ids.insert(e.fields.clone(), id);
                    id
                }
            };
            ids.push(id);
        }
        Ok(ids)
    }

    async fn audit_field_set(&self, fields: &[String]) -> Result<i32> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "WITH new AS (INSERT INTO audit_field_sets (fields) VALUES ($1) \
                   ON CONFLICT (fields) DO NOTHING RETURNING id) \
                 SELECT id FROM new UNION ALL SELECT id FROM audit_field_sets WHERE fields = $1",
            )
            .await?;
        // A list another process stored meanwhile is not in this statement's snapshot: once more.
        for _ in 0..3 {
            if let Some(row) = conn.query(&stmt, &[&fields]).await?.first() {
                return Ok(row.get(0));
            }
        }
        Err(StoreError::Corrupt {
            table: "audit_field_sets",
            detail: "a field set could be neither stored nor found".into(),
        })
    }

    /// Entries naming `uan`, newest first, before `before_seq`.
    pub async fn audit_for_uan(
        &self,
        uan: &str,
        before_seq: i64,
        limit: i64,
    ) -> Result<Vec<StoredEntry>> {
        let Some(uan) = uan_number(uan) else {
            return Ok(Vec::new());
        };
        let conn = self.conn().await?;
        // Each index gives its newest `limit` entries; the newest `limit` of both are the answer.
        let stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM audit_entries WHERE seq IN ( \
                   (SELECT seq FROM audit_log WHERE uan = $1 AND seq < $2 ORDER BY uan, seq DESC LIMIT $3) \
                   UNION ALL \
                   (SELECT seq FROM audit_uans WHERE uan = $1 AND seq < $2 ORDER BY uan, seq DESC LIMIT $3)) \
                 ORDER BY seq DESC LIMIT $3"
            ))
            .await?;
        let rows = conn.query(&stmt, &[&uan, &before_seq, &limit]).await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Entries in chain order after `after_seq`, for verification.
    pub async fn audit_page(&self, after_seq: i64, limit: i64) -> Result<Vec<StoredEntry>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM audit_entries WHERE seq > $1 ORDER BY seq LIMIT $2"
                ),
                &[&after_seq, &limit],
            )
            .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// The `audit_uans` rows of the entries `after_seq < seq <= upto_seq`, by entry, in order.
    pub async fn audit_listed(
        &self,
        after_seq: i64,
        upto_seq: i64,
    ) -> Result<HashMap<i64, Vec<i64>>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT seq, array_agg(uan ORDER BY uan) FROM audit_uans \
                  WHERE seq > $1 AND seq <= $2 GROUP BY seq",
                &[&after_seq, &upto_seq],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The chain's head as the database holds it.
    pub async fn audit_head(&self) -> Result<(i64, [u8; 32])> {
        let conn = self.conn().await?;
        let row = conn
            .query_one("SELECT seq, hash FROM audit_head", &[])
            .await?;
        Ok((row.get(0), to_hash(row.get(1))?))
    }
}

/// Field set ids already known to this process (one `audit_field_sets` row per distinct list).
#[derive(Default)]
pub struct FieldSets {
    ids: HashMap<Vec<String>, i32>,
}

impl FieldSets {
    const MAX: usize = 4096;
}

const COLUMNS: &str = "seq, at, client_id, jti, purpose, action, route, uans, fields, status, request_id, prev_hash, hash, uan";

/// Reads a row without trusting it: a value of the wrong shape (a NULL written in by hand) is
/// reported as a corrupt entry, never a panic.
fn entry_from_row(r: &tokio_postgres::Row) -> Result<StoredEntry> {
    let seq: i64 = r
        .try_get(0)
        .map_err(|_| corrupt_entry("an entry".into(), "seq"))?;
    let bad = |column: &str| corrupt_entry(format!("entry {seq}"), column);
    let status: i32 = r.try_get(9).map_err(|_| bad("status"))?;
    Ok(StoredEntry {
        seq,
        entry: AuditEntry {
            at: r.try_get(1).map_err(|_| bad("at"))?,
            client_id: r.try_get(2).map_err(|_| bad("client_id"))?,
            jti: r.try_get(3).map_err(|_| bad("jti"))?,
            purpose: r.try_get(4).map_err(|_| bad("purpose"))?,
            action: r.try_get(5).map_err(|_| bad("action"))?,
            route: r.try_get(6).map_err(|_| bad("route"))?,
            uans: r.try_get(7).map_err(|_| bad("uans"))?,
            fields: r.try_get(8).map_err(|_| bad("fields"))?,
            status: u16::try_from(status).unwrap_or(0),
            request_id: r.try_get(10).map_err(|_| bad("request_id"))?,
        },
        prev_hash: r.try_get(11).map_err(|_| bad("prev_hash"))?,
        hash: r.try_get(12).map_err(|_| bad("hash"))?,
        indexed_uan: r.try_get(13).map_err(|_| bad("uan"))?,
    })
}

fn corrupt_entry(which: String, column: &str) -> StoreError {
    StoreError::Corrupt {
        table: "audit_log",
        detail: format!("{which} has an unreadable {column}"),
    }
}

fn to_hash(v: Vec<u8>) -> Result<[u8; 32]> {
    v.try_into().map_err(|_| StoreError::Corrupt {
        table: "audit_head",
        detail: "hash is not 32 bytes".into(),
    })
}

/// The one worker an entry names, as the number its `uan` column holds; `None` when it names
/// none, several, or something that is not a UAN.
fn single_uan(uans: &[String]) -> Option<i64> {
    match uans {
        [only] => uan_number(only),
        _ => None,
    }
}

/// The workers an entry naming several is found under in `audit_uans`: its UANs as numbers,
/// sorted, each once. None for an entry that names one (its `uan` column holds it).
fn listed_uans(uans: &[String]) -> Vec<i64> {
    if single_uan(uans).is_some() {
        return Vec::new();
    }
    let mut numbers: Vec<i64> = uans.iter().filter_map(|u| uan_number(u)).collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

/// A UAN as the number the access-log indexes hold; `None` for anything but 12 digits.
fn uan_number(uan: &str) -> Option<i64> {
    if uan.len() == 12 && uan.bytes().all(|b| b.is_ascii_digit()) {
        uan.parse().ok()
    } else {
        None
    }
}

/// A PostgreSQL array literal of text values, quoted so any content round-trips.
fn pg_array(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

#[cfg(test)]
mod tests {
    #[test]
    fn array_literals_quote_everything() {
        assert_eq!(
            super::pg_array(&["a".into(), "b\"c".into(), "d\\e".into()]),
            r#"{"a","b\"c","d\\e"}"#
        );
        assert_eq!(super::pg_array(&[]), "{}");
    }

    #[test]
    fn single_workers_go_in_the_entry_and_several_in_pairs() {
        use domain::audit::AuditEntry;
        let entry = |uans: &[&str]| AuditEntry {
            at: chrono::Utc::now(),
            client_id: "c".into(),
            jti: None,
            purpose: "operations".into(),
            action: "read".into(),
            route: "/v1/workers/{uan}".into(),
            uans: uans.iter().map(|u| (*u).to_owned()).collect(),
            fields: vec![],
            status: 200,
            request_id: String::new(),
        };
        let b = super::ChainedBatch::new(
            (7, [0; 32]),
            &[
                entry(&["012345678901"]),
                entry(&["100000000001", "100000000002", "100000000001", "not-a-uan"]),
                entry(&[]),
                entry(&["not-a-uan"]),
            ],
            &[1, 1, 1, 1],
        );
        assert_eq!(b.uan, vec![Some(12_345_678_901), None, None, None]);
        // A single worker is stored only as the number; lists and anything else as text.
        assert_eq!(
            b.uans,
            vec![
                None,
                Some(r#"{"100000000001","100000000002","100000000001","not-a-uan"}"#.into()),
                Some("{}".into()),
                Some(r#"{"not-a-uan"}"#.into())
            ]
        );
        assert_eq!(b.multi_uan, vec![100_000_000_001, 100_000_000_002]);
        assert_eq!(b.multi_seq, vec![9, 9]);
        assert_eq!(b.head().0, 11);
    }
}
