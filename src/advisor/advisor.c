/*-------------------------------------------------------------------------
 *
 * advisor.c
 *		Whole-workload index selection: greedy benefit per byte with
 *		column-append extension steps, validated by re-planning.
 *		SQL: architect.advise_workload(queries, weights, queryids,
 *									  write_stats, candidates),
 *			 architect.advise_query(query).
 *
 * Contract.  Input: statement texts with a weight each (the time the
 * workload spends in the statement, e.g. calls * mean_ms; by default the
 * planner's cost of one execution).  Each statement is analysed once and
 * probed once (advisor_candidates.c), which yields its base cost and the
 * candidates.  Statements that cannot be planned, or whose candidates
 * cannot be built, are skipped whole with a NOTICE (advise_workload: each
 * statement is prepared in its own subtransaction) or raise their error
 * (advise_query).
 *
 * Units.  The benefit of a configuration for statement q is
 * weight_q * (cost_q(before) - cost_q(config)) / cost_q(no new index), so
 * benefits are in the weight's unit and a statement's share never depends
 * on how the planner scales costs.  Maintenance of an index by a DML
 * statement q on its table is weight_q * rows_q * c_entry / cost'_q, where
 * cost'_q adds the maintenance of the table's existing indexes to the
 * plan's cost (the planner does not model it), c_entry = seq_page_cost +
 * cpu_index_tuple_cost + cpu_operator_cost * log2(reltuples) per entry.
 * An UPDATE whose SET columns meet the index's columns loses HOT: it then
 * also writes one entry into every existing index, times the table's HOT
 * ratio (pg_stat_user_tables n_tup_hot_upd / n_tup_upd).  An UPDATE that
 * stays HOT writes no entry.  DELETE writes none (vacuum's cost is not
 * modelled).  With write_stats => true, a table the workload does not write
 * is charged from pg_stat_user_tables instead: (n_tup_ins + non-HOT
 * n_tup_upd) / (seq_scan + idx_scan) entries per execution of each reading
 * statement.  Off by default because the counters include bulk loads and
 * cover a different period than the statements' weights.
 *
 * Selection (Schlosser, Kossmann, Boissier, "Efficient Scalable Multi-
 * Attribute Index Selection Using Recursive Strategies", ICDE 2019, in
 * spirit): repeatedly take the action with the best net benefit per byte —
 * add a candidate (which absorbs chosen indexes whose keys it extends), or
 * extend a chosen btree index by appending one column the workload uses on
 * that table — while the net benefit exceeds
 * pg_architect.advisor_min_benefit_pct of the workload, the storage budget
 * (pg_architect.advisor_storage_budget) holds and the table has fewer than
 * pg_architect.advisor_max_indexes_per_table new indexes.  The search is
 * lazy greedy (CELF, see greedy()): every action is evaluated once, then
 * only the best stale one is re-evaluated before it is applied.  A final
 * pass (prune) drops chosen indexes that later choices made redundant.
 * Candidates given by the caller (e.g. derived from architect.scans) join
 * the pool like the advisor's own.
 *
 * Every plan is made in a scratch memory context that is reset after its
 * cost and used indexes are read.  No shared state, no locks beyond the
 * planner's.
 *
 * Callers: SQL (the two functions above, and through them the
 * architect.index_advice view and advise_pg_stat_statements in
 * sql/parts/55_index_advice.sql); advisor_init from the module table in
 * core/pg_architect.c, which defines the advisor's GUCs
 * (pg_architect.advisor_*) and installs its planner hook.  Depends on the
 * what-if engine (whatif/whatif.h), never the reverse.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/resowner.h"

#include "advisor/advisor.h"
#include "core/pg_architect.h"

PG_FUNCTION_INFO_V1(architect_advise_workload);
PG_FUNCTION_INFO_V1(architect_advise_query);

int			advisor_storage_budget_mb = 0;
int			advisor_max_indexes_per_table = 3;
static bool advisor_write_stats = false;	/* per call, see advise_workload */
double		advisor_min_benefit_pct = 0.1;

/*
 * Module init, from _PG_init: the advisor's GUCs and its planner hook
 * (advisor_candidates.c).  The what-if engine is initialised on its own.
 */
