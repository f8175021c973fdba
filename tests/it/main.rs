//! End-to-end tests: the real gateway over HTTP against a real PostgreSQL cluster.

mod audit;
mod auth;
mod logs;
mod ops;
mod validation;
mod workers;
