//! The scheme routes end to end: the real gateway, PostgreSQL, and the scheme simulators it runs
//! in-process, over loopback HTTP.

use chrono::Datelike;
use e2e::{TestApp, registration};
use serde_json::{Value, json};
use simulators::Faults;

use adapter_core::SchemeId;

use crate::workers::{get, registered_uan};

/// Registers a worker born `years` ago (to the month) in state `state`; returns the UAN.
async fn worker_aged(app: &TestApp, n: u64, years: i32, state: &str) -> String {
    let t = chrono::Utc::now().date_naive();
    let dob = chrono::NaiveDate::from_ymd_opt(t.year() - years, t.month(), 1).unwrap();
    let mut body = registration(n, state);
    body["date_of_birth"] = json!(dob.to_string());
    registered_uan(app, &app.admin_token(), &body).await
}

async fn enrol(
    app: &TestApp,
    token: &str,
    uan: &str,
    key: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url(&format!("/v1/workers/{uan}/enrolments")))
        .bearer_auth(token)
        .json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.unwrap()
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn the_scheme_list_shows_each_scheme_with_health_and_circuit() {
    let app = TestApp::spawn().await;
    let token = app.token("ministry", "schemes:read", None);
    let r = get(&app, &token, "/v1/schemes").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let ids: Vec<&str> = v["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ncs", "sidh", "myscheme", "pmsym", "pmjay", "pmjjby"]);
    assert!(
        v["schemes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["circuit"] == "closed"
                && s["health"] == "unknown"
                && !s["ministry"].as_str().unwrap().is_empty())
    );
    // Without the scope: 403.
    let r = get(&app, &app.admin_token(), "/v1/schemes").await;
    assert_eq!(r.status(), 403);
    app.stop().await;
}

#[actix_web::test]
async fn pmsym_enrolment_follows_the_age_chart_is_idempotent_and_shows_in_the_worker_view() {
    let app = TestApp::spawn().await;
    let uan = worker_aged(&app, 501, 29, "10").await;
    let token = app.token("ministry", "schemes:read schemes:enrol", None);
    let body = json!({"scheme": "pmsym"});
    let r = enrol(&app, &token, &uan, Some("enrol-1"), body.clone()).await;
    assert_eq!(r.status(), 201);
    let first: Value = r.json().await.unwrap();
    assert_eq!(
        first["monthly_contribution_inr"], 100,
        "age 29 pays 100 a month"
    );
    assert_eq!(first["terms"]["entry_age"], 29);
    assert!(first["reference"].as_str().unwrap().starts_with("PMSYM"));
    // The same key and body: the same answer, marked as replayed, nothing sent again.
    let sent = app.simulators().sim(SchemeId::Pmsym).requests();
    let r = enrol(&app, &token, &uan, Some("enrol-1"), body.clone()).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    assert_eq!(r.json::<Value>().await.unwrap(), first);
    assert_eq!(app.simulators().sim(SchemeId::Pmsym).requests(), sent);
    // The same key with another body: 422.
    let r = enrol(
        &app,
        &token,
        &uan,
        Some("enrol-1"),
        json!({"scheme": "pmjjby", "auto_debit_consent": true}),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(fields(&r.json().await.unwrap()), ["Idempotency-Key"]);
    // The one-stop view shows the enrolment with the scheme's reference.
    let v: Value = get(&app, &token, &format!("/v1/workers/{uan}/schemes"))
        .await
        .json()
        .await
        .unwrap();
    let pmsym = v["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scheme"] == "pmsym")
        .unwrap();
    assert_eq!(pmsym["enrolled"], true);
    assert_eq!(pmsym["records"][0]["reference"], first["reference"]);
    assert_eq!(pmsym["records"][0]["source"], "enrolment");
    let ncs = v["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scheme"] == "ncs")
        .unwrap();
    assert_eq!(ncs["enrolled"], false);
    // myScheme's catalogue, evaluated against the worker: a 29-year-old qualifies for PMSBY, not for old-age pension.
    let slugs: Vec<&str> = v["may_qualify"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["slug"].as_str().unwrap())
        .collect();
    assert!(
        slugs.contains(&"pmsby") && !slugs.contains(&"nsap-ignoaps"),
        "{slugs:?}"
    );
    // The enrolment shared the worker's data with PM-SYM: it is on the worker's access log.
    let log: Value = get(
        &app,
        &app.token("dpo", "audit:read", None),
        &format!("/v1/workers/{uan}/access-log"),
    )
    .await
    .json()
    .await
    .unwrap();
    // What was sent is on the record before it left, with the request's id; then the outcome.
    let items = log["items"].as_array().unwrap();
    let sent = items.iter().find(|e| e["action"] == "enrol_send").unwrap();
    assert!(
        sent["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "bank_account"),
        "{sent}"
    );
    assert!(sent["request_id"].as_str().unwrap().len() > 10, "{sent}");
    let done = items
        .iter()
        .find(|e| e["action"] == "enrol" && e["status"] == 201)
        .unwrap();
    assert_eq!(done["request_id"], sent["request_id"]);
    app.stop().await;
}

