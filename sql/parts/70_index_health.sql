-- Index health: indexes that cost writes and space and give nothing back.
--
-- architect.index_health lists, for the indexes of the current database the
-- caller can see (see "Privileges" below):
--   unused     no scan since statistics were reset (or at least since the
--              server started), here and on every node imported with
--              architect.import_stats() whose export falls in that window
--              (a standby serving reads); never a primary key, unique, exclusion,
--              replica-identity or constraint-backing index.  A window
--              shorter than pg_architect.min_unused_window (default 7 days)
--              gives severity 'info', evidence "insufficient evidence
--              (window ...)" and no DDL: seconds of statistics prove nothing.
--              Nor the only index serving a foreign key (dropping it would
--              bring back fk_without_index).
--   duplicate  same table, access method, key and INCLUDE columns,
--              expressions, operator classes, collations, options and
--              predicate as another index that is kept
--   redundant  a non-unique btree whose key columns are a leading prefix of
--              another valid btree's key columns (same opclasses, collations,
--              options, same predicate)
--   invalid    indisvalid = false (a failed CREATE INDEX CONCURRENTLY), and
--              no build of it in progress
-- Each row carries its evidence (size, scans, the table's write rate over the
-- statistics window) and the DDL: DROP INDEX CONCURRENTLY, rolled back by
-- the exact CREATE INDEX CONCURRENTLY rebuilt from pg_get_indexdef().
--
-- Left out on purpose: indexes of extensions (dropping them breaks the
-- extension), indexes attached to a partitioned index (they cannot be
-- dropped alone), system schemas.
--
-- Privileges: a plain view of the catalog, readable by PUBLIC, but a row is
-- shown only when the caller holds some privilege on the table (or is a
-- member of pg_read_all_stats): nobody learns about tables they cannot touch.

