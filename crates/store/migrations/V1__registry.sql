-- The worker registry, the Aadhaar vault, idempotency keys and OAuth clients.
-- Worker-keyed tables carry the UAN so they can later be distributed by it (Citus).

CREATE SEQUENCE uan_serial AS bigint;
CREATE SEQUENCE worker_change_seq AS bigint;

CREATE TABLE workers (
    uan                 text PRIMARY KEY,
    aadhaar_token       text NOT NULL,      -- HMAC-SHA256 of the Aadhaar number: never the number
    aadhaar_last4       text NOT NULL,      -- for the masked display XXXX-XXXX-1234 only
    name                text NOT NULL,
    gender              text NOT NULL,
    date_of_birth       date NOT NULL,
    mobile              text NOT NULL,
    state_code          text NOT NULL,
    district_code       text NOT NULL,
    pincode             text NOT NULL,
    relative_name       text NOT NULL,
    social_category     text NOT NULL,
    occupation_nco      text NOT NULL,
    monthly_income_inr  bigint NOT NULL,
    address             jsonb,
    education           text,
    bank_account        jsonb,
    nominee             jsonb,
    change_seq          bigint NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX workers_aadhaar_token ON workers (aadhaar_token);
CREATE UNIQUE INDEX workers_change_seq ON workers (change_seq);
CREATE INDEX workers_state_change ON workers (state_code, change_seq);
CREATE INDEX workers_state_district_change ON workers (state_code, district_code, change_seq);

-- Every insert and update takes the next change_seq. The transaction-scoped advisory lock makes
-- writers commit in change_seq order, so a reader that has seen change_seq N has seen every
-- smaller one too: pulling with changed_since_seq never skips a row committed late.
CREATE FUNCTION workers_bump_change_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7271001);
    NEW.change_seq := nextval('worker_change_seq');
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
        NEW.created_at := OLD.created_at;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER workers_change_seq BEFORE INSERT OR UPDATE ON workers
    FOR EACH ROW EXECUTE FUNCTION workers_bump_change_seq();

-- UIDAI's Aadhaar Data Vault: the only place the number exists, AES-256-GCM under key_id, with the
-- UAN as authenticated data.
CREATE TABLE aadhaar_vault (
    uan         text PRIMARY KEY REFERENCES workers (uan),
    key_id      text NOT NULL,
    nonce       bytea NOT NULL,
    ciphertext  bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A retried write with the same key answers what the first answered. Scoped per client.
CREATE TABLE idempotency_keys (
    client_id     text NOT NULL,
    key           text NOT NULL,
    route         text NOT NULL,
    request_hash  text NOT NULL,
    status_code   integer,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, key)
);

CREATE TABLE oauth_clients (
    client_id    text PRIMARY KEY,
    secret_hash  text NOT NULL,             -- SHA-256 of a 256-bit random secret
    scopes       text[] NOT NULL,
    states       text[],                    -- NULL: every state
    created_at   timestamptz NOT NULL DEFAULT now(),
    disabled_at  timestamptz
);
