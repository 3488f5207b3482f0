#!/usr/bin/env bash
# The report of the demo workload, as a new user sees it (issue 19): the
# shop of scripts/demo-workload.sql runs against a server with capture
# preloaded, then the text report is read the way a DBA reads it: no number
# with more than 3 decimals, no DDL twice (one finding per problem, the
# foreign key and the advice that serves it included), bloat of the DBA's own
# relations only, no "unused" verdict on seconds of statistics.  Then the
# html report is rendered by headless Chromium at a desktop and a phone
# width, and the upgrade step that renames snapshot_findings."check" runs
# on a table of the old shape.
source "$(dirname "$0")/lib.sh"

PGA_EXTRA_PACKAGES=chromium "$ROOT/scripts/ensure-deps.sh" >&2 \
  || { echo "Bail out! could not install chromium"; exit 1; }
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "Bail out! chromium not found after ensure-deps"; exit 1; }

start_cluster
ART=${PGA_ARTIFACTS:-$CLUSTER/artifacts}
mkdir -p "$ART"

q -c "CREATE EXTENSION pg_architect"
psql -X -q -v ON_ERROR_STOP=1 -f "$ROOT/scripts/demo-workload.sql" >/dev/null 2>"$ART/workload.log"
ok $? "the demo workload runs"
q -c "SELECT architect.snapshot('after the workload')" >/dev/null
ok $? "a snapshot of it"
# one more round of the application, so that there is something since the snapshot
for i in $(seq 1 20); do
  q -c "SELECT id FROM \"Order Items\" WHERE status = 'paid' ORDER BY created_at DESC LIMIT 20" >/dev/null
done
q -c "CREATE TABLE late_arrival (a int)"

q -c "SELECT architect.report()" > "$ART/report.txt"
q -c "SELECT architect.report('text', true)" > "$ART/report-detail.txt"
sed 's/^/# /' "$ART/report.txt"

# ---- readable numbers --------------------------------------------------------------
long=$(grep -hnoE '[0-9]+\.[0-9]{4,}' "$ART/report.txt" "$ART/report-detail.txt" | head -5)
is "$long" "" "no number in the text report, plain or detailed, has more than 3 decimals"

# ---- one finding per problem -----------------------------------------------------------
# What a DDL does, as a DBA compares them: options and new index names aside.
ddl_keys() {
  perl -ne 'next unless s/^\s+ddl:\s+//; chomp; s/;\s*$//;
            s/^CREATE (UNIQUE )?INDEX (CONCURRENTLY )?(IF NOT EXISTS )?(("(?:[^"]|"")*"|[^\s"]+) )?ON /CREATE $1INDEX ON /;
            s/ USING btree / /; s/^DROP INDEX (CONCURRENTLY )?(IF EXISTS )?/DROP INDEX /; s/^VACUUM (\([^)]*\) )?/VACUUM /;
            print "$_\n"' "$1"
}
nddl=$(ddl_keys "$ART/report-detail.txt" | wc -l)
[ "$nddl" -gt 0 ]; ok $? "the detailed report carries DDL ($nddl statements)"
is "$(ddl_keys "$ART/report-detail.txt" | sort | uniq -d)" "" "no DDL appears twice"
is "$(grep -cE '^\s+ddl:\s+CREATE INDEX .*ON public\."Order Items" (USING btree )?\(customer_id' "$ART/report-detail.txt")" "1" \
   "one CREATE INDEX serves the customer lookups and the foreign key, whichever source proposed it"
fk_in_register=$(q -c "SELECT count(*) FROM architect.findings WHERE check_name = 'fk_without_index' AND object LIKE '%Order Items%'")
advice_on_fk=$(q -c "SELECT count(*) FROM architect.index_advice WHERE relation = '\"Order Items\"'::regclass AND columns[1] = 'customer_id'")
if [ "$advice_on_fk" -gt 0 ]; then
  is "$fk_in_register" "0" "the advisor leads with customer_id ($advice_on_fk advice): the foreign key finding is absorbed"
  ok "$(grep -qE 'also resolves fk_without_index public\."Order Items"\."Order Items_customer_id_fkey"' "$ART/report-detail.txt"; echo $?)" \
     "and the advice says it also resolves the foreign key"
