#!/usr/bin/env bash
# Findings and reports against a live server: workload findings from real
# sessions (connections near max_connections, idle in transaction, autovacuum
# lag), a before/after snapshot around a real index creation, the nightly
# html report rendered by headless Chromium (charts present and painted),
# the json report parsed outside the server, and snapshots surviving pg_dump.
#
# Statements come from architect.statements when this build has capture.
# Without it, a stand-in view of the documented shape is created over
# timings this script measures itself (clock_timestamp around each real
# execution, plan id = hash of the real EXPLAIN); likewise architect.bloat,
# when absent, is a stand-in over pgstattuple's exact measurement.
source "$(dirname "$0")/lib.sh"

PGA_EXTRA_PACKAGES=chromium "$ROOT/scripts/ensure-deps.sh" >&2 \
  || { echo "Bail out! could not install chromium"; exit 1; }
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "Bail out! chromium not found after ensure-deps"; exit 1; }

start_cluster "max_connections = 20" "superuser_reserved_connections = 3" "autovacuum = off" \
              "autovacuum_freeze_max_age = 100000" "max_prepared_transactions = 2"
ART=${PGA_ARTIFACTS:-$CLUSTER/artifacts}
mkdir -p "$ART"
bg_pids=()
cleanup_bg() { for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done; bg_pids=(); }
trap 'cleanup_bg; "$ROOT/scripts/cluster.sh" destroy "$CLUSTER"' EXIT

q -c "CREATE EXTENSION pg_architect"

# ---- connections near max_connections ---------------------------------------
for i in $(seq 1 14); do
  psql -X -q -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
  bg_pids+=($!)
done
for _ in $(seq 1 50); do
  n=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
  [ "$n" -ge 15 ] && break; sleep 0.2
done
is "$(q -c "SELECT severity FROM architect.findings WHERE check_name = 'connections_near_max'")" "high" \
   "15 of 17 usable connections in use: connections_near_max, high"
# the backends outlive their killed clients while they sleep: end them
q -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(120)'" >/dev/null
cleanup_bg
for _ in $(seq 1 50); do
  n=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
  [ "$n" -le 1 ] && break; sleep 0.2
done
is "$(q -c "SELECT count(*) FROM architect.findings WHERE check_name = 'connections_near_max'")" "0" \
   "and gone once the sessions end"

# ---- idle in transaction -----------------------------------------------------
(echo "BEGIN; SELECT txid_current();"; exec sleep 60) 2>/dev/null | psql -X -q >/dev/null 2>&1 &
bg_pids+=($!)
for _ in $(seq 1 50); do
  [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")" = 1 ] && break; sleep 0.2
done
sleep 1.2
is "$(q -c "SELECT count(*) FROM architect.workload_findings('1 second') WHERE check_name = 'idle_in_transaction'")" "1" \
   "a session idle in transaction for over a second is found with a 1 s threshold"
is "$(q -c "SELECT count(*) FROM architect.findings WHERE check_name = 'idle_in_transaction'")" "0" \
   "but not with the default 5 min threshold"
kill_ddl=$(q -c "SELECT ddl FROM architect.workload_findings('1 second') WHERE check_name = 'idle_in_transaction'")
is "$(q -c "$kill_ddl")" "t" "its DDL ends the session: $kill_ddl"
cleanup_bg

# ---- a forgotten prepared transaction, an abandoned replication slot ---------------
q -c "BEGIN; CREATE TABLE in_doubt (a int); PREPARE TRANSACTION 'pga test''s gid';"
sleep 1.2
is "$(q -c "SELECT severity || ' ' || ddl FROM architect.workload_findings('1 second') WHERE check_name = 'old_prepared_transaction'")" \
   "high ROLLBACK PREPARED 'pga test''s gid'" "a prepared transaction pending over the threshold is found, its gid quoted"
q -c "$(q -c "SELECT ddl FROM architect.workload_findings('1 second') WHERE check_name = 'old_prepared_transaction'")"
is "$(q -c "SELECT count(*) FROM pg_prepared_xacts")" "0" "its DDL resolves it"
q -c "SELECT pg_create_physical_replication_slot('abandoned', true)" >/dev/null
is "$(q -c "SELECT severity || ' ' || ddl FROM architect.findings WHERE check_name = 'inactive_replication_slot'")" \
   "medium SELECT pg_drop_replication_slot('abandoned')" "an inactive replication slot retaining WAL is found"
q -c "$(q -c "SELECT ddl FROM architect.findings WHERE check_name = 'inactive_replication_slot'")" >/dev/null
is "$(q -c "SELECT count(*) FROM pg_replication_slots")" "0" "its DDL drops it"

