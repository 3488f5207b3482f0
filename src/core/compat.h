/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every difference between the PostgreSQL major versions pg_architect
 *		builds against (15, 16, 17, 18), in one place.
 *
 * Contract: the rest of the code is written against one vocabulary (the
 * PGA_* macros and pga_* inline functions below) and never tests
 * PG_VERSION_NUM itself.  Each guard names the release that changed the
 * thing and what changed, so that dropping an old version means deleting
 * the #else branches here.  Tested on 15, 17 and 18; the 16 branches follow
 * the 16 headers and release notes (16 changed the cumulative-statistics
 * field names, moved queryjumble.h and split INDEX_ATTR_BITMAP_ALL) but no
 * 16 server was available to test against.
 *
 * No state, no locking: macros and static inline functions only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGA_COMPAT_H
#define PGA_COMPAT_H

#include "postgres.h"

#include "executor/executor.h"
#include "nodes/bitmapset.h"
#include "parser/parse_relation.h"
#include "storage/bufpage.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#if PG_VERSION_NUM < 150000
#error "pg_architect requires PostgreSQL 15 or later"
#endif

/*
 * Header splits.
 *	 16: utils/queryjumble.h moved to nodes/queryjumble.h.
 *	 18: ExplainState moved to commands/explain_state.h and the output
 *		 helpers (ExplainBeginOutput...) to commands/explain_format.h.
 */
#if PG_VERSION_NUM >= 160000
#include "nodes/queryjumble.h"
#else
#include "utils/queryjumble.h"
#endif

#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif

/*
 * Executor hooks.
 *	 18: ExecutorRun (and its hook) lost the execute_once argument.
 * Declare a hook as `f(PGA_EXECUTOR_RUN_PARAMS)` and pass the arguments on
 * with `(PGA_EXECUTOR_RUN_ARGS)`.
 */
#if PG_VERSION_NUM >= 180000
#define PGA_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define PGA_EXECUTOR_RUN_ARGS queryDesc, direction, count
#else
#define PGA_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define PGA_EXECUTOR_RUN_ARGS queryDesc, direction, count, execute_once
#endif

/*
 * Process numbers.
 *	 17: PGPROC.pgprocno is gone; a process's index in ProcGlobal->allProcs
 *		 is MyProcNumber (GetNumberFromPGProc).
 */
#if PG_VERSION_NUM >= 170000
#include "storage/procnumber.h"
#define PGA_MY_PROC_INDEX() ((uint32) MyProcNumber)
#else
#include "storage/proc.h"
#define PGA_MY_PROC_INDEX() ((uint32) MyProc->pgprocno)
#endif

/*
 * Cumulative statistics of a table (PgStat_StatTabEntry).
 *	 16: n_live_tuples -> live_tuples, n_dead_tuples -> dead_tuples,
 *		 changes_since_analyze -> mod_since_analyze, analyze_timestamp ->
 *		 last_analyze_time, autovac_analyze_timestamp -> last_autoanalyze_time.
 */
#if PG_VERSION_NUM >= 160000
#define PGA_TAB_LIVE_TUPLES(t)		((t)->live_tuples)
#define PGA_TAB_DEAD_TUPLES(t)		((t)->dead_tuples)
#define PGA_TAB_MOD_SINCE_ANALYZE(t) ((t)->mod_since_analyze)
#define PGA_TAB_LAST_ANALYZE(t)		((t)->last_analyze_time)
#define PGA_TAB_LAST_AUTOANALYZE(t) ((t)->last_autoanalyze_time)
#else
#define PGA_TAB_LIVE_TUPLES(t)		((t)->n_live_tuples)
#define PGA_TAB_DEAD_TUPLES(t)		((t)->n_dead_tuples)
#define PGA_TAB_MOD_SINCE_ANALYZE(t) ((t)->changes_since_analyze)
#define PGA_TAB_LAST_ANALYZE(t)		((t)->analyze_timestamp)
#define PGA_TAB_LAST_AUTOANALYZE(t) ((t)->autovac_analyze_timestamp)
#endif

/*
 * Every column used by an index of a relation.
 *	 16: INDEX_ATTR_BITMAP_ALL split into HOT_BLOCKING (btree & co.) and
 *		 SUMMARIZED (BRIN, which no longer blocks HOT updates).
 */
static inline Bitmapset *
pga_index_attr_bitmap_all(Relation rel)
{
#if PG_VERSION_NUM >= 160000
	return bms_union(RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_HOT_BLOCKING),
					 RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_SUMMARIZED));
#else
	return RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_ALL);
#endif
}

