//! OAuth2 clients: partner systems that obtain tokens with client credentials.

use crate::{Result, Store};

/// A registered client. The secret is held only as a hash.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub secret_hash: String,
    pub scopes: Vec<String>,
    /// `None`: every state.
    pub states: Option<Vec<String>>,
    /// Purposes the client may name in its tokens; the first is the default.
    pub purposes: Vec<String>,
    /// Requests per second; `None`: the configured default.
    pub rate_limit_rps: Option<i32>,
    pub enabled: bool,
}

impl Store {
    /// Adds a client; `false` when the id is taken.
    pub async fn add_client(&self, c: &Client) -> Result<bool> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "INSERT INTO oauth_clients (client_id, secret_hash, scopes, states, purposes, rate_limit_rps) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id) DO NOTHING",
                &[&c.client_id, &c.secret_hash, &c.scopes, &c.states, &c.purposes, &c.rate_limit_rps],
            )
            .await?;
        Ok(n == 1)
    }

    /// Sets a client's own request rate (`None`: the configured default); `false` when there is
    /// no such client.
    pub async fn set_client_rate(&self, client_id: &str, rps: Option<i32>) -> Result<bool> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "UPDATE oauth_clients SET rate_limit_rps = $2 WHERE client_id = $1",
                &[&client_id, &rps],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn client(&self, client_id: &str) -> Result<Option<Client>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT client_id, secret_hash, scopes, states, purposes, rate_limit_rps, disabled_at IS NULL \
                 FROM oauth_clients WHERE client_id = $1",
            )
            .await?;
        let row = conn.query_opt(&stmt, &[&client_id]).await?;
        Ok(row.map(|r| Client {
            client_id: r.get(0),
            secret_hash: r.get(1),
            scopes: r.get(2),
            states: r.get(3),
            purposes: r.get(4),
            rate_limit_rps: r.get(5),
            enabled: r.get(6),
        }))
    }
}

impl Store {
    /// Records `fingerprint` for key `name` the first time; afterwards, tells whether it still matches.
    pub async fn key_matches(&self, name: &str, fingerprint: &str) -> Result<bool> {
        let conn = self.conn().await?;
        conn.execute(
            "INSERT INTO key_checks (name, fingerprint) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &fingerprint],
        )
        .await?;
        let row = conn
            .query_one(
                "SELECT fingerprint FROM key_checks WHERE name = $1",
                &[&name],
            )
            .await?;
        Ok(row.get::<_, String>(0) == fingerprint)
    }
}
