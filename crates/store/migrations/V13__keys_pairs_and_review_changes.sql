-- Matching keys of version 3 (the pairs of weak keys, each looked up on its own): the workers'
-- keys are recomputed by `serve` through `workers.match_keys_version`; the kept scheme records get
-- the same marker, and those written before it (NULL) are recomputed the same way.
ALTER TABLE unregistered_records ADD COLUMN match_keys_version smallint;

-- What a review pair was decided on: the digest of the scheme's person as queued and the worker's
-- change_seq then. A pair decided not_a_match is queued again only when one of them changes.
ALTER TABLE review_items ADD COLUMN record_digest text, ADD COLUMN worker_seq bigint,
    ADD COLUMN requeued_at timestamptz;
UPDATE review_items i SET
    record_digest = encode(sha256(convert_to((i.record -> 'person')::text, 'UTF8')), 'hex'),
    worker_seq = w.change_seq
FROM workers w WHERE w.uan = i.uan;
