#!/usr/bin/env bash
# ALTER EXTENSION pg_architect UPDATE from 0.1, the first version that
# shipped, as a DBA does it: 0.1 is built from git history (commit 1886bb6)
# into its own staged server tree, preloaded and filled (captured statements
# and plans, a snapshot, advice on file, DDL log rows); the server stops
# cleanly (0.1's library writes its save file); this checkout's build is
# installed over it; the server starts (the new library loads 0.1's save
# file); ALTER EXTENSION UPDATE runs; everything is compared with what 0.1
# showed.  Finally every member of the updated extension is compared with a
# fresh install of this version in another database: same objects, same
# definitions, privileges and comments (a member the upgrade forgets, or one
# it leaves behind, fails here).
#
# The DDL log is a ring in shared memory in 0.1 as now: it survives the
# UPDATE (checked) but not a server restart (documented).
#
# 0.1 builds against PostgreSQL 15 only, so this runs on the 15 leg of the
# matrix and skips elsewhere.
source "$(dirname "$0")/lib.sh"

OLD_COMMIT=1886bb6
if [ "$PG_MAJOR" != 15 ]; then
  echo "1..0 # SKIP the 0.1 release builds against PostgreSQL 15 only (this run: $PG_MAJOR)"; exit 0
fi
if ! git -C "$ROOT" cat-file -e "$OLD_COMMIT^{commit}" 2>/dev/null; then
  echo "1..0 # SKIP commit $OLD_COMMIT (0.1) is not in this clone's history"; exit 0
fi

work=$(mktemp -d /tmp/pga-upgrade.XXXXXX)
chmod 755 "$work"
export PGA_STAGE=$work/stage
cleanup() { [ -n "${CLUSTER:-}" ] && "$ROOT/scripts/cluster.sh" destroy "$CLUSTER"; rm -rf "$work"; }
trap cleanup EXIT

# This checkout's build in a stage of its own (stage.sh builds and installs
# into PGA_STAGE), then 0.1 over it.
eval "$("$ROOT/scripts/stage.sh")" || { echo "Bail out! could not stage this build"; exit 1; }
mkdir -p "$work/v01"
git -C "$ROOT" archive "$OLD_COMMIT" | tar -x -C "$work/v01"
make -s -C "$work/v01" PG_CONFIG="$PG_CONFIG" >"$work/v01-build.log" 2>&1 \
  && make -s -C "$work/v01" PG_CONFIG="$PG_CONFIG" install DESTDIR="$PGA_STAGE" >>"$work/v01-build.log" 2>&1
ok $? "0.1 (commit $OLD_COMMIT) builds and installs into its own stage"

start_cluster "pg_architect.collector_naptime = 50ms"
q -c "CREATE EXTENSION pg_architect"
is "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_architect'")" "0.1" "0.1 is installed"

# ---- fill 0.1 ---------------------------------------------------------------
q -c "CREATE TABLE orders (id int PRIMARY KEY, customer int, amount numeric)" \
  -c "INSERT INTO orders SELECT g, g % 500, g FROM generate_series(1, 20000) g" -c "ANALYZE orders"
for i in $(seq 1 30); do q -c "SELECT sum(amount) AS upgrade_probe FROM orders WHERE customer = $((i % 7))" >/dev/null; done
for i in $(seq 1 12); do q -c "SELECT amount AS upgrade_point FROM orders WHERE id = $i" >/dev/null; done
wait_captured() {            # the collector drains the ring every 50 ms
  for _ in $(seq 1 100); do
    [ "$(q -c "SELECT coalesce(sum(calls), 0) FROM architect.statements WHERE query LIKE '%upgrade_p%' AND query NOT LIKE '%architect%'")" = "$1" ] && return 0
    sleep 0.1
  done; return 1
}
wait_captured 42; ok $? "0.1 captured the 42 executions"
q -c "SELECT architect.snapshot('before-upgrade')" >/dev/null
q -c "SELECT count(*) FROM architect.record_advice(ARRAY['SELECT sum(amount) FROM orders WHERE customer = 3'])" >/dev/null
ok $? "record_advice files advice"
q -c "ALTER TABLE orders ADD COLUMN note text" -c "CREATE INDEX orders_customer ON orders (customer)"

stmts="SELECT queryid || ' ' || calls || ' ' || rows || ' ' || p50_ms || ' ' || p95_ms || ' ' || max_ms || ' ' || query
         FROM architect.statements WHERE query LIKE '%upgrade_p%' AND query NOT LIKE '%architect%' ORDER BY queryid"
