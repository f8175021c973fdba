//! A seeded synthetic population of Indian workers, and the same people as another database
//! holds them: the benchmark set for the matching engine (and the shared population of the demo
//! and the scheme simulators). Deterministic: the same seed gives the same files on every machine.
//!
//! The incoming side carries what real scheme databases do to a person: transliteration
//! variants, typos, initials, reordered and dropped name tokens, names in Devanagari, honorifics,
//! year-only (`YYYY-01-01`) and day/month-swapped dates, missing and changed mobiles, migrants in
//! another district, an Aadhaar token on only some rows; and people who are not in the registry
//! at all, many of them hard negatives (same surname, district, pincode and birth year).

pub mod aadhaar;
pub mod names;

use matching::Record;
use names::{Style, Tradition};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A true pair and the ways its incoming side differs (for recall by slice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruePair {
    pub incoming_id: String,
    pub registry_id: String,
    pub slices: Vec<&'static str>,
}

/// A benchmark set: the registry, the incoming file and the true pairs.
pub struct MatchingSet {
    pub registry: Vec<Record>,
    pub incoming: Vec<Record>,
    pub truth: Vec<TruePair>,
}

/// The slices a true pair may belong to, as `shramsetu match --truth` reports them.
pub const SLICES: &[&str] = &[
    "aadhaar_present",
    "same_mobile",
    "latin_exact",
    "variant",
    "year_only_dob",
    "migrant",
    "devanagari",
    "no_aadhaar_mobile_changed_moved",
];

/// Region: a naming tradition, its LGD state code, weight in the population.
const REGIONS: &[(&Tradition, &str, u32)] = &[
    (&names::NORTH, "09", 22),
    (&names::NORTH, "10", 12),
    (&names::NORTH, "08", 6),
    (&names::NORTH, "23", 6),
    (&names::MUSLIM, "09", 6),
    (&names::MUSLIM, "19", 4),
    (&names::SIKH, "03", 3),
    (&names::TAMIL, "33", 7),
    (&names::TELUGU, "36", 5),
    (&names::TELUGU, "28", 4),
    (&names::MARATHI, "27", 9),
    (&names::EAST, "19", 9),
    (&names::EAST, "21", 5),
];

const VILLAGES: &[&str] = &[
    "Rampur",
    "Sitapur",
    "Chandpur",
    "Bhagwanpur",
    "Islampur",
    "Nayagaon",
    "Sonpur",
    "Kishanganj",
    "Lakhanpur",
    "Madhopur",
    "Shivpuri",
    "Govindpur",
    "Harinagar",
    "Devgarh",
    "Kalyanpur",
    "Rasulpur",
    "Fatehpur",
    "Jaitpur",
    "Amarpur",
    "Belapur",
    "Kothari",
    "Palasi",
    "Tilakpur",
    "Malkapur",
    "Nandgaon",
    "Vadgaon",
    "Kottur",
    "Palayam",
    "Pudur",
    "Gudem",
    "Palli",
    "Khurd",
    "Kalan",
    "Dihri",
    "Basti",
    "Tola",
    "Pada",
    "Nagar",
    "Ganj",
    "Bazar",
];

/// Districts per state and pincodes per district in the synthetic geography.
const DISTRICTS: u32 = 40;
const PINCODES: u32 = 25;

/// A person as the registry knows them.
#[derive(Debug, Clone)]
struct Person {
    region: usize,
    female: bool,
    /// Name tokens in the region's usual order.
    tokens: Vec<String>,
    relative: String,
    year: u16,
    month: u8,
    day: u8,
    year_only: bool,
    mobile: Option<String>,
    aadhaar: String,
    state: &'static str,
    district: u32,
    pincode: u32,
    village: &'static str,
}

/// Generates a registry of `registry_size` people and `incoming_size` incoming records of which
/// `true_share` are registry people written again.
pub fn matching_set(
    registry_size: usize,
    incoming_size: usize,
    true_share: f64,
    seed: u64,
) -> MatchingSet {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let people: Vec<Person> = (0..registry_size).map(|_| person(&mut rng)).collect();
    let registry: Vec<Record> = people
        .iter()
        .enumerate()
        .map(|(i, p)| registry_record(i, p))
        .collect();
    let mut incoming = Vec::with_capacity(incoming_size);
    let mut truth = Vec::new();
    // Each registry person appears at most once among the incoming.
    let mut order: Vec<usize> = (0..registry_size).collect();
    for k in 0..order.len().min(incoming_size * 2) {
        let j = rng.random_range(k..order.len());
        order.swap(k, j);
    }
    let mut next_true = 0;
    for n in 0..incoming_size {
        let id = format!("in-{n:07}");
        if rng.random_bool(true_share) && next_true < order.len() {
            let i = order[next_true];
            next_true += 1;
            let (record, slices) = noisy_copy(&mut rng, &people[i], id.clone());
            truth.push(TruePair {
                incoming_id: id,
                registry_id: registry[i].id.clone(),
                slices,
            });
            incoming.push(record);
        } else if rng.random_bool(0.5) && !people.is_empty() {
            // A hard negative: a neighbour or sibling of someone in the registry.
            let base = &people[rng.random_range(0..people.len())];
            let mut other = person(&mut rng);
            neighbour_of(&mut rng, &mut other, base);
            let (mut record, _) = noisy_copy(&mut rng, &other, id);
            record.aadhaar_hash = if rng.random_bool(0.3) {
                other.aadhaar.clone()
            } else {
                String::new()
            };
            incoming.push(record);
        } else {
            let other = person(&mut rng);
            let (record, _) = noisy_copy(&mut rng, &other, id);
            incoming.push(record);
        }
    }
    MatchingSet {
        registry,
        incoming,
        truth,
    }
}

/// The `n`-th person of population `seed` as the registry holds them: the same on every call and
/// every machine, without generating the people before them (the demo registry and the scheme
/// simulators share the population this way).
pub fn registry_person(seed: u64, n: u64) -> Record {
    registry_record(n as usize, &person_at(seed, n))
}

/// The `n`-th person of population `seed` as another database wrote them: the noise of the
/// matching sets, drawn from `salt` (one per scheme), so each scheme holds its own spelling.
pub fn held_elsewhere(seed: u64, n: u64, salt: u64) -> Record {
    let p = person_at(seed, n);
    let mut rng = ChaCha8Rng::seed_from_u64(mix(mix(seed, n), salt));
    noisy_copy(&mut rng, &p, n.to_string()).0
}

fn person_at(seed: u64, n: u64) -> Person {
    person(&mut ChaCha8Rng::seed_from_u64(mix(seed, n)))
}

fn mix(a: u64, b: u64) -> u64 {
    (a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15)).rotate_left(29) ^ 0xD6E8_FEB8_6659_FD93
}

