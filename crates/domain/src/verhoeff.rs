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
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
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

    /// D5's product from its definition (0-4 rotations, 5-9 reflections), not from the literal.
    fn d5(j: u8, k: u8) -> u8 {
        match (j < 5, k < 5) {
            (true, true) => (j + k) % 5,
            (true, false) => 5 + (j + k) % 5,
            (false, true) => 5 + (j + 5 - k) % 5,
            (false, false) => (j + 5 - k) % 5,
        }
    }

    #[test]
    fn the_multiplication_table_is_the_dihedral_group_d5() {
        for j in 0..10u8 {
            for k in 0..10u8 {
                assert_eq!(D[j as usize][k as usize], d5(j, k), "D[{j}][{k}]");
            }
            assert_eq!(D[j as usize][INV[j as usize] as usize], 0, "INV[{j}]");
        }
    }

    #[test]
    fn every_permutation_row_is_the_previous_one_composed_with_row_1() {
        // Verhoeff's permutation: row 1 is (0 1 5 8 9 4 2 7)(3 6); row i is row 1 applied i times.
        let row1 = [1, 5, 7, 6, 2, 8, 3, 0, 9, 4];
        assert_eq!(P[1], row1);
        assert_eq!(P[0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        for i in 1..8 {
            for j in 0..10 {
                assert_eq!(P[i][j], P[i - 1][row1[j] as usize], "P[{i}][{j}]");
            }
        }
        // Row 8 would be the identity again: the permutation has order 8.
        let row8: Vec<u8> = (0..10).map(|j| P[7][row1[j] as usize]).collect();
        assert_eq!(row8, (0..10).collect::<Vec<u8>>());
    }

    #[test]
    fn published_vectors() {
        // Wikipedia's worked example ("Verhoeff algorithm"): 236 -> 3, and 2363 validates.
        assert_eq!(check_digit("236"), 3);
        assert!(is_valid("2363"));
        assert!(!is_valid("2364"));
        // Rosetta Code's task vectors: 236 -> 3, 12345 -> 1, 123456789012 -> 0.
        assert_eq!(check_digit("12345"), 1);
        assert!(is_valid("123451"));
        assert!(!is_valid("123459"));
        assert_eq!(check_digit("123456789012"), 0);
        assert!(is_valid("1234567890120"));
        assert!(!is_valid("1234567890129"));
        // UIDAI's published sample Aadhaar number, and the number an outside user was refused
        // (valid by python-stdnum 2.2's `stdnum.in_.aadhaar`).
        assert!(is_valid("999941057058"));
        assert!(is_valid("934646869583"));
        assert!(!is_valid("934646869584"));
    }

    #[test]
    fn catches_every_single_digit_error_and_adjacent_transposition() {
        for base in ["23456789012", "93464686958", "50000000000", "78787878787"] {
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
}
