-- DDL guard: check_ddl per DDL family (lock level, rewrite/scan, risk),
-- multi-statement split, garbage input, and the live guard's warn / block /
-- override / exemptions.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_architect;
SET client_min_messages = notice;
-- Judge every table, however small, so that the test tables count as large.
SET pg_architect.ddl_guard_min_size = 0;

CREATE TABLE dg_big (id int PRIMARY KEY, a int, b text, v varchar(10),
                     ts timestamp, n numeric(10,2));
INSERT INTO dg_big SELECT g, g, 'x', 'v', now()::timestamp, 1 FROM generate_series(1, 100) g;
ALTER TABLE dg_big ADD CONSTRAINT dg_big_a_nn CHECK (a IS NOT NULL);
CREATE TABLE dg_ref (id int PRIMARY KEY);
INSERT INTO dg_ref VALUES (1);
CREATE MATERIALIZED VIEW dg_mv AS SELECT id FROM dg_big;
RESET pg_architect.ddl_guard_min_size;
SET pg_architect.ddl_guard_min_size = 0;

CREATE FUNCTION dg(t text) RETURNS TABLE (no int, rel text, lock text, rewrites bool, scans bool,
                                          blocks_reads bool, blocks_writes bool, risk text)
LANGUAGE sql AS $$
  SELECT statement_no, relation, lock_mode, rewrites_table, scans_table, blocks_reads,
         blocks_writes, risk FROM architect.check_ddl(t) $$;

-- ADD COLUMN: constant and stable defaults are catalog-only, volatile ones,
-- serial and identity rewrite; NOT NULL without default must scan.
SELECT * FROM dg($$
ALTER TABLE dg_big ADD COLUMN c1 int;
ALTER TABLE dg_big ADD COLUMN c2 int DEFAULT 42;
ALTER TABLE dg_big ADD COLUMN c3 timestamptz DEFAULT now();
ALTER TABLE dg_big ADD COLUMN c4 float8 DEFAULT random();
ALTER TABLE dg_big ADD COLUMN c5 uuid DEFAULT gen_random_uuid();
ALTER TABLE dg_big ADD COLUMN c6 bigserial;
ALTER TABLE dg_big ADD COLUMN c7 int GENERATED ALWAYS AS IDENTITY;
ALTER TABLE dg_big ADD COLUMN c8 int NOT NULL;
ALTER TABLE dg_big ADD COLUMN c9 int GENERATED ALWAYS AS (a * 2) STORED;
$$);

-- ALTER COLUMN TYPE: binary-coercible changes do not rewrite.
SELECT * FROM dg($$
ALTER TABLE dg_big ALTER COLUMN v TYPE varchar(20);
ALTER TABLE dg_big ALTER COLUMN v TYPE varchar(5);
ALTER TABLE dg_big ALTER COLUMN v TYPE text;
ALTER TABLE dg_big ALTER COLUMN a TYPE bigint;
ALTER TABLE dg_big ALTER COLUMN n TYPE numeric(12,2);
ALTER TABLE dg_big ALTER COLUMN n TYPE numeric(12,4);
ALTER TABLE dg_big ALTER COLUMN b TYPE int USING b::int;
$$);
SELECT reason FROM architect.check_ddl('ALTER TABLE dg_big ALTER COLUMN v TYPE text');
SELECT reason FROM architect.check_ddl('ALTER TABLE dg_big ALTER COLUMN a TYPE bigint');

-- SET NOT NULL: a valid CHECK (a IS NOT NULL) proves column a, nothing proves b.
SELECT * FROM dg($$
ALTER TABLE dg_big ALTER COLUMN a SET NOT NULL;
ALTER TABLE dg_big ALTER COLUMN b SET NOT NULL;
ALTER TABLE dg_big ALTER COLUMN id SET NOT NULL;
ALTER TABLE dg_big ALTER COLUMN b DROP NOT NULL;
$$);
SELECT safer_alternative FROM architect.check_ddl('ALTER TABLE dg_big ALTER COLUMN b SET NOT NULL');

-- The recommended pattern within one migration text is recognised.
SELECT * FROM dg($$
ALTER TABLE dg_big ADD CONSTRAINT b_nn CHECK (b IS NOT NULL) NOT VALID;
ALTER TABLE dg_big VALIDATE CONSTRAINT b_nn;
ALTER TABLE dg_big ALTER COLUMN b SET NOT NULL;
$$);

