-- Bloat: bad input gets clear errors, privileges follow pgstattuple, the lock
-- is never stronger than AccessShareLock, the estimate's confidence drops
-- where it should, and the view's DDL quotes identifiers.
BEGIN;
SELECT plan(30);

CREATE SCHEMA "Bloat Test";
CREATE TABLE "Bloat Test"."Odd ""Name""" (id int PRIMARY KEY, pad text)
  WITH (autovacuum_enabled = off);
INSERT INTO "Bloat Test"."Odd ""Name"""
  SELECT g, repeat('p', 60) FROM generate_series(1, 30000) g;
DELETE FROM "Bloat Test"."Odd ""Name""" WHERE id % 10 < 6;
CREATE VIEW bloat_v AS SELECT 1 AS x;
CREATE SEQUENCE bloat_s;
CREATE TABLE bloat_parted (id int) PARTITION BY RANGE (id);
CREATE TABLE bloat_h (id int);
CREATE INDEX bloat_h_hash ON bloat_h USING hash (id);
CREATE INDEX bloat_h_expr ON bloat_h ((id % 7));
CREATE INDEX bloat_h_part ON bloat_h (id) WHERE id > 100;
INSERT INTO bloat_h SELECT generate_series(1, 1000);

-- bad input
SELECT throws_ok($$SELECT * FROM architect.measure_bloat('bloat_v')$$, '42809',
                 '"bloat_v" is a view', 'a view is refused with a clear error');
SELECT throws_ok($$SELECT * FROM architect.measure_bloat('bloat_s')$$, '42809',
                 '"bloat_s" is a sequence', 'a sequence is refused');
SELECT throws_ok($$SELECT * FROM architect.measure_bloat('bloat_parted')$$, '42809',
                 '"bloat_parted" is partitioned and has no storage of its own',
                 'a partitioned table is refused');
SELECT throws_ok($$SELECT * FROM architect.measure_bloat('bloat_h_hash')$$, '0A000',
                 'index "bloat_h_hash" is not a btree index', 'a hash index is refused');
SELECT throws_ok($$SELECT * FROM architect.estimate_bloat('bloat_v')$$, '42809',
                 '"bloat_v" is a view', 'the estimate refuses a view too');

CREATE TEMP TABLE bloat_gone_oid AS SELECT 'bloat_h'::regclass::oid AS o;
CREATE TABLE bloat_gone (id int);
UPDATE bloat_gone_oid SET o = 'bloat_gone'::regclass::oid;
DROP TABLE bloat_gone;
SELECT throws_ok(format('SELECT * FROM architect.measure_bloat(%s::oid::regclass)', o), '42P01',
                 format('relation with OID %s does not exist', o),
                 'a dropped relation (stale OID) is refused with undefined_table')
  FROM bloat_gone_oid;
SELECT is((SELECT confidence_note FROM architect.estimate_bloat(o::regclass)),
          'skipped: locked by another session, or just dropped',
          'the estimate (used by the view over pg_class) skips a dropped relation instead of failing')
  FROM bloat_gone_oid;
SELECT throws_ok($$SELECT * FROM architect.measure_bloat('bloat_h', -1)$$, '22023', NULL,
                 'a negative sample_pages is refused');
SELECT is((SELECT architect.measure_bloat(NULL)), NULL, 'NULL relation gives NULL');

-- privileges
CREATE ROLE bloat_plain LOGIN;
CREATE ROLE bloat_reader LOGIN;
CREATE ROLE bloat_monitor LOGIN IN ROLE pg_monitor;
GRANT USAGE ON SCHEMA "Bloat Test" TO bloat_plain, bloat_reader;
GRANT SELECT ON "Bloat Test"."Odd ""Name""" TO bloat_reader;
GRANT EXECUTE ON FUNCTION architect.measure_bloat(regclass, integer) TO bloat_plain, bloat_reader;

SET ROLE bloat_plain;
SELECT throws_ok($$SELECT * FROM architect.measure_bloat('"Bloat Test"."Odd ""Name"""')$$, '42501',
                 'permission denied to measure bloat of "Odd "Name""',
                 'without SELECT or pg_stat_scan_tables: permission denied');
SELECT throws_ok($$SELECT * FROM architect.measure_bloat('"Bloat Test"."Odd ""Name""_pkey"')$$, '42501',
                 NULL, 'an index is checked against its table''s privileges');
SELECT throws_ok($$SELECT * FROM architect.bloat$$, '42501', NULL,
                 'a plain role cannot read architect.bloat');
RESET ROLE;
SET ROLE bloat_reader;
SELECT lives_ok($$SELECT * FROM architect.measure_bloat('"Bloat Test"."Odd ""Name"""')$$,
                'SELECT on the table is enough to measure it');
SELECT lives_ok($$SELECT * FROM architect.measure_bloat('"Bloat Test"."Odd ""Name""_pkey"')$$,
                'and its indexes');
