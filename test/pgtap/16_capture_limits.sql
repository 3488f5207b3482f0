-- Capture limits that a plain role could abuse (issue 12): many open
-- cursors must not hide later statements from capture; a relation name cut
-- to fit ddl_log stays valid text.
BEGIN;
SELECT plan(5);

-- 200 cursors open at once, more than the 32 the stack first holds: the
-- statement after them is still captured.
SELECT format('DECLARE pga_cur_%s CURSOR FOR SELECT g FROM generate_series(1, 3) g', i)
  FROM generate_series(1, 200) i
\gexec
SELECT format('FETCH 1 FROM pga_cur_%s', i) FROM generate_series(1, 200, 37) i
\gexec
SELECT 'pga-after-cursors' AS probe;
SELECT ok(EXISTS (SELECT 1 FROM architect.statements
                   WHERE query = 'SELECT ''pga-after-cursors'' AS probe' AND calls >= 1),
          'a statement run while 200 cursors are open is captured');
SELECT 'pga-after-cursors-again' AS probe, 2 AS two;
SELECT ok(EXISTS (SELECT 1 FROM architect.statements
                   WHERE query = 'SELECT ''pga-after-cursors-again'' AS probe, 2 AS two' AND calls >= 1),
          'and the next one too');
CLOSE ALL;

-- A relation name longer than ddl_log keeps, made of two-byte characters
-- and doubled quotes, so that the cut falls inside a character unless it
-- respects character boundaries.
SET LOCAL client_min_messages = warning;
CREATE SCHEMA "éééééééééééééééééééééééééééééééé";
CREATE TABLE "éééééééééééééééééééééééééééééééé"."é""é""é""é""é""é""é""é""é""é""é""é""é""é""é""é""é""é""é""é""é" (a int);
SET LOCAL pg_architect.ddl_guard_min_size = 0;
ALTER TABLE "éééééééééééééééééééééééééééééééé"."é""é""é""é""é""é""é""é""é""é""é""é""é""é""é""é""é""é""é""é""é" ADD COLUMN b int;
SELECT lives_ok($$SELECT count(*) FROM architect.ddl_log WHERE relation ILIKE '%é%'$$,
                'ILIKE over ddl_log.relation works after a long multibyte name');
SELECT ok((SELECT bool_and(relation IS NOT NULL AND octet_length(relation) <= 135
                           AND relation LIKE '"éééééééé%')
             FROM architect.ddl_log WHERE statement LIKE 'ALTER TABLE "ééé%ADD COLUMN b int'),
          'the relation is cut at a character boundary, within its 135 bytes');
SELECT is((SELECT count(*) FROM architect.ddl_log
            WHERE statement LIKE 'ALTER TABLE "ééé%ADD COLUMN b int'
              AND convert_from(convert_to(relation, 'UTF8'), 'UTF8') = relation), 1::bigint,
          'and is valid UTF-8');

SELECT * FROM finish();
ROLLBACK;
