//! A worker's eligibility for each scheme, as of any date: the rule table's decision
//! (`domain::eligibility`), `enrolled` where a link says so, the rules that decided, and the next
//! step in words a worker understands, in English or Hindi.

use chrono::NaiveDate;
use domain::eligibility::{self, Decision, Facts, Programme, Reason, Status};
use domain::{Uan, Worker};
use serde::Serialize;
use utoipa::ToSchema;

use crate::Registry;
use crate::caller::Caller;
use crate::error::Result;

const ROUTE_ELIGIBILITY: &str = "/v1/workers/{uan}/eligibility";

/// The worker fields the rules read: a purpose must see them whole.
pub const ELIGIBILITY_FIELDS: &[&str] = &["date_of_birth", "monthly_income_inr", "bank_account"];

/// The language of the next steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    Hi,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Hi => "hi",
        }
    }
}

/// What a worker is, for one scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// A record of the scheme is linked to the worker and the scheme has not said they left.
    Enrolled,
    Eligible,
    NotEligible,
    /// The rules need a fact the registry does not hold (named in `reasons`).
    Unknown,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SchemeEligibility {
    /// `ncs`, `sidh`, `myscheme`, `pmsym`, `pmjay`, `pmjjby`, `pmsby`.
    #[schema(example = "pmsym")]
    pub scheme: &'static str,
    pub status: Standing,
    /// What the rules alone say (`enrolled` is not a rule's answer): `eligible`, `not_eligible`
    /// or `unknown`.
    #[schema(value_type = String, example = "eligible")]
    pub rules_say: Status,
    /// The version of the scheme's terms applied (the day it took effect); null when the scheme
    /// did not exist on `as_of`.
    #[schema(example = "2019-02-15")]
    pub rule_version: Option<&'static str>,
    pub source: Option<&'static str>,
    /// The conditions that decided: all met (eligible), each unmet one (not eligible), or each
    /// fact the registry lacks (unknown).
    pub reasons: Vec<Reason>,
    #[schema(
        example = "PM-SYM: ₹105 a month at your age; pension ₹3,000 a month from 60. Join at a Common Service Centre with your Aadhaar and bank passbook."
    )]
    pub next_step: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"uan": "483920175560", "as_of": "2026-12-02", "age": 29, "language": "en", "schemes": [
    {"scheme": "pmsym", "status": "eligible", "rules_say": "eligible", "rule_version": "2019-02-15",
     "source": "PM-SYM scheme (labour.gov.in, launched 15 Feb 2019): …",
     "reasons": [{"rule": "pmsym.age@2019-02-15", "code": "met"}, {"rule": "pmsym.monthly_income_inr@2019-02-15", "code": "met"}],
     "next_step": "PM-SYM: ₹100 a month at your age; pension ₹3,000 a month from 60. Join at a Common Service Centre with your Aadhaar and bank passbook."},
    {"scheme": "pmjay", "status": "unknown", "rules_say": "unknown", "rule_version": "2024-10-29",
     "source": "AB PM-JAY senior cover …",
     "reasons": [{"rule": "pmjay.secc_2011_household@2024-10-29", "code": "fact_unknown", "fact": "secc_2011_household"}],
     "next_step": "AB PM-JAY: your family may be covered through the SECC 2011 lists; check at a Common Service Centre or on beneficiary.nha.gov.in."}]}))]
pub struct WorkerEligibility {
    #[schema(example = "483920175560")]
    pub uan: String,
    #[schema(value_type = String, format = Date, example = "2026-12-02")]
    pub as_of: NaiveDate,
    /// Completed years on `as_of`.
    pub age: u32,
    pub language: Language,
    pub schemes: Vec<SchemeEligibility>,
}

