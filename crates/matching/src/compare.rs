//! Field comparisons in levels. Each comparison maps a pair of prepared records to one level
//! (0 is the strongest agreement) or to `None` when either side lacks the field; the model gives
//! each level a weight.

use crate::prepare::Prepared;

/// The comparisons, in the order of a pair's level vector.
pub const COMPARISONS: &[Comparison] = &[
    Comparison {
        name: "name",
        levels: &[
            "exact after normalisation",
            "same tokens, reordered or with initials",
            "one name holds the other (dropped token)",
            "every token close (Jaro-Winkler >= 0.88 or same skeleton)",
            "some tokens agree",
            "different",
        ],
    },
    Comparison {
        name: "dob",
        levels: &[
            "exact",
            "day and month swapped",
            "same year, one side year-only (YYYY-01-01)",
            "same year and month",
            "one digit off",
            "within one year",
            "different",
        ],
    },
    Comparison {
        name: "mobile",
        levels: &["exact", "one digit off", "different"],
    },
    Comparison {
        name: "aadhaar",
        levels: &["same token", "one character off", "different"],
    },
    Comparison {
        name: "gender",
        levels: &["same", "different"],
    },
    Comparison {
        name: "place",
        levels: &[
            "same pincode",
            "same district, a pincode missing",
            "same district, other pincode",
            "same state",
            "different",
        ],
    },
    Comparison {
        name: "relative_name",
        levels: &["every token close", "some tokens agree", "different"],
    },
    Comparison {
        name: "address",
        levels: &[
            "most words shared (Jaccard >= 0.6)",
            "many words shared (>= 0.3)",
            "some words shared",
            "none shared",
        ],
    },
];

/// A comparison and the labels of its levels, strongest first.
#[derive(Debug, Clone, Copy)]
pub struct Comparison {
    pub name: &'static str,
    pub levels: &'static [&'static str],
}

/// Levels of one pair, one per comparison (`None`: a side lacks the field).
pub type Levels = [Option<u8>; 8];

/// What a name comparison found, for the model's term-frequency adjustment.
#[derive(Debug, Clone, Copy, Default)]
pub struct NameEvidence {
    /// The rarest token both names share exactly (its index in the registry side's tokens).
    pub rarest_shared: Option<usize>,
}

/// Compares every field of `a` (incoming) and `b` (registry).
pub fn compare(a: &Prepared, b: &Prepared) -> (Levels, NameEvidence) {
    let (name, evidence) = compare_names(a, b);
    (
        [
            name,
            compare_dob(a, b),
            compare_mobile(a, b),
            compare_aadhaar(a, b),
            compare_gender(a, b),
            compare_place(a, b),
            compare_relative(a, b),
            compare_address(a, b),
        ],
        evidence,
    )
}

/// Comparison `c` alone (its place in [`COMPARISONS`]): the level [`compare`] gives it.
pub fn compare_field(a: &Prepared, b: &Prepared, c: usize) -> Option<u8> {
    match c {
        0 => compare_names(a, b).0,
        1 => compare_dob(a, b),
        2 => compare_mobile(a, b),
        3 => compare_aadhaar(a, b),
        4 => compare_gender(a, b),
        5 => compare_place(a, b),
        6 => compare_relative(a, b),
        7 => compare_address(a, b),
        _ => None,
    }
}

/// Which comparisons `a` has the field for: where it has not, every pair with `a` is `None`
/// there (weight 0), whoever the other side is.
pub fn present(a: &Prepared) -> [bool; 8] {
    [
        !a.name.is_empty(),
        a.dob.is_some(),
        a.mobile.is_some(),
        a.aadhaar.is_some(),
        a.gender.is_some(),
        a.pincode.is_some() || a.district.is_some() || a.state.is_some(),
        !a.relative.tokens.is_empty(),
        !a.address.is_empty(),
    ]
}

