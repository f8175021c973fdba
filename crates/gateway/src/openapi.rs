//! The OpenAPI document: the paths come from the route table itself (utoipa-actix-web collects
//! every `service(...)`), so a route cannot be served without being described.

use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme,
};
use utoipa::{Modify, OpenApi};

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
        (name = "Schemes", description = "The welfare schemes behind the gateway (NCS, SIDH, myScheme, PM-SYM, AB PM-JAY, PMJJBY): their health, a worker's one-stop view, enrolments and jobs."),
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
                        ("audit:read", "Read a worker's access log"),
                    ]),
                ),
            )])),
        );
    }
}
