-- Each worker's matching keys one row per key, in a B-tree: a candidate lookup is an index-only
-- scan of the key's few entries, where the GIN index on workers.match_keys cost a bitmap scan and a
-- heap page per worker found (0.3 ms a key at 1,000,000 workers, thousands of keys a sync page).
-- workers.match_keys stays the source; statement triggers keep this table equal to it, set-wise,
-- for every write (one row, a bulk COPY, the keys' backfill).
CREATE TABLE worker_match_keys (
    key  bigint NOT NULL,
    uan  text NOT NULL,
    PRIMARY KEY (key, uan)
);

CREATE FUNCTION worker_match_keys_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO worker_match_keys (key, uan)
    SELECT DISTINCT k, n.uan FROM new_rows n, unnest(n.match_keys) AS k
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION worker_match_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM worker_match_keys m USING old_rows o, new_rows n
    WHERE o.uan = n.uan AND o.match_keys IS DISTINCT FROM n.match_keys
      AND m.uan = o.uan AND m.key = ANY(o.match_keys);
    INSERT INTO worker_match_keys (key, uan)
    SELECT DISTINCT k, n.uan FROM old_rows o JOIN new_rows n ON o.uan = n.uan, unnest(n.match_keys) AS k
    WHERE o.match_keys IS DISTINCT FROM n.match_keys
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION worker_match_keys_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM worker_match_keys m USING old_rows o
    WHERE m.uan = o.uan AND m.key = ANY(o.match_keys);
    RETURN NULL;
END $$;

CREATE TRIGGER workers_match_keys_added AFTER INSERT ON workers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION worker_match_keys_added();
CREATE TRIGGER workers_match_keys_changed AFTER UPDATE ON workers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION worker_match_keys_changed();
CREATE TRIGGER workers_match_keys_removed AFTER DELETE ON workers
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION worker_match_keys_removed();

INSERT INTO worker_match_keys (key, uan)
SELECT DISTINCT k, w.uan FROM workers w, unnest(w.match_keys) AS k ON CONFLICT DO NOTHING;
DROP INDEX workers_match_keys;

-- The workers sharing any of the keys of many records at once: `keys[i]` is a key of record
-- `owners[i]`; each (record, worker) once. A key shared by more than `max_bucket` workers is
-- skipped (it tells no one apart); a key several records share is looked up once.
CREATE FUNCTION worker_candidates(keys bigint[], owners int[], max_bucket bigint)
RETURNS TABLE (owner int, uan text) LANGUAGE sql STABLE ROWS 1000 AS $$
    WITH k AS (
        SELECT t.key, array_agg(DISTINCT t.o) AS owners
        FROM unnest(keys, owners) AS t(key, o) GROUP BY t.key
    ), hits AS (
        SELECT k.owners, b.uan FROM k CROSS JOIN LATERAL (
            SELECT x.uan, count(*) OVER () AS shared FROM (
                SELECT m.uan FROM worker_match_keys m WHERE m.key = k.key
                LIMIT max_bucket + 1) x) b
        WHERE b.shared <= max_bucket
    )
    SELECT DISTINCT o.o, h.uan FROM hits h CROSS JOIN LATERAL unnest(h.owners) AS o(o)
$$;

-- The scheme records kept as unregistered are fewer, and each registration looks them up once:
-- their GIN index stays. Every GIN search reads the index's whole pending list of entries not yet
-- merged, ~500 pages at the default 4 MB: a small list keeps a lookup at a few pages.
ALTER INDEX unregistered_match_keys SET (gin_pending_list_limit = 128);
SELECT gin_clean_pending_list('unregistered_match_keys'::regclass);

-- The records kept as unregistered sharing any of `keys`, each once; a key kept by more than
-- `max_bucket` of them is skipped. One index lookup per key. PostgreSQL estimates a key it cannot
-- see (a parameter) as kept by 0.5% of the table, and with a LIMIT a sequential scan then looks
-- cheaper than the index: the function plans with it off.
CREATE FUNCTION unregistered_candidates(keys bigint[], max_bucket bigint)
RETURNS TABLE (scheme text, reference text) LANGUAGE sql STABLE ROWS 50 SET enable_seqscan = off AS $$
    SELECT DISTINCT b.scheme, b.reference FROM unnest(keys) AS k(key) CROSS JOIN LATERAL (
        SELECT x.scheme, x.reference, count(*) OVER () AS shared FROM (
            SELECT u.scheme, u.reference FROM unregistered_records u
            WHERE u.match_keys @> ARRAY[k.key] LIMIT max_bucket + 1) x) b
    WHERE b.shared <= max_bucket
$$;
