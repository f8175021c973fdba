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
    pub enabled: bool,
}

impl Store {
    /// Adds a client; `false` when the id is taken.
    pub async fn add_client(&self, c: &Client) -> Result<bool> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "INSERT INTO oauth_clients (client_id, secret_hash, scopes, states) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (client_id) DO NOTHING",
                &[&c.client_id, &c.secret_hash, &c.scopes, &c.states],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn client(&self, client_id: &str) -> Result<Option<Client>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "SELECT client_id, secret_hash, scopes, states, disabled_at IS NULL FROM oauth_clients \
                 WHERE client_id = $1",
                &[&client_id],
            )
            .await?;
        Ok(row.map(|r| Client {
            client_id: r.get(0),
            secret_hash: r.get(1),
            scopes: r.get(2),
            states: r.get(3),
            enabled: r.get(4),
        }))
    }
}
