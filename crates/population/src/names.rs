//! Name pools by naming tradition, and how a name is written again by another clerk.

/// How a region builds a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Given name, sometimes "Kumar"/"Devi", surname (Hindi belt).
    North,
    /// Mohammad and given names, surname; Khatun/Begum for women.
    Muslim,
    /// Given name + Singh / Kaur.
    Sikh,
    /// Initial from the father plus a given name (Tamil Nadu).
    Tamil,
    /// Family name first (Andhra Pradesh, Telangana).
    Telugu,
    /// Given name, father's name, surname (Maharashtra).
    Marathi,
    /// Given name and surname (Bengal, Odisha, Assam).
    East,
}

pub struct Tradition {
    pub style: Style,
    pub male: &'static [&'static str],
    pub female: &'static [&'static str],
    pub surnames: &'static [&'static str],
}

pub const NORTH: Tradition = Tradition {
    style: Style::North,
    male: &[
        "Ramesh",
        "Suresh",
        "Mahesh",
        "Rajesh",
        "Dinesh",
        "Mukesh",
        "Rakesh",
        "Sanjay",
        "Vijay",
        "Ajay",
        "Anil",
        "Sunil",
        "Manoj",
        "Santosh",
        "Ashok",
        "Rajendra",
        "Surendra",
        "Mahendra",
        "Narendra",
        "Devendra",
        "Pawan",
        "Raju",
        "Pappu",
        "Sonu",
        "Ravi",
        "Amit",
        "Sumit",
        "Deepak",
        "Vikas",
        "Vinod",
        "Pramod",
        "Arvind",
        "Shyam",
        "Ram",
        "Mohan",
        "Sohan",
        "Lakhan",
        "Bhola",
        "Kishan",
        "Gopal",
        "Jitendra",
        "Dharmendra",
        "Shailendra",
        "Birendra",
        "Upendra",
        "Ramesh",
        "Omprakash",
        "Satish",
        "Kamlesh",
        "Brijesh",
        "Awadhesh",
        "Rambabu",
        "Shivam",
        "Rahul",
        "Rohit",
        "Anand",
        "Alok",
        "Pankaj",
        "Neeraj",
        "Sachin",
        "Tarun",
        "Hemant",
        "Basant",
        "Jagdish",
        "Harish",
        "Girish",
        "Yogesh",
        "Umesh",
        "Ganesh",
        "Naresh",
        "Lalit",
        "Chandan",
        "Kundan",
    ],
    female: &[
        "Sunita",
        "Anita",
        "Geeta",
        "Sita",
        "Rekha",
        "Pooja",
        "Priya",
        "Kamla",
        "Lakshmi",
        "Savitri",
        "Shanti",
        "Radha",
        "Meena",
        "Seema",
        "Neha",
        "Kavita",
        "Sarita",
        "Babita",
        "Pushpa",
        "Usha",
        "Asha",
        "Nirmala",
        "Sangeeta",
        "Mamta",
        "Manju",
        "Anju",
        "Suman",
        "Poonam",
        "Rina",
        "Guddi",
        "Sushila",
        "Kiran",
        "Urmila",
        "Shakuntala",
        "Kusum",
        "Phoolmati",
        "Rampyari",
        "Lalita",
        "Sarla",
        "Saroj",
        "Pinki",
        "Rinku",
        "Vandana",
        "Archana",
        "Jyoti",
        "Sapna",
        "Kajal",
        "Khushboo",
        "Preeti",
        "Renu",
        "Shobha",
        "Madhu",
        "Champa",
    ],
    surnames: &[
        "Singh",
        "Yadav",
        "Sharma",
        "Verma",
        "Gupta",
        "Prasad",
        "Mishra",
        "Pandey",
        "Tiwari",
        "Chauhan",
        "Rajput",
        "Paswan",
        "Ram",
        "Manjhi",
        "Mandal",
        "Mahto",
        "Sahu",
        "Nishad",
        "Kushwaha",
        "Maurya",
        "Patel",
        "Jha",
        "Thakur",
        "Chaudhary",
        "Rawat",
        "Bisht",
        "Negi",
        "Saini",
        "Jatav",
        "Valmiki",
        "Kumar",
        "Lal",
        "Meena",
        "Gurjar",
        "Jat",
        "Kori",
        "Pal",
        "Prajapati",
        "Vishwakarma",
        "Rajbhar",
        "Bind",
        "Chamar",
        "Dubey",
        "Shukla",
        "Srivastava",
        "Saxena",
        "Agarwal",
        "Rai",
        "Tripathi",
        "Dwivedi",
        "Baghel",
        "Lodhi",
        "Kurmi",
        "Gond",
    ],
};

