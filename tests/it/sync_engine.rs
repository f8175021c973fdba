//! The sync engine end to end: a scheme's feed pulled from its simulator over HTTP, every record
//! matched against a real registry, linked, queued or kept as unregistered, page by page in
//! PostgreSQL; links checked against the simulators' ground truth (the population's identities);
//! runs shared between engines; the HTTP routes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use adapter_core::SchemeId;
use e2e::TestApp;
use gateway::config::IndexKind;
use serde_json::Value;

/// Workers seeded into the registry: people 0..REGISTERED of the population the simulators share.
const REGISTERED: u64 = 1_000;
const SEED: u64 = 42;

async fn seeded(tweak: impl FnOnce(&mut gateway::config::Settings)) -> TestApp {
    let app = TestApp::spawn_with(|s| {
        // The tests below work the runs themselves, unless they ask the gateway to.
        s.sync.run_in_serve = false;
        tweak(s);
    })
    .await;
    let keys = gateway::keys::Keys::load_or_create(&app.settings.auth.keys_dir).unwrap();
    let n = gateway::demo::seed(app.state.store(), &keys, SEED, REGISTERED)
        .await
        .unwrap();
    assert_eq!(n, REGISTERED);
    app
}

fn engine(app: &TestApp, owner: &str, page_size: usize) -> sync::Engine {
    sync::Engine::new(
        app.state.registry.clone(),
        owner.to_owned(),
        sync::Settings {
            page_size,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(50),
            every: Default::default(),
        },
    )
}

/// Each seeded worker's UAN by population index, found through the keyed Aadhaar token.
async fn uan_by_person(app: &TestApp) -> HashMap<u64, String> {
    let by_token: HashMap<String, u64> = (0..REGISTERED)
        .map(|n| {
            let token = app
                .state
                .registry
                .token_key
                .token(&gateway::demo::aadhaar(SEED, n));
            (token.as_str().to_owned(), n)
        })
        .collect();
    let db = app.db().await;
    let rows = db
        .query("SELECT uan, aadhaar_token FROM workers", &[])
        .await
        .unwrap();
    rows.iter()
        .map(|r| (by_token[&r.get::<_, String>(1)], r.get::<_, String>(0)))
        .collect()
}

/// Link quality against the truth: (precision, recall, links, registered records).
async fn quality(app: &TestApp, scheme: SchemeId, k_of: fn(&str) -> u64) -> (f64, f64, u64, u64) {
    let sim = app.simulators().sim(scheme);
    let uans = uan_by_person(app).await;
    let db = app.db().await;
    let links = db
        .query(
            "SELECT reference, uan FROM scheme_links WHERE scheme = $1 AND source = 'sync'",
            &[&scheme.as_str()],
        )
        .await
        .unwrap();
    let correct = links
        .iter()
        .filter(|l| {
            let k = k_of(&l.get::<_, String>(0));
            uans.get(&sim.person_index(k)) == Some(&l.get::<_, String>(1))
        })
        .count() as u64;
    let registered = (0..sim.records)
        .filter(|k| sim.person_index(*k) < REGISTERED)
        .count() as u64;
    let links = links.len() as u64;
    (
        correct as f64 / links.max(1) as f64,
        correct as f64 / registered.max(1) as f64,
        links,
        registered,
    )
}

/// The PM-JAY entry of a worker's one-stop view.
async fn pmjay_view(app: &TestApp, uan: &str, token: &str) -> Value {
    let view = app
        .get_json(&format!("/v1/workers/{uan}/schemes"), token)
        .await;
    let schemes = view["schemes"].as_array().expect("the schemes");
    schemes
        .iter()
        .find(|s| s["scheme"] == "pmjay")
        .expect("a PM-JAY entry")
        .clone()
}

fn pmjay_k(reference: &str) -> u64 {
    reference
        .strip_prefix("PMJAY-M")
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("not a PM-JAY member id: {reference}"))
}

/// Distinct records queued for review, and rows kept as unregistered, of a scheme.
async fn queued_and_unregistered(app: &TestApp, scheme: SchemeId) -> (i64, i64) {
    let db = app.db().await;
    let q: i64 = db
        .query_one(
            "SELECT count(DISTINCT reference) FROM review_items WHERE scheme = $1",
            &[&scheme.as_str()],
        )
        .await
        .unwrap()
        .get(0);
    let u: i64 = db
        .query_one(
            "SELECT count(*) FROM unregistered_records WHERE scheme = $1",
            &[&scheme.as_str()],
        )
        .await
        .unwrap()
        .get(0);
    (q, u)
}

