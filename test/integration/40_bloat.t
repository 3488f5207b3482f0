#!/usr/bin/env bash
# Bloat across sessions: measurement never waits behind (or blocks) a lock
# weaker than ACCESS EXCLUSIVE held by another session, so it takes nothing
# stronger than AccessShareLock; another session's temp table is refused.
source "$(dirname "$0")/lib.sh"

start_cluster
q -c "CREATE EXTENSION pg_architect"
q -c "CREATE TABLE lk (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = off);
      INSERT INTO lk SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g;
      DELETE FROM lk WHERE id % 3 = 0;"

# Session A holds EXCLUSIVE on the table (conflicts with every mode but
# ACCESS SHARE) and on the index, until we kill it.
psql -X -q -c "BEGIN; LOCK TABLE lk IN EXCLUSIVE MODE; SELECT pg_sleep(60);" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 1 50); do
  [ "$(q -c "SELECT count(*) FROM pg_locks WHERE relation = 'lk'::regclass AND mode = 'ExclusiveLock' AND granted")" = 1 ] && break
  sleep 0.1
done
is "$(q -c "SELECT count(*) FROM pg_locks WHERE relation = 'lk'::regclass AND mode = 'ExclusiveLock' AND granted")" 1 \
   "another session holds EXCLUSIVE on the table"

out=$(q -c "SET lock_timeout = '3s'; SELECT method FROM architect.measure_bloat('lk', 0)" 2>&1)
is "$out" "exact" "exact measurement runs while another session holds EXCLUSIVE (so it asks for ACCESS SHARE only)"
out=$(q -c "SET lock_timeout = '3s'; SELECT method FROM architect.measure_bloat('lk', 20)" 2>&1)
is "$out" "sampled" "sampled measurement too"
out=$(q -c "SET lock_timeout = '3s'; SELECT kind FROM architect.estimate_bloat('lk')" 2>&1)
is "$out" "table" "the estimate too"
out=$(q -c "SET lock_timeout = '3s'; SELECT count(*) > 0 FROM architect.bloat WHERE relation = 'lk'::regclass" 2>&1)
is "$out" "t" "and the architect.bloat view"

# While a measurement is running, what does it hold?  Watch it from here.
psql -X -q -c "BEGIN; SELECT architect.measure_bloat('lk', 0); SELECT architect.measure_bloat('lk_pkey', 0);
               SELECT pg_sleep(4); COMMIT;" >/dev/null 2>&1 &
measurer=$!
for _ in $(seq 1 30); do
  [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(4)%' AND wait_event = 'PgSleep'")" = 1 ] && break
  sleep 0.1
done
modes=$(q -c "SELECT string_agg(DISTINCT l.mode, ',') FROM pg_locks l JOIN pg_stat_activity a USING (pid)
              WHERE a.query LIKE '%measure_bloat%' AND a.pid <> pg_backend_pid()
                AND l.locktype = 'relation' AND l.relation IN ('lk'::regclass, 'lk_pkey'::regclass)")
is "$modes" "AccessShareLock" "a measuring session holds AccessShareLock on table and index, nothing else"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
wait "$measurer" 2>/dev/null

# ACCESS EXCLUSIVE elsewhere (VACUUM FULL, ALTER TABLE): the view does not queue.
psql -X -q -c "BEGIN; LOCK TABLE lk IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 1 50); do
  [ "$(q -c "SELECT count(*) FROM pg_locks WHERE relation = 'lk'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1 ] && break
  sleep 0.1
done
out=$(q -c "SET lock_timeout = '3s'; SELECT string_agg(relation::text || ':' || method, ',' ORDER BY relation::text)
            FROM architect.bloat WHERE relation::text IN ('lk', 'lk_pkey')" 2>&1)
is "$out" "lk:skipped,lk_pkey:skipped" "architect.bloat skips a table locked ACCESS EXCLUSIVE, and its index, instead of waiting"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null

# Another session's temp table.
psql -X -q -c "CREATE TEMP TABLE mine (id int)" -c "INSERT INTO mine SELECT generate_series(1, 1000)" \
     -c "SELECT pg_sleep(30)" >/dev/null 2>&1 &
tmpsess=$!
for _ in $(seq 1 50); do
  name=$(q -c "SELECT n.nspname || '.mine' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relname = 'mine' AND c.relpersistence = 't'")
  [ -n "$name" ] && break
  sleep 0.1
done
out=$(q -c "SELECT * FROM architect.measure_bloat('$name')" 2>&1)
case "$out" in
  *"cannot measure temporary relation \"mine\" of another session"*) msg=${out#ERROR:  }; ok 0 "another session's temp table is refused: ${msg%%$'\n'*}";;
  *) ok 1 "another session's temp table is refused (got: $out)";;
esac
is "$(q -c "SELECT count(*) FROM architect.bloat WHERE relation::text LIKE '%.mine'")" 0 \
   "architect.bloat skips other sessions' temp tables"
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()" >/dev/null
wait "$tmpsess" 2>/dev/null

done_testing
