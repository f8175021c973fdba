//! The audit log: every access recorded before data is served, group commit, the worker's access
//! log, and `audit verify` catching edits, removals, reordering and truncation.

use e2e::{TestApp, registration};
use gateway::audit::{Verdict, verify};
use serde_json::{Value, json};

use crate::workers::{connect, get, patch, register, registered_uan};

async fn verdict(app: &TestApp) -> Verdict {
    let keys = gateway::keys::Keys::load_or_create(&app.settings.auth.keys_dir).unwrap();
    verify(
        app.state.store(),
        &app.settings.audit.checkpoint_file,
        &keys.audit_public_hex(),
    )
    .await
    .unwrap()
}

#[actix_web::test]
async fn every_access_is_recorded_and_the_worker_can_see_who_read_their_record() {
    let app = TestApp::spawn().await;
    let ops = app.admin_token();
    let created: Value = register(&app, &ops, &registration(50, "10"))
        .await
        .json()
        .await
        .unwrap();
    let other: Value = register(&app, &ops, &registration(51, "10"))
        .await
        .json()
        .await
        .unwrap();
    let uan = created["uan"].as_str().unwrap();
    let ministry = app.token_for("pmsym-portal", "workers:read", None, "scheme-enrolment");
    let _ = app
        .http
        .get(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&ministry)
        .send()
        .await
        .unwrap();
    let _ = app
        .http
        .get(app.url("/v1/workers?state_code=10"))
        .bearer_auth(&ministry)
        .send()
        .await
        .unwrap();
    let _ = app
        .http
        .patch(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&ops)
        .json(&json!({"mobile": "9111111111"}))
        .send()
        .await
        .unwrap();

    let auditor = app.token("grievance-cell", "audit:read", None);
    let res = app
        .http
        .get(app.url(&format!("/v1/workers/{uan}/access-log")))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        !text.contains(other["uan"].as_str().unwrap()),
        "a list entry must not reveal the other workers it named"
    );
    let log: Value = serde_json::from_str(&text).unwrap();
    let actions: Vec<(&str, &str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["client_id"].as_str().unwrap(),
                e["action"].as_str().unwrap(),
                e["purpose"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("ops", "update", "operations"),
            ("pmsym-portal", "list", "scheme-enrolment"),
            ("pmsym-portal", "read", "scheme-enrolment"),
            ("ops", "create", "operations"),
        ]
    );
    let read = &log["items"][2];
    assert!(
        read["fields"]
            .as_array()
            .unwrap()
            .contains(&json!("bank_account"))
    );
    assert!(
        !read["fields"]
            .as_array()
            .unwrap()
            .contains(&json!("education")),
        "what scheme-enrolment may not see was not served"
    );
    assert_eq!(read["route"], "/v1/workers/{uan}");
    assert!(read["request_id"].as_str().unwrap().len() > 10);
    // Reading the access log is itself recorded; a token without audit:read gets 403.
    let again: Value = app
        .http
        .get(app.url(&format!("/v1/workers/{uan}/access-log")))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["items"][0]["action"], "access_log");
    let res = app
        .http
        .get(app.url(&format!("/v1/workers/{uan}/access-log")))
        .bearer_auth(&ministry)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let up_auditor = app.token("up-cell", "audit:read", Some(&["09"]));
    let res = app
        .http
        .get(app.url(&format!("/v1/workers/{uan}/access-log")))
        .bearer_auth(&up_auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(matches!(
        verdict(&app).await,
        Verdict::Intact { entries: 8, .. }
    ));
    app.stop().await;
}

