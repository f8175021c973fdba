//! Eligibility as dated rules, coverage counts and the outreach worklist, end to end: the real
//! gateway over HTTP, PostgreSQL, and PM-SYM's simulator for the enrolments.

use chrono::{Datelike, NaiveDate};
use domain::eligibility::{Facts, Programme, Status, decide};
use e2e::{TestApp, registration};
use serde_json::{Value, json};

use crate::workers::{get, patch, registered_uan};

/// A worker of `state` born on the 1st of this month `years` ago, earning `income` a month.
async fn worker(app: &TestApp, n: u64, years: i32, state: &str, income: i64) -> String {
    let t = chrono::Utc::now().date_naive();
    let dob = NaiveDate::from_ymd_opt(t.year() - years, t.month(), 1).unwrap();
    let mut body = registration(n, state);
    body["date_of_birth"] = json!(dob.to_string());
    body["monthly_income_inr"] = json!(income);
    registered_uan(app, &app.admin_token(), &body).await
}

async fn enrol_pmsym(app: &TestApp, uan: &str) {
    let token = app.token("ministry", "schemes:enrol", None);
    let r = app
        .http
        .post(app.url(&format!("/v1/workers/{uan}/enrolments")))
        .bearer_auth(&token)
        .header("Idempotency-Key", format!("enrol-{uan}"))
        .json(&json!({"scheme": "pmsym"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

async fn get_with(
    app: &TestApp,
    token: &str,
    path: &str,
    header: (&str, &str),
) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .bearer_auth(token)
        .header(header.0, header.1)
        .send()
        .await
        .unwrap()
}

fn scheme<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scheme"] == id)
        .unwrap()
}

#[actix_web::test]
async fn eligibility_names_the_rule_and_version_and_the_next_step_in_english_and_hindi_as_of_any_date()
 {
    let app = TestApp::spawn().await;
    let uan = worker(&app, 801, 29, "10", 9000).await;
    let token = app.token("ministry", "workers:read", None);
    let path = format!("/v1/workers/{uan}/eligibility");
    let r = get(&app, &token, &path).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-language"], "en");
    let v: Value = r.json().await.unwrap();
    let order: Vec<&str> = v["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scheme"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "ncs", "sidh", "myscheme", "pmsym", "pmjay", "pmjjby", "pmsby"
        ]
    );
    assert_eq!(v["age"], 29);
    let pmsym = scheme(&v, "pmsym");
    assert_eq!(pmsym["status"], "eligible");
    assert_eq!(pmsym["rule_version"], "2019-02-15");
    let rules: Vec<&str> = pmsym["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"pmsym.age@2019-02-15"), "{rules:?}");
    // labour.gov.in's chart: 100 rupees a month at entry age 29.
    let step = pmsym["next_step"].as_str().unwrap();
    assert!(
        step.contains("₹100 a month") && step.contains("₹3,000"),
        "{step}"
    );
    // AB PM-JAY under 70: the family's SECC 2011 listing decides, which e-Shram does not hold.
    let pmjay = scheme(&v, "pmjay");
    assert_eq!(pmjay["status"], "unknown");
    assert_eq!(pmjay["reasons"][0]["fact"], "secc_2011_household");
    assert!(
        scheme(&v, "pmjjby")["next_step"]
            .as_str()
            .unwrap()
            .contains("₹436 a year")
    );
    assert!(
        scheme(&v, "pmsby")["next_step"]
            .as_str()
            .unwrap()
            .contains("₹20 a year")
    );

    // As of 31 May 2022, the premiums before the DFS revision; before May 2015, no PMJJBY at all.
    let v: Value = get(&app, &token, &format!("{path}?as_of=2022-05-31"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(scheme(&v, "pmjjby")["rule_version"], "2015-05-09");
    assert!(
        scheme(&v, "pmjjby")["next_step"]
            .as_str()
            .unwrap()
            .contains("₹330 a year")
    );
    assert!(
        scheme(&v, "pmsby")["next_step"]
            .as_str()
            .unwrap()
            .contains("₹12 a year")
    );
    let v: Value = get(&app, &token, &format!("{path}?as_of=2015-05-01"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(scheme(&v, "pmjjby")["status"], "not_eligible");
    assert_eq!(scheme(&v, "pmjjby")["reasons"][0]["code"], "not_in_force");
    assert_eq!(scheme(&v, "pmjjby")["rule_version"], Value::Null);

    // In Hindi.
    let r = get_with(
        &app,
        &token,
        &path,
        ("Accept-Language", "hi-IN,hi;q=0.9,en;q=0.5"),
    )
    .await;
    assert_eq!(r.headers()["content-language"], "hi");
    let v: Value = r.json().await.unwrap();
    let step = scheme(&v, "pmsym")["next_step"].as_str().unwrap();
    assert!(step.contains("₹100 प्रति माह"), "{step}");

    // Enrolled through the gateway: the link says so, the rules still say eligible.
    enrol_pmsym(&app, &uan).await;
    let v: Value = get(&app, &token, &path).await.json().await.unwrap();
    assert_eq!(scheme(&v, "pmsym")["status"], "enrolled");
    assert_eq!(scheme(&v, "pmsym")["rules_say"], "eligible");

    // A bad date is named; a purpose that may not see the bank account is refused; another
    // state's token finds no such worker.
    let r = get(&app, &token, &format!("{path}?as_of=2022-13-01")).await;
    assert_eq!(r.status(), 422);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "as_of");
    let jobs = app.token_for("ncs", "workers:read", None, "job-matching");
    assert_eq!(get(&app, &jobs, &path).await.status(), 403);
    let other = app.token("up-cell", "workers:read", Some(&["09"]));
    assert_eq!(get(&app, &other, &path).await.status(), 404);
    app.stop().await;
}

#[actix_web::test]
async fn coverage_follows_registrations_enrolments_and_moves_suppresses_small_counts_and_lists_the_gaps()
 {
    let app = TestApp::spawn().await;
    // Bihar: 25 workers of 29, 12 of them enrolled in PM-SYM. Uttar Pradesh: 15 of 29 and 3 earning
    // above PM-SYM's ceiling. Jharkhand: 4.
    let mut bihar = vec![];
    for n in 0..25 {
        bihar.push(worker(&app, 900 + n, 29, "10", 9000).await);
    }
    for n in 0..15 {
        worker(&app, 950 + n, 29, "09", 9000).await;
    }
    for n in 0..3 {
        worker(&app, 970 + n, 29, "09", 20_000).await;
    }
    for n in 0..4 {
        worker(&app, 980 + n, 29, "20", 9000).await;
    }
    for uan in &bihar[..12] {
        enrol_pmsym(&app, uan).await;
    }
    let token = app.token("nodal", "reports:read", None);
    let r = get(
        &app,
        &token,
        "/v1/reports/coverage?group_by=state&scheme=pmsym",
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["rules"]["pmsym"], "2019-02-15");
    let total = &v["totals"][0];
    assert_eq!(
        (
            &total["registered"],
            &total["enrolled"],
            &total["eligible_not_enrolled"]
        ),
        (&json!(47), &json!(12), &json!(32))
    );
    let row = |state: &str| {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["group"]["state"] == state)
            .unwrap()
            .clone()
    };
    // Bihar shown whole; Jharkhand's 4 suppressed, and with it the smallest other count of each
    // column in which it was the only one (registered: Uttar Pradesh's 18; eligible: Bihar's 13).
    assert_eq!(row("10")["registered"], 25);
    assert_eq!(row("10")["enrolled"], 12);
    assert_eq!(row("10")["eligible_not_enrolled"], "<10");
    assert_eq!(row("20")["registered"], "<10");
    assert_eq!(row("09")["registered"], "<10");
    assert_eq!(row("09")["enrolled"], "<10");
    assert_eq!(row("09")["eligible_not_enrolled"], 15);
    assert_eq!(row("10")["enrolled_share"], 0.48);
    assert_eq!(row("09")["enrolled_share"], Value::Null);
    // The shown counts are the workers' own, counted again from the tables.
    let (db, conn) = tokio_postgres::connect(&app.db_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    actix_web::rt::spawn(conn);
    let raw: i64 = db
        .query_one("SELECT count(*) FROM workers WHERE state_code = '10'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(raw, 25);

    // A state's token counts only its state; CSV on asking.
    let bihar_token = app.token("bihar-nodal", "reports:read", Some(&["10"]));
    let r = get_with(
        &app,
        &bihar_token,
        "/v1/reports/coverage?group_by=state&scheme=pmsym",
        ("Accept", "text/csv"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "scheme,state,registered,enrolled,eligible_not_enrolled,enrolled_share,saturation"
    );
    assert_eq!(lines[1], "pmsym,10,25,12,13,0.48,0.48");
    assert_eq!(lines.len(), 3, "the row and the total: {csv}");
    let r = get(&app, &bihar_token, "/v1/reports/coverage?state_code=09").await;
    assert_eq!(r.status(), 404);

    // A worker who moves from Bihar to Uttar Pradesh moves in the counts at once.
    let moved = &bihar[20];
    let r = patch(
        &app,
        &app.admin_token(),
        moved,
        &json!({"state_code": "09", "district_code": "164"}),
    )
    .await;
    let status = r.status();
    assert_eq!(status, 200, "{}", r.text().await.unwrap());
    let v: Value = get(
        &app,
        &bihar_token,
        "/v1/reports/coverage?group_by=state&scheme=pmsym",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["rows"][0]["registered"], 24);
    assert_eq!(v["rows"][0]["eligible_not_enrolled"], 12);

    // The cells the triggers keep are the workers' own counts, cell by cell.
    db.execute("SELECT coverage_fold()", &[]).await.unwrap();
    let counters: Vec<String> = (0..7)
        .map(|b| format!("sum((m.enrolled >> {b}) & 1)"))
        .chain((0..7).map(|b| format!("sum(((m.eligible & ~m.enrolled) >> {b}) & 1)")))
        .collect();
    let kept: Vec<String> = (0..7)
        .map(|b| format!("e{b}"))
        .chain((0..7).map(|b| format!("g{b}")))
        .collect();
    let check = format!(
        "WITH m AS (SELECT w.state_code, w.district_code, w.gender, w.social_category, \
                left(w.occupation_nco, 1) AS division, coverage_enrolled(w.uan) AS enrolled, \
                coverage_eligible(w.date_of_birth, w.monthly_income_inr, w.bank_account IS NOT NULL) AS eligible \
                FROM workers w), \
              raw AS (SELECT state_code, district_code, gender, social_category, division, \
                count(*)::bigint AS n, {} FROM m GROUP BY 1, 2, 3, 4, 5), \
              kept AS (SELECT state_code, district_code, gender, social_category, division, n, {} \
                FROM coverage_cells) \
         SELECT count(*) FROM ((SELECT * FROM raw EXCEPT SELECT * FROM kept) \
                               UNION ALL (SELECT * FROM kept EXCEPT SELECT * FROM raw)) d",
        counters.join(", "),
        kept.join(", ")
    );
    let differ: i64 = db.query_one(&check, &[]).await.unwrap().get(0);
    assert_eq!(differ, 0);

    // The worklist: Bihar's eligible workers not enrolled, and on the audit log.
    let lister = app.token("bihar-camp", "reports:worklist", Some(&["10"]));
    let r = get(&app, &lister, "/v1/reports/gaps?scheme=pmsym&state_code=10").await;
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    let listed: std::collections::BTreeSet<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["uan"].as_str().unwrap().to_owned())
        .collect();
    let expected: std::collections::BTreeSet<String> = bihar[12..]
        .iter()
        .filter(|u| *u != moved)
        .cloned()
        .collect();
    assert_eq!(listed, expected);
    let logged: i64 = db
        .query_one(
            "SELECT count(*) FROM audit_entries WHERE action = 'worklist' AND client_id = 'bihar-camp' \
               AND cardinality(uans) = 12",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(logged, 1);
    let r = get(&app, &lister, "/v1/reports/gaps?scheme=pmsym&state_code=09").await;
    assert_eq!(r.status(), 404);
    let r = get(&app, &lister, "/v1/reports/gaps").await;
    assert_eq!(r.status(), 422);

    // When the date turns, the day's counts are kept: pretend the counts were begun yesterday,
    // then a report today keeps yesterday's as they stood, and later workers count only today.
    db.execute("UPDATE coverage_terms SET as_of = as_of - 1", &[])
        .await
        .unwrap();
    let today = app.state.registry.today();
    let yesterday = today.pred_opt().unwrap();
    let national = |v: &Value| v["totals"][0]["registered"].clone();
    let v: Value = get(&app, &token, "/v1/reports/coverage?scheme=pmsym")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(national(&v), 47);
    worker(&app, 990, 29, "10", 9000).await;
    let v: Value = get(&app, &token, "/v1/reports/coverage?scheme=pmsym")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(national(&v), 48);
    assert_eq!(v["as_of"], today.to_string());
    let v: Value = get(
        &app,
        &token,
        &format!("/v1/reports/coverage?scheme=pmsym&as_of={yesterday}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(national(&v), 47, "{v}");
    assert_eq!(v["as_of"], yesterday.to_string());

    // Bad questions are named.
    let r = get(
        &app,
        &token,
        "/v1/reports/coverage?group_by=state,caste&as_of=2020-01-01",
    )
    .await;
    assert_eq!(r.status(), 422);
    let p: Value = r.json().await.unwrap();
    let named: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["group_by"]);
    let r = get(&app, &token, "/v1/reports/coverage?as_of=2020-01-01").await;
    assert_eq!(r.status(), 422);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "as_of");
    app.stop().await;
}

/// A registration in flight when the date turns has its worker counted under the terms it read,
/// the old ones; once it has ended, the next check counts that worker again under today's.
#[actix_web::test]
async fn a_worker_written_while_the_terms_change_is_counted_under_the_new_ones_once_the_write_ends()
{
    let app = TestApp::spawn().await;
    let mut uans = vec![];
    for n in 0..10 {
        uans.push(worker(&app, 1400 + n, 29, "10", 9000).await);
    }
    let (db, writer) = (app.db().await, app.db().await);
    // Yesterday's terms, as a writer still reads them: PM-SYM only up to 20.
    db.batch_execute(
        "UPDATE coverage_terms SET as_of = as_of - 1; \
         UPDATE coverage_terms SET max_age = 20 WHERE programme = 'pmsym'",
    )
    .await
    .unwrap();
    writer.batch_execute("BEGIN").await.unwrap();
    writer
        .execute(
            "INSERT INTO workers SELECT (jsonb_populate_record(NULL::workers, to_jsonb(w) \
               || jsonb_build_object('uan', 'LATE00000001', 'aadhaar_token', 'late'))).* \
               FROM workers w WHERE uan = $1",
            &[&uans[0]],
        )
        .await
        .unwrap();
    let eligible: i32 = writer
        .query_one(
            "SELECT eligible FROM worker_coverage WHERE uan = 'LATE00000001'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        eligible & (1 << 3),
        0,
        "counted under yesterday's PM-SYM terms"
    );

    // The date turns while it is in flight: a report counts today's terms without it.
    let token = app.token("nodal", "reports:read", None);
    let gap = |v: &Value| v["totals"][0]["eligible_not_enrolled"].clone();
    let v: Value = get(&app, &token, "/v1/reports/coverage?scheme=pmsym")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(gap(&v), 10, "{v}");
    writer.batch_execute("COMMIT").await.unwrap();

    // Once it has ended, a report's check counts it again (other tests' transactions in the same
    // cluster may hold the check back a moment).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let v: Value = get(&app, &token, "/v1/reports/coverage?scheme=pmsym")
            .await
            .json()
            .await
            .unwrap();
        if gap(&v) == 11 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the late worker is still counted under yesterday's terms: {v}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let left: i64 = db
        .query_one("SELECT count(*) FROM coverage_settle", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    app.stop().await;
}

/// The simulators state PM-SYM's and PMJJBY's terms in their own code (typed from the sources);
/// the gateway's rule table must agree with them everywhere, or one of the two is wrong.
#[test]
fn the_simulators_own_statement_of_the_terms_agrees_with_the_rule_table() {
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    for years in 10..=75 {
        let dob = NaiveDate::from_ymd_opt(2026 - years, 12, 2).unwrap();
        for income in [0, 9_000, 15_000, 15_001, 40_000] {
            for bank in [true, false] {
                let ours = decide(
                    Programme::Pmsym,
                    &Facts {
                        date_of_birth: dob,
                        monthly_income_inr: Some(income),
                        has_bank_account: Some(bank),
                        formal_sector: Some(false),
                    },
                    today,
                );
                let theirs =
                    simulators::terms::pmsym::decide(&simulators::terms::pmsym::Applicant {
                        age: simulators::terms::age_on(dob, today),
                        monthly_income_inr: income,
                        has_bank_account: bank,
                        epfo_member: false,
                        esic_member: false,
                        nps_member: false,
                        income_tax_payer: false,
                    });
                assert_eq!(
                    ours.status == Status::Eligible,
                    theirs.is_ok(),
                    "{years} {income} {bank}"
                );
                if let Ok(inr) = theirs {
                    assert_eq!(
                        domain::schemes::pmsym::monthly_contribution_inr(ours.age),
                        Some(inr)
                    );
                }
            }
        }
        let ours = decide(
            Programme::Pmjjby,
            &Facts {
                date_of_birth: dob,
                monthly_income_inr: None,
                has_bank_account: Some(true),
                formal_sector: None,
            },
            today,
        );
        let theirs = simulators::terms::pmjjby::decide(dob, true, true, today);
        assert_eq!(
            ours.status == Status::Eligible,
            theirs.is_ok(),
            "pmjjby {years}"
        );
    }
    let dob = NaiveDate::from_ymd_opt(1990, 3, 10).unwrap();
    for (y, m) in [
        (2022, 5),
        (2022, 6),
        (2025, 1),
        (2025, 3),
        (2025, 9),
        (2025, 12),
        (2026, 7),
    ] {
        let day = NaiveDate::from_ymd_opt(y, m, 15).unwrap();
        let theirs = simulators::terms::pmjjby::decide(dob, true, true, day)
            .ok()
            .unwrap();
        assert_eq!(
            domain::schemes::pmjjby::annual_premium_inr(day),
            theirs.annual_premium_inr
        );
        assert_eq!(
            domain::schemes::pmjjby::first_year_premium_inr(day),
            theirs.first_year_premium_inr,
            "{day}"
        );
    }
}

async fn exec(client: &tokio_postgres::Client, sql: &str, params: &[String]) -> u64 {
    let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        params.iter().map(|s| s as _).collect();
    client.execute(sql, &refs).await.unwrap()
}

/// The cells as a count from scratch would give them: every worker in their cell, enrolled as
/// their links say, eligible as their mask says; beside the cells the triggers kept (folded).
async fn cells_kept_and_recounted(db: &tokio_postgres::Client) -> (Vec<String>, Vec<String>) {
    let bits = |f: &dyn Fn(u32) -> String| (0..7).map(f).collect::<Vec<_>>().join(", ");
    let recount = format!(
        "WITH w AS (SELECT w.state_code, w.district_code, w.gender, w.social_category, \
           left(w.occupation_nco, 1) AS division, coverage_enrolled(w.uan) AS en, c.eligible AS el \
           FROM workers w JOIN worker_coverage c USING (uan)) \
         SELECT concat_ws(' ', state_code, district_code, gender, social_category, division, \
           count(*), {}, {}) AS cell FROM w \
           GROUP BY state_code, district_code, gender, social_category, division ORDER BY 1",
        bits(&|b| format!("sum((en >> {b}) & 1)")),
        bits(&|b| format!("sum(((el & ~en) >> {b}) & 1)")),
    );
    db.execute("SELECT coverage_fold()", &[]).await.unwrap();
    let kept = format!(
        "SELECT concat_ws(' ', state_code, district_code, gender, social_category, division, n, \
           {}, {}) AS cell FROM coverage_cells WHERE n <> 0 ORDER BY 1",
        bits(&|b| format!("e{b}")),
        bits(&|b| format!("g{b}")),
    );
    let cells = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get(0)).collect();
    (
        cells(db.query(&kept, &[]).await.unwrap()),
        cells(db.query(&recount, &[]).await.unwrap()),
    )
}

/// Two transactions changing one worker's coverage at once (two schemes' syncs, a sync and a
/// batch that moves the worker): the second waits for the first and counts from what it wrote.
/// Each case holds the first transaction open, runs the second until it finishes or waits on a
/// lock, then commits the first; the masks and the cells then agree with a count from scratch.
#[actix_web::test]
async fn concurrent_link_and_worker_changes_leave_the_masks_and_cells_as_a_recount_gives_them() {
    let app = TestApp::spawn().await;
    let db = app.db().await;
    let link = "INSERT INTO scheme_links (uan, scheme, reference, status, source) \
                VALUES ($1, $2, $3, 'active', 'sync')";
    let moving = "UPDATE workers SET district_code = district_code || '1' WHERE uan = $1";
    let ending = "UPDATE scheme_links SET status = 'exited' WHERE uan = $1 AND scheme = 'pmsym'";
    let ending_pmjay =
        "UPDATE scheme_links SET status = 'exited' WHERE uan = $1 AND scheme = 'pmjay'";
    // (the worker's links before, the first transaction's statement, the second's, the mask
    // after: PM-SYM is bit 3, PM-JAY bit 4). A link added or ended while the worker moves, a link
    // added while another ends, two ending at once; each both ways round. The second's statement
    // sees only what was committed when it began: an ending does not end a link added meanwhile.
    let cases: [(&[&str], &str, &str, i32); 10] = [
        (&[], link, moving, 16),
        (&[], moving, link, 16),
        (&["pmsym"], link, ending, 16),
        (&["pmsym"], ending, link, 16),
        (&["pmsym"], ending, moving, 0),
        (&["pmsym"], moving, ending, 0),
        (&["pmsym", "pmjay"], ending, ending_pmjay, 0),
        (&["pmsym", "pmjay"], ending_pmjay, ending, 0),
        (&["pmjay"], ending_pmjay, link, 16),
        // The bit is set already, but the link that set it is ending meanwhile.
        (&["pmjay"], link, ending_pmjay, 16),
    ];
    for (n, (before, first, second, expected)) in cases.into_iter().enumerate() {
        let uan = worker(&app, 1500 + n as u64, 30, "10", 9000).await;
        for scheme in before {
            let reference = format!("{scheme}-{n}-before");
            db.execute(link, &[&uan, scheme, &reference]).await.unwrap();
        }
        let (a, b) = (app.db().await, app.db().await);
        let params = |sql: &str| -> Vec<String> {
            if sql == link {
                vec![uan.clone(), "pmjay".into(), format!("PMJAY-{n}")]
            } else {
                vec![uan.clone()]
            }
        };
        a.batch_execute("BEGIN").await.unwrap();
        exec(&a, first, &params(first)).await;
        let pid: i32 = b
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        let p2 = params(second);
        let second_done = actix_web::rt::spawn(async move { exec(&b, second, &p2).await });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let waiting: Option<String> = db
                .query_one(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1",
                    &[&pid],
                )
                .await
                .unwrap()
                .get(0);
            if second_done.is_finished() || waiting.as_deref() == Some("Lock") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "case {n}: the second never ran"
            );
            actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        a.batch_execute("COMMIT").await.unwrap();
        second_done.await.unwrap();
        let (mask, links): (i32, i32) = {
            let r = db
                .query_one(
                    "SELECT enrolled, coverage_enrolled(uan) FROM worker_coverage WHERE uan = $1",
                    &[&uan],
                )
                .await
                .unwrap();
            (r.get(0), r.get(1))
        };
        assert_eq!(mask, links, "case {n}: the mask is not what the links say");
        assert_eq!(
            mask, expected,
            "case {n}: the links are not what the statements made"
        );
        let (kept, recounted) = cells_kept_and_recounted(&db).await;
        assert_eq!(
            kept, recounted,
            "case {n}: the cells differ from a count from scratch"
        );
    }
    app.stop().await;
}

/// A write that PostgreSQL picks as a deadlock's victim is done again
/// (`store::again_on_conflict`, which a sync page and the coverage recompute go through): the
/// first try waits on a row another transaction holds, which then waits on the try's own row.
#[actix_web::test]
async fn a_write_that_loses_a_deadlock_is_done_again() {
    let app = TestApp::spawn().await;
    let db = app.db().await;
    db.batch_execute(
        "CREATE TABLE deadlock_probe (id int PRIMARY KEY, v int NOT NULL); \
         INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)",
    )
    .await
    .unwrap();
    let other = app.db().await;
    other
        .batch_execute("BEGIN; UPDATE deadlock_probe SET v = v + 1 WHERE id = 2")
        .await
        .unwrap();
    // Once the first try waits for row 2, the other transaction asks for row 1 and commits.
    let watch = app.db().await;
    let closing = actix_web::rt::spawn(async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let waiting: i64 = watch
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                      WHERE wait_event_type = 'Lock' AND query LIKE '%id = 2%'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if waiting > 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the first try never waited"
            );
            actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        other
            .batch_execute("UPDATE deadlock_probe SET v = v + 1 WHERE id = 1; COMMIT")
            .await
            .unwrap();
    });
    let tries = std::sync::atomic::AtomicUsize::new(0);
    let written = store::again_on_conflict("deadlock probe", || async {
        tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut client = app.db().await;
        let tx = client.transaction().await?;
        tx.execute("UPDATE deadlock_probe SET v = v + 1 WHERE id = 1", &[])
            .await?;
        tx.execute("UPDATE deadlock_probe SET v = v + 1 WHERE id = 2", &[])
            .await?;
        tx.commit().await?;
        Ok(())
    })
    .await;
    closing.await.unwrap();
    assert!(written.is_ok(), "{written:?}");
    assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 2);
    let sums: Vec<i32> = db
        .query("SELECT v FROM deadlock_probe ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(sums, [2, 2], "each transaction's two updates, once each");
    app.stop().await;
}
