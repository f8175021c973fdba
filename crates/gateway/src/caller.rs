//! Why a token was refused. Depends on nothing else of the gateway, so the token checks and
//! external issuers can both use it; `Caller` itself is the registry's.

pub use registry::caller::Caller;

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
