-- A hostile search_path runs none of its code inside pg_architect.
--
-- The attack (issue 12, item 2): a role that can create objects in a schema
-- on the reader's search_path plants functions and operators there that
-- shadow pg_catalog's; an architect object that resolves a name at call
-- time under the caller's path then runs the planted code with the
-- caller's privileges (a superuser's, say).  Defence: every SQL and
-- plpgsql function of the extension pins search_path, every architect
-- object is schema-qualified, views call only pinned functions.
--
-- This file plants, in public, a shadow of every pg_catalog function named
-- in an architect function body or view (same signature, so it wins under
-- `public, pg_catalog`), new better-matching overloads for unknown-typed
-- literals (pg_has_role(text, text), format(text, VARIADIC text[]), ...),
-- aggregates (count(*), array_agg, string_agg, ...) and a shadow of every
-- pg_catalog comparison / text / json / array operator.  Each one records
-- that it ran (a sequence: nextval survives the rollback of a failed
-- call).  Then it runs every architect view and every architect function,
-- enumerated from the catalog, as a superuser, once under a safe path and
-- once under `public, pg_catalog`, and asserts: no planted code ran, and
-- each call fails or succeeds the same way under both paths.  Positive
-- controls prove the plants do catch unpinned code.
BEGIN;
SELECT plan(14);
SET client_min_messages = warning;

-- ---- catalog checks -------------------------------------------------------
CREATE TEMP VIEW pga_members AS
SELECT d.classid, d.objid
  FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_architect');

SELECT is(ARRAY(SELECT p.oid::regprocedure::text
                  FROM pga_members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
                  JOIN pg_language l ON l.oid = p.prolang
                 WHERE l.lanname NOT IN ('c', 'internal')
                   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c
                                    WHERE c LIKE 'search\_path=pg\_catalog%')
                   -- Procedures that COMMIT: a procedure with a SET clause
                   -- may not use transaction control, so these qualify
                   -- every name instead (and run the caller's fragments
                   -- under the caller's path: that is their job).  Their
                   -- calls below and test/integration/65_migrations.t run
                   -- them under the hostile path.  Add one here only if it
                   -- COMMITs.
                   AND p.oid NOT IN (SELECT x::regprocedure FROM (VALUES
                         ('architect.backfill(regclass,text,text,integer,interval)')) AS commits(x))
                 ORDER BY 1),
          '{}'::text[],
          'every SQL / plpgsql function of the extension pins search_path = pg_catalog, ...');

SELECT is(ARRAY(SELECT p.oid::regprocedure::text
                  FROM pga_members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
                 WHERE p.prosecdef
                   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%')
                 ORDER BY 1),
          '{}'::text[],
          'no SECURITY DEFINER function without a pinned search_path');

-- A view binds operators and functions when it is created, but an SQL
-- function it calls is inlined, and then parsed under the reader's path,
-- unless it carries a SET clause: views may only call pinned functions.
SELECT is(ARRAY(SELECT DISTINCT format('%s -> %s', v.oid::regclass, p.oid::regprocedure)
                  FROM pga_members m
                  JOIN pg_class v ON m.classid = 'pg_class'::regclass AND v.oid = m.objid AND v.relkind = 'v'
                  JOIN pg_rewrite rw ON rw.ev_class = v.oid
                  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                                  AND d.refclassid = 'pg_proc'::regclass
                  JOIN pg_proc p ON p.oid = d.refobjid
                  JOIN pg_language l ON l.oid = p.prolang
                 WHERE p.pronamespace <> 'pg_catalog'::regnamespace
                   AND l.lanname NOT IN ('c', 'internal')
                   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%')
                 ORDER BY 1),
          '{}'::text[],
          'architect views call only C functions and functions with a pinned search_path');

-- Labels true to what the functions do: an IMMUTABLE or STABLE function
-- that is PARALLEL UNSAFE is flagged by core's opr_sanity-style checks.
SELECT is(ARRAY(SELECT p.oid::regprocedure::text
                  FROM pga_members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
                 WHERE p.provolatile = 'i' AND p.proparallel <> 's'
                 ORDER BY 1),
          '{}'::text[],
          'every IMMUTABLE architect function is PARALLEL SAFE');

-- ---- what to run: every view and every function ---------------------------
CREATE TABLE public.pga_hostile_t (id int PRIMARY KEY, v text, w int);
INSERT INTO public.pga_hostile_t SELECT g, 'v' || g, g % 7 FROM generate_series(1, 2000) g;
CREATE INDEX ON public.pga_hostile_t (w);
CREATE INDEX ON public.pga_hostile_t (w);
ANALYZE public.pga_hostile_t;

