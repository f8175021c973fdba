//! Registering, reading, changing and pulling workers.

use std::collections::HashMap;

use e2e::{TestApp, registration};
use serde_json::{Value, json};

pub async fn register(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.http
        .post(app.url("/v1/workers"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Registers `body` and returns the new worker's UAN.
pub async fn registered_uan(app: &TestApp, token: &str, body: &Value) -> String {
    let created: Value = register(app, token, body).await.json().await.unwrap();
    created["uan"].as_str().unwrap().to_owned()
}

/// `GET path` with the bearer token.
pub(crate) async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn patch(
    app: &TestApp,
    token: &str,
    uan: &str,
    body: &Value,
) -> reqwest::Response {
    app.http
        .patch(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(token)
        .header("content-type", "application/merge-patch+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn register_then_read_shows_the_masked_record_and_never_the_aadhaar() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let body = registration(1, "09");
    let aadhaar = body["aadhaar"].as_str().unwrap().to_owned();
    let res = register(&app, &t, &body).await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let text = res.text().await.unwrap();
    assert!(!text.contains(&aadhaar));
    let created: Value = serde_json::from_str(&text).unwrap();
    let uan = created["uan"].as_str().unwrap();
    assert_eq!(location, format!("/v1/workers/{uan}"));
    assert!(domain::Uan::parse(uan).is_ok());
    assert_eq!(
        created["aadhaar_masked"],
        format!("XXXX-XXXX-{}", &aadhaar[8..])
    );
    assert_eq!(created["mobile"], "9876543210");
    assert_eq!(created["state_name"], "Uttar Pradesh");

    let res = get(&app, &t, &location).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains(&aadhaar));
    let read: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(read, created);

    // The vault holds the number, sealed; no other column does.
    let client = connect(&app).await;
    let row = client
        .query_one("SELECT aadhaar_token, aadhaar_last4, row_to_json(w)::text FROM workers w WHERE uan = $1", &[&uan])
        .await
        .unwrap();
    assert!(!row.get::<_, String>(2).contains(&aadhaar));
    assert_eq!(row.get::<_, String>(0).len(), 64);
    let sealed = app
        .state
        .store()
        .sealed_aadhaar(&domain::Uan::parse(uan).unwrap())
        .await
        .unwrap()
        .unwrap();
    let opened = app
        .state
        .vault_key
        .get()
        .open(&sealed, &domain::Uan::parse(uan).unwrap())
        .unwrap();
    assert_eq!(opened.expose_digits(), aadhaar);
    app.stop().await;
}

pub async fn connect(app: &TestApp) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&app.db_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    actix_web::rt::spawn(conn);
    client
}

#[actix_web::test]
async fn a_replayed_post_answers_the_same_and_registers_once() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let body = registration(2, "10");
    let send = |body: Value, key: &'static str| {
        let req = app
            .http
            .post(app.url("/v1/workers"))
            .bearer_auth(&t)
            .header("Idempotency-Key", key)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let first = send(body.clone(), "reg-0002").await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send(body.clone(), "reg-0002").await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(app.state.store().count_workers().await.unwrap(), 1);

    // The same request re-serialised (keys in reverse order, other whitespace) is the same request.
    let reordered: String = {
        let m = body.as_object().unwrap();
        let parts: Vec<String> = m
            .iter()
            .rev()
            .map(|(k, v)| format!("\n  {}  :  {}", json!(k), v))
            .collect();
        format!("{{{}\n}}", parts.join(" ,"))
    };
    assert_ne!(reordered, body.to_string());
    let res = app
        .http
        .post(app.url("/v1/workers"))
        .bearer_auth(&t)
        .header("Idempotency-Key", "reg-0002")
        .header("Content-Type", "application/json")
        .body(reordered)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    assert_eq!(res.json::<Value>().await.unwrap(), first);
    assert_eq!(app.state.store().count_workers().await.unwrap(), 1);

    // The same key with another body is refused, and nothing is added.
    let mut other = body.clone();
    other["mobile"] = json!("9123456780");
    let res = send(other, "reg-0002").await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["code"], "idempotency_key_reused");
    assert_eq!(app.state.store().count_workers().await.unwrap(), 1);

    // Keys are per client: another client's identical key is its own, so this is a duplicate Aadhaar.
    let other_client = app.token("other", "workers:write", None);
    let res = app
        .http
        .post(app.url("/v1/workers"))
        .bearer_auth(&other_client)
        .header("Idempotency-Key", "reg-0002")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    app.stop().await;
}

#[actix_web::test]
async fn concurrent_registration_of_one_aadhaar_creates_exactly_one_worker() {
    let app = TestApp::spawn().await;
    let a = app.token("ministry-a", "workers:read workers:write", None);
    let b = app.token("ministry-b", "workers:read workers:write", None);
    let body = registration(3, "20");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let token = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (http, url, body) = (app.http.clone(), app.url("/v1/workers"), body.clone());
        tasks.push(actix_web::rt::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }));
    }
    let mut statuses = Vec::new();
    let mut uans = Vec::new();
    for t in tasks {
        let res = t.await.unwrap();
        statuses.push(res.status().as_u16());
        let v: Value = res.json().await.unwrap();
        uans.push(
            v.get("uan")
                .or(v.get("existing_uan"))
                .and_then(Value::as_str)
                .unwrap()
                .to_owned(),
        );
    }
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    assert!(
        uans.windows(2).all(|w| w[0] == w[1]),
        "every 409 names the one UAN: {uans:?}"
    );
    assert_eq!(app.state.store().count_workers().await.unwrap(), 1);
    // The one registration is on the record once; the others as the duplicate checks they were.
    let actions: Vec<(String, i64)> = connect(&app)
        .await
        .query(
            "SELECT action, count(*) FROM audit_entries WHERE uans = ARRAY[$1] GROUP BY action ORDER BY action",
            &[&uans[0]],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        actions,
        [("create".to_owned(), 1), ("duplicate_check".to_owned(), 7)]
    );
    app.stop().await;
}

