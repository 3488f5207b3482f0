/*-------------------------------------------------------------------------
 *
 * hypo_index.c
 *		Hypothetical indexes: defined from CREATE INDEX text, sized from
 *		statistics, shown to the planner through get_relation_info_hook.
 *
 * Contract.  A HypoIndex is a palloc'd description of an index that does
 * not exist: never in pg_class, never on disk, never in shared memory.  The
 * planner sees it only while a caller holds it pushed (hypo_push ... then
 * hypo_pop in a PG_FINALLY block), and only in this backend: the active
 * list is a static of this process, so a concurrent session planning the
 * same table never sees it.  An error while planning cannot leave indexes
 * active because every push is paired with a pop in PG_FINALLY.
 *
 * Hooks (installed once from whatif_init, chained, previous hook called
 * first):
 *	- get_relation_info_hook: appends an IndexOptInfo per active hypothetical
 *	  index on the relation being planned.
 *	- explain_get_index_name_hook: names hypothetical indexes in EXPLAIN.
 *	- planner_hook: hides the active indexes from any nested planning that
 *	  does not come from the what-if engine (which calls standard_planner
 *	  directly), e.g. a query run by a function evaluated while folding
 *	  constants; such a plan could be executed.
 *
 * Sizes follow the AM's page layout: btree leaf items of MAXALIGN(8 + sum of
 * pg_statistic.stawidth) plus a line pointer, pages filled to fillfactor,
 * inner levels by fan-out, one metapage; with deduplication (when every key
 * opclass has "equal image" support and there is no INCLUDE) one posting
 * tuple per distinct key value (pg_statistic.stadistinct) plus 6 bytes per
 * row; hash buckets at 75 % fill, allocated as _hash_init does; brin one
 * summary tuple per 128 heap pages.  Tuples come from reltuples (or the
 * relation size when never analysed), times the predicate's selectivity for
 * a partial index, which is estimated by planning "SELECT FROM t WHERE p".
 *
 * Supported: btree, hash and brin; plain and expression key columns (an
 * expression must be immutable; its width comes from its type), DESC,
 * NULLS FIRST/LAST, operator classes, INCLUDE, partial predicates,
 * fillfactor.  Not supported: other AMs (their cost estimators read the
 * index itself), expressions in INCLUDE, partitioned parents.
 *
 * No locking beyond AccessShareLock on the table while defining.
 *
 * Callers: whatif.c (architect.whatif, architect.hypothetical_index) and,
 * through whatif.h, the advisor (advisor.c), which defines, pushes and pops
 * hypothetical indexes the same way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/amapi.h"
#include "access/hash.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_statistic.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "parser/parse_utilcmd.h"
#include "parser/parser.h"
#include "rewrite/rewriteManip.h"
#include "storage/bufpage.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"

#include "whatif/whatif.h"

/* The indexes the planner sees right now, in this backend only. */
static List *hypo_active = NIL;

/* Next fake OID; counts down from the top of the OID space. */
static Oid	hypo_next_oid = 0;

/* Fill factor assumed for btree pages when the definition gives none. */
int			hypo_fillfactor = BTREE_DEFAULT_FILLFACTOR;

static get_relation_info_hook_type prev_get_relation_info_hook = NULL;
static planner_hook_type prev_planner_hook = NULL;
static explain_get_index_name_hook_type prev_explain_get_index_name_hook = NULL;

static void hypo_get_relation_info(PlannerInfo *root, Oid relationObjectId,
								   bool inhparent, RelOptInfo *rel);
static const char *hypo_explain_index_name(Oid indexId);
static PlannedStmt *hypo_planner(Query *parse, const char *query_string,
								 int cursorOptions, ParamListInfo boundParams);

void
hypo_index_install_hooks(void)
{
	prev_get_relation_info_hook = get_relation_info_hook;
	get_relation_info_hook = hypo_get_relation_info;
	prev_explain_get_index_name_hook = explain_get_index_name_hook;
	explain_get_index_name_hook = hypo_explain_index_name;
	prev_planner_hook = planner_hook;
	planner_hook = hypo_planner;
}

