#!/usr/bin/env bash
# pgbench -S throughput with the configurations running AT THE SAME TIME, one
# cluster each, so that whatever else the machine is doing slows all of them
# alike:
#
#   plain  PostgreSQL with compute_query_id = on        (the baseline)
#   pga    pg_architect preloaded (default settings)
#   pgss   pg_stat_statements preloaded
#
#   bench/capture/pgbench_concurrent.sh                     # 10 rounds × 10 s
#   CC_CONFIGS="plain pga" CC_ROUNDS=20 bench/capture/pgbench_concurrent.sh
#
# Why.  pgbench_ab.sh interleaves runs in time; on this 2-core machine shared
# with other engineers the load changes from one 10 s run to the next and
# single ratios range over 0.6 … 1.9.  Here each round starts one
# `pgbench -S -c 1 -j 1 -T CC_SECONDS` per configuration simultaneously; the
# clusters compete for the same cores under the same outside load, and the
# kernel shares the CPU fairly between their processes, so a configuration
# that spends more CPU per transaction completes fewer of them: the ratio
# tps(config) / tps(plain) of one round measures relative cost, with the
# outside noise common to both.  The cluster position is rotated each round
# (start order), the median over rounds is the figure.  Scale CC_SCALE
# (default 10) per cluster, shared_buffers 256MB, pg_prewarm'ed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

CONFIGS=${CC_CONFIGS:-plain pga pgss}
ROUNDS=${CC_ROUNDS:-10}
SECONDS_PER_RUN=${CC_SECONDS:-10}
SCALE=${CC_SCALE:-10}

eval "$(scripts/stage.sh)"
export PATH="$PGA_BINDIR:$PATH"

declare -A dir
cleanup() { for c in "${!dir[@]}"; do "$root/scripts/cluster.sh" destroy "${dir[$c]}" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT

preload() {
  case "$1" in
    plain) echo "" ;;
    pga) echo "pg_architect" ;;
    pgss) echo "pg_stat_statements" ;;
    *) echo "unknown configuration $1" >&2; exit 2 ;;
  esac
}
read -r -a cfgs <<< "$CONFIGS"
for c in "${cfgs[@]}"; do preload "$c" >/dev/null; done

echo "pgbench_concurrent: scale $SCALE per cluster, $ROUNDS rounds of {$CONFIGS} side by side, ${SECONDS_PER_RUN} s, -c 1 -j 1 each"
for c in "${cfgs[@]}"; do
  d=$(mktemp -d "/tmp/pga-bench-cc-$c.XXXXXX")
  dir[$c]=$d
  PGA_PRELOAD=0 PGA_PRELOAD_LIBS=$(preload "$c") scripts/cluster.sh start "$d" "shared_buffers = 256MB" >/dev/null
  (
    eval "$(scripts/cluster.sh env "$d")"
    [ "$(psql -X -At -c 'SHOW shared_preload_libraries')" = "$(preload "$c")" ] || { echo "cluster $c: wrong preload" >&2; exit 1; }
    pgbench -i -q -s "$SCALE" >/dev/null 2>&1
    psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pg_prewarm' -c 'VACUUM ANALYZE' -c 'CHECKPOINT' \
      -c "SELECT pg_prewarm('pgbench_accounts') + pg_prewarm('pgbench_accounts_pkey') + pg_prewarm('pgbench_branches') + pg_prewarm('pgbench_tellers')" >/dev/null
  ) || exit 1
done

declare -A tps
n=${#cfgs[@]}
for ((r = 1; r <= ROUNDS; r++)); do
  pids=()
  for ((k = 0; k < n; k++)); do
    c=${cfgs[$(( (k + r - 1) % n ))]}
    (
      eval "$(scripts/cluster.sh env "${dir[$c]}")"
      pgbench -S -n -c 1 -j 1 -T "$SECONDS_PER_RUN" > "${dir[$c]}/run.$r" 2>&1
    ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { echo "a pgbench run failed in round $r" >&2; exit 1; }; done
  line="round $(printf '%2d' "$r"):"
  for c in "${cfgs[@]}"; do
    t=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "${dir[$c]}/run.$r")
    [ -n "$t" ] || { cat "${dir[$c]}/run.$r" >&2; exit 1; }
    tps[$c,$r]=$t
    line+=$(printf ' %-5s %8.1f' "$c" "$t")
  done
  echo "$line"
done

# median with a distribution-free CI: median_ci in stats.sh
. "$(dirname "$0")/stats.sh"
series() {          # $1 = numerator config, $2 = denominator config
  local r vals=()
  for ((r = 1; r <= ROUNDS; r++)); do
    vals+=("$(awk -v x="${tps[$1,$r]}" -v y="${tps[$2,$r]}" 'BEGIN { printf "%.4f", x / y }')")
  done
  printf '%s\n' "${vals[@]}" | median_ci "$1/$2" rounds
  printf '            per round:'; printf ' %s' "${vals[@]}"; echo
}

has() { case " $CONFIGS " in *" $1 "*) return 0 ;; esac; return 1; }
echo
echo "pgbench -S tps ratio, configurations side by side (scale $SCALE, -c 1 -j 1 each, ${SECONDS_PER_RUN} s; > 1 = faster)"
for c in pga pgss; do has "$c" && has plain && series "$c" plain; done
has pga && has pgss && series pga pgss
if has pga; then
  eval "$(scripts/cluster.sh env "${dir[pga]}")"
  psql -X -q -c 'CREATE EXTENSION IF NOT EXISTS pg_architect' >/dev/null
  echo "pg_architect after the last round: $(psql -X -At -c "SELECT string_agg(metric || ' ' || value, ', ' ORDER BY metric) FROM architect.status WHERE metric IN ('events_captured', 'events_dropped', 'statements', 'collector_running')")"
fi
if has pga && has plain; then
  med=$(series pga plain | awk 'NR == 1 { print $3 }')
  echo "target pga/plain tps median ≥ 0.99: $(awk -v m="$med" 'BEGIN { print (m >= 0.99) ? "met" : "MISSED" }') ($med)"
fi
