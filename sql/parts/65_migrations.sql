-- Zero-downtime migrations: plan (expand/contract recipes), rehearsal with a
-- proven rollback, batched backfill, the CI check and the runbook.
--
-- Built on architect.check_ddl() (lock, rewrite, scan, size per statement)
-- and architect.migration_statements() (what each statement is: the parse
-- side, src/migrate/migrate.c).  Neither executes anything.
--
-- Security: every function here pins search_path = pg_catalog, pg_temp.
-- plan_migration, check_migration, runbook and the fingerprint functions
-- only read the catalog; rehearse and run_with_lock_timeout execute the
-- caller's SQL as the caller (that is their job, like psql), SECURITY
-- INVOKER.  Those that parse, look up or run the caller's statements take
-- the caller's search_path as a last argument, search_path text DEFAULT
-- current_setting('search_path'): a default is evaluated in the caller's
-- context, before the function's SET clause applies.  They switch to it
-- (set_config(..., true)) only around resolving or executing the caller's
-- statements, and back.  backfill alone cannot pin its path: a procedure
-- with a SET clause may not COMMIT; every name it uses is qualified, and
-- test/pgtap/02_hostile_search_path.sql allows exactly it.

-- ---------- parse side (C) ----------

CREATE FUNCTION architect.migration_statements(
    sql text,
    OUT statement_no integer,
    OUT statement text,
    OUT command text,
    OUT kind text,
    OUT relation text,
    OUT relid oid,
    OUT subcommands integer,
    OUT column_name text,
    OUT new_name text,
    OUT type_name text,
    OUT expr text,
    OUT not_null boolean,
    OUT constraint_type text,
    OUT constraint_name text,
    OUT keys text,
    OUT is_concurrent boolean,
    OUT not_valid boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'architect_migration_statements'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION architect.migration_statements(text) IS
  'What each statement of a migration script is (kind, relation, column, type, default, constraint); parses only, executes nothing';

CREATE FUNCTION architect.validate_fragment(fragment text, kind text)
RETURNS void
AS 'MODULE_PATHNAME', 'architect_validate_fragment'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION architect.validate_fragment(text, text) IS
  'Raises an error unless the text parses on its own as one expression (kind expression) or one UPDATE SET list (kind set_clause)';

CREATE FUNCTION architect._arm_statement_timeout(ms integer)
RETURNS void
AS 'MODULE_PATHNAME', 'architect_arm_statement_timeout'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;


-- The parse side resolves names with the caller's search_path (the planned
-- script will run under it); these wrappers let a pinned function call it
-- that way.  Both C functions only look names up: no user code runs.
CREATE FUNCTION architect._stmts(sql text, caller_path text)
RETURNS TABLE (statement_no integer, statement text, command text, kind text, relation text,
               relid oid, subcommands integer, column_name text, new_name text, type_name text,
               expr text, not_null boolean, constraint_type text, constraint_name text, keys text,
               is_concurrent boolean, not_valid boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM pg_catalog.set_config('search_path', caller_path, true);
  RETURN QUERY SELECT * FROM architect.migration_statements(_stmts.sql);
EXCEPTION WHEN syntax_error THEN
  -- The parser quotes the offending token whole: never echo a megabyte.
  IF pg_catalog.length(SQLERRM) OPERATOR(pg_catalog.>) 200 THEN
    RAISE EXCEPTION '%...', pg_catalog.left(SQLERRM, 200)
      USING ERRCODE = 'syntax_error', HINT = 'The migration script does not parse (the token is cut in this message).';
  END IF;
  RAISE;
END
$$;

CREATE FUNCTION architect._ddl(sql text, caller_path text)
RETURNS TABLE (statement_no integer, statement text, relation text, lock_mode text,
               rewrites_table boolean, scans_table boolean, blocks_reads boolean, blocks_writes boolean,
               relation_bytes bigint, risk text, reason text, safer_alternative text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM pg_catalog.set_config('search_path', caller_path, true);
  RETURN QUERY SELECT * FROM architect.check_ddl(_ddl.sql);
END
$$;

-- ---------- small helpers ----------

CREATE FUNCTION architect._lock_rank(mode text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE $1
    WHEN 'AccessShareLock' THEN 1 WHEN 'RowShareLock' THEN 2
    WHEN 'RowExclusiveLock' THEN 3 WHEN 'ShareUpdateExclusiveLock' THEN 4
    WHEN 'ShareLock' THEN 5 WHEN 'ShareRowExclusiveLock' THEN 6
    WHEN 'ExclusiveLock' THEN 7 WHEN 'AccessExclusiveLock' THEN 8
    ELSE 0 END
$$;

CREATE FUNCTION architect._rate(name text)
RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  -- NULL for a name that is no rate (the GUC's name is never built from
  -- arbitrary text: no error echoing it)
  SELECT CASE WHEN $1 IN ('scan', 'rewrite', 'index', 'backfill')
              THEN current_setting('pg_architect.migrate_' || $1 || '_rate')::double precision END
$$;

-- Seconds for a table of $1 bytes at the rate named $2 (MB/s), times $3.
CREATE FUNCTION architect._secs(bytes bigint, rate text, factor double precision DEFAULT 1)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT round((greatest(coalesce($1, 0), 0) / 1048576.0
                / architect._rate($2) * $3)::numeric, 2)
$$;

-- A rewrite copies the heap and rebuilds every index: the rate is MB of
-- heap + indexes per second, as measured by bench/migrate/run.sh.
CREATE FUNCTION architect._rewrite_secs(rel oid, bytes bigint)
RETURNS numeric
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT architect._secs($2 + coalesce((SELECT pg_indexes_size(c.oid) FROM pg_class c WHERE c.oid = $1), 0), 'rewrite')
$$;

-- The catalog text of one relation a rollback has to restore: columns
-- (order, type, default, NOT NULL, identity, generated, collation),
-- constraints (definition, validated), indexes (definition, valid),
-- triggers (definition, enabled), privileges (table and column), comments
-- (table, columns, constraints), owner, options, row security.
CREATE FUNCTION architect.catalog_description(rel regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT concat_ws(E'\n',
    format('relation %s kind %s persistence %s owner %s options %s rls %s/%s',
           c.oid::regclass, c.relkind, c.relpersistence, c.relowner::regrole,
           c.reloptions, c.relrowsecurity, c.relforcerowsecurity),
    'acl ' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(c.relacl) a), ''),
    'comment ' || coalesce(obj_description(c.oid, 'pg_class'), ''),
    (SELECT string_agg(format('column %s %I %s notnull=%s identity=%s generated=%s collation=%s default=%s acl=%s comment=%s',
                              a.ord, a.attname,
                              format_type(a.atttypid, a.atttypmod), a.attnotnull,
                              a.attidentity, a.attgenerated, a.attcollation,
                              pg_get_expr(d.adbin, d.adrelid),
                              (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(a.attacl) x),
                              col_description(c.oid, a.attnum)),
                       E'\n' ORDER BY a.attnum)
       FROM (SELECT pa.*, row_number() OVER (ORDER BY pa.attnum) AS ord
               FROM pg_attribute pa
              WHERE pa.attrelid = c.oid AND pa.attnum > 0 AND NOT pa.attisdropped) a
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum),
    (SELECT string_agg(format('constraint %I %s validated=%s comment=%s', n.conname,
                              pg_get_constraintdef(n.oid), n.convalidated,
                              obj_description(n.oid, 'pg_constraint')),
                       E'\n' ORDER BY n.conname)
       FROM pg_constraint n WHERE n.conrelid = c.oid),
    (SELECT string_agg(format('index %s valid=%s comment=%s', pg_get_indexdef(i.indexrelid),
                              i.indisvalid, obj_description(i.indexrelid, 'pg_class')),
                       E'\n' ORDER BY i.indexrelid::regclass::text)
       FROM pg_index i WHERE i.indrelid = c.oid),
    (SELECT string_agg(format('trigger %s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled),
                       E'\n' ORDER BY t.tgname)
       FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),
    (SELECT string_agg(format('policy %I %s %s using=%s check=%s', p.polname, p.polcmd,
                              p.polpermissive, pg_get_expr(p.polqual, p.polrelid),
                              pg_get_expr(p.polwithcheck, p.polrelid)),
                       E'\n' ORDER BY p.polname)
       FROM pg_policy p WHERE p.polrelid = c.oid))
  FROM pg_class c WHERE c.oid = $1
$$;

COMMENT ON FUNCTION architect.catalog_description(regclass) IS
  'Canonical text of a relation''s columns, types, defaults, constraints, indexes, triggers, privileges and comments (what catalog_fingerprint hashes)';

CREATE FUNCTION architect.catalog_fingerprint(rel regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT coalesce(md5(architect.catalog_description($1)), 'absent') $$;

COMMENT ON FUNCTION architect.catalog_fingerprint(regclass) IS
  'md5 of catalog_description: equal fingerprints before a forward migration and after its rollback prove the rollback restored the schema';

-- ---------- lock_timeout with retry ----------

-- Runs one statement (or a ;-separated group, atomically) under a
-- lock_timeout; when the lock is not granted in time the attempt is rolled
-- back (a subtransaction), nothing is left half-done, and it retries after
-- a growing pause.  It does not COMMIT, so it can also run inside a larger
-- transaction (the swap step of a type change), and so it can pin its
-- search_path.  Executes the caller's SQL as the caller under the caller's
-- search_path; the lock_timeout it sets ends with the call (SET clause).
CREATE PROCEDURE architect.run_with_lock_timeout(
    sql text,
    lock_timeout interval DEFAULT '500ms',
    retries integer DEFAULT 10,
    pause interval DEFAULT '1s',
    -- evaluated in the caller's context, before the SET below
    search_path text DEFAULT pg_catalog.current_setting('search_path'))
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  attempt integer := 0;
BEGIN
  IF sql IS NULL OR lock_timeout IS NULL OR retries IS NULL OR pause IS NULL OR search_path IS NULL THEN
    RAISE EXCEPTION 'run_with_lock_timeout arguments must not be NULL'
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Pass the statement, a lock_timeout such as ''500ms'', a retry count and a pause.';
  END IF;
  IF retries OPERATOR(pg_catalog.<) 1 OR lock_timeout OPERATOR(pg_catalog.<=) '0'::interval THEN
    RAISE EXCEPTION 'retries must be at least 1 and lock_timeout positive'
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'A zero lock_timeout would wait for ever, which is what this procedure exists to avoid.';
  END IF;
  LOOP
    attempt := attempt OPERATOR(pg_catalog.+) 1;
    BEGIN
      PERFORM pg_catalog.set_config('lock_timeout',
                (pg_catalog.date_part('epoch', lock_timeout) OPERATOR(pg_catalog.*) 1000)::integer::text, true);
      PERFORM pg_catalog.set_config('search_path', run_with_lock_timeout.search_path, true);
      EXECUTE sql;
      PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
      PERFORM pg_catalog.set_config('lock_timeout', '0', true);
      RETURN;
    EXCEPTION WHEN syntax_error THEN
      -- the parser quotes the offending token whole: never echo a megabyte
      IF pg_catalog.length(SQLERRM) OPERATOR(pg_catalog.>) 200 THEN
        RAISE EXCEPTION '%...', pg_catalog.left(SQLERRM, 200)
          USING ERRCODE = 'syntax_error', HINT = 'The statement does not parse (the token is cut in this message).';
      END IF;
      RAISE;
    WHEN lock_not_available THEN
      PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
      IF attempt OPERATOR(pg_catalog.>=) retries THEN
        RAISE EXCEPTION 'lock not granted within % after % attempts', lock_timeout, attempt
          USING ERRCODE = 'lock_not_available',
                HINT = 'A long transaction holds a conflicting lock: see pg_locks / pg_stat_activity, then run the step again.';
      END IF;
      RAISE NOTICE 'attempt %: lock not granted within %, retrying in %', attempt, lock_timeout,
        pause OPERATOR(pg_catalog.*) attempt::double precision;
    END;
    PERFORM pg_catalog.pg_sleep(pg_catalog.date_part('epoch', pause) OPERATOR(pg_catalog.*) attempt);
  END LOOP;
END
$$;

COMMENT ON PROCEDURE architect.run_with_lock_timeout(text, interval, integer, interval, text) IS
  'Runs SQL under a lock_timeout, retrying with a growing pause when the lock is not granted; never queues the workload behind it for longer than lock_timeout';

-- ---------- batched backfill ----------

CREATE TABLE IF NOT EXISTS architect.backfill_progress (
    job            text PRIMARY KEY,
    owner          name NOT NULL DEFAULT current_user,
    relid          oid NOT NULL,
    relation       text NOT NULL,
    set_clause     text NOT NULL,
    where_clause   text NOT NULL,
    key_column     name NOT NULL,
    last_key       text,
    rows_done      bigint NOT NULL DEFAULT 0,
    rows_estimated bigint,
    batches        bigint NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    status         text NOT NULL DEFAULT 'running'
);

COMMENT ON TABLE architect.backfill_progress IS
  'One row per architect.backfill job: the last key done (resume point), rows done, estimate, status; each role sees and changes only its own jobs';

ALTER TABLE architect.backfill_progress ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS backfill_progress_own ON architect.backfill_progress;
CREATE POLICY backfill_progress_own ON architect.backfill_progress
  USING (owner = current_user) WITH CHECK (owner = current_user);
GRANT SELECT, INSERT, UPDATE, DELETE ON architect.backfill_progress TO PUBLIC;

-- UPDATE rel SET <set_clause> WHERE (<where_clause>) in key order, batch by
-- batch, each batch its own transaction (COMMIT between batches: no lock is
-- held across batches), the resume point committed with the batch.  A
-- cancel or crash loses at most the current batch, and CALLing again with
-- the same arguments resumes from the last committed key.
CREATE PROCEDURE architect.backfill(
    rel regclass,
    set_clause text,
    where_clause text DEFAULT 'true',
    batch_rows integer DEFAULT 5000,
    pause interval DEFAULT '10ms')
LANGUAGE plpgsql
SECURITY INVOKER
AS $$
DECLARE
  v_job text;
  v_rel text;
  v_key name;
  v_keytype text;
  v_last text;
  v_done bigint;
  v_est bigint;
  v_batches bigint;
  v_status text;
  v_n bigint;
  v_max text;
  v_first text;
  v_next text;
  v_t0 timestamptz := pg_catalog.clock_timestamp();
  v_done0 bigint;
  v_rate double precision;
BEGIN
  IF rel IS NULL OR set_clause IS NULL OR where_clause IS NULL OR batch_rows IS NULL OR pause IS NULL THEN
    RAISE EXCEPTION 'backfill arguments must not be NULL'
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Example: CALL architect.backfill(''t'', ''c_new = c'', ''c_new IS NULL'', 5000, ''10ms'').';
  END IF;
  IF batch_rows OPERATOR(pg_catalog.<) 1 OR batch_rows OPERATOR(pg_catalog.>) 1000000 THEN
    RAISE EXCEPTION 'batch_rows must be between 1 and 1000000'
      USING ERRCODE = 'invalid_parameter_value', HINT = 'A batch is one transaction: a few thousand rows keep its row locks brief.';
  END IF;
  -- The fragments must parse on their own as what they claim to be, so that
  -- splicing them below cannot change the statement's shape.
  PERFORM architect.validate_fragment(set_clause, 'set_clause');
  PERFORM architect.validate_fragment(where_clause, 'expression');

  SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
    INTO v_rel
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
   WHERE c.oid OPERATOR(pg_catalog.=) rel AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[]);
  IF v_rel IS NULL THEN
    RAISE EXCEPTION 'relation % is not a table', rel
      USING ERRCODE = 'wrong_object_type', HINT = 'Backfill a table (or a partitioned table).';
  END IF;

  -- The batches walk a single-column primary key (or unique NOT NULL) key.
  SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
    INTO v_key, v_keytype
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid
                                 AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0]
   WHERE i.indrelid OPERATOR(pg_catalog.=) rel AND i.indisunique AND i.indisvalid
     AND i.indnkeyatts OPERATOR(pg_catalog.=) 1 AND i.indexprs IS NULL AND i.indpred IS NULL
     AND a.attnotnull
   ORDER BY i.indisprimary DESC, i.indexrelid
   LIMIT 1;
  IF v_key IS NULL THEN
    RAISE EXCEPTION 'table % has no single-column primary key or unique NOT NULL key', v_rel
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'The batches walk such a key in order so that a resumed job knows where it stopped.';
  END IF;

  -- Semantic check (columns exist, types fit): plan the composed UPDATE.
  BEGIN
    EXECUTE pg_catalog.format(E'EXPLAIN UPDATE %s SET %s\n WHERE (%s\n)', v_rel, set_clause, where_clause);
  EXCEPTION WHEN syntax_error_or_access_rule_violation OR data_exception OR undefined_function THEN
    RAISE EXCEPTION 'set_clause or where_clause does not fit table %: %', v_rel, SQLERRM
      USING ERRCODE = SQLSTATE,
            HINT = 'Both are checked as UPDATE <table> SET <set_clause> WHERE (<where_clause>): name existing columns with fitting types.';
  END;

  v_job := pg_catalog.md5(pg_catalog.concat_ws(E'\x01', rel::oid::text, set_clause, where_clause));
  SELECT p.last_key, p.rows_done, p.rows_estimated, p.batches, p.status
    INTO v_last, v_done, v_est, v_batches, v_status
    FROM architect.backfill_progress p WHERE p.job OPERATOR(pg_catalog.=) v_job;
  IF FOUND AND v_status OPERATOR(pg_catalog.=) 'done' THEN
    RAISE NOTICE 'backfill of % already done (% rows); DELETE FROM architect.backfill_progress WHERE job = % to run it again',
      v_rel, v_done, pg_catalog.quote_literal(v_job);
    RETURN;
  ELSIF FOUND THEN
    RAISE NOTICE 'resuming backfill of % after key % (% rows done in % batches)', v_rel, v_last, v_done, v_batches;
  ELSE
    EXECUTE pg_catalog.format(E'SELECT pg_catalog.count(*) FROM %s WHERE (%s\n)', v_rel, where_clause) INTO v_est;
    INSERT INTO architect.backfill_progress (job, relid, relation, set_clause, where_clause, key_column, rows_estimated)
    VALUES (v_job, rel, v_rel, set_clause, where_clause, v_key, v_est);
    v_done := 0;
    v_batches := 0;
    RAISE NOTICE 'backfill of %: about % rows, % per batch, key %', v_rel, v_est, batch_rows, v_key;
  END IF;
  COMMIT;
  v_done0 := v_done;

  v_first := pg_catalog.format(
    E'WITH b AS (SELECT %1$I AS pga_backfill_key FROM %2$s WHERE (%3$s\n) ORDER BY %1$I LIMIT %4$s),\n'
    ' u AS (UPDATE %2$s SET %5$s FROM b WHERE %2$s.%1$I OPERATOR(pg_catalog.=) b.pga_backfill_key RETURNING %2$s.%1$I AS k)\n'
    'SELECT pg_catalog.count(*), pg_catalog.max(k)::text FROM u',
    v_key, v_rel, where_clause, batch_rows, set_clause);
  v_next := pg_catalog.format(
    E'WITH b AS (SELECT %1$I AS pga_backfill_key FROM %2$s WHERE %1$I OPERATOR(pg_catalog.>) $1::%6$s AND (%3$s\n) ORDER BY %1$I LIMIT %4$s),\n'
    ' u AS (UPDATE %2$s SET %5$s FROM b WHERE %2$s.%1$I OPERATOR(pg_catalog.=) b.pga_backfill_key RETURNING %2$s.%1$I AS k)\n'
    'SELECT pg_catalog.count(*), pg_catalog.max(k)::text FROM u',
    v_key, v_rel, where_clause, batch_rows, set_clause, v_keytype);

  LOOP
    -- A batch waits at most 1 s for a lock (a DDL queued on the table):
    -- the error aborts this batch only; the job resumes from the last commit.
    PERFORM pg_catalog.set_config('lock_timeout', '1000', true);
    IF v_last IS NULL THEN
      EXECUTE v_first INTO v_n, v_max;
    ELSE
      EXECUTE v_next INTO v_n, v_max USING v_last;
    END IF;
    IF v_n OPERATOR(pg_catalog.=) 0 THEN
      UPDATE architect.backfill_progress
         SET status = 'done', finished_at = pg_catalog.clock_timestamp(), updated_at = pg_catalog.clock_timestamp()
       WHERE job OPERATOR(pg_catalog.=) v_job;
      COMMIT;
      RAISE NOTICE 'backfill of % done: % rows in % batches', v_rel, v_done, v_batches;
      RETURN;
    END IF;
    v_last := v_max;
    v_done := v_done OPERATOR(pg_catalog.+) v_n;
    v_batches := v_batches OPERATOR(pg_catalog.+) 1;
    UPDATE architect.backfill_progress
       SET last_key = v_last, rows_done = v_done, batches = v_batches,
           updated_at = pg_catalog.clock_timestamp()
     WHERE job OPERATOR(pg_catalog.=) v_job;
    COMMIT;
    v_rate := (v_done OPERATOR(pg_catalog.-) v_done0)::double precision OPERATOR(pg_catalog./)
              greatest(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) v_t0), 0.001);
    IF v_batches OPERATOR(pg_catalog.%) 10 OPERATOR(pg_catalog.=) 0 OR v_n OPERATOR(pg_catalog.<) batch_rows THEN
      RAISE NOTICE 'backfill of %: % / ~% rows, % rows/s, ETA % s', v_rel, v_done, v_est,
        pg_catalog.round(v_rate::numeric), pg_catalog.round((greatest(v_est OPERATOR(pg_catalog.-) v_done, 0)
                                                        OPERATOR(pg_catalog./) greatest(v_rate, 1))::numeric, 1);
    END IF;
    IF pause OPERATOR(pg_catalog.>) '0'::interval THEN
      PERFORM pg_catalog.pg_sleep(pg_catalog.date_part('epoch', pause));
    END IF;
  END LOOP;
