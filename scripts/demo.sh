#!/usr/bin/env bash
# The demo: install what is missing, build, install into the server, start a
# throwaway cluster with pg_architect preloaded, run a small workload and
# print what pg_architect saw.  Leaves nothing running.
#
#   PG_MAJOR=18 scripts/demo.sh    # against PostgreSQL 18 (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
. scripts/pg-select.sh
pga_clean_if_other_server
make -s PG_CONFIG="$PG_CONFIG"
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
CLUSTER=$(scripts/cluster.sh start)
trap 'scripts/cluster.sh destroy "$CLUSTER"' EXIT
eval "$(scripts/cluster.sh env "$CLUSTER")"

echo "== workload: pgbench (scale 5, 20 s read/write mix) and a few hand-written queries"
psql -X -q -c "CREATE EXTENSION pg_architect"
pgbench -q -i -s 5 >/dev/null 2>&1
pgbench -n -c 4 -j 2 -T 20 >/dev/null 2>&1 || true
pgbench -n -S -c 4 -j 2 -T 10 >/dev/null 2>&1 || true
# a snapshot before the shop's workload: the report then says what changed since
psql -X -q -c "SELECT architect.snapshot('after pgbench')" >/dev/null 2>&1 || true
sql_file=scripts/demo-workload.sql
[ -f "$sql_file" ] && psql -X -q -v ON_ERROR_STOP=1 -f "$sql_file" >/dev/null

# An index is called unused only after pg_architect.min_unused_window (7 days
# by default) of statistics; this demo has a minute, so it lowers the minimum
# for its own session and says so.  Without it the report shows those indexes
# as "insufficient evidence".
export PGOPTIONS="-c pg_architect.min_unused_window=0"
echo "== NOTE: this demo sets pg_architect.min_unused_window = 0 (default 7 days): its \"unused\" verdicts rest on a minute of statistics"

if psql -X -tAc "SELECT 1 FROM pg_proc WHERE proname = 'report' AND pronamespace = 'architect'::regnamespace" | grep -q 1; then
  psql -X -A -t -c "SELECT architect.report()"
  echo
  echo "== details of the top finding: SELECT architect.report('text', detail => true) shows them for every finding"
  psql -X -x -c "SELECT rank, check_name, object, key_number, evidence, recommendation, ddl, rollback_ddl FROM architect.findings WHERE rank = 1"
  echo
  echo "== the index advice behind it: what-if validated on the captured workload"
  psql -X -c "SELECT relation, columns, est_benefit_pct::numeric(5,1) AS benefit_pct, ddl FROM architect.index_advice"
else
  echo "== architect.status"
  psql -X -c "SELECT * FROM architect.status"
  for v in statements plans scans index_advice bloat findings; do
    if psql -X -tAc "SELECT to_regclass('architect.$v') IS NOT NULL" | grep -q t; then
      echo "== architect.$v"
      psql -X -c "SELECT * FROM architect.$v LIMIT 10"
    fi
  done
fi