/*
 * The what-if engine calls standard_planner directly, so a call that comes
 * through planner_hook while indexes are pushed is somebody else's: a query
 * run by a function the planner evaluates while folding constants.  Hide
 * the hypothetical indexes from it, so that nothing can ever execute a plan
 * that uses one.
 */
static PlannedStmt *
hypo_planner(Query *parse, const char *query_string, int cursorOptions,
			 ParamListInfo boundParams)
{
	PlannedStmt *volatile result = NULL;
	List	   *saved;

	if (hypo_active == NIL)
		return prev_planner_hook
			? prev_planner_hook(parse, query_string, cursorOptions, boundParams)
			: standard_planner(parse, query_string, cursorOptions, boundParams);

	saved = hypo_push(NIL);
	PG_TRY();
	{
		result = prev_planner_hook
			? prev_planner_hook(parse, query_string, cursorOptions, boundParams)
			: standard_planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		hypo_pop(saved);
	}
	PG_END_TRY();
	return result;
}

/*
 * Make "indexes" the active set; returns the previous set, which the caller
 * must give back to hypo_pop() in PG_FINALLY.
 */
List *
hypo_push(List *indexes)
{
	List	   *prev = hypo_active;

	hypo_active = indexes;
	return prev;
}

void
hypo_pop(List *previous)
{
	hypo_active = previous;
}

static Oid
hypo_fake_oid(void)
{
	for (;;)
	{
		char	   *name;

		if (hypo_next_oid < (Oid) 4000000000U)
			hypo_next_oid = (Oid) 4294967000U;
		hypo_next_oid--;
		name = get_rel_name(hypo_next_oid);
		if (name == NULL)
			return hypo_next_oid;
		pfree(name);
	}
}

static void
hypo_get_relation_info(PlannerInfo *root, Oid relationObjectId,
					   bool inhparent, RelOptInfo *rel)
{
	ListCell   *lc;

	if (prev_get_relation_info_hook)
		prev_get_relation_info_hook(root, relationObjectId, inhparent, rel);

	if (hypo_active == NIL || inhparent)
		return;

	foreach(lc, hypo_active)
	{
		HypoIndex  *h = (HypoIndex *) lfirst(lc);
		IndexOptInfo *info;
		int			i;

		if (h->relid != relationObjectId)
			continue;

		info = makeNode(IndexOptInfo);
		info->indexoid = h->oid;
		info->reltablespace = InvalidOid;
		info->rel = rel;
		info->ncolumns = h->ncolumns;
		info->nkeycolumns = h->nkeycolumns;
		info->indexkeys = (int *) palloc(sizeof(int) * h->ncolumns);
		info->canreturn = (bool *) palloc(sizeof(bool) * h->ncolumns);
		info->opclassoptions = (bytea **) palloc0(sizeof(bytea *) * h->ncolumns);
		for (i = 0; i < h->ncolumns; i++)
		{
			info->indexkeys[i] = h->indexkeys[i];
			info->canreturn[i] = h->amcanreturn;
		}
		info->indexcollations = h->indexcollations;
		info->opfamily = h->opfamily;
		info->opcintype = h->opcintype;
		if (h->amcanorder)
		{
			info->sortopfamily = h->opfamily;
			info->reverse_sort = h->reverse_sort;
			info->nulls_first = h->nulls_first;
		}
		info->relam = h->relam;
		info->indexprs = NIL;
		if (h->indexprs != NIL)
		{
			info->indexprs = copyObject(h->indexprs);
			if (rel->relid != 1)
				ChangeVarNodes((Node *) info->indexprs, 1, rel->relid, 0);
		}
		info->indpred = NIL;
		if (h->indpred != NIL)
		{
			info->indpred = copyObject(h->indpred);
			if (rel->relid != 1)
				ChangeVarNodes((Node *) info->indpred, 1, rel->relid, 0);
		}
		info->indextlist = NIL;
		{
			ListCell   *le = list_head(info->indexprs);

			for (i = 0; i < h->ncolumns; i++)
			{
				Expr	   *expr;

				if (h->indexkeys[i] != 0)
					expr = (Expr *) makeVar(rel->relid, h->indexkeys[i], h->atttype[i],
											h->atttypmod[i], h->attcoll[i], 0);
				else
				{
					expr = (Expr *) lfirst(le);
					le = lnext(info->indexprs, le);
				}
				info->indextlist = lappend(info->indextlist,
										   makeTargetEntry(expr, i + 1, NULL, false));
			}
		}
		info->indrestrictinfo = NIL;
		info->predOK = false;
		info->unique = false;
		info->immediate = true;
		info->hypothetical = true;
		info->amcanorderbyop = h->amcanorderbyop;
		info->amoptionalkey = h->amoptionalkey;
		info->amsearcharray = h->amsearcharray;
		info->amsearchnulls = h->amsearchnulls;
		info->amhasgettuple = h->amhasgettuple;
		info->amhasgetbitmap = h->amhasgetbitmap;
		info->amcanparallel = h->amcanparallel;
		info->amcanmarkpos = h->amcanmarkpos;
		info->amcostestimate = h->amcostestimate;

		/* the table may have grown since the index was defined */
		if (h->indpred == NIL)
			info->tuples = rel->tuples;
		else
			info->tuples = Min(h->tuples, rel->tuples);
		info->pages = h->pages;
		info->tree_height = h->tree_height;

		rel->indexlist = lappend(rel->indexlist, info);
	}
}

