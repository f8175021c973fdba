//! No Aadhaar number, secret or token ever reaches a log line, whatever route it comes in by.

use e2e::{TestApp, captured_logs, registration};
use serde_json::{Value, json};

use crate::workers::connect;

#[actix_web::test]
async fn logs_of_a_full_run_hold_no_aadhaar_secret_or_token() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let body = registration(40, "09");
    let aadhaar = body["aadhaar"].as_str().unwrap().to_owned();
    let post = |body: Value, token: &str| {
        app.http
            .post(app.url("/v1/workers"))
            .bearer_auth(token)
            // Client-chosen identifiers are where personal data slips into logs.
            .header("Idempotency-Key", aadhaar.as_str())
            .header("X-Request-Id", aadhaar.as_str())
            .json(&body)
            .send()
    };
    let created: Value = post(body.clone(), &t).await.unwrap().json().await.unwrap();
    let _ = post(body.clone(), &t).await.unwrap();
    let mut bad = body.clone();
    bad["aadhaar"] = json!(format!("{}0", &aadhaar[..11]));
    bad["mobile"] = json!(aadhaar.clone());
    let _ = post(bad, &t).await.unwrap();
    let _ = post(json!({"aadhaar": aadhaar.parse::<u64>().unwrap()}), &t)
        .await
        .unwrap();
    let _ = post(body.clone(), "not-a-token").await.unwrap();
    let uan = created["uan"].as_str().unwrap();
    let _ = app
        .http
        .get(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let _ = app
        .http
        .get(app.url(&format!("/v1/workers/{aadhaar}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let _ = app
        .http
        .get(app.url(&format!("/v1/workers?cursor={aadhaar}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let _ = app
        .http
        .patch(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&t)
        .json(&json!({"aadhaar": aadhaar, "nominee": {"name": aadhaar, "relation": "spouse"}}))
        .send()
        .await
        .unwrap();
    // The token endpoint: an Aadhaar number as a client id, and a real client's secret and token.
    let _ = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &aadhaar),
            ("client_secret", "x"),
        ])
        .send()
        .await
        .unwrap();
    let secret = gateway::auth::new_client_secret().unwrap();
    app.state
        .store()
        .add_client(&store::Client {
            client_id: "log-test".into(),
            secret_hash: gateway::auth::hash_client_secret(&secret),
            scopes: vec!["workers:read".into()],
            states: None,
            purposes: vec!["operations".into()],
            rate_limit_rps: None,
            enabled: true,
        })
        .await
        .unwrap();
    let issued: Value = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "log-test"),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = issued["access_token"].as_str().unwrap().to_owned();
    let _ = app
        .http
        .get(app.url("/v1/workers"))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap();

    let logs = captured_logs();
    assert!(logs.contains(uan), "the run was logged");
    assert!(logs.contains("Request served."));
    assert!(
        !logs.contains(&aadhaar[..8]),
        "part of an Aadhaar number reached the logs"
    );
    for secret_thing in [
        t.rsplit('.').next().unwrap(),
        access_token.rsplit('.').next().unwrap(),
        &secret,
        "not-a-token",
    ] {
        assert!(
            !logs.contains(secret_thing),
            "a token or secret reached the logs"
        );
    }
    // Beyond the numbers this test sent: no Verhoeff-valid 12-digit number that could be an Aadhaar
    // number (first digit 2-9) appears anywhere in the process's logs, other than in `uan` fields,
    // which hold the registry's own identifiers (this test's workers are checked to be UANs).
    let db = connect(&app).await;
    let ours: Vec<String> = db
        .query("SELECT uan FROM workers", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut suspicious = Vec::new();
    for line in logs.lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        if let Some(u) = v.as_object_mut().and_then(|m| m.remove("uan")) {
            let u = u.as_str().unwrap_or_default().to_owned();
            assert!(domain::Uan::parse(&u).is_ok(), "a uan field holds {u:?}");
        }
        // Strings and integers; not the fractions of floats (a latency of 0.945321556439 ms holds a
        // 12-digit run that is no identifier).
        let mut texts = Vec::new();
        collect_texts(&v, &mut texts);
        for text in &texts {
            suspicious.extend(
                twelve_digit_runs(text)
                    .into_iter()
                    .filter(|n| domain::Aadhaar::parse(n).is_ok())
                    .map(str::to_owned),
            );
        }
    }
    assert!(ours.iter().all(|u| logs.contains(u.as_str())));
    assert!(
        suspicious.is_empty(),
        "Aadhaar-like numbers in the logs: {suspicious:?}"
    );
    // Every line written while serving a request carries its id.
    for line in logs
        .lines()
        .filter(|l| l.contains(r#""span""#) || l.contains("Request served."))
    {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["span"]["request_id"].is_string(), "{line}");
    }
    app.stop().await;
}

/// Every string and integer in a JSON value, as text.
fn collect_texts(v: &Value, out: &mut Vec<String>) {
    match v {
        // Request ids are UUIDs, whose last group is 12 hex digits and sometimes all decimal.
        Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => {}
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|x| collect_texts(x, out)),
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            out.push(k.clone());
            collect_texts(x, out)
        }),
        _ => {}
    }
}

/// Maximal runs of exactly 12 ASCII digits.
fn twelve_digit_runs(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 12 {
                out.push(&text[start..i]);
            }
        } else {
            i += 1;
        }
    }
    out
}