CREATE TEMP TABLE pga_calls (n int PRIMARY KEY, fn regprocedure, sql text NOT NULL);
-- Functions with required arguments: one call each, written so that the
-- statement texts they carry resolve no name through the path themselves
-- (no operator, no unqualified function: only ORDER BY and LIMIT).
INSERT INTO pga_calls VALUES
 (10, 'architect.latency_histogram(bigint)', $$SELECT * FROM architect.latency_histogram(0)$$),
 (11, 'architect.measure_bloat(regclass,integer)', $$SELECT * FROM architect.measure_bloat('public.pga_hostile_t', 0)$$),
 (12, 'architect.estimate_bloat(regclass)', $$SELECT * FROM architect.estimate_bloat('public.pga_hostile_t')$$),
 (13, 'architect.whatif(text,text[])', $$SELECT * FROM architect.whatif('SELECT * FROM public.pga_hostile_t ORDER BY v LIMIT 5', ARRAY['CREATE INDEX ON public.pga_hostile_t (v)'])$$),
 (14, 'architect.advise_workload(text[],double precision[],bigint[],boolean,text[],boolean,text)', $$SELECT * FROM architect.advise_workload(ARRAY['SELECT * FROM public.pga_hostile_t ORDER BY v LIMIT 5'])$$),
 (15, 'architect.advise_query(text)', $$SELECT * FROM architect.advise_query('SELECT * FROM public.pga_hostile_t ORDER BY v LIMIT 5')$$),
 (16, 'architect.hypothetical_index(text)', $$SELECT * FROM architect.hypothetical_index('CREATE INDEX ON public.pga_hostile_t (v)')$$),
 (17, 'architect.check_ddl(text)', $$SELECT * FROM architect.check_ddl('ALTER TABLE public.pga_hostile_t ALTER COLUMN v SET NOT NULL; CREATE INDEX ON public.pga_hostile_t (v)')$$),
 (18, 'architect._can_see(oid,"char")', $$SELECT architect._can_see('public.pga_hostile_t'::regclass, 'r')$$),
 (19, 'architect._concurrent_indexdef(oid)', $$SELECT architect._concurrent_indexdef('public.pga_hostile_t_pkey'::regclass)$$),
 (20, 'architect._xid_severity(bigint)', $$SELECT architect._xid_severity(300000000)$$),
 (21, 'architect._severity_order(text)', $$SELECT architect._severity_order('high')$$),
 (22, 'architect._effort_order(text)', $$SELECT architect._effort_order('low')$$),
 (23, 'architect._finding_id(text,text,text)', $$SELECT architect._finding_id('a', 'b', 'c')$$),
 (24, 'architect._optional_source(text)', $$SELECT * FROM architect._optional_source('architect.index_health')$$),
 (25, 'architect._report_more(jsonb)', $$SELECT architect._report_more('{"findings": []}')$$),
 (26, 'architect._html(text)', $$SELECT architect._html('<a href="x">&''</a>')$$),
 (27, 'architect._md(text)', $$SELECT architect._md('a | b \ c')$$),
 (28, 'architect._svg_bars(text,text,jsonb,text[],text[],text,boolean)', $$SELECT architect._svg_bars('c', 't', '[{"label": "a", "values": [1, 2.5]}]', ARRAY['x', 'y'], ARRAY['#000', '#111'], 'ms')$$),
 (29, 'architect._report_text(jsonb,boolean,boolean)', $$SELECT architect._report_text(architect._report_doc(), true, true)$$),
 (30, 'architect._report_html(jsonb)', $$SELECT architect._report_html(architect._report_doc())$$),
 (31, 'architect.report(text,boolean)', $$SELECT architect.report('text')$$),
 (32, 'architect.report(text,boolean)', $$SELECT architect.report('markdown')$$),
 (33, 'architect.report(text,boolean)', $$SELECT architect.report('json')$$),
 (34, 'architect.report(text,boolean)', $$SELECT architect.report('html')$$),
 (35, 'architect.workload_findings(interval)', $$SELECT * FROM architect.workload_findings('0')$$),
 (36, 'architect.record_advice(text[],double precision[],bigint[],text)', $$SELECT * FROM architect.record_advice(ARRAY['SELECT * FROM public.pga_hostile_t ORDER BY v LIMIT 5'])$$),
 (37, 'architect._pct_change(double precision,double precision)', $$SELECT architect._pct_change(1, 2)$$),
 (38, 'architect._sees_texts_of(oid)', $$SELECT architect._sees_texts_of(10)$$),
 (40, 'architect.snapshot(text)', $$SELECT * FROM architect.snapshot('pga-hostile')$$),
 (41, 'architect.compare(text,text)', $$SELECT * FROM architect.compare('pga-hostile', 'pga-hostile')$$),
 (42, 'architect.drop_snapshot(text)', $$SELECT architect.drop_snapshot('pga-hostile')$$),
 -- migrations (65_migrations.sql): the scripts name tables qualified and
 -- use no operator or function, so that the caller's path they resolve
 -- under finds nothing planted on its own.
 (43, 'architect.migration_statements(text)', $$SELECT * FROM architect.migration_statements('ALTER TABLE public.pga_hostile_t ADD COLUMN x int')$$),
 (44, 'architect.validate_fragment(text,text)', $$SELECT architect.validate_fragment('v = v', 'set_clause')$$),
 (45, 'architect._arm_statement_timeout(integer)', $$SELECT architect._arm_statement_timeout(0)$$),
 (46, 'architect._stmts(text,text)', $$SELECT * FROM architect._stmts('ALTER TABLE pga_hostile_t ADD COLUMN x int', 'public, pg_catalog')$$),
 (47, 'architect._ddl(text,text)', $$SELECT * FROM architect._ddl('ALTER TABLE pga_hostile_t ALTER COLUMN w TYPE bigint', 'public, pg_catalog')$$),
 (48, 'architect._lock_rank(text)', $$SELECT architect._lock_rank('AccessExclusiveLock')$$),
 (49, 'architect._rate(text)', $$SELECT architect._rate('rewrite')$$),
 (50, 'architect._secs(bigint,text,double precision)', $$SELECT architect._secs(1000000, 'scan', 2)$$),
 (51, 'architect._rewrite_secs(oid,bigint)', $$SELECT architect._rewrite_secs('public.pga_hostile_t'::regclass, 1000000)$$),
 (52, 'architect.catalog_description(regclass)', $$SELECT architect.catalog_description('public.pga_hostile_t')$$),
 (53, 'architect.catalog_fingerprint(regclass)', $$SELECT architect.catalog_fingerprint('public.pga_hostile_t')$$),
 (54, 'architect.run_with_lock_timeout(text,interval,integer,interval,text)', $$CALL architect.run_with_lock_timeout('ALTER TABLE public.pga_hostile_t ALTER COLUMN w SET STATISTICS 100', '500ms', 2, '10ms')$$),
 -- backfill COMMITs, which a transaction block forbids: this job is marked
 -- done below, so the call checks its fragments, resolves the table and its
 -- key, plans the UPDATE and reads its progress row, then stops before its
 -- first COMMIT.  The batches run under the hostile path in
 -- test/integration/65_migrations.t.
 (55, 'architect.backfill(regclass,text,text,integer,interval)', $$CALL architect.backfill('public.pga_hostile_t', 'v = v', 'w IS NULL', 100, '0')$$),
 (56, 'architect._step(integer,text,text,text,text,text,boolean,boolean,bigint,numeric,boolean,text,text,text,text)', $$SELECT architect._step(1, 'expand', 'a', 'SELECT 1', NULL, NULL, false, false, 0, 0, true, '', NULL, 'none')$$),
 (57, 'architect._predicted_name(text,text,text)', $$SELECT architect._predicted_name('t', '"a", b', 'key')$$),
 (58, 'architect._inverse(text,oid,text,text,text,text,text,text,text)', $$SELECT architect._inverse('add_column', 'public.pga_hostile_t'::regclass, 'public.pga_hostile_t', 'x', NULL, NULL, NULL, NULL, NULL)$$),
 (59, 'architect._verify_column(text,text,text)', $$SELECT architect._verify_column('public.pga_hostile_t', 'v', 'text')$$),
 (60, 'architect._verify_constraint(text,text,boolean)', $$SELECT architect._verify_constraint('public.pga_hostile_t', 'c', true)$$),
 (61, 'architect._not_null_steps(integer,text,text,text,bigint)', $$SELECT * FROM architect._not_null_steps(1, 'public.pga_hostile_t', 'pga_hostile_t', 'v', 1000)$$),
 (62, 'architect._backfill_step(integer,text,text,text,bigint,text)', $$SELECT architect._backfill_step(1, 'public.pga_hostile_t', 'v = v', 'true', 1000, NULL)$$),
 (63, 'architect._check_script(text,text,text,boolean)', $$SELECT architect._check_script('ALTER TABLE pga_hostile_t ADD COLUMN x int', 'plan_migration', 'public, pg_catalog')$$),
 (64, 'architect._plan_migration(text,interval,integer,text)', $$SELECT * FROM architect._plan_migration('ALTER TABLE pga_hostile_t ALTER COLUMN w TYPE bigint', '500ms', 10, 'public, pg_catalog')$$),
 (65, 'architect.plan_migration(text,interval,integer,text)', $$SELECT * FROM architect.plan_migration('ALTER TABLE public.pga_hostile_t ALTER COLUMN v SET NOT NULL; ALTER TABLE public.pga_hostile_t ALTER COLUMN w TYPE bigint; CREATE INDEX ON public.pga_hostile_t (v)')$$),
 (66, 'architect._rehearse(text,text,boolean,text)', $$SELECT * FROM architect._rehearse('ALTER TABLE pga_hostile_t ADD COLUMN x int', NULL, false, 'public, pg_catalog')$$),
 (67, 'architect._resolve(text,text)', $$SELECT architect._resolve('pga_hostile_t', 'public, pg_catalog')$$),
 (68, 'architect._fingerprints(text[],text)', $$SELECT * FROM architect._fingerprints(ARRAY['pga_hostile_t'], 'public, pg_catalog')$$),
 (69, 'architect._filenodes(text[],text)', $$SELECT * FROM architect._filenodes(ARRAY['pga_hostile_t'], 'public, pg_catalog')$$),
 (70, 'architect.rehearse(text,text,boolean,text)', $$SELECT * FROM architect.rehearse('ALTER TABLE public.pga_hostile_t ALTER COLUMN w TYPE bigint; ALTER TABLE public.pga_hostile_t RENAME COLUMN v TO v2')$$),
 (71, 'architect._check_migration(text,text,bigint,text)', $$SELECT * FROM architect._check_migration('ALTER TABLE pga_hostile_t ALTER COLUMN w TYPE bigint', 'ShareLock', 0, 'public, pg_catalog')$$),
 (72, 'architect.check_migration(text,text,bigint,text)', $$SELECT * FROM architect.check_migration('ALTER TABLE public.pga_hostile_t ALTER COLUMN w TYPE bigint; CREATE INDEX ON public.pga_hostile_t (v)', 'ShareLock', 0)$$),
 (73, 'architect._runbook(text,text,text)', $$SELECT architect._runbook('ALTER TABLE pga_hostile_t ALTER COLUMN w TYPE bigint', 'json', 'public, pg_catalog')$$),
 (74, 'architect.runbook(text,text,text)', $$SELECT architect.runbook('ALTER TABLE public.pga_hostile_t ALTER COLUMN v SET NOT NULL; ALTER TABLE public.pga_hostile_t ALTER COLUMN w TYPE bigint')$$),
 (75, 'architect.runbook(text,text,text)', $$SELECT architect.runbook('ALTER TABLE public.pga_hostile_t ADD COLUMN x int', 'json')$$),
 -- the report's formatting helpers (issue 19) and the captured-workload advisor (issue 12)
 (76, 'architect._ddl_key(text)', $$SELECT architect._ddl_key('CREATE INDEX CONCURRENTLY x ON public.pga_hostile_t (w)')$$),
 (77, 'architect._impact(text,text,numeric)', $$SELECT * FROM architect._impact('architect.index_advice', 'missing_index', 12.5)$$),
 (78, 'architect._ms(numeric)', $$SELECT architect._ms(1234.5678)$$),
 (79, 'architect._num(numeric)', $$SELECT architect._num(3.14159265)$$),
 (80, 'architect._own_relation(regclass)', $$SELECT architect._own_relation('public.pga_hostile_t'::regclass)$$),
 (81, 'architect._report_header_lines(jsonb)', $$SELECT architect._report_header_lines(architect._report_doc())$$),
 (82, 'architect._ts(timestamp with time zone)', $$SELECT architect._ts('2026-01-01 00:00:00+00')$$),
 (83, 'architect.advise_captured(bigint[],double precision[],boolean,text[],boolean,text)', $$SELECT * FROM architect.advise_captured(ARRAY[0]::bigint[])$$),
 -- replicas and security posture (issue 17)
 (84, 'architect._hba_line(text,text[],text[],text,text,text)', $$SELECT architect._hba_line('host', ARRAY['all'], ARRAY['all'], '0.0.0.0', '0.0.0.0', 'trust')$$),
 (85, 'architect._import_check_array(jsonb,text,jsonb)', $c$DO $d$ BEGIN PERFORM architect._import_check_array('{}', 'statements', '{}'); EXCEPTION WHEN invalid_parameter_value THEN NULL; END $d$$c$),
 (86, 'architect._import_invalid(text,text)', $c$DO $d$ BEGIN PERFORM architect._import_invalid('statements', 'is missing'); EXCEPTION WHEN invalid_parameter_value THEN NULL; END $d$$c$),
 (87, 'architect._index_used_on_imported_node(name,name,timestamp with time zone)', $$SELECT architect._index_used_on_imported_node('public', 'pga_hostile_t_pkey', '2000-01-01 00:00:00+00')$$),
 (88, 'architect._require_primary(text)', $$SELECT architect._require_primary('a test')$$),
 (89, 'architect._visible_setting(text)', $$SELECT architect._visible_setting('ssl')$$),
 (90, 'architect.import_stats(jsonb,text)', $$SELECT (architect.import_stats(architect.export_stats(), 'hostile-node')).node_name$$),
 (91, 'architect.drop_imported_node(text)', $$SELECT architect.drop_imported_node('hostile-node')$$),
 (999, 'architect.reset()', $$SELECT architect.reset()$$);
