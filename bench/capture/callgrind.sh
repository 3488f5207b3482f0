#!/usr/bin/env bash
# Instructions per point query, counted by valgrind's callgrind on a
# single-user backend, for each capture configuration:
#
#   (a) plain PostgreSQL, compute_query_id = on        (the baseline)
#   (b) pg_stat_statements
#   (c) pg_architect
#   (d) pg_architect + pg_stat_statements
#   (e) pg_architect, pg_architect.sample_rate = 1     (issue 4; skipped
#       with a message while the GUC does not exist)
#
#   bench/capture/callgrind.sh                 # N = 2000 point queries
#   CG_QUERIES=5000 CG_SCALE=10 bench/capture/callgrind.sh
#   CG_CONFIGS="a c" bench/capture/callgrind.sh
#   CG_KEEP=1 bench/capture/callgrind.sh      # keep the callgrind outputs for
#                                              # callgrind_annotate
#   PG_MAJOR=18 bench/capture/callgrind.sh    # against another major version
#                                              # (15 default; 17 and 18 are built by
#                                              # scripts/pg-install.sh with -O2 -g,
#                                              # 15 is Debian's -O2 build: compare
#                                              # ratios within a version, not
#                                              # instruction counts across versions)
#
# Method.  The stripped Debian binary has no symbol for exec_simple_query
# (it is static), so --toggle-collect cannot isolate the per-query path.
# Instead every configuration runs twice under callgrind, with the same
# warm-up script: once followed by no measured query and once followed by
# N point queries (`SELECT abalance FROM pgbench_accounts WHERE aid = K`, K
# spread over the table by a fixed stride).  Both runs pay the same
# startup, warm-up and shutdown, so
#     instructions/query = (total(N) - total(0)) / N
# which also counts the single-user loop's reading of stdin and printing
# of the result row (the same in every configuration; a real backend pays
# the protocol instead).  callgrind counts are deterministic to a few
# thousand instructions per run, so the difference is exact to ~0.01 %.
#
# Warm-up: pg_prewarm loads the table and its index into shared buffers
# (so no measured query does I/O), then WARM point queries.  With
# pg_architect, warm-up ends with a read of architect.status and
# architect.statements, which drains the ring into the store (the collector
# background worker does not run in single-user mode) so the statement's
# query and plan texts are known: the measured queries then take the
# steady-state path a server with a running collector takes (publish one
# event, no text, no EXPLAIN).  The ring is sized (ring_size = 1048576) so
# the N events are published, not dropped; the script checks that
# events_dropped stays 0 and that events_captured grows by N.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

N=${CG_QUERIES:-2000}
WARM=${CG_WARMUP:-200}
SCALE=${CG_SCALE:-1}
CONFIGS=${CG_CONFIGS:-a b c d e}
RING=${CG_RING_SIZE:-1048576}
DRAIN_FIRST=${CG_DRAIN_FIRST:-1}
[ "$N" -gt 0 ] || { echo "CG_QUERIES must be > 0" >&2; exit 2; }
[ "$RING" -ge "$((N + WARM + 100))" ] || { echo "CG_RING_SIZE must hold the warm-up and the N queries" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }

eval "$(scripts/stage.sh)"
export PATH="$PGA_BINDIR:$PATH"

work=$(mktemp -d /tmp/pga-bench-cg.XXXXXX)
chmod 755 "$work"; [ "$(id -u)" = 0 ] && chown postgres: "$work"
cleanup() {
  "$root/scripts/cluster.sh" stop "$work/cluster" >/dev/null 2>&1 || true
  if [ -n "${CG_KEEP:-}" ]; then echo "callgrind: outputs kept in $work (callgrind_annotate $work/cg.c.$N.out)"; else rm -rf "$work"; fi
}
trap cleanup EXIT

run_as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# ---- data: pgbench tables in a throwaway cluster, then stopped ---------------
echo "callgrind: preparing pgbench scale $SCALE (N = $N measured queries, $WARM warm-up) …"
PGA_PRELOAD=0 scripts/cluster.sh start "$work/cluster" >/dev/null
eval "$(scripts/cluster.sh env "$work/cluster")"
pgbench -i -q -s "$SCALE" >/dev/null 2>&1
psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pg_architect' -c 'CREATE EXTENSION pg_prewarm' -c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null
scripts/cluster.sh stop "$work/cluster"
data="$work/cluster/data"
rows=$((100000 * SCALE))

