-- Hostile inputs for every C-implemented architect.* function (issue 12):
-- NULL, bogus oids, dropped relations, 1 MB strings, deeply nested SQL,
-- identifiers with quotes and semicolons.  Each gives a clear error with
-- its errcode (never a crash, never XX000), or a sane answer; an advisor
-- call on a pathological workload is cancelled by statement_timeout.
BEGIN;
SELECT plan(52);
SET LOCAL client_min_messages = warning;

CREATE TABLE hi_t (id int, b int, c int, d int, "we;ird""col" text);
CREATE TABLE hi_gone (a int);
CREATE TEMP TABLE hi_oid AS SELECT 'hi_gone'::regclass::oid AS o;
DROP TABLE hi_gone;
CREATE VIEW hi_v AS SELECT 1 AS one;

-- whatif
SELECT throws_ok($$SELECT * FROM architect.whatif(NULL, '{}')$$, '22004', NULL, 'whatif: NULL query');
SELECT throws_ok($$SELECT * FROM architect.whatif('SELECT 1', NULL)$$, '22004', NULL, 'whatif: NULL indexes');
SELECT throws_ok($$SELECT * FROM architect.whatif('SELECT 1', ARRAY[NULL])$$, '22004', NULL, 'whatif: a NULL index');
SELECT throws_ok($$SELECT * FROM architect.whatif('SELECT 1', ARRAY['CREATE INDEX ON hi_nosuch (a)'])$$, '42P01', NULL,
                 'whatif: an index on a missing table');
SELECT throws_ok($$SELECT * FROM architect.whatif('SELECT 1', ARRAY['DROP TABLE hi_t'])$$, '22023', NULL,
                 'whatif: an index that is not CREATE INDEX');
SELECT throws_ok($$SELECT * FROM architect.whatif('SELECT 1; DROP TABLE hi_t', '{}')$$, '22023', NULL,
                 'whatif: two statements, one a DROP');
SELECT throws_ok($$SELECT * FROM architect.whatif(repeat('x', 1000000), '{}')$$, '42601', NULL, 'whatif: a 1 MB string');
SELECT throws_ok($$SELECT * FROM architect.whatif('SELECT ' || repeat('(', 100000) || '1' || repeat(')', 100000), '{}')$$,
                 '42601', NULL, 'whatif: 100k nested parentheses stop in the parser');
SELECT throws_ok($$SELECT * FROM architect.whatif('SELECT ' || repeat('1+', 100000) || '1', '{}')$$,
                 '54001', NULL, 'whatif: a 100k-deep expression hits the stack depth limit');
SELECT lives_ok($$SELECT * FROM architect.whatif('SELECT * FROM hi_t', ARRAY['CREATE INDEX ON hi_t ("we;ird""col")'])$$,
                'whatif: a column named with a quote and a semicolon');
SELECT throws_ok($$SELECT * FROM architect.whatif('SELECT * FROM hi_t', ARRAY['CREATE INDEX ON hi_t (' || repeat('id,', 100) || 'id)'])$$,
                 '54011', NULL, 'whatif: 101 index columns');
SELECT throws_ok($$SELECT * FROM architect.whatif('SELECT * FROM hi_t', ARRAY['CREATE INDEX ON hi_t ((' || repeat('id+', 100000) || 'id))'])$$,
                 '54001', NULL, 'whatif: a 100k-deep index expression');

-- hypothetical_index
SELECT throws_ok($$SELECT * FROM architect.hypothetical_index(NULL)$$, '22004', NULL, 'hypothetical_index: NULL');
SELECT throws_ok($$SELECT * FROM architect.hypothetical_index('')$$, '22023', NULL, 'hypothetical_index: empty');
SELECT throws_ok($$SELECT * FROM architect.hypothetical_index(repeat('y', 1000000))$$, '42601', NULL, 'hypothetical_index: 1 MB');
SELECT throws_ok($$SELECT * FROM architect.hypothetical_index('CREATE INDEX ON hi_t USING gist (id)')$$, '0A000', NULL,
                 'hypothetical_index: an unsupported method');
