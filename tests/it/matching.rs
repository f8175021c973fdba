//! `POST /v1/match`: incoming records find their workers through the stored blocking keys, within
//! the token's states, with scores, decisions and explanations; bad records are named field by
//! field; keys are kept on every write and filled in for older rows without moving the change order.

use e2e::{TestApp, registration};
use serde_json::{Value, json};

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
    let app = TestApp::spawn().await;
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
