/*-------------------------------------------------------------------------
 *
 * plan_id.c
 *		Plan id: a hash of a plan tree's shape; and the plan's EXPLAIN text.
 *
 * Contract: plan_shape_id() is called on the hot path (ExecutorEnd) for
 * every captured execution, so it is a plain walk of the plan tree with no
 * allocation, no catalog access and no lock: a few dozen instructions for a
 * point query.  It hashes what decides how a statement runs — node types,
 * relations and indexes (by OID), join types, scan directions, aggregation
 * strategies, the shape of subplans — and nothing that varies between
 * executions (constants, costs, row estimates, worker counts).  So a point
 * query keeps its plan id over any constant, and gets a new one when its
 * index is dropped and it turns into a sequential scan.
 *
 * Computing it from the executed PlannedStmt (rather than in planner_hook)
 * also covers cached and generic plans, which never pass the planner again.
 *
 * plan_explain_text() runs PostgreSQL's EXPLAIN (costs, text format) over
 * the executed plan; capture_hooks.c calls it once per new (query, plan)
 * pair.  It runs in the query's backend, in the caller's memory context,
 * and takes no lock of ours (EXPLAIN reads the catalog as any EXPLAIN does).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/explain.h"
#include "executor/execdesc.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"

#include "capture/capture.h"

static inline uint64
mix_in(uint64 h, uint64 v)
{
	h ^= v + UINT64CONST(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
	return h;
}

static uint64 hash_plan(uint64 h, Plan *plan, List *rtable);

static uint64
hash_plan_list(uint64 h, List *plans, List *rtable)
{
	ListCell   *lc;

	foreach(lc, plans)
		h = hash_plan(h, (Plan *) lfirst(lc), rtable);
	return h;
}

static uint64
hash_relation(uint64 h, Index scanrelid, List *rtable)
{
	if (scanrelid > 0 && scanrelid <= list_length(rtable))
	{
		RangeTblEntry *rte = rt_fetch(scanrelid, rtable);

		h = mix_in(h, rte->rtekind);
		if (rte->rtekind == RTE_RELATION)
			h = mix_in(h, rte->relid);
	}
	return h;
}

static uint64
hash_plan(uint64 h, Plan *plan, List *rtable)
{
	if (plan == NULL)
		return mix_in(h, 0xdead);

	h = mix_in(h, nodeTag(plan));

	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_TidScan:
		case T_TidRangeScan:
		case T_ForeignScan:
		case T_BitmapHeapScan:
			h = hash_relation(h, ((Scan *) plan)->scanrelid, rtable);
			break;
		case T_IndexScan:
			h = hash_relation(h, ((Scan *) plan)->scanrelid, rtable);
			h = mix_in(h, ((IndexScan *) plan)->indexid);
			h = mix_in(h, ((IndexScan *) plan)->indexorderdir);
			break;
		case T_IndexOnlyScan:
			h = hash_relation(h, ((Scan *) plan)->scanrelid, rtable);
			h = mix_in(h, ((IndexOnlyScan *) plan)->indexid);
			h = mix_in(h, ((IndexOnlyScan *) plan)->indexorderdir);
			break;
		case T_BitmapIndexScan:
			h = mix_in(h, ((BitmapIndexScan *) plan)->indexid);
			break;
		case T_NestLoop:
		case T_MergeJoin:
		case T_HashJoin:
			h = mix_in(h, ((Join *) plan)->jointype);
			break;
		case T_Agg:
			h = mix_in(h, ((Agg *) plan)->aggstrategy);
			break;
		case T_SetOp:
			h = mix_in(h, ((SetOp *) plan)->strategy);
			break;
		case T_ModifyTable:
			h = mix_in(h, ((ModifyTable *) plan)->operation);
			h = hash_relation(h, ((ModifyTable *) plan)->nominalRelation, rtable);
			break;
		case T_SubqueryScan:
			h = hash_plan(h, ((SubqueryScan *) plan)->subplan, rtable);
			break;
		case T_Append:
			h = hash_plan_list(h, ((Append *) plan)->appendplans, rtable);
			break;
		case T_MergeAppend:
			h = hash_plan_list(h, ((MergeAppend *) plan)->mergeplans, rtable);
			break;
		case T_BitmapAnd:
			h = hash_plan_list(h, ((BitmapAnd *) plan)->bitmapplans, rtable);
			break;
		case T_BitmapOr:
			h = hash_plan_list(h, ((BitmapOr *) plan)->bitmapplans, rtable);
			break;
		case T_CustomScan:
			h = hash_plan_list(h, ((CustomScan *) plan)->custom_plans, rtable);
			break;
		default:
			break;
	}

	h = hash_plan(h, plan->lefttree, rtable);
	if (plan->righttree)
		h = hash_plan(h, plan->righttree, rtable);
	return h;
}

uint64
plan_shape_id(PlannedStmt *stmt)
{
	uint64		h = UINT64CONST(0xcbf29ce484222325);
	ListCell   *lc;

	h = mix_in(h, stmt->commandType);
	h = hash_plan(h, stmt->planTree, stmt->rtable);
	/* Init plans and subplans (SubPlan nodes refer to them by position). */
	foreach(lc, stmt->subplans)
		h = hash_plan(h, (Plan *) lfirst(lc), stmt->rtable);

	/* Final avalanche so that close shapes land far apart. */
	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

char *
plan_explain_text(QueryDesc *queryDesc)
{
	ExplainState *es = NewExplainState();

	es->analyze = false;
	es->verbose = false;
	es->buffers = false;
	es->costs = true;
	es->format = EXPLAIN_FORMAT_TEXT;

	ExplainBeginOutput(es);
	ExplainPrintPlan(es, queryDesc);
	ExplainEndOutput(es);

	/* Drop the trailing newline, as auto_explain does. */
	if (es->str->len > 0 && es->str->data[es->str->len - 1] == '\n')
		es->str->data[--es->str->len] = '\0';
	return es->str->data;
}
