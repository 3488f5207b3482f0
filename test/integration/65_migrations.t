#!/usr/bin/env bash
# Migrations lifecycle: a batched backfill cancelled mid-way resumes where it
# stopped and never holds a lock across batches; run_with_lock_timeout
# retries until a conflicting lock goes away; rehearse reads the locks it
# really took, stops at its lock_timeout and statement_timeout and leaves
# nothing behind; the plan for int -> bigint carried out step by step
# through psql; the CI command installed into bindir, its table, JSON and
# exit codes.
source "$(dirname "$0")/lib.sh"

start_cluster
q -c "CREATE EXTENSION pg_architect"
q <<'SQL'
CREATE TABLE mt (id bigint PRIMARY KEY, a int NOT NULL DEFAULT 0, b text, c2 int);
INSERT INTO mt SELECT g, g, md5(g::text), NULL FROM generate_series(1, 100000) g;
CREATE INDEX mt_a ON mt (a);
SQL

# --- backfill: cancel, resume, no lock across batches
psql -X -q -c "CALL architect.backfill('mt', 'c2 = a * 2', 'c2 IS NULL', 1000, '50ms')" >/tmp/mt-bf1.$$ 2>&1 &
bf=$!
for _ in $(seq 1 100); do
  [ "$(q -c "SELECT coalesce((SELECT batches FROM architect.backfill_progress), 0) >= 5")" = t ] && break; sleep 0.1
done
# Between batches no lock is held: a DDL that needs AccessExclusiveLock
# gets it within a short lock_timeout while the backfill is running.
q -c "SET lock_timeout = '2s'" -c "ALTER TABLE mt ALTER COLUMN b SET DEFAULT 'x'"
ok $? "a DDL gets its AccessExclusiveLock while the backfill runs (no lock held across batches)"
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'CALL architect.backfill%' AND pid <> pg_backend_pid()" >/dev/null
wait $bf; rc=$?
ok $([ $rc -ne 0 ] && echo 0 || echo 1) "the cancelled backfill stops"
grep -q "canceling statement due to user request" /tmp/mt-bf1.$$; ok $? "with the cancel message"
is "$(q -c "SELECT status = 'running' AND rows_done > 0 AND rows_done < 100000 FROM architect.backfill_progress")" "t" \
   "progress kept: status running, some rows done"
is "$(q -c "SELECT (SELECT rows_done FROM architect.backfill_progress) = (SELECT count(*) FROM mt WHERE c2 IS NOT NULL)")" "t" \
   "the committed batches and the progress row agree (no partial batch)"
out=$(psql -X -q -c "CALL architect.backfill('mt', 'c2 = a * 2', 'c2 IS NULL', 5000, '0')" 2>&1)
case "$out" in *"resuming backfill of public.mt after key"*"done: 100000 rows"*) ok 0 "CALL again resumes and finishes";;
  *) ok 1 "CALL again resumes (got: $out)";; esac
case "$out" in *"rows/s, ETA"*) ok 0 "progress reports rows/s and ETA";; *) ok 1 "progress NOTICE (got: $out)";; esac
is "$(q -c "SELECT count(*) FROM mt WHERE c2 IS DISTINCT FROM a * 2")" "0" "every row backfilled exactly"
is "$(q -c "SELECT status || ' ' || rows_done FROM architect.backfill_progress")" "done 100000" "progress table says done"
rm -f /tmp/mt-bf1.$$

# --- run_with_lock_timeout retries while another session holds a lock
psql -X -q -c "BEGIN" -c "LOCK TABLE mt IN ACCESS SHARE MODE" -c "SELECT pg_sleep(1.5)" -c "COMMIT" >/dev/null 2>&1 &
holder=$!
sleep 0.3
out=$(psql -X -q -c "CALL architect.run_with_lock_timeout('ALTER TABLE mt ADD COLUMN r int', '200ms', 20, '100ms')" 2>&1); rc=$?
wait $holder
ok $rc "run_with_lock_timeout succeeds once the lock is released"
case "$out" in *"attempt 1: lock not granted within"*) ok 0 "after reporting its retries";; *) ok 1 "retries reported (got: $out)";; esac
psql -X -q -c "BEGIN" -c "LOCK TABLE mt IN ACCESS SHARE MODE" -c "SELECT pg_sleep(2)" -c "COMMIT" >/dev/null 2>&1 &
holder=$!
sleep 0.3
out=$(psql -X -q -c "CALL architect.run_with_lock_timeout('ALTER TABLE mt ADD COLUMN r2 int', '100ms', 2, '10ms')" 2>&1)
wait $holder
case "$out" in *"ERROR:  lock not granted within"*"after 2 attempts"*"HINT:"*) ok 0 "and gives up with a clear error after its retries";;
  *) ok 1 "gives up (got: $out)";; esac
is "$(q -c "SELECT count(*) FROM pg_attribute WHERE attrelid = 'mt'::regclass AND attname = 'r2'")" "0" "leaving nothing half-done"

# --- rehearse: real locks, timeouts, nothing left
is "$(q -c "SELECT locks_taken FROM architect.rehearse('ALTER TABLE mt ALTER COLUMN b SET NOT NULL') WHERE phase = 'forward'")" \
   "public.mt AccessExclusiveLock" "rehearse reads the lock the statement took from pg_locks"
