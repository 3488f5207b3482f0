#!/usr/bin/env bash
# Advice from pg_stat_statements on an instance where pg_architect is not
# preloaded (a managed service): normalised texts, typed literals included.
source "$(dirname "$0")/lib.sh"

PGA_PRELOAD=0 PGA_PRELOAD_LIBS=pg_stat_statements start_cluster
q -c "CREATE EXTENSION pg_architect"
err=$(psql -X -q -A -t -c "SELECT * FROM architect.advise_pg_stat_statements()" 2>&1)
case "$err" in *"pg_stat_statements is not installed"*) ok 0 "a clear error when pg_stat_statements is missing";; *) ok 1 "missing pgss (got: $err)";; esac
q -c "CREATE EXTENSION pg_stat_statements"
q -c "CREATE TABLE ev (id int PRIMARY KEY, account int NOT NULL, at timestamptz NOT NULL, kind text NOT NULL);
      INSERT INTO ev SELECT i, i % 3000, timestamptz '2024-01-01' + i * interval '1 minute', 'k' || (i % 3)
        FROM generate_series(1, 60000) i"
q -c "VACUUM ANALYZE ev"
q -c "SELECT pg_stat_statements_reset()" >/dev/null
for i in $(seq 1 30); do
  q -c "SELECT count(*) FROM ev WHERE account = $i AND at > timestamptz '2024-01-20' - interval '3 days'" >/dev/null
  q -c "SELECT * FROM ev WHERE kind = 'k1' ORDER BY id LIMIT 5" >/dev/null
done
is "$(q -c "SELECT count(*) FROM pg_stat_statements WHERE query ~ 'timestamptz \\\$'")" "1" \
   "pg_stat_statements normalised the typed literals into 'timestamptz \$n'"
out=$(psql -X -q -A -t -F'|' -c "SELECT columns::text, improved_queryids = ARRAY[(SELECT queryid FROM pg_stat_statements WHERE query ~ 'account')]
                                    FROM architect.advise_pg_stat_statements()" 2>&1)
is "$out" "{account,at}|t" "the statement with typed literals is advised: (account, at), with its pg_stat_statements queryid"
case "$out" in *skipped*) ok 1 "no statement skipped";; *) ok 0 "no statement skipped";; esac
err=$(psql -X -q -A -t -c "SELECT * FROM architect.advise_pg_stat_statements(0)" 2>&1)
case "$err" in *"max_statements must be a positive number"*) ok 0 "max_statements is checked";; *) ok 1 "max_statements (got: $err)";; esac
done_testing
