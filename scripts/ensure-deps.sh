#!/usr/bin/env bash
# Install what building and testing pg_architect needs, from Debian's archive,
# only when something is missing.  Needs root (or sudo) on Debian 12.
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
need=()
[ -x /usr/lib/postgresql/$PG_MAJOR/bin/postgres ]                 || need+=(postgresql-$PG_MAJOR)
[ -f /usr/include/postgresql/$PG_MAJOR/server/postgres.h ]         || need+=(postgresql-server-dev-$PG_MAJOR)
[ -f /usr/share/postgresql/$PG_MAJOR/extension/pgtap.control ]     || need+=(postgresql-$PG_MAJOR-pgtap)
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
