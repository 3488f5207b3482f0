#!/usr/bin/env bash
# Acceptance benchmark for zero-downtime migrations.
#
#   bench/migrate/run.sh            # all three cases, naive then planned
#   CASES="a c" bench/migrate/run.sh
#
# A throwaway cluster, a 1M-row table t (id bigserial PK, a int NOT NULL
# with an index, grp int referencing-to-be grp(id), payload text), and a
# live pgbench workload on it: 2 clients, each transaction reading a row,
# incrementing its a, inserting a new row into t and recording the write in
# ops, then THINK ms (20) of think time (the script is below).
# While it runs, each case is carried out
#   naive:   the statement as a developer writes it (psql, autocommit);
#   planned: every step of architect.plan_migration(<that statement>), in
#            order, through psql, each step's run_sql as given (locking steps
#            under lock_timeout with retry, batched backfills, CONCURRENTLY);
# the table being rebuilt from scratch for each run.  Printed per run: the
# maximum latency and the count of transactions over 1 s, read from
# pgbench's per-transaction log (-l; closed loop: a transaction's latency is
# its own time, including any wait for a lock, plus the think time), the
# duration of the migration, and the write check: count(t) = 1M + count(ops)
# and, for every row, a = initial a + number of ops on it (no write lost).
# Before the runs, each naive statement is rehearsed (forward + generated
# rollback, forced: the table is above the rewrite threshold) and the
# fingerprints before and after rollback are printed.  Then the duration
# model is calibrated on the same table (MB/s of a scan, a rewrite, an index
# build, a backfill) and compared with its defaults.  About 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PATH=$("$PG_CONFIG" --bindir):$PATH
eval "$(scripts/stage.sh)"

ROWS=${ROWS:-1000000}
THINK=${THINK:-20}
CASES=${CASES-a b c}    # CASES="" runs only the calibration
WORK=$(mktemp -d /tmp/pga-bench-migrate.XXXXXX)
chmod 777 "$WORK"

CLUSTER=$(scripts/cluster.sh start "" "max_wal_size = 4GB" "checkpoint_timeout = 30min")
trap 'scripts/cluster.sh destroy "$CLUSTER"; rm -rf "$WORK"' EXIT
eval "$(scripts/cluster.sh env "$CLUSTER")"
Q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
Q -c "CREATE EXTENSION pg_architect"

declare -A NAIVE
NAIVE[a]="ALTER TABLE t ALTER COLUMN a TYPE bigint"
NAIVE[b]="ALTER TABLE t ADD COLUMN c timestamptz NOT NULL DEFAULT clock_timestamp()"
NAIVE[c]="ALTER TABLE t ADD CONSTRAINT t_grp_fkey FOREIGN KEY (grp) REFERENCES grp (id);
ALTER TABLE t ALTER COLUMN grp SET NOT NULL"
declare -A TITLE
TITLE[a]="(a) int -> bigint on t.a (1M rows)"
TITLE[b]="(b) ADD COLUMN NOT NULL DEFAULT clock_timestamp()"
TITLE[c]="(c) new FOREIGN KEY + SET NOT NULL on t.grp"

setup() {
  Q <<SQL
SET client_min_messages = warning;
SET pg_architect.ddl_guard = off;
DROP TABLE IF EXISTS t, ops, grp CASCADE;
DROP FUNCTION IF EXISTS public.t_a_sync();
DELETE FROM architect.backfill_progress;
CREATE TABLE grp (id int PRIMARY KEY);
INSERT INTO grp SELECT g FROM generate_series(1, 100) g;
CREATE TABLE t (id bigserial PRIMARY KEY, a int NOT NULL DEFAULT 0, grp int, payload text);
INSERT INTO t (a, grp, payload) SELECT g, 1 + g % 100, md5(g::text) FROM generate_series(1, $ROWS) g;
CREATE INDEX t_a ON t (a);
CREATE TABLE ops (op bigserial PRIMARY KEY, tid bigint NOT NULL);
VACUUM ANALYZE t;
VACUUM ANALYZE grp;
CHECKPOINT;
SQL
}

