-- Capture: percentiles, plan ids, errors, nesting, prepared statements,
-- cursors, EXPLAIN ANALYZE, and privacy of query texts.
BEGIN;
SELECT plan(26);
SET pg_architect.track = 'all';
SELECT architect.reset();

CREATE TABLE cap_t (id int PRIMARY KEY, v text);
INSERT INTO cap_t SELECT g, 'v' || g FROM generate_series(1, 20000) g;
ANALYZE cap_t;

-- 90 executions at ~2 ms and 10 at ~40 ms of one statement (the sleep is a
-- parameter, so one query id).
CREATE FUNCTION cap_sleep_mix() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..100 LOOP
    EXECUTE 'SELECT pg_sleep($1) AS cap_mix' USING CASE WHEN i % 10 = 0 THEN 0.040 ELSE 0.002 END;
  END LOOP;
END $$;
SELECT cap_sleep_mix();

SELECT is((SELECT calls FROM architect.statements WHERE query LIKE 'SELECT pg_sleep($1) AS cap_mix%'),
          100::bigint, 'the mixed statement was captured 100 times under one query id');
SELECT ok((SELECT p50_ms BETWEEN 1.9 AND 3.5 FROM architect.statements WHERE query LIKE 'SELECT pg_sleep($1) AS cap_mix%'),
          'p50 of 90 x 2 ms + 10 x 40 ms is about 2 ms');
SELECT ok((SELECT p95_ms BETWEEN 38 AND 48 FROM architect.statements WHERE query LIKE 'SELECT pg_sleep($1) AS cap_mix%'),
          'p95 is about 40 ms');
SELECT ok((SELECT p99_ms BETWEEN 38 AND 48 FROM architect.statements WHERE query LIKE 'SELECT pg_sleep($1) AS cap_mix%'),
          'p99 is about 40 ms');
SELECT ok((SELECT min_ms <= p50_ms AND p50_ms <= p95_ms AND p95_ms <= p99_ms AND p99_ms <= max_ms
             FROM architect.statements WHERE query LIKE 'SELECT pg_sleep($1) AS cap_mix%'),
          'min <= p50 <= p95 <= p99 <= max');
SELECT is((SELECT toplevel FROM architect.statements WHERE query LIKE 'SELECT pg_sleep($1) AS cap_mix%'),
          false, 'a statement inside a function is captured with toplevel = false');
SELECT is((SELECT sum(count) FROM architect.latency_histogram(
             (SELECT queryid FROM architect.statements WHERE query LIKE 'SELECT pg_sleep($1) AS cap_mix%'))),
          100::numeric, 'the latency histogram holds the 100 executions');

