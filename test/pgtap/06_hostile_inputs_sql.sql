-- Hostile inputs to the functions pg_architect implements in SQL and
-- plpgsql: NULLs, bogus oids, dropped relations, 1 MB strings, labels and
-- identifiers with quotes and semicolons, unknown formats.  Each gets a
-- clear error with an errcode (and an error message of bounded size), or a
-- sane result; never a crash, never an echo of a megabyte.  (The C
-- functions' hostile inputs are tested with them.)
--
-- Then generated DDL: a schema, tables, columns, indexes, constraints and
-- a sequence named with quotes, spaces, semicolons and upper case flow
-- through index_health, schema_findings and findings, and every ddl and
-- rollback_ddl they produce executes (CONCURRENTLY dropped: pgTAP runs in a
-- transaction block) without touching anything else.
BEGIN;
SELECT plan(44);

-- The SQLSTATE a statement ends with, NULL when it succeeds.
CREATE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE q;
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $f$;

SET client_min_messages = warning;

-- Every SQL / plpgsql function with arguments must appear here.
CREATE TEMP TABLE covered (fn regprocedure);
INSERT INTO covered VALUES
  ('architect.report(text,boolean)'), ('architect.snapshot(text)'), ('architect.compare(text,text)'),
  ('architect.drop_snapshot(text)'), ('architect.workload_findings(interval)'),
  ('architect.advise_pg_stat_statements(integer)'),
  ('architect.record_advice(text[],double precision[],bigint[],text)'),
  ('architect._optional_source(text)'), ('architect._svg_bars(text,text,jsonb,text[],text[],text,boolean)'),
  ('architect._report_text(jsonb,boolean,boolean)'), ('architect._report_html(jsonb)'),
  ('architect._report_more(jsonb)'), ('architect._can_see(oid,"char")'),
  ('architect._concurrent_indexdef(oid)'), ('architect._xid_severity(bigint)'),
  ('architect._severity_order(text)'), ('architect._effort_order(text)'),
  ('architect._finding_id(text,text,text)'), ('architect._html(text)'), ('architect._md(text)'),
  ('architect._pct_change(double precision,double precision)'), ('architect._sees_texts_of(oid)'),
  -- migrations (65_migrations.sql)
  ('architect.plan_migration(text,interval,integer,text)'), ('architect.check_migration(text,text,bigint,text)'),
  ('architect.runbook(text,text,text)'), ('architect.rehearse(text,text,boolean,text)'),
  ('architect.run_with_lock_timeout(text,interval,integer,interval,text)'),
  ('architect.backfill(regclass,text,text,integer,interval)'),
  ('architect.catalog_description(regclass)'), ('architect.catalog_fingerprint(regclass)'),
  ('architect._stmts(text,text)'), ('architect._ddl(text,text)'), ('architect._lock_rank(text)'),
  ('architect._rate(text)'), ('architect._secs(bigint,text,double precision)'),
  ('architect._rewrite_secs(oid,bigint)'),
  ('architect._step(integer,text,text,text,text,text,boolean,boolean,bigint,numeric,boolean,text,text,text,text)'),
  ('architect._predicted_name(text,text,text)'),
  ('architect._inverse(text,oid,text,text,text,text,text,text,text)'),
  ('architect._verify_column(text,text,text)'), ('architect._verify_constraint(text,text,boolean)'),
  ('architect._not_null_steps(integer,text,text,text,bigint)'),
  ('architect._backfill_step(integer,text,text,text,bigint,text)'),
  ('architect._check_script(text,text,text,boolean)'), ('architect._plan_migration(text,interval,integer,text)'),
  ('architect._rehearse(text,text,boolean,text)'), ('architect._resolve(text,text)'),
  ('architect._fingerprints(text[],text)'), ('architect._filenodes(text[],text)'),
  ('architect._check_migration(text,text,bigint,text)'), ('architect._runbook(text,text,text)'),
  -- the report's formatting helpers (85_report.sql, 80_findings.sql)
  ('architect._ddl_key(text)'), ('architect._impact(text,text,numeric)'), ('architect._ms(numeric)'),
  ('architect._num(numeric)'), ('architect._own_relation(regclass)'),
  ('architect._report_header_lines(jsonb)'), ('architect._ts(timestamp with time zone)'),
  -- replicas and security posture (05_node, 06_imported, 73, 74, 95)
  ('architect._hba_line(text,text[],text[],text,text,text)'), ('architect._import_check_array(jsonb,text,jsonb)'),
  ('architect._import_invalid(text,text)'), ('architect._index_used_on_imported_node(name,name,timestamp with time zone)'),
  ('architect._require_primary(text)'), ('architect._visible_setting(text)'), ('architect.drop_imported_node(text)'),
  ('architect.import_stats(jsonb,text)'), ('architect.replication_findings(bigint,interval,bigint,interval,bigint)');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text
                  FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
                  JOIN pg_language l ON l.oid = p.prolang
                 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
                   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_architect')
                   AND l.lanname IN ('sql', 'plpgsql') AND p.pronargs > 0
                   AND p.oid NOT IN (SELECT fn FROM covered)
                 ORDER BY 1),
          '{}'::text[], 'every SQL / plpgsql architect function with arguments has hostile inputs below');

