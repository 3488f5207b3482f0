/*-------------------------------------------------------------------------
 *
 * scan_capture.c
 *		What the executor really did, read off a sampled execution's
 *		instrumented plan: per base relation scan, join and sort, the
 *		predicates by shape and the rows they produced and removed.
 *
 * Contract: scan_capture_record() is called from capture_hooks.c's ExecutorEnd
 * for executions that ran with per-node row instrumentation (sampled by
 * pg_architect.sample_rate, or the first executions of a plan the store
 * does not know yet).  It walks the PlanState tree (init plans, subplans,
 * Append / MergeAppend children included), finishes each node's
 * instrumentation loop, and publishes one ScanEvent per scan, join and sort
 * into the scan ring.  Like the rest of the hot path it takes no lock, reads
 * no catalog and never waits: partitions are mapped to their root through
 * the plan's own AppendRelInfos, index-only scan columns through the
 * index's target list, and operators are kept as OIDs that the reader
 * (scan_views.c) classifies with the catalog.  It allocates only in the
 * caller's per-query memory, in proportion to the plan.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/execdesc.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "nodes/plannodes.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "capture/capture.h"

typedef struct WalkContext
{
	PlannedStmt *stmt;
	uint64		queryid;
	TimestampTz now;
	bool		limit_above;	/* the nearest meaningful parent is a Limit */
} WalkContext;

/* ---- resolving columns to (root relation, attno) ----------------------- */

/* Map a range-table index of a partition or inheritance child to its root. */
static Index
root_rti(PlannedStmt *stmt, Index rti, AttrNumber *attno)
{
	bool		moved = true;
	int			guard = 0;

	while (moved && guard++ < 32)
	{
		ListCell   *lc;

		moved = false;
		foreach(lc, stmt->appendRelations)
		{
			AppendRelInfo *ari = lfirst_node(AppendRelInfo, lc);

			if (ari->child_relid != rti)
				continue;
			if (attno && *attno > 0)
			{
				if (*attno <= ari->num_child_cols && ari->parent_colnos)
					*attno = ari->parent_colnos[*attno - 1];
				else
					*attno = 0;
			}
			rti = ari->parent_relid;
			moved = true;
			break;
		}
	}
	return rti;
}

static Oid
rti_relid(PlannedStmt *stmt, Index rti)
{
	RangeTblEntry *rte;

	if (rti == 0 || rti > (Index) list_length(stmt->rtable))
		return InvalidOid;
	rte = rt_fetch(rti, stmt->rtable);
	return rte->rtekind == RTE_RELATION ? rte->relid : InvalidOid;
}

static Expr *
strip_relabel(Expr *e)
{
	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	return e;
}

static Plan *
first_child(Plan *plan, bool inner)
{
	if (inner)
		return innerPlan(plan);
	if (outerPlan(plan))
		return outerPlan(plan);
	if (IsA(plan, Append) && ((Append *) plan)->appendplans)
		return linitial(((Append *) plan)->appendplans);
	if (IsA(plan, MergeAppend) && ((MergeAppend *) plan)->mergeplans)
		return linitial(((MergeAppend *) plan)->mergeplans);
	return NULL;
}

/*
 * Follow a Var from the node that evaluates it down to a base relation
 * column, through OUTER_VAR / INNER_VAR / INDEX_VAR references, subquery
 * scans and append children.  Returns false for anything computed.
 */