-- One plan for a point query over varying constants ...
CREATE FUNCTION cap_point(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    EXECUTE format('SELECT v AS cap_point FROM cap_t WHERE id = %s', i * 7);
  END LOOP;
END $$;
SELECT cap_point(20);
SELECT is((SELECT calls FROM architect.statements WHERE query LIKE 'SELECT v AS cap_point%'), 20::bigint,
          'twenty point queries with different constants share one query id');
SELECT is((SELECT plans FROM architect.statements WHERE query LIKE 'SELECT v AS cap_point%'), 1::bigint,
          'and one plan id');
SELECT ok((SELECT plan LIKE 'Index Scan using cap_t_pkey on cap_t%' FROM architect.plans
            WHERE queryid = (SELECT queryid FROM architect.statements WHERE query LIKE 'SELECT v AS cap_point%')),
          'the plan text is the EXPLAIN of an index scan');
-- ... and a second plan once its index is gone.
ALTER TABLE cap_t DROP CONSTRAINT cap_t_pkey;
SELECT cap_point(3);
SELECT is((SELECT plans FROM architect.statements WHERE query LIKE 'SELECT v AS cap_point%'), 2::bigint,
          'dropping the index gives the statement a second plan id');
SELECT ok((SELECT bool_or(plan LIKE 'Seq Scan on cap_t%') FROM architect.plans
            WHERE queryid = (SELECT queryid FROM architect.statements WHERE query LIKE 'SELECT v AS cap_point%')),
          'the second plan is a sequential scan');

-- Errors: ExecutorEnd never runs, the abort path counts them.
CREATE FUNCTION cap_fail() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..3 LOOP
    BEGIN
      EXECUTE 'SELECT 1 / (id - id) AS cap_fail FROM cap_t WHERE id = 1';
    EXCEPTION WHEN division_by_zero THEN NULL;
    END;
  END LOOP;
END $$;
SELECT cap_fail();
SELECT is((SELECT errors FROM architect.statements WHERE query LIKE 'SELECT 1 / (id - id) AS cap_fail%'), 3::bigint,
          'three failed executions are counted as errors');
SELECT is((SELECT calls FROM architect.statements WHERE query LIKE 'SELECT 1 / (id - id) AS cap_fail%'), 0::bigint,
          'and not as calls');

-- Prepared statements: one query id over executions, parameters in the text.
PREPARE cap_prep(int) AS SELECT v AS cap_prepared FROM cap_t WHERE id = $1;
EXECUTE cap_prep(1); EXECUTE cap_prep(2); EXECUTE cap_prep(3); EXECUTE cap_prep(4);
EXECUTE cap_prep(5); EXECUTE cap_prep(6); EXECUTE cap_prep(7);
SELECT is((SELECT calls FROM architect.statements WHERE query LIKE '%cap_prepared%$1%'), 7::bigint,
          'seven executions of a prepared statement (custom then generic plans) are one statement');
SELECT is((SELECT toplevel FROM architect.statements WHERE query LIKE '%cap_prepared%$1%'), true,
          'EXECUTE keeps the statement top level');

-- Cursors: the cursor's query is counted once, with its rows.
DECLARE cap_cur CURSOR FOR SELECT id AS cap_cursor FROM cap_t ORDER BY id LIMIT 30;
FETCH 10 FROM cap_cur; FETCH 10 FROM cap_cur;
CLOSE cap_cur;
SELECT is((SELECT calls FROM architect.statements WHERE query LIKE '%cap_cursor%' AND query NOT LIKE '%architect%'),
          1::bigint, 'a cursor''s query is one execution');
SELECT is((SELECT rows FROM architect.statements WHERE query LIKE '%cap_cursor%' AND query NOT LIKE '%architect%'),
          20::bigint, 'with the rows actually fetched');

-- EXPLAIN ANALYZE runs the query: captured, nested under the EXPLAIN.
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) AS cap_explained FROM cap_t;
SELECT is((SELECT toplevel FROM architect.statements WHERE query LIKE '%cap_explained%' AND query NOT LIKE '%architect%'),
          false, 'EXPLAIN ANALYZE''s query is captured as a nested statement');

-- Parallel query: workers run the executor too, but the execution is counted
-- once, and their rows reach the leader's scan counts.
SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0; SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_leader_participation = off;
SET LOCAL pg_architect.sample_rate = 1;
SELECT count(*) AS cap_parallel FROM cap_t WHERE v <> 'none';
SELECT ok((SELECT plan LIKE '%Gather%' FROM architect.plans
            WHERE queryid = (SELECT queryid FROM architect.statements WHERE query LIKE '%cap_parallel%' AND query NOT LIKE '%architect%')),
          'the statement ran with a parallel plan');
SELECT is((SELECT calls FROM architect.statements WHERE query LIKE '%cap_parallel%' AND query NOT LIKE '%architect%'),
          1::bigint, 'a parallel execution is counted once');
SELECT is((SELECT rows_scanned FROM architect.scans
            WHERE queryid = (SELECT queryid FROM architect.statements WHERE query LIKE '%cap_parallel%' AND query NOT LIKE '%architect%')
              AND kind = 'seq'),
          20000::float8, 'the workers'' rows are in the scan counts, once');
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather; RESET parallel_leader_participation;

-- Privacy: another role sees its own text, not ours.
CREATE ROLE cap_other LOGIN;
GRANT SELECT ON cap_t TO cap_other;
SET ROLE cap_other;
SELECT count(*) AS cap_other_query FROM cap_t WHERE v IS NOT NULL AND id > -1;  -- a shape only this role ran
SELECT is((SELECT count(*) FROM architect.statements WHERE query LIKE '%cap_other_query%' AND query NOT LIKE '%architect%'),
          1::bigint, 'a plain role sees the text of its own statement');
SELECT ok((SELECT count(*) FROM architect.statements WHERE query LIKE '%cap_mix%') = 0
          AND (SELECT count(*) FROM architect.statements WHERE query = '<insufficient privilege>' AND queryid IS NULL) > 0,
          'other roles'' statements show <insufficient privilege> and no query id');
SELECT ok((SELECT count(*) FROM architect.plans WHERE plan LIKE '%cap_t%' AND queryid IS NOT NULL) >= 1
          AND (SELECT count(*) FROM architect.plans WHERE plan LIKE 'Index Scan using cap_t_pkey%') = 0,
          'plan texts of other roles'' statements are hidden');
RESET ROLE;

SELECT architect.reset();
SELECT is((SELECT count(*) FROM architect.statements WHERE query LIKE '%cap_%' AND query NOT LIKE '%architect%'), 0::bigint,
          'reset empties the statements');

SELECT * FROM finish();
ROLLBACK;
