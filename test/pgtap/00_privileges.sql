-- Privileges: monitoring for pg_monitor, reset for superusers only,
-- session GUCs validated with clear errors.
BEGIN;
SELECT plan(8);

CREATE ROLE pga_monitor_role LOGIN IN ROLE pg_monitor;
CREATE ROLE pga_plain_role LOGIN;

SET ROLE pga_monitor_role;
SELECT lives_ok($$SELECT * FROM architect.status$$, 'a pg_monitor member reads architect.status');
SELECT ok((SELECT count(*) FROM architect.status) > 0, 'and sees rows');
SELECT throws_ok($$SELECT architect.reset()$$, '42501', NULL, 'a pg_monitor member cannot reset');
RESET ROLE;

SET ROLE pga_plain_role;
SELECT throws_ok($$SELECT * FROM architect.status$$, '42501', NULL, 'a plain role cannot read architect.status');
SELECT throws_ok($$SELECT architect.reset()$$, '42501',
                 'permission denied for function reset', 'a plain role cannot reset, with a clear error');
RESET ROLE;

SELECT lives_ok($$SELECT architect.reset()$$, 'a superuser resets');

SELECT throws_ok($$SET pg_architect.track = 'sometimes'$$, '22023', NULL,
                 'pg_architect.track rejects an unknown value');
SET ROLE pga_plain_role;
SELECT throws_ok($$SET pg_architect.track = 'none'$$, '42501', NULL,
                 'pg_architect.track is superuser-only');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
