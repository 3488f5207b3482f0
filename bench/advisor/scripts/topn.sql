\set cid random(1, 100000)
SELECT id, total FROM orders WHERE customer_id = :cid AND status = 'shipped' ORDER BY created_at DESC LIMIT 5;
