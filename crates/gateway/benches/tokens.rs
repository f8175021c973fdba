//! What one token verification costs: the EdDSA signature check with every claim check (first sight
//! of a token), against a repeat caller served from the verified-token cache.

use criterion::{Criterion, criterion_group, criterion_main};
use gateway::auth::Tokens;

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("shramsetu-bench-keys-{}", std::process::id()));
    let keys = gateway::keys::Keys::load_or_create(&dir).expect("keys");
    let tokens = Tokens::new(&keys.signing, "https://iss", "api", 900, 30).expect("tokens");
    let now = jsonwebtoken::get_current_timestamp();
    let scopes = vec!["workers:read".to_owned()];
    // Distinct tokens, so none is in the cache when first verified.
    let fresh: Vec<String> = (0..20_000)
        .map(|i| {
            tokens
                .issue(
                    &format!("client-{i}"),
                    &scopes,
                    None,
                    "operations",
                    900,
                    now,
                )
                .expect("issue")
        })
        .collect();
    let mut i = 0;
    c.bench_function(
        "verify EdDSA token, first sight (signature + claims)",
        |b| {
            b.iter(|| {
                i = (i + 1) % fresh.len();
                tokens.verify_uncached(&fresh[i]).expect("valid")
            })
        },
    );
    let repeat = fresh[0].clone();
    tokens.verify(&repeat).expect("valid");
    c.bench_function("verify EdDSA token, repeat caller (cache)", |b| {
        b.iter(|| tokens.verify(&repeat).expect("valid"))
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
