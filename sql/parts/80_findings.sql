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
-- Rank: severity (critical, high, medium, low, info), then effort (quick
-- wins first), then impact: time saved (impact_ms), then bytes
-- (impact_bytes), then the source's own measure (rows, percent), then id.
-- key_number is the one figure that says why the finding matters, with
-- its unit.  Findings that fix the same problem are merged (see "One
-- finding per problem" below).

CREATE FUNCTION architect._severity_order(severity text)
RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE severity WHEN 'critical' THEN 1 WHEN 'high' THEN 2
                       WHEN 'medium' THEN 3 WHEN 'low' THEN 4 ELSE 5 END
$$;

CREATE FUNCTION architect._effort_order(effort text)
RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE effort WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 ELSE 4 END
$$;

CREATE FUNCTION architect._finding_id(category text, chk text, object text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT 'F' || left(md5(category || '/' || chk || '/' || coalesce(object, '')), 12)
$$;

-- Optional sources as rows of jsonb, or nothing when absent / unreadable.
CREATE FUNCTION architect._optional_source(view_name text)
RETURNS SETOF jsonb
LANGUAGE plpgsql VOLATILE
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
    -- to_regclass() raises on a malformed name before PostgreSQL 16 and
    -- returns NULL from 16 on: check the syntax ourselves, the same on all.
    BEGIN
        PERFORM pg_catalog.parse_ident(view_name);
    EXCEPTION WHEN invalid_parameter_value THEN
        RAISE EXCEPTION 'invalid name syntax: %', left(view_name, 64)
              USING ERRCODE = 'invalid_name',
                    HINT = 'Give a relation name such as architect.bloat.';
    END;
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

-- Whether a relation is the DBA's own: not a system catalog, not in
-- information_schema, pg_toast (unless it is the TOAST table of an own
-- table), architect or another session's temp schema, not part of an
-- extension.  An index or TOAST table belongs to its table.
CREATE FUNCTION architect._own_relation(rel regclass)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce((
    SELECT n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'architect')
           AND n.nspname !~ '^pg_(toast_)?temp_'
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = t.oid AND d.deptype = 'e')
      FROM pg_class c
      CROSS JOIN LATERAL (
        SELECT coalesce((SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = c.oid),
                        (SELECT o.oid FROM pg_class o WHERE o.reltoastrelid = c.oid AND c.relkind = 't'),
                        c.oid) AS oid) t
      JOIN pg_class tc ON tc.oid = t.oid
      JOIN pg_namespace n ON n.oid = tc.relnamespace
     WHERE c.oid = rel), false)
$$;

