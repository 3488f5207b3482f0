#!/usr/bin/env bash
# PostgreSQL's own regression suite (src/test/regress, the installcheck
# schedule) against throwaway servers from the staged install, with and
# without pg_architect preloaded; the per-test outputs of every run with the
# library must be identical to the run without it.
#
#   test/core/run-core-regress.sh                     # PG 15, runs: none default max
#   PGA_CORE_RUNS="none max guard0" test/core/run-core-regress.sh
#   PG_MAJOR=17 PGA_CORE_SRC=/path/to/postgresql-17.x test/core/run-core-regress.sh
#
# Runs (PGA_CORE_RUNS, space-separated, `none` is always done first):
#   none     the server without the library: the baseline
#   default  pg_architect preloaded at its default settings
#   max      maximum capture: track = all (nested statements), sample_rate = 1
#            (every execution instrumented for architect.scans), the
#            statement/plan/scan tables at their minimum (100 entries) and the
#            smallest event ring and text memory, so eviction and ring
#            overflow happen all through the suite, collector waking every 10 ms
#   guard0   default settings plus pg_architect.ddl_guard_min_size = 0: the
#            guard judges every table and WARNs about the suite's own DDL.
#            Kept OUT of the identical-output check; compared instead after
#            removing the guard's WARNING/DETAIL/HINT lines.
#
# Each differing test is reported as either "differs only by guard WARNINGs"
# (identical once the guard's WARNING and its DETAIL/HINT lines are removed)
# or "differs" (anything else: an error message, a plan, a row).  For the
# default and max runs both fail the script; PGA_CORE_GUARD_WARNINGS_OK=1
# tolerates the first kind (never the second).
#   none2    the baseline again, to see which tests differ on their own
#            (timing-dependent output), without the library at all
#
# Other knobs: PGA_CORE_OUT (output directory, default a fresh /tmp dir),
# PGA_CORE_MAXCONN (0 = the schedule's parallel groups, at most 20 at a time
# as `make installcheck-parallel`; 1 = one test at a time as
# `make installcheck`), PG_MAJOR / PG_CONFIG / PGA_CORE_SRC / PGA_CORE_CACHE
# (see core-env.sh), PGA_CORE_KEEP_DATA=DIR saves the data directory of the
# baseline run (stopped, with its `regression` database) for run-sqlsmith.sh.
#
# Exit status: 0 when every library run's outputs equal the baseline's and no
# server crashed; 1 otherwise.  Pass/fail against the expected files are
# printed too, but are not the criterion (a test can fail on its own, the
# comparison is what says whether the library changed anything).
set -uo pipefail
# The whole body is one compound command, read before it runs: editing the
# file during a run cannot change what the run executes.
{
cd "$(dirname "$0")/../.."
root=$PWD
. test/core/core-env.sh
export PG_CONFIG

core_prepare || exit 1
eval "$(scripts/stage.sh)" || exit 1

runs=${PGA_CORE_RUNS:-none default max}
runs="none $(printf '%s\n' $runs | grep -vx none | tr '\n' ' ')"
out=${PGA_CORE_OUT:-$(mktemp -d /tmp/pga-core.XXXXXX)}
mkdir -p "$out"
chown postgres: "$out" 2>/dev/null || true
chmod 755 "$out"
maxconn=${PGA_CORE_MAXCONN:-0}

conf_for() {
  case "$1" in
    none|none2) ;;
    default) ;;
    max)
      printf '%s\n' "pg_architect.track = all" "pg_architect.sample_rate = 1" \
        "pg_architect.max_statements = 100" "pg_architect.max_plans = 100" \
        "pg_architect.max_scans = 100" "pg_architect.ring_size = 64" \
        "pg_architect.text_memory = 1MB" "pg_architect.collector_naptime = 10ms"
      ;;
    guard0) echo "pg_architect.ddl_guard_min_size = 0" ;;
    *) return 1 ;;
  esac
}

as_postgres() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

# Lines in a server log that mean a backend died or the server restarted.
crash_re='terminated by signal|was terminated by exception|PANIC:|server process .* exited with exit code [^0]|terminating any other active server processes|all server processes terminated'

declare -A secs passed failed crashes
cluster=
trap '[ -n "$cluster" ] && scripts/cluster.sh destroy "$cluster"' EXIT

