-- The sync engine: runs of a scheme's feed, leased by one process at a time; the links it writes,
-- one per scheme record; the doubtful pairs it queues for review; the scheme's people it found no
-- worker for; the records it could not read.

-- One scheme record (scheme + its own reference) is linked to one worker at most. A record linked
-- to two workers before (the old key allowed it) keeps its first link.
DELETE FROM scheme_links a USING scheme_links b
 WHERE a.scheme = b.scheme AND a.reference = b.reference
   AND (a.linked_at, a.uan) > (b.linked_at, b.uan);
CREATE UNIQUE INDEX scheme_links_one_per_record ON scheme_links (scheme, reference);
ALTER TABLE scheme_links
    ADD COLUMN score         double precision,
    ADD COLUMN model_version text,
    ADD COLUMN explanation   jsonb,
    ADD COLUMN ended_at      timestamptz;

CREATE TABLE sync_runs (
    id            bigserial PRIMARY KEY,
    scheme        text NOT NULL,
    -- full: from the feed's start; otherwise from the scheme's last committed cursor.
    full_run      boolean NOT NULL DEFAULT false,
    status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    requested_by  text NOT NULL,
    lease_owner   text,
    lease_until   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    cursor_from   text,
    -- Where the run resumes: after the last page whose outcome was committed.
    cursor        text,
    pages         bigint NOT NULL DEFAULT 0,
    records       bigint NOT NULL DEFAULT 0,
    linked        bigint NOT NULL DEFAULT 0,
    queued        bigint NOT NULL DEFAULT 0,
    unregistered  bigint NOT NULL DEFAULT 0,
    errors        bigint NOT NULL DEFAULT 0,
    error         text
);
-- At most one run of a scheme runs at a time, and at most one waits (to follow it: a change
-- announced while a run is under way is pulled by the next).
CREATE UNIQUE INDEX sync_runs_one_running_per_scheme ON sync_runs (scheme) WHERE status = 'running';
CREATE UNIQUE INDEX sync_runs_one_queued_per_scheme ON sync_runs (scheme) WHERE status = 'queued';
CREATE INDEX sync_runs_by_scheme ON sync_runs (scheme, id DESC);

-- A record a run could not use (no name, an impossible date), with why.
CREATE TABLE sync_record_errors (
    run_id     bigint NOT NULL REFERENCES sync_runs (id),
    reference  text NOT NULL,
    reason     text NOT NULL,
    PRIMARY KEY (run_id, reference)
);

-- The scheme's people the registry has no worker for (yet): the worklist of a registration drive.
CREATE TABLE unregistered_records (
    scheme         text NOT NULL,
    reference      text NOT NULL,
    status         text NOT NULL,
    state_code     text,
    district_code  text,
    person         jsonb NOT NULL,
    -- The scheme's own facts of the record (what a link's details will be).
    facts          jsonb NOT NULL DEFAULT '{}',
    match_keys     bigint[] NOT NULL DEFAULT '{}',
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scheme, reference)
);
CREATE INDEX unregistered_by_place ON unregistered_records (scheme, state_code, district_code);
CREATE INDEX unregistered_match_keys ON unregistered_records USING gin (match_keys);

-- A scheme record and a worker that may be the same person, for a person to decide.
CREATE TABLE review_items (
    id            bigserial PRIMARY KEY,
    scheme        text NOT NULL,
    reference     text NOT NULL,
    uan           text NOT NULL REFERENCES workers (uan),
    state_code    text NOT NULL,
    score         double precision NOT NULL,
    explanation   jsonb NOT NULL,
    -- The scheme's record as it was when queued (its person, status and facts).
    record        jsonb NOT NULL,
    -- superseded: another worker was linked to the record by a decision.
    status        text NOT NULL DEFAULT 'open'
                  CHECK (status IN ('open', 'linked', 'not_a_match', 'superseded')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    decided_at    timestamptz,
    decided_by    text,
    note          text,
    UNIQUE (scheme, reference, uan)
);
CREATE INDEX review_items_open ON review_items (state_code, id) WHERE status = 'open';
