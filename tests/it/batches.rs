//! State-portal batches end to end: files pushed over HTTP, staged in PostgreSQL, applied through
//! the registration of `POST /v1/workers`, every row accounted for; the reports streamed; the
//! files as states have them; the move-out tombstones of the change feed.

use std::io::Write;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use e2e::{TestApp, registration};
use serde_json::{Value, json};

const COLUMNS: &[&str] = &[
    "name",
    "gender",
    "date_of_birth",
    "mobile",
    "aadhaar",
    "state_code",
    "district_code",
    "pincode",
    "relative_name",
    "social_category",
    "occupation_nco",
    "monthly_income_inr",
    "declarations.epfo_member",
    "declarations.esic_member",
    "declarations.nps_member",
    "declarations.income_tax_payer",
    "address.line1",
    "address.locality",
    "bank_account.account_number",
    "bank_account.ifsc",
    "nominee.name",
    "nominee.relation",
];

/// A registration body as a CSV row of `COLUMNS` (nested fields flattened).
fn csv_row(body: &Value) -> Vec<String> {
    COLUMNS
        .iter()
        .map(|c| {
            let v = c.split('.').fold(body, |v, k| &v[k]);
            match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            }
        })
        .collect()
}

fn csv_file(rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(vec![]);
    w.write_record(COLUMNS).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

/// Apply every waiting chunk here (the tests that do not let `serve` do it).
async fn drain(app: &TestApp) {
    while app
        .state
        .batches
        .work_once()
        .await
        .expect("a chunk applied")
    {}
}

async fn push(
    app: &TestApp,
    token: &str,
    key: &str,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/v1/batches{query}")))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("POST /v1/batches")
}

/// Polls the batch until it is finished (or the deadline passes).
async fn finished(app: &TestApp, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let b = app.get_json(&format!("/v1/batches/{id}"), token).await;
        if b["status"] == "finished" || b["status"] == "cancelled" && !b["finished_at"].is_null() {
            return b;
        }
        assert!(Instant::now() < deadline, "batch not finished: {b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sum(b: &Value) -> i64 {
    [
        "registered",
        "updated",
        "skipped",
        "refused",
        "queued_for_review",
        "cancelled",
    ]
    .iter()
    .map(|k| b[*k].as_i64().unwrap())
    .sum()
}

async fn report(app: &TestApp, token: &str, id: &str, which: &str, accept: &str) -> String {
    let res = app
        .http
        .get(app.url(&format!("/v1/batches/{id}/{which}")))
        .bearer_auth(token)
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[actix_web::test]
async fn a_state_roll_is_registered_row_by_row_and_every_row_is_accounted_for() {
    let app = TestApp::spawn().await;
    let token = app.token("bihar-cell", "batches:write", Some(&["10"]));
    // Already registered through the API: the batch's row of the same Aadhaar is refused.
    let res = app
        .http
        .post(app.url("/v1/workers"))
        .bearer_auth(app.admin_token())
        .json(&registration(900, "10"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let mut rows: Vec<Vec<String>> = (0..40).map(|n| csv_row(&registration(n, "10"))).collect();
    rows[3][0] = "Sunita Devi".into();
    rows[3][16] = "House 12, Aminabad\r\nNear the mosque".into(); // a quoted comma and newline
    rows[4][2] = "12-04-1991".into(); // day first
    rows[5][2] = "12/04/1991".into();
    rows[6][2] = "2031-01-01".into(); // not born yet: refused by the rules
    rows[7][5] = "09".into(); // Uttar Pradesh: outside the token's states
    rows[8][4] = rows[2][4].clone(); // the same Aadhaar as the row on line 4
    rows.push(csv_row(&registration(900, "10")));
    let mut file = b"\xef\xbb\xbf".to_vec();
    file.extend(csv_file(&rows));
    file.extend_from_slice(b"\r\n\r\n");
    let res = push(&app, &token, "bihar-roll-1", "", "text/csv", file.clone()).await;
    assert_eq!(res.status(), 202, "{:?}", res.text().await);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let b: Value = res.json().await.unwrap();
    let id = b["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/v1/batches/{id}"));
    assert_eq!(b["rows_received"], 41);
    // Refused as they were read: the rules, the states, the repeated Aadhaar.
    assert_eq!(
        b["validated"],
        38,
        "{}",
        report(&app, &token, &id, "errors", "text/csv").await
    );

    let b = finished(&app, &token, &id).await;
    assert_eq!(b["registered"], 37, "{b}");
    assert_eq!(b["refused"], 4, "{b}");
    assert_eq!(sum(&b), 41);
    assert_eq!(b["pending"], 0);

    // Errors by line and field, never the value.
    let errors = report(&app, &token, &id, "errors", "application/x-ndjson").await;
    let errors: Vec<Value> = errors
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_line: Vec<(i64, &str, &str)> = errors
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap(),
                e["field"].as_str().unwrap(),
                e["code"].as_str().unwrap(),
            )
        })
        .collect();
    // The header is line 1, the quoted newline makes row 3 two lines long.
    assert!(
        by_line.contains(&(9, "date_of_birth", "in_future")),
        "{by_line:?}"
    );
    assert!(
        by_line.contains(&(10, "state_code", "outside_your_states")),
        "{by_line:?}"
    );
    assert!(
        by_line.contains(&(11, "aadhaar", "duplicate_in_file")),
        "{by_line:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["line"] == 11 && e["message"].as_str().unwrap().contains("line 4")),
        "the repeat names the first row's line: {errors:?}"
    );
    assert!(
        by_line.contains(&(43, "aadhaar", "aadhaar_registered")),
        "{by_line:?}"
    );
    let all = serde_json::to_string(&errors).unwrap();
    for n in [2u64, 900] {
        let digits = gateway::demo::aadhaar(7, n).expose_digits().to_owned();
        assert!(
            !all.contains(&digits),
            "an Aadhaar number in the error report"
        );
    }

    // Results as CSV: each line's UAN, the same worker the registry serves.
    let results = report(&app, &token, &id, "results", "text/csv").await;
    let mut lines = results.lines();
    assert_eq!(lines.next(), Some("line,outcome,uan"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 41);
    let quoted = rows.iter().find(|r| r[0] == "5").unwrap();
    assert_eq!(quoted[1], "registered");
    let worker = app
        .get_json(&format!("/v1/workers/{}", quoted[2]), &app.admin_token())
        .await;
    assert_eq!(worker["name"], "Sunita Devi");
    // Kept as the registry keeps any address: whitespace runs made one space.
    assert_eq!(
        worker["address"]["line1"],
        "House 12, Aminabad Near the mosque"
    );
    let day_first = rows.iter().find(|r| r[0] == "7").unwrap();
    let worker = app
        .get_json(&format!("/v1/workers/{}", day_first[2]), &app.admin_token())
        .await;
    assert_eq!(worker["date_of_birth"], "1991-04-12");

    // The same key and file: the same batch. Another file: refused.
    let again = push(&app, &token, "bihar-roll-1", "", "text/csv", file.clone()).await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], id.as_str());
    let mut other = file.clone();
    other.extend_from_slice(b"\r\n");
    let reused = push(&app, &token, "bihar-roll-1", "", "text/csv", other).await;
    assert_eq!(reused.status(), 422);
    // Another client does not see the batch.
    let outsider = app.token("kerala-cell", "batches:write", Some(&["32"]));
    let res = app
        .http
        .get(app.url(&format!("/v1/batches/{id}")))
        .bearer_auth(&outsider)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // Each registration is on the audit log as POST /v1/workers records it.
    let db = tokio_postgres::connect(&app.db_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let (client, conn) = db;
    actix_web::rt::spawn(conn);
    let workers: i64 = client
        .query_one("SELECT count(*) FROM workers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(workers, 38, "37 rows and the worker registered before");
    let created: Vec<String> = client
        .query(
            "SELECT e.uans[1] FROM audit_entries e WHERE e.action = 'create' \
               AND e.route = '/v1/workers' AND e.client_id = 'bihar-cell' AND e.status = 201",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let registered: std::collections::BTreeSet<String> = rows
        .iter()
        .filter(|r| r[1] == "registered")
        .map(|r| r[2].to_owned())
        .collect();
    assert_eq!(registered.len(), 37);
    assert_eq!(
        created
            .iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        registered,
        "one entry per worker, for exactly the registered rows"
    );
    assert_eq!(created.len(), 37);
    // Each with its vault row and its match keys, as a single registration writes them.
    let incomplete: i64 = client
        .query_one(
            "SELECT count(*) FROM workers w WHERE cardinality(w.match_keys) = 0 \
                OR NOT EXISTS (SELECT 1 FROM aadhaar_vault v WHERE v.uan = w.uan)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(incomplete, 0);
    app.stop().await;
}

#[actix_web::test]
async fn files_as_states_have_them_and_what_stops_one() {
    let app = TestApp::spawn_with(|s| {
        s.batches.run_in_serve = false;
        s.batches.max_bytes = 64 * 1024;
    })
    .await;
    let token = app.token("bihar-cell", "batches:write", None);
    let csv = "text/csv";
    // A header with an unknown and a missing column: refused before any row, each named.
    let mut header = COLUMNS.join(",").replace("pincode,", "");
    header.push_str(",pan\r\n");
    let res = push(&app, &token, "k1", "", csv, header.into_bytes()).await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    let named: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["pan", "pincode"], "{p}");
    // Nothing of a refused upload is kept: the key may be used again.
    let file = csv_file(&[csv_row(&registration(1, "10"))]);
    let res = push(&app, &token, "k1", "", csv, file.clone()).await;
    assert_eq!(res.status(), 202);

    // Windows-1252 bytes: a clear error unless declared.
    let mut row = csv_row(&registration(2, "10"));
    row[0] = "Jos\u{e9} Kumar".into();
    let text = String::from_utf8(csv_file(&[row])).unwrap();
    let (cp1252, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    let res = push(&app, &token, "k2", "", csv, cp1252.to_vec()).await;
    let b: Value = res.json().await.unwrap();
    assert_eq!(
        (b["rows_received"].as_i64(), b["refused"].as_i64()),
        (Some(1), Some(1))
    );
    let errors = report(
        &app,
        &token,
        b["id"].as_str().unwrap(),
        "errors",
        "text/csv",
    )
    .await;
    assert!(errors.contains("2,name,invalid_encoding"), "{errors}");
    let res = push(
        &app,
        &token,
        "k3",
        "",
        "text/csv; charset=windows-1252",
        cp1252.to_vec(),
    )
    .await;
    let b: Value = res.json().await.unwrap();
    assert_eq!(b["validated"], 1, "{b}");

    // gzip, as Content-Encoding, and as a .gz body; a truncated one is refused.
    let mut gz = flate2::write::GzEncoder::new(vec![], flate2::Compression::default());
    gz.write_all(&csv_file(&[csv_row(&registration(3, "10"))]))
        .unwrap();
    let gz = gz.finish().unwrap();
    let res = app
        .http
        .post(app.url("/v1/batches"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "k4")
        .header("Content-Type", csv)
        .header("Content-Encoding", "gzip")
        .body(gz.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let res = push(
        &app,
        &token,
        "k5",
        "?format=csv",
        "application/gzip",
        gz[..gz.len() - 12].to_vec(),
    )
    .await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["code"], "invalid_gzip", "{p}");

    // NDJSON: one POST /v1/workers body per line.
    let mut nd = Vec::new();
    for n in 4..7 {
        nd.extend(serde_json::to_vec(&registration(n, "10")).unwrap());
        nd.extend_from_slice(b"\n");
    }
    nd.extend_from_slice(b"{\"name\": \"no closing brace\"\n\n");
    let res = push(&app, &token, "k6", "", "application/x-ndjson", nd).await;
    let b: Value = res.json().await.unwrap();
    assert_eq!(
        (b["rows_received"].as_i64(), b["validated"].as_i64()),
        (Some(4), Some(3)),
        "{b}"
    );

    // Over the byte limit: 413, and the rest of the body is not read.
    let big: Vec<Vec<String>> = (100..500)
        .map(|n| csv_row(&registration(n, "10")))
        .collect();
    let res = push(&app, &token, "k7", "", csv, csv_file(&big)).await;
    assert_eq!(res.status(), 413);
    // No key, a bad option, an unknown type.
    let res = app
        .http
        .post(app.url("/v1/batches"))
        .bearer_auth(&token)
        .header("Content-Type", csv)
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = push(&app, &token, "k8", "?on_existing=merge", csv, file.clone()).await;
    assert_eq!(res.status(), 422);
    let res = push(&app, &token, "k9", "", "application/pdf", file.clone()).await;
    assert_eq!(res.status(), 415);

    drain(&app).await;
    let registered: i64 = {
        let (client, conn) = tokio_postgres::connect(&app.db_url, tokio_postgres::NoTls)
            .await
            .unwrap();
        actix_web::rt::spawn(conn);
        client
            .query_one("SELECT count(*) FROM workers", &[])
            .await
            .unwrap()
            .get(0)
    };
    // Persons 1 (k1), 2 (k3), 3 (k4), 4-6 (k6).
    assert_eq!(registered, 6);
    app.stop().await;
}

#[actix_web::test]
async fn a_dry_run_writes_nothing_and_existing_workers_are_updated_skipped_or_refused() {
    let app = TestApp::spawn_with(|s| s.batches.run_in_serve = false).await;
    let token = app.token("bihar-cell", "batches:write", Some(&["10"]));
    let first = csv_file(
        &(0..5)
            .map(|n| csv_row(&registration(n, "10")))
            .collect::<Vec<_>>(),
    );
    let res = push(
        &app,
        &token,
        "dry",
        "?mode=validate",
        "text/csv",
        first.clone(),
    )
    .await;
    let b: Value = res.json().await.unwrap();
    assert_eq!(
        (b["status"].as_str(), b["validated"].as_i64()),
        (Some("finished"), Some(5))
    );
    drain(&app).await;
    let feed = app.get_json("/v1/workers", &app.admin_token()).await;
    assert!(
        feed["items"].as_array().unwrap().is_empty(),
        "a dry run registered: {feed}"
    );

    let b: Value = push(&app, &token, "real", "", "text/csv", first.clone())
        .await
        .json()
        .await
        .unwrap();
    drain(&app).await;
    let b = app
        .get_json(
            &format!("/v1/batches/{}", b["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(b["registered"], 5, "{b}");

    // The same people again with a new mobile number, three ways.
    let changed: Vec<Vec<String>> = (0..5)
        .map(|n| {
            let mut r = csv_row(&registration(n, "10"));
            r[3] = "9123456780".into();
            r
        })
        .collect();
    let again = csv_file(&changed);
    for (key, mode, field) in [
        ("refuse", "", "refused"),
        ("skip", "?on_existing=skip", "skipped"),
        ("update", "?on_existing=update", "updated"),
    ] {
        let b: Value = push(&app, &token, key, mode, "text/csv", again.clone())
            .await
            .json()
            .await
            .unwrap();
        drain(&app).await;
        let b = app
            .get_json(
                &format!("/v1/batches/{}", b["id"].as_str().unwrap()),
                &token,
            )
            .await;
        assert_eq!((b[field].as_i64(), sum(&b)), (Some(5), 5), "{key}: {b}");
        let results = report(
            &app,
            &token,
            b["id"].as_str().unwrap(),
            "results",
            "text/csv",
        )
        .await;
        assert_eq!(
            results.lines().filter(|l| l.ends_with(',')).count(),
            0,
            "each names the UAN: {results}"
        );
    }
    let feed = app.get_json("/v1/workers", &app.admin_token()).await;
    for w in feed["items"].as_array().unwrap() {
        assert_eq!(w["mobile"], "9123456780");
    }
    app.stop().await;
}

#[actix_web::test]
async fn a_cancelled_batch_applies_nothing_more_and_processes_share_the_chunks() {
    let app = TestApp::spawn_with(|s| {
        s.batches.run_in_serve = false;
        s.batches.chunk_rows = 7;
        s.batches.group_rows = 3;
    })
    .await;
    let token = app.token("bihar-cell", "batches:write", Some(&["10"]));
    let rows: Vec<Vec<String>> = (0..60).map(|n| csv_row(&registration(n, "10"))).collect();
    let b: Value = push(&app, &token, "shared", "", "text/csv", csv_file(&rows))
        .await
        .json()
        .await
        .unwrap();
    let id = b["id"].as_str().unwrap().to_owned();
    // Three processes' worth of workers on one database apply the chunks together.
    let owners: Vec<batches::Batches> = (0..3)
        .map(|i| {
            batches::Batches::new(
                app.state.registry.clone(),
                format!("process-{i}"),
                app.settings.batches.settings(),
            )
        })
        .collect();
    let work = owners.iter().map(|p| async move {
        let mut chunks = 0;
        while p.work_once().await.unwrap() {
            chunks += 1;
        }
        chunks
    });
    let chunks: Vec<i32> = futures_util::future::join_all(work).await;
    assert_eq!(chunks.iter().sum::<i32>(), 9, "60 rows in chunks of 7");
    let b = app.get_json(&format!("/v1/batches/{id}"), &token).await;
    assert_eq!(
        (b["registered"].as_i64(), b["status"].as_str()),
        (Some(60), Some("finished"))
    );

    // A second batch, cancelled before it is applied: nothing of it is registered.
    let rows: Vec<Vec<String>> = (100..130)
        .map(|n| csv_row(&registration(n, "10")))
        .collect();
    let b: Value = push(&app, &token, "cancelled", "", "text/csv", csv_file(&rows))
        .await
        .json()
        .await
        .unwrap();
    let id = b["id"].as_str().unwrap().to_owned();
    let res = app
        .http
        .delete(app.url(&format!("/v1/batches/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let b: Value = res.json().await.unwrap();
    assert_eq!(
        (b["status"].as_str(), b["cancelled"].as_i64()),
        (Some("cancelled"), Some(30))
    );
    drain(&app).await;
    let b = app.get_json(&format!("/v1/batches/{id}"), &token).await;
    assert_eq!((b["registered"].as_i64(), sum(&b)), (Some(0), 30), "{b}");
    app.stop().await;
}

#[actix_web::test]
async fn a_worker_who_moves_away_leaves_a_tombstone_in_the_old_states_feed() {
    let app = TestApp::spawn().await;
    let bihar = app.token("bihar", "workers:read workers:write", Some(&["10"]));
    let up = app.token("up", "workers:read", Some(&["09"]));
    let res = app
        .http
        .post(app.url("/v1/workers"))
        .bearer_auth(&bihar)
        .json(&registration(1, "10"))
        .send()
        .await
        .unwrap();
    let w: Value = res.json().await.unwrap();
    let uan = w["uan"].as_str().unwrap().to_owned();
    let seen = w["change_seq"].as_i64().unwrap();
    // Moved by an operator with every state (a state may only move a worker within its own).
    let res = app
        .http
        .patch(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(app.admin_token())
        .header("Content-Type", "application/merge-patch+json")
        .body(json!({"state_code": "09", "district_code": "164"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let moved: Value = res.json().await.unwrap();
    let feed = app
        .get_json(&format!("/v1/workers?changed_since_seq={seen}"), &bihar)
        .await;
    assert_eq!(
        feed["items"],
        json!([{"uan": uan, "change_seq": moved["change_seq"], "status": "moved_out"}]),
        "the old state's feed says the worker left, and nothing else about them"
    );
    // The new state sees the worker, not a tombstone.
    let feed = app.get_json("/v1/workers", &up).await;
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0]["uan"].as_str(), items[0]["name"].as_str()),
        (Some(uan.as_str()), Some("Mohd. Irfan"))
    );
    // An unlimited feed has no tombstones: the worker is simply there.
    let feed = app.get_json("/v1/workers", &app.admin_token()).await;
    assert!(
        feed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"].is_null())
    );
    app.stop().await;
}

#[actix_web::test]
async fn a_row_without_aadhaar_like_a_registered_worker_goes_to_review_not_to_a_second_registration()
 {
    let app = TestApp::spawn_with(|s| s.batches.run_in_serve = false).await;
    // Registered already, through the API, in Bihar.
    let known = registration(701, "10");
    let created = app
        .http
        .post(app.url("/v1/workers"))
        .bearer_auth(app.admin_token())
        .json(&known)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let uan = created.json::<Value>().await.unwrap()["uan"]
        .as_str()
        .unwrap()
        .to_owned();
    // The state's roll has the same person with no Aadhaar number, and a stranger with none.
    let mut same = known.clone();
    same["aadhaar"] = json!("");
    let mut stranger = registration(702, "10");
    stranger["aadhaar"] = json!("");
    stranger["name"] = json!("Kamala Oraon");
    stranger["gender"] = json!("female");
    stranger["date_of_birth"] = json!("1984-02-17");
    stranger["mobile"] = json!("7012345678");
    stranger["relative_name"] = json!("Budhu Oraon");
    stranger["pincode"] = json!("834001");
    let token = app.token("bihar-cell", "batches:write", Some(&["10"]));
    let file = csv_file(&[csv_row(&same), csv_row(&stranger)]);
    let res = push(&app, &token, "no-aadhaar", "", "text/csv", file).await;
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    drain(&app).await;
    let b = finished(&app, &token, &id).await;
    assert_eq!(b["registered"], 0, "{b}");
    assert_eq!(b["queued_for_review"], 1, "{b}");
    assert_eq!(b["refused"], 1, "{b}");
    assert_eq!(sum(&b), 2);
    let errors = report(&app, &token, &id, "errors", "text/csv").await;
    assert!(errors.contains("3,aadhaar,required,"), "{errors}");
    // The pair is in Bihar's review queue, the batch row beside the worker.
    let reviewer = app.token("bihar-review", "reviews:read reviews:write", Some(&["10"]));
    let page = app.get_json("/v1/reviews", &reviewer).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["scheme"], "batch");
    assert_eq!(items[0]["uan"], uan.as_str());
    assert_eq!(items[0]["reference"], format!("{id}:2"));
    let item = items[0]["id"].as_i64().unwrap();
    let seen = app
        .get_json(&format!("/v1/reviews/{item}"), &reviewer)
        .await;
    assert_eq!(
        seen["scheme_record"]["person"]["name"], "Mohd. Irfan",
        "{seen}"
    );
    // A person decides it is the worker: the row's result names them.
    let decided = app
        .http
        .post(app.url(&format!("/v1/reviews/{item}/decision")))
        .bearer_auth(&reviewer)
        .header("Idempotency-Key", "decide-batch-row")
        .json(&json!({"decision": "link", "note": "same person, checked the labour card"}))
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), 200, "{}", decided.text().await.unwrap());
    let results = report(&app, &token, &id, "results", "text/csv").await;
    assert!(results.contains(&format!("2,queued,{uan}")), "{results}");
    let workers: i64 = app
        .get_json("/v1/workers?state_code=10", &app.admin_token())
        .await["items"]
        .as_array()
        .unwrap()
        .len() as i64;
    assert_eq!(workers, 1, "no second registration");
    app.stop().await;
}

#[actix_web::test]
async fn a_file_that_takes_longer_than_a_call_to_arrive_is_still_stored() {
    // A call may take 400 ms here; the file takes over a second to arrive.
    let app = TestApp::spawn_with(|s| {
        s.batches.run_in_serve = false;
        s.server.request_timeout_ms = 400;
        s.database.statement_timeout_ms = 300;
    })
    .await;
    let token = app.token("bihar-cell", "batches:write", Some(&["10"]));
    let file = csv_file(
        &(0..6)
            .map(|n| csv_row(&registration(800 + n, "10")))
            .collect::<Vec<_>>(),
    );
    let pieces: Vec<Vec<u8>> = file
        .chunks(file.len() / 5 + 1)
        .map(<[u8]>::to_vec)
        .collect();
    let slow = futures_util::stream::iter(pieces).then(|piece| async move {
        tokio::time::sleep(Duration::from_millis(250)).await;
        Ok::<_, std::io::Error>(piece)
    });
    let res = app
        .http
        .post(app.url("/v1/batches"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "slow-roll")
        .header("Content-Type", "text/csv")
        .body(reqwest::Body::wrap_stream(slow))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    app.stop().await;
}