/// A read of one worker keeps its field list once per distinct list and its UAN only as a number;
/// `audit_entries` shows the entry whole, as the chain covers it, and shows rows of the layout
/// from before migration V10 the same. A field set deleted by hand is caught by verify, and the
/// writer, which remembered its id, stores the list again instead of failing every read.
#[actix_web::test]
async fn entries_are_stored_compactly_and_shown_whole() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let uan = registered_uan(&app, &t, &registration(57, "10")).await;
    let path = format!("/v1/workers/{uan}");
    let read = || get(&app, &t, &path);
    for _ in 0..3 {
        assert_eq!(read().await.status(), 200);
    }
    let db = connect(&app).await;
    let reads = "SELECT a.uans IS NULL, a.fields IS NULL, a.field_set, e.uans, e.fields \
                   FROM audit_log a JOIN audit_entries e USING (seq) \
                  WHERE a.action = 'read' ORDER BY seq";
    let stored = db.query(reads, &[]).await.unwrap();
    assert_eq!(stored.len(), 3);
    let sets: std::collections::HashSet<i32> = stored.iter().map(|r| r.get(2)).collect();
    assert_eq!(sets.len(), 1, "three reads, one field list");
    let set = *sets.iter().next().unwrap();
    for r in &stored {
        assert!(
            r.get::<_, bool>(0) && r.get::<_, bool>(1),
            "nothing stored twice"
        );
        assert_eq!(r.get::<_, Vec<String>>(3), vec![uan.clone()]);
        let fields: Vec<String> = r.get(4);
        assert!(fields.contains(&"date_of_birth".to_owned()), "{fields:?}");
    }

    // A row as gateways before V10 wrote it: both lists in full.
    db.batch_execute(
        "UPDATE audit_log SET uans = ARRAY[lpad(uan::text, 12, '0')], \
                fields = (SELECT fields FROM audit_field_sets WHERE id = field_set), field_set = NULL \
          WHERE seq = (SELECT min(seq) FROM audit_log WHERE action = 'read')",
    )
    .await
    .unwrap();
    // A worker whose UAN begins with a zero, stored as a number.
    let store = app.state.store();
    let zero = domain::audit::AuditEntry {
        at: chrono::Utc::now(),
        client_id: "other-process".into(),
        jti: None,
        purpose: "operations".into(),
        action: "read".into(),
        route: "/v1/workers/{uan}".into(),
        uans: vec!["012345678901".into()],
        fields: vec!["name".into()],
        status: 404,
        request_id: "zero".into(),
    };
    let mut known = store::audit::FieldSets::default();
    let ids = store
        .audit_field_sets(&mut known, std::slice::from_ref(&zero))
        .await
        .unwrap();
    let head = store.audit_head().await.unwrap();
    let batch = store::audit::ChainedBatch::new(head, std::slice::from_ref(&zero), &ids);
    store.append_audit(&batch).await.unwrap();
    let shown: Vec<String> = db
        .query_one(
            "SELECT e.uans FROM audit_entries e JOIN audit_log a USING (seq) \
              WHERE e.request_id = 'zero' AND a.uans IS NULL AND a.uan = 12345678901",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(shown, ["012345678901"]);
    assert!(matches!(
        verdict(&app).await,
        Verdict::Intact { entries: 5, .. }
    ));

    // The reads' field set deleted by hand: verify names the first entry that named it...
    db.execute("DELETE FROM audit_field_sets WHERE id = $1", &[&set])
        .await
        .unwrap();
    let first: i64 = db
        .query_one(
            "SELECT min(seq) FROM audit_log WHERE field_set = $1",
            &[&set],
        )
        .await
        .unwrap()
        .get(0);
    match verdict(&app).await {
        Verdict::Broken(why) => assert!(
            why.contains(&format!("entry {first} has an unreadable fields")),
            "{why}"
        ),
        other => panic!("expected a broken chain, got {other:?}"),
    }
    // ...and the writer, whose remembered id no longer exists, stores the list again.
    assert_eq!(read().await.status(), 200);
    let last = db.query(reads, &[]).await.unwrap();
    let again: i32 = last.last().unwrap().get(2);
    assert_ne!(again, set);
    assert_eq!(
        last.last().unwrap().get::<_, Vec<String>>(4),
        stored[0].get::<_, Vec<String>>(4)
    );
    app.stop().await;
}

