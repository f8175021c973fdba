-- Candidates are looked up one key at a time, thousands per page of a sync: a GIN search reads the
-- whole pending list of not-yet-merged entries first, which at the default 4 MB costs ~500 pages
-- per lookup. A small list keeps a lookup at a few pages; inserts merge it more often.
ALTER INDEX workers_match_keys SET (gin_pending_list_limit = 128);
ALTER INDEX unregistered_match_keys SET (gin_pending_list_limit = 128);
SELECT gin_clean_pending_list('workers_match_keys'::regclass);
SELECT gin_clean_pending_list('unregistered_match_keys'::regclass);

-- The workers (in `states`; NULL: any) sharing any of the keys of many records at once: `keys[i]`
-- is a key of record `owners[i]`; each (record, worker) once. A key shared by more than
-- `max_bucket` workers is skipped (it tells no one apart); a key several records share is looked
-- up once. One index lookup per key, one plan for them all. PostgreSQL estimates a key it cannot
-- see (a parameter) as shared by 0.5% of the table, and with a LIMIT a sequential scan then looks
-- cheaper than the index: the function plans with it off.
CREATE FUNCTION worker_candidates(keys bigint[], owners int[], states text[], max_bucket bigint)
RETURNS TABLE (owner int, uan text) LANGUAGE sql STABLE ROWS 1000 SET enable_seqscan = off AS $$
    WITH k AS (
        SELECT t.key, array_agg(DISTINCT t.o) AS owners
        FROM unnest(keys, owners) AS t(key, o) GROUP BY t.key
    ), hits AS (
        SELECT k.owners, b.uan FROM k CROSS JOIN LATERAL (
            SELECT x.uan, count(*) OVER () AS shared FROM (
                SELECT w.uan FROM workers w WHERE w.match_keys @> ARRAY[k.key]
                  AND (states IS NULL OR w.state_code = ANY(states)) LIMIT max_bucket + 1) x) b
        WHERE b.shared <= max_bucket
    )
    SELECT DISTINCT o.o, h.uan FROM hits h CROSS JOIN LATERAL unnest(h.owners) AS o(o)
$$;

-- The same for the scheme records kept as unregistered.
CREATE FUNCTION unregistered_candidates(keys bigint[], max_bucket bigint)
RETURNS TABLE (scheme text, reference text) LANGUAGE sql STABLE ROWS 50 SET enable_seqscan = off AS $$
    SELECT DISTINCT b.scheme, b.reference FROM unnest(keys) AS k(key) CROSS JOIN LATERAL (
        SELECT x.scheme, x.reference, count(*) OVER () AS shared FROM (
            SELECT u.scheme, u.reference FROM unregistered_records u
            WHERE u.match_keys @> ARRAY[k.key] LIMIT max_bucket + 1) x) b
    WHERE b.shared <= max_bucket
$$;
