-- Breach drills ("what did client C read after T?") are rare; a BRIN index on time (entries arrive
-- in time order) serves them and costs the hot append path almost nothing, unlike a B-tree.
DROP INDEX audit_log_client_at;
CREATE INDEX audit_log_at ON audit_log USING brin (at);
