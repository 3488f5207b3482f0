-- Scan capture: the rows of architect.scans for each predicate family the
-- index advisor relies on, on built tables.
BEGIN;
SELECT plan(21);
SET pg_architect.sample_rate = 1;
SET pg_architect.track = 'all';
SELECT architect.reset();

CREATE TABLE sc_orders (id int PRIMARY KEY, cust int, status text, created date, note text, paid bool);
INSERT INTO sc_orders
SELECT g, g % 1000, CASE WHEN g % 10 = 0 THEN NULL ELSE 's' || (g % 5) END,
       date '2024-01-01' + g % 365, 'n' || g, g % 2 = 0
  FROM generate_series(1, 20000) g;
CREATE TABLE sc_customers (id int PRIMARY KEY, name text);
INSERT INTO sc_customers SELECT g, 'c' || g FROM generate_series(1, 1000) g;
CREATE TABLE sc_parts (id int, region int, v int) PARTITION BY LIST (region);
CREATE TABLE sc_parts_1 PARTITION OF sc_parts FOR VALUES IN (1);
CREATE TABLE sc_parts_2 PARTITION OF sc_parts FOR VALUES IN (2);
INSERT INTO sc_parts SELECT g, 1 + g % 2, g FROM generate_series(1, 4000) g;
ANALYZE sc_orders, sc_customers, sc_parts;

-- A helper: the scan rows of one relation whose predicates mention a column.
CREATE FUNCTION sc_row(rel regclass, col text, cls text)
RETURNS SETOF architect.scans LANGUAGE sql AS $$
  SELECT * FROM architect.scans s
   WHERE s.relid = rel AND EXISTS (
         SELECT 1 FROM unnest(s.columns, s.classes) AS u(c, k) WHERE u.c = col AND u.k = cls)
$$;

SELECT count(*) FROM sc_orders WHERE cust = 42;
SELECT is((SELECT kind || ' ' || rows_returned || '/' || rows_scanned || ' removed ' || rows_removed_by_filter
             FROM sc_row('sc_orders', 'cust', 'equality')),
          'seq 20/20000 removed 19980', 'a selective filter on an unindexed column: seq scan, rows scanned and removed');
SELECT is((SELECT value_kinds[1] || ' ' || sources[1] FROM sc_row('sc_orders', 'cust', 'equality')),
          'constant filter', 'compared with a constant, as a filter');

SELECT count(*) FROM sc_orders WHERE created BETWEEN '2024-02-01' AND '2024-02-10';
SELECT is((SELECT operators FROM sc_row('sc_orders', 'created', 'range')), '{>=,<=}',
          'BETWEEN is a range pair');
SELECT count(*) FROM sc_orders WHERE id > 100 AND id < 200;
SELECT is((SELECT kind || ' ' || index::text || ' ' || array_to_string(classes, ',') || ' ' || array_to_string(sources, ',')
             FROM sc_row('sc_orders', 'id', 'range')),
          'index_only sc_orders_pkey range,range index_cond,index_cond',
          'a range pair on the key: an index-only scan with two range conditions, columns mapped back to the table');

SELECT count(*) FROM sc_orders WHERE cust IN (1, 2, 3);
SELECT is((SELECT operators[1] FROM sc_row('sc_orders', 'cust', 'in_list')), '= ANY', 'an IN list');

SELECT count(*) FROM sc_orders WHERE status IS NULL;
SELECT is((SELECT rows_returned FROM sc_row('sc_orders', 'status', 'is_null')), 2000::float8, 'col IS NULL');

SELECT count(*) FROM sc_orders WHERE lower(note) = 'n5';
SELECT is((SELECT expressions[1] FROM sc_row('sc_orders', 'note', 'expression')), 'lower', 'lower(col) = … is an expression on the column');

SELECT count(*) FROM sc_orders WHERE note LIKE 'n12%';
SELECT is((SELECT count(*) FROM sc_row('sc_orders', 'note', 'like_prefix')), 1::bigint, 'LIKE ''abc%'' is a LIKE prefix');
SELECT count(*) FROM sc_orders WHERE note LIKE '%12';
SELECT is((SELECT count(*) FROM sc_row('sc_orders', 'note', 'like')), 1::bigint, 'LIKE ''%abc'' is not');

