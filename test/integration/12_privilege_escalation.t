#!/usr/bin/env bash
# Issue 12, reproducers 1 and 5, run as written: a plain role that owns a
# database plants an IMMUTABLE function that makes its owner superuser when
# it runs as a superuser.  Neither reading the advice (findings, report,
# index_advice) as a superuser or a pg_monitor member, nor a dry run of DDL
# (check_ddl) or the live DDL guard, may run it as anyone but `app`.
source "$(dirname "$0")/lib.sh"

PGA_PRELOAD_LIBS="pg_architect,pg_stat_statements" start_cluster "pg_architect.sample_rate = 1"
q -c "CREATE ROLE app LOGIN" -c "CREATE ROLE mon LOGIN IN ROLE pg_monitor" -c "CREATE DATABASE appdb OWNER app"
q -d appdb -c "CREATE EXTENSION pg_architect" -c "CREATE EXTENSION pg_stat_statements"
q -d appdb -c "CREATE SCHEMA evil AUTHORIZATION app"
# who ran app's code: every call records current_user (the table is app's)
psql -X -q -v ON_ERROR_STOP=1 -d appdb -U app <<'SQL'
CREATE TABLE evil.ran_as (who name, at timestamptz DEFAULT clock_timestamp());
GRANT INSERT, SELECT ON evil.ran_as TO PUBLIC;
CREATE FUNCTION evil.escalate() RETURNS int LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  INSERT INTO evil.ran_as (who) VALUES (current_user);
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE 'ALTER ROLE app SUPERUSER';
  END IF;
  RETURN 1;
END $$;
CREATE FUNCTION evil.f(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN PERFORM evil.escalate(); RETURN x; END $$;
CREATE TABLE evil.t AS SELECT g AS a, md5(g::text) AS b FROM generate_series(1, 50000) g;
ANALYZE evil.t;
-- reproducer 5: a CHECK constraint that calls app's function
-- (a constant argument: folding the constraint calls the function)
CREATE TABLE evil.c (a int CHECK (a <> evil.f(0)));
INSERT INTO evil.c VALUES (1);
SQL
q -d appdb -c "TRUNCATE evil.ran_as"
for i in 1 2 3 4 5; do
  q -d appdb -U app -c "SELECT count(*) FROM evil.t WHERE a = evil.f(12345)" >/dev/null
done
is "$(q -d appdb -c "SELECT count(*) > 0 FROM architect.statements WHERE query LIKE '%evil.f(12345)%'")" "t" \
   "app's statement was captured"
q -d appdb -c "TRUNCATE evil.ran_as"

notsuper() { q -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'app'"; }
others() { q -d appdb -c "SELECT coalesce(string_agg(DISTINCT who::text, ','), '') FROM evil.ran_as WHERE who <> 'app'"; }

# Reproducer 1: a superuser reads the findings, the report, the advice.
q -d appdb -c "SELECT count(*) FROM architect.findings" >/dev/null 2>&1
ok $? "a superuser reads architect.findings in appdb"
q -d appdb -c "SELECT architect.report()" >/dev/null 2>&1
ok $? "a superuser runs architect.report() in appdb"
adv=$(q -d appdb -c "SELECT string_agg(reason, ' | ') FROM architect.index_advice" 2>&1)
ok $? "a superuser reads architect.index_advice in appdb"
is "$(notsuper)" "f" "reproducer 1: app is still not superuser after a superuser read findings, report and index_advice"
is "$(others)" "" "reproducer 1: app's code never ran as another role"
is "$(q -d appdb -c "SELECT count(*) > 0 FROM evil.ran_as WHERE who = 'app'")" "t" \
   "the advisor did plan app's statement, as app (its function ran as app)"
case "$adv" in *"(a)"*|*"a) "*|*"evil"*|*"{a}"*|*"cost"*) ok 0 "and advised on it";; *) ok 0 "advice computed (rows: ${adv:-none})";; esac

# The same statement as pg_stat_statements recorded it, advised by a
# superuser and by a pg_monitor member: planned only as app too.
q -d appdb -c "TRUNCATE evil.ran_as"
q -d appdb -c "SELECT count(*) FROM architect.advise_pg_stat_statements()" >/dev/null 2>&1
ok $? "a superuser runs architect.advise_pg_stat_statements() in appdb"
q -d appdb -U mon -c "SELECT count(*) FROM architect.advise_pg_stat_statements()" >/dev/null 2>&1
ok $? "so does a pg_monitor member"
is "$(others)" "" "reproducer 1 through pg_stat_statements: app's code never ran as another role"
is "$(notsuper)" "f" "app is still not superuser"

# A pg_monitor member reads the advice.
q -d appdb -c "TRUNCATE evil.ran_as"
out=$(q -d appdb -U mon -c "SELECT count(*) FROM architect.index_advice" 2>&1)
ok $? "a pg_monitor member reads architect.index_advice ($out)"
is "$(others)" "" "reproducer 1: reading the advice as a pg_monitor member runs app's code only as app"
is "$(notsuper)" "f" "app is still not superuser"

# Variant: a superuser's own captured statement calls app's function, which
# was harmless when it ran; app redefines it afterwards (it can, at any
# time).  Never planned as the superuser, and the advice says so.
q -d appdb -U app -c "CREATE FUNCTION evil.g(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x'"
q -d appdb -U app -c "CREATE VIEW evil.v AS SELECT a FROM evil.t WHERE a = evil.g(4242)"
for i in 1 2 3; do
  q -d appdb -c "SELECT count(*) FROM evil.t WHERE b = md5(evil.g(777)::text)" >/dev/null
  q -d appdb -c "SELECT count(*) FROM evil.v" >/dev/null
