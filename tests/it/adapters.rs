//! Each adapter against its simulator over loopback HTTP: full pulls across pages, every fault
//! knob, auth failures, the circuit breaker, rate limiting, pushes and the webhook. No database.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use adapter_core::{
    AdapterError, AuthConfig, Call, CircuitState, Cursor, Enrolment, Person, SchemeAction,
    SchemeAdapter, SchemeId, Upstream, UpstreamConfig,
};
use simulators::{Credentials, Faults, SimConfig};

const RECORDS: u64 = 1_234;

fn start_sims(faults: Faults, webhook_url: &str) -> simulators::Running {
    let config = SimConfig {
        records: Some(RECORDS),
        faults,
        webhook_url: webhook_url.to_owned(),
        ..Default::default()
    };
    simulators::start(
        &config,
        &SchemeId::ALL,
        TcpListener::bind("127.0.0.1:0").unwrap(),
    )
    .unwrap()
}

/// The simulator's client settings, with fast backoff and room for many retries.
fn config(sims: &simulators::Running, id: SchemeId) -> UpstreamConfig {
    UpstreamConfig {
        backoff_base_ms: 1,
        backoff_max_ms: 5,
        max_retries: 12,
        rate_limit_rps: 100_000,
        breaker_failures: 1_000,
        ..simulators::upstream_config(id, &sims.base_url(id), &Credentials::default())
    }
}

fn adapter(id: SchemeId, c: UpstreamConfig) -> Box<dyn SchemeAdapter> {
    match id {
        SchemeId::Ncs => Box::new(adapter_ncs::Ncs::new(c).unwrap()),
        SchemeId::Sidh => Box::new(adapter_sidh::Sidh::new(c).unwrap()),
        SchemeId::Myscheme => Box::new(adapter_myscheme::MyScheme::new(c).unwrap()),
        SchemeId::Pmsym => Box::new(adapter_pmsym::Pmsym::new(c).unwrap()),
        SchemeId::Pmjay => Box::new(adapter_pmjay::Pmjay::new(c).unwrap()),
        SchemeId::Pmjjby => Box::new(adapter_pmjjby::Pmjjby::new(c).unwrap()),
    }
}

fn expected(id: SchemeId) -> usize {
    if id == SchemeId::Myscheme {
        14
    } else {
        RECORDS as usize
    }
}

fn page_size(id: SchemeId) -> usize {
    if id == SchemeId::Myscheme { 4 } else { 100 }
}

/// Every page from the start, keeping each page's references in order (duplicates across pages
/// stay visible here, unlike `pull_all`).
async fn pull_pages(
    a: &dyn SchemeAdapter,
    limit: usize,
) -> Result<(Vec<String>, u64), AdapterError> {
    let mut refs = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut pages = 0;
    loop {
        let page = a.pull(cursor.as_ref(), limit).await?;
        pages += 1;
        refs.extend(page.records.iter().map(|r| r.reference.clone()));
        cursor = Some(page.cursor);
        if !page.more {
            return Ok((refs, pages));
        }
    }
}