SELECT throws_ok($$SELECT * FROM architect.hypothetical_index('CREATE INDEX ON hi_gone (a)')$$, '42P01', NULL,
                 'hypothetical_index: a dropped table');
SELECT lives_ok($$SELECT * FROM architect.hypothetical_index('CREATE INDEX ON hi_t ("we;ird""col")')$$,
                'hypothetical_index: a quoted identifier with a semicolon');
SELECT throws_ok($$SELECT * FROM architect.hypothetical_index('CREATE INDEX ON hi_t ((' || repeat('id+', 100000) || 'id))')$$,
                 '54001', NULL, 'hypothetical_index: a 100k-deep expression');

-- advise_query
SELECT throws_ok($$SELECT * FROM architect.advise_query(NULL)$$, '22004', NULL, 'advise_query: NULL');
SELECT throws_ok($$SELECT * FROM architect.advise_query('')$$, '22023', NULL, 'advise_query: empty');
SELECT throws_ok($$SELECT * FROM architect.advise_query(repeat('z', 1000000))$$, '42601', NULL, 'advise_query: 1 MB');
SELECT throws_ok($$SELECT * FROM architect.advise_query('VACUUM')$$, '0A000', NULL, 'advise_query: a utility statement');
SELECT throws_ok($$SELECT * FROM architect.advise_query('SELECT * FROM hi_t WHERE id = ' || repeat('1+', 100000) || '1')$$,
                 '54001', NULL, 'advise_query: a 100k-deep expression');
SELECT throws_ok($$SELECT * FROM architect.advise_query('SELECT * FROM hi_gone')$$, '42P01', NULL, 'advise_query: a dropped table');
SELECT lives_ok($$SELECT * FROM architect.advise_query('SELECT * FROM hi_t WHERE "we;ird""col" = ''x''')$$,
                'advise_query: a quoted identifier with a semicolon');

-- advise_workload: caller-given texts; bad ones are skipped with a NOTICE
SELECT throws_ok($$SELECT * FROM architect.advise_workload(NULL)$$, '22004', NULL, 'advise_workload: NULL');
SELECT throws_ok($$SELECT * FROM architect.advise_workload(ARRAY[NULL]::text[])$$, '22004', NULL, 'advise_workload: a NULL text');
SELECT throws_ok($$SELECT * FROM architect.advise_workload(ARRAY['SELECT 1'], ARRAY['NaN']::float8[])$$, '22023', NULL,
                 'advise_workload: a NaN weight');
SELECT throws_ok($$SELECT * FROM architect.advise_workload(ARRAY['SELECT 1'], ARRAY[1, 2]::float8[])$$, '2202E', NULL,
                 'advise_workload: weights of the wrong length');
SELECT throws_ok($$SELECT * FROM architect.advise_workload(ARRAY[[1, 2], [3, 4]]::text[])$$, '2202E', NULL,
                 'advise_workload: a two-dimensional array');
SELECT throws_ok($$SELECT * FROM architect.advise_workload(ARRAY['SELECT 1'], candidates => ARRAY['garbage'])$$, '42601', NULL,
                 'advise_workload: a garbage candidate');
SELECT lives_ok($$SELECT * FROM architect.advise_workload(ARRAY[repeat('q', 1000000),
                    'SELECT * FROM hi_t WHERE id = ' || repeat('1+', 100000) || '1', 'SELECT * FROM hi_gone'])$$,
                'advise_workload: a 1 MB string, a 100k-deep expression and a dropped table are skipped');
SELECT lives_ok($$SELECT * FROM architect.advise_workload(ARRAY['SELECT 1'], search_path => 'nosuch, "x;y"')$$,
                'advise_workload: a hostile search_path');

