-- The advisor on the real captured workload: statements and scans feed
-- architect.index_advice; the advice is filed, applied, and its outcome is
-- judged from the p95 of the statement's new plan.
BEGIN;
SELECT plan(11);
SELECT architect.reset();
SET pg_architect.track = 'all';
SET pg_architect.sample_rate = 1;

CREATE TABLE "Advice Items" (id int PRIMARY KEY, cust int, status text, created date, qty int);
INSERT INTO "Advice Items"
SELECT g, g % 5000, 's' || (g % 7), date '2024-01-01' + g % 365, g % 10 FROM generate_series(1, 200000) g;
ANALYZE "Advice Items";
SELECT architect.reset();   -- the bulk load is not the workload under study

CREATE FUNCTION ai_run(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    EXECUTE format('SELECT count(*) AS ai_probe FROM "Advice Items" WHERE cust = %s AND created > %L', i, '2024-03-01');
  END LOOP;
END $$;
SELECT ai_run(15);

SELECT ok((SELECT 'cust' = ANY(columns) AND 'created' = ANY(columns) FROM architect.scans
            WHERE relid = '"Advice Items"'::regclass AND kind = 'seq'),
          'scan capture saw the equality and the range column');
SELECT ok((SELECT 'CREATE INDEX ON public."Advice Items" (cust, created)' = ANY(candidates)
             FROM architect.advice_workload()),
          'the scan evidence becomes a candidate: equality column first, then the range');

SELECT is((SELECT columns FROM architect.index_advice WHERE relation = '"Advice Items"'::regclass),
          '{cust,created}'::text[], 'index_advice recommends (cust, created) for the captured workload');
SELECT ok((SELECT ddl LIKE 'CREATE INDEX CONCURRENTLY IF NOT EXISTS % ON public."Advice Items" USING btree (cust, created)%'
             FROM architect.index_advice WHERE relation = '"Advice Items"'::regclass),
          'with quoted, concurrent DDL');
SELECT ok((SELECT (SELECT queryid FROM architect.statements WHERE query LIKE '%ai_probe%' AND query NOT LIKE '%architect%') = ANY(improved_queryids)
             FROM architect.index_advice WHERE relation = '"Advice Items"'::regclass),
          'naming the captured statement it improves');

SELECT is((SELECT count(*) FROM architect.findings WHERE category = 'index_advice' AND object LIKE '%Advice Items%'),
          1::bigint, 'the advice is in the findings register (which pins its own search_path)');
SET LOCAL search_path = pg_catalog;
CREATE TEMP TABLE ai_under_catalog_path AS
  SELECT columns FROM architect.index_advice WHERE relation = 'public."Advice Items"'::regclass;
RESET search_path;
SELECT is((SELECT columns FROM ai_under_catalog_path), '{cust,created}'::text[],
          'captured statements are re-planned under the session default search_path, not the reader''s');

SELECT is((SELECT count(*) FROM architect.record_advice() WHERE relation = '"Advice Items"'::regclass), 1::bigint,
          'the advice is filed in architect.advice_log');
SELECT is((SELECT verdict FROM architect.advice_outcomes WHERE relation = '"Advice Items"'::regclass), 'not built',
          'before the index exists the outcome is "not built"');

-- Apply it (without CONCURRENTLY: we are inside a test transaction).
SELECT lives_ok(format('%s', replace((SELECT ddl FROM architect.advice_log WHERE relation = '"Advice Items"'::regclass),
                                     'CONCURRENTLY ', '')), 'the advised DDL runs');
SELECT ai_run(15);
SELECT is((SELECT verdict FROM architect.advice_outcomes WHERE relation = '"Advice Items"'::regclass), 'kept',
          'after it, the statement''s new plan is faster at p95: "kept"');

SELECT * FROM finish();
ROLLBACK;
