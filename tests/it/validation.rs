//! Bad input gets a clear problem+json answer naming the field, never a 500, and loses nothing.

use e2e::{TestApp, registration};
use serde_json::{Value, json};

use crate::workers::registered_uan;

fn with(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

#[actix_web::test]
async fn each_bad_field_is_named_with_its_rule() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let good = registration(10, "09");
    let cases = [
        (
            with(good.clone(), "aadhaar", json!("999941057059")),
            "aadhaar",
            "invalid_check_digit",
        ),
        (
            with(good.clone(), "mobile", json!("987654321")),
            "mobile",
            "invalid_format",
        ),
        (
            with(good.clone(), "date_of_birth", json!("2099-01-01")),
            "date_of_birth",
            "in_future",
        ),
        (
            with(good.clone(), "date_of_birth", json!(fifteen_years_ago())),
            "date_of_birth",
            "age_out_of_range",
        ),
        (
            with(good.clone(), "state_code", json!("99")),
            "state_code",
            "unknown_code",
        ),
        (
            with(good.clone(), "district_code", json!("Lucknow")),
            "district_code",
            "invalid_format",
        ),
        (
            with(good.clone(), "district_code", json!(164)),
            "district_code",
            "invalid_type",
        ),
        (
            with(good.clone(), "pincode", json!("012345")),
            "pincode",
            "invalid_format",
        ),
        (
            with(good.clone(), "gender", json!("x")),
            "gender",
            "unknown_value",
        ),
        (
            with(good.clone(), "occupation_nco", json!("9313")),
            "occupation_nco",
            "invalid_format",
        ),
        (
            with(good.clone(), "monthly_income_inr", json!(-5)),
            "monthly_income_inr",
            "out_of_range",
        ),
        (
            with(good.clone(), "monthly_income_inr", json!("9000")),
            "monthly_income_inr",
            "invalid_type",
        ),
        (
            with(good.clone(), "favourite_colour", json!("red")),
            "favourite_colour",
            "unknown_field",
        ),
        (
            with(
                good.clone(),
                "declarations",
                json!({"epfo_member": true, "esic_member": false, "nps_member": false, "income_tax_payer": false}),
            ),
            "declarations.epfo_member",
            "not_eligible",
        ),
        (
            with(
                good.clone(),
                "bank_account",
                json!({"account_number": "30412345678", "ifsc": "SBIN1234567"}),
            ),
            "bank_account.ifsc",
            "invalid_format",
        ),
        (
            with(good.clone(), "name", json!("x".repeat(500))),
            "name",
            "too_long",
        ),
        (
            with(good.clone(), "aadhaar", json!(999941057058u64)),
            "aadhaar",
            "invalid_type",
        ),
    ];
    for (body, field, code) in cases {
        let res = app
            .http
            .post(app.url("/v1/workers"))
            .bearer_auth(&t)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{field}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let text = res.text().await.unwrap();
        assert!(
            !text.contains("999941057058"),
            "an Aadhaar number echoed back: {text}"
        );
        let p: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(p["status"], 422);
        assert_eq!(p["code"], "validation_failed");
        assert!(p["request_id"].is_string());
        assert_eq!(
            (
                p["errors"][0]["field"].as_str().unwrap(),
                p["errors"][0]["code"].as_str().unwrap()
            ),
            (field, code),
            "{p}"
        );
    }
    // A missing field is named too.
    let mut body = good.clone();
    body.as_object_mut().unwrap().remove("relative_name");
    let p: Value = app
        .http
        .post(app.url("/v1/workers"))
        .bearer_auth(&t)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["errors"][0]["field"], "relative_name");
    assert_eq!(p["errors"][0]["code"], "required");
    // Several broken rules are all reported at once.
    let mut body = good.clone();
    body["mobile"] = json!("1");
    body["pincode"] = json!("1");
    let p: Value = app
        .http
        .post(app.url("/v1/workers"))
        .bearer_auth(&t)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["errors"].as_array().unwrap().len(), 2);
    assert_eq!(app.state.store().count_workers().await.unwrap(), 0);
    app.stop().await;
}

/// The `(field, code)` pairs of a problem's `errors`, sorted.
fn problems(p: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = p["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {p}"))
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .collect();
    v.sort();
    v
}