# ---- autovacuum lag ------------------------------------------------------------
q -c "CREATE TABLE churn (id int PRIMARY KEY, v text);
      INSERT INTO churn SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g;
      ANALYZE churn;
      DELETE FROM churn WHERE id <= 15000;"
sleep 1.5   # the deleting backend has exited and flushed its statistics
lag=$(q -c "SELECT severity || ' ' || ddl FROM architect.findings WHERE check_name = 'autovacuum_lag' AND object = 'public.churn'")
is "$lag" "medium VACUUM (VERBOSE, ANALYZE) public.churn" "15000 dead rows over the threshold with autovacuum off: autovacuum_lag"

# a measured bloat source for the report (stand-in when bloat is not installed)
if [ "$(q -c "SELECT to_regclass('architect.bloat') IS NULL")" = t ]; then
  q -c "CREATE EXTENSION pgstattuple;
        CREATE VIEW architect.bloat AS
          SELECT c.oid::regclass AS relation,
                 (s.dead_tuple_len + s.free_space)::bigint AS wasted_bytes,
                 round((s.dead_tuple_percent + s.free_percent)::numeric, 1) AS bloat_pct,
                 'exact'::text AS method, 'high'::text AS confidence,
                 format('VACUUM FULL %s', c.oid::regclass) AS remedy_ddl
            FROM pg_class c CROSS JOIN LATERAL pgstattuple(c.oid) s
           WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace;"
  ok $? "architect.bloat not installed: stand-in over pgstattuple created"
fi
q -c "VACUUM (ANALYZE) churn" 2>/dev/null
is "$(q -c "SELECT count(*) FROM architect.findings WHERE check_name = 'autovacuum_lag' AND object = 'public.churn'")" "0" \
   "after its VACUUM the lag finding is gone"

# ---- a statement that gets faster after an index is created -------------------
q -c "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer_id int NOT NULL, total numeric);
      INSERT INTO orders (customer_id, total) SELECT (g::bigint * 7919) % 50000, g % 1000 FROM generate_series(1, 300000) g;
      ANALYZE orders;"; ok $? "a 300000-row orders table"
QUERY="SELECT count(*), sum(total) FROM orders WHERE customer_id = 4242"
if [ "$(q -c "SELECT to_regclass('architect.statements') IS NULL")" = t ]; then
  CAPTURE=standin
  q -c "CREATE SCHEMA harness;
        CREATE TABLE harness.timings (queryid bigint, query text, planid bigint, plan text, ms float8);
        CREATE FUNCTION harness.run(q text, n int) RETURNS void LANGUAGE plpgsql AS \$\$
        DECLARE t0 timestamptz; pl text; l text;
        BEGIN
          pl := '';
          FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP pl := pl || l || E'\n'; END LOOP;
          FOR i IN 1 .. n LOOP
            t0 := clock_timestamp();
            EXECUTE q;
            INSERT INTO harness.timings VALUES (hashtext(q), q, hashtext(pl), pl,
                                                extract(epoch FROM clock_timestamp() - t0) * 1000);
          END LOOP;
        END \$\$;
        CREATE VIEW architect.statements AS
          SELECT 10::oid AS userid, 1::oid AS dbid, queryid, true AS toplevel, query, count(*) AS calls,
                 0::bigint AS errors, count(*) AS rows, sum(ms) AS total_ms, avg(ms) AS mean_ms,
                 min(ms) AS min_ms, max(ms) AS max_ms,
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50_ms,
                 percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95_ms,
                 percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99_ms,
                 0::bigint AS shared_blks_hit, 0::bigint AS shared_blks_read, 0::bigint AS temp_blks_written,
                 0::numeric AS wal_bytes, count(DISTINCT planid) AS plans, now() AS first_seen, now() AS last_seen
            FROM harness.timings GROUP BY queryid, query;
        CREATE VIEW architect.plans AS
          SELECT queryid, planid, count(*) AS calls, avg(ms) AS mean_ms,
                 percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95_ms,
                 now() AS first_seen, now() AS last_seen, min(plan) AS plan
            FROM harness.timings GROUP BY queryid, planid;"
  run_workload() { q -c "SELECT harness.run('$QUERY', 40)" >/dev/null; }
  reset_capture() { q -c "TRUNCATE harness.timings"; }
else
  CAPTURE=real
  run_workload() { for _ in $(seq 1 40); do echo "$QUERY;"; done | psql -X -q >/dev/null; sleep 1; }
  reset_capture() { q -c "SELECT architect.reset()" >/dev/null; }
