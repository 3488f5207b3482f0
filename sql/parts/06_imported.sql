-- Imported capture of other nodes (hot standbys, or any node of the same
-- database): the tables architect.import_stats() fills from the document
-- architect.export_stats() produced on that node (sql/parts/95).
--
-- They come this early in the install script because index health (70), the
-- workload advisor (55) and the findings register (80) read them: an index
-- used on any imported node within the statistics window is not unused, and
-- the statements of imported nodes are part of the advisor's workload.
--
-- One row per node in imported_nodes; its statements and index figures
-- cascade with it, so a new import of a node replaces the previous one.
-- pg_dump keeps the rows (pg_extension_config_dump).
--
-- Privileges: imported_statement_stats holds query texts with constants, so
-- it is readable by pg_read_all_stats only (the other tables hold no text
-- and are readable by all).  architect.imported_statements is the view for
-- everybody, with pg_stat_statements' rule: the text of an
-- imported statement is shown to superusers, pg_read_all_stats members, and
-- the role of this server whose name is the one that ran it on the node
-- (physical standbys share the primary's roles); to anyone else it reads
-- '<insufficient privilege>'.

CREATE TABLE IF NOT EXISTS architect.imported_nodes (
    node_name            text PRIMARY KEY CHECK (node_name <> ''),
    imported_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    imported_by          name NOT NULL DEFAULT current_user,
    format_version       int NOT NULL,
    exported_at          timestamptz NOT NULL,
    role                 text NOT NULL,
    system_identifier    numeric,
    server_version_num   int,
    database             name NOT NULL,
    stats_since          timestamptz NOT NULL,
    window_is_lower_bound boolean NOT NULL,
    capture_since        timestamptz,
    statements           int NOT NULL DEFAULT 0,
    indexes              int NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS architect.imported_statement_stats (
    node_name            text NOT NULL REFERENCES architect.imported_nodes ON DELETE CASCADE,
    username             name,
    queryid              bigint NOT NULL,
    toplevel             boolean,
    query                text,
    calls                bigint NOT NULL,
    errors               bigint,
    rows                 bigint,
    total_ms             double precision NOT NULL,
    mean_ms              double precision,
    min_ms               double precision,
    max_ms               double precision,
    p50_ms               double precision,
    p95_ms               double precision,
    p99_ms               double precision,
    shared_blks_hit      bigint,
    shared_blks_read     bigint,
    temp_blks_written    bigint,
    plans                bigint,
    first_seen           timestamptz,
    last_seen            timestamptz
);
CREATE INDEX IF NOT EXISTS imported_statement_stats_node_queryid
    ON architect.imported_statement_stats (node_name, queryid);

CREATE TABLE IF NOT EXISTS architect.imported_plan_stats (
    node_name            text NOT NULL REFERENCES architect.imported_nodes ON DELETE CASCADE,
    queryid              bigint NOT NULL,
    planid               bigint NOT NULL,
    calls                bigint NOT NULL,
    mean_ms              double precision,
    p95_ms               double precision,
    first_seen           timestamptz,
    last_seen            timestamptz
);

CREATE TABLE IF NOT EXISTS architect.imported_index_stats (
    node_name            text NOT NULL REFERENCES architect.imported_nodes ON DELETE CASCADE,
    schema_name          name NOT NULL,
    table_name           name NOT NULL,
    index_name           name NOT NULL,
    idx_scan             bigint NOT NULL,
    idx_tup_read         bigint,
    captured_executions  bigint,
    captured_queryids    bigint[],
    last_used            timestamptz,
    PRIMARY KEY (node_name, schema_name, index_name)
);

SELECT pg_catalog.pg_extension_config_dump('architect.imported_nodes', '');
SELECT pg_catalog.pg_extension_config_dump('architect.imported_statement_stats', '');
SELECT pg_catalog.pg_extension_config_dump('architect.imported_plan_stats', '');
SELECT pg_catalog.pg_extension_config_dump('architect.imported_index_stats', '');

REVOKE ALL ON architect.imported_nodes, architect.imported_statement_stats,
              architect.imported_plan_stats, architect.imported_index_stats FROM PUBLIC;
-- No texts in these three: node figures, index names (pg_class shows those
-- to everybody anyway), plan ids.
GRANT SELECT ON architect.imported_nodes, architect.imported_plan_stats,
                architect.imported_index_stats TO PUBLIC;
GRANT SELECT ON architect.imported_statement_stats TO pg_read_all_stats;

CREATE VIEW architect.imported_statements AS
SELECT s.node_name, s.username, s.queryid, s.toplevel,
       CASE WHEN pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')
              OR s.username = CURRENT_USER
            THEN s.query ELSE '<insufficient privilege>' END AS query,
       s.calls, s.errors, s.rows, s.total_ms, s.mean_ms, s.min_ms, s.max_ms,
       s.p50_ms, s.p95_ms, s.p99_ms, s.shared_blks_hit, s.shared_blks_read,
       s.temp_blks_written, s.plans, s.first_seen, s.last_seen,
       n.database, n.exported_at
  FROM architect.imported_statement_stats s
  JOIN architect.imported_nodes n USING (node_name);

COMMENT ON VIEW architect.imported_statements IS
  'Statements captured on imported nodes; texts only for superusers, pg_read_all_stats and the role that ran them';

GRANT SELECT ON architect.imported_statements TO PUBLIC;

-- Whether an index (by schema and name: names, not oids, cross the export)
-- was used on an imported node of this database whose statistics window
-- overlaps ours, i.e. the node's export was taken after our window began.
CREATE FUNCTION architect._index_used_on_imported_node(
    schema_name name, index_name name, since timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT EXISTS (
    SELECT 1
      FROM architect.imported_index_stats i
      JOIN architect.imported_nodes n ON n.node_name = i.node_name
     WHERE i.schema_name = $1 AND i.index_name = $2
       AND n.database = pg_catalog.current_database()
       AND n.exported_at >= $3
       AND (i.idx_scan > 0 OR coalesce(i.captured_executions, 0) > 0))
$$;