-- backfill's job (call 55) is done already: it stops before its first COMMIT.
INSERT INTO architect.backfill_progress (job, relid, relation, set_clause, where_clause, key_column, status)
VALUES (md5(concat_ws(E'\x01', 'public.pga_hostile_t'::regclass::oid::text, 'v = v', 'w IS NULL')),
        'public.pga_hostile_t'::regclass, 'public.pga_hostile_t', 'v = v', 'w IS NULL', 'id', 'done');
-- Functions without required arguments: called as they are; views: read.
INSERT INTO pga_calls
SELECT 100 + row_number() OVER (ORDER BY p.oid::regprocedure::text), p.oid,
       format('SELECT * FROM %s()', p.oid::regproc)
  FROM pga_members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
 WHERE p.pronargs = p.pronargdefaults
   AND p.oid NOT IN (SELECT fn FROM pga_calls WHERE fn IS NOT NULL);
INSERT INTO pga_calls
SELECT 500 + row_number() OVER (ORDER BY c.oid::regclass::text), NULL,
       format('SELECT * FROM %s', c.oid::regclass)
  FROM pga_members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
 WHERE c.relkind IN ('v', 'r');

SELECT is(ARRAY(SELECT p.oid::regprocedure::text
                  FROM pga_members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
                 WHERE p.oid NOT IN (SELECT fn FROM pga_calls WHERE fn IS NOT NULL)
                 ORDER BY 1),
          '{}'::text[],
          'every architect function is called (a new function with required arguments needs a call in this file)');

