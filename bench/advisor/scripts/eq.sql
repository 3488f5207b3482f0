\set cid random(1, 100000)
SELECT id, total, created_at FROM orders WHERE customer_id = :cid;
