//! myScheme: the scheme catalogue with machine-readable eligibility criteria (which the real
//! catalogue lacks), by offset. API key in `X-Api-Key`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{Sim, header};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v2/schemes", web::get().to(schemes));
}

/// slug, title, ministry, benefit, criteria (JSON).
const CATALOGUE: &[(&str, &str, &str, &str, &str)] = &[
    (
        "pmsby",
        "Pradhan Mantri Suraksha Bima Yojana",
        "Ministry of Finance",
        "Accident cover of 2 lakh rupees for 20 rupees a year",
        r#"{"min_age":18,"max_age":70}"#,
    ),
    (
        "pmjjby",
        "Pradhan Mantri Jeevan Jyoti Bima Yojana",
        "Ministry of Finance",
        "Life cover of 2 lakh rupees for 436 rupees a year",
        r#"{"min_age":18,"max_age":50}"#,
    ),
    (
        "pm-sym",
        "Pradhan Mantri Shram Yogi Maan-dhan",
        "Ministry of Labour and Employment",
        "Pension of 3,000 rupees a month from age 60",
        r#"{"min_age":18,"max_age":40,"max_monthly_income_inr":15000}"#,
    ),
    (
        "pm-svanidhi",
        "PM Street Vendor's AtmaNirbhar Nidhi",
        "Ministry of Housing and Urban Affairs",
        "Working-capital loans for street vendors",
        r#"{"min_age":18,"occupations":["5211","5212"]}"#,
    ),
    (
        "bocw-welfare",
        "Building and Other Construction Workers' Welfare",
        "Ministry of Labour and Employment",
        "State welfare board benefits for construction workers",
        r#"{"min_age":18,"max_age":60,"occupations":["9312","9313","7112","7111"]}"#,
    ),
    (
        "pmay-g",
        "Pradhan Mantri Awaas Yojana - Gramin",
        "Ministry of Rural Development",
        "Assistance to build a pucca house",
        r#"{"min_age":18,"max_monthly_income_inr":10000}"#,
    ),
    (
        "pm-kisan",
        "PM Kisan Samman Nidhi",
        "Ministry of Agriculture and Farmers Welfare",
        "6,000 rupees a year to farmer families",
        r#"{"min_age":18,"occupations":["6111","6112","6121"]}"#,
    ),
    (
        "nsap-ignoaps",
        "Indira Gandhi National Old Age Pension Scheme",
        "Ministry of Rural Development",
        "Monthly pension for people aged 60 and over",
        r#"{"min_age":60}"#,
    ),
    (
        "stand-up-india",
        "Stand-Up India",
        "Ministry of Finance",
        "Bank loans for SC, ST and women entrepreneurs",
        r#"{"min_age":18,"social_categories":["sc","st"]}"#,
    ),
    (
        "pm-matru-vandana",
        "Pradhan Mantri Matru Vandana Yojana",
        "Ministry of Women and Child Development",
        "5,000 rupees for the first child",
        r#"{"min_age":19,"genders":["F"]}"#,
    ),
    (
        "pmegp",
        "Prime Minister's Employment Generation Programme",
        "Ministry of MSME",
        "Subsidised loans to start a micro enterprise",
        r#"{"min_age":18}"#,
    ),
    (
        "ddu-gky",
        "Deen Dayal Upadhyaya Grameen Kaushalya Yojana",
        "Ministry of Rural Development",
        "Placement-linked skilling for rural youth",
        r#"{"min_age":15,"max_age":35}"#,
    ),
    (
        "up-bocw-kanya-vivah",
        "Kanya Vivah Sahayata (UP BOCW board)",
        "Uttar Pradesh Labour Department",
        "Marriage assistance for daughters of construction workers",
        r#"{"min_age":18,"states":["09"],"occupations":["9312","9313","7112"]}"#,
    ),
    (
        "bihar-shramik-sahayata",
        "Bihar Pravasi Mazdoor Durghatna Anudan",
        "Bihar Labour Resources Department",
        "Accident grant for migrant workers from Bihar",
        r#"{"min_age":18,"max_age":65,"states":["10"]}"#,
    ),
];

#[derive(Deserialize)]
struct Query {
    offset: Option<u64>,
    limit: Option<u64>,
}

async fn schemes(sim: web::Data<Sim>, req: HttpRequest, q: web::Query<Query>) -> HttpResponse {
    if let Some(r) = sim.gate().await {
        return r;
    }
    if header(&req, "X-Api-Key") != sim.credentials.myscheme_api_key {
        return HttpResponse::Unauthorized().json(json!({"message": "Forbidden"}));
    }
    let offset = q.offset.unwrap_or(0) as usize;
    let limit = q.limit.unwrap_or(20).clamp(1, 100) as usize;
    let total = CATALOGUE.len();
    let mut items: Vec<Value> = CATALOGUE
        .iter()
        .enumerate()
        .skip(offset)
        .take(limit)
        .map(|(i, (slug, title, ministry, benefit, criteria))| {
            json!({
                "slug": slug,
                "title": title,
                "ministry": ministry,
                "level": if ministry.starts_with("Ministry") { "central" } else { "state" },
                "benefits": benefit,
                "eligibility": serde_json::from_str::<Value>(criteria).unwrap_or(Value::Null),
                "lastUpdated": crate::common::updated_at(i as u64 * 1_440).to_rfc3339(),
            })
        })
        .collect();
    sim.disorder(&mut items);
    sim.json(&json!({"total": total, "offset": offset, "items": items}))
}
