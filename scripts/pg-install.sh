#!/usr/bin/env bash
# Make a PostgreSQL major version available for building and testing
# pg_architect, and print its pg_config path as the last line of stdout.
#
#   scripts/pg-install.sh 15     # Debian 12's own packages (apt-get install)
#   scripts/pg-install.sh 17     # built from trixie's source package
#   scripts/pg-install.sh 18     # built from sid's source package
#
# 17 and 18 are not packaged for Debian 12.  Their source packages are: we
# fetch them with `apt-get source --download-only` (deb-src entries only; no
# binary entry of another suite is ever added, so apt never offers to upgrade
# the machine to trixie or sid), unpack the upstream tarball they carry into
# $PGA_CACHE/src/postgresql-VERSION (kept: other tools read its
# src/test/regress) and build it there, without docs, into the prefix
# $PGA_CACHE/pg-VERSION, together with all of contrib (pg_stat_statements,
# pgstattuple, pg_prewarm... are used by the tests) and pgTAP (built from
# Debian's pgtap source package into that server's share directory).
# A stamp file in the prefix makes a second call instant; a lock makes two
# concurrent calls build once.
#
# Environment: PGA_CACHE (default /var/cache/pg_architect), PGA_MAKE_JOBS
# (default 2).  Needs root (or sudo) for apt and for writing the cache.
set -euo pipefail

usage() { echo "usage: $0 VERSION   (VERSION: 15, 16, 17 or 18)" >&2; exit 2; }
[ $# = 1 ] || usage
ver=$1
case "$ver" in
  15|17|18) ;;
  16) echo "pg-install: PostgreSQL 16 is not installable here: Debian 12 packages only 15, and neither" \
           "trixie nor sid carries a postgresql-16 source package (apt-cache showsrc postgresql-16 is empty)." \
           "pg_architect is compiled-for 16 from its headers but untested." >&2
      exit 2 ;;
  ''|*[!0-9]*) echo "pg-install: '$ver' is not a PostgreSQL major version; use 15, 17 or 18" >&2; exit 2 ;;
  *) echo "pg-install: PostgreSQL $ver is not supported by pg_architect; use 15, 17 or 18" >&2; exit 2 ;;
esac

SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
cache=${PGA_CACHE:-/var/cache/pg_architect}
jobs=${PGA_MAKE_JOBS:-2}
export DEBIAN_FRONTEND=noninteractive
log() { echo "pg-install[$ver]: $*" >&2; }

# apt can be busy with another installer on a shared machine: wait and
# retry while its lock is held; any other failure (a 404, no network) is final.
apt_retry() {
  local i err
  err=$(mktemp)
  for i in $(seq 1 60); do
    if $SUDO "$@" 2>"$err"; then rm -f "$err"; return 0; fi
    if ! grep -qi 'could not get lock\|unable to acquire\|lock-frontend\|is another process using it' "$err"; then
      cat "$err" >&2; rm -f "$err"; return 1
    fi
    log "apt is busy (attempt $i), retrying in 10 s"
    sleep 10
  done
  cat "$err" >&2; rm -f "$err"
  return 1
}

ensure_packages() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} = 0 ] && return 0
  log "installing ${missing[*]}"
  apt_retry apt-get update -qq
  apt_retry apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# deb-src entries for the newer suites: source only (Types: deb-src).
srcfile=/etc/apt/sources.list.d/pg-architect-src.sources
ensure_deb_src() {
  local suite=$1
  if ! apt-cache showsrc "postgresql-$ver" 2>/dev/null | grep -q '^Package:'; then
    if [ ! -f "$srcfile" ]; then
      log "adding deb-src entries (source only) in $srcfile"
      $SUDO tee "$srcfile" >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm trixie sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    fi
    apt_retry apt-get update -qq
  fi
  apt-cache showsrc "postgresql-$ver" 2>/dev/null | grep -q '^Package:' \
    || { log "no source package postgresql-$ver found (expected in $suite)"; exit 1; }
}

