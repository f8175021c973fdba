//! The extractor that turns a request's bearer token into an authorised caller: token verified
//! (this gateway's or an external issuer's), within the client's rate and in-flight limits, holding
//! the route's scope, with a purpose the gateway knows. The one module of the auth code that reads
//! the application state.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use crate::caller::Caller;
use crate::limits::{InFlight, Lookup};
use crate::problem::ApiError;
use crate::state::AppState;

/// A scope a route requires, as a type, so it shows in the handler's signature.
pub trait Scope {
    const NAME: &'static str;
}

pub struct WorkersRead;
impl Scope for WorkersRead {
    const NAME: &'static str = "workers:read";
}

pub struct WorkersWrite;
impl Scope for WorkersWrite {
    const NAME: &'static str = "workers:write";
}

pub struct WorkersVerify;
impl Scope for WorkersVerify {
    const NAME: &'static str = "workers:verify";
}

pub struct WorkersMatch;
impl Scope for WorkersMatch {
    const NAME: &'static str = "workers:match";
}

pub struct SchemesRead;
impl Scope for SchemesRead {
    const NAME: &'static str = "schemes:read";
}

pub struct SchemesEnrol;
impl Scope for SchemesEnrol {
    const NAME: &'static str = "schemes:enrol";
}

pub struct SchemesSync;
impl Scope for SchemesSync {
    const NAME: &'static str = "schemes:sync";
}

pub struct ReviewsRead;
impl Scope for ReviewsRead {
    const NAME: &'static str = "reviews:read";
}

pub struct ReviewsWrite;
impl Scope for ReviewsWrite {
    const NAME: &'static str = "reviews:write";
}

pub struct BatchesWrite;
impl Scope for BatchesWrite {
    const NAME: &'static str = "batches:write";
}
pub struct ReportsRead;
impl Scope for ReportsRead {
    const NAME: &'static str = "reports:read";
}

pub struct ReportsWorklist;
impl Scope for ReportsWorklist {
    const NAME: &'static str = "reports:worklist";
}

pub struct AuditRead;
impl Scope for AuditRead {
    const NAME: &'static str = "audit:read";
}

/// A verified caller holding scope `S`, within its rate and in-flight limits, with a purpose the
/// gateway knows. Missing or bad token: 401; missing scope or unknown purpose: 403; over a limit: 429.
pub struct Authorized<S: Scope> {
    pub caller: Caller,
    _in_flight: InFlight,
    _scope: PhantomData<S>,
}

impl<S: Scope + 'static> FromRequest for Authorized<S> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authorize::<S>(&req).await })
    }
}

async fn authorize<S: Scope>(req: &HttpRequest) -> Result<Authorized<S>, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("application state missing"))?
        .clone();
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(None))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized(Some("malformed Authorization header")))?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(ApiError::Unauthorized(Some("use the Bearer scheme"))),
    };
    let caller = match crate::external::peek_issuer(token) {
        Some(iss) if state.external.handles(&iss) => state.external.verify(&iss, token).await,
        _ => state.tokens.verify(token),
    }
    .map_err(|reason| ApiError::Unauthorized(Some(reason)))?;
    req.extensions_mut()
        .insert(ClientId(caller.client_id.clone()));
    // The client's own rate is read on its first request and every `limits.client_refresh_secs`.
    let own_rate = async || {
        let client = state.store().client(&caller.client_id).await?;
        Ok::<_, store::StoreError>(client.and_then(|c| c.rate_limit_rps))
    };
    let looked_up = match state.limiter.claim_lookup(&caller.client_id) {
        Lookup::Skip => None,
        Lookup::First => Some(own_rate().await?),
        // A failed second read keeps the rate already known until the next refresh.
        Lookup::Again => match own_rate().await {
            Ok(rps) => Some(rps),
            Err(e) => {
                tracing::warn!(client_id = %caller.client_id, error = %e, "Could not read a client's rate again; the known one stays.");
                None
            }
        },
    };
    let in_flight = state.limiter.admit(&caller.client_id, looked_up)?;
    if !caller.has_scope(S::NAME) {
        return Err(ApiError::Forbidden { scope: S::NAME });
    }
    if !state.registry.policies.contains_key(&caller.purpose) {
        return Err(ApiError::UnknownPurpose);
    }
    Ok(Authorized {
        caller,
        _in_flight: in_flight,
        _scope: PhantomData,
    })
}

/// The authenticated client, left in the request's extensions for the access log line.
#[derive(Clone)]
pub struct ClientId(pub String);
