-- pg_architect 0.1 -> 0.2: the hand-written prelude of the upgrade script.
--
-- make assembles sql/pg_architect--0.1--0.2.sql from this file followed by
-- every sql/parts/*.sql, the same parts a fresh install runs.  So the
-- upgrade is: (1) migrate the tables that hold data (renames and other
-- changes CREATE TABLE IF NOT EXISTS / ADD COLUMN IF NOT EXISTS in the parts
-- cannot express), (2) drop every extension member that holds no data
-- (functions, views, types...), (3) re-create them all from the parts, whose
-- tables are CREATE TABLE IF NOT EXISTS and therefore kept with their rows.
--
-- What keeps its data across the upgrade: the tables advice_log (and its
-- sequence), snapshots, snapshot_statements, snapshot_plans,
-- snapshot_findings.  The captured statistics, plans, scans and the DDL log
-- are not in tables: they live in shared memory (and in the save file the
-- library writes at a clean shutdown), owned by the library, untouched by
-- ALTER EXTENSION.

-- (1) Table migrations from 0.1.  None are needed for 0.2: no table of 0.1
-- was renamed or had a column renamed or retyped.  A future rename goes
-- here, guarded so that it only runs when the old name exists.

-- (2) Drop every member that holds no data.  No CASCADE: an object of the
-- user's that depends on one of ours (a view over architect.statements, say)
-- must stop the upgrade with a clear message, not vanish silently.  Members
-- depend on each other (views on functions, functions on types), so drop
-- what can be dropped and repeat until nothing is left.
DO $pga_upgrade$
DECLARE
    ext oid := (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'pg_architect');
    m record;
    left_over int;
    progress boolean;
    blocker text;
BEGIN
    LOOP
        progress := false;
        left_over := 0;
        FOR m IN
            SELECT d.classid, d.objid,
                   pg_catalog.pg_describe_object(d.classid, d.objid, 0) AS what,
                   CASE d.classid
                     WHEN 'pg_catalog.pg_proc'::regclass THEN
                       CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END
                       || ' ' || d.objid::regprocedure::text
                     WHEN 'pg_catalog.pg_class'::regclass THEN
                       CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' END
                       || ' ' || d.objid::regclass::text
                     WHEN 'pg_catalog.pg_type'::regclass THEN
                       CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END || ' ' || d.objid::regtype::text
                     WHEN 'pg_catalog.pg_operator'::regclass THEN 'OPERATOR ' || d.objid::regoperator::text
                     WHEN 'pg_catalog.pg_event_trigger'::regclass THEN
                       'EVENT TRIGGER ' || pg_catalog.quote_ident(e.evtname)
                   END AS drop_what
              FROM pg_catalog.pg_depend d
              LEFT JOIN pg_catalog.pg_proc p ON d.classid = 'pg_catalog.pg_proc'::regclass AND p.oid = d.objid
              LEFT JOIN pg_catalog.pg_class c ON d.classid = 'pg_catalog.pg_class'::regclass AND c.oid = d.objid
              LEFT JOIN pg_catalog.pg_type t ON d.classid = 'pg_catalog.pg_type'::regclass AND t.oid = d.objid
              LEFT JOIN pg_catalog.pg_event_trigger e
                     ON d.classid = 'pg_catalog.pg_event_trigger'::regclass AND e.oid = d.objid
             WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = ext AND d.deptype = 'e'
               -- tables, partitioned tables, sequences, indexes and the schema keep their data
               AND NOT (d.classid = 'pg_catalog.pg_class'::regclass AND c.relkind NOT IN ('v', 'm'))
               AND d.classid <> 'pg_catalog.pg_namespace'::regclass
        LOOP
            IF m.drop_what IS NULL THEN
                RAISE EXCEPTION 'pg_architect upgrade: do not know how to drop extension member %', m.what
                    USING ERRCODE = 'feature_not_supported',
                          HINT = 'Add this kind of object to the prelude sql/upgrade/0.1--0.2.sql.';
            END IF;
            BEGIN
                -- allowed without ALTER EXTENSION ... DROP: we are the
                -- extension's own script
                EXECUTE 'DROP ' || m.drop_what;
                progress := true;
            EXCEPTION WHEN dependent_objects_still_exist THEN
                left_over := left_over + 1;
                blocker := m.what;
            END;
        END LOOP;
        EXIT WHEN left_over = 0;
        IF NOT progress THEN
            RAISE EXCEPTION 'pg_architect upgrade: % cannot be replaced because other objects depend on it', blocker
                USING ERRCODE = 'dependent_objects_still_exist',
                      HINT = 'Drop the objects of yours that use pg_architect''s views or functions (see DROP ... RESTRICT''s detail), update, then re-create them.';
        END IF;
    END LOOP;
END
$pga_upgrade$;

-- (3) Every part follows, as in a fresh install.
