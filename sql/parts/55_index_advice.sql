-- The workload advisor over captured statements.
--
-- architect.advice_workload() is the one place that knows where the
-- workload comes from: architect.statements of this database and the
-- statements imported from other nodes (architect.imported_statements,
-- texts as the caller may see them), merged by query id, with total_ms
-- as the weight, and index candidates derived from architect.scans (what
-- the executor really did); the advisor adds its own candidates from each
-- statement's plan and validates all of them by re-planning.

CREATE FUNCTION architect.advice_workload(
    OUT queries text[],
    OUT weights float8[],
    OUT queryids bigint[],
    OUT candidates text[])
RETURNS record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  sc record;
  eq text[];
  rng text;
  cols text[];
  cand text[] := '{}';
BEGIN
  -- The statements of this database that take the most time, nested ones
  -- (inside functions) included, one row per query id; pg_architect's own
  -- queries are not the application's workload.
  EXECUTE $q$
    SELECT array_agg(query ORDER BY total_ms DESC),
           array_agg(total_ms::float8 ORDER BY total_ms DESC),
           array_agg(queryid ORDER BY total_ms DESC)
      FROM (SELECT s.queryid, min(s.query) AS query, sum(s.total_ms) AS total_ms
              FROM (SELECT l.queryid, l.query, l.total_ms, l.calls
                      FROM architect.statements l
                     WHERE l.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                    UNION ALL
                    -- statements of imported nodes (standbys serving reads)
                    SELECT i.queryid, i.query, i.total_ms, i.calls
                      FROM architect.imported_statements i
                     WHERE i.database = current_database()) s
             WHERE s.calls > 0
               AND s.query IS NOT NULL
               AND s.query <> '<insufficient privilege>'
               AND s.query !~* '\marchitect\.'
             GROUP BY s.queryid
             ORDER BY sum(s.total_ms) DESC
             LIMIT 500) top
  $q$ INTO queries, weights, queryids;
  IF queries IS NULL THEN
    RAISE NOTICE 'architect.index_advice has no workload: no statement captured in this database yet'
      USING HINT = 'Capture needs shared_preload_libraries = ''pg_architect''; once it runs, let the application work, then query again. Meanwhile architect.advise_workload(queries, weights) advises on statements you give it.';
    RETURN;
  END IF;

  -- Candidates from what the executor really did (architect.scans): for a
  -- scan that threw rows away, its equality / IN / IS NULL columns, then one
  -- range or LIKE-prefix column; for a sort under a LIMIT, its keys in
  -- order and direction.  The advisor validates each by re-planning.
  IF to_regclass('architect.scans') IS NOT NULL THEN
    FOR sc IN EXECUTE $q$
      SELECT s.relid, s.kind, s.columns, s.classes, s.expressions
        FROM architect.scans s
       WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND s.relid::oid >= 16384          -- not the system catalogs
         AND ((s.kind IN ('seq', 'bitmap') AND s.rows_removed_by_filter > 0)
              OR (s.kind IN ('index', 'index_only') AND s.rows_removed_by_filter > s.rows_returned)
              OR (s.kind = 'sort' AND s.limit_above))
    $q$
    LOOP
      IF sc.kind = 'sort' THEN
        SELECT array_agg(format('%I', c) || CASE WHEN k = 'desc' THEN ' DESC' ELSE '' END ORDER BY o)
          INTO cols
          FROM unnest(sc.columns, sc.classes, sc.expressions) WITH ORDINALITY AS u(c, k, e, o)
         WHERE c IS NOT NULL AND e IS NULL;
      ELSE
        SELECT array_agg(c ORDER BY first_o) INTO eq
          FROM (SELECT c, min(o) AS first_o
                  FROM unnest(sc.columns, sc.classes, sc.expressions) WITH ORDINALITY AS u(c, k, e, o)
                 WHERE c IS NOT NULL AND e IS NULL AND k IN ('equality', 'in_list', 'is_null')
                 GROUP BY c) d;
        SELECT c INTO rng
          FROM unnest(sc.columns, sc.classes, sc.expressions) WITH ORDINALITY AS u(c, k, e, o)
         WHERE c IS NOT NULL AND e IS NULL AND k IN ('range', 'like_prefix')
           AND c <> ALL (coalesce(eq, '{}'))
         ORDER BY o LIMIT 1;
        SELECT array_agg(format('%I', c) ORDER BY n) INTO cols
          FROM unnest(coalesce(eq, '{}') || CASE WHEN rng IS NULL THEN '{}'::text[] ELSE ARRAY[rng] END)
               WITH ORDINALITY AS u(c, n);
      END IF;
      IF cols IS NOT NULL AND array_length(cols, 1) > 0 THEN
        cand := cand || format('CREATE INDEX ON %s (%s)', sc.relid, array_to_string(cols, ', '));
      END IF;
    END LOOP;
    SELECT array_agg(DISTINCT c) INTO candidates FROM unnest(cand) AS c;
  END IF;