static bool
resolve_column(PlannedStmt *stmt, Plan *plan, Expr *expr, Oid *relid, AttrNumber *attno)
{
	int			depth;

	for (depth = 0; depth < 64 && plan != NULL; depth++)
	{
		Var		   *var;
		Plan	   *child;
		TargetEntry *tle;

		expr = strip_relabel(expr);
		if (expr == NULL || !IsA(expr, Var))
			return false;
		var = (Var *) expr;

		if (var->varno == OUTER_VAR || var->varno == INNER_VAR)
		{
			child = first_child(plan, var->varno == INNER_VAR);
			if (child == NULL || var->varattno < 1 || var->varattno > list_length(child->targetlist))
				return false;
			tle = list_nth_node(TargetEntry, child->targetlist, var->varattno - 1);
			expr = tle->expr;
			plan = child;
			continue;
		}
		if (var->varno == INDEX_VAR)
		{
			List	   *itl = IsA(plan, IndexOnlyScan) ? ((IndexOnlyScan *) plan)->indextlist : NIL;

			if (var->varattno < 1 || var->varattno > list_length(itl))
				return false;
			tle = list_nth_node(TargetEntry, itl, var->varattno - 1);
			expr = tle->expr;
			continue;
		}
		if (IsA(plan, SubqueryScan) && var->varno == ((Scan *) plan)->scanrelid)
		{
			child = ((SubqueryScan *) plan)->subplan;
			if (var->varattno < 1 || var->varattno > list_length(child->targetlist))
				return false;
			tle = list_nth_node(TargetEntry, child->targetlist, var->varattno - 1);
			expr = tle->expr;
			plan = child;
			continue;
		}
		if (var->varattno <= 0)
			return false;
		*attno = var->varattno;
		*relid = rti_relid(stmt, root_rti(stmt, var->varno, attno));
		return OidIsValid(*relid) && *attno > 0;
	}
	return false;
}

/* ---- predicates -------------------------------------------------------- */

static bool
contains_extern_param(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param))
		return ((Param *) node)->paramkind == PARAM_EXTERN;
	return expression_tree_walker(node, contains_extern_param, context);
}

/*
 * What a column is compared with.  No catalog lookups here: an expression
 * without columns (a cast, an array of literals, now() - interval …) is a
 * constant to a DBA, or a parameter if it holds a $n.
 */
static ValueKind
value_kind_of(Expr *e)
{
	List	   *vars;

	e = strip_relabel(e);
	if (e == NULL)
		return VALUE_NONE;
	if (IsA(e, Const))
		return VALUE_CONST;
	if (IsA(e, Param))
		return ((Param *) e)->paramkind == PARAM_EXTERN ? VALUE_PARAM : VALUE_OUTER;
	if (IsA(e, Var))
		return VALUE_OUTER;
	vars = pull_var_clause((Node *) e, PVC_RECURSE_AGGREGATES | PVC_RECURSE_WINDOWFUNCS |
						   PVC_RECURSE_PLACEHOLDERS);
	if (vars != NIL)
		return VALUE_EXPR;
	return contains_extern_param((Node *) e, NULL) ? VALUE_PARAM : VALUE_CONST;
}

/*
 * The column a predicate side stands for: a Var, or f(Var) such as
 * lower(col).  With a valid want_relid, only a column of that relation
 * counts; *found_relid reports the relation resolved.
 */
static bool
column_side(PlannedStmt *stmt, Plan *plan, Expr *e, Oid want_relid, AttrNumber *attno,
			Oid *funcid, Oid *found_relid)
{
	Oid			r = InvalidOid;

	e = strip_relabel(e);
	*funcid = InvalidOid;
	if (e && IsA(e, FuncExpr) && list_length(((FuncExpr *) e)->args) >= 1)
	{
		Expr	   *arg = strip_relabel(linitial(((FuncExpr *) e)->args));

		if (arg && IsA(arg, Var))
		{
			*funcid = ((FuncExpr *) e)->funcid;
			e = arg;
		}
	}
	if (e == NULL || !IsA(e, Var))
		return false;
	if (!resolve_column(stmt, plan, e, &r, attno))
		return false;
	if (found_relid)
		*found_relid = r;
	return !OidIsValid(want_relid) || r == want_relid;
}

static bool
like_prefix_constant(Expr *e)
{
	Const	   *c;
	text	   *t;

	e = strip_relabel(e);
	if (e == NULL || !IsA(e, Const))
		return false;
	c = (Const *) e;
	if (c->constisnull ||
		(c->consttype != TEXTOID && c->consttype != VARCHAROID && c->consttype != BPCHAROID))
		return false;
	t = DatumGetTextPP(c->constvalue);
	return VARSIZE_ANY_EXHDR(t) > 0 && VARDATA_ANY(t)[0] != '%' && VARDATA_ANY(t)[0] != '_';
}

static void
add_pred(ScanEvent *ev, ScanPredicate *p)
{
	if (ev->npreds >= SCAN_MAX_PREDS)
	{
		ev->truncated = true;
		return;
	}
	ev->preds[ev->npreds++] = *p;
}