static const char *
hypo_explain_index_name(Oid indexId)
{
	ListCell   *lc;

	foreach(lc, hypo_active)
	{
		HypoIndex  *h = (HypoIndex *) lfirst(lc);

		if (h->oid == indexId)
			return h->name;
	}
	if (prev_explain_get_index_name_hook)
		return prev_explain_get_index_name_hook(indexId);
	return NULL;
}

/* Planner's row estimate for "SELECT FROM rel WHERE pred" (pred is raw). */
static double
hypo_predicate_rows(RangeVar *relation, Node *raw_pred, const char *sql)
{
	SelectStmt *sel = makeNode(SelectStmt);
	RawStmt    *raw = makeNode(RawStmt);
	Query	   *query;
	PlannedStmt *plan;

	sel->fromClause = list_make1(copyObject(relation));
	sel->whereClause = copyObject(raw_pred);
	raw->stmt = (Node *) sel;
	raw->stmt_location = -1;
	query = parse_analyze_fixedparams(raw, sql, NULL, 0, NULL);
	plan = standard_planner(query, sql, 0, NULL);
	return plan->planTree->plan_rows;
}

/* the largest btree item, as BTMaxItemSizeNoHeapTid() of a default page */
#define BTMaxItemSizeNoHeapTid_ \
	((double) MAXALIGN_DOWN((BLCKSZ - MAXALIGN(SizeOfPageHeaderData + 3 * sizeof(ItemIdData)) - \
							 MAXALIGN(sizeof(BTPageOpaqueData))) / 3))

/*
 * Distinct key values of a btree that would deduplicate, or 0 when it
 * would not: INCLUDE columns, expressions, or an operator class without
 * "equal image" support (numeric, floats, nondeterministic collations), as
 * _bt_allequalimage decides for a real index.
 */
static double
hypo_dedup_groups(HypoIndex *h, double tuples)
{
	double		groups = 1;
	int			i;

	if (h->ncolumns > h->nkeycolumns || h->indexprs != NIL || tuples < 2)
		return 0;
	for (i = 0; i < h->nkeycolumns; i++)
	{
		Oid			proc = get_opfamily_proc(h->opfamily[i], h->opcintype[i],
											 h->opcintype[i], BTEQUALIMAGE_PROC);
		HeapTuple	tup;
		double		nd = 0;

		if (!OidIsValid(proc) ||
			!DatumGetBool(OidFunctionCall1Coll(proc, h->indexcollations[i],
											   ObjectIdGetDatum(h->opcintype[i]))))
			return 0;
		tup = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(h->relid),
							  Int16GetDatum(h->indexkeys[i]), BoolGetDatum(false));
		if (!HeapTupleIsValid(tup))
			return 0;			/* no statistics: assume unique */
		nd = ((Form_pg_statistic) GETSTRUCT(tup))->stadistinct;
		ReleaseSysCache(tup);
		if (nd < 0)
			nd = -nd * tuples;
		if (nd <= 0)
			return 0;
		groups *= nd;
	}
	return Min(groups, tuples);
}

