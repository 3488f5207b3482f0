-- The node this extension runs on: primary or hot standby.
--
-- pg_architect captures on a hot standby exactly as on a primary (hooks,
-- collector, percentiles, plans, scans, what-if advice): all of that lives
-- in shared memory and in the save file in the node's own data directory,
-- and none of it writes a table.  What does write a table (record_advice,
-- snapshot, drop_snapshot, import_stats) calls architect._require_primary()
-- first, so that on a standby it fails with SQLSTATE 25006 and says where
-- to run it instead, rather than with the bare "cannot execute INSERT in a
-- read-only transaction" from deep inside a function.

CREATE FUNCTION architect.node_role()
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN 'standby' ELSE 'primary' END
$$;

COMMENT ON FUNCTION architect.node_role() IS
  'primary, or standby while the server is in recovery (a hot standby)';

CREATE FUNCTION architect._require_primary(action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE EXCEPTION '% writes tables and cannot run on a standby', action
              USING ERRCODE = 'read_only_sql_transaction',
                    DETAIL = 'This server is in recovery (a hot standby); its capture, percentiles, plans and advice are readable here, but nothing can be stored.',
                    HINT = 'Run it on the primary.  To bring this standby''s capture to the primary, run architect.export_stats() here and architect.import_stats(document, node_name) on the primary.';
    END IF;
END
$fn$;

COMMENT ON FUNCTION architect._require_primary(text) IS
  'Internal: raise SQLSTATE 25006 with a hint when called on a standby';

GRANT EXECUTE ON FUNCTION architect.node_role() TO PUBLIC;
