#!/usr/bin/env bash
# Replicas, merged capture, replication and security findings (issue 17),
# on a real primary and a streaming hot standby made with pg_basebackup,
# both with pg_architect preloaded.
#
#  1. capture on the standby (statements, index use, advice) and read-only
#     behaviour: what writes tables fails with SQLSTATE 25006 and a hint;
#     the standby's capture survives its restart (its own save file)
#  2. export on the standby, import on the primary (the nightly job of
#     scripts/import-node-stats.psql): the index used only on the standby is
#     no longer "unused" and the standby's statements are in the primary's
#     workload advice; bad documents change nothing
#  3. the standby stops, its slot stays, >= 100 MB of WAL is written: the
#     slot_retains_wal finding shows the retained bytes
#  4. a weak configuration gets every planted security finding, a hardened
#     one none; a pg_monitor member is told what it could not check
source "$(dirname "$0")/lib.sh"

start_cluster "wal_level = replica" "max_wal_senders = 5" "max_replication_slots = 5" "hot_standby = on"
SB="$CLUSTER/sb"
trap '"$ROOT/scripts/cluster.sh" stop "$SB"; "$ROOT/scripts/cluster.sh" destroy "$CLUSTER"' EXIT
P="-h $PGHOST -p $PGPORT"
sbport=$(eval "$("$ROOT/scripts/cluster.sh" env "$SB")"; echo "$PGPORT")
S="-h $SB -p $sbport"
qs() { psql -X -q -A -t -v ON_ERROR_STOP=1 $S "$@"; }
wait_for() {                 # wait_for "psql args" "sql returning t" : bounded polling, never timed
  local i
  for i in $(seq 1 240); do
    [ "$(psql -X -A -t $1 -c "$2" 2>/dev/null)" = t ] && return 0
    sleep 0.25
  done
  return 1
}

q -c "CREATE EXTENSION pg_architect"
q -c "CREATE TABLE t (id int PRIMARY KEY, k int NOT NULL, v int NOT NULL, pad text);
      INSERT INTO t SELECT i, i % 10000, i % 5000, repeat('p', 40) FROM generate_series(1, 100000) i;
      CREATE INDEX t_k_idx ON t (k);
      CREATE INDEX t_pad_idx ON t (pad)"
q -c "VACUUM ANALYZE t"

# The standby: pg_basebackup as the postgres user, with a slot, own socket and port.
mkdir -p "$SB" && chown postgres: "$SB" && chmod 700 "$SB"
(cd / && runuser -u postgres -- pg_basebackup -h "$PGHOST" -p "$PGPORT" -U postgres -D "$SB/data" \
   -R -X stream -C -S standby1) >"$CLUSTER/basebackup.log" 2>&1
ok $? "pg_basebackup made a standby with slot standby1"
printf "port = %s\nunix_socket_directories = '%s'\ncluster_name = 'standby1'\n" "$sbport" "$SB" >> "$SB/data/postgresql.conf"
"$ROOT/scripts/cluster.sh" start "$SB" >/dev/null
ok $? "the standby starts with pg_architect preloaded"
wait_for "$P" "SELECT count(*) = 1 FROM pg_stat_replication WHERE state = 'streaming'"
ok $? "the standby streams from the primary"

is "$(qs -c "SELECT value FROM architect.status WHERE metric = 'standby'")" "1" "architect.status says standby on the standby"
is "$(q -c "SELECT value FROM architect.status WHERE metric = 'standby'")" "0" "and primary on the primary"
is "$(qs -c "SELECT architect.node_role()")" "standby" "architect.node_role() on the standby"

# Read traffic served only by the standby.
for i in $(seq 1 30); do
  qs -c "SELECT count(*) FROM t WHERE k = $i" >/dev/null
  qs -c "SELECT count(*) FROM t WHERE v = $i" >/dev/null