/* Estimate pages, tuples and tree height; see the header comment. */
static void
hypo_estimate_size(HypoIndex *h, BlockNumber heap_pages, int fillfactor)
{
	double		tuples = h->tuples;
	double		data = 0;
	double		itemsz;
	double		usable;
	double		pages;
	int			i;

	for (i = 0; i < h->ncolumns; i++)
	{
		int32		w = h->indexkeys[i] != 0 ? get_attavgwidth(h->relid, h->indexkeys[i]) : 0;

		if (w <= 0)
			w = get_typavgwidth(h->atttype[i], h->atttypmod[i]);
		data += w;
	}

	if (h->relam == BTREE_AM_OID)
	{
		double		leaf;
		double		inner;
		double		fanout;
		int			height = 0;

		double		groups;

		itemsz = MAXALIGN(sizeof(IndexTupleData) + (Size) data) + sizeof(ItemIdData);
		usable = (BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(BTPageOpaqueData)))
			* fillfactor / 100.0;
		groups = hypo_dedup_groups(h, tuples);
		if (groups > 0 && groups < tuples * 0.9)
		{
			/*
			 * Deduplication: one posting-list tuple per key value and page
			 * share, holding a 6-byte heap TID per row, at most about a
			 * third of a page each.
			 */
			double		per_posting = floor((BTMaxItemSizeNoHeapTid_ -
											 MAXALIGN(sizeof(IndexTupleData) + (Size) data)) /
											sizeof(ItemPointerData));
			double		dups = tuples / groups;
			double		npost = groups * ceil(dups / Max(per_posting, 1.0));
			double		bytes = npost * itemsz + tuples * sizeof(ItemPointerData);

			leaf = Max(1.0, ceil(bytes / usable));
		}
		else
			leaf = Max(1.0, ceil(tuples * itemsz / usable));
		/* inner pages are filled to 70 % and hold the same key width */
		fanout = Max(2.0, floor((BLCKSZ - SizeOfPageHeaderData) * 0.70 / itemsz));
		pages = leaf;
		inner = leaf;
		while (inner > 1)
		{
			inner = ceil(inner / fanout);
			pages += inner;
			height++;
		}
		pages += 1;				/* metapage */
		h->tree_height = height;
	}
	else if (h->relam == HASH_AM_OID)
	{
		/*
		 * Hash entries hold the 4-byte hash code only.  The build allocates
		 * tuples / (entries per 75 %-full page) buckets, rounded up as
		 * _hash_init does: to a power of 2 up to 512 buckets, then to the
		 * next quarter of the doubling ("splitpoint phases").
		 */
		double		ffactor;
		double		want;
		double		buckets = 2;

		itemsz = MAXALIGN(sizeof(IndexTupleData) + sizeof(uint32)) + sizeof(ItemIdData);
		usable = (BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(HashPageOpaqueData))) * 0.75;
		ffactor = Max(10.0, floor(usable / itemsz));
		want = tuples / ffactor;
		while (buckets < want)
		{
			if (buckets < 512)
				buckets *= 2;
			else
			{
				double		base = pow(2.0, floor(log2(buckets)));
				double		step = base / 4;

				buckets = (floor(buckets / step) + 1) * step;
			}
		}
		pages = buckets + 2;	/* metapage and bitmap page */
		h->tree_height = -1;
	}
	else
	{
		/* brin: one summary tuple per range of 128 heap pages */
		double		ranges = Max(1.0, ceil((double) heap_pages / 128.0));

		itemsz = MAXALIGN(sizeof(IndexTupleData) + 2 * data + 8) + sizeof(ItemIdData);
		pages = 2 + ceil(ranges * itemsz / (BLCKSZ - SizeOfPageHeaderData))
			+ ceil(ranges * 6 / (BLCKSZ - SizeOfPageHeaderData));
		h->tree_height = -1;
	}
	h->pages = (BlockNumber) Min(pages, (double) MaxBlockNumber);
	h->size_bytes = (double) h->pages * BLCKSZ;
}

