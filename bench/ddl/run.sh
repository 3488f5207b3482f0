#!/usr/bin/env bash
# DDL guard benchmark: the corpus judged by architect.check_ddl and by squawk.
#
#   bench/ddl/run.sh
#
# Builds into the private stage, starts a throwaway cluster, loads setup.sql
# (a ~35 MB table, an empty table, a validated CHECK, a materialized view),
# installs squawk from npm (package squawk-cli, which ships its Linux binary
# as the optional dependency @squawk-cli/linux-x64) into a temp directory
# unless SQUAWK points at one, and prints per-statement verdicts and each
# tool's misses and false alarms.  About a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PATH=$("$PG_CONFIG" --bindir):$PATH
eval "$(scripts/stage.sh)"

if [ -z "${SQUAWK:-}" ]; then
  sqdir=${SQUAWK_DIR:-/tmp/pga-squawk}
  if [ ! -x "$sqdir/node_modules/.bin/squawk" ]; then
    mkdir -p "$sqdir"
    (cd "$sqdir" && npm install --silent --no-audit --no-fund squawk-cli >/dev/null)
  fi
  export SQUAWK="$sqdir/node_modules/.bin/squawk"
fi

CLUSTER=$(scripts/cluster.sh start)
trap 'scripts/cluster.sh destroy "$CLUSTER"' EXIT
eval "$(scripts/cluster.sh env "$CLUSTER")"
psql -X -q -v ON_ERROR_STOP=1 -f bench/ddl/setup.sql >/dev/null
psql -X -q -A -t -c "SELECT 'orders: ' || pg_size_pretty(pg_relation_size('orders')) || ', customers: ' || pg_size_pretty(pg_relation_size('customers')) || ', threshold pg_architect.ddl_guard_min_size = ' || current_setting('pg_architect.ddl_guard_min_size')"
python3 bench/ddl/compare.py
