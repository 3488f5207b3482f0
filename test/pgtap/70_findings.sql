-- The findings register and the report: a clean schema stays quiet, optional
-- advisor views are picked up when they exist (proved with stand-in views of
-- the documented shape, created inside this rolled-back transaction; a real
-- view of that name is renamed out of the way first), reports parse, and a
-- plain role sees only what its privileges allow.
BEGIN;
SELECT plan(51);

-- Work without any optional source, whatever this build has installed.
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

-- ---- a clean schema produces no high-severity findings ---------------------
CREATE SCHEMA clean;
CREATE TABLE clean.customer (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE clean.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                           customer_id bigint NOT NULL REFERENCES clean.customer,
                           placed_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX orders_customer_id_idx ON clean.orders (customer_id);
INSERT INTO clean.customer (name) SELECT 'c' || g FROM generate_series(1, 200) g;
INSERT INTO clean.orders (customer_id) SELECT 1 + g % 200 FROM generate_series(1, 2000) g;
ANALYZE clean.customer, clean.orders;

-- (the server's own setup, replication and security posture, is not the schema's)
SELECT is((SELECT count(*) FROM architect.findings WHERE severity IN ('critical', 'high')
             AND category NOT IN ('replication', 'security')), 0::bigint,
          'a clean schema: no critical or high finding in the database');
SELECT is((SELECT count(*) FROM architect.findings
            WHERE object LIKE 'clean.%' AND severity NOT IN ('low', 'info')), 0::bigint,
          'a clean schema: nothing above low about it');
SELECT is((SELECT count(*) FROM architect.schema_findings WHERE object LIKE 'clean.%'), 0::bigint,
          'a clean schema: no schema lint at all');

-- ---- the register -------------------------------------------------------------
CREATE SCHEMA flaws;
CREATE TABLE flaws."Child Table" (a int, b int);
CREATE INDEX a1 ON flaws."Child Table" (a);
CREATE INDEX a2 ON flaws."Child Table" (a);
CREATE SEQUENCE flaws.almost AS smallint;
DO $$ BEGIN PERFORM setval('flaws.almost', 32000); END $$;

SELECT ok((SELECT bool_and(severity IN ('critical', 'high', 'medium', 'low', 'info'))
             AND bool_and(effort IN ('low', 'medium', 'high'))
             AND bool_and(evidence IS NOT NULL AND recommendation IS NOT NULL)
             FROM architect.findings), 'every finding has a known severity, effort, evidence and recommendation');
SELECT ok((SELECT bool_and(architect._severity_order(f.severity) >= architect._severity_order(g.severity))
             FROM architect.findings f JOIN architect.findings g ON g.rank = f.rank - 1),
          'ranked by severity');
SELECT results_eq($$SELECT finding_id FROM architect.findings ORDER BY rank$$,
                  $$SELECT finding_id FROM architect.findings() ORDER BY rank$$,
                  'finding ids are stable between two runs');
SELECT is((SELECT finding_id FROM architect.findings WHERE object = 'flaws.a2'),
          'F' || left(md5('index/duplicate/flaws.a2'), 12), 'the id is a hash of category, check and object');
SELECT is((SELECT severity FROM architect.findings WHERE object = 'flaws.almost'), 'critical',
          'a smallint sequence at 97 % is critical');
SELECT is((SELECT ddl FROM architect.findings WHERE object = 'flaws.a2'),
          'DROP INDEX CONCURRENTLY flaws.a2', 'the duplicate index comes with its DROP');
SELECT is((SELECT rollback_ddl FROM architect.findings WHERE object = 'flaws.a2'),
          'CREATE INDEX CONCURRENTLY a2 ON flaws."Child Table" USING btree (a)', 'and the CREATE that restores it');

-- ---- no optional source: sections are null, snapshot says why ---------------------
SELECT is((architect.report('json')::jsonb)->'top_statements', 'null'::jsonb,
          'without capture, json top_statements is null');
SELECT is((architect.report('json')::jsonb)->>'capture_installed', 'false', 'and capture_installed is false');
SELECT throws_ok($$SELECT architect.snapshot('x')$$, '55000', 'workload capture is not installed',
                 'snapshot without architect.statements fails with 55000');
SELECT is((SELECT count(*) FROM architect.findings WHERE source NOT IN
             ('architect.index_health', 'architect.schema_findings', 'architect.workload_findings',
              'architect.replication_findings', 'architect.security_findings', 'architect.security_coverage')),
          0::bigint, 'no optional source, no optional findings');

-- ---- stand-in views of the documented shape are picked up ----------------------
CREATE VIEW architect.index_advice AS
  SELECT 'flaws."Child Table"'::regclass AS relation, ARRAY['b']::text[] AS columns, 'btree'::text AS method,
         'CREATE INDEX CONCURRENTLY ON flaws."Child Table" (b)'::text AS ddl,
         'DROP INDEX CONCURRENTLY flaws."Child Table_b_idx"'::text AS rollback_ddl,
         16384::bigint AS est_size_bytes, 72.5::numeric AS est_benefit_pct,
         ARRAY[42::bigint] AS improved_queryids, 'low'::text AS write_overhead,
         'seq scan filtering 99 % of rows on b'::text AS reason;
CREATE VIEW architect.bloat AS
  SELECT 'flaws."Child Table"'::regclass AS relation, 1768734720::bigint AS size_bytes, 734003200::bigint AS wasted_bytes,
         41.5::numeric AS bloat_pct, 'sampled'::text AS method, 'high'::text AS confidence,
         'VACUUM FULL flaws."Child Table"'::text AS remedy_ddl
  UNION ALL
  SELECT 'flaws.a1'::regclass, 16384, 1024, 5, 'estimate', 'low', 'REINDEX INDEX CONCURRENTLY flaws.a1';
CREATE VIEW architect.plan_regressions AS
  SELECT 42::bigint AS queryid, 111::bigint AS old_planid, 222::bigint AS new_planid,
         1.5::float8 AS old_mean_ms, 9.0::float8 AS new_mean_ms;

SELECT results_eq($$SELECT category, check_name, severity, ddl FROM architect.findings WHERE source = 'architect.index_advice'$$,
                  $$VALUES ('index_advice', 'missing_index', 'high', 'CREATE INDEX CONCURRENTLY ON flaws."Child Table" (b)')$$,
                  'index advice is in the register, severity from est_benefit_pct');
SELECT ok((SELECT evidence LIKE '%seq scan filtering%72.5 %%' FROM architect.findings WHERE source = 'architect.index_advice'),
          'with its reason and estimated benefit as evidence');
SELECT results_eq($$SELECT object, severity, ddl FROM architect.findings WHERE source = 'architect.bloat'$$,
                  $$VALUES ('flaws."Child Table"', 'medium', 'VACUUM FULL flaws."Child Table"')$$,
                  'bloat above the noise floor is in the register (the 1 kB index is not)');
SELECT results_eq($$SELECT category, object, severity FROM architect.findings WHERE source = 'architect.plan_regressions'$$,
                  $$VALUES ('plan', 'queryid 42', 'high')$$, 'plan regressions are in the register');
SELECT ok((SELECT evidence LIKE '%new_mean_ms=9%' FROM architect.findings WHERE source = 'architect.plan_regressions'),
          'with their figures as evidence');
SELECT is(((architect.report('json')::jsonb)->'bloat'->0->>'wasted_bytes')::bigint, 734003200::bigint,
          'json report lists bloat');
SELECT ok(architect.report('html') LIKE '%<svg%id="chart-bloat"%', 'html report has the bloat chart');

-- capture: statements and plans
CREATE TABLE flaws.fake_stats (queryid bigint, query text, calls bigint, total_ms float8,
                               p50_ms float8, p95_ms float8, p99_ms float8, temp_blks bigint,
                               hit bigint, rd bigint);
INSERT INTO flaws.fake_stats VALUES
  (42, 'SELECT * FROM "Child Table" WHERE b = $1', 100, 900, 8, 12, 20, 0, 10, 5),
  (43, 'SELECT * FROM big ORDER BY x <script>', 10, 5000, 400, 600, 700, 262144, 100, 200000);
CREATE VIEW architect.statements AS
  SELECT 10::oid AS userid, (SELECT oid FROM pg_database WHERE datname = current_database()) AS dbid,
         queryid, true AS toplevel, query, calls, 0::bigint AS errors,
         calls AS rows, total_ms, total_ms / calls AS mean_ms, p50_ms / 2 AS min_ms, p99_ms * 2 AS max_ms,
         p50_ms, p95_ms, p99_ms, hit AS shared_blks_hit, rd AS shared_blks_read,
         temp_blks AS temp_blks_written, 0::numeric AS wal_bytes, 1::bigint AS plans,
         now() AS first_seen, now() AS last_seen
    FROM flaws.fake_stats;
CREATE TABLE flaws.fake_plans (queryid bigint, planid bigint, calls bigint, mean_ms float8, p95_ms float8, plan text);
INSERT INTO flaws.fake_plans VALUES (42, 111, 100, 9, 12, 'Seq Scan'), (43, 500, 10, 500, 600, 'Sort');
CREATE VIEW architect.plans AS
  SELECT queryid, planid, calls, mean_ms, p95_ms, now() AS first_seen, now() AS last_seen, plan FROM flaws.fake_plans;

SELECT results_eq($$SELECT check_name, severity FROM architect.findings WHERE object = 'queryid 43 (role ' || pg_get_userbyid(10) || ')' ORDER BY 1$$,
                  $$VALUES ('low_cache_hit_statement', 'low'), ('temp_spill_statement', 'medium')$$,
                  'statements that spill and miss the cache are in the register');
SELECT is(jsonb_array_length((architect.report('json')::jsonb)->'top_statements'), 2, 'json report lists the top statements');
SELECT is((architect.report('json')::jsonb)->'top_statements'->0->>'queryid', '43', 'ordered by total time');
SELECT ok(architect.report('html') LIKE '%<svg%id="chart-latency"%', 'html report has the latency chart');
SELECT is((SELECT count(*)::int FROM regexp_matches(architect.report('html'), '<rect class="bar"', 'g')), 4 + 6 + 1,
          'one bar per severity, three per statement (p50, p95, p99), one per own relation of at least 1 MB');
SELECT ok(architect.report('html') NOT LIKE '%<script>%' AND architect.report('html') LIKE '%&lt;script&gt;%',
          'html escapes what it prints');
SELECT ok(architect.report('markdown') LIKE '%| 43 | 10 | 5000 | 400 | 600 | 700 |%',
          'markdown lists the percentiles');

-- snapshots and compare
SELECT is((SELECT (s).statements FROM (SELECT architect.snapshot('before') AS s) x), 2, 'snapshot stores the statements');
SELECT is((SELECT plans FROM architect.snapshots WHERE label = 'before'), 2, 'and the plans');
SELECT ok((SELECT findings > 0 FROM architect.snapshots WHERE label = 'before'), 'and the findings');
SELECT throws_ok($$SELECT architect.snapshot('before')$$, '23505', 'snapshot "before" already exists', 'labels are unique');
SELECT throws_ok($$SELECT architect.snapshot(' ')$$, '22023', 'snapshot label must not be empty', 'labels are not empty');
UPDATE flaws.fake_stats SET p50_ms = p50_ms / 4, p95_ms = p95_ms / 4, p99_ms = p99_ms / 4 WHERE queryid = 42;
UPDATE flaws.fake_stats SET p95_ms = p95_ms * 2 WHERE queryid = 43;
UPDATE flaws.fake_plans SET planid = 112 WHERE queryid = 42;
DO $$ BEGIN PERFORM architect.snapshot('after'); END $$;
SELECT results_eq($$SELECT queryid, p50_change_pct, p95_change_pct, p99_change_pct, plans_a, plans_b, plan_changed, verdict
                      FROM architect.compare('before', 'after')$$,
                  $$VALUES (43::bigint, 0.0, 100.0, 0.0, '{500}'::bigint[], '{500}'::bigint[], false, 'slower'),
                           (42::bigint, -75.0, -75.0, -75.0, '{111}'::bigint[], '{112}'::bigint[], true, 'faster')$$,
                  'compare: percentiles, plan change and verdict per statement, regressions first');
SELECT throws_ok($$SELECT * FROM architect.compare('before', 'nope')$$, '22023', 'snapshot "nope" does not exist',
                 'compare names the missing snapshot');
SELECT ok(architect.drop_snapshot('after') AND NOT architect.drop_snapshot('after'), 'drop_snapshot removes once');

SELECT throws_ok($$SELECT * FROM architect.workload_findings('-1 s')$$, '22023',
                 'idle_in_transaction_after must be a non-negative interval', 'a negative threshold is refused');

-- ---- formats ----------------------------------------------------------------
SELECT throws_ok($$SELECT architect.report('pdf')$$, '22023', 'unknown report format "pdf"', 'unknown format is refused');
SELECT lives_ok($$SELECT architect.report('json')::json$$, 'json report parses');
SELECT ok(architect.report() LIKE 'pg_architect report: database %FINDINGS%', 'text is the default');

-- a failing advisor is skipped with a warning, the rest of the register stands
DROP VIEW architect.plan_regressions;
CREATE VIEW architect.plan_regressions AS SELECT (1 / (g - 1))::bigint AS queryid FROM generate_series(1, 1) g;
SET client_min_messages = error;
SELECT ok((SELECT count(*) FROM architect.findings WHERE source = 'architect.plan_regressions') = 0
          AND (SELECT count(*) FROM architect.findings WHERE source = 'architect.bloat') = 1,
          'a failing optional source is skipped, the others stay');
RESET client_min_messages;

-- text, markdown and html list 200 findings and point to the rest; json has all
DO $$ BEGIN FOR i IN 1 .. 201 LOOP EXECUTE format('CREATE TABLE flaws.nopk%s (a int)', i); END LOOP; END $$;
SELECT ok(architect.report('text') ~ format('\.\.\. and %s more findings: SELECT \* FROM architect\.findings WHERE rank > 200',
                                            (SELECT count(*) - 200 FROM architect.findings)),
          'text report lists 200 findings and says how many more there are');
SELECT is(jsonb_array_length((architect.report('json')::jsonb)->'findings')::bigint,
          (SELECT count(*) FROM architect.findings), 'json report has every finding');

-- ---- privileges ------------------------------------------------------------------
CREATE ROLE pga_plain LOGIN;
CREATE ROLE pga_mon LOGIN IN ROLE pg_monitor;
GRANT USAGE ON SCHEMA flaws TO pga_plain;
SET ROLE pga_plain;
SELECT is((SELECT count(*) FROM architect.findings WHERE object LIKE 'flaws.%' OR object LIKE 'clean.%'), 0::bigint,
          'a plain role sees no finding about tables it has no privilege on');
SELECT ok((architect.report('json')::jsonb)->'findings' IS NOT NULL
          AND NOT architect.report('html') LIKE '%flaws.%', 'a plain role gets a report, without the tables it cannot see');
SELECT throws_ok($$SELECT architect.snapshot('p')$$, '42501', NULL, 'a plain role cannot take snapshots');
SELECT is((SELECT count(*) FROM architect.compare('before', 'before')), 0::bigint,
          'and compare shows it none of the statements other roles ran');
RESET ROLE;
GRANT SELECT ON flaws."Child Table" TO pga_plain;
SET ROLE pga_plain;
SELECT is((SELECT count(*) FROM architect.findings WHERE object = 'flaws.a2'), 1::bigint,
          'with SELECT on the table it sees the findings about it');
SELECT is((SELECT count(*) FROM architect.findings WHERE object = 'flaws.almost'), 0::bigint,
          'but not the sequence it may not read');
RESET ROLE;
SET ROLE pga_mon;
SELECT ok((SELECT count(*) FROM architect.findings WHERE object LIKE 'flaws.%') >= 3, 'pg_monitor sees every table');
SELECT lives_ok($$SELECT * FROM architect.compare('before', 'before')$$, 'and compares snapshots');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
