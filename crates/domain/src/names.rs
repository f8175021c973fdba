//! A first, simple name comparison for verification (`POST /v1/workers/verify`): case, punctuation,
//! honorifics and token order do not matter. The matching engine will supersede it with
//! transliteration and Indian-name variants.

const HONORIFICS: &[&str] = &[
    "shri", "sri", "smt", "kumari", "km", "mr", "mrs", "ms", "dr", "late", "sh",
];

/// Lower case, letters and digits only, honorifics dropped, tokens sorted.
pub fn normalise(name: &str) -> String {
    let lowered = name.to_lowercase();
    let mut tokens: Vec<&str> = lowered
        .split(|c: char| !c.is_alphanumeric() && !matches!(c as u32, 0x0900..=0x0DFF))
        .filter(|t| !t.is_empty() && !HONORIFICS.contains(t))
        .collect();
    tokens.sort_unstable();
    tokens.join(" ")
}

/// Jaro-Winkler similarity of the normalised names, 0 to 1.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (normalise(a), normalise(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    strsim::jaro_winkler(&a, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_case_punctuation_and_honorifics_do_not_matter() {
        assert_eq!(normalise("Shri KUMAR, Ramesh."), "kumar ramesh");
        assert_eq!(similarity("Ramesh Kumar", "kumar ramesh"), 1.0);
        assert!(similarity("Mohd. Irfan", "Mohd Irfaan") > 0.9);
        assert!(similarity("Sunita Devi", "Ramesh Kumar") < 0.7);
        assert_eq!(similarity("", "Ramesh"), 0.0);
    }
}