-- ---- the plants -------------------------------------------------------------
CREATE SEQUENCE public.pga_hijack_seq;
CREATE TABLE public.pga_hijack_log (what text);
CREATE FUNCTION public.pga_hijacked(what text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pg_catalog.nextval('public.pga_hijack_seq');
  INSERT INTO public.pga_hijack_log VALUES (what);
END $$;

-- The pg_catalog names architect code uses: every identifier followed by
-- "(" in an architect function body or view, plus the classic targets.
CREATE TEMP TABLE pga_plant_names AS
SELECT DISTINCT m[1] AS name
  FROM (SELECT p.prosrc AS src
          FROM pga_members x JOIN pg_proc p ON x.classid = 'pg_proc'::regclass AND p.oid = x.objid
        UNION ALL
        SELECT pg_get_viewdef(c.oid)
          FROM pga_members x JOIN pg_class c ON x.classid = 'pg_class'::regclass AND c.oid = x.objid
         WHERE c.relkind = 'v'
        UNION ALL
        SELECT 'pg_has_role( has_table_privilege( has_sequence_privilege( lower( upper( format( now( '
               'current_setting( current_database( to_regclass( set_config( quote_ident( md5( left( '
               'replace( regexp_replace( to_jsonb( jsonb_array_elements( unnest( array_to_string( '
               'pg_get_indexdef( pg_relation_size( pg_size_pretty( round( age( concat( concat_ws( ') s,
       regexp_matches(s.src, '([a-z_][a-z0-9_]*)\s*\(', 'g') m;

CREATE TEMP TABLE pga_planted (what text);
DO $plant$
DECLARE
  p record;
  allowed_pseudo text[] := ARRAY['anyelement', 'anyarray', 'anynonarray', 'anycompatible',
                                 'anycompatiblearray', 'anycompatiblenonarray'];
  args text;
  call text;
  ret text;
  body text;
BEGIN
  -- same-signature shadows of pg_catalog functions
  FOR p IN
    SELECT f.oid, f.proname, f.proargtypes::oid[] AS argtypes, f.prorettype, f.proretset, f.provariadic
      FROM pg_proc f
     WHERE f.pronamespace = 'pg_catalog'::regnamespace
       AND f.proname IN (SELECT name FROM pga_plant_names)
       AND f.prokind = 'f' AND f.proallargtypes IS NULL
       AND NOT EXISTS (SELECT 1 FROM unnest(f.proargtypes::oid[]) a JOIN pg_type t ON t.oid = a
                        WHERE t.typtype = 'p' AND t.typname <> ALL (allowed_pseudo))
       AND (SELECT t.typtype <> 'p' OR t.typname = ANY (allowed_pseudo || '{void}'::text[])
              FROM pg_type t WHERE t.oid = f.prorettype)
       AND NOT (f.proretset AND f.prorettype = 'void'::regtype)
  LOOP
    SELECT string_agg(CASE WHEN p.provariadic <> 0 AND o = cardinality(p.argtypes) THEN 'VARIADIC ' ELSE '' END
                      || format_type(a, NULL), ', ' ORDER BY o),
           string_agg(CASE WHEN p.provariadic <> 0 AND o = cardinality(p.argtypes) THEN 'VARIADIC ' ELSE '' END
                      || '$' || o, ', ' ORDER BY o)
      INTO args, call
      FROM unnest(p.argtypes) WITH ORDINALITY u(a, o);
    call := format('pg_catalog.%I(%s)', p.proname, coalesce(call, ''));
    ret := CASE WHEN p.proretset THEN 'SETOF ' ELSE '' END || format_type(p.prorettype, NULL);
    body := format('PERFORM public.pga_hijacked(%L); ', p.oid::regprocedure::text)
            || CASE WHEN p.prorettype = 'void'::regtype THEN format('PERFORM %s; RETURN;', call)
                    WHEN p.proretset THEN format('RETURN QUERY SELECT * FROM %s;', call)
                    ELSE format('RETURN %s;', call) END;
    BEGIN
      EXECUTE format('CREATE FUNCTION public.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
                     p.proname, coalesce(args, ''), ret, 'BEGIN ' || body || ' END');
      INSERT INTO pga_planted VALUES ('function ' || p.oid::regprocedure::text);
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'not planted: % (%)', p.oid::regprocedure, SQLERRM;
    END;
  END LOOP;

  -- same-signature shadows of pg_catalog operators
  FOR p IN
    SELECT o.oid, o.oprname, o.oprleft, o.oprright, o.oprresult
      FROM pg_operator o
     WHERE o.oprnamespace = 'pg_catalog'::regnamespace AND o.oprkind = 'b'
       AND o.oprname IN ('=', '<>', '<', '<=', '>', '>=', '||', '~', '!~', '~*', '!~*', '~~', '!~~',
                         '~~*', '!~~*', '@>', '<@', '&&', '+', '-', '*', '/', '%', '->', '->>', '#>', '#>>', '?')
       AND NOT EXISTS (SELECT 1 FROM pg_type t WHERE t.oid IN (o.oprleft, o.oprright, o.oprresult)
                          AND t.typtype = 'p' AND t.typname <> ALL (allowed_pseudo))
  LOOP
    BEGIN
      EXECUTE format('CREATE FUNCTION public.pga_op_%s(%s, %s) RETURNS %s LANGUAGE plpgsql AS %L',
                     p.oid, format_type(p.oprleft, NULL), format_type(p.oprright, NULL),
                     format_type(p.oprresult, NULL),
                     format('BEGIN PERFORM public.pga_hijacked(%L); RETURN $1 OPERATOR(pg_catalog.%s) $2; END',
                            'operator ' || p.oid::regoperator::text, p.oprname));
      EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.pga_op_%s)',
                     p.oprname, format_type(p.oprleft, NULL), format_type(p.oprright, NULL), p.oid);
      INSERT INTO pga_planted VALUES ('operator ' || p.oid::regoperator::text);
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'not planted: % (%)', p.oid::regoperator, SQLERRM;
    END;
  END LOOP;
