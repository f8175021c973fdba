-- A change of `coverage_terms` recomputes every worker's eligibility, but a transaction already
-- writing workers when it commits has read the terms before the change and counts its workers
-- under them. The change leaves a mark here: once every transaction running at its commit has
-- ended (`bound`, a transaction id assigned just after it committed; NULL until then), the
-- eligibility is recomputed once more and the mark removed.
CREATE TABLE coverage_settle (
    bound xid8
);
