//! From a record as a source system wrote it to the forms the matcher compares: names in folded
//! Latin tokens (script, case, punctuation, honorifics and spelling variants taken out), dates
//! that know when only the year is real, ten-digit mobiles.

use unicode_normalization::UnicodeNormalization;

use crate::translit;

/// A person record in the canonical matching schema (every field optional but the id).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Record {
    pub id: String,
    pub full_name: String,
    /// `M`, `F` or `T`.
    pub gender: String,
    /// `YYYY-MM-DD`.
    pub dob: String,
    pub mobile: String,
    pub state_code: String,
    pub district_code: String,
    pub pincode: String,
    pub relative_name: String,
    /// A keyed hash of the Aadhaar number (never the number).
    pub aadhaar_hash: String,
    pub address: String,
}

/// A date of birth as far as it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dob {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    /// `YYYY-01-01`: a placeholder for "born that year" (estimated ages).
    pub year_only: bool,
    /// A real calendar date. Shaped like one but impossible ("1945-04-93", a typo in a source
    /// system): compared digit by digit only.
    pub valid: bool,
}

impl Dob {
    /// Parses `YYYY-MM-DD` (digits in those places); `None` for any other shape. An impossible
    /// date of the right shape is kept, marked not [`valid`](Dob::valid).
    pub fn parse(s: &str) -> Option<Dob> {
        let s = s.trim();
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        if b.len() != 10
            || b[4] != b'-'
            || b[7] != b'-'
            || !digits(0..4)
            || !digits(5..7)
            || !digits(8..10)
        {
            return None;
        }
        let year: u16 = s[0..4].parse().ok()?;
        let month: u8 = s[5..7].parse().ok()?;
        let day: u8 = s[8..10].parse().ok()?;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if (year.is_multiple_of(4) && !year.is_multiple_of(100))
                || year.is_multiple_of(400) =>
            {
                29
            }
            2 => 28,
            _ => 0,
        };
        let valid = (1800..=2200).contains(&year) && day >= 1 && day <= days;
        Some(Dob {
            year,
            month,
            day,
            year_only: valid && month == 1 && day == 1,
            valid,
        })
    }

    /// The eight digits `YYYYMMDD`.
    pub fn digits(&self) -> [u8; 8] {
        let (y, m, d) = (self.year, self.month, self.day);
        let digit = |v: u16| b'0' + (v % 10) as u8;
        [
            digit(y / 1000),
            digit(y / 100),
            digit(y / 10),
            digit(y),
            digit(u16::from(m) / 10),
            digit(u16::from(m)),
            digit(u16::from(d) / 10),
            digit(u16::from(d)),
        ]
    }
}

/// A name as folded tokens, order kept (comparisons treat it as a set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Name {
    /// Folded tokens of two letters or more.
    pub tokens: Vec<String>,
    /// Single letters: initials ("R. Kumar").
    pub initials: Vec<u8>,
    /// The tokens sorted and joined: equal for the same name in any order.
    pub key: String,
}

impl Name {
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.initials.is_empty()
    }
}

/// Tokens that say who a person is, not what they are called.
const HONORIFICS: &[&str] = &[
    "shri", "sri", "shree", "smt", "shrimati", "srimati", "sushri", "mr", "mrs", "ms", "miss",
    "dr", "late", "lt", "km", "kum", "kumari", "mst", "master", "janab", "mohtarma", "thiru",
    "tmt", "selvi",
];

/// Whole-token spellings of one name (before the letter-level folding, which does the rest).
const SYNONYMS: &[(&[&str], &str)] = &[
    (
        &[
            "md", "mohd", "mohd.", "mohammad", "mohammed", "muhammad", "muhammed", "mohamed",
            "mohamad", "mohmad", "mahammad", "muhamad", "mohammod", "mahamad",
        ],
        "mohammad",
    ),
    (&["kr", "kumaar"], "kumar"),
    (&["pd", "prashad", "parsad"], "prasad"),
    (&["sk", "sheikh", "shaikh", "shekh", "seikh"], "shaikh"),
    (&["khatoon", "khatun", "katun"], "khatun"),
    (&["begam", "begum", "bégum"], "begum"),
    (
        &[
            "ch",
            "chaudhary",
            "choudhary",
            "chaudhari",
            "choudhury",
            "chowdhury",
            "chaudhry",
        ],
        "chaudhary",
    ),
    (&["sahu", "saahu", "shahu"], "sahu"),
];