END
$$;

COMMENT ON PROCEDURE architect.backfill(regclass, text, text, integer, interval) IS
  'Batched UPDATE in key order, one transaction per batch, resumable (architect.backfill_progress), progress by NOTICE; CALL it outside a transaction block';

-- ---------- the plan ----------

CREATE TYPE architect.migration_step AS (
    step_no        integer,
    statement_no   integer,
    phase          text,
    action         text,
    sql            text,
    run_sql        text,
    lock_mode      text,
    relation       text,
    rewrites       boolean,
    scans          boolean,
    relation_bytes bigint,
    est_seconds    numeric,
    transactional  boolean,
    rollback_sql   text,
    verify_sql     text,
    risk           text,
    notes          text
);

CREATE FUNCTION architect._step(
    statement_no integer, phase text, action text, sql text, lock_mode text,
    relation text, rewrites boolean, scans boolean, relation_bytes bigint,
    est_seconds numeric, transactional boolean, rollback_sql text, verify_sql text,
    risk text, notes text DEFAULT NULL)
RETURNS architect.migration_step
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT ROW(NULL, $1, $2, $3, $4, NULL, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)::architect.migration_step
$$;

-- Name PostgreSQL would choose for an unnamed constraint or index (no
-- truncation of long names, no collision suffix: the rehearsal shows it).
CREATE FUNCTION architect._predicted_name(relname text, keys text, label text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT left(concat_ws('_', $1, nullif(replace(replace($2, '"', ''), ', ', '_'), ''), $3), 63)
$$;

-- The statement undoing one statement, computed from the catalog before it
-- runs; NULL when it cannot be undone (dropped data) or is unknown.
CREATE FUNCTION architect._inverse(
    kind text, relid oid, relation text, column_name text, new_name text,
    constraint_type text, constraint_name text, keys text, expr text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r text := CASE WHEN relid IS NOT NULL THEN relid::regclass::text ELSE relation END;
  -- a table created earlier in the script has no OID yet: its written name
  relname text := coalesce((SELECT c.relname FROM pg_class c WHERE c.oid = relid),
                           (SELECT p[cardinality(p)] FROM parse_ident(relation) p));
  att record;
  label text;
BEGIN
  SELECT a.attnum, format_type(a.atttypid, a.atttypmod) AS typ, a.attnotnull,
         pg_get_expr(d.adbin, d.adrelid) AS def
    INTO att
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attrelid = _inverse.relid AND a.attname = _inverse.column_name AND NOT a.attisdropped;
  CASE kind
    WHEN 'add_column' THEN RETURN format('ALTER TABLE %s DROP COLUMN %I', r, column_name);
    WHEN 'alter_type' THEN
      RETURN format('ALTER TABLE %s ALTER COLUMN %I TYPE %s USING %I::%s', r, column_name, att.typ, column_name, att.typ);
    WHEN 'set_not_null' THEN
      RETURN CASE WHEN att.attnotnull THEN '' ELSE format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', r, column_name) END;
    WHEN 'drop_not_null' THEN
      RETURN CASE WHEN att.attnotnull THEN format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', r, column_name) ELSE '' END;
    WHEN 'set_default', 'drop_default' THEN
      RETURN CASE WHEN att.def IS NULL THEN format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', r, column_name)
                  ELSE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', r, column_name, att.def) END;
    WHEN 'add_constraint' THEN
      label := CASE constraint_type WHEN 'foreign_key' THEN 'fkey' WHEN 'check' THEN 'check'
                 WHEN 'unique' THEN 'key' WHEN 'primary_key' THEN 'pkey' WHEN 'exclusion' THEN 'excl' END;
      RETURN format('ALTER TABLE %s DROP CONSTRAINT %I', r,
                    coalesce(constraint_name,
                             architect._predicted_name(relname, CASE WHEN label = 'pkey' THEN NULL ELSE keys END, label)));
    WHEN 'drop_constraint' THEN
      RETURN (SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', r, n.conname, pg_get_constraintdef(n.oid))
                FROM pg_constraint n WHERE n.conrelid = relid AND n.conname = column_name);
    WHEN 'create_index' THEN
      RETURN format('DROP INDEX %s', CASE WHEN new_name IS NOT NULL
        THEN format('%s%I', (SELECT quote_ident(nspname) || '.' FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid WHERE c.oid = relid), new_name)
        ELSE quote_ident(architect._predicted_name(relname, keys, 'idx')) END);
    WHEN 'drop_index' THEN
      RETURN (SELECT pg_get_indexdef(relid));
    WHEN 'rename_column' THEN
      RETURN format('ALTER TABLE %s RENAME COLUMN %I TO %I', r, new_name, column_name);
    WHEN 'rename_table' THEN
      RETURN format('ALTER TABLE %s RENAME TO %I',
                    (SELECT format('%I.%I', n.nspname, new_name) FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid WHERE c.oid = relid),
                    relname);
    WHEN 'create_table' THEN RETURN format('DROP TABLE %s', relation);
    WHEN 'vacuum', 'vacuum_full', 'analyze', 'cluster', 'validate_constraint', 'set' THEN RETURN '';
    ELSE RETURN NULL;
  END CASE;
END
$$;

CREATE FUNCTION architect._verify_column(rel text, col text, typ text DEFAULT NULL)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT format('SELECT count(*) = 1 FROM pg_catalog.pg_attribute WHERE attrelid = %L::regclass AND attname = %L AND NOT attisdropped%s',
                $1, $2, CASE WHEN $3 IS NULL THEN '' ELSE format(' AND pg_catalog.format_type(atttypid, atttypmod) = %L', $3) END)
$$;

CREATE FUNCTION architect._verify_constraint(rel text, con text, validated boolean DEFAULT NULL)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT format('SELECT count(*) = 1 FROM pg_catalog.pg_constraint WHERE conrelid = %L::regclass AND conname = %L%s',
                $1, $2, CASE WHEN $3 THEN ' AND convalidated' ELSE '' END)
$$;

-- CHECK (c IS NOT NULL) NOT VALID, VALIDATE, SET NOT NULL (proved by the
-- check: no scan under the AccessExclusiveLock), DROP the check.
CREATE FUNCTION architect._not_null_steps(stno integer, rel text, relname text, col text, bytes bigint)
RETURNS SETOF architect.migration_step
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  WITH n(cn) AS (SELECT left($3 || '_' || $4, 50) || '_not_null')
  SELECT architect._step($1, 'migrate', 'add a NOT VALID check: new and updated rows must be non-null',
           format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I IS NOT NULL) NOT VALID', $2, cn, $4),
           'AccessExclusiveLock', $2, false, false, $5, 0, true,
           format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', $2, cn),
           architect._verify_constraint($2, cn), 'low', 'catalog only; brief lock')
    FROM n
  UNION ALL
  SELECT architect._step($1, 'migrate', 'validate the check (scans the table without blocking reads or writes)',
           format('ALTER TABLE %s VALIDATE CONSTRAINT %I', $2, cn),
           'ShareUpdateExclusiveLock', $2, false, true, $5, architect._secs($5, 'scan'), true,
           '', architect._verify_constraint($2, cn, true), 'low', 'fails if a NULL remains: backfill first')
    FROM n
  UNION ALL
  SELECT architect._step($1, 'migrate', 'set NOT NULL (proved by the validated check: no scan)',
           format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', $2, $4),
           'AccessExclusiveLock', $2, false, false, $5, 0, true,
           format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', $2, $4),
           format('SELECT attnotnull FROM pg_catalog.pg_attribute WHERE attrelid = %L::regclass AND attname = %L', $2, $4),
           'low', 'brief lock')
    FROM n
  UNION ALL
  SELECT architect._step($1, 'contract', 'drop the now redundant check',
           format('ALTER TABLE %s DROP CONSTRAINT %I', $2, cn),
           'AccessExclusiveLock', $2, false, false, $5, 0, true,
           format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I IS NOT NULL) NOT VALID', $2, cn, $4),
           format('SELECT count(*) = 0 FROM pg_catalog.pg_constraint WHERE conrelid = %L::regclass AND conname = %L', $2, cn),
           'low', 'brief lock')
    FROM n
