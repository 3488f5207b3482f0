#!/usr/bin/env bash
# The capture-overhead benchmarks in one go (about 8 minutes on 2 cores),
# then a summary:
#
#   bench/capture/run-all.sh
#
#   1. callgrind.sh     instructions per point query (a: plain + query id,
#                       b: pg_stat_statements, c: pg_architect, d: both,
#                       e: sample_rate = 1 once issue 4 lands)
#   2. pgbench_ab.sh    pgbench -S tps and server CPU per transaction, 10
#                       interleaved rounds of plain / pg_architect / pg_stat_statements
#                       (AB_CONFIGS="plain pga" drops the pgss series: 2 minutes less)
#   3. pgbench_concurrent.sh  the same three configurations side by side (one
#                       cluster each, simultaneous runs, 10 rounds): the outside
#                       load hits all of them at once
#   4. eviction.sh      50,000 distinct statements through max_statements = 5000,
#                       2 rounds (plain, pga; then pga, plain)
#
# Every knob of the scripts (CG_*, AB_*, CC_*, EV_*) passes through.
set -uo pipefail
cd "$(dirname "$0")/../.."

export AB_CONFIGS=${AB_CONFIGS:-plain pga pgss}
logs=$(mktemp -d /tmp/pga-bench-all.XXXXXX)
trap 'rm -rf "$logs"' EXIT
start=$(date +%s)
failed=()

run() {
  local name=$1
  echo "=== $name"
  local t0
  t0=$(date +%s)
  "bench/capture/$name.sh" 2>&1 | tee "$logs/$name.log"
  [ "${PIPESTATUS[0]}" = 0 ] || failed+=("$name")
  echo "=== $name: $(( $(date +%s) - t0 )) s"
  echo
}

run callgrind
run pgbench_ab
run pgbench_concurrent
run eviction

echo "================ summary ($(( $(date +%s) - start )) s; $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
sed -n '/^Instructions per point query/,$p' "$logs/callgrind.log" | grep -v '^callgrind: outputs'
grep '^callgrind: skipping' "$logs/callgrind.log"
echo
sed -n '/^pgbench -S tps ratio/,$p' "$logs/pgbench_ab.log" | grep -v '^ *per round:'
echo
sed -n '/^pgbench -S tps ratio/,$p' "$logs/pgbench_concurrent.log" | grep -v '^ *per round:'
echo
sed -n '/^Eviction:/,$p' "$logs/eviction.log"
echo
echo "full output of each benchmark: above this summary"
if [ ${#failed[@]} -gt 0 ]; then
  echo
  echo "FAILED: $(printf '%s\n' "${failed[@]}" | sort -u | paste -sd' ')"
  exit 1
fi
