//! `POST /v1/match`: incoming records find their workers through the stored blocking keys, within
//! the token's states, with scores, decisions and explanations; bad records are named field by
//! field; keys are kept on every write and filled in for older rows without moving the change order.

use std::collections::BTreeSet;

use e2e::{TestApp, registration};
use gateway::config::IndexKind;
use serde_json::{Value, json};
use store::match_keys::CandidateKeys;

use crate::workers::{connect, register};

/// Registers a worker from the standard body with some fields replaced; returns its UAN.
async fn worker(app: &TestApp, n: u64, state: &str, changes: Value) -> String {
    let mut body = registration(n, state);
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    let res = register(app, &app.admin_token(), &body).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    created["uan"].as_str().unwrap().to_owned()
}

async fn post_match(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.http
        .post(app.url("/v1/match"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn ramesh() -> Value {
    json!({"name": "Ramesh Kumar Yadav", "date_of_birth": "1985-06-15", "mobile": "9812345678",
           "relative_name": "Suresh Yadav", "district_code": "164", "pincode": "226001"})
}

#[actix_web::test]
async fn records_find_their_workers_within_the_callers_states() {
    records_find_their_workers(IndexKind::Database).await;
}

/// The same answers with the candidates looked up in memory, each worker found right after it
/// was registered.
#[actix_web::test]
async fn records_find_their_workers_within_the_callers_states_through_the_index_in_memory() {
    records_find_their_workers(IndexKind::Memory).await;
}

async fn records_find_their_workers(index: IndexKind) {
    let app = TestApp::spawn_with(|s| s.matching.index = index).await;
    if index == IndexKind::Memory {
        wait_until_loaded(&app).await;
    }
    let in_09 = worker(&app, 1, "09", ramesh()).await;
    let in_10 = worker(&app, 2, "10", ramesh()).await;
    // A namesake in the same place, born another year, another father and mobile.
    let namesake = worker(
        &app,
        3,
        "09",
        json!({"name": "Ramesh Kumar Yadav", "date_of_birth": "1992-11-03", "mobile": "9123456780",
               "relative_name": "Mahesh Prasad", "district_code": "164", "pincode": "226001"}),
    )
    .await;
    let t = app.token("pmjay", "workers:match", Some(&["09"]));
    let aadhaar = gateway::demo::aadhaar(7, 1).expose_digits().to_owned();
    let res = post_match(
        &app,
        &t,
        &json!({"records": [
            {"id": "x1", "full_name": "रमेश कुमार यादव", "dob": "1985-06-15", "state_code": "09",
             "district_code": "164", "pincode": "226001", "relative_name": "Suresh Yadav"},
            {"id": "x2", "full_name": "Sunil Verma", "dob": "1970-02-02"},
            {"id": "x3", "full_name": "R. K. Yadav", "aadhaar": aadhaar}
        ]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["id"], "x1");
    let best = &results[0]["candidates"][0];
    assert_eq!(best["uan"], in_09.as_str(), "{body}");
    assert_eq!(best["decision"], "link", "{body}");
    let explanation = best["explanation"].as_array().unwrap();
    assert_eq!(explanation.len(), matching::compare::COMPARISONS.len());
    assert_eq!(explanation[0]["comparison"], "name");
    // The namesake, if listed at all, scores below the person.
    for c in results[0]["candidates"].as_array().unwrap().iter().skip(1) {
        assert_eq!(c["uan"], namesake.as_str());
        assert!(c["score"].as_f64() < best["score"].as_f64());
    }
    // A purpose that may not see a field is not told how it compared.
    let jobs = app.token_for("ncs", "workers:match", Some(&["09"]), "analytics");
    let res = post_match(
        &app,
        &jobs,
        &json!({"records": [{"id": "x1", "full_name": "Ramesh Kumar Yadav", "dob": "1985-06-15",
                             "state_code": "09", "district_code": "164", "pincode": "226001"}]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let limited: Value = res.json().await.unwrap();
    let compared: Vec<&str> = limited["results"][0]["candidates"][0]["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["comparison"].as_str().unwrap())
        .collect();
    assert!(
        !compared.contains(&"name") && !compared.contains(&"mobile"),
        "{limited}"
    );
    assert!(compared.contains(&"gender"), "{limited}");
    // Another state's worker never appears; an unknown person gets no candidates.
    assert!(!body.to_string().contains(&in_10), "{body}");
    assert_eq!(results[1]["candidates"], json!([]));
    // The Aadhaar number finds its worker even behind initials, and is never echoed.
    assert_eq!(results[2]["candidates"][0]["uan"], in_09.as_str(), "{body}");
    assert!(!body.to_string().contains(&aadhaar));

    // Matching is on the worker's access log.
    let log: Value = app
        .http
        .get(app.url(&format!("/v1/workers/{in_09}/access-log")))
        .bearer_auth(app.token("dpo", "audit:read", None))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "match" && e["client_id"] == "pmjay"),
        "{log}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn bad_records_are_named_and_limits_hold() {
    let app = TestApp::spawn_with(|s| s.matching.max_records = 2).await;
    let t = app.token("pmjay", "workers:match", None);
    let res = post_match(
        &app,
        &t,
        &json!({"records": [
            {"id": "a", "full_name": "Ramesh", "aadhaar": "123412341234"},
            {"id": "b", "full_name": "Ramesh", "dob": "15/06/1985", "gender": "male"}
        ]}),
    )
    .await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["records[0].aadhaar", "records[1].gender", "records[1].dob"],
        "{problem}"
    );
    assert!(!problem.to_string().contains("123412341234"));
    let one = json!({"id": "a", "full_name": "Ramesh"});
    let res = post_match(&app, &t, &json!({"records": [one, one, one]})).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "records");
    let res = post_match(&app, &t, &json!({"records": [one], "limit": 50})).await;
    assert_eq!(res.status(), 422);
    let res = post_match(&app, &t, &json!({"records": [one], "extra": 1})).await;
    assert_eq!(res.status(), 422);
    let no_scope = app.token("pmjay", "workers:read", None);
    assert_eq!(
        post_match(&app, &no_scope, &json!({"records": [one]}))
            .await
            .status(),
        403
    );
    app.stop().await;
}

#[actix_web::test]
async fn keys_are_kept_on_write_and_filled_in_for_older_rows() {
    let app = TestApp::spawn().await;
    let uan = worker(&app, 4, "09", ramesh()).await;
    let client = connect(&app).await;
    let keys_and_seq = || async {
        let row = client
            .query_one(
                "SELECT match_keys, change_seq FROM workers WHERE uan = $1",
                &[&uan],
            )
            .await
            .unwrap();
        (row.get::<_, Option<Vec<i64>>>(0), row.get::<_, i64>(1))
    };
    let (stored, seq) = keys_and_seq().await;
    assert!(stored.as_ref().is_some_and(|k| k.len() > 5), "{stored:?}");
    // A moved worker's keys follow the new district.
    let res = app
        .http
        .patch(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(app.admin_token())
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"district_code": "165", "pincode": "226010"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (moved, seq_after_move) = keys_and_seq().await;
    assert_ne!(moved, stored);
    let seq = seq.max(seq_after_move);
    // A row from before the column: keys filled in, the change order untouched.
    client
        .execute(
            "UPDATE workers SET match_keys = NULL, match_keys_version = NULL WHERE uan = $1",
            &[&uan],
        )
        .await
        .unwrap();
    assert_eq!(
        app.state
            .store()
            .backfill_match_keys("", 100)
            .await
            .unwrap(),
        (1, Some(uan.clone()))
    );
    let (filled, seq_after_fill) = keys_and_seq().await;
    assert_eq!(filled, moved);
    assert_eq!(seq_after_fill, seq);
    assert_eq!(
        app.state
            .store()
            .backfill_match_keys("", 100)
            .await
            .unwrap(),
        (0, None)
    );
    app.stop().await;
}

/// Waits (with a deadline) for the gateway's background load of its index in memory.
async fn wait_until_loaded(app: &TestApp) {
    let index = app
        .state
        .registry
        .matcher
        .index
        .clone()
        .expect("an index in memory");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !index.is_ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "the index never loaded"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Each record's candidates (UANs) as the index in memory finds them.
async fn in_memory(
    app: &TestApp,
    keys: &[Vec<i64>],
    states: Option<Vec<String>>,
    max_bucket: i64,
) -> Vec<BTreeSet<String>> {
    let index = app.state.registry.matcher.index.clone().unwrap();
    index.follow(app.state.store()).await.unwrap();
    let keys: Vec<CandidateKeys> = keys.iter().map(|k| CandidateKeys(k.clone())).collect();
    tokio::task::spawn_blocking(move || {
        index.with_candidates(&keys, states.as_deref(), max_bucket, |found| {
            found
                .iter()
                .map(|l| l.iter().map(|(uan, _)| (*uan).to_owned()).collect())
                .collect()
        })
    })
    .await
    .unwrap()
}

/// Each record's candidates (UANs) as PostgreSQL's index of the stored keys finds them.
async fn in_database(
    app: &TestApp,
    keys: &[Vec<i64>],
    states: Option<Vec<String>>,
    max_bucket: i64,
) -> Vec<BTreeSet<String>> {
    let keys: Vec<CandidateKeys> = keys.iter().map(|k| CandidateKeys(k.clone())).collect();
    app.state
        .store()
        .match_candidates(&keys, states.as_deref(), max_bucket)
        .await
        .unwrap()
        .iter()
        .map(|l| l.iter().map(|c| c.worker.uan.to_string()).collect())
        .collect()
}

/// The index in memory is the database's index held elsewhere: for the same records it finds
/// the same candidates, within states, with crowded keys skipped alike, and it follows new and
/// changed workers (a changed worker is found only through its new keys).
#[actix_web::test]
async fn the_index_in_memory_finds_what_the_database_finds_and_follows_changes() {
    let app = TestApp::spawn_with(|s| s.matching.index = IndexKind::Memory).await;
    let keys = gateway::keys::Keys::load_or_create(&app.settings.auth.keys_dir).unwrap();
    gateway::demo::seed(app.state.store(), &keys, 42, 3_000)
        .await
        .unwrap();
    wait_until_loaded(&app).await;
    // The people of the demo population as a scheme wrote them: two thirds registered.
    let records: Vec<Vec<i64>> = (0..1_500)
        .map(|n| {
            let r = population::held_elsewhere(42, n * 3, 11);
            CandidateKeys::of(&matching::Prepared::new(&r)).0
        })
        .collect();
    let compare = |states: Option<Vec<String>>, bucket: i64| {
        let (app, records) = (&app, &records);
        async move {
            let db = in_database(app, records, states.clone(), bucket).await;
            let mem = in_memory(app, records, states, bucket).await;
            assert_eq!(mem, db, "max_bucket {bucket}");
            db.iter().map(BTreeSet::len).sum::<usize>()
        }
    };
    let all = compare(None, 100).await;
    let bihar = compare(Some(vec!["10".into()]), 100).await;
    let crowded = compare(None, 2).await;
    assert!(all > 1_000, "{all} candidates");
    assert!(bihar > 0 && bihar < all, "{bihar} of {all}");
    assert!(crowded < all, "max_bucket 2 keeps {crowded} of {all}");

    // A worker registered and one whose mobile changed: found as the database finds them.
    let admin = app.admin_token();
    let body = registration(77, "10");
    let uan = crate::workers::registered_uan(&app, &admin, &body).await;
    let first = app
        .state
        .store()
        .workers_changed_after(0, 1)
        .await
        .unwrap()
        .remove(0)
        .1;
    let old = store::match_keys::worker_fields(&first.worker, &first.aadhaar_token).keys();
    let changed = first.worker.uan.to_string();
    let r = crate::workers::patch(&app, &admin, &changed, &json!({"mobile": "9000012345"})).await;
    assert_eq!(r.status(), 200);
    let registered = app
        .state
        .store()
        .workers_changed_after(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .find(|(_, c)| c.worker.uan.to_string() == uan)
        .unwrap()
        .1;
    let new =
        store::match_keys::worker_fields(&registered.worker, &registered.aadhaar_token).keys();
    let probes = vec![old, new];
    let db = in_database(&app, &probes, None, 100).await;
    let mem = in_memory(&app, &probes, None, 100).await;
    assert_eq!(mem, db);
    assert!(mem[1].contains(&uan), "the new worker is found");
    app.stop().await;
}
