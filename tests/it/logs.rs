//! No Aadhaar number and no token ever reaches a log line.

use e2e::{TestApp, captured_logs, registration};
use serde_json::{Value, json};

#[actix_web::test]
async fn logs_of_a_full_run_hold_no_aadhaar_and_no_token() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let body = registration(40, "09");
    let aadhaar = body["aadhaar"].as_str().unwrap().to_owned();
    let post = |body: Value, token: &str| {
        app.http
            .post(app.url("/v1/workers"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let created: Value = post(body.clone(), &t).await.unwrap().json().await.unwrap();
    assert_eq!(post(body.clone(), &t).await.unwrap().status(), 409);
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
        .patch(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&t)
        .json(&json!({"aadhaar": aadhaar}))
        .send()
        .await
        .unwrap();

    let logs = captured_logs();
    assert!(logs.contains(uan), "the run was logged");
    assert!(logs.contains("Request served."));
    assert!(
        !logs.contains(&aadhaar),
        "an Aadhaar number reached the logs"
    );
    assert!(
        !logs.contains(&aadhaar[..8]),
        "part of an Aadhaar number reached the logs"
    );
    let signature = t.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature), "a token reached the logs");
    assert!(!logs.contains("not-a-token"));
    // Every request line carries the request id.
    for line in logs.lines().filter(|l| l.contains("Request served.")) {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["span"]["request_id"].is_string(), "{line}");
    }
    app.stop().await;
}
