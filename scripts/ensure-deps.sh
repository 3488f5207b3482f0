#!/usr/bin/env bash
# Install what building and testing pg_architect needs, from Debian's archive,
# only when something is missing.  Needs root (or sudo) on Debian 12.
# The server itself: Debian's packages for 15 (the default) here; another
# PG_MAJOR is made available by scripts/pg-install.sh (via pg-select.sh).
set -euo pipefail

need=()
if [ "${PG_MAJOR:-15}" = 15 ] && [ -z "${PG_CONFIG:-}" ]; then
  [ -x /usr/lib/postgresql/15/bin/postgres ]                       || need+=(postgresql-15)
  [ -f /usr/include/postgresql/15/server/postgres.h ]               || need+=(postgresql-server-dev-15)
  [ -f /usr/share/postgresql/15/extension/pgtap.control ]           || need+=(postgresql-15-pgtap)
fi
command -v pg_prove >/dev/null                                     || need+=(libtap-parser-sourcehandler-pgtap-perl)
command -v prove >/dev/null                                        || need+=(perl)
command -v gcc >/dev/null && command -v make >/dev/null            || need+=(build-essential)
command -v runuser >/dev/null                                      || need+=(util-linux)
for extra in ${PGA_EXTRA_PACKAGES:-}; do
  dpkg -s "$extra" >/dev/null 2>&1 || need+=("$extra")
done

if [ ${#need[@]} -gt 0 ]; then
  echo "ensure-deps: installing ${need[*]}" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