done
q -d appdb -U app -c "CREATE OR REPLACE FUNCTION evil.g(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS 'BEGIN PERFORM evil.escalate(); RETURN x; END'"
q -d appdb -c "TRUNCATE evil.ran_as"
out=$(psql -X -q -A -t -d appdb -c "SELECT count(*) FROM architect.index_advice" -c "SET client_min_messages = debug1" \
      -c "SELECT count(*) FROM architect.advise_captured(ARRAY(SELECT queryid FROM architect.statements WHERE query LIKE '%evil.g(777)%'))" 2>&1)
case "$out" in *"not planned: 1 captured statements that would run another role's code"*) ok 0 "a superuser's statement calling app's function is not planned, and that is said";;
  *) ok 1 "superuser statement skipped (got: $out)";; esac
out=$(psql -X -q -A -t -d appdb -c "SET client_min_messages = debug1" \
      -c "SELECT count(*) FROM architect.advise_captured(ARRAY(SELECT queryid FROM architect.statements WHERE query LIKE '%FROM evil.v%'))" 2>&1)
case "$out" in *"not planned: 1 captured statements that would run another role's code"*) ok 0 "a superuser's statement over app's view calling app's function is not planned";;
  *) ok 1 "view statement skipped (got: $out)";; esac
is "$(others)" "" "the superuser's statements calling app's redefined function never ran it as the superuser"
is "$(notsuper)" "f" "app is still not superuser"

# Variant: the superuser's own SQL function (trusted) wraps app's function:
# the static walk sees only the wrapper, planning inlines it and would fold
# app's function; the function-manager backstop refuses the call.
q -d appdb -U app -c "CREATE FUNCTION evil.h(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x'"
q -d appdb -c "CREATE FUNCTION public.wrap(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT evil.h(x)'"
for i in 1 2 3; do q -d appdb -c "SELECT count(*) FROM evil.t WHERE a = public.wrap(31337)" >/dev/null; done
q -d appdb -U app -c "CREATE OR REPLACE FUNCTION evil.h(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS 'BEGIN PERFORM evil.escalate(); RETURN x; END'"
q -d appdb -c "TRUNCATE evil.ran_as"
out=$(psql -X -q -A -t -d appdb -c "SET client_min_messages = debug1" \
      -c "SELECT count(*) FROM architect.advise_captured(ARRAY(SELECT queryid FROM architect.statements WHERE query LIKE '%public.wrap(31337)%'))" 2>&1)
case "$out" in *"would call function evil.h(integer) owned by another role"*) ok 0 "a superuser's function wrapping app's function: the backstop refuses the call while planning";;
  *) ok 1 "wrapper refused (got: $out)";; esac
is "$(others)" "" "app's function behind the superuser's wrapper never ran as the superuser"
is "$(notsuper)" "f" "app is still not superuser"

# Statements of dropped roles are skipped.
q -c "CREATE ROLE gone LOGIN"
q -d appdb -c "GRANT USAGE ON SCHEMA evil TO gone; GRANT SELECT ON evil.t TO gone"
for i in 1 2 3; do q -d appdb -U gone -c "SELECT count(*) FROM evil.t WHERE b = 'zz$i' AND a > 3" >/dev/null; done
q -d appdb -c "REVOKE ALL ON SCHEMA evil FROM gone; REVOKE ALL ON evil.t FROM gone"
q -c "DROP ROLE gone"
out=$(psql -X -q -A -t -d appdb -c "SET client_min_messages = debug1" \
      -c "SELECT count(*) FROM architect.advise_captured(ARRAY(SELECT DISTINCT queryid FROM architect.statements WHERE query LIKE '%zz%'))" 2>&1)
case "$out" in *"0 captured statements that would run another role's code, 1 of dropped roles"*) ok 0 "a dropped role's statement is skipped and counted";;
  *) ok 1 "dropped role skipped (got: $out)";; esac

# Reproducer 5: check_ddl is a true dry run, and so is the live guard.
q -d appdb -c "TRUNCATE evil.ran_as"
q -d appdb -c "SELECT * FROM architect.check_ddl('ALTER TABLE evil.c ALTER COLUMN a SET NOT NULL')" >/dev/null
ok $? "a superuser dry-runs SET NOT NULL on app's table"
is "$(q -d appdb -c "SELECT count(*) FROM evil.ran_as")" "0" "reproducer 5: check_ddl ran none of app's code"
is "$(notsuper)" "f" "reproducer 5: app is still not superuser"
# (core fails in its preparation phase, before it would fold the constraint
# itself: only the guard's classification could have run app's code)
out=$(psql -X -q -d appdb -c "SET pg_architect.ddl_guard_min_size = 0" \
      -c "ALTER TABLE evil.c ALTER COLUMN a SET NOT NULL, ALTER COLUMN nosuch TYPE int" 2>&1)
case "$out" in *'column "nosuch" of relation "c" does not exist'*) ok 0 "core's own error for the ALTER TABLE";; *) ok 1 "core's error (got: $out)";; esac
is "$(q -d appdb -c "SELECT count(*) FROM evil.ran_as")" "0" "the live guard classifies SET NOT NULL without running app's code"
is "$(notsuper)" "f" "app is still not superuser"

done_testing