/// A list names several workers: its entry is found under each of them, through `audit_uans`,
/// and verify catches index rows removed (a read hidden from a worker's access log) or added (a
/// read shown in an access log it never belonged to).
#[actix_web::test]
async fn a_list_is_found_under_each_worker_and_verify_checks_its_index_rows() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let first = registered_uan(&app, &t, &registration(58, "10")).await;
    let second = registered_uan(&app, &t, &registration(59, "10")).await;
    assert_eq!(get(&app, &t, "/v1/workers?limit=10").await.status(), 200);
    let auditor = app.token("dpdp-desk", "audit:read", None);
    for uan in [&first, &second] {
        let path = format!("/v1/workers/{uan}/access-log");
        let log: Value = get(&app, &auditor, &path).await.json().await.unwrap();
        let actions: Vec<&str> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["action"].as_str().unwrap())
            .collect();
        assert!(actions.contains(&"list"), "{uan}: {actions:?}");
    }
    let db = connect(&app).await;
    let list: i64 = db
        .query_one("SELECT seq FROM audit_log WHERE action = 'list'", &[])
        .await
        .unwrap()
        .get(0);
    let read: i64 = db
        .query_one(
            "SELECT min(seq) FROM audit_log WHERE action = 'access_log'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(matches!(verdict(&app).await, Verdict::Intact { .. }));
    let row = |uan: &str, seq: i64| (format!("({uan}, {seq})"), seq);
    for ((pair, entry), edit, undo) in [
        // The list hidden from the second worker's access log.
        (row(&second, list), "DELETE FROM", "INSERT INTO"),
        // The list shown in a worker's access log it never named.
        (row("100000000001", list), "INSERT INTO", "DELETE FROM"),
        // The first worker's access-log read shown in the second worker's.
        (row(&second, read), "INSERT INTO", "DELETE FROM"),
    ] {
        let sql = |verb: &str| match verb {
            "INSERT INTO" => format!("INSERT INTO audit_uans (uan, seq) VALUES {pair}"),
            _ => format!("DELETE FROM audit_uans WHERE (uan, seq) = {pair}"),
        };
        let (edit, undo) = (sql(edit), sql(undo));
        db.batch_execute(&edit).await.unwrap();
        match verdict(&app).await {
            Verdict::Broken(why) => assert!(
                why.contains(&format!("entry {entry} is indexed under other workers")),
                "{edit}: {why}"
            ),
            other => panic!("{edit}: expected a broken chain, got {other:?}"),
        }
        db.batch_execute(&undo).await.unwrap();
    }
    assert!(matches!(verdict(&app).await, Verdict::Intact { .. }));
    app.stop().await;
}

