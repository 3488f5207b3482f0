#!/usr/bin/env bash
# Foundation lifecycle: postmaster GUC ranges, and life without preload.
source "$(dirname "$0")/lib.sh"

start_cluster
q -c "CREATE EXTENSION pg_architect"
for spec in "max_statements 99" "max_statements 1000001" "max_plans 10" "ring_size 2" "ring_size 99999999" \
            "collector_naptime 1" "save maybe" "track sometimes"; do
  set -- $spec
  err=$(psql -X -q -c "ALTER SYSTEM SET pg_architect.$1 = '$2'" 2>&1)
  case "$err" in
    *"outside the valid range"*|*"invalid value for parameter"*|*"requires a Boolean value"*) ok 0 "pg_architect.$1 = $2 rejected: ${err#ERROR:  }";;
    *) ok 1 "pg_architect.$1 = $2 rejected (got: $err)";;
  esac
done
is "$(q -c "SELECT value FROM architect.status WHERE metric = 'preloaded'")" "1" "preloaded cluster says so"
"$ROOT/scripts/cluster.sh" destroy "$CLUSTER"

# A managed instance: CREATE EXTENSION only, no preload.
PGA_PRELOAD=0 start_cluster
q -c "CREATE EXTENSION pg_architect" ; ok $? "installs without shared_preload_libraries"
is "$(q -c "SELECT value FROM architect.status WHERE metric = 'preloaded'")" "0" "status says it is not preloaded"
is "$(q -c "SELECT count(*) FROM architect.status WHERE metric = 'ring_capacity'")" "0" "no capture figures without shared memory"
q -c "SELECT architect.reset()" >/dev/null; ok $? "reset is harmless without preload"
q -c "DROP EXTENSION pg_architect; CREATE EXTENSION pg_architect"; ok $? "drop and create again without preload"
done_testing
