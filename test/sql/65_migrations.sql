-- Migrations: what each statement is, the plan's expand/contract recipes
-- (steps, locks, transactional, rollback), rehearsal outcomes and the proof
-- by fingerprints, the CI check's policy, the runbook, and bad input.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_architect;
SET client_min_messages = notice;
\set SHOW_CONTEXT never

CREATE TABLE mg_grp (id int PRIMARY KEY);
INSERT INTO mg_grp SELECT g FROM generate_series(1, 10) g;
CREATE TABLE mg_t (id bigint PRIMARY KEY, a int NOT NULL DEFAULT 0, b text, grp int);
INSERT INTO mg_t SELECT g, g, md5(g::text), 1 + g % 10 FROM generate_series(1, 1000) g;
CREATE INDEX mg_t_a ON mg_t (a);
COMMENT ON COLUMN mg_t.b IS 'payload';

-- The parse side.
SELECT statement_no, kind, relation, relid IS NOT NULL AS exists, column_name, new_name, type_name,
       expr, not_null, constraint_type, constraint_name, keys, is_concurrent, not_valid
  FROM architect.migration_statements($$
ALTER TABLE mg_t ALTER COLUMN a TYPE bigint;
ALTER TABLE mg_t ADD COLUMN c timestamptz DEFAULT clock_timestamp() NOT NULL;
ALTER TABLE mg_t ADD COLUMN s serial;
ALTER TABLE mg_t ADD FOREIGN KEY (grp) REFERENCES mg_grp (id);
ALTER TABLE mg_t ADD CONSTRAINT mg_chk CHECK (a > 0) NOT VALID;
ALTER TABLE mg_t ALTER COLUMN grp SET NOT NULL;
CREATE INDEX CONCURRENTLY ON mg_t (b, grp);
DROP INDEX mg_t_a;
ALTER TABLE mg_t RENAME COLUMN b TO body;
ALTER TABLE mg_t RENAME TO mg_t2;
VACUUM (FULL) mg_t;
ALTER TABLE mg_t ADD COLUMN x int, ADD COLUMN y int;
COMMIT;
$$) ORDER BY 1;

-- The plan.  Sizes and durations depend on the machine: left out.
CREATE FUNCTION mg_plan(sql text) RETURNS TABLE (step int, st int, phase text, action text, lock text,
                                                 rw bool, scan bool, tx bool, sql text, rollback text, verify text)
LANGUAGE sql AS $$
  SELECT step_no, statement_no, phase, action, lock_mode, rewrites, scans, transactional, sql, rollback_sql, verify_sql
    FROM architect.plan_migration(sql) $$;

-- (a) int -> bigint: new column, sync trigger, backfill, concurrent index,
-- NOT NULL by check, swap, contract.
SELECT step, phase, action, lock, rw, scan, tx FROM mg_plan('ALTER TABLE mg_t ALTER COLUMN a TYPE bigint');
SELECT sql, rollback FROM mg_plan('ALTER TABLE mg_t ALTER COLUMN a TYPE bigint') WHERE phase IN ('swap', 'contract') OR action LIKE 'build index%';
-- (b) volatile default + NOT NULL; serial.
SELECT step, phase, lock, scan, tx, sql, rollback FROM mg_plan('ALTER TABLE mg_t ADD COLUMN c timestamptz NOT NULL DEFAULT clock_timestamp()');
SELECT step, phase, sql FROM mg_plan('ALTER TABLE mg_t ADD COLUMN s bigserial');
-- (c) FK + NOT NULL; CHECK; UNIQUE / PRIMARY KEY via a concurrent index.
SELECT step, st, phase, lock, scan, sql, verify FROM mg_plan($$ALTER TABLE mg_t ADD FOREIGN KEY (grp) REFERENCES mg_grp (id);
ALTER TABLE mg_t ALTER COLUMN grp SET NOT NULL$$);
SELECT step, sql FROM mg_plan('ALTER TABLE mg_t ADD CONSTRAINT mg_pos CHECK (a > 0)');
SELECT step, lock, tx, sql, rollback FROM mg_plan('ALTER TABLE mg_t ADD UNIQUE (b)');
SELECT step, sql FROM mg_plan('ALTER TABLE mg_grp ADD PRIMARY KEY (id)');
-- Indexes, renames, VACUUM FULL (pg_repack is not installed here), as-is.
SELECT step, phase, lock, tx, sql, rollback FROM mg_plan($$CREATE INDEX ON mg_t (b); DROP INDEX mg_t_a$$);
SELECT step, phase, sql, rollback FROM mg_plan('ALTER TABLE mg_t RENAME COLUMN b TO body');
SELECT step, phase, sql, rollback FROM mg_plan('ALTER TABLE mg_t RENAME TO mg_items');
SELECT step, action, lock, rw, tx FROM mg_plan('VACUUM FULL mg_t');
SELECT step, lock, tx, sql, rollback FROM mg_plan('ALTER TABLE mg_t ALTER COLUMN b SET DEFAULT ''x''');
-- Every locking transactional step runs under lock_timeout with retry.
SELECT DISTINCT split_part(run_sql, '(', 1) AS runner, transactional
  FROM architect.plan_migration('ALTER TABLE mg_t ALTER COLUMN a TYPE bigint', '200ms', 3)
 WHERE lock_mode IS NOT NULL AND sql NOT LIKE 'CALL%' ORDER BY 1;
