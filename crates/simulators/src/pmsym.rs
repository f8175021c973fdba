//! PM-SYM: OAuth2 client credentials (`/oauth/token`), subscribers by `since` timestamp and last
//! id, enrolment that applies the scheme's rules and age chart, and a webhook that posts each
//! enrolment to `webhook_url`, signed with HMAC-SHA256 in `X-PMSYM-Signature`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{Sim, header, idempotent, index_at, lock, updated_at};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(Tokens::default()))
        .route("/oauth/token", web::post().to(token))
        .route("/api/subscribers", web::get().to(subscribers))
        .route("/api/enrolments", web::post().to(enrol));
}

/// Issued access tokens and when they expire.
#[derive(Default)]
pub struct Tokens(Mutex<HashMap<String, Instant>>);

const TOKEN_SECS: u64 = 300;

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    client_id: String,
    client_secret: String,
}

async fn token(
    sim: web::Data<Sim>,
    tokens: web::Data<Tokens>,
    form: web::Form<TokenForm>,
) -> HttpResponse {
    sim.count_token_request();
    let c = &sim.credentials;
    if form.grant_type != "client_credentials" {
        return HttpResponse::BadRequest().json(json!({"error": "unsupported_grant_type"}));
    }
    if form.client_id != c.pmsym_client_id || form.client_secret != c.pmsym_client_secret {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client", "error_description": "unknown client or wrong secret"}));
    }
    if sim
        .secret_expired
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return HttpResponse::Unauthorized().json(
            json!({"error": "invalid_client", "error_description": "client secret expired"}),
        );
    }
    let t = uuid::Uuid::new_v4().simple().to_string();
    lock(&tokens.0).insert(t.clone(), Instant::now() + Duration::from_secs(TOKEN_SECS));
    HttpResponse::Ok()
        .json(json!({"access_token": t, "token_type": "Bearer", "expires_in": TOKEN_SECS}))
}

fn bearer_ok(req: &HttpRequest, tokens: &Tokens) -> bool {
    let t = header(req, "Authorization")
        .strip_prefix("Bearer ")
        .unwrap_or("");
    lock(&tokens.0)
        .get(t)
        .is_some_and(|exp| Instant::now() < *exp)
}

fn spn(k: u64) -> String {
    format!("PMSYM{:010}", 4_000_000_000u64 + k)
}

fn subscriber(sim: &Sim, k: u64) -> Value {
    let p = sim.person(k);
    let year: i32 = p.dob.get(..4).and_then(|y| y.parse().ok()).unwrap_or(1990);
    let enrolled = updated_at(k).date_naive();
    let entry_age = (enrolled.year() - year).clamp(18, 40) as u32;
    let status = ["ACTIVE", "ACTIVE", "ACTIVE", "LAPSED", "EXITED"][sim.pick(k, 1, 5) as usize];
    json!({
        "spn": spn(k),
        "subscriber_name": p.full_name,
        "gender": p.gender,
        "date_of_birth": p.dob,
        "mobile_no": p.mobile,
        "state": p.state_code,
        "district": p.district_code,
        "pin": p.pincode,
        "spouse_name": p.relative_name,
        "entry_age": entry_age,
        "monthly_contribution": crate::terms::pmsym::contribution_inr(entry_age),
        "status": status,
        "enrolled_on": enrolled,
        "updated_at": updated_at(k).to_rfc3339(),
    })
}

use chrono::Datelike;

#[derive(Deserialize)]
struct Feed {
    since: Option<DateTime<Utc>>,
    after: Option<String>,
    limit: Option<usize>,
}

async fn subscribers(
    sim: web::Data<Sim>,
    tokens: web::Data<Tokens>,
    req: HttpRequest,
    q: web::Query<Feed>,
) -> HttpResponse {
    if let Some(r) = sim.gate().await {
        return r;
    }
    if !bearer_ok(&req, &tokens) {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_token"}));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return HttpResponse::BadRequest()
            .json(json!({"error": "invalid_request", "error_description": "limit is 1 to 1000"}));
    }
    let after = q.after.clone().unwrap_or_default();
    let newer = |t: &str, id: &str| match q.since {
        None => true,
        Some(s) => {
            let t = DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default();
            t > s || (t == s && id > after.as_str())
        }
    };
    let start = q.since.map(|s| index_at(s).max(0) as u64).unwrap_or(0);
    let mut out: Vec<Value> = Vec::with_capacity(limit + 1);
    let mut k = start;
    while k < sim.records && out.len() <= limit {
        let r = subscriber(&sim, k);
        if newer(
            r["updated_at"].as_str().unwrap_or(""),
            r["spn"].as_str().unwrap_or(""),
        ) {
            out.push(r);
        }
        k += 1;
    }
    if out.len() <= limit {
        // Pushed rows in feed order: by time, then id.
        let mut rows = lock(&sim.state).rows.clone();
        rows.sort_by_key(|r| {
            (
                r["updated_at"].as_str().map(str::to_owned),
                r["spn"].as_str().map(str::to_owned),
            )
        });
        for r in rows.iter() {
            if out.len() > limit {
                break;
            }
            if newer(
                r["updated_at"].as_str().unwrap_or(""),
                r["spn"].as_str().unwrap_or(""),
            ) {
                out.push(r.clone());
            }
        }
    }
    let has_more = out.len() > limit;
    out.truncate(limit);
    sim.disorder(&mut out);
    sim.json(&json!({"subscribers": out, "has_more": has_more}))
}

