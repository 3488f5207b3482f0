-- Foundation: the extension's own health page and reset.
--
-- Privileges follow pg_stat_statements: monitoring views are readable by
-- pg_monitor (and superusers); reset is revoked from PUBLIC.  The schema is
-- usable by everybody so that granted objects can be reached.

GRANT USAGE ON SCHEMA architect TO PUBLIC;

CREATE FUNCTION architect.status(
    OUT metric text,
    OUT value numeric,
    OUT unit text,
    OUT description text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'architect_status'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION architect.status() IS
  'pg_architect health: shared memory, ring capacity and events captured / dropped, collector lag';

CREATE VIEW architect.status AS
  SELECT metric, value, unit, description FROM architect.status();

COMMENT ON VIEW architect.status IS
  'One row per figure of pg_architect''s own state (memory, capacities, events captured / overwritten / dropped)';

CREATE FUNCTION architect.reset()
RETURNS void
AS 'MODULE_PATHNAME', 'architect_reset'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION architect.reset() IS
  'Discard everything pg_architect has captured (statements, plans, scans, DDL log); superuser unless granted';

REVOKE ALL ON FUNCTION architect.status() FROM PUBLIC;
REVOKE ALL ON FUNCTION architect.reset() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION architect.status() TO pg_monitor;
REVOKE ALL ON architect.status FROM PUBLIC;
GRANT SELECT ON architect.status TO pg_monitor;
