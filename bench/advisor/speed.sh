#!/usr/bin/env bash
# Advisor speed: whole-workload advice for 200 statements over 50 tables,
# and the median time of one what-if call.  Prints the figures; exits
# non-zero if a target is missed (2 s for the workload, 1 ms median).
#
#   bench/advisor/speed.sh            # ~1 minute, mostly loading the tables
#   ROWS=5000 bench/advisor/speed.sh  # rows per table (default 20000)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-20000}
eval "$(scripts/stage.sh)"
CLUSTER=$(scripts/cluster.sh start)
trap 'scripts/cluster.sh destroy "$CLUSTER"' EXIT
eval "$(scripts/cluster.sh env "$CLUSTER")"
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

q -c "CREATE EXTENSION pg_architect"
echo "loading 50 tables x $ROWS rows..."
q <<SQL
DO \$\$
BEGIN
  FOR t IN 1..50 LOOP
    EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, a int, b int, c int, d timestamptz, e text, f boolean)', 't' || t);
    EXECUTE format('INSERT INTO %I SELECT i, i %% 1000, i %% 97, (i * 7) %% $ROWS + 1,
                           timestamptz ''2024-01-01'' + i * interval ''1 minute'', md5(i::text), i %% 2 = 0
                      FROM generate_series(1, $ROWS) i', 't' || t);
  END LOOP;
END \$\$;
SQL
q -c "VACUUM ANALYZE"

# 200 statements: 4 shapes per table, some literal, some with \$n parameters
q <<'SQL'
CREATE TABLE workload AS
SELECT row_number() OVER () AS n, query, weight FROM (
  SELECT format('SELECT * FROM t%s WHERE a = %s', t, t) AS query, 100.0 + t AS weight FROM generate_series(1, 50) t
  UNION ALL
  SELECT format('SELECT id, d FROM t%s WHERE b = $1 AND d > $2', t), 50.0 + t FROM generate_series(1, 50) t
  UNION ALL
  SELECT format('SELECT * FROM t%s WHERE c = $1 ORDER BY d DESC LIMIT 10', t), 30.0 + t FROM generate_series(1, 50) t
  UNION ALL
  SELECT format('SELECT x.id, y.e FROM t%s x JOIN t%s y ON y.c = x.id WHERE x.a = 5 AND NOT y.f', t, t % 50 + 1), 20.0 + t
    FROM generate_series(1, 50) t) s;
SQL
echo "statements: $(q -c 'SELECT count(*) FROM workload'), tables: $(q -c "SELECT count(*) FROM pg_tables WHERE tablename ~ '^t[0-9]+$'")"

for run in 1 2 3; do
  q -c "SELECT 1" >/dev/null
  out=$(q <<'SQL'
\timing on
SELECT count(*), pg_size_pretty(sum(est_size_bytes)), round(sum(est_benefit_pct)::numeric, 1)
  FROM architect.advise_workload((SELECT array_agg(query ORDER BY n) FROM workload),
                                 (SELECT array_agg(weight::float8 ORDER BY n) FROM workload));
SQL
)
  ms=$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
  echo "run $run: advise_workload(200 statements, 50 tables): ${ms} ms; indexes, size, benefit %: $(echo "$out" | head -1)"
  last_ms=$ms
done

# one what-if call (parse + plan without + plan with + EXPLAIN twice), 2000 calls
med=$(q <<'SQL'
CREATE TEMP TABLE timing (ms float8);
DO $$
DECLARE t0 timestamptz; r record;
BEGIN
  FOR i IN 1..2000 LOOP
    t0 := clock_timestamp();
    SELECT * INTO r FROM architect.whatif('SELECT * FROM t1 WHERE b = ' || (i % 97) || ' AND d > now()',
                                          ARRAY['CREATE INDEX ON t1 (b, d)']);
    INSERT INTO timing VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
END $$;
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3) || ' ' ||
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 3) FROM timing;
SQL
)
set -- $med
echo "architect.whatif(): median $1 ms, p95 $2 ms per call (2 plans + 2 EXPLAINs)"

if q -c "CREATE EXTENSION hypopg" 2>/dev/null; then
  hmed=$(q <<'SQL'
CREATE TEMP TABLE htiming (ms float8);
DO $$
DECLARE t0 timestamptz; line text;
BEGIN
  FOR i IN 1..2000 LOOP
    t0 := clock_timestamp();
    PERFORM hypopg_create_index('CREATE INDEX ON t1 (b, d)');
    FOR line IN EXECUTE 'EXPLAIN SELECT * FROM t1 WHERE b = ' || (i % 97) || ' AND d > now()' LOOP END LOOP;
    PERFORM hypopg_reset();
    INSERT INTO htiming VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
END $$;
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3) FROM htiming;
SQL
)
  echo "hypopg for reference: create + EXPLAIN + reset: median $hmed ms"
fi

fail=0
awk -v v="$last_ms" 'BEGIN { exit !(v <= 2000) }' || { echo "MISSED: workload advice > 2 s"; fail=1; }
awk -v v="$1" 'BEGIN { exit !(v <= 1.0) }' || { echo "MISSED: what-if median > 1 ms"; fail=1; }
[ $fail = 0 ] && echo "targets met: workload advice <= 2 s, what-if median <= 1 ms"
exit $fail
