# Shared by test/core/run-core-regress.sh and test/core/run-sqlsmith.sh:
# find (or fetch) PostgreSQL's source for the server's major version, build
# what its installcheck needs once, and cache it outside the checkout.
#
#   . test/core/core-env.sh ; core_prepare
#
# Sets CORE_SRC (the upstream source tree), CORE_REGRESS_DIR (its
# src/test/regress: sql/, expected/, parallel_schedule), CORE_PG_REGRESS (the
# pg_regress driver), CORE_PSQL_BINDIR (the psql the tests run through) and
# CORE_DLPATH (regress.so, refint.so, autoinc.so).
#
# Knobs (environment):
#   PG_MAJOR          15 by default (or PG_CONFIG's version when only that is
#                     set); PG_CONFIG defaults to that version's.
#   PGA_CORE_CACHE    /var/cache/pg_architect: src/ holds `apt-get source`
#                     trees, build/<major>/ the cached build.
#   PGA_CORE_SRC      an already unpacked source tree of the same major
#                     version (scripts/pg-install.sh unpacks 17/18 there);
#                     without it the tree is fetched with
#                     `apt-get source postgresql-$PG_MAJOR` into the cache.
#
# Only what installcheck needs is built: pg_regress and psql (from the upstream tree,
# configured minimally in a VPATH build directory, so the source tree stays
# clean for other users), and the C modules the schedule LOADs (regress.so
# from src/test/regress, refint.so and autoinc.so from contrib/spi, used by
# the triggers test).  The modules are built with PGXS against the INSTALLED
# server's headers, not the upstream tree's, so their ABI matches the server
# that loads them even when the minor versions or configure flags differ.
# A build is redone only when the source tree or PG_CONFIG changes.

# PG_MAJOR picks the version; without it, a PG_CONFIG already set (as
# scripts/test-all.sh does) decides; without either, 15.
if [ -z "${PG_MAJOR:-}" ] && [ -n "${PG_CONFIG:-}" ]; then
  PG_MAJOR=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
fi
PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
PGA_CORE_CACHE=${PGA_CORE_CACHE:-/var/cache/pg_architect}

core_log() { echo "core: $*" >&2; }