#[actix_web::test]
async fn every_adapter_pulls_every_record_across_pages_in_canonical_form() {
    let sims = start_sims(Faults::default(), "");
    for id in SchemeId::ALL {
        let a = adapter(id, config(&sims, id));
        let (refs, pages) = pull_pages(a.as_ref(), page_size(id)).await.unwrap();
        assert!(pages > 1, "{id}: one page only");
        let unique: HashSet<_> = refs.iter().collect();
        assert_eq!(refs.len(), expected(id), "{id}: records");
        assert_eq!(unique.len(), refs.len(), "{id}: duplicates across pages");
        // The canonical form carries the identity fields, mapped from each wire format.
        let (records, _) = adapter_core::pull_all(a.as_ref(), 500).await.unwrap();
        assert_eq!(records.len(), expected(id));
        if id == SchemeId::Myscheme {
            assert!(records.iter().all(|r| r.person.is_none()));
            continue;
        }
        let people: Vec<&Person> = records.iter().filter_map(|r| r.person.as_ref()).collect();
        assert_eq!(
            people.len(),
            records.len(),
            "{id}: every record names a person"
        );
        assert!(people.iter().all(|p| !p.full_name.is_empty()));
        let dated = people.iter().filter(|p| p.date_of_birth.is_some()).count();
        assert!(
            dated * 10 > people.len() * 8,
            "{id}: dates of birth parsed: {dated}"
        );
        assert!(
            people
                .iter()
                .all(|p| ["M", "F", ""].contains(&p.gender.as_str()))
        );
        // Devanagari names from the shared population come through intact.
        assert!(
            people.iter().any(|p| p
                .full_name
                .chars()
                .any(|c| ('\u{0900}'..='\u{097F}').contains(&c))),
            "{id}: no Devanagari name"
        );
        assert!(
            records
                .iter()
                .all(|r| r.scheme == id && !r.status.is_empty())
        );
    }
    // PM-JAY keeps families together and knows only the year of birth of many members.
    let pmjay = adapter(SchemeId::Pmjay, config(&sims, SchemeId::Pmjay));
    let (records, _) = adapter_core::pull_all(pmjay.as_ref(), 500).await.unwrap();
    let year_only = records
        .iter()
        .filter(|r| r.person.as_ref().unwrap().year_only)
        .count();
    assert!(year_only > 100, "year-only members: {year_only}");
    let families: HashSet<_> = records
        .iter()
        .map(|r| r.facts["family_id"].clone())
        .collect();
    assert!(families.len() * 3 < records.len());
    sims.handle.stop(false).await;
}

#[actix_web::test]
async fn faults_are_retried_and_no_record_is_lost_or_duplicated() {
    let faults = Faults {
        error_rate: 0.2,
        truncate_rate: 0.1,
        duplicate_rate: 0.1,
        out_of_order: true,
        burst_429_every: 7,
        burst_429_len: 1,
        retry_after_secs: 0,
        latency_ms: 1,
        ..Default::default()
    };
    let sims = start_sims(faults, "");
    for id in SchemeId::ALL {
        let a = adapter(id, config(&sims, id));
        let (refs, pages) = pull_pages(a.as_ref(), page_size(id)).await.unwrap();
        let unique: HashSet<_> = refs.iter().collect();
        assert_eq!(unique.len(), refs.len(), "{id}: a record came twice");
        assert_eq!(refs.len(), expected(id), "{id}: a record was lost");
        let sent = a.upstream().health().requests;
        assert!(
            sent > pages,
            "{id}: {sent} requests for {pages} pages: nothing was retried?"
        );
        assert_eq!(
            sims.sim(id).requests(),
            sent,
            "{id}: every attempt reached the simulator"
        );
    }
    sims.handle.stop(false).await;
}

#[actix_web::test]
async fn a_malformed_body_is_a_typed_error_and_not_retried() {
    let sims = start_sims(
        Faults {
            malformed_rate: 1.0,
            ..Default::default()
        },
        "",
    );
    for id in SchemeId::ALL {
        let a = adapter(id, config(&sims, id));
        let e = a.pull(None, 10).await.unwrap_err();
        assert!(matches!(e, AdapterError::Malformed { .. }), "{id}: {e}");
        assert_eq!(sims.sim(id).requests(), 1, "{id}: retried a malformed body");
    }
    sims.handle.stop(false).await;
}

