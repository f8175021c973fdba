-- Coverage: who is registered, enrolled, eligible but not enrolled, kept as counts by state,
-- district, gender, social category and occupation division, up to date in the same transactions
-- that change workers and links (statement-level triggers append deltas; a report folds them into
-- the cells first), so that a report never scans the workers.
--
-- Eligibility comes from the gateway's rule table (`domain::eligibility`): the gateway writes the
-- terms in force on a day into `coverage_terms` (at start, and when the date turns), and the
-- triggers read them; no band, ceiling or date is written here. A programme is a bit of each
-- worker's masks and two counters of each cell: ncs 0, sidh 1, myscheme 2, pmsym 3, pmjay 4,
-- pmjjby 5, pmsby 6 (`e<bit>`: enrolled; `g<bit>`: eligible and not enrolled).

CREATE FUNCTION programme_bit(p text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p WHEN 'ncs' THEN 0 WHEN 'sidh' THEN 1 WHEN 'myscheme' THEN 2 WHEN 'pmsym' THEN 3
                  WHEN 'pmjay' THEN 4 WHEN 'pmjjby' THEN 5 WHEN 'pmsby' THEN 6 END
$$;

-- The terms in force on `as_of` that a registry record can decide by itself (an age band, an
-- income ceiling, a bank account); a programme with no row here counts nobody as eligible.
CREATE TABLE coverage_terms (
    programme               text PRIMARY KEY,
    version                 text NOT NULL,
    as_of                   date NOT NULL,
    min_age                 int,
    max_age                 int,
    max_monthly_income_inr  bigint,
    needs_bank_account      boolean NOT NULL
);

-- The programmes a worker is eligible for under `coverage_terms`, as a mask.
CREATE FUNCTION coverage_eligible(dob date, income bigint, has_bank boolean) RETURNS int
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(bit_or(1 << programme_bit(t.programme)), 0)::int
      FROM coverage_terms t,
           LATERAL (SELECT extract(year FROM age(t.as_of, dob))::int AS years) a
     WHERE (t.min_age IS NULL OR a.years >= t.min_age)
       AND (t.max_age IS NULL OR a.years <= t.max_age)
       AND (t.max_monthly_income_inr IS NULL OR income <= t.max_monthly_income_inr)
       AND (NOT t.needs_bank_account OR has_bank)
$$;

-- The programmes a worker is enrolled in: a link the scheme has not ended (`SchemeLink::enrolled`).
CREATE FUNCTION coverage_enrolled(p_uan text) RETURNS int LANGUAGE sql STABLE AS $$
    SELECT COALESCE(bit_or(1 << programme_bit(scheme)), 0)::int
      FROM scheme_links
     WHERE uan = p_uan AND ended_at IS NULL
       AND status NOT IN ('withdrawn', 'exited', 'cancelled', 'closed')
       AND programme_bit(scheme) IS NOT NULL
$$;

-- Each worker's masks.
CREATE TABLE worker_coverage (
    uan       text PRIMARY KEY REFERENCES workers (uan),
    enrolled  int NOT NULL DEFAULT 0,
    eligible  int NOT NULL DEFAULT 0
);
-- The gaps worklist: eligible for a programme and not enrolled.
CREATE INDEX worker_coverage_gaps ON worker_coverage (eligible, enrolled);

CREATE TABLE coverage_cells (
    state_code       text NOT NULL,
    district_code    text NOT NULL,
    gender           text NOT NULL,
    social_category  text NOT NULL,
    division         text NOT NULL,          -- the NCO-2015 division: the code's first digit
    n                bigint NOT NULL,        -- registered
    e0 bigint NOT NULL DEFAULT 0,
    e1 bigint NOT NULL DEFAULT 0,
    e2 bigint NOT NULL DEFAULT 0,
    e3 bigint NOT NULL DEFAULT 0,
    e4 bigint NOT NULL DEFAULT 0,
    e5 bigint NOT NULL DEFAULT 0,
    e6 bigint NOT NULL DEFAULT 0,
    g0 bigint NOT NULL DEFAULT 0,
    g1 bigint NOT NULL DEFAULT 0,
    g2 bigint NOT NULL DEFAULT 0,
    g3 bigint NOT NULL DEFAULT 0,
    g4 bigint NOT NULL DEFAULT 0,
    g5 bigint NOT NULL DEFAULT 0,
    g6 bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (state_code, district_code, gender, social_category, division)
);

-- Appended by the triggers, without contention; folded into the cells by `coverage_fold`.
CREATE TABLE coverage_deltas (LIKE coverage_cells INCLUDING DEFAULTS);

CREATE FUNCTION coverage_fold() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7271016);
    WITH d AS (DELETE FROM coverage_deltas RETURNING *)
    INSERT INTO coverage_cells AS c
    SELECT state_code, district_code, gender, social_category, division, sum(n), sum(e0), sum(e1), sum(e2), sum(e3), sum(e4), sum(e5), sum(e6), sum(g0), sum(g1), sum(g2), sum(g3), sum(g4), sum(g5), sum(g6)
      FROM d GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (state_code, district_code, gender, social_category, division)
    DO UPDATE SET
        n = c.n + excluded.n,
        e0 = c.e0 + excluded.e0,
        e1 = c.e1 + excluded.e1,
        e2 = c.e2 + excluded.e2,
        e3 = c.e3 + excluded.e3,
        e4 = c.e4 + excluded.e4,
        e5 = c.e5 + excluded.e5,
        e6 = c.e6 + excluded.e6,
        g0 = c.g0 + excluded.g0,
        g1 = c.g1 + excluded.g1,
        g2 = c.g2 + excluded.g2,
        g3 = c.g3 + excluded.g3,
        g4 = c.g4 + excluded.g4,
        g5 = c.g5 + excluded.g5,
        g6 = c.g6 + excluded.g6;
    DELETE FROM coverage_cells WHERE n = 0;
