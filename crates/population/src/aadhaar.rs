//! Synthetic Aadhaar numbers for the demo, the simulators and the tests, made by a Verhoeff
//! generator of this crate's own rather than by the validator in `domain`: a wrong table in one
//! is then caught by the other (as a wrong `domain` table once refused 43% of genuine numbers while
//! every test passed, because the tests' numbers came from the same table).
//!
//! The tables are computed from Verhoeff's definition, not written out: the product is that of the
//! dihedral group D5 (0-4 rotations, 5-9 reflections), and the permutation of position `i` is
//! `(0 1 5 8 9 4 2 7)(3 6)` applied `i mod 8` times.

/// D5's product.
fn d5(j: u8, k: u8) -> u8 {
    match (j < 5, k < 5) {
        (true, true) => (j + k) % 5,
        (true, false) => 5 + (j + k) % 5,
        (false, true) => 5 + (j + 5 - k) % 5,
        (false, false) => (j + 5 - k) % 5,
    }
}

/// D5's inverse: a rotation's is its opposite, a reflection is its own.
fn inverse(j: u8) -> u8 {
    if j < 5 { (5 - j) % 5 } else { j }
}

/// Verhoeff's permutation applied `times` times to `digit`.
fn permute(digit: u8, times: usize) -> u8 {
    const ONCE: [u8; 10] = [1, 5, 7, 6, 2, 8, 3, 0, 9, 4];
    (0..times % 8).fold(digit, |d, _| ONCE[d as usize])
}

/// The Verhoeff check digit to append to `body` (ASCII digits).
pub fn check_digit(body: &str) -> u8 {
    let c = body
        .bytes()
        .rev()
        .enumerate()
        .fold(0, |c, (i, b)| d5(c, permute(b - b'0', i + 1)));
    inverse(c)
}

/// A valid synthetic Aadhaar number (first digit 2-9, not a palindrome, Verhoeff check digit),
/// distinct for every `n` below 10^10 within a seed.
pub fn synthetic(seed: u64, n: u64) -> String {
    let first = 2 + (seed % 8);
    let body = format!(
        "{first}{:010}",
        (n.wrapping_mul(7_919) + seed) % 10_000_000_000
    );
    let number = format!("{body}{}", check_digit(&body));
    if number.bytes().eq(number.bytes().rev()) {
        // One body in a million is a palindrome with its digit; the other first digits are spare.
        let body = format!("{}{}", (first - 2 + 1) % 8 + 2, &body[1..]);
        return format!("{body}{}", check_digit(&body));
    }
    number
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_vectors() {
        // Wikipedia's and Rosetta Code's examples, UIDAI's sample number, python-stdnum's verdicts.
        assert_eq!(check_digit("236"), 3);
        assert_eq!(check_digit("12345"), 1);
        assert_eq!(check_digit("123456789012"), 0);
        assert_eq!(check_digit("99994105705"), 8);
        assert_eq!(check_digit("93464686958"), 3);
    }

    #[test]
    fn synthetic_numbers_are_distinct_and_well_formed() {
        let all: std::collections::HashSet<String> = (0..10_000).map(|n| synthetic(3, n)).collect();
        assert_eq!(all.len(), 10_000);
        for a in &all {
            assert_eq!(a.len(), 12);
            assert!((b'2'..=b'9').contains(&a.as_bytes()[0]));
            assert!(!a.bytes().eq(a.bytes().rev()));
        }
    }
}
