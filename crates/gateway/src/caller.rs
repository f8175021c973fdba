//! Who is calling, as a verified token says, and why a token was refused. Depends on nothing else
//! of the gateway, so the audit log, the token checks and external issuers can all use it without
//! depending on each other.

/// Who is calling, as their verified token says.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: String,
    pub jti: Option<String>,
    pub scopes: Vec<String>,
    /// `None`: every state. Otherwise the LGD codes of the states this caller may see and change.
    pub states: Option<Vec<String>>,
    /// Why the caller asks: decides which fields it sees.
    pub purpose: String,
}

impl Caller {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn may_see_state(&self, state_code: &str) -> bool {
        self.states
            .as_ref()
            .is_none_or(|s| s.iter().any(|c| c == state_code))
    }
}

/// Why a token failed its signature or claim checks, for `WWW-Authenticate` (never the token).
pub fn rejection_reason(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::ExpiredSignature => "token expired",
        K::ImmatureSignature => "token not yet valid",
        K::InvalidAudience => "wrong audience",
        K::InvalidIssuer => "wrong issuer",
        K::InvalidSignature => "bad signature",
        K::MissingRequiredClaim(_) => "required claim missing",
        K::InvalidAlgorithm => "algorithm not allowed",
        _ => "invalid token",
    }
}
