#!/usr/bin/env bash
# Workload benchmark: take the advice, apply it, measure throughput against
# no secondary index, a hand-tuned index set, and pg_qualstats' advisor.
#
#   bench/advisor/workload.sh                 # DUR=15 s per run, ~2-3 minutes
#   DUR=60 CLIENTS=8 bench/advisor/workload.sh
#
# Tables: orders (1,000,000 rows), customers (100,000), products (10,000),
# devices (20,000, updated all the time: a write-hot table) and readings
# (appended all the time).  Script mix (pgbench -f file@weight): equality
# (eq), range (range), ORDER BY ... LIMIT (topn), join (join), a
# low-selectivity boolean filter (lowsel), writes (write), reads of the
# appended table (devread).
#
# The advisor gets the workload as pg_stat_statements saw it during the
# baseline run (normalised texts with $n, weights = total_exec_time): the
# same input architect.index_advice will take from architect.statements.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${DUR:-15}
CLIENTS=${CLIENTS:-4}
S=bench/advisor/scripts
MIX="-f $S/eq.sql@30 -f $S/range.sql@10 -f $S/topn.sql@20 -f $S/join.sql@15 -f $S/lowsel.sql@5 -f $S/write.sql@15 -f $S/devread.sql@5"

eval "$(scripts/stage.sh)"
export PGA_PRELOAD_LIBS='pg_architect,pg_stat_statements,pg_qualstats'
CLUSTER=$(scripts/cluster.sh start "" "pg_qualstats.sample_rate = 1" "pg_stat_statements.track = top")
trap 'scripts/cluster.sh destroy "$CLUSTER"' EXIT
eval "$(scripts/cluster.sh env "$CLUSTER")"
export PATH="$PGA_BINDIR:$PATH"
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

echo "loading (orders 1M rows)..."
q <<'SQL'
CREATE EXTENSION pg_architect;
CREATE EXTENSION pg_stat_statements;
CREATE EXTENSION pg_qualstats;
CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, name text NOT NULL, country text NOT NULL);
INSERT INTO customers SELECT i, 'user' || i || '@example.com', 'name ' || i, (ARRAY['fr','de','us','jp'])[1 + i % 4]
  FROM generate_series(1, 100000) i;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL, is_gift boolean NOT NULL,
                     created_at timestamptz NOT NULL, total numeric(10,2) NOT NULL, note text);
INSERT INTO orders SELECT i, 1 + (i::bigint * 7919) % 100000, (ARRAY['new','paid','shipped','done'])[1 + i % 4], i % 2 = 0,
                          timestamptz '2024-01-01' + (i / 2) * interval '1 minute', (i % 10000) / 100.0, 'n' || i
  FROM generate_series(1, 1000000) i;
CREATE TABLE products (id int PRIMARY KEY, is_active boolean NOT NULL, price int NOT NULL, name text);
INSERT INTO products SELECT i, i % 10 <> 0, i % 1000, 'p' || i FROM generate_series(1, 10000) i;
CREATE TABLE devices (id int PRIMARY KEY, reading bigint NOT NULL DEFAULT 0, seen_at timestamptz, label text)
  WITH (fillfactor = 70);
INSERT INTO devices SELECT i, 0, now(), 'd' || i FROM generate_series(1, 20000) i;
CREATE TABLE readings (id bigserial PRIMARY KEY, device_id int NOT NULL, value float8, taken_at timestamptz);
INSERT INTO readings (device_id, value, taken_at) SELECT 1 + i % 20000, random(), now() FROM generate_series(1, 200000) i;
SQL
q -c "VACUUM ANALYZE"

run() {   # run LABEL -> prints tps
  local out tps
  out=$(pgbench -n -T "$DUR" -c "$CLIENTS" -j 2 $MIX 2>&1) || { echo "$out" >&2; exit 1; }
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
  printf '%-22s %10s tps\n' "$1" "$tps" >&2
  echo "$tps"
}
drop_secondary() {
  q -c "SELECT format('DROP INDEX %s', indexrelid::regclass) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
         WHERE c.relname IN ('customers','orders','products','devices','readings') AND NOT i.indisprimary" | \
    while read -r ddl; do q -c "$ddl"; done
  q -c "VACUUM ANALYZE"
}

q -c "SELECT pg_stat_statements_reset(), pg_qualstats_reset()" >/dev/null
echo "throughput, $CLIENTS clients, $DUR s per run:"
tps_base=$(run "no secondary index")

# advice from the baseline run's statements
q -c "CREATE TABLE bench_workload AS
        SELECT query, total_exec_time AS weight, queryid FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND calls > 0
           AND query !~* '^(SELECT pg_stat|VACUUM|CREATE|DROP|BEGIN|END)'"
t0=$(date +%s%N)
q -c "CREATE TABLE bench_advice AS
        SELECT * FROM architect.advise_workload((SELECT array_agg(query) FROM bench_workload),
                                                (SELECT array_agg(weight) FROM bench_workload),
                                                (SELECT array_agg(queryid) FROM bench_workload))"
t1=$(date +%s%N)
echo "advice ($(( (t1 - t0) / 1000000 )) ms for $(q -c 'SELECT count(*) FROM bench_workload') statements):"
q -c "SELECT '  ' || ddl || '   -- ' || round(est_benefit_pct::numeric, 1) || ' %, write ' || round(write_overhead::numeric, 2) || ' %' FROM bench_advice ORDER BY est_benefit_pct DESC"
q -c "SELECT qual FROM (SELECT pg_qualstats_index_advisor(min_filter => 50, min_selectivity => 30) AS j) a,
        LATERAL json_array_elements_text(j->'indexes') qual" > "$CLUSTER/qualstats.sql"
echo "pg_qualstats_index_advisor():"
sed 's/^/  /' "$CLUSTER/qualstats.sql"

q -c "SELECT ddl FROM bench_advice" | while read -r ddl; do q -c "$ddl"; done
q -c "VACUUM ANALYZE"
tps_adv=$(run "pg_architect advice")

drop_secondary
q <<'SQL'
-- hand-tuned: what a DBA would write for this mix
CREATE INDEX ON orders (customer_id, created_at DESC);
CREATE INDEX ON orders (created_at);
CREATE INDEX ON customers (email);
CREATE INDEX ON readings (device_id);
SQL
q -c "VACUUM ANALYZE"
tps_hand=$(run "hand-tuned")

drop_secondary
while read -r ddl; do [ -n "$ddl" ] && q -c "$ddl"; done < "$CLUSTER/qualstats.sql"
q -c "VACUUM ANALYZE"
tps_qs=$(run "pg_qualstats advice")

awk -v b="$tps_base" -v a="$tps_adv" -v h="$tps_hand" -v qs="$tps_qs" 'BEGIN {
  printf "advised / hand-tuned = %.1f %%   advised / baseline = %.1fx   pg_qualstats / hand-tuned = %.1f %%\n", 100*a/h, a/b, 100*qs/h;
  if (a >= 0.95 * h) print "target met: advised set >= 95 % of the hand-tuned set"; else { print "MISSED: advised set < 95 % of the hand-tuned set"; exit 1 } }'