/*
 * The one CREATE INDEX statement of "sql", as parsed (before transformation:
 * the predicate's raw form is what hypo_predicate_rows re-plans).
 */
static IndexStmt *
hypo_parse_one(const char *sql)
{
	List	   *raws;

	if (sql == NULL || *sql == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hypothetical index definition is empty"),
				 errhint("Give a CREATE INDEX statement, for example 'CREATE INDEX ON t (a, b)'.")));

	raws = raw_parser(sql, RAW_PARSE_DEFAULT);
	if (list_length(raws) != 1 ||
		!IsA(((RawStmt *) linitial(raws))->stmt, IndexStmt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hypothetical index definition must be exactly one CREATE INDEX statement"),
				 errdetail("Got: %s", sql),
				 errhint("Write each index as its own CREATE INDEX statement in the array.")));
	return (IndexStmt *) ((RawStmt *) linitial(raws))->stmt;
}

/*
 * Look up the indexed table (AccessShareLock, kept to the end of the
 * transaction as CREATE INDEX's lookup would), check that it can carry an
 * index and that the caller may read it, and return its size as the planner
 * estimates it.
 */
static Oid
hypo_open_table(IndexStmt *orig, BlockNumber *heap_pages, double *heap_tuples)
{
	Oid			relid;
	Relation	rel;
	char		relkind;
	double		allvisfrac;
	AclResult	aclresult;

	relid = RangeVarGetRelidExtended(orig->relation, AccessShareLock, 0, NULL, NULL);
	rel = table_open(relid, NoLock);
	relkind = rel->rd_rel->relkind;
	if (relkind != RELKIND_RELATION && relkind != RELKIND_MATVIEW)
	{
		table_close(rel, NoLock);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table or materialized view", orig->relation->relname),
				 errhint("Hypothetical indexes are supported on plain tables and materialized views (not on partitioned tables or views).")));
	}
	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, RelationGetRelationName(rel));

	estimate_rel_size(rel, NULL, heap_pages, heap_tuples, &allvisfrac);
	table_close(rel, NoLock);
	return relid;
}

/*
 * Check the column counts against INDEX_MAX_KEYS and what the access method
 * can do, then allocate the per-column arrays.
 */
static void
hypo_alloc_columns(HypoIndex *h, IndexAmRoutine *am, const char *amname)
{
	if (h->nkeycolumns < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hypothetical index needs at least one key column")));
	if (h->ncolumns > INDEX_MAX_KEYS)
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_COLUMNS),
				 errmsg("cannot use more than %d columns in an index", INDEX_MAX_KEYS)));
	if (h->nkeycolumns > 1 && !am->amcanmulticol)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("access method \"%s\" does not support multicolumn indexes", amname)));
	if (h->ncolumns > h->nkeycolumns && !am->amcaninclude)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("access method \"%s\" does not support included columns", amname)));

	h->indexkeys = palloc0(sizeof(AttrNumber) * h->ncolumns);
	h->exprs = palloc0(sizeof(Node *) * h->ncolumns);
	h->atttype = palloc0(sizeof(Oid) * h->ncolumns);
	h->atttypmod = palloc0(sizeof(int32) * h->ncolumns);
	h->attcoll = palloc0(sizeof(Oid) * h->ncolumns);
	h->indexcollations = palloc0(sizeof(Oid) * h->nkeycolumns);
	h->opclass = palloc0(sizeof(Oid) * h->nkeycolumns);
	h->opfamily = palloc0(sizeof(Oid) * h->nkeycolumns);
	h->opcintype = palloc0(sizeof(Oid) * h->nkeycolumns);
	h->reverse_sort = palloc0(sizeof(bool) * h->nkeycolumns);
	h->nulls_first = palloc0(sizeof(bool) * h->nkeycolumns);
}