impl Registry {
    /// The worker's eligibility for each scheme as of `as_of` (today when `None`), for a purpose
    /// that sees the fields the rules read.
    pub async fn eligibility(
        &self,
        caller: &Caller,
        uan: &Uan,
        as_of: Option<NaiveDate>,
        language: Language,
    ) -> Result<WorkerEligibility> {
        self.require_fields(&caller.purpose, ELIGIBILITY_FIELDS)?;
        let worker = self
            .visible_worker(caller, uan, "read_eligibility", ROUTE_ELIGIBILITY)
            .await?;
        let links = self.store.scheme_links(uan.as_str()).await?;
        let as_of = as_of.unwrap_or_else(|| self.today());
        if as_of < worker.date_of_birth {
            return Err(crate::error::Error::Invalid(vec![
                domain::Invalid::new(
                    "before_birth",
                    "the day is before the worker's date of birth",
                )
                .at("as_of"),
            ]));
        }
        let facts = facts(&worker);
        let schemes = Programme::SCHEMES
            .into_iter()
            .map(|p| {
                let decision = eligibility::decide(p, &facts, as_of);
                let enrolled = links.iter().any(|l| l.scheme == p.as_str() && l.enrolled());
                let status = match (enrolled, decision.status) {
                    (true, _) => Standing::Enrolled,
                    (false, Status::Eligible) => Standing::Eligible,
                    (false, Status::NotEligible) => Standing::NotEligible,
                    (false, Status::Unknown) => Standing::Unknown,
                };
                SchemeEligibility {
                    scheme: p.as_str(),
                    status,
                    rules_say: decision.status,
                    rule_version: decision.terms.map(|t| t.version),
                    source: decision.terms.map(|t| t.source),
                    next_step: next_step(&decision, status, as_of, language),
                    reasons: decision.reasons,
                }
            })
            .collect();
        self.record(
            caller,
            "read_eligibility",
            ROUTE_ELIGIBILITY,
            vec![uan.to_string()],
            ELIGIBILITY_FIELDS.iter().map(|f| (*f).to_owned()).collect(),
            200,
        )
        .await?;
        Ok(WorkerEligibility {
            uan: uan.to_string(),
            as_of,
            age: domain::worker::age_on(worker.date_of_birth, as_of),
            language,
            schemes,
        })
    }
}

/// What the rules read of a registered worker. e-Shram registers only workers who declare they
/// are outside EPFO, ESIC and NPS and pay no income tax, so the registry holds that as declared.
pub fn facts(w: &Worker) -> Facts {
    Facts {
        date_of_birth: w.date_of_birth,
        monthly_income_inr: Some(w.monthly_income_inr),
        has_bank_account: Some(w.bank_account.is_some()),
        formal_sector: Some(false),
    }
}

fn name(p: Programme, l: Language) -> &'static str {
    match (p, l) {
        (Programme::Eshram, Language::En) => "e-Shram",
        (Programme::Eshram, Language::Hi) => "ई-श्रम",
        (Programme::Ncs, Language::En) => "National Career Service",
        (Programme::Ncs, Language::Hi) => "नेशनल करियर सर्विस",
        (Programme::Sidh, Language::En) => "Skill India Digital Hub",
        (Programme::Sidh, Language::Hi) => "स्किल इंडिया डिजिटल हब",
        (Programme::Myscheme, Language::En) => "myScheme",
        (Programme::Myscheme, Language::Hi) => "माईस्कीम",
        (Programme::Pmsym, Language::En) => "PM-SYM",
        (Programme::Pmsym, Language::Hi) => "पीएम-एसवाईएम",
        (Programme::Pmjay, Language::En) => "AB PM-JAY",
        (Programme::Pmjay, Language::Hi) => "आयुष्मान भारत पीएम-जेएवाई",
        (Programme::Pmjjby, Language::En) => "PMJJBY",
        (Programme::Pmjjby, Language::Hi) => "पीएमजेजेबीवाई",
        (Programme::Pmsby, Language::En) => "PMSBY",
        (Programme::Pmsby, Language::Hi) => "पीएमएसबीवाई",
    }
}