/// Pages are matched while the page before commits: a record that page links counts as linked,
/// so its return in the next page (here with no person and a new status) updates that link
/// instead of being dropped or matched again.
#[actix_web::test]
async fn a_record_the_page_before_links_is_updated_by_the_next_page_not_lost() {
    let app = seeded(|_| {}).await;
    let db = app.db().await;
    let uan: String = db
        .query_one("SELECT uan FROM workers ORDER BY uan LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    let previous = vec![store::sync::NewLink {
        reference: "PMJAY-R1".into(),
        uan: uan.clone(),
        status: "active".into(),
        details: serde_json::json!({}),
        score: 0.99,
        explanation: serde_json::json!([]),
    }];
    let record = adapter_core::SchemeRecord {
        scheme: SchemeId::Pmjay,
        reference: "PMJAY-R1".into(),
        status: "exited".into(),
        person: None,
        facts: serde_json::Map::new(),
        updated_at: None,
    };
    let today = app.state.registry.today();
    let out = sync::page::outcome(
        &app.state.registry,
        std::slice::from_ref(&record),
        "c".into(),
        today,
        &previous,
    )
    .await
    .unwrap();
    assert_eq!(out.links.len(), 1, "{:?}", out.links);
    assert_eq!(out.links[0].uan, uan);
    assert_eq!(out.links[0].status, "exited");
    // Without the page before, a record with no person is nobody's link.
    let alone = sync::page::outcome(&app.state.registry, &[record], "c".into(), today, &[])
        .await
        .unwrap();
    assert!(alone.links.is_empty());
    app.stop().await;
}

/// A sync with the candidates looked up in memory comes to the same links, reviews and
/// unregistered records as one through the database's index (workers named by who they are: each
/// registry issues its own UANs).
#[actix_web::test]
async fn a_sync_through_the_index_in_memory_comes_to_what_one_through_the_database_does() {
    type Seen = (
        std::collections::BTreeSet<(String, String)>,
        std::collections::BTreeSet<(String, String)>,
        std::collections::BTreeSet<String>,
    );
    let mut seen: Vec<Seen> = vec![];
    for index in [IndexKind::Database, IndexKind::Memory] {
        let app = seeded(|s| s.matching.index = index).await;
        if let Some(i) = app.state.registry.matcher.index.clone() {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while !i.is_ready() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the index never loaded"
                );
                actix_web::rt::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let engine = engine(&app, "engine", 100);
        engine
            .request(SchemeId::Pmsym, false, "test")
            .await
            .unwrap();
        let run = engine.work_once(|_| {}).await.unwrap().expect("the run");
        assert_eq!(run.status, "succeeded", "{index:?}: {:?}", run.error);
        let db = app.db().await;
        let pairs = |sql: &str| {
            let db = &db;
            let sql = sql.to_owned();
            async move {
                db.query(&sql, &[])
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
                    .collect::<std::collections::BTreeSet<_>>()
            }
        };
        let who = "w.name || ' ' || w.date_of_birth || ' ' || w.mobile";
        let links = pairs(&format!(
            "SELECT l.reference, {who} FROM scheme_links l JOIN workers w USING (uan) \
             WHERE l.scheme = 'pmsym'"
        ))
        .await;
        let reviews = pairs(&format!(
            "SELECT i.reference, {who} FROM review_items i JOIN workers w USING (uan) \
             WHERE i.scheme = 'pmsym'"
        ))
        .await;
        let unregistered =
            pairs("SELECT reference, status FROM unregistered_records WHERE scheme = 'pmsym'")
                .await
                .into_iter()
                .map(|(r, _)| r)
                .collect();
        assert!(links.len() > 50, "{index:?}: {} links", links.len());
        seen.push((links, reviews, unregistered));
        app.stop().await;
    }
    assert!(seen[0] == seen[1], "links, reviews or unregistered differ");
}

