-- Index advisor: privileges, GUCs, partial indexes, advice outcomes.
BEGIN;
SET client_min_messages = warning;
SELECT plan(36);

CREATE TABLE adv_t (id int PRIMARY KEY, kind int NOT NULL, flagged boolean NOT NULL,
                    created_at timestamptz NOT NULL, payload text);
INSERT INTO adv_t SELECT i, i % 3000, i % 200 = 0, timestamptz '2024-01-01' + i * interval '1 second', 'p' || i
  FROM generate_series(1, 20000) i;
CREATE TABLE adv_secret (id int, v int);
INSERT INTO adv_secret SELECT i, i FROM generate_series(1, 5000) i;
ANALYZE adv_t, adv_secret;

CREATE ROLE pga_adv_plain LOGIN;
CREATE ROLE pga_adv_monitor LOGIN IN ROLE pg_monitor;
GRANT SELECT ON adv_t TO pga_adv_plain;

-- privileges: planning needs the privileges the statement needs
SET ROLE pga_adv_plain;
SELECT lives_ok($$SELECT * FROM architect.whatif('SELECT * FROM adv_t WHERE kind = 1', ARRAY['CREATE INDEX ON adv_t (kind)'])$$,
                'a plain role plans what-if on a table it may read');
SELECT throws_ok($$SELECT * FROM architect.whatif('SELECT * FROM adv_secret WHERE v = 1', '{}')$$,
                 '42501', NULL, 'but not on a table it may not read');
SELECT throws_ok($$SELECT * FROM architect.whatif('SELECT 1', ARRAY['CREATE INDEX ON adv_secret (v)'])$$,
                 '42501', NULL, 'nor define a hypothetical index on it');
SELECT throws_ok($$SELECT * FROM architect.advise_query('SELECT * FROM adv_secret WHERE v = 1')$$,
                 '42501', NULL, 'nor get advice for it');
SELECT throws_ok($$SELECT * FROM architect.index_advice$$, '42501', NULL,
                 'index_advice is for pg_monitor');
SELECT throws_ok($$SELECT architect.record_advice(ARRAY['SELECT 1'])$$, '42501', NULL,
                 'record_advice is not for PUBLIC');
RESET ROLE;
SET ROLE pga_adv_monitor;
SELECT lives_ok($$SELECT * FROM architect.index_advice$$, 'a pg_monitor member reads index_advice');
SELECT lives_ok($$SELECT * FROM architect.advice_outcomes$$, 'and advice_outcomes');
RESET ROLE;

-- GUCs
SELECT throws_ok($$SET pg_architect.advisor_max_indexes_per_table = 33$$, '22023', NULL,
                 'advisor_max_indexes_per_table is bounded');
SELECT throws_ok($$SET pg_architect.advisor_storage_budget = -1$$, '22023', NULL,
                 'advisor_storage_budget is not negative');
SELECT throws_ok($$SET pg_architect.advisor_min_benefit_pct = 101$$, '22023', NULL,
                 'advisor_min_benefit_pct is a percentage');
SELECT is(current_setting('pg_architect.advisor_storage_budget'), '0', 'no storage budget by default');

-- a rare constant on a boolean column: a partial index, never a plain boolean index
SELECT is((SELECT ddl ~ 'WHERE flagged' FROM architect.advise_query(
             'SELECT * FROM adv_t WHERE flagged ORDER BY created_at DESC LIMIT 20')),
          true, 'a rare boolean constant used by every execution gets a partial index');
SELECT is((SELECT count(*) FROM architect.advise_query('SELECT * FROM adv_t WHERE NOT flagged')),
          0::bigint, 'the common value gets nothing');

-- the advised index really makes the planner choose it
SELECT is((SELECT indexes_used <> '{}' FROM architect.whatif(
             'SELECT * FROM adv_t WHERE kind = $1 AND created_at > $2',
             ARRAY[(SELECT replace(ddl, ' CONCURRENTLY', '') FROM architect.advise_query(
                      'SELECT * FROM adv_t WHERE kind = $1 AND created_at > $2'))])),
          true, 'the advised DDL, fed back to whatif, is used by the planner');

-- advice log and outcomes
SELECT is((SELECT count(*) FROM architect.record_advice(ARRAY['SELECT * FROM adv_t WHERE kind = 7'],
                                                        NULL, ARRAY[4242]::bigint[])),
          1::bigint, 'record_advice files the advice');
SELECT is((SELECT verdict FROM architect.advice_outcomes WHERE relation = 'adv_t'::regclass),
          'not built', 'an index not built yet is reported as such');
CREATE INDEX adv_t_kind ON adv_t (kind);
SELECT is((SELECT verdict FROM architect.advice_outcomes WHERE relation = 'adv_t'::regclass),
          'unused', 'built but never scanned: unused');
SELECT is((SELECT index FROM architect.advice_outcomes WHERE relation = 'adv_t'::regclass),
          'adv_t_kind'::regclass, 'the built index is found by its leading columns');
