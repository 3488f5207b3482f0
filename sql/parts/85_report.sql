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

CREATE FUNCTION architect._report_doc()
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    doc jsonb;
    stmts jsonb;
    bloat jsonb;
    ddl_log jsonb;
BEGIN
    IF to_regclass('architect.statements') IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(x ORDER BY (x->>'total_ms')::float8 DESC NULLS LAST), '[]')
          INTO stmts
          FROM (SELECT jsonb_build_object(
                         'queryid', j->'queryid', 'query', left(j->>'query', 300),
                         'calls', j->'calls', 'rows', j->'rows', 'total_ms', j->'total_ms',
                         'mean_ms', j->'mean_ms', 'p50_ms', j->'p50_ms', 'p95_ms', j->'p95_ms',
                         'p99_ms', j->'p99_ms', 'temp_blks_written', j->'temp_blks_written') AS x
                  FROM architect._optional_source('architect.statements') j
                 ORDER BY (j->>'total_ms')::float8 DESC NULLS LAST
                 LIMIT 10) s;
    END IF;
    IF to_regclass('architect.bloat') IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(x ORDER BY (x->>'wasted_bytes')::numeric DESC NULLS LAST), '[]')
          INTO bloat
          FROM (SELECT jsonb_build_object(
                         'relation', j->>'relation',
                         'wasted_bytes', coalesce(j->'wasted_bytes', j->'wasted', j->'bloat_bytes'),
                         'bloat_pct', coalesce(j->'bloat_pct', j->'wasted_pct'),
                         'method', j->'method', 'confidence', j->'confidence') AS x
                  FROM architect._optional_source('architect.bloat') j
                 ORDER BY coalesce(j->>'wasted_bytes', j->>'wasted', j->>'bloat_bytes')::numeric DESC NULLS LAST
                 LIMIT 10) b;
    END IF;
    IF to_regclass('architect.ddl_log') IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(j), '[]') INTO ddl_log
          FROM (SELECT j FROM architect._optional_source('architect.ddl_log') j LIMIT 20) d;
    END IF;

    SELECT jsonb_build_object(
             'report', 'pg_architect',
             'extension_version', (SELECT extversion FROM pg_extension WHERE extname = 'pg_architect'),
             'generated_at', now(),
             'database', current_database(),
             'server_version', current_setting('server_version'),
             'statistics_since', (SELECT stats_since FROM architect._stats_window()),
             'capture_installed', to_regclass('architect.statements') IS NOT NULL,
             'summary', jsonb_build_object(
                 'findings', count(f.*),
                 'critical', count(*) FILTER (WHERE f.severity = 'critical'),
                 'high', count(*) FILTER (WHERE f.severity = 'high'),
                 'medium', count(*) FILTER (WHERE f.severity = 'medium'),
                 'low', count(*) FILTER (WHERE f.severity = 'low')),
             'findings', coalesce(jsonb_agg(to_jsonb(f) ORDER BY f.rank) FILTER (WHERE f.rank IS NOT NULL), '[]'),
             'top_statements', stmts,
             'bloat', bloat,
             'ddl_log', ddl_log)
      INTO doc
      FROM architect.findings f;
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
-- colors: one per series.  Linear scale from 0 to the largest value.
CREATE FUNCTION architect._svg_bars(chart_id text, title text, rows jsonb, series text[],
                                    colors text[], unit text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    nseries int := cardinality(series);
    bar_h int := 12;
    row_h int := nseries * bar_h + 10;
    label_w int := 170;
    plot_w int := 300;
    top_y int := 40;
    height int;
    vmax float8;
    svg text;
    r jsonb;
    i int := 0;
    s int;
    v float8;
    y int;
BEGIN
    SELECT max((e.value)::text::float8) INTO vmax
      FROM jsonb_array_elements(rows) x, jsonb_array_elements(x->'values') e
     WHERE jsonb_typeof(e.value) = 'number';
    vmax := greatest(coalesce(vmax, 0), 1e-9);
    height := top_y + greatest(jsonb_array_length(rows), 1) * row_h + 20;
    svg := format('<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="%s" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-label="%s">',
                  architect._html(chart_id), label_w + plot_w + 120, height, label_w + plot_w + 120, height,
                  architect._html(title))
           || format('<title>%s</title>', architect._html(title))
           || format('<text x="0" y="16" font-size="14" font-weight="bold">%s</text>', architect._html(title));
    -- legend
    FOR s IN 1 .. nseries LOOP
        svg := svg || format('<rect x="%s" y="24" width="10" height="10" fill="%s"/><text x="%s" y="33" font-size="11">%s</text>',
                             label_w + (s - 1) * 90, colors[s], label_w + (s - 1) * 90 + 14,
                             architect._html(series[s]));
    END LOOP;
    IF jsonb_array_length(rows) = 0 THEN
        RETURN svg || format('<text x="0" y="%s" font-size="12">nothing to chart</text></svg>', top_y + 14);
    END IF;
    FOR r IN SELECT value FROM jsonb_array_elements(rows) LOOP
        y := top_y + i * row_h;
        svg := svg || format('<text x="%s" y="%s" font-size="11" text-anchor="end">%s</text>',
                             label_w - 6, y + (nseries * bar_h) / 2 + 4,
                             architect._html(left(r->>'label', 34)));
        FOR s IN 1 .. nseries LOOP
            v := CASE WHEN jsonb_typeof(r->'values'->(s - 1)) = 'number'
                      THEN (r->'values'->>(s - 1))::float8 END;
            IF v IS NOT NULL THEN
                svg := svg || format('<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s: %s %s</title></rect>',
                                     label_w, y + (s - 1) * bar_h, round((greatest(v, 0) / vmax * plot_w)::numeric, 1),
                                     bar_h - 2, colors[s], architect._html(series[s]),
                                     round(v::numeric, 3), architect._html(unit))
                             || format('<text x="%s" y="%s" font-size="10">%s</text>',
                                       label_w + round((greatest(v, 0) / vmax * plot_w)::numeric, 1) + 4,
                                       y + s * bar_h - 3,
                                       CASE WHEN v = trunc(v) THEN trunc(v)::numeric ELSE round(v::numeric, 2) END);
            END IF;
        END LOOP;
        i := i + 1;
    END LOOP;
    RETURN svg || '</svg>';
END
$fn$;

CREATE FUNCTION architect._report_text(doc jsonb, markdown boolean)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    out text;
    f jsonb;
    s jsonb;
    nl text := E'\n';
BEGIN
    IF markdown THEN
        out := format('# pg_architect report: %s', architect._md(doc->>'database')) || nl || nl
            || format('Generated %s on PostgreSQL %s, pg_architect %s; statistics since %s; workload capture %s.',
                      doc->>'generated_at', doc->>'server_version', doc->>'extension_version',
                      coalesce(doc->>'statistics_since', 'unknown'),
                      CASE WHEN (doc->>'capture_installed')::boolean THEN 'installed' ELSE 'not installed' END) || nl || nl
            || format('**%s findings**: %s critical, %s high, %s medium, %s low.',
                      doc#>>'{summary,findings}', doc#>>'{summary,critical}', doc#>>'{summary,high}',
                      doc#>>'{summary,medium}', doc#>>'{summary,low}') || nl || nl
            || '## Findings' || nl || nl;
        IF jsonb_array_length(doc->'findings') = 0 THEN
            out := out || 'No findings.' || nl;
        ELSE
            out := out || '| # | id | severity | effort | category | check | object | evidence | ddl | rollback |' || nl
                       || '|---|----|----------|--------|----------|-------|--------|----------|-----|----------|' || nl;
            FOR f IN SELECT value FROM jsonb_array_elements(doc->'findings') LIMIT architect._report_max_rows() LOOP
                out := out || format('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |',
                                     f->>'rank', f->>'finding_id', f->>'severity', f->>'effort',
                                     f->>'category', architect._md(f->>'check'), architect._md(f->>'object'),
                                     architect._md(f->>'evidence'),
                                     CASE WHEN f->>'ddl' IS NULL THEN '' ELSE '`' || architect._md(f->>'ddl') || '`' END,
                                     CASE WHEN f->>'rollback_ddl' IS NULL THEN '' ELSE '`' || architect._md(f->>'rollback_ddl') || '`' END) || nl;
            END LOOP;
            out := out || coalesce(nl || architect._report_more(doc) || nl, '');
        END IF;
        out := out || nl || '## Top statements (by total time)' || nl || nl;
        IF doc->'top_statements' = 'null'::jsonb THEN
            out := out || 'Workload capture is not installed.' || nl;
        ELSIF jsonb_array_length(doc->'top_statements') = 0 THEN
            out := out || 'No statements captured yet.' || nl;
        ELSE
            out := out || '| queryid | calls | total ms | p50 ms | p95 ms | p99 ms | query |' || nl
                       || '|---------|-------|----------|--------|--------|--------|-------|' || nl;
            FOR s IN SELECT value FROM jsonb_array_elements(doc->'top_statements') LOOP
                out := out || format('| %s | %s | %s | %s | %s | %s | `%s` |', s->>'queryid', s->>'calls',
                                     round((s->>'total_ms')::numeric, 3), round((s->>'p50_ms')::numeric, 3),
                                     round((s->>'p95_ms')::numeric, 3), round((s->>'p99_ms')::numeric, 3),
                                     architect._md(left(s->>'query', 120))) || nl;
            END LOOP;
        END IF;
        out := out || nl || '## Bloat' || nl || nl;
        IF doc->'bloat' = 'null'::jsonb THEN
            out := out || 'Bloat measurement is not installed.' || nl;
        ELSIF jsonb_array_length(doc->'bloat') = 0 THEN
            out := out || 'No bloat measured.' || nl;
        ELSE
            out := out || '| relation | wasted | bloat % | method | confidence |' || nl
                       || '|----------|--------|---------|--------|------------|' || nl;
            FOR s IN SELECT value FROM jsonb_array_elements(doc->'bloat') LOOP
                out := out || format('| %s | %s | %s | %s | %s |', architect._md(s->>'relation'),
                                     pg_size_pretty((s->>'wasted_bytes')::numeric), s->>'bloat_pct',
                                     architect._md(s->>'method'), architect._md(s->>'confidence')) || nl;
            END LOOP;
        END IF;
        RETURN out;
    END IF;

    -- plain text for a terminal
    out := format('pg_architect report: database %s, %s', doc->>'database', doc->>'generated_at') || nl
        || format('PostgreSQL %s, pg_architect %s, statistics since %s, workload capture %s',
                  doc->>'server_version', doc->>'extension_version',
                  coalesce(doc->>'statistics_since', 'unknown'),
                  CASE WHEN (doc->>'capture_installed')::boolean THEN 'installed' ELSE 'not installed' END) || nl
        || format('%s findings: %s critical, %s high, %s medium, %s low',
                  doc#>>'{summary,findings}', doc#>>'{summary,critical}', doc#>>'{summary,high}',
                  doc#>>'{summary,medium}', doc#>>'{summary,low}') || nl || nl
        || 'FINDINGS' || nl;
    IF jsonb_array_length(doc->'findings') = 0 THEN
        out := out || '  none' || nl;
    END IF;
    FOR f IN SELECT value FROM jsonb_array_elements(doc->'findings') LIMIT architect._report_max_rows() LOOP
        out := out || format('%s. [%s] %s/%s %s  (effort %s, %s)', f->>'rank', upper(f->>'severity'),
                             f->>'category', f->>'check', f->>'object', f->>'effort', f->>'finding_id') || nl
                   || '   evidence: ' || coalesce(f->>'evidence', '') || nl
                   || '   do:       ' || coalesce(f->>'recommendation', '') || nl
                   || coalesce('   ddl:      ' || (f->>'ddl') || nl, '')
                   || coalesce('   rollback: ' || (f->>'rollback_ddl') || nl, '');
    END LOOP;
    out := out || coalesce(architect._report_more(doc) || nl, '');
    out := out || nl || 'TOP STATEMENTS (by total time)' || nl;
    IF doc->'top_statements' = 'null'::jsonb THEN
        out := out || '  workload capture is not installed' || nl;
    ELSIF jsonb_array_length(doc->'top_statements') = 0 THEN
        out := out || '  no statements captured yet' || nl;
    ELSE
        out := out || format('  %20s %10s %12s %10s %10s %10s  %s', 'queryid', 'calls', 'total_ms',
                             'p50_ms', 'p95_ms', 'p99_ms', 'query') || nl;
        FOR s IN SELECT value FROM jsonb_array_elements(doc->'top_statements') LOOP
            out := out || format('  %20s %10s %12s %10s %10s %10s  %s', s->>'queryid', s->>'calls',
                                 round((s->>'total_ms')::numeric, 3), round((s->>'p50_ms')::numeric, 3),
                                 round((s->>'p95_ms')::numeric, 3), round((s->>'p99_ms')::numeric, 3),
                                 regexp_replace(left(s->>'query', 80), '\s+', ' ', 'g')) || nl;
        END LOOP;
    END IF;
    out := out || nl || 'BLOAT' || nl;
    IF doc->'bloat' = 'null'::jsonb THEN
        out := out || '  bloat measurement is not installed' || nl;
    ELSIF jsonb_array_length(doc->'bloat') = 0 THEN
        out := out || '  none measured' || nl;
    ELSE
        FOR s IN SELECT value FROM jsonb_array_elements(doc->'bloat') LOOP
            out := out || format('  %-40s %12s wasted  %6s %%  (%s, confidence %s)', s->>'relation',
                                 pg_size_pretty((s->>'wasted_bytes')::numeric), s->>'bloat_pct',
                                 s->>'method', s->>'confidence') || nl;
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
    sev_rows jsonb;
    stmt_rows jsonb;
    bloat_rows jsonb;
BEGIN
    sev_rows := jsonb_build_array(
        jsonb_build_object('label', 'critical', 'values', jsonb_build_array(doc#>'{summary,critical}')),
        jsonb_build_object('label', 'high', 'values', jsonb_build_array(doc#>'{summary,high}')),
        jsonb_build_object('label', 'medium', 'values', jsonb_build_array(doc#>'{summary,medium}')),
        jsonb_build_object('label', 'low', 'values', jsonb_build_array(doc#>'{summary,low}')));

    h := '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
      || format('<title>pg_architect report: %s</title>', architect._html(doc->>'database'))
      || '<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}'
      || 'table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}'
      || 'th{background:#f2f2f2}code{font-size:12px;white-space:pre-wrap}.sev-critical{color:#fff;background:#b00020}'
      || '.sev-high{background:#f4a261}.sev-medium{background:#ffe08a}.sev-low{background:#e0f0e0}'
      || 'td.ev{min-width:28em}td.ddl{min-width:22em}code{word-break:break-word}'
      || '.charts{display:flex;flex-wrap:wrap;gap:1.5em}.muted{color:#777}'
      || 'svg.chart{display:block;margin:0.5em 0;font-family:system-ui,sans-serif}</style></head><body>'
      || format('<h1>pg_architect report: %s</h1>', architect._html(doc->>'database'))
      || format('<p>Generated %s on PostgreSQL %s, pg_architect %s; statistics since %s; workload capture %s.</p>',
                architect._html(doc->>'generated_at'), architect._html(doc->>'server_version'),
                architect._html(doc->>'extension_version'), architect._html(coalesce(doc->>'statistics_since', 'unknown')),
                CASE WHEN (doc->>'capture_installed')::boolean THEN 'installed' ELSE 'not installed' END)
      || format('<p id="summary"><strong>%s findings</strong>: %s critical, %s high, %s medium, %s low.</p>',
                doc#>>'{summary,findings}', doc#>>'{summary,critical}', doc#>>'{summary,high}',
                doc#>>'{summary,medium}', doc#>>'{summary,low}')
      || '<div class="charts">'
      || architect._svg_bars('chart-severity', 'Findings by severity', sev_rows, ARRAY['findings'],
                             ARRAY['#6c7a89'], 'findings');

    IF doc->'top_statements' = 'null'::jsonb THEN
        h := h || '<p class="muted">Latency chart: workload capture is not installed.</p>';
    ELSE
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'label', 'queryid ' || (x->>'queryid'),
                   'values', jsonb_build_array(x->'p50_ms', x->'p95_ms', x->'p99_ms'))), '[]')
          INTO stmt_rows
          FROM jsonb_array_elements(doc->'top_statements') x;
        h := h || architect._svg_bars('chart-latency', 'Latency of the top statements (ms)', stmt_rows,
                                      ARRAY['p50', 'p95', 'p99'], ARRAY['#2a9d8f', '#e9c46a', '#e76f51'], 'ms');
    END IF;
    IF doc->'bloat' = 'null'::jsonb THEN
        h := h || '<p class="muted">Bloat chart: bloat measurement is not installed.</p>';
    ELSE
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'label', x->>'relation',
                   'values', jsonb_build_array(round((x->>'wasted_bytes')::numeric / 1048576, 2)))), '[]')
          INTO bloat_rows
          FROM jsonb_array_elements(doc->'bloat') x;
        h := h || architect._svg_bars('chart-bloat', 'Wasted space by relation (MiB)', bloat_rows,
                                      ARRAY['wasted MiB'], ARRAY['#8d6cab'], 'MiB');
    END IF;
    h := h || '</div>';

    h := h || '<h2>Findings</h2>';
    IF jsonb_array_length(doc->'findings') = 0 THEN
        h := h || '<p>No findings.</p>';
    ELSE
        h := h || '<table id="findings"><tr><th>#</th><th>severity</th><th>effort</th><th>finding</th>'
               || '<th>object</th><th>evidence and recommendation</th><th>ddl / rollback</th></tr>';
        FOR f IN SELECT value FROM jsonb_array_elements(doc->'findings') LIMIT architect._report_max_rows() LOOP
            h := h || format('<tr id="%s"><td>%s</td><td class="sev-%s">%s</td><td>%s</td><td>%s/%s<br><span class="muted">%s</span></td><td>%s</td><td class="ev">%s<br><em>%s</em></td><td class="ddl"><code>%s</code>%s</td></tr>',
                             architect._html(f->>'finding_id'), architect._html(f->>'rank'),
                             architect._html(f->>'severity'), architect._html(f->>'severity'),
                             architect._html(f->>'effort'), architect._html(f->>'category'),
                             architect._html(f->>'check'), architect._html(f->>'finding_id'),
                             architect._html(f->>'object'),
                             architect._html(f->>'evidence'), architect._html(f->>'recommendation'),
                             architect._html(f->>'ddl'),
                             CASE WHEN f->>'rollback_ddl' IS NULL THEN ''
                                  ELSE '<br><span class="muted">rollback:</span> <code>' || architect._html(f->>'rollback_ddl') || '</code>' END);
        END LOOP;
        h := h || '</table>' || coalesce('<p>' || architect._html(architect._report_more(doc)) || '</p>', '');
    END IF;

    IF jsonb_typeof(doc->'top_statements') = 'array' THEN
        h := h || '<h2>Top statements</h2>'
               || '<table id="statements"><tr><th>queryid</th><th>calls</th><th>total ms</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>query</th></tr>';
        FOR s IN SELECT value FROM jsonb_array_elements(doc->'top_statements') LOOP
            h := h || format('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td><code>%s</code></td></tr>',
                             architect._html(s->>'queryid'), architect._html(s->>'calls'),
                             round((s->>'total_ms')::numeric, 3), round((s->>'p50_ms')::numeric, 3),
                             round((s->>'p95_ms')::numeric, 3), round((s->>'p99_ms')::numeric, 3),
                             architect._html(left(s->>'query', 200)));
        END LOOP;
        h := h || '</table>';
    END IF;
    RETURN h || '</body></html>';
END
$fn$;

CREATE FUNCTION architect.report(format text DEFAULT 'text')
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
    doc := architect._report_doc();
    RETURN CASE fmt
             WHEN 'json' THEN jsonb_pretty(doc)
             WHEN 'html' THEN architect._report_html(doc)
             WHEN 'text' THEN architect._report_text(doc, false)
             ELSE architect._report_text(doc, true)
           END;
END
$fn$;

COMMENT ON FUNCTION architect.report(text) IS
  'The findings register, top statements and bloat as text, markdown, json or a self-contained html page with SVG charts';