pub const MUSLIM: Tradition = Tradition {
    style: Style::Muslim,
    male: &[
        "Irfan", "Imran", "Salim", "Rahim", "Aslam", "Arif", "Javed", "Shahid", "Rashid", "Sajid",
        "Farooq", "Iqbal", "Wasim", "Nasir", "Akhtar", "Anwar", "Asif", "Azhar", "Yusuf", "Zakir",
        "Rizwan", "Sarfaraz", "Shakeel", "Jamil", "Kalim", "Mustafa", "Naushad", "Raees", "Sabir",
        "Tariq",
    ],
    female: &[
        "Fatima",
        "Ayesha",
        "Zainab",
        "Shabana",
        "Nasreen",
        "Rukhsana",
        "Salma",
        "Parveen",
        "Shahnaz",
        "Reshma",
        "Farzana",
        "Noorjahan",
        "Sultana",
        "Tabassum",
        "Yasmin",
        "Rubina",
        "Nazia",
        "Sabina",
        "Ameena",
        "Hasina",
    ],
    surnames: &[
        "Khan", "Ansari", "Shaikh", "Qureshi", "Siddiqui", "Ali", "Hussain", "Ahmed", "Alam",
        "Malik", "Mansuri", "Pathan", "Saifi", "Rizvi", "Sayyed", "Idrisi", "Raeen", "Abbasi",
    ],
};

pub const SIKH: Tradition = Tradition {
    style: Style::Sikh,
    male: &[
        "Gurpreet",
        "Harpreet",
        "Manpreet",
        "Jaspreet",
        "Kuldeep",
        "Baldev",
        "Harjit",
        "Sukhwinder",
        "Paramjit",
        "Amarjit",
        "Jagjit",
        "Gurdeep",
        "Balwinder",
        "Harbhajan",
        "Satnam",
        "Lakhwinder",
    ],
    female: &[
        "Gurpreet",
        "Harpreet",
        "Manpreet",
        "Jaspreet",
        "Simran",
        "Navneet",
        "Rajwinder",
        "Sukhjit",
        "Amandeep",
        "Kulwinder",
        "Paramjit",
        "Baljit",
    ],
    surnames: &["Singh", "Kaur"],
};

pub const TAMIL: Tradition = Tradition {
    style: Style::Tamil,
    male: &[
        "Murugan",
        "Senthil",
        "Karthik",
        "Selvam",
        "Rajan",
        "Kumar",
        "Saravanan",
        "Velu",
        "Muthu",
        "Ganesan",
        "Palani",
        "Ramasamy",
        "Arumugam",
        "Subramani",
        "Perumal",
        "Ayyappan",
        "Mani",
        "Durai",
        "Pandi",
        "Kannan",
    ],
    female: &[
        "Lakshmi",
        "Meenakshi",
        "Selvi",
        "Valli",
        "Kamatchi",
        "Muthulakshmi",
        "Saraswathi",
        "Chitra",
        "Malar",
        "Parvathi",
        "Revathi",
        "Kavitha",
        "Amutha",
        "Jothi",
        "Santhi",
        "Vasanthi",
    ],
    surnames: &[],
};

