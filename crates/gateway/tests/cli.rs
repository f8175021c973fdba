//! The `shramsetu` binary as an operator uses it: `clients add`, then `serve --demo` with its own
//! PostgreSQL cluster, a token from `/oauth/token`, a call, and a clean stop that stops the cluster.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_shramsetu");

fn shramsetu(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("DATABASE_URL")
        .env("SHRAMSETU_DATABASE__EMBEDDED_DIR", dir.join("pg"))
        .env("SHRAMSETU_AUTH__KEYS_DIR", dir.join("keys"))
        .env(
            "SHRAMSETU_AUDIT__CHECKPOINT_FILE",
            dir.join("audit/checkpoints.jsonl"),
        )
        .env("SHRAMSETU_SERVER__BIND", "127.0.0.1:0");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_adds_a_client_serves_the_demo_and_stops_cleanly() {
    let dir = std::env::temp_dir().join(format!("shramsetu-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let out = shramsetu(&dir)
        .args([
            "clients",
            "add",
            "--id",
            "bihar-portal",
            "--scopes",
            "workers:read",
            "--states",
            "10",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(secret.starts_with("sss_"));
    let again = shramsetu(&dir)
        .args([
            "clients",
            "add",
            "--id",
            "bihar-portal",
            "--scopes",
            "workers:read",
        ])
        .output()
        .unwrap();
    assert!(!again.status.success(), "a client id is added once");
    let bad = shramsetu(&dir)
        .args(["token", "--client-id", "x", "--scopes", "everything"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scope"));

    let mut serve = KillOnDrop(
        shramsetu(&dir)
            .args(["serve", "--demo"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = mpsc::channel();
    let stdout = serve.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("serve did not start");
        assert!(
            !line.contains(&secret),
            "the client secret reached the logs"
        );
        if line.contains("gateway serving") {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            break v["addr"].as_str().unwrap().to_owned();
        }
    };

    let http = reqwest::Client::new();
    let res = http
        .post(format!("http://{addr}/oauth/token"))
        .basic_auth("bihar-portal", Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token: serde_json::Value = res.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap();
    let page: serde_json::Value = http
        .get(format!("http://{addr}/v1/workers?limit=1000"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert!(!items.is_empty(), "the demo registry has Bihar workers");
    assert!(items.iter().all(|w| w["state_code"] == "10"));

    // SIGTERM: the gateway drains, then stops the cluster it started.
    assert!(
        Command::new("kill")
            .arg(serve.0.id().to_string())
            .status()
            .unwrap()
            .success()
    );
    let status = serve.0.wait().unwrap();
    // Everything it logged, including the token request, holds neither the secret nor the token.
    for line in rx.try_iter() {
        assert!(
            !line.contains(&secret) && !line.contains(token),
            "a secret reached the logs"
        );
    }
    assert!(status.success(), "{status}");
    assert!(
        !dir.join("pg/data/postmaster.pid").exists(),
        "the cluster was stopped"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Stops the gateway if the test fails half-way, so no server (or its database) outlives it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