SELECT run_sql FROM architect.plan_migration('CREATE INDEX mg_b ON mg_t (b)', '200ms', 3);

-- Rehearsal: per statement outcome and locks; fingerprints equal before
-- and after the (generated) rollback.
SELECT phase, statement_no, statement, outcome, locks_taken, rewritten IS NOT NULL AS rewrote,
       fingerprint_before = fingerprint_after_rollback AS same, fingerprint_before = fingerprint_after_forward AS unchanged
  FROM architect.rehearse($$ALTER TABLE mg_t ALTER COLUMN a TYPE bigint;
ALTER TABLE mg_t ADD COLUMN c timestamptz NOT NULL DEFAULT clock_timestamp();
ALTER TABLE mg_t ADD FOREIGN KEY (grp) REFERENCES mg_grp (id);
ALTER TABLE mg_t ALTER COLUMN grp SET NOT NULL;
CREATE INDEX CONCURRENTLY mg_t_b ON mg_t (b);
ALTER TABLE mg_t RENAME COLUMN b TO body;
VACUUM mg_t$$)
 WHERE phase <> 'verdict';
SELECT outcome FROM architect.rehearse('ALTER TABLE mg_t ADD COLUMN z int') WHERE phase = 'verdict';
-- A table created by the forward script is absent again after rollback.
SELECT phase, outcome, fingerprint_before, fingerprint_after_rollback
  FROM architect.rehearse('CREATE TABLE mg_new2 (id int); CREATE INDEX ON mg_new2 (id)', 'DROP TABLE mg_new2')
 WHERE phase IN ('fingerprint', 'verdict');
SELECT phase, outcome FROM architect.rehearse('CREATE TABLE mg_new3 (id int)') WHERE phase = 'verdict';
SELECT outcome FROM architect.rehearse('ALTER TABLE mg_t RENAME TO mg_t9', 'ALTER TABLE mg_t9 RENAME TO mg_t') WHERE phase = 'verdict';
-- A wrong rollback is caught.
SELECT phase, outcome FROM architect.rehearse('ALTER TABLE mg_t ADD COLUMN z int', 'ALTER TABLE mg_t ADD COLUMN z2 int')
 WHERE phase IN ('fingerprint', 'verdict');
-- A comment is part of the fingerprint; a forgotten one is caught.
SELECT outcome FROM architect.rehearse($$COMMENT ON COLUMN mg_t.b IS 'changed'$$, $$COMMENT ON COLUMN mg_t.b IS NULL$$) WHERE phase = 'verdict';
SELECT outcome FROM architect.rehearse($$COMMENT ON COLUMN mg_t.b IS 'changed'$$, $$COMMENT ON COLUMN mg_t.b IS 'payload'$$) WHERE phase = 'verdict';
-- Privileges too.
SELECT outcome FROM architect.rehearse('GRANT SELECT ON mg_t TO PUBLIC', 'REVOKE SELECT ON mg_t FROM PUBLIC') WHERE phase = 'verdict';
-- A failing statement stops the rehearsal; the rest is reported as not run.
SELECT phase, statement_no, outcome, detail FROM architect.rehearse('ALTER TABLE mg_t ADD COLUMN a int; ALTER TABLE mg_t ADD COLUMN q int', 'SELECT 1')
 WHERE phase IN ('forward', 'rollback', 'verdict');
