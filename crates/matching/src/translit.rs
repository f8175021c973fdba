//! Brahmic scripts to Latin, the way Hindi names are spelt in Latin letters: every Indic block is
//! laid out like Devanagari (ISCII order), so Bengali, Gurmukhi, Gujarati, Odia, Tamil, Telugu,
//! Kannada and Malayalam letters are first moved onto their Devanagari twins, then one table
//! spells them. Inherent vowels are dropped Hindi-style (schwa deletion): रमेश is "ramesh", कमला
//! "kamlaa", इरफान "irphaan" (vowel length and ph/f are folded later).

/// Spells `text` in Latin letters; characters outside the Indic blocks pass through.
pub fn to_latin(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word: Vec<Unit> = Vec::new();
    for c in text.chars() {
        let Some(d) = to_devanagari(c) else {
            flush(&mut word, &mut out);
            out.push(c);
            continue;
        };
        push_letter(&mut word, d);
    }
    flush(&mut word, &mut out);
    out
}

/// True when `text` holds any letter of an Indic script.
pub fn has_indic(text: &str) -> bool {
    text.chars().any(|c| to_devanagari(c).is_some())
}

/// One written syllable: a consonant cluster's last consonant with its vowel, or a bare vowel.
#[derive(Debug, Clone)]
struct Unit {
    consonant: &'static str,
    /// `None`: the inherent `a`, kept or deleted by the schwa rule.
    vowel: Option<&'static str>,
    /// A virama killed the vowel (the consonant joins the next one).
    dead: bool,
    /// Nasal or aspiration written after the vowel (anusvara, chandrabindu, visarga).
    coda: &'static str,
}

fn to_devanagari(c: char) -> Option<u32> {
    let cp = c as u32;
    let base = match cp {
        0x0900..=0x097F => 0x0900,
        0x0980..=0x09FF => 0x0980, // Bengali, Assamese
        0x0A00..=0x0A7F => 0x0A00, // Gurmukhi
        0x0A80..=0x0AFF => 0x0A80, // Gujarati
        0x0B00..=0x0B7F => 0x0B00, // Odia
        0x0B80..=0x0BFF => 0x0B80, // Tamil
        0x0C00..=0x0C7F => 0x0C00, // Telugu
        0x0C80..=0x0CFF => 0x0C80, // Kannada
        0x0D00..=0x0D7F => 0x0D00, // Malayalam
        _ => return None,
    };
    let offset = cp - base;
    // Gurmukhi tippi and addak: a nasal, and a doubling sign (doubling is folded away anyway).
    if base == 0x0A00 {
        match offset {
            0x70 => return Some(0x0902),
            0x71 => return Some(0x0000),
            _ => {}
        }
    }
    Some(0x0900 + offset)
}

fn push_letter(word: &mut Vec<Unit>, d: u32) {
    if let Some(consonant) = consonant(d) {
        word.push(Unit {
            consonant,
            vowel: None,
            dead: false,
            coda: "",
        });
        return;
    }
    if let Some(v) = matra(d) {
        match word.last_mut() {
            Some(u) if !u.consonant.is_empty() && u.vowel.is_none() && !u.dead => u.vowel = Some(v),
            _ => word.push(Unit {
                consonant: "",
                vowel: Some(v),
                dead: false,
                coda: "",
            }),
        }
        return;
    }
    if let Some(v) = independent_vowel(d) {
        word.push(Unit {
            consonant: "",
            vowel: Some(v),
            dead: false,
            coda: "",
        });
        return;
    }
    match d {
        0x094D => {
            if let Some(u) = word.last_mut() {
                u.dead = true;
            }
        }
        0x0901 | 0x0902 => set_coda(word, "n"),
        0x0903 => set_coda(word, "h"),
        // Nukta: ज़ is z, फ़ f, क़ q; the others keep their sound.
        0x093C => {
            if let Some(u) = word.last_mut() {
                u.consonant = match u.consonant {
                    "j" => "z",
                    "ph" => "f",
                    "k" => "q",
                    "d" => "r",
                    "dh" => "rh",
                    other => other,
                };
            }
        }
        0x0966..=0x096F => word.push(Unit {
            consonant: DIGITS[(d - 0x0966) as usize],
            vowel: Some(""),
            dead: false,
            coda: "",
        }),
        _ => {} // danda, avagraha, marks with no sound in a name
    }
}

const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

fn set_coda(word: &mut [Unit], coda: &'static str) {
    if let Some(u) = word.last_mut() {
        u.coda = coda;
    }
}