-- ---- report ------------------------------------------------------------------
SELECT throws_ok($$SELECT architect.report(NULL)$$, '22023', 'unknown report format "<NULL>"', 'report(NULL): 22023');
SELECT throws_ok($$SELECT architect.report('xml')$$, '22023', 'unknown report format "xml"', 'report(''xml''): 22023');
SELECT throws_ok($$SELECT architect.report(repeat('x', 1000000))$$, '22023',
                 'unknown report format "' || repeat('x', 40) || '..."', 'report(1 MB): 22023, the format cut to 40 characters in the message');
SELECT throws_ok($$SELECT architect.report('html''; DROP TABLE x; --')$$, '22023', NULL, 'report(quotes and semicolons): 22023');
SELECT ok(architect.report(' HTML ') LIKE '<!DOCTYPE html>%', 'report(''  HTML '') is html');

-- ---- snapshots ------------------------------------------------------------------
SELECT throws_ok($$SELECT architect.snapshot(NULL)$$, '22004', 'snapshot label must not be null', 'snapshot(NULL): 22004');
SELECT throws_ok($$SELECT architect.snapshot(repeat('z', 1000000))$$, '22023', 'snapshot label is too long (1000000 bytes)',
                 'snapshot(1 MB label): 22023, not an index row error');
SELECT throws_ok($$SELECT architect.snapshot(repeat('é', 101))$$, '22023', 'snapshot label is too long (202 bytes)',
                 'the limit counts bytes (multibyte labels)');
SELECT lives_ok($$SELECT architect.snapshot('a''; DROP TABLE x; --"b"')$$, 'a label with quotes and semicolons is a label');
SELECT is((SELECT count(*) FROM architect.snapshots WHERE label = 'a''; DROP TABLE x; --"b"'), 1::bigint, 'stored verbatim');
SELECT lives_ok($$SELECT * FROM architect.compare('a''; DROP TABLE x; --"b"', 'a''; DROP TABLE x; --"b"')$$,
                'compare reads it back');
SELECT throws_ok($$SELECT * FROM architect.compare(NULL, NULL)$$, '22004', 'snapshot labels must not be null',
                 'compare(NULL, NULL): 22004, not "snapshot "", "" does not exist"');
SELECT throws_ok($$SELECT * FROM architect.compare('a''; DROP TABLE x; --"b"', NULL)$$, '22004', NULL, 'compare(label, NULL): 22004');
SELECT throws_ok($$SELECT * FROM architect.compare(repeat('y', 1000000), 'b')$$, '22023',
                 'snapshot "' || repeat('y', 64) || '...", "b" does not exist', 'compare(1 MB label): 22023, the label cut in the message');
SELECT throws_ok($$SELECT architect.drop_snapshot(NULL)$$, '22004', 'snapshot label must not be null', 'drop_snapshot(NULL): 22004');
SELECT is(architect.drop_snapshot(repeat('z', 1000000)), false, 'drop_snapshot(1 MB label): false');
SELECT is(architect.drop_snapshot('a''; DROP TABLE x; --"b"'), true, 'drop_snapshot(quotes and semicolons) drops that one');

