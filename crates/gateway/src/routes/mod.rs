//! HTTP routes. Handlers are thin: extract, call the store or the domain, map the outcome.

pub mod audit;
pub mod matching;
pub mod oauth;
pub mod ops;
pub mod schemes;
pub mod verify;
pub mod workers;