# ---- input files (one statement per line: single-user mode's default) ---------
point_queries() {   # $1 = count, $2 = seed offset
  awk -v n="$1" -v off="$2" -v rows="$rows" 'BEGIN {
    for (i = 0; i < n; i++) printf "SELECT abalance FROM pgbench_accounts WHERE aid = %d\n", 1 + ((i + off) * 7919 + 12345) % rows
  }'
}
status_q="SELECT metric || '=' || value FROM architect.status WHERE metric IN ('events_captured', 'events_dropped', 'statements')"
make_input() {      # $1 = config, $2 = measured count, $3 = output file
  {
    # The first drain allocates the reader's 16 kB text buffer in this
    # backend's heap for good; done before the warm-up (see the header).
    case "$1" in c|d|e) [ "$DRAIN_FIRST" = 1 ] && echo "SELECT count(*) FROM architect.statements" ;; esac
    echo "SELECT pg_prewarm('pgbench_accounts'), pg_prewarm('pgbench_accounts_pkey')"
    point_queries "$WARM" 1000000
    case "$1" in c|d|e) echo "SELECT count(*) FROM architect.statements"; echo "$status_q" ;; esac
    point_queries "$2" 0
    # the collector's share: drain the measured events (timed apart, below)
    case "$1" in c|d|e) echo "$status_q"; echo "SELECT count(*) FROM architect.statements" ;; esac
  } > "$3"
}

# ---- configurations ------------------------------------------------------------
pga_opts=(-c shared_preload_libraries=pg_architect -c "pg_architect.ring_size=$RING" -c pg_architect.save=off)
conf_opts() {
  case "$1" in
    a) echo "-c compute_query_id=on" ;;
    b) echo "-c compute_query_id=on -c shared_preload_libraries=pg_stat_statements" ;;
    c) echo "-c compute_query_id=on ${pga_opts[*]}" ;;
    d) echo "-c compute_query_id=on -c shared_preload_libraries=pg_architect,pg_stat_statements -c pg_architect.ring_size=$RING -c pg_architect.save=off" ;;
    e) echo "-c compute_query_id=on ${pga_opts[*]} -c pg_architect.sample_rate=1" ;;
  esac
}
conf_name() {
  case "$1" in
    a) echo "plain, compute_query_id = on" ;;
    b) echo "pg_stat_statements" ;;
    c) echo "pg_architect$sample_note" ;;
    d) echo "pg_architect + pg_stat_statements" ;;
    e) echo "pg_architect, sample_rate = 1" ;;
  esac
}

# Does this build have pg_architect.sample_rate (issue 4)?  Ask a single-user
# backend with the library preloaded.
sample_rate_default=$(printf 'SHOW pg_architect.sample_rate\n' |
  run_as_owner postgres --single -D "$data" -c huge_pages=off "${pga_opts[@]}" postgres 2>/dev/null |
  sed -n 's/.*pg_architect.sample_rate = "\(.*\)".*/\1/p' | head -1 || true)
if [ -n "$sample_rate_default" ]; then
  sample_note=" (sample_rate = $sample_rate_default, the default)"
else
  sample_note=""
  case " $CONFIGS " in *" e "*)
    echo "callgrind: skipping (e) sample_rate = 1: pg_architect.sample_rate does not exist in this build (issue 4 not merged yet)"
    CONFIGS=$(echo " $CONFIGS " | sed 's/ e / /g') ;;
  esac
fi

# total instructions of one single-user run; also checks the ring counters
run_one() {          # $1 = config, $2 = measured count
  local cfg=$1 n=$2 input="$work/in.$1.$2" out="$work/cg.$1.$2.out" log="$work/cg.$1.$2.log" res="$work/res.$1.$2"
  make_input "$cfg" "$n" "$input"
  chmod 644 "$input"
  # shellcheck disable=SC2046
  run_as_owner valgrind --tool=callgrind --callgrind-out-file="$out" --dump-instr=no \
      --compress-strings=no --compress-pos=no \
      postgres --single -D "$data" -c huge_pages=off $(conf_opts "$cfg") postgres \
      < "$input" > "$res" 2> "$log" || { tail -20 "$log" >&2; echo "callgrind run $cfg/$n failed" >&2; return 1; }
  if grep -q 'ERROR:' "$log" "$res"; then grep -h 'ERROR:' "$log" "$res" | head -5 >&2; echo "errors in run $cfg/$n" >&2; return 1; fi
  sed -n 's/^summary: *//p' "$out" | head -1
}

