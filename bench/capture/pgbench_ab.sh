#!/usr/bin/env bash
# pgbench -S throughput, interleaved A/B rounds on one cluster:
#
#   plain  PostgreSQL with compute_query_id = on        (A, the baseline)
#   pga    pg_architect preloaded (default settings)    (B)
#   pgss   pg_stat_statements preloaded                 (optional series)
#
#   bench/capture/pgbench_ab.sh                          # 10 rounds × 10 s, plain + pga + pgss
#   AB_CONFIGS="plain pga" AB_ROUNDS=12 AB_SECONDS=10 bench/capture/pgbench_ab.sh
#
# Method.  One data directory (pgbench scale AB_SCALE, default 10, fits in
# shared_buffers = 256MB), so every configuration reads the same files from
# the same page cache.  Before each run the server is restarted with that
# configuration's shared_preload_libraries (an included bench.conf) and the
# tables are loaded into shared buffers with pg_prewarm; then
# `pgbench -S -n -c AB_CLIENTS -j AB_CLIENTS -T AB_SECONDS` runs.  A round
# runs every configuration once, the order rotating from round to round
# (plain pga pgss, pga pgss plain, …) so slow drift of the machine does not
# favour one side.  Each round gives a ratio B/A; the median over rounds is
# the figure, because this machine has 2 cores shared with other people's
# builds and tests: single runs move by several percent, the median of
# interleaved pairs much less.  The spread (min/max ratio) is printed too.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

CONFIGS=${AB_CONFIGS:-plain pga pgss}
ROUNDS=${AB_ROUNDS:-10}
SECONDS_PER_RUN=${AB_SECONDS:-10}
SCALE=${AB_SCALE:-10}
CLIENTS=${AB_CLIENTS:-2}

eval "$(scripts/stage.sh)"
export PATH="$PGA_BINDIR:$PATH"

dir=$(mktemp -d /tmp/pga-bench-ab.XXXXXX)
cleanup() { "$root/scripts/cluster.sh" destroy "$dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT

preload() {
  case "$1" in
    plain) echo "" ;;
    pga) echo "pg_architect" ;;
    pgss) echo "pg_stat_statements" ;;
    *) echo "unknown configuration $1" >&2; exit 2 ;;
  esac
}
for c in $CONFIGS; do preload "$c" >/dev/null; done

echo "pgbench_ab: scale $SCALE, $ROUNDS rounds of {$CONFIGS}, ${SECONDS_PER_RUN} s each, -c $CLIENTS -j $CLIENTS"
PGA_PRELOAD=0 scripts/cluster.sh start "$dir" "shared_buffers = 256MB" "include_if_exists = 'bench.conf'" >/dev/null
eval "$(scripts/cluster.sh env "$dir")"
pgbench -i -q -s "$SCALE" >/dev/null 2>&1
psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pg_prewarm' -c 'CREATE EXTENSION pg_architect' -c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null

switch_to() {
  local libs
  libs=$(preload "$1")
  echo "shared_preload_libraries = '$libs'" > "$dir/data/bench.conf"
  chmod 644 "$dir/data/bench.conf"
  scripts/cluster.sh restart "$dir"
  local got
  got=$(psql -X -At -c 'SHOW shared_preload_libraries')
  [ "$got" = "$libs" ] || { echo "expected shared_preload_libraries '$libs', got '$got'" >&2; exit 1; }
  psql -X -q -At -c "SELECT pg_prewarm('pgbench_accounts') + pg_prewarm('pgbench_accounts_pkey') + pg_prewarm('pgbench_branches') + pg_prewarm('pgbench_tellers')" >/dev/null
}

run_one() {
  pgbench -S -n -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_PER_RUN" 2>&1 |
    sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'
}

declare -A tps
read -r -a cfgs <<< "$CONFIGS"
n=${#cfgs[@]}
pga_status=""
for ((r = 1; r <= ROUNDS; r++)); do
  line="round $(printf '%2d' "$r"):"
  for ((k = 0; k < n; k++)); do
    c=${cfgs[$(( (k + r - 1) % n ))]}
    switch_to "$c"
    t=$(run_one)
    [ -n "$t" ] || { echo "pgbench failed for $c" >&2; exit 1; }
    tps[$c,$r]=$t
    if [ "$c" = pga ]; then
      pga_status=$(psql -X -At -F' ' -c "SELECT string_agg(metric || ' ' || value, ', ' ORDER BY metric) FROM architect.status WHERE metric IN ('events_captured', 'events_dropped', 'statements', 'collector_running')")
    fi
    line+=$(printf ' %s %9.1f' "$c" "$t")
  done
  echo "$line"
done

# ratio series: every configuration against plain, and pga against pgss
series() {          # $1 = numerator config, $2 = denominator config
  local r vals=()
  for ((r = 1; r <= ROUNDS; r++)); do
    vals+=("$(awk -v x="${tps[$1,$r]}" -v y="${tps[$2,$r]}" 'BEGIN { printf "%.4f", x / y }')")
  done
  printf '%s\n' "${vals[@]}" | sort -n | awk -v name="$1/$2" '
    { v[NR] = $1 }
    END {
      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%-12s median %.4f  (min %.4f, max %.4f, %d pairs)\n", name, med, v[1], v[NR], NR
    }'
  printf '             per round:'; printf ' %s' "${vals[@]}"; echo
}

echo
echo "pgbench -S tps ratio, median of $ROUNDS interleaved rounds (scale $SCALE, -c $CLIENTS -j $CLIENTS, ${SECONDS_PER_RUN} s runs)"
has() { case " $CONFIGS " in *" $1 "*) return 0 ;; esac; return 1; }
for c in pga pgss; do has "$c" && has plain && series "$c" plain; done
has pga && has pgss && series pga pgss
[ -n "$pga_status" ] && echo "pg_architect after its last run: $pga_status"
if has pga && has plain; then
  med=$(series pga plain | awk 'NR == 1 { print $3 }')
  verdict=$(awk -v m="$med" 'BEGIN { print (m >= 0.99) ? "met" : "MISSED" }')
  echo "target pga/plain median ≥ 0.99: $verdict ($med)"
fi
echo "(2 shared cores; other engineers' builds and tests run on this machine: single runs are noisy, read the median)"
