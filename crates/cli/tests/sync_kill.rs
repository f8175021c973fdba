#![cfg(feature = "simulators")]
//! The sync engine with the real binary. It survives `kill -9`: the demo (whose schedule syncs
//! every scheme at start) is served with small pages, killed at several points of its runs and
//! restarted. And three gateway processes on one database share the runs. Either way every scheme
//! record is accounted for exactly once in the end, and each run's counters add up to its scheme's
//! records: no page lost, none committed twice, no record linked twice.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{serve, shramsetu, stop};
use domain::schemes::SchemeId;

const SCHEMES: [SchemeId; 5] = [
    SchemeId::Ncs,
    SchemeId::Sidh,
    SchemeId::Pmsym,
    SchemeId::Pmjay,
    SchemeId::Pmjjby,
];

fn demo(dir: &std::path::Path) -> std::process::Command {
    let mut c = shramsetu(dir);
    c.args(["serve", "--demo"])
        .env("SHRAMSETU_SYNC__PAGE_SIZE", "20")
        // A killed process's run is taken over 3 s after its last sign of life.
        .env("SHRAMSETU_SYNC__LEASE_SECS", "3")
        .env("SHRAMSETU_SYNC__POLL_MS", "100");
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

/// Waits until some run has committed at least `pages` pages since `seen` (a run id and its
/// pages), and answers where it stood.
async fn a_run_under_way(db: &tokio_postgres::Client, at_least: i64) -> (i64, i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let row = db
            .query_opt(
                "SELECT id, pages FROM sync_runs WHERE status = 'running' AND pages >= $1 \
                 ORDER BY id LIMIT 1",
                &[&at_least],
            )
            .await
            .unwrap();
        if let Some(r) = row {
            return (r.get(0), r.get(1));
        }
        assert!(Instant::now() < deadline, "no run got under way");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_run_then_restart_loses_no_record_and_links_none_twice() {
    let dir = std::env::temp_dir().join(format!("shramsetu-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // Killed three times: a few pages into a run, at once after a restart, and further on.
    let mut killed_at = Vec::new();
    for at_least in [3, 0, 8] {
        let mut served = serve(demo(&dir));
        let client = db(&dir).await;
        killed_at.push(a_run_under_way(&client, at_least).await);
        served.child.0.kill().unwrap(); // SIGKILL
        served.child.0.wait().unwrap();
        drop(client);
        // The local cluster is tied to the process that started it: it shuts down after it.
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
    // Restarted for good: the abandoned run is taken over, the queued ones are worked.
    let mut served = serve(demo(&dir));
    let client = db(&dir).await;
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let open: i64 = client
            .query_one(
                "SELECT count(*) FROM sync_runs WHERE status IN ('queued', 'running')",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        let done: i64 = client
            .query_one(
                "SELECT count(DISTINCT scheme) FROM sync_runs WHERE status = 'succeeded'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if open == 0 && done == SCHEMES.len() as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the runs never finished ({open} open)"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    every_record_accounted_for_once(&client).await;
    // At least one kill hit a run mid-way, and a run was taken over from another process.
    assert!(
        killed_at.iter().any(|(_, pages)| *pages > 0),
        "{killed_at:?}"
    );
    eprintln!("killed at (run, pages): {killed_at:?}");

    drop(client);
    let status = stop(&mut served);
    assert!(status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_gateway_processes_share_the_runs_and_commit_each_page_once() {
    let dir = std::env::temp_dir().join(format!("shramsetu-three-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The first starts the cluster, seeds the demo and queues the schedule's runs; the other two
    // attach to its cluster and take runs as they come.
    let mut first = serve(demo(&dir));
    let mut others = vec![serve(demo(&dir)), serve(demo(&dir))];
    let client = db(&dir).await;
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE status IN ('queued', 'running')), \
                   count(DISTINCT scheme) FILTER (WHERE status = 'succeeded') FROM sync_runs",
                &[],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) == 0 && row.get::<_, i64>(1) == SCHEMES.len() as i64 {
            break;
        }
        assert!(Instant::now() < deadline, "the runs never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    every_record_accounted_for_once(&client).await;
    let owners: Vec<String> = client
        .query("SELECT DISTINCT lease_owner FROM sync_runs", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    eprintln!("runs worked by {owners:?}");
    assert!(
        owners.len() >= 2,
        "the processes shared the runs: {owners:?}"
    );
    drop(client);
    for o in &mut others {
        assert!(stop(o).success());
    }
    assert!(stop(&mut first).success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every scheme record is in exactly one place, and each scheme's first run counted each of its
/// records and links once; the scheme's cursor is that run's.
async fn every_record_accounted_for_once(client: &tokio_postgres::Client) {
    for scheme in SCHEMES {
        let s = scheme.as_str();
        let records = simulators::Sim::new(scheme, &simulators::SimConfig::default()).records;
        let refs = |sql: &'static str| {
            let client = &client;
            async move {
                client
                    .query(sql, &[&s])
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<_, String>(0))
                    .collect::<HashSet<String>>()
            }
        };
        let linked = refs("SELECT reference FROM scheme_links WHERE scheme = $1").await;
        let queued = refs("SELECT DISTINCT reference FROM review_items WHERE scheme = $1").await;
        let unregistered =
            refs("SELECT reference FROM unregistered_records WHERE scheme = $1").await;
        let errors = refs(
        "SELECT DISTINCT e.reference FROM sync_record_errors e JOIN sync_runs r ON r.id = e.run_id \
         WHERE r.scheme = $1",
    )
    .await;
        // Each record is in exactly one place.
        assert!(linked.is_disjoint(&unregistered), "{s}");
        assert!(linked.is_disjoint(&queued), "{s}");
        assert!(queued.is_disjoint(&unregistered), "{s}");
        let all = linked.len() + queued.len() + unregistered.len() + errors.len();
        assert_eq!(all as u64, records, "{s}: every record accounted for, once");
        // The first run (the one killed, taken over) counted each record once: its counters add up.
        let run = client
            .query_one(
                "SELECT records, linked, unregistered, status, cursor FROM sync_runs \
             WHERE scheme = $1 ORDER BY id LIMIT 1",
                &[&s],
            )
            .await
            .unwrap();
        assert_eq!(run.get::<_, String>(3), "succeeded", "{s}");
        assert_eq!(
            run.get::<_, i64>(0) as u64,
            records,
            "{s}: records counted once"
        );
        assert_eq!(
            run.get::<_, i64>(1) as usize,
            linked.len(),
            "{s}: links counted once"
        );
        assert_eq!(run.get::<_, i64>(2) as usize, unregistered.len(), "{s}");
        let cursor: Option<String> = client
            .query_one(
                "SELECT cursor FROM scheme_sync_state WHERE scheme = $1",
                &[&s],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            cursor,
            run.get::<_, Option<String>>(4),
            "{s}: the cursor is the run's"
        );
    }
}
