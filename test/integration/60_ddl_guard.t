#!/usr/bin/env bash
# DDL guard lifecycle: the shared-memory log (ring overwrite, reset,
# privacy), the guard never waiting on a lock, server-wide block mode, and
# life without preload.
source "$(dirname "$0")/lib.sh"

start_cluster
q -c "CREATE EXTENSION pg_architect"
q -c "CREATE TABLE big AS SELECT g AS id, g AS a, md5(g::text) AS b FROM generate_series(1, 200000) g" 2>/dev/null
q -c "SELECT architect.reset()" >/dev/null

# Default settings: warn at 10 MB; the table is ~13 MB.
is "$(q -c "SELECT current_setting('pg_architect.ddl_guard') || ' ' || current_setting('pg_architect.ddl_guard_min_size')")" \
   "warn 10MB" "defaults: warn, 10MB"
out=$(psql -X -q -c "ALTER TABLE big ALTER COLUMN a TYPE bigint" 2>&1)
case "$out" in *"WARNING:  ALTER TABLE would rewrite table public.big ("*"MB) while holding AccessExclusiveLock"*) ok 0 "warn mode warns about a rewrite of a 13 MB table";;
  *) ok 1 "warn mode warns (got: $out)";; esac
is "$(q -c "SELECT lock_mode || ' ' || rewrites_table || ' ' || risk || ' ' || action || ' ' || (duration_ms > 0) FROM architect.ddl_log WHERE statement LIKE 'ALTER TABLE big ALTER COLUMN a TYPE bigint'")" \
   "AccessExclusiveLock true high warned true" "the log has its lock, rewrite, risk, action and duration"
is "$(q -c "SELECT role_name FROM architect.ddl_log LIMIT 1")" "postgres" "and the role"
q -c "ALTER TABLE big ALTER COLUMN b SET DEFAULT 'x'"
q -c "SET lock_timeout = '1s'" -c "ALTER TABLE big ALTER COLUMN b SET DEFAULT 'y'"
is "$(q -c "SELECT string_agg(risk, ',' ORDER BY logged_at) FROM architect.ddl_log WHERE statement LIKE '%SET DEFAULT%'")" \
   "medium,low" "a brief AccessExclusiveLock is medium risk, low when the session has a lock_timeout"

# Server-wide block mode, per-role override.
wait_setting() {             # wait_setting VALUE: until a new session sees it (reload is asynchronous)
  for _ in $(seq 1 100); do [ "$(q -c "SHOW pg_architect.ddl_guard")" = "$1" ] && return 0; sleep 0.1; done; return 1
}
q -c "ALTER SYSTEM SET pg_architect.ddl_guard = block" -c "SELECT pg_reload_conf()" >/dev/null; wait_setting block
out=$(psql -X -q -c "CREATE INDEX ON big (a)" 2>&1)
case "$out" in *"ERROR:  CREATE INDEX would scan table public.big"*"HINT:  CREATE INDEX CONCURRENTLY"*) ok 0 "ALTER SYSTEM ... block refuses CREATE INDEX on a big table";;
  *) ok 1 "block mode refuses (got: $out)";; esac
is "$(q -c "SELECT count(*) FROM pg_indexes WHERE tablename = 'big'")" "0" "and the index was not built"
q -c "BEGIN" -c "SET LOCAL pg_architect.ddl_guard = off" -c "CREATE INDEX big_a ON big (a)" -c "COMMIT"
ok $? "SET LOCAL pg_architect.ddl_guard = off lets it through"
q -c "CREATE INDEX CONCURRENTLY big_b ON big (b)"; ok $? "CREATE INDEX CONCURRENTLY passes in block mode"
q -c "ALTER SYSTEM RESET pg_architect.ddl_guard" -c "SELECT pg_reload_conf()" >/dev/null; wait_setting warn

# The guard never waits for a lock: while another session holds
# AccessExclusiveLock, check_ddl still answers (size from pg_class).
q -c "VACUUM ANALYZE big"
psql -X -q -c "BEGIN" -c "LOCK big IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(6)" -c "COMMIT" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 1 50); do
  [ "$(q -c "SELECT count(*) FROM pg_locks WHERE relation = 'big'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1 ] && break
  sleep 0.1
done
res=$(q -c "SET statement_timeout = '2s'" -c "SELECT risk || ' ' || (relation_bytes > 10000000) || ' ' || (reason LIKE '%pg_class.relpages%') FROM architect.check_ddl('ALTER TABLE big ALTER COLUMN b SET NOT NULL')" 2>&1)
is "$res" "high true true" "check_ddl does not wait behind an AccessExclusiveLock holder and uses pg_class.relpages"
wait $holder

