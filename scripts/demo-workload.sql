-- The demo's built-in workload: a small shop with the flaws pg_architect is
-- built to find.  Run by scripts/demo.sh after pgbench.
SET pg_architect.sample_rate = 0.2;

CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, country text NOT NULL);
CREATE TABLE "Order Items" (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers,      -- foreign key without an index
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    amount numeric(10, 2) NOT NULL);
CREATE TABLE audit_log (at timestamptz, who text, what text);   -- no primary key
CREATE INDEX items_status ON "Order Items" (status);
CREATE INDEX items_status_again ON "Order Items" (status);      -- a duplicate

INSERT INTO customers SELECT g, 'customer ' || g, (ARRAY['FR', 'DE', 'US', 'JP'])[1 + g % 4]
  FROM generate_series(1, 20000) g;
INSERT INTO "Order Items" (customer_id, status, created_at, amount)
SELECT 1 + g % 20000, (ARRAY['new', 'paid', 'shipped', 'done'])[1 + g % 4],
       now() - (g % 365) * interval '1 day', (g % 500) + 0.99
  FROM generate_series(1, 300000) g;
INSERT INTO audit_log SELECT now(), 'app', 'event ' || g FROM generate_series(1, 1000) g;
ANALYZE;

-- The application: a customer's recent orders, the latest paid orders, and
-- a customer's total by country, sent as separate statements (\gexec runs
-- each generated statement as the application would).
SELECT format($q$SELECT count(*) FROM "Order Items" WHERE customer_id = %s AND created_at > now() - interval '30 days'$q$, g * 7)
  FROM generate_series(1, 60) g \gexec
SELECT format($q$SELECT id FROM "Order Items" WHERE status = %L ORDER BY created_at DESC LIMIT 20$q$,
              (ARRAY['new', 'paid', 'shipped'])[1 + g % 3])
  FROM generate_series(1, 60) g \gexec
SELECT format($q$SELECT c.country, sum(o.amount) FROM "Order Items" o JOIN customers c ON c.id = o.customer_id WHERE c.id = %s GROUP BY c.country$q$, g)
  FROM generate_series(1, 60) g \gexec
