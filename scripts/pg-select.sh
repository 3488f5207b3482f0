# Sourced by every script that builds or runs against PostgreSQL: chooses the
# server version and exports PG_CONFIG, PG_MAJOR and PATH (its bindir first).
#
#   PG_MAJOR=18 scripts/test-all.sh   # a major version, made available by
#                                     # scripts/pg-install.sh (built once, cached)
#   PG_CONFIG=/path/pg_config ...     # or an explicit pg_config
#   (neither)                         # PostgreSQL 15, Debian 12's own
#
# PG_MAJOR wins over a PG_CONFIG of another version.
_pga_major_of() { "$1" --version 2>/dev/null | sed -E 's/^PostgreSQL ([0-9]+).*/\1/'; }
_pga_scripts=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${PG_MAJOR:-}" ]; then
  if [ -z "${PG_CONFIG:-}" ] || [ "$(_pga_major_of "$PG_CONFIG")" != "$PG_MAJOR" ]; then
    PG_CONFIG=$("$_pga_scripts/pg-install.sh" "$PG_MAJOR" | tail -1)
    [ -x "${PG_CONFIG:-}" ] || { echo "PostgreSQL $PG_MAJOR is not available (scripts/pg-install.sh $PG_MAJOR failed)" >&2; exit 2; }
  fi
elif [ -z "${PG_CONFIG:-}" ]; then
  if [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
    PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
  else
    PG_CONFIG=$("$_pga_scripts/pg-install.sh" 15 | tail -1) || exit 2
  fi
fi
PG_MAJOR=$(_pga_major_of "$PG_CONFIG")
export PG_CONFIG PG_MAJOR
PATH=$("$PG_CONFIG" --bindir):$PATH
export PATH
unset _pga_scripts

# The objects in the checkout were built for one server: clean them when
# another version (or another pg_config) builds next.  Call from the
# checkout's root before `make`.
pga_clean_if_other_server() {
  local want
  want="$PG_CONFIG $("$PG_CONFIG" --version)"
  if [ "$(cat .pga-built-for 2>/dev/null)" != "$want" ]; then
    make -s PG_CONFIG="$PG_CONFIG" clean >/dev/null 2>&1 || true
    printf '%s\n' "$want" > .pga-built-for
  fi
}
