//! The end-to-end test harness: a real PostgreSQL cluster per test process (from the installed
//! binaries, fsync off), a fresh database per test cloned from a migrated template, and the real
//! gateway on a loopback port with its own keys, called over real HTTP.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use actix_web::web::Data;
use gateway::config::Settings;
use gateway::state::AppState;
use store::embedded::{Durability, LocalCluster};

const TEMPLATE: &str = "e2e_template";

struct Cluster {
    /// URL with `{db}` where the database name goes.
    url_pattern: String,
    create_lock: Mutex<u64>,
    socket_dir: PathBuf,
    bin_dir: PathBuf,
}

/// Starts (once per process) the cluster and the migrated template database. The cluster is owned
/// by a thread that never ends, so the server lives exactly as long as this process.
fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let started = (|| -> anyhow::Result<LocalCluster> {
                let base = test_cluster_dir();
                let cluster = LocalCluster::start(
                    &base,
                    Durability::Throwaway,
                    std::env::var_os("SHRAMSETU_PG_BIN")
                        .map(PathBuf::from)
                        .as_deref(),
                )?;
                cluster.ensure_database(TEMPLATE, None)?;
                let url = cluster.url(TEMPLATE);
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(async {
                        let store = store::Store::connect(&url, &store::PoolOptions::default())?;
                        store.migrate().await?;
                        anyhow::Ok(())
                    })?;
                Ok(cluster)
            })();
            match started {
                Ok(cluster) => {
                    let _ = tx.send(Ok((
                        cluster.url("{db}"),
                        cluster.socket_dir().to_owned(),
                        cluster.bin_dir().to_owned(),
                    )));
                    // Keep the cluster (and the thread that started it) alive until the process exits.
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(format!("{e:#}")));
                }
            }
        });
        let (url_pattern, socket_dir, bin_dir) = rx
            .recv()
            .expect("cluster thread")
            .unwrap_or_else(|e| panic!("could not start the test PostgreSQL cluster: {e}"));
        Cluster {
            url_pattern,
            create_lock: Mutex::new(0),
            socket_dir,
            bin_dir,
        }
    })
}

/// Under the system temporary directory, which the `postgres` user can reach when we run as root.
fn test_cluster_dir() -> PathBuf {
    let root = std::env::temp_dir().join("shramsetu-e2e");
    // Clusters of test processes that have ended are removed.
    if let Ok(entries) = std::fs::read_dir(&root) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("pg-")
                && !PathBuf::from(format!("/proc/{pid}")).exists()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    root.join(format!("pg-{}", std::process::id()))
}

/// A fresh database cloned from the migrated template.
pub fn fresh_database() -> String {
    let c = cluster();
    let name = {
        let mut n = c.create_lock.lock().unwrap_or_else(|e| e.into_inner());
        *n += 1;
        let name = format!("t{}_{}", std::process::id(), *n);
        let out = std::process::Command::new(c.bin_dir.join("psql"))
            .args([
                "-X",
                "-q",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
            ])
            .arg("-h")
            .arg(&c.socket_dir)
            .args([
                "-c",
                &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{TEMPLATE}\""),
            ])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        name
    };
    c.url_pattern.replace("{db}", &name)
}