pub const TELUGU: Tradition = Tradition {
    style: Style::Telugu,
    male: &[
        "Ramesh",
        "Srinivas",
        "Venkatesh",
        "Ravi",
        "Suresh",
        "Nagaraju",
        "Ramu",
        "Satyanarayana",
        "Krishna",
        "Prasad",
        "Raju",
        "Venkanna",
        "Anjaneyulu",
        "Srinu",
        "Chinna",
        "Yadagiri",
    ],
    female: &[
        "Lakshmi", "Padma", "Sarojini", "Vijaya", "Anjali", "Swapna", "Sujatha", "Ramadevi",
        "Naga", "Mallamma", "Yellamma", "Bhagya", "Sunitha", "Kalyani",
    ],
    surnames: &[
        "Nallapati",
        "Gandham",
        "Bandi",
        "Kommu",
        "Bollam",
        "Gorre",
        "Pasupuleti",
        "Chinthala",
        "Dasari",
        "Bathula",
        "Kurra",
        "Mekala",
        "Guntur",
        "Yerra",
        "Thota",
        "Boddu",
    ],
};

pub const MARATHI: Tradition = Tradition {
    style: Style::Marathi,
    male: &[
        "Sachin",
        "Santosh",
        "Ganesh",
        "Vitthal",
        "Dnyaneshwar",
        "Sandeep",
        "Prakash",
        "Sunil",
        "Anil",
        "Balu",
        "Dattatray",
        "Shivaji",
        "Tukaram",
        "Namdev",
        "Sopan",
        "Rahul",
        "Amol",
        "Vijay",
        "Nitin",
        "Mahadev",
    ],
    female: &[
        "Sunita",
        "Mangal",
        "Sangita",
        "Rupali",
        "Ashwini",
        "Manisha",
        "Suvarna",
        "Sarika",
        "Jayashree",
        "Kalpana",
        "Vaishali",
        "Shobha",
        "Lata",
        "Anjali",
    ],
    surnames: &[
        "Patil", "Jadhav", "Pawar", "Shinde", "Kamble", "More", "Gaikwad", "Chavan", "Deshmukh",
        "Kale", "Salunkhe", "Bhosale", "Mane", "Kadam", "Waghmare", "Sonawane", "Thorat",
        "Kulkarni",
    ],
};

pub const EAST: Tradition = Tradition {
    style: Style::East,
    male: &[
        "Bikash",
        "Subrata",
        "Debasish",
        "Sukanta",
        "Prasenjit",
        "Tapan",
        "Swapan",
        "Gopal",
        "Biswajit",
        "Sanjib",
        "Pradip",
        "Dilip",
        "Ranjit",
        "Amit",
        "Manas",
        "Sudhir",
        "Bijay",
        "Pabitra",
        "Ashok",
        "Kartik",
    ],
    female: &[
        "Mousumi", "Rina", "Puja", "Sabita", "Mithu", "Tumpa", "Shampa", "Swapna", "Kakali",
        "Jharna", "Anima", "Bijaya", "Sasmita", "Pramila", "Laxmi",
    ],
    surnames: &[
        "Das", "Roy", "Ghosh", "Mondal", "Pal", "Sarkar", "Biswas", "Behera", "Nayak", "Sahoo",
        "Mohanty", "Pradhan", "Barik", "Sethi", "Dey", "Saha", "Bag", "Bera", "Majhi", "Hansda",
    ],
};

/// Spelling swaps clerks make, both ways.
pub const VARIANTS: &[(&str, &str)] = &[
    ("aa", "a"),
    ("ee", "i"),
    ("oo", "u"),
    ("v", "w"),
    ("v", "b"),
    ("sh", "s"),
    ("ksh", "x"),
    ("ph", "f"),
    ("th", "t"),
    ("dh", "d"),
    ("i", "ee"),
    ("u", "oo"),
    ("a", "aa"),
    ("j", "z"),
    ("kh", "k"),
    ("bh", "b"),
];