CREATE FUNCTION architect._can_see(rel oid, relkind "char")
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pg_has_role('pg_read_all_stats', 'USAGE')
      OR CASE WHEN relkind = 'S' THEN has_sequence_privilege(rel, 'SELECT, USAGE, UPDATE')
              ELSE has_table_privilege(rel, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') END
$$;

COMMENT ON FUNCTION architect._can_see(oid, "char") IS
  'Internal: whether findings about this relation are shown to the current role';

-- Since when the statistics behind "unused" were collected, and how sure we
-- can be: stats_reset when it was reset, else at least since the server
-- started (statistics survive clean restarts, so the window may be longer).
CREATE FUNCTION architect._stats_window(
    OUT stats_since timestamptz,
    OUT window_is_lower_bound boolean)
LANGUAGE sql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(d.stats_reset, pg_postmaster_start_time()),
         d.stats_reset IS NULL
    FROM pg_stat_database d
   WHERE d.datname = current_database()
$$;

-- How long an index must have gone unscanned before it is called unused:
-- the setting pg_architect.min_unused_window (defined in C, src/findings/,
-- default 7 days, so that weekly jobs have run), read the same way when the
-- library is not loaded in this session.  Below it the verdict is
-- "insufficient evidence" and no DROP is proposed.
CREATE FUNCTION architect._min_unused_window()
RETURNS interval
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(nullif(current_setting('pg_architect.min_unused_window', true), '')::interval,
                  interval '7 days')
$$;

-- A number for a human: at most 3 decimals, fewer as it grows (12345,
-- 123.4, 12.34, 1.234, 0.012), trailing zeros dropped.
CREATE FUNCTION architect._num(x numeric)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT trim_scale(round(x, CASE WHEN abs(x) >= 100 THEN 0 WHEN abs(x) >= 10 THEN 1
                                  WHEN abs(x) >= 1 THEN 2 ELSE 3 END))::text
$$;

-- A duration in milliseconds for a human: 0.042 ms, 12.3 ms, 4.1 s, 2.5 min, 3.2 h.
CREATE FUNCTION architect._ms(ms numeric)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN ms IS NULL THEN NULL
              WHEN abs(ms) < 1000 THEN architect._num(ms) || ' ms'
              WHEN abs(ms) < 60000 THEN architect._num(ms / 1000) || ' s'
              WHEN abs(ms) < 3600000 THEN architect._num(ms / 60000) || ' min'
              ELSE architect._num(ms / 3600000) || ' h' END
$$;

CREATE FUNCTION architect._concurrent_indexdef(idx oid)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  -- pg_get_indexdef() quotes every identifier; only the keyword is added.
  SELECT regexp_replace(pg_get_indexdef(idx), '^CREATE (UNIQUE )?INDEX ',
                        'CREATE \1INDEX CONCURRENTLY ')
$$;

-- The body is a function only to plan it with hash joins: the planner
-- cannot estimate the catalog CTEs below and picks nested loops that are
-- quadratic in the number of indexes (11 s for 8000 indexes; see
-- the README, section "Findings", for the figures).
CREATE FUNCTION architect._index_health(
    OUT kind text, OUT index regclass, OUT table_name regclass, OUT covered_by regclass,
    OUT index_size_bytes bigint, OUT idx_scan bigint, OUT table_writes_per_s numeric,
    OUT stats_since timestamptz, OUT window_is_lower_bound boolean, OUT severity text,
    OUT evidence text, OUT ddl text, OUT rollback_ddl text)
RETURNS SETOF record
LANGUAGE sql VOLATILE
SET enable_nestloop = off
SET jit = off
SET search_path = pg_catalog, pg_temp
AS $fn$
WITH win AS (
  SELECT w.stats_since, w.window_is_lower_bound,
         greatest(extract(epoch FROM now() - w.stats_since), 1) AS window_s,
         now() - w.stats_since >= architect._min_unused_window() AS enough_for_unused
    FROM architect._stats_window() w
),
ix AS (
  SELECT i.indexrelid, i.indrelid, ic.relam,
         n.nspname, ic.relname AS index_name,
         i.indisunique, i.indisprimary, i.indisexclusion, i.indisvalid,
         i.indisready, i.indisreplident, i.indnkeyatts, i.indnatts,
         string_to_array(i.indkey::text, ' ')::int2[] AS keys,
         string_to_array(i.indclass::text, ' ')::oid[] AS opclasses,
         string_to_array(i.indcollation::text, ' ')::oid[] AS collations,
         string_to_array(i.indoption::text, ' ')::int2[] AS options,
         pg_get_expr(i.indexprs, i.indrelid) AS exprs,
         pg_get_expr(i.indpred, i.indrelid) AS pred,
         EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                   AND k.contype IN ('p', 'u', 'x', 'f')) AS backs_constraint,
         pg_relation_size(i.indexrelid) AS size_bytes
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class tc ON tc.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = ic.relnamespace
   WHERE ic.relkind = 'i'
     AND tc.relkind IN ('r', 'm', 't')
     AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
     AND n.nspname !~ '^pg_(toast_)?temp_'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass
                        AND d.objid IN (i.indexrelid, i.indrelid)
                        AND d.deptype = 'e')
     AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
     AND architect._can_see(i.indrelid, tc.relkind)
),
-- Indexes ranked by how much we want to keep them: constraint-backing first,
-- then unique, then valid, then the older one.
keep_rank AS (
  SELECT ix.*,
         (CASE WHEN backs_constraint OR indisprimary OR indisexclusion OR indisreplident THEN 0
               WHEN indisunique THEN 1 ELSE 2 END) AS keep_class
    FROM ix
),
dup AS (
  SELECT DISTINCT ON (a.indexrelid)
         a.indexrelid, b.indexrelid AS other
    FROM keep_rank a
    JOIN keep_rank b
      ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid
     AND b.relam = a.relam AND b.keys = a.keys AND b.indnkeyatts = a.indnkeyatts
     AND b.opclasses = a.opclasses AND b.collations = a.collations
     AND b.options = a.options
     AND b.exprs IS NOT DISTINCT FROM a.exprs
     AND b.pred IS NOT DISTINCT FROM a.pred
     AND b.indisvalid
   WHERE a.keep_class > 0 AND a.indisvalid
     AND (b.keep_class < a.keep_class
          OR (b.keep_class = a.keep_class AND b.indexrelid < a.indexrelid))
     -- a unique index is only a duplicate of another unique one
     AND (NOT a.indisunique OR b.indisunique)
   ORDER BY a.indexrelid, b.keep_class, b.indexrelid
),
redundant AS (
  SELECT DISTINCT ON (a.indexrelid)
         a.indexrelid, b.indexrelid AS other
    FROM keep_rank a
    JOIN keep_rank b
      ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid
     AND b.relam = a.relam AND b.indisvalid
     AND b.indnkeyatts > a.indnkeyatts
     AND b.keys[1:a.indnkeyatts] = a.keys[1:a.indnkeyatts]
     AND b.opclasses[1:a.indnkeyatts] = a.opclasses
     AND b.collations[1:a.indnkeyatts] = a.collations
     AND b.options[1:a.indnkeyatts] = a.options
     AND b.pred IS NOT DISTINCT FROM a.pred
   JOIN pg_am am ON am.oid = a.relam AND am.amname = 'btree'
   WHERE a.keep_class = 2 AND a.indisvalid
     AND a.indnatts = a.indnkeyatts          -- no INCLUDE columns of its own
     AND a.exprs IS NULL AND b.exprs IS NULL
     AND a.indexrelid NOT IN (SELECT indexrelid FROM dup)
   ORDER BY a.indexrelid, b.indnkeyatts, b.indexrelid
),
kinds AS (
  SELECT k.indexrelid, 'invalid'::text AS kind, NULL::oid AS other
    FROM keep_rank k
   WHERE NOT k.indisvalid AND k.keep_class > 0
     AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p
                      WHERE p.index_relid = k.indexrelid)
  UNION ALL
  SELECT indexrelid, 'duplicate', other FROM dup
  UNION ALL
  SELECT indexrelid, 'redundant', other FROM redundant
  UNION ALL
  SELECT k.indexrelid, 'unused', NULL
    FROM keep_rank k
    JOIN pg_stat_all_indexes s ON s.indexrelid = k.indexrelid
   CROSS JOIN win
   WHERE k.keep_class = 2 AND k.indisvalid AND s.idx_scan = 0
     AND k.indexrelid NOT IN (SELECT indexrelid FROM dup UNION ALL SELECT indexrelid FROM redundant)
     -- The only index leading with a foreign key's columns is not unused:
     -- it waits for the parent's next DELETE, and dropping it would bring
     -- back the fk_without_index finding (contradictory advice).
     AND NOT (k.pred IS NULL AND EXISTS (
         SELECT 1 FROM pg_constraint c
          WHERE c.contype = 'f' AND c.conrelid = k.indrelid
            AND k.indnkeyatts >= cardinality(c.conkey)
            AND k.keys[1:cardinality(c.conkey)] @> c.conkey
            AND k.keys[1:cardinality(c.conkey)] <@ c.conkey
            AND NOT EXISTS (SELECT 1 FROM keep_rank o
                             WHERE o.indrelid = k.indrelid AND o.indexrelid <> k.indexrelid
                               AND o.indisvalid AND o.pred IS NULL
                               AND o.indnkeyatts >= cardinality(c.conkey)
                               AND o.keys[1:cardinality(c.conkey)] @> c.conkey
                               AND o.keys[1:cardinality(c.conkey)] <@ c.conkey)))
     -- used on an imported node (a standby serving reads) within our window
     AND NOT architect._index_used_on_imported_node(k.nspname, k.index_name, win.stats_since)
)
SELECT k.kind,
       k.indexrelid::regclass AS index,
       ix.indrelid::regclass AS table_name,
       k.other::regclass AS covered_by,
       ix.size_bytes AS index_size_bytes,
       coalesce(s.idx_scan, 0) AS idx_scan,
       round(((coalesce(t.n_tup_ins, 0) + coalesce(t.n_tup_upd, 0) + coalesce(t.n_tup_del, 0))
              / win.window_s)::numeric, 3) AS table_writes_per_s,
       win.stats_since,
       win.window_is_lower_bound,
       CASE k.kind
         WHEN 'invalid' THEN 'medium'
         WHEN 'duplicate' THEN 'medium'
         WHEN 'redundant' THEN 'low'
         WHEN 'unused' THEN CASE WHEN NOT win.enough_for_unused THEN 'info'
                                 WHEN ix.size_bytes >= 1048576 THEN 'medium' ELSE 'low' END
       END AS severity,
       CASE k.kind
         WHEN 'invalid' THEN format('index %s is invalid (a failed concurrent build): it is maintained on writes when ready but never used for reads',
                                    k.indexrelid::regclass)
         WHEN 'duplicate' THEN format('index %s duplicates %s (same columns, operator classes, collations, expressions and predicate)',
                                      k.indexrelid::regclass, k.other::regclass)
         WHEN 'redundant' THEN format('index %s is a leading prefix of %s, which serves the same lookups',
                                      k.indexrelid::regclass, k.other::regclass)
         WHEN 'unused' THEN CASE WHEN win.enough_for_unused THEN ''
                                 ELSE format('insufficient evidence (window %s, pg_architect.min_unused_window %s): ',
                                             justify_interval(date_trunc('second', now() - win.stats_since)),
                                             justify_interval(architect._min_unused_window())) END
                            || format('index %s has not been scanned %s %s (%s)',
                                   k.indexrelid::regclass,
                                   CASE WHEN win.window_is_lower_bound THEN 'since the server started at'
                                        ELSE 'since statistics were reset at' END,
                                   to_char(win.stats_since, 'YYYY-MM-DD HH24:MI:SS TZ'),
                                   justify_interval(date_trunc('second', now() - win.stats_since)))
       END
       || format('; size %s, table writes %s rows/s', pg_size_pretty(ix.size_bytes),
                 architect._num(((coalesce(t.n_tup_ins, 0) + coalesce(t.n_tup_upd, 0) + coalesce(t.n_tup_del, 0))
                                 / win.window_s)::numeric)) AS evidence,
       CASE WHEN k.kind <> 'unused' OR win.enough_for_unused
            THEN format('DROP INDEX CONCURRENTLY %I.%I', ix.nspname, ix.index_name) END AS ddl,
       CASE WHEN k.kind <> 'unused' OR win.enough_for_unused
            THEN architect._concurrent_indexdef(k.indexrelid) END AS rollback_ddl
  FROM kinds k
  JOIN ix ON ix.indexrelid = k.indexrelid
  CROSS JOIN win
  LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = k.indexrelid
  LEFT JOIN pg_stat_all_tables t ON t.relid = ix.indrelid
$fn$;

CREATE VIEW architect.index_health AS
  SELECT * FROM architect._index_health();

COMMENT ON VIEW architect.index_health IS
  'Unused, duplicate, redundant (prefix) and invalid indexes with evidence, DROP INDEX CONCURRENTLY and the CREATE INDEX CONCURRENTLY that restores each';

GRANT SELECT ON architect.index_health TO PUBLIC;