plans="SELECT queryid || ' ' || planid || ' ' || calls FROM architect.plans p
         WHERE queryid IN (SELECT queryid FROM architect.statements WHERE query LIKE '%upgrade_p%' AND query NOT LIKE '%architect%')
         ORDER BY 1"
snaps="SELECT s.label || ' ' || s.statements || ' ' || s.plans || ' ' || s.findings || ' ' ||
              (SELECT count(*) FROM architect.snapshot_statements t WHERE t.label = s.label) || ' ' ||
              (SELECT count(*) FROM architect.snapshot_plans t WHERE t.label = s.label) || ' ' ||
              (SELECT count(*) FROM architect.snapshot_findings t WHERE t.label = s.label) || ' ' ||
              (SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM architect.snapshot_statements t WHERE t.label = s.label)
         FROM architect.snapshots s ORDER BY 1"
advice="SELECT a::text FROM architect.advice_log a ORDER BY advice_id"
outcomes="SELECT advice_id || ' ' || relation || ' ' || columns::text || ' ' || coalesce(index::text, '-') || ' ' || verdict
            FROM architect.advice_outcomes ORDER BY advice_id"
ddl="SELECT logged_at || ' ' || statement || ' ' || lock_mode || ' ' || action FROM architect.ddl_log
       WHERE statement LIKE '%orders%' ORDER BY logged_at"
before_stmts=$(q -c "$stmts"); before_plans=$(q -c "$plans"); before_snaps=$(q -c "$snaps")
before_advice=$(q -c "$advice"); before_outcomes=$(q -c "$outcomes" 2>&1)
[ -n "$before_plans" ] && [ -n "$before_advice" ] && [ "$(printf '%s\n' "$before_stmts" | wc -l)" -ge 2 ]
ok $? "0.1 shows statements, plans, a snapshot and advice ($(printf '%s\n' "$before_stmts" | wc -l) statements)"

# ---- clean stop: 0.1's library writes its save file -------------------------
"$ROOT/scripts/cluster.sh" stop "$CLUSTER"
test -s "$PGDATA/pg_stat/pg_architect.stat"; ok $? "0.1 wrote its save file at a clean shutdown"

# ---- this build over it, start, update --------------------------------------
make -s -C "$ROOT" PG_CONFIG="$PG_CONFIG" install DESTDIR="$PGA_STAGE" >/dev/null
"$ROOT/scripts/cluster.sh" start "$CLUSTER" >/dev/null; ok $? "the server starts with the new library over 0.1's data"
grep -q 'pg_architect loaded' "$CLUSTER/server.log"; ok $? "the new library loaded 0.1's save file"
is "$(q -c "$stmts")" "$before_stmts" "captured statements survive the library change (calls, rows, percentiles, text)"

# DDL log rows made by the running library, to watch them across UPDATE.
q -c "ALTER TABLE orders ALTER COLUMN note SET DEFAULT 'n'" -c "CREATE INDEX orders_amount ON orders (amount)"
before_ddl=$(q -c "$ddl")
[ "$(printf '%s\n' "$before_ddl" | grep -c .)" -ge 2 ]; ok $? "the DDL log has rows before the update"

q -c "ALTER EXTENSION pg_architect UPDATE"; ok $? "ALTER EXTENSION pg_architect UPDATE succeeds"
is "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_architect'")" "$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$ROOT/pg_architect.control")" \
   "the extension is at the new version"
is "$(q -c "$stmts")" "$before_stmts" "captured statements are unchanged by the update"
is "$(q -c "$plans")" "$before_plans" "captured plans are unchanged"
is "$(q -c "$snaps")" "$before_snaps" "the snapshot and its rows are kept"
is "$(q -c "$advice")" "$before_advice" "advice on file is kept (advice_log rows)"
is "$(q -c "$outcomes" 2>&1)" "$before_outcomes" "advice outcomes are the same"
is "$(q -c "$ddl")" "$before_ddl" "DDL log rows are kept across the update"
q -c "SELECT architect.snapshot('after-upgrade')" >/dev/null
is "$(q -c "SELECT count(*) FROM architect.compare('before-upgrade', 'after-upgrade') WHERE query LIKE '%upgrade_p%' AND query NOT LIKE '%architect%'")" "2" \
   "compare() works across the upgrade"
