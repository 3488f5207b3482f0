\set c random(1, 100000)
SELECT c.name, o.id, o.total FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.email = 'user' || :c || '@example.com';