-- Rewrites above the threshold are not executed unless forced.
SET pg_architect.rehearse_max_rewrite_size = 0;
SELECT phase, outcome, detail ~ 'force => true' AS says_how FROM architect.rehearse('ALTER TABLE mg_t ALTER COLUMN a TYPE bigint') WHERE phase <> 'fingerprint';
SELECT phase, outcome FROM architect.rehearse('ALTER TABLE mg_t ALTER COLUMN a TYPE bigint', NULL, true) WHERE phase <> 'fingerprint';
RESET pg_architect.rehearse_max_rewrite_size;
-- Nothing survived.
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'mg_t'::regclass AND attname = 'a';
SELECT count(*) FROM pg_attribute WHERE attrelid = 'mg_t'::regclass AND attname IN ('c', 'z', 'body');

-- The CI check.
SELECT statement_no, lock_mode, rewrites, scans, risk, recipe IS NOT NULL AS has_recipe, violation
  FROM architect.check_migration($$ALTER TABLE mg_t ALTER COLUMN a TYPE bigint;
ALTER TABLE mg_t ADD COLUMN q int;
CREATE INDEX CONCURRENTLY mg_q ON mg_t (b);
ALTER TABLE mg_t ALTER COLUMN grp SET NOT NULL$$, 'ShareUpdateExclusiveLock', 0);

-- The runbook.
SELECT r ~ '### Step 1 \(expand' AS step1, r ~ 'Rollback:' AS rollback, r ~ 'Success when' AS verify,
       r ~ 'replay_lag' AS lag, r ~ 'wait_event_type = ''Lock''' AS lock_waits
  FROM architect.runbook('ALTER TABLE mg_t ALTER COLUMN a TYPE bigint') r;
SELECT jsonb_array_length(architect.runbook('ALTER TABLE mg_t ADD COLUMN c int NOT NULL DEFAULT random()', 'json')::jsonb -> 'steps');

-- Bad input.
SELECT * FROM architect.plan_migration(NULL);
SELECT * FROM architect.plan_migration('   -- only a comment');
SELECT * FROM architect.plan_migration('ALTER TABLE mg_t ADD COLUMN x int; this is not sql');
SELECT * FROM architect.plan_migration('ALTER TABLE mg_nosuch ADD COLUMN x int');
SELECT step_no, sql, rollback_sql FROM architect.plan_migration('CREATE TABLE mg_new (id int); CREATE INDEX ON mg_new (id)');
SELECT * FROM architect.rehearse('BEGIN; ALTER TABLE mg_t ADD COLUMN x int; COMMIT');
SELECT * FROM architect.rehearse('ALTER TABLE mg_t ADD COLUMN x int', 'SAVEPOINT a');
SELECT * FROM architect.rehearse('ALTER TABLE mg_t DROP COLUMN b');
SELECT * FROM architect.check_migration('ALTER TABLE mg_t ADD COLUMN x int', 'NoSuchLock');
SELECT architect.runbook('ALTER TABLE mg_t ADD COLUMN x int', 'pdf');
SELECT architect.validate_fragment('a = 1; DROP TABLE mg_t', 'set_clause');
SELECT architect.validate_fragment('true) OR (true', 'expression');
SELECT architect.validate_fragment('a > 1 --', 'expression');
SELECT architect.validate_fragment('(SELECT 1), 2', 'expression');
SELECT architect.validate_fragment('a = 1, b = ''x''', 'set_clause');
CALL architect.backfill('mg_t', 'a = 1', NULL);
CALL architect.backfill('mg_t', 'nosuch = 1', 'true');
CALL architect.backfill('mg_t', 'a = 1', 'true', 0);
CREATE TABLE mg_nokey (a int);
CALL architect.backfill('mg_nokey', 'a = 1', 'true');
CALL architect.run_with_lock_timeout('SELECT 1', '0s');
-- NOT NULL constraint names and column names with odd characters are quoted.
CREATE TABLE "mg Odd" ("my col" int);
SELECT step, sql FROM mg_plan('ALTER TABLE "mg Odd" ALTER COLUMN "my col" SET NOT NULL');

DROP TABLE mg_t, mg_grp, mg_nokey, "mg Odd";
DROP FUNCTION mg_plan(text);
