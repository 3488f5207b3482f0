-- Advice beyond btree (issue 16): gin for pg_trgm patterns, jsonb, arrays and
-- to_tsvector expressions, brin for a physically ordered range column; each
-- proposed with its DDL and validated by a plan that uses the hypothetical
-- index; an unanchored pattern without pg_trgm gets the CREATE EXTENSION;
-- control statements get nothing.
BEGIN;
SELECT plan(26);
SET LOCAL pg_architect.ddl_guard = off;
DROP EXTENSION IF EXISTS pg_trgm;

CREATE TABLE t57_text (id int PRIMARY KEY, name text);
INSERT INTO t57_text SELECT g, md5(g::text) || ' customer ' || (g % 997) FROM generate_series(1, 60000) g;
CREATE TABLE t57_doc (id int PRIMARY KEY, doc jsonb, tags int[]);
INSERT INTO t57_doc SELECT g, jsonb_build_object('owner', g % 3000, 'kind', g % 13, 'vip', g % 50 = 0),
       ARRAY[g % 500, g % 37 + 1000] FROM generate_series(1, 60000) g;
CREATE TABLE t57_fts (id int PRIMARY KEY, body text);
INSERT INTO t57_fts SELECT g, 'report number ' || g || ' about ' || (ARRAY['apples','pears','plums','figs'])[g % 4 + 1]
       || ' and topic' || (g % 2000) FROM generate_series(1, 60000) g;
CREATE TABLE t57_events (id bigint PRIMARY KEY, at timestamptz, kind int, note text);
INSERT INTO t57_events SELECT g, timestamptz '2024-01-01' + g * interval '1 minute', g % 10, 'event'
  FROM generate_series(1, 150000) g;
ANALYZE t57_text, t57_doc, t57_fts, t57_events;

-- 1. trigram pattern without pg_trgm: recommended, not validated, with CREATE EXTENSION
CREATE TEMP TABLE a57_notrgm AS
  SELECT * FROM architect.advise_query($$SELECT id FROM t57_text WHERE name ILIKE '%c4ca4%'$$);
SELECT is((SELECT count(*) FROM a57_notrgm), 1::bigint, 'one piece of advice for ILIKE ''%x%'' without pg_trgm');
SELECT ok((SELECT ddl LIKE 'CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX CONCURRENTLY IF NOT EXISTS % ON public.t57_text USING gin (name gin_trgm_ops)'
             FROM a57_notrgm), 'it says to create the extension pg_trgm, then the trigram index');
SELECT ok((SELECT est_benefit_pct IS NULL AND est_size_bytes IS NULL AND reason LIKE 'not validated: the extension pg_trgm is not installed%'
             FROM a57_notrgm), 'and that it is not validated (no benefit, no size), saying why');

-- 2. with pg_trgm: validated and costed
CREATE EXTENSION pg_trgm;
CREATE TEMP TABLE a57_trgm AS
  SELECT * FROM architect.advise_query($$SELECT id FROM t57_text WHERE name ILIKE '%c4ca4%'$$);
SELECT is((SELECT method FROM a57_trgm), 'gin', 'with pg_trgm installed: a gin index');
SELECT ok((SELECT ddl LIKE 'CREATE INDEX CONCURRENTLY IF NOT EXISTS % ON public.t57_text USING gin (name public.gin_trgm_ops)'
             FROM a57_trgm), 'with the trigram operator class in its DDL');
SELECT ok((SELECT est_benefit_pct > 50 AND cardinality(improved_queryids) = 1 AND est_size_bytes > 0 FROM a57_trgm),
          'validated: the statement''s plan uses it, with a size and a benefit');
SELECT matches((SELECT plan_after FROM architect.whatif($$SELECT id FROM t57_text WHERE name ~ 'c4ca4[0-9]'$$,
                                                    ARRAY['CREATE INDEX ON t57_text USING gin (name gin_trgm_ops)'])),
               'Bitmap Index Scan on "<hypothetical t57_text \(name\)>"',
               'a regular expression is served by the hypothetical trigram index too');

-- 3. jsonb containment and key existence
CREATE TEMP TABLE a57_json AS
  SELECT * FROM architect.advise_workload(ARRAY[$$SELECT id FROM t57_doc WHERE doc @> '{"owner": 42}'$$,
                                                $$SELECT id FROM t57_doc WHERE doc ? 'missing_key'$$]);
SELECT is((SELECT count(DISTINCT q) FROM a57_json, unnest(improved_queryids) q
            WHERE method = 'gin' AND ddl LIKE '%ON public.t57_doc USING gin (doc%'),
          2::bigint, 'jsonb @> and ?: both statements are served by a gin index on the document');
SELECT is((SELECT count(*) FROM a57_json WHERE method = 'gin' AND ddl LIKE '%ON public.t57_doc USING gin (doc)'),
          1::bigint, 'key existence (?) needs the default jsonb_ops (jsonb_path_ops has no ?)');
SELECT is((SELECT count(*) FROM a57_json WHERE method <> 'gin'), 0::bigint, 'and nothing else is proposed');

-- 4. array overlap
CREATE TEMP TABLE a57_arr AS
  SELECT * FROM architect.advise_query($$SELECT id FROM t57_doc WHERE tags && ARRAY[7]$$);
SELECT ok((SELECT method = 'gin' AND ddl LIKE '%ON public.t57_doc USING gin (tags)' FROM a57_arr),
          'array &&: a gin index on the array');

-- 5. full text: an expression index on the to_tsvector the query computes
CREATE TEMP TABLE a57_fts AS
  SELECT * FROM architect.advise_query($$SELECT id FROM t57_fts WHERE to_tsvector('english', body) @@ to_tsquery('english', 'topic17')$$);
