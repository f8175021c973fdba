//! End-to-end tests: the real gateway over HTTP against a real PostgreSQL cluster.

mod adapters;
mod attacks;
mod audit;
mod auth;
mod batches;
mod coverage;
mod dashboard;
mod idp;
mod keys;
mod logs;
mod matching;
mod ops;
mod purposes;
mod schemes;
mod structure;
mod sync_bench;
mod sync_engine;
mod timeouts;
mod validation;
mod workers;