-- ---- findings, advice -------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM architect.workload_findings(NULL)$$, '22023', NULL, 'workload_findings(NULL): 22023');
SELECT throws_ok($$SELECT * FROM architect.advise_pg_stat_statements(NULL)$$, '22023', NULL, 'advise_pg_stat_statements(NULL): 22023');
SELECT throws_ok($$SELECT * FROM architect.advise_pg_stat_statements(-5)$$, '22023', NULL, 'advise_pg_stat_statements(-5): 22023');
SELECT throws_ok($$SELECT * FROM architect.record_advice(ARRAY[NULL::text])$$, '22004', NULL, 'record_advice with a NULL statement: 22004');
SELECT is((SELECT count(*) FROM architect.record_advice(ARRAY[repeat('x', 1000000)])), 0::bigint,
          'record_advice of a 1 MB non-statement: skipped, nothing filed');

-- a filed advice whose table is gone
CREATE TABLE public.hostile_gone (a int);
INSERT INTO architect.advice_log (relation, columns, method, ddl)
VALUES ('public.hostile_gone'::regclass, '{a}', 'btree', 'CREATE INDEX CONCURRENTLY ON public.hostile_gone (a)');
DROP TABLE public.hostile_gone;
SELECT is((SELECT array_agg(DISTINCT verdict) FROM architect.advice_outcomes
            WHERE advice_id = (SELECT max(advice_id) FROM architect.advice_log)),
          '{"not built"}'::text[], 'advice_outcomes: advice about a dropped table is "not built", no error');

-- internal helpers (callable by anybody, so they must hold too)
SELECT throws_ok($$SELECT * FROM architect._optional_source('x; DROP TABLE y')$$, '42602', NULL,
                 '_optional_source(not a name): 42602');
SELECT is((SELECT count(*) FROM architect._optional_source(NULL)), 0::bigint, '_optional_source(NULL): no rows');
SELECT throws_ok($$SELECT architect._svg_bars('c', 't', '{}', ARRAY['x'], ARRAY['#000'], 'u')$$, '22023', NULL,
                 '_svg_bars(rows not an array): 22023');
SELECT lives_ok($$SELECT architect._report_text(NULL, NULL, NULL), architect._report_html(NULL), architect._report_more(NULL),
                        architect._html(NULL), architect._md(NULL), architect._finding_id(NULL, NULL, NULL),
                        architect._severity_order(NULL), architect._effort_order(NULL), architect._xid_severity(NULL),
                        architect._pct_change(NULL, NULL), architect._concurrent_indexdef(NULL),
                        architect._concurrent_indexdef(0), architect._sees_texts_of(NULL)$$,
                'the formatting and catalog helpers take NULLs and bogus oids');
CREATE ROLE pga_h_plain;
SET ROLE pga_h_plain;
SELECT ok(architect._can_see(4294967295, 'r') IS NOT TRUE AND architect._can_see('pg_authid'::regclass, 'r') IS NOT TRUE,
          '_can_see: a bogus oid or an unreadable table is not visible to a plain role');
SELECT is((SELECT count(*) FROM architect._optional_source('pg_catalog.pg_authid')), 0::bigint,
          '_optional_source gives a plain role nothing it may not read');
RESET ROLE;

-- ---- migrations ------------------------------------------------------------------
-- Every call: the SQLSTATE it must end with ('ok': it succeeds), and no
-- error message, hint or detail longer than 400 characters (a 1 MB input
-- is never echoed whole).  backfill COMMITs, which the transaction block
-- of this test forbids: a call that passes every check ends with 2D000 at
-- its first COMMIT (after it resolved the table, its key, planned the
-- UPDATE and filed its progress row).
CREATE SCHEMA "Mig; ""S"" x";
CREATE TABLE "Mig; ""S"" x".x (id int);  -- a sentinel a broken quote would hit
CREATE TABLE "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" ("Id;" int PRIMARY KEY, "c ""1"";" int, "b x" text);
INSERT INTO "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" SELECT g, g, 'v' || g FROM generate_series(1, 100) g;
CREATE FUNCTION pg_temp.mig_try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text; h text; d text;
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT, d = PG_EXCEPTION_DETAIL;
  RETURN SQLSTATE || CASE WHEN greatest(length(m), length(h), length(d)) > 400
                          THEN format(' (a message of %s characters)', greatest(length(m), length(h), length(d)))
                          ELSE '' END;