done
is "$(qs -c "EXPLAIN (COSTS OFF) SELECT count(*) FROM t WHERE k = 5" | grep -c t_k_idx)" "1" "the standby's query uses t_k_idx"
is "$(qs -c "SELECT sum(calls) FROM architect.statements WHERE query LIKE 'SELECT count(*) FROM t WHERE k = %'")" "30" \
   "the standby captured its 30 statements"
k_qid=$(qs -c "SELECT queryid FROM architect.statements WHERE query LIKE 'SELECT count(*) FROM t WHERE k = %'")
v_qid=$(qs -c "SELECT queryid FROM architect.statements WHERE query LIKE 'SELECT count(*) FROM t WHERE v = %'")
ok "$([ -n "$v_qid" ] && [ -n "$k_qid" ]; echo $?)" "both query ids known on the standby"
is "$(qs -c "SELECT p95_ms IS NOT NULL AND plans >= 1 FROM architect.statements WHERE queryid = $k_qid")" "t" \
   "percentiles and plans on the standby"
is "$(qs -c "SELECT count(*) > 0 FROM architect.plans WHERE queryid = $k_qid AND plan LIKE '%t_k_idx%'")" "t" \
   "the standby's plan text names t_k_idx"
is "$(qs -c "SELECT idx_scan >= 30 FROM pg_stat_user_indexes WHERE indexrelname = 't_k_idx'")" "t" "the standby counts the index scans"
is "$(qs -c "SELECT count(*) > 0 FROM architect.index_advice WHERE relation = 't'::regclass AND columns = '{v}' AND $v_qid = ANY (improved_queryids)")" "t" \
   "the what-if advisor runs on the standby (read-only) and advises t (v)"
is "$(qs -c "SELECT count(*) FROM architect.scans WHERE queryid = $k_qid AND index = 't_k_idx'::regclass")" "1" \
   "scan capture on the standby saw t_k_idx"

is "$(qs -c "SELECT count(*) > 0 FROM architect.findings WHERE category = 'index'")" "t" "the findings register runs on the standby"
# (into a variable first: grep -q closing the pipe early would fail psql under pipefail)
report=$(qs -c "SELECT architect.report('text')")
ok "$([ -n "$report" ]; echo $?)" "and so does the report"
is "$(qs -c "SELECT count(*) FROM architect.replication_findings WHERE check_name IN ('wal_receiver_down', 'no_standby', 'no_pitr')")" "0" \
   "a streaming standby has no receiver finding, and is not told it lacks a standby"
for f in "SELECT architect.snapshot('on-standby')" "SELECT * FROM architect.record_advice()" \
         "SELECT architect.import_stats('{}', 'x')"; do
  err=$(psql -X -q -A -t $S -v VERBOSITY=verbose -c "$f" 2>&1)
  case "$err" in *25006*"cannot run on a standby"*HINT*primary*) ok 0 "on the standby, $f fails with 25006 and a hint";;
                 *) ok 1 "$f on the standby (got: $err)";; esac
done

# The standby's capture survives its restart, in its own data directory.
"$ROOT/scripts/cluster.sh" restart "$SB"
ok "$(grep -q 'pg_architect loaded .* statements' "$SB/server.log"; echo $?)" "the standby saved and reloaded its capture (server log)"
is "$(qs -c "SELECT sum(calls) FROM architect.statements WHERE queryid = $k_qid")" "30" "the standby's statements survived the restart"

# Before the import, the primary calls t_k_idx unused and knows nothing of v.
is "$(q -c "SELECT string_agg(index::text, ',' ORDER BY index::text) FROM architect.index_health WHERE kind = 'unused'")" "t_k_idx,t_pad_idx" \
   "before the import: t_k_idx and t_pad_idx unused on the primary"
is "$(q -c "SELECT count(*) FROM architect.index_advice WHERE columns = '{v}'")" "0" "before the import: no advice on t (v)"