fi
echo "# statements from: $CAPTURE capture"
reset_capture
run_workload
q -c "SELECT architect.snapshot('before-index')" >/dev/null; ok $? "snapshot before the index"
reset_capture
q -c "CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id)"
run_workload
q -c "SELECT architect.snapshot('after-index')" >/dev/null; ok $? "snapshot after the index"
row=$(q -F ' ' -c "SELECT verdict, plan_changed, p50_change_pct < -50, p95_change_pct < -50, p99_change_pct < -50
                     FROM architect.compare('before-index', 'after-index')
                    WHERE query LIKE '%FROM orders WHERE customer_id%'")
is "$row" "faster t t t t" "compare: the statement got faster at p50, p95 and p99 and its plan changed"
q -c "SELECT query, p50_a_ms, p50_b_ms, p95_a_ms, p95_b_ms, p99_a_ms, p99_b_ms, plan_changed, verdict
        FROM architect.compare('before-index', 'after-index') WHERE query LIKE '%FROM orders%'" | sed 's/^/# /'

# ---- a few flaws for the report -------------------------------------------------
q -c "CREATE TABLE \"Child Table\" (a int REFERENCES orders, b int);
      CREATE INDEX dup1 ON \"Child Table\" (b); CREATE INDEX dup2 ON \"Child Table\" (b);
      CREATE SEQUENCE \"Invoice No\" AS integer; SELECT setval('\"Invoice No\"', 2100000000);" >/dev/null

# ---- json parses, in and out of the server --------------------------------------------
q -c "SELECT architect.report('json')" > "$ART/report.json"
python3 - "$ART/report.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["report"] == "pg_architect"
assert d["summary"]["findings"] == len(d["findings"]) > 0
assert all(k in d["findings"][0] for k in ("rank", "finding_id", "category", "check_name", "severity", "effort",
                                            "object", "evidence", "recommendation", "ddl", "rollback_ddl", "source"))
assert isinstance(d["top_statements"], list) and d["top_statements"]
assert isinstance(d["bloat"], list) and d["bloat"]
EOF
ok $? "report('json') parses with python's json module and has the documented shape"
is "$(q -c "SELECT severity FROM architect.findings WHERE object = 'public.\"Invoice No\"'")" "critical" \
   "the sequence at 98 % is critical in the register"

# ---- the nightly html report in a real browser -------------------------------------------
psql -X -q -A -t -c "SELECT architect.report('html')" > "$ART/report.html"; ok $? "nightly job: psql -c \"SELECT architect.report('html')\" > report.html"
"$CHROMIUM" --headless --no-sandbox --disable-gpu --dump-dom "file://$ART/report.html" > "$ART/dom.html" 2>"$ART/chromium.log"
ok $? "chromium loads the page"
for chart in chart-severity chart-latency chart-bloat; do
  grep -q "<svg[^>]*id=\"$chart\"" "$ART/dom.html"; ok $? "the rendered DOM has the $chart svg"
done
is "$(grep -o '<rect class="bar"' "$ART/dom.html" | wc -l | tr -d ' ')" \
   "$(q -c "SELECT 4 + 3 * jsonb_array_length(d->'top_statements') + jsonb_array_length(d->'bloat')
              FROM (SELECT architect.report('json')::jsonb AS d) x")" "one bar per severity, statement percentile and relation"
"$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2000 \
  --screenshot="$ART/report.png" "file://$ART/report.html" >>"$ART/chromium.log" 2>&1
ok $? "chromium takes a screenshot"
nbloat=$(q -c "SELECT count(*) FROM jsonb_array_elements(architect.report('json')::jsonb->'bloat') x WHERE (x->>'wasted_bytes')::numeric > 0")
python3 - "$ART/report.png" "$nbloat" <<'EOF'
# Decode the PNG (8-bit RGB/RGBA, non-interlaced) and check that the chart
# colours were painted: p50 #2a9d8f, p95 #e9c46a, p99 #e76f51, bloat #8d6cab.
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]; pos += 12 + n
    if typ == b"IHDR":
        w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
        bpp = 3 if ctype == 2 else 4
    elif typ == b"IDAT":
        idat += body
raw, stride, prev, seen = zlib.decompress(idat), w * bpp, bytearray(w * bpp), set()
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        seen.add(bytes(line[x:x + 3]))
    prev = line
want = {"p50": "2a9d8f", "p95": "e9c46a", "p99": "e76f51"}
if int(sys.argv[2]) > 0:   # a real bloat advisor may not have measured anything yet
    want["bloat"] = "8d6cab"
missing = [k for k, v in want.items() if bytes.fromhex(v) not in seen]
assert not missing, "colours not painted: %s" % missing
print("# screenshot %dx%d, %d distinct colours, chart colours all painted" % (w, h, len(seen)))
EOF
ok $? "the screenshot shows the latency and bloat bars in their colours"

