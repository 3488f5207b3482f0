#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests, benchmarks and the demo.
#
#   scripts/cluster.sh start [DIR] [extra postgresql.conf lines...]
#   scripts/cluster.sh stop  [DIR]
#   scripts/cluster.sh restart [DIR]
#   scripts/cluster.sh env   [DIR]     # prints PGHOST/PGPORT/PGUSER exports
#
# DIR defaults to $PGA_CLUSTER or a fresh mktemp directory.  The cluster
# listens on a unix socket inside DIR only (listen_addresses = ''), has
# pg_architect preloaded unless PGA_PRELOAD=0, and is owned by the
# `postgres` system user when this script runs as root (PostgreSQL refuses
# to run as root).  `start` prints the directory on stdout, last line.
# PGA_BINDIR selects the server binaries (scripts/stage.sh sets it to a
# private staged install); PGA_INITDB_OPTS adds initdb options (pg_upgrade
# needs --no-data-checksums on 18 to match a 15 cluster).  Every other script sources `eval "$(scripts/cluster.sh env DIR)"`.
set -euo pipefail

[ -n "${PGA_BINDIR:-}" ] || . "$(dirname "$0")/pg-select.sh"
BINDIR=${PGA_BINDIR:-$("$PG_CONFIG" --bindir)}
cmd=${1:-}
shift || true

run_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    # From /, so that the postgres user never starts in a directory it cannot
    # enter (a checkout under a root-only temp directory, say).
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

port_for() {
  # A port number derived from the directory, so parallel clusters do not
  # collide on the socket name (the socket lives in DIR anyway).
  echo $(( 20000 + $(printf '%s' "$1" | cksum | cut -d' ' -f1) % 20000 ))
}

case "$cmd" in
  start)
    dir=${1:-}
    [ $# -gt 0 ] && shift
    if [ -z "$dir" ]; then dir=$(mktemp -d /tmp/pga-cluster.XXXXXX); fi
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    port=$(port_for "$dir")
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      # shellcheck disable=SC2086  # PGA_INITDB_OPTS: extra initdb options, split on blanks
      run_as_owner "$BINDIR/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 ${PGA_INITDB_OPTS:-} >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
      {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir'"
        echo "port = $port"
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
        echo "shared_buffers = 128MB"
        echo "max_connections = 60"
        echo "compute_query_id = on"
        echo "lc_messages = 'C'"
        if [ "${PGA_PRELOAD:-1}" = 1 ]; then
          echo "shared_preload_libraries = '${PGA_PRELOAD_LIBS:-pg_architect}'"
        elif [ -n "${PGA_PRELOAD_LIBS:-}" ]; then
          echo "shared_preload_libraries = '${PGA_PRELOAD_LIBS}'"
        fi
        for line in "$@"; do echo "$line"; done
      } >> "$dir/data/postgresql.conf"
    fi
    run_as_owner "$BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
      || { tail -30 "$dir/server.log" >&2; exit 1; }
    echo "$dir"
    ;;
  stop)
    dir=${1:-${PGA_CLUSTER:?no cluster dir}}
    [ -f "$dir/data/postmaster.pid" ] && run_as_owner "$BINDIR/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
    ;;
  restart)
    dir=${1:-${PGA_CLUSTER:?no cluster dir}}
    run_as_owner "$BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null \
      || { tail -30 "$dir/server.log" >&2; exit 1; }
    ;;
  destroy)
    dir=${1:-${PGA_CLUSTER:?no cluster dir}}
    "$0" stop "$dir"
    case "$dir" in /tmp/*) rm -rf "$dir" ;; esac
    ;;
  env)
    dir=${1:-${PGA_CLUSTER:?no cluster dir}}
    echo "export PGHOST='$dir' PGPORT=$(port_for "$dir") PGUSER=postgres PGDATABASE=postgres PGA_CLUSTER='$dir' PGDATA='$dir/data'"
    ;;
  *)
    echo "usage: $0 start|stop|restart|destroy|env [DIR] [conf lines...]" >&2
    exit 2
    ;;
esac