#[actix_web::test]
async fn a_worker_the_rules_exclude_gets_every_broken_rule_named() {
    let app = TestApp::spawn().await;
    let token = app.token("ministry", "schemes:enrol schemes:read", None);
    let old = worker_aged(&app, 502, 45, "10").await;
    let body = json!({"scheme": "pmsym", "declarations": {"epfo_member": true}});
    let r = enrol(&app, &token, &old, Some("k-old"), body.clone()).await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().await.unwrap();
    assert_eq!(fields(&p), ["age", "declarations.epfo_member"]);
    assert_eq!(p["errors"][0]["code"], "outside_age_band");
    // Like every problem, it names its request; a replay names the replaying request.
    let first_id = p["request_id"].as_str().expect("request_id").to_owned();
    let again = enrol(&app, &token, &old, Some("k-old"), body).await;
    assert_eq!(again.status(), 422);
    let header = again.headers()["x-request-id"].to_str().unwrap().to_owned();
    let p2: Value = again.json().await.unwrap();
    assert_eq!(p2["request_id"], header.as_str());
    assert_ne!(p2["request_id"], first_id.as_str());
    assert_eq!(p2["errors"], p["errors"]);
    // Nothing reached PM-SYM.
    assert_eq!(app.simulators().sim(SchemeId::Pmsym).requests(), 0);
    // PMJJBY: 51 is past the entry band, and consent is required.
    let r = enrol(
        &app,
        &token,
        &worker_aged(&app, 503, 51, "10").await,
        Some("k-51"),
        json!({"scheme": "pmjjby"}),
    )
    .await;
    assert_eq!(
        fields(&r.json().await.unwrap()),
        ["age", "auto_debit_consent"]
    );
    let young = worker_aged(&app, 504, 30, "10").await;
    let r = enrol(
        &app,
        &token,
        &young,
        Some("k-30"),
        json!({"scheme": "pmjjby", "auto_debit_consent": true}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["annual_premium_inr"], 436);
    assert_eq!(v["terms"]["cover_inr"], 200_000);
    // The worker view says who is eligible and why not.
    let v: Value = get(&app, &token, &format!("/v1/workers/{old}/schemes"))
        .await
        .json()
        .await
        .unwrap();
    let pmsym = v["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scheme"] == "pmsym")
        .unwrap();
    assert_eq!(pmsym["eligibility"]["eligible"], false);
    assert_eq!(pmsym["eligibility"]["unmet"][0]["rule"], "age");
    // Bad requests name the field.
    let r = enrol(&app, &token, &young, None, json!({"scheme": "pmsym"})).await;
    assert_eq!(fields(&r.json().await.unwrap()), ["Idempotency-Key"]);
    let r = enrol(
        &app,
        &token,
        &young,
        Some("k-x"),
        json!({"scheme": "pmsby"}),
    )
    .await;
    assert_eq!(fields(&r.json().await.unwrap()), ["scheme"]);
    let r = enrol(&app, &token, &young, Some("k-y"), json!({"scheme": "sidh"})).await;
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["errors"][0]["code"], "not_enrollable");
    let r = enrol(
        &app,
        &token,
        &young,
        Some("k-z"),
        json!({"scheme": "pmsym", "salary": 1}),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(fields(&r.json().await.unwrap()), ["salary"]);
    app.stop().await;
}