-- What a DDL does, for de-duplication: CONCURRENTLY, IF [NOT] EXISTS, the
-- new index's name, USING btree and VACUUM's options do not make a
-- different fix.  NULL for NULL.
CREATE FUNCTION architect._ddl_key(ddl text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT regexp_replace(regexp_replace(regexp_replace(regexp_replace(
           btrim(ddl, E' ;\n\t'),
           '^CREATE (UNIQUE )?INDEX (CONCURRENTLY )?(IF NOT EXISTS )?(("(?:[^"]|"")*"|[^\s"]+) )?ON ',
           'CREATE \1INDEX ON '),
           ' USING btree ', ' '),
           '^DROP INDEX (CONCURRENTLY )?(IF EXISTS )?', 'DROP INDEX '),
           '^VACUUM (\([^)]*\) )?', 'VACUUM ')
$$;

-- The impact of a finding in a unit a DBA reads at a glance: time saved
-- (ms), bytes (reclaimable, retained, spilled), or the count that makes it
-- matter; key_number is that figure as text with its unit.  Sources and
-- checks this does not know get NULLs.
CREATE FUNCTION architect._impact(source text, chk text, impact numeric,
    OUT key_number text, OUT impact_ms numeric, OUT impact_bytes numeric)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE
           WHEN source = 'architect.index_health' THEN pg_size_pretty(impact) || ' index'
           WHEN source = 'architect.index_advice' THEN 'about ' || architect._ms(impact) || ' saved'
           WHEN source = 'architect.bloat' THEN pg_size_pretty(impact) || ' reclaimable'
           WHEN source = 'architect.plan_regressions' AND impact > 0 THEN 'about ' || architect._ms(impact) || ' lost'
           WHEN chk IN ('fk_without_index', 'no_primary_key', 'int4_primary_key_big', 'fk_type_mismatch')
             THEN 'about ' || impact::bigint || ' rows'
           WHEN chk = 'sequence_near_overflow' THEN architect._num(impact) || ' % used'
           WHEN chk = 'never_analyzed' THEN pg_size_pretty(impact)
           WHEN chk = 'many_indexes' THEN impact::bigint || ' indexes'
           WHEN chk IN ('xid_age_table', 'xid_age_database') THEN 'xid age ' || impact::bigint
           WHEN chk = 'connections_near_max' THEN architect._num(impact) || ' % of usable connections'
           WHEN chk IN ('idle_in_transaction', 'old_prepared_transaction') THEN architect._ms(impact * 1000) || ' open'
           WHEN chk = 'inactive_replication_slot' THEN pg_size_pretty(impact) || ' WAL retained'
           WHEN chk = 'autovacuum_lag' THEN impact::bigint || ' dead rows'
           WHEN chk = 'temp_spill_database' THEN pg_size_pretty(impact) || ' spilled'
           WHEN chk = 'temp_spill_statement' THEN pg_size_pretty(impact * 8192) || ' spilled'
           WHEN chk IN ('low_cache_hit_database', 'low_cache_hit_statement')
             THEN pg_size_pretty(impact * 8192) || ' read from outside shared buffers'
         END,
         CASE WHEN source IN ('architect.index_advice', 'architect.plan_regressions') THEN round(impact, 3) END,
         CASE WHEN source IN ('architect.index_health', 'architect.bloat')
                   OR chk IN ('inactive_replication_slot', 'temp_spill_database')
              THEN impact
              WHEN chk = 'temp_spill_statement' THEN impact * 8192 END
$$;

CREATE FUNCTION architect.findings(
    OUT rank int, OUT finding_id text, OUT category text, OUT check_name text,
    OUT severity text, OUT effort text, OUT object text, OUT evidence text,
    OUT recommendation text, OUT ddl text, OUT rollback_ddl text, OUT source text,
    OUT key_number text, OUT impact_ms numeric, OUT impact_bytes numeric)
RETURNS SETOF record
LANGUAGE sql VOLATILE
-- The planner cannot estimate the sources (functions, jsonb): its cost
-- guesses pass jit_above_cost, and compiling this one query took 15-20 s
-- on a busy 2-core machine for a few dozen rows.
SET jit = off
SET search_path = pg_catalog, pg_temp
AS $fn$
WITH advice AS MATERIALIZED (
  SELECT j FROM architect._optional_source('architect.index_advice') j
),
stmts AS MATERIALIZED (
  SELECT j FROM architect._optional_source('architect.statements') j
),
-- Captured time of the workload the advisor weighed (its weights are each
-- statement's total_ms), to turn an estimated cost share into time.
workload_ms AS (
  SELECT sum((j->>'total_ms')::numeric) AS total_ms
    FROM stmts
   WHERE (j->>'dbid')::oid = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND coalesce(j->>'query', '') !~* '\marchitect\.'
),
-- pg_architect's own statements (reading its views) are not the DBA's
-- workload: their plan changes are no finding.
own_queryids AS (
  SELECT DISTINCT j->>'queryid' AS queryid FROM stmts WHERE j->>'query' ~* '\marchitect\.'
),
al AS (
  SELECT 'index'::text AS category, h.kind AS chk, h.severity,
         'low'::text AS effort, h.index::text AS object, h.evidence,
         CASE WHEN h.kind = 'unused' AND h.ddl IS NULL
           THEN 'Nothing to do yet: judge it once the statistics cover pg_architect.min_unused_window (a full workload cycle).'
           ELSE CASE h.kind
           WHEN 'invalid' THEN 'Drop it, or rebuild it with REINDEX INDEX CONCURRENTLY if it is wanted.'
           WHEN 'unused' THEN 'Drop it if the statistics window covers the whole workload cycle (month-end jobs, reports); the rollback recreates it.'
           ELSE 'Drop it: the covering index serves the same lookups.' END END AS recommendation,
         h.ddl, h.rollback_ddl, 'architect.index_health'::text AS source,
         h.index_size_bytes::numeric AS impact
    FROM architect.index_health h
  UNION ALL
  SELECT CASE WHEN s.check_name IN ('sequence_near_overflow', 'int4_primary_key_big', 'xid_age_table', 'xid_age_database')
              THEN 'capacity'
              WHEN s.check_name IN ('never_analyzed', 'autovacuum_disabled') THEN 'maintenance'
              ELSE 'schema' END,
         s.check_name, s.severity, s.effort, s.object, s.evidence, s.recommendation,
         s.ddl, s.rollback_ddl, 'architect.schema_findings', s.impact
    FROM architect.schema_findings s
  UNION ALL
  SELECT CASE WHEN w.check_name = 'autovacuum_lag' THEN 'maintenance'
              WHEN w.check_name IN ('connections_near_max', 'idle_in_transaction', 'old_prepared_transaction') THEN 'connections'
              WHEN w.check_name = 'inactive_replication_slot' THEN 'capacity'
              ELSE 'workload' END,
         w.check_name, w.severity, w.effort, w.object, w.evidence, w.recommendation,
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
                   'estimated benefit ' || architect._num((j->>'est_benefit_pct')::numeric)
                     || ' % of the captured workload''s cost'
                     || coalesce(' (about ' || architect._ms((j->>'est_benefit_pct')::numeric / 100 * wl.total_ms)
                                 || ' of ' || architect._ms(wl.total_ms) || ' captured)', ''),
                   'estimated size ' || pg_size_pretty((j->>'est_size_bytes')::numeric),
                   'improves queryids ' || (SELECT string_agg(q, ', ') FROM jsonb_array_elements_text(
                     CASE jsonb_typeof(j->'improved_queryids') WHEN 'array' THEN j->'improved_queryids'
                          ELSE '[]'::jsonb END) q)),
         'Create the index (CONCURRENTLY, outside a transaction block); compare p95 before and after with architect.snapshot / architect.compare.',
         j->>'ddl', j->>'rollback_ddl', 'architect.index_advice',
         coalesce((j->>'est_benefit_pct')::numeric / 100 * wl.total_ms, 0)
    FROM advice a(j) CROSS JOIN workload_ms wl
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
     AND architect._own_relation((b.j->>'relation')::regclass)
  UNION ALL
  SELECT 'plan', 'plan_regression', 'high', 'medium',
         'queryid ' || (j->>'queryid'),
         concat('current plan slower than an earlier one: ',
                (SELECT string_agg(format('%s=%s', e.key,
                                          CASE WHEN jsonb_typeof(e.value) = 'number' AND e.key !~ 'id$'
                                               THEN architect._num((e.value)::text::numeric)
                                               ELSE j->>e.key END), ', ' ORDER BY e.key)
                   FROM jsonb_each(j) e
                  WHERE e.key NOT IN ('queryid', 'query', 'plan', 'old_plan', 'new_plan', 'previous_plan', 'current_plan')
                    AND length(j->>e.key) <= 64)),
         'Compare the plans (architect.plans); analyze the tables involved, check recent index changes, or pin the good plan by fixing statistics.',
         NULL, NULL, 'architect.plan_regressions',
         -- time lost: the slowdown per call times the calls of the current plan
         coalesce(greatest(((j->>'current_mean_ms')::numeric - (j->>'previous_mean_ms')::numeric)
                           * (j->>'current_calls')::numeric, 0), 0)
    FROM (-- plan_regressions pairs the current plan with every slower-than-it
          -- earlier plan: one finding per statement, against its best plan
          SELECT DISTINCT ON (r->>'queryid') r AS j
            FROM architect._optional_source('architect.plan_regressions') r
           ORDER BY r->>'queryid', (r->>'p95_slowdown')::numeric DESC NULLS LAST) pr
   WHERE j->>'queryid' NOT IN (SELECT queryid FROM own_queryids WHERE queryid IS NOT NULL)
),
-- One finding per problem.  A row is absorbed by another that fixes the
-- same thing; the survivor names what it absorbed and takes the higher
-- severity:
--   * a foreign key without index, by an index advice on that table whose
--     leading columns are the key's columns (in any order): the advised
--     index, e.g. (customer_id, created_at), serves the key too;
--   * any row whose DDL does the same as a better ranked row's
--     (architect._ddl_key: CONCURRENTLY, IF NOT EXISTS, index names,
--     USING btree and VACUUM options do not make a different fix);
--   * bloat of an index that another finding drops.
n AS (
  SELECT row_number() OVER (ORDER BY architect._severity_order(al.severity),
                                     architect._effort_order(al.effort),
                                     al.impact DESC NULLS LAST,
                                     architect._finding_id(al.category, al.chk, al.object)) AS n,
         al.*, architect._ddl_key(al.ddl) AS dkey
    FROM al
),
fk_cols AS (
  SELECT format('%I.%I.%I', ns.nspname, c.relname, k.conname) AS object, k.conrelid,
         array_agg(a.attname::text ORDER BY a.attname) AS cols, cardinality(k.conkey) AS ncols
    FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid
    JOIN pg_namespace ns ON ns.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
   WHERE k.contype = 'f'
   GROUP BY 1, 2, k.conkey
),
absorbed AS (
  SELECT f.n AS lost, min(a.n) AS kept
    FROM n f
    JOIN fk_cols fc ON fc.object = f.object
    JOIN advice ad ON (ad.j->>'relation')::regclass = fc.conrelid
    JOIN n a ON a.source = 'architect.index_advice' AND a.ddl = ad.j->>'ddl'
   WHERE f.chk = 'fk_without_index'
     AND jsonb_typeof(ad.j->'columns') = 'array'
     AND jsonb_array_length(ad.j->'columns') >= fc.ncols
     AND ARRAY(SELECT c FROM jsonb_array_elements_text(ad.j->'columns') WITH ORDINALITY x(c, o)
                WHERE x.o <= fc.ncols ORDER BY c) = fc.cols
   GROUP BY f.n
  UNION ALL
  SELECT b.n, min(o.n)
    FROM n b JOIN n o ON o.dkey = b.dkey AND o.n < b.n
   GROUP BY b.n
  UNION ALL
  SELECT b.n, min(o.n)
    FROM n b JOIN n o ON o.category = 'index' AND o.object = b.object AND o.ddl IS NOT NULL
   WHERE b.category = 'bloat'
   GROUP BY b.n
),
lost AS (
  SELECT lost, min(kept) AS kept FROM absorbed GROUP BY lost
),
kept AS (
  SELECT n.*,
         (SELECT string_agg(format('%s %s', l.chk, l.object), '; ' ORDER BY l.n)
            FROM lost x JOIN n l ON l.n = x.lost WHERE x.kept = n.n) AS absorbs,
         (SELECT min(architect._severity_order(l.severity))
            FROM lost x JOIN n l ON l.n = x.lost WHERE x.kept = n.n) AS absorbed_sev
    FROM n
   WHERE n.n NOT IN (SELECT lost FROM lost)
),
final AS (
  SELECT k.*,
         CASE WHEN k.absorbed_sev < architect._severity_order(k.severity)
              THEN (ARRAY['critical', 'high', 'medium', 'low'])[k.absorbed_sev]
              ELSE k.severity END AS sev,
         i.key_number, i.impact_ms, i.impact_bytes
    FROM kept k
    CROSS JOIN LATERAL architect._impact(k.source, k.chk, k.impact) i
)
SELECT (row_number() OVER (ORDER BY architect._severity_order(f.sev),
                                    architect._effort_order(f.effort),
                                    f.impact_ms DESC NULLS LAST,
                                    f.impact_bytes DESC NULLS LAST,
                                    f.impact DESC NULLS LAST,
                                    architect._finding_id(f.category, f.chk, f.object)))::int,
       architect._finding_id(f.category, f.chk, f.object),
       f.category, f.chk, f.sev, f.effort, f.object,
       f.evidence || coalesce('; also resolves ' || f.absorbs, ''),
       f.recommendation, f.ddl, f.rollback_ddl, f.source,
       f.key_number, f.impact_ms, f.impact_bytes
  FROM final f
 ORDER BY 1
$fn$;

COMMENT ON FUNCTION architect.findings() IS
  'The ranked findings register over every installed advisor, one finding per problem; rows the caller cannot see are filtered by the sources';

CREATE VIEW architect.findings AS
  SELECT * FROM architect.findings();

COMMENT ON VIEW architect.findings IS
  'The ranked findings register: stable id, category, check, severity, effort, object, evidence, recommendation, ddl, rollback_ddl';

GRANT SELECT ON architect.findings TO PUBLIC;