$$;

CREATE FUNCTION architect._backfill_step(stno integer, rel text, set_clause text, where_clause text,
                                         bytes bigint, verify text)
RETURNS architect.migration_step
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT architect._step($1, 'backfill',
           'batched backfill: one short transaction per 2000 rows, resumable',
           format('CALL architect.backfill(%L, %L, %L, 2000, %L)', $2, $3, $4, '10ms'),
           'RowExclusiveLock', $2, false, true, $5,
           architect._secs($5, 'backfill') + round(((SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = to_regclass($2)) / 2000 * 0.01)::numeric, 2),
           false, '', $6, 'low',
           'CALL outside a transaction block; on cancel, CALL again with the same arguments to resume (architect.backfill_progress)')
$$;

-- Checks common to every entry point: NULL, empty, transaction control,
-- unknown tables (raises; returns nothing).
CREATE FUNCTION architect._check_script(sql text, who text, caller_path text, check_tables boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s record;
  created text[] := '{}';
BEGIN
  IF sql IS NULL THEN
    RAISE EXCEPTION '% needs a migration script, got NULL', who
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the text of the migration (one or more SQL statements).';
  END IF;
  IF caller_path IS NULL THEN
    RAISE EXCEPTION '% needs a search_path, got NULL', who
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Leave the search_path argument out to plan under the current search_path, or name the schemas.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM architect._stmts(sql, caller_path)) THEN
    RAISE EXCEPTION '% got an empty migration script', who
      USING ERRCODE = 'invalid_parameter_value', HINT = 'The text contains no SQL statement (only blanks or comments).';
  END IF;
  FOR s IN SELECT * FROM architect._stmts(sql, caller_path) ORDER BY statement_no LOOP
    IF s.kind = 'transaction_control' THEN
      RAISE EXCEPTION 'statement % of the migration is transaction control: %', s.statement_no, s.statement
        USING ERRCODE = 'active_sql_transaction',
              HINT = 'Remove BEGIN/COMMIT/ROLLBACK/SAVEPOINT: the plan decides which steps run in their own transaction, and a rehearsal always rolls back.';
    END IF;
    IF s.kind = 'create_table' THEN
      created := created || s.relation;
    ELSIF s.kind = 'rename_table' THEN
      created := created || s.new_name;
    END IF;
    -- A rollback names what its forward script created or renamed: its
    -- tables are checked when it runs.
    IF check_tables AND s.kind <> 'create_table'
          AND s.relation IS NOT NULL AND s.relid IS NULL AND NOT s.relation = ANY (created)
          AND s.kind NOT IN ('drop_index', 'drop_table') THEN
      RAISE EXCEPTION 'statement % refers to table %, which does not exist', s.statement_no, s.relation
        USING ERRCODE = 'undefined_table',
              HINT = 'Plan against the database the migration is meant for (check the search_path), or create the table earlier in the script.';
    END IF;
  END LOOP;
