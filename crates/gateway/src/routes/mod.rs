//! HTTP routes. Handlers are thin: read the request, call one use case, write the answer.

pub mod audit;
pub mod matching;
pub mod oauth;
pub mod ops;
pub mod schemes;
pub mod sync;
pub mod verify;
pub mod workers;
