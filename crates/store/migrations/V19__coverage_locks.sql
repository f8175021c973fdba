-- Coverage under concurrent writers. Three triggers change a worker's masks and move their counts
-- between cells: links added (V18), links changed or deleted (`coverage_relink`), a worker's cell
-- or eligibility changed (`coverage_workers_updated`). Each read the masks, and the worker's cell,
-- from its statement's snapshot. Two transactions changing the same worker at once (two schemes'
-- syncs, or a sync and a state's batch moving the worker) could then each compute from the state
-- before the other: a programme's bit lost from the mask, or a link's count left in the cell the
-- worker had just left.
--
-- Now the workers' mask rows are locked first, in UAN order, by a statement of their own; the
-- statements that compute come after it and (under READ COMMITTED, a new snapshot for each
-- statement of a volatile function) read everything committed by whoever held those rows before.
-- Whoever comes after reads what this one wrote. `coverage_recompute`'s callers lock the masks of
-- the workers it will move in the same way first (`store::coverage`).

CREATE FUNCTION coverage_lock_masks(uans text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM worker_coverage WHERE uan = ANY (uans) ORDER BY uan FOR UPDATE;
END $$;

-- Links changed or deleted: V16's count of the workers' links, after the lock.
ALTER FUNCTION coverage_relink(text[]) RENAME TO coverage_relink_locked;
CREATE FUNCTION coverage_relink(uans text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM coverage_lock_masks(uans);
    PERFORM coverage_relink_locked(uans);
END $$;

-- Links added, and workers updated: a trigger that locks, then the trigger that counts (V18's and
-- V16's, unchanged). Triggers of one kind fire in the order of their names.
CREATE FUNCTION coverage_links_inserting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM coverage_lock_masks(ARRAY(
        SELECT DISTINCT uan FROM new_links
         WHERE ended_at IS NULL AND status NOT IN ('withdrawn', 'exited', 'cancelled', 'closed')
           AND programme_bit(scheme) IS NOT NULL));
    RETURN NULL;
END $$;
DROP TRIGGER scheme_links_coverage_insert ON scheme_links;
CREATE TRIGGER scheme_links_coverage_insert_1_lock AFTER INSERT ON scheme_links
    REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION coverage_links_inserting();
CREATE TRIGGER scheme_links_coverage_insert_2_count AFTER INSERT ON scheme_links
    REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION coverage_links_inserted();

-- The workers that `coverage_workers_updated` moves: a cell or an eligibility changed.
CREATE FUNCTION coverage_workers_updating() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM coverage_lock_masks(ARRAY(
        SELECT n.uan FROM new_workers n JOIN old_workers o USING (uan) JOIN worker_coverage c USING (uan)
         WHERE (n.state_code, n.district_code, n.gender, n.social_category, left(n.occupation_nco, 1),
                coverage_eligible(n.date_of_birth, n.monthly_income_inr, n.bank_account IS NOT NULL))
               IS DISTINCT FROM
               (o.state_code, o.district_code, o.gender, o.social_category, left(o.occupation_nco, 1),
                c.eligible)));
    RETURN NULL;
END $$;
DROP TRIGGER workers_coverage_update ON workers;
CREATE TRIGGER workers_coverage_update_1_lock AFTER UPDATE ON workers
    REFERENCING OLD TABLE AS old_workers NEW TABLE AS new_workers FOR EACH STATEMENT
    EXECUTE FUNCTION coverage_workers_updating();
CREATE TRIGGER workers_coverage_update_2_move AFTER UPDATE ON workers
    REFERENCING OLD TABLE AS old_workers NEW TABLE AS new_workers FOR EACH STATEMENT
    EXECUTE FUNCTION coverage_workers_updated();