#[actix_web::test]
async fn a_scheme_that_is_down_answers_503_and_the_same_key_works_once_it_is_back() {
    let app = TestApp::spawn().await;
    let token = app.token("ministry", "schemes:enrol schemes:read", None);
    let uan = worker_aged(&app, 505, 25, "10").await;
    let sim = app.simulators().sim(SchemeId::Pmsym);
    sim.set_faults(Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let r = enrol(
        &app,
        &token,
        &uan,
        Some("k-down"),
        json!({"scheme": "pmsym"}),
    )
    .await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["code"], "scheme_unavailable");
    let schemes: Value = get(&app, &token, "/v1/schemes").await.json().await.unwrap();
    let pmsym = schemes["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "pmsym")
        .unwrap();
    assert_eq!(pmsym["health"], "degraded");
    // Ops see the failures per scheme in the metrics.
    let metrics = app.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("scheme_requests_total")
                && l.contains("scheme=\"pmsym\"")
                && l.contains("outcome=\"server_error\"")),
        "{metrics}"
    );
    sim.set_faults(Faults::default());
    // The freed key, reused for another worker, is a new enrolment at the scheme too: the key the
    // scheme receives is derived from the whole request, not from the client's key alone.
    let other = worker_aged(&app, 507, 26, "10").await;
    let r = enrol(
        &app,
        &token,
        &other,
        Some("k-down"),
        json!({"scheme": "pmsym"}),
    )
    .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let other_ref: Value = r.json().await.unwrap();
    let r = enrol(
        &app,
        &token,
        &uan,
        Some("k-down"),
        json!({"scheme": "pmsym"}),
    )
    .await;
    assert_eq!(
        r.status(),
        422,
        "the key now belongs to the other worker's enrolment"
    );
    let r = enrol(
        &app,
        &token,
        &uan,
        Some("k-down-2"),
        json!({"scheme": "pmsym"}),
    )
    .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let mine: Value = r.json().await.unwrap();
    assert_ne!(mine["reference"], other_ref["reference"]);
    let schemes: Value = get(&app, &token, "/v1/schemes").await.json().await.unwrap();
    let pmsym = schemes["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "pmsym")
        .unwrap();
    assert_eq!(pmsym["health"], "up");
    app.stop().await;
}

#[actix_web::test]
async fn jobs_and_ncs_registration_and_state_limits() {
    let app = TestApp::spawn().await;
    let token = app.token("ministry", "schemes:read schemes:enrol", None);
    let uan = worker_aged(&app, 506, 33, "10").await;
    let r = get(&app, &token, &format!("/v1/workers/{uan}/jobs")).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["occupation_nco"], "9313.0100");
    assert!(!v["vacancies"].as_array().unwrap().is_empty());
    assert_eq!(v["vacancies"][0]["title"], "Building construction labourer");
    let r = enrol(&app, &token, &uan, Some("k-ncs"), json!({"scheme": "ncs"})).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["reference"].as_str().unwrap().len(), 19);
    // A state portal of another state sees none of it: 404 everywhere, as for a missing worker.
    let up = app.token("up-portal", "schemes:read schemes:enrol", Some(&["09"]));
    for path in ["schemes", "jobs"] {
        let r = get(&app, &up, &format!("/v1/workers/{uan}/{path}")).await;
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = enrol(&app, &up, &uan, Some("k-up"), json!({"scheme": "ncs"})).await;
    assert_eq!(r.status(), 404);
    // A malformed UAN is named.
    let r = get(&app, &token, "/v1/workers/12345/schemes").await;
    assert_eq!(r.status(), 422);
    app.stop().await;
}

