-- Schema audit: what a senior DBA flags in the catalog, without the noise.
--
-- architect.schema_findings, one row per finding:
--   no_primary_key          a table (not a partition) without a primary key
--   fk_without_index        a foreign key whose columns lead no valid index of
--                           the referencing table (low when the child is tiny)
--   sequence_near_overflow  an int2/int4 sequence, or a sequence feeding an
--                           int2/int4 column (identity, serial, DEFAULT nextval),
--                           at >= 50 % of what it (or the column) can hold
--   int4_primary_key_big    a single-column int2/int4 primary key on a table
--                           already holding >= 10 % of its range in rows
--   never_analyzed          a non-empty table with no ANALYZE ever
--   autovacuum_disabled     autovacuum_enabled = false on a table
--   fk_not_validated        a NOT VALID foreign key never validated
--   fk_type_mismatch        referencing and referenced columns of different
--                           types (medium when an int2/int4 references int8)
--   unlogged_table          an unlogged table (lost on crash, not replicated)
--   many_indexes            a table with more than 10 indexes
--   xid_age_table           relfrozenxid age beyond autovacuum_freeze_max_age
--   xid_age_database        datfrozenxid age beyond autovacuum_freeze_max_age
--                           (any database of the cluster; pg_read_all_stats)
-- Each row: check_name, severity, effort, object_type, object (qualified, quoted),
-- relation, evidence, recommendation, ddl, rollback_ddl (NULL when there is
-- nothing to roll back, e.g. ANALYZE).
--
-- Privileges: a row about a relation is shown only to a role holding some
-- privilege on it (architect._can_see); sequence last values are read only
-- when the role may (has_sequence_privilege, as pg_sequences does);
-- database-wide rows only to members of pg_read_all_stats.

CREATE FUNCTION architect._xid_severity(xid_age bigint)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN xid_age >= 1500000000 THEN 'critical'
              WHEN xid_age >= 1000000000 THEN 'high'
              WHEN xid_age >= 2 * current_setting('autovacuum_freeze_max_age')::bigint THEN 'high'
              ELSE 'medium' END
$$;

