//! Purpose limitation: a token's purpose decides which fields it sees; verification answers match or
//! no match without the record; per-client rate limits.

use e2e::{TestApp, registration};
use serde_json::{Value, json};

use crate::workers::{connect, register, registered_uan};

#[actix_web::test]
async fn each_purpose_sees_only_its_fields() {
    let app = TestApp::spawn().await;
    let ops = app.admin_token();
    let created: Value = register(&app, &ops, &registration(60, "10"))
        .await
        .json()
        .await
        .unwrap();
    let uan = created["uan"].as_str().unwrap();
    let read = |purpose: &'static str| {
        let token = app.token_for("partner", "workers:read", None, purpose);
        let req = app
            .http
            .get(app.url(&format!("/v1/workers/{uan}")))
            .bearer_auth(token);
        async move { req.send().await.unwrap() }
    };
    let v: Value = read("verification").await.json().await.unwrap();
    assert_eq!(
        v,
        json!({"uan": uan, "name": "Mohd. Irfan", "date_of_birth": "1991-04-12", "mobile": "XXXXXX3210"})
    );
    let v: Value = read("analytics").await.json().await.unwrap();
    assert_eq!(v["date_of_birth"], "1991");
    assert!(
        v.get("name").is_none() && v.get("mobile").is_none() && v.get("bank_account").is_none()
    );
    let v: Value = read("scheme-enrolment").await.json().await.unwrap();
    assert_eq!(v["bank_account"]["ifsc"], "SBIN0001234");
    assert!(v.get("education").is_none());
    let v: Value = read("operations").await.json().await.unwrap();
    assert_eq!(v, created);
    // Lists are cut the same way.
    let token = app.token_for("partner", "workers:read", None, "verification");
    let page: Value = app
        .http
        .get(app.url("/v1/workers"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0].as_object().unwrap().len(), 4);
    // A purpose the gateway does not know is refused.
    let res = read("curiosity").await;
    assert_eq!(res.status(), 403);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["code"], "unknown_purpose");
    app.stop().await;
}

/// Scheme eligibility and job matches are derived from worker fields, so they cannot be cut down
/// field by field: only a purpose that may see those fields whole is shown them.
#[actix_web::test]
async fn derived_views_are_shown_only_to_purposes_that_see_their_fields() {
    let app = TestApp::spawn().await;
    let uan = &registered_uan(&app, &app.admin_token(), &registration(63, "10")).await;
    let view = |purpose: &'static str, path: &'static str| {
        let token = app.token_for("partner", "schemes:read", None, purpose);
        let req = app
            .http
            .get(app.url(&format!("/v1/workers/{uan}/{path}")))
            .bearer_auth(token);
        async move { req.send().await.unwrap() }
    };
    for (purpose, schemes, jobs) in [
        ("operations", 200, 200),
        ("scheme-enrolment", 200, 200),
        ("job-matching", 403, 200),
        ("analytics", 403, 200),
        ("verification", 403, 403),
    ] {
        for (path, expected) in [("schemes", schemes), ("jobs", jobs)] {
            let res = view(purpose, path).await;
            assert_eq!(res.status(), expected, "{purpose} {path}");
            if expected == 403 {
                let problem: Value = res.json().await.unwrap();
                assert_eq!(problem["code"], "purpose_not_allowed", "{purpose} {path}");
                assert!(
                    problem["detail"].as_str().unwrap().contains(purpose),
                    "{problem}"
                );
                assert!(!problem.to_string().contains("Irfan"), "{problem}");
            }
        }
    }
    // Each view served is on the record with the fields it was built from; a refused one read
    // nothing and is not.
    let entries: Vec<(String, String, Vec<String>, i32)> = connect(&app)
        .await
        .query(
            "SELECT action, purpose, fields, status FROM audit_entries \
             WHERE uans = ARRAY[$1] AND action LIKE 'read_%' ORDER BY seq",
            &[&uan],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let schemes_fields: Vec<String> = [
        "date_of_birth",
        "gender",
        "state_code",
        "social_category",
        "monthly_income_inr",
        "occupation_nco",
        "bank_account",
    ]
    .map(str::to_owned)
    .to_vec();
    let jobs_fields = vec!["district_code".to_owned(), "occupation_nco".to_owned()];
    let entry = |action: &str, purpose: &str, fields: &Vec<String>| {
        (action.to_owned(), purpose.to_owned(), fields.clone(), 200)
    };
    assert_eq!(
        entries,
        [
            entry("read_schemes", "operations", &schemes_fields),
            entry("read_jobs", "operations", &jobs_fields),
            entry("read_schemes", "scheme-enrolment", &schemes_fields),
            entry("read_jobs", "scheme-enrolment", &jobs_fields),
            entry("read_jobs", "job-matching", &jobs_fields),
            entry("read_jobs", "analytics", &jobs_fields),
        ]
    );
    app.stop().await;
}

#[actix_web::test]
async fn clients_get_tokens_only_for_their_purposes() {
    let app = TestApp::spawn().await;
    let secret = gateway::auth::new_client_secret().unwrap();
    app.state
        .store()
        .add_client(&store::Client {
            client_id: "ncs".into(),
            secret_hash: gateway::auth::hash_client_secret(&secret),
            scopes: vec!["workers:read".into()],
            states: None,
            purposes: vec!["job-matching".into()],
            rate_limit_rps: None,
            enabled: true,
        })
        .await
        .unwrap();
    let ask = |purpose: Option<&'static str>| {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", "ncs"),
            ("client_secret", secret.as_str()),
        ];
        if let Some(p) = purpose {
            form.push(("purpose", p));
        }
        let req = app.http.post(app.url("/oauth/token")).form(&form);
        async move { req.send().await.unwrap() }
    };
    let res = ask(None).await;
    assert_eq!(res.status(), 200);
    let token: Value = res.json().await.unwrap();
    let caller = app
        .state
        .tokens
        .verify(token["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        caller.purpose, "job-matching",
        "the client's first purpose by default"
    );
    let res = ask(Some("operations")).await;
    assert_eq!(res.status(), 400);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["error"], "invalid_request");
    app.stop().await;
}

