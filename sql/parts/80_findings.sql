-- The findings register: every finding of every advisor in one ranked list.
--
-- Sources, each read only if it exists at run time and the caller may read
-- it (to_regclass + has_table_privilege, dynamic SQL), so the register works
-- on any server and grows as advisors are installed:
--   architect.index_health        category index
--   architect.schema_findings     categories schema, capacity, maintenance
--   architect.workload_findings   categories workload, maintenance, connections
--   architect.index_advice        category index_advice   (if installed)
--   architect.bloat               category bloat          (if installed)
--   architect.plan_regressions    category plan           (if installed)
--   architect.replication_findings category replication
--   architect.security_findings   category security (pg_monitor; with
--                                 security_checks_skipped when the caller
--                                 lacks privileges for some checks)
-- The optional sources are read through to_jsonb(row), so a renamed or
-- added column of theirs degrades a field to NULL instead of failing the
-- register.
--
-- finding_id = 'F' || first 12 hex digits of md5(category/check/object):
-- stable across runs, dumps and restores (names, not oids) as long as the
-- object keeps its name.
--
-- Rank: severity (critical, high, medium, low), then effort (quick wins
-- first), then impact within the source (bytes, rows, percent), then id.

CREATE FUNCTION architect._severity_order(severity text)
RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE severity WHEN 'critical' THEN 1 WHEN 'high' THEN 2
                       WHEN 'medium' THEN 3 WHEN 'low' THEN 4 ELSE 5 END
$$;

CREATE FUNCTION architect._effort_order(effort text)
RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE effort WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 ELSE 4 END
$$;