-- Constraints: CHECK / FOREIGN KEY with and without NOT VALID, unique and
-- primary keys built in place or attached from a concurrent index.
SELECT * FROM dg($$
ALTER TABLE dg_big ADD CONSTRAINT ck CHECK (a > 0);
ALTER TABLE dg_big ADD CONSTRAINT ck CHECK (a > 0) NOT VALID;
ALTER TABLE dg_big ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES dg_ref (id);
ALTER TABLE dg_big ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES dg_ref (id) NOT VALID;
ALTER TABLE dg_big VALIDATE CONSTRAINT fk;
ALTER TABLE dg_big ADD CONSTRAINT uq UNIQUE (a);
ALTER TABLE dg_big ADD CONSTRAINT uq UNIQUE USING INDEX dg_big_pkey;
ALTER TABLE dg_big DROP CONSTRAINT dg_big_a_nn;
$$);

-- PRIMARY KEY USING INDEX scans only for nullable columns not proven by a CHECK;
-- SET LOGGED / SET TABLESPACE to what the table already has are no-ops.
CREATE TABLE dg_pk (a int, b int, CONSTRAINT dg_pk_b_nn CHECK (b IS NOT NULL));
INSERT INTO dg_pk SELECT g, g FROM generate_series(1, 10) g;
SET pg_architect.ddl_guard = off;
CREATE UNIQUE INDEX dg_pk_a ON dg_pk (a);
CREATE UNIQUE INDEX dg_pk_b ON dg_pk (b);
RESET pg_architect.ddl_guard;
SELECT * FROM dg($$
ALTER TABLE dg_pk ADD CONSTRAINT p PRIMARY KEY USING INDEX dg_pk_a;
ALTER TABLE dg_pk ADD CONSTRAINT p PRIMARY KEY USING INDEX dg_pk_b;
ALTER TABLE dg_pk SET LOGGED;
ALTER TABLE dg_pk SET TABLESPACE pg_default;
ALTER TABLE dg_pk SET ACCESS METHOD heap;
$$);
SELECT reason FROM architect.check_ddl('ALTER TABLE dg_pk ADD CONSTRAINT p PRIMARY KEY USING INDEX dg_pk_a');
DROP TABLE dg_pk;

-- ATTACH PARTITION scans the partition unless its valid CHECK constraints
-- imply the bound (columns in another order are mapped, as PostgreSQL does).
CREATE TABLE dg_parted (a int, b text) PARTITION BY RANGE (a);
CREATE TABLE dg_p1 AS SELECT g AS a, 'x'::text AS b FROM generate_series(1, 10) g;
CREATE TABLE dg_p2 (b text, a int CHECK (a IS NOT NULL AND a >= 100 AND a < 200));
INSERT INTO dg_p2 VALUES ('x', 150);
SELECT * FROM dg($$
ALTER TABLE dg_parted ATTACH PARTITION dg_p1 FOR VALUES FROM (0) TO (100);
ALTER TABLE dg_parted ATTACH PARTITION dg_p2 FOR VALUES FROM (100) TO (200);
ALTER TABLE dg_parted ATTACH PARTITION dg_p2 FOR VALUES FROM (100) TO (150);
ALTER TABLE dg_parted DETACH PARTITION dg_p1;
$$);
-- A bound that calls a function is not evaluated by the dry run (no NOTICE).
CREATE FUNCTION dg_noisy() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'dg_noisy() was called'; RETURN 100; END $$;
SELECT rel, scans FROM dg('ALTER TABLE dg_parted ATTACH PARTITION dg_p2 FOR VALUES FROM (dg_noisy()) TO (200)');
DROP FUNCTION dg_noisy();
DROP TABLE dg_parted, dg_p1, dg_p2;