END $$;

CREATE FUNCTION coverage_workers_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO worker_coverage (uan, enrolled, eligible)
    SELECT uan, 0, coverage_eligible(date_of_birth, monthly_income_inr, bank_account IS NOT NULL)
      FROM new_workers;
    INSERT INTO coverage_deltas
    SELECT m.state_code, m.district_code, m.gender, m.social_category, m.division,
           sum(m.sign),
           sum(m.sign * ((m.enrolled >> 0) & 1)),
           sum(m.sign * ((m.enrolled >> 1) & 1)),
           sum(m.sign * ((m.enrolled >> 2) & 1)),
           sum(m.sign * ((m.enrolled >> 3) & 1)),
           sum(m.sign * ((m.enrolled >> 4) & 1)),
           sum(m.sign * ((m.enrolled >> 5) & 1)),
           sum(m.sign * ((m.enrolled >> 6) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 0) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 1) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 2) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 3) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 4) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 5) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 6) & 1))
      FROM (SELECT w.state_code, w.district_code, w.gender, w.social_category,
                 left(w.occupation_nco, 1) AS division, c.enrolled, c.eligible, 1 AS sign
            FROM new_workers w JOIN worker_coverage c USING (uan)) m
     GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END $$;

CREATE TRIGGER workers_coverage_insert AFTER INSERT ON workers
    REFERENCING NEW TABLE AS new_workers FOR EACH STATEMENT
    EXECUTE FUNCTION coverage_workers_inserted();

-- Any update (most change no cell: a mobile number, match keys): only the rows whose cell or
-- eligibility changed move.
CREATE FUNCTION coverage_workers_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH m AS (
        SELECT n.uan, n.state_code, n.district_code, n.gender, n.social_category,
               left(n.occupation_nco, 1) AS division, c.enrolled, c.eligible AS old_eligible,
               coverage_eligible(n.date_of_birth, n.monthly_income_inr, n.bank_account IS NOT NULL) AS eligible,
               o.state_code AS o_state, o.district_code AS o_district, o.gender AS o_gender,
               o.social_category AS o_category, left(o.occupation_nco, 1) AS o_division
          FROM new_workers n JOIN old_workers o USING (uan) JOIN worker_coverage c USING (uan)
    ), moved AS (
        SELECT * FROM m
         WHERE (state_code, district_code, gender, social_category, division, eligible)
               IS DISTINCT FROM (o_state, o_district, o_gender, o_category, o_division, old_eligible)
    ), masks AS (
        UPDATE worker_coverage c SET eligible = moved.eligible FROM moved
         WHERE c.uan = moved.uan AND c.eligible <> moved.eligible
        RETURNING c.uan
    ),
    moves AS (
        SELECT o_state AS state_code, o_district AS district_code, o_gender AS gender,
               o_category AS social_category, o_division AS division, enrolled, old_eligible AS eligible,
               -1 AS sign FROM moved
        UNION ALL
        SELECT state_code, district_code, gender, social_category, division, enrolled, eligible, 1
          FROM moved
    )
    INSERT INTO coverage_deltas
    SELECT m.state_code, m.district_code, m.gender, m.social_category, m.division,
           sum(m.sign),
           sum(m.sign * ((m.enrolled >> 0) & 1)),
           sum(m.sign * ((m.enrolled >> 1) & 1)),
           sum(m.sign * ((m.enrolled >> 2) & 1)),
           sum(m.sign * ((m.enrolled >> 3) & 1)),
           sum(m.sign * ((m.enrolled >> 4) & 1)),
           sum(m.sign * ((m.enrolled >> 5) & 1)),
           sum(m.sign * ((m.enrolled >> 6) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 0) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 1) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 2) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 3) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 4) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 5) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 6) & 1))
      FROM moves m
     GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END $$;

