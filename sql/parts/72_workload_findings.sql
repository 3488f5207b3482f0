-- Workload findings: what the running system shows, from the cumulative
-- statistics views and, when workload capture is installed, from
-- architect.statements.
--
--   connections_near_max      client backends >= 80 % of max_connections
--                             minus superuser_reserved_connections
--   idle_in_transaction       sessions idle in a transaction longer than
--                             idle_in_transaction_after (default 5 min)
--   old_prepared_transaction  a prepared transaction pending longer than that
--   inactive_replication_slot a replication slot nobody consumes (retained WAL)
--   autovacuum_lag            dead rows above the table's autovacuum
--                             threshold (reloptions honoured) and >= 1000
--   temp_spill_database       temp files written in this database
--   low_cache_hit_database    buffer hit ratio below 95 % over >= 100000 reads
--   temp_spill_statement      captured statements writing temp blocks
--   low_cache_hit_statement   captured statements reading >= 10000 blocks from
--                             outside shared buffers at < 90 % hit ratio
--
-- The statement checks run only when architect.statements exists and the
-- caller may read it (to_regclass + has_table_privilege, dynamic SQL), so
-- this part installs and works on a server without capture.  Sessions of
-- other roles show their state only to pg_read_all_stats members, as in
-- pg_stat_activity; tables only to roles with a privilege on them.
-- Statement findings are those of this database whose text the reader may
-- see (architect.statements hides the others' query id); one per query
-- id, role and nesting, so that finding ids stay unique.

CREATE FUNCTION architect.workload_findings(
    idle_in_transaction_after interval DEFAULT '5 min',
    OUT check_name text, OUT severity text, OUT effort text, OUT object_type text,
    OUT object text, OUT relation regclass, OUT evidence text,
    OUT recommendation text, OUT ddl text, OUT rollback_ddl text, OUT impact numeric)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    stmts regclass := to_regclass('architect.statements');
BEGIN
    IF idle_in_transaction_after IS NULL OR idle_in_transaction_after < interval '0' THEN
        RAISE EXCEPTION 'idle_in_transaction_after must be a non-negative interval'
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Pass an interval such as ''5 min''.';
    END IF;

    -- connections
    RETURN QUERY
    WITH c AS (
      SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS used,
             current_setting('max_connections')::int
               - current_setting('superuser_reserved_connections')::int AS usable
        FROM pg_stat_activity)
    SELECT 'connections_near_max', CASE WHEN c.used >= 0.9 * c.usable THEN 'critical' ELSE 'high' END,
           'medium', 'server', 'max_connections', NULL::regclass,
           format('%s client connections of %s usable (max_connections %s, superuser_reserved_connections %s)',
                  c.used, c.usable, current_setting('max_connections'),
                  current_setting('superuser_reserved_connections')),
           'Put a connection pooler (pgbouncer in transaction mode) in front of the server, or find who holds idle connections; raising max_connections costs memory per backend and needs a restart.',
           NULL::text, NULL::text, round(100.0 * c.used / greatest(c.usable, 1), 1)
      FROM c
     WHERE c.used >= 0.8 * c.usable;

    -- long idle-in-transaction sessions (state is visible as pg_stat_activity allows)
    RETURN QUERY
    SELECT 'idle_in_transaction',
           CASE WHEN now() - a.state_change >= 10 * idle_in_transaction_after
                     AND now() - a.state_change >= interval '1 hour' THEN 'high' ELSE 'medium' END,
           'low', 'session', format('pid %s', a.pid), NULL::regclass,
           format('session pid %s (user %s, database %s, application %s) is %s for %s; transaction open for %s; it holds its locks and the xmin horizon, so vacuum cannot remove dead rows',
                  a.pid, coalesce(a.usename::text, '?'), coalesce(a.datname::text, '?'),
                  coalesce(nullif(a.application_name, ''), '-'), a.state,
                  justify_interval(date_trunc('second', now() - a.state_change)),
                  justify_interval(date_trunc('second', now() - a.xact_start))),
           'Fix the application (commit or roll back promptly) and set idle_in_transaction_session_timeout; end this session if it is stuck.',
           format('SELECT pg_terminate_backend(%s)', a.pid), NULL::text,
           extract(epoch FROM now() - a.state_change)::numeric
      FROM pg_stat_activity a
     WHERE a.state IN ('idle in transaction', 'idle in transaction (aborted)')
       AND a.pid <> pg_backend_pid()
       AND now() - a.state_change >= idle_in_transaction_after;

    -- prepared transactions left behind: they hold locks and the xmin horizon
    -- across restarts until someone commits or rolls them back
    RETURN QUERY
    SELECT 'old_prepared_transaction', 'high', 'low', 'prepared transaction', quote_literal(p.gid),
           NULL::regclass,
           format('transaction %L (xid %s, owner %s, database %s) was prepared %s ago and is still pending: it holds its locks and the xmin horizon, also across restarts',
                  p.gid, p.transaction, p.owner, p.database,
                  justify_interval(date_trunc('second', now() - p.prepared))),
           'Find the transaction manager that owns it and let it finish; if it is truly orphaned, roll it back (or commit it) by hand.',
           format('ROLLBACK PREPARED %L', p.gid), NULL::text,
           extract(epoch FROM now() - p.prepared)::numeric
      FROM pg_prepared_xacts p
     WHERE now() - p.prepared >= idle_in_transaction_after
       AND (pg_has_role('pg_read_all_stats', 'USAGE') OR pg_has_role(p.owner, 'USAGE'));

    -- replication slots nobody consumes: WAL piles up (and catalog xmin is held)
    RETURN QUERY
    SELECT 'inactive_replication_slot',
           CASE WHEN pg_wal_lsn_diff(pg_current_wal_lsn(), r.restart_lsn) >= 1073741824 THEN 'high' ELSE 'medium' END,
           'low', 'replication slot', quote_literal(r.slot_name), NULL::regclass,
           format('%s slot %L is inactive and retains %s of WAL%s%s',
                  r.slot_type, r.slot_name,
                  pg_size_pretty(coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), r.restart_lsn), 0)),
                  CASE WHEN r.xmin IS NOT NULL OR r.catalog_xmin IS NOT NULL
                       THEN format(', holds xmin %s / catalog xmin %s', r.xmin, r.catalog_xmin) ELSE '' END,
                  CASE WHEN r.wal_status IS NOT NULL THEN format(' (wal_status %s)', r.wal_status) ELSE '' END),
           'If its consumer is gone for good, drop the slot; otherwise bring the consumer back, and bound the damage with max_slot_wal_keep_size.',
           format('SELECT pg_drop_replication_slot(%L)', r.slot_name), NULL::text,
           coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), r.restart_lsn), 0)::numeric
      FROM pg_replication_slots r
     WHERE NOT r.active AND NOT r.temporary
       AND pg_has_role('pg_read_all_stats', 'USAGE')
       AND NOT pg_is_in_recovery();

    -- autovacuum lag
    RETURN QUERY
    WITH t AS (
      SELECT s.relid, s.n_dead_tup, s.n_live_tup, s.last_autovacuum, s.last_vacuum,
             format('%I.%I', s.schemaname, s.relname) AS qname,
             coalesce((SELECT split_part(o, '=', 2)::numeric FROM unnest(c.reloptions) o
                        WHERE o LIKE 'autovacuum_vacuum_threshold=%'),
                      current_setting('autovacuum_vacuum_threshold')::numeric)
             + coalesce((SELECT split_part(o, '=', 2)::numeric FROM unnest(c.reloptions) o
                          WHERE o LIKE 'autovacuum_vacuum_scale_factor=%'),
                        current_setting('autovacuum_vacuum_scale_factor')::numeric)
               * greatest(c.reltuples, 0) AS threshold
        FROM pg_stat_user_tables s
        JOIN pg_class c ON c.oid = s.relid
       WHERE architect._can_see(s.relid, c.relkind)
         AND s.schemaname <> 'architect')
    SELECT 'autovacuum_lag',
           CASE WHEN t.n_dead_tup >= 100000 AND t.n_dead_tup >= t.n_live_tup THEN 'high' ELSE 'medium' END,
           'low', 'table', t.qname, t.relid::regclass,
           format('table %s has %s dead rows (%s live) above its autovacuum threshold of %s; last autovacuum %s, last vacuum %s',
                  t.qname, t.n_dead_tup, t.n_live_tup, round(t.threshold),
                  coalesce(to_char(t.last_autovacuum, 'YYYY-MM-DD HH24:MI:SS TZ'), 'never'),
                  coalesce(to_char(t.last_vacuum, 'YYYY-MM-DD HH24:MI:SS TZ'), 'never')),
           'Vacuum it now, then make autovacuum keep up: check autovacuum is on, raise autovacuum_max_workers or autovacuum_vacuum_cost_limit, lower the table''s scale factor, and look for long transactions holding the xmin horizon.',
           format('VACUUM (VERBOSE, ANALYZE) %s', t.qname), NULL::text,
           t.n_dead_tup::numeric
      FROM t
     WHERE t.n_dead_tup > t.threshold AND t.n_dead_tup >= 1000;

    -- database-wide temp spills and cache hit
    RETURN QUERY
    SELECT 'temp_spill_database', CASE WHEN d.temp_bytes >= 1073741824 THEN 'medium' ELSE 'low' END,
           'low', 'database', quote_ident(d.datname), NULL::regclass,
           format('%s temp files, %s written to disk by sorts and hashes in database %I since %s',
                  d.temp_files, pg_size_pretty(d.temp_bytes), d.datname,
                  coalesce(to_char(d.stats_reset, 'YYYY-MM-DD HH24:MI:SS TZ'), 'statistics began')),
           'Find the statements that spill (architect.statements.temp_blks_written) and give them more work_mem (SET LOCAL work_mem in the session or per role), or make them sort less.',
           NULL::text, NULL::text, d.temp_bytes::numeric
      FROM pg_stat_database d
     WHERE d.datname = current_database() AND d.temp_files > 0;

    RETURN QUERY
    SELECT 'low_cache_hit_database', CASE WHEN d.blks_hit < 0.8 * (d.blks_hit + d.blks_read) THEN 'medium' ELSE 'low' END,
           'medium', 'database', quote_ident(d.datname), NULL::regclass,
           format('buffer cache hit ratio %s %% in database %I (%s hits, %s reads) since %s',
                  round(100.0 * d.blks_hit / nullif(d.blks_hit + d.blks_read, 0), 2), d.datname, d.blks_hit, d.blks_read,
                  coalesce(to_char(d.stats_reset, 'YYYY-MM-DD HH24:MI:SS TZ'), 'statistics began')),
           'The working set does not fit in shared_buffers: look at the statements with the most shared_blks_read, add the indexes they miss, or give shared_buffers more memory.',
           NULL::text, NULL::text, d.blks_read::numeric
      FROM pg_stat_database d
     WHERE d.datname = current_database()
       AND d.blks_hit + d.blks_read >= 100000
       AND d.blks_hit < 0.95 * (d.blks_hit + d.blks_read);

    -- per statement, from capture when it is installed and readable
    IF stmts IS NOT NULL AND has_table_privilege(stmts, 'SELECT') THEN
        BEGIN
            RETURN QUERY EXECUTE format($q$
              SELECT 'temp_spill_statement'::text,
                     CASE WHEN s.temp_blks_written >= 131072 THEN 'medium' ELSE 'low' END::text,
                     'low'::text, 'statement'::text, format('queryid %%s (role %%s%%s)', s.queryid, coalesce(pg_get_userbyid(s.userid)::text, s.userid::text), CASE WHEN NOT s.toplevel THEN ', nested' ELSE '' END), NULL::regclass,
                     format('statement %%s wrote %%s temp blocks (%%s) over %%s calls, mean %%s: %%s',
                            s.queryid, s.temp_blks_written, pg_size_pretty(s.temp_blks_written::bigint * 8192),
                            s.calls, architect._ms(s.mean_ms::numeric),
                            left(regexp_replace(s.query, '\s+', ' ', 'g'), 200)),
                     'Give it more work_mem (SET LOCAL work_mem), or an index that returns rows in the wanted order.'::text,
                     NULL::text, NULL::text, s.temp_blks_written::numeric
                FROM %s s
               WHERE s.temp_blks_written > 0
                 AND s.queryid IS NOT NULL AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
               ORDER BY s.temp_blks_written DESC
               LIMIT 20 $q$, stmts);
            RETURN QUERY EXECUTE format($q$
              SELECT 'low_cache_hit_statement'::text,
                     CASE WHEN s.shared_blks_read >= 1000000 THEN 'medium' ELSE 'low' END::text,
                     'medium'::text, 'statement'::text, format('queryid %%s (role %%s%%s)', s.queryid, coalesce(pg_get_userbyid(s.userid)::text, s.userid::text), CASE WHEN NOT s.toplevel THEN ', nested' ELSE '' END), NULL::regclass,
                     format('statement %%s read %%s blocks from outside shared buffers (hit ratio %%s %%%%) over %%s calls: %%s',
                            s.queryid, s.shared_blks_read,
                            round(100.0 * s.shared_blks_hit / nullif(s.shared_blks_hit + s.shared_blks_read, 0), 2),
                            s.calls, left(regexp_replace(s.query, '\s+', ' ', 'g'), 200)),
                     'Check its plan: a missing index often turns into large reads (see architect.index_advice).'::text,
                     NULL::text, NULL::text, s.shared_blks_read::numeric
                FROM %s s
               WHERE s.shared_blks_read >= 10000
                 AND s.queryid IS NOT NULL AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                 AND s.shared_blks_hit < 0.9 * (s.shared_blks_hit + s.shared_blks_read)
               ORDER BY s.shared_blks_read DESC
               LIMIT 20 $q$, stmts);
        EXCEPTION WHEN undefined_column OR undefined_function OR datatype_mismatch THEN
            RAISE WARNING 'architect.statements does not have the documented columns: %', SQLERRM
                  USING HINT = 'The statement checks were skipped; the other findings are complete.';
        END;
    END IF;
END
$fn$;

COMMENT ON FUNCTION architect.workload_findings(interval) IS
  'Workload findings: connections near max, idle-in-transaction sessions, autovacuum lag, temp spills and cache hit (database, and per statement when capture exists)';

CREATE VIEW architect.workload_findings AS
  SELECT * FROM architect.workload_findings();

GRANT SELECT ON architect.workload_findings TO PUBLIC;
