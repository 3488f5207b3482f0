#!/usr/bin/env bash
# 50,000 distinct statements through a statement table sized for 5,000
# (pg_architect.max_statements = 5000): does any query wait on eviction?
#
#   bench/capture/eviction.sh          # 50,000 statements; 2 rounds: plain, pga, then pga, plain
#   EV_STATEMENTS=20000 EV_ROUNDS=1 bench/capture/eviction.sh
#
# Method.  A table ev(id int primary key, c0 … c15 int) of 100 rows.  Statement
# k (k = 1 … EV_STATEMENTS, at most 65535) is
#     SELECT <the columns c_i whose bit i is set in k> FROM ev WHERE id = <k % 100 + 1>
# so every statement has its own query id (the target list differs; the
# constant does not matter), and each is sent by psql as its own top-level
# statement.  psql's \timing gives each statement's client-side latency
# (send → result), which is what an application would see.  The same file
# runs against the same cluster restarted without and with pg_architect
# preloaded (plain = compute_query_id on; default ring, collector naptime
# 200 ms, max_statements = max_plans = 5000), after 500 warm-up statements
# of one other shape.  Reported per configuration: mean, p50, p99, p99.9
# and worst latency, the number of statements over 10 ms, and from
# architect.status the statements evicted, statements kept, events dropped,
# texts dropped.  Meanwhile a second session samples pg_stat_activity every
# 20 ms and counts client backends waiting on anything but the client (in
# particular on a pg_architect LWLock, which is what waiting on the
# collector's eviction would look like).
#
# Every statement is new to pg_architect here, so every one of them also
# pays the once-per-new-statement work (query text copy and the plan's
# EXPLAIN text into the text ring): this is the worst case for capture, not
# the steady state.  Eviction itself runs in the collector under the store's
# lock; a query never takes that lock, so it must not show up in the tail.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

NSTMT=${EV_STATEMENTS:-50000}
ROUNDS=${EV_ROUNDS:-2}
MAXSTMT=${EV_MAX_STATEMENTS:-5000}
[ "$NSTMT" -ge 1 ] && [ "$NSTMT" -le 65535 ] || { echo "EV_STATEMENTS must be 1 … 65535" >&2; exit 2; }

eval "$(scripts/stage.sh)"
export PATH="$PGA_BINDIR:$PATH"

dir=$(mktemp -d /tmp/pga-bench-ev.XXXXXX)
cleanup() { "$root/scripts/cluster.sh" destroy "$dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "eviction: $NSTMT distinct statements, pg_architect.max_statements = $MAXSTMT, $ROUNDS round(s)"
PGA_PRELOAD=0 scripts/cluster.sh start "$dir" "include_if_exists = 'bench.conf'" \
  "pg_architect.max_statements = $MAXSTMT" "pg_architect.max_plans = $MAXSTMT" >/dev/null
eval "$(scripts/cluster.sh env "$dir")"
cols=$(seq 0 15 | sed 's/^/c/; s/$/ int/' | paste -sd, -)
psql -X -q -v ON_ERROR_STOP=1 \
  -c "CREATE EXTENSION pg_architect" \
  -c "CREATE TABLE ev (id int PRIMARY KEY, $cols)" \
  -c "INSERT INTO ev SELECT g, $(seq 0 15 | sed 's/.*/g + &/' | paste -sd, -) FROM generate_series(1, 100) g" \
  -c "VACUUM ANALYZE ev" >/dev/null

script="$dir/statements.sql"
awk -v n="$NSTMT" 'BEGIN {
  print "\\timing off"
  for (i = 0; i < 500; i++) printf "SELECT count(*) FROM ev WHERE id = %d;\n", i % 100 + 1
  print "\\echo MEASURE"
  print "\\timing on"
  for (k = 1; k <= n; k++) {
    s = ""; b = k
    for (i = 0; i < 16; i++) { if (b % 2) s = s (s == "" ? "" : ", ") "c" i; b = int(b / 2) }
    printf "SELECT %s FROM ev WHERE id = %d;\n", s, k % 100 + 1
  }
}' > "$script"
chmod 644 "$script"