CREATE FUNCTION architect._finding_id(category text, chk text, object text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT 'F' || left(md5(category || '/' || chk || '/' || coalesce(object, '')), 12)
$$;

-- Optional sources as rows of jsonb, or nothing when absent / unreadable.
CREATE FUNCTION architect._optional_source(view_name text)
RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    rel regclass := to_regclass(view_name);
    rows jsonb[];
    caller_level text := current_setting('client_min_messages');
    -- An advisor's NOTICEs ("no workload yet") are for its own readers, not
    -- for every read of the register; its failures still come through as
    -- WARNINGs.  Only ever raised, never lowered below what the caller chose.
    quieter boolean := caller_level IN ('debug5', 'debug4', 'debug3', 'debug2', 'debug1', 'log', 'notice');
BEGIN
    IF rel IS NULL OR NOT has_table_privilege(rel, 'SELECT') THEN
        RETURN;
    END IF;
    IF quieter THEN
        PERFORM set_config('client_min_messages', 'warning', true);
    END IF;
    -- An advisor that fails must not take the whole register down with it.
    BEGIN
        EXECUTE format('SELECT array_agg(to_jsonb(s)) FROM %s s', rel) INTO rows;
    EXCEPTION WHEN OTHERS THEN
        IF quieter THEN
            PERFORM set_config('client_min_messages', caller_level, true);
        END IF;
        RAISE WARNING 'skipping %: %', rel, SQLERRM
              USING HINT = 'The other findings are complete; query that view directly to see the error.';
        RETURN;
    END;
    IF quieter THEN
        PERFORM set_config('client_min_messages', caller_level, true);
    END IF;
    RETURN QUERY SELECT unnest(rows);
END
$fn$;

COMMENT ON FUNCTION architect._optional_source(text) IS
  'Internal: the rows of an optional advisor view as jsonb, or no rows when it is not installed or not readable';

CREATE FUNCTION architect.findings(
    OUT rank int, OUT finding_id text, OUT category text, OUT "check" text,
    OUT severity text, OUT effort text, OUT object text, OUT evidence text,
    OUT recommendation text, OUT ddl text, OUT rollback_ddl text, OUT source text)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
WITH al AS (
  SELECT 'index'::text AS category, h.kind AS chk, h.severity,
         'low'::text AS effort, h.index::text AS object, h.evidence,
         CASE h.kind
           WHEN 'invalid' THEN 'Drop it, or rebuild it with REINDEX INDEX CONCURRENTLY if it is wanted.'
           WHEN 'unused' THEN 'Drop it if the statistics window covers the whole workload cycle (month-end jobs, reports); the rollback recreates it.'
           ELSE 'Drop it: the covering index serves the same lookups.' END AS recommendation,
         h.ddl, h.rollback_ddl, 'architect.index_health'::text AS source,
         h.index_size_bytes::numeric AS impact
    FROM architect.index_health h
  UNION ALL
  SELECT CASE WHEN s."check" IN ('sequence_near_overflow', 'int4_primary_key_big', 'xid_age_table', 'xid_age_database')
              THEN 'capacity'
              WHEN s."check" IN ('never_analyzed', 'autovacuum_disabled') THEN 'maintenance'
              ELSE 'schema' END,
         s."check", s.severity, s.effort, s.object, s.evidence, s.recommendation,
         s.ddl, s.rollback_ddl, 'architect.schema_findings', s.impact
    FROM architect.schema_findings s
  UNION ALL
  SELECT CASE WHEN w."check" = 'autovacuum_lag' THEN 'maintenance'
              WHEN w."check" IN ('connections_near_max', 'idle_in_transaction', 'old_prepared_transaction') THEN 'connections'
              WHEN w."check" = 'inactive_replication_slot' THEN 'capacity'
              ELSE 'workload' END,
         w."check", w.severity, w.effort, w.object, w.evidence, w.recommendation,
         w.ddl, w.rollback_ddl, 'architect.workload_findings', w.impact
    FROM architect.workload_findings() w
  UNION ALL
  SELECT 'replication', r.check_name, r.severity, r.effort, r.object, r.evidence,
         r.recommendation, r.ddl, r.rollback_ddl, 'architect.replication_findings', r.impact
    FROM architect.replication_findings() r
  UNION ALL
  SELECT 'security', j->>'check_name', j->>'severity', j->>'effort', j->>'object',
         concat(j->>'evidence', ' [CIS ' || (j->>'cis_section') || ']'),
         j->>'recommendation', j->>'ddl', j->>'rollback_ddl', 'architect.security_findings',
         (j->>'impact')::numeric
    FROM architect._optional_source('architect.security_findings') j
  UNION ALL
  SELECT 'security', 'security_checks_skipped', 'low', 'low', 'current role',
         format('not checked without more privilege: %s', string_agg(c.check_name || ' (needs ' || c.needs || ')', '; ')),
         'Run the register as a superuser (or grant what is listed) to cover every posture check.',
         NULL, NULL, 'architect.security_coverage', 0
    FROM architect.security_coverage() c
   WHERE NOT c.checked AND has_table_privilege('architect.security_findings', 'SELECT')
  HAVING count(*) > 0
  UNION ALL
  -- index advice: relation, columns, method, ddl, rollback_ddl, est_size_bytes,
  -- est_benefit_pct, improved_queryids, write_overhead, reason
  SELECT 'index_advice', 'missing_index',
         CASE WHEN (j->>'est_benefit_pct')::numeric >= 50 THEN 'high'
              WHEN (j->>'est_benefit_pct')::numeric >= 20 THEN 'medium' ELSE 'low' END,
         'low',
         format('%s (%s)', j->>'relation',
                coalesce((SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(
                            CASE jsonb_typeof(j->'columns') WHEN 'array' THEN j->'columns'
                                 ELSE jsonb_build_array(j->'columns') END) x), '?')),
         concat_ws('; ',
                   j->>'reason',
                   'estimated benefit ' || (j->>'est_benefit_pct') || ' %',
                   'estimated size ' || pg_size_pretty((j->>'est_size_bytes')::numeric),
                   'write overhead ' || (j->>'write_overhead'),
                   'improves queryids ' || (j->>'improved_queryids')),
         'Create the index (CONCURRENTLY, outside a transaction block); compare p95 before and after with architect.snapshot / architect.compare.',
         j->>'ddl', j->>'rollback_ddl', 'architect.index_advice',
         coalesce((j->>'est_benefit_pct')::numeric, 0)
    FROM architect._optional_source('architect.index_advice') j
  UNION ALL
  -- bloat: relation, wasted bytes, bloat_pct, method, confidence, remedy DDL
  SELECT 'bloat', 'bloat',
         CASE WHEN b.wasted >= 1073741824 AND b.pct >= 30 THEN 'high'
              WHEN b.wasted >= 104857600 AND b.pct >= 20 THEN 'medium' ELSE 'low' END,
         'medium', b.j->>'relation',
         format('%s wasted (%s %%), measured by %s, confidence %s',
                pg_size_pretty(b.wasted), round(b.pct, 1),
                coalesce(b.j->>'method', '?'), coalesce(b.j->>'confidence', '?')),
         'Reclaim the space without a long exclusive lock (pg_repack, or REINDEX CONCURRENTLY for an index); VACUUM FULL locks the table for the whole rewrite.',
         coalesce(b.j->>'remedy_ddl', b.j->>'remedy', b.j->>'ddl'), b.j->>'rollback_ddl',
         'architect.bloat', b.wasted
    FROM (SELECT j,
                 coalesce(j->>'wasted_bytes', j->>'wasted', j->>'bloat_bytes')::numeric AS wasted,
                 coalesce(j->>'bloat_pct', j->>'wasted_pct')::numeric AS pct
            FROM architect._optional_source('architect.bloat') j) b
   WHERE b.pct >= 20 AND b.wasted >= 8 * 1048576
  UNION ALL
  SELECT 'plan', 'plan_regression', 'high', 'medium',
         'queryid ' || (j->>'queryid'),
         concat('current plan slower than an earlier one: ',
                (SELECT string_agg(format('%s=%s', key, value), ', ' ORDER BY key)
                   FROM jsonb_each_text(j)
                  WHERE key NOT IN ('queryid', 'query', 'plan', 'old_plan', 'new_plan')
                    AND length(value) <= 64)),
         'Compare the plans (architect.plans); analyze the tables involved, check recent index changes, or pin the good plan by fixing statistics.',
         NULL, NULL, 'architect.plan_regressions', 0
    FROM architect._optional_source('architect.plan_regressions') j
)
SELECT (row_number() OVER (ORDER BY architect._severity_order(al.severity),
                                    architect._effort_order(al.effort),
                                    al.impact DESC NULLS LAST,
                                    architect._finding_id(al.category, al.chk, al.object)))::int,
       architect._finding_id(al.category, al.chk, al.object),
       al.category, al.chk, al.severity, al.effort, al.object, al.evidence,
       al.recommendation, al.ddl, al.rollback_ddl, al.source
  FROM al
 ORDER BY 1
$fn$;

COMMENT ON FUNCTION architect.findings() IS
  'The ranked findings register over every installed advisor; rows the caller cannot see are filtered by the sources';

CREATE VIEW architect.findings AS
  SELECT * FROM architect.findings();

COMMENT ON VIEW architect.findings IS
  'The ranked findings register: stable id, category, check, severity, effort, object, evidence, recommendation, ddl, rollback_ddl';

GRANT SELECT ON architect.findings TO PUBLIC;