#[actix_web::test]
async fn a_failed_pull_leaves_the_cursor_where_it_was() {
    let sims = start_sims(Faults::default(), "");
    for id in SchemeId::ALL {
        let a = adapter(
            id,
            UpstreamConfig {
                max_retries: 0,
                ..config(&sims, id)
            },
        );
        let limit = page_size(id);
        let first = a.pull(None, limit).await.unwrap();
        // The next page, fetched from the first page's cursor with nothing failing.
        let want: Vec<_> = a
            .pull(Some(&first.cursor), limit)
            .await
            .unwrap()
            .records
            .into_iter()
            .map(|r| r.reference)
            .collect();
        sims.sim(id).set_faults(Faults {
            error_rate: 1.0,
            ..Default::default()
        });
        let e = a.pull(Some(&first.cursor), limit).await.unwrap_err();
        assert!(e.retryable(), "{id}: {e}");
        sims.sim(id).set_faults(Faults::default());
        let got: Vec<_> = a
            .pull(Some(&first.cursor), limit)
            .await
            .unwrap()
            .records
            .into_iter()
            .map(|r| r.reference)
            .collect();
        assert_eq!(
            got, want,
            "{id}: the retry from the same cursor skipped or repeated"
        );
        let firsts: HashSet<_> = first.records.iter().map(|r| &r.reference).collect();
        assert!(
            got.iter().all(|r| !firsts.contains(r)),
            "{id}: pages overlap"
        );
    }
    sims.handle.stop(false).await;
}

#[actix_web::test]
async fn an_expired_client_secret_is_a_clear_error_not_a_retry_storm() {
    let sims = start_sims(Faults::default(), "");
    let sim = sims.sim(SchemeId::Pmsym);
    sim.secret_expired
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let a = adapter(SchemeId::Pmsym, config(&sims, SchemeId::Pmsym));
    let e = a.pull(None, 10).await.unwrap_err();
    match &e {
        AdapterError::Auth { detail, .. } => assert!(detail.contains("expired"), "{detail}"),
        other => panic!("expected an auth error, got {other}"),
    }
    assert_eq!(
        sim.token_requests(),
        1,
        "the token endpoint was asked again"
    );
    assert_eq!(sim.requests(), 0);
    // Once the secret is renewed, the token is fetched, cached and reused.
    sim.secret_expired
        .store(false, std::sync::atomic::Ordering::Relaxed);
    a.pull(None, 10).await.unwrap();
    a.pull(None, 10).await.unwrap();
    assert_eq!(sim.token_requests(), 2);
    // A wrong HMAC secret is refused once, not retried.
    let mut c = config(&sims, SchemeId::Pmjay);
    c.auth = AuthConfig::Hmac {
        key_id: "shramsetu".into(),
        secret: "wrong".into(),
    };
    let pmjay = adapter(SchemeId::Pmjay, c);
    assert!(matches!(
        pmjay.pull(None, 10).await.unwrap_err(),
        AdapterError::Auth { .. }
    ));
    assert_eq!(sims.sim(SchemeId::Pmjay).requests(), 1);
    sims.handle.stop(false).await;
}

