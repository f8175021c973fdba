//! The registry's canonical types and rules. No I/O: the clock, keys and randomness come in as
//! parameters, and every value is validated in its constructor so later code holds only valid data.

pub mod audit;
pub mod crypto;
pub mod eligibility;
pub mod error;
pub mod ids;
pub mod names;
pub mod schemes;
pub mod verhoeff;
pub mod worker;

pub use crypto::{AadhaarToken, Sealed, TokenKey, VaultKey};
pub use error::{Errors, FieldError, Invalid};
pub use ids::{Aadhaar, DistrictCode, Ifsc, Mobile, NcoCode, Pincode, StateCode, Uan};
pub use worker::{NewWorker, Registration, Worker};