cat > "$WORK/workload.sql" <<SQL
\set id random(1, $ROWS)
BEGIN;
SELECT a, grp, payload FROM t WHERE id = :id;
UPDATE t SET a = a + 1 WHERE id = :id;
INSERT INTO t (a, grp, payload) VALUES (0, 1 + :id % 100, 'new');
INSERT INTO ops (tid) VALUES (:id);
END;
\sleep $THINK ms
SQL

verify() {           # prints the write check
  Q <<SQL
SELECT format('rows %s = %s + ops %s: %s; rows whose a differs from initial + ops on it: %s',
              (SELECT count(*) FROM t), $ROWS, (SELECT count(*) FROM ops),
              CASE WHEN (SELECT count(*) FROM t) = $ROWS + (SELECT count(*) FROM ops) THEN 'ok' ELSE 'LOST' END,
              (SELECT count(*) FROM t LEFT JOIN (SELECT tid, count(*) AS n FROM ops GROUP BY tid) o ON o.tid = t.id
                WHERE t.a <> CASE WHEN t.id <= $ROWS THEN t.id ELSE 0 END + coalesce(o.n, 0)));
SQL
}

run() {              # run CASE MODE
  local c=$1 mode=$2 dir="$WORK/$1-$2" t0 t1 steps
  mkdir -p "$dir"; chmod 777 "$dir"
  setup >/dev/null
  (cd "$dir" && exec pgbench -n -c 2 -j 2 -T 900 -l --log-prefix=tx -f "$WORK/workload.sql" >"$dir/pgbench.out" 2>&1) &
  local pgb=$!
  sleep 3
  t0=$(date +%s.%N)
  if [ "$mode" = naive ]; then
    printf '%s;\n' "${NAIVE[$c]}" | psql -X -q -v ON_ERROR_STOP=1 >"$dir/migrate.out" 2>&1 || { echo "  naive migration failed:"; cat "$dir/migrate.out"; }
  else
    Q -v m="${NAIVE[$c]}" >"$dir/steps.tsv" <<'SQL'
\pset fieldsep_zero on
\pset recordsep_zero on
SELECT step_no, run_sql FROM architect.plan_migration(:'m') ORDER BY step_no;
SQL
    steps=0
    while IFS= read -r -d '' no && IFS= read -r -d '' sql; do
      steps=$((steps+1))
      printf '%s;\n' "$sql" | psql -X -q -v ON_ERROR_STOP=1 >>"$dir/migrate.out" 2>&1 \
        || { echo "  step $no failed:"; tail -5 "$dir/migrate.out"; break; }
    done <"$dir/steps.tsv"
  fi
  t1=$(date +%s.%N)
  sleep 3
  Q -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'pgbench'" >/dev/null
  wait $pgb 2>/dev/null || true
  local lat
  lat=$(cat "$dir"/tx.* | awk '{n++; if ($3 > m) m = $3; if ($3 > 1000000) s++} END {printf "%d tx, max latency %.0f ms, over 1 s: %d", n, m/1000, s}')
  printf '  %-8s migration %6.1f s%s | %s\n' "$mode" "$(echo "$t1 - $t0" | bc)" \
    "$([ "$mode" = planned ] && echo " ($steps steps)" || echo "")" "$lat"
  printf '           %s\n' "$(verify)"
  case "$c" in
    a) printf '           %s\n' "$(Q -c "SELECT 't.a is ' || format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'a'")";;
    b) printf '           %s\n' "$(Q -c "SELECT 't.c NOT NULL ' || attnotnull || ', rows with NULL c: ' || (SELECT count(*) FROM t WHERE c IS NULL) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'c'")";;
    c) printf '           %s\n' "$(Q -c "SELECT 't.grp NOT NULL ' || attnotnull || ', FK validated: ' || (SELECT string_agg(convalidated::text, ',') FROM pg_constraint WHERE conrelid = 't'::regclass AND contype = 'f') FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'grp'")";;
  esac
}

