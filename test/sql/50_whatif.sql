-- What-if planning and index advice.  Tables stay under 30000 rows so that
-- ANALYZE reads every row and the statistics (hence the plans) are stable.
CREATE EXTENSION IF NOT EXISTS pg_architect;
SET max_parallel_workers_per_gather = 0;

CREATE TABLE orders (
    id int PRIMARY KEY,
    customer_id int NOT NULL,
    status text NOT NULL,
    is_paid boolean NOT NULL,
    created_at timestamptz NOT NULL,
    amount numeric NOT NULL,
    note text);
INSERT INTO orders
SELECT i, i % 2000, (ARRAY['new', 'paid', 'shipped', 'done'])[1 + i % 4], i % 2 = 0,
       timestamptz '2024-01-01' + i * interval '1 minute', i % 500, repeat('x', 40)
  FROM generate_series(1, 25000) i;
CREATE TABLE "Order Items" ("Order Id" int NOT NULL, "SKU" int NOT NULL, qty int NOT NULL);
INSERT INTO "Order Items" SELECT i % 5000, i, 1 + i % 3 FROM generate_series(1, 25000) i;
CREATE TABLE events (id int, kind int, payload text);
INSERT INTO events SELECT i, i % 1000, 'e' || i FROM generate_series(1, 20000) i;
CREATE INDEX events_kind_id ON events (kind, id);
VACUUM ANALYZE orders, "Order Items", events;
-- index-only scans need an all-visible heap; a concurrent snapshot (e.g. a
-- background worker's) can keep VACUUM from setting it: retry a few times
\o /dev/null
SELECT relallvisible < relpages AS need_vacuum FROM pg_class WHERE oid = 'orders'::regclass \gset
\if :need_vacuum
SELECT pg_sleep(0.2);
VACUUM orders;
\endif
SELECT relallvisible < relpages AS need_vacuum FROM pg_class WHERE oid = 'orders'::regclass \gset
\if :need_vacuum
SELECT pg_sleep(0.2);
VACUUM orders;
\endif
SELECT relallvisible < relpages AS need_vacuum FROM pg_class WHERE oid = 'orders'::regclass \gset
\if :need_vacuum
SELECT pg_sleep(0.2);
VACUUM orders;
\endif
SELECT relallvisible < relpages AS need_vacuum FROM pg_class WHERE oid = 'orders'::regclass \gset
\if :need_vacuum
SELECT pg_sleep(0.2);
VACUUM orders;
\endif
SELECT relallvisible < relpages AS need_vacuum FROM pg_class WHERE oid = 'orders'::regclass \gset
\if :need_vacuum
SELECT pg_sleep(0.2);
VACUUM orders;
\endif
SELECT relallvisible < relpages AS need_vacuum FROM pg_class WHERE oid = 'orders'::regclass \gset
\if :need_vacuum
SELECT pg_sleep(0.2);
VACUUM orders;
\endif
SELECT relallvisible < relpages AS need_vacuum FROM pg_class WHERE oid = 'orders'::regclass \gset
\if :need_vacuum
SELECT pg_sleep(0.2);
VACUUM orders;
\endif
SELECT relallvisible < relpages AS need_vacuum FROM pg_class WHERE oid = 'orders'::regclass \gset
\if :need_vacuum
SELECT pg_sleep(0.2);
VACUUM orders;
\endif
\o
SELECT relallvisible = relpages AS all_visible FROM pg_class WHERE oid = 'orders'::regclass;

-- ---------------------------------------------------------------- whatif
SELECT cost_after < cost_before AS cheaper, benefit_pct > 90 AS big_win, indexes_used,
       index_sizes_bytes[1] BETWEEN 150000 AND 400000 AS size_plausible
  FROM architect.whatif('SELECT * FROM orders WHERE customer_id = 42',
                        ARRAY['CREATE INDEX ON orders (customer_id)']);
SELECT plan_after FROM architect.whatif('SELECT id FROM orders WHERE customer_id = 42 ORDER BY created_at DESC LIMIT 5',
                                        ARRAY['CREATE INDEX o_cc ON orders (customer_id, created_at DESC)']);
-- INCLUDE gives an index-only scan; an unused index is not reported as used
SELECT indexes_used, plan_after ~ 'Index Only Scan' AS index_only
  FROM architect.whatif('SELECT customer_id, amount FROM orders WHERE customer_id = 42',
                        ARRAY['CREATE INDEX cov ON orders (customer_id) INCLUDE (amount)',
                              'CREATE INDEX useless ON orders (note)']);
-- partial index: used when the query implies its predicate
SELECT indexes_used FROM architect.whatif('SELECT * FROM orders WHERE status = ''new'' AND customer_id = 3',
                                          ARRAY['CREATE INDEX part ON orders (customer_id) WHERE status = ''new''']);
-- hash index for equality
SELECT indexes_used FROM architect.whatif('SELECT * FROM orders WHERE note = ''abc''',
                                          ARRAY['CREATE INDEX h ON orders USING hash (note)']);
-- expression index
SELECT indexes_used, plan_after ~ 'lower' AS on_expression
  FROM architect.whatif('SELECT * FROM orders WHERE lower(status) = $1 AND customer_id = 5',
                        ARRAY['CREATE INDEX ex ON orders (lower(status), customer_id)']);
-- parameters: planned as a generic plan
SELECT indexes_used, plan_after ~ '\$1' AS generic
  FROM architect.whatif('SELECT * FROM orders WHERE customer_id = $1', ARRAY['CREATE INDEX p ON orders (customer_id)']);
-- texts normalised by pg_stat_statements: typed literals become "interval $2",
-- which is re-typed as $2::interval (never inside quotes or comments)
SELECT indexes_used, plan_after FROM architect.whatif(
  'SELECT * FROM orders WHERE created_at > timestamptz $1 - interval $2 AND note <> ''date $9'' /* int $8 */ AND customer_id = int $3',
  ARRAY['CREATE INDEX n ON orders (customer_id)']);
-- DML is planned, not executed
SELECT indexes_used FROM architect.whatif('DELETE FROM orders WHERE customer_id = 7', ARRAY['CREATE INDEX d ON orders (customer_id)']);
SELECT count(*) FROM orders WHERE customer_id = 7;
-- a function the planner folds (immutable, runs a query) plans and executes
-- its own query without the hypothetical indexes
CREATE FUNCTION count_customer(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE r int;
BEGIN
  SELECT count(*) INTO r FROM orders WHERE customer_id = x;
  RETURN r;
END $$;
SELECT indexes_used FROM architect.whatif('SELECT * FROM orders WHERE customer_id = count_customer(3)',
                                          ARRAY['CREATE INDEX nested ON orders (customer_id)']);
DROP FUNCTION count_customer(int);
-- the hypothetical indexes are gone once the call returns
EXPLAIN (COSTS OFF) SELECT * FROM orders WHERE customer_id = 42;
SELECT count(*) FROM pg_class WHERE relname IN ('o_cc', 'cov', 'useless', 'part', 'h', 'p', 'd');

-- ---------------------------------------------------------------- errors
SELECT * FROM architect.whatif(NULL, '{}');
SELECT * FROM architect.whatif('SELECT 1', NULL);
SELECT * FROM architect.whatif('CREATE TABLE nope (a int)', '{}');
SELECT * FROM architect.whatif('VACUUM orders', '{}');
SELECT * FROM architect.whatif('SELECT * FROM orders; SELECT 1', '{}');
SELECT * FROM architect.whatif('SELEKT 1', '{}');
SELECT * FROM architect.whatif('', '{}');
SELECT * FROM architect.whatif('SELECT * FROM no_such_table', '{}');
SELECT * FROM architect.whatif('SELECT * FROM orders WHERE $1 IS NULL', '{}');
SELECT * FROM architect.whatif('SELECT 1', ARRAY['DROP TABLE orders']);
SELECT * FROM architect.whatif('SELECT 1', ARRAY['CREATE INDEX ON orders (no_such_column)']);
SELECT * FROM architect.whatif('SELECT 1', ARRAY['CREATE INDEX ON no_such_table (a)']);
SELECT * FROM architect.whatif('SELECT 1', ARRAY['CREATE INDEX ON orders USING gist (note)']);
SELECT * FROM architect.whatif('SELECT 1', ARRAY['CREATE INDEX ON orders ((amount > random()))']);
SELECT * FROM architect.whatif('SELECT 1', ARRAY['CREATE INDEX ON orders (id) INCLUDE ((amount + 1))']);
SELECT * FROM architect.whatif('SELECT 1', ARRAY[NULL]);
SELECT * FROM architect.advise_query(NULL);
SELECT * FROM architect.advise_query('TRUNCATE orders');
SELECT * FROM architect.advise_query('SELECT * FROM no_such_table');
SELECT * FROM architect.advise_workload(NULL);
SELECT * FROM architect.advise_workload(ARRAY['SELECT 1'], ARRAY[1, 2]::float8[]);
SELECT * FROM architect.advise_workload(ARRAY['SELECT 1'], ARRAY[-1]::float8[]);
SELECT * FROM architect.advise_workload(ARRAY['SELECT 1'], NULL, ARRAY[1, 2]::bigint[]);
SELECT count(*) FROM orders;

-- ---------------------------------------------------------------- advise_query
-- equality before range
SELECT relation, columns, method FROM architect.advise_query(
  'SELECT * FROM orders WHERE created_at > ''2024-01-10'' AND customer_id = 42');
-- ORDER BY ... LIMIT gets the sort column after the equality column
SELECT columns FROM architect.advise_query(
  'SELECT * FROM orders WHERE customer_id = 42 ORDER BY created_at DESC LIMIT 10');
SELECT columns FROM architect.advise_query('SELECT * FROM orders ORDER BY created_at LIMIT 10');
-- nothing duplicating the primary key or an existing index prefix
SELECT count(*) AS pk_dup FROM architect.advise_query('SELECT * FROM orders WHERE id = 5');
SELECT count(*) AS prefix_dup FROM architect.advise_query('SELECT * FROM events WHERE kind = 5');
-- nothing for a boolean or low-cardinality filter
SELECT count(*) AS bool_filter FROM architect.advise_query('SELECT * FROM orders WHERE is_paid');
SELECT count(*) AS low_card FROM architect.advise_query('SELECT * FROM orders WHERE status = $1');
-- parameterised statements are advised
SELECT columns FROM architect.advise_query('SELECT * FROM orders WHERE customer_id = $1 AND created_at >= $2');
-- identifiers are quoted in the DDL
SELECT columns, ddl, rollback_ddl FROM architect.advise_query('SELECT * FROM "Order Items" WHERE "Order Id" = 17');
-- joins: the inner side's join column
SELECT relation, columns FROM architect.advise_query(
  'SELECT o.id, i."SKU" FROM orders o JOIN "Order Items" i ON i."Order Id" = o.id WHERE o.customer_id = 42');
-- covering: a narrow query gets INCLUDE
SELECT columns, ddl ~ 'INCLUDE \(amount\)' AS covering FROM architect.advise_query(
  'SELECT customer_id, amount FROM orders WHERE customer_id = 42');
-- an UPDATE with a WHERE is advised too
SELECT columns FROM architect.advise_query('UPDATE orders SET amount = 0 WHERE customer_id = 42');
-- an expression compared to a constant gets an expression index
SELECT columns, ddl FROM architect.advise_query('SELECT * FROM "Order Items" WHERE ("SKU" % 1000) = 7');
-- sort directions: mixed directions and NULLS FIRST are kept, relative to the first key
SELECT columns FROM architect.advise_query('SELECT * FROM orders ORDER BY customer_id DESC, created_at LIMIT 5');
SELECT columns FROM architect.advise_query('SELECT * FROM orders ORDER BY created_at NULLS FIRST LIMIT 5');
-- OR of equalities on one column
SELECT columns FROM architect.advise_query('SELECT * FROM orders WHERE customer_id = 1 OR customer_id = 2');
-- system catalogs are never advised
SELECT count(*) FROM architect.advise_query('SELECT * FROM pg_class WHERE relname = ''x''');
SELECT * FROM architect.advise_query('SELECT * INTO nope FROM orders');
-- no useful index: no row
SELECT count(*) FROM architect.advise_query('SELECT count(*) FROM orders');

-- the generated DDL runs as it is, and its rollback removes it again
CREATE TEMP TABLE advised AS SELECT ddl, rollback_ddl FROM architect.advise_workload(ARRAY[
    'SELECT * FROM "Order Items" WHERE "Order Id" = 17',
    'SELECT * FROM orders WHERE customer_id = 5 ORDER BY created_at DESC NULLS LAST LIMIT 3',
    'SELECT * FROM "Order Items" WHERE ("SKU" % 1000) = 7']);
SELECT ddl FROM advised ORDER BY ddl \gexec
SELECT indexrelid::regclass, pg_get_indexdef(indexrelid) FROM pg_index
 WHERE indrelid IN ('orders'::regclass, '"Order Items"'::regclass) AND NOT indisprimary ORDER BY indexrelid::regclass::text;
SELECT rollback_ddl FROM advised ORDER BY rollback_ddl \gexec
SELECT count(*) FROM pg_index WHERE indrelid IN ('orders'::regclass, '"Order Items"'::regclass) AND NOT indisprimary;
DROP TABLE advised;

-- ---------------------------------------------------------------- advise_workload
-- a write-hot copy of orders: the same read, but the workload updates the
-- column the index would hold, and HOT updates would be lost
CREATE TABLE orders_hot AS SELECT * FROM orders;
ALTER TABLE orders_hot ADD PRIMARY KEY (id);
VACUUM ANALYZE orders_hot;
SELECT relation, columns, improved_queryids, write_overhead > 0 AS pays_writes
  FROM architect.advise_workload(
    ARRAY['SELECT * FROM orders WHERE customer_id = $1',
          'SELECT * FROM orders_hot WHERE customer_id = $1',
          'UPDATE orders_hot SET customer_id = customer_id + 1 WHERE id = $1'],
    ARRAY[100, 100, 1000]::float8[],
    ARRAY[101, 102, 103]::bigint[])
 ORDER BY relation::text;
-- the same workload with few writes: both tables get the index
SELECT relation, columns
  FROM architect.advise_workload(
    ARRAY['SELECT * FROM orders WHERE customer_id = $1',
          'SELECT * FROM orders_hot WHERE customer_id = $1',
          'UPDATE orders_hot SET customer_id = customer_id + 1 WHERE id = $1'],
    ARRAY[100, 100, 0.01]::float8[])
 ORDER BY relation::text;
-- one index serves several statements; statements that cannot be planned are skipped
SELECT relation, columns, cardinality(improved_queryids) AS statements
  FROM architect.advise_workload(ARRAY[
    'SELECT * FROM orders WHERE customer_id = 1',
    'SELECT * FROM orders WHERE customer_id = 2 AND created_at > now()',
    'SELECT * FROM orders WHERE customer_id = 3 ORDER BY created_at LIMIT 3',
    'VACUUM orders',
    'SELECT * FROM gone']);
-- candidates given from outside (architect.scans later): evaluated like the
-- advisor's own; here an operator class the advisor does not try itself
SELECT columns, ddl, reason ~ '^given candidate' AS given FROM architect.advise_workload(
    ARRAY['SELECT * FROM orders WHERE note LIKE ''xy%'''],
    candidates => ARRAY['CREATE INDEX ON orders (note text_pattern_ops)', 'CREATE INDEX ON "Order Items" ("SKU")',
                        'CREATE INDEX ON orders (id)']);
-- per-table cap and storage budget
SET pg_architect.advisor_max_indexes_per_table = 1;
SELECT count(*) AS capped FROM architect.advise_workload(ARRAY[
    'SELECT * FROM orders WHERE customer_id = 1',
    'SELECT * FROM orders WHERE amount = 3 AND created_at > now()',
    'SELECT * FROM orders ORDER BY created_at LIMIT 3']);
RESET pg_architect.advisor_max_indexes_per_table;
SET pg_architect.advisor_storage_budget = '1MB';
SELECT sum(est_size_bytes) <= 1024 * 1024 AS within_budget FROM architect.advise_workload(ARRAY[
    'SELECT * FROM orders WHERE customer_id = 1',
    'SELECT * FROM orders WHERE amount = 3 AND created_at > now()',
    'SELECT * FROM "Order Items" WHERE "SKU" = 3']);
RESET pg_architect.advisor_storage_budget;
SET pg_architect.advisor_max_indexes_per_table = 0;
SELECT count(*) FROM architect.advise_workload('{}');

-- ---------------------------------------------------------------- index_advice
-- with nothing captured in this database the view is empty and says why
SELECT architect.reset() IS NULL AS reset;
SET pg_architect.track = 'none';
SELECT count(*) FROM architect.index_advice;
RESET pg_architect.track;
DROP TABLE orders, orders_hot, "Order Items", events;
