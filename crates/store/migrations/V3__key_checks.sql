-- Fingerprints of the keys the stored data depends on (the Aadhaar token key, each vault key), so a
-- gateway started with missing or wrong key files refuses to run instead of silently registering
-- duplicates (new tokens) or writing ciphertexts nobody can open.
CREATE TABLE key_checks (
    name         text PRIMARY KEY,
    fingerprint  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