#[actix_web::test]
async fn a_missing_unknown_or_mistyped_field_is_one_more_error_never_a_reason_to_skip_the_others() {
    let app = TestApp::spawn().await;
    let t = app.token(
        "ministry",
        "workers:write workers:match workers:verify",
        None,
    );
    let post = async |path: &str, body: &Value| -> Value {
        let res = app
            .http
            .post(app.url(path))
            .bearer_auth(&t)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        res.json().await.unwrap()
    };
    // Five broken rules, a missing field, an unknown one, a mistyped one and one nested deeper.
    let mut body = registration(12, "09");
    body["mobile"] = json!("1");
    body["pincode"] = json!("1");
    body["gender"] = json!("x");
    body["aadhaar"] = json!("999941057059");
    body["occupation_nco"] = json!("9313");
    body.as_object_mut().unwrap().remove("monthly_income_inr");
    body["favourite_colour"] = json!("red");
    body["district_code"] = json!(164);
    body["bank_account"] =
        json!({"account_number": "30412345678", "ifsc": "SBIN1234567", "branch": "x"});
    body["declarations"] = json!({"epfo_member": true, "esic_member": false, "nps_member": false});
    let p = post("/v1/workers", &body).await;
    assert_eq!(
        problems(&p),
        pairs(&[
            ("mobile", "invalid_format"),
            ("pincode", "invalid_format"),
            ("gender", "unknown_value"),
            ("aadhaar", "invalid_check_digit"),
            ("occupation_nco", "invalid_format"),
            ("monthly_income_inr", "required"),
            ("favourite_colour", "unknown_field"),
            ("district_code", "invalid_type"),
            ("bank_account.branch", "unknown_field"),
            ("bank_account.ifsc", "invalid_format"),
            ("declarations.income_tax_payer", "required"),
            ("declarations.epfo_member", "not_eligible"),
        ]),
        "{p}"
    );
    assert_eq!(p["detail"], "12 field(s) failed validation", "{p}");
    assert!(!p.to_string().contains("999941057059"));
    // A whole missing object is one error, not one per field inside it.
    let mut body = registration(12, "09");
    body.as_object_mut().unwrap().remove("declarations");
    body["pincode"] = json!("1");
    let p = post("/v1/workers", &body).await;
    assert_eq!(
        problems(&p),
        pairs(&[("declarations", "required"), ("pincode", "invalid_format")]),
        "{p}"
    );
    // In a match, one record's missing id does not hide another's bad date or a bad limit.
    let p = post(
        "/v1/match",
        &json!({"limit": 50, "records": [
            {"full_name": "Ram Kumar", "dob": "1990-01-01"},
            {"id": "b", "full_name": "Sita Devi", "dob": "1990-13-45", "extra": 1},
            {"id": 3, "full_name": "Gita"}
        ]}),
    )
    .await;
    assert_eq!(
        problems(&p),
        pairs(&[
            ("limit", "out_of_range"),
            ("records[0].id", "required"),
            ("records[1].dob", "invalid_format"),
            ("records[1].extra", "unknown_field"),
            ("records[2].id", "invalid_type"),
        ]),
        "{p}"
    );
    // Verification: a bad UAN and a bad mobile together.
    let p = post(
        "/v1/workers/verify",
        &json!({"uan": "12", "mobile": "12", "colour": "red"}),
    )
    .await;
    assert_eq!(
        problems(&p),
        pairs(&[
            ("uan", "invalid_format"),
            ("mobile", "invalid_format"),
            ("colour", "unknown_field"),
        ]),
        "{p}"
    );
    assert_eq!(app.state.store().count_workers().await.unwrap(), 0);
    app.stop().await;
}

