-- Merging capture across nodes, with no cluster layer of our own:
--
--   architect.export_stats()                 on any node (a hot standby)
--   architect.import_stats(doc, node_name)   on the primary
--
-- export_stats() returns one self-describing, versioned jsonb document of
-- this node's capture in the current database:
--
--   { "format": "pg_architect.stats", "version": 1,
--     "node": { role, system_identifier, server_version_num, cluster_name,
--               database, exported_at, stats_since, window_is_lower_bound,
--               capture_since },
--     "statements": [ { username, queryid, toplevel, query, calls, errors, rows,
--                       total_ms, mean_ms, min_ms, max_ms, p50_ms, p95_ms, p99_ms,
--                       shared_blks_hit, shared_blks_read, temp_blks_written,
--                       plans, first_seen, last_seen } ],
--     "plans":      [ { queryid, planid, calls, mean_ms, p95_ms, first_seen, last_seen } ],
--     "indexes":    [ { schema_name, table_name, index_name, idx_scan, idx_tup_read,
--                       captured_executions, captured_queryids, last_used } ] }
--
-- Indexes are named, not numbered: oids are equal on a physical standby,
-- but names also survive a logical replica or a dump/restore.  The window
-- (stats_since .. exported_at) is the node's own statistics window, so the
-- primary can tell whether a node's usage overlaps its own window.
--
-- import_stats() validates the whole document before it changes anything
-- (format, version, every key and type it reads; SQLSTATE 22023 with the
-- path of the first bad field), then replaces that node's previous import
-- in one transaction.  It writes tables, so it runs on a primary only.
--
-- Privileges: export_stats() returns texts with constants of every role, so
-- it is granted to pg_read_all_stats only (what pg_stat_statements shows
-- such a role); import_stats() changes state and is revoked from PUBLIC.

CREATE FUNCTION architect.export_stats()
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    db oid := (SELECT d.oid FROM pg_database d WHERE d.datname = current_database());
    stmts jsonb := '[]';
    plns jsonb := '[]';
    idx jsonb;
    sysid numeric;
    win record;
    capture_since timestamptz;
BEGIN
    -- pg_control_system() is not granted to everybody: the identifier is
    -- evidence, not a key, so it may be missing.
    BEGIN
        SELECT c.system_identifier INTO sysid FROM pg_control_system() c;
    EXCEPTION WHEN insufficient_privilege THEN
        sysid := NULL;
    END;

    SELECT w.stats_since, w.window_is_lower_bound INTO win FROM architect._stats_window() w;

    IF to_regclass('architect.statements') IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'username', pg_get_userbyid(s.userid), 'queryid', s.queryid,
                   'toplevel', s.toplevel, 'query', s.query, 'calls', s.calls,
                   'errors', s.errors, 'rows', s.rows, 'total_ms', s.total_ms,
                   'mean_ms', s.mean_ms, 'min_ms', s.min_ms, 'max_ms', s.max_ms,
                   'p50_ms', s.p50_ms, 'p95_ms', s.p95_ms, 'p99_ms', s.p99_ms,
                   'shared_blks_hit', s.shared_blks_hit, 'shared_blks_read', s.shared_blks_read,
                   'temp_blks_written', s.temp_blks_written, 'plans', s.plans,
                   'first_seen', s.first_seen, 'last_seen', s.last_seen)
                   ORDER BY s.total_ms DESC), '[]'),
               min(s.first_seen)
          INTO stmts, capture_since
          FROM architect.statements s
         WHERE s.dbid = db AND s.queryid IS NOT NULL;
    END IF;

    IF to_regclass('architect.plans') IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'queryid', p.queryid, 'planid', p.planid, 'calls', p.calls,
                   'mean_ms', p.mean_ms, 'p95_ms', p.p95_ms,
                   'first_seen', p.first_seen, 'last_seen', p.last_seen)
                   ORDER BY p.queryid, p.planid), '[]')
          INTO plns
          FROM architect.plans p
         WHERE p.dbid = db AND p.queryid IS NOT NULL;
    END IF;

    -- Index usage: the cumulative statistics of this node, plus the sampled
    -- executions capture attributed to each index.
    WITH captured AS (
        SELECT s.index::oid AS indexrelid, sum(s.executions)::bigint AS executions,
               array_agg(DISTINCT s.queryid ORDER BY s.queryid) AS queryids,
               max(s.last_seen) AS last_used
          FROM architect.scans s
         WHERE s.dbid = db AND s.index IS NOT NULL
         GROUP BY s.index)
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'schema_name', i.schemaname, 'table_name', i.relname,
               'index_name', i.indexrelname, 'idx_scan', i.idx_scan,
               'idx_tup_read', i.idx_tup_read,
               'captured_executions', coalesce(c.executions, 0),
               'captured_queryids', coalesce(to_jsonb(c.queryids), '[]'),
               'last_used', c.last_used)
               ORDER BY i.schemaname, i.indexrelname), '[]')
      INTO idx
      FROM pg_stat_user_indexes i
      LEFT JOIN captured c ON c.indexrelid = i.indexrelid;

    RETURN jsonb_build_object(
        'format', 'pg_architect.stats',
        'version', 1,
        'node', jsonb_build_object(
            'role', architect.node_role(),
            'system_identifier', sysid,
            'server_version_num', current_setting('server_version_num')::int,
            'cluster_name', current_setting('cluster_name'),
            'database', current_database(),
            'exported_at', clock_timestamp(),
            'stats_since', win.stats_since,
            'window_is_lower_bound', win.window_is_lower_bound,
            'capture_since', capture_since),
        'statements', stmts,
        'plans', plns,
        'indexes', idx);
