#!/usr/bin/env bash
# Bloat accuracy and cost: tier 1 (estimate_bloat) and tier 2
# (measure_bloat, default sample) against contrib pgstattuple / pgstatindex
# on built tables, before and after VACUUM; optionally the 256 MB timing case.
#
#   bench/bloat/run.sh           # accuracy table (about a minute)
#   bench/bloat/run.sh --big     # + time on a 256 MB table vs pgstattuple
#
# Errors are in points of bloat_pct (tables: dead + free percent as
# pgstattuple; btree: 100 * (1 - avg_leaf_density / fillfactor)).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PATH=$("$PG_CONFIG" --bindir):$PATH
eval "$(scripts/stage.sh)"
CLUSTER=$(scripts/cluster.sh start)
trap 'scripts/cluster.sh destroy "$CLUSTER"' EXIT
eval "$(scripts/cluster.sh env "$CLUSTER")"
B=bench/bloat
P="psql -X -q -v ON_ERROR_STOP=1"

$P -c 'CREATE EXTENSION pg_architect; CREATE EXTENSION pgstattuple;'
echo "building tables..." >&2
$P -f $B/cases.sql >/dev/null
$P -c 'SELECT pg_stat_force_next_flush()' >/dev/null; sleep 1
echo "== state: dead tuples present (no VACUUM since the changes)"
$P -v state=dead -f $B/measure.sql
$P -c 'VACUUM narrow_del10, narrow_del40, narrow_del70, narrow_range40, updated, wide_toast, stale'
$P -c 'SELECT pg_stat_force_next_flush()' >/dev/null; sleep 1
echo "== state: after VACUUM (dead space turned into free space)"
$P -v state=vacuumed -f $B/measure.sql

if [ "${1:-}" = "--big" ]; then
  echo "building a 256 MB table..." >&2
  $P <<'SQL' >/dev/null
CREATE TABLE big (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = off);
INSERT INTO big SELECT g, md5(g::text) || md5((g+1)::text) || md5((g+2)::text)
  FROM generate_series(1, 2000000) g;
DELETE FROM big WHERE id % 10 < 3;
VACUUM big;
DELETE FROM big WHERE id % 10 = 5;
SELECT pg_stat_force_next_flush();
SQL
  sleep 1
  echo "== 256 MB table: three runs each, warm cache (shared_buffers 128 MB + OS cache)"
  $P <<'SQL'
\pset footer off
SELECT pg_size_pretty(pg_relation_size('big')) AS size, pg_relation_size('big') / 8192 AS pages;
CREATE TEMP TABLE runs (what text, ms float8, pct float8, pages_read bigint, bound float8);
DO $$
DECLARE t0 timestamptz; p float8; m architect.bloat_measurement; i int;
BEGIN
  FOR i IN 1..3 LOOP
    t0 := clock_timestamp();
    SELECT dead_tuple_percent + free_percent INTO p FROM pgstattuple('big');
    INSERT INTO runs VALUES ('pgstattuple', 1000 * extract(epoch FROM clock_timestamp() - t0), p, NULL, NULL);
    t0 := clock_timestamp();
    m := architect.measure_bloat('big');
    INSERT INTO runs VALUES ('measure_bloat', 1000 * extract(epoch FROM clock_timestamp() - t0), m.bloat_pct, m.pages_read, m.error_bound_pct);
    t0 := clock_timestamp();
    SELECT 100 * (1 - avg_leaf_density / 90) INTO p FROM pgstatindex('big_pkey');
    INSERT INTO runs VALUES ('pgstatindex', 1000 * extract(epoch FROM clock_timestamp() - t0), p, NULL, NULL);
    t0 := clock_timestamp();
    m := architect.measure_bloat('big_pkey');
    INSERT INTO runs VALUES ('measure_bloat(pkey)', 1000 * extract(epoch FROM clock_timestamp() - t0), m.bloat_pct, m.pages_read, m.error_bound_pct);
  END LOOP;
END $$;
SELECT what, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS median_ms,
       round(avg(pct)::numeric, 2) AS bloat_pct, max(pages_read) AS pages_read,
       round(max(bound)::numeric, 2) AS bound
  FROM runs GROUP BY what ORDER BY what;
SELECT round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM runs WHERE what = 'measure_bloat')::numeric
           / (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM runs WHERE what = 'pgstattuple')::numeric, 3)
       AS table_time_ratio,
       round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM runs WHERE what = 'measure_bloat(pkey)')::numeric
           / (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM runs WHERE what = 'pgstatindex')::numeric, 3)
       AS index_time_ratio;
SQL
fi