/// Folds one lowercase ASCII token to the spelling every variant shares.
pub fn fold_token(t: &str) -> String {
    let t = SYNONYMS
        .iter()
        .find(|(variants, _)| variants.contains(&t))
        .map_or(t, |(_, canonical)| *canonical);
    let b = t.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let (emit, used): (&[u8], usize) = if rest.starts_with(b"ksh") {
            (b"x", 3)
        } else if rest.starts_with(b"chh") {
            (b"c", 3)
        } else {
            match (rest[0], rest.get(1).copied()) {
                (b'a', Some(b'a')) => (b"a", 2),
                (b'e', Some(b'e')) | (b'i', Some(b'i')) => (b"i", 2),
                (b'o', Some(b'o')) | (b'u', Some(b'u')) => (b"u", 2),
                (b'p', Some(b'h')) => (b"f", 2),
                (b's', Some(b'h')) => (b"s", 2),
                (b't', Some(b'h')) => (b"t", 2),
                (b'd', Some(b'h')) => (b"d", 2),
                (b'b', Some(b'h')) => (b"b", 2),
                (b'k', Some(b'h')) => (b"k", 2),
                (b'g', Some(b'h')) => (b"g", 2),
                (b'j', Some(b'h')) => (b"j", 2),
                (b'c', Some(b'h')) => (b"c", 2),
                (b'c', Some(b'k')) => (b"k", 2),
                (b'w', _) | (b'v', _) => (b"b", 1),
                (b'z', _) => (b"j", 1),
                (b'q', _) => (b"k", 1),
                (b'y', None) if i > 0 => (b"i", 1),
                (c, _) => {
                    out.push(c);
                    i += 1;
                    continue;
                }
            }
        };
        out.extend_from_slice(emit);
        i += used;
    }
    // Doubled letters written single (Pappu/Papu), after the folding made them equal.
    out.dedup();
    String::from_utf8(out).unwrap_or_default()
}

/// The token's consonant skeleton: first letter, then consonants only. Vowel length, schwa and
/// most transliteration differences vanish ("mohamad" and "muhamad" are both "mhmd").
pub fn skeleton(folded: &str) -> String {
    let mut s = String::with_capacity(folded.len());
    for (i, c) in folded.chars().enumerate() {
        if i == 0 || !matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y') {
            s.push(c);
        }
    }
    let mut b = s.into_bytes();
    b.dedup();
    String::from_utf8(b).unwrap_or_default()
}

/// Lowercase ASCII words of `text`: NFKC, Indic scripts spelt in Latin, accents and punctuation
/// dropped ("R.Kumar" is "r kumar").
pub fn words(text: &str) -> Vec<String> {
    // ASCII is already in every normal form (most rows of most files: the fast path).
    if text.is_ascii() {
        return split_words(text.chars());
    }
    let text: String = text.nfkc().collect();
    let latin = if translit::has_indic(&text) {
        translit::to_latin(&text)
    } else {
        text
    };
    split_words(latin.nfd())
}

