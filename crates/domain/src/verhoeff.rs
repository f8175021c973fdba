//! The Verhoeff check digit (dihedral group D5), used by Aadhaar and by this project's UANs.
//! It catches every single-digit error and every transposition of adjacent digits.

const D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

const P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 7, 6, 8, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 8, 5],
];

const INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

/// True when `digits` (ASCII digits only, check digit last) carries a valid Verhoeff check digit.
pub fn is_valid(digits: &str) -> bool {
    let mut c = 0u8;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        c = D[c as usize][P[i % 8][(b - b'0') as usize] as usize];
    }
    !digits.is_empty() && c == 0
}

/// The check digit to append to `digits` (ASCII digits only).
pub fn check_digit(digits: &str) -> u8 {
    let mut c = 0u8;
    for (i, b) in digits.bytes().rev().enumerate() {
        c = D[c as usize][P[(i + 1) % 8][(b - b'0') as usize] as usize];
    }
    INV[c as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // The textbook example: 236 -> check digit 3.
        assert_eq!(check_digit("236"), 3);
        assert!(is_valid("2363"));
        assert!(!is_valid("2364"));
        // UIDAI's published sample Aadhaar number is Verhoeff-valid.
        assert!(is_valid("999941057058"));
    }

    #[test]
    fn catches_every_single_digit_error_and_adjacent_transposition() {
        let base = "23456789012";
        let full = format!("{base}{}", check_digit(base));
        assert!(is_valid(&full));
        let bytes = full.as_bytes();
        for i in 0..bytes.len() {
            for d in b'0'..=b'9' {
                if d == bytes[i] {
                    continue;
                }
                let mut v = bytes.to_vec();
                v[i] = d;
                assert!(!is_valid(std::str::from_utf8(&v).unwrap()));
            }
            if i + 1 < bytes.len() && bytes[i] != bytes[i + 1] {
                let mut v = bytes.to_vec();
                v.swap(i, i + 1);
                assert!(!is_valid(std::str::from_utf8(&v).unwrap()));
            }
        }
    }
}
