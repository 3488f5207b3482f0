-- architect.report(format): the findings register and the workload in one
-- document for a terminal, a wiki, a program, or a mail client.
--
-- One data model, four renderings: the report is built as a jsonb document
-- (the 'json' format, shape documented in the README, section "Findings"), and text,
-- markdown and html are rendered from it.  Sections whose source is not
-- installed are null in json and say so in the other formats.
--
-- The html page is self-contained (inline CSS, inline SVG, no script, no
-- external resource) so it survives being mailed.  Every value is escaped.
-- Runs with the caller's privileges: it shows what architect.findings and
-- the optional sources show the caller.

-- Relations smaller than this are left out of the report's bloat section:
-- what a rewrite of a tiny relation gives back is noise next to the DBA's
-- real tables (1 MB; the bloat findings themselves need 8 MB wasted).
CREATE FUNCTION architect._report_bloat_min_bytes()
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT 1048576::bigint $$;

-- The timestamp format of every report: to the second, with the zone.
CREATE FUNCTION architect._ts(t timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT to_char(t, 'YYYY-MM-DD HH24:MI:SS TZ') $$;

CREATE FUNCTION architect._report_doc()
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    doc jsonb;
    stmts jsonb;
    nstmts bigint;
    bloat jsonb;
    ddl_log jsonb;
    changes jsonb;
    findings jsonb;
    snap record;
BEGIN
    IF to_regclass('architect.statements') IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(x ORDER BY (x->>'total_ms')::float8 DESC NULLS LAST), '[]'),
               max(n)
          INTO stmts, nstmts
          FROM (SELECT jsonb_build_object(
                         'queryid', j->'queryid', 'query', left(j->>'query', 300),
                         'calls', j->'calls', 'rows', j->'rows', 'total_ms', j->'total_ms',
                         'mean_ms', j->'mean_ms', 'p50_ms', j->'p50_ms', 'p95_ms', j->'p95_ms',
                         'p99_ms', j->'p99_ms', 'temp_blks_written', j->'temp_blks_written') AS x,
                       count(*) OVER () AS n
                  FROM architect._optional_source('architect.statements') j
                 -- the application's statements, not the DBA's reading of ours,
                 -- and top-level ones, as pg_stat_statements shows by default:
                 -- nested ones (foreign key checks, function bodies) are
                 -- counted in the statement that ran them
                 WHERE coalesce(j->>'query', '') !~* '\marchitect\.'
                   AND coalesce((j->>'toplevel')::boolean, true)
                 ORDER BY (j->>'total_ms')::float8 DESC NULLS LAST
                 LIMIT 10) s;
    END IF;
    IF to_regclass('architect.bloat') IS NOT NULL THEN
        -- The DBA's own tables and indexes (no catalogs, no TOAST of
        -- catalogs, no extension's relations), at least
        -- _report_bloat_min_bytes big, by bytes a rewrite would give back.
        SELECT coalesce(jsonb_agg(x ORDER BY (x->>'wasted_bytes')::numeric DESC NULLS LAST), '[]')
          INTO bloat
          FROM (SELECT jsonb_build_object(
                         'relation', j->>'relation',
                         'kind', j->>'kind',
                         'size_bytes', j->'size_bytes',
                         'wasted_bytes', coalesce(j->'wasted_bytes', j->'wasted', j->'bloat_bytes'),
                         'bloat_pct', coalesce(j->'bloat_pct', j->'wasted_pct'),
                         'method', j->'method', 'confidence', j->'confidence',
                         'remedy', j->'remedy') AS x
                  FROM architect._optional_source('architect.bloat') j
                 WHERE coalesce(j->>'wasted_bytes', j->>'wasted', j->>'bloat_bytes')::numeric > 0
                   AND coalesce((j->>'size_bytes')::numeric, 0) >= architect._report_bloat_min_bytes()
                   AND architect._own_relation((j->>'relation')::regclass)
                 ORDER BY coalesce(j->>'wasted_bytes', j->>'wasted', j->>'bloat_bytes')::numeric DESC NULLS LAST
                 LIMIT 10) b;
    END IF;
    IF to_regclass('architect.ddl_log') IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(j), '[]') INTO ddl_log
          FROM (SELECT j FROM architect._optional_source('architect.ddl_log') j LIMIT 20) d;
    END IF;

    SELECT coalesce(jsonb_agg(to_jsonb(f) ORDER BY f.rank), '[]') INTO findings
      FROM architect.findings f;

    -- What changed since the last snapshot, for those who may read snapshots.
    IF has_table_privilege('architect.snapshots', 'SELECT')
       AND has_table_privilege('architect.snapshot_findings', 'SELECT')
       AND has_table_privilege('architect.snapshot_statements', 'SELECT') THEN
        SELECT s.label, s.taken_at INTO snap
          FROM architect.snapshots s ORDER BY s.taken_at DESC, s.label LIMIT 1;
        IF FOUND THEN
            SELECT jsonb_build_object(
                     'label', snap.label,
                     'taken_at', architect._ts(snap.taken_at),
                     'new_findings', coalesce((
                        SELECT jsonb_agg(jsonb_build_object('rank', f->'rank', 'finding_id', f->'finding_id',
                                                            'check_name', f->'check_name', 'object', f->'object',
                                                            'severity', f->'severity') ORDER BY (f->>'rank')::int)
                          FROM jsonb_array_elements(findings) f
                         WHERE NOT EXISTS (SELECT 1 FROM architect.snapshot_findings sf
                                            WHERE sf.label = snap.label AND sf.finding_id = f->>'finding_id')), '[]'),
                     'resolved_findings', coalesce((
                        SELECT jsonb_agg(jsonb_build_object('finding_id', sf.finding_id, 'check_name', sf.check_name,
                                                            'object', sf.object, 'severity', sf.severity) ORDER BY sf.rank)
                          FROM architect.snapshot_findings sf
                         WHERE sf.label = snap.label
                           AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(findings) f
                                            WHERE f->>'finding_id' = sf.finding_id)), '[]'),
                     'statements', coalesce((
                        SELECT jsonb_agg(c ORDER BY abs((c->>'p95_change_pct')::numeric) DESC)
                          FROM (SELECT jsonb_build_object(
                                         'queryid', x->'queryid', 'query', x->>'query',
                                         'p95_before_ms', round(ss.p95_ms::numeric, 3),
                                         'p95_now_ms', round((x->>'p95_ms')::numeric, 3),
                                         'p95_change_pct', architect._pct_change(ss.p95_ms, (x->>'p95_ms')::float8)) AS c
                                  FROM jsonb_array_elements(coalesce(stmts, '[]')) x
                                  JOIN architect.snapshot_statements ss
                                    ON ss.label = snap.label AND ss.queryid = (x->>'queryid')::bigint
                                 WHERE abs(architect._pct_change(ss.p95_ms, (x->>'p95_ms')::float8)) >= 10) y), '[]'))
              INTO changes;
        END IF;
    END IF;

    SELECT jsonb_build_object(
             'report', 'pg_architect',
             'extension_version', (SELECT extversion FROM pg_extension WHERE extname = 'pg_architect'),
             'generated_at', architect._ts(now()),
             'database', current_database(),
             'server', coalesce(nullif(current_setting('cluster_name'), ''), host(inet_server_addr()), 'local socket')
                       || ', port ' || current_setting('port'),
             'server_version', current_setting('server_version'),
             'statistics_since', (SELECT architect._ts(w.stats_since) FROM architect._stats_window() w),
             'statistics_window', (SELECT justify_interval(date_trunc('second', now() - w.stats_since))::text
                                     FROM architect._stats_window() w),
             'window_is_lower_bound', (SELECT w.window_is_lower_bound FROM architect._stats_window() w),
             'min_unused_window', justify_interval(architect._min_unused_window())::text,
             'capture_installed', to_regclass('architect.statements') IS NOT NULL,
             'statements_captured', nstmts,
             'summary', (SELECT jsonb_build_object(
                 'findings', count(*),
                 'critical', count(*) FILTER (WHERE f->>'severity' = 'critical'),
                 'high', count(*) FILTER (WHERE f->>'severity' = 'high'),
                 'medium', count(*) FILTER (WHERE f->>'severity' = 'medium'),
                 'low', count(*) FILTER (WHERE f->>'severity' = 'low'),
                 'info', count(*) FILTER (WHERE f->>'severity' = 'info'))
               FROM jsonb_array_elements(findings) f),
             'top_actions', (SELECT coalesce(jsonb_agg(a ORDER BY (a->>'rank')::int), '[]')
                               FROM (SELECT jsonb_build_object('rank', f->'rank', 'finding_id', f->'finding_id',
                                                               'severity', f->'severity', 'check_name', f->'check_name',
                                                               'object', f->'object', 'key_number', f->'key_number') AS a
                                       FROM jsonb_array_elements(findings) f
                                      WHERE f->>'ddl' IS NOT NULL AND f->>'severity' <> 'info'
                                      ORDER BY (f->>'rank')::int
                                      LIMIT 3) t),
             'findings', findings,
             'changes_since_snapshot', changes,
             'top_statements', stmts,
             'bloat', bloat,
             'bloat_min_bytes', architect._report_bloat_min_bytes(),
             'ddl_log', ddl_log)
      INTO doc;
    RETURN doc;
