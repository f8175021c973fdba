//! A record prepared once for matching: normalised fields, name skeletons, and its blocking keys.

use std::hash::{Hash, Hasher};

use crate::normalise::{self, Dob, Name, Record};

/// The forms of one record the comparisons read.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    pub name: Name,
    /// Skeleton of each name token (same order as `name.tokens`).
    pub name_skeletons: Vec<String>,
    /// Share of registry records holding each name token (registry side; empty on incoming).
    pub token_tf: Vec<f32>,
    pub dob: Option<Dob>,
    pub mobile: Option<String>,
    pub aadhaar: Option<String>,
    /// `true` for female, `false` for male; `None` for transgender or unknown (not compared).
    pub gender: Option<bool>,
    pub pincode: Option<String>,
    pub district: Option<String>,
    pub state: Option<String>,
    pub relative: Name,
    pub address: Vec<String>,
}

impl Prepared {
    pub fn new(r: &Record) -> Prepared {
        let name = normalise::name(&r.full_name);
        let name_skeletons = name.tokens.iter().map(|t| normalise::skeleton(t)).collect();
        Prepared {
            name_skeletons,
            name,
            token_tf: Vec::new(),
            dob: Dob::parse(&r.dob),
            mobile: normalise::mobile(&r.mobile),
            aadhaar: normalise::code(&r.aadhaar_hash),
            gender: match r.gender.trim().to_ascii_uppercase().as_str() {
                "F" => Some(true),
                "M" => Some(false),
                _ => None,
            },
            pincode: normalise::code(&r.pincode),
            district: normalise::code(&r.district_code),
            state: normalise::code(&r.state_code),
            relative: normalise::name(&r.relative_name),
            address: normalise::address_tokens(&r.address),
        }
    }

    /// The keys under which this record is found: any key shared with another record makes the
    /// two a candidate pair. Several independent keys, so a pair differing in one field (a new
    /// mobile, a moved district, a misspelt name) still shares another.
    pub fn blocking_keys(&self) -> Vec<u64> {
        let mut keys = Vec::with_capacity(16);
        if let Some(a) = &self.aadhaar {
            keys.push(strong(&("aadhaar", a)));
        }
        if let Some(m) = &self.mobile {
            keys.push(strong(&("mobile", m)));
        }
        let year = self.dob.map(|d| d.year);
        for sk in self.name_skeletons.iter().filter(|s| s.len() >= 2) {
            if let Some(y) = year {
                keys.push(key(&("token-year", sk, y)));
            }
            if let Some(d) = &self.district {
                keys.push(key(&("token-district", sk, d)));
            }
            if let Some(p) = &self.pincode {
                keys.push(key(&("token-pincode", sk, p)));
            }
        }
        // The whole name's skeletons, in any order: names that survive every other change.
        if self.name_skeletons.len() >= 2 {
            let mut sorted: Vec<&String> = self.name_skeletons.iter().collect();
            sorted.sort();
            keys.push(key(&("name", &sorted)));
            // Narrower, for common names whose whole-name bucket is too big to use.
            if let Some(d) = self.dob {
                keys.push(strong(&("name-year", &sorted, d.year)));
            }
        }
        if let Some(d) = self.dob {
            // Date and an initial letter: catches names misspelt beyond their skeleton.
            let mut firsts: Vec<u8> = self.name.tokens.iter().map(|t| t.as_bytes()[0]).collect();
            firsts.extend(&self.name.initials);
            firsts.sort_unstable();
            firsts.dedup();
            for f in firsts {
                keys.push(strong(&("dob-initial", d.year, d.month, d.day, f)));
            }
            if let Some(p) = &self.pincode {
                keys.push(strong(&("dob-pincode", d.year, d.month, d.day, p)));
            }
        }
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

/// A 64-bit key of a value, the same on every machine and run (FxHash has no random seed). The
/// lowest bit tells a weak key (0) from a strong one (1), see [`is_strong`].
fn key<T: Hash>(value: &T) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    value.hash(&mut h);
    h.finish() & !1
}

/// A key that alone makes a pair worth comparing: an identifier, or the whole name with the birth
/// year, or the whole date of birth with an initial or the pincode. A pair sharing only weak keys
/// (a token with a year, a district or a pincode) must share two.
fn strong<T: Hash>(value: &T) -> u64 {
    key(value) | 1
}

/// Whether a blocking key is strong (see [`Prepared::blocking_keys`]).
pub fn is_strong(key: u64) -> bool {
    key & 1 == 1
}