/// The comparisons in the order a scorer that may stop early makes them, cheapest first: the
/// date and gender (read in place), the codes (a few bytes each), the name (token by token), then
/// the relative's name and the address.
pub const CHEAPEST_FIRST: [&[usize]; 4] = [&[1, 4], &[2, 3, 5], &[0], &[6, 7]];

#[allow(clippy::needless_range_loop)] // Parallel arrays of both names' tokens and flags.
fn compare_names(a: &Prepared, b: &Prepared) -> (Option<u8>, NameEvidence) {
    let (na, nb) = (&a.name, &b.name);
    if na.is_empty() || nb.is_empty() {
        return (None, NameEvidence::default());
    }
    let mut evidence = NameEvidence::default();
    let (la, lb) = (
        na.tokens.len().min(MAX_TOKENS),
        nb.tokens.len().min(MAX_TOKENS),
    );
    let mut a_used = [false; MAX_TOKENS];
    let mut b_used = [false; MAX_TOKENS];
    let (mut exact, mut close) = (0usize, 0usize);
    let mut rarest = f32::INFINITY;
    // Exact token matches first, then close ones among what is left.
    for i in 0..la {
        if let Some(j) = (0..lb).find(|&j| !b_used[j] && nb.tokens[j] == na.tokens[i]) {
            a_used[i] = true;
            b_used[j] = true;
            exact += 1;
            let tf = b.token_tf.get(j).copied().unwrap_or(1.0);
            if tf < rarest {
                rarest = tf;
                evidence.rarest_shared = Some(j);
            }
        }
    }
    for i in 0..la {
        if a_used[i] {
            continue;
        }
        let mut best: Option<(usize, f64)> = None;
        for j in (0..lb).filter(|&j| !b_used[j]) {
            let s = if a.name_skeletons[i] == b.name_skeletons[j] {
                0.95
            } else {
                jaro_winkler(na.tokens[i].as_bytes(), nb.tokens[j].as_bytes())
            };
            if s >= 0.88 && best.is_none_or(|(_, bs)| s > bs) {
                best = Some((j, s));
            }
        }
        if let Some((j, _)) = best {
            a_used[i] = true;
            b_used[j] = true;
            close += 1;
        }
    }
    let shorter = la.min(lb);
    // The longer name's unmatched tokens, each standing for one of the shorter name's initials?
    let explained = |initials: &[u8], tokens: &[String], used: &[bool]| {
        let extra: Vec<u8> = (0..tokens.len().min(MAX_TOKENS))
            .filter(|&k| !used[k])
            .map(|k| tokens[k].as_bytes()[0])
            .collect();
        !extra.is_empty() && extra.iter().all(|c| initials.contains(c))
    };
    let level = if na.key == nb.key && na.initials == nb.initials {
        0
    } else if exact == la && exact == lb {
        1
    } else if exact == shorter && shorter > 0 {
        let by_initials = if la < lb {
            explained(&na.initials, &nb.tokens, &b_used)
        } else {
            explained(&nb.initials, &na.tokens, &a_used)
        };
        if by_initials { 1 } else { 2 }
    } else if exact + close == shorter && shorter > 0 {
        3
    } else if exact + close > 0 {
        4
    } else {
        5
    };
    (Some(level), evidence)
}

/// Tokens of a name compared (more is noise).
const MAX_TOKENS: usize = 12;

fn compare_dob(a: &Prepared, b: &Prepared) -> Option<u8> {
    let (x, y) = (a.dob?, b.dob?);
    let digits_off = x
        .digits()
        .iter()
        .zip(y.digits().iter())
        .filter(|(p, q)| p != q)
        .count();
    if !x.valid || !y.valid {
        // A damaged date: only its digits say anything.
        return Some(match digits_off {
            0 => 0,
            1 => 4,
            _ if x.year == y.year => 5,
            _ => 6,
        });
    }
    Some(if x == y && !x.year_only {
        0
    } else if x.year == y.year && x.month == y.day && x.day == y.month && x.month != x.day {
        1
    } else if x.year == y.year && (x.year_only || y.year_only) {
        2
    } else if x.year == y.year && x.month == y.month {
        3
    } else if digits_off <= 1 {
        4
    } else if x.year.abs_diff(y.year) <= 1 {
        5
    } else {
        6
    })
}