CREATE TRIGGER workers_coverage_update AFTER UPDATE ON workers
    REFERENCING OLD TABLE AS old_workers NEW TABLE AS new_workers FOR EACH STATEMENT
    EXECUTE FUNCTION coverage_workers_updated();

-- A worker removed: out of their cell, their masks with them.
CREATE FUNCTION coverage_worker_deleting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coverage_deltas
    SELECT m.state_code, m.district_code, m.gender, m.social_category, m.division,
           sum(m.sign),
           sum(m.sign * ((m.enrolled >> 0) & 1)),
           sum(m.sign * ((m.enrolled >> 1) & 1)),
           sum(m.sign * ((m.enrolled >> 2) & 1)),
           sum(m.sign * ((m.enrolled >> 3) & 1)),
           sum(m.sign * ((m.enrolled >> 4) & 1)),
           sum(m.sign * ((m.enrolled >> 5) & 1)),
           sum(m.sign * ((m.enrolled >> 6) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 0) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 1) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 2) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 3) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 4) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 5) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 6) & 1))
      FROM (SELECT OLD.state_code AS state_code, OLD.district_code AS district_code,
                 OLD.gender AS gender, OLD.social_category AS social_category,
                 left(OLD.occupation_nco, 1) AS division, c.enrolled, c.eligible, -1 AS sign
            FROM worker_coverage c WHERE c.uan = OLD.uan) m
     GROUP BY 1, 2, 3, 4, 5;
    DELETE FROM worker_coverage WHERE uan = OLD.uan;
    RETURN OLD;
END $$;

CREATE TRIGGER workers_coverage_delete BEFORE DELETE ON workers
    FOR EACH ROW EXECUTE FUNCTION coverage_worker_deleting();

-- A worker's links changed: their enrolled mask again, and their counts move within the cell.
CREATE FUNCTION coverage_relink(uans text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH m AS (
        SELECT c.uan, c.enrolled AS old_enrolled, coverage_enrolled(c.uan) AS enrolled, c.eligible
          FROM worker_coverage c WHERE c.uan = ANY (uans)
    ), changed AS (
        UPDATE worker_coverage c SET enrolled = m.enrolled FROM m
         WHERE c.uan = m.uan AND m.enrolled <> m.old_enrolled
        RETURNING m.uan, m.old_enrolled, m.enrolled, m.eligible
    ), moves AS (
        SELECT w.state_code, w.district_code, w.gender, w.social_category,
               left(w.occupation_nco, 1) AS division, x.enrolled, ch.eligible, x.sign
          FROM changed ch JOIN workers w USING (uan),
               LATERAL (VALUES (ch.old_enrolled, -1), (ch.enrolled, 1)) x (enrolled, sign)
    )
    INSERT INTO coverage_deltas
    SELECT m.state_code, m.district_code, m.gender, m.social_category, m.division,
           sum(m.sign),
           sum(m.sign * ((m.enrolled >> 0) & 1)),
           sum(m.sign * ((m.enrolled >> 1) & 1)),
           sum(m.sign * ((m.enrolled >> 2) & 1)),
           sum(m.sign * ((m.enrolled >> 3) & 1)),
           sum(m.sign * ((m.enrolled >> 4) & 1)),
           sum(m.sign * ((m.enrolled >> 5) & 1)),
           sum(m.sign * ((m.enrolled >> 6) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 0) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 1) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 2) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 3) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 4) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 5) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 6) & 1))
      FROM moves m
     GROUP BY 1, 2, 3, 4, 5;
END $$;

CREATE FUNCTION coverage_links_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM coverage_relink(ARRAY(SELECT DISTINCT uan FROM new_links));
    RETURN NULL;
END $$;
CREATE FUNCTION coverage_links_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM coverage_relink(ARRAY(SELECT uan FROM new_links UNION SELECT uan FROM old_links));
    RETURN NULL;
