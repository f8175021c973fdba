-- A worker's records in the scheme systems, the outcome of every enrolment forwarded through the
-- gateway, and each scheme feed's sync position. Keyed by UAN where worker-keyed (Citus-ready).

CREATE TABLE scheme_links (
    uan         text NOT NULL REFERENCES workers (uan),
    scheme      text NOT NULL,
    reference   text NOT NULL,              -- the scheme's own id (SPN, policy number, NCS id...)
    status      text NOT NULL,
    source      text NOT NULL,              -- enrolment | sync
    details     jsonb NOT NULL DEFAULT '{}',
    linked_at   timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (uan, scheme, reference)
);

CREATE TABLE scheme_enrolments (
    id          uuid PRIMARY KEY,
    uan         text NOT NULL,
    scheme      text NOT NULL,
    client_id   text NOT NULL,
    outcome     text NOT NULL,              -- enrolled | refused
    reference   text,
    terms       jsonb,
    reasons     jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scheme_enrolments_uan ON scheme_enrolments (uan, created_at);

CREATE TABLE scheme_sync_state (
    scheme        text PRIMARY KEY,
    cursor        text,
    last_sync_at  timestamptz,
    last_error    text
);

-- An enrolment's idempotency key is claimed before the scheme is called and answered after: the
-- claim's id makes sure only its holder answers or frees it (a stale claim may be taken over).
ALTER TABLE idempotency_keys ADD COLUMN claim_id uuid;