/// The next step, in the worker's words.
fn next_step(d: &Decision, status: Standing, as_of: NaiveDate, l: Language) -> String {
    let n = name(d.programme, l);
    let hi = l == Language::Hi;
    match status {
        Standing::Enrolled if hi => format!("{n}: आप इसमें नामांकित हैं।"),
        Standing::Enrolled => format!("{n}: you are enrolled."),
        Standing::Eligible => eligible_step(d, as_of, l),
        Standing::NotEligible => {
            let why: Vec<String> = d.reasons.iter().map(|r| refusal(d, r, l)).collect();
            if hi {
                format!("{n}: अभी आपके लिए नहीं — {}।", why.join("; "))
            } else {
                format!("{n}: not for you now — {}.", why.join("; "))
            }
        }
        Standing::Unknown => {
            let facts: Vec<&str> = d.reasons.iter().filter_map(|r| r.fact).collect();
            if facts.contains(&"secc_2011_household") {
                if hi {
                    format!(
                        "{n}: आपका परिवार SECC 2011 सूची के माध्यम से कवर हो सकता है; किसी कॉमन सर्विस सेंटर पर या beneficiary.nha.gov.in पर जाँच करें।"
                    )
                } else {
                    format!(
                        "{n}: your family may be covered through the SECC 2011 lists; check at a Common Service Centre or on beneficiary.nha.gov.in."
                    )
                }
            } else if hi {
                format!(
                    "{n}: तय करने के लिए आपके ई-श्रम रिकॉर्ड में यह जानकारी नहीं है: {}।",
                    facts.join(", ")
                )
            } else {
                format!(
                    "{n}: your e-Shram record lacks what decides it: {}.",
                    facts.join(", ")
                )
            }
        }
    }
}

fn eligible_step(d: &Decision, as_of: NaiveDate, l: Language) -> String {
    let hi = l == Language::Hi;
    let n = name(d.programme, l);
    let premium = d
        .terms
        .and_then(|t| t.annual_premium_inr)
        .unwrap_or_default();
    match d.programme {
        Programme::Pmsym => {
            let c = domain::schemes::pmsym::monthly_contribution_inr(d.age).unwrap_or_default();
            let pension = domain::schemes::pmsym::PENSION_INR;
            if hi {
                format!(
                    "{n}: आपकी उम्र में ₹{c} प्रति माह; 60 वर्ष की आयु से ₹{} प्रति माह पेंशन। अपने आधार और बैंक पासबुक के साथ किसी कॉमन सर्विस सेंटर पर जुड़ें।",
                    rupees(pension as i64)
                )
            } else {
                format!(
                    "{n}: ₹{c} a month at your age; pension ₹{} a month from 60. Join at a Common Service Centre with your Aadhaar and bank passbook.",
                    rupees(pension as i64)
                )
            }
        }
        Programme::Pmjjby => {
            let first = domain::schemes::pmjjby::first_year_premium_inr(as_of);
            if hi {
                format!(
                    "{n}: ₹2 लाख का जीवन बीमा; पहले वर्ष ₹{first}, फिर ₹{premium} प्रति वर्ष, आपके बैंक खाते से स्वतः कटेगा। अपने बैंक से जुड़ें।"
                )
            } else {
                format!(
                    "{n}: life cover of ₹2 lakh; ₹{first} for the first year, then ₹{premium} a year, auto-debited from your bank account. Join at your bank."
                )
            }
        }
        Programme::Pmsby if hi => format!(
            "{n}: ₹{premium} प्रति वर्ष में ₹2 लाख का दुर्घटना बीमा, आपके बैंक खाते से स्वतः कटेगा। अपने बैंक से जुड़ें।"
        ),
        Programme::Pmsby => format!(
            "{n}: accident cover of ₹2 lakh for ₹{premium} a year, auto-debited from your bank account. Join at your bank."
        ),
        Programme::Pmjay if hi => format!(
            "{n}: 70 वर्ष या उससे अधिक आयु के हर व्यक्ति के लिए ₹5 लाख प्रति वर्ष का स्वास्थ्य बीमा। अस्पताल में या आयुष्मान ऐप से अपना आयुष्मान वय वंदना कार्ड बनवाएँ।"
        ),
        Programme::Pmjay => format!(
            "{n}: health cover of ₹5 lakh a year for everyone of 70 or more. Get your Ayushman Vay Vandana card at a hospital or in the Ayushman app."
        ),
        Programme::Ncs if hi => {
            format!("{n}: अपने यूएएन से नौकरी खोजने वाले के रूप में पंजीकरण करें और अपने पास की नौकरियाँ देखें।")
        }
        Programme::Ncs => {
            format!("{n}: register as a job seeker with your UAN to see jobs near you.")
        }
        Programme::Sidh if hi => {
            format!("{n}: निःशुल्क कौशल पाठ्यक्रम और प्रमाणपत्र; अपने आधार से पंजीकरण करें।")
        }
        Programme::Sidh => {
            format!("{n}: free skilling courses and certificates; sign up with your Aadhaar.")
        }
        Programme::Myscheme if hi => format!("{n}: और योजनाएँ खोजें जिनके लिए आप पात्र हो सकते हैं।"),
        Programme::Myscheme => format!("{n}: find more schemes you may qualify for."),
        Programme::Eshram if hi => format!("{n}: आप पंजीकृत हैं।"),
        Programme::Eshram => format!("{n}: you are registered."),
    }
}