#[actix_web::test]
async fn the_fields_sent_to_ncs_are_on_the_record_before_they_go_and_its_failure_as_answered() {
    let app = TestApp::spawn().await;
    let token = app.token("ministry", "schemes:read", None);
    let uan = worker_aged(&app, 508, 33, "10").await;
    let ncs = app.simulators().sim(SchemeId::Ncs);
    let actions = async || -> Vec<(String, i32)> {
        let client = crate::workers::connect(&app).await;
        client
            .query(
                "SELECT action, status FROM audit_entries WHERE uans = ARRAY[$1] \
                 AND action IN ('jobs_send', 'read_jobs') ORDER BY seq",
                &[&uan],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    // NCS down: the entry for what was sent comes first, then the 503 the caller got.
    ncs.set_faults(Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let r = get(&app, &token, &format!("/v1/workers/{uan}/jobs")).await;
    assert_eq!(r.status(), 503);
    // NCS answering what the gateway cannot read: a 502, recorded as a 502.
    ncs.set_faults(Faults {
        malformed_rate: 1.0,
        ..Default::default()
    });
    let r = get(&app, &token, &format!("/v1/workers/{uan}/jobs")).await;
    assert_eq!(r.status(), 502);
    ncs.set_faults(Faults::default());
    let r = get(&app, &token, &format!("/v1/workers/{uan}/jobs")).await;
    assert_eq!(r.status(), 200);
    let send = ("jobs_send".to_owned(), 102);
    let read = |status: i32| ("read_jobs".to_owned(), status);
    assert_eq!(
        actions().await,
        [
            send.clone(),
            read(503),
            send.clone(),
            read(502),
            send,
            read(200)
        ]
    );
    app.stop().await;
}

#[actix_web::test]
async fn with_myscheme_down_and_no_copy_the_view_says_so_in_the_mappers_words() {
    let app = TestApp::spawn().await;
    let token = app.token("ministry", "schemes:read", None);
    let uan = worker_aged(&app, 509, 33, "10").await;
    app.simulators().sim(SchemeId::Myscheme).set_faults(Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let r = get(&app, &token, &format!("/v1/workers/{uan}/schemes")).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["may_qualify"].is_null());
    assert_eq!(
        v["catalogue_error"],
        "scheme_unavailable: The scheme system is unavailable"
    );
    app.stop().await;
}

#[actix_web::test]
async fn without_scheme_urls_or_simulators_every_scheme_is_not_configured_and_says_so() {
    // As `serve` without `--demo` on a fresh checkout: no URLs, no simulators answering.
    let app = TestApp::spawn_with(|s| s.schemes.allow_local_simulators = false).await;
    let token = app.token("ministry", "schemes:read schemes:enrol", None);
    let v: Value = get(&app, &token, "/v1/schemes").await.json().await.unwrap();
    let health: Vec<&str> = v["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["health"].as_str().unwrap())
        .collect();
    assert_eq!(health, ["not_configured"; 6]);
    let uan = worker_aged(&app, 510, 30, "10").await;
    let r = get(&app, &token, &format!("/v1/workers/{uan}/jobs")).await;
    assert_eq!(r.status(), 503);
    assert!(
        !r.headers().contains_key("retry-after"),
        "it will not come back by itself"
    );
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["code"], "scheme_not_configured");
    let r = enrol(
        &app,
        &token,
        &uan,
        Some("k-none"),
        json!({"scheme": "pmsym"}),
    )
    .await;
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "scheme_not_configured"
    );
    // Nothing left for NCS or PM-SYM, and the enrolment key is not held.
    let sent: i64 = crate::workers::connect(&app)
        .await
        .query_one(
            "SELECT count(*) FROM audit_entries WHERE action IN ('jobs_send', 'enrol_send')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sent, 0);
    let v: Value = get(&app, &token, &format!("/v1/workers/{uan}/schemes"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["catalogue_error"],
        "scheme_not_configured: The scheme is not configured on this gateway"
    );
    app.stop().await;
}

#[actix_web::test]
async fn health_checks_show_each_schemes_health_without_traffic() {
    // Each failed attempt counts towards SIDH's circuit: on a slow machine a second round of
    // checks may start before the first is read, so its circuit must not open in between.
    let app = TestApp::spawn_with(|s| {
        s.schemes.health_check_secs = 1;
        s.schemes.sidh.breaker_failures = 1_000;
    })
    .await;
    app.simulators().sim(SchemeId::Sidh).set_faults(Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let token = app.token("ops", "schemes:read", None);
    let mut health = Value::Null;
    for _ in 0..300 {
        let v: Value = get(&app, &token, "/v1/schemes").await.json().await.unwrap();
        health = v["schemes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["id"].as_str().unwrap().to_owned(), s["health"].clone()))
            .collect::<serde_json::Map<_, _>>()
            .into();
        if health.as_object().unwrap().values().all(|h| h != "unknown") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        health,
        json!({"ncs": "up", "sidh": "degraded", "myscheme": "up", "pmsym": "up", "pmjay": "up", "pmjjby": "up"})
    );
    assert!(app.simulators().sim(SchemeId::Pmjay).requests() >= 1);
    app.stop().await;
}