SELECT is((SELECT improved_queryids FROM architect.advice_log WHERE relation = 'adv_t'::regclass),
          ARRAY[4242]::bigint[], 'the log keeps the statements the advice should improve');

-- write_stats: pg_stat_user_tables counters charge a table the workload does not write
CREATE TABLE adv_w (id int, k int);
INSERT INTO adv_w SELECT i, i % 5000 FROM generate_series(1, 20000) i;
ANALYZE adv_w;
SELECT is((SELECT count(*) FROM architect.advise_workload(ARRAY['SELECT * FROM adv_w WHERE k = 3'])),
          1::bigint, 'a read-only workload gets the index by default');
SELECT is((SELECT count(*) FROM architect.advise_workload(ARRAY['SELECT * FROM adv_w WHERE k = 3'],
                                                          write_stats => true)),
          0::bigint, 'with write_stats, 20000 inserts and no scan make it not pay');

-- HOT: an index on a column the workload updates loses HOT updates; the HOT
-- ratio comes from this table's real counters
CREATE TABLE adv_hot (id int PRIMARY KEY, score int NOT NULL, note text) WITH (fillfactor = 50);
INSERT INTO adv_hot SELECT i, i, 'n' FROM generate_series(1, 5000) i;
ANALYZE adv_hot;
UPDATE adv_hot SET score = score + 1 WHERE id <= 2000;
SELECT cmp_ok((SELECT n_tup_hot_upd::float8 / n_tup_upd FROM pg_stat_xact_user_tables WHERE relid = 'adv_hot'::regclass),
              '>', 0.9::float8, 'the updates were HOT');
SELECT ok((SELECT write_overhead > 0 AND reason ~ 'HOT ratio (0\.9|1\.00)'
             FROM architect.advise_workload(
                    ARRAY['SELECT * FROM adv_hot WHERE score = $1', 'UPDATE adv_hot SET score = score + 1 WHERE id = $1'],
                    ARRAY[100, 1]::float8[])
            WHERE relation = 'adv_hot'::regclass),
          'an index on the updated column pays for the HOT updates it breaks, and says so');

-- size model against real indexes: within 25 % (hash and brin within 40 %)
CREATE TABLE adv_sz (id int, k int, t text, ts timestamptz, n numeric);
INSERT INTO adv_sz SELECT i, i % 500, md5(i::text), timestamptz '2024-01-01' + i * interval '1 s', i / 7.0
  FROM generate_series(1, 25000) i;
ANALYZE adv_sz;
CREATE FUNCTION pg_temp.size_ratio(ddl text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE est bigint; real bigint;
BEGIN
  SELECT est_size_bytes INTO est FROM architect.hypothetical_index(ddl);
  EXECUTE replace(ddl, 'CREATE INDEX ON', 'CREATE INDEX adv_sz_real ON');
  real := pg_relation_size('adv_sz_real');
  EXECUTE 'DROP INDEX adv_sz_real';
  RETURN est::float8 / real;
END $$;
SELECT cmp_ok(abs(ln(pg_temp.size_ratio(d))), '<', ln(1.25)::float8, 'size estimate of ' || d)
  FROM unnest(ARRAY['CREATE INDEX ON adv_sz (id)',
                    'CREATE INDEX ON adv_sz (k)',
                    'CREATE INDEX ON adv_sz (t)',
                    'CREATE INDEX ON adv_sz (k, ts DESC)',
                    'CREATE INDEX ON adv_sz (k) INCLUDE (t)',
                    'CREATE INDEX ON adv_sz (id) WHERE k < 50',
                    'CREATE INDEX ON adv_sz (id) WITH (fillfactor = 50)']) d;
SELECT cmp_ok(abs(ln(pg_temp.size_ratio(d))), '<', ln(1.4)::float8, 'size estimate of ' || d)
  FROM unnest(ARRAY['CREATE INDEX ON adv_sz USING hash (t)',
                    'CREATE INDEX ON adv_sz USING brin (ts)']) d;

-- an expression index is recognised by its definition, under any name
SELECT is((SELECT count(*) FROM architect.record_advice(ARRAY['SELECT * FROM adv_t WHERE lower(payload) = $1'])),
          1::bigint, 'expression advice filed');
CREATE INDEX adv_t_lower_payload ON adv_t (lower(payload));
SELECT is((SELECT index FROM architect.advice_outcomes WHERE columns = ARRAY['lower(payload)']),
          'adv_t_lower_payload'::regclass, 'the built expression index is found by its definition');

-- without given query ids, the core query id is computed (same for every constant)
SELECT is((SELECT count(DISTINCT q) FROM architect.advise_workload(
             ARRAY['SELECT * FROM adv_t WHERE kind = 1 AND created_at > now()',
                   'SELECT * FROM adv_t WHERE kind = 2 AND created_at > now()']) a,
             unnest(a.improved_queryids) q WHERE q <> 0),
          1::bigint, 'statements differing only in constants share one computed query id');

SELECT * FROM finish();
ROLLBACK;
