#!/usr/bin/env bash
# How long the findings register and the report take on a large catalog.
#
#   bench/findings_catalog.sh [TABLES]        # default 2000
#
# Builds TABLES tables in a throwaway cluster, each with a primary key, a
# foreign key to a parent, three secondary indexes (one of them a duplicate)
# and a few rows, analyzes them, then times architect.index_health,
# architect.schema_findings, architect.findings and architect.report('html')
# (best of three runs each).  Prints one line per figure.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
scripts/ensure-deps.sh
eval "$(scripts/stage.sh)"
D=$(scripts/cluster.sh start)
trap 'scripts/cluster.sh destroy "$D"' EXIT
eval "$(scripts/cluster.sh env "$D")"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pg_architect" \
  -c "CREATE TABLE parent (id int PRIMARY KEY); INSERT INTO parent SELECT generate_series(1, 100)" \
  -c "DO \$\$ BEGIN FOR i IN 1 .. $N LOOP
        EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, p int REFERENCES parent, a int, b int)', i);
        EXECUTE format('CREATE INDEX ON t%s (a)', i);
        EXECUTE format('CREATE INDEX ON t%s (a)', i);
        EXECUTE format('CREATE INDEX ON t%s (a, b)', i);
        EXECUTE format('INSERT INTO t%s SELECT g, 1 + g %% 100, g, g FROM generate_series(1, 10) g', i);
        IF i % 200 = 0 THEN COMMIT; END IF;
      END LOOP; END \$\$" -c "ANALYZE"
t() {  # t LABEL SQL
  best=$(for _ in 1 2 3; do
    psql -X -q -A -t -c '\timing on' -c "$2" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
  done | sort -n | head -1)
  printf '%-40s %10s ms\n' "$1" "$best"
}
echo "catalog: $N tables, $((N * 4)) indexes, $N foreign keys"
t "index_health ($(psql -X -A -t -c 'SELECT count(*) FROM architect.index_health') rows)" "SELECT count(*) FROM architect.index_health"
t "schema_findings ($(psql -X -A -t -c 'SELECT count(*) FROM architect.schema_findings') rows)" "SELECT count(*) FROM architect.schema_findings"
t "findings ($(psql -X -A -t -c 'SELECT count(*) FROM architect.findings') rows)" "SELECT count(*) FROM architect.findings"
t "report('html') ($(psql -X -A -t -c "SELECT length(architect.report('html'))") bytes)" "SELECT length(architect.report('html'))"
