-- Snapshots: before/after sign-off across p50, p95 and p99.
--
-- architect.snapshot(label) copies architect.statements, architect.plans (when
-- installed) and the findings register into extension tables; pg_dump keeps
-- their rows (pg_extension_config_dump).  architect.compare(a, b) shows, per
-- statement, the three percentiles before and after, the plan ids seen in
-- each snapshot and a verdict.  architect.drop_snapshot(label) removes one.
--
-- Statistics in architect.statements are cumulative since architect.reset(),
-- so the sign-off workflow is: snapshot 'before', reset, change, run the
-- workload, snapshot 'after', compare (README, section "Findings").
--
-- Snapshots need workload capture: without architect.statements, snapshot()
-- fails with SQLSTATE 55000 and a hint; compare() works on stored rows.
--
-- Privileges: snapshot tables hold query and plan texts with constants, of
-- every role, as the (superuser) taker saw them, so the tables are readable
-- by pg_read_all_stats (and pg_monitor, a member) only.  Everybody else
-- reads them, like pg_stat_statements, through two security-barrier views
-- that show a statement only to the role that ran it (superusers and
-- pg_read_all_stats: all) and never a plan text: visible_snapshot_statements
-- and visible_snapshot_plans.  compare() reads those views, so it is open
-- to PUBLIC.  snapshot() and drop_snapshot() change state and are revoked
-- from PUBLIC.  All run with the caller's privileges.

CREATE TABLE IF NOT EXISTS architect.snapshots (
    label             text PRIMARY KEY CHECK (label <> ''),
    taken_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    taken_by          name NOT NULL DEFAULT current_user,
    database          name NOT NULL DEFAULT current_database(),
    statements        int NOT NULL DEFAULT 0,
    plans             int NOT NULL DEFAULT 0,
    findings          int NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS architect.snapshot_statements (
    label             text NOT NULL REFERENCES architect.snapshots ON DELETE CASCADE,
    userid            oid,
    dbid              oid,
    queryid           bigint,
    toplevel          boolean,
    query             text,
    calls             bigint,
    errors            bigint,
    rows              bigint,
    total_ms          double precision,
    mean_ms           double precision,
    min_ms            double precision,
    max_ms            double precision,
    p50_ms            double precision,
    p95_ms            double precision,
    p99_ms            double precision,
    shared_blks_hit   bigint,
    shared_blks_read  bigint,
    temp_blks_written bigint,
    wal_bytes         numeric,
    plans             bigint
);
CREATE INDEX IF NOT EXISTS snapshot_statements_label_queryid_idx ON architect.snapshot_statements (label, queryid);

CREATE TABLE IF NOT EXISTS architect.snapshot_plans (
    label             text NOT NULL REFERENCES architect.snapshots ON DELETE CASCADE,
    queryid           bigint,
    planid            bigint,
    calls             bigint,
    mean_ms           double precision,
    p95_ms            double precision,
    plan              text
);
CREATE INDEX IF NOT EXISTS snapshot_plans_label_queryid_idx ON architect.snapshot_plans (label, queryid);

CREATE TABLE IF NOT EXISTS architect.snapshot_findings (
    label             text NOT NULL REFERENCES architect.snapshots ON DELETE CASCADE,
    finding_id        text NOT NULL,
    rank              int,
    category          text,
    check_name        text,
    severity          text,
    effort            text,
    object            text,
    evidence          text,
    ddl               text,
    rollback_ddl      text,
    PRIMARY KEY (label, finding_id)
);

-- 0.1 named this column "check", a reserved word every query had to quote.
DO $do$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                WHERE attrelid = 'architect.snapshot_findings'::regclass
                  AND attname = 'check' AND NOT attisdropped) THEN
        ALTER TABLE architect.snapshot_findings RENAME COLUMN "check" TO check_name;
    END IF;
END
$do$;

SELECT pg_catalog.pg_extension_config_dump('architect.snapshots', '');
SELECT pg_catalog.pg_extension_config_dump('architect.snapshot_statements', '');
SELECT pg_catalog.pg_extension_config_dump('architect.snapshot_plans', '');
SELECT pg_catalog.pg_extension_config_dump('architect.snapshot_findings', '');

REVOKE ALL ON architect.snapshots, architect.snapshot_statements,
              architect.snapshot_plans, architect.snapshot_findings FROM PUBLIC;
GRANT SELECT ON architect.snapshots, architect.snapshot_statements,
                architect.snapshot_plans, architect.snapshot_findings TO pg_read_all_stats;