END $$;
CREATE TEMP TABLE mig_cases (n serial, q text, want text);
INSERT INTO mig_cases (q, want) VALUES
  -- plan_migration
  ($q$SELECT * FROM architect.plan_migration(NULL)$q$, '22004'),
  ($q$SELECT * FROM architect.plan_migration('')$q$, '22023'),
  ($q$SELECT * FROM architect.plan_migration(' -- only a comment')$q$, '22023'),
  ($q$SELECT * FROM architect.plan_migration('not sql at all')$q$, '42601'),
  ($q$SELECT * FROM architect.plan_migration(repeat('x', 1000000))$q$, '42601'),
  ($q$SELECT * FROM architect.plan_migration(repeat('ALTER TABLE x ADD c int; ', 40000) || 'not sql')$q$, '42601'),
  ($q$SELECT * FROM architect.plan_migration('ALTER TABLE ' || repeat('x', 1000000) || ' ADD c int')$q$, '42P01'),
  ($q$SELECT * FROM architect.plan_migration('ALTER TABLE mig_nosuch ADD c int')$q$, '42P01'),
  ($q$SELECT * FROM architect.plan_migration('SELECT 1', NULL, 10)$q$, '22004'),
  ($q$SELECT * FROM architect.plan_migration('SELECT 1', '500ms', 10, NULL)$q$, '22004'),
  ($q$SELECT * FROM architect.plan_migration('ALTER TABLE "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" ALTER COLUMN "c ""1"";" SET NOT NULL;'
      || ' ALTER TABLE "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" ALTER COLUMN "c ""1"";" TYPE bigint;'
      || ' CREATE INDEX ON "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" ("b x")')$q$, 'ok'),
  ($q$SELECT * FROM architect.plan_migration('ALTER TABLE "T ""q""; DROP TABLE x;--" ADD "n;" int', search_path => '"Mig; ""S"" x"')$q$, 'ok'),
  -- check_migration
  ($q$SELECT * FROM architect.check_migration(NULL)$q$, '22004'),
  ($q$SELECT * FROM architect.check_migration('')$q$, '22023'),
  ($q$SELECT * FROM architect.check_migration('not sql')$q$, '42601'),
  ($q$SELECT * FROM architect.check_migration(repeat('x', 1000000))$q$, '42601'),
  ($q$SELECT * FROM architect.check_migration('ALTER TABLE mig_nosuch ADD c int')$q$, '42P01'),
  ($q$SELECT * FROM architect.check_migration('SELECT 1', 'bogus')$q$, '22023'),
  ($q$SELECT * FROM architect.check_migration('SELECT 1', repeat('x', 1000000))$q$, '22023'),
  ($q$SELECT * FROM architect.check_migration('SELECT 1', 'AccessExclusiveLock'';DROP TABLE x;--')$q$, '22023'),
  ($q$SELECT * FROM architect.check_migration('ALTER TABLE "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" ALTER COLUMN "c ""1"";" TYPE bigint', 'ShareLock', -1)$q$, 'ok'),
  -- runbook
  ($q$SELECT architect.runbook(NULL)$q$, '22004'),
  ($q$SELECT architect.runbook('')$q$, '22023'),
  ($q$SELECT architect.runbook('not sql')$q$, '42601'),
  ($q$SELECT architect.runbook(repeat('x', 1000000))$q$, '42601'),
  ($q$SELECT architect.runbook('ALTER TABLE mig_nosuch ADD c int')$q$, '42P01'),
  ($q$SELECT architect.runbook('SELECT 1', NULL)$q$, '22023'),
  ($q$SELECT architect.runbook('SELECT 1', repeat('x', 1000000))$q$, '22023'),
  ($q$SELECT architect.runbook('SELECT 1', 'json''; DROP TABLE x; --')$q$, '22023'),
  ($q$SELECT architect.runbook('ALTER TABLE "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" ALTER COLUMN "c ""1"";" TYPE bigint')$q$, 'ok'),
  ($q$SELECT architect.runbook('ALTER TABLE "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" ALTER COLUMN "c ""1"";" SET NOT NULL', 'json')$q$, 'ok'),
  -- rehearse
  ($q$SELECT * FROM architect.rehearse(NULL)$q$, '22004'),
  ($q$SELECT * FROM architect.rehearse('')$q$, '22023'),
  ($q$SELECT * FROM architect.rehearse('not sql')$q$, '42601'),
  ($q$SELECT * FROM architect.rehearse(repeat('x', 1000000))$q$, '42601'),
  ($q$SELECT * FROM architect.rehearse('ALTER TABLE mig_nosuch ADD c int')$q$, '42P01'),
  ($q$SELECT * FROM architect.rehearse('SELECT 1', 'not sql')$q$, '42601'),
  ($q$SELECT * FROM architect.rehearse('SELECT 1', repeat('x', 1000000))$q$, '42601'),
  ($q$SELECT * FROM architect.rehearse('SELECT 1', NULL, NULL)$q$, '22004'),
  ($q$SELECT * FROM architect.rehearse('SELECT 1', NULL, false, NULL)$q$, '22004'),
  ($q$SELECT * FROM architect.rehearse('ALTER TABLE "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" ADD "n; DROP TABLE x" int;'
      || ' ALTER TABLE "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" RENAME COLUMN "b x" TO "b;y"')$q$, 'ok'),
  -- run_with_lock_timeout
  ($q$CALL architect.run_with_lock_timeout(NULL)$q$, '22004'),
  ($q$CALL architect.run_with_lock_timeout('')$q$, 'ok'),
  ($q$CALL architect.run_with_lock_timeout('not sql')$q$, '42601'),
  ($q$CALL architect.run_with_lock_timeout(repeat('x', 1000000))$q$, '42601'),
  ($q$CALL architect.run_with_lock_timeout('ALTER TABLE mig_nosuch ADD c int')$q$, '42P01'),
  ($q$CALL architect.run_with_lock_timeout('SELECT 1', '0')$q$, '22023'),
  ($q$CALL architect.run_with_lock_timeout('SELECT 1', '500ms', 0)$q$, '22023'),
  ($q$CALL architect.run_with_lock_timeout('SELECT 1', search_path => NULL)$q$, '22004'),
  ($q$CALL architect.run_with_lock_timeout('ALTER TABLE "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" ADD "r; DROP TABLE x" int')$q$, 'ok'),
  -- backfill
  ($q$CALL architect.backfill(NULL, 'a = 1')$q$, '22004'),
  ($q$CALL architect.backfill('mig_nosuch', 'a = 1')$q$, '42P01'),
  ($q$CALL architect.backfill('"Mig; ""S"" x"."T ""q""; DROP TABLE x;--"', '')$q$, '42601'),
  ($q$CALL architect.backfill('"Mig; ""S"" x"."T ""q""; DROP TABLE x;--"', 'not sql')$q$, '42601'),
  ($q$CALL architect.backfill('"Mig; ""S"" x"."T ""q""; DROP TABLE x;--"', repeat('x', 1000000))$q$, '42601'),
  ($q$CALL architect.backfill('"Mig; ""S"" x"."T ""q""; DROP TABLE x;--"', '"c ""1"";" = 1', repeat('x', 1000000))$q$, '42703'),
  ($q$CALL architect.backfill('"Mig; ""S"" x"."T ""q""; DROP TABLE x;--"', '"c ""1"";" = 1; DROP TABLE x')$q$, '22023'),
  ($q$CALL architect.backfill('"Mig; ""S"" x"."T ""q""; DROP TABLE x;--"', '"c ""1"";" = 1', 'true) OR (true')$q$, '42601'),
  ($q$CALL architect.backfill('"Mig; ""S"" x"."T ""q""; DROP TABLE x;--"', 'mig_nosuch = 1')$q$, '42703'),
  ($q$CALL architect.backfill('"Mig; ""S"" x"."T ""q""; DROP TABLE x;--"', '"c ""1"";" = 1', 'true', 0)$q$, '22023'),
  ($q$CALL architect.backfill('"Mig; ""S"" x".x', 'id = 1')$q$, '55000'),
  ($q$CALL architect.backfill('"Mig; ""S"" x"."T ""q""; DROP TABLE x;--"', '"c ""1"";" = "Id;" * 2', '"c ""1"";" IS NOT NULL')$q$, '2D000'),
  -- catalog helpers: bogus oids and odd names
  ($q$SELECT architect.catalog_description(NULL), architect.catalog_fingerprint(NULL),
             architect.catalog_fingerprint(4294967295::oid::regclass),
             architect.catalog_description('"Mig; ""S"" x"."T ""q""; DROP TABLE x;--"')$q$, 'ok'),
  -- internal helpers (callable by anybody): NULLs, bogus oids, odd names, 1 MB
  ($q$SELECT count(*) FROM architect._stmts(NULL, NULL)$q$, 'ok'),
  ($q$SELECT count(*) FROM architect._stmts(repeat('x', 1000000), 'public')$q$, '42601'),
  ($q$SELECT count(*) FROM architect._ddl(NULL, NULL)$q$, 'ok'),
  ($q$SELECT architect._lock_rank(NULL), architect._lock_rank(repeat('x', 1000000)), architect._rate(NULL),
             architect._rate(repeat('x', 1000000)), architect._secs(NULL, NULL, NULL), architect._secs(1, 'x; y', 1),
             architect._rewrite_secs(NULL, NULL), architect._rewrite_secs(0, 5)$q$, 'ok'),
  ($q$SELECT architect._step(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
             architect._predicted_name(NULL, NULL, NULL), architect._predicted_name(repeat('x', 1000000), '"a;", b', 'key'),
             architect._verify_column(NULL, NULL, NULL), architect._verify_constraint(NULL, NULL, NULL),
             architect._inverse(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
             architect._inverse('add_column', 0, NULL, 'x', NULL, NULL, NULL, NULL, NULL),
             architect._backfill_step(NULL, NULL, NULL, NULL, NULL, NULL)$q$, 'ok'),
  ($q$SELECT * FROM architect._not_null_steps(NULL, NULL, NULL, NULL, NULL)$q$, '22004'),
  ($q$SELECT architect._check_script(NULL, NULL, NULL)$q$, '22004'),
  ($q$SELECT architect._check_script('SELECT 1', 'x', NULL)$q$, '22004'),
  ($q$SELECT * FROM architect._plan_migration(NULL, NULL, NULL, NULL)$q$, '22004'),
  ($q$SELECT * FROM architect._rehearse(NULL, NULL, NULL, NULL)$q$, '22004'),
  ($q$SELECT * FROM architect._check_migration(NULL, NULL, NULL, NULL)$q$, '22004'),
  ($q$SELECT architect._runbook(NULL, NULL, NULL)$q$, '22023'),
  ($q$SELECT architect._resolve(NULL, NULL), architect._resolve('mig_nosuch', 'public'),
             architect._resolve('"T ""q""; DROP TABLE x;--"', '"Mig; ""S"" x"')$q$, 'ok'),
  ($q$SELECT architect._resolve('x; DROP TABLE y', 'public')$q$, '42602'),
  ($q$SELECT architect._fingerprints(NULL, NULL), architect._filenodes(NULL, NULL),
             architect._fingerprints(ARRAY[NULL, 'mig_nosuch'], 'public'),
             architect._filenodes(ARRAY[NULL, 'mig_nosuch'], 'public')$q$, 'ok');
SELECT is(ARRAY(SELECT format('%s: %s, want %s', left(q, 200), got, want)
                  FROM (SELECT n, q, want, pg_temp.mig_try(q) AS got FROM mig_cases) c
                 WHERE got IS DISTINCT FROM want ORDER BY n),
          '{}'::text[],
          'migrations: NULL, empty, not SQL, 1 MB, unknown tables, quotes and semicolons: each call ends as it should, no message over 400 characters');
SELECT is((SELECT count(*) FROM pg_class WHERE relname = 'x' AND relnamespace = '"Mig; ""S"" x"'::regnamespace), 1::bigint,
          'migrations: the odd names touched nothing else (the sentinel table x is still there)');
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = '"Mig; ""S"" x"."T ""q""; DROP TABLE x;--"'::regclass AND attnum > 0 AND NOT attisdropped),
          ARRAY['Id;', 'c "1";', 'b x', 'r; DROP TABLE x'],
          'migrations: rehearse rolled back; run_with_lock_timeout ran its statement, quoted as written');