/*
 * Operator semantics.
 *	 18: strategy numbers became CompareType in the planner's vocabulary:
 *		 get_op_btree_interpretation -> get_op_index_interpretation (list of
 *		 OpIndexInterpretation with cmptype), PathKey.pk_strategy ->
 *		 pk_cmptype, get_ordering_op_properties returns a CompareType,
 *		 ROWCOMPARE_NE -> COMPARE_NE.  CompareType's values for <, <=, =, >=,
 *		 > and <> are those of the btree strategy numbers 1..5 and of
 *		 ROWCOMPARE_NE (6), so code keeps speaking btree strategy numbers.
 */
#if PG_VERSION_NUM >= 180000
typedef OpIndexInterpretation PgaOpInterpretation;
#define pga_get_op_interpretation(opno) get_op_index_interpretation(opno)
#define PGA_INTERP_STRATEGY(i)		((int) (i)->cmptype)
#define PGA_STRATEGY_NE				((int) COMPARE_NE)
#define PGA_PATHKEY_STRATEGY(pk)	((int) (pk)->pk_cmptype)
#else
typedef OpBtreeInterpretation PgaOpInterpretation;
#define pga_get_op_interpretation(opno) get_op_btree_interpretation(opno)
#define PGA_INTERP_STRATEGY(i)		((int) (i)->strategy)
#define PGA_STRATEGY_NE				((int) ROWCOMPARE_NE)
#define PGA_PATHKEY_STRATEGY(pk)	((int) (pk)->pk_strategy)
#endif

/*
 * Permissions of a planned or analysed statement.
 *	 16: permission bits moved from RangeTblEntry into RTEPermissionInfo
 *		 (Query.rteperminfos, PlannedStmt.permInfos); ExecCheckRTPerms became
 *		 ExecCheckPermissions.
 */
static inline bool
pga_check_plan_permissions(PlannedStmt *plan, bool ereport_on_violation)
{
#if PG_VERSION_NUM >= 160000
	return ExecCheckPermissions(plan->rtable, plan->permInfos, ereport_on_violation);
#else
	return ExecCheckRTPerms(plan->rtable, ereport_on_violation);
#endif
}

/* the columns an UPDATE's target entry "rte" of "q" assigns */
static inline Bitmapset *
pga_rte_updated_cols(Query *q, RangeTblEntry *rte)
{
#if PG_VERSION_NUM >= 160000
	return getRTEPermissionInfo(q->rteperminfos, rte)->updatedCols;
#else
	return rte->updatedCols;
#endif
}

/*
 * EXPLAIN of a planned statement, no execution.
 *	 17: ExplainOnePlan gained a MemoryContextCounters argument.
 */
#if PG_VERSION_NUM >= 170000
#define pga_explain_one_plan(plan, es, text) \
	ExplainOnePlan((plan), NULL, (es), (text), NULL, NULL, NULL, NULL, NULL)
#else
#define pga_explain_one_plan(plan, es, text) \
	ExplainOnePlan((plan), NULL, (es), (text), NULL, NULL, NULL, NULL)
#endif

/*
 * Free space on a page as contrib pgstattuple counts it, so that an exact
 * measurement equals pgstattuple / pgstatindex of the same server byte for
 * byte.
 *	 18: pgstattuple and pgstatindex count PageGetExactFreeSpace (before:
 *		 PageGetHeapFreeSpace for heap pages, PageGetFreeSpace for btree
 *		 leaves, which both leave room for one more line pointer).
 */
#if PG_VERSION_NUM >= 180000
#define PGA_HEAP_PAGE_FREE(page)	PageGetExactFreeSpace(page)
#define PGA_BTREE_LEAF_FREE(page)	PageGetExactFreeSpace(page)
#else
#define PGA_HEAP_PAGE_FREE(page)	PageGetHeapFreeSpace(page)
#define PGA_BTREE_LEAF_FREE(page)	PageGetFreeSpace(page)
#endif

/* get_ordering_op_properties with the strategy as a btree strategy number */
static inline bool
pga_ordering_op_strategy(Oid opno, Oid *opfamily, Oid *opcintype, int *strategy)
{
#if PG_VERSION_NUM >= 180000
	CompareType cmptype;
	bool		found = get_ordering_op_properties(opno, opfamily, opcintype, &cmptype);

	*strategy = (int) cmptype;
#else
	int16		s;
	bool		found = get_ordering_op_properties(opno, opfamily, opcintype, &s);

	*strategy = s;
#endif
	return found;
}

/*
 * UPDATE ... RETURNING in the raw parse tree.
 *	 18: UpdateStmt.returningClause (a ReturningClause, NULL when absent);
 *		 before: UpdateStmt.returningList (NIL when absent).
 */
#if PG_VERSION_NUM >= 180000
#define PGA_UPDATE_HAS_RETURNING(u)	((u)->returningClause != NULL)
#else
#define PGA_UPDATE_HAS_RETURNING(u)	((u)->returningList != NIL)
#endif

#endif							/* PGA_COMPAT_H */
