#!/usr/bin/env bash
# Hypothetical indexes are backend-local: while one session plans with them
# over and over, another session never sees them (plans, catalog), and an
# error or cancel in the middle of planning never leaves them active.
source "$(dirname "$0")/lib.sh"

start_cluster
q -c "CREATE EXTENSION pg_architect"
q -c "CREATE TABLE big (a int, b int, c text);
      INSERT INTO big SELECT i, i % 100, md5(i::text) FROM generate_series(1, 200000) i;
      ANALYZE big"
classes_before=$(q -c "SELECT count(*) FROM pg_class")

# Session A: thousands of what-if plans with an index on big(a), in the background.
psql -X -q -A -t -v ON_ERROR_STOP=1 >"$CLUSTER/a.out" 2>&1 -c "
  SELECT count(*) FILTER (WHERE indexes_used <> '{}')
    FROM generate_series(1, 20000) g,
         LATERAL architect.whatif('SELECT * FROM big WHERE a = ' || g, ARRAY['CREATE INDEX ON big (a)']) w" &
a_pid=$!
a_active() { q -c "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query ~ 'architect.whatif'"; }
for i in $(seq 1 50); do [ "$(a_active)" = 1 ] && break; sleep 0.1; done
is "$(a_active)" "1" "session A is planning with hypothetical indexes"

# Session B: plans the same statement meanwhile, many times.
b_plans=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -c "
  DO \$\$
  DECLARE line text; hypothetical int := 0; seq int := 0;
  BEGIN
    FOR i IN 1..300 LOOP
      FOR line IN EXECUTE 'EXPLAIN SELECT * FROM big WHERE a = ' || i LOOP
        IF line ~ 'hypothetical' OR line ~ 'Index' THEN hypothetical := hypothetical + 1; END IF;
        IF line ~ 'Seq Scan' THEN seq := seq + 1; END IF;
      END LOOP;
    END LOOP;
    RAISE NOTICE 'seq=% hypothetical=%', seq, hypothetical;
  END \$\$" 2>&1)
is "$(a_active)" "1" "session A was still planning with hypothetical indexes when session B finished"
case "$b_plans" in
  *"seq=300 hypothetical=0"*) ok 0 "session B: 300 plans, all sequential scans, no hypothetical index seen";;
  *) ok 1 "session B saw only its own indexes (got: $b_plans)";;
esac
is "$(q -c "SELECT count(*) FROM pg_class")" "$classes_before" "no relation added to pg_class while A plans"
is "$(q -c "SELECT count(*) FROM pg_index WHERE indrelid = 'big'::regclass")" "0" "big has no index in the catalog"
wait $a_pid; ok $? "session A finished without error"
is "$(cat "$CLUSTER/a.out")" "20000" "session A's 20000 plans all used the hypothetical index"

# After an error or a cancel in the middle of planning, nothing stays active.
out=$(psql -X -q -A -t -c "SET statement_timeout = '300ms'" \
  -c "SELECT count(*) FROM generate_series(1, 100000) g,
        LATERAL architect.whatif('SELECT * FROM big WHERE a = ' || g, ARRAY['CREATE INDEX ON big (a)']) w" \
  -c "RESET statement_timeout" \
  -c "EXPLAIN (COSTS OFF) SELECT * FROM big WHERE a = 1" 2>&1)
case "$out" in *"canceling statement due to statement timeout"*) ok 0 "a long what-if run is cancelled";; *) ok 1 "cancel (got: $out)";; esac
case "$out" in *"Seq Scan on big"*) ok 0 "the same session plans without the index after the cancel";; *) ok 1 "after cancel (got: $out)";; esac
out=$(psql -X -q -A -t \
  -c "SELECT * FROM architect.whatif('SELECT * FROM big WHERE a = 1', ARRAY['CREATE INDEX ON big (a)', 'CREATE INDEX ON big (nope)'])" \
  -c "EXPLAIN (COSTS OFF) SELECT * FROM big WHERE a = 1" 2>&1)
case "$out" in *'column "nope" does not exist'*"Seq Scan on big"*) ok 0 "an error leaves no hypothetical index behind";; *) ok 1 "after error (got: $out)";; esac

# The advisor's own planning is invisible too, and works without preload.
"$ROOT/scripts/cluster.sh" destroy "$CLUSTER"
PGA_PRELOAD=0 start_cluster
q -c "CREATE EXTENSION pg_architect"
q -c "CREATE TABLE t (a int, b int); INSERT INTO t SELECT i, i % 7 FROM generate_series(1, 50000) i; ANALYZE t"
is "$(q -c "SELECT columns::text FROM architect.advise_query('SELECT * FROM t WHERE a = 5')")" "{a}" "advise_query works without shared_preload_libraries"
is "$(q -c "SELECT count(*) FROM architect.index_advice" 2>/dev/null)" "0" "index_advice is empty without capture"
case "$(psql -X -q -A -t -c "SELECT count(*) FROM architect.index_advice" 2>&1)" in
  *"shared_preload_libraries"*) ok 0 "and says capture needs shared_preload_libraries";;
  *) ok 1 "index_advice explains itself";;
esac
done_testing
