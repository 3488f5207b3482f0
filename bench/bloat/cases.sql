-- Built tables for the bloat accuracy benchmark (bench/bloat/run.sh).
-- Autovacuum is off so each case stays in the state it was built in.
-- pg_stat_force_next_flush() before each ANALYZE: a backend's own activity
-- counters are flushed at most once a second, and counters flushed after an
-- ANALYZE (which sets n_live_tup outright) would be counted twice; in real
-- life ANALYZE runs in autovacuum or in another session.
SELECT setseed(0.42);

-- narrow rows (two int4), uniform random deletes of 10 / 40 / 70 %
CREATE TABLE narrow_del10 (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = off);
INSERT INTO narrow_del10 SELECT g, g FROM generate_series(1, 1000000) g;
CREATE TABLE narrow_del40 (LIKE narrow_del10 INCLUDING ALL) WITH (autovacuum_enabled = off);
INSERT INTO narrow_del40 SELECT * FROM narrow_del10;
CREATE TABLE narrow_del70 (LIKE narrow_del10 INCLUDING ALL) WITH (autovacuum_enabled = off);
INSERT INTO narrow_del70 SELECT * FROM narrow_del10;
SELECT pg_stat_force_next_flush();
ANALYZE narrow_del10, narrow_del40, narrow_del70;
DELETE FROM narrow_del10 WHERE random() < 0.10;
DELETE FROM narrow_del40 WHERE random() < 0.40;
DELETE FROM narrow_del70 WHERE random() < 0.70;

-- the same 40 % delete, but of one contiguous key range (worst case for sampling)
CREATE TABLE narrow_range40 (LIKE narrow_del10 INCLUDING ALL) WITH (autovacuum_enabled = off);
INSERT INTO narrow_range40 SELECT * FROM narrow_del10 ORDER BY id;
SELECT pg_stat_force_next_flush();
ANALYZE narrow_range40;
DELETE FROM narrow_range40 WHERE id BETWEEN 300000 AND 700000;

-- medium rows with text, updated twice on half the rows (non-HOT: full pages)
CREATE TABLE updated (id int PRIMARY KEY, n int, label text, at timestamptz)
  WITH (autovacuum_enabled = off);
INSERT INTO updated SELECT g, 0, md5(g::text) || md5((g * 7)::text), now()
  FROM generate_series(1, 300000) g;
CREATE INDEX updated_label ON updated (label);
SELECT pg_stat_force_next_flush();
ANALYZE updated;
UPDATE updated SET n = n + 1 WHERE random() < 0.5;
UPDATE updated SET n = n + 1, at = now() WHERE random() < 0.5;

-- wide rows whose text is TOASTed (incompressible ~3 kB), 40 % deleted
CREATE TABLE wide_toast (id int PRIMARY KEY, doc text) WITH (autovacuum_enabled = off);
INSERT INTO wide_toast
  SELECT g, (SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 94) i)
    FROM generate_series(1, 10000) g;
SELECT pg_stat_force_next_flush();
ANALYZE wide_toast;
DELETE FROM wide_toast WHERE random() < 0.40;

-- stale statistics: analysed with 20-byte labels, then every label grows to
-- 200 bytes and 30 % of rows are deleted; VACUUM without ANALYZE
CREATE TABLE stale (id int PRIMARY KEY, label text) WITH (autovacuum_enabled = off);
INSERT INTO stale SELECT g, left(md5(g::text), 20) FROM generate_series(1, 200000) g;
SELECT pg_stat_force_next_flush();
ANALYZE stale;
UPDATE stale SET label = repeat(md5(id::text), 6) || left(md5(id::text), 8);
DELETE FROM stale WHERE random() < 0.30;
