#![cfg(feature = "simulators")]
//! A state's batch with the real binary: `shramsetu import` pushes a roll to `shramsetu serve`,
//! the gateway is killed (`kill -9`) at several points while the rows are applied and restarted,
//! and `import` run again on the same file resumes the same batch. In the end every row is
//! applied exactly once: one worker per registered row, the counts add up to the rows.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{BIN, serve, shramsetu, stop};

const ROWS: u64 = 600;

fn gateway(dir: &std::path::Path) -> Command {
    let mut c = shramsetu(dir);
    c.arg("serve")
        .env("SHRAMSETU_BATCHES__CHUNK_ROWS", "50")
        .env("SHRAMSETU_BATCHES__GROUP_ROWS", "10")
        // A killed process's chunk is taken over 3 s after its last sign of life.
        .env("SHRAMSETU_BATCHES__LEASE_SECS", "3")
        .env("SHRAMSETU_BATCHES__POLL_MS", "100");
    c
}

async fn db(dir: &std::path::Path) -> tokio_postgres::Client {
    let url = format!(
        "postgresql://postgres@localhost:5432/shramsetu?host={}",
        dir.join("pg/run").display()
    );
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

/// A roll of `ROWS` people of Bihar, every tenth with a date of birth in the future.
fn roll(path: &std::path::Path) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record([
        "name",
        "gender",
        "date_of_birth",
        "mobile",
        "aadhaar",
        "state_code",
        "district_code",
        "pincode",
        "relative_name",
        "social_category",
        "occupation_nco",
        "monthly_income_inr",
        "declarations.epfo_member",
        "declarations.esic_member",
        "declarations.nps_member",
        "declarations.income_tax_payer",
    ])
    .unwrap();
    for n in 0..ROWS {
        let aadhaar = gateway::demo::aadhaar(11, n).expose_digits().to_owned();
        let dob = if n % 10 == 9 {
            "01-01-2040"
        } else {
            "12-04-1991"
        };
        w.write_record([
            "Sunita Devi",
            "female",
            dob,
            "9876543210",
            &aadhaar,
            "10",
            "230",
            "800001",
            "Ram Lal",
            "obc",
            "9313.0100",
            "9000",
            "no",
            "no",
            "no",
            "no",
        ])
        .unwrap();
    }
    w.flush().unwrap();
}

fn import(
    dir: &std::path::Path,
    file: &std::path::Path,
    addr: &str,
    token: &str,
) -> std::process::Child {
    Command::new(BIN)
        .env("SHRAMSETU_AUTH__KEYS_DIR", dir.join("keys"))
        .args(["import"])
        .arg(file)
        .args([
            "--state",
            "10",
            "--server",
            &format!("http://{addr}"),
            "--token",
            token,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

async fn registered(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT COALESCE(sum(registered), 0)::bigint FROM batches",
            &[],
        )
        .await
        .map(|r| r.get(0))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_a_batch_is_applied_then_resume_applies_every_row_once() {
    let dir = std::env::temp_dir().join(format!("shramsetu-batch-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bihar-roll.csv");
    roll(&file);

    let mut killed_at = vec![];
    let mut token = String::new();
    for at_least in [30, 150, 330] {
        let mut served = serve(gateway(&dir));
        if token.is_empty() {
            let out = shramsetu(&dir)
                .args([
                    "token",
                    "--client-id",
                    "bihar-cell",
                    "--scopes",
                    "batches:write",
                    "--states",
                    "10",
                ])
                .output()
                .unwrap();
            assert!(out.status.success());
            token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        }
        let mut pushing = import(&dir, &file, &served.addr, &token);
        let client = db(&dir).await;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let n = registered(&client).await;
            if n >= at_least {
                killed_at.push(n);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the batch did not get under way ({n} rows)"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        served.child.0.kill().unwrap(); // SIGKILL
        served.child.0.wait().unwrap();
        let _ = pushing.kill();
        let _ = pushing.wait();
        drop(client);
        let pid = dir.join("pg/data/postmaster.pid");
        let deadline = Instant::now() + Duration::from_secs(60);
        while pid.exists() {
            assert!(
                Instant::now() < deadline,
                "the cluster outlived its gateway"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Restarted for good; the same file again is the same batch, waited for to its end.
    let mut served = serve(gateway(&dir));
    let out = import(&dir, &file, &served.addr, &token)
        .wait_with_output()
        .unwrap();
    assert!(out.status.success());
    let summary = String::from_utf8(out.stdout).unwrap();
    assert!(
        summary.contains("finished: 600 rows, 540 registered"),
        "{summary}"
    );
    let report = std::fs::read_to_string(dir.join("bihar-roll.csv.errors.csv")).unwrap();
    assert_eq!(report.lines().count(), 1 + 60, "{report}");

    let client = db(&dir).await;
    let one = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(
        one("SELECT count(*) FROM batches").await,
        1,
        "a re-run is the same batch"
    );
    assert_eq!(one("SELECT count(*) FROM workers").await, 540);
    assert_eq!(
        one("SELECT count(DISTINCT uan) FROM batch_rows WHERE outcome = 'registered'").await,
        540
    );
    assert_eq!(
        one("SELECT count(*) FROM batch_rows WHERE outcome IS NULL").await,
        0
    );
    assert_eq!(
        one("SELECT (registered + refused + skipped + updated + queued + cancelled - rows_received) FROM batches").await,
        0
    );
    eprintln!("killed with (rows registered): {killed_at:?}");
    drop(client);
    let status = stop(&mut served);
    assert!(status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