SELECT ok(architect.runbook('ALTER TABLE "T ""q""; DROP TABLE x;--" ALTER COLUMN "c ""1"";" TYPE bigint', 'markdown', '"Mig; ""S"" x"')
            LIKE '%"Mig; ""S"" x"."T ""q""; DROP TABLE x;--"%',
          'migrations: the runbook names the odd table (resolved under the given search_path) quoted');
CREATE TEMP TABLE mig_parse (bad text);
DO $$
DECLARE s record; bad text := '';
BEGIN
  -- every generated step, rollback and verify query of a plan about the
  -- odd names parses (as what it is: one statement per piece of text)
  FOR s IN SELECT * FROM architect.plan_migration(
             'ALTER TABLE "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" ALTER COLUMN "c ""1"";" SET NOT NULL;'
             || ' ALTER TABLE "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" ALTER COLUMN "c ""1"";" TYPE bigint;'
             || ' CREATE INDEX ON "Mig; ""S"" x"."T ""q""; DROP TABLE x;--" ("b x")') LOOP
    BEGIN
      PERFORM * FROM architect.migration_statements(s.run_sql);
      PERFORM * FROM architect.migration_statements(coalesce(nullif(s.rollback_sql, ''), 'SELECT 1'));
      PERFORM * FROM architect.migration_statements(coalesce(s.verify_sql, 'SELECT 1'));
    EXCEPTION WHEN OTHERS THEN
      bad := bad || format('step %s: %s; ', s.step_no, SQLERRM);
    END;
  END LOOP;
  INSERT INTO pg_temp.mig_parse VALUES (bad);