END $$;
CREATE FUNCTION coverage_links_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM coverage_relink(ARRAY(SELECT DISTINCT uan FROM old_links));
    RETURN NULL;
END $$;

CREATE TRIGGER scheme_links_coverage_insert AFTER INSERT ON scheme_links
    REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION coverage_links_inserted();
CREATE TRIGGER scheme_links_coverage_update AFTER UPDATE ON scheme_links
    REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links FOR EACH STATEMENT
    EXECUTE FUNCTION coverage_links_updated();
CREATE TRIGGER scheme_links_coverage_delete AFTER DELETE ON scheme_links
    REFERENCING OLD TABLE AS old_links FOR EACH STATEMENT EXECUTE FUNCTION coverage_links_deleted();

-- After `coverage_terms` changed (a new day, a new version of a rule): every worker's eligibility
-- again; the rows that changed move. The number moved.
CREATE FUNCTION coverage_recompute() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    moved_n bigint;
BEGIN
    CREATE TEMP TABLE coverage_moved ON COMMIT DROP AS
    SELECT * FROM (
        SELECT w.uan, w.state_code, w.district_code, w.gender, w.social_category,
               left(w.occupation_nco, 1) AS division, c.enrolled, c.eligible AS old_eligible,
               coverage_eligible(w.date_of_birth, w.monthly_income_inr, w.bank_account IS NOT NULL) AS eligible
          FROM workers w JOIN worker_coverage c USING (uan)
    ) m WHERE eligible <> old_eligible;
    UPDATE worker_coverage c SET eligible = m.eligible FROM coverage_moved m WHERE c.uan = m.uan;
    INSERT INTO coverage_deltas
    SELECT m.state_code, m.district_code, m.gender, m.social_category, m.division,
           sum(m.sign),
           sum(m.sign * ((m.enrolled >> 0) & 1)),
           sum(m.sign * ((m.enrolled >> 1) & 1)),
           sum(m.sign * ((m.enrolled >> 2) & 1)),
           sum(m.sign * ((m.enrolled >> 3) & 1)),
           sum(m.sign * ((m.enrolled >> 4) & 1)),
           sum(m.sign * ((m.enrolled >> 5) & 1)),
           sum(m.sign * ((m.enrolled >> 6) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 0) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 1) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 2) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 3) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 4) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 5) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 6) & 1))
      FROM (SELECT state_code, district_code, gender, social_category, division, enrolled,
                 old_eligible AS eligible, -1 AS sign FROM coverage_moved
          UNION ALL
          SELECT state_code, district_code, gender, social_category, division, enrolled, eligible, 1
            FROM coverage_moved) m
     GROUP BY 1, 2, 3, 4, 5;
    SELECT count(*) INTO moved_n FROM coverage_moved;
    DROP TABLE coverage_moved;
    RETURN moved_n;
END $$;

-- The workers already there: masks and cells (with no terms yet, nobody is eligible; the gateway
-- writes the terms at start and recomputes).
INSERT INTO worker_coverage (uan, enrolled, eligible) SELECT uan, coverage_enrolled(uan), 0 FROM workers;
INSERT INTO coverage_deltas
SELECT m.state_code, m.district_code, m.gender, m.social_category, m.division,
       sum(m.sign),
           sum(m.sign * ((m.enrolled >> 0) & 1)),
           sum(m.sign * ((m.enrolled >> 1) & 1)),
           sum(m.sign * ((m.enrolled >> 2) & 1)),
           sum(m.sign * ((m.enrolled >> 3) & 1)),
           sum(m.sign * ((m.enrolled >> 4) & 1)),
           sum(m.sign * ((m.enrolled >> 5) & 1)),
           sum(m.sign * ((m.enrolled >> 6) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 0) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 1) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 2) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 3) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 4) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 5) & 1)),
           sum(m.sign * (((m.eligible & ~m.enrolled) >> 6) & 1))
  FROM (SELECT w.state_code, w.district_code, w.gender, w.social_category,
                 left(w.occupation_nco, 1) AS division, c.enrolled, c.eligible, 1 AS sign
            FROM workers w JOIN worker_coverage c USING (uan)) m
 GROUP BY 1, 2, 3, 4, 5;
SELECT coverage_fold();

-- The cells as they stood at the end of each day (copied when the date turns): a report as on an
-- earlier day reads these.
CREATE TABLE coverage_snapshots (
    as_of date NOT NULL,
    LIKE coverage_cells,
    PRIMARY KEY (as_of, state_code, district_code, gender, social_category, division)
);
