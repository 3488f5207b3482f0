#!/usr/bin/env bash
# Build and install pg_architect into a private copy of the server tree, so
# that tests never touch the system's PostgreSQL and several checkouts on one
# machine do not overwrite each other's library.
#
#   eval "$(scripts/stage.sh)"     # builds, installs, prints exports
#
# PostgreSQL finds its share/ and lib/ directories relative to its own
# binary, so a copied bin/ beside symlinked lib/ and share/ trees is a
# complete server; `make install DESTDIR=` then replaces just our files.
# Exports PGA_BINDIR (the staged server binaries) used by scripts/cluster.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg-select.sh
root=$PWD
stage=${PGA_STAGE:-/tmp/pga-stage-$(printf '%s' "$root" | cksum | cut -d' ' -f1)-pg$PG_MAJOR}
bindir=$("$PG_CONFIG" --bindir)
libdir=$("$PG_CONFIG" --pkglibdir)
sharedir=$("$PG_CONFIG" --sharedir)

if [ ! -x "$stage$bindir/postgres" ]; then
  rm -rf "$stage"
  mkdir -p "$stage$(dirname "$bindir")" "$stage$(dirname "$libdir")" "$stage$(dirname "$sharedir")"
  cp -a "$bindir" "$stage$bindir"
  [ -e "$stage$libdir" ] || cp -as "$libdir" "$stage$libdir"
  cp -as "$sharedir" "$stage$sharedir"
fi
# Extensions installed on the system after the stage was made (pgtap, hypopg…).
cp -asn "$sharedir/extension/." "$stage$sharedir/extension/" 2>/dev/null || true
cp -asn "$libdir/." "$stage$libdir/" 2>/dev/null || true
chmod -R a+rX "$stage" 2>/dev/null || true

pga_clean_if_other_server
make -s PG_CONFIG="$PG_CONFIG" >/tmp/pga-build.$$.log 2>&1 || { cat /tmp/pga-build.$$.log >&2; echo "build failed" >&2; exit 1; }
if grep -q 'warning:' /tmp/pga-build.$$.log; then cat /tmp/pga-build.$$.log >&2; echo "build printed warnings" >&2; exit 1; fi
rm -f /tmp/pga-build.$$.log
make -s PG_CONFIG="$PG_CONFIG" install DESTDIR="$stage" >/dev/null
echo "export PGA_STAGE='$stage' PGA_BINDIR='$stage$bindir' PG_CONFIG='$PG_CONFIG' PG_MAJOR='$PG_MAJOR'"
