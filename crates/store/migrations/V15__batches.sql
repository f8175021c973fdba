-- State-portal batches: a file of registrations pushed in bulk, staged row by row, applied in
-- leased chunks through the same registration as POST /v1/workers, every row accounted for.

CREATE TABLE batches (
    id              uuid PRIMARY KEY,
    client_id       text NOT NULL,
    -- A keyed digest of the caller's Idempotency-Key (never the key as sent).
    idempotency_key text NOT NULL,
    -- SHA-256 of the body as sent: the same key with another file is refused.
    file_sha256     text NOT NULL,
    -- Who pushed it: the batch acts for them (scopes, states, purpose).
    caller          jsonb NOT NULL,
    format          text NOT NULL CHECK (format IN ('csv', 'ndjson')),
    mode            text NOT NULL CHECK (mode IN ('apply', 'validate')),
    on_existing     text NOT NULL CHECK (on_existing IN ('update', 'skip', 'refuse')),
    -- receiving: the upload is being staged (a dead upload's rows are discarded by the retry).
    status          text NOT NULL DEFAULT 'receiving'
                    CHECK (status IN ('receiving', 'queued', 'running', 'finished', 'cancelled')),
    rows_received   bigint NOT NULL DEFAULT 0,
    validated       bigint NOT NULL DEFAULT 0,
    registered      bigint NOT NULL DEFAULT 0,
    updated         bigint NOT NULL DEFAULT 0,
    skipped         bigint NOT NULL DEFAULT 0,
    refused         bigint NOT NULL DEFAULT 0,
    queued          bigint NOT NULL DEFAULT 0,
    cancelled       bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    stored_at       timestamptz,
    started_at      timestamptz,
    finished_at     timestamptz,
    UNIQUE (client_id, idempotency_key)
);

-- One row of a batch. The Aadhaar number is never here in clear: its keyed token (for the
-- duplicate checks) and a ciphertext under the vault key bound to the batch and line.
CREATE TABLE batch_rows (
    batch_id       uuid NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    -- The line of the file the row starts on (the header is line 1 of a CSV file).
    line           bigint NOT NULL,
    -- The row's fields by column name, the Aadhaar number left out.
    fields         jsonb NOT NULL,
    aadhaar_token  text,
    aadhaar_key    text,
    aadhaar_nonce  bytea,
    aadhaar_sealed bytea,
    -- NULL: not applied yet. valid: passed the checks of a dry run.
    outcome        text CHECK (outcome IN ('registered', 'updated', 'skipped', 'refused',
                                           'queued', 'cancelled', 'valid')),
    uan            text,
    -- [{field, code, message}] of a refused row.
    errors         jsonb,
    PRIMARY KEY (batch_id, line)
);

-- A batch's rows in chunks, leased by the processes that apply them (like sync runs).
CREATE TABLE batch_chunks (
    batch_id    uuid NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    first_line  bigint NOT NULL,
    last_line   bigint NOT NULL,
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'done', 'cancelled')),
    lease_owner text,
    lease_until timestamptz,
    PRIMARY KEY (batch_id, first_line)
);
CREATE INDEX batch_chunks_todo ON batch_chunks (status, lease_until) WHERE status IN ('pending', 'running');

-- A worker who moved to another state, for the old state's feed (GET /v1/workers): the UAN,
-- the change_seq of the move, where from and where to; no personal data.
CREATE TABLE worker_moves (
    change_seq    bigint PRIMARY KEY,
    uan           text NOT NULL REFERENCES workers (uan),
    from_state    text NOT NULL,
    from_district text NOT NULL,
    to_state      text NOT NULL,
    to_district   text NOT NULL,
    moved_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX worker_moves_from ON worker_moves (from_state, change_seq);

-- Whichever path moves a worker (PATCH, a batch's update, a bulk tool), the move is recorded
-- with the change_seq the move took.
CREATE FUNCTION workers_record_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state_code <> OLD.state_code OR NEW.district_code <> OLD.district_code THEN
        INSERT INTO worker_moves (change_seq, uan, from_state, from_district, to_state, to_district)
        VALUES (NEW.change_seq, NEW.uan, OLD.state_code, OLD.district_code,
                NEW.state_code, NEW.district_code);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER workers_moves AFTER UPDATE OF state_code, district_code ON workers
    FOR EACH ROW EXECUTE FUNCTION workers_record_move();