void
advisor_init(void)
{
	static bool done = false;

	if (done)
		return;
	done = true;

	DefineCustomIntVariable("pg_architect.advisor_storage_budget",
							"Disk space the index advisor may spend on new indexes (0 = no limit).",
							NULL,
							&advisor_storage_budget_mb,
							0, 0, INT_MAX / 2,
							PGC_USERSET, GUC_UNIT_MB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pg_architect.advisor_max_indexes_per_table",
							"Most new indexes the advisor recommends on one table.",
							NULL,
							&advisor_max_indexes_per_table,
							3, 1, 32,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomRealVariable("pg_architect.advisor_min_benefit_pct",
							 "Smallest net improvement of the workload's estimated cost, in percent, that an advised index must bring.",
							 NULL,
							 &advisor_min_benefit_pct,
							 0.1, 0.0, 100.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	advisor_install_hooks();
}

typedef struct AdvTable AdvTable;

typedef struct AdvStmt
{
	WhatifStmt *ws;
	int			ordinal;		/* 1-based position in the input */
	double		weight;
	double		base_cost;		/* no new index */
	double		cur_cost;		/* with the current choice */
	double		norm;			/* weight per cost unit */
	List	   *tables;			/* AdvTable * it reads or writes */
	int64		queryid;
	CmdType		cmd;
	double		dml_rows;
	double		maint_cost;		/* base cost + existing index maintenance */
} AdvStmt;

typedef struct Cand
{
	HypoIndex  *h;
	AdvTable   *t;
	char	   *sql;
	const char *origin;
	List	   *keys;			/* int attnos of key columns */
	Bitmapset  *cols;			/* all columns, raw attnos */
	int			version;		/* table version of the cached figures */
	double		gain;
	double		write;
	double		dsize;
	double		ratio;			/* cached action_ratio, -1 if not eligible */
	List	   *replaces;		/* chosen Cand * it absorbs */
	bool		chosen;
	bool		extended;		/* extension actions generated */
} Cand;

struct AdvTable
{
	Oid			relid;
	double		tuples;
	List	   *stmts;			/* AdvStmt * touching the table */
	List	   *cands;			/* Cand * on the table */
	List	   *chosen;			/* Cand * */
	List	   *existing;		/* key lists of existing indexes */
	List	   *pool;			/* int attnos the workload uses here */
	List	   *usesets;		/* Bitmapset * of columns one statement uses together */
	Bitmapset  *indexed;		/* columns of existing indexes */
	int			nindexes;
	double		hot_ratio;
	double		c_entry;
	bool		has_dml;		/* the workload writes this table */
	double		stat_entries_per_scan;	/* pg_stat_user_tables estimate */
	int			version;
};

typedef struct Advisor
{
	MemoryContext cxt;			/* everything of this run */
	MemoryContext scratch;		/* one plan at a time */
	List	   *stmts;
	List	   *tables;
	HTAB	   *seen;			/* candidate sql -> Cand * */
	double		total_weight;
	double		used_bytes;
	int			nplans;
	int			skipped;
	bool		quiet;			/* skipped statements at DEBUG1, not NOTICE */
	char	   *first_skip;
} Advisor;

typedef struct SeenEntry
{
	char		key[1024];
	Cand	   *cand;
} SeenEntry;

static AdvTable *
table_get(Advisor *adv, Oid relid, double tuples)
{
	ListCell   *lc;
	AdvTable   *t;
	Relation	rel;
	List	   *ids;
	double		upd;

	foreach(lc, adv->tables)
	{
		t = (AdvTable *) lfirst(lc);
		if (t->relid == relid)
			return t;
	}
	t = palloc0(sizeof(AdvTable));
	t->relid = relid;
	t->tuples = tuples;
	t->existing = advisor_existing_keys(relid);

	rel = relation_open(relid, AccessShareLock);
	if (tuples <= 0)			/* a DML target the statement does not scan */
		t->tuples = tuples = Max(rel->rd_rel->reltuples, 0);
	ids = RelationGetIndexList(rel);
	t->nindexes = list_length(ids);
	t->indexed = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_ALL);
	relation_close(rel, AccessShareLock);

	/* flushed counters plus this transaction's own, not yet flushed */
	upd = DatumGetInt64(DirectFunctionCall1(pg_stat_get_tuples_updated,
											ObjectIdGetDatum(relid))) +
		DatumGetInt64(DirectFunctionCall1(pg_stat_get_xact_tuples_updated,
										  ObjectIdGetDatum(relid)));
	t->hot_ratio = upd > 0
		? (DatumGetInt64(DirectFunctionCall1(pg_stat_get_tuples_hot_updated,
											 ObjectIdGetDatum(relid))) +
		   DatumGetInt64(DirectFunctionCall1(pg_stat_get_xact_tuples_hot_updated,
											 ObjectIdGetDatum(relid)))) / upd
		: 1.0;
	{
		double		ins = DatumGetInt64(DirectFunctionCall1(pg_stat_get_tuples_inserted,
															ObjectIdGetDatum(relid))) +
			DatumGetInt64(DirectFunctionCall1(pg_stat_get_xact_tuples_inserted,
											  ObjectIdGetDatum(relid)));
		double		scans = DatumGetInt64(DirectFunctionCall1(pg_stat_get_numscans,
															  ObjectIdGetDatum(relid)));
		ListCell   *li;

		/* seq_scan of the table plus idx_scan of its indexes */
		foreach(li, ids)
			scans += DatumGetInt64(DirectFunctionCall1(pg_stat_get_numscans,
													   ObjectIdGetDatum(lfirst_oid(li))));

		/* index entries a new index gets per scan of the table */
		t->stat_entries_per_scan = (ins + upd * (1 - t->hot_ratio)) / Max(scans, 1.0);
	}
	t->c_entry = seq_page_cost + cpu_index_tuple_cost +
		cpu_operator_cost * log2(Max(tuples, 1.0) + 1.0);
	adv->tables = lappend(adv->tables, t);
	return t;
}

/* cost of q with table t configured as "config", other tables as chosen */
static double
plan_cost(Advisor *adv, AdvStmt *q, AdvTable *t, List *config, List **used)
{
	List	   *hypos = NIL;
	ListCell   *lc;
	ListCell   *lc2;
	MemoryContext old;
	PlannedStmt *plan;
	double		cost;

	foreach(lc, q->tables)
	{
		AdvTable   *qt = (AdvTable *) lfirst(lc);

		foreach(lc2, qt == t ? config : qt->chosen)
			hypos = lappend(hypos, ((Cand *) lfirst(lc2))->h);
	}
	old = MemoryContextSwitchTo(adv->scratch);
	plan = whatif_plan(q->ws, hypos);
	cost = plan->planTree->total_cost;
	if (used)
	{
		List	   *u = whatif_used_indexes(plan);

		MemoryContextSwitchTo(old);
		*used = list_copy(u);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(adv->scratch);
	list_free(hypos);
	adv->nplans++;
	CHECK_FOR_INTERRUPTS();
	return cost;
}

/* maintenance of index c by the workload's DML, in weight units */
static double
write_cost(Cand *c)
{
	AdvTable   *t = c->t;
	double		total = 0;
	ListCell   *lc;

	foreach(lc, t->stmts)
	{
		AdvStmt    *q = (AdvStmt *) lfirst(lc);
		double		entries = 0;

		if (q->ws->result_relid != t->relid || q->maint_cost <= 0)
			continue;
		if (q->cmd == CMD_INSERT)
			entries = q->dml_rows;
		else if (q->cmd == CMD_UPDATE || q->cmd == CMD_MERGE)
		{
			double		hot = t->hot_ratio;
			Bitmapset  *upd = NULL;
			int			x = -1;

			while ((x = bms_next_member(q->ws->updated_cols, x)) >= 0)
				upd = bms_add_member(upd, x + FirstLowInvalidHeapAttributeNumber);
			if (bms_overlap(upd, t->indexed))
				hot = 0;		/* already not HOT */
			if (bms_overlap(upd, c->cols))
				entries = q->dml_rows * (1 + hot * t->nindexes);
			else
				entries = q->dml_rows * (1 - hot);
		}
		total += q->weight * entries * t->c_entry / q->maint_cost;
	}

	/*
	 * No DML of this table in the workload: optionally read the write rate
	 * from pg_stat_user_tables, as entries written per scan of the table,
	 * charged to each execution of the statements that read it.
	 */
	if (!t->has_dml && advisor_write_stats)
		foreach(lc, t->stmts)
		{
			AdvStmt    *q = (AdvStmt *) lfirst(lc);

			total += q->norm * t->stat_entries_per_scan * t->c_entry;
		}
	return total;
}

static bool
keys_prefix(List *a, List *b)
{
	int			i;

	if (list_length(a) > list_length(b))
		return false;
	for (i = 0; i < list_length(a); i++)
		if (list_nth_int(a, i) != list_nth_int(b, i))
			return false;
	return true;
}

static void
evaluate(Advisor *adv, Cand *c)
{
	AdvTable   *t = c->t;
	List	   *config = NIL;
	ListCell   *lc;
	double		write;

	c->replaces = NIL;
	c->dsize = c->h->size_bytes;
	write = write_cost(c);
	foreach(lc, t->chosen)
	{
		Cand	   *ch = (Cand *) lfirst(lc);

		if (ch->h->relam == BTREE_AM_OID && c->h->relam == BTREE_AM_OID &&
			ch->h->indpred == NIL && c->h->indpred == NIL &&
			keys_prefix(ch->keys, c->keys))
		{
			c->replaces = lappend(c->replaces, ch);
			c->dsize -= ch->h->size_bytes;
			write -= write_cost(ch);
		}
		else
			config = lappend(config, ch);
	}
	config = lappend(config, c);

	c->gain = 0;
	foreach(lc, t->stmts)
	{
		AdvStmt    *q = (AdvStmt *) lfirst(lc);
		double		cost = plan_cost(adv, q, t, config, NULL);

		c->gain += q->norm * (q->cur_cost - cost);
	}
	c->write = write;
	c->version = t->version;
	list_free(config);
}

static Cand *
cand_add_hypo(Advisor *adv, AdvTable *t, const char *sql, const char *origin,
			  HypoIndex *h);

static Cand *
cand_add(Advisor *adv, AdvTable *t, const char *sql, const char *origin)
{
	return cand_add_hypo(adv, t, sql, origin, NULL);
}

static Cand *
cand_add_hypo(Advisor *adv, AdvTable *t, const char *sql, const char *origin,
			  HypoIndex *h)
{
	SeenEntry  *e;
	bool		found;
	Cand	   *c;
	int			i;

	if (strlen(sql) >= sizeof(e->key))
		return NULL;
	e = hash_search(adv->seen, sql, HASH_ENTER, &found);
	if (found)
		return NULL;
	e->cand = NULL;

	c = palloc0(sizeof(Cand));
	c->t = t;
	c->sql = pstrdup(sql);
	c->origin = origin;
	c->version = -1;
	c->h = h ? h : hypo_from_sql(sql);
	for (i = 0; i < c->h->ncolumns; i++)
	{
		if (i < c->h->nkeycolumns)
			c->keys = lappend_int(c->keys, c->h->indexkeys[i]);
		c->cols = bms_add_member(c->cols, c->h->indexkeys[i]);
	}
	e->cand = c;
	t->cands = lappend(t->cands, c);
	return c;
}

/* Extend-style steps: each chosen btree index plus one more column. */
static void
add_extensions(Advisor *adv, AdvTable *t)
{
	ListCell   *lc;

	foreach(lc, t->chosen)
	{
		Cand	   *ch = (Cand *) lfirst(lc);
		ListCell   *la;

		if (ch->extended || ch->h->relam != BTREE_AM_OID || ch->h->indpred != NIL ||
			ch->h->indexprs != NIL)
			continue;
		ch->extended = true;
		if (ch->h->nkeycolumns >= ADVISOR_MAX_EXTEND_KEYS)
			continue;
		foreach(la, t->pool)
		{
			AttrNumber	a = lfirst_int(la);
			List	   *keys;
			List	   *desc = NIL;
			List	   *inc = NIL;
			int			i;

			ListCell   *ls;
			bool		together = false;

			if (list_member_int(ch->keys, a))
				continue;
			keys = lappend_int(list_copy(ch->keys), a);
			/* only columns some statement uses together with the index's keys */
			foreach(ls, t->usesets)
			{
				Bitmapset  *set = (Bitmapset *) lfirst(ls);
				ListCell   *lk;

				together = true;
				foreach(lk, keys)
					if (!bms_is_member(lfirst_int(lk), set))
					{
						together = false;
						break;
					}
				if (together)
					break;
			}
			if (!together)
				continue;
			if (advisor_prefix_of_existing(keys, t->existing))
				continue;
			for (i = 0; i < ch->h->nkeycolumns; i++)
				desc = lappend_int(desc, (ch->h->reverse_sort[i] ? ADVISOR_DESC : 0) |
								   (ch->h->nulls_first[i] ? ADVISOR_NULLS_FIRST : 0));
			desc = lappend_int(desc, 0);
			for (i = ch->h->nkeycolumns; i < ch->h->ncolumns; i++)
				if (ch->h->indexkeys[i] != a)
					inc = lappend_int(inc, ch->h->indexkeys[i]);
			cand_add(adv, t, advisor_index_sql(t->relid, "btree", keys, desc, inc, NULL),
					 "extension step: a column appended to a chosen index");
		}
	}
}

/* a chosen btree index starts with c's keys and holds all its columns */
static bool
prefix_of_chosen(Cand *c)
{
	ListCell   *lc;

	if (c->h->relam != BTREE_AM_OID || c->h->indpred != NIL)
		return false;
	foreach(lc, c->t->chosen)
	{
		Cand	   *ch = (Cand *) lfirst(lc);

		if (ch->h->relam == BTREE_AM_OID && ch->h->indpred == NIL &&
			ch->h->indexprs == NIL && c->h->indexprs == NIL &&
			keys_prefix(c->keys, ch->keys) && bms_is_subset(c->cols, ch->cols))
			return true;
	}
	return false;
}

/*
 * The ratio an action would be picked by now: net benefit per byte, or -1
 * when it is not eligible (below the threshold, over the budget, or a new
 * index on a table that has reached its cap).
 */
static double
action_ratio(Advisor *adv, Cand *c, double threshold, double budget)
{
	double		net = c->gain - c->write;

	if (net <= threshold)
		return -1;
	if (budget >= 0 && adv->used_bytes + c->dsize > budget)
		return -1;
	if (list_length(c->t->chosen) >= advisor_max_indexes_per_table && c->replaces == NIL)
		return -1;
	return net / Max(c->dsize, (double) BLCKSZ);
}

/*
 * Lazy greedy (CELF): a cached ratio is an upper bound once its table's
 * configuration has changed, because adding indexes only lowers what the
 * others can still gain.  Take the action with the best cached ratio; if
 * it is stale, re-evaluate it and look again; if it is fresh, apply it.
 * The exceptions are actions that absorb the index just chosen (their size
 * and write cost drop): they are marked for re-evaluation.
 */
static void
greedy(Advisor *adv)
{
	double		threshold = adv->total_weight * advisor_min_benefit_pct / 100.0;
	double		budget = advisor_storage_budget_mb > 0
		? (double) advisor_storage_budget_mb * 1024.0 * 1024.0 : -1;
	int			steps = 0;

	for (;;)
	{
		Cand	   *best = NULL;
		double		best_ratio = 0;
		ListCell   *lt;
		ListCell   *lc;

		foreach(lt, adv->tables)
		{
			AdvTable   *t = (AdvTable *) lfirst(lt);

			add_extensions(adv, t);
			foreach(lc, t->cands)
			{
				Cand	   *c = (Cand *) lfirst(lc);
				double		ratio;

				if (c->chosen || prefix_of_chosen(c))
					continue;
				ratio = c->version < 0 ? get_float8_infinity() : c->ratio;
				if (ratio > best_ratio)
				{
					best_ratio = ratio;
					best = c;
				}
			}
		}
		if (best == NULL || ++steps > 100000)
			break;

		if (best->version != best->t->version)
		{
			evaluate(adv, best);
			best->ratio = action_ratio(adv, best, threshold, budget);
			continue;
		}
		/* fresh, but the budget or the cap may have moved since */
		best->ratio = action_ratio(adv, best, threshold, budget);
		if (best->ratio <= 0)
			continue;

		/* apply */
		{
			AdvTable   *t = best->t;

			foreach(lc, best->replaces)
			{
				Cand	   *r = (Cand *) lfirst(lc);

				r->chosen = false;
				t->chosen = list_delete_ptr(t->chosen, r);
			}
			best->chosen = true;
			t->chosen = lappend(t->chosen, best);
			adv->used_bytes += best->dsize;
			foreach(lc, t->stmts)
			{
				AdvStmt    *q = (AdvStmt *) lfirst(lc);

				q->cur_cost = plan_cost(adv, q, t, t->chosen, NULL);
			}
			t->version++;
			foreach(lc, t->cands)
			{
				Cand	   *c = (Cand *) lfirst(lc);

				if (!c->chosen && c->h->relam == BTREE_AM_OID &&
					keys_prefix(best->keys, c->keys))
					c->version = -1;
			}
		}
	}
}

/*
 * Greedy steps can leave an early, smaller index that a later one made
 * redundant (its table's statements now prefer the later one).  Drop every
 * chosen index whose removal loses less than the threshold, worst first.
 */
static void
prune(Advisor *adv)
{
	double		threshold = adv->total_weight * advisor_min_benefit_pct / 100.0;
	bool		again = true;

	while (again)
	{
		ListCell   *lt;
		Cand	   *worst = NULL;
		double		worst_net = 0;

		again = false;
		foreach(lt, adv->tables)
		{
			AdvTable   *t = (AdvTable *) lfirst(lt);
			ListCell   *lc;

			foreach(lc, t->chosen)
			{
				Cand	   *c = (Cand *) lfirst(lc);
				List	   *without = list_delete_ptr(list_copy(t->chosen), c);
				double		marginal = 0;
				ListCell   *lq;
				double		net;

				foreach(lq, t->stmts)
				{
					AdvStmt    *q = (AdvStmt *) lfirst(lq);

					marginal += q->norm * (plan_cost(adv, q, t, without, NULL) - q->cur_cost);
				}
				net = marginal - write_cost(c);
				if (net <= threshold && (worst == NULL || net < worst_net))
				{
					worst = c;
					worst_net = net;
				}
				list_free(without);
			}
		}
		if (worst)
		{
			AdvTable   *t = worst->t;
			ListCell   *lq;

			worst->chosen = false;
			t->chosen = list_delete_ptr(t->chosen, worst);
			adv->used_bytes -= worst->h->size_bytes;
			foreach(lq, t->stmts)
			{
				AdvStmt    *q = (AdvStmt *) lfirst(lq);

				q->cur_cost = plan_cost(adv, q, t, t->chosen, NULL);
			}
			t->version++;
			again = true;
		}
	}
}

static void
skip_statement(Advisor *adv, ErrorData *edata)
{
	adv->skipped++;
	if (adv->first_skip == NULL)
		adv->first_skip = pstrdup(edata->message);
}

/*
 * Everything about one statement that can fail: analysis, the probe plan,
 * the candidates and their hypothetical indexes.  Touches nothing of the
 * advisor but reads its candidate table, so that a failure leaves no trace.
 */
static PlannedStmt *
prepare_statement(Advisor *adv, AdvStmt *q, const char *text, List **uses)
{
	PlannedStmt *plan;
	ListCell   *lc;

	q->ws = whatif_prepare(text);
	plan = advisor_probe(q->ws, uses);
	foreach(lc, *uses)
	{
		RelUse	   *use = (RelUse *) lfirst(lc);
		ListCell   *ls;

		use->specs = advisor_candidates(use, advisor_existing_keys(use->relid));
		foreach(ls, use->specs)
		{
			CandSpec   *spec = (CandSpec *) lfirst(ls);

			if (strlen(spec->sql) < sizeof(((SeenEntry *) 0)->key) &&
				hash_search(adv->seen, spec->sql, HASH_FIND, NULL) == NULL)
				spec->h = hypo_from_sql(spec->sql);
		}
	}
	return plan;
}

/* analyse + probe one statement; on failure (lenient mode) skip it */
static void
add_statement(Advisor *adv, const char *text, int ordinal, double weight,
			  bool has_weight, int64 queryid, bool strict)
{
	AdvStmt    *q = palloc0(sizeof(AdvStmt));
	List	   *uses = NIL;
	PlannedStmt *plan = NULL;
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ListCell   *lc;

	if (strict)
		plan = prepare_statement(adv, q, text, &uses);
	else
	{
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			plan = prepare_statement(adv, q, text, &uses);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			skip_statement(adv, edata);
			return;
		}
		PG_END_TRY();
	}

	q->ordinal = ordinal;
	q->cmd = q->ws->query->commandType;
	q->queryid = queryid != 0 ? queryid : q->ws->queryid;
	q->base_cost = q->cur_cost = plan->planTree->total_cost;

	foreach(lc, uses)
	{
		RelUse	   *use = (RelUse *) lfirst(lc);
		AdvTable   *t = table_get(adv, use->relid, use->tuples);
		ListCell   *ls;
		ListCell   *la;

		if (!list_member_ptr(q->tables, t))
		{
			q->tables = lappend(q->tables, t);
			t->stmts = lappend(t->stmts, q);
		}
		foreach(la, use->eq)
			t->pool = list_append_unique_int(t->pool, lfirst_int(la));
		foreach(la, use->range)
			t->pool = list_append_unique_int(t->pool, lfirst_int(la));
		foreach(la, use->sort)
			t->pool = list_append_unique_int(t->pool, lfirst_int(la));
		foreach(la, use->join)
			t->pool = list_append_unique_int(t->pool, lfirst_int(la));
		{
			Bitmapset  *set = NULL;

			foreach(la, use->eq)
				set = bms_add_member(set, lfirst_int(la));
			foreach(la, use->range)
				set = bms_add_member(set, lfirst_int(la));
			foreach(la, use->sort)
				set = bms_add_member(set, lfirst_int(la));
			foreach(la, use->join)
				set = bms_add_member(set, lfirst_int(la));
			if (set)
				t->usesets = lappend(t->usesets, set);
		}

		foreach(ls, use->specs)
		{
			CandSpec   *spec = (CandSpec *) lfirst(ls);

			cand_add_hypo(adv, t, spec->sql, spec->origin, spec->h);
		}
	}

	/* DML: rows written and the maintenance the planner leaves out */
	if (q->ws->result_relid != InvalidOid)
	{
		Plan	   *p = plan->planTree;
		AdvTable   *t = table_get(adv, q->ws->result_relid, 0);

		if (!list_member_ptr(q->tables, t))
		{
			q->tables = lappend(q->tables, t);
			t->stmts = lappend(t->stmts, q);
		}
		t->has_dml = true;
		q->dml_rows = Max(1.0, (IsA(p, ModifyTable) && p->lefttree)
						  ? p->lefttree->plan_rows : p->plan_rows);
		q->maint_cost = q->base_cost +
			q->dml_rows * t->c_entry * (q->cmd == CMD_DELETE ? 0 : t->nindexes + 1);
	}

	if (has_weight)
		q->weight = weight;
	else
		q->weight = Max(q->maint_cost, q->base_cost);
	q->norm = q->base_cost > 0 ? q->weight / q->base_cost : 0;
	adv->total_weight += q->weight;
	adv->stmts = lappend(adv->stmts, q);
}

static Advisor *
advisor_create(void)
{
	Advisor    *adv = palloc0(sizeof(Advisor));
	HASHCTL		ctl;

	adv->cxt = CurrentMemoryContext;
	adv->scratch = AllocSetContextCreate(CurrentMemoryContext, "architect advisor plan",
										 ALLOCSET_DEFAULT_SIZES);
	ctl.keysize = sizeof(((SeenEntry *) 0)->key);
	ctl.entrysize = sizeof(SeenEntry);
	ctl.hcxt = CurrentMemoryContext;
	adv->seen = hash_create("architect advisor candidates", 1024, &ctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	return adv;
}

static int
cmp_benefit(const ListCell *a, const ListCell *b)
{
	double		x = ((double *) lfirst(a))[0];
	double		y = ((double *) lfirst(b))[0];

	return x > y ? -1 : (x < y ? 1 : 0);
}

/* Produce the result rows of the chosen configuration. */
static void
advisor_emit(Advisor *adv, FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lt;
	List	   *rows = NIL;
	ListCell   *lc;

	foreach(lt, adv->tables)
	{
		AdvTable   *t = (AdvTable *) lfirst(lt);

		foreach(lc, t->chosen)
		{
			Cand	   *c = (Cand *) lfirst(lc);
			List	   *without = list_copy(t->chosen);
			double		marginal = 0;
			double		before = 0;
			double		after = 0;
			Datum	   *qids;
			int			nq = 0;
			ListCell   *lq;
			Datum	   *cols;
			int			i;
			Datum		values[10];
			bool		nulls[10] = {false};
			StringInfoData reason;
			double	   *row;
			double		write = write_cost(c);

			without = list_delete_ptr(without, c);
			qids = palloc0(sizeof(Datum) * (list_length(t->stmts) + 1));
			foreach(lq, t->stmts)
			{
				AdvStmt    *q = (AdvStmt *) lfirst(lq);
				List	   *used = NIL;
				double		with_cost = plan_cost(adv, q, t, t->chosen, &used);
				double		without_cost = plan_cost(adv, q, t, without, NULL);

				marginal += q->norm * (without_cost - with_cost);
				if (list_member_oid(used, c->h->oid) && with_cost < q->base_cost * 0.999)
				{
					qids[nq++] = Int64GetDatum(q->queryid);
					before += q->base_cost;
					after += with_cost;
				}
			}
			if (nq == 0 || marginal <= 0)
				continue;		/* the planner does not need it in the end */

			cols = palloc0(sizeof(Datum) * c->h->nkeycolumns);
			for (i = 0; i < c->h->nkeycolumns; i++)
				cols[i] = CStringGetTextDatum(hypo_columns_text(c->h, i));

			values[0] = ObjectIdGetDatum(t->relid);
			values[1] = PointerGetDatum(construct_array(cols, c->h->nkeycolumns, TEXTOID,
														-1, false, TYPALIGN_INT));
			values[2] = CStringGetTextDatum(get_am_name(c->h->relam));
			values[3] = CStringGetTextDatum(hypo_ddl(c->h, true));
			values[4] = CStringGetTextDatum(psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s",
													 quote_qualified_identifier(get_namespace_name(get_rel_namespace(t->relid)),
																				c->h->name)));
			values[5] = Int64GetDatum((int64) c->h->size_bytes);
			values[6] = Float8GetDatum(adv->total_weight > 0
									   ? 100.0 * marginal / adv->total_weight : 0);
			values[7] = PointerGetDatum(construct_array(qids, nq, INT8OID, 8,
														FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			values[8] = Float8GetDatum(adv->total_weight > 0
									   ? 100.0 * write / adv->total_weight : 0);
			initStringInfo(&reason);
			appendStringInfo(&reason, "%s; used by %d statement%s, estimated cost %.1f -> %.1f",
							 c->origin, nq, nq == 1 ? "" : "s", before, after);
			if (c->h->ncolumns > c->h->nkeycolumns)
				appendStringInfoString(&reason, "; INCLUDE columns allow an index-only scan");
			if (write > 0)
				appendStringInfo(&reason, "; maintenance by the workload's writes %.2f %% (HOT ratio %.2f)",
								 100.0 * write / adv->total_weight, t->hot_ratio);
			values[9] = CStringGetTextDatum(reason.data);

			row = palloc(sizeof(double) + sizeof(Datum) * 10 + sizeof(bool) * 10);
			row[0] = DatumGetFloat8(values[6]);
			memcpy((char *) row + sizeof(double), values, sizeof(Datum) * 10);
			memcpy((char *) row + sizeof(double) + sizeof(Datum) * 10, nulls, sizeof(bool) * 10);
			rows = lappend(rows, row);
		}
	}
	list_sort(rows, cmp_benefit);
	foreach(lc, rows)
	{
		char	   *row = (char *) lfirst(lc);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 (Datum *) (row + sizeof(double)),
							 (bool *) (row + sizeof(double) + sizeof(Datum) * 10));
	}
	if (adv->skipped > 0)
		ereport(adv->quiet ? DEBUG1 : NOTICE,
				(errmsg("skipped %d of %d statements that cannot be planned",
						adv->skipped, adv->skipped + list_length(adv->stmts)),
				 errdetail("First error: %s", adv->first_skip)));
	ereport(DEBUG1,
			(errmsg("index advisor: %d statements, %d tables, %d plans",
					list_length(adv->stmts), list_length(adv->tables), adv->nplans)));
}

/*
 * architect.advise_workload(queries text[], weights float8[] DEFAULT NULL,
 *							 queryids bigint[] DEFAULT NULL,
 *							 write_stats boolean DEFAULT false,
 *							 candidates text[] DEFAULT NULL,
 *							 quiet boolean DEFAULT false,
 *							 search_path text DEFAULT NULL)
 *
 * quiet: statements that cannot be planned are reported at DEBUG1 instead
 * of a NOTICE.  architect.index_advice sets it: a captured workload
 * routinely holds statements on tables dropped since.
 */
Datum
architect_advise_workload(PG_FUNCTION_ARGS)
{
	List	   *texts;
	Datum	   *wdat = NULL;
	bool	   *wnull = NULL;
	int			nw = 0;
	Datum	   *qdat = NULL;
	bool	   *qnull = NULL;
	int			nqid = 0;
	Advisor    *adv;
	ListCell   *lc;
	int			i;
	int			guc_nestlevel = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("queries must not be null"),
				 errhint("Pass an array of statement texts, for example ARRAY['SELECT ...'].")));
	InitMaterializedSRF(fcinfo, 0);
	texts = whatif_text_array(PG_GETARG_ARRAYTYPE_P(0), "queries");
	if (!PG_ARGISNULL(1))
	{
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), FLOAT8OID, 8, FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &wdat, &wnull, &nw);
		if (nw != list_length(texts))
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("weights has %d elements but queries has %d", nw, list_length(texts)),
					 errhint("Give one weight per statement, or NULL for planner-cost weights.")));
		for (i = 0; i < nw; i++)
			if (wnull[i] || !(DatumGetFloat8(wdat[i]) >= 0) || isinf(DatumGetFloat8(wdat[i])))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("weight %d is not a finite non-negative number", i + 1),
						 errhint("A weight is the time the workload spends in the statement, e.g. calls * mean_ms.")));
	}
	if (!PG_ARGISNULL(2))
	{
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), INT8OID, 8, FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &qdat, &qnull, &nqid);
		if (nqid != list_length(texts))
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("queryids has %d elements but queries has %d", nqid, list_length(texts)),
					 errhint("Give one query id per statement, or NULL to compute them.")));
	}

	advisor_write_stats = PG_NARGS() > 3 && !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	adv = advisor_create();
	adv->quiet = PG_NARGS() > 5 && !PG_ARGISNULL(5) && PG_GETARG_BOOL(5);

	/*
	 * Plan the statements under the given search_path (index_advice passes
	 * the session default, the one the application's sessions start with),
	 * not the caller's: a caller such as the findings register pins its own.
	 * Scoped like a function's SET clause: undone on return, and by the
	 * transaction's abort on error.
	 */
	if (PG_NARGS() > 6 && !PG_ARGISNULL(6))
	{
		guc_nestlevel = NewGUCNestLevel();
		(void) set_config_option("search_path", text_to_cstring(PG_GETARG_TEXT_PP(6)),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	}
	i = 0;
	foreach(lc, texts)
	{
		add_statement(adv, (const char *) lfirst(lc), i + 1,
					  wdat ? DatumGetFloat8(wdat[i]) : 0, wdat != NULL,
					  (qdat && !qnull[i]) ? DatumGetInt64(qdat[i]) : 0, false);
		i++;
	}

	/* candidates from elsewhere (e.g. architect.scans), as CREATE INDEX texts */
	if (PG_NARGS() > 4 && !PG_ARGISNULL(4))
	{
		foreach(lc, whatif_text_array(PG_GETARG_ARRAYTYPE_P(4), "candidates"))
		{
			const char *sql = (const char *) lfirst(lc);
			HypoIndex  *h = hypo_from_sql(sql);
			ListCell   *lt;
			List	   *keys = NIL;
			int			k;

			for (k = 0; k < h->nkeycolumns; k++)
				keys = lappend_int(keys, h->indexkeys[k]);
			foreach(lt, adv->tables)
			{
				AdvTable   *t = (AdvTable *) lfirst(lt);

				/* only tables the workload reads, never an existing prefix */
				if (t->relid == h->relid && t->stmts != NIL &&
					!advisor_prefix_of_existing(keys, t->existing))
					cand_add_hypo(adv, t, sql, "given candidate", h);
			}
		}
	}
	greedy(adv);
	prune(adv);
	advisor_emit(adv, fcinfo);
	MemoryContextDelete(adv->scratch);
	if (guc_nestlevel > 0)
		AtEOXact_GUC(true, guc_nestlevel);
	return (Datum) 0;
}

/* architect.advise_query(query text): the same, for one statement, strict */
Datum
architect_advise_query(PG_FUNCTION_ARGS)
{
	Advisor    *adv;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query must not be null"),
				 errhint("Pass the text of a SELECT, INSERT, UPDATE or DELETE statement.")));
	InitMaterializedSRF(fcinfo, 0);
	advisor_write_stats = false;
	adv = advisor_create();
	add_statement(adv, text_to_cstring(PG_GETARG_TEXT_PP(0)), 1, 0, false, 0, true);
	greedy(adv);
	prune(adv);
	advisor_emit(adv, fcinfo);
	MemoryContextDelete(adv->scratch);
	return (Datum) 0;
}