fn compare_mobile(a: &Prepared, b: &Prepared) -> Option<u8> {
    let (x, y) = (a.mobile.as_ref()?, b.mobile.as_ref()?);
    Some(if x == y {
        0
    } else if off_by_one(x.as_bytes(), y.as_bytes()) {
        1
    } else {
        2
    })
}

fn compare_aadhaar(a: &Prepared, b: &Prepared) -> Option<u8> {
    let (x, y) = (a.aadhaar.as_ref()?, b.aadhaar.as_ref()?);
    Some(if x == y {
        0
    } else if off_by_one(x.as_bytes(), y.as_bytes()) {
        1
    } else {
        2
    })
}

fn compare_gender(a: &Prepared, b: &Prepared) -> Option<u8> {
    let (x, y) = (a.gender?, b.gender?);
    Some(u8::from(x != y))
}

fn compare_place(a: &Prepared, b: &Prepared) -> Option<u8> {
    let same = |x: &Option<String>, y: &Option<String>| match (x, y) {
        (Some(x), Some(y)) => Some(x == y),
        _ => None,
    };
    let pin = same(&a.pincode, &b.pincode);
    let district = same(&a.district, &b.district);
    let state = same(&a.state, &b.state);
    if pin.is_none() && district.is_none() && state.is_none() {
        return None;
    }
    // A missing pincode is not a different one: it says nothing, where another pincode in the
    // same district says the person lives elsewhere in it.
    Some(if pin == Some(true) {
        0
    } else if district == Some(true) && pin.is_none() {
        1
    } else if district == Some(true) {
        2
    } else if state == Some(true) {
        3
    } else {
        4
    })
}

fn compare_relative(a: &Prepared, b: &Prepared) -> Option<u8> {
    let (x, y) = (&a.relative, &b.relative);
    if x.tokens.is_empty() || y.tokens.is_empty() {
        return None;
    }
    let close = |t: &String, others: &[String]| {
        others
            .iter()
            .any(|o| o == t || jaro_winkler(t.as_bytes(), o.as_bytes()) >= 0.9)
    };
    let (short, long) = if x.tokens.len() <= y.tokens.len() {
        (x, y)
    } else {
        (y, x)
    };
    let hits = short
        .tokens
        .iter()
        .filter(|t| close(t, &long.tokens))
        .count();
    Some(if hits == short.tokens.len() {
        0
    } else if hits > 0 {
        1
    } else {
        2
    })
}

fn compare_address(a: &Prepared, b: &Prepared) -> Option<u8> {
    let (x, y) = (&a.address, &b.address);
    if x.is_empty() || y.is_empty() {
        return None;
    }
    // Both sorted and deduplicated.
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    let jaccard = shared as f64 / (x.len() + y.len() - shared) as f64;
    Some(if jaccard >= 0.6 {
        0
    } else if jaccard >= 0.3 {
        1
    } else if shared > 0 {
        2
    } else {
        3
    })
}

/// Same length and one position differs, or two neighbours swapped.
fn off_by_one(x: &[u8], y: &[u8]) -> bool {
    if x.len() != y.len() {
        return false;
    }
    // The first two differing positions, and whether there is a third.
    let mut diffs = (0..x.len()).filter(|&i| x[i] != y[i]);
    match (diffs.next(), diffs.next(), diffs.next()) {
        (Some(_), None, _) => true,
        (Some(i), Some(j), None) => j == i + 1 && x[i] == y[j] && x[j] == y[i],
        _ => false,
    }
}