#[derive(Deserialize)]
struct Enrolment {
    eshram_uan: String,
    name: String,
    gender: String,
    date_of_birth: NaiveDate,
    mobile: String,
    monthly_income_inr: i64,
    account_number: String,
    ifsc: String,
    #[serde(default)]
    nominee_name: String,
    #[serde(default)]
    epfo_member: bool,
    #[serde(default)]
    esic_member: bool,
    #[serde(default)]
    nps_member: bool,
    #[serde(default)]
    income_tax_payer: bool,
}

async fn enrol(
    sim: web::Data<Sim>,
    tokens: web::Data<Tokens>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(r) = sim.gate().await {
        return r;
    }
    if !bearer_ok(&req, &tokens) {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_token"}));
    }
    let e: Enrolment = match crate::common::enrolment_body(&body) {
        Ok(e) => e,
        Err(answer) => return *answer,
    };
    let key = header(&req, "Idempotency-Key").to_owned();
    let today = Utc::now().date_naive();
    let applicant = crate::terms::pmsym::Applicant {
        age: crate::terms::age_on(e.date_of_birth, today),
        monthly_income_inr: e.monthly_income_inr,
        has_bank_account: !e.account_number.is_empty() && !e.ifsc.is_empty(),
        epfo_member: e.epfo_member,
        esic_member: e.esic_member,
        nps_member: e.nps_member,
        income_tax_payer: e.income_tax_payer,
    };
    let mut event = None;
    let answer = idempotent(
        &sim,
        (!key.is_empty()).then_some(key.as_str()),
        &body,
        |st| {
            if let Some(row) = st
                .rows
                .iter()
                .find(|r| r["eshram_uan"] == e.eshram_uan.as_str())
            {
                return (409, json!({"code": "ALREADY_ENROLLED", "spn": row["spn"]}));
            }
            match crate::terms::pmsym::decide(&applicant) {
                Err(broken) => crate::common::not_eligible(&broken),
                Ok(contribution) => {
                    let entry_age = applicant.age;
                    let k = sim.records + st.rows.len() as u64;
                    let now = Utc::now();
                    let row = json!({
                        "spn": spn(k),
                        "subscriber_name": e.name,
                        "gender": e.gender,
                        "date_of_birth": e.date_of_birth,
                        "mobile_no": e.mobile,
                        "state": "", "district": "", "pin": "",
                        "spouse_name": e.nominee_name,
                        "eshram_uan": e.eshram_uan,
                        "entry_age": entry_age,
                        "monthly_contribution": contribution,
                        "status": "ACTIVE",
                        "enrolled_on": today,
                        "updated_at": now.to_rfc3339(),
                    });
                    st.rows.push(row);
                    event = Some(
                        json!({"event": "subscriber.enrolled", "spn": spn(k), "eshram_uan": e.eshram_uan, "status": "ACTIVE", "occurred_at": now.to_rfc3339()}),
                    );
                    (
                        201,
                        json!({"spn": spn(k), "status": "ACTIVE", "entry_age": entry_age, "monthly_contribution_inr": contribution, "pension_from_age_60_inr": crate::terms::pmsym::PENSION_INR}),
                    )
                }
            }
        },
    );
    if let Some(ev) = event
        && !sim.webhook_url.is_empty()
    {
        tokio::spawn(post_webhook(
            sim.webhook_url.clone(),
            sim.credentials.webhook_secret.clone(),
            ev,
        ));
    }
    answer
}

/// Posts one change event, signed, trying three times.
async fn post_webhook(url: String, secret: String, event: Value) {
    let body = serde_json::to_vec(&event).unwrap_or_default();
    let sig = adapter_core::auth::hmac_hex(&secret, &String::from_utf8_lossy(&body));
    let client = reqwest::Client::new();
    for attempt in 0..3u64 {
        let sent = client
            .post(&url)
            .header("content-type", "application/json")
            .header("X-PMSYM-Signature", &sig)
            .body(body.clone())
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        if sent.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
    }
    tracing::warn!(url = %url, "PM-SYM simulator: webhook delivery failed three times.");
}