echo "pg_architect migration benchmark: $ROWS rows, pgbench 2 clients, $THINK ms think time (read + update + 2 inserts per tx)"
echo
[ -n "$CASES" ] && echo "== Rehearsal of each naive statement with its generated rollback (forced; everything rolled back)"
setup >/dev/null
[ -n "$CASES" ] && Q -c "SELECT 'table t: ' || pg_size_pretty(pg_relation_size('t')) || ' heap, ' || pg_size_pretty(pg_indexes_size('t')) || ' indexes'"
for c in $CASES; do
  echo "${TITLE[$c]}"
  Q -F ' | ' -v m="${NAIVE[$c]}" <<'SQL'
SELECT '  ' || phase || ' ' || coalesce(statement_no::text, '') || ': ' ||
       CASE WHEN phase = 'fingerprint' THEN fingerprint_before || ' -> ' || fingerprint_after_forward || ' -> ' || fingerprint_after_rollback || ' ' || outcome || ' (' || detail || ')'
            WHEN phase = 'verdict' THEN outcome
            ELSE left(statement, 70) || ' | ' || outcome || ' | ' || coalesce(duration_ms::text, '') || ' ms | locks: ' || coalesce(locks_taken, '-') || ' | rewritten: ' || coalesce(rewritten, '-') END
  FROM architect.rehearse(:'m', NULL, force => true);
SQL
done

echo
echo "== Live runs (the table rebuilt before each run)"
for c in $CASES; do
  echo "${TITLE[$c]}"
  run "$c" naive
  run "$c" planned
done

echo
echo "== Duration model calibration on this machine (defaults: pg_architect.migrate_*_rate)"
setup >/dev/null
Q 2>&1 <<'SQL' | sed 's/^NOTICE:  /  /'
DO $$
DECLARE
  t0 timestamptz;
  mb float8 := pg_relation_size('t') / 1048576.0;
  scan float8; idx float8; rw float8;
BEGIN
  t0 := clock_timestamp(); PERFORM count(*) FROM t WHERE payload IS NULL;
  scan := mb / extract(epoch FROM clock_timestamp() - t0);
  t0 := clock_timestamp(); CREATE INDEX cal_idx ON t (grp);
  idx := mb / extract(epoch FROM clock_timestamp() - t0);
  DROP INDEX cal_idx;
  -- a rewrite copies the heap and rebuilds every index: MB of both per second
  mb := (pg_relation_size('t') + pg_indexes_size('t')) / 1048576.0;
  t0 := clock_timestamp(); ALTER TABLE t ALTER COLUMN grp TYPE bigint;
  rw := mb / extract(epoch FROM clock_timestamp() - t0);
  RAISE NOTICE 'scan % MB/s (default %), index build % MB of table/s (default %), rewrite % MB of heap+indexes/s (default %)',
    round(scan::numeric), current_setting('pg_architect.migrate_scan_rate'),
    round(idx::numeric), current_setting('pg_architect.migrate_index_rate'),
    round(rw::numeric), current_setting('pg_architect.migrate_rewrite_rate');
END $$;
SQL
mb=$(Q -c "SELECT round(pg_relation_size('t') / 1048576.0)")
est=$(Q -c "ALTER TABLE t ADD COLUMN cal int" -c "SELECT est_seconds FROM architect.plan_migration('ALTER TABLE t ADD COLUMN cal2 int NOT NULL DEFAULT random()') WHERE phase = 'backfill'")
s=$(date +%s.%N); Q -c "CALL architect.backfill('t', 'cal = 1', 'cal IS NULL', 2000, '10ms')" >/dev/null 2>&1; e=$(date +%s.%N)
echo "  backfill of $ROWS rows ($mb MB, batches of 2000, 10 ms pause, no workload): $(echo "$e - $s" | bc) s, model $est s (backfill rate default $(Q -c "SHOW pg_architect.migrate_backfill_rate") MB/s)"
