//! The registry's use cases without HTTP: what the gateway's routes, and next the sync engine,
//! state-portal batches and coverage reports, all call, so that one rule is applied by one piece
//! of code whichever door a record comes through. No actix, no status codes: errors are typed and
//! the gateway maps them.
//!
//! So far it holds purpose limitation (`purpose::FieldPolicy`); registering, reading, changing,
//! verifying, matching, enrolling and the audit writer move here from the gateway next.

pub mod purpose;