/*
 * Column i of the index: a table column (by name, or a plain column in
 * parentheses, which transformIndexStmt turned into a Var) or an immutable
 * expression (key columns only).  Sets its attribute number or expression,
 * type, typmod and collation.
 */
static void
hypo_set_column(HypoIndex *h, int i, IndexElem *elem, Oid relid)
{
	AttrNumber	attno;

	if (elem->name == NULL)
	{
		Node	   *expr = elem->expr;

		/* transformIndexStmt turned a plain column in parentheses into a Var */
		if (IsA(expr, Var) && ((Var *) expr)->varattno > 0)
			attno = ((Var *) expr)->varattno;
		else
		{
			if (i >= h->nkeycolumns)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("expressions are not supported in included columns")));
			if (contain_mutable_functions(expr))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
						 errmsg("functions in index expression must be marked IMMUTABLE")));
			expr = eval_const_expressions(NULL, expr);
			fix_opfuncids(expr);
			h->indexkeys[i] = 0;
			h->exprs[i] = expr;
			h->indexprs = lappend(h->indexprs, expr);
			h->atttype[i] = exprType(expr);
			h->atttypmod[i] = exprTypmod(expr);
			h->attcoll[i] = exprCollation(expr);
			return;
		}
	}
	else
		attno = get_attnum(relid, elem->name);
	if (attno == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist", elem->name),
				 errhint("Check the column names of table \"%s\".", get_rel_name(relid))));
	if (attno < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("index creation on system columns is not supported")));
	h->indexkeys[i] = attno;
	get_atttypetypmodcoll(relid, attno, &h->atttype[i], &h->atttypmod[i],
						  &h->attcoll[i]);
}

/*
 * Key column i: operator class (ResolveOpClass, as CREATE INDEX resolves
 * it), collation, and ordering; ASC/DESC and NULLS only where the access
 * method orders.
 */
static void
hypo_set_key_column(HypoIndex *h, int i, IndexElem *elem, IndexAmRoutine *am,
					const char *amname)
{
	Oid			opclass;

	opclass = ResolveOpClass(elem->opclass, h->atttype[i], amname, h->relam);
	h->opclass[i] = opclass;
	h->opfamily[i] = get_opclass_family(opclass);
	h->opcintype[i] = get_opclass_input_type(opclass);
	h->indexcollations[i] = elem->collation
		? get_collation_oid(elem->collation, false) : h->attcoll[i];
	h->reverse_sort[i] = (elem->ordering == SORTBY_DESC);
	if (elem->nulls_ordering == SORTBY_NULLS_DEFAULT)
		h->nulls_first[i] = h->reverse_sort[i];
	else
		h->nulls_first[i] = (elem->nulls_ordering == SORTBY_NULLS_FIRST);
	if (!am->amcanorder && (elem->ordering != SORTBY_DEFAULT ||
							elem->nulls_ordering != SORTBY_NULLS_DEFAULT))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("access method \"%s\" does not support ASC/DESC options", amname)));
}

/* The WITH (fillfactor = n) option, or hypo_fillfactor when there is none. */
static int
hypo_option_fillfactor(IndexStmt *stmt)
{
	int			fillfactor = -1;
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "fillfactor") == 0)
		{
			fillfactor = (int) defGetInt64(def);
			if (fillfactor < 10 || fillfactor > 100)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("fillfactor must be between 10 and 100")));
		}
	}
	if (fillfactor < 0)
		fillfactor = hypo_fillfactor;
	return fillfactor;
}

/*
 * A partial index: its predicate in the planner's form (as
 * RelationGetIndexPredicate gives it), as text for the DDL, and the rows it
 * covers, estimated by planning the raw predicate against the table.
 */
static void
hypo_set_predicate(HypoIndex *h, IndexStmt *stmt, IndexStmt *orig,
				   double heap_tuples, const char *sql)
{
	Node	   *pred = stmt->whereClause;

	pred = eval_const_expressions(NULL, pred);
	pred = (Node *) canonicalize_qual((Expr *) pred, false);
	h->indpred = make_ands_implicit((Expr *) pred);
	fix_opfuncids((Node *) h->indpred);
	h->pred_sql = deparse_expression(stmt->whereClause,
									 deparse_context_for(get_rel_name(h->relid), h->relid),
									 false, false);
	h->tuples = Min(heap_tuples,
					hypo_predicate_rows(orig->relation, orig->whereClause, sql));
}

