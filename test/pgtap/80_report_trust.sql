-- A report a DBA trusts at first read (issue 19): one finding per problem,
-- readable numbers, bloat of the DBA's own relations only, no reserved word
-- as a column name, and no "unused" verdict on seconds of statistics.  Each
-- defect has its scenario here; optional advisor views are replaced by
-- stand-ins of the documented shape inside this rolled-back transaction
-- (the real ones renamed out of the way), so the figures are exact.
BEGIN;
SELECT plan(38);

DO $$
DECLARE v text;
BEGIN
    FOREACH v IN ARRAY ARRAY['statements', 'plans', 'plan_regressions', 'index_advice', 'bloat', 'ddl_log'] LOOP
        IF to_regclass('architect.' || v) IS NOT NULL THEN
            EXECUTE format('ALTER TABLE architect.%I RENAME TO %I', v, v || '_real_for_test');
        END IF;
    END LOOP;
END
$$;

-- ---- no reserved word as a column name ----------------------------------------
-- Reserved (R) and type/function-name (T) keywords cannot be a column name
-- without quotes: SELECT check FROM ... is a syntax error.
SELECT is((SELECT string_agg(format('%s.%s (%s)', x.object, x.col, k.catcode), ', ')
             FROM (SELECT c.relname::text AS object, a.attname::text AS col
                     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                    WHERE c.relnamespace = 'architect'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped) x
             JOIN pg_get_keywords() k ON k.word = x.col AND k.catcode IN ('R', 'T')),
          NULL, 'no column of an architect table, view or type is a reserved or type/function-name keyword');
SELECT is((SELECT string_agg(format('%s: %s (%s)', x.fn, x.arg, k.catcode), ', ')
             FROM (SELECT p.oid::regprocedure::text AS fn, u.arg
                     FROM pg_proc p, unnest(p.proargnames) AS u(arg)
                    WHERE p.pronamespace = 'architect'::regnamespace) x
             JOIN pg_get_keywords() k ON k.word = x.arg AND k.catcode IN ('R', 'T')),
          NULL, 'no argument or result column of an architect function is one either');
SELECT lives_ok($$SELECT check_name FROM architect.findings LIMIT 1$$, 'findings.check_name, unquoted');
SELECT lives_ok($$SELECT check_name FROM architect.schema_findings LIMIT 1$$, 'schema_findings.check_name');
SELECT lives_ok($$SELECT check_name FROM architect.workload_findings LIMIT 1$$, 'workload_findings.check_name');
SELECT lives_ok($$SELECT check_name FROM architect.snapshot_findings LIMIT 1$$, 'snapshot_findings.check_name');
SELECT lives_ok($$SELECT table_name FROM architect.index_health LIMIT 1$$, 'index_health.table_name');

-- ---- the shop of the demo: a foreign key without index -------------------------
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE shop.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                          customer_id int NOT NULL REFERENCES shop.customers,
                          status text NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX orders_status ON shop.orders (status);
CREATE INDEX orders_status_again ON shop.orders (status);
INSERT INTO shop.customers SELECT g, 'c' || g FROM generate_series(1, 2000) g;
INSERT INTO shop.orders (customer_id, status, created_at)
SELECT 1 + g % 2000, 'new', now() - g * interval '1 minute' FROM generate_series(1, 20000) g;
ANALYZE shop.customers, shop.orders;

SELECT is((SELECT severity FROM architect.findings WHERE check_name = 'fk_without_index' AND object LIKE 'shop.orders.%'),
          'high', 'without advice, the foreign key without index is a finding of its own');

-- ---- an unused verdict needs pg_architect.min_unused_window ----------------------
RESET pg_architect.min_unused_window;
SELECT is(architect._min_unused_window(), interval '7 days', 'the minimum window defaults to 7 days');
SELECT results_eq($$SELECT kind, severity, ddl IS NULL, rollback_ddl IS NULL FROM architect.index_health
                     WHERE index = 'shop.orders_status'::regclass$$,
                  $$VALUES ('unused', 'info', true, true)$$,
                  'an index unscanned for seconds: severity info, no DROP offered');
SELECT ok((SELECT evidence ~ '^insufficient evidence \(window .*, pg_architect\.min_unused_window 7 days\): index shop\.orders_status has not been scanned'
             FROM architect.index_health WHERE index = 'shop.orders_status'::regclass),
          'its evidence says "insufficient evidence" and states the window and the minimum');
