-- Who sees which statement text through what pg_architect implements in SQL.
--
-- The rule is pg_stat_statements': texts with constants only for
-- superusers, members of pg_read_all_stats (pg_monitor is one) and the role
-- that ran the statement.  The C views (statements, plans, scans,
-- ddl_log) apply it themselves and have their own tests; this file checks
-- that nothing built on them re-exposes a text: the findings evidence, the
-- report in every format, snapshots and compare(), the snapshot tables,
-- advice_log, and the DDL log section of the report.
--
-- Two plain roles each run a statement carrying their own constant (one
-- that spills to disk, so it becomes a temp_spill_statement finding with
-- the text in its evidence) and a DDL statement carrying one; a superuser
-- takes a snapshot; then every surface is read as superuser, each plain
-- role, a pg_monitor member and a pg_read_all_stats member.  A third plain
-- role runs a statement in another database (through dblink, so it needs
-- a committed role and database, made before the test transaction and
-- dropped after it).
SET client_min_messages = warning;
DROP DATABASE IF EXISTS pga_vis_other;
CREATE DATABASE pga_vis_other;
DROP ROLE IF EXISTS pga_v_other;
CREATE ROLE pga_v_other LOGIN;
BEGIN;
SELECT plan(21);
SET client_min_messages = warning;
SELECT architect.reset() AS pga_reset \gset

CREATE ROLE pga_v_plain1;
CREATE ROLE pga_v_plain2;
CREATE ROLE pga_v_mon IN ROLE pg_monitor;
CREATE ROLE pga_v_stats IN ROLE pg_read_all_stats;
CREATE SCHEMA vis;
GRANT USAGE, CREATE ON SCHEMA vis TO pga_v_plain1, pga_v_plain2;

-- ---- the workload ---------------------------------------------------------------
SET work_mem = '64kB';
SET ROLE pga_v_plain1;
SELECT 'VICTIM-CONSTANT-1' AS c, g FROM generate_series(1, 60000) g ORDER BY g DESC OFFSET 59999 \gset
SELECT 'VICTIM-CONSTANT-1' AS c, g FROM generate_series(1, 60000) g ORDER BY g DESC OFFSET 59999 \gset
CREATE TABLE vis.p1 (a int, note text DEFAULT 'DDL-SECRET-1');
RESET ROLE;
SET ROLE pga_v_plain2;
SELECT 'OTHER-CONSTANT-2' AS c, g FROM generate_series(1, 60000) g ORDER BY g DESC OFFSET 59999 \gset
SELECT 'OTHER-CONSTANT-2' AS c, g FROM generate_series(1, 60000) g ORDER BY g DESC OFFSET 59999 \gset
CREATE TABLE vis.p2 (a int, note text DEFAULT 'DDL-SECRET-2');
RESET ROLE;
RESET work_mem;
CREATE EXTENSION dblink;
SELECT dblink_connect('other', format('dbname=pga_vis_other user=pga_v_other host=%s port=%s',
                                      current_setting('unix_socket_directories'), current_setting('port'))) AS other \gset
