# Helpers for integration scripts (sourced).  Each script is a TAP producer
# run by `prove`; it starts its own throwaway cluster and destroys it on exit.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/scripts/pg-select.sh"
_tap_n=0
_tap_failed=0

start_cluster() {            # start_cluster [conf lines...]
  CLUSTER=$("$ROOT/scripts/cluster.sh" start "" "$@") || { echo "Bail out! cluster did not start"; exit 1; }
  trap '"$ROOT/scripts/cluster.sh" destroy "$CLUSTER"' EXIT
  eval "$("$ROOT/scripts/cluster.sh" env "$CLUSTER")"
}
restart_cluster() { "$ROOT/scripts/cluster.sh" restart "$CLUSTER"; }
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

ok() {                       # ok CONDITION-EXIT-STATUS "description"
  _tap_n=$((_tap_n+1))
  if [ "$1" = 0 ]; then echo "ok $_tap_n - $2"; else echo "not ok $_tap_n - $2"; _tap_failed=1; fi
}
is() {                       # is GOT EXPECTED "description"
  _tap_n=$((_tap_n+1))
  if [ "$1" = "$2" ]; then echo "ok $_tap_n - $3"
  else echo "not ok $_tap_n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; _tap_failed=1; fi
}
done_testing() { echo "1..$_tap_n"; exit $_tap_failed; }