else
  is "$fk_in_register" "1" "no advice on customer_id this run: the foreign key finding stands alone"
  ok 0 "(nothing to absorb)"
fi

# ---- one line per finding, details on request ------------------------------------------------
nfind=$(q -c "SELECT count(*) FROM architect.findings")
is "$(sed -n '/^FINDINGS/,/^$/p' "$ART/report.txt" | grep -cE '^ +[0-9]+  (CRITICAL|HIGH|MEDIUM|LOW|INFO) ')" "$nfind" \
   "the plain report has one line per finding ($nfind)"
is "$(sed -n '/^FINDINGS/,/^$/p' "$ART/report.txt" | sed '1d;$d' | wc -l)" "$nfind" "and nothing else in that section"
is "$(sed -n '/^TOP ACTIONS/,/^$/p' "$ART/report.txt" | grep -c '^  - finding ')" \
   "$(q -c "SELECT least(3, count(*)) FROM architect.findings WHERE ddl IS NOT NULL AND severity <> 'info'")" \
   "the top actions: at most three, each a finding with its DDL"
grep -qE '^Observation window: statistics since [0-9-]+ [0-9:]+ [A-Z]+ \(' "$ART/report.txt"
ok $? "the header states the observation window"
grep -q '^CHANGES SINCE SNAPSHOT "after the workload"' "$ART/report.txt" \
  && grep -q '  new: no_primary_key public.late_arrival' "$ART/report.txt"
ok $? "what changed since the last snapshot: the table created after it"

# ---- unused indexes: no verdict on seconds -------------------------------------------------------
is "$(q -c "SELECT severity || ' ' || (ddl IS NULL) FROM architect.findings WHERE check_name = 'unused' AND object = 'public.items_status'")" \
   "info true" "an index unscanned for a minute: insufficient evidence, no DROP"
grep -qE 'insufficient evidence \(window [^)]*, pg_architect\.min_unused_window 7 days\): index public\.items_status' "$ART/report-detail.txt"
ok $? "its evidence says so, with the window and the minimum"
is "$(PGOPTIONS='-c pg_architect.min_unused_window=0' q -c "SELECT severity <> 'info', ddl FROM architect.findings WHERE check_name = 'unused' AND object = 'public.items_status'")" \
   "t|DROP INDEX CONCURRENTLY public.items_status" "lowered explicitly (as the demo does), the verdict comes, with its DROP"

# ---- bloat: own relations only ----------------------------------------------------------------------
bloat=$(sed -n '/^BLOAT/,$p' "$ART/report.txt")
echo "$bloat" | sed 's/^/# /'
! echo "$bloat" | grep -qE 'pg_toast|pg_statistic|pg_catalog|^  pg_|architect\.'
ok $? "the bloat section lists no catalog, no TOAST of a catalog, nothing of pg_architect"
is "$(q -c "SELECT count(*) FROM jsonb_array_elements(architect.report('json')::jsonb->'bloat') x
             WHERE (x->>'size_bytes')::bigint < 1048576
                OR (x->>'relation')::regclass::oid IN (SELECT oid FROM pg_class WHERE relnamespace IN
                      ('pg_catalog'::regnamespace, 'pg_toast'::regnamespace, 'architect'::regnamespace))")" "0" \
   "no relation under 1 MB, none in pg_catalog, pg_toast or architect"
