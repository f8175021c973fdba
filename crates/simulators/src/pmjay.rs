//! AB PM-JAY: beneficiary families, one CSV row per member, by an opaque cursor returned in the
//! `X-Next-Cursor` header (absent on the last page). Requests are HMAC-signed. Many members carry
//! only a year of birth, as the SECC-based lists do.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::common::{Sim, hmac_ok};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2/beneficiaries", web::get().to(beneficiaries));
}

pub const HEADER: &str = "family_id,member_id,relation,name,gender,year_of_birth,date_of_birth,mobile,state_code,district_code,pincode,card_status";

const CARD_STATUS: [&str; 3] = ["ISSUED", "ISSUED", "PENDING_EKYC"];
const RELATIONS: [&str; 4] = ["HEAD", "SPOUSE", "SON", "DAUGHTER"];

fn row(sim: &Sim, k: u64) -> Vec<String> {
    let p = sim.person(k);
    let yob = p.dob.get(..4).unwrap_or("").to_owned();
    let year_only = sim.pick(k, 1, 10) < 4;
    vec![
        format!("PMJAY-F{:09}", k / 4),
        format!("PMJAY-M{:010}", k),
        RELATIONS[(k % 4) as usize].to_owned(),
        p.full_name,
        p.gender,
        yob,
        if year_only { String::new() } else { p.dob },
        p.mobile,
        p.state_code,
        p.district_code,
        p.pincode,
        CARD_STATUS[sim.pick(k, 2, 3) as usize].to_owned(),
    ]
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn encode(k: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("m{k}:{}", k ^ 0x5A5A))
}

fn decode(c: &str) -> Option<u64> {
    let raw = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(c)
            .ok()?,
    )
    .ok()?;
    let (k, check) = raw.strip_prefix('m')?.split_once(':')?;
    let k: u64 = k.parse().ok()?;
    (check.parse::<u64>().ok()? == k ^ 0x5A5A).then_some(k)
}

#[derive(Deserialize)]
struct Query {
    cursor: Option<String>,
    limit: Option<u64>,
}

async fn beneficiaries(
    sim: web::Data<Sim>,
    req: HttpRequest,
    q: web::Query<Query>,
) -> HttpResponse {
    if let Some(r) = sim.gate().await {
        return r;
    }
    let c = &sim.credentials;
    if !hmac_ok(&req, b"", &c.pmjay_key_id, &c.pmjay_secret) {
        return HttpResponse::Unauthorized().json(json!({"error": "signature_invalid"}));
    }
    let start = match q.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => match decode(c) {
            Some(k) => k,
            None => return HttpResponse::BadRequest().json(json!({"error": "bad_cursor"})),
        },
    };
    let limit = q.limit.unwrap_or(200).clamp(1, 2000);
    let end = (start + limit).min(sim.records);
    let mut rows: Vec<Vec<String>> = (start.min(end)..end).map(|k| row(&sim, k)).collect();
    sim.disorder(&mut rows);
    let mut body = String::with_capacity(rows.len() * 120 + HEADER.len());
    body.push_str(HEADER);
    body.push('\n');
    for r in rows {
        let fields: Vec<String> = r.iter().map(|f| csv_field(f)).collect();
        body.push_str(&fields.join(","));
        body.push('\n');
    }
    let mut resp = sim.answer("text/csv; charset=utf-8", body.into_bytes());
    if end < sim.records
        && let Ok(v) = actix_web::http::header::HeaderValue::from_str(&encode(end))
    {
        resp.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-next-cursor"),
            v,
        );
    }
    resp
}