-- labels, times and counts are no secret; compare() needs them
GRANT SELECT ON architect.snapshots TO PUBLIC;

-- Whether the current role may see the texts of statements run by role
-- userid: the pg_stat_statements rule.  pg_has_role(..., 'USAGE') is true
-- for superusers and for members (with inheritance) of pg_read_all_stats.
CREATE FUNCTION architect._sees_texts_of(userid oid)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pg_has_role('pg_read_all_stats', 'USAGE')
      OR userid = (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user)
$$;

COMMENT ON FUNCTION architect._sees_texts_of(oid) IS
  'Internal: whether the current role may read the statement texts of role userid (superuser, pg_read_all_stats, or that role)';

-- The view runs with its owner's right to read the table; the filter is
-- evaluated for the role reading the view (current_user), and
-- security_barrier keeps a reader's own (leaky) conditions behind it.
CREATE VIEW architect.visible_snapshot_statements WITH (security_barrier) AS
  SELECT s.*
    FROM architect.snapshot_statements s
   WHERE architect._sees_texts_of(s.userid);

COMMENT ON VIEW architect.visible_snapshot_statements IS
  'The snapshot statements the current role may see: its own, or all for superusers and pg_read_all_stats';

-- Plan rows of the statements the reader may see; the plan text (with the
-- constants of whoever ran the statement first) only for superusers and
-- pg_read_all_stats, as architect.plans.
CREATE VIEW architect.visible_snapshot_plans WITH (security_barrier) AS
  SELECT p.label, p.queryid, p.planid, p.calls, p.mean_ms, p.p95_ms,
         CASE WHEN pg_catalog.pg_has_role('pg_read_all_stats'::name, 'USAGE'::text) THEN p.plan END AS plan
    FROM architect.snapshot_plans p
   WHERE pg_catalog.pg_has_role('pg_read_all_stats'::name, 'USAGE'::text)
      OR EXISTS (SELECT 1 FROM architect.visible_snapshot_statements s
                  WHERE s.label OPERATOR(pg_catalog.=) p.label
                    AND s.queryid OPERATOR(pg_catalog.=) p.queryid);

COMMENT ON VIEW architect.visible_snapshot_plans IS
  'Plan ids of the snapshot statements the current role may see; plan text only for superusers and pg_read_all_stats';

GRANT SELECT ON architect.visible_snapshot_statements, architect.visible_snapshot_plans TO PUBLIC;

CREATE FUNCTION architect.snapshot(label text)
RETURNS architect.snapshots
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    lbl text := snapshot.label;
    stmts regclass := to_regclass('architect.statements');
    plns regclass := to_regclass('architect.plans');
    r architect.snapshots;