#[actix_web::test]
async fn a_sync_links_a_schemes_people_to_their_workers_once_and_accounts_for_every_record() {
    let app = seeded(|_| {}).await;
    let scheme = SchemeId::Pmjay;
    let records = app.simulators().sim(scheme).records as i64;
    let engine = engine(&app, "engine-a", 100);
    let run = engine.request(scheme, false, "test").await.unwrap();
    assert_eq!(run.status, "queued");
    let pages_seen = std::sync::Mutex::new(Vec::new());
    let run = engine
        .work_once(|p: &sync::Progress| pages_seen.lock().unwrap().push(p.pages))
        .await
        .unwrap()
        .expect("the queued run");
    assert_eq!(run.status, "succeeded", "{:?}", run.error);
    assert_eq!(run.records, records);
    assert_eq!(run.pages, (records + 99) / 100);
    // Progress after each committed page.
    let seen = pages_seen.into_inner().unwrap();
    assert_eq!(seen, (1..=run.pages).collect::<Vec<_>>());

    // Every record is accounted for: linked, queued for review, unregistered, or an error.
    let (queued, unregistered) = queued_and_unregistered(&app, scheme).await;
    assert_eq!(run.unregistered, unregistered);
    assert_eq!(run.linked + queued + unregistered + run.errors, records);

    // The links are the population's true identities.
    let (precision, recall, links, registered) = quality(&app, scheme, pmjay_k).await;
    assert_eq!(links as i64, run.linked);
    eprintln!(
        "pmjay: {records} records, {registered} of them registered; {links} linked, \
         {queued} queued, {unregistered} unregistered: precision {precision:.4}, recall {recall:.4}"
    );
    assert!(precision >= 0.99, "precision {precision}");
    assert!(recall >= 0.90, "recall {recall}");

    // Again, incrementally: nothing new. Then from the start: the same links, none twice.
    engine.request(scheme, false, "test").await.unwrap();
    let again = engine
        .work_once(|_: &sync::Progress| {})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.status, "succeeded");
    assert_eq!(again.linked, 0);
    let full = engine.request(scheme, true, "test").await.unwrap();
    assert!(full.full);
    let full = engine
        .work_once(|_: &sync::Progress| {})
        .await
        .unwrap()
        .unwrap();
    assert_eq!((full.status.as_str(), full.records), ("succeeded", records));
    assert_eq!(full.linked, 0, "a full run links nothing twice");
    assert_eq!(full.queued, 0, "nor queues a pair twice");
    assert_eq!(quality(&app, scheme, pmjay_k).await.2, links);
    assert_eq!(
        queued_and_unregistered(&app, scheme).await,
        (queued, unregistered)
    );

    // The one-stop view shows a synced link; the workers named are on their access logs.
    let db = app.db().await;
    let uan: String = db
        .query_one(
            "SELECT uan FROM scheme_links WHERE scheme = 'pmjay' AND source = 'sync' LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let t = app.token("ops", "schemes:read audit:read", None);
    let pmjay = pmjay_view(&app, &uan, &t).await;
    assert_eq!(pmjay["enrolled"], true, "{pmjay}");
    assert_eq!(pmjay["records"][0]["source"], "sync", "{pmjay}");
    assert!(pmjay["records"][0]["ended_at"].is_null(), "{pmjay}");

    // The scheme withdraws the record: the page that says so ends the link (kept, with the date),
    // never moves it, and the worker is no longer enrolled.
    let reference = pmjay["records"][0]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let store = app.state.store();
    store.request_sync("pmjay", false, "test").await.unwrap();
    let run = store
        .claim_sync_run("withdrawer", 30.0)
        .await
        .unwrap()
        .unwrap();
    let page = store::sync::PageOutcome {
        records: 1,
        links: vec![store::sync::NewLink {
            reference: reference.clone(),
            uan: "someone-else".into(),
            status: "withdrawn".into(),
            details: serde_json::json!({}),
            score: 1.0,
            explanation: serde_json::json!([]),
        }],
        model_version: "test".into(),
        cursor: run.cursor.clone().unwrap_or_default(),
        ..Default::default()
    };
    let counts = store
        .commit_sync_page(&run, "withdrawer", 30.0, &page)
        .await
        .unwrap()
        .expect("the lease is ours");
    assert_eq!(counts.linked, 0, "an update, not a new link");
    // Another owner's commit is refused whole.
    assert!(
        store
            .commit_sync_page(&run, "intruder", 30.0, &page)
            .await
            .unwrap()
            .is_none()
    );
    store
        .finish_sync_run(run.id, "withdrawer", None)
        .await
        .unwrap()
        .unwrap();
    let pmjay = pmjay_view(&app, &uan, &t).await;
    assert_eq!(pmjay["enrolled"], false, "{pmjay}");
    assert_eq!(pmjay["records"][0]["status"], "withdrawn", "{pmjay}");
    assert_eq!(
        pmjay["records"][0]["reference"],
        reference.as_str(),
        "{pmjay}"
    );
    assert!(pmjay["records"][0]["ended_at"].is_string(), "{pmjay}");
    let log: Value = app
        .get_json(&format!("/v1/workers/{uan}/access-log"), &t)
        .await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "sync_link"),
        "{log}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn three_engines_share_the_runs_and_never_pull_a_page_twice() {
    let app = seeded(|_| {}).await;
    let engines: Vec<Arc<sync::Engine>> = ["a", "b", "c"]
        .iter()
        .map(|o| Arc::new(engine(&app, o, 50)))
        .collect();
    let schemes = [
        SchemeId::Pmjay,
        SchemeId::Pmsym,
        SchemeId::Pmjjby,
        SchemeId::Ncs,
    ];
    for s in schemes {
        engines[0].request(s, false, "test").await.unwrap();
    }
    let before: Vec<u64> = schemes
        .iter()
        .map(|s| app.simulators().sim(*s).requests())
        .collect();
    // Each engine takes runs until none is left; all three at once.
    let work = |e: Arc<sync::Engine>| async move {
        let mut done = Vec::new();
        while let Some(run) = e.work_once(|_: &sync::Progress| {}).await.unwrap() {
            done.push(run);
        }
        done
    };
    let (a, b, c) = tokio::join!(
        work(engines[0].clone()),
        work(engines[1].clone()),
        work(engines[2].clone())
    );
    let runs: Vec<_> = a.iter().chain(&b).chain(&c).collect();
    assert_eq!(runs.len(), schemes.len(), "each run worked once");
    for (i, s) in schemes.iter().enumerate() {
        let run = runs.iter().find(|r| r.scheme == s.as_str()).unwrap();
        assert_eq!(run.status, "succeeded", "{s}: {:?}", run.error);
        let sim = app.simulators().sim(*s);
        assert_eq!(run.records, sim.records as i64, "{s}");
        // One request per page committed (token requests are counted apart): no page was pulled
        // twice.
        let pulled = sim.requests() - before[i];
        assert_eq!(pulled as i64, run.pages, "{s}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn a_run_asked_for_over_http_is_worked_by_the_gateway_and_watched_there() {
    let app = seeded(|s| s.sync.run_in_serve = true).await;
    let t = app.token("state-it", "schemes:sync schemes:read", None);
    let res = app.post_empty("/v1/schemes/pmjjby/sync", &t).await;
    assert_eq!(res.status(), 202);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let run: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/v1/schemes/pmjjby/sync-runs/{}", run["id"])
    );
    assert_eq!(run["requested_by"], "state-it");
    // Asked again while it waits or runs: the same run.
    let again: Value = app
        .post_empty("/v1/schemes/pmjjby/sync", &t)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        again["id"] == run["id"] || again["status"] == "queued",
        "{again}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        let now: Value = app.get_json(&location, &t).await;
        if now["status"] == "succeeded" || now["status"] == "failed" {
            break now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never finished: {now}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        done["records"],
        app.simulators().sim(SchemeId::Pmjjby).records,
        "{done}"
    );
    assert!(done["linked"].as_i64().unwrap() > 0, "{done}");
    assert!(done["record_errors"].is_array());
    let list: Value = app.get_json("/v1/schemes/pmjjby/sync-runs", &t).await;
    assert!(list["items"][0]["id"] == run["id"] || list["items"][1]["id"] == run["id"]);

    // The catalogue has no people; another scheme's run is not this one's; the scope is needed.
    let res = app.post_empty("/v1/schemes/myscheme/sync", &t).await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "id", "{p}");
    let res = app
        .http
        .get(app.url(&format!("/v1/schemes/pmjay/sync-runs/{}", run["id"])))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let reader = app.token("reader", "schemes:read", None);
    let res = app.post_empty("/v1/schemes/pmjjby/sync", &reader).await;
    assert_eq!(res.status(), 403);
    assert!(app.metrics().await.contains("sync_records_total"));
    app.stop().await;
}

