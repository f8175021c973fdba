//! Skill India Digital Hub, in API Setu's manner: `X-APISETU-APIKEY` and `X-APISETU-CLIENTID`
//! headers, a `txnId` in every answer, API Setu error codes; learners by opaque cursor, camelCase
//! fields and `DD-MM-YYYY` dates, each with their courses and NSDC certificates.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{Sim, header};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/learners", web::get().to(learners));
}

const COURSES: &[(&str, &str)] = &[
    ("CON/Q0102", "Assistant Mason"),
    ("CON/Q0201", "Assistant Bar Bender and Steel Fixer"),
    ("ELE/Q3102", "Field Technician - Home Appliances"),
    ("RAS/Q0104", "Retail Sales Associate"),
    ("AGR/Q0801", "Dairy Farmer/Entrepreneur"),
    ("LSC/Q2305", "Warehouse Packer"),
    ("DWC/Q0101", "General Housekeeper"),
];

fn error(status: u16, code: &str, description: &str) -> HttpResponse {
    crate::common::respond(
        status,
        json!({"error": code, "errorDescription": description, "txnId": uuid::Uuid::new_v4()}),
    )
}

fn encode(k: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("sidh:{k}"))
}

fn decode(c: &str) -> Option<u64> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("sidh:")?
        .parse()
        .ok()
}

fn learner(sim: &Sim, k: u64) -> Value {
    let p = sim.person(k);
    let dob = match chrono::NaiveDate::parse_from_str(&p.dob, "%Y-%m-%d") {
        Ok(d) => d.format("%d-%m-%Y").to_string(),
        Err(_) => String::new(),
    };
    let courses: Vec<Value> = (0..1 + sim.pick(k, 1, 3))
        .map(|i| {
            let (code, name) = COURSES[sim.pick(k, 2 + i, COURSES.len() as u64) as usize];
            let done = sim.pick(k, 10 + i, 3) != 0;
            json!({
                "courseCode": code,
                "courseName": name,
                "status": if done { "COMPLETED" } else { "IN_PROGRESS" },
                "completedOn": if done { Value::String(crate::common::updated_at(k).format("%d-%m-%Y").to_string()) } else { Value::Null },
                "certificateId": if done { Value::String(format!("NSDC-{:010}", k * 7 + i)) } else { Value::Null },
            })
        })
        .collect();
    json!({
        "learnerId": format!("SIDH{:09}", 500_000 + k),
        "fullName": p.full_name,
        "gender": p.gender,
        "dateOfBirth": dob,
        "mobileNumber": p.mobile,
        "stateCode": p.state_code,
        "districtCode": p.district_code,
        "courses": courses,
    })
}

#[derive(Deserialize)]
struct Query {
    cursor: Option<String>,
    limit: Option<u64>,
}

async fn learners(sim: web::Data<Sim>, req: HttpRequest, q: web::Query<Query>) -> HttpResponse {
    if let Some(r) = sim.gate().await {
        return r;
    }
    if header(&req, "X-APISETU-APIKEY") != sim.credentials.sidh_api_key
        || header(&req, "X-APISETU-CLIENTID") != sim.credentials.sidh_client_id
    {
        return error(
            401,
            "invalid_authentication",
            "API key or client id not recognised",
        );
    }
    let start = match q.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => match decode(c) {
            Some(k) => k,
            None => {
                return error(
                    400,
                    "invalid_parameter",
                    "cursor is not one this service issued",
                );
            }
        },
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return error(400, "invalid_parameter", "limit is 1 to 500");
    }
    let end = (start + limit).min(sim.records);
    let mut list: Vec<Value> = (start.min(end)..end).map(|k| learner(&sim, k)).collect();
    sim.disorder(&mut list);
    sim.json(&json!({
        "txnId": uuid::Uuid::new_v4(),
        "learners": list,
        "nextCursor": encode(end),
        "hasMore": end < sim.records,
    }))
}
