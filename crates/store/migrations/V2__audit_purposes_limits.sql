-- The hash-chained audit log of every access to personal data, and what each client may do.

CREATE TABLE audit_log (
    seq         bigint PRIMARY KEY,
    at          timestamptz NOT NULL,
    client_id   text NOT NULL,
    jti         text,
    purpose     text NOT NULL,
    action      text NOT NULL,
    route       text NOT NULL,
    uans        text[] NOT NULL,
    fields      text[] NOT NULL,
    status      integer NOT NULL,
    request_id  text NOT NULL,
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL
);

-- "Who read my record?" (DPDP s.11) and breach drills ("what did client C read after T?").
CREATE INDEX audit_log_uans ON audit_log USING gin (uans);
CREATE INDEX audit_log_client_at ON audit_log (client_id, at);

-- The chain's head: one row, locked by each appending transaction, so appends from several gateway
-- processes form one chain.
CREATE TABLE audit_head (
    id    boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq   bigint NOT NULL,
    hash  bytea NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (true, 0, decode(repeat('00', 32), 'hex'));

-- Purposes a client may put in its tokens, and its own request rate (NULL: the default).
ALTER TABLE oauth_clients
    ADD COLUMN purposes text[] NOT NULL DEFAULT ARRAY['operations'],
    ADD COLUMN rate_limit_rps integer;
