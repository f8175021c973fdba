//! What the matching engine's steps cost per record or per pair: normalising a name (Latin and
//! Devanagari), preparing a whole record with its blocking keys, and comparing a pair of records.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use matching::Prepared;
use matching::compare::{compare, jaro_winkler};
use matching::normalise::{self, Record};

fn record(name: &str, dob: &str, mobile: &str) -> Record {
    Record {
        id: "r".into(),
        full_name: name.into(),
        gender: "M".into(),
        dob: dob.into(),
        mobile: mobile.into(),
        state_code: "09".into(),
        district_code: "150".into(),
        pincode: "226001".into(),
        relative_name: "Mohammad Salim".into(),
        aadhaar_hash: String::new(),
        address: "House 12 Aminabad Lucknow".into(),
    }
}

fn bench(c: &mut Criterion) {
    c.bench_function("normalise a Latin name (Shri R. K. Yadav)", |b| {
        b.iter(|| normalise::name(black_box("Shri R. K. Yadav")))
    });
    c.bench_function(
        "normalise a Devanagari name (मोहम्मद इरफान)",
        |b| b.iter(|| normalise::name(black_box("मोहम्मद इरफान"))),
    );
    let latin = record("Mohd. Irfan", "1988-03-14", "9876543210");
    let devanagari = record("मोहम्मद इरफान", "1988-03-14", "");
    c.bench_function("prepare a record (normalise every field)", |b| {
        b.iter(|| Prepared::new(black_box(&latin)))
    });
    let (a, z) = (Prepared::new(&devanagari), Prepared::new(&latin));
    c.bench_function("blocking keys of a prepared record", |b| {
        b.iter(|| black_box(&a).blocking_keys())
    });
    c.bench_function("compare a pair (eight comparisons)", |b| {
        b.iter(|| compare(black_box(&a), black_box(&z)))
    });
    c.bench_function("Jaro-Winkler of two name tokens", |b| {
        b.iter(|| jaro_winkler(black_box(b"basavaraj"), black_box(b"basavraj")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
