-- Capture: statements, plans, latency histograms, plan regressions.
-- Needs shared_preload_libraries = 'pg_architect'; without it these return
-- no rows and say why once per session.  Like pg_stat_statements, readable
-- by everybody, with other roles' query texts hidden.

CREATE FUNCTION architect.statements(
    OUT userid oid,
    OUT dbid oid,
    OUT queryid bigint,
    OUT toplevel bool,
    OUT query text,
    OUT calls bigint,
    OUT errors bigint,
    OUT rows bigint,
    OUT total_ms double precision,
    OUT mean_ms double precision,
    OUT min_ms double precision,
    OUT max_ms double precision,
    OUT p50_ms double precision,
    OUT p95_ms double precision,
    OUT p99_ms double precision,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT wal_bytes numeric,
    OUT plans bigint,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'architect_statements'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW architect.statements AS SELECT * FROM architect.statements();
COMMENT ON VIEW architect.statements IS
  'Per (user, database, query id, toplevel): calls, errors, time with p50/p95/p99 from a log-linear histogram (< 5% error), buffers, WAL, distinct plans';

CREATE FUNCTION architect.plans(
    OUT dbid oid,
    OUT queryid bigint,
    OUT planid bigint,
    OUT calls bigint,
    OUT errors bigint,
    OUT total_ms double precision,
    OUT mean_ms double precision,
    OUT p50_ms double precision,
    OUT p95_ms double precision,
    OUT p99_ms double precision,
    OUT max_ms double precision,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz,
    OUT plan text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'architect_plans'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW architect.plans AS SELECT * FROM architect.plans();
COMMENT ON VIEW architect.plans IS
  'Per (database, query id, plan id): the plan''s own latency percentiles and its EXPLAIN text, captured once';

CREATE FUNCTION architect.latency_histogram(
    queryid bigint,
    OUT lower_ms double precision,
    OUT upper_ms double precision,
    OUT count bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'architect_latency_histogram'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION architect.latency_histogram(bigint) IS
  'Non-empty latency buckets of one query id (each bucket 10% wider than the previous), for plots';

-- A plan regression: the plan a statement uses now (the most recently seen)
-- is measurably slower than a plan it used before.  "Measurably": both plans
-- ran at least 5 times and the current p95 and mean are both at least 20%
-- above the earlier plan's.
CREATE VIEW architect.plan_regressions AS
WITH ranked AS (
  SELECT p.*, row_number() OVER (PARTITION BY p.dbid, p.queryid ORDER BY p.last_seen DESC, p.planid) AS recency
    FROM architect.plans p
   WHERE p.queryid IS NOT NULL
)
SELECT cur.dbid,
       cur.queryid,
       cur.planid                             AS current_planid,
       prev.planid                            AS previous_planid,
       cur.calls                              AS current_calls,
       prev.calls                             AS previous_calls,
       cur.mean_ms                            AS current_mean_ms,
       prev.mean_ms                           AS previous_mean_ms,
       cur.p95_ms                             AS current_p95_ms,
       prev.p95_ms                            AS previous_p95_ms,
       round((cur.p95_ms / nullif(prev.p95_ms, 0))::numeric, 2) AS p95_slowdown,
       prev.last_seen                         AS previous_last_seen,
       cur.first_seen                         AS current_first_seen,
       prev.plan                              AS previous_plan,
       cur.plan                               AS current_plan
  FROM ranked cur
  JOIN ranked prev ON prev.dbid = cur.dbid AND prev.queryid = cur.queryid AND prev.recency > 1
 WHERE cur.recency = 1
   AND cur.calls >= 5 AND prev.calls >= 5
   AND cur.p95_ms >= 1.2 * prev.p95_ms
   AND cur.mean_ms >= 1.2 * prev.mean_ms;

COMMENT ON VIEW architect.plan_regressions IS
  'Statements whose current plan is measurably slower (p95 and mean >= 1.2x, >= 5 calls each) than a plan they used before';

GRANT SELECT ON architect.statements, architect.plans, architect.plan_regressions TO PUBLIC;