END
$fn$;

COMMENT ON FUNCTION architect.export_stats() IS
  'This node''s capture (statements with texts, percentiles, plans summary) and index usage in the current database, as a versioned jsonb document for architect.import_stats on the primary';

-- Raise the validation error for one field.
CREATE FUNCTION architect._import_invalid(path text, problem text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RAISE EXCEPTION 'invalid pg_architect statistics document: % %', path, problem
          USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Pass the unmodified output of architect.export_stats() of the same pg_architect version; nothing was imported.';
END
$fn$;

-- Check that each element of an array is an object whose keys have the given
-- jsonb types ("number", "string", "boolean", "array"; a trailing "?" allows
-- null or absent).
CREATE FUNCTION architect._import_check_array(doc jsonb, key text, spec jsonb)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    el jsonb;
    n int := 0;
    f record;
    got text;
    want text;
BEGIN
    IF NOT doc ? key THEN
        PERFORM architect._import_invalid(key, 'is missing');
    END IF;
    IF jsonb_typeof(doc -> key) <> 'array' THEN
        PERFORM architect._import_invalid(key, format('must be an array, not %s', jsonb_typeof(doc -> key)));
    END IF;
    FOR el IN SELECT e FROM jsonb_array_elements(doc -> key) e LOOP
        IF jsonb_typeof(el) <> 'object' THEN
            PERFORM architect._import_invalid(format('%s[%s]', key, n), format('must be an object, not %s', jsonb_typeof(el)));
        END IF;
        FOR f IN SELECT s.key AS k, s.value AS t FROM jsonb_each_text(spec) s LOOP
            got := coalesce(jsonb_typeof(el -> f.k), 'null');
            want := rtrim(f.t, '?');
            IF got = want OR (got = 'null' AND f.t LIKE '%?') THEN
                CONTINUE;
            END IF;
            PERFORM architect._import_invalid(format('%s[%s].%s', key, n, f.k),
                                              format('must be a %s, not %s', want, got));
        END LOOP;
        n := n + 1;
    END LOOP;
END
$fn$;

CREATE FUNCTION architect.import_stats(doc jsonb, node_name text)
RETURNS architect.imported_nodes
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    node jsonb;
    ts text;
    r architect.imported_nodes;
    nm text := import_stats.node_name;
BEGIN
    PERFORM architect._require_primary('architect.import_stats()');
    IF nm IS NULL OR btrim(nm) = '' THEN
        RAISE EXCEPTION 'node_name must not be empty'
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Name the node the document comes from, e.g. architect.import_stats(doc, ''standby1'').';
    END IF;
    IF octet_length(nm) > 200 THEN
        RAISE EXCEPTION 'node_name is too long (% bytes)', octet_length(nm)
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Use a node name of at most 200 bytes, such as the standby''s host name.';
    END IF;
    IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
        PERFORM architect._import_invalid('the document', format('must be a json object, not %s', coalesce(jsonb_typeof(doc), 'null')));
    END IF;
    IF doc ->> 'format' IS DISTINCT FROM 'pg_architect.stats' THEN
        PERFORM architect._import_invalid('format', format('is %s, expected "pg_architect.stats"', coalesce((doc -> 'format')::text, 'missing')));
    END IF;
    IF jsonb_typeof(doc -> 'version') IS DISTINCT FROM 'number' THEN
        PERFORM architect._import_invalid('version', 'must be a number');
    END IF;
    IF (doc ->> 'version')::numeric <> 1 THEN
        PERFORM architect._import_invalid('version', format('is %s; this pg_architect reads version 1', doc ->> 'version'));
    END IF;

    node := doc -> 'node';
    IF jsonb_typeof(node) IS DISTINCT FROM 'object' THEN
        PERFORM architect._import_invalid('node', 'must be an object');
    END IF;
    PERFORM architect._import_check_array(jsonb_build_object('node', jsonb_build_array(node)), 'node',
        '{"role": "string", "database": "string", "exported_at": "string", "stats_since": "string",
          "window_is_lower_bound": "boolean", "capture_since": "string?",
          "system_identifier": "number?", "server_version_num": "number?"}');
    IF node ->> 'role' NOT IN ('primary', 'standby') THEN
        PERFORM architect._import_invalid('node.role', format('is %s, expected "primary" or "standby"', node -> 'role'));
    END IF;
    FOREACH ts IN ARRAY ARRAY['exported_at', 'stats_since', 'capture_since'] LOOP
        BEGIN
            PERFORM (node ->> ts)::timestamptz;
        EXCEPTION WHEN data_exception THEN
            PERFORM architect._import_invalid('node.' || ts, format('is not a timestamp: %s', node -> ts));
        END;
    END LOOP;
    IF node ->> 'database' <> current_database() THEN
        RAISE EXCEPTION 'the document describes database "%", this is "%"', node ->> 'database', current_database()
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Connect to that database on the primary and import it there; export_stats() covers the database it ran in.';
    END IF;

    PERFORM architect._import_check_array(doc, 'statements',
        '{"queryid": "number", "calls": "number", "total_ms": "number", "query": "string?",
          "username": "string?", "toplevel": "boolean?", "errors": "number?", "rows": "number?",
          "mean_ms": "number?", "min_ms": "number?", "max_ms": "number?", "p50_ms": "number?",
          "p95_ms": "number?", "p99_ms": "number?", "shared_blks_hit": "number?",
          "shared_blks_read": "number?", "temp_blks_written": "number?", "plans": "number?",
          "first_seen": "string?", "last_seen": "string?"}');
    PERFORM architect._import_check_array(doc, 'plans',
        '{"queryid": "number", "planid": "number", "calls": "number", "mean_ms": "number?",
          "p95_ms": "number?", "first_seen": "string?", "last_seen": "string?"}');
    PERFORM architect._import_check_array(doc, 'indexes',
        '{"schema_name": "string", "table_name": "string", "index_name": "string",
          "idx_scan": "number", "idx_tup_read": "number?", "captured_executions": "number?",
          "captured_queryids": "array?", "last_used": "string?"}');

    -- Replace the node's previous import (its rows cascade).  A failure in
    -- any cast below (a timestamp that does not parse, a number out of
    -- range) aborts the whole call, so nothing is half-imported.
    DELETE FROM architect.imported_nodes n WHERE n.node_name = nm;
    BEGIN
        INSERT INTO architect.imported_nodes AS n
               (node_name, format_version, exported_at, role, system_identifier,
                server_version_num, database, stats_since, window_is_lower_bound,
                capture_since, statements, indexes)
        VALUES (nm, 1, (node ->> 'exported_at')::timestamptz, node ->> 'role',
                (node ->> 'system_identifier')::numeric, (node ->> 'server_version_num')::int,
                node ->> 'database', (node ->> 'stats_since')::timestamptz,
                (node ->> 'window_is_lower_bound')::boolean,
                (node ->> 'capture_since')::timestamptz,
                jsonb_array_length(doc -> 'statements'), jsonb_array_length(doc -> 'indexes'))
        RETURNING n.* INTO r;

        INSERT INTO architect.imported_statement_stats
        SELECT nm, s.username, s.queryid, s.toplevel, s.query, s.calls, s.errors, s.rows,
               s.total_ms, s.mean_ms, s.min_ms, s.max_ms, s.p50_ms, s.p95_ms, s.p99_ms,
               s.shared_blks_hit, s.shared_blks_read, s.temp_blks_written, s.plans,
               s.first_seen, s.last_seen
          FROM jsonb_populate_recordset(NULL::architect.imported_statement_stats, doc -> 'statements') s;

        INSERT INTO architect.imported_plan_stats
        SELECT nm, p.queryid, p.planid, p.calls, p.mean_ms, p.p95_ms, p.first_seen, p.last_seen
          FROM jsonb_populate_recordset(NULL::architect.imported_plan_stats, doc -> 'plans') p;

        INSERT INTO architect.imported_index_stats
        SELECT nm, i.schema_name, i.table_name, i.index_name, i.idx_scan, i.idx_tup_read,
               i.captured_executions,
               ARRAY(SELECT q::bigint FROM jsonb_array_elements_text(e -> 'captured_queryids') q),
               i.last_used
          FROM jsonb_array_elements(doc -> 'indexes') e
          CROSS JOIN LATERAL jsonb_populate_record(NULL::architect.imported_index_stats,
                                                   e - 'captured_queryids') i;
    EXCEPTION
        WHEN data_exception OR integrity_constraint_violation THEN
            PERFORM architect._import_invalid('a value', SQLERRM);
    END;
    RETURN r;
END
$fn$;

COMMENT ON FUNCTION architect.import_stats(jsonb, text) IS
  'Store (replace) a node''s architect.export_stats() document; validated first, nothing changes on a bad document';

CREATE FUNCTION architect.drop_imported_node(node_name text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM architect._require_primary('architect.drop_imported_node()');
    DELETE FROM architect.imported_nodes n WHERE n.node_name = drop_imported_node.node_name;
    RETURN FOUND;
END
$fn$;

COMMENT ON FUNCTION architect.drop_imported_node(text) IS
  'Forget an imported node (a retired standby); false when there was none of that name';

REVOKE ALL ON FUNCTION architect.export_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION architect.export_stats() TO pg_read_all_stats;
REVOKE ALL ON FUNCTION architect.import_stats(jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION architect.drop_imported_node(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION architect._import_invalid(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION architect._import_check_array(jsonb, text, jsonb) FROM PUBLIC;