fn consonant(d: u32) -> Option<&'static str> {
    Some(match d {
        0x0915 => "k",
        0x0916 => "kh",
        0x0917 => "g",
        0x0918 => "gh",
        0x0919 => "n",
        0x091A => "ch",
        0x091B => "chh",
        0x091C => "j",
        0x091D => "jh",
        0x091E => "n",
        0x091F => "t",
        0x0920 => "th",
        0x0921 => "d",
        0x0922 => "dh",
        0x0923 => "n",
        0x0924 => "t",
        0x0925 => "th",
        0x0926 => "d",
        0x0927 => "dh",
        0x0928 | 0x0929 => "n",
        0x092A => "p",
        0x092B => "ph",
        0x092C => "b",
        0x092D => "bh",
        0x092E => "m",
        0x092F => "y",
        0x0930 | 0x0931 => "r",
        0x0932..=0x0934 => "l",
        0x0935 => "v",
        0x0936 | 0x0937 => "sh",
        0x0938 => "s",
        0x0939 => "h",
        0x0958 => "q",
        0x0959 => "kh",
        0x095A => "g",
        0x095B => "z",
        0x095C => "r",
        0x095D => "rh",
        0x095E => "f",
        0x095F => "y",
        _ => return None,
    })
}

fn matra(d: u32) -> Option<&'static str> {
    Some(match d {
        0x093E => "aa",
        0x093F => "i",
        0x0940 => "ee",
        0x0941 => "u",
        0x0942 => "oo",
        0x0943 | 0x0944 => "ri",
        0x0945..=0x0947 => "e",
        0x0948 => "ai",
        0x0949..=0x094B => "o",
        0x094C => "au",
        _ => return None,
    })
}

fn independent_vowel(d: u32) -> Option<&'static str> {
    Some(match d {
        0x0905 => "a",
        0x0906 => "aa",
        0x0907 => "i",
        0x0908 => "ee",
        0x0909 => "u",
        0x090A => "oo",
        0x090B | 0x0960 => "ri",
        0x090D..=0x090F => "e",
        0x0910 => "ai",
        0x0911..=0x0913 => "o",
        0x0914 => "au",
        _ => return None,
    })
}

/// Spells a word, deleting inherent vowels the way Hindi does: at the end of a word, and inside it
/// between a vowel and a consonant that has a vowel of its own (V C a C V, scanned right to left).
fn flush(word: &mut Vec<Unit>, out: &mut String) {
    if word.is_empty() {
        return;
    }
    let n = word.len();
    // Whether each unit sounds its inherent `a`.
    let mut schwa: Vec<bool> = word
        .iter()
        .map(|u| !u.consonant.is_empty() && u.vowel.is_none() && !u.dead)
        .collect();
    if n > 1 && schwa[n - 1] && word[n - 1].coda.is_empty() {
        schwa[n - 1] = false;
    }
    let sounds_vowel = |i: usize, schwa: &[bool]| word[i].vowel.is_some() || schwa[i];
    for i in (1..n.saturating_sub(1)).rev() {
        if schwa[i]
            && word[i].coda.is_empty()
            && sounds_vowel(i - 1, &schwa)
            && !word[i + 1].consonant.is_empty()
            && sounds_vowel(i + 1, &schwa)
        {
            schwa[i] = false;
        }
    }
    for (u, s) in word.iter().zip(&schwa) {
        out.push_str(u.consonant);
        match u.vowel {
            Some(v) => out.push_str(v),
            None if *s => out.push('a'),
            None => {}
        }
        out.push_str(u.coda);
    }
    word.clear();
}

#[cfg(test)]
mod tests {
    use super::to_latin;

    #[test]
    fn hindi_names_lose_their_silent_vowels() {
        assert_eq!(to_latin("राम"), "raam");
        assert_eq!(to_latin("रमेश कुमार"), "ramesh kumaar");
        assert_eq!(to_latin("कमला"), "kamlaa");
        assert_eq!(to_latin("इरफान"), "irphaan");
        assert_eq!(to_latin("मोहम्मद"), "mohammad");
        assert_eq!(to_latin("सुनीता देवी"), "suneetaa devee");
        assert_eq!(to_latin("लक्ष्मी"), "lakshmee");
    }

    #[test]
    fn nasals_nuktas_and_other_scripts() {
        assert_eq!(to_latin("संजय"), "sanjay");
        assert_eq!(to_latin("चंपा"), "chanpaa");
        assert_eq!(to_latin("ज़ाकिर"), "zaakir");
        // Bengali and Tamil spell the same letters.
        assert_eq!(to_latin("রাম"), "raam");
        assert_eq!(to_latin("முருகன்"), "murukan");
        assert_eq!(to_latin("Ram राम"), "Ram raam");
    }
}