switch_to() {         # $1 = plain | pga
  local libs=""
  [ "$1" = pga ] && libs=pg_architect
  echo "shared_preload_libraries = '$libs'" > "$dir/data/bench.conf"
  chmod 644 "$dir/data/bench.conf"
  scripts/cluster.sh restart "$dir"
  [ "$(psql -X -At -c 'SHOW shared_preload_libraries')" = "$libs" ] || { echo "restart with '$libs' failed" >&2; exit 1; }
  if [ "$1" = pga ]; then psql -X -q -c 'SELECT architect.reset()' >/dev/null; fi
}

summary() {           # stdin: one latency (ms) per line
  sort -n | awk '
    { v[NR] = $1; sum += $1; if ($1 > 10) slow++ }
    END {
      i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5); i999 = int(NR * 0.999 + 0.5)
      if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1; if (i999 < 1) i999 = 1
      printf "mean %.3f  p50 %.3f  p99 %.3f  p99.9 %.3f  worst %.3f ms  (>10 ms: %d of %d)", sum / NR, v[i50], v[i99], v[i999], v[NR], slow + 0, NR
    }'
}

declare -A res
pga_status=""
for ((r = 1; r <= ROUNDS; r++)); do
  order="plain pga"
  [ $((r % 2)) = 0 ] && order="pga plain"
  for c in $order; do
    switch_to "$c"
    t0=$(date +%s)
    # A second session samples every 20 ms what the client backends wait on
    # (other than the client itself): a query held up by the collector's
    # eviction would show up as a wait on a pg_architect LWLock.
    printf '%s\n' "SELECT coalesce(string_agg(wait_event_type || ':' || wait_event, ' '), '-')
                      FROM pg_stat_activity
                     WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                       AND wait_event IS NOT NULL AND wait_event_type <> 'Client'" '\watch 0.02' |
      psql -X -At > "$dir/waits.$c.$r" 2>/dev/null &
    sampler=$!
    psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -f "$script" > "$dir/timing.$c.$r"
    secs=$(( $(date +%s) - t0 ))
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    samples=$(grep -c . "$dir/waits.$c.$r" || true)
    waits=$(tr ' ' '\n' < "$dir/waits.$c.$r" | grep -v '^-\?$' | sort | uniq -c | sort -rn | awk '{ printf "%s%s ×%d", sep, $2, $1; sep = ", " }' || true)
    arch_waits=$(tr ' ' '\n' < "$dir/waits.$c.$r" | grep -c 'pg_architect' || true)
    lat="$dir/lat.$c.$r"
    sed -n '/^MEASURE$/,$ s/^Time: \([0-9.]*\) ms.*/\1/p' "$dir/timing.$c.$r" > "$lat"
    got=$(wc -l < "$lat")
    [ "$got" = "$NSTMT" ] || { echo "expected $NSTMT timings for $c, got $got" >&2; exit 1; }
    res[$c,$r]=$(summary < "$lat")
    printf 'round %d %-6s %s  [%d s]\n' "$r" "$c" "${res[$c,$r]}" "$secs"
    res[$c,$r]+="; waits on a pg_architect lock: $arch_waits of $samples samples"
    echo "        wait samples: $samples; client backends seen waiting on: ${waits:-nothing}"
    if [ "$c" = pga ]; then
      psql -X -q -c 'SELECT count(*) FROM architect.statements' >/dev/null   # let the collector's last batch land
      pga_status=$(psql -X -At -c "SELECT string_agg(metric || ' = ' || value, ', ' ORDER BY metric) FROM architect.status
                                   WHERE metric IN ('statements', 'statements_evicted', 'plans', 'plans_evicted',
                                                    'events_captured', 'events_dropped', 'texts_dropped', 'texts_discarded')")
      echo "        architect.status: $pga_status"
      kept=$(psql -X -At -c 'SELECT count(*) FROM architect.statements')
      echo "        architect.statements rows: $kept (capacity $MAXSTMT)"
    fi
  done
done

echo
echo "Eviction: $NSTMT distinct statements through max_statements = $MAXSTMT, per-statement latency at the client (psql \\timing)"
for c in plain pga; do
  for ((r = 1; r <= ROUNDS; r++)); do printf '%-6s round %d: %s\n' "$c" "$r" "${res[$c,$r]}"; done
done
echo "pg_architect: $pga_status"