SELECT is((SELECT severity || ' / ' || recommendation FROM architect.findings WHERE object = 'shop.orders_status'),
          'info / Nothing to do yet: judge it once the statistics cover pg_architect.min_unused_window (a full workload cycle).',
          'the register says to wait, not to drop');
SET pg_architect.min_unused_window = 0;
SELECT results_eq($$SELECT kind, severity, ddl FROM architect.index_health WHERE index = 'shop.orders_status'::regclass$$,
                  $$VALUES ('unused', 'low', 'DROP INDEX CONCURRENTLY shop.orders_status')$$,
                  'with the minimum lowered explicitly, the verdict and its DROP come');
SELECT ok(architect.report() ~ '\nUnused-index verdicts: pg_architect\.min_unused_window is lowered to 0 in this session',
          'and the report header says the minimum was lowered');
-- the only index serving a foreign key is never called unused: dropping it
-- would bring back fk_without_index
CREATE TABLE shop.lines (id int PRIMARY KEY, order_id bigint REFERENCES shop.orders);
CREATE INDEX lines_order_id ON shop.lines (order_id);
SELECT is((SELECT count(*) FROM architect.index_health WHERE index = 'shop.lines_order_id'::regclass), 0::bigint,
          'the only index serving a foreign key is not unused, even with no scan');
RESET pg_architect.min_unused_window;

-- ---- one finding per problem ------------------------------------------------------------
-- The advisor proposes (customer_id, created_at): it serves the foreign key
-- too, so the single-column CREATE INDEX of the lint is absorbed.  Numbers
-- as the advisor really returns them (float8, 15 digits).
CREATE VIEW architect.index_advice AS
  SELECT 'shop.orders'::regclass AS relation, ARRAY['customer_id', 'created_at']::text[] AS columns,
         'btree'::text AS method,
         'CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_created_at_idx ON shop.orders USING btree (customer_id, created_at)'::text AS ddl,
         'DROP INDEX CONCURRENTLY IF EXISTS shop.orders_customer_id_created_at_idx'::text AS rollback_ddl,
         9445376::bigint AS est_size_bytes, 24.41982700989777::float8 AS est_benefit_pct,
         ARRAY[1159369199686482997, -385420811670352776]::bigint[] AS improved_queryids,
         4.956445152048831::float8 AS write_overhead,
         'equality columns first, then the range column; used by 2 statements'::text AS reason
  UNION ALL
  -- one index under two names, with and without the options: the same fix twice
  SELECT 'shop.orders'::regclass, ARRAY['created_at']::text[], 'btree',
         'CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders created idx" ON shop.orders USING btree (created_at)',
         'DROP INDEX CONCURRENTLY IF EXISTS shop."orders created idx"', 1000000, 3.3333333333::float8,
         ARRAY[7]::bigint[], 1.23456789::float8, 'single column'
  UNION ALL
  SELECT 'shop.orders'::regclass, ARRAY['created_at']::text[], 'btree',
         'CREATE INDEX ON shop.orders (created_at)', 'DROP INDEX shop.orders_created_at_idx', 1000000,
         2.5::float8, ARRAY[7]::bigint[], 1.23456789::float8, 'single column';
CREATE TABLE shop.fake_stats (queryid bigint, query text, calls bigint, total_ms float8);
INSERT INTO shop.fake_stats VALUES (1159369199686482997, 'SELECT count(*) FROM shop.orders WHERE customer_id = $1', 60, 3562.2123456),
                                   (-385420811670352776, 'SELECT 1', 60, 3250.2311111),
                                   (99, 'SELECT * FROM architect.findings', 3, 1.5);
CREATE VIEW architect.statements AS
  SELECT 10::oid AS userid, (SELECT oid FROM pg_database WHERE datname = current_database()) AS dbid,
         queryid, true AS toplevel, query, calls, 0::bigint AS errors, calls AS rows, total_ms,
         total_ms / calls AS mean_ms, 0.001::float8 AS min_ms, total_ms AS max_ms,
         total_ms / calls AS p50_ms, 1.5 * total_ms / calls AS p95_ms, 2 * total_ms / calls AS p99_ms,
         0::bigint AS shared_blks_hit, 0::bigint AS shared_blks_read, 0::bigint AS temp_blks_written,
         0::numeric AS wal_bytes, 1::bigint AS plans, now() AS first_seen, now() AS last_seen
    FROM shop.fake_stats;