is "$(q -c "SELECT locks_taken FROM architect.rehearse('CREATE INDEX ON mt (b)') WHERE phase = 'forward'")" \
   "public.mt ShareLock, public.mt_b_idx AccessExclusiveLock" "CREATE INDEX: ShareLock on the table, its new index"
psql -X -q -c "BEGIN" -c "LOCK TABLE mt IN ACCESS SHARE MODE" -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null 2>&1 &
holder=$!
sleep 0.3
start=$(date +%s%N)
out=$(q -c "SET pg_architect.rehearse_lock_timeout = '200ms'" -c "SELECT outcome || ': ' || detail FROM architect.rehearse('ALTER TABLE mt ADD COLUMN z int') WHERE phase = 'forward'")
wait $holder
case "$out" in "error: 55P03: canceling statement due to lock timeout") ok 0 "rehearse stops at its lock_timeout";;
  *) ok 1 "lock_timeout (got: $out)";; esac
out=$(q -c "SET pg_architect.rehearse_statement_timeout = '200ms'" -c "SELECT outcome || ': ' || detail FROM architect.rehearse(\$\$DO 'BEGIN PERFORM pg_sleep(3); END'\$\$, 'SELECT 1') WHERE phase = 'forward'")
case "$out" in "error: statement_timeout"*) ok 0 "and at its statement_timeout";; *) ok 1 "statement_timeout (got: $out)";; esac
is "$(q -c "SELECT count(*) FROM pg_attribute WHERE attrelid = 'mt'::regclass AND attname IN ('z') ")" "0" "nothing rehearsed survives"

# --- the int -> bigint plan carried out step by step through psql
q -c "SELECT step_no, run_sql, coalesce(verify_sql, '') FROM architect.plan_migration('ALTER TABLE mt ALTER COLUMN a TYPE bigint') ORDER BY 1" \
  -F $'\x1f' -R $'\x1e' > /tmp/mt-steps.$$
sum_before=$(q -c "SELECT sum(a), count(*) FROM mt")
failed=0 steps=0
while IFS=$'\x1f' read -r -d $'\x1e' no run verify || [ -n "$no" ]; do
  steps=$((steps+1))
  err=$(printf "%s;\n" "$run" | psql -X -q -v ON_ERROR_STOP=1 2>&1 >/dev/null) || { failed=1; echo "# step $no failed: $err"; break; }
  if [ -n "$verify" ]; then
    [ "$(q -c "$verify")" = t ] || { failed=1; echo "# step $no not verified: $verify"; break; }
  fi
done </tmp/mt-steps.$$
rm -f /tmp/mt-steps.$$
ok $failed "all $steps steps of the int -> bigint plan ran and each verify query confirmed it"
is "$(q -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'mt'::regclass AND attname = 'a'")" "bigint" "a is bigint"
is "$(q -c "SELECT sum(a), count(*) FROM mt")" "$sum_before" "with the same data"
is "$(q -c "SELECT indexdef FROM pg_indexes WHERE indexname = 'mt_a'")" "CREATE INDEX mt_a ON public.mt USING btree (a)" "its index under its old name"
is "$(q -c "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'mt'::regclass AND NOT tgisinternal")" "0" "and no trigger left after contract"

# --- the CI command
B="$PGA_BINDIR/pga-migrate-check"
[ -x "$B" ]; ok $? "make install put pga-migrate-check into the server's bindir"
d=$(mktemp -d)
printf 'ALTER TABLE mt ALTER COLUMN b SET NOT NULL;\n' > "$d/001_nn.sql"
printf 'CREATE INDEX CONCURRENTLY mt_b ON mt (b);\n' > "$d/002_idx.sql"
printf 'ALTER TABLE mt ALTER COLUMN id TYPE numeric;\n' > "$d/003_type.sql"
"$B" "$d/002_idx.sql" >/dev/null; ok $? "a clean file exits 0"
out=$("$B" --max-lock ShareUpdateExclusiveLock "$d"); rc=$?
is "$rc" "1" "a directory with a statement that breaks --max-lock exits 1"
case "$out" in *"== $d/001_nn.sql (1 policy violation(s))"*"holds AccessExclusiveLock while it scans"*"== $d/003_type.sql"*) ok 0 "per-file table with the violation";;
  *) ok 1 "table (got: $out)";; esac
"$B" --max-rewrite-size 1GB "$d/003_type.sql" >/dev/null; ok $? "--max-rewrite-size above the table's size passes"
"$B" --max-rewrite-size 1kB "$d/003_type.sql" >/dev/null; is "$?" "1" "below it fails"
json=$("$B" --json --max-rewrite-size 1kB "$d")
is "$(printf '%s' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), sum(f["violations"] for f in d), d[2]["statements"][0]["rewrites"])')" \
   "3 1 True" "--json: one object per file, the violations, the verdicts"
printf 'ALTER TABLE nosuch ADD COLUMN x int;\n' > "$d/004_bad.sql"
out=$("$B" --json "$d/004_bad.sql"); rc=$?
is "$rc" "1" "a file that does not plan exits 1"
is "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["error"])')" \
   "statement 1 refers to table nosuch, which does not exist" "with its error in the JSON"
"$B" /nonexistent >/dev/null 2>&1; is "$?" "2" "a usage error exits 2"
rm -rf "$d"

done_testing
