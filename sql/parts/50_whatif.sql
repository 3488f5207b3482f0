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
