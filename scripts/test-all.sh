#!/usr/bin/env bash
# The test command: install what is missing, build, install into a private
# staged server tree, then run every suite against throwaway clusters and
# print one summary line.
#
#   scripts/test-all.sh                               # everything
#   PGA_SUITES="regress pgtap" scripts/test-all.sh    # a subset
#
# Suites: regress (pg_regress, make installcheck), pgtap (pg_prove over
# test/pgtap), integration (prove over test/integration/*.t, each script
# starts its own cluster); checks (static: scripts/long-functions.sh,
# scripts/include-graph.sh, scripts/guc-reference.py --check; opt-in with
# PGA_SUITES).  Exit status is non-zero if any suite fails.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh || exit 1
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PATH=$("$PG_CONFIG" --bindir):$PATH

# The system's PostgreSQL is left alone and parallel checkouts do not clash:
# see scripts/stage.sh.
stage_env=$(scripts/stage.sh) || exit 1
eval "$stage_env"

run_suites=${PGA_SUITES:-regress pgtap integration}
passed=0 failed=0 failures=()
record() { if [ "$2" = 0 ]; then passed=$((passed+1)); else failed=$((failed+1)); failures+=("$1"); fi; }

CLUSTER=$(scripts/cluster.sh start) || { echo "could not start a cluster"; exit 1; }
trap 'scripts/cluster.sh destroy "$CLUSTER"' EXIT
eval "$(scripts/cluster.sh env "$CLUSTER")"

for suite in $run_suites; do
  case "$suite" in
    regress)
      echo "== pg_regress (make installcheck)"
      make -s PG_CONFIG="$PG_CONFIG" installcheck; rc=$?
      [ $rc = 0 ] || { [ -f test/regression.diffs ] && head -200 test/regression.diffs; }
      record regress $rc
      ;;
    pgtap)
      echo "== pgTAP (pg_prove test/pgtap)"
      dropdb --if-exists pga_tap >/dev/null 2>&1; createdb pga_tap
      psql -q -X -v ON_ERROR_STOP=1 -d pga_tap -c 'CREATE EXTENSION pgtap; CREATE EXTENSION pg_architect;' \
        && pg_prove -d pga_tap --ext .sql -r test/pgtap; rc=$?
      record pgtap $rc
      ;;
    integration)
      echo "== integration (prove test/integration)"
      prove --ext .t test/integration; rc=$?
      record integration $rc
      ;;
    checks)
      # Static checks of the house rules (issue 13), not run by default:
      # function length, no cycle between areas, every GUC documented.
      echo "== checks (long functions, include graph, GUC reference)"
      make -s PG_CONFIG="$PG_CONFIG" >/dev/null \
        && scripts/long-functions.sh && scripts/include-graph.sh \
        && scripts/guc-reference.py --check doc/configuration.md; rc=$?
      record checks $rc
      ;;
    *) echo "unknown suite $suite"; record "$suite" 1 ;;
  esac
done

echo
[ $failed = 0 ] || echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
[ $failed = 0 ]
