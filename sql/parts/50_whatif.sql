-- What-if planning: hypothetical indexes seen only by the planner of the
-- calling backend, never created, never executed.  Plain users may call
-- these functions: they need the privileges the planned statement needs
-- (checked as EXPLAIN checks them) and change nothing.

CREATE FUNCTION architect.whatif(
    query text,
    indexes text[],
    OUT cost_before float8,
    OUT cost_after float8,
    OUT benefit_pct float8,
    OUT indexes_used text[],
    OUT index_sizes_bytes bigint[],
    OUT plan_before text,
    OUT plan_after text)
RETURNS record
AS 'MODULE_PATHNAME', 'architect_whatif'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION architect.whatif(text, text[]) IS
  'Plan a statement without and with hypothetical indexes (CREATE INDEX statements); never executes it';

-- One row of index advice: the shape of architect.index_advice, and what
-- advise_workload, advise_query and advise_pg_stat_statements return.
CREATE TYPE architect.index_advice_row AS (
    relation regclass,
    columns text[],
    method text,
    ddl text,
    rollback_ddl text,
    est_size_bytes bigint,
    est_benefit_pct float8,
    improved_queryids bigint[],
    write_overhead float8,
    reason text);

CREATE FUNCTION architect.advise_workload(
    queries text[],
    weights float8[] DEFAULT NULL,
    queryids bigint[] DEFAULT NULL,
    write_stats boolean DEFAULT false,
    candidates text[] DEFAULT NULL,
    quiet boolean DEFAULT false,
    search_path text DEFAULT NULL)
RETURNS SETOF architect.index_advice_row
AS 'MODULE_PATHNAME', 'architect_advise_workload'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION architect.advise_workload(text[], float8[], bigint[], boolean, text[], boolean, text) IS
  'Indexes to build for a workload of statements (weights = time spent in each, e.g. calls * mean_ms), validated by re-planning with hypothetical indexes';

CREATE FUNCTION architect.advise_query(query text)
RETURNS SETOF architect.index_advice_row
AS 'MODULE_PATHNAME', 'architect_advise_query'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION architect.advise_query(text) IS
  'The indexes that make one statement cheapest, validated by re-planning with hypothetical indexes; never executes it';

CREATE FUNCTION architect.hypothetical_index(
    ddl text,
    OUT relation regclass,
    OUT columns text[],
    OUT method text,
    OUT est_size_bytes bigint,
    OUT est_tuples float8,
    OUT est_pages bigint,
    OUT tree_height integer,
    OUT normalized_ddl text)
RETURNS record
AS 'MODULE_PATHNAME', 'architect_hypothetical_index'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION architect.hypothetical_index(text) IS
  'How the what-if engine sees one CREATE INDEX statement: estimated size, tuples, pages, height; nothing is created';