#[actix_web::test]
async fn the_error_list_of_one_body_is_capped() {
    let app = TestApp::spawn().await;
    let records: Vec<Value> = (0..300).map(|_| json!({"full_name": "Ram"})).collect();
    let p: Value = app
        .http
        .post(app.url("/v1/match"))
        .bearer_auth(app.token("ministry", "workers:match", None))
        .json(&json!({ "records": records }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let errors = p["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 101, "{p}");
    assert_eq!(errors[0]["field"], "records[0].id");
    assert_eq!(errors[100]["code"], "too_many_errors");
    app.stop().await;
}

#[actix_web::test]
async fn the_age_rule_is_applied_on_the_gateways_clock_date() {
    // Born 1 January 2011: 15 on 1 December 2026, 17 on 1 January 2028. The same registration is
    // refused or taken according to the date the gateway's clock gives, whatever today is.
    let mut body = registration(13, "09");
    body["date_of_birth"] = json!("2011-01-01");
    for (now, status) in [("2026-12-01T06:00:00Z", 422), ("2028-01-01T06:00:00Z", 201)] {
        let app = TestApp::spawn_at(now.parse().unwrap()).await;
        let res = app
            .http
            .post(app.url("/v1/workers"))
            .bearer_auth(app.admin_token())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "on {now}");
        if status == 422 {
            let p: Value = res.json().await.unwrap();
            assert_eq!(
                problems(&p),
                pairs(&[("date_of_birth", "age_out_of_range")])
            );
        }
        app.stop().await;
    }
}

fn fifteen_years_ago() -> String {
    let today = chrono::Utc::now().date_naive();
    (today - chrono::Duration::days(15 * 365 + 10))
        .format("%Y-%m-%d")
        .to_string()
}

#[actix_web::test]
async fn unreadable_bodies_get_400_413_and_415_and_nothing_already_accepted_is_lost() {
    // A 16 KiB limit (the default is 1 MiB) keeps the oversized bodies small enough to be sent whole
    // before the answer comes, so the client reads the 413 instead of a reset connection.
    let app = TestApp::spawn_with(|s| s.limits.body_bytes = 16 * 1024).await;
    let t = app.admin_token();
    assert_eq!(
        app.http
            .post(app.url("/v1/workers"))
            .bearer_auth(&t)
            .json(&registration(11, "09"))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let post = |ct: &str, body: Vec<u8>| {
        app.http
            .post(app.url("/v1/workers"))
            .bearer_auth(&t)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "application/json",
            b"{\"name\": ".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "application/json",
            b"{\"name\": \"\xff\xfe\"}".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "application/json",
            b"[1, 2]".to_vec(),
            422,
            "validation_failed",
        ),
        (
            "application/json",
            b"{\"name\": \"a\", \"name\": \"b\"}".to_vec(),
            422,
            "validation_failed",
        ),
        (
            "text/plain",
            registration(12, "09").to_string().into_bytes(),
            415,
            "unsupported_media_type",
        ),
        (
            "application/xml",
            b"<worker/>".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "application/json",
            vec![b' '; 48 * 1024],
            413,
            "payload_too_large",
        ),
    ];
    for (ct, body, status, code) in cases {
        let res = post(ct, body).await.unwrap();
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let got = res.status();
        let p: Value = res.json().await.unwrap();
        assert_eq!(got, status, "{code}: {p}");
        assert_eq!(p["code"], code);
    }
    // A chunked body (no Content-Length) over the limit is cut off while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..4).map(|_| Ok(vec![b' '; 8 * 1024])).collect();
    let res = app
        .http
        .post(app.url("/v1/workers"))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // JSON nested deeper than the parser's recursion limit is refused, not a stack overflow.
    let created: Value = app
        .http
        .get(app.url("/v1/workers"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uan = created["items"][0]["uan"].as_str().unwrap().to_owned();
    let deep = format!(
        "{{\"address\": {}{}}}",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let res = app
        .http
        .patch(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&t)
        .header("content-type", "application/merge-patch+json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Invalid parameters: named, never a 500.
    for (path, field) in [
        ("/v1/workers/12345", "uan"),
        ("/v1/workers/1%27%20OR%201=1--", "uan"),
        ("/v1/workers?limit=-1", "limit"),
        ("/v1/workers?cursor=-5", "cursor"),
        ("/v1/workers?changed_since_seq=abc", "changed_since_seq"),
        (
            "/v1/workers?state_code=%27%3B%20DROP%20TABLE%20workers%3B--",
            "state_code",
        ),
    ] {
        let res = app
            .http
            .get(app.url(path))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{path}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["errors"][0]["field"], field, "{path}");
    }
    let long = "9".repeat(10_000);
    let res = app
        .http
        .get(app.url(&format!("/v1/workers/{long}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    assert_eq!(app.state.store().count_workers().await.unwrap(), 1);
    let page: Value = app
        .http
        .get(app.url("/v1/workers?limit=99999999999999999999"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[actix_web::test]
async fn each_route_has_the_body_limit_configured_for_it() {
    let app = TestApp::spawn_with(|s| {
        s.limits.verify_body_bytes = 2048;
        s.limits.enrolment_body_bytes = 2048;
        s.limits.token_body_bytes = 2048;
    })
    .await;
    let t = app.token(
        "ops",
        "workers:read workers:write workers:verify schemes:enrol",
        None,
    );
    let uan = &registered_uan(&app, &t, &registration(13, "09")).await;
    // 3 KiB: well under registration's 1 MiB, over these routes' 2 KiB.
    let padding = "x".repeat(3 * 1024);
    for path in [
        "/v1/workers/verify".to_owned(),
        format!("/v1/workers/{uan}/enrolments"),
    ] {
        let res = app
            .http
            .post(app.url(&path))
            .bearer_auth(&t)
            .header("idempotency-key", "body-limit")
            .json(&json!({"uan": uan, "name": padding, "scheme": "pmsym"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413, "{path}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "payload_too_large", "{path}");
    }
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id=a&client_secret={padding}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let error: Value = res.json().await.unwrap();
    assert_eq!(error["error"], "invalid_request");
    // Under the limit, the same routes read the body.
    let res = app
        .http
        .post(app.url("/v1/workers/verify"))
        .bearer_auth(&t)
        .json(&json!({"uan": uan, "name": "Mohd. Irfan", "date_of_birth": "1991-04-12"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.stop().await;
}