SELECT ok((SELECT method = 'gin' AND ddl LIKE '%ON public.t57_fts USING gin (to_tsvector(''english''::regconfig, body))' FROM a57_fts),
          'to_tsvector(...) @@: a gin expression index on the same to_tsvector');
SELECT ok((SELECT est_benefit_pct > 50 FROM a57_fts), 'validated with a large benefit');

-- 6. brin for a range on a physically ordered column, its size next to the btree's
SELECT ok((SELECT abs(correlation) > 0.9 FROM pg_stats WHERE tablename = 't57_events' AND attname = 'at'),
          'the events table is physically ordered by time');
SET LOCAL pg_architect.advisor_storage_budget = '1MB';
CREATE TEMP TABLE a57_brin AS
  SELECT * FROM architect.advise_query($$SELECT count(*) FROM t57_events WHERE at BETWEEN '2024-02-01' AND '2024-02-03'$$);
RESET pg_architect.advisor_storage_budget;
SELECT ok((SELECT method = 'brin' AND ddl LIKE '%ON public.t57_events USING brin (at)' FROM a57_brin),
          'with a small storage budget, brin on the time column');
SELECT ok((SELECT reason ~ 'correlation\| 1\.00\); \d+ kB against \d+ kB for a btree' AND est_benefit_pct > 10 FROM a57_brin),
          'its reason puts its size next to the btree''s, and it is validated');
SELECT ok((SELECT method = 'btree' FROM architect.advise_query($$SELECT count(*) FROM t57_events WHERE at BETWEEN '2024-02-01' AND '2024-02-03'$$)),
          'without a budget the planner''s cheaper btree wins (brin is the space-saving choice)');

-- 7. an OR over two columns: both indexes, costed together (BitmapOr)
CREATE TABLE t57_or (id int PRIMARY KEY, a int, b int, pad text);
INSERT INTO t57_or SELECT g, g % 20000, (g * 7) % 20000, repeat('x', 40) FROM generate_series(1, 100000) g;
ANALYZE t57_or;
CREATE TEMP TABLE a57_or AS
  SELECT * FROM architect.advise_query($$SELECT id FROM t57_or WHERE a = 17 OR b = 99$$);
SELECT is((SELECT array_agg(columns[1] ORDER BY columns[1]) FROM a57_or), '{a,b}'::text[],
          'a = c1 OR b = c2: an index on each arm, chosen together (neither helps alone)');
SELECT matches((SELECT plan_after FROM architect.whatif($$SELECT id FROM t57_or WHERE a = 17 OR b = 99$$,
                                                    ARRAY(SELECT regexp_replace(ddl, 'CONCURRENTLY IF NOT EXISTS \S+ ', '') FROM a57_or))),
               'BitmapOr', 'the plan with both combines them with a BitmapOr');

-- 8. control statements: nothing to advise
SELECT is((SELECT count(*) FROM architect.advise_workload(ARRAY[
             $$SELECT id FROM t57_doc WHERE id = 5$$,                    -- primary key
             $$SELECT count(*) FROM t57_text$$,                           -- whole table
             $$SELECT id FROM t57_text WHERE name LIKE '%'$$,             -- matches everything
             $$SELECT id FROM t57_doc WHERE doc IS NOT NULL$$])),         -- every row
          0::bigint, 'control statements get no advice');

-- 9. the size model against real builds (deterministic: the sample is seeded by the table)
CREATE INDEX t57_text_trgm ON t57_text USING gin (name gin_trgm_ops);
CREATE INDEX t57_doc_gin ON t57_doc USING gin (doc);
CREATE INDEX t57_doc_tags ON t57_doc USING gin (tags);
SELECT ok((SELECT est_size_bytes BETWEEN pg_relation_size('t57_text_trgm') / 2 AND pg_relation_size('t57_text_trgm') * 2
             FROM architect.hypothetical_index('CREATE INDEX ON t57_text USING gin (name gin_trgm_ops)')),
          'hypothetical trigram gin size within a factor of 2 of the real index');
SELECT ok((SELECT est_size_bytes BETWEEN pg_relation_size('t57_doc_gin') / 2 AND pg_relation_size('t57_doc_gin') * 2
             FROM architect.hypothetical_index('CREATE INDEX ON t57_doc USING gin (doc)')),
          'hypothetical jsonb gin size within a factor of 2 of the real index');
SELECT ok((SELECT est_size_bytes BETWEEN pg_relation_size('t57_doc_tags') / 2 AND pg_relation_size('t57_doc_tags') * 2
             FROM architect.hypothetical_index('CREATE INDEX ON t57_doc USING gin (tags)')),
          'hypothetical array gin size within a factor of 2 of the real index');

-- 10. the real index serves the statement the hypothetical one was validated on
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE r text; o text := '';
BEGIN
  FOR r IN EXECUTE 'EXPLAIN ' || q LOOP o := o || r || E'\n'; END LOOP;
  RETURN o;
END $f$;
SELECT matches(pg_temp.plan_of($$SELECT id FROM t57_text WHERE name ILIKE '%c4ca4%'$$),
               'Bitmap Index Scan on t57_text_trgm', 'the real trigram index serves the ILIKE statement');
SELECT is((SELECT count(*) FROM architect.advise_query($$SELECT id FROM t57_text WHERE name ILIKE '%c4ca4%'$$)),
          0::bigint, 'once the trigram index exists, nothing more is advised for the statement');

-- 11. gist is refused with a clear error, not costed wrongly
SELECT throws_ok($$SELECT * FROM architect.hypothetical_index('CREATE INDEX ON t57_events USING gist (id)')$$,
                 '0A000', 'hypothetical indexes using "gist" are not supported', 'gist is refused with feature_not_supported');

SELECT * FROM finish();
ROLLBACK;