#[actix_web::test]
async fn duplicate_aadhaar_names_the_uan_only_to_callers_of_that_state() {
    let app = TestApp::spawn().await;
    let up = app.token("up-portal", "workers:read workers:write", Some(&["09"]));
    let bihar = app.token("bihar-portal", "workers:read workers:write", Some(&["10"]));
    let body = registration(4, "09");
    let created: Value = register(&app, &up, &body).await.json().await.unwrap();
    let res = register(&app, &up, &body).await;
    assert_eq!(res.status(), 409);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["code"], "aadhaar_already_registered");
    assert_eq!(p["existing_uan"], created["uan"]);
    // Bihar registering the same person in Bihar: a conflict, but UP's UAN stays hidden.
    let mut in_bihar = body.clone();
    in_bihar["state_code"] = json!("10");
    let res = register(&app, &bihar, &in_bihar).await;
    assert_eq!(res.status(), 409);
    let p: Value = res.json().await.unwrap();
    assert!(p.get("existing_uan").is_none());
    // And Bihar cannot register a worker in UP at all.
    let res = register(&app, &bihar, &registration(5, "09")).await;
    assert_eq!(res.status(), 422);
    app.stop().await;
}

#[actix_web::test]
async fn patch_changes_what_may_change_and_refuses_the_rest() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let created: Value = register(&app, &t, &registration(6, "09"))
        .await
        .json()
        .await
        .unwrap();
    let uan = created["uan"].as_str().unwrap();

    let res = patch(
        &app,
        &t,
        uan,
        &json!({"mobile": "07654321098", "nominee": null, "bank_account": {"ifsc": "HDFC0000001"}}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["mobile"], "7654321098");
    assert_eq!(changed["nominee"], Value::Null);
    assert_eq!(
        changed["bank_account"],
        json!({"account_number": "30412345678", "ifsc": "HDFC0000001"})
    );
    assert!(changed["change_seq"].as_i64() > created["change_seq"].as_i64());
    assert_eq!(changed["created_at"], created["created_at"]);

    // The same patch again changes nothing, not even change_seq.
    let again: Value = patch(&app, &t, uan, &json!({"mobile": "07654321098"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["change_seq"], changed["change_seq"]);

    for (body, field) in [
        (json!({"uan": "000000000000"}), "uan"),
        (json!({"aadhaar": "999941057058"}), "aadhaar"),
        (json!({"created_at": "2020-01-01T00:00:00Z"}), "created_at"),
        (json!({"change_seq": 1}), "change_seq"),
        (json!({"name": "Someone Else"}), "name"),
        (json!({"favourite_colour": "red"}), "favourite_colour"),
        (json!({"mobile": null}), "mobile"),
        (json!({"pincode": "12"}), "pincode"),
    ] {
        let res = patch(&app, &t, uan, &body).await;
        assert_eq!(res.status(), 422, "{body}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["errors"][0]["field"], field, "{body}");
    }
    // A mass-assignment attempt mixed with a valid change changes nothing.
    let res = patch(&app, &t, uan, &json!({"mobile": "9000000001", "uan": "1"})).await;
    assert_eq!(res.status(), 422);
    // A key given twice is refused, not resolved by taking one of them.
    let res = app
        .http
        .patch(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&t)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"mobile": "9000000002", "mobile": "9000000003"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let now: Value = get(&app, &t, &format!("/v1/workers/{uan}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now, changed);
    app.stop().await;
}

#[actix_web::test]
async fn pages_follow_change_order_and_filters() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    for n in 0..7 {
        let state = if n % 2 == 0 { "10" } else { "09" };
        assert_eq!(
            register(&app, &t, &registration(100 + n, state))
                .await
                .status(),
            201
        );
    }
    let mut seen = Vec::new();
    let mut path = "/v1/workers?limit=3".to_owned();
    loop {
        let page: Value = get(&app, &t, &path).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        seen.extend(items.iter().map(|w| w["change_seq"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/workers?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));

    let page: Value = get(&app, &t, "/v1/workers?state_code=10")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["state_code"] == "10")
    );
    let page: Value = get(&app, &t, "/v1/workers?state_code=10&district_code=999")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    let since = seen[4];
    let page: Value = get(&app, &t, &format!("/v1/workers?changed_since_seq={since}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(page["next_cursor"].is_null());
    app.stop().await;
}

/// Writers register and patch concurrently while a partner pulls with `changed_since_seq` from the
/// highest value it holds. When the writers are done, one last pull must leave the partner with every
/// worker at its latest `change_seq`: no change skipped, whatever the commit order.
#[actix_web::test]
async fn pulling_changes_under_concurrent_writes_misses_nothing() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let (http, base, t) = (app.http.clone(), app.base.clone(), t.clone());
            actix_web::rt::spawn(async move {
                for i in 0..25u64 {
                    let res = http
                        .post(format!("{base}/v1/workers"))
                        .bearer_auth(&t)
                        .json(&registration(1000 + w * 100 + i, "24"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 201);
                    let v: Value = res.json().await.unwrap();
                    let res = http
                        .patch(format!("{base}/v1/workers/{}", v["uan"].as_str().unwrap()))
                        .bearer_auth(&t)
                        .json(&json!({"pincode": format!("3800{:02}", i + 10)}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 200);
                }
            })
        })
        .collect();
    let mut held: HashMap<String, i64> = HashMap::new();
    let mut since = 0i64;
    let pull = |since: i64| {
        let req = app
            .http
            .get(app.url(&format!("/v1/workers?changed_since_seq={since}&limit=7")))
            .bearer_auth(&t);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let mut done = false;
    while !done {
        done = writers.iter().all(|w| w.is_finished());
        loop {
            let page = pull(since).await;
            let items = page["items"].as_array().unwrap();
            for w in items {
                let seq = w["change_seq"].as_i64().unwrap();
                held.insert(w["uan"].as_str().unwrap().to_owned(), seq);
                since = since.max(seq);
            }
            if items.len() < 7 {
                break;
            }
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    let client = connect(&app).await;
    let truth: HashMap<String, i64> = client
        .query("SELECT uan, change_seq FROM workers", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(truth.len(), 100);
    assert_eq!(held, truth);
    app.stop().await;
}

/// The mechanism behind "misses nothing": a transaction that took a `change_seq` makes every later
/// writer wait until it commits, so commits happen in `change_seq` order.
#[actix_web::test]
async fn writers_take_change_seq_in_commit_order() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let a: Value = register(&app, &t, &registration(300, "10"))
        .await
        .json()
        .await
        .unwrap();
    let b: Value = register(&app, &t, &registration(301, "10"))
        .await
        .json()
        .await
        .unwrap();
    let (ua, ub) = (a["uan"].as_str().unwrap(), b["uan"].as_str().unwrap());
    let first = connect(&app).await;
    let second = connect(&app).await;
    first
        .batch_execute(&format!(
            "BEGIN; UPDATE workers SET pincode = '110001' WHERE uan = '{ua}'"
        ))
        .await
        .unwrap();
    // Another worker's row, so no row lock is involved: only the change_seq lock can make it wait.
    let blocked = second
        .batch_execute(&format!(
            "SET lock_timeout = '300ms'; UPDATE workers SET pincode = '110002' WHERE uan = '{ub}'"
        ))
        .await
        .unwrap_err();
    assert_eq!(
        blocked.code(),
        Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE),
        "{blocked}"
    );
    first.batch_execute("COMMIT").await.unwrap();
    second
        .batch_execute(&format!(
            "UPDATE workers SET pincode = '110002' WHERE uan = '{ub}'"
        ))
        .await
        .unwrap();
    let seq = |uan: &str| {
        let q = format!("SELECT change_seq FROM workers WHERE uan = '{uan}'");
        let c = &first;
        async move { c.query_one(&q, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert!(seq(ua).await < seq(ub).await);
    app.stop().await;
}
