//! A record prepared once for matching: normalised fields, name skeletons, and its blocking keys.

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

    /// The blocking keys of the identifiers alone (Aadhaar token, mobile): strong keys that few
    /// records share, worth looking up on their own.
    pub fn identifier_keys(&self) -> Vec<u64> {
        let aadhaar = self
            .aadhaar
            .iter()
            .map(|a| Key::new("aadhaar").s(a).strong());
        let mobile = self.mobile.iter().map(|m| Key::new("mobile").s(m).strong());
        aadhaar.chain(mobile).collect()
    }

    /// The keys under which this record is found: any key shared with another record makes the
    /// two a candidate pair. Several independent keys, so a pair differing in one field (a new
    /// mobile, a moved district, a misspelt name) still shares another.
    pub fn blocking_keys(&self) -> Vec<u64> {
        let mut keys = Vec::with_capacity(16);
        keys.extend(self.identifier_keys());
        let year = self.dob.map(|d| d.year);
        for sk in self.name_skeletons.iter().filter(|s| s.len() >= 2) {
            if let Some(y) = year {
                keys.push(Key::new("token-year").s(sk).n(y.into()).weak());
            }
            if let Some(d) = &self.district {
                keys.push(Key::new("token-district").s(sk).s(d).weak());
            }
            if let Some(p) = &self.pincode {
                keys.push(Key::new("token-pincode").s(sk).s(p).weak());
            }
        }
        // The whole name's skeletons, in any order: names that survive every other change.
        if self.name_skeletons.len() >= 2 {
            let mut sorted: Vec<&String> = self.name_skeletons.iter().collect();
            sorted.sort();
            keys.push(sorted.iter().fold(Key::new("name"), |k, t| k.s(t)).weak());
            // Narrower, for common names whose whole-name bucket is too big to use.
            if let Some(d) = self.dob {
                keys.push(
                    sorted
                        .iter()
                        .fold(Key::new("name-year"), |k, t| k.s(t))
                        .n(d.year.into())
                        .strong(),
                );
                // The whole name with the day and month: a birth year mistyped or estimated
                // differently (a year off) in a record whose other fields moved too.
                if !d.year_only {
                    keys.push(
                        sorted
                            .iter()
                            .fold(Key::new("name-day"), |k, t| k.s(t))
                            .n(d.month.into())
                            .n(d.day.into())
                            .strong(),
                    );
                }
            }
        }
        if let Some(d) = self.dob {
            // Date and an initial letter: catches names misspelt beyond their skeleton.
            let mut firsts: Vec<u8> = self.name.tokens.iter().map(|t| t.as_bytes()[0]).collect();
            firsts.extend(&self.name.initials);
            firsts.sort_unstable();
            firsts.dedup();
            for f in firsts {
                keys.push(date(Key::new("dob-initial"), d).n(f.into()).strong());
            }
            if let Some(p) = &self.pincode {
                keys.push(date(Key::new("dob-pincode"), d).s(p).strong());
            }
        }
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

impl Prepared {
    /// The keys a store indexes and looks up, one lookup each: the strong keys, and one key for
    /// every two of the weak ones. Two records share one of these exactly when they share a
    /// strong key or at least two weak keys, the engine's candidate rule, and every one of them
    /// is as selective as a pair, so an indexed lookup never reads a weak key's long list (every
    /// worker with a common surname born in a year) to count the few who share a second.
    pub fn index_keys(&self) -> Vec<u64> {
        let all = self.blocking_keys();
        let (strong, weak): (Vec<u64>, Vec<u64>) = all.into_iter().partition(|k| is_strong(*k));
        let mut keys = strong;
        keys.reserve(weak.len() * weak.len().saturating_sub(1) / 2);
        // `weak` is sorted (blocking_keys sorts), so each pair is met once, smaller first.
        for (i, a) in weak.iter().enumerate() {
            for b in &weak[i + 1..] {
                keys.push(Key::new("pair").n(*a).n(*b).strong());
            }
        }
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

/// The version of the blocking keys: stored keys of another version are recomputed (bump it with
/// any change to normalisation or to the keys, or stored keys would no longer meet new ones).
pub const KEYS_VERSION: i16 = 3;

/// A blocking key: FNV-1a over an explicit encoding of its parts (each part's bytes, then a 0xff
/// separator), so a key is the same on every machine, build and crate version, and can be stored.
/// The lowest bit tells a weak key (0) from a strong one (1), see [`is_strong`].
struct Key(u64);

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Key {
    fn new(tag: &str) -> Key {
        Key(FNV_OFFSET).s(tag)
    }

    fn bytes(mut self, bytes: &[u8]) -> Key {
        for &b in bytes.iter().chain(&[0xff]) {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
        self
    }

    fn s(self, part: &str) -> Key {
        self.bytes(part.as_bytes())
    }

    fn n(self, part: u64) -> Key {
        self.bytes(&part.to_le_bytes())
    }

    /// A key a pair must share with another weak one to be compared.
    fn weak(self) -> u64 {
        self.0 & !1
    }

    /// A key that alone makes a pair worth comparing: an identifier, or the whole name with the
    /// birth year, or the whole date of birth with an initial or the pincode.
    fn strong(self) -> u64 {
        self.0 | 1
    }
}

fn date(k: Key, d: Dob) -> Key {
    k.n(d.year.into()).n(d.month.into()).n(d.day.into())
}

/// Whether a blocking key is strong (see [`Prepared::blocking_keys`]).
pub fn is_strong(key: u64) -> bool {
    key & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys are stored in the registry: they must not change unless KEYS_VERSION does.
    #[test]
    fn keys_are_stable() {
        let p = Prepared::new(&Record {
            full_name: "Mohd. Irfan".into(),
            dob: "1991-04-12".into(),
            mobile: "9876543210".into(),
            pincode: "226001".into(),
            ..Record::default()
        });
        let keys = p.blocking_keys();
        assert_eq!(keys.len(), 11);
        assert_eq!(keys.iter().filter(|k| is_strong(**k)).count(), 6);
        // FNV-1a 64 of "mobile", 0xff, "9876543210", 0xff, the strong bit set (checked by hand).
        assert_eq!(
            Key::new("mobile").s("9876543210").strong(),
            0xee1d_b53c_edaf_10cb
        );
    }

    /// A migrant whose birth year was typed a year off, with a new mobile and no pincode, shares
    /// one strong key, the name with the day and month; a year-only date gives no such key.
    #[test]
    fn a_year_off_after_a_move_still_meets_the_registry_record() {
        let registry = Prepared::new(&Record {
            full_name: "Balu Shivaji Kulkarni".into(),
            dob: "2001-03-01".into(),
            mobile: "8330033003".into(),
            district_code: "1452".into(),
            pincode: "427026".into(),
            ..Record::default()
        });
        let incoming = Prepared::new(&Record {
            full_name: "BALU SHIVAJI KULKARNI".into(),
            dob: "2002-03-01".into(),
            district_code: "1765".into(),
            ..Record::default()
        });
        let ours = registry.blocking_keys();
        let shared: Vec<u64> = incoming
            .blocking_keys()
            .into_iter()
            .filter(|k| ours.contains(k))
            .collect();
        // The whole name (weak: one weak key alone does not make a candidate), and the name with
        // the day and month (strong).
        assert_eq!(shared.len(), 2);
        assert_eq!(shared.iter().filter(|k| is_strong(**k)).count(), 1);
        let placeholder = |dob: &str| {
            Prepared::new(&Record {
                full_name: "Balu Shivaji Kulkarni".into(),
                dob: dob.into(),
                ..Record::default()
            })
            .blocking_keys()
        };
        let (a, b) = (placeholder("2001-01-01"), placeholder("2002-01-01"));
        assert!(a.iter().all(|k| !b.contains(k) || !is_strong(*k)));
    }

    /// The indexed keys meet exactly when the engine's rule makes a candidate pair: a strong key
    /// shared, or two weak ones. Checked over every pair of records drawn from small pools of
    /// names, dates and places, so that most pairs share something and many share one weak key.
    #[test]
    fn index_keys_meet_exactly_when_the_candidate_rule_does() {
        let names = [
            "Ram Kumar",
            "Ram Kumar Yadav",
            "Kumar Ram",
            "Sita Devi",
            "Seeta Devi",
            "Sunita Kumari",
            "Mohd Irfan",
            "Mohammed Irfan Khan",
            "R. Kumar",
            "Devi",
        ];
        let dobs = ["1990-01-01", "1990-05-12", "1991-05-12", "1990", ""];
        let districts = ["0923", "0924", ""];
        let pincodes = ["800001", "800002", ""];
        let mut seed = 7u64;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as usize % n
        };
        let records: Vec<Prepared> = (0..160)
            .map(|_| {
                Prepared::new(&Record {
                    full_name: names[next(names.len())].into(),
                    dob: dobs[next(dobs.len())].into(),
                    district_code: districts[next(districts.len())].into(),
                    pincode: pincodes[next(pincodes.len())].into(),
                    ..Record::default()
                })
            })
            .collect();
        let (mut candidates, mut one_weak) = (0, 0);
        for (i, a) in records.iter().enumerate() {
            let (ka, ia) = (a.blocking_keys(), a.index_keys());
            for b in &records[i + 1..] {
                let shared: Vec<u64> = b
                    .blocking_keys()
                    .into_iter()
                    .filter(|k| ka.contains(k))
                    .collect();
                let weak = shared.iter().filter(|k| !is_strong(**k)).count();
                let rule = weak >= 2 || shared.iter().any(|k| is_strong(*k));
                let indexed = b.index_keys().iter().any(|k| ia.contains(k));
                assert_eq!(indexed, rule, "{:?} / {:?}", a.name.tokens, b.name.tokens);
                candidates += usize::from(rule);
                one_weak += usize::from(!rule && weak == 1);
            }
        }
        // The pools make both kinds common, so the check means something.
        assert!(
            candidates > 1000 && one_weak > 1000,
            "{candidates} {one_weak}"
        );
    }
}
