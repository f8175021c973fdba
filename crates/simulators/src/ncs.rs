//! National Career Service: job seekers by page number, registration of a job seeker, vacancies by
//! district and NCO code. API key in `X-API-Key`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{Sim, gender_word, header, idempotent, lock};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/jobseekers", web::get().to(jobseekers))
        .route("/api/v1/jobseekers", web::post().to(register))
        .route("/api/v1/vacancies", web::get().to(vacancies));
}

fn authorised(sim: &Sim, req: &HttpRequest) -> Option<HttpResponse> {
    (header(req, "X-API-Key") != sim.credentials.ncs_api_key).then(|| {
        HttpResponse::Unauthorized().json(json!({"status": "ERROR", "message": "invalid API key"}))
    })
}

/// The 19-character NCS id of generated record `k`.
fn ncs_id(k: u64) -> String {
    format!("NCS{:016}", 3_100_000_000_000_000u64 + k)
}

fn seeker(sim: &Sim, k: u64) -> Value {
    let p = sim.person(k);
    json!({
        "ncs_id": ncs_id(k),
        "name": p.full_name,
        "gender": gender_word(&p.gender),
        "dob": if p.dob.is_empty() { Value::Null } else { Value::String(p.dob) },
        "mobile": p.mobile,
        "state_code": p.state_code,
        "district_code": p.district_code,
        "pincode": p.pincode,
        "father_name": p.relative_name,
        "eshram_uan": Value::Null,
        "registered_on": crate::common::updated_at(k).date_naive().to_string(),
        "status": if sim.pick(k, 1, 10) == 0 { "INACTIVE" } else { "ACTIVE" },
    })
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u64>,
    size: Option<u64>,
}

async fn jobseekers(
    sim: web::Data<Sim>,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> HttpResponse {
    if let Some(r) = sim.gate().await {
        return r;
    }
    if let Some(r) = authorised(&sim, &req) {
        return r;
    }
    let page = q.page.unwrap_or(1);
    let size = q.size.unwrap_or(100);
    if page == 0 || !(1..=1000).contains(&size) {
        return HttpResponse::BadRequest()
            .json(json!({"status": "ERROR", "message": "page starts at 1; size is 1 to 1000"}));
    }
    let pushed = lock(&sim.state).rows.clone();
    let total = sim.records + pushed.len() as u64;
    let start = (page - 1) * size;
    let end = (start + size).min(total);
    let mut data: Vec<Value> = (start.min(total)..end)
        .map(|i| {
            if i < sim.records {
                seeker(&sim, i)
            } else {
                pushed[(i - sim.records) as usize].clone()
            }
        })
        .collect();
    sim.disorder(&mut data);
    sim.json(&json!({
        "page": page,
        "size": size,
        "total_records": total,
        "total_pages": total.div_ceil(size),
        "data": data,
    }))
}

#[derive(Deserialize)]
struct Registration {
    name: String,
    gender: String,
    dob: chrono::NaiveDate,
    mobile: String,
    eshram_uan: String,
    state_code: String,
    district_code: String,
    nco_code: String,
}

async fn register(sim: web::Data<Sim>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Some(r) = sim.gate().await {
        return r;
    }
    if let Some(r) = authorised(&sim, &req) {
        return r;
    }
    let r: Registration = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return HttpResponse::BadRequest()
                .json(json!({"status": "ERROR", "message": e.to_string()}));
        }
    };
    let age = crate::terms::age_on(r.dob, chrono::Utc::now().date_naive());
    if age < crate::terms::ncs::YOUNGEST {
        return HttpResponse::UnprocessableEntity().json(json!({
            "status": "ERROR",
            "errors": [{"field": "dob", "code": "too_young", "message": "NCS registers job seekers aged 14 and over"}],
        }));
    }
    // One registration per UAN: a repeat answers the first one's id.
    idempotent(&sim, Some(&format!("uan:{}", r.eshram_uan)), b"", |st| {
        let k = sim.records + st.rows.len() as u64;
        let row = json!({
            "ncs_id": ncs_id(k),
            "name": r.name,
            "gender": gender_word(&r.gender),
            "dob": r.dob,
            "mobile": r.mobile,
            "state_code": r.state_code,
            "district_code": r.district_code,
            "pincode": "",
            "father_name": "",
            "eshram_uan": r.eshram_uan,
            "nco_code": r.nco_code,
            "registered_on": chrono::Utc::now().date_naive(),
            "status": "ACTIVE",
        });
        st.rows.push(row);
        (201, json!({"ncs_id": ncs_id(k), "status": "ACTIVE"}))
    })
}

#[derive(Deserialize)]
struct VacancyQuery {
    district: String,
    nco: String,
}

const EMPLOYERS: &[&str] = &[
    "Larsen & Toubro Construction",
    "Shapoorji Pallonji",
    "NBCC (India) Ltd",
    "Tata Projects",
    "Afcons Infrastructure",
    "Municipal Corporation works department",
    "Gujarat Ambuja Cements",
    "Kisan Agro Producers",
];

const TITLES: &[(&str, &str)] = &[
    ("9313", "Building construction labourer"),
    ("9312", "Civil engineering labourer"),
    ("7112", "Mason"),
    ("5211", "Stall and market salesperson"),
    ("9111", "Domestic cleaner and helper"),
    ("6111", "Field crop grower"),
    ("8322", "Car, taxi and van driver"),
    ("9621", "Messenger and delivery worker"),
];

async fn vacancies(
    sim: web::Data<Sim>,
    req: HttpRequest,
    q: web::Query<VacancyQuery>,
) -> HttpResponse {
    if let Some(r) = sim.gate().await {
        return r;
    }
    if let Some(r) = authorised(&sim, &req) {
        return r;
    }
    let unit: String = q.nco.chars().take(4).collect();
    let title = TITLES
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, t)| *t)
        .unwrap_or("General worker");
    let key = q
        .district
        .bytes()
        .chain(unit.bytes())
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    let count = sim.pick(key, 7, 5) + 1;
    let list: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "vacancy_id": format!("NCSV-{}-{}", key % 1_000_000, i + 1),
                "title": title,
                "employer": EMPLOYERS[sim.pick(key, 10 + i, EMPLOYERS.len() as u64) as usize],
                "nco_code": q.nco,
                "district_code": q.district,
                "openings": 1 + sim.pick(key, 20 + i, 40),
                "wage_inr_month": 9_000 + 500 * sim.pick(key, 30 + i, 20),
                "posted_on": crate::common::updated_at(100_000 + sim.pick(key, 40 + i, 40_000)).date_naive(),
            })
        })
        .collect();
    sim.json(&json!({"vacancies": list}))
}