-- Catalog-only ALTER TABLE forms still take their lock (PostgreSQL's own level).
SELECT * FROM dg($$
ALTER TABLE dg_big ALTER COLUMN a SET DEFAULT 0;
ALTER TABLE dg_big DROP COLUMN ts;
ALTER TABLE dg_big ALTER COLUMN a SET STATISTICS 500;
ALTER TABLE dg_big SET (fillfactor = 90);
ALTER TABLE dg_big SET (autovacuum_enabled = false);
ALTER TABLE dg_big SET UNLOGGED;
ALTER TABLE dg_big RENAME COLUMN b TO bb;
ALTER TABLE dg_big RENAME TO dg_bigger;
ALTER INDEX dg_big_pkey RENAME TO dg_pk;
$$);

-- A SET lock_timeout earlier in the text bounds the wait of brief locks
-- (medium becomes low); it does not make a rewrite any shorter.
SELECT * FROM dg($$
SET lock_timeout = '2s';
ALTER TABLE dg_big DROP COLUMN ts;
ALTER TABLE dg_big ALTER COLUMN a TYPE bigint;
SET lock_timeout = 0;
ALTER TABLE dg_big DROP COLUMN ts;
SET lock_timeout TO 500;
ALTER TABLE dg_big DROP COLUMN ts;
RESET lock_timeout;
ALTER TABLE dg_big DROP COLUMN ts;
$$);

-- Indexes, maintenance, drops.
SELECT * FROM dg($$
CREATE INDEX ON dg_big (a);
CREATE UNIQUE INDEX ON dg_big (a);
CREATE INDEX CONCURRENTLY ON dg_big (a);
REINDEX TABLE dg_big;
REINDEX INDEX CONCURRENTLY dg_big_pkey;
DROP INDEX dg_big_pkey;
DROP INDEX CONCURRENTLY dg_big_pkey;
VACUUM dg_big;
VACUUM FULL dg_big;
ANALYZE dg_big;
CLUSTER dg_big USING dg_big_pkey;
REFRESH MATERIALIZED VIEW dg_mv;
REFRESH MATERIALIZED VIEW CONCURRENTLY dg_mv;
TRUNCATE dg_ref;
LOCK dg_big IN SHARE MODE;
CREATE TRIGGER t BEFORE UPDATE ON dg_big FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
DROP TABLE dg_ref;
$$);

-- Not DDL, new tables, missing relations, and a table created earlier in the text.
SELECT * FROM dg($$
SELECT 1;
CREATE TABLE dg_new (a int REFERENCES dg_ref (id));
CREATE INDEX ON dg_new (a);
ALTER TABLE dg_new ALTER COLUMN a TYPE bigint;
ALTER TABLE IF EXISTS dg_nowhere ADD COLUMN x int DEFAULT random();
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
$$);

-- The split keeps each statement's own text, without the separators.
SELECT statement_no, statement FROM architect.check_ddl(E'  ALTER TABLE dg_big ADD COLUMN z int ;\n\n-- next\nCREATE INDEX ON dg_big (a)  ;;VACUUM dg_big');
SELECT count(*) FROM architect.check_ddl('');
SELECT count(*) FROM architect.check_ddl('-- only a comment');

-- Garbage: a syntax error pointing into the checked text, not a crash.
SELECT * FROM architect.check_ddl('ALTER TABLE dg_big ADD COLUMN x int; ALTR TABLE dg_big DROP COLUMN a');
SELECT * FROM architect.check_ddl('}}} garbage ((');
SELECT * FROM architect.check_ddl('ALTER TABLE dg_big ADD COLUMN x int DEFAULT (');
SELECT * FROM architect.check_ddl(NULL);

-- Nothing was executed by any of the above.
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'dg_big'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'dg_big'::regclass;

-- The live guard.  Default is warn.
SHOW pg_architect.ddl_guard;
ALTER TABLE dg_big ALTER COLUMN a TYPE bigint;
ALTER TABLE dg_big ADD COLUMN d int DEFAULT 7;  -- catalog-only: no warning
SET pg_architect.ddl_guard = block;
ALTER TABLE dg_big ADD COLUMN e float8 DEFAULT random();
CREATE INDEX dg_big_b ON dg_big (b);
VACUUM FULL;
SELECT count(*) FROM pg_attribute WHERE attrelid = 'dg_big'::regclass AND attname = 'e';
-- SET LOCAL overrides for one transaction only.
BEGIN;
SET LOCAL pg_architect.ddl_guard = off;
CREATE INDEX dg_big_b ON dg_big (b);
COMMIT;
SHOW pg_architect.ddl_guard;
DROP INDEX dg_big_b;
-- Non-blocking variants pass in block mode.
CREATE INDEX CONCURRENTLY dg_big_b ON dg_big (b);
ALTER TABLE dg_big ADD CONSTRAINT ck CHECK (a > 0) NOT VALID;
ALTER TABLE dg_big VALIDATE CONSTRAINT ck;
-- A table created in the same transaction is exempt, whatever its size.
BEGIN;
CREATE TABLE dg_fresh AS SELECT g AS a FROM generate_series(1, 1000) g;
ALTER TABLE dg_fresh ALTER COLUMN a TYPE bigint;
CREATE INDEX ON dg_fresh (a);
SELECT risk FROM architect.check_ddl('ALTER TABLE dg_fresh ADD COLUMN r float8 DEFAULT random()');
ROLLBACK;
-- Temporary tables are exempt: no other session can see them.
CREATE TEMP TABLE dg_temp AS SELECT g AS a FROM generate_series(1, 1000) g;
SELECT risk, reason FROM architect.check_ddl('ALTER TABLE dg_temp ALTER COLUMN a TYPE bigint');
ALTER TABLE dg_temp ALTER COLUMN a TYPE bigint;
DROP TABLE dg_temp;
-- Small tables are exempt below the threshold.
SET pg_architect.ddl_guard_min_size = '1MB';
ALTER TABLE dg_big ALTER COLUMN a TYPE bigint;
SELECT risk, reason FROM architect.check_ddl('VACUUM FULL dg_big');
SET pg_architect.ddl_guard_min_size = 0;
-- Bad settings are refused with PostgreSQL's own errors.
SET pg_architect.ddl_guard = 'sometimes';
SET pg_architect.ddl_guard_min_size = -1;
-- The guard judges DDL run inside functions too.
DO $$ BEGIN EXECUTE 'ALTER TABLE dg_big ALTER COLUMN n TYPE numeric(20,6)'; END $$;
SET pg_architect.ddl_guard = off;
ALTER TABLE dg_big ALTER COLUMN n TYPE numeric(20,6);
RESET pg_architect.ddl_guard;
RESET pg_architect.ddl_guard_min_size;

-- PostgreSQL's own errors are never replaced nor lose their cursor
-- position, guard on or off (issue 12: found by core's alter_table test).
CREATE TABLE dg_lp (a int, b int) PARTITION BY LIST (a);
CREATE TABLE dg_fp (a int);
CREATE TABLE dg_xp (a int, b int, c int);
CREATE TABLE dg_tp (a int, b text);
CREATE TABLE dg_op (a int, b int);
INSERT INTO dg_op VALUES (1, 1);
SET pg_architect.ddl_guard_min_size = 0;
SET pg_architect.ddl_guard = block;
ALTER TABLE dg_lp ATTACH PARTITION dg_fp FOR VALUES IN (1);
ALTER TABLE dg_lp ATTACH PARTITION dg_xp FOR VALUES IN (1);
ALTER TABLE dg_lp ATTACH PARTITION dg_tp FOR VALUES IN (1);
ALTER TABLE dg_lp ATTACH PARTITION dg_op FOR VALUES FROM (1) TO (2);
ALTER TABLE dg_lp ATTACH PARTITION dg_op FOR VALUES IN ('x');
ALTER TABLE dg_lp ATTACH PARTITION dg_nosuch FOR VALUES IN (1);
SET pg_architect.ddl_guard = warn;
ALTER TABLE dg_lp ATTACH PARTITION dg_fp FOR VALUES IN (1);
ALTER TABLE dg_lp ATTACH PARTITION dg_op FOR VALUES FROM (1) TO (2);
SET pg_architect.ddl_guard = off;
ALTER TABLE dg_lp ATTACH PARTITION dg_fp FOR VALUES IN (1);
ALTER TABLE dg_lp ATTACH PARTITION dg_op FOR VALUES FROM (1) TO (2);
ALTER TABLE dg_lp ATTACH PARTITION dg_op FOR VALUES IN ('x');
RESET pg_architect.ddl_guard;
-- the dry run says what it can, and never raises the classifier's error
SELECT risk, reason FROM architect.check_ddl('ALTER TABLE dg_lp ATTACH PARTITION dg_fp FOR VALUES IN (1)');
SELECT risk, reason FROM architect.check_ddl('ALTER TABLE dg_lp ATTACH PARTITION dg_op FOR VALUES FROM (1) TO (2)');
RESET pg_architect.ddl_guard_min_size;
DROP TABLE dg_lp, dg_fp, dg_xp, dg_tp, dg_op;

DROP FUNCTION dg(text);
DROP MATERIALIZED VIEW dg_mv;
DROP TABLE dg_big, dg_ref;
