//! The Shram Setu gateway: the actix-web application, its auth, errors, OpenAPI document, metrics,
//! and the `shramsetu` command line built on them.

pub mod app;
pub use registry::audit;
pub mod auth;
pub mod authorize;
pub mod body;
pub mod caller;
pub use registry::clock;
pub mod config;
#[cfg(feature = "simulators")]
pub mod demo;
pub mod external;
pub mod keys;
pub mod limits;
pub mod openapi;
pub mod problem;
pub mod query;
pub use registry::purpose;
pub mod routes;
pub mod runtime;
pub mod schemes;
pub mod state;
pub mod telemetry;
