-- Index health and schema lint: build each flaw, find it, apply the DDL,
-- see the finding go, apply the rollback, see it come back.
-- Capture is emptied and paused so that the register does not depend on
-- what earlier tests ran.
SELECT architect.reset() IS NULL AS reset;
SET pg_architect.track = 'none';
-- The statistics of a test cover seconds: call unused what has no scan at
-- all (the default 7-day minimum is tested in test/pgtap/80_report_trust.sql).
SET pg_architect.min_unused_window = 0;
CREATE SCHEMA "Flaws";
SET search_path = "Flaws", public;

CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE "Child Table" (
    id int GENERATED ALWAYS AS IDENTITY,
    "Parent Id" int REFERENCES parent,
    a int, b int, "Weird Col" text);
CREATE INDEX a_idx ON "Child Table" (a);
CREATE INDEX "A dup" ON "Child Table" (a);
CREATE INDEX ab_idx ON "Child Table" (a, b);
CREATE INDEX lower_idx ON "Child Table" (lower("Weird Col")) WHERE b > 0;
CREATE INDEX lower_idx2 ON "Child Table" (lower("Weird Col")) WHERE b > 0;
CREATE INDEX lower_desc ON "Child Table" (lower("Weird Col") DESC) WHERE b > 0;
CREATE UNIQUE INDEX uq_b ON "Child Table" (b);
CREATE INDEX b_plain ON "Child Table" (b);
CREATE INDEX b_text_ops ON "Child Table" ("Weird Col" text_pattern_ops);
CREATE INDEX b_text ON "Child Table" ("Weird Col", a);

-- kinds found, and why; names and DDL quoted
SELECT kind, index, covered_by, severity FROM architect.index_health
 WHERE table_name = '"Flaws"."Child Table"'::regclass ORDER BY index::text;
SELECT ddl, rollback_ddl FROM architect.index_health
 WHERE index = '"Flaws"."A dup"'::regclass;
-- unique and constraint-backing indexes are never "unused"
SELECT count(*) AS protected_listed FROM architect.index_health
 WHERE index IN ('"Flaws".uq_b'::regclass, '"Flaws".parent_pkey'::regclass);

-- an invalid index (a unique build that failed)
INSERT INTO parent VALUES (1);
CREATE TABLE dupes (v int);
INSERT INTO dupes VALUES (1), (1);
CREATE UNIQUE INDEX CONCURRENTLY dupes_v ON dupes (v);
SELECT kind, index, severity FROM architect.index_health WHERE table_name = '"Flaws".dupes'::regclass;

-- the drop DDL removes the finding, the rollback DDL recreates the index exactly
SELECT pg_get_indexdef('"Flaws"."A dup"'::regclass) AS before_def \gset
SELECT ddl AS drop_ddl, rollback_ddl FROM architect.index_health
 WHERE index = '"Flaws"."A dup"'::regclass \gset
:drop_ddl;
SELECT count(*) AS still_listed FROM architect.index_health WHERE index::text = '"Flaws"."A dup"';
:rollback_ddl;
SELECT pg_get_indexdef('"Flaws"."A dup"'::regclass) = :'before_def' AS restored_exactly;

-- schema lint
CREATE SEQUENCE "Order No" AS integer;
SELECT setval('"Order No"', 2000000000) IS NOT NULL AS set;
SELECT setval(pg_get_serial_sequence('"Child Table"', 'id'), 1700000000) IS NOT NULL AS set;
CREATE SEQUENCE small_big AS bigint;
SELECT setval('small_big', 2000000000) IS NOT NULL AS set;   -- bigint: no finding
CREATE TABLE no_pk (a int NOT NULL, b int);
CREATE UNIQUE INDEX no_pk_a ON no_pk (a);
CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY);
CREATE TABLE no_vacuum (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
CREATE TABLE lazy (id int PRIMARY KEY) WITH (autovacuum_enabled = false);  -- no autoanalyze race
INSERT INTO lazy SELECT generate_series(1, 100);
ALTER TABLE "Child Table" ADD CONSTRAINT later_fk FOREIGN KEY (a) REFERENCES parent NOT VALID;
CREATE TABLE wide_parent (id bigint PRIMARY KEY);
CREATE TABLE narrow_child (id int PRIMARY KEY, wide_parent_id int REFERENCES wide_parent);
CREATE INDEX ON narrow_child (wide_parent_id);

SELECT check_name, severity, object, ddl FROM architect.schema_findings
 WHERE object LIKE '"Flaws".%' ORDER BY check_name, object;
SELECT evidence FROM architect.schema_findings
 WHERE object = '"Flaws"."Child Table_id_seq"';
SELECT rollback_ddl FROM architect.schema_findings
 WHERE check_name = 'no_primary_key' AND object = '"Flaws".no_pk';
SELECT evidence, rollback_ddl FROM architect.schema_findings
 WHERE check_name = 'fk_type_mismatch' AND object LIKE '"Flaws".%';

-- the FK index DDL fixes the finding (CONCURRENTLY cannot run in a transaction
-- block; psql runs each line on its own)
SELECT ddl AS fk_ddl FROM architect.schema_findings
 WHERE check_name = 'fk_without_index' AND object LIKE '%Parent Id%' \gset
:fk_ddl;
SELECT count(*) AS fk_findings_left FROM architect.schema_findings
 WHERE check_name = 'fk_without_index' AND object LIKE '%Parent Id%';
ANALYZE lazy;
SELECT check_name AS lazy_findings_left FROM architect.schema_findings WHERE object = '"Flaws".lazy';

-- the register: stable ids, every source, ranked by severity
SELECT category, check_name, severity, effort, object FROM architect.findings
 WHERE object LIKE '"Flaws".%' ORDER BY rank;
SELECT count(*) = count(DISTINCT finding_id) AS ids_unique,
       bool_and(finding_id ~ '^F[0-9a-f]{12}$') AS ids_shaped
  FROM architect.findings;
SELECT finding_id FROM architect.findings WHERE object = '"Flaws"."Order No"';

RESET search_path;
DROP SCHEMA "Flaws" CASCADE;
