\set r random(0, 999)
SELECT count(*) FROM products WHERE is_active AND price > :r;