END
$$;

CREATE FUNCTION architect._plan_migration(
    sql text, lock_timeout interval, retries integer, caller_path text)
RETURNS SETOF architect.migration_step
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s record;
  v record;
  steps architect.migration_step[] := '{}';
  r text;
  relname text;
  nsp text;
  bytes bigint;
  att record;
  newcol text;
  oldcol text;
  fn text;
  tg text;
  cn text;
  idx record;
  idxdef text;
  label text;
  repack boolean;
  k text;
  x architect.migration_step;
  i integer := 0;
  lt text;
BEGIN
  PERFORM architect._check_script(sql, 'plan_migration', caller_path);
  IF lock_timeout IS NULL OR retries IS NULL THEN
    RAISE EXCEPTION 'lock_timeout and retries must not be NULL'
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Leave them out to use the defaults (500ms, 10).';
  END IF;

  FOR s IN SELECT * FROM architect._stmts(sql, caller_path) ORDER BY statement_no LOOP
    -- check_ddl's verdict for this statement (worst relation).
    SELECT max(architect._lock_rank(c.lock_mode)) AS rank,
           (array_agg(c.lock_mode ORDER BY architect._lock_rank(c.lock_mode) DESC))[1] AS lock_mode,
           bool_or(c.rewrites_table) AS rewrites, bool_or(c.scans_table) AS scans,
           max(c.relation_bytes) AS bytes,
           (array_agg(c.risk ORDER BY array_position(ARRAY['none','low','medium','high'], c.risk) DESC))[1] AS risk,
           string_agg(DISTINCT c.reason, '; ') AS reason,
           string_agg(DISTINCT c.safer_alternative, '; ') AS safer
      INTO v
      FROM architect._ddl(s.statement, caller_path) c;
    r := CASE WHEN s.relid IS NOT NULL THEN s.relid::regclass::text ELSE s.relation END;
    SELECT c.relname, n.nspname INTO relname, nsp
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = s.relid;
    bytes := CASE WHEN s.relid IS NOT NULL THEN pg_relation_size(s.relid) END;
    SELECT a.attnum, format_type(a.atttypid, a.atttypmod) AS typ, a.attnotnull,
           pg_get_expr(d.adbin, d.adrelid) AS def
      INTO att
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = s.relid AND a.attname = s.column_name AND NOT a.attisdropped;

    IF s.kind = 'add_column' AND s.relid IS NOT NULL
       AND (v.rewrites OR lower(s.type_name) IN ('serial', 'bigserial', 'smallserial', 'serial4', 'serial8', 'serial2')) THEN
      -- Expand: a nullable column (catalog only), the default for new rows,
      -- a batched backfill of old rows, then NOT NULL without a long lock.
      IF lower(s.type_name) IN ('serial', 'bigserial', 'smallserial', 'serial4', 'serial8', 'serial2') THEN
        k := format('%I.%I', nsp, left(relname || '_' || s.column_name, 59) || '_seq');
        steps := steps || architect._step(s.statement_no, 'expand', 'create the sequence',
          format('CREATE SEQUENCE %s', k), NULL, k, false, false, NULL, 0, true,
          format('DROP SEQUENCE IF EXISTS %s', k),
          format('SELECT to_regclass(%L) IS NOT NULL', k), 'none');
        s.type_name := CASE WHEN lower(s.type_name) IN ('bigserial', 'serial8') THEN 'bigint'
                            WHEN lower(s.type_name) IN ('smallserial', 'serial2') THEN 'smallint' ELSE 'integer' END;
        s.expr := format('nextval(%L::regclass)', k);
        s.not_null := true;
      END IF;
      steps := steps || architect._step(s.statement_no, 'expand', 'add the column, nullable and without default (catalog only)',
        format('ALTER TABLE %s ADD COLUMN %I %s', r, s.column_name, s.type_name),
        'AccessExclusiveLock', r, false, false, bytes, 0, true,
        format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', r, s.column_name),
        architect._verify_column(r, s.column_name), 'low', 'brief lock');
      IF s.expr IS NOT NULL THEN
        steps := steps || architect._step(s.statement_no, 'expand', 'set the default for new rows (catalog only)',
          format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', r, s.column_name, s.expr),
          'AccessExclusiveLock', r, false, false, bytes, 0, true,
          format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', r, s.column_name),
          format('SELECT count(*) = 1 FROM pg_catalog.pg_attrdef WHERE adrelid = %L::regclass AND adnum = (SELECT attnum FROM pg_catalog.pg_attribute WHERE attrelid = %L::regclass AND attname = %L)', r, r, s.column_name),
          'low', 'brief lock');
        IF k IS NOT NULL AND lower(coalesce(s.expr, '')) LIKE 'nextval(%' THEN
          steps := steps || architect._step(s.statement_no, 'expand', 'tie the sequence to the column',
            format('ALTER SEQUENCE %s OWNED BY %s.%I', k, r, s.column_name), NULL, k, false, false, NULL, 0, true,
            format('ALTER SEQUENCE %s OWNED BY NONE', k),
            format('SELECT count(*) = 1 FROM pg_catalog.pg_depend WHERE objid = %L::regclass AND deptype = ''a''', k), 'none');
        END IF;
        steps := steps || architect._backfill_step(s.statement_no, r, format('%I = %s', s.column_name, s.expr),
          format('%I IS NULL', s.column_name), bytes,
          format('SELECT NOT EXISTS (SELECT 1 FROM %s WHERE %I IS NULL)', r, s.column_name));
      END IF;
      IF s.not_null THEN
        FOR x IN SELECT * FROM architect._not_null_steps(s.statement_no, r, relname, s.column_name, bytes) LOOP
          steps := steps || x;
        END LOOP;
      END IF;
      k := NULL;

    ELSIF s.kind = 'alter_type' AND s.relid IS NOT NULL AND v.rewrites AND att.attnum IS NOT NULL THEN
      newcol := left(s.column_name, 59) || '_new';
      oldcol := left(s.column_name, 59) || '_old';
      fn := format('%I.%I', nsp, left(relname || '_' || s.column_name, 58) || '_sync');
      tg := left(relname || '_' || s.column_name, 58) || '_sync';
      steps := steps || architect._step(s.statement_no, 'expand', 'add the new column (catalog only)',
        format('ALTER TABLE %s ADD COLUMN %I %s', r, newcol, s.type_name),
        'AccessExclusiveLock', r, false, false, bytes, 0, true,
        format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', r, newcol),
        architect._verify_column(r, newcol, s.type_name), 'low', 'brief lock');
      steps := steps || architect._step(s.statement_no, 'expand', 'sync trigger: every write copies the old column into the new one',
        format(E'CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $pga$\nBEGIN\n  NEW.%I := CAST(NEW.%I AS %s);\n  RETURN NEW;\nEND\n$pga$;\nCREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s()',
               fn, newcol, s.column_name, s.type_name, tg, r, fn),
        'ShareRowExclusiveLock', r, false, false, bytes, 0, true,
        format('DROP TRIGGER IF EXISTS %I ON %s; DROP FUNCTION IF EXISTS %s()', tg, r, fn),
        format('SELECT count(*) = 1 FROM pg_catalog.pg_trigger WHERE tgrelid = %L::regclass AND tgname = %L', r, tg),
        'low', CASE WHEN s.expr IS NOT NULL THEN 'the USING clause is not carried into the trigger: it casts; edit the function if the conversion needs USING' ELSE 'brief lock' END);
      steps := steps || architect._backfill_step(s.statement_no, r,
        format('%I = CAST(%I AS %s)', newcol, s.column_name, s.type_name),
        format('%I IS DISTINCT FROM CAST(%I AS %s)', newcol, s.column_name, s.type_name), bytes,
        format('SELECT NOT EXISTS (SELECT 1 FROM %s WHERE %I IS DISTINCT FROM CAST(%I AS %s))', r, newcol, s.column_name, s.type_name));
      -- Indexes on the column, rebuilt concurrently on the new one.
      FOR idx IN SELECT i.indexrelid, ic.relname AS iname, pg_get_indexdef(i.indexrelid) AS def, i.indisprimary,
                        EXISTS (SELECT 1 FROM pg_constraint cc WHERE cc.conindid = i.indexrelid) AS is_con
                   FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                  WHERE i.indrelid = s.relid AND att.attnum = ANY (i.indkey::int2[])
                  ORDER BY ic.relname LOOP
        idxdef := regexp_replace(idx.def, '^CREATE (UNIQUE )?INDEX \S+ ON ', format('CREATE \1INDEX CONCURRENTLY %I ON ', left(idx.iname, 59) || '_new'));
        idxdef := regexp_replace(idxdef, '([(, ])' || regexp_replace(quote_ident(s.column_name), '([^a-zA-Z0-9_])', '\\\1', 'g') || '([), ])',
                                 '\1' || quote_ident(newcol) || '\2', 'g');
        steps := steps || architect._step(s.statement_no, 'expand', format('build index %s on the new column concurrently', idx.iname),
          idxdef, 'ShareUpdateExclusiveLock', r, false, true, bytes, architect._secs(bytes, 'index', 2), false,
          format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', nsp, left(idx.iname, 59) || '_new'),
          format('SELECT indisvalid FROM pg_catalog.pg_index WHERE indexrelid = to_regclass(%L)', quote_ident(nsp) || '.' || quote_ident(left(idx.iname, 59) || '_new')),
          'low', CASE WHEN idx.is_con THEN 'the index backs a constraint: recreate it with ADD CONSTRAINT ... USING INDEX in the swap (not generated); ' ELSE '' END
                 || 'a failed build leaves an INVALID index: DROP INDEX CONCURRENTLY it and run the step again');
      END LOOP;
      IF att.attnotnull THEN
        cn := left(relname || '_' || newcol, 50) || '_not_null';
        steps := steps || architect._step(s.statement_no, 'expand', 'NOT NULL on the new column, step 1: NOT VALID check',
          format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I IS NOT NULL) NOT VALID', r, cn, newcol),
          'AccessExclusiveLock', r, false, false, bytes, 0, true,
          format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', r, cn), architect._verify_constraint(r, cn), 'low', 'brief lock');
        steps := steps || architect._step(s.statement_no, 'expand', 'NOT NULL on the new column, step 2: validate without blocking writes',
          format('ALTER TABLE %s VALIDATE CONSTRAINT %I', r, cn),
          'ShareUpdateExclusiveLock', r, false, true, bytes, architect._secs(bytes, 'scan'), true,
          '', architect._verify_constraint(r, cn, true), 'low', NULL);
      END IF;
      -- The swap: one short transaction; the trigger turns round so that the
      -- old column stays current and the swap can be undone until contract.
      steps := steps || architect._step(s.statement_no, 'swap', 'swap the columns in one short transaction; the trigger now keeps the old column current',
        concat_ws(E';\n',
          format('ALTER TABLE %s RENAME COLUMN %I TO %I', r, s.column_name, oldcol),
          format('ALTER TABLE %s RENAME COLUMN %I TO %I', r, newcol, s.column_name),
          CASE WHEN att.def IS NOT NULL THEN format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', r, oldcol) END,
          CASE WHEN att.def IS NOT NULL THEN format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', r, s.column_name, att.def) END,
          CASE WHEN att.attnotnull THEN format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', r, oldcol) END,
          CASE WHEN att.attnotnull THEN format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', r, s.column_name) END,
          format(E'CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $pga$\nBEGIN\n  BEGIN\n    NEW.%I := CAST(NEW.%I AS %s);\n  EXCEPTION WHEN others THEN\n    NEW.%I := NULL;  -- a value the old type cannot hold\n  END;\n  RETURN NEW;\nEND\n$pga$',
                 fn, oldcol, s.column_name, att.typ, oldcol)),
        'AccessExclusiveLock', r, false, false, bytes, 0, true,
        concat_ws(E';\n',
          format('ALTER TABLE %s RENAME COLUMN %I TO %I', r, s.column_name, newcol),
          format('ALTER TABLE %s RENAME COLUMN %I TO %I', r, oldcol, s.column_name),
          CASE WHEN att.def IS NOT NULL THEN format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', r, newcol) END,
          CASE WHEN att.def IS NOT NULL THEN format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', r, s.column_name, att.def) END,
          CASE WHEN att.attnotnull THEN format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', r, newcol) END,
          CASE WHEN att.attnotnull THEN format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', r, s.column_name) END,
          format(E'CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $pga$\nBEGIN\n  NEW.%I := CAST(NEW.%I AS %s);\n  RETURN NEW;\nEND\n$pga$',
                 fn, newcol, s.column_name, s.type_name)),
        architect._verify_column(r, s.column_name, s.type_name), 'low',
        'brief lock; views and functions that name the column keep the old one (bound by attribute number): recreate them in this transaction');
      -- Contract, once the application no longer needs the way back.
      steps := steps || architect._step(s.statement_no, 'contract', 'drop the sync trigger and the old column (catalog only), give the new indexes the old names',
        concat_ws(E';\n',
          format('DROP TRIGGER %I ON %s', tg, r),
          format('DROP FUNCTION %s()', fn),
          format('ALTER TABLE %s DROP COLUMN %I', r, oldcol),
          (SELECT string_agg(format('ALTER INDEX %I.%I RENAME TO %I', nsp, left(ic.relname, 59) || '_new', ic.relname), E';\n' ORDER BY ic.relname)
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
            WHERE i.indrelid = s.relid AND att.attnum = ANY (i.indkey::int2[])),
          CASE WHEN att.attnotnull THEN format('ALTER TABLE %s DROP CONSTRAINT %I', r, left(relname || '_' || newcol, 50) || '_not_null') END),
        'AccessExclusiveLock', r, false, false, bytes, 0, true,
        NULL,
        format('SELECT count(*) = 0 FROM pg_catalog.pg_attribute WHERE attrelid = %L::regclass AND attname = %L AND NOT attisdropped', r, oldcol),
        'low', 'not reversible: run it only once the new type is accepted (the old column''s data is dropped)');

    ELSIF s.kind = 'set_not_null' AND s.relid IS NOT NULL AND v.scans AND NOT coalesce(att.attnotnull, false) THEN
      FOR x IN SELECT * FROM architect._not_null_steps(s.statement_no, r, relname, s.column_name, bytes) LOOP
        steps := steps || x;
      END LOOP;

    ELSIF s.kind = 'add_constraint' AND s.relid IS NOT NULL AND s.constraint_type IN ('foreign_key', 'check')
          AND NOT s.not_valid THEN
      label := CASE s.constraint_type WHEN 'foreign_key' THEN 'fkey' ELSE 'check' END;
      cn := coalesce(s.constraint_name, architect._predicted_name(relname, CASE WHEN label = 'fkey' THEN s.keys END, label));
      steps := steps || architect._step(s.statement_no, 'migrate', 'add the constraint NOT VALID: checks new rows only (catalog only)',
        format('ALTER TABLE %s ADD %s%s NOT VALID', r,
               CASE WHEN s.constraint_name IS NULL THEN format('CONSTRAINT %I ', cn) ELSE '' END, s.expr),
        CASE s.constraint_type WHEN 'foreign_key' THEN 'ShareRowExclusiveLock' ELSE 'AccessExclusiveLock' END, r,
        false, false, bytes, 0, true,
        format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', r, cn), architect._verify_constraint(r, cn),
        'low', CASE s.constraint_type WHEN 'foreign_key' THEN 'brief lock on both tables' ELSE 'brief lock' END);
      steps := steps || architect._step(s.statement_no, 'migrate', 'validate existing rows without blocking reads or writes',
        format('ALTER TABLE %s VALIDATE CONSTRAINT %I', r, cn),
        'ShareUpdateExclusiveLock', r, false, true, bytes, architect._secs(bytes, 'scan'), true,
        '', architect._verify_constraint(r, cn, true), 'low',
        CASE s.constraint_type WHEN 'foreign_key' THEN 'the referenced table gets a RowShareLock only' END);

    ELSIF s.kind = 'add_constraint' AND s.relid IS NOT NULL AND s.constraint_type IN ('unique', 'primary_key')
          AND s.new_name IS NULL THEN
      label := CASE s.constraint_type WHEN 'unique' THEN 'key' ELSE 'pkey' END;
      cn := coalesce(s.constraint_name, architect._predicted_name(relname, CASE WHEN label = 'key' THEN s.keys END, label));
      IF s.constraint_type = 'primary_key' THEN
        FOR k IN SELECT a.attname FROM pg_attribute a
                  WHERE a.attrelid = s.relid AND NOT a.attnotnull AND NOT a.attisdropped
                    AND quote_ident(a.attname) = ANY (string_to_array(s.keys, ', ')) LOOP
          FOR x IN SELECT * FROM architect._not_null_steps(s.statement_no, r, relname, k, bytes) LOOP
            steps := steps || x;
          END LOOP;
        END LOOP;
      END IF;
      steps := steps || architect._step(s.statement_no, 'migrate', 'build the unique index concurrently',
        format('CREATE UNIQUE INDEX CONCURRENTLY %I ON %s (%s)', cn, r, s.keys),
        'ShareUpdateExclusiveLock', r, false, true, bytes, architect._secs(bytes, 'index', 2), false,
        format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', nsp, cn),
        format('SELECT indisvalid FROM pg_catalog.pg_index WHERE indexrelid = to_regclass(%L)', quote_ident(nsp) || '.' || quote_ident(cn)),
        'low', 'a failed build (duplicates) leaves an INVALID index: DROP INDEX CONCURRENTLY it, fix the data, run the step again');
      steps := steps || architect._step(s.statement_no, 'migrate', 'attach the index as the constraint (catalog only)',
        format('ALTER TABLE %s ADD CONSTRAINT %I %s USING INDEX %I', r, cn,
               CASE s.constraint_type WHEN 'unique' THEN 'UNIQUE' ELSE 'PRIMARY KEY' END, cn),
        'AccessExclusiveLock', r, false, false, bytes, 0, true,
        format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', r, cn), architect._verify_constraint(r, cn), 'low', 'brief lock');

    ELSIF s.kind = 'create_index' AND NOT s.is_concurrent AND s.relid IS NOT NULL THEN
      cn := coalesce(s.new_name, architect._predicted_name(relname, s.keys, 'idx'));
      steps := steps || architect._step(s.statement_no, 'migrate', 'build the index concurrently (reads and writes continue)',
        regexp_replace(s.statement, '^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(IF\s+NOT\s+EXISTS\s+)?(\S+\s+)?ON\s',
                       format('CREATE \1INDEX CONCURRENTLY \2%I ON ', cn), 'i'),
        'ShareUpdateExclusiveLock', r, false, true, bytes, architect._secs(bytes, 'index', 2), false,
        format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', nsp, cn),
        format('SELECT indisvalid FROM pg_catalog.pg_index WHERE indexrelid = to_regclass(%L)', quote_ident(nsp) || '.' || quote_ident(cn)),
        'low', 'cannot run in a transaction block; a failed build leaves an INVALID index: DROP INDEX CONCURRENTLY it and run the step again');

    ELSIF s.kind = 'drop_index' AND NOT s.is_concurrent AND s.relid IS NOT NULL THEN
      steps := steps || architect._step(s.statement_no, 'contract', 'drop the index concurrently',
        format('DROP INDEX CONCURRENTLY IF EXISTS %s', s.relid::regclass),
        'ShareUpdateExclusiveLock', (SELECT i.indrelid::regclass::text FROM pg_index i WHERE i.indexrelid = s.relid),
        false, false, NULL, 0, false,
        regexp_replace(pg_get_indexdef(s.relid), '^CREATE (UNIQUE )?INDEX ', 'CREATE \1INDEX CONCURRENTLY '),
        format('SELECT to_regclass(%L) IS NULL', s.relid::regclass::text), 'low',
        'cannot run in a transaction block; waits for transactions using the index, blocks nobody');

    ELSIF s.kind = 'rename_column' AND s.relid IS NOT NULL THEN
      -- Both names served: the table gets the new name, a view in the
      -- schema <schema>_previous keeps the old one (simple view:
      -- automatically updatable); old clients put that schema first in
      -- their search_path until they are upgraded.
      k := format('%I', left(nsp, 54) || '_previous');
      steps := steps || architect._step(s.statement_no, 'expand', 'rename the column (catalog only)',
        s.statement || '', 'AccessExclusiveLock', r, false, false, bytes, 0, true,
        format('ALTER TABLE %s RENAME COLUMN %I TO %I', r, s.new_name, s.column_name),
        architect._verify_column(r, s.new_name), 'low', 'brief lock');
      steps := steps || architect._step(s.statement_no, 'expand', 'serve the old name through an updatable view for old clients',
        format('CREATE SCHEMA IF NOT EXISTS %s; CREATE VIEW %s.%I AS SELECT %s FROM %s', k, k, relname,
               (SELECT string_agg(CASE WHEN a.attname = s.column_name THEN format('%I AS %I', s.new_name, s.column_name)
                                       ELSE quote_ident(a.attname) END, ', ' ORDER BY a.attnum)
                  FROM pg_attribute a WHERE a.attrelid = s.relid AND a.attnum > 0 AND NOT a.attisdropped), r),
        NULL, k, false, false, NULL, 0, true,
        format('DROP VIEW IF EXISTS %s.%I', k, relname),
        format('SELECT to_regclass(%L) IS NOT NULL', k || '.' || quote_ident(relname)), 'none',
        format('old clients: SET search_path = %s, %I', k, nsp));
      steps := steps || architect._step(s.statement_no, 'contract', 'drop the compatibility view once every client uses the new name',
        format('DROP VIEW %s.%I', k, relname), NULL, k, false, false, NULL, 0, true,
        NULL, format('SELECT to_regclass(%L) IS NULL', k || '.' || quote_ident(relname)), 'none', NULL);
      k := NULL;

    ELSIF s.kind = 'rename_table' AND s.relid IS NOT NULL THEN
      steps := steps || architect._step(s.statement_no, 'expand',
        'rename the table and serve the old name through an updatable view, in one transaction',
        format('ALTER TABLE %s RENAME TO %I; CREATE VIEW %I.%I AS SELECT * FROM %I.%I', r, s.new_name, nsp, relname, nsp, s.new_name),
        'AccessExclusiveLock', r, false, false, bytes, 0, true,
        format('DROP VIEW IF EXISTS %I.%I; ALTER TABLE %I.%I RENAME TO %I', nsp, relname, nsp, s.new_name, relname),
        format('SELECT to_regclass(%L) IS NOT NULL', quote_ident(nsp) || '.' || quote_ident(s.new_name)), 'low',
        'brief lock; the view is automatically updatable, so old clients keep reading and writing');
      steps := steps || architect._step(s.statement_no, 'contract', 'drop the old-name view once every client uses the new name',
        format('DROP VIEW %I.%I', nsp, relname), NULL, format('%I.%I', nsp, relname), false, false, NULL, 0, true,
        NULL, format('SELECT to_regclass(%L) IS NULL', quote_ident(nsp) || '.' || quote_ident(relname)), 'none', NULL);

    ELSIF s.kind IN ('vacuum_full', 'cluster') AND s.relid IS NOT NULL THEN
      repack := EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_repack');
      IF repack THEN
        steps := steps || architect._step(s.statement_no, 'migrate', 'rebuild online with pg_repack (shell command)',
          format('-- shell: pg_repack --no-superuser-check --table=%s%s -d %s', quote_literal(r),
                 CASE WHEN s.kind = 'cluster' THEN ' --order-by=<cluster key>' ELSE '' END, quote_ident(current_database())),
          'AccessExclusiveLock', r, true, true, bytes, architect._rewrite_secs(s.relid, bytes), false, '',
          format('SELECT pg_catalog.pg_relation_filenode(%L::regclass) <> %s', r, pg_relation_filenode(s.relid)), 'low',
          'pg_repack copies the table under a ShareUpdateExclusiveLock and takes the AccessExclusiveLock only at the start and for the final swap');
      ELSE
        steps := steps || architect._step(s.statement_no, 'migrate', 'the locking truth: pg_repack is not installed in this database',
          s.statement, 'AccessExclusiveLock', r, true, true, bytes, architect._rewrite_secs(s.relid, bytes), false, '',
          format('SELECT pg_catalog.pg_relation_filenode(%L::regclass) <> %s', r, pg_relation_filenode(s.relid)), 'high',
          'blocks reads and writes for the whole rewrite; CREATE EXTENSION pg_repack (if available) to do it online, or schedule a maintenance window');
      END IF;

    ELSE
      -- As it is, under lock_timeout; check_ddl's verdict and its advice.
      steps := steps || architect._step(s.statement_no, 'migrate', coalesce(s.command, 'statement'),
        s.statement, v.lock_mode, coalesce(r, (SELECT c.relation FROM architect._ddl(s.statement, caller_path) c WHERE c.relation IS NOT NULL LIMIT 1)),
        coalesce(v.rewrites, false), coalesce(v.scans, false), coalesce(v.bytes, bytes),
        CASE WHEN v.rewrites THEN architect._rewrite_secs(s.relid, coalesce(v.bytes, bytes))
             WHEN v.scans THEN architect._secs(coalesce(v.bytes, bytes), 'scan') ELSE 0 END,
        NOT (s.is_concurrent OR s.kind IN ('vacuum', 'vacuum_full') OR s.statement ~* '^\s*(CREATE|DROP|REINDEX)\s.*\sCONCURRENTLY\s'),
        architect._inverse(s.kind, s.relid, r, s.column_name, s.new_name, s.constraint_type, s.constraint_name, s.keys, s.expr),
        NULL, coalesce(v.risk, 'none'),
        concat_ws('; ', v.reason, CASE WHEN s.subcommands > 1 AND s.kind = 'alter_table' THEN
          'several subcommands in one ALTER TABLE: split them into one statement each to get a recipe per subcommand' END,
          CASE WHEN v.safer IS NOT NULL AND v.risk IN ('medium', 'high') THEN 'safer: ' || v.safer END));
    END IF;
  END LOOP;

  FOREACH x IN ARRAY steps LOOP
    i := i + 1;
    x.step_no := i;
    -- A step whose lock lets reads and writes through (ShareUpdateExclusive
    -- or weaker) waits at least 5 s: longer than deadlock_timeout, so that
    -- an autovacuum in its way (likely right after a backfill) is
    -- cancelled instead of making every attempt time out.
    lt := (extract(epoch FROM CASE WHEN architect._lock_rank(x.lock_mode) <= 4
                                   THEN greatest(lock_timeout, '5s') ELSE lock_timeout END) * 1000)::bigint || 'ms';
    x.run_sql := CASE
      WHEN x.sql LIKE '-- shell:%' OR x.sql LIKE 'CALL architect.backfill(%' THEN x.sql
      WHEN x.lock_mode IS NULL OR x.lock_mode = '' THEN x.sql
      WHEN NOT x.transactional THEN
        format(E'SET lock_timeout = %L;\n%s;\nRESET lock_timeout', lt, x.sql)
      ELSE format('CALL architect.run_with_lock_timeout(%L, %L, %s)', x.sql, lt, retries)
    END;
    RETURN NEXT x;
  END LOOP;
END
$$;

-- Entry point: takes the caller's search_path (which the planned script
-- will run under; the default is evaluated in the caller's context) and
-- hands it to the implementation, which resolves names under it only.
CREATE FUNCTION architect.plan_migration(
    sql text,
    lock_timeout interval DEFAULT '500ms',
    retries integer DEFAULT 10,
    search_path text DEFAULT pg_catalog.current_setting('search_path'))
RETURNS SETOF architect.migration_step
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM architect._plan_migration($1, $2, $3, $4) $$;

COMMENT ON FUNCTION architect.plan_migration(text, interval, integer, text) IS
  'Ordered steps of a migration script: expand/contract recipes for dangerous statements, lock, rewrite/scan, estimated duration, transactional, rollback, verify query, and run_sql under lock_timeout with retry';

-- ---------- rehearsal ----------

CREATE FUNCTION architect._rehearse(
    forward text, rollback_sql text, force boolean, caller_path text)
RETURNS TABLE (
    phase text,
    statement_no integer,
    statement text,
    outcome text,
    locks_taken text,
    rewritten text,
    duration_ms numeric,
    fingerprint_before text,
    fingerprint_after_forward text,
    fingerprint_after_rollback text,
    detail text)
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pinned constant text := 'pg_catalog, pg_temp';
  st record;
  names text[] := '{}';
  qn text;
  fp_before jsonb := '{}';
  fp_forward jsonb := '{}';
  fp_rollback jsonb := '{}';
  -- pg_settings.setting: the value in the GUC's base unit (ms, kB).
  lock_to integer := (SELECT g.setting FROM pg_settings g WHERE g.name = 'pg_architect.rehearse_lock_timeout')::integer;
  stmt_to integer := (SELECT g.setting FROM pg_settings g WHERE g.name = 'pg_architect.rehearse_statement_timeout')::integer;
  max_rw bigint := (SELECT g.setting FROM pg_settings g WHERE g.name = 'pg_architect.rehearse_max_rewrite_size')::bigint * 1024;
  rows_out text[] := '{}';
  res jsonb[] := '{}';
  gen_rollback text := '';
  inv text;
  failed boolean := false;
  skipped integer := 0;
  p text;
  j jsonb;
  ph text;
  exec_sql text;
  why text;
  locks_before text[];
  locks_after text[];
  files_before jsonb;
  files_after jsonb;
  t0 timestamptz;
  chk record;
  n integer;
BEGIN
  PERFORM architect._check_script(forward, 'rehearse', caller_path);
  IF rollback_sql IS NOT NULL THEN
    PERFORM architect._check_script(rollback_sql, 'rehearse (rollback)', caller_path, false);
  END IF;
  IF force IS NULL THEN
    RAISE EXCEPTION 'force must not be NULL' USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass true or false.';
  END IF;

  -- The generated rollback: each statement's inverse, in reverse order,
  -- computed from the catalog before anything runs.
  IF rollback_sql IS NULL THEN
    FOR st IN SELECT m.* FROM architect._stmts(forward, caller_path) m ORDER BY m.statement_no DESC LOOP
      inv := architect._inverse(st.kind, st.relid,
               CASE WHEN st.relid IS NOT NULL THEN st.relid::regclass::text ELSE st.relation END,
               st.column_name, st.new_name, st.constraint_type, st.constraint_name, st.keys, st.expr);
      IF inv IS NULL THEN
        RAISE EXCEPTION 'no rollback can be generated for statement %: %', st.statement_no, st.statement
          USING ERRCODE = 'feature_not_supported',
                HINT = 'Pass the rollback script as the second argument of architect.rehearse.';
      END IF;
      IF inv <> '' THEN
        gen_rollback := gen_rollback || inv || E';\n';
      END IF;
    END LOOP;
    rollback_sql := gen_rollback;
  END IF;

  -- Every relation either script names, resolved with the caller's path;
  -- names that do not exist yet are resolved again after each phase.
  FOR qn IN SELECT DISTINCT x.name FROM (
              SELECT m.relation AS name FROM architect._stmts(forward, caller_path) m
              UNION SELECT m.relation FROM architect._stmts(rollback_sql, caller_path) m
              UNION SELECT c.relation FROM architect._ddl(forward, caller_path) c
              UNION SELECT m.new_name FROM architect._stmts(forward, caller_path) m WHERE m.kind = 'rename_table'
              UNION SELECT c.relation FROM architect._ddl(rollback_sql, caller_path) c) x
             WHERE x.name IS NOT NULL ORDER BY 1 LOOP
    -- A name that exists now is kept in its qualified form, so that "t"
    -- and "public.t" are one relation.
    SELECT format('%I.%I', n.nspname, c.relname) INTO p
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = architect._resolve(qn, caller_path);
    IF NOT coalesce(p, qn) = ANY (names) THEN
      names := names || coalesce(p, qn);
    END IF;
  END LOOP;

  BEGIN
    -- Everything below is undone by the exception raised at the end.
    PERFORM pg_catalog.set_config('lock_timeout', lock_to::text, true);
    -- The live guard would warn about (or block) every statement rehearsed
    -- here; nothing of this transaction survives, so it stands aside.
    PERFORM pg_catalog.set_config('pg_architect.ddl_guard', 'off', true);
    fp_before := architect._fingerprints(names, caller_path);

    FOREACH ph IN ARRAY ARRAY['forward', 'rollback'] LOOP
      FOR st IN SELECT m.* FROM architect._stmts(CASE ph WHEN 'forward' THEN forward ELSE rollback_sql END, caller_path) m
                ORDER BY m.statement_no LOOP
        IF failed THEN
          res := res || jsonb_build_object('phase', ph, 'no', st.statement_no, 'statement', st.statement,
                                           'outcome', 'not run', 'detail', 'an earlier statement failed');
          CONTINUE;
        END IF;
        exec_sql := st.statement;
        why := NULL;
        IF st.kind IN ('vacuum', 'vacuum_full', 'analyze') THEN
          why := 'VACUUM/ANALYZE cannot run in a transaction block and changes no schema: skipped';
        ELSIF st.kind = 'call' AND st.statement ~* '^\s*CALL\s+architect\.backfill\s*\(' THEN
          why := 'architect.backfill commits per batch: skipped (rehearse the equivalent UPDATE instead)';
        ELSIF st.is_concurrent OR st.statement ~* '^\s*REINDEX\s.*\sCONCURRENTLY\s' THEN
          exec_sql := regexp_replace(st.statement, '\s+CONCURRENTLY(\s)', '\1', 'i');
        ELSIF st.statement ~* 'DETACH\s+PARTITION\s.*CONCURRENTLY' THEN
          why := 'DETACH PARTITION CONCURRENTLY cannot run in a transaction block: skipped';
        END IF;
        IF why IS NULL THEN
          SELECT bool_or(c.rewrites_table) AS rw, max(c.relation_bytes) FILTER (WHERE c.rewrites_table) AS bytes
            INTO chk FROM architect._ddl(exec_sql, caller_path) c;
          IF chk.rw AND chk.bytes > max_rw AND NOT force THEN
            why := format('would rewrite %s (estimate %s s at %s MB/s) above pg_architect.rehearse_max_rewrite_size (%s): not executed; rehearse(..., force => true) to run it',
                          pg_size_pretty(chk.bytes), architect._secs(chk.bytes, 'rewrite'), architect._rate('rewrite'),
                          pg_size_pretty(max_rw));
          END IF;
        END IF;
        IF why IS NOT NULL THEN
          skipped := skipped + 1;
          res := res || jsonb_build_object('phase', ph, 'no', st.statement_no, 'statement', st.statement,
                                           'outcome', 'skipped', 'detail', why);
          CONTINUE;
        END IF;

        SELECT array_agg(l.relation::text || ' ' || l.mode) INTO locks_before
          FROM pg_locks l WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database());
        files_before := architect._filenodes(names, caller_path);
        BEGIN
          PERFORM pg_catalog.set_config('search_path', caller_path, true);
          PERFORM architect._arm_statement_timeout(stmt_to);
          t0 := pg_catalog.clock_timestamp();
          EXECUTE exec_sql;
          PERFORM architect._arm_statement_timeout(0);
          PERFORM pg_catalog.set_config('search_path', pinned, true);
          SELECT string_agg(c.oid::regclass::text || ' ' || l.mode, ', '
                            ORDER BY c.oid::regclass::text COLLATE "C", architect._lock_rank(l.mode))
            INTO p
            FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation
           WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND NOT (l.relation::text || ' ' || l.mode) = ANY (coalesce(locks_before, '{}'))
             AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'pg_toast'::regnamespace);
          files_after := architect._filenodes(names, caller_path);
          res := res || jsonb_build_object('phase', ph, 'no', st.statement_no, 'statement', st.statement,
                   'outcome', CASE WHEN exec_sql <> st.statement THEN 'ok (rehearsed without CONCURRENTLY)' ELSE 'ok' END,
                   'locks', p,
                   'rewritten', (SELECT string_agg(a.key, ', ' ORDER BY a.key) FROM jsonb_each_text(files_before) a
                                   JOIN jsonb_each_text(files_after) b USING (key) WHERE a.value <> b.value),
                   'ms', round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 3));
        EXCEPTION
          WHEN query_canceled THEN
            PERFORM pg_catalog.set_config('search_path', pinned, true);
            failed := true;
            res := res || jsonb_build_object('phase', ph, 'no', st.statement_no, 'statement', st.statement,
                     'outcome', 'error', 'detail', format('statement_timeout (pg_architect.rehearse_statement_timeout = %s ms): %s', stmt_to, SQLERRM));
          WHEN OTHERS THEN
            PERFORM architect._arm_statement_timeout(0);
            PERFORM pg_catalog.set_config('search_path', pinned, true);
            failed := true;
            res := res || jsonb_build_object('phase', ph, 'no', st.statement_no, 'statement', st.statement,
                     'outcome', 'error', 'detail', format('%s: %s', SQLSTATE, SQLERRM));
        END;
      END LOOP;
      IF ph = 'forward' THEN
        fp_forward := architect._fingerprints(names, caller_path);
      ELSE
        fp_rollback := architect._fingerprints(names, caller_path);
      END IF;
    END LOOP;
    RAISE EXCEPTION 'rehearsal done' USING ERRCODE = 'PGAR1';
  EXCEPTION WHEN SQLSTATE 'PGAR1' THEN
    NULL;   -- always rolled back
  END;
  PERFORM pg_catalog.set_config('search_path', pinned, true);

  FOREACH j IN ARRAY res LOOP
    phase := j->>'phase'; statement_no := (j->>'no')::integer; statement := j->>'statement';
    outcome := j->>'outcome'; locks_taken := j->>'locks'; rewritten := j->>'rewritten';
    duration_ms := (j->>'ms')::numeric; detail := j->>'detail';
    fingerprint_before := NULL; fingerprint_after_forward := NULL; fingerprint_after_rollback := NULL;
    RETURN NEXT;
  END LOOP;
  n := 0;
  FOREACH qn IN ARRAY names LOOP
    phase := 'fingerprint'; statement_no := NULL; statement := NULL; locks_taken := NULL; rewritten := NULL;
    duration_ms := NULL;
    fingerprint_before := fp_before->>qn;
    fingerprint_after_forward := fp_forward->>qn;
    fingerprint_after_rollback := fp_rollback->>qn;
    outcome := CASE WHEN fingerprint_before IS NOT DISTINCT FROM fingerprint_after_rollback THEN 'restored' ELSE 'DIFFERENT' END;
    IF outcome = 'DIFFERENT' THEN n := n + 1; END IF;
    detail := format('%s: %s', qn, CASE WHEN fingerprint_before = fingerprint_after_forward THEN 'unchanged by forward'
                                        ELSE 'changed by forward' END);
    RETURN NEXT;
  END LOOP;
  phase := 'verdict'; statement := NULL; fingerprint_before := NULL; fingerprint_after_forward := NULL;
  fingerprint_after_rollback := NULL; locks_taken := NULL; rewritten := NULL; duration_ms := NULL;
  outcome := CASE WHEN failed THEN 'failed' WHEN n > 0 THEN 'rollback does not restore the schema'
                  WHEN skipped > 0 THEN 'incomplete' ELSE 'rollback restores the schema' END;
  detail := format('%s relation(s) fingerprinted, %s different, %s statement(s) skipped; everything was rolled back%s',
                   cardinality(names), n, skipped,
                   CASE WHEN gen_rollback <> '' THEN E'; generated rollback:\n' || gen_rollback ELSE '' END);
  RETURN NEXT;
