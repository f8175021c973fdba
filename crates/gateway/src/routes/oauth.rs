//! `POST /oauth/token`: OAuth2 client credentials (RFC 6749 §4.4). Errors follow RFC 6749 §5.2
//! (`{"error": "invalid_client"}`), which OAuth client libraries expect, not problem+json.

use actix_web::http::header;
use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{SCOPES, secret_matches};
use crate::body::read_limited;
use crate::state::AppState;

/// Longer client ids are refused before any lookup.
const MAX_CLIENT_ID_BYTES: usize = 256;

/// Form fields of a token request (`application/x-www-form-urlencoded`). The client may instead
/// send its id and secret with HTTP Basic authentication.
#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    #[schema(example = "client_credentials")]
    pub grant_type: Option<String>,
    #[schema(example = "bihar-labour-portal")]
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Space-separated scopes wanted; a subset of the client's. Default: all of the client's.
    #[schema(example = "workers:read workers:write")]
    pub scope: Option<String>,
    /// The purpose the token is for: one of the client's; it decides which worker fields the token
    /// sees. Default: the client's first purpose.
    #[schema(example = "scheme-enrolment")]
    pub purpose: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    #[schema(example = 900)]
    pub expires_in: u64,
    #[schema(example = "workers:read workers:write")]
    pub scope: String,
}

/// RFC 6749 error answer.
#[derive(Serialize, ToSchema)]
pub struct OAuthError {
    #[schema(example = "invalid_client")]
    pub error: &'static str,
    pub error_description: &'static str,
}

/// Get an access token (OAuth2 client credentials).
///
/// The token is an EdDSA-signed JWT carrying the client's scopes and, for state portals, the
/// states it may see. Verify it with `/.well-known/jwks.json` if you need to.
#[utoipa::path(
    tag = "Operations",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A bearer token.", body = TokenResponse,
            example = json!({"access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6IjhmM2EifQ.eyJzdWIiOiJiaWhhci1sYWJvdXItcG9ydGFsIn0.c2lnbmF0dXJl", "token_type": "Bearer", "expires_in": 900, "scope": "workers:read workers:write"})),
        (status = 400, description = "`unsupported_grant_type`, `invalid_request` or `invalid_scope`.", body = OAuthError,
            example = json!({"error": "invalid_scope", "error_description": "a requested scope is not granted to this client"})),
        (status = 401, description = "`invalid_client`: unknown client, wrong secret or disabled.", body = OAuthError,
            example = json!({"error": "invalid_client", "error_description": "client authentication failed"})),
        (status = 429, description = "`slow_down`: too many token requests for this client id (see `Retry-After`).", body = OAuthError,
            example = json!({"error": "slow_down", "error_description": "too many token requests for this client; retry later"})),
    ),
    security(())
)]
#[post("/oauth/token")]
pub async fn token(req: HttpRequest, payload: Payload, state: Data<AppState>) -> HttpResponse {
    match grant(&req, payload, &state).await {
        Ok(token) => {
            tracing::info!(client_id = %token.client_id, "Token issued.");
            HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(token.answer)
        }
        Err(refusal) => refusal.answer(),
    }
}

/// A token granted, and to whom.
struct Granted {
    client_id: String,
    answer: TokenResponse,
}

/// Why no token was issued.
enum Refusal {
    /// An OAuth2 error (RFC 6749, 5.2) with its status.
    OAuth(u16, &'static str, &'static str),
    /// Over the token endpoint's rate for this client id.
    SlowDown { retry_after: u64 },
    /// The client could not be looked up.
    Unavailable,
    /// Signing failed: a bug or a broken key.
    Internal,
}

impl Refusal {
    fn answer(self) -> HttpResponse {
        match self {
            Refusal::OAuth(status, error, description) => oauth_error(status, error, description),
            Refusal::SlowDown { retry_after } => HttpResponse::TooManyRequests()
                .insert_header((header::RETRY_AFTER, retry_after.to_string()))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(OAuthError {
                    error: "slow_down",
                    error_description: "too many token requests for this client; retry later",
                }),
            Refusal::Unavailable => HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "5"))
                .json(OAuthError {
                    error: "temporarily_unavailable",
                    error_description: "retry shortly",
                }),
            Refusal::Internal => HttpResponse::InternalServerError().finish(),
        }
    }
}

const BAD_CLIENT: Refusal = Refusal::OAuth(401, "invalid_client", "client authentication failed");