-- plan regressions as capture reports them (float8 figures), one of them
-- of pg_architect's own reading of its views
CREATE VIEW architect.plan_regressions AS
  SELECT * FROM (VALUES (1159369199686482997::bigint, 4749985355920072398::bigint, 4688098457299414218::bigint,
                         7::bigint, 53::bigint, 7.245857142857143::float8, 10.27309433962264::float8,
                         17.488406067802277::float8, 25.60477532386932::float8, 1.46::numeric),
                        (99, 1, 2, 3, 3, 0.1, 0.5, 0.1, 0.5, 5.0))
    AS r(queryid, previous_planid, current_planid, previous_calls, current_calls, previous_mean_ms,
         current_mean_ms, previous_p95_ms, current_p95_ms, p95_slowdown);
SELECT results_eq($$SELECT object, key_number, evidence ~ 'current_p95_ms=25\.6, ' AND evidence ~ 'current_planid=4688098457299414218'
                      FROM architect.findings WHERE category = 'plan'$$,
                  $$VALUES ('queryid 1159369199686482997', 'about 160 ms lost', true)$$,
                  'plan regressions: figures rounded (ids kept whole), time lost as the key number, none for pg_architect''s own statements');

SELECT is((SELECT count(*) FROM architect.findings WHERE check_name = 'fk_without_index' AND object LIKE 'shop.orders.%'),
          0::bigint, 'the foreign key is no finding of its own once an advice leads with its column');
SELECT is((SELECT count(*) FROM architect.schema_findings WHERE check_name = 'fk_without_index' AND object LIKE 'shop.orders.%'),
          1::bigint, '(the lint itself still reports it)');
SELECT results_eq($$SELECT severity, evidence ~ 'also resolves fk_without_index shop\.orders\.orders_customer_id_fkey$'
                      FROM architect.findings WHERE object = 'shop.orders (customer_id, created_at)'$$,
                  $$VALUES ('high', true)$$,
                  'the composite advice absorbs it, says so, and takes its higher severity');
SELECT is((SELECT count(*) FROM architect.findings
            WHERE ddl ~ '^CREATE INDEX' AND ddl ~ 'shop\.orders' AND ddl ~ '\(customer_id'), 1::bigint,
          'one CREATE INDEX for the customer lookups, not two');
SELECT is((SELECT count(*) FROM architect.findings f
            WHERE f.ddl IS NOT NULL
              AND EXISTS (SELECT 1 FROM architect.findings g
                           WHERE g.rank < f.rank AND architect._ddl_key(g.ddl) = architect._ddl_key(f.ddl))),
          0::bigint, 'no two findings carry the same fix (CONCURRENTLY, IF NOT EXISTS and index names aside)');
SELECT results_eq($$SELECT evidence ~ 'also resolves missing_index shop\.orders \(created_at\)$' FROM architect.findings
                     WHERE object = 'shop.orders (created_at)'$$,
                  $$VALUES (true)$$, 'the same index advised twice is one finding, which names the other');
SELECT is(architect._ddl_key('CREATE INDEX CONCURRENTLY IF NOT EXISTS "a b" ON s.t USING btree (x)'),
          architect._ddl_key('CREATE INDEX ON s.t (x)'), 'an index name with a space does not make another fix');
SELECT isnt(architect._ddl_key('CREATE INDEX ON s.t (x, y)'), architect._ddl_key('CREATE INDEX ON s.t (x)'),
            'other columns do');

-- ---- readable numbers ---------------------------------------------------------------------
SELECT is((SELECT string_agg(evidence, ' | ') FROM architect.findings WHERE evidence ~ '\d\.\d{4,}'), NULL,
          'no number in any evidence carries more than 3 decimals');
SELECT ok((SELECT evidence LIKE '%estimated benefit 24.4 % of the captured workload''s cost (about 1.66 s of 6.81 s captured)%'
             FROM architect.findings WHERE object = 'shop.orders (customer_id, created_at)'),
          'the benefit in % and in time, with units and sensible precision');
SELECT results_eq($$SELECT key_number, impact_ms FROM architect.findings WHERE object = 'shop.orders (customer_id, created_at)'$$,
                  $$VALUES ('about 1.66 s saved', 1663.587::numeric)$$,  -- 24.4198... % of 3562.212 + 3250.231 ms
                  'its key number is the time it saves');