#[actix_web::test]
async fn verification_answers_match_or_not_without_the_record() {
    let app = TestApp::spawn().await;
    let ops = app.admin_token();
    let uan = &registered_uan(&app, &ops, &registration(61, "10")).await;
    let bank = app.token("bank", "workers:verify", None);
    let up_bank = app.token("up-bank", "workers:verify", Some(&["09"]));
    let verify = |token: &str, body: Value| {
        let req = app
            .http
            .post(app.url("/v1/workers/verify"))
            .bearer_auth(token)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let res = verify(
        &bank,
        json!({"uan": uan, "name": "MOHD IRFAN", "date_of_birth": "1991-04-12"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        !text.contains("Irfan") && !text.contains("9876543210"),
        "the record is not returned: {text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["match"], true);
    assert!(v["score"].as_f64().unwrap() > 0.9);

    let v: Value = verify(
        &bank,
        json!({"uan": uan, "name": "Mohd Irfan", "date_of_birth": "1991-04-13"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["match"], false);
    assert_eq!(
        v["score"], 0.0,
        "no per-field oracle: a near miss scores like a total miss"
    );
    let v: Value = verify(
        &bank,
        json!({"uan": uan, "name": "Sunita Devi", "date_of_birth": "1991-04-12"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["match"], false);
    let v: Value = verify(&bank, json!({"uan": uan, "mobile": "+91 98765 43210"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (v["match"].as_bool(), v["checked"].clone()),
        (Some(true), json!(["mobile"]))
    );

    assert_eq!(verify(&bank, json!({"uan": uan})).await.status(), 422);
    assert_eq!(
        verify(&bank, json!({"uan": uan, "mobile": "1"}))
            .await
            .status(),
        422
    );
    assert_eq!(
        verify(&up_bank, json!({"uan": uan, "mobile": "9876543210"}))
            .await
            .status(),
        404
    );
    assert_eq!(
        verify(&ops, json!({"uan": uan, "mobile": "9876543210"}))
            .await
            .status(),
        403
    );
    // Every check is on the record: who asked, which fields were compared, and the outcome (the
    // other state's bank as a 404); refused requests read nothing and are not.
    let entries: Vec<(String, Vec<String>, i32)> = connect(&app)
        .await
        .query(
            "SELECT client_id, fields, status FROM audit_entries \
             WHERE uans = ARRAY[$1] AND action = 'verify' ORDER BY seq",
            &[&uan],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert!(
        entries
            .iter()
            .all(|(client, _, _)| client == "bank" || client == "up-bank"),
        "{entries:?}"
    );
    assert_eq!(
        entries.last().unwrap(),
        &("up-bank".to_owned(), vec![], 404)
    );
    assert!(
        entries
            .iter()
            .any(|(_, fields, status)| *status == 200 && fields == &["mobile".to_owned()]),
        "{entries:?}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let app = TestApp::spawn_with(|s| {
        s.limits.rate_limit_rps = 1;
        s.limits.rate_limit_burst = 3;
    })
    .await;
    let t = app.token("chatty", "workers:read", None);
    let mut statuses = Vec::new();
    let mut retry_after = None;
    let started = std::time::Instant::now();
    for _ in 0..10 {
        let res = app
            .http
            .get(app.url("/v1/workers"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        if res.status() == 429 {
            retry_after = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let p: Value = res.json().await.unwrap();
            assert_eq!(p["code"], "rate_limited");
            statuses.push(429);
        } else {
            statuses.push(res.status().as_u16());
        }
    }
    // The burst of 3 passes, then the bucket refuses; at 1 request/s only as many more pass as
    // whole seconds went by (the exact sequence is in the limiter's unit tests).
    assert_eq!(statuses[..3], [200, 200, 200]);
    let passed = statuses.iter().filter(|s| **s == 200).count() as u64;
    assert!(
        passed <= 3 + started.elapsed().as_secs() + 1,
        "{statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429));
    assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
    // Other clients have buckets of their own; a client's own configured rate applies to it.
    let other = app.token("quiet", "workers:read", None);
    assert_eq!(
        app.http
            .get(app.url("/v1/workers"))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.state
        .store()
        .add_client(&store::Client {
            client_id: "state-bulk".into(),
            secret_hash: gateway::auth::hash_client_secret("unused"),
            scopes: vec!["workers:read".into()],
            states: None,
            purposes: vec!["operations".into()],
            rate_limit_rps: Some(1000),
            enabled: true,
        })
        .await
        .unwrap();
    let bulk = app.token("state-bulk", "workers:read", None);
    for _ in 0..20 {
        assert_eq!(
            app.http
                .get(app.url("/v1/workers"))
                .bearer_auth(&bulk)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    app.stop().await;
}