for run in $runs; do
  mapfile -t extra < <(conf_for "$run") || { echo "unknown run $run"; exit 2; }
  preload=1
  case "$run" in none|none2) preload=0 ;; esac
  rm -rf "${out:?}/$run"; mkdir -p "$out/$run"; chown postgres: "$out/$run" 2>/dev/null || true
  cluster=$(PGA_PRELOAD=$preload scripts/cluster.sh start "" "${CORE_COMMON_CONF[@]}" "${extra[@]}") || exit 1
  eval "$(scripts/cluster.sh env "$cluster")"
  echo "== run $run (library $([ $preload = 1 ] && echo preloaded || echo absent); $(as_postgres "$PGA_BINDIR/psql" -XAtc 'show shared_preload_libraries' -h "$PGHOST" -p "$PGPORT" -U postgres postgres))"
  for l in "${extra[@]}"; do echo "   $l"; done
  opts=(--bindir="$CORE_PSQL_BINDIR" --dlpath="$CORE_DLPATH" --inputdir="$CORE_REGRESS_DIR"
        --outputdir="$out/$run" --schedule="$CORE_REGRESS_DIR/parallel_schedule"
        --host="$PGHOST" --port="$PGPORT" --user=postgres)
  if [ "$maxconn" = 0 ]; then opts+=(--max-concurrent-tests=20); else opts+=(--max-connections="$maxconn"); fi
  start=$(date +%s)
  as_postgres env PGHOST="$PGHOST" PGPORT="$PGPORT" "$CORE_PG_REGRESS" "${opts[@]}" >"$out/$run/pg_regress.log" 2>&1
  secs[$run]=$(( $(date +%s) - start ))
  # PostgreSQL 15 prints "test x ... ok", 16 and later TAP ("ok 1 - x").
  passed[$run]=$(grep -cE '\.\.\. ok |^ok [0-9]+ ' "$out/$run/pg_regress.log")
  failed[$run]=$(grep -cE '\.\.\. (FAILED|failed)|^not ok [0-9]+ ' "$out/$run/pg_regress.log")
  if [ $preload = 1 ]; then
    # What the capture went through during the suite (evictions, drops), read
    # from a scratch database so the regression database stays untouched.
    as_postgres "$PGA_BINDIR/psql" -XqAt -F ' ' -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres \
      -c 'CREATE DATABASE pga_core_status' \
      -c '\c pga_core_status' -c 'CREATE EXTENSION pg_architect' \
      -c "SELECT metric, value FROM architect.status WHERE metric IN ('events_captured', 'events_dropped', 'texts_discarded', 'statements_evicted', 'plans_evicted', 'executions_sampled', 'scans_evicted', 'scan_events_dropped')" \
      >"$out/$run/status.txt" 2>&1
    echo "   capture: $(tr '\n' ' ' <"$out/$run/status.txt")"
  fi
  [ "$run" = none ] && [ -n "${PGA_CORE_KEEP_DATA:-}" ] && keep=1 || keep=0
  scripts/cluster.sh stop "$cluster"
  cp "$cluster/server.log" "$out/$run/server.log"
  crashes[$run]=$(grep -cE "$crash_re" "$out/$run/server.log")
  if [ $keep = 1 ]; then
    rm -rf "$PGA_CORE_KEEP_DATA"; mkdir -p "$PGA_CORE_KEEP_DATA"
    cp -a "$cluster/data" "$PGA_CORE_KEEP_DATA/data"
  fi
  scripts/cluster.sh destroy "$cluster"; cluster=
  echo "   ${secs[$run]} s, ${passed[$run]} tests ok, ${failed[$run]} failed against the expected files, ${crashes[$run]} crash lines in the server log"
  grep -E '\.\.\. (FAILED|failed)|^not ok [0-9]+ ' "$out/$run/pg_regress.log" | sed 's/^/   /'
  grep -E "$crash_re" "$out/$run/server.log" | head -5 | sed 's/^/   /'
done

# Drop the DDL guard's WARNING and the DETAIL/HINT lines that follow it.
strip_guard() {
  awk '/^WARNING:  .* would .* while holding .*, blocking / { skip = 1; next }
       skip && /^(DETAIL|HINT):  / { next }
       { skip = 0; print }' "$1"
}

status=0
echo
echo "== comparison of results/*.out with the run without the library ($out/none/results)"
for run in $runs; do
  [ "$run" = none ] && continue
  diffs=$out/compare-$run.diffs
  : >"$diffs"
  guard_only=() other=()
  for t in $( (cd "$out/none/results" && ls -- *.out; cd "$out/$run/results" && ls -- *.out) 2>/dev/null | sed 's/\.out$//' | sort -u); do
    a=$out/none/results/$t.out b=$out/$run/results/$t.out
    cmp -s "$a" "$b" 2>/dev/null && continue
    if [ -f "$a" ] && [ -f "$b" ] && cmp -s <(strip_guard "$a") <(strip_guard "$b"); then
      guard_only+=("$t")
      diff -u "$a" "$b" >>"$diffs.guard"
    else
      other+=("$t")
      diff -u --label "none/$t.out" --label "$run/$t.out (guard lines removed)" \
        <(strip_guard "$a" 2>/dev/null) <(strip_guard "$b" 2>/dev/null) >>"$diffs"
    fi
  done
  warnings=$(cat "$out/$run/results/"*.out | grep -cE '^WARNING:  .* would .* while holding')
  echo "$run: ${crashes[$run]} crashes; $warnings DDL guard WARNINGs in the outputs"
  if [ ${#other[@]} = 0 ]; then
    echo "   no test output differs from none other than by the guard's WARNINGs"
  else
    echo "   ${#other[@]} test output(s) differ from none (not only by guard WARNINGs): ${other[*]}"
    echo "   diffs (guard lines removed): $diffs"
  fi
  if [ ${#guard_only[@]} -gt 0 ]; then
    echo "   ${#guard_only[@]} test output(s) differ only by guard WARNINGs: ${guard_only[*]}"
    echo "   diffs: $diffs.guard"
  fi
  case "$run" in
    none2) ;;   # the baseline's own instability: information only
    guard0)     # the guard WARNs by design here: only the rest must match
      [ ${#other[@]} = 0 ] || status=1 ;;
    *)
      [ ${#other[@]} = 0 ] || status=1
      [ ${#guard_only[@]} = 0 ] || [ "${PGA_CORE_GUARD_WARNINGS_OK:-0}" = 1 ] || status=1 ;;
  esac
  [ "${crashes[$run]}" = 0 ] || status=1
done
[ "${crashes[none]}" = 0 ] || status=1
echo
printf '%-8s %8s %6s %7s %8s\n' run seconds ok failed crashes
for run in $runs; do printf '%-8s %8s %6s %7s %8s\n' "$run" "${secs[$run]}" "${passed[$run]}" "${failed[$run]}" "${crashes[$run]}"; done
echo "outputs in $out"
exit $status
}
