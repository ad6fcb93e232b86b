-- A live consultation's row is rewritten at every grant and every checkpoint (thousands a
-- minute on a busy node); with `lease_until` in an index each rewrite also moved an index
-- entry. The lapsed-lease sweep runs once per tick over the open consultations only,
-- which the partial indexes already list.
DROP INDEX consultations_lapsed;
