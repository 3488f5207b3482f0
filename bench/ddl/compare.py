#!/usr/bin/env python3
"""Judge bench/ddl/corpus.txt with architect.check_ddl and with squawk; print
each tool's misses and false alarms.

An alarm from pg_architect is risk = 'high' (what the live guard warns about
or blocks); the line "pg_architect medium+" also counts 'medium' (brief
AccessExclusiveLock, catalog-only) as an alarm, for a stricter reading.  An alarm from squawk is any violation reported for the
statement; it is counted twice: with all of squawk's default rules, and with
only its lock-safety rules (style, naming, robustness and blanket timeout
rules left out), the most favourable reading for squawk.

Environment: PGHOST/PGPORT/PGDATABASE of a database loaded with setup.sql;
SQUAWK = path of the squawk binary (npm package squawk-cli).
"""
import json, os, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
SQUAWK = os.environ.get("SQUAWK", "squawk")
# squawk rules that are not about locks held during rewrites or scans.
NOT_LOCK_RULES = {
    "prefer-robust-stmts", "prefer-bigint-over-int", "prefer-bigint-over-smallint",
    "prefer-identity", "prefer-text-field", "prefer-timestamptz", "prefer-timestamp-tz",
    "ban-char-field", "require-lock-timeout", "require-statement-timeout",
    "ban-drop-column", "ban-drop-table", "ban-drop-database", "renaming-column",
    "renaming-table", "ban-truncate-cascade", "ban-drop-not-null", "require-table-schema",
}
FRESH = "CREATE TABLE fresh AS SELECT g AS a, md5(g::text) AS b FROM generate_series(1, 300000) g;"
RISK = "SELECT coalesce(max(CASE risk WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END), 0) FROM architect.check_ddl($corpus${}$corpus$);"


def psql(script, fail=True):
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
                       input=script, capture_output=True, text=True)
    if r.returncode != 0:
        if not fail:
            return None
        sys.exit("psql failed: " + r.stderr)
    return r.stdout.strip()


def ours(label, ctx, stmt):
    q = RISK.format(stmt)
    if ctx == "tx":
        q = "BEGIN;\n" + FRESH + "\n" + q + "\nROLLBACK;\n"
    return ["none", "low", "medium", "high"][int(psql(q).splitlines()[-1])]


def squawk(ctx, stmt):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        if ctx == "tx":
            f.write("BEGIN;\nCREATE TABLE fresh (a int, b text);\n%s;\nCOMMIT;\n" % stmt)
            line = 2
        else:
            f.write("%s;\n" % stmt)
            line = 0
        path = f.name
    r = subprocess.run([SQUAWK, "--pg-version=15", "--reporter", "json", path],
                       capture_output=True, text=True)
    os.unlink(path)
    try:
        found = json.loads(r.stdout or "[]")
    except json.JSONDecodeError:
        sys.exit("squawk output is not JSON: " + r.stdout + r.stderr)
    return sorted({v["rule_name"] for v in found if v["line"] == line})


VERIFY = """SET pg_architect.ddl_guard = off;
SET lock_timeout = '5s';
BEGIN;
DROP MATERIALIZED VIEW mv;  -- it pins orders.customer_id's type
SELECT pg_relation_filenode('{rel}') AS f0,
       coalesce((SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = '{rel}'::regclass), 0) AS s0 \\gset
SELECT bool_or(rewrites_table) AS pr, bool_or(scans_table OR rewrites_table) AS ps,
       (array_agg(lock_mode ORDER BY array_position(:'modes'::text[], lock_mode) DESC))[1] AS pl
  FROM architect.check_ddl($corpus${stmt}$corpus$) WHERE relation = 'public.{rel}' \\gset
SELECT '{rel}'::regclass::oid AS relid \\gset
{stmt};
SELECT :'pr' || ' ' || :'ps' || ' ' || (pg_relation_filenode(:relid) <> :f0) || ' ' ||
       (pg_relation_filenode(:relid) <> :f0 OR
        coalesce((SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = :relid), 0) > :s0) || ' ' ||
       :'pl' || ' ' ||
       (SELECT mode FROM pg_locks WHERE locktype = 'relation' AND relation = :relid
           AND pid = pg_backend_pid() AND granted
         ORDER BY array_position(:'modes'::text[], mode) DESC LIMIT 1);
ROLLBACK;
"""
MODES = "{AccessShareLock,RowShareLock,RowExclusiveLock,ShareUpdateExclusiveLock,ShareLock,ShareRowExclusiveLock,ExclusiveLock,AccessExclusiveLock}"


