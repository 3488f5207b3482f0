-- Security posture (issue 17): planted weaknesses are found with evidence,
-- remedy and CIS section, the remedy DDL really removes them, privileges of
-- the posture views, and imported statements' texts follow
-- pg_stat_statements' visibility rule.
BEGIN;
SELECT plan(20);

CREATE ROLE pga_sec_su SUPERUSER LOGIN;
CREATE ROLE pga_sec_cr CREATEROLE LOGIN;
CREATE ROLE pga_sec_mon LOGIN IN ROLE pg_monitor;
CREATE ROLE pga_sec_plain LOGIN;
CREATE SCHEMA pga_sec_open;
GRANT CREATE ON SCHEMA pga_sec_open TO PUBLIC;
CREATE FUNCTION pga_sec_open."weird name"(int) RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT $1';
CREATE TABLE pga_sec_open.guarded (id int, owner name);
CREATE POLICY own_rows ON pga_sec_open.guarded USING (owner = current_user);

SELECT is((SELECT count(*)::int FROM architect.security_findings WHERE check_name = 'login_superuser' AND object = 'role pga_sec_su'), 1,
          'an extra login superuser is found');
SELECT is((SELECT count(*)::int FROM architect.security_findings WHERE check_name = 'login_createrole' AND object = 'role pga_sec_cr'), 1,
          'a login role with CREATEROLE is found');
SELECT is((SELECT count(*)::int FROM architect.security_findings WHERE check_name = 'schema_public_create' AND object = 'schema pga_sec_open'), 1,
          'CREATE for PUBLIC on a schema is found');
SELECT is((SELECT ddl FROM architect.security_findings WHERE check_name = 'secdef_search_path'
             AND object LIKE 'function pga_sec_open.%'),
          'ALTER FUNCTION pga_sec_open."weird name"(integer) SET search_path = pg_catalog, pg_temp',
          'a SECURITY DEFINER function without search_path is found, remedy quoted');
SELECT is((SELECT cis_section FROM architect.security_findings WHERE check_name = 'rls_policies_disabled'
             AND object = 'table pga_sec_open.guarded'), '4.5',
          'a table with policies but row security off is found, CIS 4.5');
SELECT ok((SELECT bool_and(evidence <> '' AND recommendation <> '' AND severity IN ('critical', 'high', 'medium', 'low'))
             FROM architect.security_findings), 'every finding has severity, evidence and a remedy');

-- The remedies, run as given, remove the findings.
DO $$
DECLARE d text;
BEGIN
  FOR d IN SELECT ddl FROM architect.security_findings
            WHERE object IN ('role pga_sec_su', 'role pga_sec_cr', 'schema pga_sec_open', 'table pga_sec_open.guarded')
               OR object LIKE 'function pga_sec_open.%' LOOP
    EXECUTE d;
  END LOOP;
END $$;
SELECT is((SELECT count(*)::int FROM architect.security_findings
            WHERE object IN ('role pga_sec_su', 'role pga_sec_cr', 'schema pga_sec_open', 'table pga_sec_open.guarded')
               OR object LIKE 'function pga_sec_open.%'), 0, 'after the remedy DDL, none of them is left');

-- Who sees the posture.
SET ROLE pga_sec_mon;
SELECT lives_ok($$SELECT * FROM architect.security_findings$$, 'a pg_monitor member reads the posture');
SELECT is((SELECT count(*)::int FROM architect.security_findings WHERE check_name LIKE 'hba_%'), 0,
          'without superuser, pg_hba.conf is not checked');
SELECT is((SELECT string_agg(check_name, ',' ORDER BY check_name) FROM architect.security_coverage() WHERE NOT checked),
          'hba_open_to_all,hba_trust,hba_weak_password', 'and security_coverage says so');
SELECT is((SELECT count(*)::int FROM architect.findings WHERE check_name = 'security_checks_skipped'), 1,
          'the register says which checks were skipped');
RESET ROLE;
SET ROLE pga_sec_plain;
SELECT throws_ok($$SELECT * FROM architect.security_findings$$, '42501', NULL, 'a plain role cannot read the posture');
SELECT is((SELECT count(*)::int FROM architect.findings WHERE category = 'security'), 0,
          'and the register shows it none');
SELECT lives_ok($$SELECT * FROM architect.replication_findings$$, 'replication findings are readable by all');
SELECT throws_ok($$SELECT architect.export_stats()$$, '42501', NULL, 'a plain role cannot export texts of every role');
SELECT throws_ok($$SELECT architect.import_stats('{}', 'x')$$, '42501', NULL, 'nor import');
RESET ROLE;

-- Imported statements: texts as pg_stat_statements would show them.
SELECT lives_ok($$SELECT architect.import_stats(jsonb_build_object(
    'format', 'pg_architect.stats', 'version', 1,
    'node', jsonb_build_object('role', 'standby', 'database', current_database(),
                               'exported_at', now(), 'stats_since', now() - interval '1 day',
                               'window_is_lower_bound', true),
    'statements', jsonb_build_array(
        jsonb_build_object('username', 'pga_sec_plain', 'queryid', 11, 'query', 'SELECT 1 /* plain */',
                           'calls', 3, 'total_ms', 1.5),
        jsonb_build_object('username', 'someone_else', 'queryid', 12, 'query', 'SELECT ''secret''',
                           'calls', 1, 'total_ms', 9)),
    'plans', '[]'::jsonb, 'indexes', '[]'::jsonb), 'tap-node')$$, 'a hand-made version 1 document imports');
SET ROLE pga_sec_plain;
SELECT is((SELECT string_agg(query, ' | ' ORDER BY queryid) FROM architect.imported_statements WHERE node_name = 'tap-node'),
          'SELECT 1 /* plain */ | <insufficient privilege>', 'a plain role sees its own imported text only');
SELECT throws_ok($$SELECT * FROM architect.imported_statement_stats$$, '42501', NULL, 'not the table behind it');
RESET ROLE;
SET ROLE pga_sec_mon;
SELECT is((SELECT count(*)::int FROM architect.imported_statements WHERE node_name = 'tap-node' AND query <> '<insufficient privilege>'), 2,
          'pg_read_all_stats (via pg_monitor) sees every imported text');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
