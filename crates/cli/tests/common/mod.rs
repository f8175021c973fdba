//! What the binary's tests share: the command with its state under one directory, a server that
//! is stopped if a test fails half-way, and waiting for it to serve.
#![allow(dead_code)] // Each test binary uses a part of it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_shramsetu");

/// `shramsetu` with its cluster, keys and checkpoints under `dir`, serving on a free loopback port.
pub fn shramsetu(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("DATABASE_URL")
        .env_remove("SHRAMSETU_SCHEMES__SIMULATORS_URL")
        .env("SHRAMSETU_DATABASE__EMBEDDED_DIR", dir.join("pg"))
        .env("SHRAMSETU_AUTH__KEYS_DIR", dir.join("keys"))
        .env(
            "SHRAMSETU_AUDIT__CHECKPOINT_FILE",
            dir.join("audit/checkpoints.jsonl"),
        )
        .env("SHRAMSETU_SERVER__BIND", "127.0.0.1:0");
    c
}

/// A running `serve`: its log lines as they come, and its address once it serves.
pub struct Served {
    pub child: KillOnDrop,
    pub lines: mpsc::Receiver<String>,
    pub addr: String,
    /// The lines logged before it served.
    pub start_log: Vec<String>,
}

/// Spawns `serve` and waits (up to 120 s) for its "gateway serving" line.
pub fn serve(mut command: Command) -> Served {
    let mut child = KillOnDrop(command.stdout(Stdio::piped()).spawn().unwrap());
    let (tx, lines) = mpsc::channel();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut start_log = Vec::new();
    let addr = loop {
        let Ok(line) = lines.recv_timeout(Duration::from_secs(120)) else {
            panic!("serve did not start:\n{}", start_log.join("\n"));
        };
        if line.contains("gateway serving") {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            break v["addr"].as_str().unwrap().to_owned();
        }
        start_log.push(line);
    };
    Served {
        child,
        lines,
        addr,
        start_log,
    }
}

/// SIGTERM, and the exit status once it has drained and stopped its cluster.
pub fn stop(served: &mut Served) -> std::process::ExitStatus {
    assert!(
        Command::new("kill")
            .arg(served.child.0.id().to_string())
            .status()
            .unwrap()
            .success()
    );
    served.child.0.wait().unwrap()
}

/// Stops the gateway if the test fails half-way, so no server (or its database) outlives it.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
