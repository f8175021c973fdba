-- Links added can only add programmes to their workers' enrolled masks: the added links' bits are
-- or-ed into the masks, each worker's row locked and read as it is now, not as the statement's
-- snapshot saw it. Counting each worker's links again (`coverage_relink`, still used for links
-- changed or deleted) cost a look-up per worker in every sync page, and missed a link another
-- transaction committed meanwhile to the same worker.
CREATE OR REPLACE FUNCTION coverage_links_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH added AS (
        SELECT uan, bit_or(1 << programme_bit(scheme))::int AS bits
          FROM new_links
         WHERE ended_at IS NULL AND status NOT IN ('withdrawn', 'exited', 'cancelled', 'closed')
           AND programme_bit(scheme) IS NOT NULL
         GROUP BY uan
    ), m AS (
        SELECT c.uan, c.enrolled AS old_enrolled, c.enrolled | a.bits AS enrolled, c.eligible
          FROM worker_coverage c JOIN added a USING (uan)
         WHERE c.enrolled | a.bits <> c.enrolled
         ORDER BY c.uan
           FOR UPDATE OF c
    ), changed AS (
        UPDATE worker_coverage c SET enrolled = m.enrolled FROM m WHERE c.uan = m.uan
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
    RETURN NULL;
END $$;

-- Never read: the gaps are found by bit (`eligible & b <> 0`), which a B-tree on the two masks
-- cannot answer, and every change of a mask had to write it.
DROP INDEX worker_coverage_gaps;
