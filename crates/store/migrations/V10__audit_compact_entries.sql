-- Audit entries at well under half their size. An entry's field list (some twenty field names for
-- a full record, over half of the 680 bytes of table an entry took) is one of a few lists per
-- purpose and route: it is stored once in `audit_field_sets` and entries name it by id. An entry
-- that names one worker keeps that UAN only in its `uan` number column, not again as a text array.
-- Both were parsed and written into the heap and the write-ahead log for every read; the log is
-- the registry's largest table.
--
-- The hash chain is unchanged: it covers the entry as `audit_entries` shows it, with its field
-- list and UANs in full, so an altered field set, or an altered `uan` of an entry stored this way,
-- breaks the chain like any other edit. `shramsetu audit verify` also checks that `uan` and the
-- rows of `audit_uans` index the workers an entry names, and no others. Entries written before
-- this migration keep their `uans` and `fields` columns as they were.

CREATE TABLE audit_field_sets (
    id      integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fields  text[] NOT NULL UNIQUE
);

-- NOT VALID: older rows hold both columns already; a large log is not scanned to prove it.
ALTER TABLE audit_log
    ADD COLUMN field_set integer,
    ALTER COLUMN uans DROP NOT NULL,
    ALTER COLUMN fields DROP NOT NULL,
    ADD CONSTRAINT audit_log_uans_stored CHECK (uans IS NOT NULL OR uan IS NOT NULL) NOT VALID,
    ADD CONSTRAINT audit_log_fields_stored CHECK (fields IS NOT NULL OR field_set IS NOT NULL) NOT VALID;

-- `audit verify` checks that the index rows of an entry naming several workers are the workers it
-- names, a page of entries at a time (appended in `seq` order, so kept at the index's right edge).
CREATE INDEX audit_uans_seq ON audit_uans (seq);

-- Entries as the chain covers them: what to query by hand (a breach drill, an inquiry). A UAN is
-- 12 digits; a number of more digits is shown whole, never cut to 12. `uan` is the index's key.
CREATE VIEW audit_entries AS
SELECT a.seq, a.at, a.client_id, a.jti, a.purpose, a.action, a.route,
       COALESCE(a.uans, ARRAY[CASE WHEN a.uan BETWEEN 0 AND 999999999999
                                   THEN lpad(a.uan::text, 12, '0') ELSE a.uan::text END]) AS uans,
       COALESCE(a.fields, s.fields) AS fields,
       a.status, a.request_id, a.prev_hash, a.hash, a.uan
  FROM audit_log a
  LEFT JOIN audit_field_sets s ON s.id = a.field_set;

-- The gateway passes each entry's field set id, and its UANs as text only when it names none or
-- several (NULL when `p_uan` holds its one UAN). A batch naming a field set that does not exist
-- (deleted by hand; a gateway's remembered id from before a restore) is refused whole, as a
-- foreign key violation: the gateway forgets the ids it remembered, looks its lists up again and
-- retries. The function of V9 stays beside this one, for gateways of the previous release while a
-- rolling upgrade replaces them: they append entries in the old layout, which `audit_entries`
-- shows as they are.
CREATE FUNCTION audit_append(
    p_prev_seq bigint, p_prev_hash bytea, p_head_hash bytea,
    p_seq bigint[], p_at timestamptz[], p_client text[], p_jti text[], p_purpose text[],
    p_action text[], p_route text[], p_uans text[], p_field_set int[], p_status int[],
    p_request text[], p_prev bytea[], p_hash bytea[], p_uan bigint[],
    p_multi_uan bigint[], p_multi_seq bigint[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT unnest(p_field_set)) AS d(id)
                WHERE NOT EXISTS (SELECT 1 FROM audit_field_sets s WHERE s.id = d.id)) THEN
        RAISE EXCEPTION 'audit batch names a field set that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- Rows first, the head's lock last: writers in other processes wait on it only for the commit.
    INSERT INTO audit_log (seq, at, client_id, jti, purpose, action, route, uans, field_set, status,
                           request_id, prev_hash, hash, uan)
    SELECT s, a, c, j, pu, ac, r, u::text[], fs, st, rq, ph, h, n
      FROM unnest(p_seq, p_at, p_client, p_jti, p_purpose, p_action, p_route, p_uans, p_field_set,
                  p_status, p_request, p_prev, p_hash, p_uan)
           AS t(s, a, c, j, pu, ac, r, u, fs, st, rq, ph, h, n);
    IF cardinality(p_multi_uan) > 0 THEN
        INSERT INTO audit_uans (uan, seq) SELECT * FROM unnest(p_multi_uan, p_multi_seq);
    END IF;
    UPDATE audit_head SET seq = p_seq[array_upper(p_seq, 1)], hash = p_head_hash
     WHERE seq = p_prev_seq AND hash = p_prev_hash;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit chain head moved (expected seq %)', p_prev_seq
            USING ERRCODE = 'serialization_failure';
    END IF;
END
$$;