/// Everything the gateway logs in this process, as the JSON lines it writes in production.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A running gateway on its own database.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub state: Data<AppState>,
    pub settings: Settings,
    pub db_url: String,
    /// The in-process scheme simulators the gateway's adapters talk to (none when a test turned
    /// `schemes.allow_local_simulators` off).
    sims: Option<simulators::Running>,
    server: actix_web::dev::ServerHandle,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with settings adjusted by `tweak` (limits, timeouts, …).
    pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
        Self::spawn_with_clock(tweak, Arc::new(gateway::clock::SystemClock)).await
    }

    /// Spawns with dated rules evaluated at `now` instead of the system clock's time.
    pub async fn spawn_at(now: chrono::DateTime<chrono::Utc>) -> TestApp {
        Self::spawn_with_clock(|_| {}, Arc::new(gateway::clock::FixedClock(now))).await
    }

    async fn spawn_with_clock(
        tweak: impl FnOnce(&mut Settings),
        clock: Arc<dyn gateway::clock::Clock>,
    ) -> TestApp {
        gateway::telemetry::init_logging_at("info", "json", || Capture);
        let mut settings = Settings::defaults();
        let dir = std::env::temp_dir().join(format!("shramsetu-e2e-{}", uuid::Uuid::new_v4()));
        settings.auth.keys_dir = dir.join("keys");
        settings.audit.checkpoint_file = dir.join("audit/checkpoints.jsonl");
        settings.server.workers = 2;
        // No background health checks unless a test asks: they would call the schemes (and count
        // towards their circuits) at times a slow test cannot foresee.
        settings.schemes.health_check_secs = 0;
        // The simulators stand in for every scheme, as with `serve --demo`.
        settings.schemes.allow_local_simulators = true;
        tweak(&mut settings);
        let db_url = fresh_database();
        let store = gateway::runtime::open_store(&settings, &db_url)
            .await
            .expect("store");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let running = gateway::runtime::start_with_clock(&settings, store, listener, clock)
            .await
            .expect("start");
        let server = running.server.handle();
        actix_web::rt::spawn(running.server);
        TestApp {
            base: format!("http://{}", running.addr),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            state: running.state,
            settings,
            db_url,
            sims: running.simulators,
            server,
        }
    }

    /// The simulators standing in for the schemes.
    pub fn simulators(&self) -> &simulators::Running {
        self.sims
            .as_ref()
            .expect("this test runs without simulators (schemes.allow_local_simulators off)")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A token signed by this gateway's key, as `shramsetu token` makes them.
    pub fn token(&self, client_id: &str, scopes: &str, states: Option<&[&str]>) -> String {
        self.token_for(client_id, scopes, states, "operations")
    }

    /// A token for one purpose.
    pub fn token_for(
        &self,
        client_id: &str,
        scopes: &str,
        states: Option<&[&str]>,
        purpose: &str,
    ) -> String {
        let scopes: Vec<String> = scopes.split_whitespace().map(str::to_owned).collect();
        let states: Option<Vec<String>> = states.map(|s| s.iter().map(|x| x.to_string()).collect());
        let now = jsonwebtoken::get_current_timestamp();
        self.state
            .tokens
            .issue(client_id, &scopes, states.as_deref(), purpose, 300, now)
            .expect("token")
    }

    /// `GET path` with `token`, read as JSON (whatever the status).
    pub async fn get_json(&self, path: &str, token: &str) -> serde_json::Value {
        let res = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await;
        res.expect(path).json().await.expect("a JSON body")
    }

    /// `POST path` with `token` and no body.
    pub async fn post_empty(&self, path: &str, token: &str) -> reqwest::Response {
        let res = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .send()
            .await;
        res.expect(path)
    }

    /// The Prometheus text at `/metrics`.
    pub async fn metrics(&self) -> String {
        let res = self.http.get(self.url("/metrics")).send().await;
        res.expect("/metrics").text().await.expect("metrics text")
    }

    /// A token with every worker scope and no state limit.
    pub fn admin_token(&self) -> String {
        self.token("ops", "workers:read workers:write", None)
    }

    /// A connection of its own to the gateway's database (to look at tables, or to hold a
    /// transaction open beside the gateway's).
    pub async fn db(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.db_url, tokio_postgres::NoTls)
            .await
            .expect("the test database");
        actix_web::rt::spawn(conn);
        client
    }

    pub async fn stop(self) {
        self.server.stop(true).await;
        if let Some(sims) = &self.sims {
            sims.handle.stop(false).await;
        }
    }
}

/// A valid registration body for the synthetic person `n` (unique Aadhaar per `n`).
pub fn registration(n: u64, state_code: &str) -> serde_json::Value {
    let a = gateway::demo::aadhaar(7, n);
    serde_json::json!({
        "name": "Mohd. Irfan", "gender": "male", "date_of_birth": "1991-04-12",
        "mobile": "+91 98765 43210", "aadhaar": a.expose_digits(), "state_code": state_code,
        "district_code": "164", "pincode": "226001", "relative_name": "Abdul Rashid",
        "social_category": "obc", "occupation_nco": "9313.0100", "monthly_income_inr": 9000,
        "declarations": {"epfo_member": false, "esic_member": false, "nps_member": false, "income_tax_payer": false},
        "address": {"line1": "House 12, Aminabad", "locality": "Lucknow"},
        "bank_account": {"account_number": "30412345678", "ifsc": "SBIN0001234"},
        "nominee": {"name": "Shabana", "relation": "spouse"}
    })
}
