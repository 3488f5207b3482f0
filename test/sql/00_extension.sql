-- The extension installs, drops and installs again; its schema is fixed.
CREATE EXTENSION pg_architect;
SELECT extname, extversion, extrelocatable, n.nspname
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'pg_architect';

-- The status page has the figures a DBA expects, each with a unit.
SELECT metric, unit FROM architect.status
 WHERE metric IN ('preloaded', 'shared_memory_reserved_bytes', 'ring_capacity',
                  'events_captured', 'events_dropped')
 ORDER BY metric;
SELECT value FROM architect.status WHERE metric = 'preloaded';
SELECT value > 0 AS has_shared_memory FROM architect.status
 WHERE metric = 'shared_memory_reserved_bytes';
-- The release the library was built for: the running server's major version.
SELECT unit, value::int / 10000 = current_setting('server_version_num')::int / 10000 AS same_major
  FROM architect.status WHERE metric = 'server_version_num';
SELECT architect.reset();

-- Not relocatable: the schema is part of the contract.
ALTER EXTENSION pg_architect SET SCHEMA public;

DROP EXTENSION pg_architect;
SELECT count(*) FROM pg_namespace WHERE nspname = 'architect';
CREATE EXTENSION pg_architect;
SELECT count(*) > 0 AS status_rows FROM architect.status;
