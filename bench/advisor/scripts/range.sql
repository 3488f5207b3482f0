\set m random(0, 500000)
\set m2 :m + 30
SELECT count(*), sum(total) FROM orders WHERE created_at >= '2024-01-01'::timestamptz + make_interval(mins => :m) AND created_at < '2024-01-01'::timestamptz + make_interval(mins => :m2);
