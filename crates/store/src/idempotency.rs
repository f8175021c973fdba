//! Idempotency keys: the first request with a key claims it inside its own transaction; a retry
//! with the same key and body gets the stored answer, with another body a refusal. Keys are scoped
//! per client, so one client never sees another's answer.

use deadpool_postgres::Transaction;
use serde_json::Value;

use crate::Result;

/// A client's key for one route, with a digest of the request it came with. Both are keyed
/// digests (HMAC with the token key), never plain hashes: clients choose keys, some would choose an
/// Aadhaar number, and a request may carry one; an unkeyed hash could be searched.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub client_id: String,
    pub key: String,
    pub route: String,
    pub request_hash: String,
}

pub(crate) enum Claim {
    Fresh,
    Replay { status: u16, response: Value },
    Mismatch,
    InFlight,
}

/// Inserts the key in the caller's transaction. A concurrent request with the same key blocks on
/// the primary key until this transaction ends, then reads the stored answer (or claims the key
/// afresh if this one rolled back).
pub(crate) async fn claim(tx: &Transaction<'_>, key: &IdempotencyKey) -> Result<Claim> {
    // A request whose twin is still running answers at once (409) instead of holding a pool
    // connection while it waits on the twin's row lock.
    let lock = tx
        .prepare_cached(
            "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || ':' || $2, 7271002))",
        )
        .await?;
    let locked: bool = tx
        .query_one(&lock, &[&key.client_id, &key.key])
        .await?
        .get(0);
    if !locked {
        return Ok(Claim::InFlight);
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO idempotency_keys (client_id, key, route, request_hash) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (client_id, key) DO NOTHING",
        )
        .await?;
    let inserted = tx
        .execute(
            &stmt,
            &[&key.client_id, &key.key, &key.route, &key.request_hash],
        )
        .await?;
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    existing(&**tx, key).await
}

/// What a key already claimed holds for this request: the stored answer, a refusal when it came
/// with another request, or "still running" when it has no answer yet.
pub(crate) async fn existing(
    client: &impl tokio_postgres::GenericClient,
    key: &IdempotencyKey,
) -> Result<Claim> {
    let row = client
        .query_one(
            "SELECT route, request_hash, status_code, response FROM idempotency_keys \
             WHERE client_id = $1 AND key = $2",
            &[&key.client_id, &key.key],
        )
        .await?;
    let (route, hash): (String, String) = (row.get(0), row.get(1));
    if route != key.route || hash != key.request_hash {
        return Ok(Claim::Mismatch);
    }
    match (row.get::<_, Option<i32>>(2), row.get::<_, Option<Value>>(3)) {
        (Some(status), Some(response)) => Ok(Claim::Replay {
            status: status as u16,
            response,
        }),
        _ => Ok(Claim::InFlight),
    }
}

pub(crate) async fn complete(
    tx: &Transaction<'_>,
    key: &IdempotencyKey,
    status: u16,
    response: &Value,
) -> Result<()> {
    let stmt = tx
        .prepare_cached("UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE client_id = $1 AND key = $2")
        .await?;
    tx.execute(
        &stmt,
        &[&key.client_id, &key.key, &(status as i32), response],
    )
    .await?;
    Ok(())
}