RESET ROLE;
CREATE TEMP TABLE bloat_odd AS SELECT '"Bloat Test"."Odd ""Name"""'::regclass::oid AS o;
GRANT SELECT ON bloat_odd TO bloat_monitor;
SET ROLE bloat_monitor;
SELECT lives_ok(format('SELECT * FROM architect.measure_bloat(%s::oid::regclass, 0)', o),
                'pg_monitor (through pg_stat_scan_tables) measures any table, even in a schema it cannot use')
  FROM bloat_odd;
SELECT ok((SELECT count(*) FROM architect.bloat WHERE schema_name = 'Bloat Test') = 2,
          'pg_monitor reads architect.bloat: the table and its index');
RESET ROLE;

-- locks: measurement holds AccessShareLock and nothing stronger
SELECT ok(architect.measure_bloat('bloat_h', 0) IS NOT NULL, 'measure a table');
SELECT ok(architect.measure_bloat('bloat_h_expr') IS NOT NULL, 'measure an index');
SELECT is(ARRAY(SELECT DISTINCT mode FROM pg_locks
                 WHERE pid = pg_backend_pid() AND locktype = 'relation'
                   AND relation IN ('bloat_h'::regclass, 'bloat_h_expr'::regclass)
                   AND mode <> 'AccessExclusiveLock' -- taken by CREATE TABLE/INDEX in this transaction
                   AND NOT (mode = 'ShareLock' AND relation = 'bloat_h'::regclass)  -- CREATE INDEX
                   AND NOT (mode = 'RowExclusiveLock' AND relation = 'bloat_h'::regclass)), -- INSERT
          ARRAY['AccessShareLock'], 'measure_bloat takes AccessShareLock (see 40_bloat.t for a second session)');

-- measurement: the same figures as pgstattuple when exact
CREATE EXTENSION IF NOT EXISTS pgstattuple;
SELECT is((SELECT method FROM architect.measure_bloat('"Bloat Test"."Odd ""Name"""')), 'exact',
          'a small table is measured exactly by default');
SELECT is((SELECT round(bloat_pct::numeric, 2) FROM architect.measure_bloat('"Bloat Test"."Odd ""Name"""', 0)),
          (SELECT round((dead_tuple_percent + free_percent)::numeric, 2) FROM pgstattuple('"Bloat Test"."Odd ""Name"""')),
          'exact heap bloat_pct = pgstattuple dead_tuple_percent + free_percent');
SELECT is((SELECT (dead_bytes, live_bytes) FROM architect.measure_bloat('"Bloat Test"."Odd ""Name"""', 0)),
          (SELECT (dead_tuple_len, tuple_len) FROM pgstattuple('"Bloat Test"."Odd ""Name"""')),
          'exact live and dead bytes = pgstattuple tuple_len and dead_tuple_len');
SELECT is((SELECT method FROM architect.measure_bloat('"Bloat Test"."Odd ""Name"""', 10)), 'sampled',
          'an explicit sample_pages samples');
SELECT is((SELECT pages_read FROM architect.measure_bloat('"Bloat Test"."Odd ""Name""_pkey"', 10)), 11::bigint,
          'a btree sample reads the metapage and the sample');

-- estimate confidence
SELECT ok((SELECT confidence < 0.5 FROM architect.estimate_bloat('bloat_h')),
          'never analysed: low confidence');
SELECT ok((SELECT confidence_note LIKE '%expression index%' FROM architect.estimate_bloat('bloat_h_expr')),
          'an expression index says so');
SELECT ok((SELECT confidence_note LIKE '%partial index%' FROM architect.estimate_bloat('bloat_h_part')),
          'a partial index says so');

-- the view: low-confidence small relations are measured; DDL quotes identifiers
SELECT is((SELECT method FROM architect.bloat WHERE relation = '"Bloat Test"."Odd ""Name"""'::regclass),
          'exact', 'a weak estimate on a small table is replaced by an exact measurement');
SELECT is((SELECT remedy_ddl FROM architect.bloat WHERE relation = '"Bloat Test"."Odd ""Name"""'::regclass),
          'VACUUM (ANALYZE) "Bloat Test"."Odd ""Name""";',
          'a table full of dead rows gets VACUUM, its name quoted');

-- a weak estimate on a relation too big to read in the view: measure first
CREATE TABLE "Bloat Test".big_unknown (id int, pad text);
INSERT INTO "Bloat Test".big_unknown SELECT g, repeat('b', 80) FROM generate_series(1, 120000) g;
SELECT is((SELECT method || ' / ' || remedy || ' / ' || remedy_ddl FROM architect.bloat
            WHERE relation = '"Bloat Test".big_unknown'::regclass),
          'estimate / measure / SELECT * FROM architect.measure_bloat(''"Bloat Test".big_unknown'');',
          'a weak estimate above 8 MB gets "measure it", not DDL on a guess');

SELECT * FROM finish();
ROLLBACK;