END $$;
SELECT is((SELECT bad FROM mig_parse), '', 'migrations: every step, rollback and verify query of a plan about the odd names parses');

-- ---- generated DDL quotes every identifier ------------------------------------------
CREATE SCHEMA "Odd; ""S"" x";
CREATE TABLE "Odd; ""S"" x".x (id int);  -- a sentinel a broken quote would hit
CREATE TABLE "Odd; ""S"" x"."Parent ""P""; DROP TABLE x;--" ("Id;" bigint PRIMARY KEY);
INSERT INTO "Odd; ""S"" x"."Parent ""P""; DROP TABLE x;--" SELECT generate_series(1, 10);
CREATE TABLE "Odd; ""S"" x"."Child Tab"";DROP TABLE x;--" (
  "Col ""A""" int4 REFERENCES "Odd; ""S"" x"."Parent ""P""; DROP TABLE x;--",
  "b; c" int, "UPPER Case" int, "z" int4);
CREATE INDEX "Idx ""1""; x" ON "Odd; ""S"" x"."Child Tab"";DROP TABLE x;--" ("b; c", "UPPER Case");
CREATE INDEX "Idx 2;" ON "Odd; ""S"" x"."Child Tab"";DROP TABLE x;--" ("b; c", "UPPER Case");
CREATE INDEX "Idx ""3""" ON "Odd; ""S"" x"."Child Tab"";DROP TABLE x;--" ("b; c");
ALTER TABLE "Odd; ""S"" x"."Child Tab"";DROP TABLE x;--" SET (autovacuum_enabled = false);
ALTER TABLE "Odd; ""S"" x"."Child Tab"";DROP TABLE x;--"
  ADD CONSTRAINT "Fk ""nv"";" FOREIGN KEY ("z") REFERENCES "Odd; ""S"" x"."Parent ""P""; DROP TABLE x;--" NOT VALID;