# The nightly job: export on the standby piped into the primary.
psql -X -A -t -v ON_ERROR_STOP=1 $S -c "SELECT architect.export_stats()" \
  | psql -X -q -A -t -v ON_ERROR_STOP=1 $P -v node=standby1 -f "$ROOT/scripts/import-node-stats.psql" >"$CLUSTER/import.out" 2>&1
ok $? "export on the standby | import on the primary"
is "$(q -c "SELECT role || ' ' || (statements > 0) || ' ' || (indexes >= 3) FROM architect.imported_nodes WHERE node_name = 'standby1'")" "standby true true" \
   "the primary stored the standby's document"
is "$(q -c "SELECT string_agg(index::text, ',') FROM architect.index_health WHERE kind = 'unused'")" "t_pad_idx" \
   "after the import: t_k_idx (used on the standby) is not unused; t_pad_idx still is"
is "$(q -c "SELECT count(*) FROM architect.findings WHERE check_name = 'unused' AND object = 't_k_idx'")" "0" "nor in the findings register"
is "$(q -c "SELECT $v_qid = ANY (queryids) AND $k_qid = ANY (queryids) FROM architect.advice_workload()")" "t" \
   "the primary's advisor workload includes the standby's statements"
# TODO: advice for statements seen only on a standby.  The advisor plans a
# captured statement only as the role that ran it, with the text taken from
# the local capture store (issue 12); an imported text is not planned until
# the same identity rule covers it (the role named in the import, inside a
# security-restricted operation).  Until then this is a known gap.
got=$(q -c "SELECT count(*) FROM architect.index_advice WHERE relation = 't'::regclass AND columns = '{v}' AND $v_qid = ANY (improved_queryids)")
_tap_n=$((_tap_n+1))
if [ "$got" = 1 ]; then echo "ok $_tap_n - the primary advises t (v) for the standby's statement"
else echo "not ok $_tap_n - the primary advises t (v) for the standby's statement # TODO imported statements are not planned yet (identity rule of issue 12)"; fi
# A second import replaces the first.
qs -c "SELECT architect.export_stats()" > "$CLUSTER/doc.json"
psql -X -q -A -t -v ON_ERROR_STOP=1 $P -v node=standby1 -f "$ROOT/scripts/import-node-stats.psql" < "$CLUSTER/doc.json" >/dev/null
is "$(q -c "SELECT count(*) FROM architect.imported_nodes")|$(q -c "SELECT count(*) FROM architect.imported_statement_stats WHERE queryid = $k_qid")" "1|1" \
   "importing the node again replaces its rows"

# Malformed or foreign documents: a clear error, nothing changed.
before=$(q -c "SELECT (SELECT count(*) FROM architect.imported_statement_stats) || '/' || (SELECT imported_at FROM architect.imported_nodes)")
bad() {   # bad "jq-like SQL expression over d" "expected message part" "description"
  local err
  err=$(psql -X -q -A -t $P -v VERBOSITY=verbose -v ON_ERROR_STOP=1 \
        -c "SELECT architect.import_stats($1, 'standby1')" 2>&1)
  case "$err" in *22023*"$2"*) ok 0 "$3";; *) ok 1 "$3 (got: $err)";; esac
}
docsql="pg_read_file('$CLUSTER/doc.json')::jsonb"
chown postgres "$CLUSTER/doc.json"
bad "'[1, 2]'" "must be a json object" "a json array is rejected"
bad "'{\"format\": \"pgbadger\", \"version\": 1}'" "format is \"pgbadger\"" "a foreign format is rejected"
bad "jsonb_set($docsql, '{version}', '2')" "this pg_architect reads version 1" "a newer version is rejected"
bad "$docsql - 'indexes'" "indexes is missing" "a missing key is rejected"
bad "jsonb_set($docsql, '{statements,0,calls}', '\"many\"')" "statements[0].calls must be a number, not string" "a wrong type is rejected, with its path"
bad "jsonb_set($docsql, '{node,stats_since}', '\"yesterday-ish\"')" "node.stats_since is not a timestamp" "a bad timestamp is rejected"
bad "jsonb_set($docsql, '{statements,0,calls}', '1e30')" "a value" "an out-of-range number is rejected"
err=$(psql -X -q -A -t $P -c "SELECT architect.import_stats(jsonb_set($docsql, '{node,database}', '\"other\"'), 'standby1')" 2>&1)
case "$err" in *'describes database "other"'*) ok 0 "a document of another database is rejected";; *) ok 1 "other database (got: $err)";; esac
is "$(q -c "SELECT (SELECT count(*) FROM architect.imported_statement_stats) || '/' || (SELECT imported_at FROM architect.imported_nodes)")" "$before" \
   "after the bad documents, the import is unchanged"

