#!/usr/bin/env bash
# A bounded sqlsmith run against the `regression` database that PostgreSQL's
# own suite leaves behind, once with pg_architect preloaded at maximum
# capture and once without the library, from the same seed; counts
# statements, errors and crashes for each.
#
#   test/core/run-sqlsmith.sh                         # 100000 statements per run
#   PGA_SQLSMITH_QUERIES=20000 test/core/run-sqlsmith.sh
#
# Knobs: PGA_SQLSMITH_QUERIES (statements per run, default 100000; the time
# knob), PGA_SQLSMITH_SEED (default 1), PGA_SQLSMITH_RUNS (default
# "max none"; also "default", and "max+ext": maximum capture with
# CREATE EXTENSION pg_architect in the database, so architect.* functions and
# views are fuzzed too; its query stream differs from the others, so it is
# compared on crashes only), PGA_SQLSMITH_DATA (a data directory saved by
# `PGA_CORE_KEEP_DATA=DIR test/core/run-core-regress.sh`, i.e. DIR/data;
# without it the core suite is run once without the library to make one),
# PGA_SQLSMITH_OUT (output directory).
#
# Every run starts from a fresh copy of the same data directory, so the
# runs see the same schema and, with the same seed, sqlsmith generates the
# same statements (it rolls back every one).  A crash is a server log line
# saying a backend was terminated by a signal, exited abnormally or that the
# server reinitialised; sqlsmith itself reconnects and goes on.
#
# Exit status: 0 when no run crashed, 1 otherwise.
set -uo pipefail
# The whole body is one compound command, read before it runs: editing the
# file during a run cannot change what the run executes.
{
cd "$(dirname "$0")/../.."
. test/core/core-env.sh
export PG_CONFIG

queries=${PGA_SQLSMITH_QUERIES:-100000}
seed=${PGA_SQLSMITH_SEED:-1}
runs=${PGA_SQLSMITH_RUNS:-max none}
out=${PGA_SQLSMITH_OUT:-$(mktemp -d /tmp/pga-sqlsmith.XXXXXX)}
mkdir -p "$out"
command -v sqlsmith >/dev/null || { echo "sqlsmith is not installed (apt-get install sqlsmith)"; exit 1; }

eval "$(scripts/stage.sh)" || exit 1

data=${PGA_SQLSMITH_DATA:-}
if [ -z "$data" ]; then
  echo "== making the regression database: PostgreSQL's suite without the library"
  PGA_CORE_RUNS=none PGA_CORE_OUT="$out/core" PGA_CORE_KEEP_DATA="$out/regdata" test/core/run-core-regress.sh \
    >"$out/core.log" 2>&1
  tail -3 "$out/core.log"
  data=$out/regdata/data
fi
[ -f "$data/PG_VERSION" ] || { echo "no data directory at $data"; exit 1; }

as_postgres() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
crash_re='terminated by signal|was terminated by exception|PANIC:|server process .* exited with exit code [^0]|terminating any other active server processes|all server processes terminated'

max_conf=("pg_architect.track = all" "pg_architect.sample_rate = 1"
  "pg_architect.max_statements = 100" "pg_architect.max_plans = 100"
  "pg_architect.max_scans = 100" "pg_architect.ring_size = 64"
  "pg_architect.text_memory = 1MB" "pg_architect.collector_naptime = 10ms")

declare -A secs stmts errs crashes srverrs timeouts
cluster=
trap '[ -n "$cluster" ] && scripts/cluster.sh destroy "$cluster"' EXIT
for run in $runs; do
  conf=("${CORE_COMMON_CONF[@]}")
  case "$run" in
    none) conf+=("shared_preload_libraries = ''") ;;
    default) conf+=("shared_preload_libraries = 'pg_architect'") ;;
    max|max+ext) conf+=("shared_preload_libraries = 'pg_architect'" "${max_conf[@]}") ;;
    *) echo "unknown run $run"; exit 2 ;;
  esac
  cluster=$(mktemp -d /tmp/pga-cluster.XXXXXX)
  cp -a "$data" "$cluster/data"
  chown -R postgres: "$cluster" 2>/dev/null || true
  eval "$(scripts/cluster.sh env "$cluster")"
  # The copy still names the original socket directory and port: the last
  # setting of a name in postgresql.conf wins.
  printf '%s\n' "unix_socket_directories = '$cluster'" "port = $PGPORT" "${conf[@]}" \
    "log_min_messages = warning" >>"$cluster/data/postgresql.conf"
  rm -f "$cluster/data/postmaster.pid"
  scripts/cluster.sh start "$cluster" >/dev/null || exit 1
  if [ "$run" = max+ext ]; then
    as_postgres "$PGA_BINDIR/psql" -XqAt -h "$PGHOST" -p "$PGPORT" -U postgres -d regression \
      -c 'CREATE EXTENSION IF NOT EXISTS hypopg' -c 'CREATE EXTENSION pg_architect' >/dev/null 2>&1 \
      || as_postgres "$PGA_BINDIR/psql" -XqAt -h "$PGHOST" -p "$PGPORT" -U postgres -d regression -c 'CREATE EXTENSION pg_architect CASCADE'
  fi
  echo "== sqlsmith run $run: $queries statements, seed $seed ($(as_postgres "$PGA_BINDIR/psql" -XAt -h "$PGHOST" -p "$PGPORT" -U postgres -d regression -c 'show shared_preload_libraries'))"
  start=$(date +%s)
  # sqlsmith connects with libpq to the cluster's unix socket, sets
  # statement_timeout = 1s and rolls every statement back; --verbose prints
  # one character per statement, 80 a line, and a summary of the errors
  # every 800.
  as_postgres sqlsmith --target="host=$PGHOST port=$PGPORT user=postgres dbname=regression" \
    --seed="$seed" --max-queries="$queries" --verbose >"$out/sqlsmith-$run.out" 2>"$out/sqlsmith-$run.err"
  rc=$?
  secs[$run]=$(( $(date +%s) - start ))
  scripts/cluster.sh stop "$cluster"
  cp "$cluster/server.log" "$out/server-$run.log"
  scripts/cluster.sh destroy "$cluster"; cluster=
  # The progress lines: one character per generated statement ('.' ok, any
  # letter an error of some kind: e error, S/s syntax, t timeout, C/c broken
  # connection; the letters differ between sqlsmith versions).
  prog=$(grep -E '^[.A-Za-z]+$' "$out/sqlsmith-$run.err" | tr -d '\n')
  stmts[$run]=${#prog}
  e=${prog//[.]/}; errs[$run]=${#e}
  c=${prog//[^Cc]/}
  timeouts[$run]=$(grep -c 'canceling statement due to statement timeout' "$out/server-$run.log")
  crashes[$run]=$(grep -cE "$crash_re" "$out/server-$run.log")
  srverrs[$run]=$(grep -c 'ERROR:' "$out/server-$run.log")
  echo "   sqlsmith exit $rc, ${secs[$run]} s, ${stmts[$run]} statements ($(( stmts[$run] / (secs[$run] > 0 ? secs[$run] : 1) ))/s), ${errs[$run]} errors (${timeouts[$run]} timeouts), ${#c} broken connections, ${crashes[$run]} crash lines in the server log"
  grep -E "$crash_re" "$out/server-$run.log" | head -5 | sed 's/^/   /'
done

status=0
echo
printf '%-8s %10s %8s %10s %13s %8s\n' run statements seconds errors server-ERRORs crashes
for run in $runs; do
  printf '%-8s %10s %8s %10s %13s %8s\n' "$run" "${stmts[$run]}" "${secs[$run]}" "${errs[$run]}" "${srverrs[$run]}" "${crashes[$run]}"
  [ "${crashes[$run]}" = 0 ] || status=1
  [ "${stmts[$run]}" -ge "$queries" ] || { echo "   $run: fewer statements than asked ($queries)"; status=1; }
done
echo "logs in $out"
exit $status
}
