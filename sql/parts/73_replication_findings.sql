-- Replication and high-availability findings, from pg_stat_replication,
-- pg_replication_slots, pg_stat_wal_receiver, pg_stat_activity and the
-- settings.  Thresholds are arguments with documented defaults (the view
-- uses the defaults); doc/replicas-and-security.md lists them.
--
--   no_standby                 a primary with no streaming standby
--   replication_lag_bytes      a standby's replay position more than
--                              lag_bytes (default 64 MB) behind
--   replication_lag_time       a standby's replay_lag above lag_time (1 min)
--   slot_retains_wal           a slot (inactive, or lagging) holding back more
--                              than slot_retained_bytes (64 MB) of WAL; the
--                              risk to disk is judged by max_slot_wal_keep_size
--                              and wal_status
--   slot_wal_unbounded         replication slots exist and
--                              max_slot_wal_keep_size = -1 (a dead consumer
--                              can fill the disk)
--   sync_standby_missing       synchronous_standby_names names standbys but
--                              fewer synchronous ones are connected: commits
--                              that wait for them hang
--   sync_commit_not_waiting    synchronous_standby_names is set but
--                              synchronous_commit is off or local
--   sync_commit_without_standby synchronous_commit asks for remote_write /
--                              remote_apply but synchronous_standby_names is
--                              empty (it silently means local)
--   standby_feedback_holds_xmin  hot_standby_feedback of a standby holds the
--                              primary's xmin back by more than
--                              feedback_xmin_age transactions (bloat here)
--   long_standby_queries       on a standby: queries running longer than
--                              long_query (5 min) with hot_standby_feedback
--                              off, or cancelled by recovery conflicts
--   wal_receiver_down          on a standby: no streaming WAL receiver
--   no_pitr                    no WAL archiving and no standby: no
--                              point-in-time recovery, no second copy
--   data_checksums_off         data checksums disabled
--
-- Byte positions of other sessions are shown by pg_stat_replication only to
-- pg_read_all_stats members; for others the lag checks see NULL and stay
-- silent (architect.security_coverage says so for the posture checks).

CREATE FUNCTION architect.replication_findings(
    lag_bytes bigint DEFAULT 64 * 1024 * 1024,
    lag_time interval DEFAULT '1 min',
    slot_retained_bytes bigint DEFAULT 64 * 1024 * 1024,
    long_query interval DEFAULT '5 min',
    feedback_xmin_age bigint DEFAULT 10000000,
    OUT check_name text, OUT severity text, OUT effort text, OUT object text,
    OUT evidence text, OUT recommendation text, OUT ddl text, OUT rollback_ddl text,
    OUT impact numeric)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    standby boolean := pg_is_in_recovery();
    cur_lsn pg_lsn;
    nstandbys int;
    nslots int;
    keep text := current_setting('max_slot_wal_keep_size');
    ssn text := current_setting('synchronous_standby_names');
    sc text := current_setting('synchronous_commit');
    archiving boolean;