/// Registers a worker, reads it `n` times at once, and counts the read entries and the
/// transactions that wrote them (rows written by one transaction share its xmin), and the
/// milliseconds between the first entry's time and the last's.
async fn commits_of_concurrent_reads(app: &TestApp, n: usize) -> (i64, i64) {
    let t = app.admin_token();
    let uan = registered_uan(app, &t, &registration(52, "10")).await;
    let url = app.url(&format!("/v1/workers/{uan}"));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (http, url, t) = (app.http.clone(), url.clone(), t.clone());
            actix_web::rt::spawn(async move {
                http.get(url).bearer_auth(t).send().await.unwrap().status()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let row = connect(app)
        .await
        .query_one(
            "SELECT count(*), count(DISTINCT xmin::text) FROM audit_log WHERE action = 'read'",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[actix_web::test]
async fn concurrent_reads_share_commits() {
    let app = TestApp::spawn().await;
    let (entries, transactions) = commits_of_concurrent_reads(&app, 128).await;
    assert_eq!(entries, 128);
    // Fewer transactions than entries is group commit.
    assert!(
        transactions < entries,
        "{transactions} transactions for {entries} entries"
    );
    assert!(matches!(
        verdict(&app).await,
        Verdict::Intact { entries: 129, .. }
    ));
    app.stop().await;
}

/// `audit.linger_us`: once requests arrive together, a batch waits for the ones being served
/// meanwhile, so a burst shares a few commits instead of one per flush cycle.
#[actix_web::test]
async fn a_lingering_writer_still_answers_every_read_and_shares_commits() {
    // What a batch takes while it lingers is tested without a clock in `gateway::audit`; here the
    // setting reaches the writer and the reads it holds up are all answered, in shared commits.
    let app = TestApp::spawn_with(|s| s.audit.linger_us = 100_000).await;
    let (entries, transactions) = commits_of_concurrent_reads(&app, 64).await;
    assert_eq!(entries, 64);
    assert!(
        transactions < entries,
        "{transactions} commits for {entries} entries"
    );
    app.stop().await;
}

#[actix_web::test]
async fn when_the_audit_log_cannot_be_written_no_data_is_served() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let created: Value = register(&app, &t, &registration(53, "10"))
        .await
        .json()
        .await
        .unwrap();
    let uan = created["uan"].as_str().unwrap();
    let client = connect(&app).await;
    client
        .batch_execute("ALTER TABLE audit_log ADD CONSTRAINT refuse CHECK (false) NOT VALID")
        .await
        .unwrap();
    let res = app
        .http
        .get(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body = res.text().await.unwrap();
    assert!(
        !body.contains("Mohd"),
        "no personal data in the refusal: {body}"
    );
    let res = app
        .http
        .get(app.url("/v1/workers"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    // Writes are not made either: their entry is appended inside their own transaction.
    let res = patch(&app, &t, uan, &json!({"mobile": "9123456780"})).await;
    assert_eq!(res.status(), 503);
    let second = registration(56, "10");
    assert_eq!(register(&app, &t, &second).await.status(), 503);
    client
        .batch_execute("ALTER TABLE audit_log DROP CONSTRAINT refuse")
        .await
        .unwrap();
    let res = app
        .http
        .get(app.url(&format!("/v1/workers/{uan}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "recovers once the log can be written");
    let read: Value = res.json().await.unwrap();
    assert_eq!(
        read["mobile"], created["mobile"],
        "the refused PATCH changed nothing"
    );
    assert_eq!(
        register(&app, &t, &second).await.status(),
        201,
        "the refused registration left no worker behind"
    );
    app.stop().await;
}

#[actix_web::test]
async fn verify_names_the_first_altered_removed_or_reordered_entry_and_a_truncated_tail() {
    // A checkpoint after every batch, so the file pins every position.
    let app = TestApp::spawn_with(|s| s.audit.checkpoint_every_secs = 0).await;
    let t = app.admin_token();
    let uan = registered_uan(&app, &t, &registration(54, "10")).await;
    let url = app.url(&format!("/v1/workers/{uan}"));
    for _ in 0..9 {
        assert_eq!(
            app.http
                .get(&url)
                .bearer_auth(&t)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    assert_eq!(
        verdict(&app).await,
        Verdict::Intact {
            entries: 10,
            checkpoints: 10
        }
    );
    let db = connect(&app).await;
    let broken = |v: Verdict| match v {
        Verdict::Broken(why) => why,
        other => panic!("expected a broken chain, got {other:?}"),
    };
    db.batch_execute(
        "CREATE TEMP TABLE keep AS SELECT * FROM audit_log; \
         CREATE TEMP TABLE keep_sets AS SELECT * FROM audit_field_sets",
    )
    .await
    .unwrap();
    let restore = "DELETE FROM audit_log; INSERT INTO audit_log SELECT * FROM keep; \
                   UPDATE audit_field_sets s SET fields = k.fields FROM keep_sets k WHERE k.id = s.id; \
                   UPDATE audit_head SET seq = 10, hash = (SELECT hash FROM keep WHERE seq = 10)";

    // An edit made by hand, what verify names, then the log as it was.
    let caught = async |edit: &str, named: &str| {
        db.batch_execute(edit).await.unwrap();
        let why = broken(verdict(&app).await);
        assert!(why.contains(named), "{edit}: {why}");
        db.batch_execute(restore).await.unwrap();
    };

    // Altered: someone hides who read the record.
    caught(
        "UPDATE audit_log SET client_id = 'nobody' WHERE seq = 4",
        "entry 4 was altered",
    )
    .await;
    assert!(matches!(
        verdict(&app).await,
        Verdict::Intact { entries: 10, .. }
    ));

    // Altered where an entry is stored compactly (migration V10): the number of the one worker it
    // names, which would move the read to another worker's access log; a number cut to 12 digits
    // would read the same, so it is shown whole.
    caught(
        "UPDATE audit_log SET uan = uan + 1 WHERE seq = 5",
        "entry 5 was altered",
    )
    .await;
    caught(
        "UPDATE audit_log SET uan = uan * 10 WHERE seq = 5",
        "entry 5 was altered",
    )
    .await;
    // The UAN moved into the text column and out of the index: the hash still holds, but the
    // read would be hidden from the worker's access log.
    caught(
        "UPDATE audit_log SET uans = ARRAY[lpad(uan::text, 12, '0')], uan = NULL WHERE seq = 5",
        "entry 5 is indexed under other workers",
    )
    .await;
    // The field list it names by id, which the first entry naming that list shows.
    let first_naming: i64 = db
        .query_one(
            "SELECT min(seq) FROM audit_log \
              WHERE field_set = (SELECT field_set FROM audit_log WHERE seq = 5)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    caught(
        "UPDATE audit_field_sets SET fields = fields[2:] \
          WHERE id = (SELECT field_set FROM audit_log WHERE seq = 5)",
        &format!("entry {first_naming} was altered"),
    )
    .await;

    // Removed from the middle.
    caught("DELETE FROM audit_log WHERE seq = 6", "entry 6 is missing").await;

    // Reordered: two entries swap places.
    caught(
        "UPDATE audit_log SET seq = -1 WHERE seq = 7; UPDATE audit_log SET seq = 7 WHERE seq = 8; \
         UPDATE audit_log SET seq = 8 WHERE seq = -1",
        "entry 7 does not link",
    )
    .await;

    // The tail removed, head left behind.
    db.batch_execute("DELETE FROM audit_log WHERE seq > 8")
        .await
        .unwrap();
    let why = broken(verdict(&app).await);
    assert!(why.contains("removed from the end"), "{why}");

    // The tail removed and the head rolled back to match: the chain in the database is consistent,
    // only the signed checkpoints kept outside it can tell.
    db.batch_execute(
        "UPDATE audit_head SET seq = 8, hash = (SELECT hash FROM audit_log WHERE seq = 8)",
    )
    .await
    .unwrap();
    let why = broken(verdict(&app).await);
    assert!(why.contains("truncated"), "{why}");
    db.batch_execute(restore).await.unwrap();

    // A value that no longer reads as an entry is named, not a crash.
    caught(
        "UPDATE audit_log SET uans = ARRAY[NULL]::text[] WHERE seq = 3",
        "entry 3 has an unreadable uans",
    )
    .await;

    // The checkpoint file removed: the log cannot be vouched for.
    let file = app.settings.audit.checkpoint_file.clone();
    let aside = file.with_extension("aside");
    std::fs::rename(&file, &aside).unwrap();
    let why = broken(verdict(&app).await);
    assert!(why.contains("holds no checkpoint"), "{why}");
    std::fs::rename(&aside, &file).unwrap();
    assert!(matches!(verdict(&app).await, Verdict::Intact { .. }));

    // A forged checkpoint line (another key) is refused.
    let forged = domain::audit::Checkpoint::sign(
        &aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8v1(
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .map(|d| aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(d.as_ref()).unwrap())
        .unwrap(),
        10,
        &[0u8; 32],
        chrono::Utc::now(),
    );
    let mut file = std::fs::read_to_string(&app.settings.audit.checkpoint_file).unwrap();
    file.push_str(&serde_json::to_string(&forged).unwrap());
    file.push('\n');
    std::fs::write(&app.settings.audit.checkpoint_file, file).unwrap();
    let why = broken(verdict(&app).await);
    assert!(why.contains("bad signature"), "{why}");
    app.stop().await;
}

/// Another gateway process appending to the same chain: this one's writer finds the head moved
/// under it, is refused with nothing written, chains its batch again, and the chain stays whole.
#[actix_web::test]
async fn writers_of_several_processes_keep_one_chain() {
    let app = TestApp::spawn().await;
    let t = app.admin_token();
    let uan = registered_uan(&app, &t, &registration(53, "10")).await;
    let path = format!("/v1/workers/{uan}");
    let read = || get(&app, &t, &path);
    assert_eq!(read().await.status(), 200);

    // The other process: two entries on the head as the database holds it.
    let store = app.state.store();
    let other = |n: u16| domain::audit::AuditEntry {
        at: chrono::Utc::now(),
        client_id: "other-process".into(),
        jti: None,
        purpose: "operations".into(),
        action: "read".into(),
        route: "/v1/workers/{uan}".into(),
        uans: vec![],
        fields: vec![],
        status: n,
        request_id: format!("other-{n}"),
    };
    let before = store.audit_head().await.unwrap();
    let entries = [other(200), other(404)];
    let mut known = store::audit::FieldSets::default();
    let sets = store.audit_field_sets(&mut known, &entries).await.unwrap();
    let batch = store::audit::ChainedBatch::new(before, &entries, &sets);
    store.append_audit(&batch).await.unwrap();
    assert_eq!(store.audit_head().await.unwrap(), batch.head());
    // A batch chained to the old head is refused whole.
    let stale = store::audit::ChainedBatch::new(before, &[other(200)], &sets[..1]);
    let refused = store.append_audit(&stale).await.unwrap_err();
    assert!(refused.is_conflict(), "{refused}");
    assert_eq!(store.audit_head().await.unwrap(), batch.head());

    // This process's writer still chains to the head it last wrote: refused, then chained again.
    assert_eq!(read().await.status(), 200);
    assert_eq!(read().await.status(), 200);
    assert!(matches!(
        verdict(&app).await,
        Verdict::Intact { entries: 6, .. }
    ));
    app.stop().await;
}

/// Every operation on workers' data in the published API, read from `openapi/openapi.json`, is
/// called here and must leave an entry naming its route: a route added later (a bulk or sync
/// path) fails this test until it is on the record and listed below.
#[actix_web::test]
async fn every_route_on_workers_data_is_on_the_record() {
    let app = TestApp::spawn().await;
    let t = app.token(
        "ops",
        "workers:read workers:write workers:verify workers:match audit:read schemes:read schemes:enrol \
         reports:worklist",
        None,
    );
    let uan = registered_uan(&app, &t, &registration(57, "10")).await;
    let calls: Vec<(&str, &str, Option<Value>)> = vec![
        ("GET", "/v1/workers", None),
        ("POST", "/v1/workers", Some(registration(58, "10"))),
        ("GET", "/v1/workers/{uan}", None),
        (
            "PATCH",
            "/v1/workers/{uan}",
            Some(json!({"mobile": "9123456780"})),
        ),
        ("GET", "/v1/workers/{uan}/access-log", None),
        ("GET", "/v1/workers/{uan}/schemes", None),
        ("GET", "/v1/workers/{uan}/jobs", None),
        ("GET", "/v1/workers/{uan}/eligibility", None),
        ("GET", "/v1/reports/gaps", None),
        (
            "POST",
            "/v1/workers/{uan}/enrolments",
            Some(json!({"scheme": "ncs"})),
        ),
        (
            "POST",
            "/v1/workers/verify",
            Some(json!({"uan": uan, "mobile": "9876543210"})),
        ),
        (
            "POST",
            "/v1/match",
            Some(
                json!({"records": [{"id": "r1", "full_name": "Mohd. Irfan", "dob": "1991-04-12"}]}),
            ),
        ),
    ];
    // The list above is every operation of the document on workers or matching.
    let doc: Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
    let mut published: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if path.starts_with("/v1/workers") || path == "/v1/match" || path == "/v1/reports/gaps" {
            for method in ops.as_object().unwrap().keys() {
                published.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    published.sort();
    let mut listed: Vec<(String, String)> = calls
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    listed.sort();
    assert_eq!(
        listed, published,
        "a route on workers' data is missing here"
    );

    let db = connect(&app).await;
    for (method, route, body) in &calls {
        let before: i64 = db
            .query_one("SELECT seq FROM audit_head", &[])
            .await
            .unwrap()
            .get(0);
        let query = if *route == "/v1/reports/gaps" {
            "?scheme=pmsym"
        } else {
            ""
        };
        let url = app.url(&format!("{}{query}", route.replace("{uan}", &uan)));
        let mut req = match *method {
            "GET" => app.http.get(url),
            "POST" => app.http.post(url),
            _ => app
                .http
                .patch(url)
                .header("content-type", "application/merge-patch+json"),
        }
        .bearer_auth(&t)
        .header("idempotency-key", format!("every-route-{route}"));
        if let Some(body) = body {
            req = req.body(body.to_string());
            if *method == "POST" {
                req = req.header("content-type", "application/json");
            }
        }
        let res = req.send().await.unwrap();
        assert!(
            res.status().is_success(),
            "{method} {route}: {}",
            res.status()
        );
        let routes: Vec<String> = db
            .query("SELECT route FROM audit_log WHERE seq > $1", &[&before])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(
            routes.iter().any(|r| r == route),
            "{method} {route} left no entry for its route: {routes:?}"
        );
    }
    app.stop().await;
}