END
$$;

CREATE FUNCTION architect._resolve(name text, caller_path text)
RETURNS regclass
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- to_regclass() raises on a malformed name before PostgreSQL 16 and
  -- returns NULL from 16 on: check the syntax ourselves, the same on all.
  BEGIN
    PERFORM pg_catalog.parse_ident(name);
  EXCEPTION WHEN invalid_parameter_value THEN
    RAISE EXCEPTION 'invalid name syntax: %', pg_catalog.left(name, 64)
          USING ERRCODE = 'invalid_name',
                HINT = 'Name a table, optionally schema-qualified.';
  END;
  PERFORM pg_catalog.set_config('search_path', caller_path, true);
  RETURN pg_catalog.to_regclass(name);
END
$$;

-- Fingerprint / relfilenode of every name, resolved with the caller's path.
CREATE FUNCTION architect._fingerprints(names text[], caller_path text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  res jsonb := '{}';
  nm text;
  oid regclass;
BEGIN
  FOREACH nm IN ARRAY coalesce(names, '{}') LOOP
    CONTINUE WHEN nm IS NULL;
    oid := architect._resolve(nm, caller_path);
    res := res || jsonb_build_object(nm, architect.catalog_fingerprint(oid));
  END LOOP;
  RETURN res;
END
$$;

CREATE FUNCTION architect._filenodes(names text[], caller_path text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  res jsonb := '{}';
  nm text;
  oid regclass;
BEGIN
  FOREACH nm IN ARRAY coalesce(names, '{}') LOOP
    CONTINUE WHEN nm IS NULL;
    oid := architect._resolve(nm, caller_path);
    IF oid IS NOT NULL AND pg_relation_filenode(oid) IS NOT NULL THEN
      res := res || jsonb_build_object(nm, pg_relation_filenode(oid)::text);
    END IF;
  END LOOP;
  RETURN res;
END
$$;

-- The entry point: takes the caller's search_path (the default is
-- evaluated in the caller's context, before the SET clause) and hands it
-- to the implementation, which runs only the caller's statements under it.
CREATE FUNCTION architect.rehearse(
    forward text,
    rollback text DEFAULT NULL,
    force boolean DEFAULT false,
    search_path text DEFAULT pg_catalog.current_setting('search_path'))
RETURNS TABLE (
    phase text,
    statement_no integer,
    statement text,
    outcome text,
    locks_taken text,
    rewritten text,
    duration_ms numeric,
    fingerprint_before text,
    fingerprint_after_forward text,
    fingerprint_after_rollback text,
    detail text)
LANGUAGE sql
SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT * FROM architect._rehearse($1, $2, $3, $4)
$$;

COMMENT ON FUNCTION architect.rehearse(text, text, boolean, text) IS
  'Runs forward then rollback (given or generated) in a transaction that is always rolled back, under small lock/statement timeouts: locks taken, time, rewrites, and catalog fingerprints before, after forward and after rollback';

-- ---------- CI check and runbook ----------

-- One row per statement: check_ddl's verdict, the estimate, the plan's
-- recipe in one line, and the policy violation if any.  --max-lock applies
-- to a lock held while the table is scanned or rewritten (a brief catalog
-- lock under lock_timeout is what every recipe needs); --max-rewrite-size
-- to any rewrite.
CREATE FUNCTION architect._check_migration(
    sql text,
    max_lock text,
    max_rewrite_bytes bigint,
    caller_path text,
    OUT statement_no integer,
    OUT statement text,
    OUT relation text,
    OUT lock_mode text,
    OUT rewrites boolean,
    OUT scans boolean,
    OUT relation_bytes bigint,
    OUT est_seconds numeric,
    OUT risk text,
    OUT recipe text,
    OUT violation text)
RETURNS SETOF record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s record;
BEGIN
  IF max_lock IS NOT NULL AND architect._lock_rank(max_lock) = 0 THEN
    RAISE EXCEPTION 'unknown lock mode "%"', CASE WHEN length(max_lock) > 40 THEN left(max_lock, 40) || '...' ELSE max_lock END
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use a table lock mode name such as ShareUpdateExclusiveLock or AccessExclusiveLock.';
  END IF;
  PERFORM architect._check_script(sql, 'check_migration', caller_path);
  FOR s IN SELECT m.statement_no, m.statement FROM architect._stmts(sql, caller_path) m ORDER BY 1 LOOP
    statement_no := s.statement_no;
    statement := s.statement;
    SELECT (array_agg(c.relation ORDER BY architect._lock_rank(c.lock_mode) DESC))[1],
           (array_agg(c.lock_mode ORDER BY architect._lock_rank(c.lock_mode) DESC))[1],
           coalesce(bool_or(c.rewrites_table), false), coalesce(bool_or(c.scans_table), false),
           max(c.relation_bytes),
           (array_agg(c.risk ORDER BY array_position(ARRAY['none','low','medium','high'], c.risk) DESC))[1]
      INTO relation, lock_mode, rewrites, scans, relation_bytes, risk
      FROM architect._ddl(s.statement, caller_path) c;
    est_seconds := CASE WHEN rewrites THEN architect._rewrite_secs(architect._resolve(relation, caller_path), relation_bytes)
                        WHEN scans THEN architect._secs(relation_bytes, 'scan') ELSE 0 END;
    SELECT CASE WHEN count(*) > 1 OR bool_or(p.sql <> s.statement)
                THEN string_agg(p.phase || ': ' || p.action, ' -> ' ORDER BY p.step_no) END
      INTO recipe
      FROM architect._plan_migration(sql, '500ms', 10, caller_path) p WHERE p.statement_no = s.statement_no;
    violation := concat_ws('; ',
      CASE WHEN max_lock IS NOT NULL AND (rewrites OR scans)
                AND architect._lock_rank(lock_mode) > architect._lock_rank(max_lock)
           THEN format('holds %s while it %s %s (policy: at most %s)', lock_mode,
                       CASE WHEN rewrites THEN 'rewrites' ELSE 'scans' END,
                       pg_size_pretty(coalesce(relation_bytes, 0)), max_lock) END,
      CASE WHEN max_rewrite_bytes IS NOT NULL AND rewrites AND coalesce(relation_bytes, 0) > max_rewrite_bytes
           THEN format('rewrites %s (policy: at most %s)', pg_size_pretty(relation_bytes), pg_size_pretty(max_rewrite_bytes)) END);
    IF violation = '' THEN violation := NULL; END IF;
    RETURN NEXT;
  END LOOP;
END
$$;

CREATE FUNCTION architect.check_migration(
    sql text,
    max_lock text DEFAULT NULL,
    max_rewrite_bytes bigint DEFAULT NULL,
    -- the caller's, evaluated before the SET clause: names in the script
    -- resolve as they will when it runs
    search_path text DEFAULT pg_catalog.current_setting('search_path'),
    OUT statement_no integer,
    OUT statement text,
    OUT relation text,
    OUT lock_mode text,
    OUT rewrites boolean,
    OUT scans boolean,
    OUT relation_bytes bigint,
    OUT est_seconds numeric,
    OUT risk text,
    OUT recipe text,
    OUT violation text)
RETURNS SETOF record
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM architect._check_migration($1, $2, $3, $4) $$;

COMMENT ON FUNCTION architect.check_migration(text, text, bigint, text) IS
  'CI check of a migration file: per statement lock, rewrite, size, estimate, risk, the safer recipe, and the policy violation (max lock while scanning/rewriting, max rewrite size)';

CREATE FUNCTION architect._runbook(sql text, format text, caller_path text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  st architect.migration_step;
  out text;
  total numeric := 0;
BEGIN
  IF format IS NULL OR format NOT IN ('markdown', 'json') THEN
    RAISE EXCEPTION 'unknown runbook format %',
      coalesce(quote_literal(CASE WHEN length(format) > 40 THEN left(format, 40) || '...' ELSE format END), 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''markdown'' or ''json''.';
  END IF;
  PERFORM architect._check_script(sql, 'runbook', caller_path);
  IF format = 'json' THEN
    SELECT jsonb_pretty(jsonb_build_object(
             'monitoring', jsonb_build_object(
               'lock_waits', 'SELECT pid, wait_event_type, now() - query_start AS waiting FROM pg_stat_activity WHERE wait_event_type = ''Lock'' (abort the step if any session waits more than 1 s)',
               'replication_lag', 'SELECT application_name, replay_lag FROM pg_stat_replication (pause the backfill if replay_lag exceeds 10 s)'),
             'steps', jsonb_agg(to_jsonb(p) ORDER BY p.step_no)))
      INTO out FROM architect._plan_migration(sql, '500ms', 10, caller_path) p;
    RETURN out;
  END IF;
  out := E'# Migration runbook\n\n';
  out := out || format(E'Database `%s`, planned %s against the live catalog (sizes as of now).\n\n',
                       current_database(), to_char(now(), 'YYYY-MM-DD HH24:MI TZ'));
  out := out || E'## Monitoring (keep a second session open)\n\n'
    || E'- **Lock waits**: `SELECT pid, now() - query_start AS waiting, query FROM pg_stat_activity WHERE wait_event_type = ''Lock'';`'
    || E' Abort the step (it is under lock_timeout and retries) if application sessions wait more than **1 s**.\n'
    || E'- **Replication lag**: `SELECT application_name, replay_lag FROM pg_stat_replication;`'
    || E' Pause a backfill (cancel it: it resumes) when replay_lag exceeds **10 s**.\n'
    || E'- **Backfill progress**: `SELECT relation, rows_done, rows_estimated, status, updated_at FROM architect.backfill_progress;`\n'
    || E'- **Invalid indexes** after a failed concurrent build: `SELECT indexrelid::regclass FROM pg_index WHERE NOT indisvalid;`\n\n'
    || E'## Steps\n';
  FOR st IN SELECT * FROM architect._plan_migration(sql, '500ms', 10, caller_path) ORDER BY step_no LOOP
    total := total + coalesce(st.est_seconds, 0);
    out := out || format(E'\n### Step %s (%s, statement %s): %s\n\n', st.step_no, st.phase, st.statement_no, st.action)
      || format(E'- Lock: **%s** on %s%s; %s\n', coalesce(st.lock_mode, 'none'), coalesce(st.relation, '-'),
                CASE WHEN st.rewrites THEN ', rewrites the table' WHEN st.scans THEN ', scans the table' ELSE '' END,
                CASE WHEN st.transactional THEN 'runs in a transaction' ELSE 'cannot run in a transaction block' END)
      || format(E'- Expected duration: %s s (size %s)\n', st.est_seconds, coalesce(pg_size_pretty(st.relation_bytes), 'n/a'))
      || format(E'- Risk: %s%s\n', st.risk, CASE WHEN st.notes IS NOT NULL THEN ' — ' || st.notes ELSE '' END)
      || format(E'\nRun:\n\n```sql\n%s;\n```\n', st.run_sql)
      || CASE WHEN st.verify_sql IS NOT NULL THEN format(E'\nSuccess when this returns true:\n\n```sql\n%s;\n```\n', st.verify_sql) ELSE '' END
      || CASE WHEN st.rollback_sql IS NULL THEN E'\nRollback: none (irreversible: do it only once the change is accepted).\n'
              WHEN st.rollback_sql = '' THEN E'\nRollback: nothing to undo.\n'
              ELSE format(E'\nRollback:\n\n```sql\n%s;\n```\n', st.rollback_sql) END;
  END LOOP;
  out := out || format(E'\nTotal expected duration: %s s (model: scan %s MB/s, rewrite %s MB/s, index build %s MB/s, backfill %s MB/s; pg_architect.migrate_*_rate).\n',
                       total, architect._rate('scan'), architect._rate('rewrite'), architect._rate('index'), architect._rate('backfill'));
  RETURN out;
END
$$;

-- search_path: the caller's (evaluated before the SET clause), for the
-- names in the script.
CREATE FUNCTION architect.runbook(sql text, format text DEFAULT 'markdown',
                                  search_path text DEFAULT pg_catalog.current_setting('search_path'))
RETURNS text
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT architect._runbook($1, $2, $3) $$;

COMMENT ON FUNCTION architect.runbook(text, text, text) IS
  'The migration plan as a runbook (markdown or json): steps, lock and duration, success query, monitoring thresholds, rollback of each step';