BEGIN
    IF lag_bytes IS NULL OR lag_bytes < 0 OR slot_retained_bytes IS NULL OR slot_retained_bytes < 0
       OR lag_time IS NULL OR long_query IS NULL OR feedback_xmin_age IS NULL THEN
        RAISE EXCEPTION 'replication_findings thresholds must be non-negative and not null'
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Call it without arguments for the documented defaults.';
    END IF;
    cur_lsn := CASE WHEN standby THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
                    ELSE pg_current_wal_lsn() END;
    SELECT count(*) INTO nstandbys FROM pg_stat_replication r WHERE r.state = 'streaming';
    SELECT count(*) INTO nslots FROM pg_replication_slots;
    archiving := current_setting('archive_mode') <> 'off'
                 AND (current_setting('archive_command') NOT IN ('', '(disabled)')
                      OR coalesce(current_setting('archive_library', true), '') <> '');

    IF NOT standby AND nstandbys = 0 THEN
        RETURN QUERY SELECT 'no_standby'::text, 'medium'::text, 'high'::text, 'server'::text,
            format('no streaming standby is connected (pg_stat_replication has no row in state streaming); %s replication slot(s)', nslots),
            'Run at least one streaming standby (pg_basebackup -R) so that a failed server or disk is a failover, not a restore; check its connection if one should be there.',
            NULL::text, NULL::text, 0::numeric;
    END IF;

    -- lag per standby (columns are NULL for callers without pg_read_all_stats)
    RETURN QUERY
    SELECT 'replication_lag_bytes', CASE WHEN d.lag >= 16 * lag_bytes THEN 'high' ELSE 'medium' END,
           'medium', format('standby %s (%s)', coalesce(r.application_name, ''), coalesce(r.client_addr::text, 'local')),
           format('replay position %s behind (sent %s, replayed %s, state %s, sync %s)',
                  pg_size_pretty(d.lag), r.sent_lsn, r.replay_lsn, r.state, r.sync_state),
           'Find what slows the standby (I/O, long replay conflicts, network); a lagging synchronous standby slows every commit, a lagging asynchronous one loses that much on failover.',
           NULL::text, NULL::text, d.lag
      FROM pg_stat_replication r
      CROSS JOIN LATERAL (SELECT pg_wal_lsn_diff(cur_lsn, r.replay_lsn) AS lag) d
     WHERE NOT standby AND d.lag > lag_bytes;

    RETURN QUERY
    SELECT 'replication_lag_time', CASE WHEN r.replay_lag >= 10 * lag_time THEN 'high' ELSE 'medium' END,
           'medium', format('standby %s (%s)', coalesce(r.application_name, ''), coalesce(r.client_addr::text, 'local')),
           format('replay lag %s (write %s, flush %s)', r.replay_lag, r.write_lag, r.flush_lag),
           'Readers of this standby see data that old; find what slows replay (I/O, conflicts with long queries, max_standby_streaming_delay).',
           NULL::text, NULL::text, extract(epoch FROM r.replay_lag)::numeric
      FROM pg_stat_replication r
     WHERE r.replay_lag > lag_time;

    -- slots holding WAL back
    RETURN QUERY
    SELECT 'slot_retains_wal',
           CASE WHEN s.wal_status IN ('unreserved', 'lost') THEN 'critical'
                WHEN NOT s.active AND keep = '-1' THEN 'high'
                ELSE 'medium' END,
           'low', format('replication slot %s', s.slot_name),
           format('%s slot %s (%s) retains %s of WAL%s; wal_status %s, max_slot_wal_keep_size %s%s',
                  s.slot_type, quote_literal(s.slot_name),
                  CASE WHEN s.active THEN 'active, lagging' ELSE 'inactive' END,
                  pg_size_pretty(d.retained),
                  CASE WHEN s.slot_type = 'logical' THEN ' for database ' || s.database ELSE '' END,
                  coalesce(s.wal_status, '?'),
                  CASE WHEN keep = '-1' THEN 'unbounded: pg_wal grows until the disk is full'
                       ELSE keep || ', safe for ' || coalesce(pg_size_pretty(s.safe_wal_size), '?') || ' more' END,
                  CASE WHEN s.xmin IS NOT NULL OR s.catalog_xmin IS NOT NULL
                       THEN format(' (also holds back vacuum: xmin %s, catalog_xmin %s)', s.xmin, s.catalog_xmin)
                       ELSE '' END),
           CASE WHEN s.active THEN 'The consumer is connected but behind: find what slows it; bound the damage with max_slot_wal_keep_size.'
                ELSE 'If the standby or consumer is gone for good, drop the slot; otherwise bring it back soon. Bound the damage with max_slot_wal_keep_size.' END,
           CASE WHEN NOT s.active THEN format('SELECT pg_drop_replication_slot(%L)', s.slot_name) END,
           CASE WHEN NOT s.active AND s.slot_type = 'physical'
                THEN format('SELECT pg_create_physical_replication_slot(%L, true)', s.slot_name) END,
           d.retained
      FROM pg_replication_slots s
      CROSS JOIN LATERAL (SELECT pg_wal_lsn_diff(cur_lsn, s.restart_lsn) AS retained) d
     WHERE s.restart_lsn IS NOT NULL AND d.retained > slot_retained_bytes;

    IF nslots > 0 AND keep = '-1' THEN
        RETURN QUERY SELECT 'slot_wal_unbounded', 'medium', 'low', 'max_slot_wal_keep_size',
            format('%s replication slot(s) and max_slot_wal_keep_size = -1: a consumer that stops keeps all WAL since its position, without limit', nslots),
            'Set max_slot_wal_keep_size to what pg_wal may hold (below the free space of its volume); a slot past it is invalidated instead of filling the disk.',
            'ALTER SYSTEM SET max_slot_wal_keep_size = ''10GB''; SELECT pg_reload_conf();',
            'ALTER SYSTEM RESET max_slot_wal_keep_size; SELECT pg_reload_conf();',
            nslots::numeric;
    END IF;

    -- synchronous replication
    IF NOT standby AND ssn <> '' THEN
        IF sc IN ('off', 'local') THEN
            RETURN QUERY SELECT 'sync_commit_not_waiting', 'medium', 'low', 'synchronous_commit',
                format('synchronous_standby_names = %L but synchronous_commit = %s: commits do not wait for the standbys', ssn, sc),
                'Set synchronous_commit = on (or remote_apply) where a commit must survive the loss of the primary, or clear synchronous_standby_names.',
                'ALTER SYSTEM SET synchronous_commit = on; SELECT pg_reload_conf();',
                format('ALTER SYSTEM SET synchronous_commit = %L; SELECT pg_reload_conf();', sc), 0::numeric;
        ELSIF NOT EXISTS (SELECT 1 FROM pg_stat_replication r WHERE r.sync_state IN ('sync', 'quorum')) THEN
            RETURN QUERY SELECT 'sync_standby_missing', 'critical', 'medium', 'synchronous_standby_names',
                format('synchronous_standby_names = %L and synchronous_commit = %s, but no synchronous standby is connected: commits wait forever', ssn, sc),
                'Bring a named standby back, or take it out of synchronous_standby_names (reload) to let commits through.',
                NULL::text, NULL::text, 0::numeric;
        END IF;
    ELSIF NOT standby AND sc IN ('remote_write', 'remote_apply') THEN
        RETURN QUERY SELECT 'sync_commit_without_standby', 'low', 'low', 'synchronous_commit',
            format('synchronous_commit = %s but synchronous_standby_names is empty: commits wait for the local flush only', sc),
            'Name the standbys that must confirm (synchronous_standby_names), or set synchronous_commit = on to say what it does.',
            NULL::text, NULL::text, 0::numeric;
    END IF;

    -- hot_standby_feedback: bloat on the primary ...
    RETURN QUERY
    SELECT 'standby_feedback_holds_xmin', 'medium', 'medium',
           format('standby %s', coalesce(r.application_name, r.client_addr::text, '?')),
           format('hot_standby_feedback of this standby holds xmin %s, %s transactions old: vacuum on the primary cannot remove rows newer than that',
                  r.backend_xmin, age(r.backend_xmin)),
           'Find the long query on that standby (pg_stat_activity there) and end it, or set statement_timeout for its readers.',
           NULL::text, NULL::text, age(r.backend_xmin)::numeric
      FROM pg_stat_replication r
     WHERE r.backend_xmin IS NOT NULL AND age(r.backend_xmin) > feedback_xmin_age;

    -- ... and query cancellations on the standby
    IF standby THEN
        RETURN QUERY
        SELECT 'long_standby_queries', 'medium', 'low', 'hot_standby_feedback',
               format('%s queries running longer than %s with hot_standby_feedback = %s (max_standby_streaming_delay %s); %s queries of this database cancelled by snapshot conflicts',
                      l.n, long_query, current_setting('hot_standby_feedback'),
                      current_setting('max_standby_streaming_delay'), coalesce(c.confl_snapshot, 0)),
               'Long reports on a standby are cancelled by replay conflicts: turn hot_standby_feedback on (costs bloat on the primary) or raise max_standby_streaming_delay (costs staleness).',
               'ALTER SYSTEM SET hot_standby_feedback = on; SELECT pg_reload_conf();',
               'ALTER SYSTEM RESET hot_standby_feedback; SELECT pg_reload_conf();',
               l.n::numeric
          FROM (SELECT count(*) AS n FROM pg_stat_activity a
                 WHERE a.state = 'active' AND a.backend_type = 'client backend'
                   AND now() - a.query_start > long_query) l
          LEFT JOIN pg_stat_database_conflicts c ON c.datname = current_database()
         WHERE current_setting('hot_standby_feedback') = 'off'
           AND (l.n > 0 OR coalesce(c.confl_snapshot, 0) > 0);

        IF NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver w WHERE w.status = 'streaming') THEN
            RETURN QUERY SELECT 'wal_receiver_down', 'high', 'medium', 'pg_stat_wal_receiver',
                'this standby has no streaming WAL receiver: it replays only archived WAL, if any, and falls behind',
                'Check primary_conninfo and the primary''s pg_hba.conf; the server log says why the receiver stopped.',
                NULL::text, NULL::text, 0::numeric;
        END IF;
    END IF;

    IF NOT standby AND NOT archiving AND nstandbys = 0 THEN
        RETURN QUERY SELECT 'no_pitr', 'high', 'high', 'archive_mode',
            format('archive_mode = %s and no standby: no point-in-time recovery and no second copy of the data', current_setting('archive_mode')),
            'Archive WAL (archive_mode = on with pgBackRest, Barman or wal-g) and take base backups; a restart is needed for archive_mode.',
            'ALTER SYSTEM SET archive_mode = on; -- and archive_command / archive_library, then restart',
            'ALTER SYSTEM RESET archive_mode;', 0::numeric;
    END IF;

    IF current_setting('data_checksums') = 'off' THEN
        RETURN QUERY SELECT 'data_checksums_off', 'low', 'high', 'data_checksums',
            'data checksums are off: silent corruption on disk is not detected when pages are read',
            'Enable them with pg_checksums --enable on the stopped cluster (or on a standby before a switchover); initdb --data-checksums for new clusters.',
            NULL::text, NULL::text, 0::numeric;
    END IF;
END
$fn$;

COMMENT ON FUNCTION architect.replication_findings(bigint, interval, bigint, interval, bigint) IS
  'Replication and HA findings: standbys, lag, slots retaining WAL, synchronous commit, standby feedback, archiving, checksums';

CREATE VIEW architect.replication_findings AS
  SELECT * FROM architect.replication_findings();

GRANT SELECT ON architect.replication_findings TO PUBLIC;