n=$(q -c "SELECT nextval(pg_get_serial_sequence('architect.advice_log', 'advice_id'))")
[ "$n" -gt "$(q -c "SELECT max(advice_id) FROM architect.advice_log")" ]; ok $? "the advice_log sequence continues"
for i in 1 2 3; do q -c "SELECT amount AS upgrade_point FROM orders WHERE id = $i" >/dev/null; done
wait_captured 45; ok $? "capture goes on after the update"

# ---- the updated extension equals a fresh install ---------------------------
members="
WITH m AS (
  SELECT d.classid, d.objid FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
   WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'pg_architect' AND d.deptype = 'e'
)
SELECT pg_describe_object(m.classid, m.objid, 0) || E'\n' || coalesce(
  CASE m.classid
    WHEN 'pg_proc'::regclass THEN pg_get_functiondef(m.objid) || ' acl=' || coalesce(p.proacl::text, '-')
    WHEN 'pg_class'::regclass THEN
      c.relkind::text || ' acl=' || coalesce(c.relacl::text, '-') || ' opts=' || coalesce(c.reloptions::text, '-') || E'\n' ||
      coalesce(pg_get_viewdef(m.objid), '') ||
      coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' ' ||
                                  coalesce(pg_get_expr(ad.adbin, ad.adrelid), '') || ' ' || coalesce(a.attacl::text, ''),
                                  E'\n' ORDER BY a.attnum)
                  FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                 WHERE a.attrelid = m.objid AND a.attnum > 0 AND NOT a.attisdropped), '') || E'\n' ||
      coalesce((SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\n' ORDER BY conname)
                  FROM pg_constraint WHERE conrelid = m.objid), '') || E'\n' ||
      coalesce((SELECT string_agg(pg_get_indexdef(indexrelid), E'\n' ORDER BY 1)
                  FROM pg_index WHERE indrelid = m.objid), '')
    WHEN 'pg_type'::regclass THEN
      coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                  FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0), t.typtype::text)
  END, '') || E'\n' || coalesce('comment: ' || obj_description(m.objid, (SELECT relname FROM pg_class WHERE oid = m.classid)), '')
FROM m
LEFT JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
LEFT JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
LEFT JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
UNION ALL
SELECT 'extconfig: ' || coalesce((SELECT string_agg(x::regclass::text || ' ' || coalesce(c, ''), ', ' ORDER BY x::regclass::text)
                                    FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(x, c)
                                   WHERE e.extname = 'pg_architect'), '')
UNION ALL
SELECT 'schema acl: ' || coalesce(nspacl::text, '-') FROM pg_namespace WHERE nspname = 'architect'
ORDER BY 1"
q -c "CREATE DATABASE fresh"
q -d fresh -c "CREATE EXTENSION pg_architect"
q -c "$members" >"$work/updated.txt" && q -d fresh -c "$members" >"$work/fresh.txt" \
  && [ "$(grep -c '^function\|^view\|^table' "$work/fresh.txt")" -gt 20 ]
ok $? "the members of both databases are listed (definitions, privileges, comments)"
diff -u "$work/fresh.txt" "$work/updated.txt" >"$work/members.diff"; rc=$?
[ $rc = 0 ] || sed 's/^/# /' "$work/members.diff" | head -60
ok $rc "every member of the updated extension equals a fresh install ($(grep -c '^function\|^view\|^table\|^type\|^sequence' "$work/fresh.txt") members compared)"
is "$(q -c "SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid WHERE e.extname = 'pg_architect' AND d.deptype = 'e'")" \
   "$(q -d fresh -c "SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid WHERE e.extname = 'pg_architect' AND d.deptype = 'e'")" \
   "same number of members"

# ---- a user's view over ours stops the upgrade with a clear message ---------
# (the upgrade never drops a user's object silently; checked by installing
# 0.1 in a third database and updating it with a dependent view present)
q -c "CREATE DATABASE blocked"
q -d blocked -c "CREATE EXTENSION pg_architect VERSION '0.1'" \
  -d blocked -c "CREATE VIEW my_top AS SELECT queryid FROM architect.statements"
out=$(psql -X -q -d blocked -c "ALTER EXTENSION pg_architect UPDATE" 2>&1)
case "$out" in *"cannot be replaced because other objects depend on it"*) ok 0 "a user's dependent view stops the update with a clear error";;
  *) ok 1 "a dependent view stops the update (got: $out)";; esac
is "$(q -d blocked -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_architect'") $(q -d blocked -c "SELECT count(*) FROM my_top" >/dev/null && echo kept)" \
   "0.1 kept" "and leaves 0.1 and the user's view in place"

done_testing