SELECT count(*) FROM sc_orders WHERE paid;
SELECT is((SELECT count(*) FROM sc_row('sc_orders', 'paid', 'equality')), 1::bigint, 'a boolean column as a condition');

-- A two-table join: both sides' columns and the method.
SET LOCAL enable_nestloop = off; SET LOCAL enable_mergejoin = off;
SELECT count(*) FROM sc_orders o JOIN sc_customers c ON c.id = o.cust WHERE c.name = 'c5';
RESET enable_nestloop; RESET enable_mergejoin;
SELECT is((SELECT join_method || ' ' || relid::text || '.' || columns[1] || ' = ' || join_relid::text || '.' || join_columns[1]
             FROM architect.scans WHERE kind = 'join' AND relid = 'sc_orders'::regclass),
          'hash sc_orders.cust = sc_customers.id', 'a two-table join records both sides and the method');
SELECT is((SELECT rows_removed_by_filter FROM sc_row('sc_customers', 'name', 'equality')), 999::float8,
          'and the filter on the joined table');

-- ORDER BY … LIMIT: the sort key, its direction, the LIMIT above.
SELECT id FROM sc_orders ORDER BY created DESC LIMIT 5;
SELECT is((SELECT columns[1] || ' ' || classes[1] || ' limit=' || limit_above FROM architect.scans
            WHERE kind = 'sort' AND relid = 'sc_orders'::regclass),
          'created desc limit=true', 'ORDER BY created DESC LIMIT 5: sort key, direction, LIMIT above');

-- A partitioned table: partitions are reported as their parent.
SELECT count(*) FROM sc_parts WHERE v = 77;
SELECT is((SELECT executions || ' executions, ' || rows_scanned || ' rows' FROM architect.scans
            WHERE relid = 'sc_parts'::regclass AND 'v' = ANY(columns)),
          '2 executions, 4000 rows', 'both partitions'' scans fold into one row under the partitioned table');
SELECT is((SELECT count(*) FROM architect.scans WHERE relid IN ('sc_parts_1'::regclass, 'sc_parts_2'::regclass)), 0::bigint,
          'and never under the partition');

-- A prepared statement with parameters (custom and generic plans).
SET LOCAL plan_cache_mode = force_generic_plan;
PREPARE sc_prep(int) AS SELECT count(*) FROM sc_orders WHERE cust = $1;
EXECUTE sc_prep(7);
SELECT is((SELECT value_kinds[1] FROM architect.scans WHERE relid = 'sc_orders'::regclass AND 'parameter' = ANY(value_kinds) AND 'cust' = ANY(columns)),
          'parameter', 'a prepared statement''s $1 is recorded as a parameter');
RESET plan_cache_mode;

-- A query inside a plpgsql function.
CREATE FUNCTION sc_in_function(n int) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN RETURN (SELECT count(*) FROM sc_customers WHERE name = 'c' || n); END $$;
SELECT sc_in_function(3);
SELECT ok((SELECT count(*) FROM architect.scans s JOIN architect.statements st USING (queryid)
            WHERE s.relid = 'sc_customers'::regclass AND st.toplevel = false AND st.query LIKE '%sc_customers WHERE name%') >= 1,
          'a query inside a plpgsql function is captured with its scan');

-- index_usage: per index, which captured queries used it.
SELECT ok((SELECT executions >= 1 AND array_length(queryids, 1) >= 1 FROM architect.index_usage WHERE index = 'sc_orders_pkey'::regclass),
          'architect.index_usage attributes the primary key''s use to query ids');
SELECT ok(EXISTS (SELECT 1 FROM architect.index_usage u JOIN pg_stat_user_indexes p USING (indexrelid)
                   WHERE p.indexrelname = 'sc_orders_pkey'), 'and joins with pg_stat_user_indexes');

-- Sampling off: nothing recorded.
SELECT architect.reset();
SET pg_architect.sample_rate = 0;
SELECT count(*) FROM sc_orders WHERE cust = 43;
SELECT is((SELECT count(*) FROM architect.scans), 0::bigint, 'sample_rate = 0 records no scans');

SELECT throws_ok($$SET pg_architect.sample_rate = 1.5$$, '22023', NULL, 'sample_rate rejects values above 1');

SELECT * FROM finish();
ROLLBACK;