/* What the planner asks of the access method, copied from its routine. */
static void
hypo_set_am_flags(HypoIndex *h, IndexAmRoutine *am)
{
	h->amcanorder = am->amcanorder;
	h->amcanorderbyop = am->amcanorderbyop;
	h->amoptionalkey = am->amoptionalkey;
	h->amsearcharray = am->amsearcharray;
	h->amsearchnulls = am->amsearchnulls;
	h->amhasgettuple = (am->amgettuple != NULL);
	h->amhasgetbitmap = (am->amgetbitmap != NULL);
	h->amcanparallel = am->amcanparallel;
	h->amcanmarkpos = (am->ammarkpos != NULL && am->amrestrpos != NULL);
	/* btree returns every column; hash and brin return none */
	h->amcanreturn = (h->relam == BTREE_AM_OID);
	h->amcostestimate = (void (*) ()) am->amcostestimate;
}

/* The name EXPLAIN shows: the given one, or "<hypothetical t (a, b)>". */
static char *
hypo_default_name(HypoIndex *h)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "<hypothetical %s", get_rel_name(h->relid));
	for (i = 0; i < h->ncolumns; i++)
		appendStringInfo(&buf, "%s%s", i == 0 ? " (" : ", ",
						 h->indexkeys[i] != 0 ? get_attname(h->relid, h->indexkeys[i], false)
						 : hypo_columns_text(h, i));
	appendStringInfoString(&buf, ")>");
	return buf.data;
}

/*
 * Define a hypothetical index from the text of one CREATE INDEX statement.
 * Errors are the ones CREATE INDEX would give (unknown table, column,
 * access method, operator class), plus feature-not-supported for what the
 * what-if engine does not model (expression columns, other AMs).  Each
 * step is a function above; a definition with several faults reports the
 * first in the order of the steps (table, access method, column counts,
 * then each column in turn, options, predicate).
 */
HypoIndex *
hypo_from_sql(const char *sql)
{
	IndexStmt  *stmt;
	IndexStmt  *orig;
	HypoIndex  *h;
	Oid			relid;
	IndexAmRoutine *am;
	const char *amname;
	List	   *params;
	ListCell   *lc;
	int			i;
	int			fillfactor;
	double		heap_tuples;
	BlockNumber heap_pages;

	orig = hypo_parse_one(sql);
	relid = hypo_open_table(orig, &heap_pages, &heap_tuples);

	stmt = transformIndexStmt(relid, copyObject(orig), sql);

	amname = stmt->accessMethod ? stmt->accessMethod : DEFAULT_INDEX_TYPE;
	h = (HypoIndex *) palloc0(sizeof(HypoIndex));
	h->relam = get_am_oid(amname, false);
	if (h->relam != BTREE_AM_OID && h->relam != HASH_AM_OID && h->relam != BRIN_AM_OID)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("hypothetical indexes using \"%s\" are not supported", amname),
				 errhint("Use btree, hash or brin.")));
	am = GetIndexAmRoutineByAmId(h->relam, false);

	h->relid = relid;
	h->oid = hypo_fake_oid();
	h->nkeycolumns = list_length(stmt->indexParams);
	params = list_concat_copy(stmt->indexParams, stmt->indexIncludingParams);
	h->ncolumns = list_length(params);
	hypo_alloc_columns(h, am, amname);

	i = 0;
	foreach(lc, params)
	{
		IndexElem  *elem = (IndexElem *) lfirst(lc);

		hypo_set_column(h, i, elem, relid);
		if (i < h->nkeycolumns)
			hypo_set_key_column(h, i, elem, am, amname);
		i++;
	}

	fillfactor = hypo_option_fillfactor(stmt);

	h->tuples = heap_tuples;
	if (stmt->whereClause)
		hypo_set_predicate(h, stmt, orig, heap_tuples, sql);

	hypo_set_am_flags(h, am);
	hypo_estimate_size(h, heap_pages, fillfactor);

	h->name = stmt->idxname ? pstrdup(stmt->idxname) : hypo_default_name(h);
	return h;
}