SELECT is(ARRAY[architect._num(7696.657123), architect._num(10.829445703709693), architect._num(3.167192921692792),
                architect._num(0.0421), architect._ms(4111.61), architect._ms(0.0474)],
          ARRAY['7697', '10.8', '3.17', '0.042', '4.11 s', '0.047 ms'], 'numbers: at most 3 decimals, fewer as they grow');
SELECT is((SELECT count(*) FROM regexp_matches(architect.report('text', true), '\d\.\d{4,}', 'g')), 0::bigint,
          'nor anywhere in the detailed text report');

-- ---- bloat: the DBA's own relations, ranked by reclaimable bytes --------------------------
CREATE VIEW architect.bloat AS
  SELECT * FROM (VALUES
    ('pg_statistic'::regclass, 'table', 50000000::bigint, 30000000::bigint, 60.0::numeric),
    ((SELECT reltoastrelid FROM pg_class WHERE oid = 'pg_rewrite'::regclass)::regclass, 'toast table', 40000000, 25000000, 62.5),
    ('shop.customers'::regclass, 'table', 98304, 40000, 40.7),
    ('shop.orders'::regclass, 'table', 1500000000, 600000000, 40.0),
    ('shop.orders_status_again'::regclass, 'btree index', 200000000, 90000000, 45.0),
    ('shop.orders_pkey'::regclass, 'btree index', 50000000, 20000000, 40.0))
    AS b(relation, kind, size_bytes, wasted_bytes, bloat_pct)
  CROSS JOIN LATERAL (SELECT 'exact'::text AS method, 1.0 AS confidence, 'rewrite'::text AS remedy,
                             format('VACUUM FULL %s;', b.relation) AS remedy_ddl) r;
SELECT is((SELECT string_agg(x->>'relation', ', ' ORDER BY o)
             FROM jsonb_array_elements(architect.report('json')::jsonb->'bloat') WITH ORDINALITY AS t(x, o)),
          'shop.orders, shop.orders_status_again, shop.orders_pkey',
          'report bloat: own relations by reclaimable bytes; no catalog, no catalog TOAST, nothing under 1 MB');
SELECT is((SELECT string_agg(object, ', ' ORDER BY rank) FROM architect.findings WHERE category = 'bloat'),
          'shop.orders, shop.orders_pkey', 'bloat findings: no catalog, and none for an index another finding drops');
SELECT ok((SELECT evidence ~ 'also resolves bloat shop\.orders_status_again' FROM architect.findings
            WHERE object = 'shop.orders_status_again'), 'the duplicate index absorbs its own bloat');
SELECT is((SELECT key_number FROM architect.findings WHERE category = 'bloat' AND object = 'shop.orders'),
          '572 MB reclaimable', 'a bloat finding''s key number is the bytes it gives back');

-- ---- the report a DBA reads -----------------------------------------------------------------
SELECT ok(architect.report() ~ '\nServer .*, PostgreSQL .*, pg_architect .*; generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]+\.\n'
          AND architect.report() ~ '\nObservation window: statistics since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]+ \('
          AND architect.report() ~ 'Unused-index verdicts need 7 days of statistics \(pg_architect\.min_unused_window\)',
          'the header: server, version, observation window and the minimum for unused verdicts');
SELECT is((SELECT string_agg(x->>'rank', ',') FROM jsonb_array_elements(architect.report('json')::jsonb->'top_actions') x),
          (SELECT string_agg(rank::text, ',' ORDER BY rank) FROM (SELECT rank FROM architect.findings
             WHERE ddl IS NOT NULL AND severity <> 'info' ORDER BY rank LIMIT 3) t),
          'top actions: the three best ranked findings that come with DDL');
SELECT ok(architect.report() !~ '\n +(evidence|ddl|rollback):' AND architect.report('text', true) ~ '\n +ddl: ',
          'one line per finding by default; evidence and DDL with detail => true');
SELECT throws_ok($$SELECT architect.report('text', NULL)$$, '22004', 'detail must not be null', 'detail NULL is refused');

-- what changed since the last snapshot
DO $$ BEGIN PERFORM architect.snapshot('nightly'); END $$;
CREATE TABLE shop.no_key (a int);
UPDATE shop.fake_stats SET total_ms = total_ms * 3;
SELECT ok(architect.report() ~ '\nCHANGES SINCE SNAPSHOT "nightly" \(\d{4}-[^)]*\)\n  1 new findings, 0 resolved, 2 statements with p95 changed by 10 % or more\n  new: no_primary_key shop\.no_key',
          'a section says what changed since the last snapshot');

SELECT * FROM finish();
ROLLBACK;