CREATE UNLOGGED TABLE "Odd; ""S"" x"."Unlogged ""U"";" (id int PRIMARY KEY);
CREATE SEQUENCE "Odd; ""S"" x"."Seq ""S"";" AS smallint;
SELECT setval('"Odd; ""S"" x"."Seq ""S"";"', 30000) \gset
CREATE TABLE "Odd; ""S"" x"."Ser ""T""" ("Key;" smallint DEFAULT nextval('"Odd; ""S"" x"."Seq ""S"";"'), v int);
INSERT INTO "Odd; ""S"" x"."Child Tab"";DROP TABLE x;--" SELECT g % 10 + 1, g, g, g % 10 + 1 FROM generate_series(1, 100) g;
ANALYZE "Odd; ""S"" x"."Ser ""T""";

-- "unused" is a verdict on a statistics window (7 days by default): judge now.
SET pg_architect.min_unused_window = 0;
CREATE TEMP TABLE odd_ddl AS
SELECT row_number() OVER (ORDER BY finding_id) AS n, check_name, object, ddl, rollback_ddl
  FROM architect.findings
 WHERE object LIKE '"Odd; ""S"" x".%' AND ddl IS NOT NULL;
SELECT ok((SELECT array_agg(DISTINCT check_name) FROM odd_ddl) @>
          ARRAY['duplicate', 'redundant', 'unused', 'fk_without_index', 'fk_type_mismatch', 'fk_not_validated',
                'autovacuum_disabled', 'unlogged_table', 'sequence_near_overflow', 'no_primary_key'],
          'the odd names produce index, foreign key, maintenance, unlogged, sequence and primary key findings with DDL');
SELECT is((SELECT count(*) FROM architect.index_health WHERE table_name = '"Odd; ""S"" x"."Child Tab"";DROP TABLE x;--"'::regclass),
          3::bigint, 'index_health sees the three indexes of the odd table');

