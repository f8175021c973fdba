//! A PostgreSQL cluster of our own, run from the installed server binaries, for `shramsetu serve`
//! when no `DATABASE_URL` is given and for the end-to-end tests.
//!
//! The cluster listens on a Unix socket only (no TCP port to collide with or expose). `postgres` runs
//! as our child through util-linux `setpriv --pdeathsig INT`, so it shuts down fast even when we are
//! killed with SIGKILL; as root, `initdb` and `postgres` run as the `postgres` user, since PostgreSQL
//! refuses to run as root.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How the cluster treats durability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync on: acknowledged writes survive a crash. For `serve`.
    Durable,
    /// fsync off: fast and disposable. Only for tests.
    Throwaway,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries (initdb, postgres) were not found. Install Debian's `postgresql` \
         package (apt-get install -y postgresql), set SHRAMSETU_PG_BIN to their directory, or set \
         DATABASE_URL to use an existing server"
    )]
    BinariesMissing,
    #[error(
        "the `postgres` user cannot write to {0} (is a parent directory closed to other users, like \
         /root?). Set SHRAMSETU_DATABASE__EMBEDDED_DIR to a directory it can reach, e.g. /var/tmp/shramsetu/pg"
    )]
    Unreachable(PathBuf),
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("PostgreSQL did not become ready within {0:?}; see {1}")]
    NotReady(Duration, PathBuf),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A running cluster. Dropping it stops the server if we started it.
pub struct LocalCluster {
    data_dir: PathBuf,
    socket_dir: PathBuf,
    bin_dir: PathBuf,
    child: Option<Child>,
}

const PORT: u16 = 5432;
const SUPERUSER: &str = "postgres";