is "$(q -c "SELECT bool_and(w >= lead_w) FROM (SELECT (x->>'wasted_bytes')::bigint AS w,
                   lead((x->>'wasted_bytes')::bigint, 1, 0) OVER (ORDER BY o) AS lead_w
              FROM jsonb_array_elements(architect.report('json')::jsonb->'bloat') WITH ORDINALITY t(x, o)) s")" "t" \
   "ranked by reclaimable bytes"

# ---- the html report at a desktop and a phone width ------------------------------------------------
q -c "SELECT architect.report('html')" > "$ART/report.html"
for width in 1280 390; do
  profile=$(mktemp -d)
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
    --screenshot="$ART/report-$width.png" --window-size=$width,2000 "file://$ART/report.html" >>"$ART/chromium.log" 2>&1
  ok $? "chromium renders the report at $width px"
  rm -rf "$profile"
  python3 - "$ART/report-$width.png" <<'EOF'
# Decode the PNG (8-bit RGB/RGBA, non-interlaced): the chart colours must be
# painted (p50 #2a9d8f, p95 #e9c46a, p99 #e76f51, severity #6c7a89), and the
# latency bars wide enough to read (the widest p50 bar at least 60 px: the
# log scale keeps the short statements visible next to the slow one).
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat = 8, b""
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]; pos += 12 + n
    if typ == b"IHDR":
        w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        assert depth == 8 and ctype in (2, 6) and interlace == 0
        bpp = 3 if ctype == 2 else 4
    elif typ == b"IDAT":
        idat += body
raw, stride, prev = zlib.decompress(idat), w * bpp, bytearray(w * bpp)
runs, seen = {}, set()
p50 = bytes.fromhex("2a9d8f")
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
    run = best = 0
    for x in range(0, stride, bpp):
        px = bytes(line[x:x + 3]); seen.add(px)
        run = run + 1 if px == p50 else 0; best = max(best, run)
    runs[y] = best
    prev = line
want = {"p50": "2a9d8f", "p95": "e9c46a", "p99": "e76f51", "severity": "6c7a89"}
missing = [k for k, v in want.items() if bytes.fromhex(v) not in seen]
assert not missing, "colours not painted: %s" % missing
bars = sorted(set(v for v in runs.values() if v > 0), reverse=True)
assert bars and bars[0] >= 60, "widest p50 bar %s px" % (bars[:1],)
print("# %s: %dx%d, chart colours painted, widest p50 bar %d px" % (sys.argv[1].rsplit("/", 1)[-1], w, h, bars[0]))
EOF
  ok $? "at $width px the charts are painted and their bars readable"
done
grep -q '<meta name="viewport" content="width=device-width' "$ART/report.html"
ok $? "the page declares a viewport, so phones do not render it at desktop width"

# ---- upgrade: snapshot_findings."check" becomes check_name, rows kept --------------------------------
q -c "ALTER TABLE architect.snapshot_findings RENAME COLUMN check_name TO \"check\""
is "$(q -c "SELECT count(*) FROM architect.snapshot_findings WHERE \"check\" IS NOT NULL")" \
   "$(q -c "SELECT findings FROM architect.snapshots WHERE label = 'after the workload'")" "a table of the 0.1 shape, with its rows"
rename_block=$(sed -n '/^DO \$do\$/,/^\$do\$;/p' "$ROOT/sql/parts/90_snapshots.sql")
[ -n "$rename_block" ]; ok $? "the install script has the rename step"
q -c "$rename_block" && q -c "$rename_block"
ok $? "it runs, and runs again (the upgrade re-runs every part)"
is "$(q -c "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
             WHERE attrelid = 'architect.snapshot_findings'::regclass AND attnum > 0 AND NOT attisdropped
               AND attname IN ('check', 'check_name')")" "check_name" "the column is check_name"
is "$(q -c "SELECT count(*) FROM architect.snapshot_findings WHERE check_name IS NOT NULL")" \
   "$(q -c "SELECT findings FROM architect.snapshots WHERE label = 'after the workload'")" "and no row was lost"

done_testing