SELECT dblink_exec('other', 'SET work_mem = ''64kB''') AS other \gset
-- (the constant is assembled, so that this statement's own text does not hold it)
SELECT count(*) AS other FROM dblink('other', format($$SELECT %L AS c, g FROM generate_series(1, 60000) g ORDER BY g DESC OFFSET 59999$$, 'OTHERDB-' || 'CONSTANT-3')) AS t(c text, g int) \gset
SELECT count(*) AS other FROM dblink('other', format($$SELECT %L AS c, g FROM generate_series(1, 60000) g ORDER BY g DESC OFFSET 59999$$, 'OTHERDB-' || 'CONSTANT-3')) AS t(c text, g int) \gset
SELECT dblink_disconnect('other') AS other \gset
-- The test's own statements are not workload: they must not crowd the two
-- statements out of the report's top ten.
SET pg_architect.track = 'none';

SELECT ok((SELECT count(*) FROM architect.statements
            WHERE query LIKE '%VICTIM-CONSTANT-1%' OR query LIKE '%OTHER-CONSTANT-2%' OR query LIKE '%OTHERDB-CONSTANT-3%') = 3
          AND (SELECT bool_and(temp_blks_written > 0) FROM architect.statements
                WHERE query LIKE '%VICTIM-CONSTANT-1%' OR query LIKE '%OTHER-CONSTANT-2%' OR query LIKE '%OTHERDB-CONSTANT-3%'),
          'setup: the three statements are captured, and they spilled to disk');
SELECT ok(architect.report('json') LIKE '%DDL-SECRET-1%' AND architect.report('json') LIKE '%DDL-SECRET-2%',
          'setup: both DDL statements are in the report''s DDL log, for a superuser');
SELECT (architect.snapshot('vis')).label AS pga_snap \gset

-- ---- read every surface as every role ---------------------------------------------
CREATE TEMP TABLE seen (who text, surface text, content text);
GRANT INSERT ON seen TO PUBLIC;
CREATE FUNCTION pg_temp.look(who text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pg_temp.seen
  SELECT who, 'findings evidence', string_agg(evidence, ' | ') FROM architect.findings
  UNION ALL SELECT who, 'report text', architect.report('text')
  UNION ALL SELECT who, 'report markdown', architect.report('markdown')
  UNION ALL SELECT who, 'report json', architect.report('json')
  UNION ALL SELECT who, 'report html', architect.report('html')
  UNION ALL SELECT who, 'compare', string_agg(query, ' | ') FROM architect.compare('vis', 'vis')
  UNION ALL SELECT who, 'visible_snapshot_statements', string_agg(query, ' | ') FROM architect.visible_snapshot_statements
  UNION ALL SELECT who, 'visible_snapshot_plans', string_agg(plan, ' | ') FROM architect.visible_snapshot_plans;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.look(text) TO PUBLIC;

SELECT pg_temp.look('superuser') AS l \gset
SET ROLE pga_v_plain1;
SELECT pg_temp.look('plain1') AS l \gset
RESET ROLE;
SET ROLE pga_v_plain2;
SELECT pg_temp.look('plain2') AS l \gset
RESET ROLE;
SET ROLE pga_v_mon;
SELECT pg_temp.look('pg_monitor') AS l \gset
RESET ROLE;
SET ROLE pga_v_stats;
SELECT pg_temp.look('pg_read_all_stats') AS l \gset
RESET ROLE;

-- expected: who sees which constant, per surface
CREATE TEMP TABLE expected (who text, secret text, sees boolean, surface text);
-- the statement of the other database: like pg_stat_statements for the
-- readers of all statements, but findings are about this database only
INSERT INTO expected
SELECT who, 'OTHERDB-CONSTANT-3', who IN ('superuser', 'pg_monitor', 'pg_read_all_stats'), NULL
  FROM unnest(ARRAY['superuser', 'plain1', 'plain2', 'pg_monitor', 'pg_read_all_stats']) who
UNION ALL
SELECT who, 'OTHERDB-CONSTANT-3', false, 'findings evidence'
  FROM unnest(ARRAY['superuser', 'plain1', 'plain2', 'pg_monitor', 'pg_read_all_stats']) who;
INSERT INTO expected (who, secret, sees) VALUES
  ('superuser', 'VICTIM-CONSTANT-1', true),  ('superuser', 'OTHER-CONSTANT-2', true),
  ('plain1', 'VICTIM-CONSTANT-1', true),     ('plain1', 'OTHER-CONSTANT-2', false),
  ('plain2', 'VICTIM-CONSTANT-1', false),    ('plain2', 'OTHER-CONSTANT-2', true),
  ('pg_monitor', 'VICTIM-CONSTANT-1', true), ('pg_monitor', 'OTHER-CONSTANT-2', true),
  ('pg_read_all_stats', 'VICTIM-CONSTANT-1', true), ('pg_read_all_stats', 'OTHER-CONSTANT-2', true);

CREATE FUNCTION pg_temp.mismatches(surf text) RETURNS text[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg(format('%s %s %s', e.who, CASE WHEN e.sees THEN 'should see' ELSE 'must not see' END, e.secret)
                            ORDER BY e.who, e.secret), '{}')
    FROM pg_temp.expected e
    JOIN pg_temp.seen s ON s.who = e.who AND s.surface = surf
   WHERE coalesce(strpos(s.content, e.secret) > 0, false) IS DISTINCT FROM e.sees
     AND (e.surface = surf
          OR e.surface IS NULL AND NOT EXISTS (SELECT 1 FROM pg_temp.expected o
                                                WHERE o.who = e.who AND o.secret = e.secret AND o.surface = surf))
$$;

SELECT is((SELECT count(DISTINCT who)::int FROM seen), 5, 'every surface was read by the five roles');
SELECT is(pg_temp.mismatches('findings evidence'), '{}', 'findings evidence: each statement text only to its role, superusers and pg_read_all_stats');
SELECT is(pg_temp.mismatches('report text'), '{}', 'report text: likewise');
SELECT is(pg_temp.mismatches('report markdown'), '{}', 'report markdown: likewise');
SELECT is(pg_temp.mismatches('report json'), '{}', 'report json: likewise');
SELECT is(pg_temp.mismatches('report html'), '{}', 'report html: likewise');
SELECT is(pg_temp.mismatches('compare'), '{}', 'compare(): likewise, over a snapshot a superuser took');
SELECT is(pg_temp.mismatches('visible_snapshot_statements'), '{}', 'visible_snapshot_statements: likewise');

SELECT is((SELECT array_agg(who ORDER BY who) FROM seen
            WHERE surface = 'visible_snapshot_plans' AND content IS NOT NULL),
          ARRAY['pg_monitor', 'pg_read_all_stats', 'superuser'],
          'snapshot plan texts (constants of whoever ran first) only for superusers and pg_read_all_stats');
SELECT is((SELECT array_agg(who ORDER BY who) FROM seen
            WHERE surface = 'report json' AND content LIKE '%DDL-SECRET-1%' AND content LIKE '%DDL-SECRET-2%'),
          ARRAY['pg_monitor', 'superuser'],
          'the report''s DDL log section (architect.ddl_log is granted to pg_monitor): for pg_monitor and superusers');
SELECT is((SELECT array_agg(who ORDER BY who) FROM seen
            WHERE surface = 'report json' AND (content LIKE '%DDL-SECRET-1%' OR content LIKE '%DDL-SECRET-2%')),
          ARRAY['pg_monitor', 'superuser'],
          'and for nobody else');

-- ---- the tables behind them ---------------------------------------------------------
SET ROLE pga_v_plain1;
SELECT throws_ok($$SELECT * FROM architect.snapshot_statements$$, '42501', NULL,
                 'a plain role cannot read snapshot_statements (every role''s texts)');
SELECT throws_ok($$SELECT * FROM architect.snapshot_plans$$, '42501', NULL, 'nor snapshot_plans');
SELECT throws_ok($$SELECT * FROM architect.snapshot_findings$$, '42501', NULL, 'nor snapshot_findings (evidence quotes texts)');
SELECT throws_ok($$SELECT * FROM architect.advice_log$$, '42501', NULL, 'nor advice_log');
SELECT is((SELECT count(*) FROM architect.visible_snapshot_plans WHERE plan IS NULL) > 0, true,
          'it sees the plan ids of its own statements, without the text');
SELECT is((SELECT array_agg(DISTINCT userid) FROM architect.visible_snapshot_statements),
          ARRAY['pga_v_plain1'::regrole::oid], 'and only its own snapshot statements');
SELECT throws_ok($$SELECT architect.snapshot('mine')$$, '42501', NULL, 'it cannot take snapshots');
RESET ROLE;

SET ROLE pga_v_mon;
SELECT lives_ok($$SELECT * FROM architect.snapshot_statements, architect.snapshot_plans,
                                architect.snapshot_findings, architect.advice_log LIMIT 1$$,
                'a pg_monitor member reads the snapshot tables and advice_log');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
DROP DATABASE pga_vis_other;
DROP ROLE pga_v_other;
