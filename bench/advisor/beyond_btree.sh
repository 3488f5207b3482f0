#!/usr/bin/env bash
# Beyond btree: predicted vs measured speedup of the advisor's trigram, jsonb
# gin and brin advice, one statement each.  For each statement: the advice
# (architect.advise_query), the planner's predicted speedup (cost without /
# cost with the hypothetical index), then the index is built and the
# statement timed before and after (median of RUNS executions, warm cache),
# and the hypothetical size is printed next to the real one.  Prints figures
# only; the machine is shared, so nothing here is asserted.
#
#   bench/advisor/beyond_btree.sh              # ~2-3 minutes
#   ROWS=200000 EVENTS=2000000 RUNS=7 bench/advisor/beyond_btree.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-200000}
EVENTS=${EVENTS:-1000000}
RUNS=${RUNS:-5}
eval "$(scripts/stage.sh)"
CLUSTER=$(scripts/cluster.sh start)
trap 'scripts/cluster.sh destroy "$CLUSTER"' EXIT
eval "$(scripts/cluster.sh env "$CLUSTER")"
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

q -c "CREATE EXTENSION pg_architect; CREATE EXTENSION pg_trgm"
echo "loading: customers ($ROWS), documents ($ROWS), events ($EVENTS)..."
q <<SQL
CREATE TABLE customers (id int PRIMARY KEY, name text, city text);
INSERT INTO customers SELECT g, md5(g::text) || ' ' || (ARRAY['Smith','Jones','Garcia','Chen','Novak'])[g % 5 + 1],
       'city' || (g % 300) FROM generate_series(1, $ROWS) g;
CREATE TABLE documents (id int PRIMARY KEY, doc jsonb);
INSERT INTO documents SELECT g, jsonb_build_object('owner', g % 5000, 'kind', g % 13, 'tags', jsonb_build_array(g % 7, g % 11))
  FROM generate_series(1, $ROWS) g;
CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz, kind int, payload text);
INSERT INTO events SELECT g, timestamptz '2024-01-01' + g * interval '10 seconds', g % 10, repeat('p', 40)
  FROM generate_series(1, $EVENTS) g;
VACUUM ANALYZE;
CREATE FUNCTION bench_ms(q text, runs int) RETURNS float8 LANGUAGE plpgsql AS \$f\$
DECLARE t float8[] := '{}'; s timestamptz; i int;
BEGIN
  EXECUTE q;                                   -- warm the cache
  FOR i IN 1..runs LOOP
    s := clock_timestamp(); EXECUTE q;
    t := t || extract(epoch FROM clock_timestamp() - s) * 1000;
  END LOOP;
  RETURN (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(t) x);
END \$f\$;
SQL

run() {
  local label=$1 sql=$2 budget=${3:-0}
  local ddl before pred after size real
  ddl=$(q -c "SET pg_architect.advisor_storage_budget = $budget" \
          -c "SELECT ddl FROM architect.advise_query(\$q\$$sql\$q\$) ORDER BY est_benefit_pct DESC NULLS LAST LIMIT 1")
  ddl=$(echo "$ddl" | tail -1)
  if [ -z "$ddl" ]; then echo "$label: no advice"; return; fi
  # the advised index as a plain CREATE INDEX for what-if (no name, no CONCURRENTLY)
  local hypo
  hypo=$(echo "$ddl" | sed -E 's/CREATE INDEX CONCURRENTLY IF NOT EXISTS [^ ]+ ON/CREATE INDEX ON/')
  pred=$(q -c "SELECT round((cost_before / cost_after)::numeric, 1) || ' ' || index_sizes_bytes[1]
                 FROM architect.whatif(\$q\$$sql\$q\$, ARRAY[\$d\$$hypo\$d\$])")
  before=$(q -c "SELECT bench_ms(\$q\$$sql\$q\$, $RUNS)")
  q -c "SET pg_architect.ddl_guard = off" -c "$(echo "$ddl" | sed 's/CONCURRENTLY //')" >/dev/null
  q -c "ANALYZE" >/dev/null
  after=$(q -c "SELECT bench_ms(\$q\$$sql\$q\$, $RUNS)")
  real=$(q -c "SELECT sum(pg_relation_size(indexrelid)) FROM pg_index WHERE indrelid = (SELECT relation FROM architect.hypothetical_index(\$d\$$hypo\$d\$)) AND NOT indisprimary")
  printf '%s\n  advice:    %s\n' "$label" "$ddl"
  printf '  predicted: %sx (planner cost without / with the hypothetical index)\n' "${pred%% *}"
  printf '  measured:  %sx (median %s ms -> %s ms over %s runs)\n' \
    "$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.1f", a / b }')" "$before" "$after" "$RUNS"
  printf '  size:      predicted %s kB, real %s kB\n' "$(( ${pred##* } / 1024 ))" "$(( real / 1024 ))"
}

run "trigram: ILIKE '%term%' on $ROWS names" "SELECT id FROM customers WHERE name ILIKE '%c4ca4%'"
run "gin: jsonb containment over $ROWS documents" "SELECT id FROM documents WHERE doc @> '{\"owner\": 42}'"
run "brin: one day of $EVENTS time-ordered events (storage budget 1 MB)" \
    "SELECT count(*) FROM events WHERE at >= '2024-02-01' AND at < '2024-02-02'" 1
