-- Bloat accuracy on built tables, against contrib pgstattuple / pgstatindex
-- computed in the same test: exact = pgstattuple; the default sample within
-- 3 points for tables and 5 for btree indexes, reading at most its budget:
-- 10 % of the pages, or up to 1 000 pages when the pilot sample finds the
-- bloat unevenly spread (bl_upd: updated rows moved to new pages); tier 1
-- close on fresh statistics and low-confidence on stale ones.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_architect;
CREATE EXTENSION IF NOT EXISTS pgstattuple;
RESET client_min_messages;
SELECT setseed(0.25);

CREATE FUNCTION pg_temp.truth(r regclass) RETURNS float8 LANGUAGE sql AS $$
  SELECT CASE WHEN (SELECT relkind FROM pg_class WHERE oid = r) = 'i'
              THEN (SELECT 100 * (1 - avg_leaf_density / 90) FROM pgstatindex(r))
              ELSE (SELECT dead_tuple_percent + free_percent FROM pgstattuple(r)) END $$;

-- one line per relation: within bounds, and how it was measured
CREATE FUNCTION pg_temp.check(r regclass)
RETURNS TABLE (relation regclass, method text, exact_matches boolean,
               sampled_within_bound boolean, within_read_budget boolean)
LANGUAGE sql AS $$
  SELECT r, m.method,
         abs(x.bloat_pct - pg_temp.truth(r)) < 0.01,
         abs(m.bloat_pct - pg_temp.truth(r)) <=
           CASE WHEN (SELECT relkind FROM pg_class WHERE oid = r) = 'i' THEN 5 ELSE 3 END,
         m.method = 'exact' OR m.pages_read <= greatest(0.10 * m.relation_pages, 1000 + 5)
    FROM architect.measure_bloat(r) m, architect.measure_bloat(r, 0) x $$;

-- narrow rows, 40 % deleted at random; wide rows with TOAST, 70 % deleted;
-- medium rows, half of them updated
CREATE TABLE bl_narrow (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = off);
INSERT INTO bl_narrow SELECT g, g FROM generate_series(1, 400000) g;
CREATE TABLE bl_wide (id int PRIMARY KEY, doc text) WITH (autovacuum_enabled = off);
INSERT INTO bl_wide
  SELECT g, (SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 70) i)
    FROM generate_series(1, 3000) g;
CREATE TABLE bl_upd (id int PRIMARY KEY, n int, label text) WITH (autovacuum_enabled = off);
INSERT INTO bl_upd SELECT g, 0, md5(g::text) FROM generate_series(1, 150000) g;
ANALYZE bl_narrow, bl_wide, bl_upd;
DELETE FROM bl_narrow WHERE random() < 0.40;
DELETE FROM bl_wide WHERE random() < 0.70;
UPDATE bl_upd SET n = 1 WHERE random() < 0.5;
SELECT pg_stat_force_next_flush();

-- dead tuples in place
SELECT c.* FROM unnest(ARRAY['bl_narrow', 'bl_narrow_pkey', 'bl_upd', 'bl_upd_pkey']::regclass[]) r,
                pg_temp.check(r) c;
-- small relations are read exactly by default
SELECT method, abs(bloat_pct - pg_temp.truth('bl_wide')) < 0.01 AS matches
  FROM architect.measure_bloat('bl_wide');
SELECT method, abs(bloat_pct - pg_temp.truth(t.reltoastrelid::regclass)) < 0.01 AS toast_matches
  FROM pg_class t, architect.measure_bloat(t.reltoastrelid::regclass) WHERE t.relname = 'bl_wide';

VACUUM bl_narrow, bl_wide, bl_upd;
SELECT pg_stat_force_next_flush();

-- dead space turned into free space: the visibility map now spares reads
SELECT c.* FROM unnest(ARRAY['bl_narrow', 'bl_narrow_pkey', 'bl_upd', 'bl_upd_pkey']::regclass[]) r,
                pg_temp.check(r) c;
SELECT pages_read < 0.05 * relation_pages AS all_visible_pages_not_read
  FROM architect.measure_bloat('bl_narrow');

-- an explicit sample reads that many pages (a btree: plus its metapage)
SELECT method, pages_read, error_bound_pct > 0 AS has_bound
  FROM architect.measure_bloat('bl_narrow_pkey', 50);

-- tier 1 on fresh statistics is close; on stale statistics it says so
ANALYZE bl_narrow;
SELECT abs(bloat_pct - pg_temp.truth('bl_narrow')) < 5 AS tier1_close, confidence >= 0.9 AS confident
  FROM architect.estimate_bloat('bl_narrow');
UPDATE bl_upd SET label = repeat(label, 4);
SELECT pg_stat_force_next_flush();
SELECT confidence < 0.5 AS low_confidence,
       confidence_note LIKE '%of rows changed since the last ANALYZE' AS says_why
  FROM architect.estimate_bloat('bl_upd');

-- the view lists them with a remedy (bl_upd left out: its figures depend on
-- when this session's activity counters were flushed)
SELECT relation, kind, method, remedy, remedy_ddl
  FROM architect.bloat WHERE relation::text ~ '^bl_(narrow|wide)' ORDER BY relation::text;

DROP TABLE bl_narrow, bl_wide, bl_upd;