END
$fn$;

COMMENT ON FUNCTION architect.advice_workload() IS
  'The workload architect.index_advice advises on: the 500 statements of this database with the most total time, and index candidates derived from architect.scans';

-- The advisor over captured statements: the caller names query ids, the
-- texts and the role that ran each come from the capture store, and each
-- statement is planned only as that role, inside a security-restricted
-- operation (or skipped and counted in the reason): reading the advice never
-- runs one role's code under another role's identity.
CREATE FUNCTION architect.advise_captured(
    queryids bigint[],
    weights float8[] DEFAULT NULL,
    write_stats boolean DEFAULT false,
    candidates text[] DEFAULT NULL,
    quiet boolean DEFAULT false,
    search_path text DEFAULT NULL)
RETURNS SETOF architect.index_advice_row
AS 'MODULE_PATHNAME', 'architect_advise_captured'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION architect.advise_captured(bigint[], float8[], boolean, text[], boolean, text) IS
  'Index advice for captured statements of this database, each planned only as the role that ran it (security-restricted), never as the caller';

REVOKE ALL ON FUNCTION architect.advise_captured(bigint[], float8[], boolean, text[], boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION architect.advise_captured(bigint[], float8[], boolean, text[], boolean, text) TO pg_monitor;

CREATE VIEW architect.index_advice AS
  SELECT a.*
    FROM architect.advice_workload() w
    CROSS JOIN LATERAL architect.advise_captured(
        w.queryids, w.weights, candidates => w.candidates, quiet => true,
        -- captured texts are planned under the session default search_path
        -- (role / database / server setting), whoever reads the view
        search_path => (SELECT s.reset_val FROM pg_catalog.pg_settings s WHERE s.name = 'search_path')) a
   WHERE w.queries IS NOT NULL;

COMMENT ON VIEW architect.index_advice IS
  'Indexes to build for the captured workload, what-if validated and write-aware, with DDL and rollback DDL';

REVOKE ALL ON FUNCTION architect.advice_workload() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION architect.advice_workload() TO pg_monitor;
REVOKE ALL ON architect.index_advice FROM PUBLIC;
GRANT SELECT ON architect.index_advice TO pg_monitor;

-- Outcomes of issued advice.  architect.record_advice() files the current
-- (or given) advice; architect.advice_outcomes says, per filed index,
-- whether it was built, whether it is used, and how the p95 of the
-- statements it was meant to improve moved (when capture is available).

CREATE TABLE IF NOT EXISTS architect.advice_log (
    advice_id bigserial PRIMARY KEY,
    issued_at timestamptz NOT NULL DEFAULT now(),
    relation regclass NOT NULL,
    columns text[] NOT NULL,
    method text NOT NULL,
    ddl text NOT NULL,
    improved_queryids bigint[] NOT NULL DEFAULT '{}',
    p95_ms_at_issue float8[]
);

COMMENT ON TABLE architect.advice_log IS
  'Index advice as it was issued, with the p95 of the statements it should improve at that time';

CREATE FUNCTION architect.record_advice(
    queries text[] DEFAULT NULL,
    weights float8[] DEFAULT NULL,
    queryids bigint[] DEFAULT NULL,
    -- evaluated in the caller's context, before the SET below: the given
    -- statements are the caller's and resolve names as the caller would
    search_path text DEFAULT pg_catalog.current_setting('search_path'))
RETURNS SETOF architect.advice_log
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  a record;
  p95 float8[];
  row architect.advice_log;
BEGIN
  PERFORM architect._require_primary('architect.record_advice()');
  FOR a IN
    SELECT * FROM architect.advise_workload(queries, weights, queryids, search_path => record_advice.search_path)
     WHERE queries IS NOT NULL
    UNION ALL
    SELECT * FROM architect.index_advice WHERE queries IS NULL
  LOOP
    p95 := NULL;
    IF to_regclass('architect.statements') IS NOT NULL THEN
      EXECUTE 'SELECT array_agg((SELECT max(s.p95_ms) FROM architect.statements s WHERE s.queryid = q) ORDER BY o)
                 FROM unnest($1) WITH ORDINALITY AS u(q, o)'
        INTO p95 USING a.improved_queryids;
    END IF;
    INSERT INTO architect.advice_log (relation, columns, method, ddl, improved_queryids, p95_ms_at_issue)
    VALUES (a.relation, a.columns, a.method, a.ddl, a.improved_queryids, p95)
    RETURNING * INTO row;
    RETURN NEXT row;
  END LOOP;
END
$fn$;

COMMENT ON FUNCTION architect.record_advice(text[], float8[], bigint[], text) IS
  'File the advice (of the captured workload, or of the given one) in architect.advice_log';

CREATE FUNCTION architect.advice_outcomes(
    OUT advice_id bigint,
    OUT issued_at timestamptz,
    OUT relation regclass,
    OUT columns text[],
    OUT index regclass,
    OUT idx_scan bigint,
    OUT improved_queryids bigint[],
    OUT p95_ms_at_issue float8[],
    OUT p95_ms_now float8[],
    OUT verdict text,
    OUT evidence text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  l architect.advice_log;
  before float8;
  after float8;
BEGIN
  FOR l IN SELECT * FROM architect.advice_log ORDER BY advice_id LOOP
    advice_id := l.advice_id;
    issued_at := l.issued_at;
    relation := l.relation;
    columns := l.columns;
    improved_queryids := l.improved_queryids;
    p95_ms_at_issue := l.p95_ms_at_issue;
    p95_ms_now := NULL;
    -- the advised definition itself, under any name
    SELECT i.indexrelid::regclass, coalesce(st.idx_scan, 0)
      INTO index, idx_scan
      FROM pg_index i
      LEFT JOIN pg_stat_user_indexes st ON st.indexrelid = i.indexrelid
     WHERE i.indrelid = l.relation AND i.indisvalid
       AND regexp_replace(pg_get_indexdef(i.indexrelid),
                          '^CREATE (UNIQUE )?INDEX ("(?:[^"]|"")*"|\S+) ON ', 'CREATE INDEX ON ')
         = regexp_replace(l.ddl,
                          '^CREATE INDEX (CONCURRENTLY )?(IF NOT EXISTS )?("(?:[^"]|"")*"|\S+) ON ', 'CREATE INDEX ON ')
     ORDER BY i.indexrelid
     LIMIT 1;
    -- or an index on the relation whose leading key columns are the advised ones
    IF index IS NULL THEN
    SELECT i.indexrelid::regclass, coalesce(st.idx_scan, 0)
      INTO index, idx_scan
      FROM pg_index i
      LEFT JOIN pg_stat_user_indexes st ON st.indexrelid = i.indexrelid
     WHERE i.indrelid = l.relation AND i.indisvalid
       AND (SELECT array_agg(quote_ident(a.attname) ORDER BY k.n)
              FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE k.n <= i.indnkeyatts)[1:cardinality(l.columns)]
           = (SELECT array_agg(substring(c from '^("(?:[^"]|"")*"|[^ ]+)') ORDER BY n)
                FROM unnest(l.columns) WITH ORDINALITY AS u(c, n))
     ORDER BY i.indexrelid
     LIMIT 1;
    END IF;
    -- Use seen by the executor counts too: pg_stat_user_indexes lags (its
    -- counters are flushed at transaction end), architect.index_usage does not.
    IF index IS NOT NULL THEN
      idx_scan := greatest(idx_scan, (SELECT coalesce(sum(u.executions), 0)
                                        FROM architect.index_usage u WHERE u.indexrelid = advice_outcomes.index::oid));
    END IF;
    -- "Now" is the p95 of each statement's current plan (the one seen
    -- last): once the index exists the statement runs a new plan with its
    -- own histogram, so slow executions from before do not blur the verdict.
    SELECT array_agg((SELECT p.p95_ms FROM architect.plans p
                       WHERE p.queryid = q
                         AND p.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                       ORDER BY p.last_seen DESC, p.calls DESC LIMIT 1) ORDER BY o)
      INTO p95_ms_now
      FROM unnest(l.improved_queryids) WITH ORDINALITY AS u(q, o);
    SELECT avg(x) INTO before FROM unnest(l.p95_ms_at_issue) x;
    SELECT avg(x) INTO after FROM unnest(p95_ms_now) x;
    IF index IS NULL THEN
      verdict := 'not built';
      evidence := 'no valid index on ' || l.relation::text || ' starts with (' || array_to_string(l.columns, ', ') || ')';
    ELSIF idx_scan = 0 THEN
      verdict := 'unused';
      evidence := index::text || ' exists but has not been scanned since statistics were reset, nor by any captured query';
    ELSIF before IS NULL OR after IS NULL THEN
      verdict := 'used';
      evidence := index::text || ' scanned ' || idx_scan || ' times; no p95 to compare (capture needed)';
    ELSIF after <= before * 0.9 THEN
      verdict := 'kept';
      evidence := format('mean p95 of the improved statements %s ms -> %s ms', round(before::numeric, 3), round(after::numeric, 3));
    ELSIF after >= before * 1.1 THEN
      verdict := 'regressed';
      evidence := format('mean p95 of the improved statements %s ms -> %s ms', round(before::numeric, 3), round(after::numeric, 3));
    ELSE
      verdict := 'no effect';
      evidence := format('mean p95 of the improved statements %s ms -> %s ms', round(before::numeric, 3), round(after::numeric, 3));
    END IF;
    RETURN NEXT;
  END LOOP;
END
$fn$;

COMMENT ON FUNCTION architect.advice_outcomes() IS
  'For each filed advice: built or not, used or not, and how the p95 of the statements it should improve moved; evidence only, nothing is dropped';

CREATE VIEW architect.advice_outcomes AS SELECT * FROM architect.advice_outcomes();

REVOKE ALL ON FUNCTION architect.record_advice(text[], float8[], bigint[], text) FROM PUBLIC;
REVOKE ALL ON TABLE architect.advice_log FROM PUBLIC;
GRANT SELECT ON TABLE architect.advice_log TO pg_monitor;
REVOKE ALL ON FUNCTION architect.advice_outcomes() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION architect.advice_outcomes() TO pg_monitor;
REVOKE ALL ON architect.advice_outcomes FROM PUBLIC;
GRANT SELECT ON architect.advice_outcomes TO pg_monitor;

-- Advice from pg_stat_statements, for instances where pg_architect is not
-- preloaded but pg_stat_statements is (managed services).  Texts are the
-- normalised ones; typed literals normalised into "interval $1" are
-- re-typed by the what-if engine, statements that still do not parse are
-- skipped with a NOTICE.

-- In C: each statement is planned only as the role that ran it (see
-- architect.advise_captured), and the rows are read from the extension
-- found through pg_extension, never from a relation the caller names.
CREATE FUNCTION architect.advise_pg_stat_statements(max_statements integer DEFAULT 500)
RETURNS SETOF architect.index_advice_row
AS 'MODULE_PATHNAME', 'architect_advise_pg_stat_statements'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION architect.advise_pg_stat_statements(integer) IS
  'Index advice for the statements pg_stat_statements recorded in this database (weights = total_exec_time)';

REVOKE ALL ON FUNCTION architect.advise_pg_stat_statements(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION architect.advise_pg_stat_statements(integer) TO pg_monitor;
