#!/usr/bin/env bash
# Capture across a server's life: clean restart keeps the statistics, a corrupt
# save file is ignored with a LOG line, kill -9 of a backend under load leaves a
# healthy server, a tiny ring under load drops (and counts) instead of blocking,
# and a small statement table evicts instead of failing.
source "$(dirname "$0")/lib.sh"

start_cluster "pg_architect.ring_size = 64" "pg_architect.max_statements = 100" "pg_architect.max_scans = 100" \
              "pg_architect.collector_naptime = 50ms"
q -c "CREATE EXTENSION pg_architect"
q -c "CREATE TABLE lc (id int PRIMARY KEY, v int); INSERT INTO lc SELECT g, g FROM generate_series(1, 1000) g"
for i in $(seq 1 25); do q -c "SELECT v AS lifecycle_probe FROM lc WHERE id = $i" >/dev/null; done
calls() { q -c "SELECT coalesce(sum(calls), 0) FROM architect.statements WHERE query LIKE '%lifecycle_probe%' AND query NOT LIKE '%architect%'"; }
is "$(calls)" "25" "25 executions captured"

# 1. Clean restart: saved at shutdown, loaded at start.
restart_cluster
is "$(calls)" "25" "counts survive a clean restart"
ok "$(grep -c 'pg_architect loaded' "$CLUSTER/server.log" | tr -d ' ' | sed 's/^0$/1/;s/^[1-9][0-9]*$/0/')" "the server log says what was loaded"

# 2. A corrupt save file is ignored with a LOG line; the server starts.
"$ROOT/scripts/cluster.sh" stop "$CLUSTER"
test -f "$PGDATA/pg_stat/pg_architect.stat"; ok $? "a save file is written at shutdown"
printf 'garbage that is not a statistics file, long enough to pass the size check........' > /tmp/pga-corrupt.$$
run_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
run_as cp /tmp/pga-corrupt.$$ "$PGDATA/pg_stat/pg_architect.stat"; rm -f /tmp/pga-corrupt.$$
"$ROOT/scripts/cluster.sh" start "$CLUSTER" >/dev/null; ok $? "the server starts over a corrupt save file"
is "$(calls)" "0" "statistics start empty after a corrupt file"
grep -q 'ignoring pg_architect statistics file' "$CLUSTER/server.log"; ok $? "a LOG line says the file was ignored"
test ! -f "$PGDATA/pg_stat/pg_architect.stat"; ok $? "the corrupt file is removed"

# 3. kill -9 of a backend during load: crash recovery, capture starts clean, server healthy.
pgbench -q -i -s 1 >/dev/null 2>&1
pgbench -n -S -c 4 -j 2 -T 6 >/tmp/pga-pgbench-kill.$$ 2>&1 &
bench=$!
sleep 2
victim=$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' LIMIT 1")
[ -n "$victim" ] && kill -9 "$victim"
wait $bench
for i in $(seq 1 30); do q -c "SELECT 1" >/dev/null 2>&1 && break; sleep 1; done
is "$(q -c "SELECT 1")" "1" "the server accepts queries after a backend was killed with -9"
is "$(q -c "SELECT value FROM architect.status WHERE metric = 'collector_running'")" "1" "the collector runs again"
q -c "SELECT count(*) FROM architect.statements" >/dev/null; ok $? "architect.statements is readable after crash recovery"
for i in 1 2 3; do q -c "SELECT v AS after_crash FROM lc WHERE id = $i" >/dev/null; done
is "$(q -c "SELECT calls FROM architect.statements WHERE query LIKE '%after_crash%' AND query NOT LIKE '%architect%'")" "3" "capture works after crash recovery"
rm -f /tmp/pga-pgbench-kill.$$

# 4. A tiny ring (64 slots) whose consumer is stalled: queries never wait,
#    the overflow is dropped and counted.
collector=$(pgrep -P "$(head -1 "$PGDATA/postmaster.pid")" -f 'pg_architect collector')
ok $([ -n "$collector" ] && echo 0 || echo 1) "found the collector process ($collector)"
before=$(q -c "SELECT value FROM architect.status WHERE metric = 'events_dropped'")
kill -STOP "$collector"
pgbench -n -S -c 4 -j 2 -T 4 >/tmp/pga-pgbench-ring.$$ 2>&1; rc=$?
kill -CONT "$collector"
ok $rc "pgbench completes while the ring is full"
tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' /tmp/pga-pgbench-ring.$$)
ok $([ "${tx:-0}" -gt 1000 ] && echo 0 || echo 1) "queries kept running at full speed with a full ring ($tx transactions)"
after=$(q -c "SELECT value FROM architect.status WHERE metric = 'events_dropped'")
ok $([ "$after" -gt "$before" ] && echo 0 || echo 1) "drops are counted in architect.status ($before -> $after)"
rm -f /tmp/pga-pgbench-ring.$$

# 5. More distinct statements than the table holds: evicted by the collector, counted.
#    (Target lists of different lengths: 18 squashes IN lists of constants into
#    one query id, so those would no longer be distinct statements.)
q -c "SET pg_architect.sample_rate = 1; DO \$\$BEGIN FOR k IN 1..400 LOOP
        EXECUTE format('SELECT 1 AS evict_probe, %s FROM lc WHERE id = 1', (SELECT string_agg('v', ',') FROM generate_series(1, k) g));
      END LOOP; END\$\$"
n=$(q -c "SELECT count(*) FROM architect.statements")
ok $([ "$n" -le 100 ] && echo 0 || echo 1) "the statement table stays within pg_architect.max_statements ($n <= 100)"
ev=$(q -c "SELECT value FROM architect.status WHERE metric = 'statements_evicted'")
ok $([ "$ev" -gt 0 ] && echo 0 || echo 1) "evictions are counted ($ev)"
n=$(q -c "SELECT count(*) FROM architect.scans")
ok $([ "$n" -le 100 ] && echo 0 || echo 1) "the scan table stays within pg_architect.max_scans ($n <= 100)"
ev=$(q -c "SELECT value FROM architect.status WHERE metric = 'scans_evicted'")
ok $([ "$ev" -gt 0 ] && echo 0 || echo 1) "scan evictions are counted ($ev)"
done_testing