END
$plant$;

-- Better matches than pg_catalog's for unknown-typed literals and text
-- arguments (the reported hijack of architect._can_see), and aggregates.
CREATE FUNCTION public.pg_has_role(text, text) RETURNS boolean LANGUAGE plpgsql AS
  $$BEGIN PERFORM public.pga_hijacked('pg_has_role(text,text)'); RETURN pg_catalog.pg_has_role($1::pg_catalog.name, $2); END$$;
CREATE FUNCTION public.format(text, VARIADIC text[]) RETURNS text LANGUAGE plpgsql AS
  $$BEGIN PERFORM public.pga_hijacked('format(text,text[])'); RETURN pg_catalog.format($1, VARIADIC $2); END$$;
CREATE FUNCTION public.concat(VARIADIC text[]) RETURNS text LANGUAGE plpgsql AS
  $$BEGIN PERFORM public.pga_hijacked('concat(text[])'); RETURN pg_catalog.array_to_string($1, ''); END$$;
CREATE FUNCTION public.concat_ws(text, VARIADIC text[]) RETURNS text LANGUAGE plpgsql AS
  $$BEGIN PERFORM public.pga_hijacked('concat_ws(text,text[])'); RETURN pg_catalog.array_to_string($2, $1); END$$;
CREATE FUNCTION public.jsonb_build_object(VARIADIC text[]) RETURNS jsonb LANGUAGE plpgsql AS
  $$BEGIN PERFORM public.pga_hijacked('jsonb_build_object(text[])'); RETURN pg_catalog.jsonb_object($1); END$$;
