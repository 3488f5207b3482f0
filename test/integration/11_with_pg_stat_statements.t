#!/usr/bin/env bash
# pg_architect next to pg_stat_statements: both hooks chained, both count the
# same executions, and query ids join between the two views.
source "$(dirname "$0")/lib.sh"

PGA_PRELOAD_LIBS="pg_stat_statements,pg_architect" start_cluster
q -c "CREATE EXTENSION pg_architect; CREATE EXTENSION pg_stat_statements"
q -c "CREATE TABLE both_t (id int PRIMARY KEY, v int); INSERT INTO both_t SELECT g, g FROM generate_series(1, 100) g"
for i in $(seq 1 12); do q -c "SELECT v AS both_probe FROM both_t WHERE id = $i" >/dev/null; done
is "$(q -c "SELECT a.calls || '/' || s.calls FROM architect.statements a JOIN pg_stat_statements s
              ON s.queryid = a.queryid AND s.userid = a.userid AND s.dbid = a.dbid AND s.toplevel = a.toplevel
             WHERE a.query LIKE '%both_probe%' AND a.query NOT LIKE '%architect%'")" "12/12" \
   "both extensions count the 12 executions under the same query id"
is "$(q -c "SELECT a.rows = s.rows FROM architect.statements a JOIN pg_stat_statements s USING (queryid, userid, dbid, toplevel)
             WHERE a.query LIKE '%both_probe%' AND a.query NOT LIKE '%architect%'")" "t" "and the same rows"
pgbench -q -i -s 1 >/dev/null 2>&1 && pgbench -n -S -c 2 -T 3 >/dev/null 2>&1; ok $? "pgbench runs with both preloaded"
is "$(q -c "SELECT count(*) > 0 FROM architect.statements a JOIN pg_stat_statements s USING (queryid, userid, dbid, toplevel)
             WHERE s.query LIKE 'SELECT abalance%'")" "t" "pgbench's statement joins between the two views"
done_testing