# inclusive instructions of capture_drain() in one run (0 if absent)
drain_cost() {       # $1 = config, $2 = measured count
  callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$work/cg.$1.$2.out" 2>/dev/null |
    awk '!found && /:capture_drain \[/ { gsub(",", "", $1); v = $1; found = 1 } END { print found ? v : 0 }'
}

ring_check() {       # $1 = config: events published by the N measured queries
  local res="$work/res.$1.$N"
  local before after dropped
  before=$(grep -o 'events_captured=[0-9]*' "$res" | head -1 | cut -d= -f2)
  after=$(grep -o 'events_captured=[0-9]*' "$res" | tail -1 | cut -d= -f2)
  dropped=$(grep -o 'events_dropped=[0-9]*' "$res" | tail -1 | cut -d= -f2)
  echo "ring: events_captured +$((after - before)) over $N queries (the status query itself adds 1), events_dropped = $dropped"
}

declare -A ipq cpe
declare -A notes
for cfg in $CONFIGS; do
  t0=$(date +%s)
  base=$(run_one "$cfg" 0)
  full=$(run_one "$cfg" "$N")
  # The collector's aggregation of the events ran in this backend (single-user
  # mode): take it out of the query's figure and report it apart.
  coll=0
  case "$cfg" in c|d|e)
    notes[$cfg]=$(ring_check "$cfg")
    coll=$(( $(drain_cost "$cfg" "$N") - $(drain_cost "$cfg" 0) )) ;;
  esac
  ipq[$cfg]=$(( (full - base - coll) / N ))
  cpe[$cfg]=$(( coll / N ))
  printf 'callgrind: (%s) %-45s total(0) = %d  total(%d) = %d  collector share %d  → %d instructions/query  [%ds]\n' \
    "$cfg" "$(conf_name "$cfg")" "$base" "$N" "$full" "$coll" "${ipq[$cfg]}" $(( $(date +%s) - t0 ))
  [ -n "${notes[$cfg]:-}" ] && echo "           ${notes[$cfg]}"
done

ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.4f (%+.2f %%)", x / y, (x / y - 1) * 100 }'; }
echo
echo "Instructions per point query (callgrind, single-user backend, $("$PGA_BINDIR/postgres" --version), pgbench scale $SCALE, N = $N, startup subtracted)"
echo "  backend = the query's own path (what the client waits for); + collector = the collector's aggregation of"
echo "  that query's event (another process on a server; pg_stat_statements does all of its work in the backend)"
printf '%-4s %-46s %11s  %-18s %-18s %9s  %-18s %-18s\n' "" "configuration" "backend" "vs (a) query id" "vs (b) pgss" \
  "+collector" "total vs (a)" "total vs (b)"
for cfg in $CONFIGS; do
  va="-"; vb="-"; ta="-"; tb="-"
  tot=$(( ${ipq[$cfg]} + ${cpe[$cfg]} ))
  [ -n "${ipq[a]:-}" ] && va=$(ratio "${ipq[$cfg]}" "${ipq[a]}") && ta=$(ratio "$tot" "${ipq[a]}")
  [ -n "${ipq[b]:-}" ] && vb=$(ratio "${ipq[$cfg]}" "${ipq[b]}") && tb=$(ratio "$tot" "${ipq[b]}")
  printf '(%s)  %-46s %11d  %-18s %-18s %9d  %-18s %-18s\n' "$cfg" "$(conf_name "$cfg")" "${ipq[$cfg]}" "$va" "$vb" \
    "${cpe[$cfg]}" "$ta" "$tb"
done
if [ -n "${ipq[a]:-}" ] && [ -n "${ipq[c]:-}" ]; then
  verdict=$(awk -v x="${ipq[c]}" -v y="${ipq[a]}" 'BEGIN { print ((x / y - 1) * 100 <= 1.0) ? "met" : "MISSED" }')
  echo "target pg_architect ≤ +1.0 % over (a), backend path: $verdict"
fi
if [ -n "${ipq[a]:-}" ] && [ -n "${ipq[e]:-}" ]; then
  verdict=$(awk -v x="${ipq[e]}" -v y="${ipq[a]}" 'BEGIN { print ((x / y - 1) * 100 <= 3.0) ? "met" : "MISSED" }')
  echo "target pg_architect sample_rate = 1 ≤ +3.0 % over (a), backend path: $verdict"
fi
