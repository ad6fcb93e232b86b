-- A live consultation's row is rewritten at every grant and every checkpoint (thousands a
-- minute on a busy node). With `lease_until` in an index, each rewrite added an entry to
-- every index of the table and left a dead one behind, and the grants slowed down as they
-- piled up. Without it no index covers a column those writes change, so PostgreSQL
-- rewrites the row in place on its page (a heap-only update), given room on the page.
-- The lapsed-lease sweep runs once per tick over the open consultations only, which the
-- partial indexes already list.
DROP INDEX consultations_lapsed;
ALTER TABLE consultations SET (fillfactor = 70);