/// The registration body of population person `n` as the demo registry would hold them.
fn registration_of(n: u64) -> Value {
    let w = gateway::demo::worker(SEED, n, chrono::Utc::now().date_naive());
    serde_json::json!({
        "name": w.name, "gender": w.gender.as_str(),
        "date_of_birth": w.date_of_birth.format("%Y-%m-%d").to_string(),
        "mobile": w.mobile.as_str(), "aadhaar": w.aadhaar.expose_digits(),
        "state_code": w.state.code(), "district_code": w.district.as_str(),
        "pincode": w.pincode.as_str(), "relative_name": w.relative_name,
        "social_category": w.social_category.as_str(), "occupation_nco": w.occupation.as_str(),
        "monthly_income_inr": w.monthly_income_inr,
        "declarations": {"epfo_member": false, "esic_member": false, "nps_member": false,
            "income_tax_payer": false},
    })
}

#[actix_web::test]
async fn a_worker_registered_after_the_sync_picks_up_the_scheme_record_that_was_waiting() {
    let app = seeded(|_| {}).await;
    let scheme = SchemeId::Pmjay;
    let engine = engine(&app, "engine-a", 500);
    engine.request(scheme, false, "test").await.unwrap();
    engine.work_once(|_: &sync::Progress| {}).await.unwrap();
    let sim = app.simulators().sim(scheme);
    // Records of people the registry does not hold yet, as the run left them.
    let db = app.db().await;
    let waiting: Vec<(String, u64)> = db
        .query(
            "SELECT reference FROM unregistered_records WHERE scheme = 'pmjay' ORDER BY reference",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let reference: String = r.get(0);
            let n = sim.person_index(pmjay_k(&reference));
            (reference, n)
        })
        .filter(|(_, n)| *n >= REGISTERED)
        .take(10)
        .collect();
    assert_eq!(waiting.len(), 10);
    // They register (no re-run of the sync): each new worker is matched against what waits.
    let t = app.token("bihar", "workers:write schemes:read", None);
    let mut claimed = 0;
    for (reference, n) in &waiting {
        let res = app
            .http
            .post(app.url("/v1/workers"))
            .bearer_auth(&t)
            .json(&registration_of(*n))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let uan = res.json::<Value>().await.unwrap()["uan"]
            .as_str()
            .unwrap()
            .to_owned();
        let linked: Option<String> = db
            .query_opt(
                "SELECT uan FROM scheme_links WHERE scheme = 'pmjay' AND reference = $1",
                &[reference],
            )
            .await
            .unwrap()
            .map(|r| r.get(0));
        let queued: i64 = db
            .query_one(
                "SELECT count(*) FROM review_items WHERE scheme = 'pmjay' AND reference = $1 AND uan = $2",
                &[reference, &uan],
            )
            .await
            .unwrap()
            .get(0);
        let still: i64 = db
            .query_one(
                "SELECT count(*) FROM unregistered_records WHERE scheme = 'pmjay' AND reference = $1",
                &[reference],
            )
            .await
            .unwrap()
            .get(0);
        if let Some(l) = &linked {
            assert_eq!(l, &uan, "{reference} linked to someone else");
        }
        if linked.is_some() || queued > 0 {
            claimed += 1;
            assert_eq!(still, 0, "{reference} claimed but still unregistered");
            if linked.is_some() {
                let pmjay = pmjay_view(&app, &uan, &t).await;
                assert_eq!(
                    pmjay["records"][0]["reference"],
                    reference.as_str(),
                    "{pmjay}"
                );
            }
        }
    }
    eprintln!("{claimed} of 10 new workers picked up their waiting PM-JAY record");
    assert!(claimed >= 8, "{claimed} of 10");
    app.stop().await;
}