BEGIN
    PERFORM architect._require_primary('architect.snapshot()');
    IF lbl IS NULL THEN
        RAISE EXCEPTION 'snapshot label must not be null'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'Name the snapshot, e.g. architect.snapshot(''before-index'').';
    END IF;
    IF btrim(lbl) = '' THEN
        RAISE EXCEPTION 'snapshot label must not be empty'
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Name the snapshot, e.g. architect.snapshot(''before-index'').';
    END IF;
    -- the label is a primary key: a btree entry holds at most ~2.7 kB
    IF octet_length(lbl) > 200 THEN
        RAISE EXCEPTION 'snapshot label is too long (% bytes)', octet_length(lbl)
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Use a label of at most 200 bytes, e.g. architect.snapshot(''before-index'').';
    END IF;
    IF stmts IS NULL THEN
        RAISE EXCEPTION 'workload capture is not installed'
              USING ERRCODE = 'object_not_in_prerequisite_state',
                    DETAIL = 'architect.statements does not exist in this database.',
                    HINT = 'Snapshots store captured statements: capture needs a pg_architect build with workload capture and shared_preload_libraries = ''pg_architect'' (restart required).';
    END IF;
    IF EXISTS (SELECT 1 FROM architect.snapshots s WHERE s.label = lbl) THEN
        RAISE EXCEPTION 'snapshot "%" already exists', lbl
              USING ERRCODE = 'unique_violation',
                    HINT = format('Pick another label, or remove it first with architect.drop_snapshot(%L).', lbl);
    END IF;

    INSERT INTO architect.snapshots AS s (label) VALUES (lbl) RETURNING s.* INTO r;

    EXECUTE format($q$
      INSERT INTO architect.snapshot_statements
      SELECT $1, (j->>'userid')::oid, (j->>'dbid')::oid, (j->>'queryid')::bigint,
             (j->>'toplevel')::boolean, j->>'query', (j->>'calls')::bigint, (j->>'errors')::bigint,
             (j->>'rows')::bigint, (j->>'total_ms')::float8, (j->>'mean_ms')::float8,
             (j->>'min_ms')::float8, (j->>'max_ms')::float8, (j->>'p50_ms')::float8,
             (j->>'p95_ms')::float8, (j->>'p99_ms')::float8, (j->>'shared_blks_hit')::bigint,
             (j->>'shared_blks_read')::bigint, (j->>'temp_blks_written')::bigint,
             (j->>'wal_bytes')::numeric, (j->>'plans')::bigint
        FROM (SELECT to_jsonb(s) AS j FROM %s s) x $q$, stmts) USING lbl;
    GET DIAGNOSTICS r.statements = ROW_COUNT;

    IF plns IS NOT NULL THEN
        EXECUTE format($q$
          INSERT INTO architect.snapshot_plans
          SELECT $1, (j->>'queryid')::bigint, (j->>'planid')::bigint, (j->>'calls')::bigint,
                 (j->>'mean_ms')::float8, (j->>'p95_ms')::float8, j->>'plan'
            FROM (SELECT to_jsonb(p) AS j FROM %s p) x $q$, plns) USING lbl;
        GET DIAGNOSTICS r.plans = ROW_COUNT;
    END IF;

    INSERT INTO architect.snapshot_findings
    SELECT lbl, f.finding_id, f.rank, f.category, f.check_name, f.severity, f.effort, f.object,
           f.evidence, f.ddl, f.rollback_ddl
      FROM architect.findings() f;
    GET DIAGNOSTICS r.findings = ROW_COUNT;

    UPDATE architect.snapshots s
       SET statements = r.statements, plans = r.plans, findings = r.findings
     WHERE s.label = lbl;
    IF r.statements = 0 THEN
        RAISE NOTICE 'snapshot "%" holds no statements', lbl
              USING HINT = 'Is pg_architect in shared_preload_libraries, and has the workload run since the last architect.reset()?';
    END IF;
    RETURN r;
END
$fn$;

COMMENT ON FUNCTION architect.snapshot(text) IS
  'Store architect.statements, architect.plans and the findings register under a label, for architect.compare';

