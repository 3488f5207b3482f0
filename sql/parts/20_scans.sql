-- Scan capture: what the executor really did, per (query, relation,
-- predicate shape), from sampled executions (pg_architect.sample_rate) and
-- the first executions of every new plan.  Arrays are aligned: element i of
-- columns, operators, classes, value_kinds, sources, expressions (and
-- join_columns for joins) describe predicate i.
--   kind:        seq, index, index_only, bitmap, join, sort
--   classes:     equality, range, in_list, is_null, is_not_null, like_prefix,
--                like, expression, other; for sort keys asc / desc
--   value_kinds: constant, parameter ($n), outer (from a joined row), expression
--   sources:     index_cond, filter, join, sort
-- rows_scanned = rows returned + rows removed by the filter or an index recheck.

CREATE FUNCTION architect.scans(
    OUT dbid oid,
    OUT queryid bigint,
    OUT relid regclass,
    OUT kind text,
    OUT index regclass,
    OUT columns text[],
    OUT operators text[],
    OUT classes text[],
    OUT value_kinds text[],
    OUT sources text[],
    OUT expressions text[],
    OUT join_method text,
    OUT join_relid regclass,
    OUT join_columns text[],
    OUT limit_above bool,
    OUT executions bigint,
    OUT loops double precision,
    OUT rows_scanned double precision,
    OUT rows_returned double precision,
    OUT rows_removed_by_filter double precision,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'architect_scans'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW architect.scans AS SELECT * FROM architect.scans();
COMMENT ON VIEW architect.scans IS
  'Per (query id, relation, predicate shape): scan kind, index, predicates by column / operator / class / value kind, joins, sorts, rows scanned and removed, from sampled executions';

-- Per index: the captured queries that used it.  Join with
-- pg_stat_user_indexes USING (indexrelid).
CREATE VIEW architect.index_usage AS
SELECT s.index::oid                         AS indexrelid,
       s.index                              AS index,
       s.relid                              AS relid,
       sum(s.executions)::bigint            AS executions,
       sum(s.loops)                         AS loops,
       sum(s.rows_returned)                 AS rows_fetched,
       array_agg(DISTINCT s.queryid ORDER BY s.queryid) AS queryids,
       max(s.last_seen)                     AS last_used
  FROM architect.scans s
 WHERE s.index IS NOT NULL
 GROUP BY s.index, s.relid;

COMMENT ON VIEW architect.index_usage IS
  'Per index: sampled executions of captured queries that used it, rows fetched, which query ids, last used';

GRANT SELECT ON architect.scans, architect.index_usage TO PUBLIC;
