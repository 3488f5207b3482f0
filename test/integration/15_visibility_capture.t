#!/usr/bin/env bash
# Issue 12, reproducer 3 and the visibility rule of the capture views, as
# pg_stat_statements: texts with constants (statements.query, plans.plan,
# ddl_log.statement) only for superusers, pg_read_all_stats members and the
# role that ran them; scans and index_usage rows only for the reader's own
# query ids.  Roles: postgres (superuser), app and other (plain, same
# database), far (plain, another database), mon (pg_monitor), stats
# (pg_read_all_stats).
source "$(dirname "$0")/lib.sh"

start_cluster "pg_architect.sample_rate = 1"
q -c "CREATE ROLE app LOGIN" -c "CREATE ROLE other LOGIN" -c "CREATE ROLE far LOGIN" \
  -c "CREATE ROLE mon LOGIN IN ROLE pg_monitor" -c "CREATE ROLE stats LOGIN IN ROLE pg_read_all_stats" \
  -c "CREATE DATABASE appdb" -c "CREATE DATABASE fardb"
q -d appdb -c "CREATE EXTENSION pg_architect"
q -d fardb -c "CREATE EXTENSION pg_architect"
q -d appdb -c "CREATE TABLE vault (id int, secret text); INSERT INTO vault SELECT g, 's' || g FROM generate_series(1, 2000) g;
               GRANT SELECT ON vault TO PUBLIC; CREATE INDEX vault_id ON vault (id); ANALYZE vault"
q -d fardb -c "CREATE TABLE farvault (id int, note text); INSERT INTO farvault SELECT g, 'n' || g FROM generate_series(1, 2000) g;
               GRANT SELECT ON farvault TO PUBLIC; CREATE INDEX farvault_id ON farvault (id); ANALYZE farvault"

# Reproducer 3: other runs the statement first (its plan text carries its
# constant), app runs the same shape with its own value.
q -d appdb -U other -c "SELECT count(*) FROM vault WHERE secret = 'VICTIM-CONSTANT'" >/dev/null
q -d appdb -U other -c "SELECT * FROM vault WHERE id = 4242" >/dev/null
q -d appdb -U app -c "SELECT count(*) FROM vault WHERE secret = 'mine'" >/dev/null
q -d appdb -U app -c "SELECT * FROM vault WHERE id = 17" >/dev/null
q -d fardb -U far -c "SELECT * FROM farvault WHERE id = 99 AND note = 'FAR-CONSTANT'" >/dev/null
q -d appdb -c "GRANT CREATE ON SCHEMA public TO other"
q -d appdb -U other -c "CREATE TABLE other_t (x int)"
q -d appdb -c "SELECT architect.status()" >/dev/null 2>&1

# The constants to look for come from a table, so that neither the text nor
# the plan of a reading statement ever holds them.
q -d appdb -c "CREATE TABLE pat (k text, p text); GRANT SELECT ON pat TO PUBLIC;
               INSERT INTO pat SELECT 'victim', 'VICTIM' || '-CONSTANT'; INSERT INTO pat SELECT 'far', 'FAR' || '-CONSTANT'"
victim() { q -d appdb -U "$1" -c "SELECT count(*) FROM $2, pat WHERE pat.k = 'victim' AND strpos($3::text, pat.p) > 0"; }

is "$(victim app architect.plans plan)" "0" "reproducer 3: app does not see other's constant in architect.plans"
is "$(victim app architect.statements query)" "0" "app does not see other's constant in architect.statements"
is "$(q -d appdb -U app -c "SELECT count(*) FROM architect.plans WHERE plan LIKE '%secret%' AND plan <> '<insufficient privilege>'")" "0" \
   "app sees no plan text of the shape other ran first (the text shows other's execution)"
is "$(q -d appdb -U app -c "SELECT count(*) > 0 FROM architect.plans WHERE plan = '<insufficient privilege>' AND queryid IS NOT NULL")" "t" \
   "app sees that plan's figures and query id (it ran the query), not its text"
