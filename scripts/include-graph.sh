#!/usr/bin/env bash
# The dependency graph between the areas of src/ (core, capture, whatif,
# advisor, bloat, guard, ...), and a check that it has no cycle.
#
#   scripts/include-graph.sh          # area -> area edges from #include lines; exit 1 on a cycle
#   scripts/include-graph.sh --files  # also the file -> header edges
#
# Two graphs are checked:
#  1. includes: a file in src/A including "B/x.h" is an edge A -> B; the
#     file-level graph (file -> header) must have no cycle either.
#  2. calls, when the objects are built (make): an object of area A with an
#     undefined function symbol defined (type T) by an object of area B is an
#     edge A -> B.  This catches a dependency declared with a local extern
#     instead of an include.  src/core/pg_architect.c, the module table that
#     calls every area's init, is the composition root and shown as "root":
#     it depends on everything and nothing depends on it through a call
#     (status.c and shmem.c walk the table, which is data).
# A cycle is reported by tsort, which lists the areas on it.
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=0
[ "${1:-}" = "--files" ] && FILES=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# 1. includes
for f in src/*/*.[ch]; do
  { grep -o '^#include "[a-z_]*/[a-z_]*\.h"' "$f" || true; } | sed 's/#include "\(.*\)"/\1/' | while read -r h; do
    [ -f "src/$h" ] || continue
    echo "${f#src/} $h" >> "$tmp/file-edges"
    a=$(dirname "${f#src/}"); b=$(dirname "$h")
    [ "$a" = "$b" ] || echo "$a $b" >> "$tmp/area-edges"
  done
done
touch "$tmp/file-edges" "$tmp/area-edges"
sort -u "$tmp/area-edges" -o "$tmp/area-edges"

echo "== area -> area (#include)"
sed 's/ / -> /' "$tmp/area-edges"
if [ $FILES = 1 ]; then
  echo "== file -> header (#include)"
  sort -u "$tmp/file-edges" | sed 's/ / -> /'
fi
if ! tsort "$tmp/file-edges" > /dev/null 2> "$tmp/err"; then
  echo "CYCLE among included files:"; cat "$tmp/err"; status=1
fi
if ! tsort "$tmp/area-edges" > /dev/null 2> "$tmp/err"; then
  echo "CYCLE among areas (#include):"; cat "$tmp/err"; status=1
fi

# 2. calls, from the built objects
objs=$(ls src/*/*.o 2>/dev/null || true)
if [ -n "$objs" ]; then
  for o in $objs; do
    area=$(dirname "${o#src/}")
    [ "$o" = src/core/pg_architect.o ] && area=root
    nm --defined-only -g "$o" | awk -v a="$area" '$2 == "T" { print $3, a }' >> "$tmp/defs"
    nm -u "$o" | awk -v a="$area" '{ print $2, a }' >> "$tmp/uses"
  done
  sort -u "$tmp/defs" -o "$tmp/defs"
  sort -u "$tmp/uses" -o "$tmp/uses"
  join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 { print $2, $3 }' | sort -u > "$tmp/call-edges"
  echo "== area -> area (function calls, from the objects)"
  sed 's/ / -> /' "$tmp/call-edges"
  if ! tsort "$tmp/call-edges" > /dev/null 2> "$tmp/err"; then
    echo "CYCLE among areas (calls):"; cat "$tmp/err"; status=1
  fi
else
  echo "== (no objects built: run make to check the call graph too)"
fi

[ $status = 0 ] && echo "no cycle"
exit $status
