-- Migrations: security properties of the functions, error codes of bad
-- input, fingerprint sensitivity, rehearsal proof, a transactional plan
-- carried out step by step and verified by its own queries, and the
-- per-role privacy of backfill progress.
BEGIN;
SELECT plan(37);

CREATE TABLE mgp_grp (id int PRIMARY KEY);
INSERT INTO mgp_grp SELECT g FROM generate_series(1, 10) g;
CREATE TABLE mgp_t (id bigint PRIMARY KEY, a int NOT NULL DEFAULT 0, b text, grp int);
INSERT INTO mgp_t SELECT g, g, md5(g::text), 1 + g % 10 FROM generate_series(1, 2000) g;

-- Security: what executes the caller's SQL is SECURITY INVOKER; what only
-- reads the catalog pins its search_path.
SELECT ok(NOT bool_or(p.prosecdef), 'no migration function is SECURITY DEFINER')
  FROM pg_proc p WHERE p.pronamespace = 'architect'::regnamespace
   AND p.proname IN ('plan_migration', '_plan_migration', 'rehearse', '_rehearse', 'backfill',
                     'run_with_lock_timeout', 'runbook', '_runbook', 'check_migration', '_check_migration');
SELECT ok(bool_and(EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=pg_catalog%')),
          'the implementations pin search_path')
  FROM pg_proc p WHERE p.pronamespace = 'architect'::regnamespace
   AND p.proname IN ('_plan_migration', '_rehearse', '_runbook', '_check_migration', 'catalog_description',
                     '_check_script', '_inverse', '_stmts', '_ddl', '_fingerprints', '_filenodes', '_resolve');
SELECT ok(bool_and(p.proconfig IS NULL), 'the procedures have no SET clause (they COMMIT) and qualify every name instead')
  FROM pg_proc p WHERE p.pronamespace = 'architect'::regnamespace AND p.proname IN ('backfill', 'run_with_lock_timeout');

-- Bad input: clear errors with their SQLSTATE.
SELECT throws_ok($$SELECT * FROM architect.plan_migration(NULL)$$, '22004', NULL, 'NULL script: 22004');
SELECT throws_ok($$SELECT * FROM architect.plan_migration(' ; ')$$, '22023', NULL, 'empty script: 22023');
SELECT throws_ok($$SELECT * FROM architect.plan_migration('ALTER TABLE mgp_t ADD x int; not sql')$$, '42601', NULL, 'not SQL: 42601');
SELECT throws_ok($$SELECT * FROM architect.plan_migration('ALTER TABLE mgp_nosuch ADD x int')$$, '42P01', NULL, 'unknown table: 42P01');
SELECT throws_ok($$SELECT * FROM architect.rehearse('ALTER TABLE mgp_t ADD x int; COMMIT')$$, '25001', NULL, 'transaction control: 25001');
SELECT throws_ok($$SELECT * FROM architect.rehearse('ALTER TABLE mgp_t DROP COLUMN b')$$, '0A000', NULL, 'no generated rollback for a DROP COLUMN: 0A000');
SELECT throws_ok($$SELECT * FROM architect.rehearse('SELECT 1', NULL, NULL)$$, '22004', NULL, 'NULL force: 22004');
SELECT throws_ok($$SELECT architect.runbook(NULL)$$, '22004', NULL, 'runbook of NULL: 22004');
SELECT throws_ok($$CALL architect.backfill('mgp_t', 'a = 1; DELETE FROM mgp_t', 'true')$$, '22023', NULL, 'a SET clause with a second statement is refused');
SELECT throws_ok($$CALL architect.backfill('mgp_t', 'a = 1', 'true) OR (a > 0')$$, '42601', NULL, 'a WHERE fragment that is not one expression is refused');
SELECT throws_ok($$CALL architect.backfill('mgp_t', 'a = now()', 'true')$$, '42804', NULL, 'a SET clause of the wrong type is refused before any batch');

-- The fingerprint sees what a rollback must restore.
CREATE FUNCTION mgp_changes(ddl text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE before text := architect.catalog_fingerprint('mgp_t'); after text;
BEGIN
  EXECUTE ddl;
  after := architect.catalog_fingerprint('mgp_t');
  RAISE EXCEPTION USING ERRCODE = 'PGAT1', MESSAGE = after;
EXCEPTION WHEN SQLSTATE 'PGAT1' THEN
  RETURN SQLERRM <> before;
END $$;
SELECT ok(mgp_changes('COMMENT ON COLUMN mgp_t.b IS ''x'''), 'a column comment changes the fingerprint');
SELECT ok(mgp_changes('COMMENT ON TABLE mgp_t IS ''x'''), 'a table comment changes it');
SELECT ok(mgp_changes('GRANT SELECT ON mgp_t TO PUBLIC'), 'a grant changes it');
SELECT ok(mgp_changes('GRANT SELECT (b) ON mgp_t TO PUBLIC'), 'a column grant changes it');
SELECT ok(mgp_changes('ALTER TABLE mgp_t ALTER COLUMN b SET DEFAULT ''y'''), 'a default changes it');
SELECT ok(mgp_changes('ALTER TABLE mgp_t ADD CONSTRAINT c CHECK (a > 0) NOT VALID'), 'a constraint changes it');
SELECT ok(mgp_changes('CREATE INDEX ON mgp_t (b)'), 'an index changes it');
SELECT ok(mgp_changes('CREATE TRIGGER tg BEFORE UPDATE ON mgp_t FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()'), 'a trigger changes it');
SELECT ok(mgp_changes('ALTER TABLE mgp_t ALTER COLUMN a TYPE bigint'), 'a type changes it');
SELECT ok(NOT mgp_changes('SELECT 1'), 'nothing else does');
SELECT is(architect.catalog_fingerprint(NULL), 'absent', 'a missing relation fingerprints as absent');

-- Rehearsal: the three acceptance pairs restore the schema; nothing stays.
SELECT is((SELECT outcome FROM architect.rehearse(m) WHERE phase = 'verdict'), 'rollback restores the schema',
          'rehearse: ' || m)
  FROM unnest(ARRAY['ALTER TABLE mgp_t ALTER COLUMN a TYPE bigint',
                    'ALTER TABLE mgp_t ADD COLUMN c timestamptz NOT NULL DEFAULT clock_timestamp()',
                    'ALTER TABLE mgp_t ADD FOREIGN KEY (grp) REFERENCES mgp_grp (id); ALTER TABLE mgp_t ALTER COLUMN grp SET NOT NULL']) m;
SELECT is((SELECT string_agg(DISTINCT fingerprint_before || '=' || fingerprint_after_rollback, ',') FROM architect.rehearse('ALTER TABLE mgp_t ALTER COLUMN a TYPE bigint') WHERE phase = 'fingerprint'),
          architect.catalog_fingerprint('mgp_t') || '=' || architect.catalog_fingerprint('mgp_t'),
          'the fingerprint before and after rollback is the live one');
SELECT is(format_type(atttypid, atttypmod), 'integer', 'and the rehearsed type change did not survive')
  FROM pg_attribute WHERE attrelid = 'mgp_t'::regclass AND attname = 'a';
SELECT is((SELECT rewritten FROM architect.rehearse('ALTER TABLE mgp_t ALTER COLUMN a TYPE bigint') WHERE phase = 'forward'),
          'public.mgp_t', 'the rewrite is seen in the relfilenode');
SELECT is((SELECT outcome FROM architect.rehearse('CREATE INDEX CONCURRENTLY mgp_i ON mgp_t (b)') WHERE phase = 'forward'),
          'ok (rehearsed without CONCURRENTLY)', 'CONCURRENTLY is rehearsed as the plain build');

-- The plan for a new FK + NOT NULL is all transactional: carry it out step
-- by step here, then every verify query says done.
CREATE TEMP TABLE mgp_steps AS SELECT * FROM architect.plan_migration(
  'ALTER TABLE mgp_t ADD FOREIGN KEY (grp) REFERENCES mgp_grp (id); ALTER TABLE mgp_t ALTER COLUMN grp SET NOT NULL', '1s', 3);
SELECT ok(bool_and(transactional) AND bool_and(run_sql LIKE 'CALL architect.run_with_lock_timeout(%'), 'every step is transactional and runs under lock_timeout with retry') FROM mgp_steps;
CREATE FUNCTION mgp_run() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE s record; ok boolean; all_ok boolean := true;
BEGIN
  FOR s IN SELECT * FROM mgp_steps ORDER BY step_no LOOP
    EXECUTE s.run_sql;
    EXECUTE s.verify_sql INTO ok;
    all_ok := all_ok AND ok;
  END LOOP;
  RETURN all_ok;
END $$;
SELECT ok(mgp_run(), 'after each step, its verify query returns true');
SELECT ok((SELECT attnotnull FROM pg_attribute WHERE attrelid = 'mgp_t'::regclass AND attname = 'grp')
          AND (SELECT convalidated FROM pg_constraint WHERE conrelid = 'mgp_t'::regclass AND contype = 'f'),
          'grp is NOT NULL and the FK is validated');

-- Backfill progress: each role sees and changes only its own jobs.
CREATE ROLE mgp_r1;
CREATE ROLE mgp_r2;
SET LOCAL ROLE mgp_r1;
INSERT INTO architect.backfill_progress (job, relid, relation, set_clause, where_clause, key_column)
VALUES ('mgp-job', 'mgp_t'::regclass, 'public.mgp_t', 'a = 1', 'true', 'id');
RESET ROLE;
SET LOCAL ROLE mgp_r2;
SELECT is((SELECT count(*) FROM architect.backfill_progress WHERE job = 'mgp-job'), 0::bigint, 'another role does not see the job');
UPDATE architect.backfill_progress SET last_key = '999999' WHERE job = 'mgp-job';
RESET ROLE;
SELECT is((SELECT last_key FROM architect.backfill_progress WHERE job = 'mgp-job'), NULL, 'nor can it move its resume point');

SELECT * FROM finish();
ROLLBACK;
