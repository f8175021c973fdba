//! PostgreSQL storage of the registry: the pool, the migrations, and one module per table family.
//! The store knows SQL and nothing of HTTP; it takes and returns domain types.

pub mod audit;
pub mod batches;
pub mod clients;
pub mod coverage;
pub mod embedded;
pub mod idempotency;
pub mod match_keys;
pub mod reviews;
mod rows;
pub mod schemes;
pub mod sync;
pub mod workers;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

pub use clients::Client;
pub use workers::{FeedItem, ListFilter, NewWorkerRow, RegisterOutcome, UpdateOutcome};

mod migrations {
    refinery::embed_migrations!("migrations");
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached in time: the caller should answer 503 and retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {}", describe(.0))]
    Database(#[from] tokio_postgres::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    /// A stored row no longer parses as a domain value.
    #[error("corrupt row in {table}: {detail}")]
    Corrupt { table: &'static str, detail: String },
    #[error("invalid database URL: {0}")]
    Config(String),
}

impl StoreError {
    /// A statement cut off by `statement_timeout` or a lock wait: an overloaded database, not a
    /// fault (answer 503, try again later).
    pub fn is_overload(&self) -> bool {
        use tokio_postgres::error::SqlState;
        match self {
            StoreError::Database(e) => matches!(
                e.code(),
                Some(c) if *c == SqlState::QUERY_CANCELED || *c == SqlState::LOCK_NOT_AVAILABLE
            ),
            _ => false,
        }
    }

    /// A row refers to one that does not exist (for the audit writer: a field set it remembered).
    pub fn is_missing_reference(&self) -> bool {
        use tokio_postgres::error::SqlState;
        matches!(self, StoreError::Database(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION))
    }

    /// A write refused because another writer got there first (a serialization failure, a
    /// deadlock PostgreSQL broke by ending this transaction, or a duplicate key): worth doing
    /// again on fresh data.
    pub fn is_conflict(&self) -> bool {
        use tokio_postgres::error::SqlState;
        match self {
            StoreError::Database(e) => matches!(
                e.code(),
                Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::UNIQUE_VIOLATION
            ),
            _ => false,
        }
    }
}

/// The server's own message and SQLSTATE where there is one ("db error" alone says nothing).
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => StoreError::Database(e),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// `write` (one whole transaction), done again while it loses to another writer of the same rows
/// (`StoreError::is_conflict`: a deadlock PostgreSQL broke, a serialization failure, a duplicate
/// key), three tries in all. `what` names it in the log.
pub async fn again_on_conflict<T, F, Fut>(what: &str, mut write: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 1;
    loop {
        match write().await {
            Err(e) if e.is_conflict() && attempt < 3 => {
                tracing::warn!(what, attempt, error = %e, "Written again after a conflict.");
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// Pool sizing and timeouts. deadpool has no timeouts of its own: without them a dead database
/// hangs every request instead of failing fast.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_size: usize,
    pub wait_timeout: Duration,
    pub connect_timeout: Duration,
    /// Server-side cap on any statement (and half of it on lock waits).
    pub statement_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 16,
            wait_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(25),
        }
    }
}

/// The registry's storage: a pool of connections to one database.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    config: tokio_postgres::Config,
    options: PoolOptions,
}

impl Store {
    pub fn connect(url: &str, options: &PoolOptions) -> Result<Store> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Config(e.to_string()))?;
        Store::with_config(config, options.clone())
    }

    /// The same database and settings on a pool of its own of `max_size` connections: for a task
    /// that requests wait on while holding connections of the main pool (the audit writer), which
    /// must never wait behind them for one.
    pub fn dedicated(&self, max_size: usize) -> Result<Store> {
        Store::with_config(
            self.config.clone(),
            PoolOptions {
                max_size,
                ..self.options.clone()
            },
        )
    }

    fn with_config(mut config: tokio_postgres::Config, options: PoolOptions) -> Result<Store> {
        config.connect_timeout(options.connect_timeout);
        config.application_name("shramsetu");
        // A vanished database host is noticed within about 45 s (30 s idle, then 3 probes 5 s
        // apart), and no statement or lock wait outlives the request that asked for it.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3)
            .options(format!(
                "-c statement_timeout={} -c lock_timeout={}",
                options.statement_timeout.as_millis(),
                options.statement_timeout.as_millis() / 2
            ));
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                // A checked-out connection is known open (not closed by the server); a query on a
                // connection that died since fails and is answered 503. `Verified` would add a round
                // trip to every request (measured with bench/load.sh: 10.8k instead of 15.0k GET req/s).
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_size)
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Config(e.to_string()))?;
        Ok(Store {
            pool,
            config,
            options,
        })
    }

    /// Applies pending migrations, one process at a time (a session advisory lock).
    pub async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.get().await?;
        conn.execute("SELECT pg_advisory_lock(7271000)", &[])
            .await?;
        // A migration may rewrite a large table: no request-sized statement timeout for it.
        conn.batch_execute("SET statement_timeout = 0").await?;
        let client: &mut tokio_postgres::Client = &mut conn;
        let outcome = migrations::migrations::runner().run_async(client).await;
        conn.batch_execute("RESET statement_timeout").await?;
        conn.execute("SELECT pg_advisory_unlock(7271000)", &[])
            .await?;
        let report = outcome.map_err(|e| StoreError::Migration(e.to_string()))?;
        for m in report.applied_migrations() {
            tracing::info!(version = m.version(), name = m.name(), "Applied migration.");
        }
        Ok(())
    }

    /// True when the database answers and every migration shipped in this binary is applied.
    pub async fn is_ready(&self) -> Result<bool> {
        let conn = self.pool.get().await?;
        let latest = migrations::migrations::runner()
            .get_migrations()
            .iter()
            .map(|m| m.version() as i64)
            .max()
            .unwrap_or(0);
        let row = conn
            .query_opt(
                "SELECT max(version)::bigint FROM refinery_schema_history \
                 WHERE to_regclass('refinery_schema_history') IS NOT NULL",
                &[],
            )
            .await;
        match row {
            Ok(Some(row)) => Ok(row.get::<_, Option<i64>>(0).unwrap_or(0) >= latest),
            Ok(None) => Ok(false),
            // The history table does not exist yet: not migrated.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Pool figures for `/metrics`.
    pub fn pool_status(&self) -> deadpool_postgres::Status {
        self.pool.status()
    }

    pub(crate) async fn conn(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }
}
