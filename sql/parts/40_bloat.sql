-- Bloat: tier 1 estimate from the catalog, tier 2 sampled and tier 3 exact
-- measurement of heap tables and btree indexes, and the architect.bloat view
-- with the remedy for each bloated relation.  See docs/bloat.md.
--
-- Privileges: the functions are revoked from PUBLIC and granted to
-- pg_monitor; inside, C checks SELECT on the table or membership in
-- pg_stat_scan_tables / pg_read_all_stats (as contrib pgstattuple), so a
-- grant to another role never exposes tables that role cannot read.

CREATE FUNCTION architect.measure_bloat(
    rel regclass,
    sample_pages integer DEFAULT NULL,
    OUT relation regclass,
    OUT method text,
    OUT table_bytes bigint,
    OUT live_bytes bigint,
    OUT dead_bytes bigint,
    OUT free_bytes bigint,
    OUT bloat_pct double precision,
    OUT pages_read bigint,
    OUT relation_pages bigint,
    OUT error_bound_pct double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'architect_measure_bloat'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION architect.measure_bloat(regclass, integer) IS
  'Bloat of a heap table or btree index from its pages: sample_pages NULL = default sample (exact when small), 0 = exact (every page), N = about N page reads; AccessShareLock only';

REVOKE ALL ON FUNCTION architect.measure_bloat(regclass, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION architect.measure_bloat(regclass, integer) TO pg_monitor;

CREATE FUNCTION architect.estimate_bloat(
    rel regclass,
    OUT relation regclass,
    OUT kind text,
    OUT table_bytes bigint,
    OUT live_bytes bigint,
    OUT dead_bytes bigint,
    OUT free_bytes bigint,
    OUT bloat_pct double precision,
    OUT expected_bytes bigint,
    OUT wasted_bytes bigint,
    OUT confidence double precision,
    OUT confidence_note text)
RETURNS record
AS 'MODULE_PATHNAME', 'architect_estimate_bloat'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION architect.estimate_bloat(regclass) IS
  'Tier 1 bloat estimate of a heap table or btree index from pg_statistic, pg_class and activity statistics, without reading data pages; confidence 0..1 with the reasons';

REVOKE ALL ON FUNCTION architect.estimate_bloat(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION architect.estimate_bloat(regclass) TO pg_monitor;