/// Why not, for one unmet condition.
fn refusal(d: &Decision, r: &Reason, l: Language) -> String {
    let hi = l == Language::Hi;
    let t = d.terms;
    let age = d.age;
    match r.code {
        "outside_age_band" => {
            let (min, max) = t.and_then(|t| t.age).unwrap_or((0, None));
            match (max, hi) {
                (Some(max), true) => {
                    format!("यह {min} से {max} वर्ष की आयु के लिए है; आपकी आयु {age} वर्ष है")
                }
                (Some(max), false) => format!("it is for ages {min} to {max}; you are {age}"),
                (None, true) => format!("यह {min} वर्ष या उससे अधिक आयु के लिए है; आपकी आयु {age} वर्ष है"),
                (None, false) => format!("it is for ages {min} and over; you are {age}"),
            }
        }
        "income_above_ceiling" => {
            let ceiling = rupees(t.and_then(|t| t.max_monthly_income_inr).unwrap_or_default());
            if hi {
                format!("यह ₹{ceiling} प्रति माह तक की आय के लिए है")
            } else {
                format!("it is for incomes up to ₹{ceiling} a month")
            }
        }
        "no_bank_account" if hi => "इसके लिए बैंक खाता चाहिए: अपना खाता अपने ई-श्रम रिकॉर्ड में जोड़ें".into(),
        "no_bank_account" => "it needs a bank account: add yours to your e-Shram record".into(),
        "excluded" if hi => "ईपीएफओ, ईएसआईसी या एनपीएस के सदस्य और आयकर दाता इसमें नहीं जुड़ सकते".into(),
        "excluded" => "members of EPFO, ESIC or NPS and income-tax payers cannot join".into(),
        "not_in_force" if hi => "उस तिथि पर यह योजना नहीं थी".into(),
        "not_in_force" => "the scheme did not exist on that date".into(),
        other => other.to_owned(),
    }
}

/// Rupees with Indian digit grouping: 15,67,85,963.
pub fn rupees(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let (head, last3) = digits.split_at(digits.len().saturating_sub(3));
    let mut groups: Vec<&str> = vec![];
    let mut rest = head;
    while rest.len() > 2 {
        let (a, b) = rest.split_at(rest.len() - 2);
        groups.push(b);
        rest = a;
    }
    if !rest.is_empty() {
        groups.push(rest);
    }
    groups.reverse();
    let mut out = groups.join(",");
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(last3);
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::rupees;

    #[test]
    fn indian_digit_grouping() {
        for (n, s) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (15_000, "15,000"),
            (100_000, "1,00,000"),
            (156_785_963, "15,67,85,963"),
            (-3_000, "-3,000"),
        ] {
            assert_eq!(rupees(n), s);
        }
    }
}
