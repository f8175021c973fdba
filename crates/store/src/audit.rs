//! The `audit_log` table: appending batches to the hash chain, reading a worker's access log, and
//! walking the chain for verification.

use domain::audit::{AuditEntry, chain};

use crate::{Result, Store, StoreError};

/// A stored entry with its place in the chain.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub seq: i64,
    pub entry: AuditEntry,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl Store {
    /// Appends `entries` in one transaction (one flush for the whole batch): locks the chain's head,
    /// links each entry to the one before, and moves the head. Returns the last `(seq, hash)`.
    pub async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(i64, [u8; 32])> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let head = tx
            .prepare_cached("SELECT seq, hash FROM audit_head FOR UPDATE")
            .await?;
        let row = tx.query_one(&head, &[]).await?;
        let mut seq: i64 = row.get(0);
        let mut hash = to_hash(row.get::<_, Vec<u8>>(1))?;
        let n = entries.len();
        let (mut seqs, mut ats, mut clients, mut jtis, mut purposes, mut actions, mut routes) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut uans, mut fields, mut statuses, mut request_ids, mut prevs, mut hashes) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for e in entries {
            seq += 1;
            let next = chain(&hash, e, seq);
            seqs.push(seq);
            ats.push(e.at);
            clients.push(e.client_id.as_str());
            jtis.push(e.jti.as_deref());
            purposes.push(e.purpose.as_str());
            actions.push(e.action.as_str());
            routes.push(e.route.as_str());
            // Arrays of arrays are not rectangular here; each row's list travels as one text value.
            uans.push(pg_array(&e.uans));
            fields.push(pg_array(&e.fields));
            statuses.push(e.status as i32);
            request_ids.push(e.request_id.as_str());
            prevs.push(hash.to_vec());
            hashes.push(next.to_vec());
            hash = next;
        }
        let insert = tx
            .prepare_cached(
                "INSERT INTO audit_log (seq, at, client_id, jti, purpose, action, route, uans, fields, status, \
                 request_id, prev_hash, hash) \
                 SELECT s, a, c, j, p, ac, r, u::text[], f::text[], st, rq, ph, h FROM unnest($1::bigint[], \
                 $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
                 $9::text[], $10::int[], $11::text[], $12::bytea[], $13::bytea[]) AS t(s, a, c, j, p, ac, r, u, f, st, rq, ph, h)",
            )
            .await?;
        tx.execute(
            &insert,
            &[
                &seqs,
                &ats,
                &clients,
                &jtis,
                &purposes,
                &actions,
                &routes,
                &uans,
                &fields,
                &statuses,
                &request_ids,
                &prevs,
                &hashes,
            ],
        )
        .await?;
        let move_head = tx
            .prepare_cached("UPDATE audit_head SET seq = $1, hash = $2")
            .await?;
        tx.execute(&move_head, &[&seq, &hash.to_vec()]).await?;
        tx.commit().await?;
        Ok((seq, hash))
    }

    /// Entries naming `uan`, newest first, before `before_seq`.
    pub async fn audit_for_uan(
        &self,
        uan: &str,
        before_seq: i64,
        limit: i64,
    ) -> Result<Vec<StoredEntry>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM audit_log WHERE uans @> ARRAY[$1::text] AND seq < $2 ORDER BY seq DESC LIMIT $3"
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
                &format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"),
                &[&after_seq, &limit],
            )
            .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// The chain's head as the database holds it.
    pub async fn audit_head(&self) -> Result<(i64, Vec<u8>)> {
        let conn = self.conn().await?;
        let row = conn
            .query_one("SELECT seq, hash FROM audit_head", &[])
            .await?;
        Ok((row.get(0), row.get(1)))
    }
}

const COLUMNS: &str = "seq, at, client_id, jti, purpose, action, route, uans, fields, status, request_id, prev_hash, hash";

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
}