static void
record_clause(PlannedStmt *stmt, Plan *plan, ScanEvent *ev, Expr *clause, uint8 src)
{
	ScanPredicate p;

	memset(&p, 0, sizeof(p));
	p.flags = src;
	clause = strip_relabel(clause);
	if (clause == NULL)
		return;

	if (IsA(clause, BoolExpr) && ((BoolExpr *) clause)->boolop == AND_EXPR)
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) clause)->args)
			record_clause(stmt, plan, ev, lfirst(lc), src);
		return;
	}
	if (IsA(clause, OpExpr) && list_length(((OpExpr *) clause)->args) == 2)
	{
		OpExpr	   *op = (OpExpr *) clause;
		Expr	   *l = linitial(op->args);
		Expr	   *r = lsecond(op->args);

		p.shape = PRED_OP;
		p.opno = op->opno;
		if (column_side(stmt, plan, l, ev->relid, &p.attno, &p.funcid, NULL))
			p.value_kind = value_kind_of(r);
		else if (column_side(stmt, plan, r, ev->relid, &p.attno, &p.funcid, NULL))
		{
			p.value_kind = value_kind_of(l);
			p.flags |= PRED_COMMUTED;
			r = l;
		}
		else
			p.shape = PRED_OTHER;
		if (p.shape == PRED_OP && like_prefix_constant(r))
			p.flags |= PRED_LIKE_PREFIX;
		add_pred(ev, &p);
		return;
	}
	if (IsA(clause, ScalarArrayOpExpr) && list_length(((ScalarArrayOpExpr *) clause)->args) == 2)
	{
		ScalarArrayOpExpr *saop = (ScalarArrayOpExpr *) clause;

		p.shape = saop->useOr ? PRED_IN_LIST : PRED_OTHER;
		p.opno = saop->opno;
		if (column_side(stmt, plan, linitial(saop->args), ev->relid, &p.attno, &p.funcid, NULL))
			p.value_kind = value_kind_of(lsecond(saop->args));
		else
			p.shape = PRED_OTHER;
		add_pred(ev, &p);
		return;
	}
	if (IsA(clause, NullTest))
	{
		NullTest   *nt = (NullTest *) clause;

		p.shape = nt->nulltesttype == IS_NULL ? PRED_IS_NULL : PRED_IS_NOT_NULL;
		if (!column_side(stmt, plan, nt->arg, ev->relid, &p.attno, &p.funcid, NULL))
			p.shape = PRED_OTHER;
		add_pred(ev, &p);
		return;
	}
	if (IsA(clause, Var))
	{
		p.shape = PRED_BOOL;
		p.value_kind = VALUE_CONST;
		if (!column_side(stmt, plan, clause, ev->relid, &p.attno, &p.funcid, NULL))
			p.shape = PRED_OTHER;
		add_pred(ev, &p);
		return;
	}
	/* OR, NOT, subplans, anything else: one "other" entry, column if any. */
	p.shape = PRED_OTHER;
	{
		List	   *vars = pull_var_clause((Node *) clause, PVC_RECURSE_AGGREGATES |
										   PVC_RECURSE_WINDOWFUNCS | PVC_RECURSE_PLACEHOLDERS);

		if (vars != NIL)
			(void) column_side(stmt, plan, linitial(vars), ev->relid, &p.attno, &p.funcid, NULL);
	}
	add_pred(ev, &p);
}

static void
record_clauses(PlannedStmt *stmt, Plan *plan, ScanEvent *ev, List *clauses, uint8 src)
{
	ListCell   *lc;

	foreach(lc, clauses)
		record_clause(stmt, plan, ev, lfirst(lc), src);
}

/* ---- one event per node ----------------------------------------------- */

static void
init_event(ScanEvent *ev, WalkContext *cxt, PlanState *ps, uint8 kind)
{
	Instrumentation *instr = ps->instrument;

	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->dbid = MyDatabaseId;
	ev->queryid = cxt->queryid;
	ev->seen_at = cxt->now;
	ev->limit_above = cxt->limit_above;
	ev->loops = instr->nloops;
	ev->rows_returned = instr->ntuples;
	ev->rows_removed = instr->nfiltered1;
	ev->rows_rechecked_away = instr->nfiltered2;
}

