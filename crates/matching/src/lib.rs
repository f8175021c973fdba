//! Record linkage of person records across Indian government databases, as a library without I/O:
//! the caller reads the files or rows and hands over [`Record`]s.
//!
//! The steps, one module each:
//! - [`normalise`]: names to folded Latin tokens (NFKC, Indic scripts transliterated with Hindi
//!   schwa deletion, honorifics, spelling variants such as Mohd/Mohammad, Laxmi/Lakshmi, v/w/b,
//!   sh/s), dates that know when only the year is real, ten-digit mobiles;
//! - [`prepare`]: a record's normalised forms and its blocking keys;
//! - [`compare`]: each field compared in levels;
//! - [`model`]: Fellegi-Sunter weights, u from random pairs, m by EM, saved as JSON;
//! - [`engine`]: candidates from the registry's key index, scores with term-frequency
//!   adjustment, one-to-one assignment, decisions and their explanations.

pub mod compare;
pub mod engine;
pub mod model;
pub mod normalise;
pub mod prepare;
pub mod translit;

pub use engine::{
    Decision, Explanation, Options, PairScorer, Registry, Verdict, explain, explain_pair, link,
    train,
};
pub use model::Model;
pub use normalise::Record;
pub use prepare::Prepared;