core_fetch_source() {
  local srcroot=$PGA_CORE_CACHE/src
  mkdir -p "$srcroot"
  # Another checkout may be fetching the same tree: serialise on a lock.
  (
    flock 9
    shopt -s nullglob
    local trees=("$srcroot"/postgresql-"$PG_MAJOR"-"$PG_MAJOR".*/)
    if [ ${#trees[@]} = 0 ]; then
      core_log "fetching the source of postgresql-$PG_MAJOR (apt-get source) into $srcroot"
      (cd "$srcroot" && apt-get source -q postgresql-"$PG_MAJOR" >"$srcroot/apt-source-$PG_MAJOR.log" 2>&1) \
        || { cat "$srcroot/apt-source-$PG_MAJOR.log" >&2; exit 1; }
    fi
  ) 9>"$srcroot/.lock-$PG_MAJOR" || return 1
  shopt -s nullglob
  local trees=("$srcroot"/postgresql-"$PG_MAJOR"-"$PG_MAJOR".*/)
  shopt -u nullglob
  [ ${#trees[@]} -gt 0 ] || { core_log "no source tree for $PG_MAJOR in $srcroot"; return 1; }
  # The newest minor version if several were fetched over time.
  CORE_SRC=$(printf '%s\n' "${trees[@]%/}" | sort -V | tail -1)
}

core_prepare() {
  local server_major
  server_major=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
  [ "$server_major" = "$PG_MAJOR" ] || { core_log "PG_CONFIG is $server_major, PG_MAJOR is $PG_MAJOR"; return 1; }
  if [ -n "${PGA_CORE_SRC:-}" ]; then
    CORE_SRC=$PGA_CORE_SRC
  else
    core_fetch_source || return 1
  fi
  [ -f "$CORE_SRC/src/test/regress/parallel_schedule" ] || { core_log "$CORE_SRC is not a PostgreSQL source tree"; return 1; }
  local src_major
  src_major=$(sed -nE "s/^PACKAGE_VERSION='([0-9]+)\..*/\1/p" "$CORE_SRC/configure")
  [ "$src_major" = "$PG_MAJOR" ] || { core_log "$CORE_SRC is PostgreSQL $src_major, not $PG_MAJOR"; return 1; }
  CORE_REGRESS_DIR=$CORE_SRC/src/test/regress

  local build=$PGA_CORE_CACHE/build/$PG_MAJOR
  local stamp="$CORE_SRC $("$PG_CONFIG" --version) $PG_CONFIG"
  mkdir -p "$build"
  (
    flock 9
    if [ "$(cat "$build/.stamp" 2>/dev/null)" != "$stamp" ]; then
      core_log "building pg_regress and the test modules for $PG_MAJOR in $build (cached)"
      find "$build" -mindepth 1 -maxdepth 1 ! -name '.lock' -exec rm -rf {} +
      mkdir -p "$build/tree" "$build/dl"
      # pg_regress is a frontend program: a minimal configure is enough.
      (cd "$build/tree" && "$CORE_SRC/configure" -q --without-icu --without-readline --without-zlib \
          >"$build/configure.log" 2>&1) || { tail -30 "$build/configure.log" >&2; exit 1; }
      make -s -j2 -C "$build/tree/src/test/regress" pg_regress >"$build/make.log" 2>&1 \
        || { tail -30 "$build/make.log" >&2; exit 1; }
      cp "$CORE_REGRESS_DIR/regress.c" "$CORE_SRC/contrib/spi/refint.c" "$CORE_SRC/contrib/spi/autoinc.c" "$build/dl/"
      printf '%s\n' 'MODULES = regress refint autoinc' 'PGXS := $(shell $(PG_CONFIG) --pgxs)' 'include $(PGXS)' >"$build/dl/Makefile"
      make -s -C "$build/dl" PG_CONFIG="$PG_CONFIG" with_llvm=no >>"$build/make.log" 2>&1 \
        || { tail -30 "$build/make.log" >&2; exit 1; }
      echo "$stamp" >"$build/.stamp"
    fi
    # psql from the same tree as the tests: the expected files follow their
    # own psql (the installed one can be a newer minor version whose COPY
    # FROM STDIN handling differs, which made copy/copyselect/triggers...
    # consume the statements after their data and skip them).  It links the
    # system's libpq.so.5, whose ABI is stable.
    if [ ! -x "$build/tree/src/bin/psql/psql" ]; then
      make -s -j2 -C "$build/tree/src/bin/psql" >>"$build/make.log" 2>&1 \
        || { tail -30 "$build/make.log" >&2; exit 1; }
    fi
  ) 9>"$build/.lock" || return 1
  chmod -R a+rX "$build" "$CORE_SRC" 2>/dev/null || true
  CORE_PG_REGRESS=$build/tree/src/test/regress/pg_regress
  CORE_PSQL_BINDIR=$build/tree/src/bin/psql
  CORE_DLPATH=$build/dl
}

# Settings every run gets, with or without the library, so that the only
# difference between runs is pg_architect:
#  - compute_query_id = regress: query ids are computed when a module asks
#    for them (pg_architect does) but EXPLAIN VERBOSE does not print them,
#    exactly how PostgreSQL's own CI runs the suite with pg_stat_statements.
#    With `on` every run prints "Query Identifier" and fails against the
#    expected files; with `auto` only the runs with the library would.
#  - max_prepared_transactions = 2: what `make check` configures, so the
#    prepared_xacts test exercises two-phase commit instead of its
#    "disabled" alternative output.
CORE_COMMON_CONF=(
  "compute_query_id = regress"
  "max_prepared_transactions = 2"
  "max_connections = 60"
)