/// The client credentials grant: the request read, the client authenticated, the scopes and
/// purpose it asks for checked against what it was granted, the token signed.
async fn grant(req: &HttpRequest, payload: Payload, state: &AppState) -> Result<Granted, Refusal> {
    let form = read_form(req, payload, state).await?;
    let (client_id, secret) = match (basic_credentials(req), form.client_id, form.client_secret) {
        (Some(pair), _, _) => pair,
        (None, Some(id), Some(secret)) => (id, secret),
        _ => return Err(BAD_CLIENT),
    };
    // No stored client has such an id (the database refuses a NUL in text outright).
    if client_id.len() > MAX_CLIENT_ID_BYTES || client_id.chars().any(char::is_control) {
        return Err(BAD_CLIENT);
    }
    state
        .limiter
        .admit_token_request(&client_id)
        .map_err(|retry_after| Refusal::SlowDown { retry_after })?;
    let client = state.store().client(&client_id).await.map_err(|e| {
        tracing::warn!(error = %e, "Client lookup failed.");
        Refusal::Unavailable
    })?;
    let Some(client) = client.filter(|c| c.enabled && secret_matches(&secret, &c.secret_hash))
    else {
        // The id is the caller's claim, not yet authenticated: it is not logged.
        tracing::info!("Token refused: client authentication failed.");
        return Err(BAD_CLIENT);
    };
    let scopes = granted_scopes(form.scope.as_deref(), &client.scopes)?;
    let purpose = granted_purpose(form.purpose, &client.purposes, state)?;
    let ttl = state.tokens.default_ttl();
    let now = jsonwebtoken::get_current_timestamp();
    let states = client.states.as_deref();
    let access_token = state
        .tokens
        .issue(&client.client_id, &scopes, states, &purpose, ttl, now)
        .map_err(|e| {
            tracing::error!(error = %e, "Token signing failed.");
            Refusal::Internal
        })?;
    Ok(Granted {
        client_id: client.client_id,
        answer: TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: ttl,
            scope: scopes.join(" "),
        },
    })
}

async fn read_form(
    req: &HttpRequest,
    payload: Payload,
    state: &AppState,
) -> Result<TokenRequest, Refusal> {
    let Ok(body) = read_limited(req, payload, state.limits.token_body_bytes).await else {
        return Err(Refusal::OAuth(
            400,
            "invalid_request",
            "the body is too large or unreadable",
        ));
    };
    let Ok(form) = serde_urlencoded::from_bytes::<TokenRequest>(&body) else {
        return Err(Refusal::OAuth(
            400,
            "invalid_request",
            "send an application/x-www-form-urlencoded body",
        ));
    };
    if form.grant_type.as_deref() != Some("client_credentials") {
        return Err(Refusal::OAuth(
            400,
            "unsupported_grant_type",
            "only client_credentials is supported",
        ));
    }
    Ok(form)
}

/// The scopes asked for (all the client's when none), each granted to the client and known here.
fn granted_scopes(asked: Option<&str>, granted: &[String]) -> Result<Vec<String>, Refusal> {
    let Some(asked) = asked else {
        return Ok(granted.to_vec());
    };
    let wanted: Vec<String> = asked.split_whitespace().map(str::to_owned).collect();
    if wanted
        .iter()
        .any(|s| !granted.contains(s) || !SCOPES.contains(&s.as_str()))
    {
        return Err(Refusal::OAuth(
            400,
            "invalid_scope",
            "a requested scope is not granted to this client",
        ));
    }
    Ok(wanted)
}

/// The purpose asked for (the client's first when none), granted to the client and configured here.
fn granted_purpose(
    asked: Option<String>,
    granted: &[String],
    state: &AppState,
) -> Result<String, Refusal> {
    let configured = |p: &String| state.registry.policies.contains_key(p);
    match asked {
        None => match granted.first() {
            Some(p) if configured(p) => Ok(p.clone()),
            _ => Err(Refusal::OAuth(
                400,
                "invalid_request",
                "this client has no usable purpose",
            )),
        },
        Some(p) if granted.contains(&p) && configured(&p) => Ok(p),
        Some(_) => Err(Refusal::OAuth(
            400,
            "invalid_request",
            "this purpose is not granted to this client",
        )),
    }
}

fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn oauth_error(status: u16, error: &'static str, description: &'static str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    if status == actix_web::http::StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="shramsetu""#));
    }
    res.json(OAuthError {
        error,
        error_description: description,
    })
}