CREATE FUNCTION public.pga_count_sfunc(bigint) RETURNS bigint LANGUAGE plpgsql AS
  $$BEGIN PERFORM public.pga_hijacked('count(*)'); RETURN $1 OPERATOR(pg_catalog.+) 1; END$$;
CREATE AGGREGATE public.count(*) (sfunc = public.pga_count_sfunc, stype = bigint, initcond = '0');
CREATE FUNCTION public.pga_array_agg_sfunc(anyarray, anynonarray) RETURNS anyarray LANGUAGE plpgsql AS
  $$BEGIN PERFORM public.pga_hijacked('array_agg'); RETURN pg_catalog.array_append($1, $2); END$$;
CREATE AGGREGATE public.array_agg(anynonarray) (sfunc = public.pga_array_agg_sfunc, stype = anyarray);
CREATE FUNCTION public.pga_string_agg_sfunc(text, text, text) RETURNS text LANGUAGE plpgsql AS
  $$BEGIN PERFORM public.pga_hijacked('string_agg'); RETURN pg_catalog.concat_ws($3, $1, $2); END$$;
CREATE AGGREGATE public.string_agg(text, text) (sfunc = public.pga_string_agg_sfunc, stype = text);
CREATE FUNCTION public.pga_sum_sfunc(numeric, bigint) RETURNS numeric LANGUAGE plpgsql AS
  $$BEGIN PERFORM public.pga_hijacked('sum(bigint)'); RETURN pg_catalog.coalesce($1, 0) OPERATOR(pg_catalog.+) $2; END$$;
