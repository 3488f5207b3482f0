-- DDL guard: the dry run of a migration and the log of recent DDL.
--
-- check_ddl only parses and reads the catalog (it never executes the text),
-- so it is open to everybody, like EXPLAIN.  ddl_log shows statement text:
-- readable by pg_monitor, with other roles' statements hidden unless the
-- reader is a superuser or member of pg_read_all_stats (as in
-- pg_stat_statements).

CREATE FUNCTION architect.check_ddl(
    sql text,
    OUT statement_no integer,
    OUT statement text,
    OUT relation text,
    OUT lock_mode text,
    OUT rewrites_table boolean,
    OUT scans_table boolean,
    OUT blocks_reads boolean,
    OUT blocks_writes boolean,
    OUT relation_bytes bigint,
    OUT risk text,
    OUT reason text,
    OUT safer_alternative text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'architect_check_ddl'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION architect.check_ddl(text) IS
  'Dry run of a migration: per statement and relation, the lock taken, rewrite / full scan, what it blocks, risk and a safer alternative; executes nothing';

CREATE FUNCTION architect.ddl_log(
    OUT logged_at timestamptz,
    OUT userid oid,
    OUT role_name text,
    OUT dbid oid,
    OUT statement text,
    OUT relation text,
    OUT lock_mode text,
    OUT rewrites_table boolean,
    OUT risk text,
    OUT action text,
    OUT duration_ms double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'architect_ddl_log'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW architect.ddl_log AS
  SELECT logged_at, userid, role_name, dbid, statement, relation, lock_mode,
         rewrites_table, risk, action, duration_ms
    FROM architect.ddl_log();

COMMENT ON VIEW architect.ddl_log IS
  'Recent DDL (a bounded ring in shared memory; needs shared_preload_libraries): when, who, the lock, rewrite, risk, what the guard did, duration';

REVOKE ALL ON FUNCTION architect.ddl_log() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION architect.ddl_log() TO pg_monitor;
REVOKE ALL ON architect.ddl_log FROM PUBLIC;
GRANT SELECT ON architect.ddl_log TO pg_monitor;