# ---- snapshots survive pg_dump (extension config tables) ----------------------------------
pg_dump -d postgres -f "$ART/dump.sql"; ok $? "pg_dump of a database with snapshots"
createdb restored && psql -X -q -v ON_ERROR_STOP=1 -d restored -f "$ART/dump.sql" >/dev/null 2>"$ART/restore.log"
ok $? "restores into a new database"
is "$(q -d restored -c "SELECT string_agg(label || ':' || statements, ',' ORDER BY label) FROM architect.snapshots")" \
   "$(q -c "SELECT string_agg(label || ':' || statements, ',' ORDER BY label) FROM architect.snapshots")" \
   "the snapshots came back with the dump"
is "$(q -d restored -c "SELECT count(*) FROM architect.snapshot_statements")" \
   "$(q -c "SELECT count(*) FROM architect.snapshot_statements")" "and their statements"

# ---- transaction id age: a long transaction holds the horizon while xids burn ------------
(echo "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT txid_current();"; exec sleep 60) 2>/dev/null | psql -X -q >/dev/null 2>&1 &
bg_pids+=($!)
for _ in $(seq 1 50); do
  [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")" = 1 ] && break; sleep 0.2
done
q -c "CREATE TABLE old_rows (id int PRIMARY KEY); INSERT INTO old_rows VALUES (1);
      CREATE PROCEDURE burn(n int) LANGUAGE plpgsql AS \$\$
      BEGIN FOR i IN 1 .. n LOOP PERFORM txid_current(); COMMIT; END LOOP; END \$\$;" \
  && q -c "CALL burn(150000)"
ok $? "150000 transaction ids consumed while a repeatable-read transaction holds the horizon"
q -c "VACUUM (FREEZE) old_rows" 2>/dev/null   # warns: "oldest xmin is far in the past" — that is the point
is "$(q -c "SELECT severity FROM architect.schema_findings WHERE check_name = 'xid_age_table' AND object = 'public.old_rows'")" \
   "medium" "VACUUM FREEZE cannot pass the held horizon: relfrozenxid age above autovacuum_freeze_max_age is found"
is "$(q -c "SELECT count(*) FROM architect.findings WHERE check_name = 'xid_age_database' AND object = 'postgres'")" "1" \
   "and so is the database's datfrozenxid age"
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction'" >/dev/null
cleanup_bg
sleep 0.5
q -c "$(q -c "SELECT ddl FROM architect.schema_findings WHERE check_name = 'xid_age_table' AND object = 'public.old_rows'")" 2>/dev/null
is "$(q -c "SELECT to_regclass('old_rows') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM architect.schema_findings WHERE check_name = 'xid_age_table' AND object = 'public.old_rows')")" "t" \
   "once the transaction ends, the finding's VACUUM (FREEZE) clears it"

# ---- a managed instance: CREATE EXTENSION only, no preload ---------------------------------
cleanup_bg
"$ROOT/scripts/cluster.sh" destroy "$CLUSTER"
PGA_PRELOAD=0 start_cluster
trap 'cleanup_bg; "$ROOT/scripts/cluster.sh" destroy "$CLUSTER"' EXIT
q -c "CREATE EXTENSION pg_architect; CREATE TABLE \"No Key\" (a int); CREATE INDEX k1 ON \"No Key\" (a); CREATE INDEX k2 ON \"No Key\" (a);" >/dev/null
is "$(q -c "SELECT string_agg(check_name || ' ' || object, ', ' ORDER BY rank) FROM architect.findings
              WHERE category NOT IN ('replication', 'security')")" \
   "duplicate public.k2, no_primary_key public.\"No Key\", unused public.k1" \
   "without preload the catalog findings are all there (k1 unscanned for seconds: info, last)"
is "$(q -c "SELECT severity || ' ' || (ddl IS NULL) FROM architect.findings WHERE object = 'public.k1'")" "info true" \
   "without preload pg_architect.min_unused_window keeps its 7-day default: no verdict yet"
q -c "SELECT architect.report('html')" | grep -q 'id="chart-severity"'; ok $? "and the html report renders its severity chart"
if [ "$(q -c "SELECT to_regclass('architect.statements') IS NULL")" = t ]; then
  err=$(q -c "SELECT architect.snapshot('x')" 2>&1)
  case "$err" in *"workload capture is not installed"*"shared_preload_libraries"*) ok 0 "snapshot says capture is missing and how to get it";;
                  *) ok 1 "snapshot says capture is missing (got: $err)";; esac
else
  err=$(q -c "SELECT architect.snapshot('x')" 2>&1)
  case "$err" in *"holds no statements"*) ok 0 "snapshot without preload stores no statements and says so";;
                  *) ok 1 "snapshot without preload says it holds no statements (got: $err)";; esac
fi
done_testing
