-- Each worker's blocking keys (computed by the matching crate on every insert and update), so
-- incoming records find their candidates through the index instead of scanning the registry.
-- NULL until computed: rows older than this migration, or whose keys are of an older version (see
-- matching::prepare::KEYS_VERSION), are filled in by `serve` in the background.
ALTER TABLE workers ADD COLUMN match_keys bigint[], ADD COLUMN match_keys_version smallint;
CREATE INDEX workers_match_keys ON workers USING gin (match_keys);

-- Filling in keys is not a change of the worker: it must not move them in the change order that
-- partners pull from.
CREATE OR REPLACE FUNCTION workers_bump_change_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'match_keys' - 'match_keys_version') = (to_jsonb(OLD) - 'match_keys' - 'match_keys_version') THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(7271001);
    NEW.change_seq := nextval('worker_change_seq');
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
        NEW.created_at := OLD.created_at;
    END IF;
    RETURN NEW;
END $$;