static void
publish_scan(ScanEvent *ev)
{
	(void) ring_publish(capture_shared->scan_ring, ev,
						offsetof(ScanEvent, preds) + ev->npreds * sizeof(ScanPredicate), NULL);
}

static void
record_scan(WalkContext *cxt, PlanState *ps)
{
	Plan	   *plan = ps->plan;
	PlannedStmt *stmt = cxt->stmt;
	ScanEvent	ev;
	AttrNumber	dummy = 0;

	switch (nodeTag(plan))
	{
		case T_SeqScan:
			init_event(&ev, cxt, ps, SCAN_SEQ);
			break;
		case T_IndexScan:
			init_event(&ev, cxt, ps, SCAN_INDEX);
			ev.indexid = ((IndexScan *) plan)->indexid;
			break;
		case T_IndexOnlyScan:
			init_event(&ev, cxt, ps, SCAN_INDEX_ONLY);
			ev.indexid = ((IndexOnlyScan *) plan)->indexid;
			break;
		case T_BitmapHeapScan:
			init_event(&ev, cxt, ps, SCAN_BITMAP);
			if (outerPlan(plan) && IsA(outerPlan(plan), BitmapIndexScan))
				ev.indexid = ((BitmapIndexScan *) outerPlan(plan))->indexid;
			break;
		default:
			return;
	}
	ev.relid = rti_relid(stmt, root_rti(stmt, ((Scan *) plan)->scanrelid, &dummy));
	if (!OidIsValid(ev.relid))
		return;

	switch (nodeTag(plan))
	{
		case T_IndexScan:
			record_clauses(stmt, plan, &ev, ((IndexScan *) plan)->indexqualorig, PRED_SRC_INDEX);
			break;
		case T_IndexOnlyScan:
			record_clauses(stmt, plan, &ev, ((IndexOnlyScan *) plan)->indexqual, PRED_SRC_INDEX);
			break;
		case T_BitmapHeapScan:
			record_clauses(stmt, plan, &ev, ((BitmapHeapScan *) plan)->bitmapqualorig, PRED_SRC_INDEX);
			break;
		default:
			break;
	}
	record_clauses(stmt, plan, &ev, plan->qual, PRED_SRC_FILTER);
	publish_scan(&ev);
}

static void
record_join(WalkContext *cxt, PlanState *ps)
{
	Plan	   *plan = ps->plan;
	PlannedStmt *stmt = cxt->stmt;
	List	   *clauses = NIL;
	ScanEvent	ev;
	ListCell   *lc;
	char		method;

	switch (nodeTag(plan))
	{
		case T_HashJoin:
			clauses = ((HashJoin *) plan)->hashclauses;
			method = 'h';
			break;
		case T_MergeJoin:
			clauses = ((MergeJoin *) plan)->mergeclauses;
			method = 'm';
			break;
		case T_NestLoop:
			method = 'n';
			break;
		default:
			return;
	}
	clauses = list_concat_copy(clauses, ((Join *) plan)->joinqual);

	init_event(&ev, cxt, ps, SCAN_JOIN);
	ev.join_method = method;

	/* Nested loops pass the outer value to the inner scan as a parameter. */
	if (IsA(plan, NestLoop))
	{
		foreach(lc, ((NestLoop *) plan)->nestParams)
		{
			NestLoopParam *nlp = lfirst_node(NestLoopParam, lc);
			ScanPredicate p;
			Oid			r = InvalidOid;

			memset(&p, 0, sizeof(p));
			p.shape = PRED_OP;
			p.value_kind = VALUE_OUTER;
			p.flags = PRED_SRC_JOIN;
			if (!resolve_column(stmt, plan, (Expr *) nlp->paramval, &r, &p.attno))
				continue;
			if (!OidIsValid(ev.relid))
				ev.relid = r;
			if (r != ev.relid)
				continue;
			add_pred(&ev, &p);
		}
	}

	foreach(lc, clauses)
	{
		Expr	   *clause = lfirst(lc);
		OpExpr	   *op;
		Oid			lrel = InvalidOid,
					rrel = InvalidOid;
		ScanPredicate p;

		if (!IsA(clause, OpExpr) || list_length(((OpExpr *) clause)->args) != 2)
			continue;
		op = (OpExpr *) clause;
		memset(&p, 0, sizeof(p));
		if (!resolve_column(stmt, plan, linitial(op->args), &lrel, &p.attno) ||
			!resolve_column(stmt, plan, lsecond(op->args), &rrel, &p.other_attno))
			continue;
		if (!OidIsValid(ev.relid))
			ev.relid = lrel;
		if (!OidIsValid(ev.other_relid) && rrel != ev.relid)
			ev.other_relid = rrel;
		if (lrel != ev.relid || rrel != ev.other_relid)
			continue;			/* another pair of relations: keep one */
		p.shape = PRED_OP;
		p.opno = op->opno;
		p.value_kind = VALUE_OUTER;
		p.flags = PRED_SRC_JOIN;
		add_pred(&ev, &p);
	}
	if (OidIsValid(ev.relid) && ev.npreds > 0)
		publish_scan(&ev);
}