CREATE TEMP TABLE odd_errors (n int, what text, err text);
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM pg_temp.odd_ddl ORDER BY n LOOP
    BEGIN
      EXECUTE regexp_replace(r.ddl, '^(CREATE (UNIQUE )?INDEX|DROP INDEX) CONCURRENTLY ', '\1 ');
      IF r.rollback_ddl IS NOT NULL THEN
        EXECUTE regexp_replace(r.rollback_ddl, '^(CREATE (UNIQUE )?INDEX|DROP INDEX) CONCURRENTLY ', '\1 ');
      END IF;
    EXCEPTION WHEN OTHERS THEN
      INSERT INTO pg_temp.odd_errors VALUES (r.n, r.check_name || ': ' || r.ddl || ' / ' || r.rollback_ddl, SQLERRM);
    END;
  END LOOP;
END $$;
SELECT is(ARRAY(SELECT what || ' -> ' || err FROM odd_errors ORDER BY n), '{}'::text[],
          'every ddl and rollback_ddl about the odd names executes');
SELECT is(ARRAY(SELECT relname::text FROM pg_class
                 WHERE relnamespace = '"Odd; ""S"" x"'::regnamespace AND relkind IN ('r', 'S') ORDER BY 1),
          ARRAY['Child Tab";DROP TABLE x;--', 'Parent "P"; DROP TABLE x;--', 'Seq "S";', 'Ser "T"', 'Unlogged "U";', 'x'],
          'and touches nothing else: the sentinel table x is still there');
SELECT is((SELECT count(*) FROM pg_index WHERE indrelid = '"Odd; ""S"" x"."Child Tab"";DROP TABLE x;--"'::regclass),
          3::bigint, 'each rollback restored what its ddl undid: the three indexes are back');
SELECT is((SELECT format_type(atttypid, NULL) FROM pg_attribute
            WHERE attrelid = '"Odd; ""S"" x"."Child Tab"";DROP TABLE x;--"'::regclass AND attname = 'Col "A"'),
          'integer', 'and the column type');

SELECT lives_ok($$SELECT architect._ddl_key(NULL), architect._ddl_key(repeat('x', 1000000)),
                          architect._impact(NULL, NULL, NULL), architect._impact(repeat(';', 1000000), '"', -1e300),
                          architect._ms(NULL), architect._ms(-1e300), architect._num(NULL), architect._num(1e300),
                          architect._own_relation(NULL), architect._own_relation(0::regclass),
                          architect._report_header_lines(NULL), architect._report_header_lines('{}'),
                          architect._report_header_lines('[1, "x"]'), architect._ts(NULL), architect._ts('infinity')$$,
                'the report helpers take NULL, empty, bogus and 1 MB inputs without an error');
SELECT is(ARRAY(SELECT x FROM (VALUES
    (1, $q$SELECT architect.import_stats(NULL, 'n')$q$, '22023'),
    (2, $q$SELECT architect.import_stats('[1, 2]', 'n')$q$, '22023'),
    (3, $q$SELECT architect.import_stats('{"format": "x; DROP TABLE t"}', 'n')$q$, '22023'),
    (4, $q$SELECT architect.import_stats(architect.export_stats(), NULL)$q$, '22023'),
    (5, $q$SELECT architect.import_stats(architect.export_stats(), repeat('n', 1000000))$q$, '22023'),
    (6, $q$SELECT * FROM architect.replication_findings(NULL, NULL, NULL, NULL, NULL)$q$, '22023'),
    (7, $q$SELECT * FROM architect.replication_findings(-1)$q$, '22023'),
    (8, $q$SELECT architect._import_check_array('{}', repeat(';', 1000000), '{}')$q$, '22023')) v(n, q, want)
  CROSS JOIN LATERAL (SELECT CASE WHEN got = want THEN NULL ELSE q || ': ' || coalesce(got, 'ok') || ', want ' || want END AS x
                        FROM (SELECT pg_temp.sqlstate_of(q) AS got) g) r
  WHERE x IS NOT NULL ORDER BY n), '{}'::text[],
  'import_stats and replication_findings: NULL, malformed, foreign and 1 MB inputs get 22023');
SELECT is(architect.drop_imported_node(NULL), false, 'drop_imported_node(NULL) drops nothing');
SELECT * FROM finish();
ROLLBACK;