# 3. A slot left behind by a stopped standby while >= 100 MB of WAL is written.
"$ROOT/scripts/cluster.sh" stop "$SB"
start_lsn=$(q -c "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = 'standby1'")
q -c "CREATE TABLE w (i int, pad text)"
for i in $(seq 1 20); do
  q -c "INSERT INTO w SELECT g, repeat('w', 400) FROM generate_series(1, 25000) g"
  [ "$(q -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$start_lsn') >= 100 * 1024 * 1024")" = t ] && break
done
q -c "CHECKPOINT"
written=$(q -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$start_lsn')::bigint")
ok "$([ "$written" -ge 104857600 ]; echo $?)" "at least 100 MB of WAL written since the standby stopped ($written bytes)"
row=$(q -F'|' -c "SELECT severity, impact::bigint, evidence FROM architect.replication_findings WHERE check_name = 'slot_retains_wal' AND object = 'replication slot standby1'")
sev=${row%%|*}; rest=${row#*|}; retained=${rest%%|*}
is "$sev" "high" "slot_retains_wal for the inactive slot, high (max_slot_wal_keep_size unbounded)"
ok "$([ -n "$retained" ] && [ "$retained" -ge "$written" ] && [ "$retained" -le $((written + 16777216)) ]; echo $?)" \
   "retained WAL $retained bytes: the bytes written since the stop ($written) and less than one segment more"
echo "# slot_retains_wal: $row"
case "$row" in *"inactive"*"retains 1"*"MB of WAL"*"unbounded"*) ok 0 "the evidence says inactive, the size and the unbounded risk";;
               *) ok 1 "evidence (got: $row)";; esac
is "$(q -c "SELECT count(*) FROM architect.findings WHERE category = 'replication' AND check_name IN ('slot_retains_wal', 'slot_wal_unbounded')")" "2" \
   "the register has the slot findings"
q -c "SELECT pg_drop_replication_slot('standby1')" >/dev/null

# 4. Security posture: weak, then hardened.
planted="hba_trust hba_weak_password password_encryption_weak schema_public_create secdef_search_path login_superuser"
echo "host all all 0.0.0.0/0 md5" >> "$PGDATA/pg_hba.conf"
q -c "ALTER SYSTEM SET password_encryption = 'md5'" -c "SELECT pg_reload_conf()" >/dev/null
wait_for "$P" "SELECT current_setting('password_encryption') = 'md5'"
q -c "GRANT CREATE ON SCHEMA public TO PUBLIC;
      CREATE FUNCTION public.elevate() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
      CREATE ROLE extra_su SUPERUSER LOGIN;
      CREATE ROLE mon LOGIN IN ROLE pg_monitor"
got=$(q -c "SELECT string_agg(DISTINCT check_name, ' ' ORDER BY check_name) FROM architect.security_findings")
echo "# weak: $got"
for c in $planted hba_open_to_all; do
  case " $got " in *" $c "*) ok 0 "weak configuration: $c";; *) ok 1 "weak configuration: $c missing";; esac