CREATE AGGREGATE public.sum(bigint) (sfunc = public.pga_sum_sfunc, stype = numeric);
CREATE FUNCTION public.pga_max_sfunc(float8, float8) RETURNS float8 LANGUAGE plpgsql AS
  $$BEGIN PERFORM public.pga_hijacked('max(float8)'); RETURN pg_catalog.float8larger($1, $2); END$$;
CREATE AGGREGATE public.max(float8) (sfunc = public.pga_max_sfunc, stype = float8);
INSERT INTO pga_planted VALUES ('pg_has_role(text,text)'), ('format(text,text[])'), ('concat(text[])'),
  ('concat_ws(text,text[])'), ('jsonb_build_object(text[])'), ('count(*)'), ('array_agg'),
  ('string_agg'), ('sum(bigint)'), ('max(float8)');

SELECT cmp_ok((SELECT count(*) FROM pga_planted WHERE what LIKE 'function %')::int, '>=', 80,
              'at least 80 pg_catalog functions used by architect code are shadowed in public');
SELECT cmp_ok((SELECT count(*) FROM pga_planted WHERE what LIKE 'operator %')::int, '>=', 200,
              'at least 200 pg_catalog operators are shadowed in public');

-- ---- run everything twice ----------------------------------------------------
CREATE TEMP TABLE pga_runs (run text, n int, sqlstate text, msg text);
SELECT nextval('public.pga_hijack_seq') AS pga_first \gset
SELECT last_value AS hits_before FROM public.pga_hijack_seq \gset