CREATE VIEW architect.schema_findings AS
WITH rel AS (
  SELECT c.oid, c.relname, n.nspname, c.relkind, c.relpersistence, c.reltuples,
         c.relispartition, c.relfrozenxid, c.reloptions,
         format('%I.%I', n.nspname, c.relname) AS qname
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'm', 'S')
     AND c.relpersistence <> 't'
     AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'architect')
     AND n.nspname !~ '^pg_(toast_)?temp_'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                        AND d.deptype = 'e')
     AND architect._can_see(c.oid, c.relkind)
),
-- ---- no primary key -------------------------------------------------------
no_pk AS (
  SELECT 'no_primary_key'::text AS check_name,
         CASE WHEN r.reltuples >= 1000 THEN 'medium' ELSE 'low' END AS severity,
         'medium'::text AS effort, 'table'::text AS object_type, r.qname AS object, r.oid AS relation,
         format('table %s has no primary key (%s)%s', r.qname,
                CASE WHEN r.reltuples < 0 THEN 'row count unknown: never analyzed'
                     ELSE format('about %s rows', r.reltuples::bigint) END,
                CASE WHEN u.indexrelid IS NOT NULL
                     THEN format('; unique index %I on NOT NULL columns could become it', u.relname)
                     ELSE '' END) AS evidence,
         'Give every table a primary key: rows become addressable, logical replication can ship UPDATE and DELETE, and tools can deduplicate.'::text AS recommendation,
         CASE WHEN u.indexrelid IS NOT NULL
              THEN format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY USING INDEX %I', r.qname, u.relname, u.relname)
              WHEN NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attname = 'id')
              THEN format('ALTER TABLE %s ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY', r.qname)
         END AS ddl,
         CASE WHEN u.indexrelid IS NOT NULL
              THEN format('ALTER TABLE %s DROP CONSTRAINT %I; %s', r.qname, u.relname,
                          architect._concurrent_indexdef(u.indexrelid))
              WHEN NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attname = 'id')
              THEN format('ALTER TABLE %s DROP COLUMN id', r.qname)
         END AS rollback_ddl,
         greatest(r.reltuples, 0)::numeric AS impact
    FROM rel r
    LEFT JOIN LATERAL (
      SELECT i.indexrelid, ic.relname
        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
       WHERE i.indrelid = r.oid AND i.indisunique AND i.indisvalid
         AND i.indpred IS NULL AND i.indexprs IS NULL
         AND i.indnatts = i.indnkeyatts
         AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
         AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                          WHERE a.attrelid = r.oid
                            AND a.attnum = ANY (string_to_array(i.indkey::text, ' ')::int2[])
                            AND NOT a.attnotnull)
       ORDER BY i.indnkeyatts, i.indexrelid
       LIMIT 1) u ON true
   WHERE r.relkind IN ('r', 'p') AND NOT r.relispartition
     AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = r.oid AND k.contype = 'p')
),
-- ---- foreign keys without an index on their leading columns ---------------
fk AS (
  SELECT k.oid AS conoid, k.conname, k.conrelid, k.confrelid, k.conkey, k.convalidated,
         r.qname, r.relname, r.reltuples, r.relkind
    FROM pg_constraint k
    JOIN rel r ON r.oid = k.conrelid
   WHERE k.contype = 'f' AND k.conparentid = 0
),
fk_noidx AS (
  SELECT 'fk_without_index'::text,
         CASE WHEN f.reltuples >= 10000 THEN 'high'
              WHEN f.reltuples >= 1000 THEN 'medium' ELSE 'low' END,
         'low'::text, 'foreign key'::text,
         format('%s.%I', f.qname, f.conname), f.conrelid,
         format('foreign key %I on %s (%s) references %s, but no index of %s leads with %s: every DELETE or key UPDATE on %s scans %s (%s)',
                f.conname, f.qname, cols.list, f.confrelid::regclass, f.qname, cols.list,
                f.confrelid::regclass, f.qname,
                CASE WHEN f.reltuples < 0 THEN 'row count unknown: never analyzed'
                     ELSE format('about %s rows', f.reltuples::bigint) END),
         'Index the referencing columns so that deletes and key updates on the referenced table, and joins, do not scan the child.',
         format('CREATE INDEX CONCURRENTLY %I ON %s (%s)', cols.idxname, f.qname, cols.list),
         format('DROP INDEX CONCURRENTLY %I.%I', (SELECT nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid WHERE c.oid = f.conrelid),
                cols.idxname),
         greatest(f.reltuples, 0)::numeric
    FROM fk f
    CROSS JOIN LATERAL (
      SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY u.ord) AS list,
             left(f.relname || '_' || string_agg(a.attname, '_' ORDER BY u.ord), 59) || '_idx' AS idxname
        FROM unnest(f.conkey) WITH ORDINALITY u(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = u.attnum) cols
   WHERE f.relkind = 'r'
     AND NOT EXISTS (
       SELECT 1 FROM pg_index i
        WHERE i.indrelid = f.conrelid AND i.indisvalid AND i.indpred IS NULL
          AND i.indnkeyatts >= cardinality(f.conkey)
          AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(f.conkey)] @> f.conkey
          AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(f.conkey)] <@ f.conkey)
),
fk_types AS (
  SELECT 'fk_type_mismatch'::text,
         CASE WHEN bool_or(ca.atttypid IN ('int2'::regtype, 'int4'::regtype) AND pa.atttypid = 'int8'::regtype)
              THEN 'medium' ELSE 'low' END,
         'high'::text, 'foreign key'::text,
         format('%s.%I', f.qname, f.conname), f.conrelid,
         format('foreign key %I on %s: %s', f.conname, f.qname,
                string_agg(format('%I is %s but references %s.%I of type %s', ca.attname,
                                  format_type(ca.atttypid, ca.atttypmod), f.confrelid::regclass, pa.attname,
                                  format_type(pa.atttypid, pa.atttypmod)), '; ' ORDER BY u.ord)),
         'Give the referencing columns the referenced type: joins compare without casts, and a narrower column cannot overflow before its parent does. The type change rewrites the table.',
         format('ALTER TABLE %s %s', f.qname,
                string_agg(format('ALTER COLUMN %I TYPE %s', ca.attname, format_type(pa.atttypid, pa.atttypmod)), ', ' ORDER BY u.ord)),
         format('ALTER TABLE %s %s', f.qname,
                string_agg(format('ALTER COLUMN %I TYPE %s', ca.attname, format_type(ca.atttypid, ca.atttypmod)), ', ' ORDER BY u.ord)),
         greatest(f.reltuples, 0)::numeric
    FROM fk f
    JOIN pg_constraint k ON k.oid = f.conoid
    CROSS JOIN LATERAL unnest(k.conkey, k.confkey) WITH ORDINALITY u(ckey, pkey, ord)
    JOIN pg_attribute ca ON ca.attrelid = f.conrelid AND ca.attnum = u.ckey
    JOIN pg_attribute pa ON pa.attrelid = f.confrelid AND pa.attnum = u.pkey
   WHERE ca.atttypid <> pa.atttypid
     AND f.relkind = 'r'
   GROUP BY f.qname, f.conname, f.conrelid, f.reltuples
),
fk_notvalid AS (
  SELECT 'fk_not_validated'::text, 'low'::text, 'low'::text, 'foreign key'::text,
         format('%s.%I', f.qname, f.conname), f.conrelid,
         format('foreign key %I on %s was added NOT VALID and never validated: existing rows are unchecked',
                f.conname, f.qname),
         'Validate it; VALIDATE CONSTRAINT takes only a SHARE UPDATE EXCLUSIVE lock.',
         format('ALTER TABLE %s VALIDATE CONSTRAINT %I', f.qname, f.conname),
         NULL::text,
         0::numeric
    FROM fk f
   WHERE NOT f.convalidated
),
-- ---- sequences near overflow -----------------------------------------------
seq AS (
  SELECT r.oid, r.qname, s.seqtypid, s.seqmin, s.seqmax, s.seqincrement, s.seqcycle,
         CASE WHEN has_sequence_privilege(r.oid, 'SELECT, USAGE')
              THEN pg_sequence_last_value(r.oid::regclass) END AS last_value,
         col.attrelid, col.attname, col.atttypid, col.qtable
    FROM rel r
    JOIN pg_sequence s ON s.seqrelid = r.oid
    LEFT JOIN LATERAL (
      -- the column the sequence feeds: identity / serial (pg_depend), else a DEFAULT nextval()
      SELECT a.attrelid, a.attname, a.atttypid,
             format('%I.%I', tn.nspname, tc.relname) AS qtable
        FROM pg_depend d
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        JOIN pg_class tc ON tc.oid = a.attrelid
        JOIN pg_namespace tn ON tn.oid = tc.relnamespace
       WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid
         AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
         AND d.refobjsubid > 0
      UNION ALL
      SELECT a.attrelid, a.attname, a.atttypid,
             format('%I.%I', tn.nspname, tc.relname)
        FROM pg_depend d
        JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid
        JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
        JOIN pg_class tc ON tc.oid = a.attrelid
        JOIN pg_namespace tn ON tn.oid = tc.relnamespace
       WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = r.oid AND d.deptype = 'n'
      LIMIT 1) col ON true
   WHERE r.relkind = 'S'
),
seq_cap AS (
  SELECT seq.*,
         least(seq.seqmax,
               CASE seq.atttypid WHEN 'int2'::regtype THEN 32767
                                 WHEN 'int4'::regtype THEN 2147483647
                                 ELSE seq.seqmax END) AS cap_max,
         greatest(seq.seqmin,
               CASE seq.atttypid WHEN 'int2'::regtype THEN -32768
                                 WHEN 'int4'::regtype THEN -2147483648
                                 ELSE seq.seqmin END) AS cap_min
    FROM seq
   WHERE NOT seq.seqcycle AND seq.last_value IS NOT NULL
),
seq_pct AS (
  SELECT seq_cap.*,
         round(100.0 * CASE WHEN seqincrement > 0
                            THEN (last_value::numeric - seqmin) / nullif(cap_max::numeric - seqmin, 0)
                            ELSE (seqmax::numeric - last_value) / nullif(seqmax::numeric - cap_min, 0) END, 2) AS pct_used
    FROM seq_cap
   WHERE (seqincrement > 0 AND cap_max <= 2147483647)
      OR (seqincrement < 0 AND cap_min >= -2147483648)
),
seq_find AS (
  SELECT 'sequence_near_overflow'::text,
         CASE WHEN pct_used >= 90 THEN 'critical' WHEN pct_used >= 75 THEN 'high' ELSE 'medium' END,
         'high'::text, 'sequence'::text, p.qname, p.oid,
         format('sequence %s is at %s (%s %% of %s)%s', p.qname, p.last_value, p.pct_used,
                CASE WHEN p.seqincrement > 0 THEN p.cap_max ELSE p.cap_min END,
                CASE WHEN p.attname IS NOT NULL
                     THEN format(', feeding %s.%I of type %s', p.qtable, p.attname, format_type(p.atttypid, NULL))
                     ELSE format(', of type %s', format_type(p.seqtypid, NULL)) END),
         'Widen to bigint before it runs out: nextval() fails and inserts stop when the sequence or the column overflows. Altering the column type rewrites the table under an ACCESS EXCLUSIVE lock; plan a window or a new column backfilled in batches.',
         CASE WHEN p.attname IS NOT NULL AND p.atttypid IN ('int2'::regtype, 'int4'::regtype)
              THEN format('ALTER TABLE %s ALTER COLUMN %I TYPE bigint; ALTER SEQUENCE %s AS bigint',
                          p.qtable, p.attname, p.qname)
              ELSE format('ALTER SEQUENCE %s AS bigint', p.qname) END,
         CASE WHEN p.attname IS NOT NULL AND p.atttypid IN ('int2'::regtype, 'int4'::regtype)
              THEN format('ALTER SEQUENCE %s AS %s; ALTER TABLE %s ALTER COLUMN %I TYPE %s',
                          p.qname, format_type(p.seqtypid, NULL), p.qtable, p.attname, format_type(p.atttypid, NULL))
              ELSE format('ALTER SEQUENCE %s AS %s', p.qname, format_type(p.seqtypid, NULL)) END,
         p.pct_used
    FROM seq_pct p
   WHERE p.pct_used >= 50
),
-- ---- int4 primary key on a big table -----------------------------------------
int4_pk AS (
  SELECT 'int4_primary_key_big'::text, 'medium'::text, 'high'::text, 'table'::text, r.qname, r.oid,
         format('primary key %s.%I is %s and the table already holds about %s rows (%s %% of its positive range)',
                r.qname, a.attname, format_type(a.atttypid, NULL), r.reltuples::bigint,
                round(100.0 * r.reltuples::numeric / CASE a.atttypid WHEN 'int2'::regtype THEN 32767 ELSE 2147483647 END, 1)),
         'Plan the move to bigint while the table is still manageable.',
         format('ALTER TABLE %s ALTER COLUMN %I TYPE bigint', r.qname, a.attname),
         format('ALTER TABLE %s ALTER COLUMN %I TYPE %s', r.qname, a.attname, format_type(a.atttypid, NULL)),
         r.reltuples::numeric
    FROM rel r
    JOIN pg_constraint k ON k.conrelid = r.oid AND k.contype = 'p' AND cardinality(k.conkey) = 1
    JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.conkey[1]
   WHERE a.atttypid IN ('int2'::regtype, 'int4'::regtype)
     AND r.reltuples >= 0.1 * CASE a.atttypid WHEN 'int2'::regtype THEN 32767 ELSE 2147483647 END
),
-- ---- maintenance -------------------------------------------------------------
never_analyzed AS (
  SELECT 'never_analyzed'::text,
         CASE WHEN pg_relation_size(r.oid) >= 8 * 1048576 THEN 'medium' ELSE 'low' END,
         'low'::text, 'table'::text, r.qname, r.oid,
         format('table %s (%s) has never been analyzed: the planner guesses its row counts and value distribution',
                r.qname, pg_size_pretty(pg_relation_size(r.oid))),
         'Analyze it (and check why autovacuum did not).',
         format('ANALYZE %s', r.qname), NULL::text,
         pg_relation_size(r.oid)::numeric
    FROM rel r
    JOIN pg_stat_all_tables s ON s.relid = r.oid
   WHERE r.relkind IN ('r', 'm')
     AND s.last_analyze IS NULL AND s.last_autoanalyze IS NULL
     AND r.reltuples < 0
     AND pg_relation_size(r.oid) > 0
),
av_disabled AS (
  SELECT 'autovacuum_disabled'::text, 'medium'::text, 'low'::text, 'table'::text, r.qname, r.oid,
         format('table %s has autovacuum_enabled = false: dead rows accumulate and it is only frozen by emergency anti-wraparound vacuums',
                r.qname),
         'Re-enable autovacuum, tuning its per-table thresholds instead if it was too aggressive.',
         format('ALTER TABLE %s RESET (autovacuum_enabled)', r.qname),
         format('ALTER TABLE %s SET (autovacuum_enabled = false)', r.qname),
         0::numeric
    FROM rel r
   WHERE r.relkind IN ('r', 'm')
     AND 'autovacuum_enabled=false' = ANY (r.reloptions)
),
unlogged AS (
  SELECT 'unlogged_table'::text, 'low'::text, 'medium'::text, 'table'::text, r.qname, r.oid,
         format('table %s is UNLOGGED: it is emptied after a crash and absent on physical replicas', r.qname),
         'Keep it unlogged only if its content can be rebuilt; SET LOGGED rewrites it into the WAL.',
         format('ALTER TABLE %s SET LOGGED', r.qname),
         format('ALTER TABLE %s SET UNLOGGED', r.qname),
         0::numeric
    FROM rel r
   WHERE r.relkind = 'r' AND r.relpersistence = 'u'
),
many_idx AS (
  SELECT 'many_indexes'::text, 'low'::text, 'medium'::text, 'table'::text, r.qname, r.oid,
         format('table %s has %s indexes: each one is updated on every insert and non-HOT update', r.qname, cnt.n),
         'Review them with architect.index_health; drop what is unused or redundant.',
         NULL::text, NULL::text, cnt.n::numeric
    FROM rel r
    CROSS JOIN LATERAL (SELECT count(*) AS n FROM pg_index i WHERE i.indrelid = r.oid) cnt
   WHERE r.relkind IN ('r', 'm') AND cnt.n > 10
),
-- ---- transaction id wraparound ------------------------------------------------
xid_tab AS (
  SELECT 'xid_age_table'::text, architect._xid_severity(age(r.relfrozenxid)::bigint), 'low'::text,
         'table'::text, r.qname, r.oid,
         format('table %s has relfrozenxid age %s (autovacuum_freeze_max_age %s, wraparound at 2147483648)',
                r.qname, age(r.relfrozenxid), current_setting('autovacuum_freeze_max_age')),
         'Freeze it before wraparound forces a shutdown: run VACUUM (FREEZE) and check what holds back the xmin horizon (long transactions, prepared transactions, replication slots).',
         format('VACUUM (FREEZE, VERBOSE) %s', r.qname), NULL::text,
         age(r.relfrozenxid)::numeric
    FROM rel r
   WHERE r.relkind IN ('r', 'm')
     AND age(r.relfrozenxid) > current_setting('autovacuum_freeze_max_age')::bigint
),
xid_db AS (
  SELECT 'xid_age_database'::text, architect._xid_severity(age(d.datfrozenxid)::bigint), 'low'::text,
         'database'::text, quote_ident(d.datname), NULL::oid,
         format('database %I has datfrozenxid age %s (autovacuum_freeze_max_age %s, wraparound at 2147483648)',
                d.datname, age(d.datfrozenxid), current_setting('autovacuum_freeze_max_age')),
         'Vacuum its oldest tables with FREEZE and look for what holds back the xmin horizon.',
         NULL::text, NULL::text,
         age(d.datfrozenxid)::numeric
    FROM pg_database d
   WHERE d.datallowconn
     AND pg_has_role('pg_read_all_stats', 'USAGE')
     AND age(d.datfrozenxid) > current_setting('autovacuum_freeze_max_age')::bigint
),
al AS (
  SELECT * FROM no_pk
  UNION ALL SELECT * FROM fk_noidx
  UNION ALL SELECT * FROM fk_notvalid
  UNION ALL SELECT * FROM fk_types
  UNION ALL SELECT * FROM seq_find
  UNION ALL SELECT * FROM int4_pk
  UNION ALL SELECT * FROM never_analyzed
  UNION ALL SELECT * FROM av_disabled
  UNION ALL SELECT * FROM unlogged
  UNION ALL SELECT * FROM many_idx
  UNION ALL SELECT * FROM xid_tab
  UNION ALL SELECT * FROM xid_db
)
SELECT check_name, severity, effort, object_type, object, relation::regclass AS relation,
       evidence, recommendation, ddl, rollback_ddl, impact
  FROM al;

COMMENT ON VIEW architect.schema_findings IS
  'Schema lint: no primary key, unindexed foreign keys, sequences near overflow, never-analyzed tables, xid age, and more; each with evidence and DDL';

GRANT SELECT ON architect.schema_findings TO PUBLIC;