is "$(q -d appdb -U app -c "SELECT count(*) FROM architect.statements WHERE query LIKE '%mine%'")" "1" "app sees its own statement text"
is "$(victim other architect.plans plan)" "1" "other sees its own constant in the plan text"
is "$(victim postgres architect.plans plan)" "1" "the superuser sees it"
is "$(victim stats architect.plans plan)" "1" "a pg_read_all_stats member sees it"
is "$(victim mon architect.plans plan)" "1" "a pg_monitor member (pg_read_all_stats through it) sees it"
is "$(victim stats architect.statements query)" "1" "pg_read_all_stats sees other's statement text"
is "$(q -d appdb -U app -c "SELECT count(*) FROM architect.statements WHERE query = '<insufficient privilege>' AND queryid IS NULL")" \
   "$(q -d appdb -U app -c "SELECT count(*) FROM architect.statements WHERE userid <> 'app'::regrole")" \
   "app sees every other role's statement as <insufficient privilege> with a NULL query id"

# far, in another database, sees nothing of appdb, and appdb's plain roles
# nothing of fardb.
is "$(q -d fardb -U far -c "SELECT count(*) FROM architect.statements WHERE query LIKE '%vault WHERE%' AND query NOT LIKE '%farvault%'")" "0" \
   "far (another database) sees no text of appdb"
is "$(q -d appdb -U app -c "SELECT count(*) FROM architect.statements s, pat WHERE pat.k = 'far' AND strpos(s.query, pat.p) > 0")" "0" \
   "app sees no text of fardb"
is "$(q -d appdb -U app -c "SELECT count(*) FROM architect.plans p, pat WHERE pat.k = 'far' AND strpos(p.plan, pat.p) > 0")" "0" \
   "nor plan text of fardb"

# scans and index_usage: only the reader's own query ids.
own_scans() { q -d "$2" -U "$1" -c "SELECT count(*) FROM architect.scans s
    WHERE s.queryid NOT IN (SELECT queryid FROM architect.statements WHERE userid = '$1'::regrole AND dbid = s.dbid AND queryid IS NOT NULL)"; }
is "$(own_scans app appdb)" "0" "app sees scan rows only of the query ids it ran"
is "$(q -d appdb -U app -c "SELECT count(*) FROM architect.scans WHERE relid::oid IN (SELECT oid FROM pg_class WHERE relname = 'farvault')
                              OR dbid <> (SELECT oid FROM pg_database WHERE datname = current_database())")" "0" \
   "app sees no scan of another database"
is "$(q -d appdb -U app -c "SELECT count(*) > 0 FROM architect.scans")" "t" "but sees its own"
is "$(q -d appdb -U postgres -c "SELECT count(DISTINCT dbid) FROM architect.scans")" "2" "the superuser sees the scans of both databases"
is "$(q -d appdb -U stats -c "SELECT count(DISTINCT dbid) FROM architect.scans")" "2" "so does pg_read_all_stats"
is "$(q -d appdb -U app -c "SELECT count(*) FROM architect.index_usage u, unnest(u.queryids) qid
                              WHERE qid NOT IN (SELECT queryid FROM architect.statements WHERE userid = 'app'::regrole AND queryid IS NOT NULL)")" "0" \
   "index_usage shows app only its own query ids"
is "$(q -d appdb -U app -c "SELECT count(*) FROM architect.index_usage WHERE index::text LIKE '%farvault%'")" "0" \
   "index_usage shows app nothing of another database"
is "$(q -d fardb -U far -c "SELECT count(*) FROM architect.index_usage WHERE index::text LIKE 'vault%'")" "0" \
   "far sees no index usage of appdb"

# ddl_log: pg_monitor only; texts for the privileged and the role that ran them.
out=$(q -d appdb -U app -c "SELECT count(*) FROM architect.ddl_log" 2>&1)
case "$out" in *"permission denied"*) ok 0 "a plain role cannot read architect.ddl_log";; *) ok 1 "ddl_log denied (got: $out)";; esac
is "$(q -d appdb -U mon -c "SELECT statement || ' ' || relation FROM architect.ddl_log WHERE role_name = 'other'")" \
   "CREATE TABLE other_t (x int) other_t" "a pg_monitor member reads the DDL text and relation"
done_testing