/// Lowercase ASCII words of decomposed text; marks vanish without splitting a word.
fn split_words(chars: impl Iterator<Item = char>) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    for c in chars {
        if c.is_ascii_alphanumeric() {
            cur.push(c.to_ascii_lowercase());
        } else if (c.is_alphabetic() || c.is_whitespace() || c.is_ascii_punctuation())
            && !cur.is_empty()
        {
            words.push(std::mem::take(&mut cur));
        }
        // Combining marks (accents) vanish without splitting the word.
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// A person's name in folded tokens, honorifics at the front removed.
pub fn name(text: &str) -> Name {
    let ws = words(text);
    let mut start = 0;
    while start < ws.len() && HONORIFICS.contains(&ws[start].as_str()) && ws.len() - start > 1 {
        start += 1;
    }
    let mut tokens = Vec::new();
    let mut initials = Vec::new();
    for w in &ws[start..] {
        if w.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if w.len() == 1 {
            initials.push(w.as_bytes()[0]);
        } else if HONORIFICS.contains(&w.as_str()) && matches!(w.as_str(), "late" | "smt" | "shri")
        {
            continue;
        } else {
            tokens.push(fold_token(w));
        }
    }
    let mut sorted = tokens.clone();
    sorted.sort();
    Name {
        key: sorted.join(" "),
        tokens,
        initials,
    }
}

/// A ten-digit Indian mobile from any common writing (+91, 0 prefix, spaces, dashes).
pub fn mobile(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let d = match digits.len() {
        10 => digits.as_str(),
        11 if digits.starts_with('0') => &digits[1..],
        12 if digits.starts_with("91") => &digits[2..],
        13 if digits.starts_with("091") => &digits[3..],
        _ => return None,
    };
    matches!(d.as_bytes()[0], b'6'..=b'9').then(|| d.to_owned())
}

/// A code field (state, district, pincode): trimmed, leading zeros kept, empty as `None`.
pub fn code(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_ascii_lowercase())
}

/// Address words, folded, without the noise words every address has.
pub fn address_tokens(text: &str) -> Vec<String> {
    const NOISE: &[&str] = &[
        "village", "vill", "vpo", "po", "ps", "post", "dist", "district", "tehsil", "teh", "near",
        "ward", "no",
    ];
    let mut t: Vec<String> = words(text)
        .into_iter()
        .filter(|w| !NOISE.contains(&w.as_str()))
        .map(|w| {
            if w.bytes().all(|b| b.is_ascii_digit()) {
                w
            } else {
                fold_token(&w)
            }
        })
        .collect();
    t.sort();
    t.dedup();
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_fold_together() {
        for (a, b) in [
            ("Mohd. Irfan", "MOHAMMAD IRFAN"),
            ("Mohd. Irfan", "मोहम्मद इरफान"),
            ("Laxmi Devi", "Lakshmi Devee"),
            ("Geeta", "Gita"),
            ("Pooja", "Puja"),
            ("Bikash", "Vikas"),
            ("Shanti", "Santi"),
            ("Pappu", "Papu"),
            ("Smt. Sunita Devi", "सुनीता देवी"),
            ("Ramesh Kumar", "Kumar Ramesh"),
            ("Sk Rahim", "Shaikh Rahim"),
        ] {
            assert_eq!(name(a).key, name(b).key, "{a} / {b}");
        }
    }

    #[test]
    fn initials_honorifics_and_skeletons() {
        let n = name("Late Shri R. Kumar");
        assert_eq!(n.tokens, vec!["kumar"]);
        assert_eq!(n.initials, vec![b'r']);
        assert_eq!(
            skeleton(&fold_token("kamala")),
            skeleton(&fold_token("kamla"))
        );
        assert_eq!(skeleton("mohamad"), "mhmd");
        // A lone honorific-looking word is a name, not a title.
        assert_eq!(name("Kumari").tokens, vec!["kumari"]);
    }

    #[test]
    fn dates_phones_and_codes() {
        assert!(Dob::parse("1990-01-01").unwrap().year_only);
        assert!(!Dob::parse("1990-07-14").unwrap().year_only);
        let typo = Dob::parse("1990-02-30").unwrap();
        assert!(!typo.valid && !typo.year_only);
        assert_eq!(&typo.digits(), b"19900230");
        assert_eq!(Dob::parse("1990-2-3"), None);
        assert_eq!(Dob::parse("14/07/1990"), None);
        assert_eq!(mobile("+91 98765-43210").as_deref(), Some("9876543210"));
        assert_eq!(mobile("09876543210").as_deref(), Some("9876543210"));
        assert_eq!(mobile("12345"), None);
        assert_eq!(mobile("1234567890"), None);
        assert_eq!(code(" 09 ").as_deref(), Some("09"));
    }
}