/// Whole-word abbreviations and spellings.
pub const ABBREVIATIONS: &[(&str, &[&str])] = &[
    (
        "Mohammad",
        &["Mohd", "Md", "Mohammed", "Muhammad", "Mohamad"],
    ),
    ("Kumar", &["Kr"]),
    ("Prasad", &["Pd", "Prashad"]),
    ("Shaikh", &["Sk", "Sheikh"]),
    ("Lakshmi", &["Laxmi", "Lakshmee"]),
    ("Khatun", &["Khatoon"]),
    ("Chaudhary", &["Choudhary", "Chaudhari"]),
];

/// Honorifics some systems put in front of a name.
pub const HONORIFICS_MALE: &[&str] = &["Shri", "Sri", "Mr."];
pub const HONORIFICS_FEMALE: &[&str] = &["Smt.", "Smt", "Kumari", "Mrs."];

/// Writes a Latin name in Devanagari, as a Hindi-speaking clerk would (final consonants without
/// virama, a final "a" long, n before a consonant as anusvara).
pub fn to_devanagari(latin: &str) -> String {
    latin
        .split_whitespace()
        .map(word_to_devanagari)
        .collect::<Vec<_>>()
        .join(" ")
}

fn word_to_devanagari(word: &str) -> String {
    const CONSONANTS: &[(&str, &str)] = &[
        ("ksh", "क्ष"),
        ("chh", "छ"),
        ("kh", "ख"),
        ("gh", "घ"),
        ("ch", "च"),
        ("jh", "झ"),
        ("th", "थ"),
        ("dh", "ध"),
        ("ph", "फ"),
        ("bh", "भ"),
        ("sh", "श"),
        ("k", "क"),
        ("g", "ग"),
        ("j", "ज"),
        ("t", "त"),
        ("d", "द"),
        ("n", "न"),
        ("p", "प"),
        ("b", "ब"),
        ("m", "म"),
        ("y", "य"),
        ("r", "र"),
        ("l", "ल"),
        ("v", "व"),
        ("w", "व"),
        ("s", "स"),
        ("h", "ह"),
        ("f", "फ़"),
        ("z", "ज़"),
        ("q", "क"),
        ("x", "क्स"),
        ("c", "क"),
    ];
    // (latin, independent, matra)
    const VOWELS: &[(&str, &str, &str)] = &[
        ("aa", "आ", "ा"),
        ("ai", "ऐ", "ै"),
        ("au", "औ", "ौ"),
        ("ee", "ई", "ी"),
        ("ii", "ई", "ी"),
        ("oo", "ऊ", "ू"),
        ("uu", "ऊ", "ू"),
        ("a", "अ", ""),
        ("i", "इ", "ि"),
        ("u", "उ", "ु"),
        ("e", "ए", "े"),
        ("o", "ओ", "ो"),
    ];
    let w = word.to_ascii_lowercase();
    let b = w.as_str();
    let mut out = String::new();
    let mut i = 0;
    let mut after_consonant = false;
    while i < b.len() {
        let rest = &b[i..];
        if let Some((l, ind, matra)) = VOWELS.iter().find(|(l, _, _)| rest.starts_with(l)) {
            let last = i + l.len() == b.len();
            if after_consonant {
                // A final short a or i is long in Hindi spelling (Sunita, Devi).
                out.push_str(match (*l, last) {
                    ("a", true) => "ा",
                    ("i", true) => "ी",
                    _ => matra,
                });
            } else {
                out.push_str(ind);
            }
            after_consonant = false;
            i += l.len();
            continue;
        }
        if let Some((l, deva)) = CONSONANTS.iter().find(|(l, _)| rest.starts_with(l)) {
            let next = &rest[l.len()..];
            let next_is_consonant =
                !next.is_empty() && !VOWELS.iter().any(|(v, _, _)| next.starts_with(v));
            // n before a consonant, not at the start of the word, is an anusvara (Sanjay: संजय).
            if *l == "n" && next_is_consonant && !out.is_empty() {
                out.push('ं');
                after_consonant = false;
                i += 1;
                continue;
            }
            if after_consonant {
                out.push('्');
            }
            out.push_str(deva);
            after_consonant = true;
            i += l.len();
            continue;
        }
        i += 1; // not a letter we spell
    }
    out
}