done
is "$(q -c "SELECT cis_section FROM architect.security_findings WHERE check_name = 'secdef_search_path'")" "4.3" "each finding names its CIS section"
is "$(q -c "SELECT ddl FROM architect.security_findings WHERE check_name = 'secdef_search_path'")" \
   "ALTER FUNCTION public.elevate() SET search_path = pg_catalog, pg_temp" "with the remedy as SQL"
# As a pg_monitor member: everything but pg_hba.conf, and says so.
mon=$(psql -X -q -A -t $P -U mon -c "SELECT string_agg(DISTINCT check_name, ' ' ORDER BY check_name) FROM architect.security_findings")
for c in password_encryption_weak schema_public_create secdef_search_path login_superuser; do
  case " $mon " in *" $c "*) ok 0 "as pg_monitor member: $c";; *) ok 1 "as pg_monitor member: $c missing ($mon)";; esac
done
case " $mon " in *hba_*) ok 1 "pg_monitor cannot read pg_hba.conf ($mon)";; *) ok 0 "as pg_monitor member: no pg_hba.conf finding";; esac
is "$(psql -X -q -A -t $P -U mon -c "SELECT string_agg(check_name, ',' ORDER BY check_name) FROM architect.security_coverage() WHERE NOT checked")" \
   "hba_open_to_all,hba_trust,hba_weak_password" "security_coverage tells the pg_monitor member what it could not check"
is "$(psql -X -q -A -t $P -U mon -c "SELECT count(*) FROM architect.findings WHERE check_name = 'security_checks_skipped' AND evidence LIKE '%hba_trust (needs superuser%'")" "1" \
   "and the register says so"
is "$(psql -X -q -A -t $P -U mon -c "SELECT count(*) FROM architect.findings WHERE category = 'security' AND check_name = 'secdef_search_path'")" "1" \
   "the pg_monitor member sees the posture in the register"

# Hardened: scram everywhere, TLS, audit logging, no PUBLIC CREATE, pinned
# search_path, no extra superuser.
q -c "ALTER SYSTEM SET password_encryption = 'scram-sha-256'" -c "SELECT pg_reload_conf()" >/dev/null
wait_for "$P" "SELECT current_setting('password_encryption') = 'scram-sha-256'"
q -c "ALTER ROLE postgres PASSWORD 'hardened-pw'" -c "ALTER ROLE mon PASSWORD 'mon-pw'"
(cd "$PGDATA" && openssl req -new -x509 -days 2 -nodes -subj /CN=localhost -keyout server.key -out server.crt >/dev/null 2>&1 \
   && chown postgres: server.key server.crt && chmod 600 server.key)
printf 'local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n' > "$PGDATA/pg_hba.conf"
q -c "ALTER SYSTEM SET ssl = on" -c "ALTER SYSTEM SET log_connections = on" -c "ALTER SYSTEM SET log_disconnections = on" \
  -c "ALTER SYSTEM SET log_line_prefix = '%m [%p] %q%u@%d/%a %h '"
q -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC; ALTER FUNCTION public.elevate() SET search_path = pg_catalog, pg_temp;
      DROP ROLE extra_su"
q -c "SELECT pg_reload_conf()" >/dev/null
export PGPASSWORD=hardened-pw
wait_for "$P" "SELECT current_setting('ssl') = 'on' AND current_setting('log_disconnections') = 'on'"
ok $? "the hardened settings are in force (scram login over the socket, TLS on)"
got=$(q -c "SELECT coalesce(string_agg(check_name, ' ' ORDER BY check_name), '') FROM architect.security_findings")
echo "# hardened: '$got'"
for c in $planted hba_open_to_all; do
  case " $got " in *" $c "*) ok 1 "hardened configuration: $c still reported";; *) ok 0 "hardened configuration: no $c";; esac
done
is "$got" "" "the hardened configuration has no security finding at all"
unset PGPASSWORD
done_testing