# Ring: 256 entries, the rest overwritten and counted; reset clears.
q -c "SELECT architect.reset()" >/dev/null
for i in $(seq 1 300); do echo "COMMENT ON TABLE big IS 'c$i';"; done | q >/dev/null
is "$(q -c "SELECT count(*) FROM architect.ddl_log")" "256" "the log keeps its 256 most recent statements"
is "$(q -c "SELECT value FROM architect.status WHERE metric = 'ddl_log_overwritten'")" "44" "and counts the 44 overwritten"
is "$(q -c "SELECT statement FROM architect.ddl_log ORDER BY logged_at DESC LIMIT 1")" "COMMENT ON TABLE big IS 'c300'" "newest entry is the last statement"
is "$(q -c "SELECT min(statement) FROM architect.ddl_log WHERE statement = 'COMMENT ON TABLE big IS ''c44'''")" "" "the oldest ones are gone"
q -c "SELECT architect.reset()" >/dev/null
is "$(q -c "SELECT count(*) FROM architect.ddl_log")|$(q -c "SELECT value FROM architect.status WHERE metric = 'ddl_log_overwritten'")" "0|0" "reset clears the log and the counter"

# Privacy: a role that may read the view but not pg_read_all_stats sees its own statements only.
q -c "CREATE ROLE reader LOGIN; GRANT SELECT ON architect.ddl_log TO reader; GRANT EXECUTE ON FUNCTION architect.ddl_log() TO reader; GRANT CREATE ON SCHEMA public TO reader"
q -c "SELECT architect.reset()" >/dev/null
q -c "COMMENT ON TABLE big IS 'secret'"
psql -X -q -U reader -c "CREATE TABLE mine (a int)" >/dev/null
is "$(q -U reader -c "SELECT string_agg(statement, ' | ' ORDER BY logged_at) FROM architect.ddl_log")" \
   "<insufficient privilege> | CREATE TABLE mine (a int)" "other roles' statements are hidden"

# Restart: the log is in memory only, the guard is still on.
restart_cluster
is "$(q -c "SELECT count(*) FROM architect.ddl_log")" "0" "the log starts empty after a restart"
"$ROOT/scripts/cluster.sh" destroy "$CLUSTER"

# No preload: check_ddl and the guard still work, ddl_log has no rows and says why once.
PGA_PRELOAD=0 start_cluster
q -c "CREATE EXTENSION pg_architect"
q -c "CREATE TABLE t AS SELECT g AS a FROM generate_series(1, 1000) g"
is "$(q -c "SELECT risk FROM architect.check_ddl('SET pg_architect.ddl_guard_min_size = 0; ALTER TABLE t ALTER COLUMN a TYPE bigint') WHERE statement_no = 2")" "low" \
   "check_ddl works without preload (small table: low)"
# The hook lives in the library: a session that has not loaded it is not guarded...
out=$(psql -X -q -c "SET pg_architect.ddl_guard = block" -c "SET pg_architect.ddl_guard_min_size = 0" -c "ALTER TABLE t ALTER COLUMN a TYPE bigint" 2>&1)
is "$out" "" "without any preload, a session that never loaded the library is not guarded"
# ...one that has (any architect function, or LOAD) is,
out=$(psql -X -q -c "LOAD 'pg_architect'" -c "SET pg_architect.ddl_guard = block" -c "SET pg_architect.ddl_guard_min_size = 0" -c "ALTER TABLE t ALTER COLUMN a TYPE int" 2>&1)
case "$out" in *"ERROR:  ALTER TABLE would rewrite table public.t"*) ok 0 "the guard blocks in a session that loaded the library";;
  *) ok 1 "the guard blocks in a session that loaded the library (got: $out)";; esac
# ...and session_preload_libraries (no restart) guards every new session.
q -c "ALTER DATABASE postgres SET session_preload_libraries = 'pg_architect'"
out=$(psql -X -q -c "SET pg_architect.ddl_guard = block" -c "SET pg_architect.ddl_guard_min_size = 0" -c "ALTER TABLE t ALTER COLUMN a TYPE int" 2>&1)
case "$out" in *"ERROR:  ALTER TABLE would rewrite table public.t"*) ok 0 "session_preload_libraries guards new sessions without a restart";;
  *) ok 1 "session_preload_libraries guards new sessions (got: $out)";; esac
out=$(psql -X -q -A -t -c "SELECT count(*) FROM architect.ddl_log" -c "SELECT count(*) FROM architect.ddl_log" 2>&1)
is "$(echo "$out" | grep -c 'NOTICE:  pg_architect capture is not active: architect.ddl_log returns no rows')|$(echo "$out" | grep -vc NOTICE)" \
   "1|4" "ddl_log returns no rows and says so once per session"
done_testing