fn pick<'a, R: Rng>(rng: &mut R, items: &'a [&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn person<R: Rng>(rng: &mut R) -> Person {
    let total: u32 = REGIONS.iter().map(|r| r.2).sum();
    let mut roll = rng.random_range(0..total);
    let mut region = 0;
    for (k, r) in REGIONS.iter().enumerate() {
        if roll < r.2 {
            region = k;
            break;
        }
        roll -= r.2;
    }
    let (tradition, state, _) = REGIONS[region];
    let female = rng.random_bool(0.45);
    let tokens = name_tokens(rng, tradition, female);
    let relative = name_tokens(rng, tradition, false).join(" ");
    let year = rng.random_range(1966..=2007);
    let month = rng.random_range(1..=12);
    let day = rng.random_range(1..=28);
    let district = rng.random_range(0..DISTRICTS);
    Person {
        region,
        female,
        tokens,
        relative,
        year,
        month,
        day,
        year_only: rng.random_bool(0.12),
        mobile: rng.random_bool(0.88).then(|| {
            format!(
                "{}{:09}",
                rng.random_range(6..=9),
                rng.random_range(0..1_000_000_000u64)
            )
        }),
        aadhaar: format!("{:016x}", rng.random::<u64>()),
        state,
        district,
        pincode: rng.random_range(0..PINCODES),
        village: pick(rng, VILLAGES),
    }
}

fn name_tokens<R: Rng>(rng: &mut R, t: &Tradition, female: bool) -> Vec<String> {
    let given = pick(rng, if female { t.female } else { t.male }).to_owned();
    let surname = |rng: &mut R| pick(rng, t.surnames).to_owned();
    match t.style {
        Style::North => {
            let mut v = vec![given];
            if rng.random_bool(0.3) {
                v.push(if female {
                    "Devi".into()
                } else {
                    "Kumar".into()
                });
            }
            if !(female && v.len() == 2 && rng.random_bool(0.5)) {
                v.push(surname(rng));
            }
            v
        }
        Style::Muslim => {
            let mut v = Vec::new();
            if !female && rng.random_bool(0.4) {
                v.push("Mohammad".to_owned());
            }
            v.push(given);
            v.push(if female && rng.random_bool(0.4) {
                pick(rng, &["Khatun", "Begum", "Bano"]).to_owned()
            } else {
                surname(rng)
            });
            v
        }
        Style::Sikh => vec![
            given,
            if female {
                "Kaur".into()
            } else {
                "Singh".into()
            },
        ],
        Style::Tamil => {
            let initial = (b'A' + rng.random_range(0..26u8)) as char;
            vec![initial.to_string(), given]
        }
        Style::Telugu => vec![surname(rng), given],
        Style::Marathi => {
            let father = pick(rng, names::MARATHI.male).to_owned();
            vec![given, father, surname(rng)]
        }
        Style::East => vec![given, surname(rng)],
    }
}

/// Makes `other` a hard negative for `base`: same surname, place and birth year, sometimes the
/// same father (a sibling), a different given name.
fn neighbour_of<R: Rng>(rng: &mut R, other: &mut Person, base: &Person) {
    let tradition = REGIONS[base.region].0;
    other.region = base.region;
    other.state = base.state;
    other.district = base.district;
    other.pincode = base.pincode;
    other.village = base.village;
    other.year = base.year;
    other.female = base.female;
    let mut tokens = base.tokens.clone();
    let given_at = match tradition.style {
        Style::Telugu | Style::Tamil => tokens.len() - 1,
        Style::Muslim if tokens[0] == "Mohammad" => 1,
        _ => 0,
    };
    let pool = if base.female {
        tradition.female
    } else {
        tradition.male
    };
    loop {
        let g = pick(rng, pool);
        if g != tokens[given_at] {
            tokens[given_at] = g.to_owned();
            break;
        }
    }
    other.tokens = tokens;
    if rng.random_bool(0.4) {
        other.relative = base.relative.clone();
    }
}

fn registry_record(i: usize, p: &Person) -> Record {
    Record {
        id: format!("reg-{i:07}"),
        full_name: p.tokens.join(" "),
        gender: if p.female { "F".into() } else { "M".into() },
        dob: if p.year_only {
            format!("{}-01-01", p.year)
        } else {
            format!("{}-{:02}-{:02}", p.year, p.month, p.day)
        },
        mobile: p.mobile.clone().unwrap_or_default(),
        state_code: p.state.to_owned(),
        district_code: district_code(p.state, p.district),
        pincode: pincode(p.state, p.district, p.pincode),
        relative_name: p.relative.clone(),
        aadhaar_hash: p.aadhaar.clone(),
        address: format!("{} {}", p.village, district_code(p.state, p.district)),
    }
}

fn district_code(state: &str, d: u32) -> String {
    format!("{}", state.parse::<u32>().unwrap_or(0) * 50 + d + 100)
}

fn pincode(state: &str, d: u32, p: u32) -> String {
    format!(
        "{}{:02}{:02}{}",
        (state.parse::<u32>().unwrap_or(0) % 8) + 1,
        state.parse::<u32>().unwrap_or(0) % 100,
        d,
        p % 10 + p / 10
    )
}

/// The person as another database wrote them, and the slices the pair falls in.
fn noisy_copy<R: Rng>(rng: &mut R, p: &Person, id: String) -> (Record, Vec<&'static str>) {
    let mut slices = Vec::new();
    // Name.
    let mut tokens = p.tokens.clone();
    let mut changed = false;
    if rng.random_bool(0.35) {
        for _ in 0..rng.random_range(1..=2) {
            changed |= vary_name(rng, &mut tokens);
        }
    }
    let mut name = tokens.join(" ");
    let devanagari = rng.random_bool(0.05);
    if devanagari {
        name = names::to_devanagari(&name);
        slices.push("devanagari");
    } else {
        if rng.random_bool(0.3) {
            name = name.to_uppercase();
        }
        if rng.random_bool(0.05) {
            let h = pick(
                rng,
                if p.female {
                    names::HONORIFICS_FEMALE
                } else {
                    names::HONORIFICS_MALE
                },
            );
            name = format!("{h} {name}");
        }
        slices.push(if changed { "variant" } else { "latin_exact" });
    }
    // Date of birth.
    let (mut year, mut month, mut day) = (p.year, p.month, p.day);
    let mut year_only = p.year_only;
    let mut dob_missing = false;
    match rng.random_range(0..100) {
        0..=9 => year_only = true,
        10..=14 if day <= 12 => std::mem::swap(&mut month, &mut day),
        15..=18 => {
            year = if rng.random_bool(0.5) {
                year + 1
            } else {
                year - 1
            }
        }
        19..=21 => day = if day < 28 { day + 1 } else { day - 1 },
        22..=24 => dob_missing = true,
        _ => {}
    }
    if year_only {
        slices.push("year_only_dob");
    }
    let dob = if dob_missing {
        String::new()
    } else if year_only {
        format!("{year}-01-01")
    } else {
        format!("{year}-{month:02}-{day:02}")
    };
    // Mobile: kept, changed, missing or mistyped.
    let mobile = match (&p.mobile, rng.random_range(0..100)) {
        (Some(m), 0..=54) => {
            slices.push("same_mobile");
            m.clone()
        }
        (Some(m), 55..=57) => {
            let mut b = m.clone().into_bytes();
            let k = rng.random_range(1..10);
            b[k] = b'0' + (b[k] - b'0' + 1) % 10;
            String::from_utf8(b).unwrap_or_default()
        }
        (_, 58..=79) => format!(
            "{}{:09}",
            rng.random_range(6..=9),
            rng.random_range(0..1_000_000_000u64)
        ),
        _ => String::new(),
    };
    let mobile_same = slices.contains(&"same_mobile");
    // Place: migrants are recorded where they work.
    let migrant = rng.random_bool(0.15);
    let (state, district, pin, village) = if migrant {
        slices.push("migrant");
        let (_, s, _) = REGIONS[rng.random_range(0..REGIONS.len())];
        (
            s,
            rng.random_range(0..DISTRICTS),
            rng.random_range(0..PINCODES),
            pick(rng, VILLAGES),
        )
    } else {
        (p.state, p.district, p.pincode, p.village)
    };
    let aadhaar = rng.random_bool(0.3);
    if aadhaar {
        slices.push("aadhaar_present");
    }
    if !aadhaar && !mobile_same && migrant {
        slices.push("no_aadhaar_mobile_changed_moved");
    }
    // Relative: a married woman's relative is her husband, not her father.
    let relative = if p.female && rng.random_bool(0.3) {
        name_tokens(rng, REGIONS[p.region].0, false).join(" ")
    } else if rng.random_bool(0.2) {
        String::new()
    } else {
        p.relative.clone()
    };
    let record = Record {
        id,
        full_name: name,
        gender: if rng.random_bool(0.02) {
            String::new()
        } else if p.female {
            "F".into()
        } else {
            "M".into()
        },
        dob,
        mobile,
        state_code: state.to_owned(),
        district_code: district_code(state, district),
        pincode: if rng.random_bool(0.1) {
            String::new()
        } else {
            pincode(state, district, pin)
        },
        relative_name: relative,
        aadhaar_hash: if aadhaar {
            p.aadhaar.clone()
        } else {
            String::new()
        },
        address: if rng.random_bool(0.3) {
            String::new()
        } else {
            format!("{} {}", village, district_code(state, district))
        },
    };
    (record, slices)
}

/// One change to a name as another clerk writes it; `true` when the name changed.
fn vary_name<R: Rng>(rng: &mut R, tokens: &mut Vec<String>) -> bool {
    let before = tokens.clone();
    let k = rng.random_range(0..tokens.len());
    match rng.random_range(0..7) {
        // A spelling variant.
        0 | 1 => {
            let (a, b) = names::VARIANTS[rng.random_range(0..names::VARIANTS.len())];
            let t = tokens[k].to_lowercase();
            let (from, to) = if rng.random_bool(0.5) { (a, b) } else { (b, a) };
            if let Some(pos) = t.find(from) {
                let mut s = t.clone();
                s.replace_range(pos..pos + from.len(), to);
                tokens[k] = capitalise(&s);
            }
        }
        // A typo: one letter replaced, dropped or two swapped.
        2 => {
            let mut b: Vec<char> = tokens[k].chars().collect();
            if b.len() > 3 {
                let i = rng.random_range(1..b.len() - 1);
                match rng.random_range(0..3) {
                    0 => b[i] = (b'a' + rng.random_range(0..26u8)) as char,
                    1 => {
                        b.remove(i);
                    }
                    _ => b.swap(i, i + 1),
                }
                tokens[k] = b.into_iter().collect();
            }
        }
        // A given name cut to its initial.
        3 if tokens.len() > 1 && tokens[k].len() > 1 => {
            tokens[k] = format!("{}.", &tokens[k][..1]);
        }
        // Reordered.
        4 if tokens.len() > 1 => tokens.rotate_left(1),
        // A middle token dropped.
        5 if tokens.len() > 2 => {
            tokens.remove(1);
        }
        // An abbreviation or another spelling of a whole word.
        _ => {
            for (full, short) in names::ABBREVIATIONS {
                if let Some(t) = tokens.iter_mut().find(|t| t.as_str() == *full) {
                    *t = short[rng.random_range(0..short.len())].to_owned();
                    break;
                }
            }
        }
    }
    *tokens != before
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_by_index_are_stable_and_copies_differ_by_salt() {
        assert_eq!(registry_person(42, 7), registry_person(42, 7));
        assert_ne!(registry_person(42, 7).full_name, "");
        assert_eq!(held_elsewhere(42, 7, 1), held_elsewhere(42, 7, 1));
        let copies: std::collections::HashSet<_> = (0..50)
            .map(|salt| held_elsewhere(42, 7, salt).full_name)
            .collect();
        assert!(copies.len() > 1, "noise depends on the salt");
    }

    #[test]
    fn the_same_seed_gives_the_same_set() {
        let a = matching_set(2_000, 500, 0.7, 1);
        let b = matching_set(2_000, 500, 0.7, 1);
        assert_eq!(a.registry, b.registry);
        assert_eq!(a.incoming, b.incoming);
        assert_eq!(a.truth, b.truth);
        let share = a.truth.len() as f64 / a.incoming.len() as f64;
        assert!((0.6..0.8).contains(&share), "{share}");
    }

    #[test]
    fn incoming_rows_carry_the_listed_kinds_of_noise() {
        let set = matching_set(20_000, 5_000, 0.7, 2);
        let count = |slice: &str| {
            set.truth
                .iter()
                .filter(|t| t.slices.contains(&slice))
                .count()
        };
        for slice in SLICES {
            assert!(count(slice) > 20, "{slice}: {}", count(slice));
        }
        let deva = set
            .incoming
            .iter()
            .filter(|r| {
                matching::normalise::words(&r.full_name).is_empty()
                    || r.full_name
                        .chars()
                        .any(|c| ('\u{0900}'..='\u{097F}').contains(&c))
            })
            .count();
        assert!(deva > 100, "{deva}");
        let aadhaar = set
            .incoming
            .iter()
            .filter(|r| !r.aadhaar_hash.is_empty())
            .count() as f64
            / 5_000.0;
        assert!((0.2..0.4).contains(&aadhaar), "{aadhaar}");
    }

    /// The engine on a small set end to end, trained without labels: a quality floor, far below
    /// the benchmark figures, that catches a broken normaliser, blocker or model fit.
    #[test]
    fn a_devanagari_and_a_latin_spelling_meet_in_a_block_and_score_as_a_likely_match() {
        let mut set = matching_set(4_000, 1_000, 0.7, 5);
        // The registry has him in Latin, with a new mobile since; the scheme wrote him in
        // Devanagari, with no Aadhaar token: only name, date, gender, place and father agree.
        let latin = Record {
            id: "reg-irfan".into(),
            full_name: "Mohd. Irfan".into(),
            gender: "M".into(),
            dob: "1988-03-14".into(),
            mobile: "9876543210".into(),
            state_code: "09".into(),
            district_code: "150".into(),
            pincode: "226001".into(),
            relative_name: "Mohammad Salim".into(),
            aadhaar_hash: "5f2c9a0e7b1d3c4a".into(),
            address: "Aminabad 150".into(),
        };
        let devanagari = Record {
            id: "in-irfan".into(),
            full_name: "मोहम्मद इरफान".into(),
            mobile: "9123456780".into(),
            relative_name: "मोहम्मद सलीम".into(),
            aadhaar_hash: String::new(),
            address: String::new(),
            ..latin.clone()
        };
        set.registry.push(latin);
        set.incoming.push(devanagari);
        let registry = matching::Registry::build(&set.registry);
        let incoming: Vec<matching::Prepared> =
            set.incoming.iter().map(matching::Prepared::new).collect();
        let options = matching::Options::default();
        let (i, j) = (incoming.len() - 1, registry.len() - 1);
        // The same block: a strong key in common, so the pair is scored.
        let strong = |p: &matching::Prepared| -> Vec<u64> {
            p.blocking_keys()
                .into_iter()
                .filter(|k| matching::prepare::is_strong(*k))
                .collect()
        };
        let theirs = strong(&matching::Prepared::new(set.registry.last().unwrap()));
        assert!(strong(&incoming[i]).iter().any(|k| theirs.contains(k)));
        assert!(
            registry
                .candidates(&incoming[i], options.max_bucket, options.weak_hits)
                .contains(&(j as u32))
        );
        // And a likely match, the name compared as exact after transliteration.
        let model = matching::train(&registry, &incoming, &options, 100_000, 1_000, 7);
        let why = matching::explain(&registry, &model, &incoming[i], j);
        assert_eq!(why.fields[0].level, "exact after normalisation");
        assert!(why.probability >= options.link, "{why:?}");
        let decisions = matching::link(&registry, &incoming, &model, &options, &|_| {});
        assert!(
            decisions.iter().any(|d| d.incoming == i
                && d.registry == j
                && d.decision == matching::Verdict::Link)
        );
    }

    #[test]
    fn the_engine_links_a_small_set_well() {
        let set = matching_set(4_000, 1_000, 0.7, 3);
        let registry = matching::Registry::build(&set.registry);
        let incoming: Vec<matching::Prepared> =
            set.incoming.iter().map(matching::Prepared::new).collect();
        let options = matching::Options::default();
        let model = matching::train(&registry, &incoming, &options, 100_000, 1_000, 7);
        let again = matching::Model::from_json(&model.to_json()).unwrap();
        assert_eq!(again, model);
        let decisions = matching::link(&registry, &incoming, &model, &options, &|_| {});
        let truth: std::collections::HashSet<(String, String)> = set
            .truth
            .iter()
            .map(|t| (t.incoming_id.clone(), t.registry_id.clone()))
            .collect();
        let links: Vec<(String, String)> = decisions
            .iter()
            .filter(|d| d.decision == matching::Verdict::Link)
            .map(|d| {
                (
                    set.incoming[d.incoming].id.clone(),
                    registry.ids[d.registry].clone(),
                )
            })
            .collect();
        let tp = links.iter().filter(|l| truth.contains(l)).count() as f64;
        let (precision, recall) = (tp / links.len() as f64, tp / truth.len() as f64);
        assert!(
            precision > 0.93 && recall > 0.93,
            "precision {precision}, recall {recall}"
        );
        // One-to-one: no registry record linked twice.
        let mut regs: Vec<&String> = links.iter().map(|l| &l.1).collect();
        regs.sort();
        regs.dedup();
        assert_eq!(regs.len(), links.len());
        // Every decision explains itself field by field, and the explanation adds up.
        let d = &decisions[0];
        let why = matching::explain(&registry, &model, &incoming[d.incoming], d.registry);
        assert_eq!(why.fields.len(), matching::compare::COMPARISONS.len());
        assert!((why.probability - d.probability).abs() < 1e-9);
    }

    #[test]
    fn devanagari_spelling_reads_back() {
        // A short medial "a" stays inherent: the clerk's कुमर where a dictionary has कुमार; the
        // matcher reads both as "kumar".
        assert_eq!(names::to_devanagari("Ramesh Kumar"), "रमेश कुमर");
        assert_eq!(
            matching::normalise::name("कुमार").key,
            matching::normalise::name("कुमर").key
        );
        assert_eq!(names::to_devanagari("Sunita Devi"), "सुनिता देवी");
        assert_eq!(
            matching::normalise::name(&names::to_devanagari("Sanjay Yadav")).key,
            matching::normalise::name("Sanjay Yadav").key
        );
    }
}