/// Jaro-Winkler similarity of two ASCII strings, without allocating for names up to 64 bytes.
pub fn jaro_winkler(a: &[u8], b: &[u8]) -> f64 {
    if a.len() > 64 || b.len() > 64 {
        return strsim::jaro_winkler(
            std::str::from_utf8(a).unwrap_or(""),
            std::str::from_utf8(b).unwrap_or(""),
        );
    }
    if a.is_empty() || b.is_empty() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_hit = [false; 64];
    let mut b_hit = [false; 64];
    let mut matches = 0usize;
    for i in 0..a.len() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_hit[j] && a[i] == b[j] {
                a_hit[i] = true;
                b_hit[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut k = 0usize;
    for i in 0..a.len() {
        if a_hit[i] {
            while !b_hit[k] {
                k += 1;
            }
            if a[i] != b[k] {
                transpositions += 1;
            }
            k += 1;
        }
    }
    let m = matches as f64;
    let jaro =
        (m / a.len() as f64 + m / b.len() as f64 + (m - (transpositions / 2) as f64) / m) / 3.0;
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaro_winkler_agrees_with_strsim() {
        for (a, b) in [
            ("martha", "marhta"),
            ("dixon", "dicksonx"),
            ("ramesh", "rameshwar"),
            ("a", "b"),
            ("", ""),
        ] {
            let ours = jaro_winkler(a.as_bytes(), b.as_bytes());
            let theirs = strsim::jaro_winkler(a, b);
            assert!((ours - theirs).abs() < 1e-9, "{a}/{b}: {ours} vs {theirs}");
        }
    }

    use crate::normalise::Record;

    /// The level label one comparison gives two records differing only in `set`'s fields.
    fn level(c: usize, a: impl Fn(&mut Record), b: impl Fn(&mut Record)) -> &'static str {
        let base = || Record {
            full_name: "Ramesh Kumar Yadav".into(),
            gender: "M".into(),
            dob: "1985-07-14".into(),
            mobile: "9876543210".into(),
            state_code: "09".into(),
            district_code: "150".into(),
            pincode: "226001".into(),
            relative_name: "Suresh Yadav".into(),
            aadhaar_hash: "5f2c9a0e7b1d3c4a".into(),
            address: "House 12 Aminabad Lucknow".into(),
            ..Record::default()
        };
        let (mut ra, mut rb) = (base(), base());
        a(&mut ra);
        b(&mut rb);
        let levels = compare(&Prepared::new(&ra), &Prepared::new(&rb)).0;
        match levels[c] {
            Some(l) => COMPARISONS[c].levels[l as usize],
            None => "missing",
        }
    }

    /// `(field, a, b, expected level)`: field 0 is the name, 1 the date of birth.
    fn assert_levels(c: usize, cases: &[(&str, &str, &str)]) {
        for &(a, b, expected) in cases {
            let set = |v: &str| {
                let v = v.to_owned();
                move |r: &mut Record| match c {
                    0 => r.full_name = v.clone(),
                    _ => r.dob = v.clone(),
                }
            };
            assert_eq!(level(c, set(a), set(b)), expected, "{a} / {b}");
        }
    }

    #[test]
    fn names_in_levels() {
        const CLOSE: &str = "every token close (Jaro-Winkler >= 0.88 or same skeleton)";
        assert_levels(
            0,
            &[
                ("Mohd. Irfan", "MOHAMMAD IRFAN", "exact after normalisation"),
                ("Smt. Sunita Devi", "सुनीता देवी", "exact after normalisation"),
                ("Laxmi Devi", "Lakshmi Devee", "exact after normalisation"),
                (
                    "Yadav Ramesh Kumar",
                    "R. K. Yadav",
                    "same tokens, reordered or with initials",
                ),
                (
                    "Ramesh Kumar Yadav",
                    "Ramesh Yadav",
                    "one name holds the other (dropped token)",
                ),
                // Paatil folds to Patil; Basavraj keeps its skeleton but not its spelling.
                ("Basavaraj Patil", "Basavraj Paatil", CLOSE),
                ("Ramesh Yadav", "Ramesj Yadaw", CLOSE),
                // Sisters-in-law, not spellings of one name.
                ("Sunita Yadav", "Anita Yadav", "some tokens agree"),
                ("Ramesh Yadav", "Dinesh Yadav", "some tokens agree"),
                ("Ramesh Yadav", "Abdul Karim", "different"),
                ("Ramesh Yadav", "", "missing"),
            ],
        );
    }

    #[test]
    fn dates_in_levels() {
        assert_levels(
            1,
            &[
                ("1985-07-14", "1985-07-14", "exact"),
                ("1985-07-04", "1985-04-07", "day and month swapped"),
                (
                    "1985-01-01",
                    "1985-07-14",
                    "same year, one side year-only (YYYY-01-01)",
                ),
                ("1985-07-14", "1985-07-28", "same year and month"),
                ("1985-07-14", "1986-07-14", "one digit off"),
                ("1985-12-30", "1986-01-02", "within one year"),
                ("1985-07-14", "1962-02-03", "different"),
                ("1985-07-14", "", "missing"),
            ],
        );
    }

    #[test]
    fn identifiers_gender_place_family_and_address_in_levels() {
        let mobile = |b: &'static str| level(2, |_| {}, move |r| r.mobile = b.into());
        assert_eq!(mobile("+91 98765 43210"), "exact");
        assert_eq!(mobile("9876543211"), "one digit off");
        assert_eq!(mobile("9123456780"), "different");
        assert_eq!(mobile(""), "missing");
        let aadhaar = |b: &'static str| level(3, |_| {}, move |r| r.aadhaar_hash = b.into());
        assert_eq!(aadhaar("5f2c9a0e7b1d3c4a"), "same token");
        assert_eq!(aadhaar("0000000000000000"), "different");
        assert_eq!(aadhaar(""), "missing");
        assert_eq!(level(4, |_| {}, |r| r.gender = "F".into()), "different");
        let place = |b: fn(&mut Record)| level(5, |_| {}, b);
        assert_eq!(place(|_| {}), "same pincode");
        assert_eq!(
            place(|r| r.pincode.clear()),
            "same district, a pincode missing"
        );
        assert_eq!(
            place(|r| r.pincode = "226010".into()),
            "same district, other pincode"
        );
        assert_eq!(
            place(|r| {
                r.district_code = "151".into();
                r.pincode = "227101".into();
            }),
            "same state"
        );
        assert_eq!(
            place(|r| {
                r.state_code = "10".into();
                r.district_code = "210".into();
                r.pincode = "800001".into();
            }),
            "different"
        );
        let relative = |b: &'static str| level(6, |_| {}, move |r| r.relative_name = b.into());
        assert_eq!(relative("सुरेश यादव"), "every token close");
        assert_eq!(relative("Mahesh Yadav"), "some tokens agree");
        assert_eq!(relative("Abdul Karim"), "different");
        let address = |b: &'static str| level(7, |_| {}, move |r| r.address = b.into());
        assert_eq!(
            address("H. No. 12, Aminabad, Lucknow"),
            "most words shared (Jaccard >= 0.6)"
        );
        assert_eq!(address("Ward 3 Kaiserbagh Lucknow"), "some words shared");
        assert_eq!(address("Gandhi Maidan Patna"), "none shared");
    }

    #[test]
    fn the_cheapest_first_order_makes_every_comparison_once() {
        let mut made: Vec<usize> = CHEAPEST_FIRST
            .iter()
            .flat_map(|s| s.iter().copied())
            .collect();
        made.sort_unstable();
        assert_eq!(made, (0..COMPARISONS.len()).collect::<Vec<_>>());
    }

    #[test]
    fn one_digit_off() {
        assert!(off_by_one(b"9876543210", b"9876543211"));
        assert!(off_by_one(b"9876543210", b"9876543201"));
        assert!(!off_by_one(b"9876543210", b"9876543322"));
    }
}
