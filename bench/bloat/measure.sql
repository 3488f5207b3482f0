-- One result row per relation: pgstattuple / pgstatindex (truth), the tier 1
-- estimate and the tier 2 default measurement, with their errors in points,
-- the share of pages read and the time of each.  Used by bench/bloat/run.sh.
CREATE EXTENSION IF NOT EXISTS pgstattuple;
CREATE EXTENSION IF NOT EXISTS pg_architect;

CREATE OR REPLACE FUNCTION pg_temp.bench(state text, r regclass)
RETURNS TABLE (state_ text, relation_ text, pages bigint, truth numeric, tier1 numeric,
               tier1_err numeric, confidence numeric, tier2 numeric, tier2_err numeric,
               bound numeric, method text, read_pct numeric, truth_ms numeric, tier2_ms numeric)
LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  tr double precision;
  ms_truth double precision;
  ms_t2 double precision;
  m architect.bloat_measurement;
  e record;
  is_index boolean := (SELECT relkind = 'i' FROM pg_class WHERE oid = r);
  ff int;
BEGIN
  t0 := clock_timestamp();
  IF is_index THEN
    ff := coalesce((SELECT split_part(o, '=', 2)::int FROM pg_class c, unnest(c.reloptions) o
                     WHERE c.oid = r AND o LIKE 'fillfactor=%'), 90);
    SELECT 100 * (1 - avg_leaf_density / ff) INTO tr FROM pgstatindex(r);
  ELSE
    SELECT dead_tuple_percent + free_percent INTO tr FROM pgstattuple(r);
  END IF;
  ms_truth := 1000 * extract(epoch FROM clock_timestamp() - t0);
  t0 := clock_timestamp();
  m := architect.measure_bloat(r);
  ms_t2 := 1000 * extract(epoch FROM clock_timestamp() - t0);
  SELECT * INTO e FROM architect.estimate_bloat(r);
  RETURN QUERY SELECT state, r::text, m.relation_pages, round(tr::numeric, 1),
    round(e.bloat_pct::numeric, 1), round((e.bloat_pct - tr)::numeric, 1), round(e.confidence::numeric, 2),
    round(m.bloat_pct::numeric, 1), round((m.bloat_pct - tr)::numeric, 1), round(m.error_bound_pct::numeric, 1),
    m.method, round(100.0 * m.pages_read / greatest(m.relation_pages, 1), 1),
    round(ms_truth::numeric, 1), round(ms_t2::numeric, 1);
END $$;

CREATE TEMP TABLE bench_rels AS
  SELECT unnest(ARRAY['narrow_del10', 'narrow_del10_pkey', 'narrow_del40', 'narrow_del40_pkey',
                      'narrow_del70', 'narrow_del70_pkey', 'narrow_range40', 'narrow_range40_pkey',
                      'updated', 'updated_pkey', 'updated_label', 'wide_toast', 'wide_toast_pkey',
                      'stale', 'stale_pkey']::regclass[]) AS r
  UNION ALL SELECT reltoastrelid::regclass FROM pg_class WHERE relname = 'wide_toast';

\pset footer off
SELECT (pg_temp.bench(:'state', r)).* FROM bench_rels;