SET search_path = pg_catalog, pg_temp;
DO $run$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.n, c.sql FROM pg_temp.pga_calls c ORDER BY c.n LOOP
    BEGIN
      EXECUTE r.sql;
      INSERT INTO pg_temp.pga_runs VALUES ('safe', r.n, NULL, NULL);
    EXCEPTION WHEN OTHERS THEN
      INSERT INTO pg_temp.pga_runs VALUES ('safe', r.n, SQLSTATE, SQLERRM);
    END;
  END LOOP;
END
$run$;

-- The DO block below is itself parsed under the hostile path: it names no
-- function and no operator.
SET search_path = public, pg_catalog;
DO $run$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.n, c.sql FROM pg_temp.pga_calls c ORDER BY c.n LOOP
    BEGIN
      EXECUTE r.sql;
      INSERT INTO pg_temp.pga_runs VALUES ('hostile', r.n, NULL, NULL);
    EXCEPTION WHEN OTHERS THEN
      INSERT INTO pg_temp.pga_runs VALUES ('hostile', r.n, SQLSTATE, SQLERRM);
    END;
  END LOOP;
END
$run$;
SET search_path = pg_catalog, pg_temp;
SELECT last_value AS hits_after FROM public.pga_hijack_seq \gset
RESET search_path;

SELECT is(:hits_after::bigint - :hits_before::bigint, 0::bigint,
          'no planted function or operator ran while every architect view and function ran as a superuser under search_path = public, pg_catalog');
SELECT is(ARRAY(SELECT DISTINCT what FROM public.pga_hijack_log ORDER BY 1), '{}'::text[],
          'and none logged its name');
SELECT is(ARRAY(SELECT format('%s: %s', c.sql, coalesce(h.sqlstate || ' ' || h.msg, 'ok'))
                  FROM pga_calls c
                  JOIN pga_runs s ON s.n = c.n AND s.run = 'safe'
                  JOIN pga_runs h ON h.n = c.n AND h.run = 'hostile'
                 WHERE s.sqlstate IS DISTINCT FROM h.sqlstate
                 ORDER BY c.n),
          '{}'::text[],
          'every call fails or succeeds the same way under the hostile path as under a safe one');
SELECT is((SELECT count(*) FROM pga_runs WHERE run = 'hostile')::int, (SELECT count(*) FROM pga_calls)::int,
          'every call ran');
SELECT is(ARRAY(SELECT format('%s: %s %s', c.sql, h.sqlstate, h.msg)
                  FROM pga_calls c JOIN pga_runs h ON h.n = c.n AND h.run = 'hostile'
                 WHERE h.sqlstate IS NOT NULL
                   -- pg_stat_statements is not installed in the test database
                   AND c.sql NOT LIKE '%advise_pg_stat_statements%'
                 ORDER BY c.n),
          '{}'::text[],
          'no call failed (except advise_pg_stat_statements without pg_stat_statements)');

-- ---- positive controls: the plants do catch unpinned code -------------------
-- The pre-fix architect._can_see (no SET clause, unknown-typed literals),
-- and plain unqualified expressions, each planted name hit.
CREATE FUNCTION pg_temp.pga_old_can_see(rel oid, relkind "char") RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT pg_has_role('pg_read_all_stats', 'USAGE')
      OR CASE WHEN relkind = 'S' THEN has_sequence_privilege(rel, 'SELECT, USAGE, UPDATE')
              ELSE has_table_privilege(rel, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') END
$$;
SELECT last_value AS ctl_before FROM public.pga_hijack_seq \gset
SET search_path = public, pg_catalog;
SELECT pg_temp.pga_old_can_see(c.oid, c.relkind) AS ctl_old FROM pg_catalog.pg_class c LIMIT 1 \gset
SELECT lower('A') AS c1, format('%s', 'x'::text) AS c2, now() AS c3, 1 = 1 AS c4, 'a'::text || 'b'::text AS c5, count(*) AS c6 FROM pg_class \gset ctl_
SET search_path = pg_catalog, pg_temp;
SELECT last_value AS ctl_after FROM public.pga_hijack_seq \gset
RESET search_path;
SELECT cmp_ok(:ctl_after::bigint - :ctl_before::bigint, '>=', 7::bigint,
              'control: unpinned code under the same path runs the planted functions, operators and aggregates');
SELECT ok((SELECT bool_and(w IN (SELECT what FROM public.pga_hijack_log))
             FROM unnest(ARRAY['pg_has_role(text,text)', 'count(*)', 'format(text,text[])']) w),
          'control: the pre-fix architect._can_see body ran the planted pg_has_role(text, text)');

SELECT * FROM finish();
ROLLBACK;
