-- Security and compliance posture, modelled on the CIS PostgreSQL Benchmark
-- (and pgdsat, which automates it).  Each finding names the benchmark
-- section it maps to (cis_section: section numbers of the CIS PostgreSQL
-- 15 Benchmark; titles in doc/replicas-and-security.md), its evidence and
-- its remedy as SQL where SQL can fix it, else the setting or file to edit.
--
--   ssl_off                    ssl = off                                      6.8
--   ssl_weak_protocol          ssl_min_protocol_version below TLSv1.2          6.9
--   password_encryption_weak   password_encryption other than scram-sha-256   5.3
--   hba_trust                  a pg_hba.conf rule with trust                   5.1 / 5.2
--   hba_weak_password          a rule with password (clear text) or md5        5.1 / 5.2
--   hba_open_to_all            a host rule for every address (0.0.0.0/0, ::/0, all) 5.2
--   login_superuser            a login role with SUPERUSER besides the bootstrap superuser 4.2
--   login_bypassrls            a login role with BYPASSRLS                     4.2
--   login_createrole           a login role with CREATEROLE                    4.2
--   schema_public_create       PUBLIC may CREATE in a schema                    4.4
--   secdef_search_path         a SECURITY DEFINER function without a pinned search_path 4.3
--   rls_policies_disabled      a table with policies but row security disabled 4.5
--   log_connections_off        log_connections = off                          3.1.20
--   log_disconnections_off     log_disconnections = off                       3.1.21
--   log_line_prefix_thin       log_line_prefix without time, user and database 3.1.24
--   pgaudit_not_loaded         pgaudit.* is configured but pgaudit is not in   3.2
--                              shared_preload_libraries (the audit trail the
--                              setting asks for is not written)
--
-- What a caller cannot check is left out of security_findings() and listed
-- by architect.security_coverage() with the privilege it needs: pg_hba.conf
-- rules (pg_hba_file_rules: superuser unless EXECUTE on pg_hba_file_rules()
-- was granted) and settings hidden from roles without pg_read_all_settings
-- (shared_preload_libraries).  A pg_monitor member has pg_read_all_settings,
-- so only the pg_hba.conf checks need a superuser.  The register adds one
-- low finding, security_checks_skipped, saying so.  The posture itself is
-- readable by pg_monitor only (a list of weak spots is an attacker's map);
-- the register shows it to those who can read it.

-- A setting as pg_settings shows it to the caller: NULL when hidden.
CREATE FUNCTION architect._visible_setting(setting_name text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT s.setting FROM pg_catalog.pg_settings s WHERE s.name = $1
$$;

CREATE FUNCTION architect._hba_readable()
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT has_function_privilege('pg_catalog.pg_hba_file_rules()', 'EXECUTE')
$$;

-- A pg_hba_file_rules row as the line would read (address and mask in the
-- two-field form pg_hba.conf also accepts).
CREATE FUNCTION architect._hba_line(type text, database text[], user_name text[],
                                    address text, netmask text, auth_method text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT concat_ws(' ', $1, array_to_string($2, ','), array_to_string($3, ','), $4, $5, $6)
$$;

CREATE FUNCTION architect.security_coverage(
    OUT check_name text, OUT checked boolean, OUT needs text)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT c, architect._hba_readable(),
         'superuser, or EXECUTE on pg_catalog.pg_hba_file_rules() (pg_monitor alone cannot read pg_hba.conf)'
    FROM unnest(ARRAY['hba_trust', 'hba_weak_password', 'hba_open_to_all']) c
  UNION ALL
  SELECT 'pgaudit_not_loaded', architect._visible_setting('shared_preload_libraries') IS NOT NULL,
         'pg_read_all_settings (a member of pg_monitor has it) to read shared_preload_libraries'
  UNION ALL
  SELECT c, true, NULL
    FROM unnest(ARRAY['ssl_off', 'ssl_weak_protocol', 'password_encryption_weak', 'login_superuser',
                      'login_bypassrls', 'login_createrole', 'schema_public_create',
                      'secdef_search_path', 'rls_policies_disabled', 'log_connections_off',
                      'log_disconnections_off', 'log_line_prefix_thin']) c
$$;

COMMENT ON FUNCTION architect.security_coverage() IS
  'Which posture checks the current role could run, and the privilege the others need';

CREATE FUNCTION architect.security_findings(
    OUT check_name text, OUT severity text, OUT effort text, OUT object text,
    OUT evidence text, OUT recommendation text, OUT ddl text, OUT rollback_ddl text,
    OUT cis_section text, OUT impact numeric)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v text;
    spl text;
    prefix text;
BEGIN
    -- transport encryption
    IF current_setting('ssl') = 'off' THEN
        RETURN QUERY SELECT 'ssl_off'::text,
            CASE WHEN current_setting('listen_addresses') = '' THEN 'low' ELSE 'high' END, 'medium'::text,
            'ssl'::text,
            format('ssl = off (listen_addresses = %L): passwords and data cross the network in clear text%s',
                   current_setting('listen_addresses'),
                   CASE WHEN current_setting('listen_addresses') = '' THEN '; the server listens on unix sockets only for now' ELSE '' END),
            'Install a certificate and key (ssl_cert_file, ssl_key_file), set ssl = on, and require it in pg_hba.conf with hostssl rules.',
            'ALTER SYSTEM SET ssl = on; SELECT pg_reload_conf();',
            'ALTER SYSTEM RESET ssl; SELECT pg_reload_conf();', '6.8'::text, 0::numeric;
    END IF;
    v := current_setting('ssl_min_protocol_version');
    IF v NOT IN ('TLSv1.2', 'TLSv1.3') THEN
        RETURN QUERY SELECT 'ssl_weak_protocol', 'high', 'low', 'ssl_min_protocol_version',
            format('ssl_min_protocol_version = %s: clients may negotiate TLS versions with known weaknesses', coalesce(nullif(v, ''), 'any')),
            'Allow TLSv1.2 and later only.',
            'ALTER SYSTEM SET ssl_min_protocol_version = ''TLSv1.2''; SELECT pg_reload_conf();',
            format('ALTER SYSTEM SET ssl_min_protocol_version = %L; SELECT pg_reload_conf();', v), '6.9', 0::numeric;
    END IF;

    v := current_setting('password_encryption');
    IF v <> 'scram-sha-256' THEN
        RETURN QUERY SELECT 'password_encryption_weak', 'high', 'low', 'password_encryption',
            format('password_encryption = %s: new passwords are stored as MD5 hashes, which a stolen pg_authid turns into logins (pass-the-hash)', v),
            'Store new passwords as SCRAM verifiers, then have every user set the password again (md5 hashes stay until then; list them with SELECT rolname FROM pg_authid WHERE rolpassword LIKE ''md5%'').',
            'ALTER SYSTEM SET password_encryption = ''scram-sha-256''; SELECT pg_reload_conf();',
            format('ALTER SYSTEM SET password_encryption = %L; SELECT pg_reload_conf();', v), '5.3', 0::numeric;
    END IF;

    -- pg_hba.conf, when this role may read it (dynamic: no dependency on a
    -- function the caller cannot execute)
    IF architect._hba_readable() THEN
        RETURN QUERY EXECUTE $q$
          SELECT 'hba_trust'::text,
                 CASE WHEN h.type = 'local' THEN 'high' ELSE 'critical' END::text, 'low'::text,
                 format('pg_hba.conf line %s', h.line_number),
                 format('%s: anybody who can reach the server logs in as %s without a password',
                        architect._hba_line(h.type, h.database, h.user_name, h.address, h.netmask, h.auth_method),
                        CASE WHEN h.user_name = '{all}' THEN 'any role, superusers included' ELSE 'those roles' END),
                 'Replace trust by scram-sha-256 (or peer for local connections of the operating system''s postgres user) and reload.',
                 NULL::text, NULL::text, '5.1 / 5.2'::text, 0::numeric
            FROM pg_catalog.pg_hba_file_rules h
           WHERE h.auth_method = 'trust' AND h.error IS NULL
          UNION ALL
          SELECT 'hba_weak_password', CASE WHEN h.auth_method = 'password' THEN 'high' ELSE 'medium' END,
                 'low', format('pg_hba.conf line %s', h.line_number),
                 format('%s: %s',
                        architect._hba_line(h.type, h.database, h.user_name, h.address, h.netmask, h.auth_method),
                        CASE WHEN h.auth_method = 'password' THEN 'the password crosses the connection in clear text'
                             ELSE 'MD5 challenge-response, replayable from a stolen hash' END),
                 'Use scram-sha-256 (after every password has been set again under password_encryption = scram-sha-256) and reload.',
                 NULL, NULL, '5.1 / 5.2', 0
            FROM pg_catalog.pg_hba_file_rules h
           WHERE h.auth_method IN ('password', 'md5') AND h.error IS NULL
          UNION ALL
          SELECT 'hba_open_to_all', CASE WHEN h.auth_method = 'trust' THEN 'critical' ELSE 'medium' END,
                 'low', format('pg_hba.conf line %s', h.line_number),
                 format('%s: accepts connections from every address',
                        architect._hba_line(h.type, h.database, h.user_name, h.address, h.netmask, h.auth_method)),
                 'Restrict the rule to the application''s networks (CIDR of the app servers), hostssl, and reject the rest.',
                 NULL, NULL, '5.2', 0
            FROM pg_catalog.pg_hba_file_rules h
           WHERE h.type LIKE 'host%' AND h.error IS NULL AND h.auth_method <> 'reject'
             AND (h.address = 'all'
                  OR (h.address IN ('0.0.0.0', '::') AND h.netmask IN ('0.0.0.0', '::')))
        $q$;
    END IF;

    -- roles: powers beyond the bootstrap superuser (oid 10, the owner)
    RETURN QUERY
    SELECT 'login_superuser', 'high', 'low', format('role %s', r.rolname),
           format('login role %I is a superuser besides the bootstrap superuser %I', r.rolname, pg_get_userbyid(10)),
           'Give it the predefined roles or grants it needs (pg_monitor, pg_read_all_data, ownership of its objects) instead of SUPERUSER.',
           format('ALTER ROLE %I NOSUPERUSER', r.rolname), format('ALTER ROLE %I SUPERUSER', r.rolname),
           '4.2', 0::numeric
      FROM pg_roles r WHERE r.rolcanlogin AND r.rolsuper AND r.oid <> 10
    UNION ALL
    SELECT 'login_bypassrls', 'medium', 'low', format('role %s', r.rolname),
           format('login role %I has BYPASSRLS: every row-level security policy is ignored for it', r.rolname),
           'Remove BYPASSRLS unless the role is a backup or replication tool that must see all rows.',
           format('ALTER ROLE %I NOBYPASSRLS', r.rolname), format('ALTER ROLE %I BYPASSRLS', r.rolname), '4.2', 0
      FROM pg_roles r WHERE r.rolcanlogin AND r.rolbypassrls AND NOT r.rolsuper AND r.oid <> 10
    UNION ALL
    SELECT 'login_createrole', 'medium', 'low', format('role %s', r.rolname),
           format('login role %I has CREATEROLE: it can create roles and grant itself membership in most roles', r.rolname),
           'Remove CREATEROLE from application and personal roles; keep it on one administration role.',
           format('ALTER ROLE %I NOCREATEROLE', r.rolname), format('ALTER ROLE %I CREATEROLE', r.rolname), '4.2', 0
      FROM pg_roles r WHERE r.rolcanlogin AND r.rolcreaterole AND NOT r.rolsuper AND r.oid <> 10;

    -- CREATE for PUBLIC on a schema (public before PostgreSQL 15 by default)
    RETURN QUERY
    SELECT 'schema_public_create', 'high', 'low', format('schema %s', n.nspname),
           format('PUBLIC has CREATE on schema %I: any role can plant functions or operators there that shadow others'' (search_path attacks)', n.nspname),
           'Revoke it; give CREATE to the roles that own the application''s objects.',
           format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', n.nspname),
           format('GRANT CREATE ON SCHEMA %I TO PUBLIC', n.nspname), '4.4', 0::numeric
      FROM pg_namespace n
      CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
     WHERE a.grantee = 0 AND a.privilege_type = 'CREATE'
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname !~ '^pg_(toast_)?temp_';

    -- SECURITY DEFINER without a pinned search_path
    RETURN QUERY
    SELECT 'secdef_search_path', 'high', 'low', format('function %s', p.oid::regprocedure),
           format('function %s is SECURITY DEFINER (runs as %I) without SET search_path: a caller can put its own objects first on the path and run them with the owner''s privileges',
                  p.oid::regprocedure, pg_get_userbyid(p.proowner)),
           'Pin its search_path (and qualify the names it uses), or drop SECURITY DEFINER.',
           format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', p.oid::regprocedure),
           format('ALTER FUNCTION %s RESET search_path', p.oid::regprocedure), '4.3', 0::numeric
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.prosecdef
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%');

    -- policies that do nothing
    RETURN QUERY
    SELECT 'rls_policies_disabled', 'high', 'low', format('table %s', c.oid::regclass),
           format('table %s has %s row-level security polic%s but row security is disabled: the policies are not applied',
                  c.oid::regclass, count(*), CASE WHEN count(*) = 1 THEN 'y' ELSE 'ies' END),
           'Enable row security (and FORCE it if the owner must be subject to the policies too).',
           format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', c.oid::regclass),
           format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', c.oid::regclass), '4.5', count(*)::numeric
      FROM pg_class c JOIN pg_policy pol ON pol.polrelid = c.oid
     WHERE NOT c.relrowsecurity
     GROUP BY c.oid;

    -- the audit trail
    IF current_setting('log_connections') = 'off' THEN
        RETURN QUERY SELECT 'log_connections_off', 'medium', 'low', 'log_connections',
            'log_connections = off: who connected from where is not in the log',
            'Log every connection (an audit trail of access is required by PCI DSS 10.2 and ISO 27001 A.8.15).',
            'ALTER SYSTEM SET log_connections = on; SELECT pg_reload_conf();',
            'ALTER SYSTEM RESET log_connections; SELECT pg_reload_conf();', '3.1.20', 0::numeric;
    END IF;
    IF current_setting('log_disconnections') = 'off' THEN
        RETURN QUERY SELECT 'log_disconnections_off', 'low', 'low', 'log_disconnections',
            'log_disconnections = off: session ends and durations are not in the log',
            'Log disconnections with the session duration.',
            'ALTER SYSTEM SET log_disconnections = on; SELECT pg_reload_conf();',
            'ALTER SYSTEM RESET log_disconnections; SELECT pg_reload_conf();', '3.1.21', 0::numeric;
    END IF;
    prefix := current_setting('log_line_prefix');
    IF prefix !~ '%[mtn]' OR prefix !~ '%u' OR prefix !~ '%d' THEN
        RETURN QUERY SELECT 'log_line_prefix_thin', 'medium', 'low', 'log_line_prefix',
            format('log_line_prefix = %L lacks %s: log lines cannot be tied to a time, user and database',
                   prefix,
                   concat_ws(', ', CASE WHEN prefix !~ '%[mtn]' THEN 'a time stamp (%m)' END,
                             CASE WHEN prefix !~ '%u' THEN 'the user (%u)' END,
                             CASE WHEN prefix !~ '%d' THEN 'the database (%d)' END)),
            'Use a prefix with time, process, user, database, application and client.',
            'ALTER SYSTEM SET log_line_prefix = ''%m [%p] %q%u@%d/%a %h ''; SELECT pg_reload_conf();',
            format('ALTER SYSTEM SET log_line_prefix = %L; SELECT pg_reload_conf();', prefix), '3.1.24', 0::numeric;
    END IF;

    -- pgaudit asked for but absent: a pgaudit.* value set without the
    -- library is a placeholder, which pg_settings does not list
    spl := architect._visible_setting('shared_preload_libraries');
    v := current_setting('pgaudit.log', true);
    IF spl IS NOT NULL AND coalesce(v, '') NOT IN ('', 'none')
       AND NOT EXISTS (SELECT 1 FROM regexp_split_to_table(spl, '\s*,\s*') l WHERE btrim(l, ' "') = 'pgaudit') THEN
        RETURN QUERY SELECT 'pgaudit_not_loaded', 'high', 'medium', 'pgaudit.log',
            format('pgaudit.log = %L but pgaudit is not in shared_preload_libraries (%L): the audit log it asks for is not written', v, spl),
            'Install pgaudit, add it to shared_preload_libraries (restart), and CREATE EXTENSION pgaudit.',
            NULL::text, NULL::text, '3.2', 0::numeric;
    END IF;
END
$fn$;

COMMENT ON FUNCTION architect.security_findings() IS
  'Security posture findings (CIS PostgreSQL Benchmark style) with evidence, remedy and CIS section; see architect.security_coverage for what the caller could not check';

CREATE VIEW architect.security_findings AS
  SELECT * FROM architect.security_findings();

-- The posture is a map of weak spots: for monitoring roles, not everybody.
REVOKE ALL ON FUNCTION architect.security_findings() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION architect.security_findings() TO pg_monitor;
REVOKE ALL ON architect.security_findings FROM PUBLIC;
GRANT SELECT ON architect.security_findings TO pg_monitor;
GRANT EXECUTE ON FUNCTION architect.security_coverage() TO PUBLIC;
