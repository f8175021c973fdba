-- "Who read my record?" through B-trees on the UAN as a number instead of a GIN index on the UAN
-- text array. GIN was a third of an audited read's database time under load (a tree descent with
-- text comparisons and a posting list decoded and re-encoded per entry); a B-tree insert of a
-- 16-byte key is a fraction of that, and (uan, seq) serves the access log newest first without a
-- sort. Most entries name one worker: that UAN goes in a column of the entry itself. An entry that
-- names several (a list, a match) puts one row per UAN in `audit_uans`. The `uans` column stays
-- what the hash chain covers; these are indexes of it.

ALTER TABLE audit_log ADD COLUMN uan bigint;

CREATE TABLE audit_uans (
    uan  bigint NOT NULL,
    seq  bigint NOT NULL,
    PRIMARY KEY (uan, seq)
);

UPDATE audit_log SET uan = uans[1]::bigint
 WHERE cardinality(uans) = 1 AND uans[1] ~ '^[0-9]{12}$';
INSERT INTO audit_uans (uan, seq)
SELECT DISTINCT u::bigint, seq
  FROM audit_log, unnest(uans) AS u
 WHERE cardinality(uans) > 1 AND u ~ '^[0-9]{12}$';

CREATE INDEX audit_log_uan ON audit_log (uan, seq) WHERE uan IS NOT NULL;
DROP INDEX IF EXISTS audit_log_uans;

-- The gateway now passes each entry's single UAN (NULL when it names none or several) and the
-- (uan, seq) pairs of entries naming several, already as numbers.
DROP FUNCTION audit_append(bigint, bytea, bytea, bigint[], timestamptz[], text[], text[], text[],
                           text[], text[], text[], text[], int[], text[], bytea[], bytea[]);
CREATE FUNCTION audit_append(
    p_prev_seq bigint, p_prev_hash bytea, p_head_hash bytea,
    p_seq bigint[], p_at timestamptz[], p_client text[], p_jti text[], p_purpose text[],
    p_action text[], p_route text[], p_uans text[], p_fields text[], p_status int[],
    p_request text[], p_prev bytea[], p_hash bytea[], p_uan bigint[],
    p_multi_uan bigint[], p_multi_seq bigint[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Rows first, the head's lock last: writers in other processes wait on it only for the commit.
    INSERT INTO audit_log (seq, at, client_id, jti, purpose, action, route, uans, fields, status,
                           request_id, prev_hash, hash, uan)
    SELECT s, a, c, j, pu, ac, r, u::text[], f::text[], st, rq, ph, h, n
      FROM unnest(p_seq, p_at, p_client, p_jti, p_purpose, p_action, p_route, p_uans, p_fields,
                  p_status, p_request, p_prev, p_hash, p_uan)
           AS t(s, a, c, j, pu, ac, r, u, f, st, rq, ph, h, n);
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