impl LocalCluster {
    /// Starts the cluster under `base` (initialising it on first use), or attaches to it when another
    /// process of ours already runs it.
    /// `bin_dir`: where `initdb` and `postgres` are (`database.pg_bin`); `None` looks for them.
    pub fn start(
        base: &Path,
        durability: Durability,
        bin_dir: Option<&Path>,
    ) -> Result<Self, ClusterError> {
        let bin_dir = find_bin_dir(bin_dir).ok_or(ClusterError::BinariesMissing)?;
        let base = absolute(base)?;
        let data_dir = base.join("data");
        let socket_dir = base.join("run");
        mkdir(&base)?;
        mkdir(&socket_dir)?;
        // Only the owner (and root) may reach the socket: the cluster trusts local connections.
        for dir in [&base, &socket_dir] {
            std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .map_err(|source| ClusterError::Io {
                    path: dir.clone(),
                    source,
                })?;
        }
        let as_postgres = running_as_root();
        if as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(&base)
                .arg(&socket_dir))?;
            let reachable = server_command(Path::new("test"), true, false)
                .arg("-w")
                .arg(&base)
                .status()
                .is_ok_and(|s| s.success());
            if !reachable {
                return Err(ClusterError::Unreachable(base));
            }
        }
        if !data_dir.join("PG_VERSION").exists() {
            let mut initdb = server_command(&bin_dir.join("initdb"), as_postgres, false);
            initdb.arg("-D").arg(&data_dir).args([
                "-A",
                "trust",
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]);
            if durability == Durability::Throwaway {
                initdb.arg("--no-sync");
            }
            run(&mut initdb)?;
        }
        let mut cluster = LocalCluster {
            data_dir,
            socket_dir,
            bin_dir,
            child: None,
        };
        if cluster.is_ready() {
            tracing::info!(data_dir = %cluster.data_dir.display(), "Attached to the running local PostgreSQL cluster.");
            return Ok(cluster);
        }
        let log_path = base.join("postgres.log");
        let log = std::fs::File::create(&log_path).map_err(|source| ClusterError::Io {
            path: log_path.clone(),
            source,
        })?;
        let log_err = log.try_clone().map_err(|source| ClusterError::Io {
            path: log_path.clone(),
            source,
        })?;
        let mut postgres = server_command(&cluster.bin_dir.join("postgres"), as_postgres, true);
        postgres
            .arg("-D")
            .arg(&cluster.data_dir)
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                cluster.socket_dir.display()
            ))
            .args(["-c", "listen_addresses=", "-c", &format!("port={PORT}")])
            .args(["-c", "unix_socket_permissions=0700"])
            .args(["-c", "max_connections=200"])
            // Every audited read appends a row and touches the audit log's index by UAN at a
            // random page: compressed full-page images and checkpoints further apart keep the WAL
            // small.
            .args([
                "-c",
                "wal_compression=lz4",
                "-c",
                "checkpoint_timeout=15min",
            ])
            .args(["-c", "max_wal_size=4GB"]);
        // Tests run several throwaway clusters at once; a served registry gets a real cache.
        postgres.args([
            "-c",
            match durability {
                Durability::Throwaway => "shared_buffers=128MB",
                Durability::Durable => "shared_buffers=1GB",
            },
        ]);
        if durability == Durability::Throwaway {
            postgres.args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]);
        }
        postgres.stdin(Stdio::null()).stdout(log).stderr(log_err);
        let child = postgres.spawn().map_err(|e| ClusterError::Command {
            command: "postgres".into(),
            detail: e.to_string(),
        })?;
        cluster.child = Some(child);
        let wait = Duration::from_secs(60);
        let deadline = Instant::now() + wait;
        while !cluster.is_ready() {
            if Instant::now() > deadline || cluster.exited() {
                return Err(ClusterError::NotReady(wait, log_path));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        tracing::info!(data_dir = %cluster.data_dir.display(), "Started the local PostgreSQL cluster.");
        Ok(cluster)
    }

    /// A libpq-style URL for `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgresql://{SUPERUSER}@localhost:{PORT}/{database}?host={}",
            self.socket_dir.display()
        )
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// Creates `database` when it does not exist yet (optionally as a copy of `template`).
    pub fn ensure_database(
        &self,
        database: &str,
        template: Option<&str>,
    ) -> Result<(), ClusterError> {
        let exists = self.psql(&format!(
            "SELECT 1 FROM pg_database WHERE datname = '{database}'"
        ))?;
        if exists.trim() != "1" {
            let template = template
                .map(|t| format!(" TEMPLATE \"{t}\""))
                .unwrap_or_default();
            self.psql(&format!("CREATE DATABASE \"{database}\"{template}"))?;
        }
        Ok(())
    }

    fn psql(&self, sql: &str) -> Result<String, ClusterError> {
        let out = Command::new(self.bin_dir.join("psql"))
            .args([
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
            ])
            .arg("-h")
            .arg(&self.socket_dir)
            .args(["-p", &PORT.to_string(), "-c", sql])
            .output();
        let out = out.map_err(|e| ClusterError::Command {
            command: "psql".into(),
            detail: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(ClusterError::Command {
                command: "psql".into(),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn is_ready(&self) -> bool {
        Command::new(self.bin_dir.join("pg_isready"))
            .arg("-q")
            .arg("-h")
            .arg(&self.socket_dir)
            .args(["-p", &PORT.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))))
    }

    /// Fast shutdown (disconnects clients, checkpoints) when we started the server; a no-op when we
    /// attached to one another process runs.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let status = server_command(&self.bin_dir.join("pg_ctl"), running_as_root(), false)
            .arg("stop")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast", "-w"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !status.is_ok_and(|s| s.success()) {
            let _ = child.kill();
        }
        let _ = child.wait();
        tracing::info!("Stopped the local PostgreSQL cluster.");
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `initdb`/`pg_ctl` refuse root; as root we drop to `postgres`. `tie_to_parent` makes the kernel
/// send SIGINT (fast shutdown) to the server when the thread that started it ends.
fn server_command(program: &Path, as_postgres: bool, tie_to_parent: bool) -> Command {
    let mut cmd = Command::new("setpriv");
    if as_postgres {
        cmd.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]);
    }
    if tie_to_parent {
        cmd.args(["--pdeathsig", "INT"]);
    }
    cmd.arg("--").arg(program);
    cmd
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `configured`, else the newest `/usr/lib/postgresql/<major>/bin`, else `initdb` on `PATH`.
fn find_bin_dir(configured: Option<&Path>) -> Option<PathBuf> {
    let has_server = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = configured {
        return has_server(d).then(|| d.to_owned());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, d)| has_server(d))
        .collect();
    versions.sort();
    if let Some((_, d)) = versions.pop() {
        return Some(d);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|d| has_server(d))
}

fn absolute(p: &Path) -> Result<PathBuf, ClusterError> {
    std::path::absolute(p).map_err(|source| ClusterError::Io {
        path: p.to_owned(),
        source,
    })
}

fn mkdir(p: &Path) -> Result<(), ClusterError> {
    std::fs::create_dir_all(p).map_err(|source| ClusterError::Io {
        path: p.to_owned(),
        source,
    })
}

fn run(cmd: &mut Command) -> Result<(), ClusterError> {
    let out = cmd.output().map_err(|e| ClusterError::Command {
        command: format!("{cmd:?}"),
        detail: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ClusterError::Command {
            command: format!("{cmd:?}"),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}