# Download a source package and unpack the upstream tarball into $2
# ($3 = once: a single attempt, no waiting for a busy apt).  apt checks each
# file it downloads against the Sources index, so an upstream tarball that
# arrived is good even if the Debian part of the package did not (the mirror
# has been seen to lack some .dsc / .debian.tar files): only the upstream
# tarball is used.  Tries the newest source first, then trixie's, bookworm's.
fetch_upstream() {
  local pkg=$1 dest=$2 how=${3:-retry} dl orig= try
  [ -f "$dest/.pga-unpacked" ] && return 0
  dl=$(mktemp -d)
  chmod 755 "$dl"			# apt's _apt user downloads into it
  for try in "$pkg" "$pkg/trixie" "$pkg/bookworm"; do
    if [ "$how" = once ]; then
      (cd "$dl" && $SUDO apt-get source --download-only -qq "$try" >/dev/null 2>&1) || true
    else
      (cd "$dl" && apt_retry apt-get source --download-only -qq "$try" >/dev/null) || true
    fi
    orig=$(ls "$dl"/*.orig.tar.* 2>/dev/null | head -1)
    [ -n "$orig" ] && break
  done
  if [ -z "$orig" ]; then
    rm -rf "$dl"
    [ "$how" = once ] && return 1
    log "no upstream tarball of the source package $pkg could be downloaded (see apt's messages above);" \
        "PostgreSQL $ver cannot be set up on this machine"
    exit 1
  fi
  log "using $(basename "$orig")"
  $SUDO rm -rf "$dest"; $SUDO mkdir -p "$dest"
  $SUDO tar -xf "$orig" -C "$dest" --strip-components=1
  $SUDO touch "$dest/.pga-unpacked"
  rm -rf "$dl"
}

if [ "$ver" = 15 ]; then
  # (contrib is part of Debian's postgresql-15 package)
  ensure_packages postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap
  # The source of 15 too (only unpacked, not built), for tools that read
  # src/test/regress of every version; best effort, one attempt.
  if [ ! -e "$cache/src/postgresql-15/.pga-unpacked" ]; then
    $SUDO mkdir -p "$cache/src"
    fetch_upstream postgresql-15 "$cache/src/postgresql-15" once \
      || log "could not fetch the postgresql-15 source (only needed by tools reading src/test/regress)"
  fi
  echo /usr/lib/postgresql/15/bin/pg_config
  exit 0
fi

suite=trixie; [ "$ver" = 18 ] && suite=sid
prefix=$cache/pg-$ver
src=$cache/src/postgresql-$ver
stamp=$prefix/.pga-built
configure_opts=(--prefix="$prefix" --with-openssl --with-icu --with-lz4 --with-zstd --with-libxml
                --without-readline --disable-nls)
want="configure ${configure_opts[*]} pgtap"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$prefix/bin/pg_config" ]; then
  echo "$prefix/bin/pg_config"
  exit 0
fi

$SUDO mkdir -p "$cache/src"
exec 9>"$cache/pg-$ver.lock"
log "waiting for the build lock" ; flock 9
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$prefix/bin/pg_config" ]; then
  echo "$prefix/bin/pg_config"; exit 0
fi

ensure_packages build-essential bison flex perl pkg-config libssl-dev libicu-dev liblz4-dev libzstd-dev \
  libxml2-dev zlib1g-dev ca-certificates
ensure_deb_src "$suite"
fetch_upstream "postgresql-$ver" "$src"
buildlog=$cache/pg-$ver.build.log
log "building PostgreSQL $(sed -n 's/^PACKAGE_VERSION=.\(.*\).$/\1/p' "$src/configure") in $src (log: $buildlog)"
(
  cd "$src"
  [ -f config.status ] && make -s distclean >/dev/null 2>&1 || true
  CFLAGS="-O2 -g" ./configure "${configure_opts[@]}"
  make -s -j"$jobs"
  make -s -C contrib -j"$jobs"
  rm -rf "$prefix"
  make -s install
  make -s -C contrib install
) >"$buildlog" 2>&1 || { tail -40 "$buildlog" >&2; log "build failed (log: $buildlog)"; exit 1; }

# pgTAP for this server: Debian 12 has no package for 17/18; its source
# package builds with any server's PGXS.
pgtap_src=$cache/src/pgtap
fetch_upstream pgtap "$pgtap_src"
(
  cd "$pgtap_src"
  make -s PG_CONFIG="$prefix/bin/pg_config" clean >/dev/null 2>&1 || true
  make -s PG_CONFIG="$prefix/bin/pg_config"
  make -s PG_CONFIG="$prefix/bin/pg_config" install
) >>"$buildlog" 2>&1 || { tail -40 "$buildlog" >&2; log "pgtap build failed (log: $buildlog)"; exit 1; }

echo "$want" >"$stamp"
log "installed into $prefix"
echo "$prefix/bin/pg_config"