/// Waits, with a deadline, for the cool-down to let a probe through (the breaker's own timing is
/// tested on given instants in `adapter_core::breaker`).
async fn half_open(a: &dyn SchemeAdapter) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while a.upstream().health().circuit != CircuitState::HalfOpen {
        assert!(Instant::now() < deadline, "the circuit never half-opened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn the_circuit_opens_after_repeated_failures_and_closes_after_a_probe() {
    let sims = start_sims(
        Faults {
            error_rate: 1.0,
            ..Default::default()
        },
        "",
    );
    let id = SchemeId::Ncs;
    let a = adapter(
        id,
        UpstreamConfig {
            max_retries: 0,
            breaker_failures: 3,
            // Long enough that a busy machine does not pass it between two of the checks below.
            breaker_cooldown_ms: 1_500,
            ..config(&sims, id)
        },
    );
    for _ in 0..3 {
        let e = a.pull(None, 10).await.unwrap_err();
        assert!(matches!(e, AdapterError::Status { status: 503, .. }), "{e}");
    }
    assert_eq!(a.upstream().health().circuit, CircuitState::Open);
    let e = a.pull(None, 10).await.unwrap_err();
    assert!(matches!(e, AdapterError::CircuitOpen { .. }), "{e}");
    assert_eq!(
        sims.sim(id).requests(),
        3,
        "an open circuit still called the scheme"
    );
    // After the cool-down one probe goes through; it succeeds and the circuit closes.
    sims.sim(id).set_faults(Faults::default());
    half_open(a.as_ref()).await;
    a.pull(None, 10).await.unwrap();
    assert_eq!(a.upstream().health().circuit, CircuitState::Closed);
    // A failed probe opens it again at once.
    sims.sim(id).set_faults(Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    for _ in 0..3 {
        let _ = a.pull(None, 10).await;
    }
    half_open(a.as_ref()).await;
    assert!(a.pull(None, 10).await.is_err());
    assert_eq!(a.upstream().health().circuit, CircuitState::Open);
    sims.handle.stop(false).await;
}

#[actix_web::test]
async fn retry_after_is_honoured_and_a_long_one_fails_fast() {
    let sims = start_sims(
        Faults {
            burst_429_every: 1_000,
            burst_429_len: 2,
            retry_after_secs: 1,
            ..Default::default()
        },
        "",
    );
    let id = SchemeId::Sidh;
    let a = adapter(id, config(&sims, id));
    let started = Instant::now();
    a.pull(None, 10).await.unwrap();
    // Two 429s, each waited out for the full second the simulator asked for.
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(sims.sim(id).requests(), 3);
    // A Retry-After beyond the configured ceiling is not waited for.
    sims.sim(id).set_faults(Faults {
        burst_429_every: 1,
        burst_429_len: 1,
        retry_after_secs: 60,
        ..Default::default()
    });
    let b = adapter(
        id,
        UpstreamConfig {
            max_retry_after_ms: 1_000,
            ..config(&sims, id)
        },
    );
    let e = b.pull(None, 10).await.unwrap_err();
    assert!(
        matches!(e, AdapterError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(60)),
        "{e}"
    );
    assert_eq!(sims.sim(id).requests(), 4);
    sims.handle.stop(false).await;
}

#[actix_web::test]
async fn a_post_is_retried_only_when_it_carries_an_idempotency_key() {
    let sims = start_sims(
        Faults {
            error_rate: 1.0,
            ..Default::default()
        },
        "",
    );
    let id = SchemeId::Ncs;
    let up = Upstream::new(
        "ncs",
        UpstreamConfig {
            max_retries: 3,
            ..config(&sims, id)
        },
    )
    .unwrap();
    let body = serde_json::json!({"name": "x"});
    assert!(
        up.send(&Call::post_json("/api/v1/jobseekers", &body))
            .await
            .is_err()
    );
    assert_eq!(sims.sim(id).requests(), 1, "a plain POST was retried");
    let keyed = Call::post_json("/api/v1/jobseekers", &body).idempotency_key("k-1");
    assert!(up.send(&keyed).await.is_err());
    assert_eq!(sims.sim(id).requests(), 1 + 4);
    sims.handle.stop(false).await;
}

#[actix_web::test]
async fn the_per_upstream_rate_limit_spaces_requests() {
    let sims = start_sims(Faults::default(), "");
    let id = SchemeId::Myscheme;
    let a = adapter(
        id,
        UpstreamConfig {
            rate_limit_rps: 5,
            ..config(&sims, id)
        },
    );
    let started = Instant::now();
    // 14 records in pages of 1: 15 requests at 5 a second, after a burst of 5, wait out at least
    // nine intervals of 200 ms (1.8 s; checked with margin).
    let (refs, _) = pull_pages(a.as_ref(), 1).await.unwrap();
    assert_eq!(refs.len(), 14);
    assert!(started.elapsed() >= Duration::from_millis(1_500));
    sims.handle.stop(false).await;
}

fn enrolment(uan: &str, dob: &str, key: &str) -> SchemeAction {
    SchemeAction::Enrol(Enrolment {
        uan: uan.into(),
        person: Person {
            full_name: "Sunita Devi".into(),
            gender: "F".into(),
            date_of_birth: Some(dob.parse().unwrap()),
            mobile: "9876543210".into(),
            state_code: "10".into(),
            district_code: "230".into(),
            ..Person::default()
        },
        monthly_income_inr: 8_000,
        occupation_nco: "9313.0100".into(),
        bank_account_number: "30412345678".into(),
        ifsc: "SBIN0001234".into(),
        nominee_name: "Ramesh".into(),
        auto_debit_consent: true,
        idempotency_key: key.into(),
    })
}

/// Today minus `years`, as YYYY-MM-DD.
fn born(years: i32) -> String {
    let t = chrono::Utc::now().date_naive();
    chrono::NaiveDate::from_ymd_opt(t.year_ce().1 as i32 - years, t.month0() + 1, 1)
        .unwrap()
        .to_string()
}

use chrono::Datelike;

#[actix_web::test]
async fn pushes_enrol_refuse_with_reasons_and_are_idempotent() {
    let sims = start_sims(Faults::default(), "");
    let pmsym = adapter(SchemeId::Pmsym, config(&sims, SchemeId::Pmsym));
    let r = pmsym
        .push(&enrolment("100000000017", &born(29), "key-1"))
        .await
        .unwrap();
    assert!(r.reference.starts_with("PMSYM"));
    assert_eq!(r.terms["monthly_contribution_inr"], 100);
    // The same key again: the same enrolment, not a second one.
    let again = pmsym
        .push(&enrolment("100000000017", &born(29), "key-1"))
        .await
        .unwrap();
    assert_eq!(again.reference, r.reference);
    // Another key for the same worker: refused as already enrolled.
    let e = pmsym
        .push(&enrolment("100000000017", &born(29), "key-2"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, AdapterError::Refused { reasons, .. } if reasons[0].code == "already_enrolled"),
        "{e}"
    );
    let e = pmsym
        .push(&enrolment("100000000025", &born(45), "key-3"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, AdapterError::Refused { reasons, .. } if reasons.iter().any(|r| r.field == "age")),
        "{e}"
    );
    // The enrolment shows in the subscriber feed.
    let (records, _) = adapter_core::pull_all(pmsym.as_ref(), 500).await.unwrap();
    assert!(
        records.iter().any(|x| x.reference == r.reference
            && x.person.as_ref().unwrap().eshram_uan == "100000000017")
    );

    let pmjjby = adapter(SchemeId::Pmjjby, config(&sims, SchemeId::Pmjjby));
    let p = pmjjby
        .push(&enrolment("100000000017", &born(30), "key-4"))
        .await
        .unwrap();
    assert!(p.reference.starts_with("PMJJBY/SBIN/"));
    assert_eq!(p.terms["annual_premium_inr"], 436);
    assert_eq!(p.terms["cover_inr"], 200_000);
    let e = pmjjby
        .push(&enrolment("100000000033", &born(51), "key-5"))
        .await
        .unwrap_err();
    assert!(matches!(&e, AdapterError::Refused { reasons, .. } if reasons[0].field == "age"));

    let ncs = adapter_ncs::Ncs::new(config(&sims, SchemeId::Ncs)).unwrap();
    let n = ncs
        .push(&enrolment("100000000017", &born(30), "key-6"))
        .await
        .unwrap();
    assert_eq!(n.reference.len(), 19, "NCS ids are 19 characters");
    let n2 = ncs
        .push(&enrolment("100000000017", &born(30), "key-7"))
        .await
        .unwrap();
    assert_eq!(n2.reference, n.reference, "one NCS registration per UAN");
    let jobs = ncs.vacancies("230", "9313.0100").await.unwrap();
    assert!(!jobs.is_empty());
    assert!(
        jobs.iter()
            .all(|j| j.nco_code == "9313.0100" && j.district_code == "230")
    );
    let catalogue = adapter_myscheme::MyScheme::new(config(&sims, SchemeId::Myscheme))
        .unwrap()
        .catalogue()
        .await
        .unwrap();
    let pmsby = catalogue.iter().find(|e| e.slug == "pmsby").unwrap();
    assert_eq!(
        (pmsby.criteria.min_age, pmsby.criteria.max_age),
        (Some(18), Some(70))
    );
    sims.handle.stop(false).await;
}

/// A webhook delivery: the signature header and the body.
type Delivery = (String, Vec<u8>);

#[actix_web::test]
async fn pmsym_posts_each_enrolment_to_the_webhook_signed() {
    let received: Arc<Mutex<Vec<Delivery>>> = Arc::default();
    let sink = received.clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        let sink = sink.clone();
        App::new().route(
            "/hook",
            web::post().to(move |req: HttpRequest, body: web::Bytes| {
                let sink = sink.clone();
                async move {
                    let sig = req
                        .headers()
                        .get("X-PMSYM-Signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    sink.lock().unwrap().push((sig, body.to_vec()));
                    HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let hook = server.handle();
    actix_web::rt::spawn(server);
    let sims = start_sims(Faults::default(), &format!("http://{addr}/hook"));
    let pmsym = adapter(SchemeId::Pmsym, config(&sims, SchemeId::Pmsym));
    let r = pmsym
        .push(&enrolment("100000000017", &born(25), "key-w"))
        .await
        .unwrap();
    let mut waited = 0;
    while received.lock().unwrap().is_empty() && waited < 400 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    let (sig, body) = received.lock().unwrap()[0].clone();
    let secret = Credentials::default().webhook_secret;
    assert!(adapter_core::auth::hmac_verify(
        &secret,
        &String::from_utf8_lossy(&body),
        &sig
    ));
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["event"], "subscriber.enrolled");
    assert_eq!(event["spn"], r.reference.as_str());
    sims.handle.stop(false).await;
    hook.stop(false).await;
}

#[actix_web::test]
async fn latency_past_the_request_timeout_is_a_timeout_retried_then_reported() {
    let sims = start_sims(
        Faults {
            latency_ms: 3_000,
            ..Default::default()
        },
        "",
    );
    let id = SchemeId::Pmjay;
    // A second of timeout, so that the fast answers below fit even on a busy machine.
    let a = adapter(
        id,
        UpstreamConfig {
            request_timeout_ms: 1_000,
            max_retries: 2,
            ..config(&sims, id)
        },
    );
    let e = a.pull(None, 10).await.unwrap_err();
    assert!(matches!(e, AdapterError::Timeout { .. }), "{e}");
    assert_eq!(
        a.upstream().health().requests,
        3,
        "tried once and retried twice"
    );
    // Within the timeout the same latency is only slower.
    sims.sim(id).set_faults(Faults {
        latency_ms: 20,
        ..Default::default()
    });
    assert_eq!(a.pull(None, 10).await.unwrap().records.len(), 10);
    sims.handle.stop(false).await;
}

#[actix_web::test]
async fn a_catalogue_refresh_in_flight_keeps_nobody_waiting_who_can_be_served_the_last_copy() {
    // Every view finds the copy stale, so each would fetch; only one fetch may run at a time.
    let app = e2e::TestApp::spawn_with(|s| s.schemes.catalogue_cache_secs = 0).await;
    let sim = app.simulators().sim(SchemeId::Myscheme);
    let first = app
        .state
        .registry
        .schemes
        .catalogue()
        .await
        .expect("a first copy");
    let before = sim.requests();
    sim.set_faults(Faults {
        latency_ms: 20_000,
        ..Default::default()
    });
    let state = app.state.clone();
    let refresh = actix_web::rt::spawn(async move { state.registry.schemes.catalogue().await });
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.requests() == before {
        assert!(
            Instant::now() < deadline,
            "the refresh never reached myScheme"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    // The refresh is held up at myScheme for 20 s; meanwhile every view gets the last copy at once.
    for _ in 0..5 {
        let copy = app
            .state
            .registry
            .schemes
            .catalogue()
            .await
            .expect("the last copy");
        assert_eq!(copy.len(), first.len());
    }
    assert!(!refresh.is_finished(), "the refresh is still in flight");
    assert_eq!(sim.requests(), before + 1, "one fetch at a time");
    refresh.abort();
    sim.set_faults(Faults::default());
    app.stop().await;
}
