-- Change events schemes push (PM-SYM's signed webhook), each taken once: a delivery replayed within
-- the window is refused by its digest.
CREATE TABLE webhook_events (
    scheme       text NOT NULL,
    -- SHA-256 of the body as received.
    digest       text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    event        jsonb NOT NULL,
    PRIMARY KEY (scheme, digest)
);