CREATE FUNCTION architect.drop_snapshot(label text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM architect._require_primary('architect.drop_snapshot()');
    IF drop_snapshot.label IS NULL THEN
        RAISE EXCEPTION 'snapshot label must not be null'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'List the snapshots with SELECT label, taken_at FROM architect.snapshots.';
    END IF;
    DELETE FROM architect.snapshots s WHERE s.label = drop_snapshot.label;
    RETURN FOUND;
END
$fn$;

COMMENT ON FUNCTION architect.drop_snapshot(text) IS
  'Remove a snapshot and its rows; false when there was none of that label';

CREATE FUNCTION architect._pct_change(a double precision, b double precision)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN a > 0 AND b IS NOT NULL THEN round(((b - a) / a * 100)::numeric, 1) END
$$;

CREATE FUNCTION architect.compare(a text, b text,
    OUT queryid bigint, OUT userid oid, OUT dbid oid, OUT toplevel boolean, OUT query text,
    OUT calls_a bigint, OUT calls_b bigint,
    OUT p50_a_ms double precision, OUT p50_b_ms double precision, OUT p50_change_pct numeric,
    OUT p95_a_ms double precision, OUT p95_b_ms double precision, OUT p95_change_pct numeric,
    OUT p99_a_ms double precision, OUT p99_b_ms double precision, OUT p99_change_pct numeric,
    OUT plans_a bigint[], OUT plans_b bigint[], OUT plan_changed boolean, OUT verdict text)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    missing text;
BEGIN
    IF compare.a IS NULL OR compare.b IS NULL THEN
        RAISE EXCEPTION 'snapshot labels must not be null'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'Name two snapshots, e.g. architect.compare(''before'', ''after''); list them with SELECT label, taken_at FROM architect.snapshots.';
    END IF;
    SELECT string_agg(format('"%s"', CASE WHEN length(l) > 64 THEN left(l, 64) || '...' ELSE l END), ', ') INTO missing
      FROM unnest(ARRAY[compare.a, compare.b]) l
     WHERE l IS NULL OR NOT EXISTS (SELECT 1 FROM architect.snapshots s WHERE s.label = l);
    IF missing IS NOT NULL OR compare.a IS NULL OR compare.b IS NULL THEN
        RAISE EXCEPTION 'snapshot % does not exist', coalesce(missing, '(null)')
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'List the snapshots with SELECT label, taken_at FROM architect.snapshots; take one with architect.snapshot(label).';
    END IF;

    RETURN QUERY
    WITH sa AS (SELECT * FROM architect.visible_snapshot_statements s WHERE s.label = compare.a),
         sb AS (SELECT * FROM architect.visible_snapshot_statements s WHERE s.label = compare.b),
         pa AS (SELECT p.queryid, array_agg(DISTINCT p.planid ORDER BY p.planid) AS ids
                  FROM architect.visible_snapshot_plans p WHERE p.label = compare.a GROUP BY p.queryid),
         pb AS (SELECT p.queryid, array_agg(DISTINCT p.planid ORDER BY p.planid) AS ids
                  FROM architect.visible_snapshot_plans p WHERE p.label = compare.b GROUP BY p.queryid),
         j AS (
           SELECT coalesce(sb.queryid, sa.queryid) AS queryid,
                  coalesce(sb.userid, sa.userid) AS userid,
                  coalesce(sb.dbid, sa.dbid) AS dbid,
                  coalesce(sb.toplevel, sa.toplevel) AS toplevel,
                  coalesce(sb.query, sa.query) AS query,
                  sa.calls AS calls_a, sb.calls AS calls_b,
                  sa.p50_ms AS p50_a, sb.p50_ms AS p50_b,
                  sa.p95_ms AS p95_a, sb.p95_ms AS p95_b,
                  sa.p99_ms AS p99_a, sb.p99_ms AS p99_b,
                  sa.queryid IS NOT NULL AS in_a, sb.queryid IS NOT NULL AS in_b
             FROM sa FULL JOIN sb
               ON sb.queryid = sa.queryid
              AND sb.userid IS NOT DISTINCT FROM sa.userid
              AND sb.dbid IS NOT DISTINCT FROM sa.dbid
              AND sb.toplevel IS NOT DISTINCT FROM sa.toplevel),
         c AS (
           SELECT j.*,
                  architect._pct_change(j.p50_a, j.p50_b) AS c50,
                  architect._pct_change(j.p95_a, j.p95_b) AS c95,
                  architect._pct_change(j.p99_a, j.p99_b) AS c99,
                  pa.ids AS ids_a, pb.ids AS ids_b
             FROM j
             LEFT JOIN pa ON pa.queryid = j.queryid
             LEFT JOIN pb ON pb.queryid = j.queryid)
    SELECT c.queryid, c.userid, c.dbid, c.toplevel, c.query, c.calls_a, c.calls_b,
           c.p50_a, c.p50_b, c.c50, c.p95_a, c.p95_b, c.c95, c.p99_a, c.p99_b, c.c99,
           c.ids_a, c.ids_b,
           CASE WHEN c.ids_a IS NULL OR c.ids_b IS NULL THEN NULL ELSE c.ids_a IS DISTINCT FROM c.ids_b END,
           CASE WHEN NOT c.in_a THEN 'new'
                WHEN NOT c.in_b THEN 'gone'
                WHEN (c.c50 <= -10 OR c.c95 <= -10 OR c.c99 <= -10)
                     AND (c.c50 >= 10 OR c.c95 >= 10 OR c.c99 >= 10) THEN 'mixed'
                WHEN c.c50 <= -10 OR c.c95 <= -10 OR c.c99 <= -10 THEN 'faster'
                WHEN c.c50 >= 10 OR c.c95 >= 10 OR c.c99 >= 10 THEN 'slower'
                ELSE 'unchanged' END
      FROM c
     ORDER BY CASE WHEN c.c95 >= 10 OR c.c50 >= 10 OR c.c99 >= 10 THEN 0 ELSE 1 END,
              coalesce(c.c95, c.c50) DESC NULLS LAST, c.queryid;
END
$fn$;

COMMENT ON FUNCTION architect.compare(text, text) IS
  'Per statement p50/p95/p99 before (a) and after (b), change in percent, plan ids in each snapshot, and a verdict (faster, slower, mixed, unchanged, new, gone)';

REVOKE ALL ON FUNCTION architect.snapshot(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION architect.drop_snapshot(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION architect.compare(text, text) FROM PUBLIC;
-- rows and texts filtered by the visible_snapshot_* views, as pg_stat_statements
GRANT EXECUTE ON FUNCTION architect.compare(text, text) TO PUBLIC;
