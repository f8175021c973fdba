-- One round trip per group commit: the gateway chains the batch to the head it last wrote and
-- hands it to this function, which inserts it and moves the head only if the head is still the one
-- the batch was chained to. A batch chained to a head that moved (another gateway process
-- appended) is refused with a serialization failure, nothing written; the gateway reads the head
-- again and chains the batch anew.
CREATE FUNCTION audit_append(
    p_prev_seq bigint, p_prev_hash bytea, p_head_hash bytea,
    p_seq bigint[], p_at timestamptz[], p_client text[], p_jti text[], p_purpose text[],
    p_action text[], p_route text[], p_uans text[], p_fields text[], p_status int[],
    p_request text[], p_prev bytea[], p_hash bytea[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Rows first, the head's lock last: writers in other processes wait on it only for the commit.
    INSERT INTO audit_log (seq, at, client_id, jti, purpose, action, route, uans, fields, status,
                           request_id, prev_hash, hash)
    SELECT s, a, c, j, pu, ac, r, u::text[], f::text[], st, rq, ph, h
      FROM unnest(p_seq, p_at, p_client, p_jti, p_purpose, p_action, p_route, p_uans, p_fields,
                  p_status, p_request, p_prev, p_hash) AS t(s, a, c, j, pu, ac, r, u, f, st, rq, ph, h);
    UPDATE audit_head SET seq = p_seq[array_upper(p_seq, 1)], hash = p_head_hash
     WHERE seq = p_prev_seq AND hash = p_prev_hash;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit chain head moved (expected seq %)', p_prev_seq
            USING ERRCODE = 'serialization_failure';
    END IF;
END
$$;