END
$fn$;

-- Text, markdown and html list at most this many findings (a nightly mail
-- stays readable); json has them all.
CREATE FUNCTION architect._report_max_rows()
RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT 200 $$;

CREATE FUNCTION architect._report_more(doc jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN jsonb_array_length(doc->'findings') > architect._report_max_rows()
              THEN format('... and %s more findings: SELECT * FROM architect.findings WHERE rank > %s',
                          jsonb_array_length(doc->'findings') - architect._report_max_rows(),
                          architect._report_max_rows()) END
$$;

CREATE FUNCTION architect._html(t text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT replace(replace(replace(replace(replace(coalesce(t, ''), '&', '&amp;'), '<', '&lt;'),
                                 '>', '&gt;'), '"', '&quot;'), '''', '&#39;')
$$;

CREATE FUNCTION architect._md(t text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT replace(replace(replace(coalesce(t, ''), '\', '\\'), '|', '\|'), E'\n', ' ')
$$;

-- A horizontal bar chart as inline SVG.  rows: [{"label": text,
-- "values": [number, ...]}], one bar per series and row; series: names;
-- colors: one per series.  Linear scale from 0 to the largest value, or,
-- with log_scale, a decade scale with its ticks: latencies span 0.001 ms
-- to seconds, and on a linear scale one slow statement flattens the rest.
CREATE FUNCTION architect._svg_bars(chart_id text, title text, rows jsonb, series text[],
                                    colors text[], unit text, log_scale boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    nseries int := cardinality(series);
    bar_h int := 12;
    row_h int := nseries * bar_h + 10;
    -- 450 px wide: legible at its natural size on a desktop, and still at
    -- about 80 % when a phone (390 px) scales it down.
    label_w int := 150;
    plot_w int := 230;
    top_y int := 40;
    axis_h int := CASE WHEN log_scale THEN 18 ELSE 0 END;
    height int;
    vmax float8;
    vmin float8;
    lo float8;
    hi float8;
    svg text;
    r jsonb;
    i int := 0;
    s int;
    v float8;
    w numeric;
    y int;
    d int;
    label text;
BEGIN
    SELECT max((e.value)::text::float8), min((e.value)::text::float8) FILTER (WHERE (e.value)::text::float8 > 0)
      INTO vmax, vmin
      FROM jsonb_array_elements(rows) x, jsonb_array_elements(x->'values') e
     WHERE jsonb_typeof(e.value) = 'number';
    vmax := greatest(coalesce(vmax, 0), 1e-9);
    IF log_scale THEN
        lo := floor(log(greatest(coalesce(vmin, vmax), 1e-9)::numeric))::float8;
        hi := greatest(ceil(log(vmax::numeric))::float8, lo + 1);
    END IF;
    height := top_y + greatest(jsonb_array_length(rows), 1) * row_h + 10 + axis_h;
    svg := format('<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="%s" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-label="%s">',
                  architect._html(chart_id), label_w + plot_w + 70, height, label_w + plot_w + 70, height,
                  architect._html(title))
           || format('<title>%s</title>', architect._html(title))
           || format('<text x="0" y="16" font-size="14" font-weight="bold">%s</text>', architect._html(title));
    -- legend
    FOR s IN 1 .. nseries LOOP
        svg := svg || format('<rect x="%s" y="24" width="10" height="10" fill="%s"/><text x="%s" y="33" font-size="11">%s</text>',
                             label_w + (s - 1) * 80, colors[s], label_w + (s - 1) * 80 + 14,
                             architect._html(series[s]));
    END LOOP;
    IF jsonb_array_length(rows) = 0 THEN
        RETURN svg || format('<text x="0" y="%s" font-size="12">nothing to chart</text></svg>', top_y + 14);
    END IF;
    IF log_scale THEN
        -- one tick per decade (every other one when there are many)
        FOR d IN lo::int .. hi::int LOOP
            CONTINUE WHEN hi - lo > 5 AND (d - lo::int) % 2 = 1;
            w := round(((d - lo) / (hi - lo) * plot_w)::numeric, 1);
            svg := svg || format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#ddd"/>',
                                 label_w + w, top_y - 4, label_w + w, height - axis_h)
                       || format('<text x="%s" y="%s" font-size="10" text-anchor="middle" fill="#555">%s</text>',
                                 label_w + w, height - 5, architect._num(power(10::numeric, d)));
        END LOOP;
    END IF;
    FOR r IN SELECT value FROM jsonb_array_elements(rows) LOOP
        y := top_y + i * row_h;
        label := r->>'label';
        svg := svg || format('<text x="%s" y="%s" font-size="11" text-anchor="end">%s</text>',
                             label_w - 6, y + (nseries * bar_h) / 2 + 4,
                             architect._html(CASE WHEN length(label) > 22 THEN left(label, 21) || '…' ELSE label END));
        FOR s IN 1 .. nseries LOOP
            v := CASE WHEN jsonb_typeof(r->'values'->(s - 1)) = 'number'
                      THEN (r->'values'->>(s - 1))::float8 END;
            IF v IS NOT NULL THEN
                w := CASE WHEN NOT log_scale THEN round((greatest(v, 0) / vmax * plot_w)::numeric, 1)
                          WHEN v <= 0 THEN 0
                          ELSE round(greatest((log(v::numeric)::float8 - lo) / (hi - lo) * plot_w, 1)::numeric, 1) END;
                svg := svg || format('<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s: %s %s</title></rect>',
                                     label_w, y + (s - 1) * bar_h, w,
                                     bar_h - 2, colors[s], architect._html(series[s]),
                                     architect._num(v::numeric), architect._html(unit))
                             || format('<text x="%s" y="%s" font-size="10">%s</text>',
                                       label_w + w + 4, y + s * bar_h - 2, architect._num(v::numeric));
            END IF;
        END LOOP;
        i := i + 1;
    END LOOP;
    RETURN svg || '</svg>';
END
$fn$;

-- The header lines both text and markdown print: where, what version,
-- over which window, what verdicts the window allows.
CREATE FUNCTION architect._report_header_lines(doc jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT ARRAY[
    format('Server %s, PostgreSQL %s, pg_architect %s; generated %s.',
           doc->>'server', doc->>'server_version', doc->>'extension_version', doc->>'generated_at'),
    format('Observation window: statistics since %s (%s%s); workload capture %s.',
           coalesce(doc->>'statistics_since', 'unknown'), coalesce(doc->>'statistics_window', '?'),
           CASE WHEN (doc->>'window_is_lower_bound')::boolean THEN ', at least: since the server started' ELSE '' END,
           CASE WHEN NOT (doc->>'capture_installed')::boolean THEN 'not installed'
                ELSE format('installed, %s statements', coalesce(doc->>'statements_captured', '0')) END),
    CASE WHEN (doc->>'min_unused_window')::interval > interval '0'
         THEN format('Unused-index verdicts need %s of statistics (pg_architect.min_unused_window); shorter windows give "insufficient evidence".',
                     doc->>'min_unused_window')
         ELSE 'Unused-index verdicts: pg_architect.min_unused_window is lowered to 0 in this session, so an index unscanned for any window is called unused.' END,
    format('%s findings: %s critical, %s high, %s medium, %s low, %s info.',
           doc#>>'{summary,findings}', doc#>>'{summary,critical}', doc#>>'{summary,high}',
           doc#>>'{summary,medium}', doc#>>'{summary,low}', doc#>>'{summary,info}')]
$$;

CREATE FUNCTION architect._report_text(doc jsonb, markdown boolean, detail boolean)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    out text;
    f jsonb;
    s jsonb;
    c jsonb;
    l text;
    nl text := E'\n';
    md boolean := markdown;
    li text := CASE WHEN markdown THEN '- ' ELSE '  ' END;
BEGIN
    IF md THEN
        out := format('# pg_architect report: %s', architect._md(doc->>'database')) || nl || nl;
        FOREACH l IN ARRAY architect._report_header_lines(doc) LOOP
            out := out || architect._md(l) || nl || nl;
        END LOOP;
        out := out || '## Top actions' || nl || nl;
    ELSE
        out := format('pg_architect report: database %s', doc->>'database') || nl
            || array_to_string(architect._report_header_lines(doc), nl) || nl || nl
            || 'TOP ACTIONS' || nl;
    END IF;
    IF jsonb_array_length(doc->'top_actions') = 0 THEN
        out := out || CASE WHEN md THEN 'Nothing to do.' ELSE '  nothing to do' END || nl;
    END IF;
    FOR f IN SELECT value FROM jsonb_array_elements(doc->'top_actions') LOOP
        l := format('finding %s [%s] %s %s: %s', f->>'rank', upper(f->>'severity'), f->>'check_name',
                    f->>'object', coalesce(f->>'key_number', 'see evidence'));
        out := out || CASE WHEN md THEN '1. ' || architect._md(l) ELSE '  - ' || l END || nl;
    END LOOP;

    -- findings: one line each; evidence, recommendation and DDL on request
    out := out || nl || CASE WHEN md THEN '## Findings' || nl || nl
                             ELSE 'FINDINGS (by severity, effort, then time or bytes saved)' || nl END;
    IF jsonb_array_length(doc->'findings') = 0 THEN
        out := out || CASE WHEN md THEN 'No findings.' ELSE '  none' END || nl;
    ELSIF md THEN
        out := out || '| # | severity | check | object | key number | id |' || nl
                   || '|--:|----------|-------|--------|------------|----|' || nl;
    END IF;
    FOR f IN SELECT value FROM jsonb_array_elements(doc->'findings') LIMIT architect._report_max_rows() LOOP
        IF md THEN
            out := out || format('| %s | %s | %s | %s | %s | %s |', f->>'rank', f->>'severity',
                                 architect._md(f->>'check_name'), architect._md(f->>'object'),
                                 architect._md(f->>'key_number'), f->>'finding_id') || nl;
        ELSE
            out := out || format('%4s  %-8s  %-22s  %-24s  %s  [%s]', f->>'rank', upper(f->>'severity'),
                                 f->>'check_name', coalesce(f->>'key_number', ''), f->>'object',
                                 f->>'finding_id') || nl;
            IF detail THEN
                out := out || '        evidence: ' || regexp_replace(coalesce(f->>'evidence', ''), '\s+', ' ', 'g') || nl
                           || '        do:       ' || coalesce(f->>'recommendation', '') || nl
                           || coalesce('        ddl:      ' || (f->>'ddl') || nl, '')
                           || coalesce('        rollback: ' || (f->>'rollback_ddl') || nl, '');
            END IF;
        END IF;
    END LOOP;
    IF md AND detail AND jsonb_array_length(doc->'findings') > 0 THEN
        out := out || nl || '### Details' || nl || nl;
        FOR f IN SELECT value FROM jsonb_array_elements(doc->'findings') LIMIT architect._report_max_rows() LOOP
            out := out || format('**%s. %s %s** (%s, effort %s)', f->>'rank', architect._md(f->>'check_name'),
                                 architect._md(f->>'object'), f->>'finding_id', f->>'effort') || nl || nl
                       || '- evidence: ' || architect._md(f->>'evidence') || nl
                       || '- do: ' || architect._md(f->>'recommendation') || nl
                       || coalesce('- ddl: `' || architect._md(f->>'ddl') || '`' || nl, '')
                       || coalesce('- rollback: `' || architect._md(f->>'rollback_ddl') || '`' || nl, '') || nl;
        END LOOP;
    END IF;
    out := out || coalesce(nl || architect._report_more(doc) || nl, '');
    IF NOT detail AND jsonb_array_length(doc->'findings') > 0 THEN
        out := out || nl || CASE WHEN md THEN '' ELSE '  ' END
                   || format('Evidence, recommendation and DDL of each: architect.report(%L, detail => true), or SELECT * FROM architect.findings WHERE finding_id = %L.',
                             CASE WHEN md THEN 'markdown' ELSE 'text' END, '...') || nl;
    END IF;

    -- what changed since the last snapshot
    c := doc->'changes_since_snapshot';
    IF jsonb_typeof(c) = 'object' THEN
        out := out || nl || CASE WHEN md THEN '## Changes since snapshot ' ELSE 'CHANGES SINCE SNAPSHOT ' END
                   || format('"%s" (%s)', c->>'label', c->>'taken_at') || nl || (CASE WHEN md THEN nl ELSE '' END);
        out := out || li || format('%s new findings, %s resolved, %s statements with p95 changed by 10 %% or more',
                                   jsonb_array_length(c->'new_findings'), jsonb_array_length(c->'resolved_findings'),
                                   jsonb_array_length(c->'statements')) || nl;
        FOR f IN SELECT value FROM jsonb_array_elements(c->'new_findings') LIMIT 20 LOOP
            l := format('new: %s %s (finding %s, %s)', f->>'check_name', f->>'object', f->>'rank', f->>'severity');
            out := out || li || CASE WHEN md THEN architect._md(l) ELSE l END || nl;
        END LOOP;
        FOR f IN SELECT value FROM jsonb_array_elements(c->'resolved_findings') LIMIT 20 LOOP
            l := format('resolved: %s %s', f->>'check_name', f->>'object');
            out := out || li || CASE WHEN md THEN architect._md(l) ELSE l END || nl;
        END LOOP;
        FOR s IN SELECT value FROM jsonb_array_elements(c->'statements') LIMIT 10 LOOP
            l := format('%s: queryid %s p95 %s -> %s (%s%s %%) %s',
                        CASE WHEN (s->>'p95_change_pct')::numeric > 0 THEN 'slower' ELSE 'faster' END,
                        s->>'queryid', architect._ms((s->>'p95_before_ms')::numeric),
                        architect._ms((s->>'p95_now_ms')::numeric),
                        CASE WHEN (s->>'p95_change_pct')::numeric > 0 THEN '+' ELSE '' END,
                        architect._num((s->>'p95_change_pct')::numeric),
                        regexp_replace(left(s->>'query', 60), '\s+', ' ', 'g'));
            out := out || li || CASE WHEN md THEN architect._md(l) ELSE l END || nl;
        END LOOP;
    END IF;

    -- top statements
    out := out || nl || CASE WHEN md THEN '## Top statements (by total time)' || nl || nl
                             ELSE 'TOP STATEMENTS (by total time; times in ms)' || nl END;
    IF doc->'top_statements' = 'null'::jsonb THEN
        out := out || CASE WHEN md THEN 'Workload capture is not installed.' ELSE '  workload capture is not installed' END || nl;
    ELSIF jsonb_array_length(doc->'top_statements') = 0 THEN
        out := out || CASE WHEN md THEN 'No statements captured yet.' ELSE '  no statements captured yet' END || nl;
    ELSE
        out := out || CASE WHEN md
                           THEN '| queryid | calls | total ms | p50 ms | p95 ms | p99 ms | query |' || nl
                                || '|--------:|------:|---------:|-------:|-------:|-------:|-------|' || nl
                           ELSE format('  %20s %10s %10s %9s %9s %9s  %s', 'queryid', 'calls', 'total', 'p50',
                                       'p95', 'p99', 'query') || nl END;
        FOR s IN SELECT value FROM jsonb_array_elements(doc->'top_statements') LOOP
            IF md THEN
                out := out || format('| %s | %s | %s | %s | %s | %s | `%s` |', s->>'queryid', s->>'calls',
                                     architect._num((s->>'total_ms')::numeric), architect._num((s->>'p50_ms')::numeric),
                                     architect._num((s->>'p95_ms')::numeric), architect._num((s->>'p99_ms')::numeric),
                                     architect._md(left(s->>'query', 120))) || nl;
            ELSE
                out := out || format('  %20s %10s %10s %9s %9s %9s  %s', s->>'queryid', s->>'calls',
                                     architect._num((s->>'total_ms')::numeric), architect._num((s->>'p50_ms')::numeric),
                                     architect._num((s->>'p95_ms')::numeric), architect._num((s->>'p99_ms')::numeric),
                                     regexp_replace(left(s->>'query', 80), '\s+', ' ', 'g')) || nl;
            END IF;
        END LOOP;
    END IF;

    -- bloat
    l := format('own tables and indexes of at least %s, by reclaimable bytes',
                pg_size_pretty((doc->>'bloat_min_bytes')::bigint));
    out := out || nl || CASE WHEN md THEN '## Bloat (' || l || ')' || nl || nl ELSE 'BLOAT (' || l || ')' || nl END;
    IF doc->'bloat' = 'null'::jsonb THEN
        out := out || CASE WHEN md THEN 'Bloat measurement is not installed.' ELSE '  bloat measurement is not installed' END || nl;
    ELSIF jsonb_array_length(doc->'bloat') = 0 THEN
        out := out || CASE WHEN md THEN 'Nothing reclaimable.' ELSE '  nothing reclaimable' END || nl;
    ELSE
        IF md THEN
            out := out || '| relation | reclaimable | of size | bloat % | remedy | method |' || nl
                       || '|----------|------------:|--------:|--------:|--------|--------|' || nl;
        END IF;
        FOR s IN SELECT value FROM jsonb_array_elements(doc->'bloat') LOOP
            IF md THEN
                out := out || format('| %s | %s | %s | %s | %s | %s |', architect._md(s->>'relation'),
                                     pg_size_pretty((s->>'wasted_bytes')::numeric), pg_size_pretty((s->>'size_bytes')::numeric),
                                     architect._num((s->>'bloat_pct')::numeric), architect._md(s->>'remedy'),
                                     architect._md(s->>'method')) || nl;
            ELSE
                out := out || format('  %-40s %10s reclaimable of %10s  %5s %%  remedy %s (%s)', s->>'relation',
                                     pg_size_pretty((s->>'wasted_bytes')::numeric), pg_size_pretty((s->>'size_bytes')::numeric),
                                     architect._num((s->>'bloat_pct')::numeric), coalesce(s->>'remedy', '?'),
                                     coalesce(s->>'method', '?')) || nl;
            END IF;
        END LOOP;
    END IF;
    RETURN out;
END
$fn$;

CREATE FUNCTION architect._report_html(doc jsonb)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    h text;
    f jsonb;
    s jsonb;
    c jsonb;
    l text;
    sev_rows jsonb;
    stmt_rows jsonb;
    bloat_rows jsonb;
    i bigint;
BEGIN
    sev_rows := jsonb_build_array(
        jsonb_build_object('label', 'critical', 'values', jsonb_build_array(doc#>'{summary,critical}')),
        jsonb_build_object('label', 'high', 'values', jsonb_build_array(doc#>'{summary,high}')),
        jsonb_build_object('label', 'medium', 'values', jsonb_build_array(doc#>'{summary,medium}')),
        jsonb_build_object('label', 'low', 'values', jsonb_build_array(doc#>'{summary,low}')));

    h := '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
      || '<meta name="viewport" content="width=device-width, initial-scale=1">'
      || format('<title>pg_architect report: %s</title>', architect._html(doc->>'database'))
      || '<style>body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222;line-height:1.4}'
      || 'h1{font-size:1.5em;margin-bottom:0.3em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}'
      || '.meta{color:#444;margin:0.2em 0}.wrap{overflow-x:auto}'
      || 'table{border-collapse:collapse;margin:0.6em 0;font-size:13px;width:100%}th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}'
      || 'th{background:#f2f2f2}td.num,th.num{text-align:right;white-space:nowrap}td.key{white-space:nowrap;font-weight:600}'
      || 'code{font-size:12px;white-space:pre-wrap;word-break:break-word}'
      || '.sev{font-weight:600;white-space:nowrap}.sev-critical{color:#fff;background:#b00020}'
      || '.sev-high{background:#f4a261}.sev-medium{background:#ffe08a}.sev-low{background:#e0f0e0}.sev-info{background:#eef2f7;color:#555}'
      || 'details summary{cursor:pointer;color:#0b5cad}details div{margin:0.3em 0 0.2em}'
      || '.actions li{margin:0.3em 0}.charts{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}'
      || '.charts svg{flex:0 1 auto;max-width:100%;height:auto}.muted{color:#777}'
      || 'svg.chart{display:block;margin:0.5em 0;font-family:system-ui,sans-serif}'
      || '@media (max-width:700px){body{margin:0.8em auto;padding:0 0.6em}table{font-size:12px}'
      || 'th.opt,td.opt{display:none}td.key{white-space:normal}}</style></head><body>'
      || format('<h1>pg_architect report: %s</h1>', architect._html(doc->>'database'));
    FOREACH l IN ARRAY (architect._report_header_lines(doc))[1:3] LOOP
        h := h || '<p class="meta">' || architect._html(l) || '</p>';
    END LOOP;
    h := h || format('<p id="summary"><strong>%s findings</strong>: %s critical, %s high, %s medium, %s low, %s info.</p>',
                     doc#>>'{summary,findings}', doc#>>'{summary,critical}', doc#>>'{summary,high}',
                     doc#>>'{summary,medium}', doc#>>'{summary,low}', doc#>>'{summary,info}');

    h := h || '<h2>Top actions</h2>';
    IF jsonb_array_length(doc->'top_actions') = 0 THEN
        h := h || '<p>Nothing to do.</p>';
    ELSE
        h := h || '<ol class="actions" id="top-actions">';
        FOR f IN SELECT value FROM jsonb_array_elements(doc->'top_actions') LOOP
            h := h || format('<li><span class="sev sev-%s">%s</span> <a href="#%s">%s</a> %s: <strong>%s</strong></li>',
                             architect._html(f->>'severity'), architect._html(f->>'severity'),
                             architect._html(f->>'finding_id'), architect._html(f->>'check_name'),
                             architect._html(f->>'object'), architect._html(coalesce(f->>'key_number', 'see evidence')));
        END LOOP;
        h := h || '</ol>';
    END IF;

    h := h || '<div class="charts">'
           || architect._svg_bars('chart-severity', 'Findings by severity', sev_rows, ARRAY['findings'],
                                  ARRAY['#6c7a89'], 'findings');
    IF doc->'top_statements' = 'null'::jsonb THEN
        h := h || '<p class="muted">Latency chart: workload capture is not installed.</p>';
    ELSE
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'label', 'statement ' || o,
                   'values', jsonb_build_array(x->'p50_ms', x->'p95_ms', x->'p99_ms')) ORDER BY o), '[]')
          INTO stmt_rows
          FROM jsonb_array_elements(doc->'top_statements') WITH ORDINALITY AS t(x, o);
        h := h || architect._svg_bars('chart-latency', 'Latency of the top statements (ms, log scale)', stmt_rows,
                                      ARRAY['p50', 'p95', 'p99'], ARRAY['#2a9d8f', '#e9c46a', '#e76f51'], 'ms', true);
    END IF;
    IF doc->'bloat' = 'null'::jsonb THEN
        h := h || '<p class="muted">Bloat chart: bloat measurement is not installed.</p>';
    ELSE
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'label', regexp_replace(x->>'relation', '^public\.', ''),
                   'values', jsonb_build_array(round((x->>'wasted_bytes')::numeric / 1048576, 2)))), '[]')
          INTO bloat_rows
          FROM jsonb_array_elements(doc->'bloat') x;
        h := h || architect._svg_bars('chart-bloat', 'Reclaimable space of own relations (MiB)', bloat_rows,
                                      ARRAY['reclaimable MiB'], ARRAY['#8d6cab'], 'MiB');
    END IF;
    h := h || '</div>';

    h := h || '<h2>Findings</h2>';
    IF jsonb_array_length(doc->'findings') = 0 THEN
        h := h || '<p>No findings.</p>';
    ELSE
        h := h || '<div class="wrap"><table id="findings"><tr><th class="num">#</th><th>severity</th><th>finding</th>'
               || '<th>key number</th><th class="opt">effort</th></tr>';
        FOR f IN SELECT value FROM jsonb_array_elements(doc->'findings') LIMIT architect._report_max_rows() LOOP
            h := h || format('<tr id="%s"><td class="num">%s</td><td class="sev sev-%s">%s</td>'
                             '<td>%s <code>%s</code><details><summary>evidence and DDL</summary>'
                             '<div>%s</div><div><em>%s</em></div>%s%s<div class="muted">%s/%s, id %s</div></details></td>'
                             '<td class="key">%s</td><td class="opt">%s</td></tr>',
                             architect._html(f->>'finding_id'), architect._html(f->>'rank'),
                             architect._html(f->>'severity'), architect._html(f->>'severity'),
                             architect._html(f->>'check_name'), architect._html(f->>'object'),
                             architect._html(f->>'evidence'), architect._html(f->>'recommendation'),
                             CASE WHEN f->>'ddl' IS NULL THEN ''
                                  ELSE '<div><span class="muted">ddl:</span> <code>' || architect._html(f->>'ddl') || '</code></div>' END,
                             CASE WHEN f->>'rollback_ddl' IS NULL THEN ''
                                  ELSE '<div><span class="muted">rollback:</span> <code>' || architect._html(f->>'rollback_ddl') || '</code></div>' END,
                             architect._html(f->>'category'), architect._html(f->>'check_name'),
                             architect._html(f->>'finding_id'),
                             architect._html(f->>'key_number'), architect._html(f->>'effort'));
        END LOOP;
        h := h || '</table></div>' || coalesce('<p>' || architect._html(architect._report_more(doc)) || '</p>', '');
    END IF;

    c := doc->'changes_since_snapshot';
    IF jsonb_typeof(c) = 'object' THEN
        h := h || format('<h2>Changes since snapshot "%s" (%s)</h2><ul id="changes">',
                         architect._html(c->>'label'), architect._html(c->>'taken_at'))
               || format('<li>%s new findings, %s resolved, %s statements with p95 changed by 10 %% or more</li>',
                         jsonb_array_length(c->'new_findings'), jsonb_array_length(c->'resolved_findings'),
                         jsonb_array_length(c->'statements'));
        FOR f IN SELECT value FROM jsonb_array_elements(c->'new_findings') LIMIT 20 LOOP
            h := h || format('<li>new: %s <code>%s</code> (finding %s, %s)</li>', architect._html(f->>'check_name'),
                             architect._html(f->>'object'), architect._html(f->>'rank'), architect._html(f->>'severity'));
        END LOOP;
        FOR f IN SELECT value FROM jsonb_array_elements(c->'resolved_findings') LIMIT 20 LOOP
            h := h || format('<li>resolved: %s <code>%s</code></li>', architect._html(f->>'check_name'),
                             architect._html(f->>'object'));
        END LOOP;
        FOR s IN SELECT value FROM jsonb_array_elements(c->'statements') LIMIT 10 LOOP
            h := h || format('<li>%s: queryid %s p95 %s &rarr; %s (%s%s %%) <code>%s</code></li>',
                             CASE WHEN (s->>'p95_change_pct')::numeric > 0 THEN 'slower' ELSE 'faster' END,
                             architect._html(s->>'queryid'), architect._ms((s->>'p95_before_ms')::numeric),
                             architect._ms((s->>'p95_now_ms')::numeric),
                             CASE WHEN (s->>'p95_change_pct')::numeric > 0 THEN '+' ELSE '' END,
                             architect._num((s->>'p95_change_pct')::numeric),
                             architect._html(left(s->>'query', 100)));
        END LOOP;
        h := h || '</ul>';
    END IF;

    IF jsonb_typeof(doc->'top_statements') = 'array' THEN
        h := h || '<h2>Top statements (by total time)</h2>'
               || '<div class="wrap"><table id="statements"><tr><th class="num">#</th><th class="opt">queryid</th><th class="num">calls</th><th class="num">total ms</th>'
               || '<th class="num opt">p50 ms</th><th class="num">p95 ms</th><th class="num opt">p99 ms</th><th>query</th></tr>';
        FOR s, i IN SELECT value, ordinality FROM jsonb_array_elements(doc->'top_statements') WITH ORDINALITY LOOP
            h := h || format('<tr><td class="num">%s</td><td class="opt">%s</td><td class="num">%s</td><td class="num">%s</td><td class="num opt">%s</td><td class="num">%s</td><td class="num opt">%s</td><td><code>%s</code></td></tr>',
                             i, architect._html(s->>'queryid'), architect._html(s->>'calls'),
                             architect._num((s->>'total_ms')::numeric), architect._num((s->>'p50_ms')::numeric),
                             architect._num((s->>'p95_ms')::numeric), architect._num((s->>'p99_ms')::numeric),
                             architect._html(left(s->>'query', 200)));
        END LOOP;
        h := h || '</table></div>';
    END IF;

    IF jsonb_typeof(doc->'bloat') = 'array' THEN
        h := h || format('<h2>Bloat</h2><p class="muted">Own tables and indexes of at least %s, by reclaimable bytes.</p>',
                         pg_size_pretty((doc->>'bloat_min_bytes')::bigint));
        IF jsonb_array_length(doc->'bloat') = 0 THEN
            h := h || '<p>Nothing reclaimable.</p>';
        ELSE
            h := h || '<div class="wrap"><table id="bloat"><tr><th>relation</th><th class="num">reclaimable</th><th class="num">of size</th>'
                   || '<th class="num">bloat %</th><th class="opt">remedy</th><th class="opt">method</th></tr>';
            FOR s IN SELECT value FROM jsonb_array_elements(doc->'bloat') LOOP
                h := h || format('<tr><td><code>%s</code></td><td class="num">%s</td><td class="num">%s</td><td class="num">%s</td><td class="opt">%s</td><td class="opt">%s</td></tr>',
                                 architect._html(s->>'relation'), pg_size_pretty((s->>'wasted_bytes')::numeric),
                                 pg_size_pretty((s->>'size_bytes')::numeric), architect._num((s->>'bloat_pct')::numeric),
                                 architect._html(s->>'remedy'), architect._html(s->>'method'));
            END LOOP;
            h := h || '</table></div>';
        END IF;
    END IF;
    RETURN h || '</body></html>';
END
$fn$;

CREATE FUNCTION architect.report(format text DEFAULT 'text', detail boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    fmt text := lower(btrim(format));
    doc jsonb;
BEGIN
    IF fmt IS NULL OR fmt NOT IN ('text', 'markdown', 'md', 'json', 'html') THEN
        RAISE EXCEPTION 'unknown report format "%"',
              CASE WHEN length(format) > 40 THEN left(format, 40) || '...' ELSE format END
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Use one of text, markdown, json or html.';
    END IF;
    IF detail IS NULL THEN
        RAISE EXCEPTION 'detail must not be null'
              USING ERRCODE = 'null_value_not_allowed',
                    HINT = 'Pass true for evidence, recommendation and DDL under each finding, false for one line each.';
    END IF;
    doc := architect._report_doc();
    RETURN CASE fmt
             WHEN 'json' THEN jsonb_pretty(doc)
             WHEN 'html' THEN architect._report_html(doc)
             WHEN 'text' THEN architect._report_text(doc, false, detail)
             ELSE architect._report_text(doc, true, detail)
           END;
END
$fn$;

COMMENT ON FUNCTION architect.report(text, boolean) IS
  'The findings register (one line each, or with evidence and DDL when detail), top actions, changes since the last snapshot, top statements and bloat as text, markdown, json or a self-contained html page with SVG charts';