-- advise_captured: query ids only
SELECT throws_ok($$SELECT * FROM architect.advise_captured(NULL)$$, '22004', NULL, 'advise_captured: NULL');
SELECT lives_ok($$SELECT * FROM architect.advise_captured(ARRAY[NULL, -1, 0]::bigint[])$$, 'advise_captured: bogus query ids');
SELECT throws_ok($$SELECT * FROM architect.advise_captured(ARRAY[1], ARRAY['Infinity']::float8[])$$, '22023', NULL,
                 'advise_captured: an infinite weight');

-- bloat
SELECT lives_ok($$SELECT * FROM architect.measure_bloat(NULL)$$, 'measure_bloat: NULL (strict)');
SELECT throws_ok($$SELECT * FROM architect.measure_bloat(0)$$, '42P01', NULL, 'measure_bloat: oid 0');
SELECT throws_ok($$SELECT * FROM architect.measure_bloat((SELECT o FROM hi_oid))$$, '42P01', NULL, 'measure_bloat: a dropped table');
SELECT throws_ok($$SELECT * FROM architect.measure_bloat('hi_t', -5)$$, '22023', NULL, 'measure_bloat: negative sample');
SELECT throws_ok($$SELECT * FROM architect.measure_bloat('hi_v')$$, '42809', NULL, 'measure_bloat: a view');
SELECT lives_ok($$SELECT * FROM architect.estimate_bloat((SELECT o FROM hi_oid))$$, 'estimate_bloat: a dropped table');
SELECT throws_ok($$SELECT * FROM architect.estimate_bloat('hi_v')$$, '42809', NULL, 'estimate_bloat: a view');

-- check_ddl: errors of the classifier never surface; the parser's do
SELECT lives_ok($$SELECT * FROM architect.check_ddl(NULL)$$, 'check_ddl: NULL');
SELECT throws_ok($$SELECT * FROM architect.check_ddl('ALTER ' || repeat('w', 1000000))$$, '42601', NULL, 'check_ddl: 1 MB of garbage');
SELECT is((SELECT count(*) FROM architect.check_ddl(repeat('ALTER TABLE hi_t ADD COLUMN e int;', 30000))), 30000::bigint,
          'check_ddl: a 1 MB migration of 30000 statements');
SELECT is((SELECT count(*) FROM architect.check_ddl('ALTER TABLE hi_t ADD COLUMN e int DEFAULT ' || repeat('1+', 100000) || '1')),
          1::bigint, 'check_ddl: a 100k-deep default gives one row, never a crash');
SELECT is((SELECT relation FROM architect.check_ddl('ALTER TABLE "hi_t;DROP TABLE hi_t" ADD COLUMN e int')),
          '"hi_t;DROP TABLE hi_t"', 'check_ddl: a table name with a semicolon is quoted');

-- latency_histogram, status
SELECT lives_ok($$SELECT * FROM architect.latency_histogram(NULL)$$, 'latency_histogram: NULL');
SELECT lives_ok($$SELECT * FROM architect.latency_histogram(-1)$$, 'latency_histogram: a bogus query id');

-- A pathological workload is cancelled by statement_timeout, not run to the end.
CREATE FUNCTION pg_temp.cancelled(q text) RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE q;
  RETURN 'finished';
EXCEPTION WHEN query_canceled THEN
  RETURN 'cancelled';
END
$fn$;
SET LOCAL statement_timeout = '300ms';
SELECT is(pg_temp.cancelled($$SELECT count(*) FROM architect.advise_workload(ARRAY(
            SELECT format('SELECT * FROM hi_t a JOIN hi_t b ON a.id = b.b JOIN hi_t c ON c.c = b.d JOIN hi_t d ON d.id = c.b
                           JOIN hi_t e ON e.b = d.c JOIN hi_t f ON f.d = e.id WHERE a.c = %s AND f.b < %s', g, g)
              FROM generate_series(1, 3000) g))$$),
          'cancelled', 'an advisor call on a pathological workload respects statement_timeout');
SET LOCAL statement_timeout = 0;

SELECT * FROM finish();
ROLLBACK;