def verify(corpus):
    """Run each statement on 'orders' that can run in a transaction block,
    then roll back: did the table's file change (a rewrite) and did a
    sequential scan happen, as check_ddl predicted?"""
    print()
    print("verification: statements on orders (and the attached partitions) run inside BEGIN ... ROLLBACK;")
    print("rewrite = relfilenode changed; read all = rewrite or a sequential scan counted in pg_stat_xact_user_tables;")
    print("lock = the strongest lock this backend holds on the table afterwards (pg_locks)")
    wrong = checked = 0
    for i, (label, ctx, stmt) in enumerate(corpus, 1):
        if "ATTACH PARTITION " in stmt:
            rel = stmt.split("ATTACH PARTITION ")[1].split()[0]
        elif "orders" in stmt:
            rel = "orders"
        else:
            continue
        if ctx != "big" or "CONCURRENTLY" in stmt or stmt.startswith(("VACUUM", "REFRESH")):
            continue
        out = psql("\\set modes '%s'\n" % MODES + VERIFY.replace("{rel}", rel).replace("{stmt}", stmt), fail=False)
        if out is None:
            print("  #%d could not run in a transaction: %s" % (i, stmt))
            continue
        out = out.splitlines()[-1].split()
        pr, ps, ar, aread = (x in ("t", "true") for x in out[:4])
        plock, alock = out[4], out[5]
        checked += 1
        if (pr, ps, plock) != (ar, aread, alock):
            wrong += 1
            print("  MISMATCH #%d %s: predicted rewrite=%s read-all=%s lock=%s, actual rewrite=%s read-all=%s lock=%s"
                  % (i, stmt, pr, ps, plock, ar, aread, alock))
    print("verified %d statements against what PostgreSQL did (rewrite, full read, strongest lock held): %d mismatches" % (checked, wrong))
    return wrong


def main():
    corpus = []
    for ln in open(os.path.join(HERE, "corpus.txt")):
        if ln.strip() and not ln.startswith("#"):
            label, ctx, stmt = ln.rstrip("\n").split("|", 2)
            corpus.append((label, ctx, stmt))

    t0 = time.time()
    our = [ours(*c) for c in corpus]
    t_ours = time.time() - t0
    t0 = time.time()
    sq = [squawk(c[1], c[2]) for c in corpus]
    t_sq = time.time() - t0

    version = subprocess.run([SQUAWK, "--version"], capture_output=True, text=True).stdout.strip()
    tally = {k: {"miss": [], "false": []} for k in ("pg_architect", "pg_architect medium+", "squawk (all rules)", "squawk (lock rules)")}
    print("%-3s %-5s %-6s %-7s %s" % ("#", "label", "ctx", "ours", "statement  ->  squawk rules"))
    for i, ((label, ctx, stmt), o, s) in enumerate(zip(corpus, our, sq), 1):
        lock_rules = [r for r in s if r not in NOT_LOCK_RULES]
        alarms = {"pg_architect": o == "high", "pg_architect medium+": o in ("medium", "high"),
                  "squawk (all rules)": bool(s),
                  "squawk (lock rules)": bool(lock_rules)}
        for tool, alarm in alarms.items():
            if label == "D" and not alarm:
                tally[tool]["miss"].append(i)
            if label == "S" and alarm:
                tally[tool]["false"].append(i)
        print("%-3d %-5s %-6s %-7s %s  ->  %s" % (i, label, ctx, o, stmt, ", ".join(s) or "-"))

    nd = sum(1 for c in corpus if c[0] == "D")
    print()
    print("corpus: %d statements, %d dangerous, %d safe; %s" % (len(corpus), nd, len(corpus) - nd, version))
    for tool, t in tally.items():
        print("%-20s misses %2d %-28s false alarms %2d %s" % (
            tool + ":", len(t["miss"]), str(t["miss"]), len(t["false"]), t["false"]))
    print("time: check_ddl %.2f s (one psql call per statement, incl. creating 'fresh' for tx rows), squawk %.2f s" % (t_ours, t_sq))
    wrong = verify(corpus) if os.environ.get("VERIFY", "1") == "1" else 0
    return 0 if not tally["pg_architect"]["miss"] and not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