/* Column "col" of the index as DDL text: quoted name, DESC, NULLS. */
char *
hypo_columns_text(HypoIndex *h, int col)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (h->indexkeys[col] == 0)
	{
		Node	   *e = h->exprs[col];
		char	   *txt = deparse_expression(e,
											 deparse_context_for(get_rel_name(h->relid), h->relid),
											 false, false);

		/* as pg_get_indexdef writes it: function-like expressions bare */
		if ((IsA(e, FuncExpr) && ((FuncExpr *) e)->funcformat == COERCE_EXPLICIT_CALL) ||
			IsA(e, CoalesceExpr) || IsA(e, MinMaxExpr) || IsA(e, SQLValueFunction) ||
			IsA(e, XmlExpr))
			appendStringInfoString(&buf, txt);
		else
			appendStringInfo(&buf, "(%s)", txt);
	}
	else
		appendStringInfoString(&buf,
							   quote_identifier(get_attname(h->relid, h->indexkeys[col], false)));
	if (col < h->nkeycolumns &&
		h->opclass[col] != GetDefaultOpClass(h->atttype[col], h->relam))
	{
		HeapTuple	tup = SearchSysCache1(CLAOID, ObjectIdGetDatum(h->opclass[col]));

		if (HeapTupleIsValid(tup))
		{
			Form_pg_opclass opc = (Form_pg_opclass) GETSTRUCT(tup);

			appendStringInfo(&buf, " %s",
							 quote_qualified_identifier(get_namespace_name(opc->opcnamespace),
														NameStr(opc->opcname)));
			ReleaseSysCache(tup);
		}
	}
	if (col < h->nkeycolumns && h->amcanorder)
	{
		if (h->reverse_sort[col])
			appendStringInfoString(&buf, " DESC");
		if (h->nulls_first[col] != h->reverse_sort[col])
			appendStringInfoString(&buf, h->nulls_first[col] ? " NULLS FIRST" : " NULLS LAST");
	}
	return buf.data;
}

/*
 * CREATE INDEX [CONCURRENTLY] IF NOT EXISTS for the index, with a name that
 * does not collide with any relation of the table's schema.
 */
char *
hypo_ddl(HypoIndex *h, bool concurrently)
{
	StringInfoData buf;
	StringInfoData cols;
	Oid			nsp = get_rel_namespace(h->relid);
	char	   *relname = get_rel_name(h->relid);
	char	   *idxname;
	int			i;

	initStringInfo(&cols);
	for (i = 0; i < h->nkeycolumns; i++)
		appendStringInfo(&cols, "%s%s", i ? "_" : "",
						 h->indexkeys[i] != 0 ? get_attname(h->relid, h->indexkeys[i], false)
						 : "expr");
	idxname = ChooseRelationName(relname, cols.data, "idx", nsp, false);

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE INDEX %sIF NOT EXISTS %s ON %s USING %s (",
					 concurrently ? "CONCURRENTLY " : "",
					 quote_identifier(idxname),
					 quote_qualified_identifier(get_namespace_name(nsp), relname),
					 get_am_name(h->relam));
	for (i = 0; i < h->nkeycolumns; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", hypo_columns_text(h, i));
	appendStringInfoChar(&buf, ')');
	if (h->ncolumns > h->nkeycolumns)
	{
		appendStringInfoString(&buf, " INCLUDE (");
		for (i = h->nkeycolumns; i < h->ncolumns; i++)
			appendStringInfo(&buf, "%s%s", i > h->nkeycolumns ? ", " : "",
							 hypo_columns_text(h, i));
		appendStringInfoChar(&buf, ')');
	}
	if (h->pred_sql)
		appendStringInfo(&buf, " WHERE %s", h->pred_sql);
	/* remember the generated name for the rollback statement */
	h->name = idxname;
	return buf.data;
}
