-- Bloat: tier 1 estimate from the catalog, tier 2 sampled and tier 3 exact
-- measurement of heap tables and btree indexes, and the architect.bloat view
-- with the remedy for each bloated relation.  See the README, section "Bloat".
--
-- Privileges: the functions are revoked from PUBLIC and granted to
-- pg_monitor; inside, C checks SELECT on the table or membership in
-- pg_stat_scan_tables / pg_read_all_stats (as contrib pgstattuple), so a
-- grant to another role never exposes tables that role cannot read.

CREATE TYPE architect.bloat_measurement AS (
    relation regclass,
    method text,
    table_bytes bigint,
    live_bytes bigint,
    dead_bytes bigint,
    free_bytes bigint,
    bloat_pct double precision,
    pages_read bigint,
    relation_pages bigint,
    error_bound_pct double precision);

COMMENT ON TYPE architect.bloat_measurement IS
  'One result of architect.measure_bloat; error_bound_pct is the 95 % half-width of bloat_pct in points (0 when exact)';

CREATE FUNCTION architect.measure_bloat(rel regclass, sample_pages integer DEFAULT NULL)
RETURNS architect.bloat_measurement
AS 'MODULE_PATHNAME', 'architect_measure_bloat'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION architect.measure_bloat(regclass, integer) IS
  'Bloat of a heap table or btree index from its pages: sample_pages NULL = default sample (exact when small), 0 = exact (every page), N = about N page reads; AccessShareLock only';

