//! The OpenAPI document: the paths come from the route table itself (utoipa-actix-web collects
//! every `service(...)`), so a route cannot be served without being described.

use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme,
};
use utoipa::{Modify, OpenApi};

use crate::auth::SCOPES;
use crate::problem::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Shram Setu gateway",
        description = "Integration gateway between India's e-Shram registry of unorganised workers and the welfare \
schemes of other ministries. Partner ministries and state portals register and read workers here.\n\n\
**Authentication.** Get a token with OAuth2 client credentials at `POST /oauth/token` and send it as \
`Authorization: Bearer …`. Tokens carry scopes (`workers:read`, `workers:write`, `schemes:read`, `schemes:enrol`, …) and, for state portals, \
the LGD codes of the states they may see: another state's worker answers 404.\n\n\
**Errors** are RFC 9457 `application/problem+json` with a stable `code`, the `request_id` to quote, and \
for validation an `errors` list naming each field.\n\n\
**Aadhaar** is never returned, only `XXXX-XXXX-1234`.",
        license(name = "Apache-2.0"),
        version = "1.0.0"
    ),
    tags(
        (name = "Partners", description = "Ministries and scheme systems: register, read and update workers."),
        (name = "States", description = "State portals: pull workers of their states in change order."),
        (name = "Schemes", description = "The welfare schemes behind the gateway (NCS, SIDH, myScheme, PM-SYM, AB PM-JAY, PMJJBY): their health, a worker's one-stop view, enrolments and jobs; the sync engine's runs and each scheme's people not yet in e-Shram."),
        (name = "Reviews", description = "The review queue: pairs of a scheme's record and a worker that the sync engine found doubtful, for a person to decide."),
        (name = "Reports", description = "Coverage for state nodal officers: registered, enrolled, eligible but not enrolled, by state, district, gender, social category and occupation (counts under 10 suppressed); the outreach worklist."),
        (name = "Operations", description = "Tokens, keys, health and metrics, for ops staff."),
    ),
    modifiers(&Security)
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An EdDSA-signed JWT from POST /oauth/token."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::new([Flow::ClientCredentials(
                ClientCredentials::new(
                    "/oauth/token",
                    Scopes::from_iter([
                        ("workers:read", "Read worker records"),
                        ("workers:write", "Register and change workers"),
                        (
                            "workers:verify",
                            "Verify a worker's identity without the record",
                        ),
                        ("workers:match", "Match records against the registry"),
                        (
                            "schemes:read",
                            "Read the schemes, a worker's schemes and jobs",
                        ),
                        ("schemes:enrol", "Enrol workers in schemes"),
                        ("schemes:sync", "Start a scheme's sync run"),
                        ("reviews:read", "Read the review queue"),
                        ("reviews:write", "Decide pairs of the review queue"),
                        (
                            "batches:write",
                            "Push state rolls in bulk, and read their results",
                        ),
                        ("reports:read", "Read coverage counts (suppressed under 10)"),
                        (
                            "reports:worklist",
                            "List eligible workers not yet enrolled, for outreach",
                        ),
                        ("audit:read", "Read a worker's access log"),
                    ]),
                ),
            )])),
        );
    }
}

/// The request id the document's examples show.
const EXAMPLE_REQUEST_ID: &str = "0193c1c5-6f1e-7c2a-9d4b-2f8e1a7b3c4d";

/// Completes the generated document: every problem answer without an example of its own gets the
/// one the error mapper really answers for its status (403s naming the operation's scope).
pub fn finish(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let scope = op
                .pointer("/security/0/bearer/0")
                .and_then(|s| s.as_str())
                .map(str::to_owned);
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else {
                continue;
            };
            for (status, response) in responses.iter_mut() {
                let Some(content) = response.pointer_mut("/content/application~1problem+json")
                else {
                    continue;
                };
                if content.get("example").is_some() || content.get("examples").is_some() {
                    continue;
                }
                if let Some(error) = example_error(status, path, scope.as_deref()) {
                    let problem = error.problem(Some(EXAMPLE_REQUEST_ID.to_owned()));
                    if let (Some(c), Ok(example)) =
                        (content.as_object_mut(), serde_json::to_value(problem))
                    {
                        c.insert("example".into(), example);
                    }
                }
            }
        }
    }
}

/// The error a route typically answers with `status`.
fn example_error(status: &str, path: &str, scope: Option<&str>) -> Option<ApiError> {
    let field = |field: &str, e: domain::Invalid| ApiError::Validation(vec![e.at(field)]);
    Some(match status {
        "400" => ApiError::BadRequest {
            code: "malformed_json",
            detail: "the body is not valid JSON (line 1, column 12)".into(),
        },
        "401" => ApiError::Unauthorized(Some("the token has expired")),
        "403" => ApiError::Forbidden {
            scope: scope.and_then(|s| SCOPES.iter().find(|k| **k == s).copied())?,
        },
        "404" => ApiError::NotFound,
        "409" => ApiError::Conflict {
            code: "aadhaar_already_registered",
            detail: "a worker with this Aadhaar number is already registered".into(),
            existing_uan: Some("483920175560".into()),
        },
        "413" => ApiError::PayloadTooLarge { limit: 1_048_576 },
        "415" => ApiError::UnsupportedMediaType {
            expected: "application/json",
        },
        "422" if path.contains("{uan}") => field("uan", domain::Uan::parse("483920175561").err()?),
        "422" => field("aadhaar", domain::Aadhaar::parse("999941057059").err()?),
        "429" => ApiError::TooManyRequests { retry_after: 1 },
        "502" => ApiError::BadGateway {
            scheme: "pmsym",
            detail: String::new(),
        },
        "503" => ApiError::Unavailable(String::new()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Every operation has a description, and every answer a description and an example, errors
    /// included: ops staff read this document.
    #[test]
    fn every_operation_and_answer_is_described_with_an_example() {
        let doc: Value = serde_json::from_str(&crate::app::openapi_json()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let mut missing = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let at = format!("{} {path}", method.to_uppercase());
                if op["description"]
                    .as_str()
                    .is_none_or(|d| d.trim().is_empty())
                {
                    missing.push(format!("{at}: no description"));
                }
                for (status, r) in op["responses"].as_object().unwrap() {
                    if r["description"]
                        .as_str()
                        .is_none_or(|d| d.trim().is_empty())
                    {
                        missing.push(format!("{at} {status}: no description"));
                    }
                    let Some(content) = r["content"].as_object() else {
                        missing.push(format!("{at} {status}: no content"));
                        continue;
                    };
                    for (ct, c) in content {
                        let by_schema = c["schema"]["$ref"]
                            .as_str()
                            .and_then(|r| r.rsplit('/').next())
                            .is_some_and(|name| !schemas[name]["example"].is_null());
                        if c["example"].is_null() && c["examples"].is_null() && !by_schema {
                            missing.push(format!("{at} {status} {ct}: no example"));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    #[test]
    fn error_examples_are_what_the_mapper_answers() {
        let doc: Value = serde_json::from_str(&crate::app::openapi_json()).unwrap();
        let forbidden = &doc["paths"]["/v1/workers"]["post"]["responses"]["403"]["content"]["application/problem+json"]
            ["example"];
        assert_eq!(forbidden["code"], "insufficient_scope");
        assert_eq!(
            forbidden["detail"],
            "this route needs the `workers:write` scope"
        );
        let not_found = &doc["paths"]["/v1/workers/{uan}"]["get"]["responses"]["404"]["content"]["application/problem+json"]
            ["example"];
        assert_eq!(not_found["status"], 404);
        assert_eq!(not_found["code"], "not_found");
    }
}