static void
record_sort(WalkContext *cxt, PlanState *ps)
{
	Sort	   *sort = (Sort *) ps->plan;	/* IncrementalSort starts with a Sort */
	Plan	   *child = outerPlan(ps->plan);
	ScanEvent	ev;
	int			i;

	init_event(&ev, cxt, ps, SCAN_SORT);
	for (i = 0; i < sort->numCols && child; i++)
	{
		ScanPredicate p;
		TargetEntry *tle;
		Oid			r = InvalidOid;

		if (sort->sortColIdx[i] < 1 || sort->sortColIdx[i] > list_length(child->targetlist))
			continue;
		tle = list_nth_node(TargetEntry, child->targetlist, sort->sortColIdx[i] - 1);
		memset(&p, 0, sizeof(p));
		p.shape = PRED_SORTKEY;
		p.opno = sort->sortOperators[i];
		if (sort->nullsFirst[i])
			p.flags |= PRED_NULLS_FIRST;
		if (!column_side(cxt->stmt, child, tle->expr, InvalidOid, &p.attno, &p.funcid, &r))
			break;				/* keys after a computed one do not help an index */
		if (!OidIsValid(ev.relid))
			ev.relid = r;
		if (r != ev.relid)
			break;				/* keys from several relations: the prefix on one */
		add_pred(&ev, &p);
	}
	if (OidIsValid(ev.relid) && ev.npreds > 0)
		publish_scan(&ev);
}

static bool
walk_node(PlanState *ps, void *context)
{
	WalkContext *cxt = (WalkContext *) context;
	bool		saved_limit = cxt->limit_above;

	if (ps == NULL)
		return false;
	if (ps->instrument)
	{
		InstrEndLoop(ps->instrument);

		switch (nodeTag(ps->plan))
		{
			case T_SeqScan:
			case T_IndexScan:
			case T_IndexOnlyScan:
			case T_BitmapHeapScan:
				record_scan(cxt, ps);
				break;
			case T_NestLoop:
			case T_HashJoin:
			case T_MergeJoin:
				record_join(cxt, ps);
				break;
			case T_Sort:
			case T_IncrementalSort:
				record_sort(cxt, ps);
				break;
			default:
				break;
		}
	}

	/* A LIMIT reaches through nodes that do not change the order. */
	if (IsA(ps->plan, Limit))
		cxt->limit_above = true;
	else if (!(IsA(ps->plan, Gather) || IsA(ps->plan, GatherMerge) || IsA(ps->plan, Result) ||
			   IsA(ps->plan, Unique) || IsA(ps->plan, Sort) || IsA(ps->plan, IncrementalSort)))
		cxt->limit_above = false;
	if (IsA(ps->plan, Sort) || IsA(ps->plan, IncrementalSort))
		cxt->limit_above = false;	/* below a sort the order is the sort's */

	planstate_tree_walker(ps, walk_node, context);
	cxt->limit_above = saved_limit;
	return false;
}

void
scan_capture_record(QueryDesc *queryDesc)
{
	WalkContext cxt;

	cxt.stmt = queryDesc->plannedstmt;
	cxt.queryid = queryDesc->plannedstmt->queryId;
	cxt.now = GetCurrentStatementStartTimestamp();
	cxt.limit_above = false;
	pg_atomic_fetch_add_u64(&capture_shared->executions_sampled, 1);
	walk_node(queryDesc->planstate, &cxt);
}