REVOKE ALL ON FUNCTION architect.measure_bloat(regclass, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION architect.measure_bloat(regclass, integer) TO pg_monitor;

CREATE FUNCTION architect.estimate_bloat(
    rel regclass,
    OUT relation regclass,
    OUT kind text,
    OUT table_bytes bigint,
    OUT live_bytes bigint,
    OUT dead_bytes bigint,
    OUT free_bytes bigint,
    OUT bloat_pct double precision,
    OUT expected_bytes bigint,
    OUT wasted_bytes bigint,
    OUT confidence double precision,
    OUT confidence_note text)
RETURNS record
AS 'MODULE_PATHNAME', 'architect_estimate_bloat'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION architect.estimate_bloat(regclass) IS
  'Tier 1 bloat estimate of a heap table or btree index from pg_statistic, pg_class and activity statistics, without reading data pages; confidence 0..1 with the reasons';

REVOKE ALL ON FUNCTION architect.estimate_bloat(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION architect.estimate_bloat(regclass) TO pg_monitor;

-- Every heap table, materialized view, TOAST table and btree index of the
-- current database (other sessions' temp tables excepted), with the tier 1
-- estimate, and for relations whose estimate is weak (confidence < 0.5) and
-- which are small enough to read whole (<= 8 MB), the exact measurement
-- instead.  A weak estimate on a bigger relation is not acted on: its
-- remedy is to measure it.  wasted_bytes is what a rewrite would give back;
-- remedy_ddl the statement to run, lock_note what it locks.
CREATE VIEW architect.bloat AS
WITH rels AS (
  SELECT c.oid, c.relname, c.relkind, n.nspname,
         coalesce(i.indrelid, t.oid) AS parent,
         c.reloptions
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_index i ON i.indexrelid = c.oid
    LEFT JOIN pg_class t ON t.reltoastrelid = c.oid AND c.relkind = 't'
   WHERE (c.relkind IN ('r', 'm', 't')
          AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'heap')
          OR c.relkind = 'i'
          AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'btree'))
     AND NOT pg_is_other_temp_schema(c.relnamespace)
     AND n.nspname <> 'information_schema'
     AND (n.nspname <> 'pg_toast' OR c.relkind = 't')
),
est AS (
  SELECT r.*, e.*
    FROM rels r, architect.estimate_bloat(r.oid) e
),
-- MATERIALIZED and CASE: measure_bloat runs only for the rows that need it,
-- once each (a LATERAL join with a WHERE would call it for every row).
best AS MATERIALIZED (
  SELECT e.*,
         CASE WHEN e.confidence < 0.5 AND e.table_bytes IS NOT NULL
                   AND e.table_bytes <= 8 * 1024 * 1024
                   AND e.confidence_note NOT LIKE 'skipped%'
              THEN architect.measure_bloat(e.oid, 0) END AS m
    FROM est e
),
sized AS (
  SELECT b.*,
         coalesce((b.m).method, CASE WHEN b.table_bytes IS NULL THEN 'skipped' ELSE 'estimate' END) AS method_used,
         coalesce((b.m).bloat_pct, b.bloat_pct) AS bloat_pct_used,
         coalesce((b.m).dead_bytes, b.dead_bytes) AS dead_used,
         -- a measurement knows the live bytes; a rewrite keeps them at the fillfactor
         CASE WHEN b.m IS NULL THEN b.wasted_bytes
              ELSE greatest(0, b.table_bytes
                               - (b.table_bytes - (b.m).dead_bytes - (b.m).free_bytes) * 100.0 /
                                 coalesce((SELECT split_part(o, '=', 2)::int FROM unnest(b.reloptions) o
                                            WHERE o LIKE 'fillfactor=%'),
                                          CASE WHEN b.relkind = 'i' THEN 90 ELSE 100 END))::bigint
         END AS wasted,
         s.n_live_tup, s.n_dead_tup, s.n_tup_upd, s.n_tup_hot_upd,
         s.vacuum_count + s.autovacuum_count AS vacuums
    FROM best b
    LEFT JOIN pg_stat_all_tables s ON s.relid = CASE WHEN b.relkind = 'i' THEN b.parent ELSE b.oid END
),
judged AS (
  SELECT z.*,
         CASE
           WHEN z.table_bytes IS NULL THEN 'none'
           WHEN z.wasted < 1024 * 1024 OR z.wasted < 0.2 * z.table_bytes THEN 'none'
           WHEN z.method_used = 'estimate' AND z.confidence < 0.5 THEN 'measure'
           WHEN z.relkind = 'i' THEN 'reindex'
           WHEN z.dead_used > 0.5 * z.wasted AND z.vacuums >= 2
                AND z.n_dead_tup > 0.1 * greatest(z.n_live_tup, 1) THEN 'tune_autovacuum'
           WHEN z.dead_used > 0.5 * z.wasted THEN 'vacuum'
           ELSE 'rewrite'
         END AS remedy,
         CASE WHEN z.relkind = 't' THEN (SELECT format('%I.%I', pn.nspname, pc.relname)
                                          FROM pg_class pc JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                                         WHERE pc.oid = z.parent)
              ELSE format('%I.%I', z.nspname, z.relname) END AS target
    FROM sized z
)
SELECT j.oid::regclass AS relation,
       j.nspname AS schema_name,
       CASE j.relkind WHEN 'r' THEN 'table' WHEN 'm' THEN 'materialized view'
                      WHEN 't' THEN 'toast table' ELSE 'btree index' END AS kind,
       j.parent::regclass AS table_relation,
       j.table_bytes AS size_bytes,
       j.wasted AS wasted_bytes,
       round(j.bloat_pct_used::numeric, 1) AS bloat_pct,
       j.dead_used AS dead_bytes,
       j.method_used AS method,
       CASE WHEN j.method_used = 'exact' THEN 1.0 ELSE j.confidence END AS confidence,
       CASE WHEN j.method_used = 'exact'
            THEN 'measured: estimate had confidence ' || j.confidence || ' (' || j.confidence_note || ')'
            ELSE j.confidence_note END AS confidence_note,
       j.remedy,
       CASE j.remedy
         WHEN 'measure' THEN format('SELECT * FROM architect.measure_bloat(%L);',
                                    format('%I.%I', j.nspname, j.relname))
         WHEN 'reindex' THEN format('REINDEX INDEX CONCURRENTLY %I.%I;', j.nspname, j.relname)
         WHEN 'vacuum' THEN format('VACUUM (ANALYZE) %s;', j.target)
         WHEN 'tune_autovacuum' THEN
           format('VACUUM (ANALYZE) %s; ALTER TABLE %s SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);',
                  j.target, j.target)
           || CASE WHEN j.n_tup_upd > 0 AND j.n_tup_hot_upd < 0.5 * j.n_tup_upd
                        AND NOT EXISTS (SELECT 1 FROM unnest(j.reloptions) o WHERE o LIKE 'fillfactor=%')
                   THEN format(' ALTER TABLE %s SET (fillfactor = 90);', j.target) ELSE '' END
         WHEN 'rewrite' THEN format('VACUUM FULL %s;', j.target)
       END AS remedy_ddl,
       CASE j.remedy
         WHEN 'measure' THEN
           'The estimate suggests waste but its statistics are too weak to act on (' || j.confidence_note
           || '): measure it first. measure_bloat takes ACCESS SHARE, like a SELECT, and reads a sample of pages; '
           'ANALYZE (SHARE UPDATE EXCLUSIVE, reads and writes go on) refreshes the statistics the estimate uses.'
         WHEN 'reindex' THEN
           'REINDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE on the table and index: reads and writes go on, '
           'other DDL and VACUUM on the table wait; it needs disk for a second copy of the index and cannot run '
           'inside a transaction block. Plain REINDEX would block writes to the table (SHARE) and every use of the index (ACCESS EXCLUSIVE).'
         WHEN 'vacuum' THEN
           'VACUUM takes SHARE UPDATE EXCLUSIVE: reads and writes go on. It makes dead space reusable but does not '
           'shrink the file, except empty pages at its end (a brief ACCESS EXCLUSIVE, given up at once if anyone waits).'
         WHEN 'tune_autovacuum' THEN
           'Dead tuples keep coming back between vacuums: vacuum now (SHARE UPDATE EXCLUSIVE, reads and writes go on) '
           'and let autovacuum run sooner on this table; ALTER TABLE ... SET (autovacuum_*, fillfactor) takes '
           'SHARE UPDATE EXCLUSIVE too, and fillfactor applies to pages written from now on, which leaves room for HOT updates.'
         WHEN 'rewrite' THEN
           'VACUUM FULL holds ACCESS EXCLUSIVE for the whole rewrite: every read and write of the table waits, and it '
           'needs free disk for a full copy. Without the long lock: pg_repack (extension and client, needs a primary '
           'key or a unique NOT NULL index) holds ACCESS EXCLUSIVE only briefly at the start and end, e.g. pg_repack --table='
           || quote_literal(j.target) || '.'
       END AS lock_note
  FROM judged j;

COMMENT ON VIEW architect.bloat IS
  'Every heap table and btree index: wasted bytes, bloat_pct (pgstattuple / pgstatindex semantics), method (estimate, or exact when the estimate is weak and the relation small), confidence, remedy with DDL and its lock consequences';

REVOKE ALL ON architect.bloat FROM PUBLIC;
GRANT SELECT ON architect.bloat TO pg_monitor;
