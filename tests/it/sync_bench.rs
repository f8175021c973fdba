//! The sync engine's figures (ignored by default; `bench/sync.sh` runs it in release): each
//! scheme's records pulled raw through its adapter, then synced into a registry of
//! `SYNC_BENCH_WORKERS` (1,000,000) workers, in the same run; the ratio of their times, link
//! precision and recall against the simulators' truth (the population's identities), the share
//! queued for review, and the process's peak memory.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use adapter_core::SchemeId;
use e2e::TestApp;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The simulator's record index behind a scheme's reference.
fn k_of(scheme: SchemeId, reference: &str) -> Option<u64> {
    let digits: String = reference
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let n: u64 = digits.parse().ok()?;
    let offset = match scheme {
        SchemeId::Ncs => 3_100_000_000_000_000,
        SchemeId::Sidh => 500_000,
        SchemeId::Pmsym => 4_000_000_000,
        SchemeId::Pmjjby => 700_000_000,
        _ => 0,
    };
    n.checked_sub(offset)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

#[actix_web::test]
#[ignore = "a benchmark: bench/sync.sh runs it in release"]
async fn sync_benchmark() {
    let workers = env("SYNC_BENCH_WORKERS", 1_000_000);
    let records = env("SYNC_BENCH_RECORDS", 100_000);
    let population = workers * 3 / 2;
    let app = TestApp::spawn_with(|s| {
        s.sync.run_in_serve = false;
        s.schemes.simulator_population = population;
        s.schemes.simulator_records = records;
        // Lifted for the benchmark: the simulators are local and the point is the engine.
        for id in SchemeId::ALL {
            s.schemes.upstream_mut(id).rate_limit_rps = 100_000;
        }
    })
    .await;
    let keys = gateway::keys::Keys::load_or_create(&app.settings.auth.keys_dir).unwrap();
    let started = Instant::now();
    gateway::demo::seed(app.state.store(), &keys, 42, workers)
        .await
        .unwrap();
    eprintln!(
        "seeded {workers} workers in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (db, conn) = tokio_postgres::connect(&app.db_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    actix_web::rt::spawn(conn);
    db.batch_execute("ANALYZE workers").await.unwrap();
    // Each seeded worker's UAN by population index, through the keyed Aadhaar token.
    let by_token: HashMap<String, u64> = (0..workers)
        .map(|n| {
            let t = app
                .state
                .registry
                .token_key
                .token(&gateway::demo::aadhaar(42, n));
            (t.as_str().to_owned(), n)
        })
        .collect();
    let uan_of: HashMap<u64, String> = db
        .query("SELECT uan, aadhaar_token FROM workers", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (by_token[&r.get::<_, String>(1)], r.get::<_, String>(0)))
        .collect();
    drop(by_token);
    let engine = sync::Engine::new(
        app.state.registry.clone(),
        "bench".into(),
        sync::Settings {
            page_size: 500,
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(100),
            every: Default::default(),
        },
    );
    println!(
        "| scheme | records | raw pull, records/s | sync, records/s | sync / pull time | precision | recall | queued for review |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for scheme in [
        SchemeId::Ncs,
        SchemeId::Sidh,
        SchemeId::Pmsym,
        SchemeId::Pmjay,
        SchemeId::Pmjjby,
    ] {
        let adapter = app.state.registry.schemes.get(scheme).unwrap();
        let t = Instant::now();
        let (pulled, _) = adapter_core::pull_all(adapter, 500).await.unwrap();
        let pull_secs = t.elapsed().as_secs_f64();
        engine.request(scheme, false, "bench").await.unwrap();
        let t = Instant::now();
        let run = engine
            .work_once(|_: &sync::Progress| {})
            .await
            .unwrap()
            .unwrap();
        let sync_secs = t.elapsed().as_secs_f64();
        assert_eq!(run.status, "succeeded", "{scheme}: {:?}", run.error);
        let sim = app.simulators().sim(scheme);
        let links = db
            .query(
                "SELECT reference, uan FROM scheme_links WHERE scheme = $1",
                &[&scheme.as_str()],
            )
            .await
            .unwrap();
        let correct = links
            .iter()
            .filter(|l| {
                k_of(scheme, &l.get::<_, String>(0)).and_then(|k| uan_of.get(&sim.person_index(k)))
                    == Some(&l.get::<_, String>(1))
            })
            .count() as f64;
        let registered = (0..sim.records)
            .filter(|k| sim.person_index(*k) < workers)
            .count() as f64;
        let queued: i64 = db
            .query_one(
                "SELECT count(DISTINCT reference) FROM review_items WHERE scheme = $1",
                &[&scheme.as_str()],
            )
            .await
            .unwrap()
            .get(0);
        println!(
            "| {scheme} | {} | {:.0} | {:.0} | {:.2} | {:.4} | {:.4} | {:.2}% |",
            pulled.len(),
            pulled.len() as f64 / pull_secs,
            run.records as f64 / sync_secs,
            sync_secs / pull_secs,
            correct / links.len().max(1) as f64,
            correct / registered.max(1.0),
            100.0 * queued as f64 / run.records.max(1) as f64
        );
    }
    println!(
        "registry {workers} workers, population {population}; peak memory of the test process (gateway, simulators, truth maps): {:.0} MiB",
        peak_rss_mib()
    );
    app.stop().await;
}