/// Syncs every scheme with people to link, so that the queue and the unregistered fill up.
async fn sync_all(app: &TestApp) {
    let engine = engine(app, "engine-a", 500);
    for s in [
        SchemeId::Ncs,
        SchemeId::Sidh,
        SchemeId::Pmsym,
        SchemeId::Pmjay,
        SchemeId::Pmjjby,
    ] {
        engine.request(s, false, "test").await.unwrap();
    }
    drain(&engine).await;
}

/// Works runs until none is left.
async fn drain(engine: &sync::Engine) {
    while engine
        .work_once(|_: &sync::Progress| {})
        .await
        .unwrap()
        .is_some()
    {}
}

#[actix_web::test]
async fn the_review_queue_shows_both_records_by_purpose_and_a_decision_is_final() {
    let app = seeded(|_| {}).await;
    sync_all(&app).await;
    let reader = app.token(
        "ops",
        "reviews:read reviews:write schemes:read audit:read",
        None,
    );
    let page = app.get_json("/v1/reviews?limit=500", &reader).await;
    let items = page["items"].as_array().unwrap().clone();
    assert!(items.len() >= 2, "{page}");
    let first = &items[0];
    let (id, uan, state) = (
        first["id"].as_i64().unwrap(),
        first["uan"].as_str().unwrap().to_owned(),
        first["state_code"].as_str().unwrap().to_owned(),
    );
    // Another state's pair is a miss, like one that does not exist.
    let other = if state == "10" { "09" } else { "10" };
    let outsider = app.token("outsider", "reviews:read reviews:write", Some(&[other]));
    let res = app
        .http
        .get(app.url(&format!("/v1/reviews/{id}")))
        .bearer_auth(&outsider)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let listed = app.get_json("/v1/reviews", &outsider).await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state_code"] == other),
        "{listed}"
    );
    // Side by side under the caller's purpose: `verification` sees the name, the date of birth
    // and a masked mobile, and is told only how the name and the date compared.
    let verifier = app.token_for("bank", "reviews:read", Some(&[&state]), "verification");
    let seen = app.get_json(&format!("/v1/reviews/{id}"), &verifier).await;
    assert_eq!(seen["worker"]["uan"], uan.as_str(), "{seen}");
    assert!(seen["worker"].get("pincode").is_none(), "{seen}");
    assert!(
        seen["scheme_record"]["person"].get("pincode").is_none(),
        "{seen}"
    );
    assert!(
        seen["scheme_record"]["person"]["name"].is_string(),
        "{seen}"
    );
    let compared: Vec<&str> = seen["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["comparison"].as_str().unwrap())
        .collect();
    assert!(
        compared.iter().all(|c| ["name", "dob"].contains(c)),
        "{compared:?}"
    );
    let whole = app.get_json(&format!("/v1/reviews/{id}"), &reader).await;
    assert_eq!(whole["explanation"].as_array().unwrap().len(), 8, "{whole}");

    // Linked by a decision, with a key: the same key answers the first answer again; another
    // key finds the pair decided.
    let decide = |key: &'static str, decision: &'static str, id: i64| {
        let (app, reader) = (&app, reader.clone());
        async move {
            app.http
                .post(app.url(&format!("/v1/reviews/{id}/decision")))
                .bearer_auth(&reader)
                .header("Idempotency-Key", key)
                .json(&serde_json::json!({"decision": decision, "note": "checked the card"}))
                .send()
                .await
                .unwrap()
        }
    };
    let res = decide("d-1", "link", id).await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["status"], "linked", "{answer}");
    let again: Value = decide("d-1", "link", id).await.json().await.unwrap();
    assert_eq!(again, answer);
    let res = decide("d-2", "not_a_match", id).await;
    assert_eq!(res.status(), 409);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["code"], "review_already_decided", "{p}");
    let res = app
        .http
        .post(app.url(&format!("/v1/reviews/{id}/decision")))
        .bearer_auth(&reader)
        .json(&serde_json::json!({"decision": "link"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "the key is required");
    let res = app
        .http
        .post(app.url(&format!("/v1/reviews/{}/decision", items[1]["id"])))
        .bearer_auth(&reader)
        .header("Idempotency-Key", "d-3")
        .json(&serde_json::json!({"decision": "maybe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "decision", "{p}");

    let scheme = first["scheme"].as_str().unwrap();
    let reference = first["reference"].as_str().unwrap();
    let db = app.db().await;
    let link = db
        .query_one(
            "SELECT uan, source FROM scheme_links WHERE scheme = $1 AND reference = $2",
            &[&scheme, &reference],
        )
        .await
        .unwrap();
    assert_eq!(
        (link.get::<_, String>(0), link.get::<_, String>(1)),
        (uan.clone(), "review".to_owned())
    );
    let still_open: i64 = db
        .query_one(
            "SELECT count(*) FROM review_items WHERE scheme = $1 AND reference = $2 AND status = 'open'",
            &[&scheme, &reference],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        still_open, 0,
        "the record's other candidates are superseded"
    );
    // "Not a match" on another pair; when it was its record's only candidate, the record waits
    // among the unregistered again.
    // (another record's pair: this record's other candidates were superseded by the link)
    let second = items
        .iter()
        .find(|i| {
            (i["scheme"].as_str(), i["reference"].as_str()) != (Some(scheme), Some(reference))
        })
        .expect("a pair of another record");
    let (id2, scheme2, ref2) = (
        second["id"].as_i64().unwrap(),
        second["scheme"].as_str().unwrap().to_owned(),
        second["reference"].as_str().unwrap().to_owned(),
    );
    assert_eq!(decide("d-4", "not_a_match", id2).await.status(), 200);
    let candidates_left: i64 = db
        .query_one(
            "SELECT count(*) FROM review_items WHERE scheme = $1 AND reference = $2 AND status = 'open'",
            &[&scheme2, &ref2],
        )
        .await
        .unwrap()
        .get(0);
    let waiting: i64 = db
        .query_one(
            "SELECT count(*) FROM unregistered_records WHERE scheme = $1 AND reference = $2",
            &[&scheme2, &ref2],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(waiting, i64::from(candidates_left == 0), "{scheme2} {ref2}");

    // A later run from the start overturns nothing and queues neither pair again.
    let engine = engine(&app, "engine-b", 500);
    for s in [scheme, scheme2.as_str()] {
        let s = SchemeId::parse(s).unwrap();
        engine.request(s, true, "test").await.unwrap();
        drain(&engine).await;
    }
    let link_after: String = db
        .query_one(
            "SELECT source FROM scheme_links WHERE scheme = $1 AND reference = $2",
            &[&scheme, &reference],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(link_after, "review");
    let statuses: Vec<String> = db
        .query(
            "SELECT status FROM review_items WHERE id = ANY($1) ORDER BY id",
            &[&vec![id, id2]],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(statuses, ["linked", "not_a_match"]);
    let log = app
        .get_json(&format!("/v1/workers/{uan}/access-log"), &reader)
        .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["review_read", "review_decision", "review_list"] {
        assert!(actions.contains(&a), "{a}: {actions:?}");
    }
    // The worker moves to another state: their pairs leave the old state's sight with them.
    let res = app
        .http
        .patch(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(app.admin_token())
        .header("content-type", "application/merge-patch+json")
        .body(format!(
            r#"{{"state_code": "{other}", "district_code": "164"}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = app
        .http
        .get(app.url(&format!("/v1/reviews/{id}")))
        .bearer_auth(&verifier)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    app.stop().await;
}

/// Works one scheme's run from the start to its end.
async fn full_run(app: &TestApp, scheme: SchemeId) {
    let engine = engine(app, "engine-c", 500);
    engine.request(scheme, true, "test").await.unwrap();
    drain(&engine).await;
}

#[actix_web::test]
async fn a_pair_decided_not_a_match_is_asked_again_only_when_one_of_its_records_changes() {
    let app = seeded(|_| {}).await;
    full_run(&app, SchemeId::Pmjay).await;
    let ops = app.token("ops", "reviews:read reviews:write", None);
    let page = app
        .get_json("/v1/reviews?scheme=pmjay&limit=500", &ops)
        .await;
    let item = page["items"][0].clone();
    let (id, uan, reference) = (
        item["id"].as_i64().unwrap(),
        item["uan"].as_str().unwrap().to_owned(),
        item["reference"].as_str().unwrap().to_owned(),
    );
    let decide = |key: &'static str| {
        let (app, ops) = (&app, ops.clone());
        async move {
            let res = app
                .http
                .post(app.url(&format!("/v1/reviews/{id}/decision")))
                .bearer_auth(&ops)
                .header("Idempotency-Key", key)
                .json(&serde_json::json!({"decision": "not_a_match", "note": "another father"}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
    };
    let db = app.db().await;
    let pair = || {
        let (db, reference, uan) = (&db, &reference, &uan);
        async move {
            let row = db
                .query_one(
                    "SELECT status, requeued_at IS NOT NULL, decided_by FROM review_items WHERE id = $1",
                    &[&id],
                )
                .await
                .unwrap();
            let linked: i64 = db
                .query_one(
                    "SELECT count(*) FROM scheme_links WHERE scheme = 'pmjay' AND reference = $1 \
                     AND uan = $2",
                    &[&reference, &uan],
                )
                .await
                .unwrap()
                .get(0);
            assert_eq!(
                linked, 0,
                "a pair decided not_a_match is never linked by a run"
            );
            (
                row.get::<_, String>(0),
                row.get::<_, bool>(1),
                row.get::<_, Option<String>>(2),
            )
        }
    };
    decide("n-1").await;
    // Nothing changed: a run from the start leaves the decision as it was.
    full_run(&app, SchemeId::Pmjay).await;
    let (status, requeued, by) = pair().await;
    assert_eq!((status.as_str(), requeued), ("not_a_match", false));
    assert_eq!(by.as_deref(), Some("ops"));

    // The worker changed (a new occupation: the same person, a changed record): asked again.
    let res = app
        .http
        .patch(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(app.admin_token())
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"occupation_nco": "9313.0100"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    full_run(&app, SchemeId::Pmjay).await;
    assert_eq!(pair().await, ("open".to_owned(), true, None));
    let seen = app.get_json(&format!("/v1/reviews/{id}"), &ops).await;
    assert_eq!(seen["status"], "open", "{seen}");
    assert!(seen["requeued_at"].is_string(), "{seen}");

    // Decided again; then the scheme's person is not what it was decided on (as when the scheme
    // corrects a name): asked again too.
    decide("n-2").await;
    full_run(&app, SchemeId::Pmjay).await;
    assert_eq!(pair().await.0, "not_a_match");
    db.execute(
        "UPDATE review_items SET record_digest = 'decided on another person' WHERE id = $1",
        &[&id],
    )
    .await
    .unwrap();
    full_run(&app, SchemeId::Pmjay).await;
    assert_eq!(pair().await.0, "open");

    // Wherever a record is, it is in one place: never both open for review and unregistered.
    let both: i64 = db
        .query_one(
            "SELECT count(*) FROM unregistered_records u WHERE EXISTS (SELECT 1 FROM review_items i \
             WHERE i.scheme = u.scheme AND i.reference = u.reference AND i.status = 'open')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(both, 0);
    app.stop().await;
}

#[actix_web::test]
async fn a_schemes_unregistered_people_are_listed_by_state_and_counted() {
    let app = seeded(|_| {}).await;
    let engine = engine(&app, "engine-a", 500);
    engine
        .request(SchemeId::Pmjay, false, "test")
        .await
        .unwrap();
    let run = engine
        .work_once(|_: &sync::Progress| {})
        .await
        .unwrap()
        .unwrap();
    let t = app.token("ops", "workers:read schemes:read", None);
    let summary = app
        .get_json("/v1/schemes/pmjay/unregistered/summary", &t)
        .await;
    assert_eq!(summary["unregistered"], run.unregistered, "{summary}");
    let by: i64 = summary["by_district"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["unregistered"].as_i64().unwrap())
        .sum();
    assert_eq!(by, run.unregistered);
    // A state portal's worklist: its state only, in pages.
    let busiest = summary["by_district"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|d| d["unregistered"].as_i64().unwrap())
        .unwrap()
        .clone();
    let state = busiest["state_code"].as_str().unwrap().to_owned();
    let portal = app.token("portal", "workers:read schemes:read", Some(&[&state]));
    let mine = app
        .get_json("/v1/schemes/pmjay/unregistered/summary", &portal)
        .await;
    assert!(
        mine["by_district"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state_code"] == state.as_str()),
        "{mine}"
    );
    let first = app
        .get_json("/v1/schemes/pmjay/unregistered?limit=2", &portal)
        .await;
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{first}");
    assert!(items.iter().all(|i| i["state_code"] == state.as_str()));
    assert!(items[0]["person"]["name"].is_string(), "{first}");
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_json(
            &format!("/v1/schemes/pmjay/unregistered?limit=2&cursor={cursor}"),
            &portal,
        )
        .await;
    assert_ne!(second["items"][0]["reference"], items[0]["reference"]);
    assert!(second["items"][0]["reference"].as_str() > items[1]["reference"].as_str());
    // `analytics` sees no name or contact.
    let analyst = app.token_for("analyst", "workers:read", None, "analytics");
    let cut = app
        .get_json("/v1/schemes/pmjay/unregistered?limit=1", &analyst)
        .await;
    let person = &cut["items"][0]["person"];
    assert!(
        person.get("name").is_none() && person.get("mobile").is_none(),
        "{person}"
    );
    // Another state, or a bad parameter.
    let other = if state == "10" { "09" } else { "10" };
    let res = app
        .http
        .get(app.url(&format!(
            "/v1/schemes/pmjay/unregistered?state_code={other}"
        )))
        .bearer_auth(&portal)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .http
        .get(app.url("/v1/schemes/pmjay/unregistered?colour=red&district_code=1"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["colour", "state_code"], "{p}");
    app.stop().await;
}

/// An event signed as the simulators sign PM-SYM's (their default secret).
fn signed(event: &Value) -> (String, String) {
    let body = event.to_string();
    let secret = simulators::Credentials::default().webhook_secret;
    let sig = adapter_core::auth::hmac_hex(&secret, &body);
    (body, sig)
}

async fn post_event(app: &TestApp, body: &str, sig: &str) -> reqwest::Response {
    app.http
        .post(app.url("/v1/webhooks/pmsym"))
        .header("content-type", "application/json")
        .header("X-PMSYM-Signature", sig)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn pmsyms_signed_events_are_taken_once_and_link_the_subscriber_through_a_run() {
    let app = seeded(|s| {
        s.sync.run_in_serve = true;
        s.sync.poll_ms = 50;
    })
    .await;
    let db = app.db().await;
    let events = || async {
        let n: i64 = db
            .query_one("SELECT count(*) FROM webhook_events", &[])
            .await
            .unwrap()
            .get(0);
        n
    };
    // Refused with nothing kept: no signature, a wrong one, a body changed after signing.
    let event = serde_json::json!({"event": "subscriber.enrolled", "spn": "PMSYM4999999999",
        "eshram_uan": "", "status": "ACTIVE", "occurred_at": chrono::Utc::now().to_rfc3339()});
    let (body, sig) = signed(&event);
    assert_eq!(post_event(&app, &body, "").await.status(), 401);
    assert_eq!(post_event(&app, &body, &"0".repeat(64)).await.status(), 401);
    let tampered = body.replace("ACTIVE", "EXITED");
    assert_eq!(post_event(&app, &tampered, &sig).await.status(), 401);
    let stale = serde_json::json!({"event": "subscriber.enrolled", "spn": "PMSYM4999999998",
        "status": "ACTIVE", "occurred_at": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339()});
    let (stale_body, stale_sig) = signed(&stale);
    assert_eq!(
        post_event(&app, &stale_body, &stale_sig).await.status(),
        401
    );
    assert_eq!(events().await, 0, "nothing kept of a refused event");
    // Taken once; the same delivery again is a replay.
    let res = post_event(&app, &body, &sig).await;
    assert_eq!(res.status(), 202);
    let taken: Value = res.json().await.unwrap();
    assert!(taken["run"].as_i64().is_some(), "{taken}");
    let res = post_event(&app, &body, &sig).await;
    assert_eq!(res.status(), 409);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["code"], "webhook_replayed");
    assert_eq!(events().await, 1);

    // A worker enrols at a CSC, straight with PM-SYM (not through the gateway): PM-SYM's own
    // webhook reaches the gateway, whose run links the new subscriber by the UAN it recorded.
    let uan: String = db
        .query_one(
            "SELECT uan FROM workers WHERE date_of_birth BETWEEN now() - interval '39 years' \
             AND now() - interval '19 years' AND monthly_income_inr <= 15000 \
             AND bank_account IS NOT NULL ORDER BY uan LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let worker = app
        .state
        .store()
        .worker(&domain::Uan::parse(&uan).unwrap(), None)
        .await
        .unwrap()
        .unwrap();
    let person = adapter_core::Person {
        full_name: worker.name.clone(),
        gender: "M".into(),
        date_of_birth: Some(worker.date_of_birth),
        mobile: worker.mobile.as_str().to_owned(),
        state_code: worker.state_code.code().to_owned(),
        district_code: worker.district_code.as_str().to_owned(),
        pincode: worker.pincode.as_str().to_owned(),
        eshram_uan: uan.clone(),
        ..Default::default()
    };
    let bank = worker.bank_account.clone().unwrap();
    let pmsym = app.state.registry.schemes.get(SchemeId::Pmsym).unwrap();
    let receipt = pmsym
        .push(&adapter_core::SchemeAction::Enrol(
            adapter_core::Enrolment {
                uan: uan.clone(),
                person,
                monthly_income_inr: worker.monthly_income_inr,
                occupation_nco: worker.occupation_nco.as_str().to_owned(),
                bank_account_number: bank.account_number,
                ifsc: bank.ifsc.as_str().to_owned(),
                nominee_name: "Sunita".into(),
                auto_debit_consent: true,
                idempotency_key: "csc-enrolment-1".into(),
            },
        ))
        .await
        .expect("PM-SYM enrols the worker");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let linked = db
            .query_opt(
                "SELECT uan, source FROM scheme_links WHERE scheme = 'pmsym' AND reference = $1",
                &[&receipt.reference],
            )
            .await
            .unwrap();
        if let Some(l) = linked {
            assert_eq!(l.get::<_, String>(0), uan);
            assert_eq!(l.get::<_, String>(1), "sync");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the webhook's run never linked {}",
            receipt.reference
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(events().await >= 2, "PM-SYM's own delivery was kept");
    app.stop().await;
}
