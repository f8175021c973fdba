//! PMJJBY: policies as banks and insurers report them, by `modified_after` (Unix milliseconds)
//! and the last policy number; enrolment with auto-debit consent that applies the age band and
//! the pro-rata premium, one cover per person. Requests are HMAC-signed.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{Sim, header, hmac_ok, idempotent, lock, updated_at};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/policies", web::get().to(policies))
        .route("/api/enrolments", web::post().to(enrol));
}

const BANKS: &[&str] = &["SBIN", "PUNB", "BARB", "CNRB", "UBIN", "BKID"];
const INSURERS: &[&str] = &[
    "Life Insurance Corporation of India",
    "SBI Life",
    "HDFC Life",
    "Canara HSBC Life",
];

fn policy_no(bank: &str, k: u64) -> String {
    format!("PMJJBY/{bank}/{:09}", 700_000_000 + k)
}

fn policy(sim: &Sim, k: u64) -> Value {
    let p = sim.person(k);
    let bank = BANKS[sim.pick(k, 1, BANKS.len() as u64) as usize];
    let modified = updated_at(k);
    let (start, end) = crate::terms::pmjjby_policy_year(modified.date_naive());
    json!({
        "policy_no": policy_no(bank, k),
        "insurer": INSURERS[sim.pick(k, 2, INSURERS.len() as u64) as usize],
        "bank_ifsc": format!("{bank}0{:06}", sim.pick(k, 3, 1_000_000)),
        "insured_name": p.full_name,
        "gender": p.gender,
        "dob": p.dob,
        "mobile": p.mobile,
        "nominee_name": p.relative_name,
        "policy_year": format!("{}-{}", start.format("%Y"), end.format("%y")),
        "premium_inr": domain::schemes::pmjjby::annual_premium_inr(modified.date_naive()),
        "status": if sim.pick(k, 4, 6) == 0 { "LAPSED" } else { "IN_FORCE" },
        "modified_at": modified.timestamp_millis(),
    })
}

#[derive(Deserialize)]
struct Feed {
    modified_after: Option<i64>,
    after_policy: Option<String>,
    limit: Option<usize>,
}

async fn policies(sim: web::Data<Sim>, req: HttpRequest, q: web::Query<Feed>) -> HttpResponse {
    if let Some(r) = sim.gate().await {
        return r;
    }
    let c = &sim.credentials;
    if !hmac_ok(&req, b"", &c.pmjjby_key_id, &c.pmjjby_secret) {
        return HttpResponse::Unauthorized().json(json!({"error": "signature_invalid"}));
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let after_ms = q.modified_after.unwrap_or(i64::MIN);
    let after_id = q.after_policy.clone().unwrap_or_default();
    let newer = |r: &Value| {
        let ms = r["modified_at"].as_i64().unwrap_or(0);
        ms > after_ms
            || (ms == after_ms && r["policy_no"].as_str().unwrap_or("") > after_id.as_str())
    };
    let start = q
        .modified_after
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| crate::common::index_at(t).max(0) as u64)
        .unwrap_or(0);
    let mut out = Vec::with_capacity(limit + 1);
    let mut k = start;
    while k < sim.records && out.len() <= limit {
        let r = policy(&sim, k);
        if newer(&r) {
            out.push(r);
        }
        k += 1;
    }
    // Pushed rows in feed order: by time, then id.
    let mut rows = lock(&sim.state).rows.clone();
    rows.sort_by_key(|r| {
        (
            r["modified_at"].as_i64(),
            r["policy_no"].as_str().map(str::to_owned),
        )
    });
    for r in rows.iter() {
        if out.len() > limit {
            break;
        }
        if newer(r) {
            out.push(r.clone());
        }
    }
    let has_more = out.len() > limit;
    out.truncate(limit);
    let next = out
        .last()
        .map(|r| json!({"modified_after": r["modified_at"], "after_policy": r["policy_no"]}));
    sim.disorder(&mut out);
    sim.json(&json!({"policies": out, "next": if has_more { next.unwrap_or(Value::Null) } else { Value::Null }}))
}

#[derive(Deserialize)]
struct Enrolment {
    eshram_uan: String,
    name: String,
    gender: String,
    dob: NaiveDate,
    mobile: String,
    account_number: String,
    ifsc: String,
    #[serde(default)]
    nominee_name: String,
    auto_debit_consent: bool,
}

async fn enrol(sim: web::Data<Sim>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Some(r) = sim.gate().await {
        return r;
    }
    let c = &sim.credentials;
    if !hmac_ok(&req, &body, &c.pmjjby_key_id, &c.pmjjby_secret) {
        return HttpResponse::Unauthorized().json(json!({"error": "signature_invalid"}));
    }
    let e: Enrolment = match crate::common::enrolment_body(&body) {
        Ok(e) => e,
        Err(answer) => return *answer,
    };
    let key = header(&req, "Idempotency-Key").to_owned();
    let today = Utc::now().date_naive();
    let has_bank_account = !e.account_number.is_empty() && !e.ifsc.is_empty();
    idempotent(
        &sim,
        (!key.is_empty()).then_some(key.as_str()),
        &body,
        |st| {
            // One cover per person, across banks.
            if let Some(row) = st
                .rows
                .iter()
                .find(|r| r["eshram_uan"] == e.eshram_uan.as_str())
            {
                return (
                    409,
                    json!({"code": "DUPLICATE_COVER", "policy_no": row["policy_no"]}),
                );
            }
            match crate::terms::pmjjby::decide(e.dob, has_bank_account, e.auto_debit_consent, today)
            {
                Err(broken) => crate::common::not_eligible(&broken),
                Ok(terms) => {
                    let k = sim.records + st.rows.len() as u64;
                    let bank: String = e.ifsc.chars().take(4).collect();
                    let no = policy_no(&bank, k);
                    let (start, end) = crate::terms::pmjjby_policy_year(today);
                    st.rows.push(json!({
                        "policy_no": no,
                        "insurer": INSURERS[0],
                        "bank_ifsc": e.ifsc,
                        "insured_name": e.name,
                        "gender": e.gender,
                        "dob": e.dob,
                        "mobile": e.mobile,
                        "nominee_name": e.nominee_name,
                        "eshram_uan": e.eshram_uan,
                        "policy_year": format!("{}-{}", start.format("%Y"), end.format("%y")),
                        "premium_inr": terms.annual_premium_inr,
                        "status": "IN_FORCE",
                        "modified_at": Utc::now().timestamp_millis(),
                    }));
                    (
                        201,
                        json!({
                            "policy_no": no,
                            "status": "IN_FORCE",
                            "annual_premium_inr": terms.annual_premium_inr,
                            "first_year_premium_inr": terms.first_year_premium_inr,
                            "cover_inr": terms.cover_inr,
                            "cover_until": terms.policy_year_ends,
                            "cover_ends_by_age": terms.cover_ends_by_age,
                        }),
                    )
                }
            }
        },
    )
}
